//! The network shell: axum serves `/ws/worker`, `/ws/customer`, `/healthz`, `/readyz` and
//! `/metrics`.
//!
//! A connection task owns its socket and nothing else. It decodes frames (answering bad ones
//! itself, so a broken client never reaches the engine), forwards commands to the engine, and
//! writes whatever the engine queues for it. The engine cuts a connection off through the
//! `kill` watch (replaced by a newer login, or too slow to read its frames).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use futures_util::SinkExt;
use tokio::sync::{mpsc, oneshot, watch};

use crate::committer::Outlet;
use crate::conn::{CONNECTION_QUEUE, ConnHandle, ConnId, Frame, INBOX_CAPACITY, Inbox};
use crate::dispatch::DispatchConfig;
use crate::drafting::kb::KnowledgeBase;
use crate::engine::{Engine, EngineMsg, KnowledgeReloader, now_ms};
use crate::metrics::{HubMetrics, MetricsToken};
use crate::store::{SqliteStore, hash_token};
use shiftdesk_protocol::{
    self as protocol, CustomerCommand, CustomerEvent, DecodeError, ErrorCode, WorkerCommand,
    WorkerEvent,
};

/// Frames above this size close the connection (1009); between `MAX_FRAME_BYTES` and this they
/// get an error frame and the connection stays open.
pub const HARD_FRAME_LIMIT: usize = 1024 * 1024;

/// Each connection's read buffer. Tungstenite's default (128 KiB, zero-filled) would keep that
/// much resident per idle worker; frames are small, and a larger one just takes more reads.
const READ_BUFFER: usize = 4096;

/// Most frames written together before one flush (see [`Connection::send_queued`]).
pub const WRITE_BATCH: usize = 64;

/// A frame that cannot be written for this long means the peer is gone or stopped reading.
const WRITE_STALL: std::time::Duration = std::time::Duration::from_secs(20);

/// How the hub is set up.
#[derive(Debug, Clone)]
pub struct HubConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub dispatch: DispatchConfig,
    /// Certificate chain and key (PEM) to serve wss:// directly; `None` serves ws://.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Who writes reply drafts.
    pub drafter: crate::drafting::DrafterChoice,
    /// The operator's extra triage rules (the config file's `[rules]`).
    pub rules: crate::rules::OperatorRules,
    /// When set, `GET /metrics` needs `Authorization: Bearer <token>`.
    pub metrics_token: Option<MetricsToken>,
    /// The operator's knowledge-base folder (`--kb`); `None` answers from the built-in articles.
    pub kb: Option<PathBuf>,
}

#[derive(Clone)]
struct AppState {
    engine: Inbox<EngineMsg>,
    next_conn: Arc<AtomicU64>,
    metrics: Arc<HubMetrics>,
    /// The hash of the metrics token, if one is needed (compared hashed: in constant time as far
    /// as the token goes).
    metrics_token: Option<Arc<str>>,
    data_dir: Arc<Path>,
}

/// A hub that is serving. Dropping it does not stop it; call [`RunningHub::shutdown`].
pub struct RunningHub {
    pub addr: SocketAddr,
    tls: bool,
    engine: Inbox<EngineMsg>,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
    engine_thread: Option<std::thread::JoinHandle<()>>,
    knowledge: KnowledgeReloader,
}

impl RunningHub {
    pub fn url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}", self.addr)
    }

    /// Rereads the knowledge-base folder into the running hub (on SIGHUP).
    pub fn knowledge_reloader(&self) -> KnowledgeReloader {
        self.knowledge.clone()
    }

    /// Stop accepting, close connections, stop the engine, and wait for all of it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.server).await;
        let _ = self.engine.send(EngineMsg::Shutdown).await;
        if let Some(thread) = self.engine_thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// Open the store, replay the log, bind the listener and serve.
pub async fn start(config: HubConfig) -> anyhow::Result<RunningHub> {
    // Check the TLS files before touching anything else: a typo should not start a hub.
    let tls = match &config.tls {
        Some((cert, key)) => Some(crate::tls::server_config(cert, key)?),
        None => None,
    };
    let store = SqliteStore::open(&config.data_dir)?;
    // The operator's languages first: the knowledge base's articles and the triage rules may
    // be written in them.
    if let Some(dir) = &config.kb {
        let languages = crate::languages::load_dir(&dir.join("languages")).map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            anyhow::anyhow!("language files not loaded: {}", lines.join("; "))
        })?;
        crate::languages::install(languages);
    }
    let unserved = config.rules.unserved();
    if !unserved.is_empty() {
        anyhow::bail!(
            "[rules] for languages this hub does not serve: {} (add kb/languages/CODE.toml)",
            unserved.join(", ")
        );
    }
    let kb = match &config.kb {
        Some(dir) => {
            let (kb, warnings) = KnowledgeBase::load_dir(dir)?;
            for warning in warnings {
                tracing::warn!(%warning, "knowledge base");
            }
            kb
        }
        None => KnowledgeBase::builtin(),
    };
    let kb = Arc::new(kb);
    let metrics = Arc::new(HubMetrics::new());
    let drafter = config.drafter.build_measured(kb.clone(), metrics.clone());
    let triage = Arc::new(crate::triage::TriagePolicy::new(kb, &config.rules));
    let (tx, rx) = Inbox::bounded(INBOX_CAPACITY);
    let outlet = Outlet::on(&tokio::runtime::Handle::current());
    let engine = Engine::new_measured(
        config.dispatch,
        Box::new(store),
        triage,
        drafter,
        tx.clone(),
        outlet,
        metrics.clone(),
    )?;
    let engine_thread = std::thread::Builder::new()
        .name("hub-engine".into())
        .spawn(move || engine.serve(rx))?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    let state = AppState {
        engine: tx.clone(),
        next_conn: Arc::new(AtomicU64::new(1)),
        metrics: metrics.clone(),
        metrics_token: config
            .metrics_token
            .as_ref()
            .map(|t| hash_token(t.as_str()).into()),
        data_dir: config.data_dir.as_path().into(),
    };
    let app = Router::new()
        .route("/ws/worker", get(worker_ws))
        .route("/ws/customer", get(customer_ws))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(state);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let stopped = async {
        let _ = stop_rx.await;
    };
    let server = match tls.clone() {
        Some(tls) => {
            let listener = crate::tls::TlsListener::new(listener, tls)?;
            tokio::spawn(async move {
                let result = axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await;
                if let Err(e) = result {
                    tracing::error!(%e, "server stopped");
                }
            })
        }
        None => tokio::spawn(async move {
            // Small frames back to back: don't let Nagle hold the second one for an ACK.
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let result = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await;
            if let Err(e) = result {
                tracing::error!(%e, "server stopped");
            }
        }),
    };
    Ok(RunningHub {
        addr,
        tls: tls.is_some(),
        knowledge: KnowledgeReloader::new(
            tx.clone(),
            config.kb.clone(),
            config.drafter.clone(),
            config.rules.clone(),
            metrics.clone(),
        ),
        engine: tx,
        stop: Some(stop_tx),
        server,
        engine_thread: Some(engine_thread),
    })
}

async fn healthz(State(state): State<AppState>) -> Response {
    let (reply, rx) = oneshot::channel();
    if state
        .engine
        .send(EngineMsg::Health { reply })
        .await
        .is_err()
    {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "engine stopped",
        )
            .into_response();
    }
    match rx.await {
        Ok(health) => Json(health).into_response(),
        Err(_) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "engine stopped",
        )
            .into_response(),
    }
}

/// How long `/metrics` and `/readyz` wait for the engine before saying it does not answer.
const ENGINE_ANSWER: std::time::Duration = std::time::Duration::from_secs(5);

/// Ask the engine something; `None` when it has stopped or does not answer in time.
async fn ask_engine<T>(
    state: &AppState,
    message: impl FnOnce(oneshot::Sender<T>) -> EngineMsg,
) -> Option<T> {
    let (reply, rx) = oneshot::channel();
    let asked = async {
        state.engine.send(message(reply)).await.ok()?;
        rx.await.ok()
    };
    tokio::time::timeout(ENGINE_ANSWER, asked)
        .await
        .ok()
        .flatten()
}

fn unavailable(why: String) -> Response {
    (axum::http::StatusCode::SERVICE_UNAVAILABLE, why).into_response()
}

/// Prometheus's scrape: every metric in the text exposition format, the gauges read from the
/// engine now. With a metrics token, only for `Authorization: Bearer <token>`.
async fn metrics_text(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(expected) = &state.metrics_token {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|token| hash_token(token.trim()));
        if given.as_deref() != Some(&**expected) {
            return (
                axum::http::StatusCode::UNAUTHORIZED,
                [(
                    axum::http::header::WWW_AUTHENTICATE,
                    "Bearer realm=\"shiftdesk metrics\"",
                )],
                "/metrics needs the hub's metrics token: Authorization: Bearer <token>\n",
            )
                .into_response();
        }
    }
    let Some(gauges) = ask_engine(&state, |reply| EngineMsg::Gauges { reply }).await else {
        return unavailable("the engine does not answer\n".into());
    };
    state.metrics.set_gauges(&gauges);
    (
        [(axum::http::header::CONTENT_TYPE, HubMetrics::content_type())],
        state.metrics.render(),
    )
        .into_response()
}

/// Ready to serve: the engine answers, the last write to the event log succeeded, and the data
/// directory takes a small synced write now. Otherwise 503 and the reason.
async fn readyz(State(state): State<AppState>) -> Response {
    if ask_engine(&state, |reply| EngineMsg::Health { reply })
        .await
        .is_none()
    {
        return unavailable("not ready: the engine does not answer\n".into());
    }
    if let Some(e) = state.metrics.store_error() {
        return unavailable(format!(
            "not ready: the last write to the event log failed: {e}\n"
        ));
    }
    let dir = state.data_dir.clone();
    match tokio::task::spawn_blocking(move || write_probe(&dir)).await {
        Ok(Ok(())) => "ready\n".into_response(),
        Ok(Err(e)) => unavailable(format!("not ready: {e}\n")),
        Err(_) => unavailable("not ready: the write probe did not finish\n".into()),
    }
}

/// Write a few bytes to a file in the data directory, sync them to disk and remove the file:
/// a full or read-only disk fails here before it fails a customer's message.
fn write_probe(dir: &Path) -> Result<(), String> {
    use std::io::Write;
    let path = dir.join(".readyz-probe");
    let written = std::fs::File::create(&path).and_then(|mut file| {
        file.write_all(&now_ms().to_le_bytes())?;
        file.sync_all()
    });
    let removed = std::fs::remove_file(&path);
    written
        .and(removed)
        .map_err(|e| format!("cannot write to the data directory {}: {e}", dir.display()))
}

async fn worker_ws(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| serve(socket, state, WorkerDialect { worker: None }))
}

async fn customer_ws(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| serve(socket, state, CustomerDialect { conversation: None }))
}

/// What one read from the socket turned into.
enum Incoming {
    Text(Utf8Bytes),
    Binary,
    /// Websocket ping or pong: tungstenite answers pings itself.
    Control,
    Closed,
}

/// The socket plumbing shared by both endpoints.
struct Connection {
    socket: WebSocket,
    handle: ConnHandle,
    frames: mpsc::Receiver<Frame>,
    kill: watch::Receiver<Option<(u16, String)>>,
}

enum Next {
    In(Incoming),
    Out(Frame),
    Kill(u16, String),
}

impl Connection {
    fn new(socket: WebSocket, state: &AppState) -> Connection {
        let (frames_tx, frames) = mpsc::channel(CONNECTION_QUEUE);
        let (kill_tx, kill) = watch::channel(None);
        Connection {
            socket,
            handle: ConnHandle {
                id: state.next_conn.fetch_add(1, Ordering::Relaxed),
                frames: frames_tx,
                kill: kill_tx,
            },
            frames,
            kill,
        }
    }

    async fn next(&mut self) -> Next {
        tokio::select! {
            biased;
            changed = self.kill.changed() => {
                let reason = if changed.is_ok() { self.kill.borrow().clone() } else { None };
                match reason {
                    Some((code, reason)) => Next::Kill(code, reason),
                    None => Next::Kill(1011, "hub stopped".into()),
                }
            }
            Some(frame) = self.frames.recv() => Next::Out(frame),
            message = self.socket.recv() => Next::In(match message {
                Some(Ok(WsMessage::Text(text))) => Incoming::Text(text),
                Some(Ok(WsMessage::Binary(_))) => Incoming::Binary,
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => Incoming::Control,
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => Incoming::Closed,
            }),
        }
    }

    /// Write `first` and whatever else is already queued (up to [`WRITE_BATCH`] frames), then
    /// flush once: one system call for a burst instead of one per frame. A peer that stops
    /// reading blocks the write; the engine's `kill` (too slow, replaced) or a long stall ends
    /// it instead of holding this task forever.
    async fn send_queued(&mut self, first: Frame) -> bool {
        let Connection {
            socket,
            frames,
            kill,
            ..
        } = self;
        let write = async {
            socket.feed(WsMessage::Text(first)).await?;
            for _ in 1..WRITE_BATCH {
                let Ok(frame) = frames.try_recv() else { break };
                socket.feed(WsMessage::Text(frame)).await?;
            }
            socket.flush().await
        };
        tokio::select! {
            sent = tokio::time::timeout(WRITE_STALL, write) => matches!(sent, Ok(Ok(()))),
            _ = kill.changed() => false,
        }
    }

    async fn close(&mut self, code: u16, reason: String) {
        let _ = self
            .socket
            .send(WsMessage::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
        let _ = self.socket.flush().await;
    }

    async fn send_direct<E: serde::Serialize>(&mut self, event: &E) -> bool {
        self.send_queued(protocol::encode(0, event).into()).await
    }
}

fn binary_error() -> DecodeError {
    DecodeError {
        code: ErrorCode::Malformed,
        message: "binary frames are not supported; send JSON text frames".into(),
        id: None,
    }
}

/// What one endpoint does with its frames; the socket plumbing around it is shared.
trait Dialect: Send + 'static {
    type Frame: Send;
    type Event: serde::Serialize + Send + Sync;
    fn decode(text: &str) -> Result<Self::Frame, DecodeError>;
    fn error(e: DecodeError) -> Self::Event;
    /// Handle a decoded frame: `Ok(Some(event))` is answered directly (seq 0); `Err(())` means
    /// the engine is gone and the connection should end.
    fn on_frame(
        &mut self,
        frame: Self::Frame,
        conn: &ConnHandle,
        state: &AppState,
    ) -> impl Future<Output = Result<Option<Self::Event>, ()>> + Send;
    /// The connection ended: tell the engine (waiting for room in its inbox if need be).
    fn gone(self, conn: ConnId, state: &AppState) -> impl Future<Output = ()> + Send;
}

/// Pump one websocket until it closes, is cut off, or the engine stops.
async fn serve<D: Dialect>(socket: WebSocket, state: AppState, mut dialect: D) {
    let mut conn = Connection::new(socket, &state);
    loop {
        let answer = match conn.next().await {
            Next::Kill(code, reason) => {
                conn.close(code, reason).await;
                break;
            }
            Next::Out(frame) => {
                if !conn.send_queued(frame).await {
                    break;
                }
                continue;
            }
            Next::In(Incoming::Closed) => break,
            Next::In(Incoming::Control) => continue,
            Next::In(Incoming::Binary) => Some(D::error(binary_error())),
            Next::In(Incoming::Text(text)) => match D::decode(&text) {
                Err(e) => Some(D::error(e)),
                Ok(frame) => match dialect.on_frame(frame, &conn.handle, &state).await {
                    Ok(answer) => answer,
                    Err(()) => break,
                },
            },
        };
        if let Some(event) = answer
            && !conn.send_direct(&event).await
        {
            break;
        }
    }
    dialect.gone(conn.handle.id, &state).await;
}

/// Workers and supervisors: `hello` first, then commands for the engine.
struct WorkerDialect {
    worker: Option<String>,
}

impl Dialect for WorkerDialect {
    type Frame = protocol::WorkerFrame;
    type Event = WorkerEvent;

    fn decode(text: &str) -> Result<Self::Frame, DecodeError> {
        protocol::decode_worker(text)
    }

    fn error(e: DecodeError) -> WorkerEvent {
        WorkerEvent::Error {
            id: e.id,
            code: e.code,
            message: e.message,
        }
    }

    async fn on_frame(
        &mut self,
        frame: Self::Frame,
        conn: &ConnHandle,
        state: &AppState,
    ) -> Result<Option<WorkerEvent>, ()> {
        match (frame.command, &self.worker) {
            (WorkerCommand::Ping, _) => Ok(Some(WorkerEvent::Pong {
                server_time: now_ms(),
            })),
            (
                WorkerCommand::Hello {
                    token,
                    protocol,
                    resume,
                },
                None,
            ) => {
                let (reply, rx) = oneshot::channel();
                let hello = EngineMsg::WorkerHello {
                    conn: conn.clone(),
                    id: frame.id,
                    token,
                    protocol,
                    resume,
                    reply,
                };
                state.engine.send(hello).await.map_err(|_| ())?;
                self.worker = rx.await.ok().flatten();
                Ok(None)
            }
            (_, None) => Ok(Some(WorkerEvent::Error {
                id: Some(frame.id),
                code: ErrorCode::Unauthorized,
                message: "log in first: the first frame must be `hello`".into(),
            })),
            (command, Some(worker)) => {
                let msg = EngineMsg::WorkerFrame {
                    conn: conn.id,
                    worker: worker.clone(),
                    frame: protocol::WorkerFrame {
                        id: frame.id,
                        command,
                    },
                };
                state.engine.send(msg).await.map_err(|_| ())?;
                Ok(None)
            }
        }
    }

    async fn gone(self, conn: ConnId, state: &AppState) {
        if let Some(worker) = self.worker {
            let _ = state
                .engine
                .send(EngineMsg::WorkerGone { conn, worker })
                .await;
        }
    }
}

/// Customers: `start` opens (or resumes) one conversation, then messages.
struct CustomerDialect {
    conversation: Option<String>,
}

impl Dialect for CustomerDialect {
    type Frame = protocol::CustomerFrame;
    type Event = CustomerEvent;

    fn decode(text: &str) -> Result<Self::Frame, DecodeError> {
        protocol::decode_customer(text)
    }

    fn error(e: DecodeError) -> CustomerEvent {
        CustomerEvent::Error {
            id: e.id,
            code: e.code,
            message: e.message,
        }
    }

    async fn on_frame(
        &mut self,
        frame: Self::Frame,
        conn: &ConnHandle,
        state: &AppState,
    ) -> Result<Option<CustomerEvent>, ()> {
        match (frame.command, &self.conversation) {
            (CustomerCommand::Ping, _) => Ok(Some(CustomerEvent::Pong {
                server_time: now_ms(),
            })),
            (
                CustomerCommand::Start {
                    protocol,
                    name,
                    lang,
                    resume,
                    context,
                },
                None,
            ) => {
                let (reply, rx) = oneshot::channel();
                let start = EngineMsg::CustomerStart {
                    conn: conn.clone(),
                    id: frame.id,
                    protocol,
                    name,
                    lang,
                    resume,
                    context: context.into_iter().collect(),
                    reply,
                };
                state.engine.send(start).await.map_err(|_| ())?;
                self.conversation = rx.await.ok().flatten();
                Ok(None)
            }
            (CustomerCommand::Start { .. }, Some(_)) => Ok(Some(CustomerEvent::Error {
                id: Some(frame.id),
                code: ErrorCode::Conflict,
                message: "this connection already has a conversation".into(),
            })),
            (_, None) => Ok(Some(CustomerEvent::Error {
                id: Some(frame.id),
                code: ErrorCode::Unauthorized,
                message: "the first frame must be `start`".into(),
            })),
            (command, Some(conversation)) => {
                let msg = EngineMsg::CustomerFrame {
                    conversation: conversation.clone(),
                    frame: protocol::CustomerFrame {
                        id: frame.id,
                        command,
                    },
                };
                state.engine.send(msg).await.map_err(|_| ())?;
                Ok(None)
            }
        }
    }

    async fn gone(self, conn: ConnId, state: &AppState) {
        if let Some(conversation) = self.conversation {
            let _ = state
                .engine
                .send(EngineMsg::CustomerGone { conn, conversation })
                .await;
        }
    }
}
