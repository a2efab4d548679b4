//! Indexes the hot path reads instead of scanning every worker or conversation: the free
//! workers in longest-idle order (all of them, and per language), the disconnected workers by
//! when they left, and the open offers by deadline.
//!
//! Each entry's key is also kept on its worker ([`WorkerEntries`]) or conversation
//! (`indexed_deadline`), so that after any change the old entry can be taken out and the new
//! one put in: [`Dispatch::reindex_worker`] and [`Dispatch::reindex_offer`] compare what the
//! entries should be with what they are. `apply` calls them for every worker and conversation a
//! fact touched; [`Dispatch::check_indexes`] recomputes everything by a full scan for tests.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// A free worker's place in line: longest idle first, ties by id.
pub(super) type IdleKey = (Millis, WorkerId);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Indexes {
    /// Free workers: connected, available, no open offer, free capacity.
    pub(super) free: BTreeSet<IdleKey>,
    /// The same workers, per language they speak. A language no free worker speaks has no
    /// entry.
    pub(super) free_by_language: BTreeMap<Lang, BTreeSet<IdleKey>>,
    /// Disconnected workers whose grace period still has something to settle (conversations
    /// to requeue, or a status to set offline), by when they disconnected.
    pub(super) away: BTreeSet<(Millis, WorkerId)>,
    /// Those of `away` who own conversations: the end of their grace wakes the hub.
    pub(super) away_owning: BTreeSet<(Millis, WorkerId)>,
    /// Open offers by deadline.
    pub(super) offers: BTreeSet<(Millis, ConversationId)>,
    /// Conversations a person has or is about to have (queued, offered, assigned): what the
    /// wallboard lists each second, without a scan of every conversation the hub has seen.
    pub(super) live: BTreeSet<ConversationId>,
}

/// Where a worker is in [`Indexes`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct WorkerEntries {
    /// In `free` at this `idle_since`, and in `free_by_language` for these languages (sorted,
    /// without duplicates).
    pub(super) free: Option<(Millis, Vec<Lang>)>,
    /// In `away` since this disconnection; `true`: in `away_owning` too.
    pub(super) away: Option<(Millis, bool)>,
}

impl WorkerEntries {
    /// The entries a worker in this state should have.
    fn of(w: &Worker) -> WorkerEntries {
        let free = (w.connected
            && w.status == WorkerStatus::Available
            && w.offer.is_none()
            && w.free_capacity())
        .then(|| {
            let mut languages = w.info.languages.clone();
            languages.sort_unstable();
            languages.dedup();
            (w.idle_since, languages)
        });
        let owning = !w.owned.is_empty();
        let away = match w.disconnected_at {
            Some(at) if !w.connected && (owning || w.status != WorkerStatus::Offline) => {
                Some((at, owning))
            }
            _ => None,
        };
        WorkerEntries { free, away }
    }
}

impl Indexes {
    fn insert_worker(&mut self, id: &str, entries: &WorkerEntries) {
        if let Some((idle_since, languages)) = &entries.free {
            let key = (*idle_since, id.to_string());
            for language in languages {
                self.free_by_language
                    .entry(*language)
                    .or_default()
                    .insert(key.clone());
            }
            self.free.insert(key);
        }
        if let Some((at, owning)) = entries.away {
            if owning {
                self.away_owning.insert((at, id.to_string()));
            }
            self.away.insert((at, id.to_string()));
        }
    }

    fn remove_worker(&mut self, id: &str, entries: &WorkerEntries) {
        if let Some((idle_since, languages)) = &entries.free {
            self.remove_free(id, *idle_since, languages);
        }
        if let Some((at, owning)) = entries.away {
            let key = (at, id.to_string());
            if owning {
                self.away_owning.remove(&key);
            }
            self.away.remove(&key);
        }
    }

    /// Take a worker out of the free lists while matching: they are about to get an offer,
    /// which keeps them out once it is applied.
    pub(super) fn take_free(&mut self, w: &mut Worker) {
        if let Some((idle_since, languages)) = w.indexed.free.take() {
            self.remove_free(&w.info.id, idle_since, &languages);
        }
    }

    fn remove_free(&mut self, id: &str, idle_since: Millis, languages: &[Lang]) {
        let key = (idle_since, id.to_string());
        for language in languages {
            if let Some(set) = self.free_by_language.get_mut(language) {
                set.remove(&key);
                if set.is_empty() {
                    self.free_by_language.remove(language);
                }
            }
        }
        self.free.remove(&key);
    }
}

/// Who a queued conversation goes to among a pool of free workers.
pub(super) struct Pick {
    pub(super) worker: WorkerId,
    /// How many in the pool may take it (not passed on it, or passed but cooled down).
    pub(super) eligible: usize,
}

/// Among `pool` (free workers longest idle first; `language`: the pool speaks it, `None`: the
/// pool is every free worker), the worker a conversation goes to: the first who has not passed
/// on it, else the first who passed on it longer than `cooldown_ms` ago. The walk stops at the
/// first who has not passed, so it visits at most one worker more than the conversation has
/// passes; the eligible count is the pool's size minus those passes still cooling down.
pub(super) fn pick(
    pool: &BTreeSet<IdleKey>,
    language: Option<Lang>,
    c: &Conversation,
    workers: &BTreeMap<WorkerId, Worker>,
    now: Millis,
    cooldown_ms: u64,
) -> Option<Pick> {
    let cooled = |at: &Millis| at.saturating_add(cooldown_ms) <= now;
    let mut chosen = None;
    let mut first_cooled = None;
    for (_, id) in pool {
        match c.passed.get(id) {
            None => {
                chosen = Some(id);
                break;
            }
            Some(at) if cooled(at) => {
                first_cooled.get_or_insert(id);
            }
            Some(_) => {}
        }
    }
    let worker = chosen.or(first_cooled)?.clone();
    let in_pool = |id: &WorkerId| {
        workers
            .get(id)
            .and_then(|w| w.indexed.free.as_ref())
            .is_some_and(|(_, speaks)| language.is_none_or(|l| speaks.contains(&l)))
    };
    let cooling = c
        .passed
        .iter()
        .filter(|(id, at)| !cooled(at) && in_pool(id))
        .count();
    Some(Pick {
        worker,
        eligible: pool.len().saturating_sub(cooling),
    })
}

impl Dispatch {
    /// Bring a worker's index entries up to date with its state.
    pub(super) fn reindex_worker(&mut self, id: &str) {
        let Some(w) = self.workers.get_mut(id) else {
            return;
        };
        let entries = WorkerEntries::of(w);
        if w.indexed == entries {
            return;
        }
        self.indexes.remove_worker(id, &w.indexed);
        self.indexes.insert_worker(id, &entries);
        w.indexed = entries;
    }

    /// Bring a conversation's offer-deadline entry up to date.
    pub(super) fn reindex_offer(&mut self, id: &str) {
        let Some(c) = self.conversations.get_mut(id) else {
            return;
        };
        let deadline = c.offer.as_ref().map(|(_, d)| *d);
        if c.indexed_deadline == deadline {
            return;
        }
        if let Some(old) = c.indexed_deadline {
            self.indexes.offers.remove(&(old, id.to_string()));
        }
        if let Some(new) = deadline {
            self.indexes.offers.insert((new, id.to_string()));
        }
        c.indexed_deadline = deadline;
    }

    /// Keep conversation `id`'s place in `live` (after a fact about it).
    pub(super) fn reindex_live(&mut self, id: &str) {
        let live = self
            .conversations
            .get(id)
            .is_some_and(|c| c.open() && c.state != ConversationState::Bot);
        if live {
            if !self.indexes.live.contains(id) {
                self.indexes.live.insert(id.to_string());
            }
        } else {
            self.indexes.live.remove(id);
        }
    }

    /// Recompute every index by a full scan and compare with the kept ones. Returns a
    /// description of the first difference.
    pub(super) fn check_indexes(&self) -> Result<(), String> {
        if !self.touched.is_empty() {
            return Err(format!("workers left to reindex: {:?}", self.touched));
        }
        let mut expected = Indexes::default();
        for w in self.workers.values() {
            let id = &w.info.id;
            // The rules as dispatch, tick and next_deadline state them, written out again.
            if w.connected
                && w.status == WorkerStatus::Available
                && w.offer.is_none()
                && w.free_capacity()
            {
                let key = (w.idle_since, id.clone());
                for language in &w.info.languages {
                    expected
                        .free_by_language
                        .entry(*language)
                        .or_default()
                        .insert(key.clone());
                }
                expected.free.insert(key);
            }
            if !w.connected
                && let Some(at) = w.disconnected_at
            {
                if !w.owned.is_empty() || w.status != WorkerStatus::Offline {
                    expected.away.insert((at, id.clone()));
                }
                if !w.owned.is_empty() {
                    expected.away_owning.insert((at, id.clone()));
                }
            }
            if w.indexed != WorkerEntries::of(w) {
                return Err(format!(
                    "{id}: indexed as {:?}, should be {:?}",
                    w.indexed,
                    WorkerEntries::of(w)
                ));
            }
        }
        for c in self.conversations.values() {
            let deadline = c.offer.as_ref().map(|(_, d)| *d);
            if c.indexed_deadline != deadline {
                return Err(format!(
                    "{}: offer deadline indexed as {:?}, is {deadline:?}",
                    c.id, c.indexed_deadline
                ));
            }
            if let Some(d) = deadline {
                expected.offers.insert((d, c.id.clone()));
            }
            if c.open() && c.state != ConversationState::Bot {
                expected.live.insert(c.id.clone());
            }
        }
        if expected.free != self.indexes.free {
            return Err(format!(
                "free workers indexed {:?}, a scan finds {:?}",
                self.indexes.free, expected.free
            ));
        }
        if expected.free_by_language != self.indexes.free_by_language {
            return Err(format!(
                "free workers per language indexed {:?}, a scan finds {:?}",
                self.indexes.free_by_language, expected.free_by_language
            ));
        }
        if expected.away != self.indexes.away || expected.away_owning != self.indexes.away_owning {
            return Err(format!(
                "away workers indexed {:?} / {:?}, a scan finds {:?} / {:?}",
                self.indexes.away, self.indexes.away_owning, expected.away, expected.away_owning
            ));
        }
        if expected.offers != self.indexes.offers {
            return Err(format!(
                "offers indexed {:?}, a scan finds {:?}",
                self.indexes.offers, expected.offers
            ));
        }
        if expected.live != self.indexes.live {
            return Err(format!(
                "live conversations indexed {:?}, a scan finds {:?}",
                self.indexes.live, expected.live
            ));
        }
        Ok(())
    }
}
