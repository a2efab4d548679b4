//! The engine: one thread that owns the dispatch core, the event log, the drafter and every
//! client's outbound stream. Connection tasks talk to it only by messages.
//!
//! For each input it runs the core and keeps the resulting facts (and the command id); frames
//! for the connections are held back. Inputs that arrive together form a batch: after the last
//! one, every fact of the batch is appended to the log in one durable transaction (group
//! commit), and only then are the held frames handed to the connections. So nothing leaves the
//! hub before what caused it is on disk, and one disk flush serves many messages. Sending never
//! blocks: a connection whose queue is full is cut off and can resume later.
//!
//! - this file: the loop, batches and group commit, effects, drafts;
//! - [`login`]: a worker's `hello` and a customer's `start` (new conversation or resume);
//! - [`commands`]: commands from logged-in workers and customers, answered once per id;
//! - [`streams`]: each client's numbered outbound stream and its resume window ([`window`]);
//! - [`knowledge`]: swapping in a reloaded knowledge base (triage and drafter).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use foldhash::{HashMap, HashMapExt};
use tokio::sync::oneshot;

use crate::committer::{Batch, Committer, Outlet, ask_to_resume};
pub use crate::conn::{
    CLOSE_REPLACED, CLOSE_STORE_FAILED, CLOSE_TOO_SLOW, CONNECTION_QUEUE, ConnHandle, ConnId,
    Frame, Inbox,
};
use crate::conn::{MAX_BATCH, direct};
use login::Opening;
use replay::Replay;
use streams::{EndedStreams, Stream, StreamBook, conversation_ended, stream_of};

mod commands;
mod demand;
mod knowledge;
mod login;
mod replay;
mod streams;
mod window;
use crate::dispatch::quiet::QuietDrafts;
use crate::dispatch::{Command, Dispatch, DispatchConfig, DraftWanted, Effect, Input, Refusal};
use crate::draft_pool::DraftPool;
use crate::drafting::{DraftProposal, DraftRequest, Drafter};
use crate::facts::Fact;
use crate::lang::Lang;
use crate::seen::SeenCommands;
use crate::sequences::Sequences;
use crate::store::{CommandRecord, CommandResult, EventStore, StoreError, hash_token};
use crate::triage::TriagePolicy;
pub use knowledge::{KnowledgeReloader, KnowledgeSummary, NewKnowledge, ReloadError, Reloaded};
use shiftdesk_protocol::{
    self as protocol, ConversationId, CustomerCommand, CustomerEvent, CustomerFrame,
    CustomerResume, ErrorCode, Limits, Millis, PROTOCOL_VERSION, RESUME_WINDOW, Resume, Role,
    WorkerCommand, WorkerEvent, WorkerFrame, WorkerId,
};

/// Messages from connection tasks to the engine.
#[derive(Debug)]
pub enum EngineMsg {
    WorkerHello {
        conn: ConnHandle,
        id: String,
        token: String,
        protocol: u32,
        resume: Option<Resume>,
        /// `hello.features`: optional frames the client understands.
        features: Vec<String>,
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
        /// The keys of `context` the operator's backend signed.
        verified: Vec<String>,
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
    /// Something outside the inbox wants looking at soon (the committer failed a batch).
    Wake,
    /// A drafter panicked; the worker writes this reply by hand.
    DraftFailed {
        conversation: ConversationId,
    },
    Health {
        reply: oneshot::Sender<Health>,
    },
    /// `/metrics` is being scraped: what the gauges read now.
    Gauges {
        reply: oneshot::Sender<crate::metrics::Gauges>,
    },
    /// Answer from these articles from the next batch on (see [`KnowledgeReloader`]).
    ReplaceKnowledge(knowledge::NewKnowledge),
    Shutdown,
}

/// How often a streaming draft is forwarded to the console at most.
const DRAFT_PARTIAL_EVERY: Duration = Duration::from_millis(60);

#[derive(Debug, Clone, serde::Serialize)]
pub struct Health {
    pub status: &'static str,
    /// `writer`: this hub runs the dispatch core (a hub that forwards says `gateway`).
    pub role: &'static str,
    pub conversations: usize,
    pub queued: usize,
    pub workers_connected: usize,
    pub knowledge_base: KnowledgeSummary,
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
    inbox: Inbox<EngineMsg>,
    /// Generations of batches the committer could not store, oldest first.
    failures: Receiver<u64>,
    /// Names streams and knows where those an earlier hub left in the store stand.
    streams: StreamBook,
    workers: HashMap<WorkerId, Stream>,
    customers: HashMap<ConversationId, Stream>,
    wallboard_subscribers: Vec<WorkerId>,
    last_wallboard: Millis,
    /// When the demand signal last went out ([`demand`]).
    last_demand: Millis,
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
    /// Every command id in the log or on its way there, so that new ones (nearly all) need no
    /// lookup in the store.
    seen: SeenCommands,
    /// Where each client run's command sequence stands (for commands with `cseq`).
    sequences: Sequences,
    /// When the core next needs a `Tick`; refreshed after each batch.
    next_deadline: Option<Millis>,
    /// Conversations with a draft being written, and the newer request to start when it is
    /// done: one draft at a time per conversation, and a draft for a message that a newer one
    /// has overtaken is never started (the core would drop it anyway).
    drafting: HashMap<ConversationId, Option<DraftWanted>>,
    /// First drafts waiting for their customer to pause ([`DispatchConfig::draft_quiet_ms`]).
    quiet: QuietDrafts,
    /// What the hub answers from, for `/healthz`.
    knowledge: KnowledgeSummary,
    /// A reloaded knowledge base, swapped in when the open batch is flushed.
    new_knowledge: Option<knowledge::NewKnowledge>,
    /// Letting go of ended conversations' streams ([`DispatchConfig::keep_ended_ms`]).
    ended: EndedStreams,
}

impl Engine {
    /// Build the engine, replaying the log into the dispatch core. `inbox` is the sender of the
    /// channel [`Engine::serve`] will read (drafts written on the drafting threads come back
    /// through it).
    pub fn new(
        config: DispatchConfig,
        store: Box<dyn EventStore>,
        triage: Arc<TriagePolicy>,
        drafter: Arc<dyn Drafter>,
        inbox: Inbox<EngineMsg>,
        outlet: Outlet,
    ) -> Result<Engine, StoreError> {
        let metrics = Arc::new(crate::metrics::HubMetrics::new());
        Engine::new_measured(config, store, triage, drafter, inbox, outlet, metrics)
    }

    /// [`Engine::new`], counting what the hub does in `metrics` (see [`crate::metrics`]).
    pub fn new_measured(
        config: DispatchConfig,
        store: Box<dyn EventStore>,
        triage: Arc<TriagePolicy>,
        drafter: Arc<dyn Drafter>,
        inbox: Inbox<EngineMsg>,
        outlet: Outlet,
        metrics: Arc<crate::metrics::HubMetrics>,
    ) -> Result<Engine, StoreError> {
        let knowledge = KnowledgeSummary::of(triage.knowledge_base(), 0);
        // The log as it is, then the writer. On a shared store taking the writer waits until
        // this hub may write (a standby): meanwhile the log is followed, so that taking over
        // costs only what the last writer wrote after that, read once the writer is ours (so
        // nothing it wrote is missed).
        let mut replay = Replay::new(config, triage);
        replay.catch_up(store.as_ref())?;
        metrics.set_log_read(true);
        let appender = store.appender_waiting(&mut || {
            if let Err(e) = replay.catch_up(store.as_ref()) {
                tracing::debug!(error = %e, "standby: cannot follow the log just now");
            }
        })?;
        let followed = replay.facts;
        replay.catch_up(store.as_ref())?;
        let after_taking_the_store = replay.facts - followed;
        let (dispatch, replayed) = (replay.dispatch, replay.facts);
        let seen = SeenCommands::load(store.as_ref())?;
        // A failure is never dropped (its own unbounded channel: one per failed commit); the
        // wakeup may be, when the inbox is full and the engine is about to look anyway.
        let (failed, failures) = std::sync::mpsc::channel();
        let wake = inbox.clone();
        let on_failure = Box::new(move |generation| {
            let _ = failed.send(generation);
            wake.try_send(EngineMsg::Wake);
        });
        let committer =
            Committer::start_measured(appender, on_failure, outlet, metrics).map_err(|e| {
                StoreError::Invalid(format!("cannot start the thread that writes the log: {e}"))
            })?;
        // Read once this hub writes: no other hub adds to the streams any more.
        let streams = StreamBook::new(store.stream_origin()?);
        let mut engine = Engine {
            dispatch,
            store,
            drafts: DraftPool::new(drafter.parallel_drafts()),
            drafter,
            inbox,
            failures,
            streams,
            workers: HashMap::new(),
            customers: HashMap::new(),
            wallboard_subscribers: Vec::new(),
            last_wallboard: 0,
            last_demand: 0,
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
            sequences: Sequences::default(),
            next_deadline: None,
            drafting: HashMap::new(),
            quiet: QuietDrafts::new(config.draft_quiet_ms),
            knowledge,
            new_knowledge: None,
            ended: EndedStreams::new(config.keep_ended_ms, now_ms()),
        };
        // Nobody is connected to a fresh process: start grace periods, expire old offers.
        let now = now_ms();
        engine.run(Input::Restarted, now);
        engine.flush(now);
        tracing::info!(replayed, after_taking_the_store, "event log replayed");
        Ok(engine)
    }

    /// Serve messages until `Shutdown` or until every sender is gone. Whatever is waiting in the
    /// inbox is handled as one batch and committed together (group commit).
    /// Pay shifts by this rate card (the config's `[rates]`); `None`: no earnings.
    pub fn set_rates(&mut self, rates: Option<crate::dispatch::RateCard>) {
        self.dispatch.set_rates(rates);
    }

    pub fn serve(mut self, inbox: Receiver<EngineMsg>) {
        let mut stopping = false;
        while !stopping {
            let now = now_ms();
            let next = self
                .next_deadline
                .unwrap_or(u64::MAX)
                .min(self.quiet.next_due().unwrap_or(u64::MAX))
                .min(self.last_wallboard + 1000)
                .min(self.ended.next_due())
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
                self.push_demand(now);
            }
            self.let_go_of_ended(now);
            self.flush(now);
            self.swap_knowledge();
        }
        self.flush(now_ms());
        if let Some(committer) = self.committer.take() {
            committer.finish();
        }
        tracing::info!("engine stopped");
    }

    /// Hand the open batch to the committer: its facts and commands go into the log in one
    /// durable transaction, then its frames go out. The engine does not wait for that; it hears
    /// back through [`Committer::durable`] or, on a failure, through `failures`.
    fn flush(&mut self, now: Millis) {
        if !(self.batch_facts.is_empty()
            && self.batch_commands.is_empty()
            && self.held.is_empty()
            && !self.sequences.moved())
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
                sequences: self.sequences.take_batch(),
                frames: self.stream_frames(no),
                forgotten: std::mem::take(&mut self.ended.forgotten),
                held: std::mem::take(&mut self.held),
                at: now,
            };
            if let Some(committer) = &self.committer {
                committer.commit(batch);
            }
        }
        self.next_deadline = self.dispatch.next_deadline();
    }

    /// Let go of the streams of conversations that ended a while ago ([`EndedStreams`]).
    fn let_go_of_ended(&mut self, now: Millis) {
        let dispatch = &self.dispatch;
        let gone = self.ended.sweep(
            &mut self.customers,
            |id| conversation_ended(dispatch, id),
            self.streams.stored,
            now,
        );
        if gone > 0 {
            tracing::debug!(
                gone,
                kept = self.customers.len(),
                "let go of ended conversations' streams"
            );
        }
    }

    /// Between batches: answer from a reloaded knowledge base from now on. Triage decisions
    /// already made are in the log and stay; drafts being written finish with the old articles.
    fn swap_knowledge(&mut self) {
        let Some(new) = self.new_knowledge.take() else {
            return;
        };
        self.knowledge =
            KnowledgeSummary::of(new.triage.knowledge_base(), self.knowledge.reloads + 1);
        self.dispatch.set_triage(new.triage);
        self.drafter = new.drafter;
        let _ = new.done.send(());
        tracing::info!(
            articles = self.knowledge.articles,
            source = %self.knowledge.source,
            "knowledge base swapped in"
        );
    }

    /// Take note of the batches the committer has stored since this last looked, and of any
    /// it failed.
    fn catch_up(&mut self) {
        self.catch_up_stored();
        self.hear_failures();
    }

    fn catch_up_stored(&mut self) {
        let up_to = self.committer.as_ref().map_or(0, Committer::durable);
        if self.in_flight.front().is_some_and(|(no, _)| *no <= up_to) {
            self.committed(up_to);
        }
    }

    /// The committer reports a failure before it asks anyone to resume, so a client that
    /// reconnects after being asked finds the rebuilt state: checked before every message.
    fn hear_failures(&mut self) {
        while let Ok(generation) = self.failures.try_recv() {
            self.commit_failed(generation);
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
        self.sequences.committed(up_to);
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
        self.catch_up_stored();
        self.generation += 1;
        let mut replay = Replay::new(self.dispatch.config(), self.dispatch.triage_policy());
        match replay.catch_up(self.store.as_ref()) {
            Ok(()) => {
                let mut dispatch = replay.dispatch;
                dispatch.set_rates(self.dispatch.rates().cloned());
                self.dispatch = dispatch;
            }
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
        self.sequences.forget();
        self.next_deadline = self.dispatch.next_deadline();
    }

    fn on_message(&mut self, msg: EngineMsg) {
        self.hear_failures();
        let now = now_ms();
        match msg {
            EngineMsg::WorkerHello {
                conn,
                id,
                token,
                protocol,
                resume,
                features,
                reply,
            } => {
                let worker = self.worker_hello(conn, &id, &token, protocol, resume, &features, now);
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
                verified,
                reply,
            } => {
                let opening = Opening {
                    name,
                    lang,
                    context,
                    verified,
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
                    stream.left();
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
                        draft: format!("d-{}", login::short_id()),
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
                    role: "writer",
                    conversations: self.dispatch.conversation_count(),
                    queued: self.dispatch.queue_len(),
                    workers_connected: self.workers.values().filter(|s| s.conn.is_some()).count(),
                    knowledge_base: self.knowledge.clone(),
                });
            }
            EngineMsg::Gauges { reply } => {
                let customers = self.customers.values().filter(|s| s.conn.is_some()).count();
                let wallboard = self.dispatch.wallboard(now);
                let gauges = crate::metrics::Gauges {
                    worker_streams: self.workers.len(),
                    conversation_streams: self.customers.len(),
                    ..crate::metrics::Gauges::of(&wallboard, customers)
                };
                let _ = reply.send(gauges);
            }
            EngineMsg::ReplaceKnowledge(new) => self.new_knowledge = Some(new),
            EngineMsg::Wake => {}
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

    /// Run an input with no command id (ticks, connects, disconnects, drafts).
    fn run(&mut self, input: Input, now: Millis) {
        match self.dispatch.handle(input, now) {
            Ok(effects) => self.carry_out(effects),
            Err(refusal) => tracing::warn!(?refusal, "internal input refused"),
        }
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
                // A partial draft may be dropped when the hub is busy; the finished one is not.
                inbox.try_send(EngineMsg::DraftPartial {
                    conversation: job.conversation.clone(),
                    for_message: job.for_message,
                    text: text.to_string(),
                });
            };
            let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                drafter.draft_streaming(&request, &mut partial)
            }));
            let _ = inbox.send_blocking(match written {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use crate::conn::{ConnHandle, ConnId, Delivery, Mailbox};

    use super::*;
    use crate::store::{
        Accounts, ClientSequence, CommandLedger, EventLog, SqliteStore, StoredWorker,
    };
    use shiftdesk_protocol::WorkerInfo;

    /// The SQLite store, with a switch that makes every append fail (a full disk).
    struct FlakyStore {
        inner: SqliteStore,
        failing: Arc<AtomicBool>,
    }

    impl EventLog for FlakyStore {
        fn append(
            &mut self,
            facts: &[Fact],
            commands: &[CommandRecord],
            sequences: &[ClientSequence],
            at: Millis,
        ) -> Result<(), StoreError> {
            if self.failing.load(Ordering::SeqCst) {
                return Err(StoreError::Invalid("disk full".into()));
            }
            self.inner.append(facts, commands, sequences, at)
        }
        fn load_after(&self, after: i64) -> Result<Vec<(i64, Fact)>, StoreError> {
            self.inner.load_after(after)
        }
    }

    /// A FlakyStore reads commands and accounts from SQLite; only appending fails.
    impl CommandLedger for FlakyStore {
        fn command_result(
            &self,
            principal: &str,
            id: &str,
        ) -> Result<Option<CommandResult>, StoreError> {
            self.inner.command_result(principal, id)
        }
        fn client_sequence(
            &self,
            principal: &str,
            producer: &str,
        ) -> Result<Option<ClientSequence>, StoreError> {
            self.inner.client_sequence(principal, producer)
        }
        fn command_keys(&self, each: &mut dyn FnMut(&str, &str)) -> Result<bool, StoreError> {
            self.inner.command_keys(each)
        }
    }

    impl Accounts for FlakyStore {
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
    }

    impl EventStore for FlakyStore {
        fn appender(&self) -> Result<Box<dyn EventLog>, StoreError> {
            Ok(Box::new(FlakyStore {
                inner: self.inner.open_appender()?,
                failing: self.failing.clone(),
            }))
        }
    }

    fn connection(id: ConnId) -> (ConnHandle, Mailbox) {
        ConnHandle::new(id)
    }

    fn start(
        engine_tx: &Inbox<EngineMsg>,
        conn: ConnHandle,
        id: &str,
    ) -> oneshot::Receiver<Option<ConversationId>> {
        let (reply, answer) = oneshot::channel();
        engine_tx
            .send_blocking(EngineMsg::CustomerStart {
                conn,
                id: id.into(),
                protocol: PROTOCOL_VERSION,
                name: Some("Ada".into()),
                lang: Some(Lang::En),
                resume: None,
                context: Vec::new(),
                verified: Vec::new(),
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
        let kb = Arc::new(crate::drafting::kb::KnowledgeBase::builtin());
        let drafter = crate::drafting::DrafterChoice::Kb.build(kb.clone());
        let (tx, rx) = Inbox::bounded(16);
        let triage = Arc::new(TriagePolicy::new(kb, &Default::default()));
        let engine = Engine::new(
            DispatchConfig::default(),
            Box::new(store),
            triage,
            drafter,
            tx.clone(),
            Outlet::Direct,
        )
        .expect("engine");
        let thread = std::thread::spawn(move || engine.serve(rx));

        failing.store(true, Ordering::SeqCst);
        let (conn, frames) = connection(1);
        let answer = start(&tx, conn, "c-1");
        let (code, _) = runtime.block_on(async {
            answer.await.expect("engine answers");
            frames.killed().await
        });
        assert_eq!(code, CLOSE_STORE_FAILED, "the connection is told");
        assert!(
            frames.try_recv().is_none(),
            "no frame of a failed batch leaves the hub"
        );

        failing.store(false, Ordering::SeqCst);
        let (conn, frames) = connection(2);
        let answer = start(&tx, conn, "c-2");
        let first = runtime.block_on(async {
            answer
                .await
                .expect("engine answers")
                .expect("a conversation");
            match frames.next().await {
                Delivery::Frame(frame) => frame,
                Delivery::Kill(code, reason) => panic!("cut off: {code} {reason}"),
            }
        });
        assert!(first.contains("\"started\""), "{first}");

        tx.send_blocking(EngineMsg::Shutdown)
            .expect("engine running");
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
