//! The dispatch core: workers, conversations, offers and timers, as a pure state machine.
//!
//! `Dispatch::handle(input, now)` decides, records what changed as [`Fact`]s and returns
//! [`Effect`]s for the shell to carry out: store the facts, then send frames. There is no socket,
//! clock or database in here, so tests drive it with injected time and replaying the log through
//! [`Dispatch::apply`] rebuilds the same state.
//!
//! The rules follow Twilio TaskRouter: an offer goes to one eligible worker (status available,
//! speaks the language, has the skills, has free capacity) with a deadline; among the eligible
//! the one idle longest gets it; the queue is ordered by priority, then by waiting time. Decline,
//! timeout and disconnect send the conversation to the next worker. When no free worker speaks
//! the language for longer than `language_wait_ms`, any eligible worker gets it, marked as a
//! language fallback.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use crate::drafting::DraftProposal;
use crate::facts::{DraftEnd, Fact};
use crate::lang::Lang;
use crate::notices;
use crate::triage::{self, Clarifying, SensitiveTopic, Triage, TriageDecision, TriageReason};
use customer::Opening;
use shiftdesk_protocol::{
    Author, ConversationId, ConversationState, ConversationView, CustomerContext, CustomerEvent,
    Draft, DraftAction, DraftOutcome, ErrorCode, LiveConversation, Message, Millis, Role,
    Wallboard, WallboardQueue, WallboardWorker, WorkerEvent, WorkerId, WorkerInfo, WorkerStats,
    WorkerStatus,
};

mod apply;
mod commands;
mod customer;
mod explain;
mod index;
mod offers;
mod outgoing;
mod queries;
pub mod quiet;
mod schedule;
pub mod shifts;
mod supervision;
#[cfg(test)]
mod tests;
mod transcript;

use index::{Indexes, WorkerEntries};
pub use shifts::{EngagedByHour, RateCard};
use transcript::Transcript;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Timings of the dispatch rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchConfig {
    /// How long a worker has to answer an offer.
    pub offer_timeout_ms: u64,
    /// How long a disconnected worker keeps their conversations.
    pub grace_ms: u64,
    /// How long a queued conversation waits for a free worker who speaks its language before
    /// it is offered to any eligible worker (marked as a language fallback). 0: at once.
    pub language_wait_ms: u64,
    /// How long the hub waits for a customer to stop writing before it drafts a reply to their
    /// newest line, so a burst of lines is drafted once (a customer who never pauses is
    /// drafted for at most four times this after the oldest waiting line). A worker's request
    /// for another variant is not held. The core itself does not use this: the shell starts
    /// drafts.
    pub draft_quiet_ms: u64,
    /// Length of a bookable slot of a planned shift (30 minutes).
    pub slot_ms: u64,
    /// How long the hub keeps an ended conversation's stream after its customer left, for them
    /// to resume; a customer who comes back later gets the transcript. The core itself does
    /// not use this.
    pub keep_ended_ms: u64,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            offer_timeout_ms: 30_000,
            grace_ms: 60_000,
            language_wait_ms: 60_000,
            draft_quiet_ms: 250,
            slot_ms: 30 * 60_000,
            keep_ended_ms: 10 * 60_000,
        }
    }
}

/// Something that happened, fed to the core by the shell.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A worker logged in. `info` comes from the token store and may have changed.
    WorkerConnected {
        info: WorkerInfo,
        /// The console resumed its stream, so it has missed nothing; otherwise the core sends
        /// it a snapshot of everything it must show (status, conversations, the open offer).
        resumed: bool,
    },
    /// A worker's connection dropped.
    WorkerDisconnected {
        worker: WorkerId,
    },
    /// A command from a logged-in worker or supervisor.
    Command {
        worker: WorkerId,
        command: Command,
    },
    /// A customer opened a conversation. `language` is what they declared, if anything; when
    /// `None` it is detected from their messages while the bot has the conversation.
    CustomerOpened {
        /// A new id, chosen by the shell (random, so hubs sharing a log never collide).
        conversation: ConversationId,
        customer: String,
        language: Option<Lang>,
        key: String,
        context: Vec<(String, String)>,
        /// The keys of `context` the operator's backend signed.
        verified: Vec<String>,
    },
    /// A customer message. While the bot has the conversation the core triages it.
    CustomerMessage {
        conversation: ConversationId,
        text: String,
    },
    CustomerLeft {
        conversation: ConversationId,
    },
    /// The drafter answered a [`Effect::NeedDraft`]. `draft` is a new id, chosen by the shell
    /// (random, like conversation ids).
    DraftReady {
        conversation: ConversationId,
        draft: String,
        for_message: u32,
        attempt: u32,
        proposal: DraftProposal,
    },
    /// Time passed: expire offers and grace periods.
    Tick,
    /// The hub restarted after replaying its log: nobody is connected any more.
    Restarted,
}

/// Commands a worker's console can send that reach the core.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    SetStatus(WorkerStatus),
    AcceptOffer(ConversationId),
    DeclineOffer(ConversationId, Option<String>),
    Reply(ConversationId, String),
    Draft(ConversationId, String, DraftAction),
    Note(ConversationId, String),
    Resolve(ConversationId),
    Transfer(ConversationId, Option<String>),
    Shadow(ConversationId),
    Unshadow(ConversationId),
    Whisper(ConversationId, String),
    TakeOver(ConversationId),
    HandBack(ConversationId, WorkerId),
    BookSlot(Millis),
    ReleaseSlot(Millis),
}

/// What the shell must do, in order. Every `Record` of one `handle` call must be durable before
/// any frame of that call is sent.
///
/// Effects live for one `handle` call, in one `Vec`, and the relay's hot path makes one
/// `ToWorker` per line: boxing the large worker event would cost an allocation per line to save
/// a little of a short-lived vector.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Effect {
    Record(Fact),
    ToWorker {
        worker: WorkerId,
        event: WorkerEvent,
    },
    ToCustomer {
        conversation: ConversationId,
        event: CustomerEvent,
    },
    /// Ask the drafter for a draft; answer with [`Input::DraftReady`].
    NeedDraft(DraftWanted),
}

/// A draft the core wants written: which customer message to answer, in which language, and
/// which attempt. The shell asks [`Dispatch::draft_need`] for the transcript when it starts the
/// draft, so a request that a newer message overtakes first (most of them, when a customer
/// writes faster than drafts are written) copies nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftWanted {
    pub conversation: ConversationId,
    /// The customer message (`n`) to answer.
    pub for_message: u32,
    pub language: Lang,
    pub attempt: u32,
}

/// Everything a drafter is given for a [`DraftWanted`], owned, so the shell can hand it to
/// another thread.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftNeed {
    pub conversation: ConversationId,
    /// The customer message (`n`) to answer.
    pub for_message: u32,
    pub text: String,
    pub language: Lang,
    /// The customer messages before `text`, oldest first.
    pub history: Vec<String>,
    /// The recent customer and worker lines, oldest first, ending with `text`.
    pub transcript: Vec<crate::drafting::Turn>,
    pub attempt: u32,
}

/// A command the core refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone)]
struct Worker {
    info: WorkerInfo,
    status: WorkerStatus,
    status_since: Millis,
    connected: bool,
    disconnected_at: Option<Millis>,
    /// When the worker last became free for work: the longest-idle rule uses it.
    idle_since: Millis,
    offer: Option<ConversationId>,
    owned: BTreeSet<ConversationId>,
    shadowing: BTreeSet<ConversationId>,
    stats: WorkerStats,
    /// Where the worker is in [`Dispatch::indexes`].
    indexed: WorkerEntries,
}

impl Worker {
    fn new(info: WorkerInfo) -> Worker {
        Worker {
            info,
            status: WorkerStatus::Offline,
            status_since: 0,
            connected: false,
            disconnected_at: None,
            idle_since: 0,
            offer: None,
            owned: BTreeSet::new(),
            shadowing: BTreeSet::new(),
            stats: WorkerStats::default(),
            indexed: WorkerEntries::default(),
        }
    }

    fn free_capacity(&self) -> bool {
        (self.owned.len() as u32) < self.info.capacity
    }
}

#[derive(Debug, Clone)]
struct DraftRecord {
    draft: Draft,
    attempt: u32,
    outcome: DraftOutcome,
}

#[derive(Debug, Clone)]
struct Conversation {
    id: ConversationId,
    customer: String,
    /// Secret the customer resumes with.
    key: String,
    context: Vec<(String, String)>,
    /// The keys of `context` the operator's backend signed; the rest the customer declared.
    verified: Vec<String>,
    /// The conversation's language: declared, detected, or English until something is known.
    language: Lang,
    /// The customer declared `language` when opening (detection then only refines it through
    /// triage, with the declared language as the hint, as for every declared conversation).
    declared: bool,
    /// An undeclared conversation's language has been detected ([`Fact::LanguageDetected`]).
    detected: bool,
    /// The current offer or owner came through the language fallback.
    language_fallback: bool,
    state: ConversationState,
    priority: u8,
    intent: String,
    why: String,
    opened_at: Millis,
    queued_at: Option<Millis>,
    first_offer_at: Option<Millis>,
    assigned_at: Option<Millis>,
    owner: Option<WorkerId>,
    offer: Option<(WorkerId, Millis)>,
    /// Workers who declined or missed it, and when: they are skipped for one offer timeout.
    passed: BTreeMap<WorkerId, Millis>,
    messages: Transcript,
    /// The knowledge-base articles behind each bot answer, by message `n` (drafts must not
    /// propose them again once a person has the conversation).
    bot_sources: BTreeMap<u32, Vec<String>>,
    /// The bot's last turn was a clarifying question between these two articles: the
    /// customer's next message answers it (and never gets a second question in a row).
    clarifying: Option<(String, String)>,
    /// The bot already answered a message that only said hello: another goes to a person.
    greeted: bool,
    /// The bot already answered a message that only said thank you: another gets no answer.
    thanked: bool,
    drafts: Vec<DraftRecord>,
    /// Index into `drafts` of the draft waiting for the worker.
    pending_draft: Option<usize>,
    shadowers: BTreeSet<WorkerId>,
    /// The offer deadline the conversation is filed under in [`Indexes::offers`].
    indexed_deadline: Option<Millis>,
}

impl Conversation {
    fn open(&self) -> bool {
        !matches!(
            self.state,
            ConversationState::Resolved | ConversationState::Abandoned
        )
    }

    /// Add a message; returns its number.
    fn push(&mut self, from: Author, text: String, at: Millis, by: Option<String>) -> u32 {
        let n = self.messages.len() as u32 + 1;
        self.messages.push(Message {
            n,
            from,
            text,
            at,
            by,
        });
        n
    }

    /// A worker's line came after message `n`: a draft answering `n` would answer it twice.
    fn answered_after(&self, n: u32) -> bool {
        self.messages
            .iter()
            .rev()
            .take_while(|m| m.n > n)
            .any(|m| m.from == Author::Worker)
    }

    fn last_customer_message(&self) -> Option<&Message> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.from == Author::Customer)
    }
}

/// An offer matching decided on, before it is recorded.
#[derive(Debug, Clone, PartialEq)]
struct PlannedOffer {
    conversation: ConversationId,
    worker: WorkerId,
    /// Why this worker, for their console.
    because: String,
    language_fallback: bool,
    /// How many could have taken it, and how long it had waited: the decision's parameters.
    eligible: usize,
    waited: Millis,
}

/// Key of the queue: higher priority first, then the longest waiting.
type QueueKey = (std::cmp::Reverse<u8>, Millis, ConversationId);

/// The dispatch state machine.
#[derive(Debug, Clone)]
pub struct Dispatch {
    config: DispatchConfig,
    /// Decides, while the bot has a conversation, whether a customer message goes to a person.
    triage: Arc<dyn Triage>,
    workers: BTreeMap<WorkerId, Worker>,
    /// Looked up several times per line, so hashed; nothing depends on their order (what
    /// lists them sorts).
    conversations: foldhash::HashMap<ConversationId, Conversation>,
    queue: BTreeSet<QueueKey>,
    /// Time from queued to first human offer, per language, for the wallboard.
    /// When a person first took a conversation, and how long it had waited, per language.
    time_to_human: BTreeMap<Lang, Vec<(Millis, u64)>>,
    /// The latest `now` handled: language-wait deadlines already passed are not reported again
    /// by [`Dispatch::next_deadline`] (any later event re-runs matching anyway).
    now: Millis,
    /// Free workers in line, disconnected workers and open offers, kept up to date by `apply`
    /// so that matching and timers do not scan every worker and conversation.
    indexes: Indexes,
    /// Workers `apply` changed, to reindex before it returns (empty between calls).
    touched: Vec<WorkerId>,
    /// The latest automated decisions about each worker, oldest first ([`explain::KEEP`]).
    decisions: BTreeMap<WorkerId, VecDeque<shiftdesk_protocol::Decision>>,
    /// The operator's rate card, if any: what shifts earn.
    rates: Option<RateCard>,
    /// Each worker's shift so far (time available, engaged, on break; conversations).
    clocks: BTreeMap<WorkerId, shifts::ShiftClock>,
    /// Each worker's last shifts, oldest first ([`shifts::HISTORY`]).
    shift_history: BTreeMap<WorkerId, VecDeque<shiftdesk_protocol::ShiftRecord>>,
    /// Conversations handed to a person in the last four weeks, and their language: the
    /// demand forecast of planned shifts.
    arrivals: VecDeque<(Millis, Lang)>,
    /// Slots each worker booked (their starts).
    bookings: BTreeMap<WorkerId, BTreeSet<Millis>>,
    /// Slot ends before this were already handled (drain at slot end).
    slots_checked: Millis,
}

impl Dispatch {
    /// A core with no workers or conversations; `triage` decides who answers customers (the
    /// knowledge base, in the hub).
    pub fn new(config: DispatchConfig, triage: Arc<dyn Triage>) -> Dispatch {
        Dispatch {
            config,
            triage,
            workers: BTreeMap::new(),
            conversations: foldhash::HashMap::default(),
            queue: BTreeSet::new(),
            time_to_human: BTreeMap::new(),
            now: 0,
            indexes: Indexes::default(),
            touched: Vec::new(),
            decisions: BTreeMap::new(),
            rates: None,
            clocks: BTreeMap::new(),
            shift_history: BTreeMap::new(),
            arrivals: VecDeque::new(),
            bookings: BTreeMap::new(),
            slots_checked: 0,
        }
    }

    pub fn config(&self) -> DispatchConfig {
        self.config
    }

    /// The triage policy, to build another core like this one (replaying the log again).
    pub fn triage_policy(&self) -> Arc<dyn Triage> {
        self.triage.clone()
    }

    /// Decide from now on with this triage policy (a reloaded knowledge base). Decisions
    /// already made are facts in the log and stay as they were.
    pub fn set_triage(&mut self, triage: Arc<dyn Triage>) {
        self.triage = triage;
    }

    /// Make a worker known (from the token store). Keeps their state if already known.
    pub fn upsert_worker(&mut self, info: WorkerInfo) {
        let id = info.id.clone();
        match self.workers.get_mut(&id) {
            Some(worker) => worker.info = info,
            None => {
                self.workers.insert(id.clone(), Worker::new(info));
            }
        }
        // Languages and capacity may have changed.
        self.reindex_worker(&id);
    }

    // -----------------------------------------------------------------------------------------
    // The state machine
    // -----------------------------------------------------------------------------------------

    /// Handle one input at time `now`. On `Err`, nothing changed.
    pub fn handle(&mut self, input: Input, now: Millis) -> Result<Vec<Effect>, Refusal> {
        self.now = self.now.max(now);
        let mut out = Vec::new();
        match input {
            Input::WorkerConnected { info, resumed } => {
                let id = info.id.clone();
                if self.workers.get(&id).is_some_and(|w| w.connected) {
                    // A new login replaced a live connection: what that connection followed
                    // ends with it, as when a connection drops (the console re-subscribes).
                    self.end_shadows(&id, now, &mut out);
                }
                self.upsert_worker(info);
                self.record(
                    Fact::WorkerConnected {
                        worker: id.clone(),
                        at: now,
                    },
                    &mut out,
                );
                self.dispatch(now, &mut out);
                if !resumed {
                    self.login_snapshot(&id, now, &mut out);
                }
                return Ok(out);
            }
            Input::WorkerDisconnected { worker } => {
                if self.workers.get(&worker).is_some_and(|w| w.connected) {
                    self.disconnect(&worker, now, &mut out);
                }
            }
            Input::Command { worker, command } => self.command(&worker, command, now, &mut out)?,
            Input::CustomerOpened {
                conversation,
                customer,
                language,
                key,
                context,
                verified,
            } => {
                let opening = Opening {
                    customer,
                    language,
                    key,
                    context,
                    verified,
                };
                self.customer_opened(conversation, opening, now, &mut out)?
            }
            Input::CustomerMessage { conversation, text } => {
                self.customer_message(&conversation, text, now, &mut out)?
            }
            Input::CustomerLeft { conversation } => {
                self.customer_left(conversation, now, &mut out)?
            }
            Input::DraftReady {
                conversation,
                draft,
                for_message,
                attempt,
                proposal,
            } => {
                let draft = Draft {
                    id: draft,
                    for_message,
                    proposal,
                };
                self.draft_ready(conversation, draft, attempt, now, &mut out)?
            }
            Input::Tick => self.tick(now, &mut out),
            Input::Restarted => {
                let connected: Vec<WorkerId> = self
                    .workers
                    .values()
                    .filter(|w| w.connected)
                    .map(|w| w.info.id.clone())
                    .collect();
                for worker in connected {
                    self.disconnect(&worker, now, &mut out);
                }
                self.tick(now, &mut out);
            }
        }
        self.dispatch(now, &mut out);
        Ok(out)
    }

    fn conversation(&self, id: &str) -> Result<&Conversation, Refusal> {
        self.conversations
            .get(id)
            .ok_or_else(|| Refusal::new(ErrorCode::NotYours, format!("no conversation `{id}`")))
    }

    fn owned_conversation(&self, worker: &str, id: &str) -> Result<&Conversation, Refusal> {
        let c = self.conversation(id)?;
        if c.owner.as_deref() != Some(worker) {
            return Err(Refusal::new(
                ErrorCode::NotYours,
                format!("conversation `{id}` is not assigned to you"),
            ));
        }
        Ok(c)
    }
}
