//! Retries recognised by each client's command sequence (PROTOCOL.md 3.2), without an index
//! that grows with every command.
//!
//! A client that numbers its commands (`producer` names one run of it, `cseq` counts up) is
//! known by where its sequence stands: the highest number applied, which of the
//! [`CSEQ_WINDOW`] numbers below it were applied (a bitmap: the anti-replay window of IPsec,
//! RFC 4303), and the refusals among them. A command whose number was applied is a retry,
//! answered with the first answer; any other is new, even one below the highest (a command
//! the hub turned away with `rate_limited`, sent again after a newer one went through). A
//! number older than the window counts as applied. This is the idempotent producer of Kafka
//! and the packet id of MQTT: what the hub keeps grows with the clients, and a commit writes
//! one row per client in its batch, whatever the history.
//!
//! The engine keeps the sequences it has met in memory (read from the store on a client run's
//! first command after a start), and hands those its batch moved to the committer with the
//! batch. A failed commit voids them: the memory is dropped and read again from the store.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use shiftdesk_protocol::CSEQ_WINDOW;

use crate::store::{CommandLedger, CommandResult, StoreError};

/// Most runs of one client kept in memory: a client run's sequence leaves memory (it stays in
/// the store) once a newer run of the same client has taken its place and its last change is
/// stored. Consoles make a run per start; a customer's conversation has one or two.
const RUNS_PER_CLIENT: usize = 4;

const WORDS: usize = (CSEQ_WINDOW / 64) as usize;

/// Which of the [`CSEQ_WINDOW`] numbers up to a run's highest were applied: bit `k` is the
/// number `last - k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppliedWindow([u64; WORDS]);

impl AppliedWindow {
    /// The highest number moved up by `by`: every bit moves `by` places further from it.
    fn advance(&mut self, by: u64) {
        if by >= CSEQ_WINDOW {
            self.0 = [0; WORDS];
            return;
        }
        let words = (by / 64) as usize;
        let bits = (by % 64) as u32;
        for i in (0..WORDS).rev() {
            let from = i.checked_sub(words);
            let high = from.map_or(0, |j| self.0[j]);
            let low = from.and_then(|j| j.checked_sub(1)).map_or(0, |j| self.0[j]);
            self.0[i] = if bits == 0 {
                high
            } else {
                (high << bits) | (low >> (64 - bits))
            };
        }
    }

    fn set(&mut self, k: u64) {
        self.0[(k / 64) as usize] |= 1 << (k % 64);
    }

    fn get(&self, k: u64) -> bool {
        self.0[(k / 64) as usize] & (1 << (k % 64)) != 0
    }

    /// The window as stored: little-endian words.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// A stored window; `None` if it is not one.
    pub fn from_bytes(bytes: &[u8]) -> Option<AppliedWindow> {
        if bytes.len() != WORDS * 8 {
            return None;
        }
        let mut words = [0; WORDS];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
            *word = u64::from_le_bytes(chunk.try_into().ok()?);
        }
        Some(AppliedWindow(words))
    }
}

/// Where one run of a client (a `producer`) is in its command sequence. Stored in the
/// transaction of the batch that changed it, replacing the row before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSequence {
    pub principal: String,
    pub producer: String,
    /// The highest number applied (0: none yet).
    pub last: u64,
    pub applied: AppliedWindow,
    /// The refused commands among those in the window.
    pub refused: Vec<RefusedCommand>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedCommand {
    pub cseq: u64,
    pub code: String,
    pub message: String,
}

impl ClientSequence {
    fn new(principal: &str, producer: &str) -> ClientSequence {
        ClientSequence {
            principal: principal.to_string(),
            producer: producer.to_string(),
            last: 0,
            applied: AppliedWindow::default(),
            refused: Vec::new(),
        }
    }

    /// The first answer to number `n`, if it was applied (or refused); `None` if it is new.
    pub fn previous(&self, n: u64) -> Option<CommandResult> {
        if n > self.last {
            return None;
        }
        let back = self.last - n;
        if back < CSEQ_WINDOW && !self.applied.get(back) {
            return None;
        }
        Some(
            self.refused
                .iter()
                .find(|r| r.cseq == n)
                .map_or(CommandResult::Ok, |r| CommandResult::Refused {
                    code: r.code.clone(),
                    message: r.message.clone(),
                }),
        )
    }

    /// Number `n` was applied (or refused) now.
    pub fn applied(&mut self, n: u64, result: &CommandResult) {
        if n > self.last {
            self.applied.advance(n - self.last);
            self.last = n;
        }
        let back = self.last - n;
        if back >= CSEQ_WINDOW {
            return;
        }
        self.applied.set(back);
        if let CommandResult::Refused { code, message } = result {
            self.refused.push(RefusedCommand {
                cseq: n,
                code: code.clone(),
                message: message.clone(),
            });
        }
        let oldest = self.last.saturating_sub(CSEQ_WINDOW);
        self.refused.retain(|r| r.cseq > oldest);
    }
}

#[derive(Default)]
pub struct Sequences {
    /// By principal, then a few runs (producers) each.
    clients: HashMap<String, Vec<Run>>,
    /// (principal, producer) moved in the open batch, in order.
    touched: Vec<(String, String)>,
    /// The batches up to this one are stored.
    durable: u64,
}

struct Run {
    sequence: ClientSequence,
    /// The batch that last moved it.
    changed_in: u64,
}

impl Sequences {
    /// The first answer to command `n` of this run, if it is a retry; `None` if it is new.
    pub fn previous(
        &mut self,
        principal: &str,
        producer: &str,
        n: u64,
        store: &dyn CommandLedger,
    ) -> Result<Option<CommandResult>, StoreError> {
        Ok(self.run(principal, producer, store)?.sequence.previous(n))
    }

    /// Command `n` of this run was applied (or refused) in batch `batch`. Call only after
    /// [`Sequences::previous`] said it is new.
    pub fn applied(
        &mut self,
        principal: &str,
        producer: &str,
        n: u64,
        result: &CommandResult,
        batch: u64,
    ) {
        let Some(run) = self
            .clients
            .get_mut(principal)
            .and_then(|runs| runs.iter_mut().find(|r| r.sequence.producer == producer))
        else {
            return;
        };
        run.sequence.applied(n, result);
        if run.changed_in != batch {
            run.changed_in = batch;
            self.touched
                .push((principal.to_string(), producer.to_string()));
        }
    }

    /// The sequences the open batch moved, to store with it.
    pub fn take_batch(&mut self) -> Vec<ClientSequence> {
        let mut out = Vec::with_capacity(self.touched.len());
        for (principal, producer) in self.touched.drain(..) {
            if let Some(run) = self
                .clients
                .get(&principal)
                .and_then(|runs| runs.iter().find(|r| r.sequence.producer == producer))
            {
                out.push(run.sequence.clone());
            }
        }
        out
    }

    /// Whether the open batch moved any sequence.
    pub fn moved(&self) -> bool {
        !self.touched.is_empty()
    }

    /// The batches up to `up_to` are stored.
    pub fn committed(&mut self, up_to: u64) {
        self.durable = up_to;
    }

    /// A commit failed: what memory holds may be ahead of the store, so it is read again.
    pub fn forget(&mut self) {
        self.clients.clear();
        self.touched.clear();
    }

    /// How many client runs are in memory (for tests).
    #[cfg(test)]
    fn runs(&self) -> usize {
        self.clients.values().map(Vec::len).sum()
    }

    fn run(
        &mut self,
        principal: &str,
        producer: &str,
        store: &dyn CommandLedger,
    ) -> Result<&mut Run, StoreError> {
        let durable = self.durable;
        if !self.clients.contains_key(principal) {
            self.clients.insert(principal.to_string(), Vec::new());
        }
        let Some(runs) = self.clients.get_mut(principal) else {
            unreachable!("inserted above");
        };
        if let Some(i) = runs.iter().position(|r| r.sequence.producer == producer) {
            return Ok(&mut runs[i]);
        }
        let stored = store.client_sequence(principal, producer)?;
        if runs.len() >= RUNS_PER_CLIENT
            && let Some(i) = runs
                .iter()
                .enumerate()
                .filter(|(_, r)| r.changed_in <= durable)
                .min_by_key(|(_, r)| r.changed_in)
                .map(|(i, _)| i)
        {
            runs.swap_remove(i);
        }
        runs.push(Run {
            sequence: stored.unwrap_or_else(|| ClientSequence::new(principal, producer)),
            changed_in: 0,
        });
        let last = runs.len() - 1;
        Ok(&mut runs[last])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EventLog, SqliteStore};

    fn refused(message: &str) -> CommandResult {
        CommandResult::Refused {
            code: "conflict".into(),
            message: message.into(),
        }
    }

    /// New numbers are new; a number already applied is answered as it was, from memory and,
    /// after a restart, from the store; a refusal older than the window reads as applied.
    #[test]
    fn a_number_at_or_below_the_last_is_a_retry_with_its_first_answer() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path()).unwrap();
        let mut seqs = Sequences::default();
        assert_eq!(seqs.previous("w:a", "p1", 1, &store).unwrap(), None);
        seqs.applied("w:a", "p1", 1, &CommandResult::Ok, 1);
        assert_eq!(seqs.previous("w:a", "p1", 2, &store).unwrap(), None);
        seqs.applied("w:a", "p1", 2, &refused("taken"), 1);
        // Numbers may skip (pings and typing take none).
        assert_eq!(seqs.previous("w:a", "p1", 5, &store).unwrap(), None);
        seqs.applied("w:a", "p1", 5, &CommandResult::Ok, 1);
        assert_eq!(
            seqs.previous("w:a", "p1", 1, &store).unwrap(),
            Some(CommandResult::Ok)
        );
        assert_eq!(
            seqs.previous("w:a", "p1", 2, &store).unwrap(),
            Some(refused("taken"))
        );
        // Another run of the same client, and another client, start from nothing.
        assert_eq!(seqs.previous("w:a", "p2", 1, &store).unwrap(), None);
        assert_eq!(seqs.previous("w:b", "p1", 1, &store).unwrap(), None);

        let batch = seqs.take_batch();
        assert_eq!(
            batch.len(),
            1,
            "one row per run, however many commands: {batch:?}"
        );
        assert_eq!(batch[0].last, 5);
        assert!(!seqs.moved());
        store.append(&[], &[], &batch, 1).unwrap();

        // A restart: memory is empty, the store answers.
        let mut again = Sequences::default();
        assert_eq!(
            again.previous("w:a", "p1", 2, &store).unwrap(),
            Some(refused("taken"))
        );
        // 3 and 4 were never applied: new, though below the highest (a command turned away
        // with `rate_limited` and sent again after a newer one).
        assert_eq!(again.previous("w:a", "p1", 4, &store).unwrap(), None);
        again.applied("w:a", "p1", 4, &CommandResult::Ok, 2);
        assert_eq!(
            again.previous("w:a", "p1", 4, &store).unwrap(),
            Some(CommandResult::Ok)
        );
        assert_eq!(again.previous("w:a", "p1", 3, &store).unwrap(), None);
        assert_eq!(again.previous("w:a", "p1", 6, &store).unwrap(), None);

        // Past the window, a refusal is forgotten, and a number never applied counts as
        // applied.
        again.applied("w:a", "p1", 2 + CSEQ_WINDOW, &CommandResult::Ok, 3);
        for n in [1, 2] {
            assert_eq!(
                again.previous("w:a", "p1", n, &store).unwrap(),
                Some(CommandResult::Ok)
            );
        }
    }

    /// The bitmap against a plain set of numbers, over jumps of every size (within a word,
    /// across words, past the window) and stored and read back on the way.
    #[test]
    fn the_window_remembers_exactly_the_applied_numbers_within_it() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut sequence = ClientSequence::new("w:a", "p");
        let mut applied = std::collections::BTreeSet::new();
        for _ in 0..20_000 {
            let n = match rng.random_range(0..10) {
                0 => sequence.last + rng.random_range(1..3 * CSEQ_WINDOW),
                1..=5 => sequence.last + rng.random_range(1..70),
                _ => sequence
                    .last
                    .saturating_sub(rng.random_range(0..CSEQ_WINDOW + 10))
                    .max(1),
            };
            if sequence.previous(n).is_none() {
                sequence.applied(n, &CommandResult::Ok);
                applied.insert(n);
            }
            let bytes = sequence.applied.to_bytes();
            sequence.applied = AppliedWindow::from_bytes(&bytes).unwrap();
            let last = sequence.last;
            for m in last.saturating_sub(CSEQ_WINDOW + 5).max(1)..=last + 2 {
                let expected = m <= last && (last - m >= CSEQ_WINDOW || applied.contains(&m));
                assert_eq!(
                    sequence.previous(m).is_some(),
                    expected,
                    "{m} with last {last}"
                );
            }
        }
        assert_eq!(AppliedWindow::from_bytes(&[0; 7]), None);
    }

    /// A failed commit leaves memory ahead of the store: after `forget`, the store decides.
    #[test]
    fn after_a_failed_commit_the_store_decides_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let mut seqs = Sequences::default();
        assert_eq!(seqs.previous("c:x", "p", 1, &store).unwrap(), None);
        seqs.applied("c:x", "p", 1, &CommandResult::Ok, 1);
        seqs.forget();
        assert_eq!(seqs.previous("c:x", "p", 1, &store).unwrap(), None);
    }

    /// Runs of one client beyond a few leave memory once stored, never before.
    #[test]
    fn old_runs_of_a_client_leave_memory_once_stored() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path()).unwrap();
        let mut seqs = Sequences::default();
        for (batch, run) in (1..=10).zip(["p1", "p2", "p3", "p4", "p5", "p6"].iter().cycle()) {
            assert!(seqs.previous("w:a", run, 1, &store).unwrap().is_none() || batch > 6);
            seqs.applied("w:a", run, batch, &CommandResult::Ok, batch);
        }
        assert!(
            seqs.runs() > RUNS_PER_CLIENT,
            "nothing stored yet: all kept"
        );
        let batch = seqs.take_batch();
        store.append(&[], &[], &batch, 1).unwrap();
        seqs.committed(10);
        assert_eq!(seqs.previous("w:a", "p7", 1, &store).unwrap(), None);
        assert!(seqs.runs() <= RUNS_PER_CLIENT + 2);
        // An evicted run still answers, from the store.
        assert_eq!(
            seqs.runs(),
            RUNS_PER_CLIENT + 2,
            "the oldest stored run left"
        );
        assert_eq!(
            seqs.previous("w:a", "p5", 5, &store).unwrap(),
            Some(CommandResult::Ok)
        );
    }
}
