//! The dispatch core rebuilt from the log: at start, and while a standby hub waits to take a
//! shared store over (it follows the log a few times a second, so taking over costs only what
//! the last writer wrote since).

use std::sync::Arc;

use crate::dispatch::{Dispatch, DispatchConfig};
use crate::store::{EventStore, StoreError};
use crate::triage::Triage;
use shiftdesk_protocol::Millis;

/// How far before the newest account read a follower looks again for accounts added since:
/// the clocks of the machines that add them (`admin add-worker`) may disagree by this much.
const WORKER_CLOCK_SKEW_MS: Millis = 10 * 60_000;

/// The dispatch core rebuilt from the log, and how far it has read.
pub(super) struct Replay {
    pub(super) dispatch: Dispatch,
    /// The number of the last fact applied (0: none).
    position: i64,
    /// How many facts were applied.
    pub(super) facts: usize,
    /// The store's count of accounts and the newest one's `created_at` when they were last read
    /// (`None`: not yet).
    accounts: Option<(u64, Millis)>,
}

impl Replay {
    pub(super) fn new(config: DispatchConfig, triage: Arc<dyn Triage>) -> Replay {
        Replay {
            dispatch: Dispatch::new(config, triage),
            position: 0,
            facts: 0,
            accounts: None,
        }
    }

    /// Apply the facts appended since the last call. The accounts first: a worker added since
    /// (`admin add-worker`) must be known before the facts about them. Every account the first
    /// time; then, only when the store's count of accounts or its newest one changed, those
    /// added since (a standby follows the log a few times a second, and a store may hold tens
    /// of thousands of accounts).
    pub(super) fn catch_up(&mut self, store: &dyn EventStore) -> Result<(), StoreError> {
        let facts = store.load_after(self.position)?;
        if facts.is_empty() && self.position > 0 {
            return Ok(());
        }
        // One row tells whether any account was added since the last read.
        let accounts = store.workers_summary()?;
        let added = match self.accounts {
            Some(read) if read == accounts => Vec::new(),
            None => store.workers()?,
            Some((_, newest)) => {
                store.workers_added_since(newest.saturating_sub(WORKER_CLOCK_SKEW_MS))?
            }
        };
        self.accounts = Some(accounts);
        for w in added {
            if self.dispatch.worker_info(&w.info.id).is_none() {
                self.dispatch.upsert_worker(w.info);
            }
        }
        for (seq, fact) in &facts {
            self.dispatch.apply(fact);
            self.position = *seq;
        }
        self.facts += facts.len();
        Ok(())
    }
}
