//! One load-generator connection of a relay or offer-like phase, whatever the server: the
//! socket, how it frames the lines it sends ([`Codec`]) and where it finds tags in what it
//! receives. The setups ([`super::hubload`], [`super::floor`], [`super::nats`]) make these;
//! the driver ([`super::relay`]) runs them.

use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;

use shiftdesk_protocol::{CustomerCommand, CustomerFrame, WorkerCommand, WorkerFrame};

use super::wire::{self, FILLER, Tag, Ws};

/// How a connection frames what it sends, and where it finds tags in what it receives.
pub enum Codec {
    /// A hub customer: `message` commands.
    HubCustomer { ids: IdSource },
    /// A hub worker: `reply` commands in one conversation.
    HubWorker { conversation: String, ids: IdSource },
    /// A hub supervisor (or any hub connection that only listens).
    HubListener,
    /// The floor: `to a,b <text>` or `any <text>`.
    Floor { prefix: String },
    /// NATS: `PUB <subject>`; `tail` holds a protocol line split across websocket frames.
    Nats { subject: String, tail: Vec<u8> },
}

/// A client frame as a websocket message. (These frames always serialise: no maps with
/// non-string keys.)
pub fn encode(frame: &impl Serialize) -> Message {
    Message::text(serde_json::to_string(frame).unwrap_or_default())
}

/// Command ids unique across runs of the bench, numbered in one command sequence per source
/// (PROTOCOL.md 3.2), as the shared client crate numbers them.
pub struct IdSource {
    prefix: String,
    next: u64,
}

impl IdSource {
    pub fn new(kind: &str) -> IdSource {
        IdSource {
            prefix: format!("{kind}{:08x}", rand::random::<u32>()),
            next: 0,
        }
    }

    fn fresh(&mut self) -> (String, u64) {
        self.next += 1;
        (format!("{}-{}", self.prefix, self.next), self.next)
    }

    pub fn worker(&mut self, command: WorkerCommand) -> WorkerFrame {
        let (id, n) = self.fresh();
        WorkerFrame::new(id, command).in_sequence(&self.prefix, n)
    }

    pub fn customer(&mut self, command: CustomerCommand) -> CustomerFrame {
        let (id, n) = self.fresh();
        CustomerFrame::new(id, command).in_sequence(&self.prefix, n)
    }
}

impl Codec {
    pub fn encode(&mut self, tag: Tag) -> Message {
        let text = format!("{} {FILLER}", tag.text());
        match self {
            Codec::HubCustomer { ids } => encode(&ids.customer(CustomerCommand::Message { text })),
            Codec::HubWorker { conversation, ids } => encode(&ids.worker(WorkerCommand::Reply {
                conversation: conversation.clone(),
                text,
            })),
            Codec::HubListener => encode(&WorkerFrame::new("p", WorkerCommand::Ping)),
            Codec::Floor { prefix } => Message::text(format!("{prefix} {text}")),
            Codec::Nats { subject, .. } => {
                Message::binary(format!("PUB {subject} {}\r\n{text}\r\n", text.len()))
            }
        }
    }

    /// Calls `found` for each tag in a received frame; returns a frame to send back (NATS PONG).
    pub fn scan(&mut self, msg: &Message, mut found: impl FnMut(Tag)) -> Option<Message> {
        match (self, msg) {
            (Codec::Nats { tail, .. }, Message::Binary(bytes)) => {
                tail.extend_from_slice(bytes);
                scan_nats(tail, found)
            }
            (Codec::Nats { tail, .. }, Message::Text(text)) => {
                tail.extend_from_slice(text.as_bytes());
                scan_nats(tail, found)
            }
            (Codec::HubCustomer { .. } | Codec::HubWorker { .. } | Codec::HubListener, m) => {
                // Only `message` frames carry lines; drafts and views are left alone.
                if let Message::Text(text) = m
                    && text.as_str().contains(r#""type":"message""#)
                {
                    wire::tags(text.as_bytes()).for_each(&mut found);
                }
                None
            }
            (Codec::Floor { .. }, Message::Text(text)) => {
                wire::tags(text.as_bytes()).for_each(found);
                None
            }
            _ => None,
        }
    }
}

/// Scan the complete lines in `tail`; keep the unfinished rest. Answers the server's `PING`.
fn scan_nats(tail: &mut Vec<u8>, found: impl FnMut(Tag)) -> Option<Message> {
    let end = tail.windows(2).rposition(|w| w == b"\r\n")? + 2;
    let done = &tail[..end];
    wire::tags(done).for_each(found);
    let ping = done.starts_with(b"PING\r\n") || contains(done, b"\r\nPING\r\n");
    tail.drain(..end);
    ping.then(|| Message::binary(&b"PONG\r\n"[..]))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// One connection of a relay or offer-like phase.
pub struct Conn {
    pub ws: Ws,
    pub codec: Codec,
    /// Its sender index (tags carry it), or `None` if it only receives.
    pub sender: Option<u32>,
    /// What it receives is counted as a shadow copy, not recorded as latency.
    pub shadow: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nats_frames_split_anywhere() {
        let tag = Tag {
            phase: 1,
            sender: 2,
            sched_us: 3,
        };
        let full = format!("MSG r.1.w 1 {}\r\n{} x\r\nPING\r\n", 10, tag.text());
        let mut tail = Vec::new();
        let mut seen = Vec::new();
        let (a, b) = full.as_bytes().split_at(15);
        tail.extend_from_slice(a);
        let r1 = scan_nats(&mut tail, |t| seen.push(t));
        tail.extend_from_slice(b);
        let r2 = scan_nats(&mut tail, |t| seen.push(t));
        assert_eq!(seen, vec![tag]);
        assert!(r1.is_none());
        assert!(r2.is_some());
        assert!(tail.is_empty());
    }
}
