//! Which command ids the log may already hold.
//!
//! Every command a client sends is checked against the log, so a retry gets the first answer
//! (PROTOCOL.md §3.2). Almost every command is new, and asking SQLite about each one cost the
//! engine an index search on a read connection whose page cache every commit empties: a few
//! `pread`s per command. [`SeenCommands`] is a Bloom filter over every (principal, id) in the
//! log and in the batches not yet stored. It can say "maybe" of an id it never saw (fewer than
//! two in ten thousand), never "no" of one it did, so the engine asks the store only on a
//! "maybe": retries, and the rare false positive.
//!
//! The filter grows without rereading the log: when one filter is full, the next one added is
//! twice as large, with half the false positive rate (a scalable Bloom filter, so that the
//! rate of all of them together stays under twice the first's), and a lookup asks each of them.
//! They share one hasher: an id is hashed once, not once per filter.

use std::hash::BuildHasher;

use fastbloom::BloomFilter;
use foldhash::fast::RandomState;

use super::store::{CommandLedger, StoreError};

/// Room in the first filter: a hub with a short log starts with about 150 KiB.
const FIRST_CAPACITY: usize = 64 * 1024;
/// The first filter's false positive rate; each later one's is half its predecessor's. (With
/// one in a thousand for every filter, a hub with a few million ids in six filters looked up
/// about one new command in 170, each a scan of the log's unindexed tail: 5% of the engine's
/// time at 25,000 lines/s.)
const FALSE_POSITIVES: f64 = 0.0001;

pub struct SeenCommands {
    /// `None` when the store cannot list its commands: then every id "may" have been seen.
    filters: Option<Vec<Filter>>,
    hasher: RandomState,
}

struct Filter {
    bloom: BloomFilter<RandomState>,
    capacity: usize,
    items: usize,
}

impl Filter {
    /// The filter after `before` others.
    fn new(before: usize, hasher: &RandomState) -> Filter {
        let doublings = before.min(32);
        let capacity = FIRST_CAPACITY << doublings;
        Filter {
            bloom: BloomFilter::with_false_pos(FALSE_POSITIVES / (1u64 << doublings) as f64)
                .hasher(hasher.clone())
                .expected_items(capacity),
            capacity,
            items: 0,
        }
    }
}

impl SeenCommands {
    /// A filter over every command in `store`'s log (read once, at start).
    pub fn load(store: &dyn CommandLedger) -> Result<SeenCommands, StoreError> {
        let hasher = RandomState::default();
        let mut seen = SeenCommands {
            filters: Some(vec![Filter::new(0, &hasher)]),
            hasher,
        };
        let listed = store.command_keys(&mut |principal, id| seen.insert(principal, id))?;
        if !listed {
            seen.filters = None;
        }
        Ok(seen)
    }

    /// Remember a command the hub is about to store.
    pub fn insert(&mut self, principal: &str, id: &str) {
        let Some(filters) = &mut self.filters else {
            return;
        };
        if filters
            .last()
            .is_none_or(|last| last.items >= last.capacity)
        {
            filters.push(Filter::new(filters.len(), &self.hasher));
        }
        if let Some(last) = filters.last_mut() {
            last.bloom
                .insert_hash(self.hasher.hash_one((principal, id)));
            last.items += 1;
        }
    }

    /// Whether the log may hold this command: `false` means it certainly does not.
    pub fn may_have(&self, principal: &str, id: &str) -> bool {
        self.filters.as_ref().is_none_or(|filters| {
            let hash = self.hasher.hash_one((principal, id));
            filters.iter().any(|f| f.bloom.contains_hash(hash))
        })
    }

    /// How many filters there are (for tests).
    #[cfg(test)]
    fn filters(&self) -> usize {
        self.filters.as_ref().map_or(0, Vec::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CommandRecord, CommandResult, EventLog, SqliteStore};

    #[test]
    fn it_never_says_no_to_a_command_it_was_told_of_and_rarely_says_maybe_to_others() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path()).unwrap();
        let stored: Vec<CommandRecord> = (0..1000)
            .map(|i| CommandRecord {
                principal: format!("w{}", i % 7),
                id: format!("c-{i}"),
                result: CommandResult::Ok,
            })
            .collect();
        store.append(&[], &stored, &[], 1).unwrap();
        let mut seen = SeenCommands::load(&store).unwrap();
        // Enough new ones to fill the first filter and the second (twice as large), and need a
        // third.
        let added = FIRST_CAPACITY * 3;
        for i in 0..added {
            seen.insert("c:conv", &format!("n-{i}"));
        }
        assert_eq!(seen.filters(), 3);
        for c in &stored {
            assert!(seen.may_have(&c.principal, &c.id), "{c:?} is in the log");
        }
        for i in 0..added {
            assert!(seen.may_have("c:conv", &format!("n-{i}")));
        }
        // The same id from someone else, and ids nobody sent.
        let strangers = (0..10_000)
            .filter(|i| seen.may_have("w1", &format!("n-{i}")))
            .count();
        assert!(strangers < 20, "{strangers} false positives in 10,000");
    }
}
