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
    /// Commands the hub asked to get again later (`rate_limited`), with when.
    later: Vec<(Instant, String)>,
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
        }
    }

    /// Queue a command with a fresh id and number, and send it now if logged in. Returns the
    /// id.
    pub fn send(&mut self, command: F::Command) -> String {
        let frame: F = self.ids.frame(command);
        let id = frame.id().to_string();
        self.outbox.push(frame.clone(), crate::now_ms());
        if self.conn == ConnState::Connected {
            self.session.send(frame);
        }
        id
    }

    /// The next event of the session, after the courier has done its part: resend the outbox
    /// on login, settle an entry on its answer. `None` once the session has ended.
    pub async fn next(&mut self) -> Option<SessionEvent<E>> {
        let event = loop {
            let Some(due) = self.later.iter().map(|(at, _)| *at).min() else {
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
                    for frame in self.outbox.frames() {
                        self.session.send(frame.clone());
                    }
                }
            }
            SessionEvent::Frame(event) => match (event.answer_to(), event.retry_after_ms()) {
                (Some(id), Some(wait)) if self.outbox.get(id).is_some() => {
                    let at = Instant::now() + Duration::from_millis(wait);
                    self.later.push((at, id.to_string()));
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

    /// Send again, with their ids, the commands whose "later" has come (if not logged in, the
    /// next login sends them with the rest of the outbox).
    fn send_due(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.later.drain(..).partition(|(at, _)| *at <= now);
        self.later = later;
        if self.conn != ConnState::Connected {
            return;
        }
        for (_, id) in due {
            if let Some(pending) = self.outbox.get(&id) {
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
