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

mod codec;
mod customer;
mod gig;
mod worker;

pub use codec::*;
pub use customer::*;
pub use gig::*;
pub use worker::*;

/// Version of this protocol. A client sends it in `hello`/`start`; a mismatch is refused.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest frame the hub accepts, in bytes. Larger frames get an error frame and are dropped.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Longest text of a message, a note, a whisper or an edited draft, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// Longest command id, in bytes.
pub const MAX_ID_BYTES: usize = 64;
/// Longest `producer` of a command sequence, in bytes.
pub const MAX_PRODUCER_BYTES: usize = 32;
/// Largest `cseq`: the integers every JSON parser reads exactly (2^53 - 1).
pub const MAX_CSEQ: u64 = (1 << 53) - 1;
/// How many of a producer's latest commands the hub remembers refusals for: a retry of an
/// older refused command is answered as a duplicate (PROTOCOL.md 3.2).
pub const CSEQ_WINDOW: u64 = 1024;
/// Longest `signed_context` token of a customer's `start`.
pub const MAX_SIGNED_CONTEXT_BYTES: usize = 8 * 1024;
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
    /// The hub is stopping (a restart, an upgrade), with the reason [`HUB_STOPPED_REASON`]:
    /// reconnect with backoff and resume. What it acknowledged is stored.
    pub const HUB_STOPPED: u16 = 1011;
    pub const HUB_STOPPED_REASON: &str = "hub stopped";
    /// A hub that forwarded the connection to the hub running dispatch for a shared store lost
    /// that hub (it died or was replaced): code [`HUB_STOPPED`] with this reason. Reconnect at
    /// once, to any hub, and resume (a hub waits for the new one before it answers).
    pub const WRITER_CHANGED_REASON: &str = "the writing hub changed; reconnect and resume";
    /// The client sent a frame over the hard frame limit (1 MiB): a bug in the client.
    pub const TOO_BIG: u16 = 1009;
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
    /// The keys of `facts` the operator's backend signed (verified); every other fact is what
    /// the customer's browser declared. Omitted when none is verified.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verified: Vec<String>,
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
    /// This shift's earnings so far, by the hub's rate card (section 11); only in the worker's
    /// own `status` and `welcome`, and only when the hub has a rate card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earnings: Option<Earnings>,
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
    /// Planned shifts: the next slots, booked versus expected (section 11.5). Omitted when the
    /// hub has no bookings and no history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slots: Vec<SlotLoad>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_frames_round_trip() {
        let frame = WorkerFrame::new(
            "c1",
            WorkerCommand::Draft {
                conversation: "c-1".into(),
                draft: "d-1".into(),
                action: DraftAction::Reject {
                    reason: RejectReason::Tone,
                },
            },
        );
        let text = serde_json::to_string(&frame).unwrap();
        assert_eq!(
            text,
            r#"{"id":"c1","type":"draft","conversation":"c-1","draft":"d-1","action":"reject","reason":"tone"}"#
        );
        assert_eq!(decode_worker(&text).unwrap(), frame);
    }

    /// Frames encoded one after another through the thread's buffer are each whole and
    /// exactly as long as they need be, a big one before a small one included.
    #[test]
    fn encoded_frames_are_whole_and_exact() {
        let big = WorkerEvent::Ack {
            id: "x".repeat(100_000),
            duplicate: false,
        };
        let small = WorkerEvent::Ack {
            id: "a1".into(),
            duplicate: false,
        };
        let big_text = encode(7, &big);
        let small_text = encode(8, &small);
        assert_eq!(small_text, r#"{"seq":8,"type":"ack","id":"a1"}"#);
        assert_eq!(small_text.capacity(), small_text.len());
        assert_eq!(
            big_text.len(),
            100_000 + r#"{"seq":7,"type":"ack","id":""}"#.len()
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&big_text).unwrap()["id"]
                .as_str()
                .map(str::len),
            Some(100_000)
        );
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
    fn a_command_sequence_travels_beside_the_id_and_is_checked() {
        let frame = CustomerFrame::new("k3-7", CustomerCommand::Message { text: "hi".into() })
            .in_sequence("k3", 7);
        let text = serde_json::to_string(&frame).unwrap();
        assert_eq!(
            text,
            r#"{"id":"k3-7","producer":"k3","cseq":7,"type":"message","text":"hi"}"#
        );
        assert_eq!(decode_customer(&text).unwrap().sequence(), Some(("k3", 7)));
        assert_eq!(
            decode_worker(r#"{"id":"a","type":"ping"}"#)
                .unwrap()
                .sequence(),
            None
        );
        for (fields, says) in [
            (r#""cseq":3"#, "`cseq` needs `producer`"),
            (r#""producer":"p""#, "`producer` needs `cseq`"),
            (
                r#""producer":"","cseq":3"#,
                "`producer` must be 1 to 32 bytes",
            ),
            (r#""producer":"p","cseq":0"#, "`cseq` must be 1 to"),
            (
                r#""producer":"p","cseq":9007199254740992"#,
                "`cseq` must be 1 to",
            ),
        ] {
            let text = format!(r#"{{"id":"a",{fields},"type":"resolve","conversation":"c"}}"#);
            let e = decode_worker(&text).unwrap_err();
            assert_eq!((e.code, e.id.as_deref()), (ErrorCode::BadField, Some("a")));
            assert!(e.message.contains(says), "{fields}: {}", e.message);
            let text = format!(r#"{{"id":"a",{fields},"type":"leave"}}"#);
            assert!(decode_customer(&text).unwrap_err().message.contains(says));
        }
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
