//! The writing hub's lease: renewed every [`RENEW_EVERY`] from a connection of its own, so that
//! a standby hub can tell a live writer from one that was killed, paused or cut off.
//!
//! The writer lock (a session advisory lock) is what keeps two hubs from writing at once: a
//! hub appends only through the session that holds it. The lease says whether that session's
//! hub is still alive. A standby hub (`hub --standby`) waits for the lock; when the lease has
//! not been renewed for [`LEASE`], it ends the holder's session, which aborts anything that
//! session was writing and frees the lock, takes the lock and raises the lease's `epoch`. The
//! hub it replaced, if it was only paused, finds its session gone when it wakes; its writer
//! reconnects only if the epoch is still its own, so it never writes again
//! ([`StoreError::Fenced`](super::super::StoreError::Fenced)); the hub stops (status 75) as soon
//! as either its next append or this heartbeat finds the epoch changed.
//!
//! [`LEASE`]: super::link::LEASE

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::thread::JoinHandle;

use super::super::choice::PostgresTarget;
use super::link::{Link, Purpose, RENEW_EVERY};

/// Renews the lease of epoch `epoch` until dropped, or until another hub has the store.
pub(super) struct Heartbeat {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    pub(super) fn start(target: &PostgresTarget, epoch: Arc<AtomicI64>) -> Heartbeat {
        let stop = Arc::new(AtomicBool::new(false));
        let (target, stopped) = (target.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("store-lease".into())
            .spawn(move || renew(&target, &epoch, &stopped))
            .map_err(|e| tracing::error!("cannot start the thread that renews the lease: {e}"))
            .ok();
        Heartbeat { stop, thread }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

fn renew(target: &PostgresTarget, epoch: &AtomicI64, stop: &AtomicBool) {
    let mut link: Option<Link> = None;
    while !stop.load(Ordering::Acquire) {
        if link.as_ref().is_none_or(|l| l.client.is_closed()) {
            link = Link::connect(target, Purpose::Reader).ok();
        }
        if let Some(l) = &link {
            let mine = epoch.load(Ordering::Acquire);
            match l.block(l.client.execute(
                "UPDATE hub_lease SET renewed_at = clock_timestamp() WHERE epoch = $1",
                &[&mine],
            )) {
                Ok(0) => {
                    // Replaced (it was paused or cut off past its lease): it must not write
                    // again, and cannot serve without writing, so it stops now rather than at
                    // its next append. Its clients reconnect to the hub that took over.
                    tracing::error!(
                        url = target.redacted(),
                        "another hub has taken the store over: this hub stops"
                    );
                    std::process::exit(crate::committer::FENCED_EXIT);
                }
                Ok(_) => {}
                Err(_) => link = None,
            }
        }
        std::thread::park_timeout(RENEW_EVERY);
    }
}
