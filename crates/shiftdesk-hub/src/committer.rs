//! Group commits on a thread of their own, so the engine keeps working while the disk flushes.
//!
//! The engine hands over each batch (its facts, its command ids and the frames they caused) and
//! goes on with the next inputs. This thread appends the batch to the log in one durable
//! transaction and only then sends its frames, and raises [`Committer::durable`] (which the
//! engine reads when it next wakes: telling it by message would wake it once per commit, for
//! bookkeeping that can wait). Batches that queued up while a flush was under
//! way go into the next transaction together, so a slow disk means fewer, larger commits, not
//! a growing queue. Batches are committed in order, and the frames of one batch go out before
//! those of the next.
//!
//! When a commit fails, that batch and every later one (built on it) did not happen: their
//! frames are not sent, their connections are asked to resume, and the engine is told
//! (through the `failed` callback given to [`Committer::start`]) so it can rebuild its state
//! from the log. Batches the engine
//! made before it heard are dropped the same way; it numbers its batches by `generation`, and
//! raises it when it has rebuilt.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::conn::{CLOSE_STORE_FAILED, CONNECTION_QUEUE, ConnHandle, Frame};
use crate::facts::Fact;
use crate::metrics::{FactObserver, HubMetrics};
use crate::store::{
    ClientSequence, CommandRecord, EventLog, StoreError, StreamChanges, StreamFrames,
};
use shiftdesk_protocol::Millis;

/// The hub's exit status when another hub has taken its store over (EX_TEMPFAIL).
pub const FENCED_EXIT: i32 = 75;

/// Most batches in one transaction: bounds how long the frames of the first wait.
const MAX_COALESCED: usize = 16;
/// Most frames one transaction lets out (unless a single batch has more), so that they fit in a
/// connection's queue with room to spare even if they are all for one supervisor: a burst from
/// one commit must not cut off a client that keeps up.
const MAX_COALESCED_FRAMES: usize = CONNECTION_QUEUE / 2;

/// One batch of the engine's: what to store, and what to send once it is stored.
pub struct Batch {
    /// Numbers batches in the order made, from 1; see [`Committer::durable`].
    pub no: u64,
    pub generation: u64,
    pub facts: Vec<Fact>,
    pub commands: Vec<CommandRecord>,
    pub sequences: Vec<ClientSequence>,
    /// The frames the batch put on clients' streams, for a store that keeps streams (else
    /// empty); a client may be connected or not.
    pub frames: Vec<StreamFrames>,
    /// Streams let go of (an ended conversation's, a while after): a store that keeps streams
    /// deletes their frames.
    pub forgotten: Vec<String>,
    pub held: Vec<(ConnHandle, Frame)>,
    pub at: Millis,
}

/// Where the frames of stored batches go.
pub enum Outlet {
    /// Sent from the commit thread, one by one (tests, where no runtime serves connections).
    Direct,
    /// Handed over in one list per transaction to a task on the connections' runtime, which
    /// sends them. A send from outside the runtime wakes it: a system call and, where the
    /// runtime shares a core with this thread, a switch to it and back. Per frame, that was a
    /// quarter of this thread's time at moderate load; this way it is once per transaction.
    Runtime(tokio::sync::mpsc::UnboundedSender<Vec<(ConnHandle, Frame)>>),
}

impl Outlet {
    /// Start the sending task on `runtime`; it ends when the committer does, once it has
    /// handed every committed frame to its connection.
    pub fn on(runtime: &tokio::runtime::Handle) -> (Outlet, tokio::task::JoinHandle<()>) {
        let (lists, mut queue) = tokio::sync::mpsc::unbounded_channel::<Vec<(ConnHandle, Frame)>>();
        let task = runtime.spawn(async move {
            while let Some(frames) = queue.recv().await {
                send_each(frames);
            }
        });
        (Outlet::Runtime(lists), task)
    }

    fn deliver(&self, frames: Vec<(ConnHandle, Frame)>) {
        match self {
            Outlet::Direct => send_each(frames),
            Outlet::Runtime(lists) => {
                if lists.send(frames).is_err() {
                    // The runtime is gone, and with it every connection.
                    tracing::debug!("no runtime to send committed frames on");
                }
            }
        }
    }
}

fn send_each(frames: Vec<(ConnHandle, Frame)>) {
    for (conn, frame) in frames {
        conn.send(frame);
    }
}

pub struct Committer {
    batches: Option<Sender<Batch>>,
    thread: Option<JoinHandle<()>>,
    durable: Arc<AtomicU64>,
}

impl Committer {
    /// Start the thread; it appends with `store`, sends frames through `outlet` and reports
    /// each failed commit's generation to `failed` (before it asks anyone to resume).
    pub fn start(
        store: Box<dyn EventLog>,
        failed: Box<dyn Fn(u64) + Send>,
        outlet: Outlet,
    ) -> std::io::Result<Committer> {
        Committer::start_measured(store, failed, outlet, Arc::new(HubMetrics::new()))
    }

    /// [`Committer::start`], counting each append and each stored fact in `metrics`.
    pub fn start_measured(
        store: Box<dyn EventLog>,
        failed: Box<dyn Fn(u64) + Send>,
        outlet: Outlet,
        metrics: Arc<HubMetrics>,
    ) -> std::io::Result<Committer> {
        let (batches, queue) = channel();
        let durable = Arc::new(AtomicU64::new(0));
        let stored = durable.clone();
        let thread = std::thread::Builder::new()
            .name("hub-commit".into())
            .spawn(move || {
                let measure = Measure {
                    observer: FactObserver::new(metrics.clone()),
                    metrics,
                };
                commit_all(store, queue, failed, &outlet, &stored, measure)
            })?;
        Ok(Committer {
            batches: Some(batches),
            thread: Some(thread),
            durable,
        })
    }

    /// The log has every batch up to this one (0: none yet), and their frames are on their way
    /// (handed to the [`Outlet`]).
    pub fn durable(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    pub fn commit(&self, batch: Batch) {
        if let Some(batches) = &self.batches
            && let Err(unsent) = batches.send(batch)
        {
            // The thread is gone (it only stops when told to): nothing can be stored.
            tracing::error!("the commit thread has stopped; a batch is dropped");
            ask_to_resume(&unsent.0.held);
        }
    }

    /// Commit what was handed over, send its frames, and stop.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        drop(self.batches.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn commit_all(
    mut store: Box<dyn EventLog>,
    queue: Receiver<Batch>,
    report_failure: Box<dyn Fn(u64) + Send>,
    outlet: &Outlet,
    durable: &AtomicU64,
    mut measure: Measure,
) {
    // Batches of this generation and older are void: one of them failed.
    let mut failed: Option<u64> = None;
    let mut group: Vec<Batch> = Vec::new();
    let mut facts: Vec<Fact> = Vec::new();
    let mut commands: Vec<CommandRecord> = Vec::new();
    let mut sequences: Vec<ClientSequence> = Vec::new();
    let mut stream_frames: Vec<StreamFrames> = Vec::new();
    let mut forgotten: Vec<String> = Vec::new();
    // A batch taken from the queue that did not fit in the last group.
    let mut left_over: Option<Batch> = None;
    loop {
        let first = match left_over.take() {
            Some(batch) => batch,
            None => match queue.recv() {
                Ok(batch) => batch,
                Err(_) => break,
            },
        };
        let mut frames = first.held.len();
        group.push(first);
        while group.len() < MAX_COALESCED
            && let Ok(next) = queue.try_recv()
        {
            if frames + next.held.len() > MAX_COALESCED_FRAMES {
                left_over = Some(next);
                break;
            }
            frames += next.held.len();
            group.push(next);
        }
        // Batches the engine made before it heard of a failure are void.
        if let Some(generation) = failed {
            let (void, live): (Vec<Batch>, Vec<Batch>) =
                group.drain(..).partition(|b| b.generation <= generation);
            for batch in &void {
                ask_to_resume(&batch.held);
            }
            group = live;
        }
        if group.is_empty() {
            continue;
        }
        let at = group.last().map_or(0, |b| b.at);
        for batch in &mut group {
            facts.append(&mut batch.facts);
            commands.append(&mut batch.commands);
            sequences.append(&mut batch.sequences);
            stream_frames.append(&mut batch.frames);
            forgotten.append(&mut batch.forgotten);
        }
        let started = Instant::now();
        let streams = StreamChanges {
            frames: &stream_frames,
            forgotten: &forgotten,
        };
        let stored = store.append_with_frames(&facts, &commands, &sequences, streams, at);
        if !(facts.is_empty() && commands.is_empty() && sequences.is_empty()) {
            measure.appended(started.elapsed(), &facts, &stored);
        }
        facts.clear();
        commands.clear();
        sequences.clear();
        stream_frames.clear();
        forgotten.clear();
        match stored {
            Ok(()) => {
                let last = group.last().map_or(0, |b| b.no);
                let mut held = Vec::with_capacity(frames);
                for mut batch in group.drain(..) {
                    held.append(&mut batch.held);
                }
                outlet.deliver(held);
                durable.store(last, Ordering::Release);
            }
            Err(StoreError::Fenced(why)) => {
                // Another hub has the store (see `store::postgres::lease`): this one must not
                // write again, and cannot serve without writing. Its clients reconnect to the
                // hub that took over; nothing of this batch was stored or sent.
                tracing::error!(%why, "this hub was replaced as the store's writer: stopping");
                for batch in group.drain(..) {
                    ask_to_resume(&batch.held);
                }
                std::process::exit(FENCED_EXIT);
            }
            Err(e) => {
                let generation = group[0].generation;
                tracing::error!(%e, "cannot append to the event log; the batch is rolled back");
                failed = Some(generation);
                // The engine hears first, so whoever reconnects after being told is served by
                // the rebuilt state.
                report_failure(generation);
                for batch in group.drain(..) {
                    ask_to_resume(&batch.held);
                }
            }
        }
    }
}

/// What the commit thread counts: each append's time and size, and what its facts say
/// (appends with nothing to write, only frames, are not counted).
struct Measure {
    metrics: Arc<HubMetrics>,
    observer: FactObserver,
}

impl Measure {
    fn appended(&mut self, took: Duration, facts: &[Fact], stored: &Result<(), StoreError>) {
        self.metrics.commit_done(
            took,
            facts.len(),
            stored.as_ref().map(|_| ()).map_err(ToString::to_string),
        );
        if stored.is_ok() {
            for fact in facts {
                self.observer.stored(fact);
            }
        }
    }
}

/// Hang up on each connection that was waiting for these frames, asking it to resume.
pub fn ask_to_resume(held: &[(ConnHandle, Frame)]) {
    let mut told = HashSet::new();
    for (conn, _) in held {
        if told.insert(conn.id) {
            conn.kill(
                CLOSE_STORE_FAILED,
                "the hub could not store this; reconnect and resume",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use crate::conn::Mailbox;

    use super::*;
    use crate::store::StoreError;
    use shiftdesk_protocol::WorkerStatus;

    /// Remembers what was appended, and how many facts each append had; fails while `failing`
    /// is set; an append waits while someone holds `gate`.
    #[derive(Clone, Default)]
    struct Recording {
        appended: Arc<Mutex<Vec<Fact>>>,
        sizes: Arc<Mutex<Vec<usize>>>,
        failing: Arc<AtomicBool>,
        gate: Arc<Mutex<()>>,
    }

    impl EventLog for Recording {
        fn append(
            &mut self,
            facts: &[Fact],
            _: &[CommandRecord],
            _: &[ClientSequence],
            _: Millis,
        ) -> Result<(), StoreError> {
            drop(self.gate.lock().unwrap());
            if self.failing.load(Ordering::SeqCst) {
                return Err(StoreError::Invalid("disk full".into()));
            }
            self.sizes.lock().unwrap().push(facts.len());
            self.appended.lock().unwrap().extend_from_slice(facts);
            Ok(())
        }
        fn load_after(&self, after: i64) -> Result<Vec<(i64, Fact)>, StoreError> {
            let appended = self.appended.lock().unwrap();
            Ok((1..)
                .zip(appended.iter().cloned())
                .filter(|(seq, _)| *seq > after)
                .collect())
        }
    }

    fn fact(i: u64) -> Fact {
        Fact::StatusChanged {
            worker: format!("w{i}"),
            status: WorkerStatus::Available,
            at: i,
        }
    }

    fn connection(id: u64) -> (ConnHandle, Mailbox) {
        ConnHandle::with_capacity(id, 64)
    }

    fn batch(no: u64, generation: u64, conn: &ConnHandle) -> Batch {
        Batch {
            no,
            generation,
            facts: vec![fact(no)],
            commands: Vec::new(),
            sequences: Vec::new(),
            frames: Vec::new(),
            forgotten: Vec::new(),
            held: vec![(conn.clone(), format!("frame {no}").into())],
            at: no,
        }
    }

    fn wait_durable(committer: &Committer, up_to: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while committer.durable() != up_to {
            assert!(
                std::time::Instant::now() < deadline,
                "batch {up_to} is not stored: {}",
                committer.durable()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// A `failed` callback for [`Committer::start`] and where its reports go.
    fn reporting() -> (Box<dyn Fn(u64) + Send>, Receiver<u64>) {
        let (tx, rx) = channel();
        (
            Box::new(move |generation| {
                let _ = tx.send(generation);
            }),
            rx,
        )
    }

    fn report(reports: &Receiver<u64>) -> u64 {
        reports
            .recv_timeout(Duration::from_secs(10))
            .expect("the committer reports")
    }

    #[test]
    fn batches_are_stored_in_order_and_their_frames_follow_in_order() {
        let store = Recording::default();
        let (failed, reports) = reporting();
        let committer = Committer::start(Box::new(store.clone()), failed, Outlet::Direct).unwrap();
        let (conn, frames) = connection(1);
        for no in 1..=50 {
            committer.commit(batch(no, 0, &conn));
        }
        let durable = committer.durable.clone();
        committer.finish();
        assert_eq!(durable.load(Ordering::SeqCst), 50);
        assert!(reports.try_recv().is_err(), "success needs no message");
        assert_eq!(
            *store.appended.lock().unwrap(),
            (1..=50).map(fact).collect::<Vec<_>>()
        );
        let sent: Vec<String> = std::iter::from_fn(|| frames.try_recv())
            .map(|f| f.to_string())
            .collect();
        assert_eq!(
            sent,
            (1..=50).map(|no| format!("frame {no}")).collect::<Vec<_>>()
        );
    }

    /// Batches that queued behind a slow flush are stored together, but no more frames at once
    /// than fit in half a connection's queue: here batches of 1,000 frames for one supervisor
    /// go two at a time at most.
    #[test]
    fn batches_that_queued_go_together_but_never_more_frames_than_a_queue_holds() {
        let store = Recording::default();
        let (failed, _reports) = reporting();
        let committer = Committer::start(Box::new(store.clone()), failed, Outlet::Direct).unwrap();
        let (supervisor, queue) = ConnHandle::with_capacity(1, 10 * 1000);
        let slow_disk = store.gate.lock().unwrap();
        for no in 1..=10 {
            committer.commit(Batch {
                held: (0..1000)
                    .map(|i| (supervisor.clone(), format!("{no}.{i}").into()))
                    .collect(),
                ..batch(no, 0, &supervisor)
            });
        }
        // The first append waits for the disk while the rest queue up.
        std::thread::sleep(Duration::from_millis(100));
        drop(slow_disk);
        committer.finish();
        let sizes = store.sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 10, "{sizes:?}");
        assert!(
            sizes.contains(&2),
            "batches that queued go together: {sizes:?}"
        );
        assert!(
            sizes.iter().all(|&n| n <= 2),
            "at most 2,048 frames at once: {sizes:?}"
        );
        let mut received = 0;
        while queue.try_recv().is_some() {
            received += 1;
        }
        assert_eq!(received, 10 * 1000);
    }

    /// `/readyz` reads the last append's result: a failure is reported (and counted) until an
    /// append succeeds again.
    #[test]
    fn the_last_append_decides_the_store_error() {
        let store = Recording::default();
        let (failed, reports) = reporting();
        let metrics = Arc::new(HubMetrics::new());
        let committer = Committer::start_measured(
            Box::new(store.clone()),
            failed,
            Outlet::Direct,
            metrics.clone(),
        )
        .unwrap();
        let (conn, _frames) = connection(1);
        committer.commit(batch(1, 0, &conn));
        wait_durable(&committer, 1);
        assert_eq!(metrics.store_error(), None);

        store.failing.store(true, Ordering::SeqCst);
        committer.commit(batch(2, 0, &conn));
        assert_eq!(report(&reports), 0);
        let error = metrics.store_error().expect("the failure is kept");
        assert!(error.contains("disk full"), "{error}");

        store.failing.store(false, Ordering::SeqCst);
        committer.commit(batch(3, 1, &conn));
        wait_durable(&committer, 3);
        committer.finish();
        assert_eq!(metrics.store_error(), None, "a stored batch clears it");
        let text = metrics.render();
        assert!(text.contains("shiftdesk_commit_failures_total 1"), "{text}");
        assert!(text.contains("shiftdesk_commit_seconds_count 3"), "{text}");
    }

    /// A failed batch and the ones made before the engine heard are not stored and send
    /// nothing; their connections are asked to resume; the engine hears once; a batch of the
    /// next generation is stored.
    #[test]
    fn after_a_failed_commit_only_the_next_generation_is_stored() {
        let store = Recording::default();
        let (failed, reports) = reporting();
        let committer = Committer::start(Box::new(store.clone()), failed, Outlet::Direct).unwrap();
        let (ok_conn, ok_frames) = connection(1);
        committer.commit(batch(1, 0, &ok_conn));
        wait_durable(&committer, 1);

        store.failing.store(true, Ordering::SeqCst);
        let (lost, lost_frames) = connection(2);
        committer.commit(batch(2, 0, &lost));
        assert_eq!(report(&reports), 0, "generation 0 failed");
        store.failing.store(false, Ordering::SeqCst);
        // Made on the failed state before the engine heard: void, though the disk is back.
        let (late, late_frames) = connection(3);
        committer.commit(batch(3, 0, &late));
        committer.commit(batch(4, 1, &ok_conn));
        wait_durable(&committer, 4);
        committer.finish();
        assert!(reports.try_recv().is_err(), "the failure is reported once");

        assert_eq!(*store.appended.lock().unwrap(), vec![fact(1), fact(4)]);
        assert_eq!(&*ok_frames.try_recv().unwrap(), "frame 1");
        assert_eq!(&*ok_frames.try_recv().unwrap(), "frame 4");
        for frames in [&lost_frames, &late_frames] {
            assert!(
                frames.try_recv().is_none(),
                "nothing of a void batch is sent"
            );
            let told = frames.kill_reason();
            assert_eq!(told.map(|(code, _)| code), Some(CLOSE_STORE_FAILED));
        }
    }
}
