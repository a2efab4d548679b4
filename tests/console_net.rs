//! The console's network task against a scripted hub on 127.0.0.1: login, duplicate frames
//! dropped, frames sent, reconnect with `resume`, and stopping when logged in elsewhere.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use shiftdesk_console::app::{ConnState, Msg};
use shiftdesk_console::net::{self, NetCommand, NetConfig};
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{
    self as protocol, Limits, Resume, Role, WorkerCommand, WorkerEvent, WorkerFrame, WorkerInfo,
    WorkerStats, WorkerStatus,
};

const WAIT: Duration = Duration::from_secs(10);

type Server = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn accept(listener: &TcpListener) -> Server {
    let (tcp, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .expect("the console did not connect")
        .unwrap();
    tokio_tungstenite::accept_async(tcp).await.unwrap()
}

async fn read_frame(ws: &mut Server) -> WorkerFrame {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("no frame from the console")
            .expect("connection closed")
            .unwrap();
        if let WsMessage::Text(text) = msg {
            let frame = protocol::decode_worker(&text).expect("the console sent a bad frame");
            if frame.command != WorkerCommand::Ping {
                return frame;
            }
        }
    }
}

async fn send(ws: &mut Server, seq: u64, event: &WorkerEvent) {
    ws.send(WsMessage::Text(protocol::encode(seq, event).into()))
        .await
        .unwrap();
}

fn welcome(stream: &str, resumed: bool) -> WorkerEvent {
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
        status: WorkerStatus::Offline,
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
    }
}

fn ack(id: &str) -> WorkerEvent {
    WorkerEvent::Ack {
        id: id.into(),
        duplicate: false,
    }
}

/// The next message for the app that is a hub frame, skipping connection states.
async fn next_event(rx: &mut mpsc::UnboundedReceiver<Msg>) -> WorkerEvent {
    loop {
        match tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("no message for the app")
        {
            Some(Msg::Hub(event)) => return event,
            Some(_) => {}
            None => panic!("net task ended"),
        }
    }
}

async fn next_conn(rx: &mut mpsc::UnboundedReceiver<Msg>) -> ConnState {
    loop {
        match tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("no message for the app")
        {
            Some(Msg::Conn(state)) => return state,
            Some(_) => {}
            None => panic!("net task ended"),
        }
    }
}

#[tokio::test]
async fn logs_in_drops_duplicates_resumes_and_stops_when_replaced() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub = format!("ws://{}", listener.local_addr().unwrap());
    let config_dir = tempfile::tempdir().unwrap();
    let (to_app, mut rx) = mpsc::unbounded_channel();
    let (tx, task) = net::spawn(
        NetConfig {
            hub: hub.clone(),
            token: "secret".into(),
            tls: None,
            remember_in: Some(config_dir.path().to_path_buf()),
        },
        to_app,
    );

    // First connection: a fresh login.
    let mut ws = accept(&listener).await;
    let hello = read_frame(&mut ws).await;
    assert_eq!(
        hello.command,
        WorkerCommand::Hello {
            token: "secret".into(),
            protocol: protocol::PROTOCOL_VERSION,
            resume: None
        }
    );
    send(&mut ws, 0, &welcome("s1", false)).await;
    assert_eq!(
        next_conn(&mut rx).await,
        ConnState::Connecting { attempt: 1 }
    );
    assert_eq!(next_conn(&mut rx).await, ConnState::Connected);
    assert!(matches!(
        next_event(&mut rx).await,
        WorkerEvent::Welcome { .. }
    ));
    send(&mut ws, 1, &ack("a")).await;
    send(&mut ws, 2, &ack("b")).await;
    send(&mut ws, 2, &ack("b")).await; // a duplicate
    send(&mut ws, 1, &ack("a")).await; // an old one
    send(&mut ws, 3, &ack("c")).await;
    send(&mut ws, 0, &WorkerEvent::Pong { server_time: 5 }).await; // not for the app
    ws.send(WsMessage::Text(
        r#"{"seq":4,"type":"from_a_newer_hub"}"#.into(),
    ))
    .await
    .unwrap();
    for id in ["a", "b", "c"] {
        assert_eq!(next_event(&mut rx).await, ack(id));
    }

    // The app's frames go out as they are.
    let frame = WorkerFrame {
        id: "x-1".into(),
        command: WorkerCommand::SetStatus {
            status: WorkerStatus::Available,
        },
    };
    tx.send(NetCommand::Send(frame.clone())).unwrap();
    assert_eq!(read_frame(&mut ws).await, frame);

    // The login worked, so it is remembered, readable by the user only.
    let login = std::fs::read_to_string(config_dir.path().join("login.toml")).unwrap();
    assert!(login.contains(&hub) && login.contains("secret"), "{login}");

    // The connection drops: the console comes back and resumes after the last frame it saw
    // (4, the one it did not understand, counts too).
    drop(ws);
    match next_conn(&mut rx).await {
        ConnState::Reconnecting { attempt: 1, .. } => {}
        other => panic!("expected reconnecting, got {other:?}"),
    }
    let mut ws = accept(&listener).await;
    let hello = read_frame(&mut ws).await;
    assert_eq!(
        hello.command,
        WorkerCommand::Hello {
            token: "secret".into(),
            protocol: protocol::PROTOCOL_VERSION,
            resume: Some(Resume {
                stream: "s1".into(),
                last_seq: 4
            })
        }
    );
    send(&mut ws, 0, &welcome("s1", true)).await;
    assert!(matches!(
        next_event(&mut rx).await,
        WorkerEvent::Welcome { resumed: true, .. }
    ));
    send(&mut ws, 4, &ack("old")).await; // replayed twice by a confused hub: dropped
    send(&mut ws, 5, &ack("d")).await;
    assert_eq!(next_event(&mut rx).await, ack("d"));

    // Logged in elsewhere: stop, and say so.
    ws.send(WsMessage::Close(Some(CloseFrame {
        code: CloseCode::from(4000),
        reason: "logged in elsewhere".into(),
    })))
    .await
    .unwrap();
    match next_conn(&mut rx).await {
        ConnState::Offline { reason } => assert!(reason.contains("another console"), "{reason}"),
        other => panic!("expected offline, got {other:?}"),
    }
    tx.send(NetCommand::Stop).unwrap();
    tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_refused_token_stops_without_retrying() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub = format!("ws://{}", listener.local_addr().unwrap());
    let (to_app, mut rx) = mpsc::unbounded_channel();
    let (tx, task) = net::spawn(
        NetConfig {
            hub,
            token: "wrong".into(),
            tls: None,
            remember_in: None,
        },
        to_app,
    );
    let mut ws = accept(&listener).await;
    let hello = read_frame(&mut ws).await;
    send(
        &mut ws,
        0,
        &WorkerEvent::Error {
            id: Some(hello.id),
            code: protocol::ErrorCode::Unauthorized,
            message: "unknown token".into(),
        },
    )
    .await;
    assert_eq!(
        next_conn(&mut rx).await,
        ConnState::Connecting { attempt: 1 }
    );
    match next_conn(&mut rx).await {
        ConnState::Offline { reason } => assert!(reason.contains("unknown token"), "{reason}"),
        other => panic!("expected offline, got {other:?}"),
    }
    // No second attempt.
    assert!(
        tokio::time::timeout(Duration::from_secs(1), listener.accept())
            .await
            .is_err()
    );
    tx.send(NetCommand::Stop).unwrap();
    tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
}

#[tokio::test]
async fn an_unreachable_hub_is_retried_with_backoff() {
    // Bind and drop to get a port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (to_app, mut rx) = mpsc::unbounded_channel();
    let (tx, task) = net::spawn(
        NetConfig {
            hub: format!("127.0.0.1:{port}"),
            token: "t".into(),
            tls: None,
            remember_in: None,
        },
        to_app,
    );
    let mut waits = Vec::new();
    for attempt in 1..=2 {
        assert_eq!(next_conn(&mut rx).await, ConnState::Connecting { attempt });
        match next_conn(&mut rx).await {
            ConnState::Reconnecting { attempt: a, at } => {
                assert_eq!(a, attempt);
                waits.push(at);
            }
            other => panic!("expected reconnecting, got {other:?}"),
        }
    }
    assert!(waits[1] > waits[0]);
    tx.send(NetCommand::Stop).unwrap();
    tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
}
