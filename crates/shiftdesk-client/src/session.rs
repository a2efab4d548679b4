//! One websocket session with the hub, for any dialect: connect, log in (resuming where the last
//! connection left off), ping, notice a dead link, and reconnect with backoff and jitter.
//!
//! One small task owns the socket and nothing else. It turns hub frames into
//! [`SessionEvent`]s and the caller's frames into websocket messages. It keeps only what a
//! connection needs: the stream name and the last sequence number seen (to resume and to drop
//! duplicates). The outbox is the caller's: after every login ([`ConnState::Connected`]) the
//! caller sends what is still unconfirmed again, with the same ids, and the hub applies each id
//! once ([`crate::Courier`] does this for simple clients; the console's `App` does it itself).
//!
//! What differs between `/ws/worker` and `/ws/customer` (the login frame, what its answer
//! means) is a [`Dialect`]: [`crate::worker::WorkerDialect`], [`crate::customer::CustomerDialect`].
//! Liveness rules are in [`crate::liveness`], the reconnect waits in [`crate::backoff`].

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::liveness::{CLOCK_CHECK_EVERY, Liveness, SleepDetector};
use shiftdesk_protocol::close::{
    HUB_STOPPED as CLOSE_HUB_STOPPED, HUB_STOPPED_REASON, REPLACED as CLOSE_REPLACED,
    TOO_SLOW as CLOSE_TOO_SLOW, WRITER_CHANGED_REASON,
};
use shiftdesk_protocol::{Millis, Resume};

/// How long stopping waits for the hub to answer our close frame.
const CLOSE_ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// The connection, as a status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    Connecting {
        attempt: u32,
    },
    Connected,
    /// Waiting before the next attempt, until `at` (wall clock, ms since the Unix epoch).
    /// `hub_restarting`: the hub said it was stopping (close `1011 hub stopped`), a restart or
    /// an upgrade, and no login has worked since.
    Reconnecting {
        attempt: u32,
        at: Millis,
        hub_restarting: bool,
    },
    /// Not trying any more (the hub refused the login, or the session is stopping).
    Offline {
        reason: String,
    },
}

/// What a session tells its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent<E> {
    /// The connection state changed. `Connected` comes right before the login answer's frame.
    Conn(ConnState),
    /// A connection attempt failed or a connection ended, and why; a new state follows.
    Lost(String),
    /// A frame from the hub, de-duplicated by sequence number, in order. Pongs are not passed on.
    Frame(E),
}

/// What the owner tells a session.
#[derive(Debug)]
pub enum SessionCommand<F> {
    /// Send this frame if logged in; dropped otherwise (the owner's outbox sends it after the
    /// next login).
    Send(F),
    /// Close the connection and stop.
    Stop,
}

/// A client frame: an id chosen by the client and a command.
pub trait Frame:
    Clone + Serialize + DeserializeOwned + Send + Sync + std::fmt::Debug + 'static
{
    type Command;
    fn new(id: String, command: Self::Command) -> Self;
    /// The same frame as number `n` of `producer`'s command sequence (PROTOCOL.md 3.2).
    fn in_sequence(self, producer: &str, n: u64) -> Self;
    fn id(&self) -> &str;
    fn command(&self) -> &Self::Command;
}

/// A hub frame's event.
pub trait HubEvent: DeserializeOwned + Send + Sync + std::fmt::Debug + 'static {
    /// The command id this event answers (`ack` or `error` with an id), if any.
    fn answer_to(&self) -> Option<&str>;

    /// An answer that says "not now": send the same command again after this many
    /// milliseconds (`rate_limited`). The command stays waiting until then.
    fn retry_after_ms(&self) -> Option<u64> {
        None
    }
}

/// What a dialect makes of a hub frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The login answer (`welcome`, `started`): logged in on this stream.
    LoggedIn { stream: String, resumed: bool },
    /// The login was refused for good: stop, and tell the user why.
    Refused(String),
    /// The login failed for now: try again after a pause.
    Retry(String),
    /// The login failed and resuming cannot help: forget the stream and log in afresh at once.
    StartOver(String),
    /// An answer to our ping: nothing for the owner.
    Pong,
    /// Anything else: for the owner.
    Pass,
}

/// What differs between the worker and the customer endpoint.
pub trait Dialect: Send + 'static {
    type Frame: Frame;
    type Event: HubEvent;
    /// The path of the endpoint, `/ws/worker` or `/ws/customer`.
    const ENDPOINT: &'static str;
    /// The login frame's name, used for its id (`hello-1a2b3c4d`).
    const LOGIN: &'static str;
    /// What the user is told when the hub closes with 4000 (another connection took over).
    const REPLACED: &'static str;
    /// The first frame of a connection, resuming from `resume` if the session has a stream.
    fn login(&self, id: String, resume: Option<Resume>) -> Self::Frame;
    /// A keep-alive `ping`.
    fn ping(id: String) -> Self::Frame;
    /// What a frame means for the session; `login_id` is the id of this connection's login.
    fn classify(&mut self, event: &Self::Event, login_id: &str) -> Verdict;
}

/// Where this connection's stream is: what to send in `resume`, and which frames are new.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamCursor {
    stream: Option<String>,
    last_seq: u64,
}

impl StreamCursor {
    /// A cursor at `last_seq` of `stream` (a client that kept them across a restart).
    pub fn at(stream: impl Into<String>, last_seq: u64) -> StreamCursor {
        StreamCursor {
            stream: Some(stream.into()),
            last_seq,
        }
    }

    /// What to put in the login frame.
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
        if self.is_gap(seq) {
            tracing::warn!(last = self.last_seq, seq, "gap in the hub stream");
        }
        self.last_seq = seq;
        true
    }

    /// Would a frame with this `seq` skip frames? (Not before the first stream frame.)
    pub fn is_gap(&self, seq: u64) -> bool {
        self.last_seq > 0 && seq > self.last_seq + 1
    }

    pub fn stream(&self) -> Option<&str> {
        self.stream.as_deref()
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }
}

/// A running session: send frames to it, stop it. Its events come from the receiver that
/// [`spawn`] returned with it.
#[derive(Debug)]
pub struct Session<F> {
    commands: mpsc::UnboundedSender<SessionCommand<F>>,
    task: JoinHandle<()>,
}

impl<F> Session<F> {
    /// Send `frame` if logged in (see [`SessionCommand::Send`]); false if the session ended.
    pub fn send(&self, frame: F) -> bool {
        self.commands.send(SessionCommand::Send(frame)).is_ok()
    }

    /// Close the connection and wait until the task has ended.
    pub async fn stop(self) -> Result<(), tokio::task::JoinError> {
        let _ = self.commands.send(SessionCommand::Stop);
        self.task.await
    }
}

/// Where and how to connect.
#[derive(Clone, Default)]
pub struct Endpoint {
    /// The hub as the user wrote it (`ws://host:port`, `wss://host`, `host:port`), or several
    /// separated by commas, tried in turn.
    pub hub: String,
    /// TLS settings for wss:// (`None`: the system roots).
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// The websocket URLs of the hubs in `hub`: one, or several separated by commas (hubs that
/// share a store: one serves, the others stand by), tried in turn.
pub fn hub_urls(hub: &str, endpoint: &str) -> anyhow::Result<Vec<String>> {
    let urls: Vec<String> = hub
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| crate::endpoint_url(h, endpoint))
        .collect::<anyhow::Result<_>>()?;
    if urls.is_empty() {
        anyhow::bail!("no hub given: write ws://HOST:PORT (or several, separated by commas)");
    }
    Ok(urls)
}

/// Start a session task for `dialect` at `endpoint`.
pub fn spawn<D: Dialect>(
    dialect: D,
    endpoint: Endpoint,
    liveness: Liveness,
) -> (
    Session<D::Frame>,
    mpsc::UnboundedReceiver<SessionEvent<D::Event>>,
) {
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let (events_tx, events) = mpsc::unbounded_channel();
    let shell = Shell {
        dialect,
        liveness,
        endpoint,
        cursor: StreamCursor::default(),
        commands: commands_rx,
        events: events_tx,
        ping_ids: 0,
        failures: 0,
        hub_restarting: false,
    };
    let task = tokio::spawn(shell.run());
    (Session { commands, task }, events)
}

enum Ended {
    /// Try again after a pause.
    Retry(String),
    /// The hub is stopping (close `1011 hub stopped`): try again after the usual pause.
    HubStopped,
    /// Try again at once (the machine slept: the link is likely dead, the hub likely fine).
    RetryNow(String),
    /// Stop for good, with the reason shown to the user.
    Fatal(String),
    /// The owner asked us to stop.
    Stopped,
}

/// The session task's state.
struct Shell<D: Dialect> {
    dialect: D,
    liveness: Liveness,
    endpoint: Endpoint,
    cursor: StreamCursor,
    commands: mpsc::UnboundedReceiver<SessionCommand<D::Frame>>,
    events: mpsc::UnboundedSender<SessionEvent<D::Event>>,
    ping_ids: u64,
    /// Failed tries since the last good login; a dropped session counts as one.
    failures: u32,
    /// The hub said it was stopping, and no login has worked since.
    hub_restarting: bool,
}

impl<D: Dialect> Shell<D> {
    fn emit(&self, event: SessionEvent<D::Event>) -> bool {
        self.events.send(event).is_ok()
    }

    async fn run(mut self) {
        let urls = match hub_urls(&self.endpoint.hub, D::ENDPOINT) {
            Ok(urls) => urls,
            Err(e) => {
                self.emit(SessionEvent::Conn(ConnState::Offline {
                    reason: format!("{e:#}"),
                }));
                return;
            }
        };
        // Several hubs are tried in turn: after a failed try or a lost connection, the next.
        let mut which = 0;
        loop {
            let url = urls[which % urls.len()].clone();
            self.emit(SessionEvent::Conn(ConnState::Connecting {
                attempt: self.failures + 1,
            }));
            let ended = self.connection(&url).await;
            if matches!(
                ended,
                Ended::RetryNow(_) | Ended::Retry(_) | Ended::HubStopped
            ) {
                which += 1;
            }
            match ended {
                Ended::Stopped => return,
                Ended::RetryNow(reason) => {
                    tracing::info!(%reason, "reconnecting now");
                    self.emit(SessionEvent::Lost(reason));
                }
                Ended::Fatal(reason) => {
                    tracing::warn!(%reason, "not reconnecting");
                    self.emit(SessionEvent::Conn(ConnState::Offline { reason }));
                    // Stay until told to stop, dropping frames: nothing can be sent any more.
                    while let Some(command) = self.commands.recv().await {
                        if matches!(command, SessionCommand::Stop) {
                            return;
                        }
                    }
                    return;
                }
                ended @ (Ended::Retry(_) | Ended::HubStopped) => {
                    let reason = match ended {
                        Ended::Retry(reason) => reason,
                        _ => {
                            self.hub_restarting = true;
                            "the hub is restarting".to_string()
                        }
                    };
                    self.failures += 1;
                    let attempt = self.failures;
                    let wait = crate::backoff::RECONNECT.random_wait(attempt);
                    let at = crate::now_ms() + wait.as_millis() as u64;
                    tracing::info!(attempt, ?wait, %reason, "reconnecting");
                    self.emit(SessionEvent::Lost(reason));
                    self.emit(SessionEvent::Conn(ConnState::Reconnecting {
                        attempt,
                        at,
                        hub_restarting: self.hub_restarting,
                    }));
                    let sleep = tokio::time::sleep(wait);
                    tokio::pin!(sleep);
                    loop {
                        tokio::select! {
                            _ = &mut sleep => break,
                            command = self.commands.recv() => match command {
                                None | Some(SessionCommand::Stop) => return,
                                // The owner keeps it in its outbox and sends it after login.
                                Some(SessionCommand::Send(_)) => {}
                            },
                        }
                    }
                }
            }
        }
    }

    /// One connection, from connecting to its end.
    async fn connection(&mut self, url: &str) -> Ended {
        let connect = tokio::time::timeout(
            self.liveness.connect_timeout,
            crate::connect(url, self.endpoint.tls.clone()),
        );
        let mut ws = tokio::select! {
            result = connect => match result {
                Ok(Ok(ws)) => ws,
                Ok(Err(e)) => return Ended::Retry(format!("{e:#}")),
                Err(_) => return Ended::Retry(format!("connecting to {url} timed out")),
            },
            stop = wait_for_stop(&mut self.commands) => return stop,
        };

        // Before its answer the hub reads nothing but the login: nothing else is sent meanwhile.
        let login = tokio::time::timeout(
            self.liveness.silence_limit,
            log_in(&mut ws, &mut self.dialect, &mut self.cursor),
        );
        let welcome = tokio::select! {
            answer = login => match answer {
                Ok(Ok(welcome)) => welcome,
                Ok(Err(LoginError::Refused(reason))) => return Ended::Fatal(reason),
                Ok(Err(LoginError::Retry(reason))) => return Ended::Retry(reason),
                Ok(Err(LoginError::StartOver(reason))) => return Ended::RetryNow(reason),
                Err(_) => return Ended::Retry(format!(
                    "no answer to the login for {:?}", self.liveness.silence_limit
                )),
            },
            stop = wait_for_stop(&mut self.commands) => return stop,
        };
        self.failures = 0;
        self.hub_restarting = false;
        tracing::info!(stream = ?self.cursor.stream(), "logged in");
        self.emit(SessionEvent::Conn(ConnState::Connected));
        if !self.emit(SessionEvent::Frame(welcome)) {
            return Ended::Stopped;
        }

        let mut last_heard = Instant::now();
        let every = self.liveness.ping_every;
        let mut ping = tokio::time::interval_at(Instant::now() + every, every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let every = self.liveness.ping_every.min(CLOCK_CHECK_EVERY);
        let mut clock_check = tokio::time::interval_at(Instant::now() + every, every);
        clock_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sleep_detector = SleepDetector::new(
            Instant::now(),
            (self.liveness.wall_clock)(),
            self.liveness.clock_jump,
        );
        loop {
            let silence = tokio::time::sleep_until(last_heard + self.liveness.silence_limit);
            tokio::select! {
                incoming = ws.next() => {
                    last_heard = Instant::now();
                    let text = match incoming {
                        Some(Ok(WsMessage::Text(text))) => text,
                        Some(Ok(WsMessage::Close(frame))) => {
                            // Answer it (tungstenite has the answer queued; a flush writes
                            // it), so the hub can close TCP at once instead of waiting for us.
                            let _ = ws.flush().await;
                            return closed(frame, D::REPLACED);
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return Ended::Retry(format!("connection error: {e}")),
                        None => return Ended::Retry("the connection closed".into()),
                    };
                    let Some((seq, event)) = decode::<D::Event>(&text) else {
                        continue;
                    };
                    if self.cursor.is_gap(seq) {
                        // Frames are missing. Taking this one would skip them for good; resuming
                        // from the last one processed fills the gap (PROTOCOL.md 8.2, step 4).
                        let last = self.cursor.last_seq();
                        tracing::warn!(last, seq, "gap in the hub stream: resuming");
                        return Ended::Retry(format!("frames after {last} missing: resuming"));
                    }
                    if !self.cursor.accept(seq) {
                        tracing::debug!(seq, "duplicate frame dropped");
                        continue;
                    }
                    let Some(event) = event else {
                        continue;
                    };
                    // The login was answered before this loop: only pongs are not for the owner.
                    if self.dialect.classify(&event, "") == Verdict::Pong {
                        continue;
                    }
                    if !self.emit(SessionEvent::Frame(event)) {
                        return Ended::Stopped;
                    }
                }
                command = self.commands.recv() => match command {
                    None | Some(SessionCommand::Stop) => {
                        // A close handshake: our close frame, then the hub's answer.
                        if ws.close(None).await.is_ok() {
                            let answer = async { while let Some(Ok(_)) = ws.next().await {} };
                            let _ = tokio::time::timeout(CLOSE_ANSWER_WAIT, answer).await;
                        }
                        return Ended::Stopped;
                    }
                    Some(SessionCommand::Send(frame)) => {
                        if let Err(e) = send_frame(&mut ws, &frame).await {
                            return Ended::Retry(e);
                        }
                    }
                },
                _ = ping.tick() => {
                    self.ping_ids += 1;
                    let frame = D::ping(format!("ping-{}", self.ping_ids));
                    if let Err(e) = send_frame(&mut ws, &frame).await {
                        return Ended::Retry(e);
                    }
                }
                _ = clock_check.tick() => {
                    let now = (self.liveness.wall_clock)();
                    if let Some(ahead) = sleep_detector.check(Instant::now(), now) {
                        return Ended::RetryNow(format!(
                            "the wall clock jumped {ahead:?} (the machine slept?)"
                        ));
                    }
                }
                _ = silence => {
                    return Ended::Retry(format!(
                        "no frame for {:?}: the connection is dead",
                        self.liveness.silence_limit
                    ));
                }
            }
        }
    }
}

/// What a close frame from the hub means (PROTOCOL.md, "Close codes").
fn closed(
    frame: Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>,
    replaced: &str,
) -> Ended {
    let code = frame.as_ref().map(|f| u16::from(f.code));
    let reason = frame
        .as_ref()
        .map(|f| f.reason.to_string())
        .unwrap_or_default();
    tracing::info!(?code, %reason, "hub closed the connection");
    match code {
        Some(CLOSE_REPLACED) => Ended::Fatal(replaced.to_string()),
        Some(CLOSE_HUB_STOPPED) if reason == HUB_STOPPED_REASON => Ended::HubStopped,
        // The hub forwarding us lost the hub it forwarded to: the next hub (or this one, once it
        // knows the new writer) takes us at once.
        Some(CLOSE_HUB_STOPPED) if reason == WRITER_CHANGED_REASON => {
            Ended::RetryNow(format!("the hub closed the connection: {reason}"))
        }
        // The hub dropped us for falling behind: resume at once.
        Some(CLOSE_TOO_SLOW) => Ended::RetryNow(format!("the hub closed the connection: {reason}")),
        Some(code) => Ended::Retry(format!("the hub closed the connection ({code} {reason})")),
        None => Ended::Retry("the hub closed the connection".into()),
    }
}

/// Why a login did not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// For good (a bad token, another protocol version): don't try again.
    Refused(String),
    /// For now (the link broke, the hub was busy): try again after a pause.
    Retry(String),
    /// The hub does not know what we resumed: the cursor was reset; log in afresh.
    StartOver(String),
}

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginError::Refused(why) | LoginError::Retry(why) | LoginError::StartOver(why) => {
                f.write_str(why)
            }
        }
    }
}

impl std::error::Error for LoginError {}

/// Log in on an open websocket: send the dialect's login frame (resuming from `cursor`) and
/// read until its answer, which is returned (`welcome`, `started`); `cursor` then names the
/// stream. The session task does this on every connection; clients that drive their socket
/// themselves (the benchmark's load generators) call it directly.
pub async fn log_in<D: Dialect>(
    ws: &mut crate::WsStream,
    dialect: &mut D,
    cursor: &mut StreamCursor,
) -> Result<D::Event, LoginError> {
    let id = format!("{}-{}", D::LOGIN, crate::random_prefix());
    send_frame(ws, &dialect.login(id.clone(), cursor.resume()))
        .await
        .map_err(LoginError::Retry)?;
    loop {
        let text = match ws.next().await {
            Some(Ok(WsMessage::Text(text))) => text,
            Some(Ok(WsMessage::Close(frame))) => {
                return Err(LoginError::Retry(format!(
                    "the hub closed the connection before the login was answered ({})",
                    frame.map(|f| f.to_string()).unwrap_or_default()
                )));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(LoginError::Retry(format!("connection error: {e}"))),
            None => return Err(LoginError::Retry("the connection closed".into())),
        };
        // Only connection frames come before the answer; nothing here moves the cursor.
        let Some((_, Some(event))) = decode::<D::Event>(&text) else {
            continue;
        };
        match dialect.classify(&event, &id) {
            Verdict::LoggedIn { stream, resumed } => {
                cursor.welcome(&stream, resumed);
                return Ok(event);
            }
            Verdict::Refused(why) => return Err(LoginError::Refused(why)),
            Verdict::Retry(why) => return Err(LoginError::Retry(why)),
            Verdict::StartOver(why) => {
                *cursor = StreamCursor::default();
                return Err(LoginError::StartOver(why));
            }
            Verdict::Pong | Verdict::Pass => {}
        }
    }
}

async fn wait_for_stop<F>(commands: &mut mpsc::UnboundedReceiver<SessionCommand<F>>) -> Ended {
    loop {
        match commands.recv().await {
            None | Some(SessionCommand::Stop) => return Ended::Stopped,
            Some(SessionCommand::Send(_)) => {}
        }
    }
}

async fn send_frame(ws: &mut crate::WsStream, frame: &impl Serialize) -> Result<(), String> {
    let text = match serde_json::to_string(frame) {
        Ok(text) => text,
        Err(e) => {
            tracing::error!(%e, "cannot encode a frame");
            return Ok(());
        }
    };
    ws.send(WsMessage::Text(text.into()))
        .await
        .map_err(|e| format!("send failed: {e}"))
}

/// The `seq` of a hub frame and, if this client understands it, its event. A frame of an
/// unknown type still counts for the sequence (a newer hub may send more kinds).
pub fn decode<E: DeserializeOwned>(text: &str) -> Option<(u64, Option<E>)> {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(%e, "hub sent something that is not JSON");
            return None;
        }
    };
    let seq = value.get("seq").and_then(|s| s.as_u64()).unwrap_or(0);
    match serde_json::from_value::<E>(value) {
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
    fn several_hubs_are_tried_in_the_order_given() {
        assert_eq!(
            hub_urls("ws://a:7878, b:7879,", "/ws/worker").unwrap(),
            ["ws://a:7878/ws/worker", "ws://b:7879/ws/worker"]
        );
        let e = hub_urls(" , ", "/ws/worker").unwrap_err().to_string();
        assert!(e.contains("no hub given"), "{e}");
    }
    use shiftdesk_protocol::WorkerEvent;

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
        assert!(cursor.is_gap(4) && !cursor.is_gap(3));
        cursor.welcome("e1-ana", true);
        assert!(!cursor.accept(2));
        assert!(cursor.accept(3));
        // Not resumed (say the hub restarted): the new stream starts again from 1.
        cursor.welcome("e2-ana", false);
        assert!(!cursor.is_gap(7), "no gap before the first stream frame");
        assert!(cursor.accept(1));
        assert_eq!(cursor.last_seq(), 1);
        assert_eq!(cursor.stream(), Some("e2-ana"));
    }

    #[test]
    fn frames_decode_with_their_seq() {
        let (seq, event) = decode::<WorkerEvent>(r#"{"seq":4,"type":"ack","id":"x-1"}"#).unwrap();
        assert_eq!(seq, 4);
        assert_eq!(
            event,
            Some(WorkerEvent::Ack {
                id: "x-1".into(),
                duplicate: false
            })
        );
        let (seq, event) = decode::<WorkerEvent>(r#"{"seq":5,"type":"from_the_future"}"#).unwrap();
        assert_eq!((seq, event), (5, None));
        assert!(decode::<WorkerEvent>("not json").is_none());
    }
}
