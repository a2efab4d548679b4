//! Several hubs on one PostgreSQL store, every one of them serving clients.
//!
//! One hub at a time writes: it holds the writer lock and the lease ([`crate::store::postgres`]),
//! runs the dispatch core and keeps every client's stream. Every other hub is a **gateway**: it
//! takes websocket connections like any hub (TLS, the web chat's files, `/healthz`), and
//! forwards each `/ws/worker` and `/ws/customer` connection, frame for frame, to the writing
//! hub, whose address that hub recorded in the lease when it took the store (`hub
//! --advertise`). So a customer on hub A is offered to a worker on hub B like any other, and a
//! worker whose gateway died reconnects through another hub and resumes its stream where it
//! was (`resumed: true`): the stream lives in the writing hub.
//!
//! Each hub learns who writes from the lease row, and only from it: a watcher on a connection
//! of its own `LISTEN`s for the notice a hub sends when it takes the store, reads the row at
//! once when one comes, and every [`POLL`] in any case (a notice can be lost while the
//! connection is down; after a reconnect it `LISTEN`s again before it reads). A writer whose
//! lease has run out (killed, paused) is no route: connections wait for the next writer
//! ([`Routing::settled`]), and forwarded ones close with `1011`, so that their clients
//! reconnect and resume on the new one. A gateway that takes the store over serves from then
//! on.
//!
//! The writing hub limits customers by their address: a gateway sends the address it saw in
//! [`CLIENT_ADDRESS_HEADER`], and the writing hub believes it only beside the store's gateway key
//! ([`GATEWAY_KEY_HEADER`]), which only who can read the database knows.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};

use crate::store::postgres::{LEASE, WRITER_CHANNEL, describe_error};
use crate::store::{PostgresTarget, hash_token};

/// Where a forwarded connection's gateway key goes.
pub const GATEWAY_KEY_HEADER: &str = "x-shiftdesk-gateway";
/// Where a gateway puts the address it saw the customer at (`-`: none to limit by).
pub const CLIENT_ADDRESS_HEADER: &str = "x-shiftdesk-client-address";

/// How often a hub reads the lease row without a notice.
pub const POLL: Duration = Duration::from_millis(500);

/// How soon a hub that could not read the lease tries again.
const RETRY: Duration = Duration::from_millis(100);

/// How long a new connection waits for a writing hub to be known before `503`.
pub const SETTLE_WAIT: Duration = Duration::from_secs(10);

/// How long a hub on a shared store waits, before serving, to read the key its gateways show.
const KEY_WAIT: Duration = Duration::from_secs(5);

/// How long a gateway waits for the writing hub to take a forwarded connection.
const CONNECT_WAIT: Duration = Duration::from_secs(5);

/// Most frames forwarded together before one flush.
const FORWARD_BATCH: usize = 64;

/// Where this hub sends its clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Nobody known to write just now, and why.
    Unknown(NoWriter),
    /// Another hub writes: forward to it.
    Forward(Writer),
    /// This hub writes: serve.
    Local,
    /// This hub took the store but its engine did not start.
    Failed(String),
}

/// Why no hub is known to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoWriter {
    /// The lease has not been read yet, or names no address.
    NotKnown,
    /// The writer's lease ran out (it was killed or stalled): a standby is taking over.
    LeaseRanOut,
    /// The lease names this hub's own address, but this hub does not write: it is taking
    /// over, or the writing hub advertises this hub's address by mistake.
    NamesThisHub,
}

impl NoWriter {
    /// What a client turned away is told.
    pub fn explain(self) -> &'static str {
        match self {
            NoWriter::NotKnown => {
                "this hub does not know which hub writes to the store yet (or the writing hub \
                 advertises no address: start it with --advertise)"
            }
            NoWriter::LeaseRanOut => {
                "the hub that wrote to the store stopped renewing its lease; another is taking over"
            }
            NoWriter::NamesThisHub => {
                "the store's lease names this hub's address, but this hub does not write: it is \
                 taking over, or the writing hub advertises this hub's address (check its \
                 --advertise)"
            }
        }
    }
}

/// The writing hub, as its lease row names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    /// Its websocket address (`ws://HOST:PORT`), without a path.
    pub url: Arc<str>,
    pub epoch: i64,
}

/// What every connection consults: the route, and the store's gateway key.
pub struct Routing {
    pub route: watch::Sender<Route>,
    key: watch::Sender<Option<Arc<str>>>,
}

impl Routing {
    /// Routing that starts at `route`, the store's key not read yet.
    pub fn new(route: Route) -> Arc<Routing> {
        Arc::new(Routing {
            route: watch::Sender::new(route),
            key: watch::Sender::new(None),
        })
    }

    pub fn current(&self) -> Route {
        self.route.borrow().clone()
    }

    /// The route once one is known, waiting [`SETTLE_WAIT`] at most (a takeover in progress).
    pub async fn settled(&self) -> Route {
        let mut route = self.route.subscribe();
        let known = route.wait_for(|r| !matches!(r, Route::Unknown(_)));
        match tokio::time::timeout(SETTLE_WAIT, known).await {
            Ok(Ok(r)) => r.clone(),
            _ => self.current(),
        }
    }

    /// Wait until the lease names another writer than `writer` (or none), until `deadline`;
    /// whether it did.
    pub async fn moved_on_from(&self, writer: &Writer, deadline: tokio::time::Instant) -> bool {
        let mut route = self.route.subscribe();
        let moved = route.wait_for(|r| !matches!(r, Route::Forward(w) if w == writer));
        matches!(tokio::time::timeout_at(deadline, moved).await, Ok(Ok(_)))
    }

    /// This hub's engine is serving: from now on it does not forward (until the process ends).
    /// On a `shared` store, once it has read the key its gateways show ([`KEY_WAIT`] at most):
    /// a writing hub that served before would not believe the addresses they forward.
    pub async fn serve_locally(&self, shared: bool) {
        if shared {
            let mut key = self.key.subscribe();
            let read = key.wait_for(Option::is_some);
            if !matches!(tokio::time::timeout(KEY_WAIT, read).await, Ok(Ok(_))) {
                tracing::warn!(
                    "the store's gateway key is not read yet: until it is, customers' \
                     addresses forwarded by other hubs are not believed"
                );
            }
        }
        self.route.send_replace(Route::Local);
    }

    fn key(&self) -> Option<Arc<str>> {
        self.key.borrow().clone()
    }

    /// For a connection forwarded by another hub with the store's key: the customer's address
    /// that hub saw (`Some(None)`: none to limit by). `None`: not forwarded (or the key is
    /// wrong), so the peer's own address counts.
    pub fn forwarded_address(&self, headers: &HeaderMap) -> Option<Option<IpAddr>> {
        let given = headers
            .get(GATEWAY_KEY_HEADER)?
            .to_str()
            .unwrap_or_default();
        let key = self.key()?;
        // Compared hashed, as the metrics token is: in constant time as far as the key goes.
        if hash_token(given) != hash_token(&key) {
            tracing::warn!("a connection named a gateway with the wrong key: its address counts");
            return None;
        }
        let address = headers
            .get(CLIENT_ADDRESS_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<IpAddr>().ok());
        Some(address)
    }
}

/// What the lease row says.
struct Lease {
    writer_url: Option<String>,
    epoch: i64,
    key: String,
    live: bool,
}

/// Follow the lease row for as long as `routing` is used; see the module's doc. `own` is this
/// hub's advertised address (a lease naming it means this hub is taking over).
pub fn watch_writer(target: PostgresTarget, own: Option<String>, routing: Arc<Routing>) {
    tokio::spawn(async move {
        // A new store has no lease row until the first hub has migrated it: only a failure that
        // lasts is worth a warning.
        let mut failing_since: Option<tokio::time::Instant> = None;
        let mut told = false;
        loop {
            // Nobody else holds the routing: nobody consults it any more.
            if Arc::strong_count(&routing) == 1 {
                return;
            }
            match follow(&target, own.as_deref(), &routing).await {
                Ok(()) => return,
                Err(why) => {
                    let since = *failing_since.get_or_insert_with(tokio::time::Instant::now);
                    if !told && since.elapsed() >= SETTLE_WAIT / 2 {
                        tracing::warn!(url = target.redacted(), %why, "cannot follow the store's lease (which hub writes); trying again");
                        told = true;
                    } else {
                        tracing::debug!(url = target.redacted(), %why, "cannot follow the store's lease yet");
                    }
                }
            }
            // Soon: a new store's lease row appears as the first hub migrates it.
            tokio::time::sleep(RETRY).await;
        }
    });
}

/// One connection's worth of following: `Ok` when nobody needs the route any more.
async fn follow(
    target: &PostgresTarget,
    own: Option<&str>,
    routing: &Arc<Routing>,
) -> Result<(), String> {
    let connect = tokio::time::timeout(
        Duration::from_secs(5),
        target.config().connect(tokio_postgres::NoTls),
    );
    let (client, mut connection) = match connect.await {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => return Err(describe_error(&e)),
        Err(_) => return Err("no answer within 5 s".into()),
    };
    let (nudge, mut nudged) = tokio::sync::mpsc::unbounded_channel::<()>();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(tokio_postgres::AsyncMessage::Notification(_)) => {
                    let _ = nudge.send(());
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    let _driver = AbortOnDrop(driver);
    // Listen first, then read: a takeover between the two is in the row already.
    client
        .batch_execute(&format!("LISTEN {WRITER_CHANNEL}"))
        .await
        .map_err(|e| describe_error(&e))?;
    let lease = LEASE.as_secs_f64();
    loop {
        let row = tokio::time::timeout(
            Duration::from_secs(5),
            client.query_one(
                "SELECT writer_url, epoch, gateway_key,
                        clock_timestamp() - renewed_at <= make_interval(secs => $1)
                 FROM hub_lease",
                &[&lease],
            ),
        )
        .await
        .map_err(|_| "no answer within 5 s".to_string())?
        .map_err(|e| describe_error(&e))?;
        let read = Lease {
            writer_url: row.get(0),
            epoch: row.get(1),
            key: row.get(2),
            live: row.get(3),
        };
        apply(routing, own, read);
        let mut route = routing.route.subscribe();
        tokio::select! {
            _ = nudged.recv() => {}
            () = tokio::time::sleep(POLL) => {}
            // This hub writes now (or failed): nothing more to follow, but the key.
            _ = route.wait_for(|r| matches!(r, Route::Local | Route::Failed(_))) => {}
        }
        if client.is_closed() {
            return Err("the connection closed".into());
        }
        if matches!(routing.current(), Route::Local | Route::Failed(_)) && routing.key().is_some() {
            return Ok(());
        }
    }
}

/// Take in what the lease row says.
fn apply(routing: &Routing, own: Option<&str>, lease: Lease) {
    routing.key.send_if_modified(|key| {
        if key.as_deref() == Some(lease.key.as_str()) {
            return false;
        }
        *key = Some(lease.key.as_str().into());
        true
    });
    let next = match lease.writer_url {
        _ if !lease.live => Route::Unknown(NoWriter::LeaseRanOut),
        Some(url) if Some(url.as_str()) != own => Route::Forward(Writer {
            url: url.into(),
            epoch: lease.epoch,
        }),
        Some(_) => Route::Unknown(NoWriter::NamesThisHub),
        None => Route::Unknown(NoWriter::NotKnown),
    };
    routing.route.send_if_modified(|route| {
        if matches!(route, Route::Local | Route::Failed(_)) || *route == next {
            return false;
        }
        match &next {
            Route::Forward(w) => tracing::info!(writer = %w.url, epoch = w.epoch, "forwarding clients to the writing hub"),
            _ => tracing::info!("no writing hub: new connections wait for one"),
        }
        *route = next;
        true
    });
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

type Upstream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How a forwarded connection is set up.
pub struct Forwarding<'a> {
    pub writer: Writer,
    /// `/ws/worker` or `/ws/customer`.
    pub path: &'static str,
    pub headers: &'a HeaderMap,
    /// The customer's address as this hub counts it.
    pub address: Option<IpAddr>,
    pub routing: Arc<Routing>,
    /// Resolves when this hub is stopping: the connection closes with `1011 hub stopped`.
    pub stopping: futures_util::future::BoxFuture<'static, ()>,
    pub frame_limit: usize,
    pub read_buffer: usize,
    pub metrics: Arc<crate::metrics::HubMetrics>,
}

/// Connect to the writing hub and, if it takes the connection, bridge the client to it; its
/// refusal (an origin not allowed, say) goes back to the client as it came. A writing hub that
/// cannot be reached gives the upgrade back, with why: it may have just died, and the caller
/// may try the next one.
pub async fn forward(
    ws: WebSocketUpgrade,
    how: Forwarding<'_>,
) -> Result<Response, (WebSocketUpgrade, String)> {
    let url = format!("{}{}", how.writer.url, how.path);
    let mut request = match url.as_str().into_client_request() {
        Ok(request) => request,
        Err(e) => {
            return Ok(unavailable(format!(
                "the writing hub's address `{url}` is not usable: {e}\n"
            )));
        }
    };
    for name in [axum::http::header::ORIGIN, axum::http::header::USER_AGENT] {
        if let Some(value) = how.headers.get(&name) {
            request.headers_mut().insert(name, value.clone());
        }
    }
    if let Some(key) = how.routing.key()
        && let Ok(key) = HeaderValue::from_str(&key)
    {
        request.headers_mut().insert(GATEWAY_KEY_HEADER, key);
    }
    let address = how
        .address
        .map_or_else(|| "-".to_string(), |ip| ip.to_string());
    if let Ok(address) = HeaderValue::from_str(&address) {
        request.headers_mut().insert(CLIENT_ADDRESS_HEADER, address);
    }
    // What the writing hub sends is not limited: a worker's login snapshot carries each open
    // conversation whole, and the hub sends it to a client it serves itself the same way.
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None)
        .read_buffer_size(how.read_buffer);
    let connect =
        tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, None);
    let upstream = match tokio::time::timeout(CONNECT_WAIT, connect).await {
        Ok(Ok((upstream, _))) => upstream,
        Ok(Err(tungstenite::Error::Http(refused))) => {
            let status =
                StatusCode::from_u16(refused.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let body = refused.into_body().unwrap_or_default();
            return Ok((status, body).into_response());
        }
        Ok(Err(e)) => {
            let why =
                format!("the writing hub at {url} does not take connections ({e}); try again\n");
            return Err((ws, why));
        }
        Err(_) => {
            let why = format!(
                "the writing hub at {url} did not answer within {CONNECT_WAIT:?}; try again\n"
            );
            return Err((ws, why));
        }
    };
    let (writer, routing, stopping) = (how.writer, how.routing, how.stopping);
    let counted = how.metrics.forwarding();
    Ok(ws
        .max_message_size(how.frame_limit)
        .max_frame_size(how.frame_limit)
        .read_buffer_size(how.read_buffer)
        .on_upgrade(move |client| async move {
            bridge(client, upstream, writer, routing, stopping).await;
            drop(counted);
        }))
}

fn unavailable(why: String) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, why).into_response()
}

/// How a bridge ends.
enum End {
    /// Close the client with this code and reason, then wait for its answer.
    Client(u16, String),
    /// The client closed: its close went to the writing hub.
    ClientClosed,
    /// The client is gone.
    Gone,
}

/// What a bridge waits for.
enum Event {
    Client(Option<Result<WsMessage, axum::Error>>),
    Writer(Option<Result<tungstenite::Message, tungstenite::Error>>),
    /// The route changed (or its sender is gone: `false`).
    Route(bool),
    Stopping,
}

/// Copy frames both ways until either side closes, the writing hub changes or this hub stops.
/// Frames that have arrived together go out in one write (at most [`FORWARD_BATCH`]).
async fn bridge(
    mut client: WebSocket,
    mut upstream: Upstream,
    writer: Writer,
    routing: Arc<Routing>,
    stopping: futures_util::future::BoxFuture<'static, ()>,
) {
    let mut route = routing.route.subscribe();
    let mut stopping = stopping.fuse();
    let writer_gone = || {
        End::Client(
            crate::conn::CLOSE_HUB_STOPPED,
            shiftdesk_protocol::close::WRITER_CHANGED_REASON.into(),
        )
    };
    // A frame read while batching that is not for the batch: handled next.
    let mut pending: Option<Event> = None;
    let end = loop {
        let event = match pending.take() {
            Some(event) => event,
            None => tokio::select! {
                message = client.recv() => Event::Client(message),
                message = upstream.next() => Event::Writer(message),
                changed = route.changed() => Event::Route(changed.is_ok()),
                () = &mut stopping => Event::Stopping,
            },
        };
        match event {
            Event::Client(Some(Ok(first @ (WsMessage::Text(_) | WsMessage::Binary(_))))) => {
                let mut batch = Vec::new();
                let mut next = Some(Some(Ok(first)));
                loop {
                    let message = match next.take() {
                        Some(Some(Ok(message))) => message,
                        // The client closed, or failed: after this batch.
                        Some(other) => {
                            pending = Some(Event::Client(other));
                            break;
                        }
                        // Nothing more has arrived, or the batch is full.
                        None => break,
                    };
                    match message {
                        WsMessage::Text(text) => {
                            batch.push(tungstenite::Message::text(text.as_str()));
                        }
                        WsMessage::Binary(bytes) => batch.push(tungstenite::Message::Binary(bytes)),
                        WsMessage::Ping(_) | WsMessage::Pong(_) => {}
                        close @ WsMessage::Close(_) => {
                            pending = Some(Event::Client(Some(Ok(close))));
                            break;
                        }
                    }
                    if batch.len() < FORWARD_BATCH {
                        next = client.recv().now_or_never();
                    }
                }
                if send_all(&mut upstream, batch).await.is_err() {
                    break writer_gone();
                }
            }
            Event::Client(Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_)))) => {}
            Event::Client(Some(Ok(WsMessage::Close(frame)))) => {
                let _ = upstream.close(frame.map(close_upstream)).await;
                break End::ClientClosed;
            }
            Event::Client(Some(Err(e))) => break client_failed(e, &mut upstream).await,
            Event::Client(None) => break End::Gone,
            Event::Writer(Some(Ok(
                first @ (tungstenite::Message::Text(_) | tungstenite::Message::Binary(_)),
            ))) => {
                let mut fed = 0;
                let mut next = Some(Some(Ok(first)));
                loop {
                    let message = match next.take() {
                        Some(Some(Ok(tungstenite::Message::Text(text)))) => {
                            WsMessage::Text(text.as_str().into())
                        }
                        Some(Some(Ok(tungstenite::Message::Binary(bytes)))) => {
                            WsMessage::Binary(bytes)
                        }
                        // A close, a failure, a ping: after this batch.
                        Some(other) => {
                            pending = Some(Event::Writer(other));
                            break;
                        }
                        None => break,
                    };
                    if client.feed(message).await.is_err() {
                        break;
                    }
                    fed += 1;
                    if fed < FORWARD_BATCH {
                        next = upstream.next().now_or_never();
                    }
                }
                if client.flush().await.is_err() {
                    break End::Gone;
                }
            }
            Event::Writer(Some(Ok(tungstenite::Message::Close(frame)))) => {
                // The writing hub's own close (4000 resumed elsewhere, 1011 hub stopped, …)
                // goes to the client as it is.
                let (code, reason) = frame.map_or((1000, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                });
                break End::Client(code, reason);
            }
            Event::Writer(Some(Ok(_))) => {}
            Event::Writer(Some(Err(e))) => {
                tracing::warn!(writer = %writer.url, error = %e, "the connection to the writing hub failed");
                break writer_gone();
            }
            Event::Writer(None) => break writer_gone(),
            Event::Route(open) => {
                let same = open && matches!(&*route.borrow(), Route::Forward(w) if *w == writer);
                if !same {
                    let _ = upstream.close(None).await;
                    break writer_gone();
                }
            }
            Event::Stopping => {
                let _ = upstream.close(None).await;
                break End::Client(
                    crate::conn::CLOSE_HUB_STOPPED,
                    crate::conn::HUB_STOPPED_REASON.into(),
                );
            }
        }
    };
    let finish = async {
        match end {
            End::Gone => {}
            End::ClientClosed => {
                let _ = client.flush().await;
            }
            End::Client(code, reason) => {
                let frame = CloseFrame {
                    code,
                    reason: reason.into(),
                };
                if client.send(WsMessage::Close(Some(frame))).await.is_ok() {
                    while let Some(Ok(message)) = client.recv().await {
                        if matches!(message, WsMessage::Close(_)) {
                            break;
                        }
                    }
                }
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), finish).await;
}

/// The client broke the protocol or the connection: a frame over the limit is told `1009`, as
/// the hub tells its own clients; the writing hub is told the client went away.
async fn client_failed(e: axum::Error, upstream: &mut Upstream) -> End {
    let too_big = matches!(
        e.into_inner().downcast::<tungstenite::Error>().as_deref(),
        Ok(tungstenite::Error::Capacity(_))
    );
    let _ = upstream.close(None).await;
    if too_big {
        End::Client(crate::conn::CLOSE_TOO_BIG, "message too big".into())
    } else {
        End::Gone
    }
}

/// A client's close frame, as the writing hub is to get it.
fn close_upstream(frame: CloseFrame) -> tungstenite::protocol::CloseFrame {
    tungstenite::protocol::CloseFrame {
        code: frame.code.into(),
        reason: frame.reason.as_str().into(),
    }
}

async fn send_all(
    upstream: &mut Upstream,
    batch: Vec<tungstenite::Message>,
) -> Result<(), tungstenite::Error> {
    for message in batch {
        upstream.feed(message).await?;
    }
    upstream.flush().await
}
