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

use std::collections::{BTreeMap, BTreeSet};

use crate::drafting::DraftProposal;
use crate::facts::Fact;
use crate::lang::Lang;
use crate::notices;
use crate::triage::{self, TriageDecision, TriageReason};
use shiftdesk_protocol::{
    Author, ConversationId, ConversationState, ConversationView, CustomerContext, CustomerEvent,
    Draft, DraftAction, DraftOutcome, ErrorCode, LiveConversation, Message, Millis, Role,
    Wallboard, WallboardQueue, WallboardWorker, WorkerEvent, WorkerId, WorkerInfo, WorkerStats,
    WorkerStatus,
};

mod apply;
mod index;
mod queries;
#[cfg(test)]
mod tests;

use index::{Indexes, WorkerEntries};

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
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            offer_timeout_ms: 30_000,
            grace_ms: 60_000,
            language_wait_ms: 60_000,
            draft_quiet_ms: 250,
        }
    }
}

/// Something that happened, fed to the core by the shell.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A worker logged in. `info` comes from the token store and may have changed.
    WorkerConnected {
        info: WorkerInfo,
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
        customer: String,
        language: Option<Lang>,
        key: String,
        context: Vec<(String, String)>,
    },
    /// A customer message. `triage` is present when the bot had the conversation.
    CustomerMessage {
        conversation: ConversationId,
        text: String,
        triage: Option<TriageDecision>,
    },
    CustomerLeft {
        conversation: ConversationId,
    },
    /// The drafter answered a [`Effect::NeedDraft`].
    DraftReady {
        conversation: ConversationId,
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
}

/// What the shell must do, in order. Every `Record` of one `handle` call must be durable before
/// any frame of that call is sent.
#[derive(Debug, Clone, PartialEq)]
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
    messages: Vec<Message>,
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

    fn push(&mut self, from: Author, text: String, at: Millis, by: Option<String>) -> Message {
        let message = Message {
            n: self.messages.len() as u32 + 1,
            from,
            text,
            at,
            by,
        };
        self.messages.push(message.clone());
        message
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
}

/// Key of the queue: higher priority first, then the longest waiting.
type QueueKey = (std::cmp::Reverse<u8>, Millis, ConversationId);

/// The dispatch state machine.
#[derive(Debug, Clone)]
pub struct Dispatch {
    config: DispatchConfig,
    workers: BTreeMap<WorkerId, Worker>,
    conversations: BTreeMap<ConversationId, Conversation>,
    queue: BTreeSet<QueueKey>,
    next_conversation: u64,
    next_draft: u64,
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
}

impl Dispatch {
    pub fn new(config: DispatchConfig) -> Dispatch {
        Dispatch {
            config,
            workers: BTreeMap::new(),
            conversations: BTreeMap::new(),
            queue: BTreeSet::new(),
            next_conversation: 1,
            next_draft: 1,
            time_to_human: BTreeMap::new(),
            now: 0,
            indexes: Indexes::default(),
            touched: Vec::new(),
        }
    }

    pub fn config(&self) -> DispatchConfig {
        self.config
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
            Input::WorkerConnected { info } => {
                let id = info.id.clone();
                self.upsert_worker(info);
                self.record(
                    Fact::WorkerConnected {
                        worker: id,
                        at: now,
                    },
                    &mut out,
                );
            }
            Input::WorkerDisconnected { worker } => {
                if self.workers.get(&worker).is_some_and(|w| w.connected) {
                    self.disconnect(&worker, now, &mut out);
                }
            }
            Input::Command { worker, command } => self.command(&worker, command, now, &mut out)?,
            Input::CustomerOpened {
                customer,
                language,
                key,
                context,
            } => {
                let conversation = format!("c{}", self.next_conversation);
                self.record(
                    Fact::ConversationOpened {
                        conversation: conversation.clone(),
                        customer,
                        language,
                        key,
                        context,
                        at: now,
                    },
                    &mut out,
                );
                let greeting = notices::welcome(language.unwrap_or(Lang::En));
                self.record(
                    Fact::BotSaid {
                        conversation: conversation.clone(),
                        text: greeting.clone(),
                        sources: Vec::new(),
                        at: now,
                    },
                    &mut out,
                );
                out.push(Effect::ToCustomer {
                    conversation,
                    event: CustomerEvent::Message {
                        from: Author::Bot,
                        text: greeting,
                        at: now,
                    },
                });
            }
            Input::CustomerMessage {
                conversation,
                text,
                triage,
            } => self.customer_message(&conversation, text, triage, now, &mut out)?,
            Input::CustomerLeft { conversation } => {
                let c = self.conversation(&conversation)?;
                if c.open() {
                    let owner = c.owner.clone();
                    self.end_for_everyone(&conversation, "abandoned", &mut out);
                    self.record(
                        Fact::Abandoned {
                            conversation,
                            at: now,
                        },
                        &mut out,
                    );
                    if let Some(owner) = owner {
                        self.after_release(&owner, now, &mut out);
                    }
                }
            }
            Input::DraftReady {
                conversation,
                for_message,
                attempt,
                proposal,
            } => {
                let c = self.conversation(&conversation)?;
                // A draft for an older message, or for a closed conversation, is dropped.
                let current = c.last_customer_message().map(|m| m.n) == Some(for_message);
                if c.open() && current {
                    let draft = Draft {
                        id: format!("d{}", self.next_draft),
                        for_message,
                        proposal,
                    };
                    self.record(
                        Fact::Drafted {
                            conversation: conversation.clone(),
                            draft: draft.clone(),
                            attempt,
                            at: now,
                        },
                        &mut out,
                    );
                    self.to_watchers(
                        &conversation,
                        WorkerEvent::Draft {
                            conversation: conversation.clone(),
                            draft,
                        },
                        &mut out,
                    );
                }
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

    fn command(
        &mut self,
        worker: &str,
        command: Command,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let Some(w) = self.workers.get(worker) else {
            return Err(Refusal::new(ErrorCode::Unauthorized, "unknown worker"));
        };
        let is_supervisor = w.info.role == Role::Supervisor;
        let needs_supervisor = matches!(
            command,
            Command::Shadow(_)
                | Command::Unshadow(_)
                | Command::Whisper(..)
                | Command::TakeOver(_)
                | Command::HandBack(..)
        );
        if needs_supervisor && !is_supervisor {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "this command needs the supervisor role",
            ));
        }
        match command {
            Command::SetStatus(status) => self.set_status(worker, status, now, out),
            Command::AcceptOffer(id) => {
                let c = self.conversation(&id)?;
                match &c.offer {
                    Some((w, _)) if w == worker => {}
                    _ => {
                        return Err(Refusal::new(
                            ErrorCode::Conflict,
                            format!("the offer for `{id}` is no longer open to you"),
                        ));
                    }
                }
                self.record(
                    Fact::Assigned {
                        conversation: id.clone(),
                        worker: worker.to_string(),
                        at: now,
                    },
                    out,
                );
                self.send_conversation(worker, &id, out);
                self.refresh_shadowers(&id, out);
                let name = self.worker_name(worker);
                let language = self.conversations.get(&id).map(|c| c.language);
                let text = notices::joined(language.unwrap_or(Lang::En), &name);
                self.system_line(&id, text, now, out);
                self.send_status(worker, out);
            }
            Command::DeclineOffer(id, reason) => {
                let c = self.conversation(&id)?;
                match &c.offer {
                    Some((w, _)) if w == worker => {}
                    _ => {
                        return Err(Refusal::new(
                            ErrorCode::Conflict,
                            format!("the offer for `{id}` is no longer open to you"),
                        ));
                    }
                }
                self.record(
                    Fact::OfferDeclined {
                        conversation: id.clone(),
                        worker: worker.to_string(),
                        reason,
                        at: now,
                    },
                    out,
                );
                out.push(Effect::ToWorker {
                    worker: worker.to_string(),
                    event: WorkerEvent::OfferWithdrawn {
                        conversation: id,
                        reason: "declined".into(),
                    },
                });
                self.send_status(worker, out);
            }
            Command::Reply(id, text) => {
                self.owned_conversation(worker, &id)?;
                self.worker_line(worker, &id, text, None, now, out);
            }
            Command::Draft(id, draft_id, action) => {
                let c = self.owned_conversation(worker, &id)?;
                let Some(record) = c.pending_draft.and_then(|i| c.drafts.get(i)) else {
                    return Err(Refusal::new(
                        ErrorCode::Conflict,
                        format!("no draft is waiting in `{id}`"),
                    ));
                };
                if record.draft.id != draft_id {
                    return Err(Refusal::new(
                        ErrorCode::Conflict,
                        format!(
                            "draft `{draft_id}` is no longer current in `{id}` (current: `{}`)",
                            record.draft.id
                        ),
                    ));
                }
                let draft_text = record.draft.proposal.text.clone();
                let attempt = record.attempt;
                let (outcome, sent, reason) = match &action {
                    DraftAction::Accept => (DraftOutcome::Accepted, Some(draft_text.clone()), None),
                    DraftAction::Edit { text } => (DraftOutcome::Edited, Some(text.clone()), None),
                    DraftAction::Reject { reason } => (DraftOutcome::Rejected, None, Some(*reason)),
                    DraftAction::Regenerate => (DraftOutcome::Regenerated, None, None),
                };
                let edit_distance = sent
                    .as_ref()
                    .map(|s| strsim::levenshtein(&draft_text, s) as u32);
                self.record(
                    Fact::DraftSettled {
                        conversation: id.clone(),
                        draft: draft_id.clone(),
                        worker: worker.to_string(),
                        outcome,
                        sent_text: sent.clone(),
                        reason,
                        edit_distance,
                        at: now,
                    },
                    out,
                );
                self.to_watchers(
                    &id,
                    WorkerEvent::DraftDone {
                        conversation: id.clone(),
                        draft: draft_id.clone(),
                        outcome,
                        reason,
                    },
                    out,
                );
                if let Some(text) = sent {
                    self.worker_line(worker, &id, text, Some(draft_id), now, out);
                }
                if outcome == DraftOutcome::Regenerated {
                    self.want_draft(&id, attempt + 1, out);
                }
                // The worker's draft figures changed.
                self.send_status(worker, out);
            }
            Command::Note(id, text) => {
                self.owned_conversation(worker, &id)?;
                self.record(
                    Fact::Noted {
                        conversation: id.clone(),
                        worker: worker.to_string(),
                        text,
                        at: now,
                    },
                    out,
                );
                self.send_last_line(&id, out);
            }
            Command::Resolve(id) => {
                self.owned_conversation(worker, &id)?;
                let language = self.conversations.get(&id).map(|c| c.language);
                let notice = notices::resolved(language.unwrap_or(Lang::En));
                self.system_line(&id, notice, now, out);
                self.end_for_everyone(&id, "resolved", out);
                self.record(
                    Fact::Resolved {
                        conversation: id,
                        worker: worker.to_string(),
                        at: now,
                    },
                    out,
                );
                self.after_release(worker, now, out);
            }
            Command::Transfer(id, reason) => {
                self.owned_conversation(worker, &id)?;
                let why = match reason {
                    Some(r) => format!("transferred by {}: {r}", self.worker_name(worker)),
                    None => format!("transferred by {}", self.worker_name(worker)),
                };
                self.requeue(&id, worker, why, "transferred", now, out);
                self.after_release(worker, now, out);
            }
            Command::Shadow(id) => {
                let c = self.conversation(&id)?;
                if !c.open() {
                    return Err(Refusal::new(
                        ErrorCode::Conflict,
                        format!("`{id}` has ended"),
                    ));
                }
                if let Some(c) = self.conversations.get_mut(&id) {
                    c.shadowers.insert(worker.to_string());
                }
                if let Some(w) = self.workers.get_mut(worker) {
                    w.shadowing.insert(id.clone());
                }
                self.send_conversation(worker, &id, out);
                self.send_shadowers(&id, out);
            }
            Command::Unshadow(id) => {
                self.conversation(&id)?;
                if let Some(c) = self.conversations.get_mut(&id) {
                    c.shadowers.remove(worker);
                }
                if let Some(w) = self.workers.get_mut(worker) {
                    w.shadowing.remove(&id);
                }
                self.send_shadowers(&id, out);
            }
            Command::Whisper(id, text) => {
                let c = self.conversation(&id)?;
                if c.owner.is_none() {
                    return Err(Refusal::new(
                        ErrorCode::Conflict,
                        format!("nobody owns `{id}` to whisper to"),
                    ));
                }
                self.record(
                    Fact::Whispered {
                        conversation: id.clone(),
                        supervisor: worker.to_string(),
                        text,
                        at: now,
                    },
                    out,
                );
                self.send_last_line(&id, out);
            }
            Command::TakeOver(id) => {
                let c = self.conversation(&id)?;
                if !c.open() || c.state == ConversationState::Bot {
                    return Err(Refusal::new(
                        ErrorCode::Conflict,
                        format!("`{id}` is not with a person"),
                    ));
                }
                if c.owner.as_deref() == Some(worker) {
                    return Err(Refusal::new(ErrorCode::Conflict, "you already own it"));
                }
                let from = c.owner.clone();
                if let Some((offered, _)) = c.offer.clone() {
                    self.record(
                        Fact::OfferWithdrawn {
                            conversation: id.clone(),
                            worker: offered.clone(),
                            reason: "taken".into(),
                            at: now,
                        },
                        out,
                    );
                    out.push(Effect::ToWorker {
                        worker: offered.clone(),
                        event: WorkerEvent::OfferWithdrawn {
                            conversation: id.clone(),
                            reason: "taken".into(),
                        },
                    });
                    self.send_status(&offered, out);
                }
                if let Some(from) = &from {
                    out.push(Effect::ToWorker {
                        worker: from.clone(),
                        event: WorkerEvent::Closed {
                            conversation: id.clone(),
                            reason: format!("taken over by {}", self.worker_name(worker)),
                        },
                    });
                }
                self.record(
                    Fact::TakenOver {
                        conversation: id.clone(),
                        supervisor: worker.to_string(),
                        from: from.clone(),
                        at: now,
                    },
                    out,
                );
                self.send_conversation(worker, &id, out);
                self.refresh_shadowers(&id, out);
                if let Some(from) = &from {
                    self.after_release(from, now, out);
                }
            }
            Command::HandBack(id, to) => {
                self.owned_conversation(worker, &id)?;
                let Some(target) = self.workers.get(&to) else {
                    return Err(Refusal::new(
                        ErrorCode::Conflict,
                        format!("no worker `{to}`"),
                    ));
                };
                if !target.connected {
                    return Err(Refusal::new(
                        ErrorCode::Conflict,
                        format!("`{to}` is not connected"),
                    ));
                }
                if !target.free_capacity() {
                    return Err(Refusal::new(
                        ErrorCode::Conflict,
                        format!("`{to}` has no free capacity"),
                    ));
                }
                self.record(
                    Fact::HandedBack {
                        conversation: id.clone(),
                        supervisor: worker.to_string(),
                        worker: to.clone(),
                        at: now,
                    },
                    out,
                );
                out.push(Effect::ToWorker {
                    worker: worker.to_string(),
                    event: WorkerEvent::Closed {
                        conversation: id.clone(),
                        reason: format!("handed back to {}", self.worker_name(&to)),
                    },
                });
                self.send_conversation(&to, &id, out);
                self.refresh_shadowers(&id, out);
                self.send_status(&to, out);
            }
        }
        Ok(())
    }

    fn set_status(
        &mut self,
        worker: &str,
        status: WorkerStatus,
        now: Millis,
        out: &mut Vec<Effect>,
    ) {
        let Some(w) = self.workers.get(worker) else {
            return;
        };
        let owned: Vec<ConversationId> = w.owned.iter().cloned().collect();
        if status != WorkerStatus::Available
            && let Some(id) = w.offer.clone()
        {
            self.withdraw_offer(&id, "status", now, out);
        }
        if status == WorkerStatus::Offline {
            for id in owned.iter() {
                let why = format!("{} went offline", self.worker_name(worker));
                self.requeue(id, worker, why, "you went offline", now, out);
            }
        }
        let status = if status == WorkerStatus::Draining && owned.is_empty() {
            WorkerStatus::Offline
        } else {
            status
        };
        self.record(
            Fact::StatusChanged {
                worker: worker.to_string(),
                status,
                at: now,
            },
            out,
        );
        self.send_status(worker, out);
    }

    fn customer_message(
        &mut self,
        id: &str,
        text: String,
        triage: Option<TriageDecision>,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let c = self.conversation(id)?;
        if !c.open() {
            return Err(Refusal::new(
                ErrorCode::Conflict,
                "this conversation has ended; start a new one",
            ));
        }
        let state = c.state;
        self.record(
            Fact::CustomerSaid {
                conversation: id.to_string(),
                text,
                at: now,
            },
            out,
        );
        let n = self
            .conversations
            .get(id)
            .map_or(0, |c| c.messages.len() as u32);
        if state == ConversationState::Bot {
            self.detect_language(id, now, out);
            let Some(decision) = triage else {
                return Ok(());
            };
            self.record(
                Fact::Triaged {
                    conversation: id.to_string(),
                    message: n,
                    decision: decision.clone(),
                    at: now,
                },
                out,
            );
            if decision.to_human {
                let priority = match decision.reason {
                    TriageReason::Sensitive { .. } => 2,
                    TriageReason::AskedForPerson { .. } => 1,
                    _ => 0,
                };
                // Triage already applied a declared conversation's language; an undeclared one
                // keeps what was detected from all the customer wrote.
                let language = self
                    .conversations
                    .get(id)
                    .map_or(decision.language, |c| c.language);
                self.record(
                    Fact::Queued {
                        conversation: id.to_string(),
                        priority,
                        intent: decision.intent.clone(),
                        why: decision.reason.explain(),
                        language,
                        at: now,
                    },
                    out,
                );
                let position = self.queue_position(id).unwrap_or(1);
                let notice = triage::handoff_notice(language, position as usize);
                self.system_line(id, notice, now, out);
                out.push(Effect::ToCustomer {
                    conversation: id.to_string(),
                    event: CustomerEvent::Queued { position },
                });
                self.want_draft(id, 0, out);
            } else if let Some(answer) = decision.bot_answer {
                self.record(
                    Fact::BotSaid {
                        conversation: id.to_string(),
                        text: answer.clone(),
                        sources: decision.sources.clone(),
                        at: now,
                    },
                    out,
                );
                out.push(Effect::ToCustomer {
                    conversation: id.to_string(),
                    event: CustomerEvent::Message {
                        from: Author::Bot,
                        text: answer,
                        at: now,
                    },
                });
            }
        } else {
            self.send_last_line(id, out);
            self.want_draft(id, 0, out);
        }
        Ok(())
    }

    /// For a customer who declared no language: detect it from everything they wrote while the
    /// bot had the conversation (the last [`DETECT_MESSAGES`] messages), and record it when it
    /// is first clear or when it changes. More text is more evidence, so a clear later message
    /// outweighs an earlier "ok", while one unclear message never undoes a clear detection.
    fn detect_language(&mut self, id: &str, now: Millis, out: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get(id) else {
            return;
        };
        if c.declared {
            return;
        }
        let customer: Vec<&str> = c
            .messages
            .iter()
            .filter(|m| m.from == Author::Customer)
            .map(|m| m.text.as_str())
            .collect();
        let recent = customer[customer.len().saturating_sub(DETECT_MESSAGES)..].join("\n");
        let Some(language) = crate::lang::detect_clear(&recent) else {
            return;
        };
        if c.detected && c.language == language {
            return;
        }
        self.record(
            Fact::LanguageDetected {
                conversation: id.to_string(),
                language,
                at: now,
            },
            out,
        );
    }

    fn tick(&mut self, now: Millis, out: &mut Vec<Effect>) {
        // Offers past their deadline, from the deadline index, handled in conversation order.
        let mut expired: Vec<(ConversationId, WorkerId)> = self
            .indexes
            .offers
            .iter()
            .take_while(|(deadline, _)| *deadline <= now)
            .filter_map(|(_, id)| {
                let c = self.conversations.get(id)?;
                c.offer.as_ref().map(|(w, _)| (id.clone(), w.clone()))
            })
            .collect();
        expired.sort_unstable();
        #[cfg(test)]
        assert_eq!(expired, self.expired_by_scan(now), "the offer index missed");
        for (id, worker) in expired {
            self.record(
                Fact::OfferExpired {
                    conversation: id.clone(),
                    worker: worker.clone(),
                    at: now,
                },
                out,
            );
            out.push(Effect::ToWorker {
                worker: worker.clone(),
                event: WorkerEvent::OfferWithdrawn {
                    conversation: id,
                    reason: "expired".into(),
                },
            });
            self.send_status(&worker, out);
        }
        // Disconnected workers whose grace is over and who still own conversations or are not
        // offline yet, from the index of those away, handled in worker order.
        let mut gone: Vec<WorkerId> = self
            .indexes
            .away
            .iter()
            .take_while(|(at, _)| at.saturating_add(self.config.grace_ms) <= now)
            .map(|(_, id)| id.clone())
            .collect();
        gone.sort_unstable();
        #[cfg(test)]
        assert_eq!(
            gone,
            self.gone_by_scan(now),
            "the index of those away missed"
        );
        for worker in gone {
            let owned: Vec<ConversationId> = self.owned_by(&worker);
            for id in owned {
                let why = format!("{} lost connection", self.worker_name(&worker));
                self.requeue(&id, &worker, why, "grace period over", now, out);
            }
            self.record(
                Fact::StatusChanged {
                    worker,
                    status: WorkerStatus::Offline,
                    at: now,
                },
                out,
            );
        }
    }

    fn disconnect(&mut self, worker: &str, now: Millis, out: &mut Vec<Effect>) {
        if let Some(id) = self.workers.get(worker).and_then(|w| w.offer.clone()) {
            self.withdraw_offer(&id, "disconnected", now, out);
        }
        self.record(
            Fact::WorkerDisconnected {
                worker: worker.to_string(),
                at: now,
            },
            out,
        );
        let shadowing: Vec<ConversationId> = self
            .workers
            .get(worker)
            .map(|w| w.shadowing.iter().cloned().collect())
            .unwrap_or_default();
        for id in shadowing {
            if let Some(c) = self.conversations.get_mut(&id) {
                c.shadowers.remove(worker);
            }
            self.send_shadowers(&id, out);
        }
        if let Some(w) = self.workers.get_mut(worker) {
            w.shadowing.clear();
        }
    }

    fn withdraw_offer(&mut self, id: &str, reason: &str, now: Millis, out: &mut Vec<Effect>) {
        let Some((worker, _)) = self.conversations.get(id).and_then(|c| c.offer.clone()) else {
            return;
        };
        self.record(
            Fact::OfferWithdrawn {
                conversation: id.to_string(),
                worker: worker.clone(),
                reason: reason.to_string(),
                at: now,
            },
            out,
        );
        out.push(Effect::ToWorker {
            worker,
            event: WorkerEvent::OfferWithdrawn {
                conversation: id.to_string(),
                reason: reason.to_string(),
            },
        });
    }

    /// Put an owned conversation back in the queue, with its transcript.
    fn requeue(
        &mut self,
        id: &str,
        worker: &str,
        why: String,
        told: &str,
        now: Millis,
        out: &mut Vec<Effect>,
    ) {
        out.push(Effect::ToWorker {
            worker: worker.to_string(),
            event: WorkerEvent::Closed {
                conversation: id.to_string(),
                reason: told.to_string(),
            },
        });
        self.record(
            Fact::Requeued {
                conversation: id.to_string(),
                worker: worker.to_string(),
                why,
                at: now,
            },
            out,
        );
        let position = self.queue_position(id).unwrap_or(1);
        let language = self.conversations.get(id).map_or(Lang::En, |c| c.language);
        let notice = triage::handoff_notice(language, position as usize);
        self.system_line(id, notice, now, out);
        out.push(Effect::ToCustomer {
            conversation: id.to_string(),
            event: CustomerEvent::Queued { position },
        });
        self.refresh_shadowers(id, out);
    }

    /// After a worker lets go of a conversation: draining workers stop when they are done.
    fn after_release(&mut self, worker: &str, now: Millis, out: &mut Vec<Effect>) {
        let Some(w) = self.workers.get(worker) else {
            return;
        };
        if w.status == WorkerStatus::Draining && w.owned.is_empty() {
            self.record(
                Fact::StatusChanged {
                    worker: worker.to_string(),
                    status: WorkerStatus::Offline,
                    at: now,
                },
                out,
            );
        }
        self.send_status(worker, out);
    }

    /// Tell every worker involved that a conversation is over, and the customer.
    fn end_for_everyone(&mut self, id: &str, reason: &str, out: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get(id) else {
            return;
        };
        if let Some((worker, _)) = &c.offer {
            out.push(Effect::ToWorker {
                worker: worker.clone(),
                event: WorkerEvent::OfferWithdrawn {
                    conversation: id.to_string(),
                    reason: reason.to_string(),
                },
            });
        }
        for worker in c.owner.iter().chain(c.shadowers.iter()) {
            out.push(Effect::ToWorker {
                worker: worker.clone(),
                event: WorkerEvent::Closed {
                    conversation: id.to_string(),
                    reason: reason.to_string(),
                },
            });
        }
        out.push(Effect::ToCustomer {
            conversation: id.to_string(),
            event: CustomerEvent::Closed {
                reason: reason.to_string(),
            },
        });
    }

    /// Offer queued conversations to eligible workers, in queue order.
    fn dispatch(&mut self, now: Millis, out: &mut Vec<Effect>) {
        if self.queue.is_empty() || self.indexes.free.is_empty() {
            return;
        }
        // Unit tests check every match against the full scan this replaced.
        #[cfg(test)]
        let by_scan = self.offers_by_scan(now);
        let offers = self.plan_offers(now);
        #[cfg(test)]
        assert_eq!(
            offers, by_scan,
            "the free-worker index chose unlike a full scan"
        );
        for PlannedOffer {
            conversation: id,
            worker,
            because,
            language_fallback,
        } in offers
        {
            let deadline = now + self.config.offer_timeout_ms;
            self.record(
                Fact::Offered {
                    conversation: id.clone(),
                    worker: worker.clone(),
                    deadline,
                    language_fallback,
                    at: now,
                },
                out,
            );
            if let Some(c) = self.conversations.get(&id) {
                let event = self.offer_event(c, deadline, now, &because);
                out.push(Effect::ToWorker { worker, event });
            }
        }
    }

    /// Match queued conversations, in queue order, with free workers, walking the free lists
    /// longest idle first: a speaker of the conversation's language, or, once the language wait
    /// is over and no speaker is free, anyone (a language fallback). Among them, someone who
    /// has not passed on the conversation goes first, else the first who passed but cooled
    /// down. A worker who gets a conversation leaves the free lists at once, so each walk only
    /// steps over the conversation's passes ([`index::pick`]), never over all free workers.
    fn plan_offers(&mut self, now: Millis) -> Vec<PlannedOffer> {
        let Dispatch {
            config,
            workers,
            conversations,
            queue,
            indexes,
            ..
        } = self;
        let mut offers = Vec::new();
        for (_, _, id) in queue.iter() {
            if indexes.free.is_empty() {
                break;
            }
            let Some(c) = conversations.get(id) else {
                continue;
            };
            let waited = now.saturating_sub(c.queued_at.unwrap_or(c.opened_at));
            let may_fall_back = waited >= config.language_wait_ms;
            let cooldown = config.offer_timeout_ms;
            let speaker = indexes
                .free_by_language
                .get(&c.language)
                .and_then(|pool| index::pick(pool, Some(c.language), c, workers, now, cooldown));
            let (pick, fallback) = match speaker {
                Some(pick) => (pick, false),
                None if may_fall_back => {
                    match index::pick(&indexes.free, None, c, workers, now, cooldown) {
                        Some(pick) => (pick, true),
                        None => continue,
                    }
                }
                None => continue,
            };
            let Some(w) = workers.get(&pick.worker) else {
                continue;
            };
            let because = offer_reason(w, c.language, pick.eligible, fallback, waited, now);
            if let Some(w) = workers.get_mut(&pick.worker) {
                indexes.take_free(w);
            }
            offers.push(PlannedOffer {
                conversation: id.clone(),
                worker: pick.worker,
                because,
                language_fallback: fallback,
            });
        }
        offers
    }

    fn offer_event(
        &self,
        c: &Conversation,
        deadline: Millis,
        now: Millis,
        because: &str,
    ) -> WorkerEvent {
        let preview = c
            .last_customer_message()
            .map(|m| m.text.chars().take(160).collect())
            .unwrap_or_default();
        WorkerEvent::Offer {
            conversation: c.id.clone(),
            language: c.language,
            intent: c.intent.clone(),
            why: c.why.clone(),
            customer: c.customer.clone(),
            preview,
            waited_ms: now.saturating_sub(c.queued_at.unwrap_or(c.opened_at)),
            deadline,
            timeout_ms: deadline.saturating_sub(now),
            because: because.to_string(),
            language_fallback: c.language_fallback,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Helpers that record and send
    // -----------------------------------------------------------------------------------------

    fn record(&mut self, fact: Fact, out: &mut Vec<Effect>) {
        self.apply(&fact);
        out.push(Effect::Record(fact));
    }

    fn worker_name(&self, worker: &str) -> String {
        self.workers
            .get(worker)
            .map(|w| w.info.name.clone())
            .unwrap_or_else(|| worker.to_string())
    }

    fn worker_line(
        &mut self,
        worker: &str,
        id: &str,
        text: String,
        draft: Option<String>,
        now: Millis,
        out: &mut Vec<Effect>,
    ) {
        self.record(
            Fact::WorkerSaid {
                conversation: id.to_string(),
                worker: worker.to_string(),
                text: text.clone(),
                draft,
                at: now,
            },
            out,
        );
        out.push(Effect::ToCustomer {
            conversation: id.to_string(),
            event: CustomerEvent::Message {
                from: Author::Worker,
                text,
                at: now,
            },
        });
        self.send_last_line(id, out);
    }

    fn system_line(&mut self, id: &str, text: String, now: Millis, out: &mut Vec<Effect>) {
        self.record(
            Fact::SystemSaid {
                conversation: id.to_string(),
                text: text.clone(),
                at: now,
            },
            out,
        );
        out.push(Effect::ToCustomer {
            conversation: id.to_string(),
            event: CustomerEvent::Message {
                from: Author::System,
                text,
                at: now,
            },
        });
        self.send_last_line(id, out);
    }

    /// Send the newest transcript line to the owner and the shadowing supervisors.
    fn send_last_line(&self, id: &str, out: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get(id) else {
            return;
        };
        let Some(message) = c.messages.last() else {
            return;
        };
        self.to_watchers(
            id,
            WorkerEvent::Message {
                conversation: id.to_string(),
                message: message.clone(),
            },
            out,
        );
    }

    /// Owner and shadowers: everyone who may see a conversation's inside.
    fn to_watchers(&self, id: &str, event: WorkerEvent, out: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get(id) else {
            return;
        };
        for worker in c.owner.iter().chain(c.shadowers.iter()) {
            out.push(Effect::ToWorker {
                worker: worker.clone(),
                event: event.clone(),
            });
        }
    }

    fn send_conversation(&self, worker: &str, id: &str, out: &mut Vec<Effect>) {
        if let Some(c) = self.conversations.get(id) {
            out.push(Effect::ToWorker {
                worker: worker.to_string(),
                event: WorkerEvent::Conversation {
                    conversation: self.view(c),
                },
            });
        }
    }

    /// The owner changed: shadowing supervisors get the new picture.
    fn refresh_shadowers(&self, id: &str, out: &mut Vec<Effect>) {
        if let Some(c) = self.conversations.get(id) {
            for s in &c.shadowers {
                self.send_conversation(s, id, out);
            }
        }
    }

    fn send_status(&self, worker: &str, out: &mut Vec<Effect>) {
        if let Some(w) = self.workers.get(worker) {
            out.push(Effect::ToWorker {
                worker: worker.to_string(),
                event: WorkerEvent::Status {
                    status: w.status,
                    since: w.status_since,
                    stats: w.stats.clone(),
                },
            });
        }
    }

    fn send_shadowers(&self, id: &str, out: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get(id) else {
            return;
        };
        let names: Vec<String> = c.shadowers.iter().map(|s| self.worker_name(s)).collect();
        for worker in c.owner.iter().chain(c.shadowers.iter()) {
            out.push(Effect::ToWorker {
                worker: worker.clone(),
                event: WorkerEvent::Shadowers {
                    conversation: id.to_string(),
                    supervisors: names.clone(),
                },
            });
        }
    }

    fn want_draft(&self, id: &str, attempt: u32, out: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get(id) else {
            return;
        };
        let Some(last) = c.last_customer_message() else {
            return;
        };
        out.push(Effect::NeedDraft(DraftWanted {
            conversation: id.to_string(),
            for_message: last.n,
            language: c.language,
            attempt,
        }));
    }

    /// What the drafter is given for `wanted`: the message, the customer's lines before it and
    /// the recent transcript up to it. `None` if the conversation or the message is gone.
    pub fn draft_need(&self, wanted: &DraftWanted) -> Option<DraftNeed> {
        let c = self.conversations.get(&wanted.conversation)?;
        let n = wanted.for_message;
        // Read from the back, so the cost does not grow with the conversation's length.
        let text = c
            .messages
            .iter()
            .rev()
            .find(|m| m.from == Author::Customer && m.n == n)?
            .text
            .clone();
        let mut history: Vec<String> = c
            .messages
            .iter()
            .rev()
            .filter(|m| m.from == Author::Customer && m.n < n)
            .take(DRAFT_HISTORY)
            .map(|m| m.text.clone())
            .collect();
        history.reverse();
        let mut transcript: Vec<crate::drafting::Turn> = c
            .messages
            .iter()
            .rev()
            .filter(|m| m.n <= n && matches!(m.from, Author::Customer | Author::Worker))
            .take(crate::drafting::TRANSCRIPT_TURNS)
            .map(|m| crate::drafting::Turn {
                speaker: if m.from == Author::Customer {
                    crate::drafting::Speaker::Customer
                } else {
                    crate::drafting::Speaker::Agent
                },
                text: m.text.clone(),
            })
            .collect();
        transcript.reverse();
        Some(DraftNeed {
            conversation: wanted.conversation.clone(),
            for_message: n,
            text,
            language: wanted.language,
            history,
            transcript,
            attempt: wanted.attempt,
        })
    }

    fn view(&self, c: &Conversation) -> ConversationView {
        ConversationView {
            id: c.id.clone(),
            state: c.state,
            customer: CustomerContext {
                name: c.customer.clone(),
                language: c.declared.then_some(c.language),
                facts: c
                    .context
                    .iter()
                    .map(|(k, v)| (k.clone(), shiftdesk_protocol::redact::mask(v)))
                    .collect(),
            },
            language: c.language,
            intent: c.intent.clone(),
            why: c.why.clone(),
            messages: c.messages.clone(),
            draft: c
                .pending_draft
                .and_then(|i| c.drafts.get(i))
                .map(|r| r.draft.clone()),
            owner: c.owner.clone(),
            shadowed_by: c.shadowers.iter().map(|s| self.worker_name(s)).collect(),
            opened_at: c.opened_at,
            language_fallback: c.language_fallback,
        }
    }
}

const DAY_MS: u64 = 24 * 60 * 60 * 1000;
/// Earlier customer messages given to a drafter with the one to answer.
const DRAFT_HISTORY: usize = 4;

/// How many of the customer's latest messages language detection reads.
const DETECT_MESSAGES: usize = 8;

/// p50 and p90 of the waits recorded since midnight (UTC) of `now`'s day.
fn percentiles_today(
    samples: Option<&Vec<(Millis, u64)>>,
    now: Millis,
) -> (Option<u64>, Option<u64>) {
    let midnight = now - now % DAY_MS;
    let mut today: Vec<u64> = samples
        .into_iter()
        .flatten()
        .filter(|(at, _)| *at >= midnight)
        .map(|(_, waited)| *waited)
        .collect();
    if today.is_empty() {
        return (None, None);
    }
    today.sort_unstable();
    let at = |q: f64| today[((today.len() - 1) as f64 * q).round() as usize];
    (Some(at(0.5)), Some(at(0.9)))
}

/// Why a worker got an offer, for their console: the rule that chose them among how many
/// were eligible, their load, and whether the language wait ran out.
fn offer_reason(
    w: &Worker,
    language: Lang,
    eligible: usize,
    fallback: bool,
    waited: Millis,
    now: Millis,
) -> String {
    let rule = format!(
        "idle longest ({}) of {eligible} eligible",
        human_duration(now.saturating_sub(w.idle_since)),
    );
    let load = format!("{}/{} open", w.owned.len(), w.info.capacity);
    if fallback {
        format!(
            "no free {language} speaker after {}: offered to any language; {rule}, {load}",
            human_duration(waited),
        )
    } else {
        format!("{rule}: speaks {language}, {load}")
    }
}

/// "4m12s", "35s": short durations for people.
pub fn human_duration(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}
