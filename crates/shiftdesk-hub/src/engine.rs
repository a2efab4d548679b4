//! The engine: one thread that owns the dispatch core, the event log, the drafter and every
//! client's outbound stream. Connection tasks talk to it only by messages.
//!
//! For each input it runs the core and keeps the resulting facts (and the command id); frames
//! for the connections are held back. Inputs that arrive together form a batch: after the last
//! one, every fact of the batch is appended to the log in one durable transaction (group
//! commit), and only then are the held frames handed to the connections. So nothing leaves the
//! hub before what caused it is on disk, and one disk flush serves many messages. Sending never
//! blocks: a connection whose queue is full is cut off and can resume later.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use foldhash::{HashMap, HashMapExt};
use tokio::sync::{mpsc, oneshot, watch};

use crate::committer::{Batch, Committer, Outlet, ask_to_resume};
use crate::dispatch::quiet::QuietDrafts;
use crate::dispatch::{Command, Dispatch, DispatchConfig, DraftWanted, Effect, Input, Refusal};
use crate::draft_pool::DraftPool;
use crate::drafting::kb::KnowledgeBase;
use crate::drafting::{DraftProposal, DraftRequest, Drafter};
use crate::facts::Fact;
use crate::lang::Lang;
use crate::seen::SeenCommands;
use crate::store::{CommandRecord, CommandResult, EventStore, StoreError, hash_token};
use crate::triage::Triage;
use shiftdesk_protocol::{
    self as protocol, ConversationId, CustomerCommand, CustomerEvent, CustomerFrame,
    CustomerResume, ErrorCode, Limits, Millis, PROTOCOL_VERSION, RESUME_WINDOW, Resume, Role,
    WorkerCommand, WorkerEvent, WorkerFrame, WorkerId,
};

/// Frames waiting for a connection; when full, the client is too slow and is cut off.
///
/// One group commit of [`MAX_BATCH`] inputs lets out all its frames at once, and a supervisor
/// shadowing busy conversations gets up to two from each input (the message and its draft), so
/// the queue holds two such bursts: a client that keeps up is never cut off by a burst. (The
/// committer, which may store several batches in one transaction, lets out at most half this
/// many frames at once. The queue grows only as frames wait: an idle connection holds none.)
pub const CONNECTION_QUEUE: usize = 4 * MAX_BATCH;
pub use shiftdesk_protocol::close::{
    REPLACED as CLOSE_REPLACED, STORE_FAILED as CLOSE_STORE_FAILED, TOO_SLOW as CLOSE_TOO_SLOW,
};
/// Most inputs in one group commit; more wait for the next one.
const MAX_BATCH: usize = 1024;

pub type ConnId = u64;

/// An encoded frame. One allocation, shared by reference count between a stream's resume
/// window and the connections it goes to, and written to the socket as it is.
pub type Frame = axum::extract::ws::Utf8Bytes;

/// What the engine needs to reach one connection.
#[derive(Debug, Clone)]
pub struct ConnHandle {
    pub id: ConnId,
    pub frames: mpsc::Sender<Frame>,
    /// Set to a close code and reason to make the connection task hang up.
    pub kill: watch::Sender<Option<(u16, String)>>,
}

impl ConnHandle {
    pub(crate) fn send(&self, frame: Frame) -> bool {
        match self.frames.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.kill
                    .send_replace(Some((CLOSE_TOO_SLOW, "too slow".into())));
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// Messages from connection tasks to the engine.
#[derive(Debug)]
pub enum EngineMsg {
    WorkerHello {
        conn: ConnHandle,
        id: String,
        token: String,
        protocol: u32,
        resume: Option<Resume>,
        /// Told whether login worked, so the connection knows it may send commands.
        reply: oneshot::Sender<Option<WorkerId>>,
    },
    WorkerFrame {
        conn: ConnId,
        worker: WorkerId,
        frame: WorkerFrame,
    },
    WorkerGone {
        conn: ConnId,
        worker: WorkerId,
    },
    CustomerStart {
        conn: ConnHandle,
        id: String,
        protocol: u32,
        name: Option<String>,
        lang: Option<Lang>,
        resume: Option<CustomerResume>,
        context: Vec<(String, String)>,
        reply: oneshot::Sender<Option<ConversationId>>,
    },
    CustomerFrame {
        conversation: ConversationId,
        frame: CustomerFrame,
    },
    CustomerGone {
        conn: ConnId,
        conversation: ConversationId,
    },
    /// A streaming drafter has written more of a draft.
    DraftPartial {
        conversation: ConversationId,
        for_message: u32,
        text: String,
    },
    /// A drafter has finished (see [`Engine::request_draft`]).
    DraftDone {
        conversation: ConversationId,
        for_message: u32,
        attempt: u32,
        proposal: DraftProposal,
    },
    /// A batch of this generation could not be stored: it and every later one did not happen.
    CommitFailed {
        generation: u64,
    },
    /// A drafter panicked; the worker writes this reply by hand.
    DraftFailed {
        conversation: ConversationId,
    },
    Health {
        reply: oneshot::Sender<Health>,
    },
    Shutdown,
}

/// How often a streaming draft is forwarded to the console at most.
const DRAFT_PARTIAL_EVERY: Duration = Duration::from_millis(60);

#[derive(Debug, Clone, serde::Serialize)]
pub struct Health {
    pub status: &'static str,
    pub conversations: usize,
    pub queued: usize,
    pub workers_connected: usize,
}

/// What a customer said about themselves when opening a conversation.
struct Opening {
    name: Option<String>,
    lang: Option<Lang>,
    context: Vec<(String, String)>,
}

/// A client's outbound stream: numbered frames, the newest kept for resume.
struct Stream {
    name: String,
    next_seq: u64,
    window: VecDeque<(u64, Frame)>,
    conn: Option<ConnHandle>,
    /// For each batch not yet committed that pushed to this stream, oldest first: the batch
    /// and the first seq it pushed, to take back if a commit fails.
    uncommitted: VecDeque<(u64, u64)>,
}

impl Stream {
    fn new(name: String) -> Stream {
        Stream {
            name,
            next_seq: 1,
            window: VecDeque::new(),
            conn: None,
            uncommitted: VecDeque::new(),
        }
    }

    /// Number the event and keep it for resume; returns the frame to send once the batch is
    /// committed, if someone is connected.
    fn push<E: serde::Serialize>(&mut self, event: &E, batch: u64) -> Option<(ConnHandle, Frame)> {
        let seq = self.next_seq;
        self.next_seq += 1;
        if !self.pushed_in(batch) {
            self.uncommitted.push_back((batch, seq));
        }
        let mut text = protocol::encode(seq, event);
        // The window keeps it: not the spare room the encoder grew it by (up to as much again).
        text.shrink_to_fit();
        let frame: Frame = text.into();
        if self.window.len() == RESUME_WINDOW {
            self.window.pop_front();
        }
        self.window.push_back((seq, frame.clone()));
        self.conn.as_ref().map(|conn| (conn.clone(), frame))
    }

    /// Whether `batch` has pushed to this stream already.
    fn pushed_in(&self, batch: u64) -> bool {
        self.uncommitted.back().is_some_and(|(b, _)| *b == batch)
    }

    /// The batches up to `up_to` are in the log.
    fn committed(&mut self, up_to: u64) {
        while self.uncommitted.front().is_some_and(|(b, _)| *b <= up_to) {
            self.uncommitted.pop_front();
        }
    }

    /// Forget the frames of every batch not committed (one failed, and later ones built on it).
    fn take_back(&mut self) {
        if let Some((_, from)) = self.uncommitted.front().copied() {
            while self.window.back().is_some_and(|(seq, _)| *seq >= from) {
                self.window.pop_back();
            }
            self.next_seq = from;
        }
        self.uncommitted.clear();
    }

    /// Frames after `last_seq`, if the window still holds all of them.
    fn replay_from(&self, last_seq: u64) -> Option<Vec<Frame>> {
        if last_seq + 1 >= self.next_seq {
            return Some(Vec::new());
        }
        let first = self.window.front().map(|(s, _)| *s)?;
        if last_seq + 1 < first {
            return None;
        }
        Some(
            self.window
                .iter()
                .filter(|(s, _)| *s > last_seq)
                .map(|(_, f)| f.clone())
                .collect(),
        )
    }
}

fn direct<E: serde::Serialize>(conn: &ConnHandle, event: &E) {
    conn.send(protocol::encode(0, event).into());
}

pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

pub struct Engine {
    dispatch: Dispatch,
    store: Box<dyn EventStore>,
    drafter: Arc<dyn Drafter>,
    /// Drafts are written on these threads and come back through `inbox`.
    drafts: DraftPool,
    inbox: Sender<EngineMsg>,
    /// Names this hub process's streams, so a resume from before a restart gets a snapshot.
    epoch: String,
    workers: HashMap<WorkerId, Stream>,
    customers: HashMap<ConversationId, Stream>,
    wallboard_subscribers: Vec<WorkerId>,
    last_wallboard: Millis,
    /// Appends batches to the log and then sends their frames; `None` once stopped.
    committer: Option<Committer>,
    /// The open batch's number, and the generation of batches being made (raised after a
    /// failed commit: older batches are void).
    batch_no: u64,
    generation: u64,
    /// The open batch: facts and commands not yet in the log, and the frames waiting for them.
    batch_facts: Vec<Fact>,
    batch_commands: Vec<CommandRecord>,
    held: Vec<(ConnHandle, Frame)>,
    /// Streams pushed to in the open batch (true = a worker's).
    touched: Vec<(bool, String)>,
    /// Batches handed to the committer and not yet seen stored, with the streams they pushed
    /// to, oldest first.
    in_flight: VecDeque<(u64, Vec<(bool, String)>)>,
    /// The results of commands in the open and in-flight batches (with the batch), which the
    /// log cannot answer for yet.
    recent_commands: HashMap<(String, String), (CommandResult, u64)>,
    /// Every command in the log or on its way there, so that new ones (nearly all) need no
    /// lookup in the store.
    seen: SeenCommands,
    /// When the core next needs a `Tick`; refreshed after each batch.
    next_deadline: Option<Millis>,
    /// Conversations with a draft being written, and the newer request to start when it is
    /// done: one draft at a time per conversation, and a draft for a message that a newer one
    /// has overtaken is never started (the core would drop it anyway).
    drafting: HashMap<ConversationId, Option<DraftWanted>>,
    /// First drafts waiting for their customer to pause ([`DispatchConfig::draft_quiet_ms`]).
    quiet: QuietDrafts,
}

impl Engine {
    /// Build the engine, replaying the log into the dispatch core. `inbox` is the sender of the
    /// channel [`Engine::serve`] will read (drafts written on the drafting threads come back
    /// through it).
    pub fn new(
        config: DispatchConfig,
        store: Box<dyn EventStore>,
        kb: Arc<KnowledgeBase>,
        drafter: Arc<dyn Drafter>,
        inbox: Sender<EngineMsg>,
        outlet: Outlet,
    ) -> Result<Engine, StoreError> {
        let (dispatch, replayed) = replay(config, kb, store.as_ref())?;
        let seen = SeenCommands::load(store.as_ref())?;
        let committer =
            Committer::start(store.appender()?, inbox.clone(), outlet).map_err(|e| {
                StoreError::Invalid(format!("cannot start the thread that writes the log: {e}"))
            })?;
        let epoch = format!("{:x}", rand::random::<u64>());
        let mut engine = Engine {
            dispatch,
            store,
            drafts: DraftPool::new(drafter.parallel_drafts()),
            drafter,
            inbox,
            epoch,
            workers: HashMap::new(),
            customers: HashMap::new(),
            wallboard_subscribers: Vec::new(),
            last_wallboard: 0,
            committer: Some(committer),
            batch_no: 1,
            generation: 0,
            batch_facts: Vec::new(),
            batch_commands: Vec::new(),
            held: Vec::new(),
            touched: Vec::new(),
            in_flight: VecDeque::new(),
            recent_commands: HashMap::new(),
            seen,
            next_deadline: None,
            drafting: HashMap::new(),
            quiet: QuietDrafts::new(config.draft_quiet_ms),
        };
        // Nobody is connected to a fresh process: start grace periods, expire old offers.
        let now = now_ms();
        engine.run(Input::Restarted, now);
        engine.flush(now);
        tracing::info!(replayed, "event log replayed");
        Ok(engine)
    }

    /// Serve messages until `Shutdown` or until every sender is gone. Whatever is waiting in the
    /// inbox is handled as one batch and committed together (group commit).
    pub fn serve(mut self, inbox: Receiver<EngineMsg>) {
        let mut stopping = false;
        while !stopping {
            let now = now_ms();
            let next = self
                .next_deadline
                .unwrap_or(u64::MAX)
                .min(self.quiet.next_due().unwrap_or(u64::MAX))
                .min(self.last_wallboard + 1000)
                .min(now + 1000);
            let wait = Duration::from_millis(next.saturating_sub(now).max(1));
            let received = inbox.recv_timeout(wait);
            self.catch_up();
            match received {
                Ok(EngineMsg::Shutdown) => break,
                Ok(msg) => {
                    // The first message woke this thread. Where the connection tasks share its
                    // core they were still reading, so let them finish first: the batch then
                    // holds what they read (many lines, one commit) instead of one line each.
                    // (With a core to spare this returns at once.) Measured pinned: about a
                    // tenth less CPU per relayed line.
                    std::thread::yield_now();
                    self.on_message(msg);
                    for _ in 1..MAX_BATCH {
                        match inbox.try_recv() {
                            Ok(EngineMsg::Shutdown) => {
                                stopping = true;
                                break;
                            }
                            Ok(msg) => self.on_message(msg),
                            Err(_) => break,
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => stopping = true,
            }
            let now = now_ms();
            if self.next_deadline.is_some_and(|d| d <= now) {
                self.run(Input::Tick, now);
            }
            for wanted in self.quiet.due(now) {
                self.request_draft(wanted);
            }
            if now >= self.last_wallboard + 1000 {
                self.last_wallboard = now;
                self.push_wallboards(now);
            }
            self.flush(now);
        }
        self.flush(now_ms());
        if let Some(committer) = self.committer.take() {
            committer.finish();
        }
        tracing::info!("engine stopped");
    }

    /// Hand the open batch to the committer: its facts and commands go into the log in one
    /// durable transaction, then its frames go out. The engine does not wait for that; it hears
    /// back through [`Committer::durable`] or in [`EngineMsg::CommitFailed`].
    fn flush(&mut self, now: Millis) {
        if !(self.batch_facts.is_empty() && self.batch_commands.is_empty() && self.held.is_empty())
        {
            let no = self.batch_no;
            self.batch_no += 1;
            self.in_flight
                .push_back((no, std::mem::take(&mut self.touched)));
            let batch = Batch {
                no,
                generation: self.generation,
                facts: std::mem::take(&mut self.batch_facts),
                commands: std::mem::take(&mut self.batch_commands),
                held: std::mem::take(&mut self.held),
                at: now,
            };
            if let Some(committer) = &self.committer {
                committer.commit(batch);
            }
        }
        self.next_deadline = self.dispatch.next_deadline();
    }

    /// Take note of the batches the committer has stored since this last looked.
    fn catch_up(&mut self) {
        let up_to = self.committer.as_ref().map_or(0, Committer::durable);
        if self.in_flight.front().is_some_and(|(no, _)| *no <= up_to) {
            self.committed(up_to);
        }
    }

    /// The batches up to `up_to` are in the log and their frames are out.
    fn committed(&mut self, up_to: u64) {
        let stored = self
            .in_flight
            .iter()
            .take_while(|(no, _)| *no <= up_to)
            .count();
        for (_, touched) in self.in_flight.drain(..stored) {
            for (worker, id) in touched {
                let stream = if worker {
                    self.workers.get_mut(&id)
                } else {
                    self.customers.get_mut(&id)
                };
                if let Some(stream) = stream {
                    stream.committed(up_to);
                }
            }
        }
        self.recent_commands.retain(|_, (_, no)| *no > up_to);
    }

    /// A batch could not be stored, so it and every batch after it happened not at all: the
    /// core is rebuilt from the log, the streams take back those batches' frames, and every
    /// connection that was waiting for one is asked to reconnect and resume (the committer
    /// has told those of the batches it had; the open batch's are told here).
    fn commit_failed(&mut self, generation: u64) {
        if generation != self.generation {
            return;
        }
        // The batches stored before the failed one keep their frames.
        self.catch_up();
        self.generation += 1;
        match replay(
            self.dispatch.config(),
            self.dispatch.triage_policy(),
            self.store.as_ref(),
        ) {
            Ok((dispatch, _)) => self.dispatch = dispatch,
            Err(e) => tracing::error!(%e, "cannot reread the event log either"),
        }
        for stream in self.workers.values_mut().chain(self.customers.values_mut()) {
            stream.take_back();
        }
        ask_to_resume(&std::mem::take(&mut self.held));
        self.batch_facts.clear();
        self.batch_commands.clear();
        self.touched.clear();
        self.in_flight.clear();
        self.recent_commands.clear();
        self.next_deadline = self.dispatch.next_deadline();
    }

    fn on_message(&mut self, msg: EngineMsg) {
        let now = now_ms();
        match msg {
            EngineMsg::WorkerHello {
                conn,
                id,
                token,
                protocol,
                resume,
                reply,
            } => {
                let worker = self.worker_hello(conn, &id, &token, protocol, resume, now);
                let _ = reply.send(worker);
            }
            EngineMsg::WorkerFrame {
                conn,
                worker,
                frame,
            } => {
                let current = self
                    .workers
                    .get(&worker)
                    .and_then(|s| s.conn.as_ref())
                    .is_some_and(|c| c.id == conn);
                if current {
                    self.worker_command(&worker, frame, now);
                }
            }
            EngineMsg::WorkerGone { conn, worker } => {
                let Some(stream) = self.workers.get_mut(&worker) else {
                    return;
                };
                if stream.conn.as_ref().is_some_and(|c| c.id == conn) || stream.conn.is_none() {
                    stream.conn = None;
                    self.wallboard_subscribers.retain(|w| w != &worker);
                    self.run(Input::WorkerDisconnected { worker }, now);
                }
            }
            EngineMsg::CustomerStart {
                conn,
                id,
                protocol,
                name,
                lang,
                resume,
                context,
                reply,
            } => {
                let opening = Opening {
                    name,
                    lang,
                    context,
                };
                let conversation = self.customer_start(conn, &id, protocol, opening, resume, now);
                let _ = reply.send(conversation);
            }
            EngineMsg::CustomerFrame {
                conversation,
                frame,
            } => self.customer_command(&conversation, frame, now),
            EngineMsg::CustomerGone { conn, conversation } => {
                if let Some(stream) = self.customers.get_mut(&conversation)
                    && stream.conn.as_ref().is_some_and(|c| c.id == conn)
                {
                    stream.conn = None;
                }
            }
            EngineMsg::DraftPartial {
                conversation,
                for_message,
                text,
            } => {
                let event = WorkerEvent::DraftPartial {
                    conversation: conversation.clone(),
                    for_message,
                    text,
                };
                for worker in self.dispatch.draft_watchers(&conversation, for_message) {
                    self.send_worker_direct(&worker, &event);
                }
            }
            EngineMsg::DraftDone {
                conversation,
                for_message,
                attempt,
                proposal,
            } => {
                let next = self.drafting.remove(&conversation).flatten();
                self.run(
                    Input::DraftReady {
                        conversation,
                        for_message,
                        attempt,
                        proposal,
                    },
                    now,
                );
                if let Some(job) = next {
                    self.request_draft(job);
                }
            }
            EngineMsg::DraftFailed { conversation } => {
                tracing::error!(%conversation, "the drafter failed; no draft for this message");
                if let Some(job) = self.drafting.remove(&conversation).flatten() {
                    self.request_draft(job);
                }
            }
            EngineMsg::Health { reply } => {
                let _ = reply.send(Health {
                    status: "ok",
                    conversations: self.dispatch.conversation_ids().len(),
                    queued: self.dispatch.queue_len(),
                    workers_connected: self.workers.values().filter(|s| s.conn.is_some()).count(),
                });
            }
            EngineMsg::CommitFailed { generation } => self.commit_failed(generation),
            EngineMsg::Shutdown => {}
        }
    }

    fn limits(&self) -> Limits {
        let config = self.dispatch.config();
        Limits {
            max_frame_bytes: protocol::MAX_FRAME_BYTES,
            max_text_chars: protocol::MAX_TEXT_CHARS,
            max_id_bytes: protocol::MAX_ID_BYTES,
            resume_window: RESUME_WINDOW,
            offer_timeout_ms: config.offer_timeout_ms,
            grace_ms: config.grace_ms,
        }
    }

    fn worker_hello(
        &mut self,
        conn: ConnHandle,
        id: &str,
        token: &str,
        version: u32,
        resume: Option<Resume>,
        now: Millis,
    ) -> Option<WorkerId> {
        let error = |code, message: &str| {
            direct(
                &conn,
                &WorkerEvent::Error {
                    id: Some(id.to_string()),
                    code,
                    message: message.to_string(),
                },
            )
        };
        if version != PROTOCOL_VERSION {
            error(
                ErrorCode::Version,
                &format!("this hub speaks protocol {PROTOCOL_VERSION}, not {version}"),
            );
            return None;
        }
        let stored = match self.store.worker_by_token(&hash_token(token)) {
            Ok(Some(w)) => w,
            Ok(None) => {
                error(ErrorCode::Unauthorized, "unknown token");
                return None;
            }
            Err(e) => {
                tracing::error!(%e, "token lookup failed");
                error(
                    ErrorCode::Unavailable,
                    "the hub cannot read its store; retry",
                );
                return None;
            }
        };
        let info = stored.info;
        let worker = info.id.clone();
        let name = format!("{}-{}", self.epoch, worker);
        let status = self
            .dispatch
            .worker_status(&worker)
            .unwrap_or(shiftdesk_protocol::WorkerStatus::Offline);
        let stats = self.dispatch.worker_stats(&worker).unwrap_or_default();
        let limits = self.limits();
        let stream = self
            .workers
            .entry(worker.clone())
            .or_insert_with(|| Stream::new(name));
        if let Some(old) = stream.conn.take() {
            old.kill
                .send_replace(Some((CLOSE_REPLACED, "logged in elsewhere".into())));
        }
        let replay = resume
            .filter(|r| r.stream == stream.name)
            .and_then(|r| stream.replay_from(r.last_seq));
        let welcome = WorkerEvent::Welcome {
            protocol: PROTOCOL_VERSION,
            stream: stream.name.clone(),
            resumed: replay.is_some(),
            worker: info.clone(),
            status,
            stats,
            limits,
            server_time: now,
        };
        self.held
            .push((conn.clone(), protocol::encode(0, &welcome).into()));
        if let Some(frames) = &replay {
            for frame in frames {
                self.held.push((conn.clone(), frame.clone()));
            }
        }
        stream.conn = Some(conn);
        let resumed = replay.is_some();
        self.run(Input::WorkerConnected { info, resumed }, now);
        Some(worker)
    }

    fn worker_command(&mut self, worker: &str, frame: WorkerFrame, now: Millis) {
        let WorkerFrame { id, command } = frame;
        let principal = format!("w:{worker}");
        if let Some(previous) = self.previous_result(&principal, &id) {
            let event = match previous {
                CommandResult::Ok => WorkerEvent::Ack {
                    id,
                    duplicate: true,
                },
                CommandResult::Refused { code, message } => WorkerEvent::Error {
                    id: Some(id),
                    code: serde_json::from_value(serde_json::Value::String(code))
                        .unwrap_or(ErrorCode::Conflict),
                    message,
                },
            };
            self.send_worker(worker, &event);
            return;
        }
        let is_supervisor = self
            .dispatch
            .worker_info(worker)
            .is_some_and(|w| w.role == Role::Supervisor);
        let name = command.name();
        let result = if command.needs_supervisor() && !is_supervisor {
            Err(Refusal {
                code: ErrorCode::Forbidden,
                message: format!("`{name}` needs the supervisor role"),
            })
        } else {
            match command {
                WorkerCommand::Wallboard => {
                    if !self.wallboard_subscribers.iter().any(|w| w == worker) {
                        self.wallboard_subscribers.push(worker.to_string());
                    }
                    let wallboard = self.dispatch.wallboard(now);
                    self.send_worker_direct(worker, &WorkerEvent::Wallboard { wallboard });
                    Ok(Vec::new())
                }
                WorkerCommand::Hello { .. } => Err(Refusal {
                    code: ErrorCode::Conflict,
                    message: "already logged in".into(),
                }),
                WorkerCommand::Ping => Ok(Vec::new()),
                other => match to_core_command(other) {
                    Some(command) => self.dispatch.handle(
                        Input::Command {
                            worker: worker.to_string(),
                            command,
                        },
                        now,
                    ),
                    None => Ok(Vec::new()),
                },
            }
        };
        match result {
            Ok(effects) => {
                self.remember_command(principal, id.clone(), CommandResult::Ok);
                self.carry_out(effects);
                self.send_worker(
                    worker,
                    &WorkerEvent::Ack {
                        id,
                        duplicate: false,
                    },
                );
            }
            Err(refusal) => {
                let code = serde_json::to_value(refusal.code)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let stored = CommandResult::Refused {
                    code,
                    message: refusal.message.clone(),
                };
                self.remember_command(principal, id.clone(), stored);
                self.send_worker(
                    worker,
                    &WorkerEvent::Error {
                        id: Some(id),
                        code: refusal.code,
                        message: refusal.message,
                    },
                );
            }
        }
    }

    fn customer_start(
        &mut self,
        conn: ConnHandle,
        id: &str,
        version: u32,
        opening: Opening,
        resume: Option<CustomerResume>,
        now: Millis,
    ) -> Option<ConversationId> {
        let error = |code, message: String| {
            direct(
                &conn,
                &CustomerEvent::Error {
                    id: Some(id.to_string()),
                    code,
                    message,
                },
            )
        };
        if version != PROTOCOL_VERSION {
            error(
                ErrorCode::Version,
                format!("this hub speaks protocol {PROTOCOL_VERSION}, not {version}"),
            );
            return None;
        }
        if let Some(resume) = resume {
            let key = self.dispatch.conversation_key(&resume.conversation);
            if key.as_deref() != Some(resume.key.as_str()) {
                error(
                    ErrorCode::Unauthorized,
                    format!("no conversation `{}` with that key", resume.conversation),
                );
                return None;
            }
            let conversation = resume.conversation.clone();
            let name = format!("{}-{conversation}", self.epoch);
            let stream = self
                .customers
                .entry(conversation.clone())
                .or_insert_with(|| Stream::new(name));
            let replay = (resume.stream == stream.name)
                .then(|| stream.replay_from(resume.last_seq))
                .flatten();
            let started = CustomerEvent::Started {
                protocol: PROTOCOL_VERSION,
                conversation: conversation.clone(),
                key: resume.key,
                stream: stream.name.clone(),
                resumed: replay.is_some(),
            };
            self.held
                .push((conn.clone(), protocol::encode(0, &started).into()));
            for frame in replay.unwrap_or_default() {
                self.held.push((conn.clone(), frame));
            }
            stream.conn = Some(conn);
            return Some(conversation);
        }
        let Opening {
            name,
            lang,
            context,
        } = opening;
        let name = name
            .map(|n| n.trim().chars().take(80).collect::<String>())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "Customer".to_string());
        let key = crate::store::new_token();
        let conversation = self.new_conversation_id();
        let input = Input::CustomerOpened {
            conversation: conversation.clone(),
            customer: name,
            language: lang,
            key: key.clone(),
            context,
        };
        let effects = match self.dispatch.handle(input, now) {
            Ok(effects) => effects,
            Err(refusal) => {
                error(refusal.code, refusal.message);
                return None;
            }
        };
        let mut stream = Stream::new(format!("{}-{conversation}", self.epoch));
        let started = CustomerEvent::Started {
            protocol: PROTOCOL_VERSION,
            conversation: conversation.clone(),
            key,
            stream: stream.name.clone(),
            resumed: false,
        };
        self.held
            .push((conn.clone(), protocol::encode(0, &started).into()));
        stream.conn = Some(conn);
        self.customers.insert(conversation.clone(), stream);
        self.carry_out(effects);
        Some(conversation)
    }

    fn customer_command(&mut self, conversation: &str, frame: CustomerFrame, now: Millis) {
        let CustomerFrame { id, command } = frame;
        let principal = format!("c:{conversation}");
        if let Some(previous) = self.previous_result(&principal, &id) {
            let event = match previous {
                CommandResult::Ok => CustomerEvent::Ack {
                    id,
                    duplicate: true,
                },
                CommandResult::Refused { message, .. } => CustomerEvent::Error {
                    id: Some(id),
                    code: ErrorCode::Conflict,
                    message,
                },
            };
            self.send_customer(conversation, &event);
            return;
        }
        let input = match command {
            CustomerCommand::Message { text } => Input::CustomerMessage {
                conversation: conversation.to_string(),
                text,
            },
            CustomerCommand::Leave => Input::CustomerLeft {
                conversation: conversation.to_string(),
            },
            CustomerCommand::Start { .. } | CustomerCommand::Ping => {
                self.send_customer(
                    conversation,
                    &CustomerEvent::Ack {
                        id,
                        duplicate: false,
                    },
                );
                return;
            }
        };
        match self.dispatch.handle(input, now) {
            Ok(effects) => {
                self.remember_command(principal, id.clone(), CommandResult::Ok);
                self.carry_out(effects);
                self.send_customer(
                    conversation,
                    &CustomerEvent::Ack {
                        id,
                        duplicate: false,
                    },
                );
            }
            Err(refusal) => self.send_customer(
                conversation,
                &CustomerEvent::Error {
                    id: Some(id),
                    code: refusal.code,
                    message: refusal.message,
                },
            ),
        }
    }

    /// A conversation id no conversation has: random, so hubs that share one log never hand
    /// out the same id, and nobody can guess another customer's from their own.
    fn new_conversation_id(&self) -> ConversationId {
        loop {
            let id = format!("c-{}", short_id());
            if self.dispatch.conversation_state(&id).is_none() {
                return id;
            }
        }
    }

    /// The answer a command already got: from a batch not yet stored, else from the log.
    fn previous_result(&self, principal: &str, id: &str) -> Option<CommandResult> {
        // Every command in `recent_commands` or in the log is in `seen`: its "no" settles
        // nearly every command without a lookup.
        if !self.seen.may_have(principal, id) {
            return None;
        }
        self.recent_commands
            .get(&(principal.to_string(), id.to_string()))
            .map(|(result, _)| result.clone())
            .or_else(|| self.store.command_result(principal, id).ok().flatten())
    }

    /// Run an input with no command id (ticks, connects, disconnects, drafts).
    fn run(&mut self, input: Input, now: Millis) {
        match self.dispatch.handle(input, now) {
            Ok(effects) => self.carry_out(effects),
            Err(refusal) => tracing::warn!(?refusal, "internal input refused"),
        }
    }

    /// Remember a command's result: it reaches the log with the open batch, and a retry that
    /// comes before that is answered from here.
    fn remember_command(&mut self, principal: String, id: String, result: CommandResult) {
        self.seen.insert(&principal, &id);
        self.recent_commands.insert(
            (principal.clone(), id.clone()),
            (result.clone(), self.batch_no),
        );
        self.batch_commands.push(CommandRecord {
            principal,
            id,
            result,
        });
    }

    /// Add a step's facts to the open batch (they reach the log in [`Engine::flush`], before
    /// any frame they caused leaves the hub), queue its frames and ask for its drafts. Drafts
    /// feed back into the core.
    fn carry_out(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Record(fact) => self.batch_facts.push(fact),
                Effect::ToWorker { worker, event } => self.send_worker(&worker, &event),
                Effect::ToCustomer {
                    conversation,
                    event,
                } => self.send_customer(&conversation, &event),
                Effect::NeedDraft(need) if need.attempt == 0 => self.quiet.hold(need, now_ms()),
                // Another variant, asked for by the worker: wanted now.
                Effect::NeedDraft(need) => self.request_draft(need),
            }
        }
    }

    /// Write a draft off the engine thread: a model server may take seconds, and the engine
    /// never waits for it. Partial text goes to the watchers as it grows; the finished draft
    /// comes back as [`EngineMsg::DraftDone`] and is recorded like any other fact.
    fn request_draft(&mut self, wanted: DraftWanted) {
        if let Some(waiting) = self.drafting.get_mut(&wanted.conversation) {
            *waiting = Some(wanted);
            return;
        }
        let Some(job) = self.dispatch.draft_need(&wanted) else {
            return;
        };
        self.drafting.insert(job.conversation.clone(), None);
        let drafter = self.drafter.clone();
        let inbox = self.inbox.clone();
        self.drafts.run(move || {
            let request = DraftRequest {
                text: &job.text,
                language: job.language,
                history: &job.history,
                transcript: &job.transcript,
                attempt: job.attempt,
            };
            let mut last_sent: Option<std::time::Instant> = None;
            let mut partial = |text: &str| {
                if last_sent.is_some_and(|at| at.elapsed() < DRAFT_PARTIAL_EVERY) {
                    return;
                }
                last_sent = Some(std::time::Instant::now());
                let _ = inbox.send(EngineMsg::DraftPartial {
                    conversation: job.conversation.clone(),
                    for_message: job.for_message,
                    text: text.to_string(),
                });
            };
            let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                drafter.draft_streaming(&request, &mut partial)
            }));
            let _ = inbox.send(match written {
                Ok(proposal) => EngineMsg::DraftDone {
                    conversation: job.conversation,
                    for_message: job.for_message,
                    attempt: job.attempt,
                    proposal,
                },
                // A drafter bug must not stop this conversation's drafts for good.
                Err(_) => EngineMsg::DraftFailed {
                    conversation: job.conversation,
                },
            });
        });
    }

    fn send_worker(&mut self, worker: &str, event: &WorkerEvent) {
        push_held(
            stream_of(&mut self.workers, &self.epoch, worker),
            (true, worker),
            event,
            self.batch_no,
            &mut self.touched,
            &mut self.held,
        );
    }

    /// A frame outside the stream (seq 0), for the current connection only.
    fn send_worker_direct(&mut self, worker: &str, event: &WorkerEvent) {
        if let Some(conn) = self.workers.get(worker).and_then(|s| s.conn.as_ref()) {
            self.held
                .push((conn.clone(), protocol::encode(0, event).into()));
        }
    }

    fn send_customer(&mut self, conversation: &str, event: &CustomerEvent) {
        push_held(
            stream_of(&mut self.customers, &self.epoch, conversation),
            (false, conversation),
            event,
            self.batch_no,
            &mut self.touched,
            &mut self.held,
        );
    }

    fn push_wallboards(&mut self, now: Millis) {
        if self.wallboard_subscribers.is_empty() {
            return;
        }
        let wallboard = self.dispatch.wallboard(now);
        let event = WorkerEvent::Wallboard { wallboard };
        for worker in self.wallboard_subscribers.clone() {
            self.send_worker_direct(&worker, &event);
        }
    }
}

/// The stream of the client `id` (a worker or a conversation), opened on first use. Looked up
/// before it is inserted: nearly always it exists, and then no key is allocated.
fn stream_of<'a>(
    streams: &'a mut HashMap<String, Stream>,
    epoch: &str,
    id: &str,
) -> &'a mut Stream {
    if !streams.contains_key(id) {
        streams.insert(id.to_string(), Stream::new(format!("{epoch}-{id}")));
    }
    streams
        .get_mut(id)
        .expect("the stream was just opened if it was missing")
}

/// Push an event on a client's stream (`(true, worker)` or `(false, conversation)`), remembering
/// that the stream changed in this batch and holding the frame until the batch is committed.
fn push_held<E: serde::Serialize>(
    stream: &mut Stream,
    (worker, id): (bool, &str),
    event: &E,
    batch: u64,
    touched: &mut Vec<(bool, String)>,
    held: &mut Vec<(ConnHandle, Frame)>,
) {
    if !stream.pushed_in(batch) {
        touched.push((worker, id.to_string()));
    }
    held.extend(stream.push(event, batch));
}

/// The dispatch state the log describes: worker profiles from the token store, then every fact
/// in order. Returns it with the number of facts replayed.
fn replay(
    config: DispatchConfig,
    triage: Arc<dyn Triage>,
    store: &dyn EventStore,
) -> Result<(Dispatch, usize), StoreError> {
    let mut dispatch = Dispatch::new(config, triage);
    for w in store.workers()? {
        dispatch.upsert_worker(w.info);
    }
    let facts = store.load()?;
    for fact in &facts {
        dispatch.apply(fact);
    }
    Ok((dispatch, facts.len()))
}

/// Eight characters of base-32 without look-alike letters: 40 bits, short enough to read out
/// to a colleague and to fit a wallboard column.
fn short_id() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
    (0..8)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn to_core_command(command: WorkerCommand) -> Option<Command> {
    Some(match command {
        WorkerCommand::SetStatus { status } => Command::SetStatus(status),
        WorkerCommand::AcceptOffer { conversation } => Command::AcceptOffer(conversation),
        WorkerCommand::DeclineOffer {
            conversation,
            reason,
        } => Command::DeclineOffer(conversation, reason),
        WorkerCommand::Reply { conversation, text } => Command::Reply(conversation, text),
        WorkerCommand::Draft {
            conversation,
            draft,
            action,
        } => Command::Draft(conversation, draft, action),
        WorkerCommand::Note { conversation, text } => Command::Note(conversation, text),
        WorkerCommand::Resolve { conversation } => Command::Resolve(conversation),
        WorkerCommand::Transfer {
            conversation,
            reason,
        } => Command::Transfer(conversation, reason),
        WorkerCommand::Shadow { conversation } => Command::Shadow(conversation),
        WorkerCommand::Unshadow { conversation } => Command::Unshadow(conversation),
        WorkerCommand::Whisper { conversation, text } => Command::Whisper(conversation, text),
        WorkerCommand::TakeOver { conversation } => Command::TakeOver(conversation),
        WorkerCommand::HandBack {
            conversation,
            worker,
        } => Command::HandBack(conversation, worker),
        WorkerCommand::Hello { .. } | WorkerCommand::Ping | WorkerCommand::Wallboard => {
            return None;
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::store::{SqliteStore, StoredWorker};
    use shiftdesk_protocol::WorkerInfo;

    /// The SQLite store, with a switch that makes every append fail (a full disk).
    struct FlakyStore {
        inner: SqliteStore,
        failing: Arc<AtomicBool>,
    }

    impl EventStore for FlakyStore {
        fn append(
            &mut self,
            facts: &[Fact],
            commands: &[CommandRecord],
            at: Millis,
        ) -> Result<(), StoreError> {
            if self.failing.load(Ordering::SeqCst) {
                return Err(StoreError::Invalid("disk full".into()));
            }
            self.inner.append(facts, commands, at)
        }
        fn load(&self) -> Result<Vec<Fact>, StoreError> {
            self.inner.load()
        }
        fn command_result(
            &self,
            principal: &str,
            id: &str,
        ) -> Result<Option<CommandResult>, StoreError> {
            self.inner.command_result(principal, id)
        }
        fn command_keys(&self, each: &mut dyn FnMut(&str, &str)) -> Result<bool, StoreError> {
            self.inner.command_keys(each)
        }
        fn add_worker(
            &mut self,
            info: &WorkerInfo,
            token_hash: &str,
            at: Millis,
        ) -> Result<(), StoreError> {
            self.inner.add_worker(info, token_hash, at)
        }
        fn set_token(&mut self, worker: &str, token_hash: &str) -> Result<(), StoreError> {
            self.inner.set_token(worker, token_hash)
        }
        fn worker_by_token(&self, token_hash: &str) -> Result<Option<StoredWorker>, StoreError> {
            self.inner.worker_by_token(token_hash)
        }
        fn workers(&self) -> Result<Vec<StoredWorker>, StoreError> {
            self.inner.workers()
        }
        fn appender(&self) -> Result<Box<dyn EventStore>, StoreError> {
            Ok(Box::new(FlakyStore {
                inner: self.inner.open_appender()?,
                failing: self.failing.clone(),
            }))
        }
    }

    type Killed = watch::Receiver<Option<(u16, String)>>;

    fn connection(id: ConnId) -> (ConnHandle, mpsc::Receiver<Frame>, Killed) {
        let (frames, rx) = mpsc::channel(CONNECTION_QUEUE);
        let (kill, killed) = watch::channel(None);
        (ConnHandle { id, frames, kill }, rx, killed)
    }

    fn start(
        engine_tx: &Sender<EngineMsg>,
        conn: ConnHandle,
        id: &str,
    ) -> oneshot::Receiver<Option<ConversationId>> {
        let (reply, answer) = oneshot::channel();
        engine_tx
            .send(EngineMsg::CustomerStart {
                conn,
                id: id.into(),
                protocol: PROTOCOL_VERSION,
                name: Some("Ada".into()),
                lang: Some(Lang::En),
                resume: None,
                context: Vec::new(),
                reply,
            })
            .expect("engine running");
        answer
    }

    /// A batch whose commit fails happened not at all: no frame of it leaves the hub, its
    /// connections are asked to resume, nothing of it is in the log, and the hub goes on.
    #[test]
    fn a_failed_group_commit_sends_nothing_and_asks_to_resume() {
        let dir = tempfile::tempdir().expect("temp dir");
        let failing = Arc::new(AtomicBool::new(false));
        let store = FlakyStore {
            inner: SqliteStore::open(dir.path()).expect("store"),
            failing: failing.clone(),
        };
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let kb = Arc::new(KnowledgeBase::builtin());
        let drafter = crate::drafting::DrafterChoice::Kb.build(kb.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        let engine = Engine::new(
            DispatchConfig::default(),
            Box::new(store),
            kb,
            drafter,
            tx.clone(),
            Outlet::Direct,
        )
        .expect("engine");
        let thread = std::thread::spawn(move || engine.serve(rx));

        failing.store(true, Ordering::SeqCst);
        let (conn, mut frames, mut killed) = connection(1);
        let answer = start(&tx, conn, "c-1");
        runtime.block_on(async {
            answer.await.expect("engine answers");
            killed.changed().await.expect("the connection is told");
        });
        let told = killed.borrow().clone();
        assert_eq!(told.map(|(code, _)| code), Some(CLOSE_STORE_FAILED));
        assert!(
            frames.try_recv().is_err(),
            "no frame of a failed batch leaves the hub"
        );

        failing.store(false, Ordering::SeqCst);
        let (conn, mut frames, _killed) = connection(2);
        let answer = start(&tx, conn, "c-2");
        let first = runtime.block_on(async {
            answer
                .await
                .expect("engine answers")
                .expect("a conversation");
            frames.recv().await.expect("a frame")
        });
        assert!(first.contains("\"started\""), "{first}");

        tx.send(EngineMsg::Shutdown).expect("engine running");
        thread.join().expect("engine thread");
        let facts = SqliteStore::open(dir.path())
            .expect("store")
            .load()
            .expect("log");
        let opened = facts
            .iter()
            .filter(|f| matches!(f, Fact::ConversationOpened { .. }))
            .count();
        assert_eq!(
            opened, 1,
            "only the conversation whose batch was stored is in the log"
        );
    }
}
