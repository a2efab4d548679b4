//! A scripted hub: it accepts websocket connections on 127.0.0.1 and does nothing by itself.
//! The test reads the client's frames and sends exactly the frames it wants, including wrong
//! ones (duplicates, gaps, silence, close codes), and watches what the client's session makes
//! of them.

use std::fmt::Debug;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use shiftdesk_client::{ConnState, Session, SessionEvent};
use shiftdesk_protocol::{
    self as protocol, CustomerCommand, CustomerFrame, Lang, Limits, Role, WorkerCommand,
    WorkerEvent, WorkerFrame, WorkerInfo, WorkerStats, WorkerStatus,
};

/// Generous: the machine may be busy. Only a broken rule makes a test wait this long.
pub const WAIT: Duration = Duration::from_secs(20);

pub struct FakeHub {
    listener: TcpListener,
}

impl FakeHub {
    pub async fn bind() -> FakeHub {
        FakeHub {
            listener: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        }
    }

    /// `ws://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ws://{}", self.listener.local_addr().unwrap())
    }

    /// The next connection, after its websocket handshake.
    pub async fn accept(&self) -> FakeConn {
        let (tcp, _) = tokio::time::timeout(WAIT, self.listener.accept())
            .await
            .expect("the client did not connect")
            .unwrap();
        FakeConn {
            ws: tokio_tungstenite::accept_async(tcp).await.unwrap(),
        }
    }

    /// True if nobody connects within `limit`.
    pub async fn quiet_for(&self, limit: Duration) -> bool {
        tokio::time::timeout(limit, self.listener.accept())
            .await
            .is_err()
    }
}

/// One accepted connection.
pub struct FakeConn {
    pub ws: WebSocketStream<TcpStream>,
}

impl FakeConn {
    /// The next frame from the client, pings included; `None` when the client closed the
    /// socket.
    pub async fn next_frame(&mut self) -> Option<WorkerFrame> {
        let text = self.next_text().await?;
        Some(protocol::decode_worker(&text).expect("the client sent a bad frame"))
    }

    /// The next text frame from the client, as it is; `None` when the client closed the socket.
    pub async fn next_text(&mut self) -> Option<String> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("the client neither sent a frame nor closed the connection");
            match msg {
                Some(Ok(WsMessage::Text(text))) => return Some(text.to_string()),
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next customer frame that is not a ping; the connection must stay open.
    pub async fn next_customer_command(&mut self) -> CustomerFrame {
        loop {
            let text = self.next_text().await.expect("connection closed");
            let frame = protocol::decode_customer(&text).expect("the client sent a bad frame");
            if frame.command != CustomerCommand::Ping {
                return frame;
            }
        }
    }

    /// Send any event (a customer one, say) as frame `seq`.
    pub async fn send_event(&mut self, seq: u64, event: &impl serde::Serialize) {
        self.send_text(&protocol::encode(seq, event)).await;
    }

    /// The next frame that is not a ping; the connection must stay open.
    pub async fn next_command(&mut self) -> WorkerFrame {
        loop {
            let frame = self.next_frame().await.expect("connection closed");
            if frame.command != WorkerCommand::Ping {
                return frame;
            }
        }
    }

    /// Send `event` as stream frame `seq` (0: a connection frame).
    pub async fn send(&mut self, seq: u64, event: &WorkerEvent) {
        self.send_event(seq, event).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(WsMessage::Text(text.to_string().into()))
            .await
            .unwrap();
    }

    /// Close with `code` and `reason`, as the hub does (4000: logged in elsewhere).
    pub async fn close(&mut self, code: u16, reason: &str) {
        self.ws
            .send(WsMessage::Close(Some(CloseFrame {
                code: CloseCode::from(code),
                reason: reason.to_string().into(),
            })))
            .await
            .unwrap();
    }
}

/// `welcome` for Ana on `stream`.
pub fn welcome(stream: &str, resumed: bool) -> WorkerEvent {
    WorkerEvent::Welcome {
        protocol: protocol::PROTOCOL_VERSION,
        stream: stream.into(),
        resumed,
        worker: WorkerInfo {
            id: "ana".into(),
            name: "Ana".into(),
            role: Role::Worker,
            languages: vec![Lang::En],
            skills: vec![],
            capacity: 2,
        },
        status: WorkerStatus::Available,
        stats: WorkerStats::default(),
        limits: Limits {
            max_frame_bytes: protocol::MAX_FRAME_BYTES,
            max_text_chars: protocol::MAX_TEXT_CHARS,
            max_id_bytes: protocol::MAX_ID_BYTES,
            resume_window: protocol::RESUME_WINDOW,
            offer_timeout_ms: 30_000,
            grace_ms: 60_000,
        },
        server_time: 1,
        languages: Default::default(),
    }
}

pub fn ack(id: &str) -> WorkerEvent {
    WorkerEvent::Ack {
        id: id.into(),
        duplicate: false,
    }
}

/// The next connection state a session reports, skipping frames and lost connections.
pub async fn next_conn<E: Debug>(rx: &mut mpsc::UnboundedReceiver<SessionEvent<E>>) -> ConnState {
    next_picked(rx, "a connection state", |event| match event {
        SessionEvent::Conn(state) => Some(state),
        _ => None,
    })
    .await
}

/// The next hub frame a session hands over, skipping connection states.
pub async fn next_event<E: Debug>(rx: &mut mpsc::UnboundedReceiver<SessionEvent<E>>) -> E {
    next_picked(rx, "a hub frame", |event| match event {
        SessionEvent::Frame(event) => Some(event),
        _ => None,
    })
    .await
}

async fn next_picked<E, T>(
    rx: &mut mpsc::UnboundedReceiver<SessionEvent<E>>,
    what: &str,
    pick: impl Fn(SessionEvent<E>) -> Option<T>,
) -> T {
    loop {
        let event = tokio::time::timeout(WAIT, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("the session reported no {what} in {WAIT:?}"))
            .expect("the session ended");
        if let Some(picked) = pick(event) {
            return picked;
        }
    }
}

/// Stop a session and wait until its task has ended.
pub async fn stop<F>(session: Session<F>) {
    tokio::time::timeout(WAIT, session.stop())
        .await
        .expect("the session did not stop")
        .expect("the session task failed");
}
