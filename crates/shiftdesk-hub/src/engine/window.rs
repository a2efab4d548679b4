//! A stream's resume window: the text of its newest frames back to back in one ring of bytes.
//!
//! The window used to keep each frame as the shared buffer that was also sent. With 2,048
//! frames per stream, the windows of a busy hub are tens of megabytes: every push allocated a
//! block freed long ago and every eviction freed one written long ago, both out of cache. A
//! profile of the engine thread at 47,000 lines a second had a quarter of its time in those
//! two. Here a push copies the text onto the end of the ring and an eviction moves its start;
//! the frame that is sent is its own short-lived allocation, or none when nobody is connected.

use std::collections::VecDeque;

use crate::conn::Frame;

/// Text a window grows by exactly what it needs until it holds this much, then by a quarter:
/// an idle worker's few frames cost their size, a busy stream's pushes copy rarely, and a
/// full window of large frames keeps little room unused (a ring's every byte is touched as it
/// goes round, so room it keeps is memory it holds).
const EXACT_UNTIL: usize = 4096;

#[derive(Debug, Default)]
pub(super) struct Window {
    /// The frames' text, oldest first.
    text: VecDeque<u8>,
    /// Each frame's seq and length in `text`, oldest first.
    frames: VecDeque<(u64, usize)>,
}

impl Window {
    /// The seq of the oldest frame kept.
    pub(super) fn first_seq(&self) -> Option<u64> {
        self.frames.front().map(|(seq, _)| *seq)
    }

    /// The seq of the newest frame kept.
    pub(super) fn last_seq(&self) -> Option<u64> {
        self.frames.back().map(|(seq, _)| *seq)
    }

    /// Keep `frame` as the newest, letting go of the oldest if `limit` are kept already.
    pub(super) fn push(&mut self, seq: u64, frame: &str, limit: usize) {
        if self.frames.len() >= limit {
            self.pop_front();
        }
        let room = self.text.capacity() - self.text.len();
        if room < frame.len() {
            let grow = if self.text.len() < EXACT_UNTIL {
                frame.len()
            } else {
                (self.text.len() / 4).max(frame.len())
            };
            self.text.reserve_exact(grow);
        }
        self.text.extend(frame.as_bytes());
        self.frames.push_back((seq, frame.len()));
    }

    fn pop_front(&mut self) {
        if let Some((_, len)) = self.frames.pop_front() {
            // Bytes need no dropping: this only moves the ring's start.
            self.text.drain(..len);
        }
    }

    /// Let go of the newest frame.
    pub(super) fn pop_back(&mut self) {
        if let Some((_, len)) = self.frames.pop_back() {
            self.text.truncate(self.text.len() - len);
        }
    }

    /// Copies of the frames numbered `from` and after, oldest first.
    pub(super) fn frames_from(&self, from: u64) -> Vec<Frame> {
        let newer = self.frames.iter().rev().take_while(|(seq, _)| *seq >= from);
        let (count, bytes) = newer.fold((0, 0), |(n, b), (_, len)| (n + 1, b + len));
        let mut at = self.text.len() - bytes;
        self.frames
            .range(self.frames.len() - count..)
            .map(|(_, len)| {
                let text: Vec<u8> = self.text.range(at..at + len).copied().collect();
                at += len;
                String::from_utf8(text)
                    .expect("the window holds whole frames of text")
                    .into()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(frames: Vec<Frame>) -> Vec<String> {
        frames.iter().map(|f| f.as_str().to_string()).collect()
    }

    #[test]
    fn keeps_the_newest_frames_up_to_the_limit_in_order() {
        let mut window = Window::default();
        for seq in 1..=10u64 {
            window.push(seq, &format!("frame {seq} {}", "é".repeat(seq as usize)), 4);
        }
        assert_eq!(window.frames.len(), 4);
        assert_eq!(window.first_seq(), Some(7));
        assert_eq!(window.last_seq(), Some(10));
        assert_eq!(
            texts(window.frames_from(9)),
            vec![
                format!("frame 9 {}", "é".repeat(9)),
                format!("frame 10 {}", "é".repeat(10)),
            ]
        );
        assert_eq!(texts(window.frames_from(1)).len(), 4);
        assert!(window.frames_from(11).is_empty());
    }

    #[test]
    fn taking_back_the_newest_keeps_the_rest_whole() {
        let mut window = Window::default();
        for seq in 1..=5u64 {
            window.push(seq, &"x".repeat(seq as usize * 1000), 3);
        }
        window.pop_back();
        window.pop_back();
        assert_eq!(window.last_seq(), Some(3));
        assert_eq!(texts(window.frames_from(3)), vec!["x".repeat(3000)]);
        window.push(4, "four", 3);
        assert_eq!(
            texts(window.frames_from(3)),
            vec!["x".repeat(3000), "four".to_string()]
        );
        while !window.frames.is_empty() {
            window.pop_back();
        }
        assert_eq!(window.first_seq(), None);
        assert!(window.frames_from(0).is_empty());
    }

    #[test]
    fn a_ring_that_wraps_many_times_gives_back_what_was_pushed() {
        let mut window = Window::default();
        let frame = |seq: u64| {
            format!(
                "{{\"seq\":{seq},\"text\":\"{}\"}}",
                "ab".repeat(seq as usize % 37)
            )
        };
        for seq in 1..=20_000u64 {
            window.push(seq, &frame(seq), 64);
        }
        let kept = texts(window.frames_from(0));
        let wanted: Vec<String> = (20_000 - 63..=20_000).map(frame).collect();
        assert_eq!(kept, wanted);
        // Room for a window and a quarter, not for all that went through.
        let window_bytes: usize = wanted.iter().map(String::len).sum();
        assert!(window.text.capacity() <= window_bytes * 3 / 2 + EXACT_UNTIL);
    }
}
