//! How a session decides that a connection is dead.
//!
//! We send our own `ping` every 10 s (tungstenite only answers the peer's pings) and treat 25 s
//! without any frame as a dead connection. A jump of the wall clock past the monotonic clock (the
//! laptop slept; its Wi-Fi and NAT entries are gone) reconnects at once instead of waiting for
//! that silence. [`Liveness`] holds these numbers, so tests can shorten them and move the wall
//! clock.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use shiftdesk_protocol::Millis;

pub const PING_EVERY: Duration = Duration::from_secs(10);
pub const SILENCE_LIMIT: Duration = Duration::from_secs(25);
/// The wall clock running this much ahead of the monotonic clock means the machine slept.
pub const CLOCK_JUMP: Duration = Duration::from_secs(5);
/// The two clocks are compared this often (or at every ping, if pings are more frequent).
pub const CLOCK_CHECK_EVERY: Duration = Duration::from_secs(1);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The liveness rules of a session. [`Liveness::default`] is what the console uses; tests
/// shorten the intervals and move the wall clock.
#[derive(Clone)]
pub struct Liveness {
    /// Send our own `ping` this often.
    pub ping_every: Duration,
    /// No frame at all for this long (two ping intervals and some) means the connection is dead.
    pub silence_limit: Duration,
    /// The wall clock moving this much further than the monotonic clock between two checks means
    /// the machine was asleep: reconnect at once.
    pub clock_jump: Duration,
    /// Give up on a connection attempt (TCP, TLS, websocket handshake and login) after this long.
    pub connect_timeout: Duration,
    /// The wall clock, in milliseconds since the Unix epoch.
    pub wall_clock: Arc<dyn Fn() -> Millis + Send + Sync>,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness {
            ping_every: PING_EVERY,
            silence_limit: SILENCE_LIMIT,
            clock_jump: CLOCK_JUMP,
            connect_timeout: CONNECT_TIMEOUT,
            wall_clock: Arc::new(crate::now_ms),
        }
    }
}

impl std::fmt::Debug for Liveness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Liveness")
            .field("ping_every", &self.ping_every)
            .field("silence_limit", &self.silence_limit)
            .field("clock_jump", &self.clock_jump)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

/// Notices that the machine slept: the monotonic clock (`Instant`) stands still during a
/// suspend on Linux and macOS, the wall clock does not. Backward wall-clock steps (NTP) are not
/// sleeps and are ignored.
#[derive(Debug, Clone, Copy)]
pub struct SleepDetector {
    mono: Instant,
    wall: Millis,
    limit: Duration,
}

impl SleepDetector {
    pub fn new(mono: Instant, wall: Millis, limit: Duration) -> SleepDetector {
        SleepDetector { mono, wall, limit }
    }

    /// Compare with the previous check; `Some(how far ahead)` if the wall clock jumped by more
    /// than the limit.
    pub fn check(&mut self, mono: Instant, wall: Millis) -> Option<Duration> {
        let mono_passed = mono.saturating_duration_since(self.mono);
        let wall_passed = Duration::from_millis(wall.saturating_sub(self.wall));
        self.mono = mono;
        self.wall = wall;
        let ahead = wall_passed.saturating_sub(mono_passed);
        (ahead > self.limit).then_some(ahead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wall_clock_jump_past_the_monotonic_clock_is_a_sleep() {
        let start = Instant::now();
        let mut clocks = SleepDetector::new(start, 1_000_000, CLOCK_JUMP);
        // Both clocks move together, with a little drift: awake.
        assert_eq!(
            clocks.check(start + Duration::from_secs(1), 1_001_200),
            None
        );
        // A backward step of the wall clock (NTP) is no sleep.
        assert_eq!(clocks.check(start + Duration::from_secs(2), 990_000), None);
        // One monotonic second, one wall-clock minute: the laptop slept.
        assert_eq!(
            clocks.check(start + Duration::from_secs(3), 1_051_000),
            Some(Duration::from_secs(60))
        );
        // Measured from the last check, so it is reported once.
        assert_eq!(
            clocks.check(start + Duration::from_secs(4), 1_052_000),
            None
        );
    }
}
