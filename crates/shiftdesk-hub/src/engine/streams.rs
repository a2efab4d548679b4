//! Each client's outbound stream: its events numbered (`seq`), the newest kept in a window so a
//! client that reconnects resumes where it left off, and the frames of batches not yet stored
//! held back (or taken back, if the commit fails).
//!
//! On a store that keeps streams (a shared PostgreSQL store), each batch's frames are stored with
//! its facts and the streams are named after the store, not the process: the hub that takes the
//! store over goes on with each stream from its stored head (read when it first pushes to the
//! stream), and reads the frames before that from the store when a client resumes
//! ([`StreamBook`]).

use std::collections::VecDeque;

use foldhash::HashMap;

use super::window::Window;

use crate::conn::{ConnHandle, Frame};
use crate::store::{EventStore, StreamFrames};
use shiftdesk_protocol::{self as protocol, CustomerEvent, RESUME_WINDOW, WorkerEvent};

/// How this hub names streams, and whether the store keeps them.
pub(super) struct StreamBook {
    /// Begins every stream name: this process's random epoch, or the store's name for its
    /// streams when they outlive the process.
    origin: String,
    /// The store keeps streams: each batch's frames go to it.
    pub(super) stored: bool,
}

impl StreamBook {
    /// Streams of this process alone (an embedded SQLite store), or, with the store's
    /// `origin`, the streams it keeps.
    pub(super) fn new(origin: Option<String>) -> StreamBook {
        match origin {
            Some(origin) => StreamBook {
                origin,
                stored: true,
            },
            None => StreamBook {
                origin: format!("{:x}", rand::random::<u64>()),
                stored: false,
            },
        }
    }

    /// The stream of a client new to the store (a conversation opened now).
    pub(super) fn fresh(&self, id: &str) -> Stream {
        Stream::new(format!("{}-{id}", self.origin))
    }

    /// The stream of the client `id` (a worker or a conversation), opened the first time this
    /// hub pushes to it: on a store that keeps streams, it goes on from where an earlier hub
    /// left it (one indexed read, once per stream). If the store cannot say where, the stream
    /// gets a name of its own, so that no client resumes into it by mistake (it gets a
    /// snapshot). So does the stream of an `ended` conversation: it was let go of
    /// ([`EndedStreams`]) or another hub ran it, its frames are gone or going, and under its
    /// old name a client could take new frames for ones it has seen. Its customer gets the
    /// whole transcript, ended.
    pub(super) fn open(&self, id: &str, store: &dyn EventStore, ended: bool) -> Stream {
        let stream = self.fresh(id);
        let renamed =
            |stream: Stream| Stream::new(format!("{}-{:x}", stream.name, rand::random::<u32>()));
        if ended {
            return renamed(stream);
        }
        if !self.stored {
            return stream;
        }
        match store.stream_head(&stream.name) {
            Ok(head) => Stream {
                next_seq: head + 1,
                stored_until: head,
                ..stream
            },
            Err(e) => {
                tracing::warn!(%e, stream = stream.name, "cannot read where a stream stands; starting it anew");
                renamed(stream)
            }
        }
    }
}

/// Streams of ended conversations are let go once their customer has been gone a while
/// (`hub --keep-ended`): a hub that runs for months holds the streams of the conversations of
/// the last minutes, not of every one it served, and a store that keeps streams deletes their
/// frames. A customer who comes back later gets the transcript (a snapshot) instead of a
/// resume.
pub(super) struct EndedStreams {
    /// How long an ended conversation's stream is kept after its customer left (ms).
    keep_ms: u64,
    /// When the streams are next looked over: twice per `keep_ms`.
    next_sweep: shiftdesk_protocol::Millis,
    /// Names of the streams let go since the last batch, for a store that keeps streams.
    pub(super) forgotten: Vec<String>,
}

impl EndedStreams {
    pub(super) fn new(keep_ms: u64, now: shiftdesk_protocol::Millis) -> EndedStreams {
        let keep_ms = keep_ms.max(2);
        EndedStreams {
            keep_ms,
            next_sweep: now + keep_ms / 2,
            forgotten: Vec::new(),
        }
    }

    /// When [`EndedStreams::sweep`] is next due.
    pub(super) fn next_due(&self) -> shiftdesk_protocol::Millis {
        self.next_sweep
    }

    /// If it is time: let go of the streams of ended conversations whose customer has been
    /// gone, and that have had nothing pushed, for three sweeps in a row (so for `keep_ms` at
    /// least, and at most half as long again). Returns how many were let go.
    pub(super) fn sweep(
        &mut self,
        customers: &mut HashMap<String, Stream>,
        ended: impl Fn(&str) -> bool,
        keep_frames: bool,
        now: shiftdesk_protocol::Millis,
    ) -> usize {
        if now < self.next_sweep {
            return 0;
        }
        self.next_sweep = now + self.keep_ms / 2;
        let before = customers.len();
        customers.retain(|id, stream| {
            let idle = stream.conn.is_none() && stream.uncommitted.is_empty() && ended(id);
            if !idle {
                stream.quiet_sweeps = 0;
                return true;
            }
            stream.quiet_sweeps = stream.quiet_sweeps.saturating_add(1);
            if stream.quiet_sweeps < 3 {
                return true;
            }
            if keep_frames {
                self.forgotten.push(std::mem::take(&mut stream.name));
            }
            false
        });
        before - customers.len()
    }
}

/// A client's outbound stream: numbered frames, the newest kept for resume.
pub(super) struct Stream {
    pub(super) name: String,
    next_seq: u64,
    /// The frames up to this seq are in the store only: an earlier hub sent them.
    stored_until: u64,
    window: Window,
    pub(super) conn: Option<ConnHandle>,
    /// The client listed `decisions` in `hello.features` at its last login.
    pub(super) wants_decisions: bool,
    /// The client listed `demand` (a standby console): queue figures while off shift.
    pub(super) wants_demand: bool,
    /// For each batch not yet committed that pushed to this stream, oldest first: the batch
    /// and the first seq it pushed, to take back if a commit fails.
    uncommitted: VecDeque<(u64, u64)>,
    /// Sweeps in a row that found this an ended conversation's stream with nobody on it and
    /// nothing new ([`EndedStreams`]).
    quiet_sweeps: u8,
}

impl Stream {
    pub(super) fn new(name: String) -> Stream {
        Stream {
            name,
            next_seq: 1,
            stored_until: 0,
            window: Window::default(),
            conn: None,
            wants_decisions: false,
            wants_demand: false,
            uncommitted: VecDeque::new(),
            quiet_sweeps: 0,
        }
    }

    /// Number the event and keep it for resume; returns the frame to send once the batch is
    /// committed, if someone is connected.
    pub(super) fn push<E: serde::Serialize>(
        &mut self,
        event: &E,
        batch: u64,
    ) -> Option<(ConnHandle, Frame)> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.quiet_sweeps = 0;
        if !self.pushed_in(batch) {
            self.uncommitted.push_back((batch, seq));
        }
        let conn = self.conn.as_ref();
        let window = &mut self.window;
        protocol::encode_with(seq, event, |text| {
            window.push(seq, text, RESUME_WINDOW);
            conn.map(|conn| (conn.clone(), Frame::from(text.to_owned())))
        })
    }

    /// The client's connection is gone: an ended conversation's stream is kept from now on for
    /// as long as [`EndedStreams`] says.
    pub(super) fn left(&mut self) {
        self.conn = None;
        self.quiet_sweeps = 0;
    }

    /// The seq of the newest frame on this stream (0 before any).
    pub(super) fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// Whether `batch` has pushed to this stream already.
    pub(super) fn pushed_in(&self, batch: u64) -> bool {
        self.uncommitted.back().is_some_and(|(b, _)| *b == batch)
    }

    /// The batches up to `up_to` are in the log.
    pub(super) fn committed(&mut self, up_to: u64) {
        while self.uncommitted.front().is_some_and(|(b, _)| *b <= up_to) {
            self.uncommitted.pop_front();
        }
    }

    /// Forget the frames of every batch not committed (one failed, and later ones built on it).
    pub(super) fn take_back(&mut self) {
        if let Some((_, from)) = self.uncommitted.front().copied() {
            while self.window.last_seq().is_some_and(|seq| seq >= from) {
                self.window.pop_back();
            }
            self.next_seq = from;
        }
        self.uncommitted.clear();
    }

    /// Frames after `last_seq`, if the window (and, for the frames an earlier hub sent, the
    /// store) still holds all of them. `None` too for a `last_seq` past the stream's last frame:
    /// that client has seen frames this stream never sent, and resuming it would make it drop
    /// the next ones as already seen.
    pub(super) fn replay_from(&self, last_seq: u64, store: &dyn EventStore) -> Option<Vec<Frame>> {
        // Any u64 may come from a client.
        let wanted = last_seq.saturating_add(1);
        match wanted.cmp(&self.next_seq) {
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Equal => return Some(Vec::new()),
            std::cmp::Ordering::Less => {}
        }
        let mut frames = Vec::new();
        if wanted <= self.stored_until {
            frames = stored_frames(store, &self.name, last_seq, self.stored_until)?;
        }
        let from = wanted.max(self.stored_until + 1);
        if from < self.next_seq {
            let first = self.window.first_seq()?;
            if from < first {
                return None;
            }
            frames.extend(self.window.frames_from(from));
        }
        Some(frames)
    }

    /// The frames `batch` put on this stream, for the store.
    pub(super) fn frames_of(&self, batch: u64) -> Option<StreamFrames> {
        let (_, first) = self.uncommitted.back().filter(|(b, _)| *b == batch)?;
        let frames = self.window.frames_from(*first);
        let first = self.next_seq - frames.len() as u64;
        (!frames.is_empty()).then(|| StreamFrames {
            stream: self.name.clone(),
            first,
            frames,
        })
    }
}

/// The frames of `stream` numbered `after + 1 ..= up_to` from the store, if it has every one of
/// them (else the client gets a snapshot).
fn stored_frames(
    store: &dyn EventStore,
    stream: &str,
    after: u64,
    up_to: u64,
) -> Option<Vec<Frame>> {
    let rows = store
        .stream_frames(stream, after, up_to)
        .map_err(
            |e| tracing::warn!(%e, stream, "cannot read a stream's frames; sending a snapshot"),
        )
        .ok()?;
    let whole = rows.len() as u64 == up_to - after
        && rows
            .iter()
            .zip(after + 1..)
            .all(|((seq, _), want)| *seq == want);
    whole.then(|| rows.into_iter().map(|(_, frame)| frame.into()).collect())
}

/// The stream of the client `id` (a worker or a conversation), opened on first use (`ended`:
/// the conversation has ended, see [`StreamBook::open`]). Looked up before it is inserted:
/// nearly always it exists, and then no key is allocated.
pub(super) fn stream_of<'a>(
    streams: &'a mut HashMap<String, Stream>,
    book: &StreamBook,
    store: &dyn EventStore,
    id: &str,
    ended: impl FnOnce() -> bool,
) -> &'a mut Stream {
    if !streams.contains_key(id) {
        streams.insert(id.to_string(), book.open(id, store, ended()));
    }
    streams
        .get_mut(id)
        .expect("the stream was just opened if it was missing")
}

/// Whether `conversation` has ended (or is unknown): its stream may have been let go.
pub(super) fn conversation_ended(dispatch: &crate::dispatch::Dispatch, conversation: &str) -> bool {
    !matches!(
        dispatch.conversation_state(conversation),
        Some(
            protocol::ConversationState::Bot
                | protocol::ConversationState::Queued
                | protocol::ConversationState::Offered
                | protocol::ConversationState::Assigned
        )
    )
}

/// Push an event on a client's stream (`(true, worker)` or `(false, conversation)`), remembering
/// that the stream changed in this batch and holding the frame until the batch is committed.
pub(super) fn push_held<E: serde::Serialize>(
    stream: &mut Stream,
    (worker, id): (bool, &str),
    event: &E,
    batch: u64,
    touched: &mut Vec<(bool, String)>,
    held: &mut Vec<(ConnHandle, Frame)>,
) {
    if !stream.pushed_in(batch) {
        touched.push((worker, id.to_string()));
    }
    held.extend(stream.push(event, batch));
}

/// Putting events on clients' streams, and handing a batch's frames to a store that keeps them.
impl super::Engine {
    /// The frames batch `no` put on clients' streams, for a store that keeps them.
    pub(super) fn stream_frames(&self, no: u64) -> Vec<crate::store::StreamFrames> {
        if !self.streams.stored {
            return Vec::new();
        }
        let Some((_, touched)) = self.in_flight.back() else {
            return Vec::new();
        };
        touched
            .iter()
            .filter_map(|(worker, id)| {
                if *worker {
                    self.workers.get(id)
                } else {
                    self.customers.get(id)
                }
            })
            .filter_map(|stream| stream.frames_of(no))
            .collect()
    }

    pub(super) fn send_worker(&mut self, worker: &str, event: &WorkerEvent) {
        // Optional frames go only to clients that asked for them in `hello.features`.
        if matches!(event, WorkerEvent::Decision { .. })
            && !self.workers.get(worker).is_some_and(|s| s.wants_decisions)
        {
            return;
        }
        push_held(
            stream_of(
                &mut self.workers,
                &self.streams,
                self.store.as_ref(),
                worker,
                || false,
            ),
            (true, worker),
            event,
            self.batch_no,
            &mut self.touched,
            &mut self.held,
        );
    }

    /// A frame outside the stream (seq 0), for the current connection only.
    pub(super) fn send_worker_direct(&mut self, worker: &str, event: &WorkerEvent) {
        if let Some(conn) = self.workers.get(worker).and_then(|s| s.conn.as_ref()) {
            self.held
                .push((conn.clone(), protocol::encode(0, event).into()));
        }
    }

    pub(super) fn send_customer(&mut self, conversation: &str, event: &CustomerEvent) {
        push_held(
            stream_of(
                &mut self.customers,
                &self.streams,
                self.store.as_ref(),
                conversation,
                || conversation_ended(&self.dispatch, conversation),
            ),
            (false, conversation),
            event,
            self.batch_no,
            &mut self.touched,
            &mut self.held,
        );
    }
}
