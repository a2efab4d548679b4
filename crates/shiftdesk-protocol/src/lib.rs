//! Every frame that crosses the wire, in one place.
//!
//! Frames are JSON text messages over a websocket, internally tagged by `type`. The hub speaks
//! two dialects: one to workers and supervisors (`/ws/worker`) and one to customers
//! (`/ws/customer`). PROTOCOL.md is the human-readable contract for everything in this module;
//! keep the two in step.
//!
//! Rules that hold for every frame:
//! - a client command carries an `id` chosen by the client; a retry with the same id is applied
//!   once and answered with the same result;
//! - every hub frame carries `seq`, the position on that client's stream; frames with `seq > 0`
//!   can be replayed on resume, `seq == 0` marks a connection-level frame (pong, pre-login errors)
//!   that is never replayed.

use serde::{Deserialize, Serialize};

pub mod lang;
pub mod redact;

pub use lang::{Lang, UnknownLang};

/// Version of this protocol. A client sends it in `hello`/`start`; a mismatch is refused.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest frame the hub accepts, in bytes. Larger frames get an error frame and are dropped.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Longest text of a message, a note, a whisper or an edited draft, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// Longest command id, in bytes.
pub const MAX_ID_BYTES: usize = 64;
/// How many stream frames the hub keeps per client for resume.
pub const RESUME_WINDOW: usize = 2048;

/// Close codes the hub sends when it ends a websocket, and what a client should do.
pub mod close {
    /// The same worker logged in on another connection: do not reconnect.
    pub const REPLACED: u16 = 4000;
    /// The client stopped reading and its queue filled up: reconnect and resume at once.
    pub const TOO_SLOW: u16 = 4008;
    /// The hub could not write its log: reconnect and resume; commands not acknowledged were
    /// not applied and are applied once when resent.
    pub const STORE_FAILED: u16 = 1011;
}

pub type ConversationId = String;
pub type WorkerId = String;
/// Milliseconds since the Unix epoch.
pub type Millis = u64;

/// Shift status of a worker, as in Twilio TaskRouter's activities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerStatus {
    Offline,
    Available,
    Break,
    /// Finish current conversations, take no new ones, then go offline.
    Draining,
}

impl WorkerStatus {
    pub fn label(self) -> &'static str {
        match self {
            WorkerStatus::Offline => "offline",
            WorkerStatus::Available => "available",
            WorkerStatus::Break => "break",
            WorkerStatus::Draining => "draining",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Worker,
    Supervisor,
}

/// Where a conversation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    Bot,
    Queued,
    Offered,
    Assigned,
    Resolved,
    Abandoned,
}

/// Who wrote a line of a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Customer,
    Bot,
    Worker,
    /// A private note by a worker; never shown to the customer.
    Note,
    /// A supervisor's private line to the worker; never shown to the customer.
    Whisper,
    System,
}

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Position in the conversation, from 1.
    pub n: u32,
    pub from: Author,
    pub text: String,
    pub at: Millis,
    /// Name of the worker or supervisor who wrote it, for worker, note and whisper lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// A reply proposed to the worker, with what it is based on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub id: String,
    /// The customer message (`n`) this draft answers.
    pub for_message: u32,
    #[serde(flatten)]
    pub proposal: DraftProposal,
}

/// A proposed reply, with what it is based on, shown to the worker to accept, edit or reject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftProposal {
    /// The reply text, in `language`.
    pub text: String,
    /// How sure the drafter is that this answers the message, 0..=1.
    pub confidence: f32,
    /// What the customer wants, as a snake_case intent (`"move_due_date"`), or `"unknown"`.
    pub intent: String,
    /// Language the draft is written in.
    pub language: Lang,
    /// Ids of the knowledge-base articles the draft used.
    pub sources: Vec<String>,
    /// Which drafter wrote it: `"kb"` (the built-in one), `"openai"` (a model server), or
    /// `"fallback"` (the built-in one, because the model server was slow, down or answered
    /// garbage). For evaluating drafters against each other from the exported outcomes.
    pub drafter: String,
    /// The model that wrote it, for `openai` drafts (and the one that failed, for `fallback`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// How long the drafter took, in milliseconds (for model drafts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
}

/// What a worker did with a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum DraftAction {
    /// Send the draft as it is.
    Accept,
    /// Send this text instead.
    Edit { text: String },
    /// Do not send; say why.
    Reject { reason: RejectReason },
    /// Ask for another draft.
    Regenerate,
}

/// Why a draft was rejected. Codes, so a team can count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    WrongTopic,
    Incorrect,
    WrongLanguage,
    Tone,
    NeedsPerson,
    Other,
}

impl RejectReason {
    pub const ALL: [RejectReason; 6] = [
        RejectReason::WrongTopic,
        RejectReason::Incorrect,
        RejectReason::WrongLanguage,
        RejectReason::Tone,
        RejectReason::NeedsPerson,
        RejectReason::Other,
    ];
    pub fn label(self) -> &'static str {
        match self {
            RejectReason::WrongTopic => "wrong topic",
            RejectReason::Incorrect => "incorrect",
            RejectReason::WrongLanguage => "wrong language",
            RejectReason::Tone => "tone",
            RejectReason::NeedsPerson => "needs a personal answer",
            RejectReason::Other => "other",
        }
    }
}

/// How a draft ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftOutcome {
    Pending,
    Accepted,
    Edited,
    Rejected,
    Regenerated,
}

/// Customer context shown beside the transcript. Personal data is masked by the hub.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerContext {
    pub name: String,
    /// The language the customer declared; `None` when they declared none and the
    /// conversation's language was detected from their messages.
    pub language: Option<Lang>,
    /// Free-form facts (plan, last payment, ...), masked.
    #[serde(default)]
    pub facts: Vec<(String, String)>,
}

/// Everything a worker needs to show one conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationView {
    pub id: ConversationId,
    pub state: ConversationState,
    pub customer: CustomerContext,
    pub language: Lang,
    pub intent: String,
    /// Why it needs a person, in one line.
    pub why: String,
    pub messages: Vec<Message>,
    /// The newest draft, if one is waiting for the worker.
    pub draft: Option<Draft>,
    /// Worker that owns it now, if any.
    pub owner: Option<WorkerId>,
    /// Supervisors shadowing it.
    #[serde(default)]
    pub shadowed_by: Vec<String>,
    pub opened_at: Millis,
    /// True when the conversation was offered to its worker as a language fallback (nobody
    /// who speaks `language` was free in time). Omitted when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub language_fallback: bool,
}

/// Per-worker figures for the shift summary and the wallboard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerStats {
    pub offers_accepted: u32,
    pub offers_declined: u32,
    pub offers_missed: u32,
    pub handled: u32,
    /// Sum of handle times of handled conversations, in milliseconds.
    pub handle_ms_total: u64,
    pub drafts_accepted: u32,
    pub drafts_edited: u32,
    pub drafts_rejected: u32,
    pub drafts_regenerated: u32,
}

/// A worker as the hub knows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerInfo {
    pub id: WorkerId,
    pub name: String,
    pub role: Role,
    pub languages: Vec<Lang>,
    pub skills: Vec<String>,
    pub capacity: u32,
}

/// One row of the supervisor wallboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WallboardWorker {
    pub id: WorkerId,
    pub name: String,
    /// Supervisors are listed too (they can take conversations); consoles may set them apart.
    #[serde(default = "default_role")]
    pub role: Role,
    pub status: WorkerStatus,
    pub connected: bool,
    pub since: Millis,
    pub open: u32,
    pub capacity: u32,
    pub stats: WorkerStats,
}

fn default_role() -> Role {
    Role::Worker
}

/// One queue (a language) on the wallboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WallboardQueue {
    pub language: Lang,
    pub depth: u32,
    pub longest_wait_ms: u64,
    pub time_to_human_p50_ms: Option<u64>,
    pub time_to_human_p90_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wallboard {
    pub at: Millis,
    pub workers: Vec<WallboardWorker>,
    pub queues: Vec<WallboardQueue>,
    pub live: Vec<LiveConversation>,
}

/// A conversation a supervisor can shadow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveConversation {
    pub id: ConversationId,
    pub state: ConversationState,
    pub language: Lang,
    pub owner: Option<String>,
    pub intent: String,
    pub waiting_ms: u64,
}

/// Where a resuming client left off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// The `stream` value from the `welcome` (or `started`) frame.
    pub stream: String,
    /// The last `seq` the client processed.
    pub last_seq: u64,
}

// ---------------------------------------------------------------------------------------------
// Worker and supervisor dialect (/ws/worker)
// ---------------------------------------------------------------------------------------------

/// A frame from a worker's or supervisor's console. Every one carries a client-chosen `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerFrame {
    pub id: String,
    #[serde(flatten)]
    pub command: WorkerCommand,
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
    /// The hub could not store the command; nothing was applied; retry.
    Unavailable,
}

// ---------------------------------------------------------------------------------------------
// Customer dialect (/ws/customer)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerFrame {
    pub id: String,
    #[serde(flatten)]
    pub command: CustomerCommand,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CustomerCommand {
    /// First frame: open a conversation, or resume one.
    Start {
        protocol: u32,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        lang: Option<Lang>,
        #[serde(default)]
        resume: Option<CustomerResume>,
        /// What the site knows about the customer (plan, email, ...), shown to the worker
        /// masked. At most 20 entries of at most 200 characters.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        context: std::collections::BTreeMap<String, String>,
    },
    Ping,
    Message {
        text: String,
    },
    /// The customer leaves. An open conversation becomes `abandoned`.
    Leave,
}

impl CustomerCommand {
    pub fn name(&self) -> &'static str {
        match self {
            CustomerCommand::Start { .. } => "start",
            CustomerCommand::Ping => "ping",
            CustomerCommand::Message { .. } => "message",
            CustomerCommand::Leave => "leave",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerResume {
    pub conversation: ConversationId,
    /// The `stream` from `started`: a hub restart starts a new stream.
    pub stream: String,
    /// The secret from `started`.
    pub key: String,
    pub last_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CustomerEvent {
    Started {
        protocol: u32,
        conversation: ConversationId,
        /// Keep it to resume this conversation on a new connection.
        key: String,
        /// Names this conversation's frame stream; `seq` counts within it.
        stream: String,
        resumed: bool,
    },
    /// The message with this id is stored; it will not be lost.
    Ack {
        id: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        duplicate: bool,
    },
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        code: ErrorCode,
        message: String,
    },
    Pong {
        server_time: Millis,
    },
    /// A line for the customer: from `bot`, `worker` or `system`.
    Message {
        from: Author,
        text: String,
        at: Millis,
    },
    /// A person is on the way; `position` is the place in the queue (1 = next).
    Queued {
        position: u32,
    },
    /// The conversation has ended.
    Closed {
        reason: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Decoding with errors a client can act on
// ---------------------------------------------------------------------------------------------

/// Why a text frame could not be decoded. The message is meant for the client's developer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub code: ErrorCode,
    pub message: String,
    /// The command id, when it could be read even though the rest was wrong.
    pub id: Option<String>,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

const WORKER_TYPES: &[&str] = &[
    "hello",
    "ping",
    "set_status",
    "accept_offer",
    "decline_offer",
    "reply",
    "draft",
    "note",
    "resolve",
    "transfer",
    "wallboard",
    "shadow",
    "unshadow",
    "whisper",
    "take_over",
    "hand_back",
];
const CUSTOMER_TYPES: &[&str] = &["start", "ping", "message", "leave"];

/// Decode a frame from a worker console.
pub fn decode_worker(text: &str) -> Result<WorkerFrame, DecodeError> {
    let frame: WorkerFrame = decode(text, WORKER_TYPES, |f: &WorkerFrame| &f.id)?;
    check_worker(&frame).map_err(|message| DecodeError {
        code: ErrorCode::BadField,
        message,
        id: Some(frame.id.clone()),
    })?;
    Ok(frame)
}

/// Decode a frame from a customer.
pub fn decode_customer(text: &str) -> Result<CustomerFrame, DecodeError> {
    let frame: CustomerFrame = decode(text, CUSTOMER_TYPES, |f: &CustomerFrame| &f.id)?;
    let checked = match &frame.command {
        CustomerCommand::Message { text } => check_text("text", text),
        CustomerCommand::Start { context, .. } if context.len() > 20 => {
            Err("`context` has more than 20 entries".into())
        }
        CustomerCommand::Start { context, .. } => context
            .iter()
            .find(|(k, v)| k.chars().count() > 200 || v.chars().count() > 200)
            .map_or(Ok(()), |(k, _)| {
                Err(format!("`context.{k}` is longer than 200 characters"))
            }),
        _ => Ok(()),
    };
    checked.map_err(|message| DecodeError {
        code: ErrorCode::BadField,
        message,
        id: Some(frame.id.clone()),
    })?;
    Ok(frame)
}

/// Decode a frame of type `T` (whose `id` is `id_of`); `known` lists its dialect's types.
fn decode<T: serde::de::DeserializeOwned>(
    text: &str,
    known: &[&str],
    id_of: fn(&T) -> &str,
) -> Result<T, DecodeError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(DecodeError {
            code: ErrorCode::TooLarge,
            message: format!(
                "frame is {} bytes; the limit is {MAX_FRAME_BYTES}",
                text.len()
            ),
            id: None,
        });
    }
    // A well-formed frame (nearly every one) in one pass. Anything else is decoded again below,
    // through a JSON value, for an error that says exactly what is wrong; that path allocates
    // the whole value first (every key and string) and then decodes the frame from it.
    if let Ok(frame) = serde_json::from_str::<T>(text)
        && !id_of(&frame).is_empty()
        && id_of(&frame).len() <= MAX_ID_BYTES
    {
        return Ok(frame);
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| DecodeError {
        code: ErrorCode::Malformed,
        message: format!("not valid JSON: {e}"),
        id: None,
    })?;
    let Some(object) = value.as_object() else {
        return Err(DecodeError {
            code: ErrorCode::Malformed,
            message: "a frame must be a JSON object".into(),
            id: None,
        });
    };
    let id = match object.get("id") {
        Some(serde_json::Value::String(id)) if !id.is_empty() && id.len() <= MAX_ID_BYTES => {
            id.clone()
        }
        Some(serde_json::Value::String(_)) => {
            return Err(DecodeError {
                code: ErrorCode::BadField,
                message: format!("`id` must be 1 to {MAX_ID_BYTES} bytes"),
                id: None,
            });
        }
        _ => {
            return Err(DecodeError {
                code: ErrorCode::Malformed,
                message: "missing string field `id`".into(),
                id: None,
            });
        }
    };
    let kind = match object.get("type") {
        Some(serde_json::Value::String(kind)) => kind.as_str(),
        _ => {
            return Err(DecodeError {
                code: ErrorCode::Malformed,
                message: "missing string field `type`".into(),
                id: Some(id),
            });
        }
    };
    if !known.contains(&kind) {
        return Err(DecodeError {
            code: ErrorCode::UnknownType,
            message: format!("unknown frame type `{kind}`; known: {}", known.join(", ")),
            id: Some(id),
        });
    }
    let kind = kind.to_string();
    serde_json::from_value(value).map_err(|e| DecodeError {
        code: ErrorCode::Malformed,
        message: format!("bad `{kind}` frame: {e}"),
        id: Some(id),
    })
}

fn check_text(field: &str, text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("`{field}` must not be empty"));
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(format!(
            "`{field}` is {chars} characters; the limit is {MAX_TEXT_CHARS}"
        ));
    }
    Ok(())
}

fn check_worker(frame: &WorkerFrame) -> Result<(), String> {
    match &frame.command {
        WorkerCommand::Reply { text, .. }
        | WorkerCommand::Note { text, .. }
        | WorkerCommand::Whisper { text, .. } => check_text("text", text),
        WorkerCommand::Draft {
            action: DraftAction::Edit { text },
            ..
        } => check_text("text", text),
        WorkerCommand::DeclineOffer {
            reason: Some(reason),
            ..
        }
        | WorkerCommand::Transfer {
            reason: Some(reason),
            ..
        } if reason.chars().count() > 200 => Err("`reason` is longer than 200 characters".into()),
        _ => Ok(()),
    }
}

/// Encode a hub frame. Serialising these types cannot fail (no maps with non-string keys).
pub fn encode<E: Serialize>(seq: u64, event: &E) -> String {
    match serde_json::to_string(&HubFrame { seq, event }) {
        Ok(text) => text,
        Err(e) => format!(
            r#"{{"seq":{seq},"type":"error","code":"unavailable","message":"hub could not encode a frame: {e}"}}"#
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_frames_round_trip() {
        let frame = WorkerFrame {
            id: "c1".into(),
            command: WorkerCommand::Draft {
                conversation: "c-1".into(),
                draft: "d-1".into(),
                action: DraftAction::Reject {
                    reason: RejectReason::Tone,
                },
            },
        };
        let text = serde_json::to_string(&frame).unwrap();
        assert_eq!(
            text,
            r#"{"id":"c1","type":"draft","conversation":"c-1","draft":"d-1","action":"reject","reason":"tone"}"#
        );
        assert_eq!(decode_worker(&text).unwrap(), frame);
    }

    #[test]
    fn errors_name_the_problem() {
        let e = decode_worker("{nope").unwrap_err();
        assert_eq!(e.code, ErrorCode::Malformed);
        assert!(e.message.contains("not valid JSON"), "{}", e.message);

        let e = decode_worker(r#"{"id":"a","type":"dance"}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnknownType);
        assert_eq!(e.id.as_deref(), Some("a"));
        assert!(e.message.contains("`dance`"));

        let e = decode_worker(r#"{"id":"a","type":"set_status","status":"asleep"}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::Malformed);
        assert!(e.message.contains("set_status"), "{}", e.message);

        let big = format!(
            r#"{{"id":"a","type":"reply","conversation":"c","text":"{}"}}"#,
            "x".repeat(MAX_FRAME_BYTES)
        );
        assert_eq!(decode_worker(&big).unwrap_err().code, ErrorCode::TooLarge);

        let long = format!(
            r#"{{"id":"a","type":"reply","conversation":"c","text":"{}"}}"#,
            "x".repeat(MAX_TEXT_CHARS + 1)
        );
        assert_eq!(decode_worker(&long).unwrap_err().code, ErrorCode::BadField);

        let e = decode_customer(r#"{"type":"message","text":"hi"}"#).unwrap_err();
        assert!(e.message.contains("`id`"));

        // Frames that decode cleanly but break a rule of the id still get the full check.
        for id in [String::new(), "i".repeat(MAX_ID_BYTES + 1)] {
            let frame = format!(r#"{{"id":"{id}","type":"message","text":"hi"}}"#);
            let e = decode_customer(&frame).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadField, "{}", e.message);
            assert!(
                e.message.contains("`id` must be 1 to 64 bytes"),
                "{}",
                e.message
            );
        }
        let most = "i".repeat(MAX_ID_BYTES);
        let frame = format!(r#"{{"id":"{most}","type":"message","text":"hi"}}"#);
        assert_eq!(decode_customer(&frame).unwrap().id, most);
    }

    #[test]
    fn hub_frames_carry_seq() {
        let text = encode(
            7,
            &WorkerEvent::Ack {
                id: "x".into(),
                duplicate: false,
            },
        );
        assert_eq!(text, r#"{"seq":7,"type":"ack","id":"x"}"#);
    }
}
