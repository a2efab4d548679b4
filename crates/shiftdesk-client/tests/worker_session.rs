//! The worker session (what the console runs) against a scripted hub on 127.0.0.1: login,
//! duplicate frames dropped, frames sent, reconnect with `resume`, and stopping when logged in
//! elsewhere.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use shiftdesk_client::ConnState;
use shiftdesk_client::worker::{self, WorkerConfig};
use shiftdesk_protocol::close::REPLACED;
use shiftdesk_protocol::{
    self as protocol, Resume, WorkerCommand, WorkerEvent, WorkerFrame, WorkerStatus,
};
use shiftdesk_testkit::FakeHub;
use shiftdesk_testkit::fake_hub::{WAIT, ack, next_conn, next_event, stop, welcome};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn logs_in_drops_duplicates_resumes_and_stops_when_replaced() {
    let hub = FakeHub::bind().await;
    let logins = Arc::new(AtomicU32::new(0));
    let counted = logins.clone();
    let (session, mut rx) = worker::spawn(WorkerConfig {
        on_first_login: Some(Arc::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        })),
        ..WorkerConfig::new(hub.url(), "secret")
    });

    // First connection: a fresh login.
    let mut ws = hub.accept().await;
    let hello = ws.next_command().await;
    assert_eq!(
        hello.command,
        WorkerCommand::Hello {
            token: "secret".into(),
            protocol: protocol::PROTOCOL_VERSION,
            resume: None,
            features: vec!["decisions".into()],
        }
    );
    assert_eq!(
        logins.load(Ordering::SeqCst),
        0,
        "not remembered before the hub accepts it"
    );
    ws.send(0, &welcome("s1", false)).await;
    assert_eq!(
        next_conn(&mut rx).await,
        ConnState::Connecting { attempt: 1 }
    );
    assert_eq!(next_conn(&mut rx).await, ConnState::Connected);
    assert!(matches!(
        next_event(&mut rx).await,
        WorkerEvent::Welcome { .. }
    ));
    ws.send(1, &ack("a")).await;
    ws.send(2, &ack("b")).await;
    ws.send(2, &ack("b")).await; // a duplicate
    ws.send(1, &ack("a")).await; // an old one
    ws.send(3, &ack("c")).await;
    ws.send(0, &WorkerEvent::Pong { server_time: 5 }).await; // not for the app
    ws.send_text(r#"{"seq":4,"type":"from_a_newer_hub"}"#).await;
    for id in ["a", "b", "c"] {
        assert_eq!(next_event(&mut rx).await, ack(id));
    }

    // The app's frames go out as they are.
    let frame = WorkerFrame {
        id: "x-1".into(),
        producer: None,
        cseq: None,
        command: WorkerCommand::SetStatus {
            status: WorkerStatus::Available,
        },
    };
    assert!(session.send(frame.clone()));
    assert_eq!(ws.next_command().await, frame);

    // The login worked, so the hook that remembers it ran, once.
    assert_eq!(logins.load(Ordering::SeqCst), 1);

    // The connection drops: the session comes back and resumes after the last frame it saw
    // (4, the one it did not understand, counts too).
    drop(ws);
    match next_conn(&mut rx).await {
        ConnState::Reconnecting { attempt: 1, .. } => {}
        other => panic!("expected reconnecting, got {other:?}"),
    }
    let mut ws = hub.accept().await;
    let hello = ws.next_command().await;
    assert_eq!(
        hello.command,
        WorkerCommand::Hello {
            token: "secret".into(),
            protocol: protocol::PROTOCOL_VERSION,
            resume: Some(Resume {
                stream: "s1".into(),
                last_seq: 4
            }),
            features: vec!["decisions".into()],
        }
    );
    ws.send(0, &welcome("s1", true)).await;
    assert!(matches!(
        next_event(&mut rx).await,
        WorkerEvent::Welcome { resumed: true, .. }
    ));
    ws.send(4, &ack("old")).await; // replayed twice by a confused hub: dropped
    ws.send(5, &ack("d")).await;
    assert_eq!(next_event(&mut rx).await, ack("d"));
    assert_eq!(logins.load(Ordering::SeqCst), 1, "remembered once per run");

    // Logged in elsewhere: stop, and say so.
    ws.close(REPLACED, "logged in elsewhere").await;
    match next_conn(&mut rx).await {
        ConnState::Offline { reason } => assert!(reason.contains("another console"), "{reason}"),
        other => panic!("expected offline, got {other:?}"),
    }
    stop(session).await;
}

#[tokio::test]
async fn a_refused_token_stops_without_retrying() {
    let hub = FakeHub::bind().await;
    let (session, mut rx) = worker::spawn(WorkerConfig::new(hub.url(), "wrong"));
    let mut ws = hub.accept().await;
    let hello = ws.next_command().await;
    ws.send(
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
    assert!(hub.quiet_for(Duration::from_secs(1)).await);
    stop(session).await;
}

#[tokio::test]
async fn an_unreachable_hub_is_retried_with_backoff() {
    // Bind and drop to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (session, mut rx) = worker::spawn(WorkerConfig::new(format!("127.0.0.1:{port}"), "t"));
    let mut waits = Vec::new();
    for attempt in 1..=2 {
        assert_eq!(next_conn(&mut rx).await, ConnState::Connecting { attempt });
        match next_conn(&mut rx).await {
            ConnState::Reconnecting {
                attempt: a,
                at,
                hub_restarting,
            } => {
                assert_eq!(a, attempt);
                assert!(!hub_restarting, "nobody said the hub was restarting");
                waits.push(at);
            }
            other => panic!("expected reconnecting, got {other:?}"),
        }
    }
    assert!(waits[1] > waits[0]);
    stop(session).await;
}

/// A hub that stops says so (close `1011 hub stopped`): the session answers the close frame,
/// reports "hub restarting" until a login works again (a failed attempt in between included),
/// reconnects with its usual backoff and resumes where it was.
#[tokio::test]
async fn a_hub_that_stops_is_shown_as_restarting_and_resumed() {
    let hub = FakeHub::bind().await;
    let (session, mut rx) = worker::spawn(WorkerConfig::new(hub.url(), "secret"));
    let mut ws = hub.accept().await;
    ws.next_command().await;
    ws.send(0, &welcome("s1", false)).await;
    assert_eq!(
        next_conn(&mut rx).await,
        ConnState::Connecting { attempt: 1 }
    );
    assert_eq!(next_conn(&mut rx).await, ConnState::Connected);
    ws.send(1, &ack("a")).await;
    assert!(matches!(
        next_event(&mut rx).await,
        WorkerEvent::Welcome { .. }
    ));
    assert_eq!(next_event(&mut rx).await, ack("a"));

    ws.close(1011, "hub stopped").await;
    // The session answers the close frame with its own.
    match tokio::time::timeout(WAIT, ws.ws.next()).await {
        Ok(Some(Ok(Message::Close(Some(frame))))) => assert_eq!(u16::from(frame.code), 1011),
        other => panic!("the session did not answer the close frame: {other:?}"),
    }
    match next_conn(&mut rx).await {
        ConnState::Reconnecting {
            attempt: 1,
            hub_restarting: true,
            ..
        } => {}
        other => panic!("expected the hub restarting, got {other:?}"),
    }
    // The hub is not back yet: this attempt fails, and the hub is still restarting.
    drop(hub.accept().await);
    assert_eq!(
        next_conn(&mut rx).await,
        ConnState::Connecting { attempt: 2 }
    );
    match next_conn(&mut rx).await {
        ConnState::Reconnecting {
            attempt: 2,
            hub_restarting: true,
            ..
        } => {}
        other => panic!("expected the hub still restarting, got {other:?}"),
    }
    // Back: the session resumes after the last frame it saw.
    let mut ws = hub.accept().await;
    let hello = ws.next_command().await;
    assert!(
        matches!(
            &hello.command,
            WorkerCommand::Hello { resume: Some(Resume { stream, last_seq: 1 }), .. } if stream == "s1"
        ),
        "{hello:?}"
    );
    ws.send(0, &welcome("s2", false)).await;
    assert_eq!(
        next_conn(&mut rx).await,
        ConnState::Connecting { attempt: 3 }
    );
    assert_eq!(next_conn(&mut rx).await, ConnState::Connected);

    // A later drop without a close frame is an ordinary reconnect, not a restart.
    drop(ws);
    match next_conn(&mut rx).await {
        ConnState::Reconnecting {
            hub_restarting: false,
            ..
        } => {}
        other => panic!("expected an ordinary reconnect, got {other:?}"),
    }
    stop(session).await;
}
