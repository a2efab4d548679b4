//! The commands a worker's console sends: status, offers, replies, drafts, notes, resolving
//! and transferring. Each checks what it may do, records facts and says who must hear of it;
//! a refusal changes nothing. The supervisor's commands are in [`super::supervision`].

use super::*;

impl Dispatch {
    /// Run one command of a logged-in worker or supervisor.
    pub(super) fn command(
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
            Command::SetStatus(status) => {
                self.set_status(worker, status, now, out);
                Ok(())
            }
            Command::AcceptOffer(id) => self.accept_offer(worker, id, now, out),
            Command::DeclineOffer(id, reason) => self.decline_offer(worker, id, reason, now, out),
            Command::Reply(id, text) => self.reply(worker, id, text, now, out),
            Command::Draft(id, draft, action) => {
                self.settle_draft(worker, id, draft, action, now, out)
            }
            Command::Note(id, text) => self.note(worker, id, text, now, out),
            Command::Resolve(id) => self.resolve(worker, id, now, out),
            Command::Transfer(id, reason) => self.transfer(worker, id, reason, now, out),
            Command::Shadow(id) => self.shadow(worker, id, now, out),
            Command::Unshadow(id) => self.unshadow(worker, id, now, out),
            Command::Whisper(id, text) => self.whisper(worker, id, text, now, out),
            Command::TakeOver(id) => self.take_over(worker, id, now, out),
            Command::HandBack(id, to) => self.hand_back(worker, id, to, now, out),
            Command::BookSlot(start) => self.book_slot(worker, start, now, out),
            Command::ReleaseSlot(start) => self.release_slot(worker, start, now, out),
        }
    }

    /// The conversation's offer is open to `worker`, or the command is refused.
    fn offered_to(&self, worker: &str, id: &str) -> Result<(), Refusal> {
        match &self.conversation(id)?.offer {
            Some((w, _)) if w == worker => Ok(()),
            _ => Err(Refusal::new(
                ErrorCode::Conflict,
                format!("the offer for `{id}` is no longer open to you"),
            )),
        }
    }

    pub(super) fn accept_offer(
        &mut self,
        worker: &str,
        id: ConversationId,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        self.offered_to(worker, &id)?;
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
        self.system_line(&id, text, Some(name), now, out);
        self.send_status(worker, out);
        Ok(())
    }

    pub(super) fn decline_offer(
        &mut self,
        worker: &str,
        id: ConversationId,
        reason: Option<String>,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        self.offered_to(worker, &id)?;
        self.record(
            Fact::OfferDeclined {
                conversation: id.clone(),
                worker: worker.to_string(),
                reason,
                at: now,
            },
            out,
        );
        self.decide_passed(worker, &id, false, now, out);
        out.push(Effect::ToWorker {
            worker: worker.to_string(),
            event: WorkerEvent::OfferWithdrawn {
                conversation: id,
                reason: "declined".into(),
            },
        });
        self.send_status(worker, out);
        Ok(())
    }

    pub(super) fn reply(
        &mut self,
        worker: &str,
        id: ConversationId,
        text: String,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        self.owned_conversation(worker, &id)?;
        self.worker_line(worker, &id, text, None, now, out);
        Ok(())
    }

    pub(super) fn settle_draft(
        &mut self,
        worker: &str,
        id: ConversationId,
        draft_id: String,
        action: DraftAction,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let c = self.owned_conversation(worker, &id)?;
        let current = c.pending_draft.and_then(|i| c.drafts.get(i));
        if current.is_none_or(|r| r.draft.id != draft_id)
            && let Some(stale) = c.drafts.iter().rev().find(|r| r.draft.id == draft_id)
            && stale.outcome == DraftOutcome::Pending
            && c.answered_after(stale.draft.for_message)
        {
            return Err(Refusal::new(
                ErrorCode::StaleDraft,
                format!(
                    "draft `{draft_id}` answers message {} of `{id}`, which has had a reply since; \
                     it was not sent",
                    stale.draft.for_message
                ),
            ));
        }
        let Some(record) = current else {
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
        Ok(())
    }

    pub(super) fn note(
        &mut self,
        worker: &str,
        id: ConversationId,
        text: String,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
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
        Ok(())
    }

    pub(super) fn resolve(
        &mut self,
        worker: &str,
        id: ConversationId,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        self.owned_conversation(worker, &id)?;
        let language = self.conversations.get(&id).map(|c| c.language);
        let notice = notices::resolved(language.unwrap_or(Lang::En));
        self.system_line(&id, notice, None, now, out);
        self.end_for_everyone(&id, "resolved", out);
        self.end_pending_draft(&id, DraftEnd::Abandoned, now, out);
        self.record(
            Fact::Resolved {
                conversation: id,
                worker: worker.to_string(),
                at: now,
            },
            out,
        );
        self.after_release(worker, now, out);
        Ok(())
    }

    pub(super) fn transfer(
        &mut self,
        worker: &str,
        id: ConversationId,
        reason: Option<String>,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        self.owned_conversation(worker, &id)?;
        let why = match reason {
            Some(r) => format!("transferred by {}: {r}", self.worker_name(worker)),
            None => format!("transferred by {}", self.worker_name(worker)),
        };
        self.requeue(&id, worker, why, "transferred", now, out);
        self.send_queued(&id, now, out);
        self.after_release(worker, now, out);
        Ok(())
    }

    pub(super) fn set_status(
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
        let was_on_shift = w.status == WorkerStatus::Available;
        if status != WorkerStatus::Available
            && let Some(id) = w.offer.clone()
        {
            self.withdraw_offer(&id, "status", now, out);
        }
        // Their customers hear `queued` once the status has changed (in `staffing_changed`),
        // so that its `on_shift` no longer counts this worker.
        let mut requeued = Vec::new();
        if status == WorkerStatus::Offline {
            for id in owned.iter() {
                let why = format!("{} went offline", self.worker_name(worker));
                self.requeue(id, worker, why, "you went offline", now, out);
                requeued.push(id.clone());
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
        self.staffing_changed(worker, was_on_shift, requeued, now, out);
    }

    /// A worker's status changed (recorded already): the customers whose conversations they
    /// just put back in the queue (`requeued`) are told `queued`; and where the change makes
    /// someone, or no one, on shift for a language, so are the other customers waiting in it
    /// (`queued` again, with `on_shift`), so a page that said "nobody is on shift" does not
    /// keep saying it. Each conversation hears one `queued`, counted after the change.
    pub(super) fn staffing_changed(
        &mut self,
        worker: &str,
        was_on_shift: bool,
        requeued: Vec<ConversationId>,
        now: Millis,
        out: &mut Vec<Effect>,
    ) {
        let mut told: BTreeSet<ConversationId> = requeued.iter().cloned().collect();
        let mut tell = requeued;
        let (on_shift, languages) = self
            .workers
            .get(worker)
            .map_or((was_on_shift, &[][..]), |w| {
                (w.status == WorkerStatus::Available, &w.info.languages[..])
            });
        // Nobody waiting (the usual case when many workers log in at once): nobody else to
        // tell.
        let staffing =
            on_shift != was_on_shift && !(self.queue.is_empty() && self.indexes.offers.is_empty());
        for language in languages.iter().filter(|_| staffing) {
            // Only "none", "one" or "more" matters: stop counting at two.
            let speakers = self
                .workers
                .values()
                .filter(|o| {
                    o.status == WorkerStatus::Available && o.info.languages.contains(language)
                })
                .take(2)
                .count();
            // Someone now (the first), or no one now (the last left).
            if speakers != usize::from(on_shift) {
                continue;
            }
            // Waiting for a person: queued, or offered to someone who has not answered yet
            // (from the queue and the offers' index: not a scan of every conversation ever).
            let waiting = self
                .queue
                .iter()
                .map(|(_, _, id)| id)
                .chain(self.indexes.offers.iter().map(|(_, id)| id))
                .filter(|id| {
                    self.conversations
                        .get(*id)
                        .is_some_and(|c| c.language == *language)
                });
            for id in waiting {
                if told.insert(id.clone()) {
                    tell.push(id.clone());
                }
            }
        }
        for id in tell {
            self.send_queued(&id, now, out);
        }
    }

    /// Tell a waiting customer where they stand (`queued`), as things are now.
    pub(super) fn send_queued(&self, id: &str, now: Millis, out: &mut Vec<Effect>) {
        out.push(Effect::ToCustomer {
            conversation: id.to_string(),
            event: self.queued_event(id, now),
        });
    }
}
