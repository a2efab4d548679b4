//! The worker session's liveness rules (the console's connection), against a fake hub on
//! 127.0.0.1 that logs the console in and then misbehaves:
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

use tokio::sync::mpsc;

use shiftdesk_client::worker::{self, WorkerConfig, WorkerEvents};
use shiftdesk_client::{ConnState, Liveness, SessionEvent};
use shiftdesk_protocol::{self as protocol, Resume, WorkerCommand, WorkerEvent};
use shiftdesk_testkit::fake_hub::{WAIT, ack, next_conn, next_event, stop, welcome};
use shiftdesk_testkit::{FakeConn, FakeHub};

/// Accept the console, check its `hello`, log it in and send stream frames `frames`. Returns the
/// socket once the app has been told it is connected and has seen all of them.
async fn log_in(
    hub: &FakeHub,
    rx: &mut WorkerEvents,
    resume: Option<Resume>,
    resumed: bool,
    frames: std::ops::RangeInclusive<u64>,
) -> FakeConn {
    let mut ws = hub.accept().await;
    let hello = ws.next_frame().await.expect("hello");
    assert_eq!(
        hello.command,
        WorkerCommand::Hello {
            token: "secret".into(),
            protocol: protocol::PROTOCOL_VERSION,
            resume,
            features: vec!["decisions".into()],
        }
    );
    ws.send(0, &welcome("s1", resumed)).await;
    assert_eq!(next_conn(rx).await, ConnState::Connected);
    assert!(matches!(next_event(rx).await, WorkerEvent::Welcome { .. }));
    for seq in frames.clone() {
        ws.send(seq, &ack(&format!("a{seq}"))).await;
    }
    for seq in frames {
        assert_eq!(next_event(rx).await, ack(&format!("a{seq}")));
    }
    ws
}

fn config(hub: &FakeHub) -> WorkerConfig {
    WorkerConfig::new(hub.url(), "secret")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_keep_a_quiet_link_alive_and_silence_past_the_limit_reconnects_and_resumes() {
    let hub = FakeHub::bind().await;
    let liveness = Liveness {
        ping_every: Duration::from_millis(100),
        silence_limit: Duration::from_millis(1_500),
        ..Liveness::default()
    };
    let (session, mut rx) = worker::spawn_with(config(&hub), liveness.clone());

    assert_eq!(
        next_conn(&mut rx).await,
        ConnState::Connecting { attempt: 1 }
    );
    let mut ws = log_in(&hub, &mut rx, None, false, 1..=3).await;

    // The hub says nothing on its own, but answers the console's pings: enough of them that
    // the link outlives the silence limit twice over. The console must not give up.
    let answered = 2 * (liveness.silence_limit.as_millis() / liveness.ping_every.as_millis()) + 1;
    let mut ping_ids = Vec::new();
    while (ping_ids.len() as u128) < answered {
        let frame = ws
            .next_frame()
            .await
            .expect("the console dropped a link whose pings were answered");
        assert_eq!(frame.command, WorkerCommand::Ping, "{frame:?}");
        ping_ids.push(frame.id);
        ws.send(0, &WorkerEvent::Pong { server_time: 2 }).await;
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
        while let Some(frame) = ws.next_frame().await {
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
    let _ws = log_in(&hub, &mut rx, Some(resume), true, 4..=4).await;
    println!(
        "console liveness: {} pings answered kept the link up; {unanswered} unanswered, then reconnected and resumed after seq 3",
        ping_ids.len()
    );

    stop(session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_clock_jump_reconnects_at_once_and_resumes() {
    let hub = FakeHub::bind().await;
    // The wall clock is the real one plus an offset the test moves, as a suspend would.
    let slept_ms = Arc::new(AtomicU64::new(0));
    let offset = slept_ms.clone();
    let liveness = Liveness {
        ping_every: Duration::from_millis(100),
        // Far beyond this test's waits: only the jump can cause the reconnect.
        silence_limit: Duration::from_secs(600),
        wall_clock: Arc::new(move || shiftdesk_client::now_ms() + offset.load(Ordering::SeqCst)),
        ..Liveness::default()
    };
    let (session, mut rx) = worker::spawn_with(config(&hub), liveness);

    assert_eq!(
        next_conn(&mut rx).await,
        ConnState::Connecting { attempt: 1 }
    );
    let mut ws = log_in(&hub, &mut rx, None, false, 1..=2).await;

    // The laptop "sleeps" for ten minutes.
    slept_ms.fetch_add(600_000, Ordering::SeqCst);

    // Straight back to connecting: no backoff, no waiting for silence.
    assert_eq!(
        next_conn(&mut rx).await,
        ConnState::Connecting { attempt: 1 },
        "a wall-clock jump reconnects at once"
    );
    while let Some(frame) = ws.next_frame().await {
        assert_eq!(frame.command, WorkerCommand::Ping, "{frame:?}");
    }
    let resume = Resume {
        stream: "s1".into(),
        last_seq: 2,
    };
    let _ws = log_in(&hub, &mut rx, Some(resume), true, 3..=3).await;
    println!(
        "console liveness: a 10-minute wall-clock jump reconnected at once and resumed after seq 2"
    );

    stop(session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_in_the_stream_reconnects_and_resumes_to_fill_it() {
    let hub = FakeHub::bind().await;
    let (session, mut rx) = worker::spawn(config(&hub));

    assert_eq!(
        next_conn(&mut rx).await,
        ConnState::Connecting { attempt: 1 }
    );
    let mut ws = log_in(&hub, &mut rx, None, false, 1..=2).await;

    // Frame 3 is lost; 4 arrives. It must not reach the app: the console resumes after 2.
    ws.send(4, &ack("a4")).await;
    // Why the connection was dropped comes first, then the new state; no frame in between.
    let next = loop {
        match tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("the session did not react to the gap")
        {
            Some(SessionEvent::Lost(why)) => assert!(why.contains("missing"), "{why}"),
            other => break other,
        }
    };
    assert!(
        matches!(
            next,
            Some(SessionEvent::Conn(ConnState::Reconnecting {
                attempt: 1,
                ..
            }))
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
    let _ws = log_in(&hub, &mut rx, Some(resume), true, 3..=4).await;
    println!(
        "console liveness: a gap after seq 2 reconnected, resumed after 2, and frames 3 and 4 arrived once"
    );

    stop(session).await;
}
