//! How long to wait before the next connection attempt: exponential steps with jitter, so that a
//! hub restart is not hit by every client at the same moment.

use std::time::Duration;

/// Exponential backoff between `min` and `max`. Attempt 1 waits about `min`, each further
/// attempt doubles the step; the wait is a random point in the upper half of the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
}

/// What the sessions use between reconnect attempts: 0.5 s, 1 s, 2 s, … up to 15 s.
pub const RECONNECT: Backoff = Backoff {
    min: Duration::from_millis(500),
    max: Duration::from_secs(15),
};

impl Backoff {
    /// The wait before attempt `attempt` (1 = the first retry). `jitter` is a number in 0..1:
    /// the wait is between half and all of the exponential step, never outside `min..=max`.
    pub fn wait(&self, attempt: u32, jitter: f64) -> Duration {
        let step = self
            .min
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(10))
            .min(self.max);
        let half = step / 2;
        let wait = half + half.mul_f64(jitter.clamp(0.0, 1.0));
        wait.clamp(self.min, self.max)
    }

    /// [`Backoff::wait`] with a random jitter.
    pub fn random_wait(&self, attempt: u32) -> Duration {
        self.wait(attempt, rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_within_bounds() {
        let b = RECONNECT;
        assert_eq!(b.wait(1, 0.0), b.min);
        assert_eq!(b.wait(1, 1.0), b.min);
        assert_eq!(b.wait(2, 1.0), Duration::from_secs(1));
        assert_eq!(b.wait(3, 0.0), Duration::from_secs(1));
        assert_eq!(b.wait(3, 1.0), Duration::from_secs(2));
        for attempt in 1..40 {
            for jitter in [0.0, 0.3, 0.99, 1.0] {
                let wait = b.wait(attempt, jitter);
                assert!(
                    (b.min..=b.max).contains(&wait),
                    "{attempt} {jitter} {wait:?}"
                );
            }
        }
        assert_eq!(b.wait(30, 1.0), b.max);
        assert!(b.wait(30, 0.0) >= b.max / 2);
        for _ in 0..100 {
            assert!((b.min..=b.max).contains(&b.random_wait(5)));
        }
    }
}
