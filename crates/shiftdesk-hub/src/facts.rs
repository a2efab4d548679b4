//! The durable event log's vocabulary: every state change of the hub is one `Fact`.
//!
//! The dispatch core changes its state only by applying facts, so replaying the log rebuilds
//! exactly the state the hub had (conversations, queue, transcripts, open offers, owners).
//! Facts are stored as JSON; renaming a variant or a field breaks old logs, so don't.

use serde::{Deserialize, Serialize};

use crate::lang::Lang;
use crate::triage::TriageDecision;
use shiftdesk_protocol::{
    ConversationId, Decision, Draft, DraftOutcome, Millis, RejectReason, ShiftRecord, WorkerId,
    WorkerStatus,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum Fact {
    WorkerConnected {
        worker: WorkerId,
        at: Millis,
    },
    WorkerDisconnected {
        worker: WorkerId,
        at: Millis,
    },
    StatusChanged {
        worker: WorkerId,
        status: WorkerStatus,
        at: Millis,
    },
    ConversationOpened {
        conversation: ConversationId,
        customer: String,
        /// The language the customer declared; `None` when they did not, and it is detected
        /// from their messages ([`Fact::LanguageDetected`]). Old logs always have one.
        #[serde(default)]
        language: Option<Lang>,
        /// Secret the customer uses to resume.
        key: String,
        #[serde(default)]
        context: Vec<(String, String)>,
        /// The keys of `context` signed by the operator's backend (verified); the others are
        /// what the customer's browser declared.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        verified: Vec<String>,
        at: Millis,
    },
    CustomerSaid {
        conversation: ConversationId,
        text: String,
        at: Millis,
    },
    /// The language of a customer who declared none, detected from what they wrote while the
    /// bot had the conversation (recorded again if later messages show another language).
    LanguageDetected {
        conversation: ConversationId,
        language: Lang,
        at: Millis,
    },
    Triaged {
        conversation: ConversationId,
        message: u32,
        decision: TriageDecision,
        at: Millis,
    },
    BotSaid {
        conversation: ConversationId,
        text: String,
        sources: Vec<String>,
        at: Millis,
    },
    SystemSaid {
        conversation: ConversationId,
        text: String,
        at: Millis,
    },
    Queued {
        conversation: ConversationId,
        priority: u8,
        intent: String,
        why: String,
        language: Lang,
        at: Millis,
    },
    Offered {
        conversation: ConversationId,
        worker: WorkerId,
        deadline: Millis,
        /// Offered to a worker who does not speak the conversation's language, because no
        /// speaker was free within the language wait.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        language_fallback: bool,
        at: Millis,
    },
    OfferDeclined {
        conversation: ConversationId,
        worker: WorkerId,
        reason: Option<String>,
        at: Millis,
    },
    OfferExpired {
        conversation: ConversationId,
        worker: WorkerId,
        at: Millis,
    },
    OfferWithdrawn {
        conversation: ConversationId,
        worker: WorkerId,
        reason: String,
        at: Millis,
    },
    Assigned {
        conversation: ConversationId,
        worker: WorkerId,
        at: Millis,
    },
    WorkerSaid {
        conversation: ConversationId,
        worker: WorkerId,
        text: String,
        draft: Option<String>,
        at: Millis,
    },
    Noted {
        conversation: ConversationId,
        worker: WorkerId,
        text: String,
        at: Millis,
    },
    Whispered {
        conversation: ConversationId,
        supervisor: WorkerId,
        text: String,
        at: Millis,
    },
    Drafted {
        conversation: ConversationId,
        draft: Draft,
        attempt: u32,
        at: Millis,
    },
    DraftSettled {
        conversation: ConversationId,
        draft: String,
        worker: WorkerId,
        outcome: DraftOutcome,
        sent_text: Option<String>,
        reason: Option<RejectReason>,
        edit_distance: Option<u32>,
        at: Millis,
    },
    Resolved {
        conversation: ConversationId,
        worker: WorkerId,
        at: Millis,
    },
    /// Back to the queue: transfer, grace period over, worker went offline.
    Requeued {
        conversation: ConversationId,
        worker: WorkerId,
        why: String,
        at: Millis,
    },
    Abandoned {
        conversation: ConversationId,
        at: Millis,
    },
    TakenOver {
        conversation: ConversationId,
        supervisor: WorkerId,
        from: Option<WorkerId>,
        at: Millis,
    },
    HandedBack {
        conversation: ConversationId,
        supervisor: WorkerId,
        worker: WorkerId,
        at: Millis,
    },
    /// A supervisor started watching a conversation live.
    ShadowStarted {
        conversation: ConversationId,
        supervisor: WorkerId,
        at: Millis,
    },
    /// A supervisor stopped watching (they asked to, or logged in again on another connection;
    /// disconnecting also ends every shadow, without a fact of its own).
    ShadowEnded {
        conversation: ConversationId,
        supervisor: WorkerId,
        at: Millis,
    },
    /// A draft no worker acted on stopped waiting, so every draft has a final outcome.
    DraftEnded {
        conversation: ConversationId,
        draft: String,
        outcome: DraftEnd,
        at: Millis,
    },
    /// An automated decision that affected a worker, with its rule, parameters and plain
    /// words (the dispatch core's `explain` module).
    Decided {
        worker: WorkerId,
        decision: Decision,
        at: Millis,
    },
    /// A worker went offline: their shift, with what it earned by the rate card then in force.
    ShiftEnded {
        worker: WorkerId,
        shift: ShiftRecord,
        at: Millis,
    },
    /// A worker booked the slot of a planned shift starting at `start`.
    SlotBooked {
        worker: WorkerId,
        start: Millis,
        at: Millis,
    },
    /// A worker released a booked slot; `late`: within a slot's length of its start or after.
    SlotReleased {
        worker: WorkerId,
        start: Millis,
        late: bool,
        at: Millis,
    },
}

/// How a draft that no worker acted on ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftEnd {
    /// A newer draft replaced it (the customer wrote again).
    Superseded,
    /// A reply was sent to the customer while it waited: it answers a message already answered.
    Discarded,
    /// The conversation ended (resolved, or the customer left) while it waited.
    Abandoned,
}

impl Fact {
    /// The conversation a fact belongs to, if any (stored in its own column for export).
    pub fn conversation(&self) -> Option<&str> {
        use Fact::*;
        match self {
            WorkerConnected { .. } | WorkerDisconnected { .. } | StatusChanged { .. } => None,
            Decided { decision, .. } => decision.conversation.as_deref(),
            ShiftEnded { .. } | SlotBooked { .. } | SlotReleased { .. } => None,
            ConversationOpened { conversation, .. }
            | CustomerSaid { conversation, .. }
            | LanguageDetected { conversation, .. }
            | Triaged { conversation, .. }
            | BotSaid { conversation, .. }
            | SystemSaid { conversation, .. }
            | Queued { conversation, .. }
            | Offered { conversation, .. }
            | OfferDeclined { conversation, .. }
            | OfferExpired { conversation, .. }
            | OfferWithdrawn { conversation, .. }
            | Assigned { conversation, .. }
            | WorkerSaid { conversation, .. }
            | Noted { conversation, .. }
            | Whispered { conversation, .. }
            | Drafted { conversation, .. }
            | DraftSettled { conversation, .. }
            | Resolved { conversation, .. }
            | Requeued { conversation, .. }
            | Abandoned { conversation, .. }
            | TakenOver { conversation, .. }
            | HandedBack { conversation, .. }
            | ShadowStarted { conversation, .. }
            | ShadowEnded { conversation, .. }
            | DraftEnded { conversation, .. } => Some(conversation),
        }
    }

    /// When it happened (every fact has its time).
    pub fn at(&self) -> Millis {
        use Fact::*;
        match self {
            WorkerConnected { at, .. }
            | WorkerDisconnected { at, .. }
            | StatusChanged { at, .. }
            | ConversationOpened { at, .. }
            | CustomerSaid { at, .. }
            | LanguageDetected { at, .. }
            | Triaged { at, .. }
            | BotSaid { at, .. }
            | SystemSaid { at, .. }
            | Queued { at, .. }
            | Offered { at, .. }
            | OfferDeclined { at, .. }
            | OfferExpired { at, .. }
            | OfferWithdrawn { at, .. }
            | Assigned { at, .. }
            | WorkerSaid { at, .. }
            | Noted { at, .. }
            | Whispered { at, .. }
            | Drafted { at, .. }
            | DraftSettled { at, .. }
            | Resolved { at, .. }
            | Requeued { at, .. }
            | Abandoned { at, .. }
            | TakenOver { at, .. }
            | HandedBack { at, .. }
            | ShadowStarted { at, .. }
            | ShadowEnded { at, .. }
            | DraftEnded { at, .. }
            | Decided { at, .. }
            | ShiftEnded { at, .. }
            | SlotBooked { at, .. }
            | SlotReleased { at, .. } => *at,
        }
    }

    /// The `fact` tag, for the log's `kind` column.
    pub fn kind(&self) -> &'static str {
        use Fact::*;
        match self {
            WorkerConnected { .. } => "worker_connected",
            WorkerDisconnected { .. } => "worker_disconnected",
            StatusChanged { .. } => "status_changed",
            ConversationOpened { .. } => "conversation_opened",
            CustomerSaid { .. } => "customer_said",
            LanguageDetected { .. } => "language_detected",
            Triaged { .. } => "triaged",
            BotSaid { .. } => "bot_said",
            SystemSaid { .. } => "system_said",
            Queued { .. } => "queued",
            Offered { .. } => "offered",
            OfferDeclined { .. } => "offer_declined",
            OfferExpired { .. } => "offer_expired",
            OfferWithdrawn { .. } => "offer_withdrawn",
            Assigned { .. } => "assigned",
            WorkerSaid { .. } => "worker_said",
            Noted { .. } => "noted",
            Whispered { .. } => "whispered",
            Drafted { .. } => "drafted",
            DraftSettled { .. } => "draft_settled",
            Resolved { .. } => "resolved",
            Requeued { .. } => "requeued",
            Abandoned { .. } => "abandoned",
            TakenOver { .. } => "taken_over",
            HandedBack { .. } => "handed_back",
            ShadowStarted { .. } => "shadow_started",
            ShadowEnded { .. } => "shadow_ended",
            DraftEnded { .. } => "draft_ended",
            Decided { .. } => "decided",
            ShiftEnded { .. } => "shift_ended",
            SlotBooked { .. } => "slot_booked",
            SlotReleased { .. } => "slot_released",
        }
    }
}
