//! Commands sent to the hub and not yet answered.
//!
//! Every state-changing command gets a unique id and stays here until the hub answers it with
//! `ack` or `error`. After a reconnect the owner sends everything still here again, with the
//! same ids: the hub applies a command id once, so a retry can never double a reply. The outbox
//! is plain data: the console's `App` owns one (and has it saved by an
//! [`OutboxWriter`](crate::outbox_file::OutboxWriter) so it also survives a restart); a
//! [`Courier`](crate::Courier) owns one for simpler clients.

use serde::{Deserialize, Serialize};

use crate::session::Frame;
use shiftdesk_protocol::{Millis, WorkerFrame};

/// Makes command ids, `{prefix}-{counter}`, and numbers commands: the prefix is random per run
/// (chosen by the owner), so ids never repeat across runs, and it names the run's command
/// sequence (its `producer`, PROTOCOL.md 3.2) in which the counter is the command's `cseq`.
#[derive(Debug, Clone)]
pub struct IdGen {
    prefix: String,
    next: u64,
}

impl IdGen {
    pub fn new(prefix: impl Into<String>) -> IdGen {
        IdGen {
            prefix: prefix.into(),
            next: 1,
        }
    }

    /// An id generator with a fresh random prefix.
    pub fn random() -> IdGen {
        IdGen::new(crate::random_prefix())
    }

    pub fn next_id(&mut self) -> String {
        let id = format!("{}-{}", self.prefix, self.next);
        self.next += 1;
        id
    }

    /// A frame with the next id, numbered in this run's sequence: a retry of it (the same
    /// frame sent again) is recognised by the number, and the hub keeps no index of ids.
    pub fn frame<F: Frame>(&mut self, command: F::Command) -> F {
        let n = self.next;
        F::new(self.next_id(), command).in_sequence(&self.prefix, n)
    }
}

/// One command waiting for its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending<F = WorkerFrame> {
    pub frame: F,
    /// When it was first queued (client clock).
    pub queued_at: Millis,
    /// How many times the hub said `unavailable` (nothing applied; retry).
    #[serde(default)]
    pub retries: u32,
    /// When to send it again after an `unavailable`; `None` = waiting for an answer.
    #[serde(default)]
    pub retry_at: Option<Millis>,
}

/// The commands waiting for an answer, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbox<F = WorkerFrame> {
    entries: Vec<Pending<F>>,
}

impl<F> Default for Outbox<F> {
    fn default() -> Self {
        Outbox {
            entries: Vec::new(),
        }
    }
}

impl<F: Frame> Outbox<F> {
    pub fn push(&mut self, frame: F, now: Millis) {
        self.entries.push(Pending {
            frame,
            queued_at: now,
            retries: 0,
            retry_at: None,
        });
    }

    /// Take the entry the hub answered.
    pub fn take(&mut self, id: &str) -> Option<Pending<F>> {
        let i = self.entries.iter().position(|p| p.frame.id() == id)?;
        Some(self.entries.remove(i))
    }

    pub fn get(&self, id: &str) -> Option<&Pending<F>> {
        self.entries.iter().find(|p| p.frame.id() == id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Pending<F>> {
        self.entries.iter_mut().find(|p| p.frame.id() == id)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[Pending<F>] {
        &self.entries
    }

    /// Frames to send again on a new connection, oldest first.
    pub fn frames(&self) -> impl Iterator<Item = &F> {
        self.entries.iter().map(|p| &p.frame)
    }

    /// Entries whose retry time has come; their retry time is cleared.
    pub fn due(&mut self, now: Millis) -> Vec<F> {
        let mut out = Vec::new();
        for p in &mut self.entries {
            if p.retry_at.is_some_and(|at| at <= now) {
                p.retry_at = None;
                out.push(p.frame.clone());
            }
        }
        out
    }

    /// Is a command of this kind waiting? (e.g. an accept in flight)
    pub fn has(&self, pred: impl Fn(&F::Command) -> bool) -> bool {
        self.entries.iter().any(|p| pred(p.frame.command()))
    }

    /// Put back entries saved by an earlier run (kept only if their ids are not here already).
    pub fn restore(&mut self, saved: Vec<Pending<F>>) {
        for p in saved {
            if self.get(p.frame.id()).is_none() {
                self.entries.push(p);
            }
        }
    }
}

/// What is written to `outbox.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedOutbox<F = WorkerFrame> {
    /// The hub the commands were meant for; a file for another hub is ignored.
    pub hub: String,
    pub entries: Vec<Pending<F>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiftdesk_protocol::{WorkerCommand, WorkerStatus};

    fn frame(id: &str) -> WorkerFrame {
        WorkerFrame {
            id: id.into(),
            producer: None,
            cseq: None,
            command: WorkerCommand::SetStatus {
                status: WorkerStatus::Available,
            },
        }
    }

    #[test]
    fn ids_are_unique_and_prefixed() {
        let mut ids = IdGen::new("ab12");
        assert_eq!(ids.next_id(), "ab12-1");
        assert_eq!(ids.next_id(), "ab12-2");
        assert_ne!(IdGen::random().next_id(), IdGen::random().next_id());
    }

    #[test]
    fn framed_commands_are_numbered_in_the_run_s_sequence() {
        let mut ids = IdGen::new("ab12");
        let first: WorkerFrame = ids.frame(WorkerCommand::Ping);
        let _ = ids.next_id();
        let third: WorkerFrame = ids.frame(WorkerCommand::Ping);
        assert_eq!(
            (first.id.as_str(), first.sequence()),
            ("ab12-1", Some(("ab12", 1)))
        );
        assert_eq!(
            (third.id.as_str(), third.sequence()),
            ("ab12-3", Some(("ab12", 3)))
        );
    }

    #[test]
    fn entries_stay_until_answered_and_keep_their_order() {
        let mut outbox = Outbox::default();
        outbox.push(frame("a"), 1);
        outbox.push(frame("b"), 2);
        outbox.push(frame("c"), 3);
        assert!(outbox.take("b").is_some());
        assert!(outbox.take("b").is_none(), "an answer is applied once");
        let ids: Vec<&str> = outbox.frames().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        assert!(outbox.has(|c| matches!(c, WorkerCommand::SetStatus { .. })));
    }

    #[test]
    fn retries_come_due() {
        let mut outbox = Outbox::default();
        outbox.push(frame("a"), 1);
        outbox.get_mut("a").unwrap().retry_at = Some(100);
        assert!(outbox.due(99).is_empty());
        assert_eq!(outbox.due(100).len(), 1);
        assert!(outbox.due(200).is_empty(), "sent once per retry");
    }

    #[test]
    fn saved_outbox_round_trips() {
        let saved = SavedOutbox {
            hub: "ws://h".into(),
            entries: vec![Pending {
                frame: frame("x-1"),
                queued_at: 5,
                retries: 0,
                retry_at: None,
            }],
        };
        let text = serde_json::to_string(&saved).unwrap();
        assert_eq!(serde_json::from_str::<SavedOutbox>(&text).unwrap(), saved);
    }
}
