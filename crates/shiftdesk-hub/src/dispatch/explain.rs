//! Every automated decision that affects a worker, recorded with its parameters and told to
//! them in plain words; and "About dispatch", the rules in force built from the live
//! configuration. The EU Platform Work Directive (2024/2831) asks platforms for both: which
//! automated systems decide about workers, on what main parameters, and an explanation of a
//! decision on request.
//!
//! A decision is a [`Fact::Decided`]: durable, replayed into the last [`KEEP`] per worker, and
//! sent to the worker as a `decision` frame when it is made.

use std::collections::BTreeMap;

use shiftdesk_protocol::{AboutDispatch, Decision, DecisionKind, DispatchRule};

use super::offers::human_duration;
use super::*;

/// Decisions kept per worker in memory (and sent again after a login without resume).
pub const KEEP: usize = 50;
/// Decisions sent again after a login without resume.
const RESEND: usize = 20;
/// How many of the next in line hear that a conversation went to someone else.
pub(super) const PASSED_OVER_TOLD: usize = 3;

/// A free worker a conversation could have gone to, and did not.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PassedOver {
    pub(super) conversation: ConversationId,
    pub(super) worker: WorkerId,
    pub(super) idle_since: Millis,
    /// The idle-since of the worker who got it.
    pub(super) chosen_idle_since: Millis,
}

fn params<const N: usize>(pairs: [(&str, String); N]) -> BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

const NO_RATES: &str = "Acceptance and decline counts are never used to choose.";

impl Dispatch {
    /// Record a decision about `worker` and tell them.
    pub(super) fn decide(&mut self, worker: &str, decision: Decision, out: &mut Vec<Effect>) {
        self.record(
            Fact::Decided {
                worker: worker.to_string(),
                at: decision.at,
                decision: decision.clone(),
            },
            out,
        );
        out.push(Effect::ToWorker {
            worker: worker.to_string(),
            event: WorkerEvent::Decision { decision },
        });
    }

    /// Keep a decision in the worker's recent list (from `apply`).
    pub(super) fn remember_decision(&mut self, worker: &str, decision: &Decision) {
        let list = self.decisions.entry(worker.to_string()).or_default();
        if list.len() == KEEP {
            list.pop_front();
        }
        list.push_back(decision.clone());
    }

    /// The most recent decisions about a worker, oldest first.
    pub fn decisions_about(&self, worker: &str) -> Vec<Decision> {
        self.decisions
            .get(worker)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// After a login without resume: the most recent decisions again.
    pub(super) fn resend_decisions(&self, worker: &str, out: &mut Vec<Effect>) {
        let Some(list) = self.decisions.get(worker) else {
            return;
        };
        for decision in list.iter().skip(list.len().saturating_sub(RESEND)) {
            out.push(Effect::ToWorker {
                worker: worker.to_string(),
                event: WorkerEvent::Decision {
                    decision: decision.clone(),
                },
            });
        }
    }

    /// An offer was made: why this worker, and, for a fallback, why this language.
    pub(super) fn decide_offer(
        &mut self,
        offer: &PlannedOffer,
        now: Millis,
        out: &mut Vec<Effect>,
    ) {
        let (Some(w), Some(c)) = (
            self.workers.get(&offer.worker),
            self.conversations.get(&offer.conversation),
        ) else {
            return;
        };
        let idle = now.saturating_sub(w.idle_since);
        let language = c.language;
        let open = w.owned.len();
        let capacity = w.info.capacity;
        let mut decisions = vec![Decision {
            kind: DecisionKind::Offered,
            at: now,
            conversation: Some(offer.conversation.clone()),
            rule: "longest_idle".into(),
            params: params([
                ("idle_ms", idle.to_string()),
                ("eligible", offer.eligible.to_string()),
                ("language", language.to_string()),
                ("open", open.to_string()),
                ("capacity", capacity.to_string()),
            ]),
            text: format!(
                "Offered to you because, of the {} eligible worker(s) (available, {}, with a free \
                 slot), you had waited longest for work: {}. You had {open} of {capacity} \
                 conversations open. {NO_RATES}",
                offer.eligible,
                if offer.language_fallback {
                    "any language".to_string()
                } else {
                    format!("speaking {language}")
                },
                human_duration(idle),
            ),
        }];
        if offer.language_fallback {
            decisions.push(Decision {
                kind: DecisionKind::LanguageFallback,
                at: now,
                conversation: Some(offer.conversation.clone()),
                rule: "language_wait".into(),
                params: params([
                    ("language", language.to_string()),
                    ("waited_ms", offer.waited.to_string()),
                    ("language_wait_ms", self.config.language_wait_ms.to_string()),
                ]),
                text: format!(
                    "The customer writes {language}, which you may not speak. No free {language} \
                     speaker was found within the language wait ({}); after {} waiting the \
                     conversation goes to any eligible worker, longest idle first.",
                    human_duration(self.config.language_wait_ms),
                    human_duration(offer.waited),
                ),
            });
        }
        for d in decisions {
            self.decide(&offer.worker, d, out);
        }
    }

    /// A conversation this worker could have taken went to someone idle longer.
    pub(super) fn decide_passed_over(
        &mut self,
        p: &PassedOver,
        now: Millis,
        out: &mut Vec<Effect>,
    ) {
        let language = self
            .conversations
            .get(&p.conversation)
            .map_or(Lang::En, |c| c.language);
        let (mine, theirs) = (
            now.saturating_sub(p.idle_since),
            now.saturating_sub(p.chosen_idle_since),
        );
        let decision = Decision {
            kind: DecisionKind::OfferedElsewhere,
            at: now,
            conversation: Some(p.conversation.clone()),
            rule: "longest_idle".into(),
            params: params([
                ("language", language.to_string()),
                ("your_idle_ms", mine.to_string()),
                ("chosen_idle_ms", theirs.to_string()),
            ]),
            text: if theirs >= mine {
                format!(
                    "A {language} conversation went to another worker who had waited longer for \
                     work ({}) than you ({}). You are next in line as others are served. \
                     {NO_RATES}",
                    human_duration(theirs),
                    human_duration(mine),
                )
            } else {
                format!(
                    "A {language} conversation went to another worker: it had already been \
                     offered to you and you passed on it, so it went to the next in line. \
                     {NO_RATES}"
                )
            },
        };
        self.decide(&p.worker, decision, out);
    }

    /// The worker declined an offer, or let it expire: not offered it again for a while.
    pub(super) fn decide_passed(
        &mut self,
        worker: &str,
        conversation: &str,
        expired: bool,
        now: Millis,
        out: &mut Vec<Effect>,
    ) {
        let timeout = self.config.offer_timeout_ms;
        if expired {
            self.decide(
                worker,
                Decision {
                    kind: DecisionKind::OfferExpired,
                    at: now,
                    conversation: Some(conversation.to_string()),
                    rule: "offer_timeout".into(),
                    params: params([("offer_timeout_ms", timeout.to_string())]),
                    text: format!(
                        "The offer expired: it was not answered within {}. It went back to the \
                         queue for the next worker. Missed offers are counted for you to see \
                         only. {NO_RATES}",
                        human_duration(timeout)
                    ),
                },
                out,
            );
        }
        self.decide(
            worker,
            Decision {
                kind: DecisionKind::SkippedAfterDecline,
                at: now,
                conversation: Some(conversation.to_string()),
                rule: "pass_cooldown".into(),
                params: params([("cooldown_ms", timeout.to_string())]),
                text: format!(
                    "You passed on this conversation, so it is not offered to you again for {} \
                     (unless nobody else can take it). That is all: passing is never a \
                     penalty. {NO_RATES}",
                    human_duration(timeout)
                ),
            },
            out,
        );
    }

    /// The worker's connection stayed lost past the grace period: a conversation went back.
    pub(super) fn decide_returned(
        &mut self,
        worker: &str,
        conversation: &str,
        now: Millis,
        out: &mut Vec<Effect>,
    ) {
        let grace = self.config.grace_ms;
        let gone_at = self
            .workers
            .get(worker)
            .and_then(|w| w.disconnected_at)
            .unwrap_or(now);
        self.decide(
            worker,
            Decision {
                kind: DecisionKind::ReturnedAfterGrace,
                at: now,
                conversation: Some(conversation.to_string()),
                rule: "grace_period".into(),
                params: params([
                    ("grace_ms", grace.to_string()),
                    ("disconnected_ms", now.saturating_sub(gone_at).to_string()),
                ]),
                text: format!(
                    "Your console was disconnected for {}, longer than the grace period ({}), so \
                     this conversation went back to the queue: no customer is left waiting. It \
                     is not counted against you.",
                    human_duration(now.saturating_sub(gone_at)),
                    human_duration(grace)
                ),
            },
            out,
        );
    }

    /// Every rule in force, its live parameters, what is monitored and what is not.
    pub fn about(&self) -> AboutDispatch {
        let c = &self.config;
        let rule = |name: &str, text: String, p: BTreeMap<String, String>| DispatchRule {
            name: name.into(),
            text,
            params: p,
        };
        AboutDispatch {
            rules: vec![
                rule(
                    "queue_order",
                    "Waiting conversations are served by priority (a customer who may harm \
                     themselves first, then sensitive topics, then customers who asked for a \
                     person), then by how long they have waited."
                        .into(),
                    BTreeMap::new(),
                ),
                rule(
                    "longest_idle",
                    "A conversation is offered to one eligible worker: available, speaks the \
                     customer's language, has the skills and a free slot. Among them, the one \
                     who has waited longest for work gets it."
                        .into(),
                    BTreeMap::new(),
                ),
                rule(
                    "offer_timeout",
                    format!(
                        "An offer waits {} for an answer; unanswered, it goes to the next \
                         worker.",
                        human_duration(c.offer_timeout_ms)
                    ),
                    params([("offer_timeout_ms", c.offer_timeout_ms.to_string())]),
                ),
                rule(
                    "pass_cooldown",
                    format!(
                        "A worker who declined or missed a conversation is not offered that \
                         conversation again for {}, unless nobody else can take it.",
                        human_duration(c.offer_timeout_ms)
                    ),
                    params([("cooldown_ms", c.offer_timeout_ms.to_string())]),
                ),
                rule(
                    "language_wait",
                    format!(
                        "If no free worker speaks the customer's language within {}, any \
                         eligible worker may get it, marked as a language fallback.",
                        human_duration(c.language_wait_ms)
                    ),
                    params([("language_wait_ms", c.language_wait_ms.to_string())]),
                ),
                rule(
                    "grace_period",
                    format!(
                        "A worker whose console disconnects keeps their conversations for {}; \
                         then they go back to the queue.",
                        human_duration(c.grace_ms)
                    ),
                    params([("grace_ms", c.grace_ms.to_string())]),
                ),
                rule(
                    "drain",
                    "A worker who drains takes no new offers and goes offline by themselves \
                     when their last conversation ends."
                        .into(),
                    BTreeMap::new(),
                ),
            ],
            monitored: vec![
                "Your status and since when (available, break, draining, offline): to offer \
                 work and for your shift summary."
                    .into(),
                "When you last became free for work: the longest-idle rule uses it.".into(),
                "Offers accepted, declined and missed: shown to you and to supervisors; never \
                 used to choose who gets offers."
                    .into(),
                "What you did with each AI draft (sent, edited, rejected and why): to improve \
                 the drafts."
                    .into(),
                "Conversations handled and their handle time: for your summary and the \
                 wallboard."
                    .into(),
                "Everything written in a conversation, and your private notes: the record of \
                 the conversation."
                    .into(),
            ],
            not_monitored: vec![
                "Keystrokes, typing speed, mouse or screen activity: never recorded.".into(),
                "Your location, camera, microphone or other applications: never recorded.".into(),
                "Acceptance or decline rates: never used to decide who gets offers.".into(),
                "No automated decision ends an account, lowers pay or changes your rules: only \
                 a person can, and can be asked why."
                    .into(),
            ],
        }
    }
}
