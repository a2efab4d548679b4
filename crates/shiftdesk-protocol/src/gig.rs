//! Gig work (PROTOCOL.md section 11): the automated decisions that affect a worker, explained,
//! and the description of the dispatch rules in force ("About dispatch").
//!
//! Every type here is new in protocol 1 and only ever added to: a client that does not know a
//! frame type of this section ignores it, and a [`DecisionKind`] it does not know reads as
//! [`DecisionKind::Other`] (the decision's `text` still says what happened).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ConversationId, Millis};

/// `hello.features`: send this client `decision` frames.
pub const FEATURE_DECISIONS: &str = "decisions";
/// `hello.features`: while off shift, send this client `demand` frames (a standby console).
pub const FEATURE_DEMAND: &str = "demand";

/// A queue the worker could serve, with someone waiting (a `demand` frame).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemandQueue {
    pub language: super::Lang,
    pub waiting: u32,
    pub longest_wait_ms: u64,
}

/// The kind of an automated decision that affected a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// A conversation was offered to this worker.
    Offered,
    /// A conversation this worker could have taken was offered to someone else.
    OfferedElsewhere,
    /// A conversation was offered to this worker although they may not speak its language.
    LanguageFallback,
    /// This worker passed on a conversation (declined it or let the offer expire), so it is
    /// not offered to them again for a while.
    SkippedAfterDecline,
    /// An offer to this worker expired unanswered and went back to the queue.
    OfferExpired,
    /// This worker's conversations went back to the queue at the end of the grace period
    /// after their connection was lost.
    ReturnedAfterGrace,
    /// This worker was moved to draining at the end of a booked slot.
    DrainedAtSlotEnd,
    /// A kind this client does not know (a newer hub).
    #[serde(other)]
    Other,
}

impl DecisionKind {
    pub fn label(self) -> &'static str {
        match self {
            DecisionKind::Offered => "offered to you",
            DecisionKind::OfferedElsewhere => "offered to someone else",
            DecisionKind::LanguageFallback => "language fallback",
            DecisionKind::SkippedAfterDecline => "skipped after you passed",
            DecisionKind::OfferExpired => "offer expired",
            DecisionKind::ReturnedAfterGrace => "returned after the grace period",
            DecisionKind::DrainedAtSlotEnd => "drained at slot end",
            DecisionKind::Other => "decision",
        }
    }

    /// The kind of a wire name; [`DecisionKind::Other`] for one this client does not know.
    pub fn from_name(name: &str) -> DecisionKind {
        [
            DecisionKind::Offered,
            DecisionKind::OfferedElsewhere,
            DecisionKind::LanguageFallback,
            DecisionKind::SkippedAfterDecline,
            DecisionKind::OfferExpired,
            DecisionKind::ReturnedAfterGrace,
            DecisionKind::DrainedAtSlotEnd,
        ]
        .into_iter()
        .find(|k| k.name() == name)
        .unwrap_or(DecisionKind::Other)
    }

    /// The wire name (`offered`, `offer_expired`, …); `other` for a kind this client does not
    /// know.
    pub fn name(self) -> &'static str {
        match self {
            DecisionKind::Offered => "offered",
            DecisionKind::OfferedElsewhere => "offered_elsewhere",
            DecisionKind::LanguageFallback => "language_fallback",
            DecisionKind::SkippedAfterDecline => "skipped_after_decline",
            DecisionKind::OfferExpired => "offer_expired",
            DecisionKind::ReturnedAfterGrace => "returned_after_grace",
            DecisionKind::DrainedAtSlotEnd => "drained_at_slot_end",
            DecisionKind::Other => "other",
        }
    }
}

/// One automated decision about a worker, with the rule's parameters and the same in plain
/// words. The hub records it in its log before it tells the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub kind: DecisionKind,
    pub at: Millis,
    /// The conversation it was about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<ConversationId>,
    /// The rule that decided (`longest_idle`, `language_wait`, `pass_cooldown`,
    /// `offer_timeout`, `grace_period`, `slot_end`).
    pub rule: String,
    /// The rule's inputs, by name: durations end in `_ms`, counts are numbers, languages codes.
    /// All values are strings.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// The decision in plain words, for the worker.
    pub text: String,
}

/// "About dispatch": every automated rule in force, with its live parameters, and what the
/// hub monitors about workers and what it does not. Built from the hub's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AboutDispatch {
    pub rules: Vec<DispatchRule>,
    /// What is recorded about a worker, and what it is used for.
    pub monitored: Vec<String>,
    /// What is never recorded or never used to decide.
    pub not_monitored: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchRule {
    /// Stable name, as in [`Decision::rule`].
    pub name: String,
    /// What the rule does, in plain words, with its parameters filled in.
    pub text: String,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// What a shift earned (an estimate: the operator pays), by the hub's rate card. Amounts are in
/// the currency's minor unit (cents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Earnings {
    /// ISO 4217 code: `EUR`, `USD`, `SEK`.
    pub currency: String,
    pub total: u64,
    pub lines: Vec<EarningsLine>,
}

/// One line of [`Earnings`]: what is paid for, how much of it, and the amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarningsLine {
    /// `engaged_time`, `conversations`, `language_premium`, `night_premium`, `night_engaged_time`.
    pub kind: String,
    /// For people: "Engaged time 1h12m × 14.00/h".
    pub label: String,
    pub amount: u64,
}

/// One shift of a worker: from going on shift to going offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftRecord {
    pub worker: super::WorkerId,
    pub start: Millis,
    pub end: Millis,
    /// Time available for offers (draining included).
    pub available_ms: u64,
    /// Time with at least one conversation open.
    pub engaged_ms: u64,
    pub break_ms: u64,
    /// Conversations resolved.
    pub conversations: u32,
    /// By the rate card in force when the shift ended; absent when the hub has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earnings: Option<Earnings>,
    /// That rate card in plain words, one line per rate ("14.00 EUR per hour with at least one
    /// conversation open"); empty without one, and from hubs from before it was recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_card: Vec<String>,
    /// The automated decisions about the worker during the shift, counted by kind
    /// (`offered`: 3); empty when there were none, and from hubs from before they were counted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub decisions: BTreeMap<String, u32>,
}

/// `12.40 EUR` from 1240 and `EUR`.
pub fn format_money(minor: u64, currency: &str) -> String {
    format!("{}.{:02} {currency}", minor / 100, minor % 100)
}

/// One slot of planned shifts on the wallboard: how many booked it, how many conversations are
/// expected to need a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotLoad {
    pub start: Millis,
    pub booked: u32,
    pub expected: f32,
}

/// A worker's week of slots: what they booked and the demand expected (section 11.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Length of a slot (30 minutes unless the hub says otherwise).
    pub slot_ms: u64,
    /// Weeks of arrivals the forecast is made from (at most 4); 0: no history yet.
    pub history_weeks: u32,
    /// From the current slot on, seven days' worth, in order.
    pub slots: Vec<Slot>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    pub start: Millis,
    /// This worker booked it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub booked: bool,
    /// How many workers booked it (this one included).
    pub booked_workers: u32,
    /// Conversations expected to need a person in this slot, per language code: the average of
    /// the same slot of the week over the history. Empty without history.
    #[serde(default)]
    pub forecast: BTreeMap<String, f32>,
}

impl Slot {
    /// All languages together.
    pub fn forecast_total(&self) -> f32 {
        self.forecast.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use crate::{HubFrame, WorkerEvent};

    /// The `shift_history` frames of PROTOCOL.md 11.4: an older hub's (without `rate_card`,
    /// `decisions`) and a later one's both read, and the later one comes back the same.
    #[test]
    fn shift_history_frames_of_both_ages_read() {
        let doc = include_str!("../../../PROTOCOL.md");
        let section =
            &doc[doc.find("### 11.4").expect("11.4")..doc.find("### 11.5").expect("11.5")];
        let frames: Vec<&str> = section
            .lines()
            .filter(|l| l.starts_with("{\"seq\":0,\"type\":\"shift_history\""))
            .collect();
        assert_eq!(frames.len(), 2, "{section}");
        let old: HubFrame<WorkerEvent> = serde_json::from_str(frames[0]).expect("older frame");
        let WorkerEvent::ShiftHistory { shifts, decisions } = old.event else {
            panic!("not a shift_history");
        };
        assert!(decisions.is_empty() && shifts[0].rate_card.is_empty());
        assert!(shifts[0].decisions.is_empty());
        let new: HubFrame<WorkerEvent> = serde_json::from_str(frames[1]).expect("later frame");
        let again = serde_json::to_value(&new).expect("encodes");
        let written: serde_json::Value = serde_json::from_str(frames[1]).expect("json");
        assert_eq!(again, written);
        let WorkerEvent::ShiftHistory { shifts, decisions } = new.event else {
            panic!("not a shift_history");
        };
        assert_eq!(shifts[0].decisions["offered"], 10);
        assert_eq!(shifts[0].rate_card.len(), 2);
        assert_eq!(decisions[0].kind, super::DecisionKind::OfferExpired);
        assert_eq!(
            super::DecisionKind::from_name("offer_expired"),
            super::DecisionKind::OfferExpired
        );
        assert_eq!(
            super::DecisionKind::from_name("paid_more"),
            super::DecisionKind::Other
        );
    }
}
