//! A session with an outbox: what a simple client (the `customer` command, the simulated
//! customers and workers) needs to have every command applied exactly once across reconnects.
//!
//! Every command gets a fresh id and number (`cseq`) and waits in the [`Outbox`] until the hub
//! answers it (`ack` or `error`); after each login everything still waiting is sent again, in
//! order, with the same ids and numbers (PROTOCOL.md 8.2, steps 5 to 7). The console's `App` does the same in its pure core,
//! with retries on `unavailable` on top.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::outbox::{IdGen, Outbox};
use crate::session::{ConnState, Frame, HubEvent, Session, SessionEvent};

pub struct Courier<F: Frame, E> {
    session: Session<F>,
    events: mpsc::UnboundedReceiver<SessionEvent<E>>,
    outbox: Outbox<F>,
    ids: IdGen,
    conn: ConnState,
    /// Commands the hub asked to get again later (`rate_limited`), and when all of them go:
    /// together, in the order made, at the latest time the hub asked for (each answer's wait
    /// counts from when the hub read that command, so a later one may name an earlier time).
    later: Vec<String>,
    retry_at: Option<Instant>,
    /// Commands made while some wait in `later`: held back to go with them, in order, so that
    /// none overtakes them (a customer's lines reach the worker in the order written).
    held: Vec<String>,
}

impl<F: Frame, E: HubEvent> Courier<F, E> {
    /// Wrap a session just spawned (`worker::spawn`, `customer::spawn`).
    pub fn new(
        (session, events): (Session<F>, mpsc::UnboundedReceiver<SessionEvent<E>>),
    ) -> Courier<F, E> {
        Courier {
            session,
            events,
            outbox: Outbox::default(),
            ids: IdGen::random(),
            conn: ConnState::Connecting { attempt: 1 },
            later: Vec::new(),
            retry_at: None,
            held: Vec::new(),
        }
    }

    /// Queue a command with a fresh id and number, and send it now if logged in. Returns the
    /// id.
    pub fn send(&mut self, command: F::Command) -> String {
        let frame: F = self.ids.frame(command);
        let id = frame.id().to_string();
        self.outbox.push(frame.clone(), crate::now_ms());
        if !self.later.is_empty() {
            self.held.push(id.clone());
        } else if self.conn == ConnState::Connected {
            self.session.send(frame);
        }
        id
    }

    /// The next event of the session, after the courier has done its part: resend the outbox
    /// on login, settle an entry on its answer. `None` once the session has ended.
    pub async fn next(&mut self) -> Option<SessionEvent<E>> {
        let event = loop {
            let Some(due) = self.retry_at else {
                break self.events.recv().await?;
            };
            tokio::select! {
                event = self.events.recv() => break event?,
                _ = tokio::time::sleep_until(due) => self.send_due(),
            }
        };
        match &event {
            SessionEvent::Conn(state) => {
                self.conn = state.clone();
                if *state == ConnState::Connected {
                    // Everything waiting goes, in order: a new connection starts afresh.
                    self.later.clear();
                    self.held.clear();
                    self.retry_at = None;
                    for frame in self.outbox.frames() {
                        self.session.send(frame.clone());
                    }
                }
            }
            SessionEvent::Frame(event) => match (event.answer_to(), event.retry_after_ms()) {
                (Some(id), Some(wait)) if self.outbox.get(id).is_some() => {
                    let at = Instant::now() + Duration::from_millis(wait);
                    self.retry_at = Some(self.retry_at.map_or(at, |due| due.max(at)));
                    if !self.later.iter().any(|l| l == id) {
                        self.later.push(id.to_string());
                    }
                }
                (Some(id), _) => {
                    self.outbox.take(id);
                }
                (None, _) => {}
            },
            SessionEvent::Lost(_) => {}
        }
        Some(event)
    }

    /// The hub's "later" has come: send the commands it turned away again, with their ids, and
    /// those held behind them, all in the order made (if not logged in, the next login sends
    /// them with the rest of the outbox).
    fn send_due(&mut self) {
        self.retry_at = None;
        if self.conn != ConnState::Connected {
            // The next login sends the whole outbox again, in order.
            return;
        }
        let mut waiting = std::mem::take(&mut self.later);
        waiting.append(&mut self.held);
        for pending in self.outbox.entries() {
            if waiting.iter().any(|id| id == pending.frame.id()) {
                self.session.send(pending.frame.clone());
            }
        }
    }

    /// Commands the hub has not answered yet.
    pub fn pending(&self) -> usize {
        self.outbox.len()
    }

    pub fn is_pending(&self, id: &str) -> bool {
        self.outbox.get(id).is_some()
    }

    pub fn conn(&self) -> &ConnState {
        &self.conn
    }

    /// Close the connection (after what was already handed to the session is written).
    pub async fn stop(self) {
        let _ = self.session.stop().await;
    }
}
