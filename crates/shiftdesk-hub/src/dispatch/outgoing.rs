//! Helpers that record facts and say who hears of them: transcript lines, the views sent to
//! workers and what a drafter is given. Everything a worker receives that a customer wrote is
//! masked here (card numbers, phone numbers, email addresses), so it never reaches a worker's
//! machine in full; the log and the drafter keep the original.

use super::*;
use shiftdesk_protocol::redact::mask;

impl Dispatch {
    /// A worker logged in without resuming: they get everything they must show, and the offer
    /// or status this step already sent them is in it (an offer made just now keeps its reason).
    pub(super) fn login_snapshot(&self, worker: &str, now: Millis, out: &mut Vec<Effect>) {
        let mut fresh_offer = None;
        out.retain(|e| match e {
            Effect::ToWorker { worker: w, event } if w == worker => match event {
                WorkerEvent::Offer { .. } => {
                    fresh_offer = Some(event.clone());
                    false
                }
                WorkerEvent::Status { .. } => false,
                _ => true,
            },
            _ => true,
        });
        for event in self.snapshot_for(worker, now) {
            let event = match (event, &fresh_offer) {
                (WorkerEvent::Offer { .. }, Some(offer)) => offer.clone(),
                (event, _) => event,
            };
            out.push(Effect::ToWorker {
                worker: worker.to_string(),
                event,
            });
        }
        self.resend_decisions(worker, out);
    }

    pub(super) fn record(&mut self, fact: Fact, out: &mut Vec<Effect>) {
        self.apply(&fact);
        let ends_shift = matches!(
            fact,
            Fact::StatusChanged {
                status: WorkerStatus::Offline,
                ..
            }
        );
        out.push(Effect::Record(fact.clone()));
        if ends_shift {
            self.end_shift_if_over(&fact, out);
        }
    }
    pub fn worker_name(&self, worker: &str) -> String {
        self.workers
            .get(worker)
            .map(|w| w.info.name.clone())
            .unwrap_or_else(|| worker.to_string())
    }
    pub(super) fn worker_line(
        &mut self,
        worker: &str,
        id: &str,
        text: String,
        draft: Option<String>,
        now: Millis,
        out: &mut Vec<Effect>,
    ) {
        if draft.is_none() {
            // A reply of the worker's own answers what the waiting draft answered.
            self.end_pending_draft(id, DraftEnd::Discarded, now, out);
        }
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
                name: Some(self.worker_name(worker)),
            },
        });
        self.send_last_line(id, out);
    }
    /// The draft waiting in `id`, if any, stops waiting: recorded with `outcome`, so the export
    /// gives it a final outcome. Nothing is sent (the draft is simply no longer current).
    pub(super) fn end_pending_draft(
        &mut self,
        id: &str,
        outcome: DraftEnd,
        now: Millis,
        out: &mut Vec<Effect>,
    ) {
        let Some(draft) = self
            .conversations
            .get(id)
            .and_then(|c| c.pending_draft.and_then(|i| c.drafts.get(i)))
            .map(|r| r.draft.id.clone())
        else {
            return;
        };
        self.record(
            Fact::DraftEnded {
                conversation: id.to_string(),
                draft,
                outcome,
                at: now,
            },
            out,
        );
    }
    /// A line from the system to the customer; `joined`: the person the line says joined.
    pub(super) fn system_line(
        &mut self,
        id: &str,
        text: String,
        joined: Option<String>,
        now: Millis,
        out: &mut Vec<Effect>,
    ) {
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
                name: joined,
            },
        });
        self.send_last_line(id, out);
    }
    /// Send the newest transcript line to the owner and the shadowing supervisors.
    pub(super) fn send_last_line(&self, id: &str, out: &mut Vec<Effect>) {
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
                message: for_workers(message),
            },
            out,
        );
    }
    /// Owner and shadowers: everyone who may see a conversation's inside.
    pub(super) fn to_watchers(&self, id: &str, event: WorkerEvent, out: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get(id) else {
            return;
        };
        // The last watcher (nearly always the only one) takes the event itself.
        let watchers = usize::from(c.owner.is_some()) + c.shadowers.len();
        let mut event = Some(event);
        for (i, worker) in c.owner.iter().chain(c.shadowers.iter()).enumerate() {
            let event = if i + 1 < watchers {
                event.clone()
            } else {
                event.take()
            };
            if let Some(event) = event {
                out.push(Effect::ToWorker {
                    worker: worker.clone(),
                    event,
                });
            }
        }
    }
    pub(super) fn send_conversation(&self, worker: &str, id: &str, out: &mut Vec<Effect>) {
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
    pub(super) fn refresh_shadowers(&self, id: &str, out: &mut Vec<Effect>) {
        if let Some(c) = self.conversations.get(id) {
            for s in &c.shadowers {
                self.send_conversation(s, id, out);
            }
        }
    }
    pub(super) fn send_status(&self, worker: &str, out: &mut Vec<Effect>) {
        if let Some(w) = self.workers.get(worker) {
            out.push(Effect::ToWorker {
                worker: worker.to_string(),
                event: WorkerEvent::Status {
                    status: w.status,
                    since: w.status_since,
                    stats: WorkerStats {
                        earnings: self.earnings_now(worker),
                        ..w.stats.clone()
                    },
                },
            });
        }
    }
    pub(super) fn send_shadowers(&self, id: &str, out: &mut Vec<Effect>) {
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
    pub(super) fn want_draft(&self, id: &str, attempt: u32, out: &mut Vec<Effect>) {
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
        if c.answered_after(n) {
            // A worker answered it while the request waited: the draft would be dropped.
            return None;
        }
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
            .filter(|m| {
                m.n <= n && matches!(m.from, Author::Customer | Author::Worker | Author::Bot)
            })
            .take(crate::drafting::TRANSCRIPT_TURNS)
            .map(|m| crate::drafting::Turn {
                speaker: match m.from {
                    Author::Customer => crate::drafting::Speaker::Customer,
                    Author::Bot => crate::drafting::Speaker::Bot,
                    _ => crate::drafting::Speaker::Agent,
                },
                text: m.text.clone(),
                sources: c.bot_sources.get(&m.n).cloned().unwrap_or_default(),
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
    pub(super) fn view(&self, c: &Conversation) -> ConversationView {
        ConversationView {
            id: c.id.clone(),
            state: c.state,
            customer: CustomerContext {
                name: mask(&c.customer),
                language: c.declared.then_some(c.language),
                facts: c
                    .context
                    .iter()
                    .map(|(k, v)| (k.clone(), mask(v)))
                    .collect(),
                verified: c.verified.clone(),
            },
            language: c.language,
            intent: c.intent.clone(),
            why: c.why.clone(),
            messages: c.messages.iter().map(for_workers).collect(),
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

/// Earlier customer messages given to a drafter with the one to answer.
const DRAFT_HISTORY: usize = 4;

/// A transcript line as workers see it: what the customer wrote is masked.
fn for_workers(message: &Message) -> Message {
    let text = if message.from == Author::Customer {
        mask(&message.text)
    } else {
        message.text.clone()
    };
    Message {
        text,
        by: message.by.clone(),
        ..*message
    }
}
