//! A conversation's messages, kept in chunks so that a long conversation grows without moving
//! what it already holds.
//!
//! They were one `Vec`: each time it doubled, the engine thread copied the whole transcript
//! into new memory (and faulted that memory in) while every other line waited. A profile at
//! 50,000 lines a second had a tenth of the engine's time there, in stalls of milliseconds.

use shiftdesk_protocol::Message;

/// Messages per chunk. The first chunk grows as a `Vec` does, so a short conversation costs
/// what its messages need; the later ones are made at this size.
const CHUNK: usize = 256;

#[derive(Debug, Clone, Default)]
pub(super) struct Transcript {
    chunks: Vec<Vec<Message>>,
}

impl Transcript {
    pub(super) fn push(&mut self, message: Message) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(message),
            _ => {
                let mut chunk = Vec::with_capacity(if self.chunks.is_empty() { 4 } else { CHUNK });
                chunk.push(message);
                self.chunks.push(chunk);
            }
        }
    }

    pub(super) fn len(&self) -> usize {
        // Every chunk but the last is full.
        self.chunks
            .last()
            .map_or(0, |last| (self.chunks.len() - 1) * CHUNK + last.len())
    }

    pub(super) fn last(&self) -> Option<&Message> {
        self.chunks.last().and_then(|chunk| chunk.last())
    }

    /// Oldest first; `.rev()` reads from the newest.
    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = &Message> + Clone {
        self.chunks.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiftdesk_protocol::Author;

    fn message(n: u32) -> Message {
        Message {
            n,
            from: Author::Customer,
            text: format!("line {n}"),
            at: u64::from(n),
            by: None,
        }
    }

    #[test]
    fn keeps_every_message_in_order_across_chunks() {
        let mut transcript = Transcript::default();
        assert_eq!(transcript.len(), 0);
        assert!(transcript.last().is_none());
        for n in 1..=(3 * CHUNK as u32 + 7) {
            transcript.push(message(n));
        }
        assert_eq!(transcript.len(), 3 * CHUNK + 7);
        assert_eq!(transcript.chunks.len(), 4);
        assert!(
            transcript
                .iter()
                .map(|m| m.n)
                .eq(1..=(3 * CHUNK as u32 + 7))
        );
        assert!(
            transcript
                .iter()
                .rev()
                .map(|m| m.n)
                .eq((1..=(3 * CHUNK as u32 + 7)).rev())
        );
        assert_eq!(transcript.last().map(|m| m.n), Some(3 * CHUNK as u32 + 7));
    }
}
