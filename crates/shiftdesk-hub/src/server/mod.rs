//! The network shell: axum serves `/ws/worker`, `/ws/customer`, `/healthz`, `/readyz` and
//! `/metrics`, and the web chat's files ([`crate::web`]).
//!
//! A connection task owns its socket and nothing else. It decodes frames (answering bad ones
//! itself, so a broken client never reaches the engine), forwards commands to the engine, and
//! writes whatever the engine queues for it. The engine cuts a connection off through the
//! `kill` watch (replaced by a newer login, or too slow to read its frames).
//!
//! Every close is a websocket close handshake: the hub answers a client's close frame with
//! its own (echoing the code), and after sending one it waits a moment for the client's answer
//! before it closes TCP. [`RunningHub::shutdown`] stops the hub in [`Phase`]s so that
//! everything the hub read is stored and acknowledged before each client gets `1011 hub
//! stopped`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use tokio::sync::{oneshot, watch};

mod connection;
mod forward;
mod probes;

use connection::{Connection, Ending, Incoming, Next, until_closing};
use forward::forwarded;
use probes::{healthz, metrics_text, readyz};

use crate::committer::Outlet;
use crate::conn::{
    CLOSE_HUB_STOPPED, CLOSE_TOO_BIG, ConnHandle, ConnId, HUB_STOPPED_REASON, INBOX_CAPACITY,
    Inbox, direct_frame,
};
use crate::dispatch::DispatchConfig;
use crate::drafting::kb::KnowledgeBase;
use crate::engine::{Engine, EngineMsg, KnowledgeReloader, now_ms};
use crate::gateway::{self, Route, Routing};
use crate::metrics::{HubMetrics, MetricsToken};
use crate::readiness::StoreProbe;
use crate::store::{OpenMode, StoreChoice, hash_token};
use shiftdesk_protocol::{
    self as protocol, CustomerCommand, CustomerEvent, DecodeError, ErrorCode, WorkerCommand,
    WorkerEvent,
};

/// Frames above this size close the connection (1009); between `MAX_FRAME_BYTES` and this they
/// get an error frame and the connection stays open.
pub const HARD_FRAME_LIMIT: usize = 1024 * 1024;

/// The websocket library's own limit on a frame and a message. Above [`HARD_FRAME_LIMIT`] so
/// that a frame a little too big is read whole and answered with a proper close handshake
/// (1009). Past this the library stops at the frame's header: the hub still sends 1009, but
/// cannot read the client's answer (the rest of the frame is in the way), so a client still
/// writing may see the connection reset.
const LIBRARY_FRAME_LIMIT: usize = 2 * HARD_FRAME_LIMIT;

/// A connection that closes waits this long at most for its last frames to be written and for
/// the client's close frame in answer to its own.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Each connection's read buffer, kept for the connection's life. Tungstenite's default
/// (128 KiB, zero-filled) would keep that much resident per idle worker. Clients' frames are
/// small (a command, a line of chat), so 2 KiB holds a few of them; a bigger frame grows the
/// buffer, and a burst takes one more read. (4 KiB cost an idle worker 2 KiB more.)
const READ_BUFFER: usize = 2048;

/// Most frames written together before one flush (see [`Connection::send_queued`]).
pub const WRITE_BATCH: usize = 64;

/// A frame that cannot be written for this long means the peer is gone or stopped reading.
const WRITE_STALL: std::time::Duration = std::time::Duration::from_secs(20);

/// How the hub is set up.
#[derive(Debug, Clone)]
pub struct HubConfig {
    pub listen: SocketAddr,
    /// The SQLite store's directory (`--data-dir`); unused with a PostgreSQL store.
    pub data_dir: PathBuf,
    /// SQLite in `data_dir`, or PostgreSQL (`--store`).
    pub store: StoreChoice,
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
    /// The web chat: who may frame it, the context secret, the customers' rate limits.
    pub chat: crate::chat::ChatSettings,
    /// The rate card shifts are paid by (the config's `[rates]`); `None`: no earnings shown.
    pub rates: Option<crate::dispatch::RateCard>,
}

#[derive(Clone)]
struct AppState {
    engine: Inbox<EngineMsg>,
    next_conn: Arc<AtomicU64>,
    metrics: Arc<HubMetrics>,
    /// The hash of the metrics token, if one is needed (compared hashed: in constant time as far
    /// as the token goes).
    metrics_token: Option<Arc<str>>,
    /// What `/readyz` asks of the store.
    store_probe: Arc<StoreProbe>,
    /// How far the hub is in stopping. Every connection task holds one, so the sender sees
    /// when the last has ended.
    phase: watch::Receiver<Phase>,
    /// Customers' signed context and rate limits.
    chat: Arc<crate::chat::ChatGate>,
    /// Whether this hub serves its clients or forwards them to the writing hub ([`gateway`]).
    routing: Arc<Routing>,
}

/// How far a hub is in stopping, as its connections see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Serving,
    /// Read nothing more from the clients; keep writing (the engine commits its last batch, and
    /// the acknowledgements of what it read go out).
    Draining,
    /// Write out what is queued, close with `1011 hub stopped`, and end.
    Closing,
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
    /// The task that hands committed frames to the connections; it ends after the committer.
    outlet: Option<tokio::task::JoinHandle<()>>,
    phase: watch::Sender<Phase>,
    routing: Arc<Routing>,
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

    /// Whether this hub serves its clients itself, or forwards them to the hub that writes to
    /// the shared store.
    pub fn route(&self) -> Route {
        self.routing.current()
    }

    /// Resolves if this hub took the shared store over but its engine could not start (the
    /// hub cannot serve, and should stop), with why.
    pub async fn failed(&self) -> String {
        let mut route = self.routing.route.subscribe();
        match route.wait_for(|r| matches!(r, Route::Failed(_))).await {
            Ok(r) => match &*r {
                Route::Failed(why) => why.clone(),
                _ => unreachable!("waited for Failed"),
            },
            Err(_) => std::future::pending().await,
        }
    }

    /// Stop cleanly, and wait for all of it:
    ///
    /// 1. stop accepting connections;
    /// 2. stop reading from the open ones, so nothing new reaches the engine;
    /// 3. stop the engine: it commits the batch it has (and any being written), and the
    ///    frames those batches hold back (acks among them) go to their connections;
    /// 4. every connection writes out what it has, sends close `1011 hub stopped`, waits a
    ///    moment ([`CLOSE_WAIT`]) for the client's answer, and ends.
    ///
    /// So whatever the hub read is stored and acknowledged; what it did not read, the client
    /// still has in its outbox and sends again after reconnecting.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.server).await;
        if self.routing.current() != Route::Local {
            // A hub waiting to take the store over has nothing of its own to store: its
            // forwarded connections close, and its engine, still waiting, ends with the process.
            tracing::info!(
                "closing the forwarded connections: {CLOSE_HUB_STOPPED} {HUB_STOPPED_REASON}"
            );
            self.phase.send_replace(Phase::Closing);
            self.phase.closed().await;
            return;
        }
        tracing::info!("not accepting connections; storing what was received");
        self.phase.send_replace(Phase::Draining);
        let _ = self.engine.send(EngineMsg::Shutdown).await;
        if let Some(thread) = self.engine_thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        if let Some(outlet) = self.outlet.take() {
            let _ = outlet.await;
        }
        let open = self.phase.receiver_count();
        tracing::info!(
            open,
            "closing connections: {CLOSE_HUB_STOPPED} {HUB_STOPPED_REASON}"
        );
        self.phase.send_replace(Phase::Closing);
        // Each connection task holds a receiver until it has closed (the server's own went
        // with the server).
        self.phase.closed().await;
    }
}

/// Bind the listener, open the store and replay the log (a standby: follow it while it waits
/// for the store, forwarding its clients meanwhile), and serve.
pub async fn start(config: HubConfig) -> anyhow::Result<RunningHub> {
    // Check the TLS files before touching anything else: a typo should not start a hub.
    let tls = match &config.tls {
        Some((cert, key)) => Some(crate::tls::server_config(cert, key)?),
        None => None,
    };
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
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    // On a shared store, the other hubs forward their clients to the one that writes, at the
    // address it records when it takes the store: `--advertise`, or where it listens.
    let mut store = config.store.clone();
    if let StoreChoice::Postgres(target) = &mut store
        && target.advertised().is_none()
    {
        let scheme = if tls.is_some() { "wss" } else { "ws" };
        let own = (!addr.ip().is_unspecified()).then(|| format!("{scheme}://{addr}"));
        if own.is_none() {
            tracing::warn!(
                listen = %addr,
                "listening on every address without --advertise: the other hubs on this \
                 store cannot forward clients to this one while it writes"
            );
        }
        *target = target.clone().advertising(own);
    }
    let shared = store.is_postgres();
    let standby = matches!(&store, StoreChoice::Postgres(target) if target.is_standby());
    let routing = Routing::new(Route::Unknown(gateway::NoWriter::NotKnown));
    if let StoreChoice::Postgres(target) = &store {
        let own = target.advertised().map(str::to_string);
        gateway::watch_writer(target.clone(), own, routing.clone());
    }
    let (tx, rx) = Inbox::bounded(INBOX_CAPACITY);
    let (outlet, outlet_task) = Outlet::on(&tokio::runtime::Handle::current());
    // The store is opened and the log replayed on the engine's own thread: a PostgreSQL
    // store's client blocks, which must not happen on this runtime.
    let (built, engine_ready) = oneshot::channel::<Result<(), crate::store::StoreError>>();
    let (data_dir, rates) = (config.data_dir.clone(), config.rates.clone());
    let (dispatch, inbox, measured) = (config.dispatch, tx.clone(), metrics.clone());
    let engine_thread = std::thread::Builder::new()
        .name("hub-engine".into())
        .spawn(move || {
            let opened = store.open(&data_dir, OpenMode::Create).and_then(|log| {
                Engine::new_measured(dispatch, log, triage, drafter, inbox, outlet, measured)
            });
            match opened {
                Ok(mut engine) => {
                    engine.set_rates(rates);
                    let _ = built.send(Ok(()));
                    engine.serve(rx);
                }
                Err(e) => drop(built.send(Err(e))),
            }
        })?;
    let engine_started = async move {
        engine_ready
            .await
            .map_err(|_| anyhow::anyhow!("the engine's thread ended while starting"))?
            .map_err(anyhow::Error::from)
    };
    if standby {
        // A standby serves at once, forwarding its clients to the writing hub, and serves them
        // itself once it has taken the store over and its engine is up.
        let routing = routing.clone();
        tokio::spawn(async move {
            match engine_started.await {
                Ok(()) => {
                    tracing::info!("this hub has taken the store over and serves its clients");
                    routing.serve_locally(true).await;
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "took the store over, but cannot serve");
                    routing.route.send_replace(Route::Failed(format!("{e:#}")));
                }
            }
        });
    } else {
        engine_started.await?;
        routing.serve_locally(shared).await;
    }
    let (phase, phase_rx) = watch::channel(Phase::Serving);
    let state = AppState {
        engine: tx.clone(),
        next_conn: Arc::new(AtomicU64::new(1)),
        metrics: metrics.clone(),
        metrics_token: config
            .metrics_token
            .as_ref()
            .map(|t| hash_token(t.as_str()).into()),
        store_probe: Arc::new(StoreProbe::new(&config.store, &config.data_dir)),
        phase: phase_rx,
        chat: Arc::new(crate::chat::ChatGate::new(&config.chat)),
        routing: routing.clone(),
    };
    // Limits that have recovered are forgotten, so their memory does not grow with history.
    let gate = Arc::downgrade(&state.chat);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        every.tick().await;
        loop {
            every.tick().await;
            match gate.upgrade() {
                Some(gate) => gate.limits.forget_idle(),
                None => return,
            }
        }
    });
    let app = Router::new()
        .route("/ws/worker", get(worker_ws))
        .route("/ws/customer", get(customer_ws))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(state)
        .merge(crate::web::router(&config.chat.origins));
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let stopped = async {
        let _ = stop_rx.await;
    };
    let server = match tls.clone() {
        Some(tls) => {
            let listener = crate::tls::TlsListener::new(listener, tls)?;
            tokio::spawn(async move {
                let result = axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<crate::listeners::Peer>(),
                )
                .with_graceful_shutdown(stopped)
                .await;
                if let Err(e) = result {
                    tracing::error!(%e, "server stopped");
                }
            })
        }
        None => tokio::spawn(async move {
            let listener = crate::listeners::PlainListener(listener);
            let result = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<crate::listeners::Peer>(),
            )
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
        outlet: Some(outlet_task),
        phase,
        routing,
    })
}

async fn worker_ws(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    let ws = match forwarded(ws, &state, "/ws/worker", &headers, None).await {
        Ok(ws) => ws,
        Err(response) => return response,
    };
    ws.max_message_size(LIBRARY_FRAME_LIMIT)
        .max_frame_size(LIBRARY_FRAME_LIMIT)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| serve(socket, state, WorkerDialect { worker: None }))
}

async fn customer_ws(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    axum::extract::ConnectInfo(crate::listeners::Peer(peer)): axum::extract::ConnectInfo<
        crate::listeners::Peer,
    >,
    headers: axum::http::HeaderMap,
) -> Response {
    // Forwarded by another hub of this store: the address that hub saw.
    let address = state
        .routing
        .forwarded_address(&headers)
        .unwrap_or_else(|| state.chat.address(peer.ip(), &headers));
    let ws = match forwarded(ws, &state, "/ws/customer", &headers, address).await {
        Ok(ws) => ws,
        Err(response) => return response,
    };
    let dialect = CustomerDialect {
        conversation: None,
        address,
    };
    ws.max_message_size(LIBRARY_FRAME_LIMIT)
        .max_frame_size(LIBRARY_FRAME_LIMIT)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| serve(socket, state, dialect))
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

/// Pump one websocket until it closes, is cut off, or the hub stops.
///
/// The task's future is allocated once, for the connection's whole life, at the size of its
/// largest state, and most connections spend that life waiting in [`Connection::next`]. So the
/// states that hold much and last briefly (a frame on its way to the engine, a write, the
/// ending) are boxed. (Not an `async fn` either: that copies its arguments into locals of the
/// future, where they took room twice.) A worker's task took 3,456 bytes before, 1,408 now
/// (`-Zprint-type-sizes`).
fn serve<D: Dialect>(
    socket: WebSocket,
    state: AppState,
    mut dialect: D,
) -> impl Future<Output = ()> + Send {
    let mut conn = Connection::new(socket, &state);
    async move {
        let ending = loop {
            let answer = match conn.next().await {
                Next::Kill(code, reason) => {
                    break Ending::Close {
                        code,
                        reason,
                        answer: true,
                    };
                }
                Next::HubStopped => break Ending::HubStopped,
                Next::Out(frame) => {
                    if !Box::pin(conn.send_queued(frame)).await {
                        break conn.cut_off();
                    }
                    continue;
                }
                Next::In(Incoming::CloseFrame) => break Ending::Answer,
                Next::In(Incoming::Gone) => break Ending::Dropped,
                Next::In(Incoming::TooBig { read_whole }) => {
                    tracing::info!(conn = conn.handle.id, "frame over {HARD_FRAME_LIMIT} bytes");
                    break Ending::Close {
                        code: CLOSE_TOO_BIG,
                        reason: "message too big".into(),
                        answer: read_whole,
                    };
                }
                Next::In(Incoming::Control) => continue,
                Next::In(Incoming::Binary) => Some(direct_frame(&D::error(binary_error()))),
                Next::In(Incoming::Text(text)) => match D::decode(&text) {
                    Err(e) => Some(direct_frame(&D::error(e))),
                    Ok(frame) => {
                        match Box::pin(dialect.on_frame(frame, &conn.handle, &state)).await {
                            // Encoded at once: the future holds the frame, not the
                            // event, while the write waits.
                            Ok(answer) => answer.map(|event| direct_frame(&event)),
                            // The engine has stopped: so has the hub.
                            Err(()) => break Ending::HubStopped,
                        }
                    }
                },
            };
            if let Some(frame) = answer
                && !Box::pin(conn.send_queued(frame)).await
            {
                break Ending::Dropped;
            }
        };
        Box::pin(conn.end(ending)).await;
        Box::pin(dialect.gone(conn.handle.id, &state)).await;
    }
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
                    features,
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
                    features,
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
                        producer: frame.producer,
                        cseq: frame.cseq,
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
    /// What the per-address rate limit counts against (`None`: not limited by address).
    address: Option<std::net::IpAddr>,
}

/// The answer to a command over a rate limit.
fn rate_limited(id: String, wait: std::time::Duration) -> CustomerEvent {
    CustomerEvent::Error {
        id: Some(id),
        code: ErrorCode::RateLimited,
        message: crate::chat::rate_limited_message(wait),
        retry_after_ms: Some(wait.as_millis().max(1) as u64),
    }
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
            retry_after_ms: None,
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
                    signed_context,
                },
                None,
            ) => {
                if resume.is_none()
                    && let Some(address) = self.address
                    && let Err(wait) = state.chat.limits.start(address)
                {
                    return Ok(Some(rate_limited(frame.id, wait)));
                }
                let (context, verified) = state.chat.context(context, signed_context.as_deref());
                let (reply, rx) = oneshot::channel();
                let start = EngineMsg::CustomerStart {
                    conn: conn.clone(),
                    id: frame.id,
                    protocol,
                    name,
                    lang,
                    resume,
                    context,
                    verified,
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
                retry_after_ms: None,
            })),
            (_, None) => Ok(Some(CustomerEvent::Error {
                id: Some(frame.id),
                code: ErrorCode::Unauthorized,
                message: "the first frame must be `start`".into(),
                retry_after_ms: None,
            })),
            (command, Some(conversation)) => {
                if matches!(command, CustomerCommand::Message { .. }) {
                    let allowed = match self.address {
                        Some(address) => state.chat.limits.message(conversation, address),
                        None => state.chat.limits.conversation(conversation),
                    };
                    if let Err(wait) = allowed {
                        return Ok(Some(rate_limited(frame.id, wait)));
                    }
                }
                let msg = EngineMsg::CustomerFrame {
                    conversation: conversation.clone(),
                    frame: protocol::CustomerFrame {
                        id: frame.id,
                        producer: frame.producer,
                        cseq: frame.cseq,
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
