//! The websocket shell: connect, log in, resume, ping, reconnect.
//!
//! One small task owns the socket and nothing else. It turns hub frames into [`Msg`]s for the
//! app and the app's frames into websocket messages. It keeps only what a connection needs: the
//! stream name and the last sequence number seen (to resume and to drop duplicates). The outbox
//! is the app's: after every `welcome` the app sends what is still unconfirmed again, with the
//! same ids, and the hub applies each id once.
//!
//! Liveness: we send our own `ping` every 10 s (tungstenite only answers the peer's pings) and
//! treat 25 s without any frame as a dead connection. A jump of the wall clock past the monotonic
//! clock (the laptop slept; its Wi-Fi and NAT entries are gone) reconnects at once instead of
//! waiting for that silence. Reconnects back off exponentially from 0.5 s to 15 s, with jitter so
//! a hub restart is not hit by every console at once. [`Liveness`] holds these numbers, so tests
//! can shorten them and move the wall clock.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::app::{ConnState, Msg};
use shiftdesk_client as client;
use shiftdesk_protocol::{
    ErrorCode, Millis, PROTOCOL_VERSION, Resume, WorkerCommand, WorkerEvent, WorkerFrame,
};

pub const PING_EVERY: Duration = Duration::from_secs(10);
pub const SILENCE_LIMIT: Duration = Duration::from_secs(25);
/// The wall clock running this much ahead of the monotonic clock means the machine slept.
pub const CLOCK_JUMP: Duration = Duration::from_secs(5);
/// The two clocks are compared this often (or at every ping, if pings are more frequent).
const CLOCK_CHECK_EVERY: Duration = Duration::from_secs(1);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const BACKOFF_MIN: Duration = Duration::from_millis(500);
pub const BACKOFF_MAX: Duration = Duration::from_secs(15);
use shiftdesk_protocol::close::{REPLACED as CLOSE_REPLACED, TOO_SLOW as CLOSE_TOO_SLOW};

/// Where this connection's stream is: what to send in `resume`, and which frames are new.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamCursor {
    stream: Option<String>,
    last_seq: u64,
}

impl StreamCursor {
    /// What to put in `hello`.
    pub fn resume(&self) -> Option<Resume> {
        self.stream.as_ref().map(|stream| Resume {
            stream: stream.clone(),
            last_seq: self.last_seq,
        })
    }

    /// The hub said `welcome`. Without a resume a fresh snapshot follows, numbered anew.
    pub fn welcome(&mut self, stream: &str, resumed: bool) {
        if !resumed || self.stream.as_deref() != Some(stream) {
            self.last_seq = 0;
        }
        self.stream = Some(stream.to_string());
    }

    /// Should a frame with this `seq` be processed? Connection frames (`seq` 0) always are;
    /// stream frames once each, in order.
    pub fn accept(&mut self, seq: u64) -> bool {
        if seq == 0 {
            return true;
        }
        if seq <= self.last_seq {
            return false;
        }
        if seq > self.last_seq + 1 && self.last_seq > 0 {
            tracing::warn!(last = self.last_seq, seq, "gap in the hub stream");
        }
        self.last_seq = seq;
        true
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }
}

/// How the net task decides that a connection is dead. [`Liveness::default`] is what the console
/// uses; tests shorten the intervals and move the wall clock.
#[derive(Clone)]
pub struct Liveness {
    /// Send our own `ping` this often.
    pub ping_every: Duration,
    /// No frame at all for this long (two ping intervals and some) means the connection is dead.
    pub silence_limit: Duration,
    /// The wall clock moving this much further than the monotonic clock between two checks means
    /// the machine was asleep: reconnect at once.
    pub clock_jump: Duration,
    /// Give up on a connection attempt (TCP, TLS and websocket handshake) after this long.
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
            wall_clock: Arc::new(super::now_ms),
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

/// How long to wait before reconnect attempt `attempt` (1 = the first retry). `jitter` is a
/// random number in 0..1: the wait is between half and all of the exponential step.
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    let step = BACKOFF_MIN
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(10))
        .min(BACKOFF_MAX);
    let half = step / 2;
    let wait = half + half.mul_f64(jitter.clamp(0.0, 1.0));
    wait.clamp(BACKOFF_MIN, BACKOFF_MAX)
}

/// What the app tells the net task.
#[derive(Debug)]
pub enum NetCommand {
    Send(WorkerFrame),
    /// Close the connection and stop.
    Stop,
}

/// What the net task needs.
#[derive(Clone)]
pub struct NetConfig {
    /// The hub as the user wrote it (remembered as is).
    pub hub: String,
    pub token: String,
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Remember hub and token in this config directory after the first successful login.
    pub remember_in: Option<PathBuf>,
}

/// Start the net task. Frames for the hub go into the returned sender.
pub fn spawn(
    config: NetConfig,
    to_app: mpsc::UnboundedSender<Msg>,
) -> (
    mpsc::UnboundedSender<NetCommand>,
    tokio::task::JoinHandle<()>,
) {
    spawn_with(config, Liveness::default(), to_app)
}

/// [`spawn`] with other liveness settings (tests).
pub fn spawn_with(
    config: NetConfig,
    liveness: Liveness,
    to_app: mpsc::UnboundedSender<Msg>,
) -> (
    mpsc::UnboundedSender<NetCommand>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(run(config, liveness, rx, to_app));
    (tx, task)
}

enum Ended {
    /// Try again after a pause.
    Retry,
    /// Try again at once (the machine slept: the link is likely dead, the hub likely fine).
    RetryNow,
    /// Stop for good, with the reason shown to the worker.
    Fatal(String),
    /// The app asked us to stop.
    Stopped,
}

async fn run(
    config: NetConfig,
    liveness: Liveness,
    mut commands: mpsc::UnboundedReceiver<NetCommand>,
    to_app: mpsc::UnboundedSender<Msg>,
) {
    let url = match client::endpoint_url(&config.hub, "/ws/worker") {
        Ok(url) => url,
        Err(e) => {
            let _ = to_app.send(Msg::Conn(ConnState::Offline {
                reason: format!("{e:#}"),
            }));
            return;
        }
    };
    let mut cursor = StreamCursor::default();
    let mut ping_ids = 0u64;
    let mut remembered = false;
    // Failed tries since the last good login; a dropped session counts as one.
    let mut failures: u32 = 0;
    loop {
        let _ = to_app.send(Msg::Conn(ConnState::Connecting {
            attempt: failures + 1,
        }));
        let ended = session(
            &config,
            &liveness,
            &url,
            &mut cursor,
            &mut commands,
            &to_app,
            &mut ping_ids,
            &mut remembered,
            &mut failures,
        )
        .await;
        match ended {
            Ended::Stopped => return,
            Ended::RetryNow => {}
            Ended::Fatal(reason) => {
                tracing::warn!(%reason, "not reconnecting");
                let _ = to_app.send(Msg::Conn(ConnState::Offline { reason }));
                // Stay until told to stop, dropping frames: nothing can be sent any more.
                while let Some(command) = commands.recv().await {
                    if matches!(command, NetCommand::Stop) {
                        return;
                    }
                }
                return;
            }
            Ended::Retry => {
                failures += 1;
                let attempt = failures;
                let wait = backoff(attempt, rand::random::<f64>());
                let at = super::now_ms() + wait.as_millis() as u64;
                tracing::info!(attempt, ?wait, "reconnecting");
                let _ = to_app.send(Msg::Conn(ConnState::Reconnecting { attempt, at }));
                let sleep = tokio::time::sleep(wait);
                tokio::pin!(sleep);
                loop {
                    tokio::select! {
                        _ = &mut sleep => break,
                        command = commands.recv() => match command {
                            None | Some(NetCommand::Stop) => return,
                            // The app keeps it in its outbox and sends it after login.
                            Some(NetCommand::Send(_)) => {}
                        },
                    }
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn session(
    config: &NetConfig,
    liveness: &Liveness,
    url: &str,
    cursor: &mut StreamCursor,
    commands: &mut mpsc::UnboundedReceiver<NetCommand>,
    to_app: &mpsc::UnboundedSender<Msg>,
    ping_ids: &mut u64,
    remembered: &mut bool,
    failures: &mut u32,
) -> Ended {
    let connect = tokio::time::timeout(
        liveness.connect_timeout,
        client::connect(url, config.tls.clone()),
    );
    let mut ws = tokio::select! {
        result = connect => match result {
            Ok(Ok(ws)) => ws,
            Ok(Err(e)) => {
                tracing::info!(error = %format!("{e:#}"), "connect failed");
                return Ended::Retry;
            }
            Err(_) => {
                tracing::info!("connect timed out");
                return Ended::Retry;
            }
        },
        stop = wait_for_stop(commands) => return stop,
    };

    let hello_id = format!("hello-{}", super::random_prefix());
    let hello = WorkerFrame {
        id: hello_id.clone(),
        command: WorkerCommand::Hello {
            token: config.token.clone(),
            protocol: PROTOCOL_VERSION,
            resume: cursor.resume(),
        },
    };
    if send_frame(&mut ws, &hello).await.is_err() {
        return Ended::Retry;
    }

    let mut logged_in = false;
    let mut last_heard = Instant::now();
    let every = liveness.ping_every;
    let mut ping = tokio::time::interval_at(Instant::now() + every, every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let every = liveness.ping_every.min(CLOCK_CHECK_EVERY);
    let mut clock_check = tokio::time::interval_at(Instant::now() + every, every);
    clock_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sleep_detector =
        SleepDetector::new(Instant::now(), (liveness.wall_clock)(), liveness.clock_jump);
    loop {
        let silence = tokio::time::sleep_until(last_heard + liveness.silence_limit);
        tokio::select! {
            incoming = ws.next() => {
                last_heard = Instant::now();
                let text = match incoming {
                    Some(Ok(WsMessage::Text(text))) => text,
                    Some(Ok(WsMessage::Close(frame))) => {
                        let code = frame.as_ref().map(|f| u16::from(f.code));
                        let reason = frame.as_ref().map(|f| f.reason.to_string()).unwrap_or_default();
                        tracing::info!(?code, %reason, "hub closed the connection");
                        if code == Some(CLOSE_REPLACED) {
                            return Ended::Fatal(
                                "logged in from another console; this one stopped".into(),
                            );
                        }
                        if code == Some(CLOSE_TOO_SLOW) {
                            // The hub dropped us for falling behind: resume at once.
                            return Ended::RetryNow;
                        }
                        return Ended::Retry;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        tracing::info!(%e, "connection error");
                        return Ended::Retry;
                    }
                    None => return Ended::Retry,
                };
                let Some((seq, event)) = decode(&text) else {
                    continue;
                };
                if cursor.last_seq() > 0 && seq > cursor.last_seq() + 1 {
                    // Frames are missing. Taking this one would skip them for good; resuming
                    // from the last one processed fills the gap (PROTOCOL.md 8.2, step 4).
                    tracing::warn!(last = cursor.last_seq(), seq, "gap in the hub stream: resuming");
                    return Ended::Retry;
                }
                if !cursor.accept(seq) {
                    tracing::debug!(seq, "duplicate frame dropped");
                    continue;
                }
                let Some(event) = event else {
                    continue;
                };
                match &event {
                    WorkerEvent::Welcome { stream, resumed, .. } => {
                        cursor.welcome(stream, *resumed);
                        logged_in = true;
                        *failures = 0;
                        tracing::info!(%stream, resumed, "logged in");
                        let _ = to_app.send(Msg::Conn(ConnState::Connected));
                        if !*remembered && let Some(dir) = &config.remember_in {
                            *remembered = true;
                            if let Err(e) = super::config::remember_login(dir, &config.hub, &config.token) {
                                tracing::warn!(error = %format!("{e:#}"), "could not remember the login");
                            }
                        }
                    }
                    WorkerEvent::Error { id: Some(id), code, message } if *id == hello_id => {
                        return match code {
                            ErrorCode::Unauthorized => Ended::Fatal(format!("the hub refused the token: {message}")),
                            ErrorCode::Version => Ended::Fatal(format!("protocol mismatch: {message}")),
                            ErrorCode::Forbidden => Ended::Fatal(message.clone()),
                            _ => {
                                tracing::warn!(?code, %message, "login failed");
                                Ended::Retry
                            }
                        };
                    }
                    WorkerEvent::Pong { .. } => continue,
                    _ => {}
                }
                if to_app.send(Msg::Hub(event)).is_err() {
                    return Ended::Stopped;
                }
            }
            command = commands.recv() => match command {
                None | Some(NetCommand::Stop) => {
                    let _ = ws.close(None).await;
                    return Ended::Stopped;
                }
                Some(NetCommand::Send(frame)) => {
                    // Before `welcome` the hub reads nothing but `hello`; the outbox is sent
                    // again after it anyway.
                    if logged_in && send_frame(&mut ws, &frame).await.is_err() {
                        return Ended::Retry;
                    }
                }
            },
            _ = ping.tick() => {
                *ping_ids += 1;
                let frame = WorkerFrame { id: format!("ping-{}", ping_ids), command: WorkerCommand::Ping };
                if send_frame(&mut ws, &frame).await.is_err() {
                    return Ended::Retry;
                }
            }
            _ = clock_check.tick() => {
                if let Some(ahead) = sleep_detector.check(Instant::now(), (liveness.wall_clock)()) {
                    tracing::info!(?ahead, "the wall clock jumped (the machine slept?): reconnecting now");
                    return Ended::RetryNow;
                }
            }
            _ = silence => {
                tracing::info!("no frame for {:?}: connection is dead", liveness.silence_limit);
                return Ended::Retry;
            }
        }
    }
}

async fn wait_for_stop(commands: &mut mpsc::UnboundedReceiver<NetCommand>) -> Ended {
    loop {
        match commands.recv().await {
            None | Some(NetCommand::Stop) => return Ended::Stopped,
            Some(NetCommand::Send(_)) => {}
        }
    }
}

async fn send_frame(ws: &mut client::WsStream, frame: &WorkerFrame) -> Result<(), ()> {
    let text = match serde_json::to_string(frame) {
        Ok(text) => text,
        Err(e) => {
            tracing::error!(%e, "cannot encode a frame");
            return Ok(());
        }
    };
    ws.send(WsMessage::Text(text.into())).await.map_err(|e| {
        tracing::info!(%e, "send failed");
    })
}

/// The `seq` of a hub frame and, if this console understands it, its event. A frame of an
/// unknown type still counts for the sequence (a newer hub may send more kinds).
pub fn decode(text: &str) -> Option<(u64, Option<WorkerEvent>)> {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(%e, "hub sent something that is not JSON");
            return None;
        }
    };
    let seq = value.get("seq").and_then(|s| s.as_u64()).unwrap_or(0);
    match serde_json::from_value::<WorkerEvent>(value) {
        Ok(event) => Some((seq, Some(event))),
        Err(e) => {
            tracing::warn!(%e, seq, "hub frame not understood; skipped");
            Some((seq, None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_drops_duplicates_and_resumes() {
        let mut cursor = StreamCursor::default();
        assert_eq!(cursor.resume(), None);
        cursor.welcome("e1-ana", false);
        assert!(cursor.accept(1));
        assert!(cursor.accept(2));
        assert!(!cursor.accept(2), "a duplicate is dropped");
        assert!(!cursor.accept(1));
        assert!(cursor.accept(0), "connection frames always pass");
        assert_eq!(
            cursor.resume(),
            Some(Resume {
                stream: "e1-ana".into(),
                last_seq: 2
            })
        );
        cursor.welcome("e1-ana", true);
        assert!(!cursor.accept(2));
        assert!(cursor.accept(3));
        // Not resumed (say the hub restarted): the new stream starts again from 1.
        cursor.welcome("e2-ana", false);
        assert!(cursor.accept(1));
        assert_eq!(cursor.last_seq(), 1);
    }

    #[test]
    fn backoff_grows_with_jitter_within_bounds() {
        assert_eq!(backoff(1, 0.0), BACKOFF_MIN);
        assert_eq!(backoff(1, 1.0), BACKOFF_MIN);
        assert_eq!(backoff(2, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(3, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(3, 1.0), Duration::from_secs(2));
        for attempt in 1..40 {
            for jitter in [0.0, 0.3, 0.99, 1.0] {
                let wait = backoff(attempt, jitter);
                assert!(
                    (BACKOFF_MIN..=BACKOFF_MAX).contains(&wait),
                    "{attempt} {jitter} {wait:?}"
                );
            }
        }
        assert_eq!(backoff(30, 1.0), BACKOFF_MAX);
        assert!(backoff(30, 0.0) >= BACKOFF_MAX / 2);
    }

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

    #[test]
    fn frames_decode_with_their_seq() {
        let (seq, event) = decode(r#"{"seq":4,"type":"ack","id":"x-1"}"#).unwrap();
        assert_eq!(seq, 4);
        assert_eq!(
            event,
            Some(WorkerEvent::Ack {
                id: "x-1".into(),
                duplicate: false
            })
        );
        let (seq, event) = decode(r#"{"seq":5,"type":"from_the_future"}"#).unwrap();
        assert_eq!((seq, event), (5, None));
        assert!(decode("not json").is_none());
    }
}
