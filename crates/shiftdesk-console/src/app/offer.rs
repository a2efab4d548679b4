//! An offer of a conversation: the bell and desktop notification when it arrives, its
//! countdown to the hub's deadline, the worker's accept or decline (with an optional reason),
//! and what the hub makes of the answer.

use shiftdesk_protocol::{ConversationId, ErrorCode, Lang, Millis, WorkerCommand, WorkerEvent};

use super::modal::{Modal, PromptPurpose, PromptState};
use super::{App, Command, Level, Notification};

/// An offer still on screen this long after its deadline is dropped locally (the hub's
/// `offer_withdrawn` may have been lost with a connection).
const OFFER_GRACE_MS: Millis = 5_000;

/// Where the worker's answer to an offer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferAnswer {
    None,
    Accepting,
    Declining,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OfferState {
    pub conversation: ConversationId,
    pub language: Lang,
    pub intent: String,
    pub why: String,
    pub customer: String,
    pub preview: String,
    /// How long the customer had waited when the offer was made.
    pub waited_ms: u64,
    /// When the offer arrived (console clock).
    pub received_at: Millis,
    /// The deadline on the console clock.
    pub deadline: Millis,
    /// The full time a worker gets to answer, for the gauge.
    pub timeout_ms: u64,
    pub because: String,
    /// The worker may not speak `language` (the hub's language fallback).
    pub language_fallback: bool,
    pub answer: OfferAnswer,
}

impl OfferState {
    pub fn remaining_ms(&self, now: Millis) -> u64 {
        self.deadline.saturating_sub(now)
    }

    /// Fraction of the time left, 0..=1.
    pub fn ratio(&self, now: Millis) -> f64 {
        if self.timeout_ms == 0 {
            return 0.0;
        }
        (self.remaining_ms(now) as f64 / self.timeout_ms as f64).clamp(0.0, 1.0)
    }
}

impl App {
    pub(super) fn offer_arrived(&mut self, event: WorkerEvent, out: &mut Vec<Command>) {
        let WorkerEvent::Offer {
            conversation,
            language,
            intent,
            why,
            customer,
            preview,
            waited_ms,
            deadline,
            timeout_ms,
            because,
            language_fallback,
        } = event
        else {
            return;
        };
        let deadline = self.to_local(deadline);
        let full = self
            .limits
            .as_ref()
            .map(|l| l.offer_timeout_ms)
            .unwrap_or(timeout_ms)
            .max(timeout_ms);
        let desktop = self.options.notify.then(|| {
            let body = if self.options.notify_text {
                format!("{customer} ({language}): {preview}")
            } else {
                format!(
                    "{} conversation waiting ({language})",
                    intent.replace('_', " ")
                )
            };
            ("shiftdesk: new offer".to_string(), body)
        });
        if self.options.bell || desktop.is_some() {
            out.push(Command::Notify(Notification {
                bell: self.options.bell,
                desktop,
            }));
        }
        self.offer = Some(OfferState {
            conversation,
            language,
            intent,
            why,
            customer,
            preview,
            waited_ms,
            received_at: self.now,
            deadline,
            timeout_ms: full,
            because,
            language_fallback,
            answer: OfferAnswer::None,
        });
    }

    pub(super) fn offer_withdrawn(&mut self, conversation: &str, reason: &str) {
        if !self.take_offer(conversation) {
            return;
        }
        self.close_offer_prompt();
        let (level, text) = match reason {
            "declined" => (Level::Info, "Offer declined. No penalty.".to_string()),
            "expired" => (
                Level::Warn,
                "Offer expired: it went to the next worker.".to_string(),
            ),
            "abandoned" => (Level::Info, "The customer left before you answered.".into()),
            "taken" => (Level::Info, "A supervisor took that conversation.".into()),
            "status" => (Level::Info, "Offer withdrawn: you changed status.".into()),
            "disconnected" => (
                Level::Warn,
                "Offer withdrawn: your connection dropped.".into(),
            ),
            other => (Level::Info, format!("Offer withdrawn ({other}).")),
        };
        self.note(level, text);
    }

    /// On each tick: drop an offer long past its deadline.
    pub(super) fn drop_stale_offer(&mut self) {
        if self
            .offer
            .as_ref()
            .is_some_and(|o| self.now > o.deadline + OFFER_GRACE_MS)
        {
            self.offer = None;
            self.close_offer_prompt();
            self.dirty = true;
        }
    }

    /// Drop the offer if it is for `conversation`; was it?
    fn take_offer(&mut self, conversation: &str) -> bool {
        let is_it = self
            .offer
            .as_ref()
            .is_some_and(|o| o.conversation == conversation);
        if is_it {
            self.offer = None;
        }
        is_it
    }

    /// The decline prompt goes with its offer.
    fn close_offer_prompt(&mut self) {
        if matches!(
            &self.modal,
            Some(Modal::Prompt(PromptState {
                purpose: PromptPurpose::Decline { .. },
                ..
            }))
        ) {
            self.modal = None;
        }
    }

    pub(super) fn accept_offer(&mut self, out: &mut Vec<Command>) {
        let Some(offer) = &mut self.offer else {
            return;
        };
        if offer.answer != OfferAnswer::None {
            return;
        }
        offer.answer = OfferAnswer::Accepting;
        let conversation = offer.conversation.clone();
        self.select_on_arrival = Some(conversation.clone());
        self.send(WorkerCommand::AcceptOffer { conversation }, out);
    }

    /// Declining first asks why (optional).
    pub(super) fn ask_decline_reason(&mut self) {
        let Some(offer) = &self.offer else {
            return;
        };
        if offer.answer != OfferAnswer::None {
            return;
        }
        let conversation = offer.conversation.clone();
        self.open_prompt(
            PromptPurpose::Decline { conversation },
            "optional: why not? (enter to decline)",
            "",
        );
    }

    /// The decline prompt was confirmed.
    pub(super) fn decline_offer(
        &mut self,
        conversation: ConversationId,
        reason: Option<String>,
        out: &mut Vec<Command>,
    ) {
        if let Some(offer) = &mut self.offer
            && offer.conversation == conversation
        {
            offer.answer = OfferAnswer::Declining;
            self.send(
                WorkerCommand::DeclineOffer {
                    conversation,
                    reason,
                },
                out,
            );
        } else {
            self.note(Level::Info, "That offer is gone already.");
        }
    }

    pub(super) fn accept_confirmed(&mut self, conversation: ConversationId) {
        self.take_offer(&conversation);
        if let Some(index) = self.position(&conversation) {
            self.select(index);
            let name = self.conversations[self.selected].view.customer.name.clone();
            self.note(
                Level::Good,
                format!("Accepted: you are now talking with {name}."),
            );
        } else {
            self.select_on_arrival = Some(conversation);
            self.note(Level::Good, "Offer accepted.");
        }
    }

    pub(super) fn decline_confirmed(&mut self, conversation: &str) {
        if self.take_offer(conversation) {
            self.note(Level::Info, "Offer declined. No penalty.");
        }
    }

    pub(super) fn accept_refused(&mut self, conversation: &str, code: ErrorCode, message: &str) {
        self.take_offer(conversation);
        let text = if code == ErrorCode::Conflict {
            "Offer expired: it is no longer open to you.".to_string()
        } else {
            format!("Could not accept the offer: {message}")
        };
        self.note(Level::Error, text);
    }

    pub(super) fn decline_refused(&mut self, conversation: &str, code: ErrorCode, message: &str) {
        self.take_offer(conversation);
        if code != ErrorCode::Conflict {
            self.note(Level::Error, format!("Decline failed: {message}"));
        }
    }
}
