//! One websocket connection's plumbing, the same for workers and customers: reading frames
//! from the socket, writing what the engine queued for it in batches, and ending it with the
//! right close handshake. What the frames mean is the endpoint's [`super::Dialect`].

use std::sync::atomic::Ordering;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use futures_util::SinkExt;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite;

use super::{AppState, CLOSE_WAIT, HARD_FRAME_LIMIT, Phase, WRITE_BATCH, WRITE_STALL};
use crate::conn::{CLOSE_HUB_STOPPED, ConnHandle, Delivery, Frame, HUB_STOPPED_REASON, Mailbox};

/// What one read from the socket turned into.
pub(super) enum Incoming {
    Text(Utf8Bytes),
    Binary,
    /// Websocket ping or pong: tungstenite answers pings itself.
    Control,
    /// The client sent a close frame; tungstenite has queued the answer (the same code).
    CloseFrame,
    /// A frame over [`HARD_FRAME_LIMIT`]. `read_whole`: the library read all of it, so the
    /// connection can still read the client's close frame.
    TooBig {
        read_whole: bool,
    },
    /// The connection broke, or the client broke the protocol.
    Gone,
}

impl Incoming {
    pub(super) fn of(message: Option<Result<WsMessage, axum::Error>>) -> Incoming {
        match message {
            Some(Ok(WsMessage::Text(text))) if text.len() > HARD_FRAME_LIMIT => {
                Incoming::TooBig { read_whole: true }
            }
            Some(Ok(WsMessage::Binary(bytes))) if bytes.len() > HARD_FRAME_LIMIT => {
                Incoming::TooBig { read_whole: true }
            }
            Some(Ok(WsMessage::Text(text))) => Incoming::Text(text),
            Some(Ok(WsMessage::Binary(_))) => Incoming::Binary,
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => Incoming::Control,
            Some(Ok(WsMessage::Close(_))) => Incoming::CloseFrame,
            Some(Err(e)) => match e.into_inner().downcast::<tungstenite::Error>() {
                Ok(e) if matches!(*e, tungstenite::Error::Capacity(_)) => {
                    Incoming::TooBig { read_whole: false }
                }
                Ok(e) => {
                    tracing::debug!(%e, "websocket read failed");
                    Incoming::Gone
                }
                Err(e) => {
                    tracing::debug!(%e, "websocket read failed");
                    Incoming::Gone
                }
            },
            None => Incoming::Gone,
        }
    }
}

/// The socket plumbing shared by both endpoints.
pub(super) struct Connection {
    pub(super) socket: WebSocket,
    pub(super) handle: ConnHandle,
    mailbox: Mailbox,
    phase: watch::Receiver<Phase>,
    /// The [`super::RunningHub`] was dropped without a shutdown: the phase stays [`Phase::Serving`].
    phase_orphaned: bool,
}

pub(super) enum Next {
    In(Incoming),
    Out(Frame),
    Kill(u16, String),
    /// The hub is stopping ([`Phase::Closing`]).
    HubStopped,
}

/// Resolves when the hub starts closing its connections ([`Phase::Closing`]); never for a hub
/// dropped without a shutdown.
pub(super) async fn until_closing(phase: &mut watch::Receiver<Phase>) {
    if phase.wait_for(|p| *p == Phase::Closing).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// How a connection ends.
pub(super) enum Ending {
    /// Send this close frame, then wait for the client's answer if `answer` (the client can
    /// still be read).
    Close {
        code: u16,
        reason: String,
        answer: bool,
    },
    /// Write out what is queued first (acks of what is stored), then close `1011 hub stopped`.
    HubStopped,
    /// The client closed: send tungstenite's answer to its close frame.
    Answer,
    /// Nothing more can be written.
    Dropped,
}

impl Connection {
    pub(super) fn new(socket: WebSocket, state: &AppState) -> Connection {
        let (handle, mailbox) = ConnHandle::new(state.next_conn.fetch_add(1, Ordering::Relaxed));
        Connection {
            socket,
            handle,
            mailbox,
            phase: state.phase.clone(),
            phase_orphaned: false,
        }
    }

    pub(super) async fn next(&mut self) -> Next {
        loop {
            let reading = match *self.phase.borrow_and_update() {
                Phase::Serving => true,
                // Draining: the engine is storing its last batch; its acks may still come.
                Phase::Draining => false,
                Phase::Closing => return Next::HubStopped,
            };
            tokio::select! {
                biased;
                delivery = self.mailbox.next() => {
                    return match delivery {
                        Delivery::Kill(code, reason) => Next::Kill(code, reason),
                        Delivery::Frame(frame) => Next::Out(frame),
                    };
                }
                changed = self.phase.changed(), if !self.phase_orphaned => {
                    self.phase_orphaned = changed.is_err();
                }
                message = self.socket.recv(), if reading => {
                    return Next::In(Incoming::of(message));
                }
            }
        }
    }

    /// Write `first` and whatever else is already queued (up to [`WRITE_BATCH`] frames), then
    /// flush once: one system call for a burst instead of one per frame. A peer that stops
    /// reading blocks the write; the engine's `kill` (too slow, replaced), a long stall or the
    /// hub closing ends it instead of holding this task forever.
    pub(super) async fn send_queued(&mut self, first: Frame) -> bool {
        let Connection {
            socket,
            mailbox,
            phase,
            ..
        } = self;
        let closing = until_closing(phase);
        let write = async {
            socket.feed(WsMessage::Text(first)).await?;
            for _ in 1..WRITE_BATCH {
                let Some(frame) = mailbox.try_recv() else {
                    break;
                };
                socket.feed(WsMessage::Text(frame)).await?;
            }
            socket.flush().await
        };
        tokio::select! {
            sent = tokio::time::timeout(WRITE_STALL, write) => matches!(sent, Ok(Ok(()))),
            _ = mailbox.killed() => false,
            () = closing => false,
        }
    }

    /// How to end after a write did not finish: the engine's close code, the hub's, or none (a
    /// stalled or broken connection).
    pub(super) fn cut_off(&self) -> Ending {
        if let Some((code, reason)) = self.mailbox.kill_reason() {
            return Ending::Close {
                code,
                reason,
                answer: true,
            };
        }
        if *self.phase.borrow() == Phase::Closing {
            return Ending::HubStopped;
        }
        Ending::Dropped
    }

    /// End the connection as `ending` says, taking [`CLOSE_WAIT`] at most.
    pub(super) async fn end(&mut self, ending: Ending) {
        let closing = async {
            match ending {
                Ending::Dropped => {}
                // tungstenite queued the answer to the client's close frame (the same code) and
                // writes it on the next flush; the client has nothing more to say.
                Ending::Answer => {
                    let _ = self.socket.flush().await;
                }
                Ending::Close {
                    code,
                    reason,
                    answer,
                } => self.close(code, reason, answer).await,
                Ending::HubStopped => {
                    while let Some(frame) = self.mailbox.try_recv() {
                        if self.socket.feed(WsMessage::Text(frame)).await.is_err() {
                            return;
                        }
                    }
                    self.close(CLOSE_HUB_STOPPED, HUB_STOPPED_REASON.into(), true)
                        .await;
                }
            }
        };
        if tokio::time::timeout(CLOSE_WAIT, closing).await.is_err() {
            tracing::debug!(conn = self.handle.id, "the client did not finish the close");
        }
    }

    /// Send a close frame; with `answer`, read (and drop) what the client still sends until its
    /// own close frame, so that the hub closes TCP after a complete handshake.
    pub(super) async fn close(&mut self, code: u16, reason: String, answer: bool) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        if self
            .socket
            .send(WsMessage::Close(Some(frame)))
            .await
            .is_err()
            || !answer
        {
            return;
        }
        while let Some(Ok(message)) = self.socket.recv().await {
            if matches!(message, WsMessage::Close(_)) {
                break;
            }
        }
    }
}
