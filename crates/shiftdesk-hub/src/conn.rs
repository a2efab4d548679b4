//! What the engine, the committer and the server share about a connection: its handle (a
//! bounded frame queue and a kill switch), the encoded frame type, the close codes, and the
//! sizes that bound memory: the connection queue, the batch, and the engine's inbox.
//!
//! Its own module so the engine and the committer both depend on it and not on each other.

use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

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

/// What the engine needs to reach one connection.
#[derive(Debug, Clone)]
pub struct ConnHandle {
    pub id: ConnId,
    pub frames: mpsc::Sender<Frame>,
    /// Set to a close code and reason to make the connection task hang up.
    pub kill: watch::Sender<Option<(u16, String)>>,
}

impl ConnHandle {
    pub(crate) fn send(&self, frame: Frame) -> bool {
        match self.frames.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.kill
                    .send_replace(Some((CLOSE_TOO_SLOW, "too slow".into())));
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// Send a frame outside any stream (seq 0) to one connection.
pub(crate) fn direct<E: serde::Serialize>(conn: &ConnHandle, event: &E) {
    conn.send(shiftdesk_protocol::encode(0, event).into());
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
}
