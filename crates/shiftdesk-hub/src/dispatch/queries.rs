//! Read-only views of the dispatch state for the shell: conversation views, the login snapshot,
//! the wallboard, timers, and the invariants the property tests check.

use std::collections::BTreeMap;

use super::*;

impl Dispatch {
    // -----------------------------------------------------------------------------------------
    // Queries for the shell
    // -----------------------------------------------------------------------------------------

    pub fn conversation_state(&self, id: &str) -> Option<ConversationState> {
        self.conversations.get(id).map(|c| c.state)
    }

    pub fn conversation_key(&self, id: &str) -> Option<String> {
        self.conversations.get(id).map(|c| c.key.clone())
    }

    /// The conversation as its customer sees it, for a transcript snapshot: their own lines
    /// unmasked, no notes or whispers, no worker names on worker lines; and how it ended, if
    /// it has.
    pub fn customer_transcript(
        &self,
        id: &str,
    ) -> Option<(Vec<shiftdesk_protocol::CustomerLine>, Option<String>)> {
        let c = self.conversations.get(id)?;
        let lines = c
            .messages
            .iter()
            .filter(|m| {
                matches!(
                    m.from,
                    Author::Customer | Author::Bot | Author::Worker | Author::System
                )
            })
            .map(|m| shiftdesk_protocol::CustomerLine {
                from: m.from,
                text: m.text.clone(),
                at: m.at,
                name: (m.from == Author::Worker).then(|| m.by.clone()).flatten(),
            })
            .collect();
        let closed = match c.state {
            ConversationState::Resolved => Some("resolved".to_string()),
            ConversationState::Abandoned => Some("abandoned".to_string()),
            _ => None,
        };
        Some((lines, closed))
    }

    /// The conversation's language as far as it is known: declared, or detected from the
    /// customer's messages. `None` for an undeclared conversation nothing was detected in yet
    /// (so triage detects without an English prior), and for an unknown conversation.
    pub fn conversation_language(&self, id: &str) -> Option<Lang> {
        self.conversations
            .get(id)
            .filter(|c| c.declared || c.detected)
            .map(|c| c.language)
    }

    /// Whether the customer declared the conversation's language (`None`: unknown conversation).
    pub fn language_declared(&self, id: &str) -> Option<bool> {
        self.conversations.get(id).map(|c| c.declared)
    }

    pub fn worker_status(&self, id: &str) -> Option<WorkerStatus> {
        self.workers.get(id).map(|w| w.status)
    }

    pub fn worker_info(&self, id: &str) -> Option<&WorkerInfo> {
        self.workers.get(id).map(|w| &w.info)
    }

    /// A worker's figures for this shift, with the earnings so far when there is a rate card.
    pub fn worker_stats(&self, id: &str) -> Option<WorkerStats> {
        self.workers.get(id).map(|w| WorkerStats {
            earnings: self.earnings_now(id),
            ..w.stats.clone()
        })
    }

    /// Owner of a conversation, if assigned.
    pub fn owner(&self, id: &str) -> Option<&str> {
        self.conversations.get(id).and_then(|c| c.owner.as_deref())
    }

    /// The conversations a worker owns.
    /// Who should see a draft being written for message `for_message`: the owner and the
    /// shadowers, while the conversation is open and that message is still the newest one.
    pub fn draft_watchers(&self, id: &str, for_message: u32) -> Vec<WorkerId> {
        match self.conversations.get(id) {
            Some(c)
                if c.open()
                    && c.last_customer_message().map(|m| m.n) == Some(for_message)
                    && !c.answered_after(for_message) =>
            {
                c.owner.iter().chain(c.shadowers.iter()).cloned().collect()
            }
            _ => Vec::new(),
        }
    }

    pub fn owned_by(&self, worker: &str) -> Vec<ConversationId> {
        self.workers
            .get(worker)
            .map(|w| w.owned.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Place in the queue (1 = next), if queued.
    pub fn queue_position(&self, id: &str) -> Option<u32> {
        self.queue
            .iter()
            .position(|(_, _, c)| c == id)
            .map(|p| p as u32 + 1)
    }

    /// What a queued customer is told: their place, today's typical wait for a person in their
    /// language (the median; none before anyone was answered today), and how many workers who
    /// speak it are on shift (available, connected or within their grace).
    pub fn queued_event(&self, id: &str, now: Millis) -> CustomerEvent {
        let position = self.queue_position(id).unwrap_or(1);
        let language = self.conversations.get(id).map_or(Lang::En, |c| c.language);
        let (typical, _) = percentiles_today(self.time_to_human.get(&language), now);
        let on_shift = self
            .workers
            .values()
            .filter(|w| w.status == WorkerStatus::Available && w.info.languages.contains(&language))
            .count();
        CustomerEvent::Queued {
            position,
            expected_wait_ms: typical,
            on_shift: Some(on_shift as u32),
        }
    }

    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// How many conversations the core holds.
    pub fn conversation_count(&self) -> usize {
        self.conversations.len()
    }

    /// Every conversation id, in order.
    pub fn conversation_ids(&self) -> Vec<ConversationId> {
        let mut ids: Vec<ConversationId> = self.conversations.keys().cloned().collect();
        ids.sort_unstable();
        ids
    }

    /// The earliest moment something times out, so the shell knows when to send `Tick`.
    pub fn next_deadline(&self) -> Option<Millis> {
        // The earliest offer deadline, and the earliest end of grace of a disconnected worker
        // who owns conversations: both the first entry of an index.
        let offers = self.indexes.offers.first().map(|(deadline, _)| *deadline);
        let graces = self
            .indexes
            .away_owning
            .first()
            .map(|(at, _)| at.saturating_add(self.config.grace_ms));
        // A conversation that only passed workers could take becomes offerable again. A cooldown
        // already over is not reported again (that would wake the hub in a loop while the
        // conversation waits): matching runs on every event that frees a worker anyway.
        let cooldowns = self.queue.iter().filter_map(|(_, _, id)| {
            self.conversations.get(id).and_then(|c| {
                c.passed
                    .values()
                    .map(|at| at.saturating_add(self.config.offer_timeout_ms))
                    .filter(|end| *end > self.now)
                    .min()
            })
        });
        // A conversation waiting for a speaker of its language may go to anyone after the
        // language wait. Deadlines already handled are not reported again: once the wait is
        // over, any event that frees a worker re-runs matching by itself.
        let language_waits = self.queue.iter().filter_map(|(_, queued_at, _)| {
            let at = queued_at.saturating_add(self.config.language_wait_ms);
            (at > self.now).then_some(at)
        });
        offers
            .into_iter()
            .chain(graces)
            .chain(cooldowns)
            .chain(language_waits)
            .chain(self.next_slot_end())
            .min()
    }

    /// What a worker's console needs after logging in without resume.
    pub fn snapshot_for(&self, worker: &str, now: Millis) -> Vec<WorkerEvent> {
        let Some(w) = self.workers.get(worker) else {
            return Vec::new();
        };
        let mut events = vec![WorkerEvent::Status {
            status: w.status,
            since: w.status_since,
            stats: w.stats.clone(),
        }];
        for id in w.owned.iter().chain(w.shadowing.iter()) {
            if let Some(c) = self.conversations.get(id) {
                events.push(WorkerEvent::Conversation {
                    conversation: self.view(c),
                });
            }
        }
        if let Some(id) = &w.offer
            && let Some(c) = self.conversations.get(id)
            && let Some((_, deadline)) = &c.offer
        {
            events.push(self.offer_event(c, *deadline, now, "offered before you reconnected"));
        }
        events
    }

    /// What was said in a conversation, unmasked (for the operator's export).
    pub fn transcript(&self, id: &str) -> Option<Vec<Message>> {
        let c = self.conversations.get(id)?;
        Some(c.messages.iter().cloned().collect())
    }

    /// The name the customer gave, unmasked.
    pub fn customer_name(&self, id: &str) -> Option<&str> {
        self.conversations.get(id).map(|c| c.customer.as_str())
    }

    /// The full view of one conversation as workers see it (customer text masked).
    pub fn conversation_view(&self, id: &str) -> Option<ConversationView> {
        self.conversations.get(id).map(|c| self.view(c))
    }

    /// The supervisor wallboard.
    pub fn wallboard(&self, now: Millis) -> Wallboard {
        let workers = self
            .workers
            .values()
            .map(|w| WallboardWorker {
                id: w.info.id.clone(),
                name: w.info.name.clone(),
                role: w.info.role,
                status: w.status,
                connected: w.connected,
                since: w.status_since,
                open: w.owned.len() as u32,
                capacity: w.info.capacity,
                stats: w.stats.clone(),
            })
            .collect();
        // In the order PROTOCOL.md 5.4 gives: the six built in (en, it, de, nl, sv, ru), then
        // the operator's by code; not sorted by code altogether.
        let mut queues: Vec<WallboardQueue> = crate::languages::served()
            .into_iter()
            .map(|language| {
                let (p50, p90) = percentiles_today(self.time_to_human.get(&language), now);
                WallboardQueue {
                    language,
                    depth: 0,
                    longest_wait_ms: 0,
                    time_to_human_p50_ms: p50,
                    time_to_human_p90_ms: p90,
                }
            })
            .collect();
        let row: BTreeMap<Lang, usize> = queues
            .iter()
            .enumerate()
            .map(|(i, q)| (q.language, i))
            .collect();
        for (_, queued_at, id) in &self.queue {
            if let Some(c) = self.conversations.get(id)
                && let Some(q) = row.get(&c.language).and_then(|i| queues.get_mut(*i))
            {
                q.depth += 1;
                q.longest_wait_ms = q.longest_wait_ms.max(now.saturating_sub(*queued_at));
            }
        }
        // From the index (in id order), not a scan of every conversation ever seen: this runs
        // every second while a supervisor watches.
        let live: Vec<LiveConversation> = self
            .indexes
            .live
            .iter()
            .filter_map(|id| self.conversations.get(id))
            .map(|c| LiveConversation {
                id: c.id.clone(),
                state: c.state,
                language: c.language,
                owner: c
                    .owner
                    .as_ref()
                    .and_then(|o| self.workers.get(o))
                    .map(|w| w.info.name.clone()),
                intent: c.intent.clone(),
                waiting_ms: now.saturating_sub(c.queued_at.unwrap_or(c.opened_at)),
            })
            .collect();
        Wallboard {
            at: now,
            workers,
            queues,
            live,
            slots: self.slot_loads(now, 4),
        }
    }

    /// Check the invariants the property tests rely on, including that the indexes of free
    /// workers, disconnected workers and offers match a full scan. Returns a description of
    /// the first broken one.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.check_indexes()?;
        for c in self.conversations.values() {
            let owners: Vec<&WorkerId> = self
                .workers
                .values()
                .filter(|w| w.owned.contains(&c.id))
                .map(|w| &w.info.id)
                .collect();
            match (&c.owner, owners.as_slice()) {
                (None, []) => {}
                (Some(o), [w]) if o == *w => {}
                _ => {
                    return Err(format!(
                        "{}: owner {:?} but held by {owners:?}",
                        c.id, c.owner
                    ));
                }
            }
            if c.owner.is_some() != (c.state == ConversationState::Assigned) {
                return Err(format!(
                    "{}: state {:?} with owner {:?}",
                    c.id, c.state, c.owner
                ));
            }
            if c.offer.is_some() != (c.state == ConversationState::Offered) {
                return Err(format!(
                    "{}: state {:?} with offer {:?}",
                    c.id, c.state, c.offer
                ));
            }
            let queued = self.queue.iter().any(|(_, _, id)| id == &c.id);
            if queued != (c.state == ConversationState::Queued) {
                return Err(format!("{}: state {:?}, in queue: {queued}", c.id, c.state));
            }
            if let Some((w, _)) = &c.offer {
                let worker = self
                    .workers
                    .get(w)
                    .ok_or_else(|| format!("{}: offered to unknown {w}", c.id))?;
                if worker.offer.as_deref() != Some(c.id.as_str()) {
                    return Err(format!("{}: offer to {w} not on the worker", c.id));
                }
                if !worker.info.languages.contains(&c.language) && !c.language_fallback {
                    return Err(format!("{}: offered to {w} who does not speak it", c.id));
                }
            }
        }
        for w in self.workers.values() {
            if w.owned.len() as u32 > w.info.capacity.max(1) && w.info.role == Role::Worker {
                return Err(format!("{} over capacity", w.info.id));
            }
        }
        Ok(())
    }
}

/// p50 and p90 of the waits recorded since midnight (UTC) of `now`'s day.
fn percentiles_today(
    samples: Option<&Vec<(Millis, u64)>>,
    now: Millis,
) -> (Option<u64>, Option<u64>) {
    let midnight = now - now % DAY_MS;
    let mut today: Vec<u64> = samples
        .into_iter()
        .flatten()
        .filter(|(at, _)| *at >= midnight)
        .map(|(_, waited)| *waited)
        .collect();
    if today.is_empty() {
        return (None, None);
    }
    today.sort_unstable();
    let at = |q: f64| today[((today.len() - 1) as f64 * q).round() as usize];
    (Some(at(0.5)), Some(at(0.9)))
}
