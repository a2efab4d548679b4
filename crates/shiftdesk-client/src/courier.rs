//! A session with an outbox: what a simple client (the `customer` command, the simulated
//! customers and workers) needs to have every command applied exactly once across reconnects.
//!
//! Every command gets a fresh id and waits in the [`Outbox`] until the hub answers it (`ack` or
//! `error`); after each login everything still waiting is sent again, in order, with the same
//! ids (PROTOCOL.md 8.2, steps 5 to 7). The console's `App` does the same in its pure core,
//! with retries on `unavailable` on top.

use tokio::sync::mpsc;

use crate::outbox::{IdGen, Outbox};
use crate::session::{ConnState, Frame, HubEvent, Session, SessionEvent};

pub struct Courier<F: Frame, E> {
    session: Session<F>,
    events: mpsc::UnboundedReceiver<SessionEvent<E>>,
    outbox: Outbox<F>,
    ids: IdGen,
    conn: ConnState,
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
        }
    }

    /// Queue a command with a fresh id, and send it now if logged in. Returns the id.
    pub fn send(&mut self, command: F::Command) -> String {
        let id = self.ids.next_id();
        let frame = F::new(id.clone(), command);
        self.outbox.push(frame.clone(), crate::now_ms());
        if self.conn == ConnState::Connected {
            self.session.send(frame);
        }
        id
    }

    /// The next event of the session, after the courier has done its part: resend the outbox
    /// on login, settle an entry on its answer. `None` once the session has ended.
    pub async fn next(&mut self) -> Option<SessionEvent<E>> {
        let event = self.events.recv().await?;
        match &event {
            SessionEvent::Conn(state) => {
                self.conn = state.clone();
                if *state == ConnState::Connected {
                    for frame in self.outbox.frames() {
                        self.session.send(frame.clone());
                    }
                }
            }
            SessionEvent::Frame(event) => {
                if let Some(id) = event.answer_to() {
                    self.outbox.take(id);
                }
            }
            SessionEvent::Lost(_) => {}
        }
        Some(event)
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
