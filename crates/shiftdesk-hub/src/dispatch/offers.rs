//! Offers and timers: matching queued conversations with free workers (longest idle first),
//! expiring offers, the grace period of disconnected workers, and putting a conversation back
//! in the queue when its worker lets go of it.

use super::explain::PassedOver;
use super::*;
use shiftdesk_protocol::redact::mask;

impl Dispatch {
    pub(super) fn tick(&mut self, now: Millis, out: &mut Vec<Effect>) {
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
            self.decide_passed(&worker, &id, true, now, out);
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
            let was_on_shift = self
                .workers
                .get(&worker)
                .is_some_and(|w| w.status == WorkerStatus::Available);
            let owned: Vec<ConversationId> = self.owned_by(&worker);
            for id in &owned {
                self.decide_returned(&worker, id, now, out);
                let why = format!("{} lost connection", self.worker_name(&worker));
                self.requeue(id, &worker, why, "grace period over", now, out);
            }
            self.record(
                Fact::StatusChanged {
                    worker: worker.clone(),
                    status: WorkerStatus::Offline,
                    at: now,
                },
                out,
            );
            // Their customers hear `queued` now that the worker is offline.
            self.staffing_changed(&worker, was_on_shift, owned, now, out);
        }
        self.drain_at_slot_end(now, out);
    }
    pub(super) fn disconnect(&mut self, worker: &str, now: Millis, out: &mut Vec<Effect>) {
        if let Some(id) = self.workers.get(worker).and_then(|w| w.offer.clone()) {
            self.withdraw_offer(&id, "disconnected", now, out);
        }
        let shadowing: Vec<ConversationId> = self
            .workers
            .get(worker)
            .map(|w| w.shadowing.iter().cloned().collect())
            .unwrap_or_default();
        self.record(
            Fact::WorkerDisconnected {
                worker: worker.to_string(),
                at: now,
            },
            out,
        );
        // Recording the disconnect ended their shadows: the others see the new list.
        for id in shadowing {
            self.send_shadowers(&id, out);
        }
    }
    pub(super) fn withdraw_offer(
        &mut self,
        id: &str,
        reason: &str,
        now: Millis,
        out: &mut Vec<Effect>,
    ) {
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
    /// Put an owned conversation back in the queue, with its transcript. The customer's
    /// `queued` is the caller's to send ([`Dispatch::send_queued`]), once what made the worker
    /// let go (going offline, say) is recorded, so that `on_shift` is counted after it.
    pub(super) fn requeue(
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
        self.system_line(id, notice, None, now, out);
        self.refresh_shadowers(id, out);
    }
    /// After a worker lets go of a conversation: draining workers stop when they are done.
    pub(super) fn after_release(&mut self, worker: &str, now: Millis, out: &mut Vec<Effect>) {
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
    pub(super) fn end_for_everyone(&mut self, id: &str, reason: &str, out: &mut Vec<Effect>) {
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
    pub(super) fn dispatch(&mut self, now: Millis, out: &mut Vec<Effect>) {
        if self.queue.is_empty() || self.indexes.free.is_empty() {
            return;
        }
        // Unit tests check every match against the full scan this replaced.
        #[cfg(test)]
        let by_scan = self.offers_by_scan(now);
        let (offers, passed_over) = self.plan_offers(now);
        #[cfg(test)]
        assert_eq!(
            offers, by_scan,
            "the free-worker index chose unlike a full scan"
        );
        let offered: BTreeSet<WorkerId> = offers.iter().map(|o| o.worker.clone()).collect();
        for offer in offers {
            // Why, recorded and told before the offer itself.
            self.decide_offer(&offer, now, out);
            let PlannedOffer {
                conversation: id,
                worker,
                because,
                language_fallback,
                ..
            } = offer;
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
        // Those next in line who got nothing this round hear where it went, and why.
        for p in passed_over {
            if !offered.contains(&p.worker) {
                self.decide_passed_over(&p, now, out);
            }
        }
    }
    /// Match queued conversations, in queue order, with free workers, walking the free lists
    /// longest idle first: a speaker of the conversation's language, or, once the language wait
    /// is over and no speaker is free, anyone (a language fallback). Among them, someone who
    /// has not passed on the conversation goes first, else the first who passed but cooled
    /// down. A worker who gets a conversation leaves the free lists at once, so each walk only
    /// steps over the conversation's passes ([`index::pick`]), never over all free workers.
    /// Also returns, per offer, the next few free workers in the same line who were passed
    /// over ([`explain::PASSED_OVER_TOLD`]).
    pub(super) fn plan_offers(&mut self, now: Millis) -> (Vec<PlannedOffer>, Vec<PassedOver>) {
        let Dispatch {
            config,
            workers,
            conversations,
            queue,
            indexes,
            ..
        } = self;
        let mut offers = Vec::new();
        let mut passed_over = Vec::new();
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
            let pool = if fallback {
                Some(&indexes.free)
            } else {
                indexes.free_by_language.get(&c.language)
            };
            let chosen_idle_since = w.idle_since;
            passed_over.extend(
                pool.into_iter()
                    .flatten()
                    .filter(|(_, id)| *id != pick.worker)
                    .filter(|(_, id)| {
                        c.passed
                            .get(id)
                            .is_none_or(|at| at.saturating_add(cooldown) <= now)
                    })
                    .take(explain::PASSED_OVER_TOLD)
                    .map(|(idle_since, worker)| PassedOver {
                        conversation: id.clone(),
                        worker: worker.clone(),
                        idle_since: *idle_since,
                        chosen_idle_since,
                    }),
            );
            if let Some(w) = workers.get_mut(&pick.worker) {
                indexes.take_free(w);
            }
            offers.push(PlannedOffer {
                conversation: id.clone(),
                worker: pick.worker,
                because,
                language_fallback: fallback,
                eligible: pick.eligible,
                waited,
            });
        }
        (offers, passed_over)
    }
    pub(super) fn offer_event(
        &self,
        c: &Conversation,
        deadline: Millis,
        now: Millis,
        because: &str,
    ) -> WorkerEvent {
        let preview = c
            .last_customer_message()
            .map(|m| mask(&m.text).chars().take(160).collect())
            .unwrap_or_default();
        WorkerEvent::Offer {
            conversation: c.id.clone(),
            language: c.language,
            intent: c.intent.clone(),
            why: c.why.clone(),
            customer: mask(&c.customer),
            preview,
            waited_ms: now.saturating_sub(c.queued_at.unwrap_or(c.opened_at)),
            deadline,
            timeout_ms: deadline.saturating_sub(now),
            because: because.to_string(),
            language_fallback: c.language_fallback,
        }
    }
}

/// Why a worker got an offer, for their console: the rule that chose them among how many
/// were eligible, their load, and whether the language wait ran out.
pub(super) fn offer_reason(
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
