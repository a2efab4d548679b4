//! Applying facts: the only place the dispatch state changes. `handle` records a fact and
//! applies it at once; replaying the log applies the same facts in the same order.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

impl Dispatch {
    // -----------------------------------------------------------------------------------------
    // Applying facts: the only place state changes
    // -----------------------------------------------------------------------------------------

    /// Apply one fact. Used by `handle` and by log replay. Then the fact's conversation and
    /// every worker it changed through `worker_mut` (which remembers them; every change the
    /// indexes depend on goes through it) are reindexed.
    pub fn apply(&mut self, fact: &Fact) {
        self.apply_to_state(fact);
        let at = fact.at();
        for worker in std::mem::take(&mut self.touched) {
            self.clock_after(&worker, at);
            self.reindex_worker(&worker);
        }
        if let Some(conversation) = fact.conversation() {
            self.reindex_offer(conversation);
            self.reindex_live(conversation);
        }
    }

    fn apply_to_state(&mut self, fact: &Fact) {
        match fact {
            Fact::WorkerConnected { worker, at } => {
                let w = self.worker_mut(worker);
                w.connected = true;
                w.disconnected_at = None;
                if w.idle_since == 0 {
                    w.idle_since = *at;
                }
                if w.status_since == 0 {
                    // Offline since we first saw them, not since 1970.
                    w.status_since = *at;
                }
            }
            Fact::WorkerDisconnected { worker, at } => {
                let w = self.worker_mut(worker);
                w.connected = false;
                w.disconnected_at = Some(*at);
                // A supervisor watches only while connected.
                for id in std::mem::take(&mut w.shadowing) {
                    if let Some(c) = self.conversations.get_mut(&id) {
                        c.shadowers.remove(worker);
                    }
                }
            }
            Fact::ShadowStarted {
                conversation,
                supervisor,
                ..
            } => {
                if let Some(c) = self.conversations.get_mut(conversation) {
                    c.shadowers.insert(supervisor.clone());
                }
                self.worker_mut(supervisor)
                    .shadowing
                    .insert(conversation.clone());
            }
            Fact::ShadowEnded {
                conversation,
                supervisor,
                ..
            } => {
                if let Some(c) = self.conversations.get_mut(conversation) {
                    c.shadowers.remove(supervisor);
                }
                self.worker_mut(supervisor).shadowing.remove(conversation);
            }
            Fact::StatusChanged { worker, status, at } => {
                let w = self.worker_mut(worker);
                if w.status == WorkerStatus::Offline && *status != WorkerStatus::Offline {
                    // A new shift starts: the summary counts this shift only.
                    w.stats = WorkerStats::default();
                }
                if *status == WorkerStatus::Available && w.status != WorkerStatus::Available {
                    w.idle_since = *at;
                }
                w.status = *status;
                w.status_since = *at;
            }
            Fact::ConversationOpened {
                conversation,
                customer,
                language,
                key,
                context,
                verified,
                at,
            } => {
                self.conversations.insert(
                    conversation.clone(),
                    Conversation {
                        id: conversation.clone(),
                        customer: customer.clone(),
                        key: key.clone(),
                        context: context.clone(),
                        verified: verified.clone(),
                        language: language.unwrap_or(Lang::En),
                        declared: language.is_some(),
                        detected: false,
                        language_fallback: false,
                        state: ConversationState::Bot,
                        priority: 0,
                        intent: String::new(),
                        why: String::new(),
                        opened_at: *at,
                        queued_at: None,
                        first_offer_at: None,
                        assigned_at: None,
                        owner: None,
                        offer: None,
                        passed: BTreeMap::new(),
                        messages: Transcript::default(),
                        bot_sources: BTreeMap::new(),
                        clarifying: None,
                        greeted: false,
                        thanked: false,
                        drafts: Vec::new(),
                        pending_draft: None,
                        shadowers: BTreeSet::new(),
                        indexed_deadline: None,
                    },
                );
            }
            Fact::CustomerSaid {
                conversation,
                text,
                at,
            } => {
                if let Some(c) = self.conversations.get_mut(conversation) {
                    c.push(Author::Customer, text.clone(), *at, None);
                }
            }
            Fact::LanguageDetected {
                conversation,
                language,
                ..
            } => {
                if let Some(c) = self.conversations.get_mut(conversation) {
                    c.language = *language;
                    c.detected = true;
                }
            }
            Fact::Triaged {
                conversation,
                decision,
                ..
            } => {
                if let Some(c) = self.conversations.get_mut(conversation) {
                    // A declared language follows triage's detection (hinted by it); an
                    // undeclared one only follows `LanguageDetected`.
                    if c.declared {
                        c.language = decision.language;
                    }
                    c.intent = decision.intent.clone();
                    c.greeted |= decision.reason == TriageReason::Greeted && !decision.to_human;
                    c.thanked |= decision.reason == TriageReason::Thanked && !decision.to_human;
                    c.clarifying = match &decision.reason {
                        TriageReason::Clarify { first, second } if !decision.to_human => {
                            Some((first.clone(), second.clone()))
                        }
                        _ => None,
                    };
                }
            }
            Fact::BotSaid {
                conversation,
                text,
                sources,
                at,
            } => {
                if let Some(c) = self.conversations.get_mut(conversation) {
                    let n = c.push(Author::Bot, text.clone(), *at, None);
                    if !sources.is_empty() {
                        c.bot_sources.insert(n, sources.clone());
                    }
                }
            }
            Fact::SystemSaid {
                conversation,
                text,
                at,
            } => {
                if let Some(c) = self.conversations.get_mut(conversation) {
                    c.push(Author::System, text.clone(), *at, None);
                }
            }
            Fact::Queued {
                conversation,
                priority,
                intent,
                why,
                language,
                at,
            } => {
                self.arrival(*language, *at);
                if let Some(c) = self.conversations.get_mut(conversation) {
                    c.state = ConversationState::Queued;
                    c.priority = *priority;
                    c.intent = intent.clone();
                    c.why = why.clone();
                    c.language = *language;
                    c.queued_at = Some(*at);
                    self.queue
                        .insert((std::cmp::Reverse(*priority), *at, conversation.clone()));
                }
            }
            Fact::Offered {
                conversation,
                worker,
                deadline,
                language_fallback,
                at,
            } => {
                self.unqueue(conversation);
                if let Some(c) = self.conversations.get_mut(conversation) {
                    c.state = ConversationState::Offered;
                    c.offer = Some((worker.clone(), *deadline));
                    c.language_fallback = *language_fallback;
                    c.first_offer_at.get_or_insert(*at);
                }
                self.worker_mut(worker).offer = Some(conversation.clone());
            }
            Fact::OfferDeclined {
                conversation,
                worker,
                at,
                ..
            } => {
                self.offer_back_to_queue(conversation, worker, *at);
                self.worker_mut(worker).stats.offers_declined += 1;
            }
            Fact::OfferExpired {
                conversation,
                worker,
                at,
            } => {
                self.offer_back_to_queue(conversation, worker, *at);
                self.worker_mut(worker).stats.offers_missed += 1;
            }
            Fact::OfferWithdrawn {
                conversation,
                worker,
                ..
            } => {
                // Not the worker's choice: no pass recorded, no count.
                let w = self.worker_mut(worker);
                if w.offer.as_deref() == Some(conversation.as_str()) {
                    w.offer = None;
                }
                self.requeue_state(conversation);
            }
            Fact::Assigned {
                conversation,
                worker,
                at,
            } => {
                let mut first = None;
                if let Some(c) = self.conversations.get_mut(conversation) {
                    c.state = ConversationState::Assigned;
                    c.offer = None;
                    c.owner = Some(worker.clone());
                    if c.assigned_at.is_none() {
                        // The first time a person took it: the wallboard's time to a person.
                        first = Some((c.language, at.saturating_sub(c.queued_at.unwrap_or(*at))));
                    }
                    c.assigned_at = Some(*at);
                }
                if let Some((language, waited)) = first {
                    self.record_time_to_human(language, *at, waited);
                }
                let w = self.worker_mut(worker);
                w.offer = None;
                w.owned.insert(conversation.clone());
                w.stats.offers_accepted += 1;
                w.idle_since = *at;
            }
            Fact::WorkerSaid {
                conversation,
                worker,
                text,
                at,
                ..
            } => {
                let name = self.worker_name(worker);
                if let Some(c) = self.conversations.get_mut(conversation) {
                    c.push(Author::Worker, text.clone(), *at, Some(name));
                    c.pending_draft = None;
                }
            }
            Fact::Noted {
                conversation,
                worker,
                text,
                at,
            } => {
                let name = self.worker_name(worker);
                if let Some(c) = self.conversations.get_mut(conversation) {
                    c.push(Author::Note, text.clone(), *at, Some(name));
                }
            }
            Fact::Whispered {
                conversation,
                supervisor,
                text,
                at,
            } => {
                let name = self.worker_name(supervisor);
                if let Some(c) = self.conversations.get_mut(conversation) {
                    c.push(Author::Whisper, text.clone(), *at, Some(name));
                }
            }
            Fact::Drafted {
                conversation,
                draft,
                attempt,
                ..
            } => {
                if let Some(c) = self.conversations.get_mut(conversation) {
                    c.drafts.push(DraftRecord {
                        draft: draft.clone(),
                        attempt: *attempt,
                        outcome: DraftOutcome::Pending,
                    });
                    c.pending_draft = Some(c.drafts.len() - 1);
                }
            }
            Fact::DraftSettled {
                conversation,
                draft,
                worker,
                outcome,
                ..
            } => {
                if let Some(c) = self.conversations.get_mut(conversation) {
                    if let Some(r) = c.drafts.iter_mut().find(|r| &r.draft.id == draft) {
                        r.outcome = *outcome;
                    }
                    c.pending_draft = None;
                }
                let stats = &mut self.worker_mut(worker).stats;
                match outcome {
                    DraftOutcome::Accepted => stats.drafts_accepted += 1,
                    DraftOutcome::Edited => stats.drafts_edited += 1,
                    DraftOutcome::Rejected => stats.drafts_rejected += 1,
                    DraftOutcome::Regenerated => stats.drafts_regenerated += 1,
                    DraftOutcome::Pending => {}
                }
            }
            Fact::Decided {
                worker, decision, ..
            } => {
                self.remember_decision(worker, decision);
                self.clock_decided(worker, decision.kind);
            }
            Fact::ShiftEnded { worker, shift, .. } => self.shift_ended(worker, shift),
            Fact::SlotBooked { worker, start, .. } => self.slot_booked(worker, *start, true),
            Fact::SlotReleased { worker, start, .. } => self.slot_booked(worker, *start, false),
            Fact::DraftEnded {
                conversation,
                draft,
                ..
            } => {
                if let Some(c) = self.conversations.get_mut(conversation)
                    && c.pending_draft
                        .and_then(|i| c.drafts.get(i))
                        .is_some_and(|r| &r.draft.id == draft)
                {
                    c.pending_draft = None;
                }
            }
            Fact::Resolved {
                conversation,
                worker,
                at,
            } => {
                let mut handle_ms = 0;
                if let Some(language) = self.conversations.get(conversation).map(|c| c.language) {
                    self.clock_handled(worker, language, *at);
                }
                if let Some(c) = self.conversations.get_mut(conversation) {
                    c.state = ConversationState::Resolved;
                    c.owner = None;
                    handle_ms = at.saturating_sub(c.assigned_at.unwrap_or(*at));
                    for s in std::mem::take(&mut c.shadowers) {
                        if let Some(w) = self.workers.get_mut(&s) {
                            w.shadowing.remove(conversation);
                        }
                    }
                }
                let w = self.worker_mut(worker);
                w.owned.remove(conversation);
                w.stats.handled += 1;
                w.stats.handle_ms_total = w.stats.handle_ms_total.saturating_add(handle_ms);
                w.idle_since = w.idle_since.max(*at);
            }
            Fact::Requeued {
                conversation,
                worker,
                why,
                at,
            } => {
                let w = self.worker_mut(worker);
                w.owned.remove(conversation);
                if let Some(c) = self.conversations.get_mut(conversation) {
                    c.owner = None;
                    c.why = why.clone();
                    c.passed.insert(worker.clone(), *at);
                }
                self.requeue_state(conversation);
            }
            Fact::Abandoned { conversation, .. } => {
                self.unqueue(conversation);
                let (owner, offer, shadowers) = match self.conversations.get_mut(conversation) {
                    Some(c) => {
                        c.state = ConversationState::Abandoned;
                        (
                            c.owner.take(),
                            c.offer.take(),
                            std::mem::take(&mut c.shadowers),
                        )
                    }
                    None => return,
                };
                if let Some(o) = owner {
                    self.worker_mut(&o).owned.remove(conversation);
                }
                if let Some((o, _)) = offer {
                    let w = self.worker_mut(&o);
                    if w.offer.as_deref() == Some(conversation.as_str()) {
                        w.offer = None;
                    }
                }
                for s in shadowers {
                    self.worker_mut(&s).shadowing.remove(conversation);
                }
            }
            Fact::TakenOver {
                conversation,
                supervisor,
                from,
                at,
            } => {
                self.unqueue(conversation);
                if let Some(from) = from {
                    self.worker_mut(from).owned.remove(conversation);
                }
                let mut first = None;
                if let Some(c) = self.conversations.get_mut(conversation) {
                    c.state = ConversationState::Assigned;
                    c.offer = None;
                    c.owner = Some(supervisor.clone());
                    // A supervisor chose to take it: not a dispatch fallback.
                    c.language_fallback = false;
                    if c.assigned_at.is_none() {
                        first = Some((c.language, at.saturating_sub(c.queued_at.unwrap_or(*at))));
                    }
                    c.assigned_at.get_or_insert(*at);
                    c.shadowers.remove(supervisor);
                }
                if let Some((language, waited)) = first {
                    self.record_time_to_human(language, *at, waited);
                }
                let w = self.worker_mut(supervisor);
                w.owned.insert(conversation.clone());
                w.shadowing.remove(conversation);
            }
            Fact::HandedBack {
                conversation,
                supervisor,
                worker,
                ..
            } => {
                self.worker_mut(supervisor).owned.remove(conversation);
                let speaks = self
                    .workers
                    .get(worker)
                    .map(|w| w.info.languages.clone())
                    .unwrap_or_default();
                if let Some(c) = self.conversations.get_mut(conversation) {
                    c.owner = Some(worker.clone());
                    c.state = ConversationState::Assigned;
                    c.language_fallback = !speaks.contains(&c.language);
                }
                self.worker_mut(worker).owned.insert(conversation.clone());
            }
        }
    }

    /// The worker a fact changes, remembered for reindexing at the end of `apply`.
    fn worker_mut(&mut self, id: &str) -> &mut Worker {
        self.touched.push(id.to_string());
        self.workers.entry(id.to_string()).or_insert_with(|| {
            // A fact about a worker we have no profile for (deleted token): keep a stub so
            // the log still replays.
            Worker::new(WorkerInfo {
                id: id.to_string(),
                name: id.to_string(),
                role: Role::Worker,
                languages: Vec::new(),
                skills: Vec::new(),
                capacity: 1,
            })
        })
    }

    fn unqueue(&mut self, id: &str) {
        if let Some(c) = self.conversations.get(id)
            && let Some(at) = c.queued_at
        {
            self.queue
                .remove(&(std::cmp::Reverse(c.priority), at, id.to_string()));
        }
    }

    fn offer_back_to_queue(&mut self, id: &str, worker: &str, at: Millis) {
        let w = self.worker_mut(worker);
        if w.offer.as_deref() == Some(id) {
            w.offer = None;
        }
        if let Some(c) = self.conversations.get_mut(id) {
            c.passed.insert(worker.to_string(), at);
        }
        self.requeue_state(id);
    }

    /// Back to `queued`, keeping the original waiting time so it is not sent to the back.
    fn requeue_state(&mut self, id: &str) {
        let Some(c) = self.conversations.get_mut(id) else {
            return;
        };
        if !c.open() {
            return;
        }
        c.state = ConversationState::Queued;
        c.offer = None;
        c.owner = None;
        c.language_fallback = false;
        let at = *c.queued_at.get_or_insert(c.opened_at);
        self.queue
            .insert((std::cmp::Reverse(c.priority), at, id.to_string()));
    }

    /// Keep the wait of a conversation that a person just took, for the wallboard's "today".
    fn record_time_to_human(&mut self, language: Lang, at: Millis, waited: u64) {
        let samples = self.time_to_human.entry(language).or_default();
        // Older than two days can never be "today" again.
        samples.retain(|(when, _)| when.saturating_add(2 * DAY_MS) > at);
        samples.push((at, waited));
    }
}
