//! The worker and supervisor dialect (`/ws/worker`): the frames a console sends and the events
//! the hub sends it. PROTOCOL.md section 5.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::*;

/// A frame from a worker's or supervisor's console. Every one carries a client-chosen `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerFrame {
    pub id: String,
    /// Names one run of the client whose command sequence `cseq` numbers (PROTOCOL.md 3.2).
    /// Both or neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer: Option<String>,
    /// This command's number in `producer`'s sequence: a retry is recognised by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cseq: Option<u64>,
    #[serde(flatten)]
    pub command: WorkerCommand,
}

impl WorkerFrame {
    /// A frame with only an id (deduplicated by id).
    pub fn new(id: impl Into<String>, command: WorkerCommand) -> WorkerFrame {
        WorkerFrame {
            id: id.into(),
            producer: None,
            cseq: None,
            command,
        }
    }

    /// The same frame as number `n` of `producer`'s command sequence.
    pub fn in_sequence(self, producer: impl Into<String>, n: u64) -> WorkerFrame {
        WorkerFrame {
            producer: Some(producer.into()),
            cseq: Some(n),
            ..self
        }
    }

    /// The producer and number, when the frame has both.
    pub fn sequence(&self) -> Option<(&str, u64)> {
        Some((self.producer.as_deref()?, self.cseq?))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkerCommand {
    /// First frame on a connection: log in, optionally resume a stream.
    Hello {
        token: String,
        protocol: u32,
        #[serde(default)]
        resume: Option<Resume>,
        /// Optional frames this client understands, by name (section 11): the hub sends
        /// them only to clients that list them. Omitted: none.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        features: Vec<String>,
    },
    Ping,
    SetStatus {
        status: WorkerStatus,
    },
    AcceptOffer {
        conversation: ConversationId,
    },
    DeclineOffer {
        conversation: ConversationId,
        #[serde(default)]
        reason: Option<String>,
    },
    /// A reply written by the worker (not from a draft).
    Reply {
        conversation: ConversationId,
        text: String,
    },
    /// Accept, edit, reject or regenerate a draft.
    Draft {
        conversation: ConversationId,
        draft: String,
        #[serde(flatten)]
        action: DraftAction,
    },
    Note {
        conversation: ConversationId,
        text: String,
    },
    Resolve {
        conversation: ConversationId,
    },
    /// Give the conversation back to the queue.
    Transfer {
        conversation: ConversationId,
        #[serde(default)]
        reason: Option<String>,
    },
    /// Supervisor: start receiving wallboard frames.
    Wallboard,
    /// Supervisor: follow a conversation read-only.
    Shadow {
        conversation: ConversationId,
    },
    Unshadow {
        conversation: ConversationId,
    },
    /// Supervisor: a private line to the worker who owns the conversation.
    Whisper {
        conversation: ConversationId,
        text: String,
    },
    /// Supervisor: become the owner of the conversation.
    TakeOver {
        conversation: ConversationId,
    },
    /// Supervisor: give a taken-over conversation back to a worker.
    HandBack {
        conversation: ConversationId,
        worker: WorkerId,
    },
    /// The owner is typing a reply: the customer sees a typing indicator for a few seconds.
    /// Best effort: never stored, never acknowledged, no error (send it again every few
    /// seconds while typing; never for notes or whispers).
    Typing {
        conversation: ConversationId,
    },
    // ---- Gig work (section 11, gig.rs) ------------------------------------------------------
    /// Ask for the dispatch rules in force: answered with an `about_dispatch` event.
    AboutDispatch,
    /// Ask for the worker's last 30 shifts: answered with a `shift_history` event.
    ShiftHistory,
    /// Ask for the week of slots: answered with a `schedule` event.
    Schedule,
    /// Book the slot starting at `start`; answered with `ack` and a fresh `schedule`.
    BookSlot {
        start: Millis,
    },
    /// Release a booked slot (releasing late is recorded, never penalised).
    ReleaseSlot {
        start: Millis,
    },
}

impl WorkerCommand {
    /// The wire name of the command, for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            WorkerCommand::Hello { .. } => "hello",
            WorkerCommand::Ping => "ping",
            WorkerCommand::SetStatus { .. } => "set_status",
            WorkerCommand::AcceptOffer { .. } => "accept_offer",
            WorkerCommand::DeclineOffer { .. } => "decline_offer",
            WorkerCommand::Reply { .. } => "reply",
            WorkerCommand::Draft { .. } => "draft",
            WorkerCommand::Note { .. } => "note",
            WorkerCommand::Resolve { .. } => "resolve",
            WorkerCommand::Transfer { .. } => "transfer",
            WorkerCommand::Wallboard => "wallboard",
            WorkerCommand::Shadow { .. } => "shadow",
            WorkerCommand::Unshadow { .. } => "unshadow",
            WorkerCommand::Whisper { .. } => "whisper",
            WorkerCommand::TakeOver { .. } => "take_over",
            WorkerCommand::HandBack { .. } => "hand_back",
            WorkerCommand::Typing { .. } => "typing",
            WorkerCommand::AboutDispatch => "about_dispatch",
            WorkerCommand::ShiftHistory => "shift_history",
            WorkerCommand::Schedule => "schedule",
            WorkerCommand::BookSlot { .. } => "book_slot",
            WorkerCommand::ReleaseSlot { .. } => "release_slot",
        }
    }

    /// Commands only a supervisor may send.
    pub fn needs_supervisor(&self) -> bool {
        matches!(
            self,
            WorkerCommand::Wallboard
                | WorkerCommand::Shadow { .. }
                | WorkerCommand::Unshadow { .. }
                | WorkerCommand::Whisper { .. }
                | WorkerCommand::TakeOver { .. }
                | WorkerCommand::HandBack { .. }
        )
    }
}

/// A frame from the hub to a worker or supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HubFrame<E> {
    pub seq: u64,
    #[serde(flatten)]
    pub event: E,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkerEvent {
    /// Login accepted. `resumed` says whether the frames after `last_seq` follow; if false a
    /// full snapshot follows (status, then one `conversation` frame per open conversation).
    Welcome {
        protocol: u32,
        stream: String,
        resumed: bool,
        worker: WorkerInfo,
        status: WorkerStatus,
        stats: WorkerStats,
        limits: Limits,
        server_time: Millis,
        /// The names of the languages this hub serves beyond the six built in (a language
        /// file's `name`), by code, for a console to show ("Polski", not "pl"). Omitted when
        /// there are none.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        languages: BTreeMap<Lang, String>,
    },
    /// A command was applied (or had already been applied: `duplicate` is true).
    Ack {
        id: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        duplicate: bool,
    },
    /// Something was wrong. `id` names the command when there was one.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        code: ErrorCode,
        message: String,
    },
    Pong {
        server_time: Millis,
    },
    Status {
        status: WorkerStatus,
        since: Millis,
        stats: WorkerStats,
    },
    /// A conversation offered to this worker; answer before `deadline`.
    Offer {
        conversation: ConversationId,
        language: Lang,
        intent: String,
        why: String,
        customer: String,
        preview: String,
        waited_ms: u64,
        deadline: Millis,
        timeout_ms: u64,
        /// Why this worker: the dispatch rule that chose them.
        because: String,
        /// True when the worker may not speak `language`: no speaker was free within the
        /// hub's language wait, so the offer went to any eligible worker. Omitted when false.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        language_fallback: bool,
    },
    /// The offer is gone: `reason` is `declined`, `expired`, `disconnected`, `abandoned` or
    /// `taken`.
    OfferWithdrawn {
        conversation: ConversationId,
        reason: String,
    },
    /// The full state of a conversation the worker owns or shadows.
    Conversation {
        conversation: ConversationView,
    },
    /// A new line in a conversation the worker owns or shadows.
    Message {
        conversation: ConversationId,
        message: Message,
    },
    /// A draft for the newest customer message.
    Draft {
        conversation: ConversationId,
        draft: Draft,
    },
    /// The draft being written, so far (a model drafter streams it as tokens arrive). Sent
    /// outside the stream (`seq` 0) and only while it is being written; it may be followed by
    /// more `draft_partial` frames with longer text, and always by a `draft` frame, which
    /// replaces it. A client that misses some (or all) of them loses nothing.
    DraftPartial {
        conversation: ConversationId,
        /// The customer message (`n`) the draft answers.
        for_message: u32,
        /// The text written so far.
        text: String,
    },
    /// What was done with a draft (for shadowing supervisors and for the worker's own record).
    DraftDone {
        conversation: ConversationId,
        draft: String,
        outcome: DraftOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<RejectReason>,
    },
    /// The worker no longer has this conversation.
    Closed {
        conversation: ConversationId,
        reason: String,
    },
    /// Who is shadowing a conversation the worker owns.
    Shadowers {
        conversation: ConversationId,
        supervisors: Vec<String>,
    },
    Wallboard {
        wallboard: Wallboard,
    },
    // ---- Gig work (section 11, gig.rs) ------------------------------------------------------
    /// An automated decision that affected this worker, as it is made (and, after a login
    /// without resume, the most recent ones again).
    Decision {
        decision: Decision,
    },
    /// The dispatch rules in force, answering `about_dispatch` (outside the stream, `seq` 0).
    AboutDispatch {
        about: AboutDispatch,
    },
    /// The worker's last shifts, newest first, answering `shift_history` (`seq` 0).
    ShiftHistory {
        shifts: Vec<ShiftRecord>,
        /// The latest automated decisions about the worker the hub keeps (up to 50), oldest
        /// first, so a shift can be explained: those with `at` within a shift are its own.
        /// Empty from hubs from before it was sent.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        decisions: Vec<Decision>,
    },
    /// The week of slots, answering `schedule`, `book_slot` and `release_slot` (`seq` 0).
    Schedule {
        schedule: Schedule,
    },
    /// While off shift, to clients that asked (`hello.features` `"demand"`): the queues this
    /// worker could serve that have someone waiting, about every 30 s (`seq` 0).
    Demand {
        queues: Vec<DemandQueue>,
    },
}

/// The limits a client must respect, sent in `welcome` so clients need not hard-code them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub max_frame_bytes: usize,
    pub max_text_chars: usize,
    pub max_id_bytes: usize,
    pub resume_window: usize,
    pub offer_timeout_ms: u64,
    pub grace_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or JSON of the wrong shape.
    Malformed,
    /// A `type` the hub does not know.
    UnknownType,
    /// Frame larger than `max_frame_bytes`.
    TooLarge,
    /// A text or id longer than allowed, or empty where it must not be.
    BadField,
    /// Token unknown, or the first frame was not `hello`/`start`.
    Unauthorized,
    /// The protocol version is not supported.
    Version,
    /// The command needs the supervisor role.
    Forbidden,
    /// The conversation does not exist or is not yours.
    NotYours,
    /// The command does not fit the current state (e.g. accepting an expired offer).
    Conflict,
    /// A `draft` command for a draft that answers a customer message someone has replied to
    /// since: sending it would answer twice. Drop the draft.
    StaleDraft,
    /// The hub could not store the command; nothing was applied; retry.
    Unavailable,
    /// Too many messages in a short time (customers: per conversation and per address); the
    /// message was not applied. Retry after `retry_after_ms`.
    RateLimited,
}
