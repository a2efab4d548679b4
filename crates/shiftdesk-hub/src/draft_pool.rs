//! The threads that write drafts, off the engine thread.
//!
//! A pool of its own, sized by the drafter: the built-in drafter only computes, so more threads
//! than cores would only take turns with the engine and the connections (under load the
//! blocking pool it used before grew to dozens of threads, and each message waited for a share
//! of the core behind them); a drafter that waits on a model server needs many requests in
//! flight. Threads start when there is work for them and no idle one, up to the limit, and stay.
//!
//! Drafting is the work that can wait: a customer's line reaching the worker cannot. So on
//! Linux the pool's threads run at a lower priority (`nice`), and when the hub is short of CPU
//! the engine and the connections go first and a draft arrives a little later.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// How much lower than the rest of the hub drafting runs (added to the thread's nice value).
pub const DRAFT_NICENESS: i32 = 5;

pub struct DraftPool {
    jobs: Sender<Job>,
    shared: Arc<Shared>,
    max_threads: usize,
    started: usize,
}

struct Shared {
    queue: Mutex<Receiver<Job>>,
    idle: AtomicUsize,
}

impl DraftPool {
    /// A pool of at most `max_threads` (at least one).
    pub fn new(max_threads: usize) -> DraftPool {
        let (jobs, queue) = channel();
        DraftPool {
            jobs,
            shared: Arc::new(Shared {
                queue: Mutex::new(queue),
                idle: AtomicUsize::new(0),
            }),
            max_threads: max_threads.max(1),
            started: 0,
        }
    }

    /// Run `job` on a pool thread. Jobs run in the order given when threads are short.
    pub fn run(&mut self, job: impl FnOnce() + Send + 'static) {
        if self.shared.idle.load(Ordering::Acquire) == 0 && self.started < self.max_threads {
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new()
                .name("drafter".into())
                .spawn(move || work(&shared));
            match spawned {
                Ok(_) => self.started += 1,
                // The threads already there carry on with it.
                Err(e) => tracing::warn!("cannot start another drafting thread: {e}"),
            }
        }
        // The threads hold the receiver until the pool is dropped.
        let _ = self.jobs.send(Box::new(job));
        if self.started == 0 {
            tracing::error!("no drafting thread could be started; drafts wait for one");
        }
    }

    /// Threads started so far.
    pub fn threads(&self) -> usize {
        self.started
    }
}

fn work(shared: &Shared) {
    lower_priority();
    loop {
        shared.idle.fetch_add(1, Ordering::AcqRel);
        let job = shared.queue.lock().map(|queue| queue.recv());
        shared.idle.fetch_sub(1, Ordering::AcqRel);
        match job {
            Ok(Ok(job)) => job(),
            // The pool is gone (or a thread panicked holding the queue, which a job cannot do:
            // jobs run outside the lock).
            _ => return,
        }
    }
}

/// Make the calling thread yield to the rest of the hub when the CPU is short.
#[cfg(target_os = "linux")]
fn lower_priority() {
    // On Linux a thread id names just that thread.
    let me = Some(rustix::thread::gettid());
    let lowered = rustix::process::getpriority_process(me)
        .and_then(|now| rustix::process::setpriority_process(me, (now + DRAFT_NICENESS).min(19)));
    if let Err(e) = lowered {
        tracing::debug!("cannot lower the drafting thread's priority: {e}");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn runs_every_job_and_starts_no_more_threads_than_allowed() {
        let mut pool = DraftPool::new(2);
        let (done, results) = channel();
        for i in 0..50 {
            let done = done.clone();
            pool.run(move || {
                std::thread::sleep(Duration::from_millis(1));
                done.send(i).unwrap();
            });
        }
        let mut got: Vec<i32> = (0..50)
            .map(|_| results.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        got.sort();
        assert_eq!(got, (0..50).collect::<Vec<_>>());
        assert!((1..=2).contains(&pool.threads()), "{}", pool.threads());
    }

    #[test]
    fn an_idle_thread_takes_the_next_job_instead_of_a_new_one() {
        let mut pool = DraftPool::new(8);
        for _ in 0..5 {
            let (done, finished) = channel();
            pool.run(move || done.send(()).unwrap());
            finished.recv_timeout(Duration::from_secs(10)).unwrap();
            // Let the thread go back to waiting.
            while pool.shared.idle.load(Ordering::Acquire) == 0 {
                std::thread::yield_now();
            }
        }
        assert_eq!(pool.threads(), 1);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn drafting_threads_run_at_a_lower_priority() {
        let mut pool = DraftPool::new(1);
        let (done, niceness) = channel();
        pool.run(move || {
            let nice = rustix::process::getpriority_process(Some(rustix::thread::gettid()));
            done.send(nice.unwrap()).unwrap();
        });
        let mine = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        let theirs = niceness.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(theirs, (mine + DRAFT_NICENESS).min(19));
    }
}
