//! The console's own liveness rules, against a fake hub on 127.0.0.1 that logs the console in
//! and then misbehaves:
//!
//! - our own pings: a hub that answers them keeps the connection alive well past the silence
//!   limit; a hub that goes silent (the socket stays open, nothing comes back) is declared dead,
//!   and the console reconnects and resumes after the last frame it saw;
//! - a wall-clock jump (a laptop that slept) reconnects at once, without waiting for silence;
//! - a live link that skipped stream frames (a gap in `seq`) is as good as dead: the console
//!   reconnects and resumes from the last frame it processed, so the gap is filled.
//!
//! The intervals are shortened through [`Liveness`]; the wall clock is a closure the test moves.
//! Nothing here measures time: each step waits for the event it expects.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use shiftdesk_console::app::{ConnState, Msg};
use shiftdesk_console::net::{self, Liveness, NetCommand, NetConfig};
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{
    self as protocol, Limits, Resume, Role, WorkerCommand, WorkerEvent, WorkerFrame, WorkerInfo,
    WorkerStats, WorkerStatus,
};

/// Generous: the machine may be busy. Only a broken rule makes a test wait this long.
const WAIT: Duration = Duration::from_secs(20);

type Server = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn accept(listener: &TcpListener) -> Server {
    let (tcp, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .expect("the console did not connect")
        .unwrap();
    tokio_tungstenite::accept_async(tcp).await.unwrap()
}

/// The next frame from the console, pings included; `None` when the console closed the socket.
async fn next_frame(ws: &mut Server) -> Option<WorkerFrame> {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("the console neither sent a frame nor closed the connection");
        match msg {
            Some(Ok(WsMessage::Text(text))) => {
                return Some(protocol::decode_worker(&text).expect("the console sent a bad frame"));
            }
            Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(_)) => {}
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
    }
}

fn ack(id: &str) -> WorkerEvent {
    WorkerEvent::Ack {
        id: id.into(),
        duplicate: false,
    }
}

/// The next connection state the net task reports, skipping hub frames.
async fn next_conn(rx: &mut mpsc::UnboundedReceiver<Msg>) -> ConnState {
    loop {
        match tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("the net task reported no connection state")
        {
            Some(Msg::Conn(state)) => return state,
            Some(_) => {}
            None => panic!("net task ended"),
        }
    }
}

/// The next hub frame handed to the app, skipping connection states.
async fn next_event(rx: &mut mpsc::UnboundedReceiver<Msg>) -> WorkerEvent {
    loop {
        match tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("no hub frame for the app")
        {
            Some(Msg::Hub(event)) => return event,
            Some(_) => {}
            None => panic!("net task ended"),
        }
    }
}

/// Accept the console, check its `hello`, log it in and send stream frames `frames`. Returns the
/// socket once the app has been told it is connected and has seen all of them.
async fn log_in(
    listener: &TcpListener,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
    resume: Option<Resume>,
    resumed: bool,
    frames: std::ops::RangeInclusive<u64>,
) -> Server {
    let mut ws = accept(listener).await;
    let hello = next_frame(&mut ws).await.expect("hello");
    assert_eq!(
        hello.command,
        WorkerCommand::Hello {
            token: "secret".into(),
            protocol: protocol::PROTOCOL_VERSION,
            resume,
        }
    );
    send(&mut ws, 0, &welcome("s1", resumed)).await;
    assert_eq!(next_conn(rx).await, ConnState::Connected);
    assert!(matches!(next_event(rx).await, WorkerEvent::Welcome { .. }));
    for seq in frames.clone() {
        send(&mut ws, seq, &ack(&format!("a{seq}"))).await;
    }
    for seq in frames {
        assert_eq!(next_event(rx).await, ack(&format!("a{seq}")));
    }
    ws
}

fn config(listener: &TcpListener) -> NetConfig {
    NetConfig {
        hub: format!("ws://{}", listener.local_addr().unwrap()),
        token: "secret".into(),
        tls: None,
        remember_in: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_keep_a_quiet_link_alive_and_silence_past_the_limit_reconnects_and_resumes() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let liveness = Liveness {
        ping_every: Duration::from_millis(100),
        silence_limit: Duration::from_millis(1_500),
        ..Liveness::default()
    };
    let (to_app, mut rx) = mpsc::unbounded_channel();
    let (tx, task) = net::spawn_with(config(&listener), liveness.clone(), to_app);

    assert_eq!(
        next_conn(&mut rx).await,
        ConnState::Connecting { attempt: 1 }
    );
    let mut ws = log_in(&listener, &mut rx, None, false, 1..=3).await;

    // The hub says nothing on its own, but answers the console's pings: enough of them that
    // the link outlives the silence limit twice over. The console must not give up.
    let answered = 2 * (liveness.silence_limit.as_millis() / liveness.ping_every.as_millis()) + 1;
    let mut ping_ids = Vec::new();
    while (ping_ids.len() as u128) < answered {
        let frame = next_frame(&mut ws)
            .await
            .expect("the console dropped a link whose pings were answered");
        assert_eq!(frame.command, WorkerCommand::Ping, "{frame:?}");
        ping_ids.push(frame.id);
        send(&mut ws, 0, &WorkerEvent::Pong { server_time: 2 }).await;
    }
    let unique: std::collections::BTreeSet<_> = ping_ids.iter().collect();
    assert_eq!(
        unique.len(),
        ping_ids.len(),
        "ping ids repeat: {ping_ids:?}"
    );
    match rx.try_recv() {
        Err(mpsc::error::TryRecvError::Empty) => {}
        other => panic!("nothing should reach the app while pongs come back: {other:?}"),
    }

    // Now the hub goes silent: the socket stays open, the pings go unanswered. Only the
    // console's own rule can notice.
    let silent = tokio::spawn(async move {
        let mut unanswered = 0;
        while let Some(frame) = next_frame(&mut ws).await {
            assert_eq!(frame.command, WorkerCommand::Ping, "{frame:?}");
            unanswered += 1;
        }
        unanswered
    });
    match next_conn(&mut rx).await {
        ConnState::Reconnecting { attempt: 1, .. } => {}
        other => panic!("expected reconnecting after the silence, got {other:?}"),
    }
    // It dropped the silent connection and comes back, resuming after frame 3.
    let unanswered = tokio::time::timeout(WAIT, silent)
        .await
        .expect("the console kept the silent connection open")
        .unwrap();
    assert_eq!(
        next_conn(&mut rx).await,
        ConnState::Connecting { attempt: 2 }
    );
    let resume = Resume {
        stream: "s1".into(),
        last_seq: 3,
    };
    let _ws = log_in(&listener, &mut rx, Some(resume), true, 4..=4).await;
    println!(
        "console liveness: {} pings answered kept the link up; {unanswered} unanswered, then reconnected and resumed after seq 3",
        ping_ids.len()
    );

    tx.send(NetCommand::Stop).unwrap();
    tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_clock_jump_reconnects_at_once_and_resumes() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    // The wall clock is the real one plus an offset the test moves, as a suspend would.
    let slept_ms = Arc::new(AtomicU64::new(0));
    let offset = slept_ms.clone();
    let liveness = Liveness {
        ping_every: Duration::from_millis(100),
        // Far beyond this test's waits: only the jump can cause the reconnect.
        silence_limit: Duration::from_secs(600),
        wall_clock: Arc::new(move || shiftdesk_console::now_ms() + offset.load(Ordering::SeqCst)),
        ..Liveness::default()
    };
    let (to_app, mut rx) = mpsc::unbounded_channel();
    let (tx, task) = net::spawn_with(config(&listener), liveness, to_app);

    assert_eq!(
        next_conn(&mut rx).await,
        ConnState::Connecting { attempt: 1 }
    );
    let mut ws = log_in(&listener, &mut rx, None, false, 1..=2).await;

    // The laptop "sleeps" for ten minutes.
    slept_ms.fetch_add(600_000, Ordering::SeqCst);

    // Straight back to connecting: no backoff, no waiting for silence.
    assert_eq!(
        next_conn(&mut rx).await,
        ConnState::Connecting { attempt: 1 },
        "a wall-clock jump reconnects at once"
    );
    while let Some(frame) = next_frame(&mut ws).await {
        assert_eq!(frame.command, WorkerCommand::Ping, "{frame:?}");
    }
    let resume = Resume {
        stream: "s1".into(),
        last_seq: 2,
    };
    let _ws = log_in(&listener, &mut rx, Some(resume), true, 3..=3).await;
    println!(
        "console liveness: a 10-minute wall-clock jump reconnected at once and resumed after seq 2"
    );

    tx.send(NetCommand::Stop).unwrap();
    tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_in_the_stream_reconnects_and_resumes_to_fill_it() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (to_app, mut rx) = mpsc::unbounded_channel();
    let (tx, task) = net::spawn(config(&listener), to_app);

    assert_eq!(
        next_conn(&mut rx).await,
        ConnState::Connecting { attempt: 1 }
    );
    let mut ws = log_in(&listener, &mut rx, None, false, 1..=2).await;

    // Frame 3 is lost; 4 arrives. It must not reach the app: the console resumes after 2.
    send(&mut ws, 4, &ack("a4")).await;
    let next = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("the net task did not react to the gap");
    assert!(
        matches!(
            next,
            Some(Msg::Conn(ConnState::Reconnecting { attempt: 1, .. }))
        ),
        "expected reconnecting after the gap, got {next:?}"
    );
    assert_eq!(
        next_conn(&mut rx).await,
        ConnState::Connecting { attempt: 2 }
    );
    let resume = Resume {
        stream: "s1".into(),
        last_seq: 2,
    };
    let _ws = log_in(&listener, &mut rx, Some(resume), true, 3..=4).await;
    println!(
        "console liveness: a gap after seq 2 reconnected, resumed after 2, and frames 3 and 4 arrived once"
    );

    tx.send(NetCommand::Stop).unwrap();
    tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
}
