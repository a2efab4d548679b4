//! The draft debounce: a first draft waits until the customer pauses.
//!
//! Customers often write several lines in a row ("hi", "my order is late", "it's #4411"). A
//! newer line replaces the waiting request, so the burst is drafted once, for its last line,
//! with the earlier lines as history. A customer who never pauses is drafted for at most four
//! quiet periods after the oldest waiting line. Pure: time is given, never read, so tests
//! drive it with an injected clock.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::DraftWanted;
use shiftdesk_protocol::{ConversationId, Millis};

/// Draft requests held until their conversation is quiet.
#[derive(Debug, Default)]
pub struct QuietDrafts {
    quiet_ms: u64,
    /// The newest request per conversation, with when the oldest one waiting came in.
    waiting: HashMap<ConversationId, (DraftWanted, Millis)>,
    /// When each held request is due, soonest first; an entry whose request a newer one has
    /// replaced is skipped.
    due: BinaryHeap<Reverse<(Millis, ConversationId, u32)>>,
}

impl QuietDrafts {
    /// Hold requests until `quiet_ms` passed with no newer line (0: start them at once).
    pub fn new(quiet_ms: u64) -> QuietDrafts {
        QuietDrafts {
            quiet_ms,
            ..QuietDrafts::default()
        }
    }

    /// Hold `wanted` (replacing the conversation's waiting request) as of `now`.
    pub fn hold(&mut self, wanted: DraftWanted, now: Millis) {
        let quiet = self.quiet_ms;
        let first_at = self
            .waiting
            .get(&wanted.conversation)
            .map_or(now, |(_, since)| *since);
        let due = (now + quiet).min(first_at + 4 * quiet);
        self.due.push(Reverse((
            due,
            wanted.conversation.clone(),
            wanted.for_message,
        )));
        self.waiting
            .insert(wanted.conversation.clone(), (wanted, first_at));
    }

    /// The requests due at `now`, to start now, soonest first.
    pub fn due(&mut self, now: Millis) -> Vec<DraftWanted> {
        let mut ready = Vec::new();
        while let Some(Reverse((at, ..))) = self.due.peek()
            && *at <= now
        {
            let Some(Reverse((_, conversation, for_message))) = self.due.pop() else {
                break;
            };
            let newest = self
                .waiting
                .get(&conversation)
                .is_some_and(|(w, _)| w.for_message == for_message);
            if newest && let Some((wanted, _)) = self.waiting.remove(&conversation) {
                ready.push(wanted);
            }
        }
        ready
    }

    /// When the next held request is due, if any.
    pub fn next_due(&self) -> Option<Millis> {
        self.due.peek().map(|Reverse((at, ..))| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiftdesk_protocol::Lang;

    fn wanted(conversation: &str, for_message: u32) -> DraftWanted {
        DraftWanted {
            conversation: conversation.into(),
            for_message,
            language: Lang::En,
            attempt: 0,
        }
    }

    #[test]
    fn a_burst_is_drafted_once_for_its_last_line_after_the_pause() {
        let mut q = QuietDrafts::new(250);
        q.hold(wanted("c", 2), 1_000);
        q.hold(wanted("c", 3), 1_100);
        q.hold(wanted("c", 4), 1_200);
        assert!(q.due(1_440).is_empty(), "still typing");
        assert_eq!(q.next_due(), Some(1_450));
        assert_eq!(q.due(1_450), vec![wanted("c", 4)]);
        assert!(q.due(10_000).is_empty(), "nothing else waits");
        assert_eq!(q.next_due(), None);
    }

    #[test]
    fn a_customer_who_never_pauses_is_drafted_after_four_quiet_periods() {
        let mut q = QuietDrafts::new(250);
        let mut drafted = Vec::new();
        for (i, at) in (0..20).map(|i| (i, 1_000 + i as u64 * 200)) {
            drafted.extend(q.due(at));
            q.hold(wanted("c", i + 1), at);
        }
        // The first line came at 1000: at 2000 a draft starts for the newest line then, the
        // fifth (the sixth comes at 2000, just after).
        assert_eq!(drafted.first().map(|w| w.for_message), Some(5));
    }

    #[test]
    fn conversations_wait_apart() {
        let mut q = QuietDrafts::new(100);
        q.hold(wanted("a", 1), 0);
        q.hold(wanted("b", 1), 50);
        assert_eq!(q.due(100), vec![wanted("a", 1)]);
        assert_eq!(q.due(150), vec![wanted("b", 1)]);
    }
}
