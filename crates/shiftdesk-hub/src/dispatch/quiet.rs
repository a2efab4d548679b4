//! The draft debounce: a first draft waits until the customer pauses.
//!
//! Customers often write several lines in a row ("hi", "my order is late", "it's #4411"). A
//! newer line replaces the waiting request, so the burst is drafted once, for its last line,
//! with the earlier lines as history. A customer who never pauses is drafted for at most four
//! quiet periods after the oldest waiting line. Pure: time is given, never read, so tests
//! drive it with an injected clock.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use foldhash::HashMap;

use super::DraftWanted;
use shiftdesk_protocol::{ConversationId, Millis};

/// Draft requests held until their conversation is quiet.
#[derive(Debug, Default)]
pub struct QuietDrafts {
    quiet_ms: u64,
    /// The newest request per conversation.
    waiting: HashMap<ConversationId, Waiting>,
    /// One entry per waiting conversation, soonest first, at or before the request is due: a
    /// newer line moves the request's time, not its entry, so a burst of lines costs one
    /// entry (the entry is moved on when it comes up early).
    due: BinaryHeap<Reverse<(Millis, ConversationId)>>,
}

#[derive(Debug)]
struct Waiting {
    wanted: DraftWanted,
    /// When the oldest line waiting came in.
    since: Millis,
    due: Millis,
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
        if let Some(waiting) = self.waiting.get_mut(&wanted.conversation) {
            waiting.due = (now + quiet).min(waiting.since + 4 * quiet);
            waiting.wanted = wanted;
            return;
        }
        let due = now + quiet;
        self.due.push(Reverse((due, wanted.conversation.clone())));
        let conversation = wanted.conversation.clone();
        let waiting = Waiting {
            wanted,
            since: now,
            due,
        };
        self.waiting.insert(conversation, waiting);
    }

    /// The requests due at `now`, to start now, soonest first.
    pub fn due(&mut self, now: Millis) -> Vec<DraftWanted> {
        let mut ready = Vec::new();
        while let Some(Reverse((at, ..))) = self.due.peek()
            && *at <= now
        {
            let Some(Reverse((at, conversation))) = self.due.pop() else {
                break;
            };
            // An entry that came up before its request is due goes back in at the due time
            // (this same call takes it again if that has passed, in its turn).
            match self.waiting.get(&conversation).map(|w| w.due) {
                Some(due) if due <= at => {
                    if let Some(waiting) = self.waiting.remove(&conversation) {
                        ready.push(waiting.wanted);
                    }
                }
                Some(due) => self.due.push(Reverse((due, conversation))),
                None => {}
            }
        }
        ready
    }

    /// When the next held request may be due (it is no later), if any.
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
        assert_eq!(q.due.len(), 1, "one entry for the whole burst");
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
    fn requests_come_out_soonest_first_though_a_burst_moved_one() {
        let mut q = QuietDrafts::new(100);
        q.hold(wanted("a", 1), 0);
        q.hold(wanted("b", 1), 50);
        q.hold(wanted("a", 2), 90);
        assert_eq!(q.due(200), vec![wanted("b", 1), wanted("a", 2)]);
        assert_eq!(q.next_due(), None);
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
