//! What the engine, the committer and the server share about a connection: its handle and
//! mailbox (a bounded frame queue and a kill switch), the encoded frame type, the close codes,
//! and the sizes that bound memory: the connection queue, the batch, and the engine's inbox.
//!
//! Its own module so the engine and the committer both depend on it and not on each other.

use std::collections::VecDeque;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

/// Frames waiting for a connection; when full, the client is too slow and is cut off.
///
/// One group commit of [`MAX_BATCH`] inputs lets out all its frames at once, and a supervisor
/// shadowing busy conversations gets up to two from each input (the message and its draft), so
/// the queue holds two such bursts: a client that keeps up is never cut off by a burst. (The
/// committer, which may store several batches in one transaction, lets out at most half this
/// many frames at once. The queue grows only as frames wait: an idle connection holds none.)
pub const CONNECTION_QUEUE: usize = 4 * MAX_BATCH;
pub use shiftdesk_protocol::close::{
    HUB_STOPPED as CLOSE_HUB_STOPPED, HUB_STOPPED_REASON, REPLACED as CLOSE_REPLACED,
    STORE_FAILED as CLOSE_STORE_FAILED, TOO_BIG as CLOSE_TOO_BIG, TOO_SLOW as CLOSE_TOO_SLOW,
};
/// Most inputs in one group commit; more wait for the next one.
pub const MAX_BATCH: usize = 1024;

pub type ConnId = u64;

/// An encoded frame. One allocation, shared by reference count between a stream's resume
/// window and the connections it goes to, and written to the socket as it is.
pub type Frame = axum::extract::ws::Utf8Bytes;

/// What the engine needs to reach one connection: its id and its mailbox.
#[derive(Clone)]
pub struct ConnHandle {
    pub id: ConnId,
    mailbox: Arc<Shared>,
}

impl std::fmt::Debug for ConnHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnHandle").field("id", &self.id).finish()
    }
}

/// A connection's mailbox, shared by its task ([`Mailbox`]) and every [`ConnHandle`] to it: the
/// frames waiting for the socket and the word to hang up, in one small allocation.
///
/// tokio's mpsc and watch channels did this before. Together they took 2.2 KiB per connection,
/// most of it the first block of the frame channel (32 slots), allocated whether a frame ever
/// waited or not: a seventh of what an idle worker cost the hub. Here the queue grows only
/// while frames wait, and gives its room back when a burst has gone out.
struct Shared {
    state: Mutex<State>,
    /// Wakes the connection's task: a frame, or a kill.
    wake: Notify,
}

struct State {
    frames: VecDeque<Frame>,
    /// Most frames that may wait ([`CONNECTION_QUEUE`]).
    capacity: usize,
    /// Set to a close code and reason to make the connection task hang up.
    kill: Option<(u16, String)>,
    /// The connection's task has ended: nothing more is queued.
    closed: bool,
}

/// Frames a drained queue may keep room for; past that, the room of a burst is given back.
const KEEP_ROOM: usize = 16;

impl State {
    /// The oldest frame; a queue that it empties gives back the room of a burst.
    fn pop_frame(&mut self) -> Option<Frame> {
        let frame = self.frames.pop_front();
        if self.frames.is_empty() && self.frames.capacity() > KEEP_ROOM {
            self.frames.shrink_to(KEEP_ROOM);
        }
        frame
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state whole, so a panic elsewhere poisons nothing.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ConnHandle {
    /// A connection's handle and mailbox, holding [`CONNECTION_QUEUE`] frames at most.
    pub fn new(id: ConnId) -> (ConnHandle, Mailbox) {
        Self::with_capacity(id, CONNECTION_QUEUE)
    }

    /// A connection's handle and mailbox, holding `capacity` frames at most.
    pub fn with_capacity(id: ConnId, capacity: usize) -> (ConnHandle, Mailbox) {
        let mailbox = Arc::new(Shared {
            state: Mutex::new(State {
                frames: VecDeque::new(),
                capacity,
                kill: None,
                closed: false,
            }),
            wake: Notify::new(),
        });
        (
            ConnHandle {
                id,
                mailbox: mailbox.clone(),
            },
            Mailbox(mailbox),
        )
    }

    /// Queue a frame. A connection whose queue is full (its capacity) is too slow and is
    /// cut off; one that has ended takes nothing. Either way the frame is dropped: the client
    /// resumes its stream from what it has.
    pub(crate) fn send(&self, frame: Frame) -> bool {
        let mut state = self.mailbox.state();
        if state.closed {
            return false;
        }
        if state.frames.len() >= state.capacity {
            state.kill = Some((CLOSE_TOO_SLOW, "too slow".into()));
            drop(state);
            self.mailbox.wake.notify_one();
            return false;
        }
        state.frames.push_back(frame);
        drop(state);
        self.mailbox.wake.notify_one();
        true
    }

    /// Make the connection hang up with this close code and reason (a later kill replaces an
    /// earlier one that the connection has not acted on yet).
    pub fn kill(&self, code: u16, reason: impl Into<String>) {
        self.mailbox.state().kill = Some((code, reason.into()));
        self.mailbox.wake.notify_one();
    }
}

/// What a connection's task takes from its mailbox.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Hang up with this code and reason. Comes before any frame still queued.
    Kill(u16, String),
    Frame(Frame),
}

/// The receiving end of a connection's mailbox, owned by the connection's task. Dropping it
/// closes the mailbox: frames sent afterwards are refused.
pub struct Mailbox(Arc<Shared>);

impl Mailbox {
    /// Wait for the next delivery: a kill first, then the frames in the order they were sent.
    /// Cancel-safe: nothing is taken until it is returned.
    pub async fn next(&self) -> Delivery {
        loop {
            // A wakeup that came before this wait is kept by the Notify (one permit), so a
            // frame queued between the look and the wait is not missed.
            if let Some(delivery) = self.take() {
                return delivery;
            }
            self.0.wake.notified().await;
        }
    }

    fn take(&self) -> Option<Delivery> {
        let mut state = self.0.state();
        if let Some((code, reason)) = state.kill.clone() {
            return Some(Delivery::Kill(code, reason));
        }
        state.pop_frame().map(Delivery::Frame)
    }

    /// The next queued frame, if one is waiting (kill or not).
    pub fn try_recv(&self) -> Option<Frame> {
        self.0.state().pop_frame()
    }

    /// The close code and reason the connection was told to hang up with, if it was.
    pub fn kill_reason(&self) -> Option<(u16, String)> {
        self.0.state().kill.clone()
    }

    /// Wait until the connection is told to hang up.
    pub async fn killed(&self) -> (u16, String) {
        loop {
            if let Some(kill) = self.kill_reason() {
                return kill;
            }
            self.0.wake.notified().await;
        }
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.closed = true;
        state.frames = VecDeque::new();
    }
}

/// Send a frame outside any stream (seq 0) to one connection.
pub(crate) fn direct<E: serde::Serialize>(conn: &ConnHandle, event: &E) {
    conn.send(direct_frame(event));
}

/// A frame outside any stream (seq 0).
pub(crate) fn direct_frame<E: serde::Serialize>(event: &E) -> Frame {
    shiftdesk_protocol::encode(0, event).into()
}

/// Messages the engine's inbox holds at most: eight batches. Past that, connection tasks wait
/// before they read more from their sockets, so a flood of frames slows its senders down
/// (through TCP) instead of growing the hub's memory without limit.
pub const INBOX_CAPACITY: usize = 8 * MAX_BATCH;

/// The sending side of a bounded inbox read by a thread (the engine's), usable from tasks and
/// from threads.
#[derive(Debug)]
pub struct Inbox<M>(SyncSender<M>);

impl<M> Clone for Inbox<M> {
    fn clone(&self) -> Self {
        Inbox(self.0.clone())
    }
}

/// The inbox's reader has stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl<M> Inbox<M> {
    /// A bounded inbox holding `capacity` messages, and its receiving end.
    pub fn bounded(capacity: usize) -> (Inbox<M>, std::sync::mpsc::Receiver<M>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
        (Inbox(tx), rx)
    }

    /// Send from an async task: when the inbox is full, wait (without blocking the runtime's
    /// thread) until there is room.
    pub async fn send(&self, mut msg: M) -> Result<(), Closed> {
        let mut pause = Duration::from_micros(100);
        loop {
            match self.0.try_send(msg) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Full(back)) => {
                    msg = back;
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(10));
                }
                Err(TrySendError::Disconnected(_)) => return Err(Closed),
            }
        }
    }

    /// Send from a thread of its own (a drafter), blocking while the inbox is full.
    pub fn send_blocking(&self, msg: M) -> Result<(), Closed> {
        self.0.send(msg).map_err(|_| Closed)
    }

    /// Send only if there is room: for what may be dropped (a draft's partial text, a wakeup).
    pub fn try_send(&self, msg: M) -> bool {
        self.0.try_send(msg).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full inbox holds its sender back until the reader takes a message; nothing is lost
    /// and the order is kept.
    #[test]
    fn a_full_inbox_makes_the_sender_wait_and_loses_nothing() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let (inbox, reader) = Inbox::bounded(2);
        assert!(inbox.try_send(1));
        assert!(inbox.try_send(2));
        assert!(!inbox.try_send(3), "full: a droppable message is dropped");
        let reading = std::thread::spawn(move || {
            (0..4)
                .map(|_| reader.recv().expect("a message"))
                .collect::<Vec<u32>>()
        });
        runtime.block_on(async {
            inbox.send(3).await.expect("room once the reader reads");
            inbox.send(4).await.expect("room once the reader reads");
        });
        assert_eq!(reading.join().expect("reader"), vec![1, 2, 3, 4]);
        assert_eq!(
            runtime.block_on(inbox.send(5)),
            Err(Closed),
            "the reader is gone"
        );
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
    }

    /// Frames come out in the order they went in; a kill comes before the frames still
    /// queued, and stays (the connection reads it again when it ends).
    #[test]
    fn a_mailbox_delivers_in_order_and_a_kill_first() {
        let (conn, mailbox) = ConnHandle::new(1);
        assert!(conn.send("one".into()));
        assert!(conn.send("two".into()));
        let rt = runtime();
        assert_eq!(rt.block_on(mailbox.next()), Delivery::Frame("one".into()));
        conn.kill(CLOSE_REPLACED, "logged in elsewhere");
        let kill = Delivery::Kill(CLOSE_REPLACED, "logged in elsewhere".into());
        assert_eq!(rt.block_on(mailbox.next()), kill);
        assert_eq!(rt.block_on(mailbox.next()), kill, "a kill is not used up");
        assert_eq!(
            mailbox.try_recv(),
            Some("two".into()),
            "the frame is still there"
        );
        assert_eq!(
            mailbox.kill_reason(),
            Some((CLOSE_REPLACED, "logged in elsewhere".into()))
        );
    }

    /// A task waiting on its mailbox wakes for a frame sent from another thread (the engine's),
    /// however the two interleave: none of many frames is missed or repeated.
    #[test]
    fn a_waiting_connection_wakes_for_every_frame_from_another_thread() {
        let (conn, mailbox) = ConnHandle::new(1);
        let sender = std::thread::spawn(move || {
            for i in 0..10_000 {
                while !conn.send(i.to_string().into()) {
                    std::thread::yield_now();
                }
                if i % 64 == 0 {
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
            conn
        });
        let received = runtime().block_on(async {
            let mut received = Vec::new();
            while received.len() < 10_000 {
                match mailbox.next().await {
                    Delivery::Frame(frame) => received.push(frame.to_string()),
                    Delivery::Kill(code, reason) => panic!("killed: {code} {reason}"),
                }
            }
            received
        });
        let conn = sender.join().expect("sender");
        assert_eq!(
            received,
            (0..10_000).map(|i| i.to_string()).collect::<Vec<_>>()
        );
        assert!(mailbox.try_recv().is_none());
        drop(conn);
    }

    /// A full queue refuses the frame and tells the connection it is too slow; a mailbox
    /// whose connection has ended refuses everything and holds nothing.
    #[test]
    fn a_full_or_closed_mailbox_refuses_frames() {
        let (conn, mailbox) = ConnHandle::with_capacity(1, 2);
        assert!(conn.send("a".into()));
        assert!(conn.send("b".into()));
        assert!(!conn.send("c".into()), "full");
        let (code, _) = runtime().block_on(mailbox.killed());
        assert_eq!(code, CLOSE_TOO_SLOW);
        assert_eq!(
            mailbox.try_recv(),
            Some("a".into()),
            "what was queued stays"
        );
        drop(mailbox);
        assert!(!conn.send("d".into()), "the connection has ended");
        assert!(conn.mailbox.state().frames.is_empty());
    }

    /// A burst's room is given back once it has gone out, so an idle connection after a busy
    /// spell is small again.
    #[test]
    fn a_drained_mailbox_gives_back_the_room_of_a_burst() {
        let (conn, mailbox) = ConnHandle::new(1);
        for i in 0..1000 {
            assert!(conn.send(i.to_string().into()));
        }
        while mailbox.try_recv().is_some() {}
        assert!(conn.mailbox.state().frames.capacity() <= KEEP_ROOM);
    }
}
