//! What supervisors do to a live conversation: shadow it (see it as the owner does), whisper
//! to its owner, take it over and hand it back. Shadowing is recorded like everything else, so
//! a hub that restarts knows who was watching.

use super::*;

impl Dispatch {
    pub(super) fn shadow(
        &mut self,
        worker: &str,
        id: ConversationId,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let c = self.conversation(&id)?;
        if !c.open() {
            return Err(Refusal::new(
                ErrorCode::Conflict,
                format!("`{id}` has ended"),
            ));
        }
        self.record(
            Fact::ShadowStarted {
                conversation: id.clone(),
                supervisor: worker.to_string(),
                at: now,
            },
            out,
        );
        self.send_conversation(worker, &id, out);
        self.send_shadowers(&id, out);
        Ok(())
    }

    pub(super) fn unshadow(
        &mut self,
        worker: &str,
        id: ConversationId,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let c = self.conversation(&id)?;
        if !c.shadowers.contains(worker) {
            return Ok(());
        }
        self.record(
            Fact::ShadowEnded {
                conversation: id.clone(),
                supervisor: worker.to_string(),
                at: now,
            },
            out,
        );
        self.send_shadowers(&id, out);
        Ok(())
    }

    /// Every shadow of `worker` ends (their connection was replaced): each is recorded, and
    /// the owner and the other shadowers get the new list.
    pub(super) fn end_shadows(&mut self, worker: &str, now: Millis, out: &mut Vec<Effect>) {
        let shadowing: Vec<ConversationId> = self
            .workers
            .get(worker)
            .map(|w| w.shadowing.iter().cloned().collect())
            .unwrap_or_default();
        for id in shadowing {
            self.record(
                Fact::ShadowEnded {
                    conversation: id.clone(),
                    supervisor: worker.to_string(),
                    at: now,
                },
                out,
            );
            self.send_shadowers(&id, out);
        }
    }

    pub(super) fn whisper(
        &mut self,
        worker: &str,
        id: ConversationId,
        text: String,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let c = self.conversation(&id)?;
        if c.owner.is_none() {
            return Err(Refusal::new(
                ErrorCode::Conflict,
                format!("nobody owns `{id}` to whisper to"),
            ));
        }
        self.record(
            Fact::Whispered {
                conversation: id.clone(),
                supervisor: worker.to_string(),
                text,
                at: now,
            },
            out,
        );
        self.send_last_line(&id, out);
        Ok(())
    }

    pub(super) fn take_over(
        &mut self,
        worker: &str,
        id: ConversationId,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let c = self.conversation(&id)?;
        if !c.open() || c.state == ConversationState::Bot {
            return Err(Refusal::new(
                ErrorCode::Conflict,
                format!("`{id}` is not with a person"),
            ));
        }
        if c.owner.as_deref() == Some(worker) {
            return Err(Refusal::new(ErrorCode::Conflict, "you already own it"));
        }
        let from = c.owner.clone();
        if let Some((offered, _)) = c.offer.clone() {
            self.record(
                Fact::OfferWithdrawn {
                    conversation: id.clone(),
                    worker: offered.clone(),
                    reason: "taken".into(),
                    at: now,
                },
                out,
            );
            out.push(Effect::ToWorker {
                worker: offered.clone(),
                event: WorkerEvent::OfferWithdrawn {
                    conversation: id.clone(),
                    reason: "taken".into(),
                },
            });
            self.send_status(&offered, out);
        }
        if let Some(from) = &from {
            out.push(Effect::ToWorker {
                worker: from.clone(),
                event: WorkerEvent::Closed {
                    conversation: id.clone(),
                    reason: format!("taken over by {}", self.worker_name(worker)),
                },
            });
        }
        self.record(
            Fact::TakenOver {
                conversation: id.clone(),
                supervisor: worker.to_string(),
                from: from.clone(),
                at: now,
            },
            out,
        );
        self.send_conversation(worker, &id, out);
        self.refresh_shadowers(&id, out);
        if let Some(from) = &from {
            self.after_release(from, now, out);
        }
        Ok(())
    }

    pub(super) fn hand_back(
        &mut self,
        worker: &str,
        id: ConversationId,
        to: WorkerId,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        self.owned_conversation(worker, &id)?;
        let Some(target) = self.workers.get(&to) else {
            return Err(Refusal::new(
                ErrorCode::Conflict,
                format!("no worker `{to}`"),
            ));
        };
        if !target.connected {
            return Err(Refusal::new(
                ErrorCode::Conflict,
                format!("`{to}` is not connected"),
            ));
        }
        if !target.free_capacity() {
            return Err(Refusal::new(
                ErrorCode::Conflict,
                format!("`{to}` has no free capacity"),
            ));
        }
        self.record(
            Fact::HandedBack {
                conversation: id.clone(),
                supervisor: worker.to_string(),
                worker: to.clone(),
                at: now,
            },
            out,
        );
        out.push(Effect::ToWorker {
            worker: worker.to_string(),
            event: WorkerEvent::Closed {
                conversation: id.clone(),
                reason: format!("handed back to {}", self.worker_name(&to)),
            },
        });
        self.send_conversation(&to, &id, out);
        self.refresh_shadowers(&id, out);
        self.send_status(&to, out);
        Ok(())
    }
}
