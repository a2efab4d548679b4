//! The customer session through a Courier (what `shiftdesk customer` and the simulated
//! customers run) against a scripted hub: a message written before login goes out after
//! `started`, is settled by its ack, the conversation is resumed with its key after a drop, and a
//! conversation the hub no longer knows is started afresh.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use shiftdesk_client::customer::{self, CustomerConfig};
use shiftdesk_client::{ConnState, Courier, SessionEvent};
use shiftdesk_protocol::{
    Author, CustomerCommand, CustomerEvent, CustomerResume, ErrorCode, Lang, PROTOCOL_VERSION,
};
use shiftdesk_testkit::FakeHub;
use shiftdesk_testkit::fake_hub::WAIT;

fn started(conversation: &str, stream: &str, resumed: bool) -> CustomerEvent {
    CustomerEvent::Started {
        protocol: PROTOCOL_VERSION,
        conversation: conversation.into(),
        key: format!("key-{conversation}"),
        stream: stream.into(),
        resumed,
        transcript: None,
    }
}

/// The next event the courier passes on, whatever it is.
async fn next(
    courier: &mut Courier<shiftdesk_protocol::CustomerFrame, CustomerEvent>,
) -> SessionEvent<CustomerEvent> {
    tokio::time::timeout(WAIT, courier.next())
        .await
        .expect("nothing from the session")
        .expect("the session ended")
}

#[tokio::test]
async fn a_customer_is_resumed_with_its_key_and_started_afresh_when_unknown() {
    let hub = FakeHub::bind().await;
    let mut courier = Courier::new(customer::spawn(CustomerConfig {
        name: Some("Kim".into()),
        lang: Some(Lang::En),
        ..CustomerConfig::new(hub.url())
    }));
    let hello = courier.send(CustomerCommand::Message {
        text: "hello?".into(),
    });

    let mut ws = hub.accept().await;
    let start = ws.next_customer_command().await;
    match &start.command {
        CustomerCommand::Start {
            protocol,
            name,
            lang,
            resume,
            ..
        } => {
            assert_eq!(*protocol, PROTOCOL_VERSION);
            assert_eq!(name.as_deref(), Some("Kim"));
            assert_eq!(*lang, Some(Lang::En));
            assert_eq!(*resume, None);
        }
        other => panic!("expected start, got {other:?}"),
    }
    ws.send_event(0, &started("c7", "s1", false)).await;
    assert_eq!(
        next(&mut courier).await,
        SessionEvent::Conn(ConnState::Connecting { attempt: 1 })
    );
    assert_eq!(
        next(&mut courier).await,
        SessionEvent::Conn(ConnState::Connected)
    );
    // The line written before login goes out now, with the id it was given.
    let line = ws.next_customer_command().await;
    assert_eq!(line.id, hello);
    assert_eq!(
        next(&mut courier).await,
        SessionEvent::Frame(started("c7", "s1", false))
    );
    assert_eq!(courier.pending(), 1);
    let bot = CustomerEvent::Message {
        from: Author::Bot,
        text: "Hi Kim".into(),
        at: 1,
        name: None,
    };
    ws.send_event(1, &bot).await;
    ws.send_event(
        2,
        &CustomerEvent::Ack {
            id: hello.clone(),
            duplicate: false,
        },
    )
    .await;
    assert_eq!(next(&mut courier).await, SessionEvent::Frame(bot));
    assert!(matches!(
        next(&mut courier).await,
        SessionEvent::Frame(CustomerEvent::Ack { .. })
    ));
    assert_eq!(courier.pending(), 0, "acknowledged, so settled");

    // The link drops while a second line waits for its ack: the conversation is resumed with
    // its key after frame 2, and the line is sent again with its id.
    let again = courier.send(CustomerCommand::Message {
        text: "are you there?".into(),
    });
    assert_eq!(ws.next_customer_command().await.id, again);
    drop(ws);
    let mut ws = hub.accept().await;
    let start = ws.next_customer_command().await;
    match &start.command {
        CustomerCommand::Start { resume, .. } => assert_eq!(
            *resume,
            Some(CustomerResume {
                conversation: "c7".into(),
                stream: Some("s1".into()),
                key: "key-c7".into(),
                last_seq: 2,
            })
        ),
        other => panic!("expected start, got {other:?}"),
    }

    // The hub's store was replaced: it does not know c7. A new conversation, at once.
    ws.send_event(
        0,
        &CustomerEvent::Error {
            id: Some(start.id.clone()),
            code: ErrorCode::Unauthorized,
            message: "unknown conversation".into(),
            retry_after_ms: None,
        },
    )
    .await;
    let mut ws = hub.accept().await;
    let start = ws.next_customer_command().await;
    assert!(
        matches!(&start.command, CustomerCommand::Start { resume: None, .. }),
        "{start:?}"
    );
    ws.send_event(0, &started("c8", "s2", false)).await;
    loop {
        match next(&mut courier).await {
            SessionEvent::Frame(CustomerEvent::Started { conversation, .. }) => {
                assert_eq!(conversation, "c8");
                break;
            }
            SessionEvent::Conn(ConnState::Offline { reason }) => panic!("gave up: {reason}"),
            _ => {}
        }
    }
    // The courier sent the unanswered line again on the new login.
    assert_eq!(ws.next_customer_command().await.id, again);
    tokio::time::timeout(WAIT, courier.stop()).await.unwrap();
}

/// `shiftdesk customer` across a hub restart: the hub closes with `1011 hub stopped`, the
/// session says the hub is restarting, comes back after its usual pause, resumes the
/// conversation, and sends the line the hub had not acknowledged again with its id.
#[tokio::test]
async fn a_customer_comes_back_after_the_hub_restarts() {
    let hub = FakeHub::bind().await;
    let mut courier = Courier::new(customer::spawn(CustomerConfig::new(hub.url())));
    let mut ws = hub.accept().await;
    ws.next_customer_command().await;
    ws.send_event(0, &started("c7", "s1", false)).await;
    loop {
        if let SessionEvent::Frame(CustomerEvent::Started { .. }) = next(&mut courier).await {
            break;
        }
    }
    let line = courier.send(CustomerCommand::Message {
        text: "is my refund on its way?".into(),
    });
    assert_eq!(ws.next_customer_command().await.id, line);

    ws.close(1011, "hub stopped").await;
    assert_eq!(
        next(&mut courier).await,
        SessionEvent::Lost("the hub is restarting".into())
    );
    assert!(matches!(
        next(&mut courier).await,
        SessionEvent::Conn(ConnState::Reconnecting {
            attempt: 1,
            hub_restarting: true,
            ..
        })
    ));
    let mut ws = hub.accept().await;
    let start = ws.next_customer_command().await;
    assert!(
        matches!(&start.command, CustomerCommand::Start { resume: Some(r), .. } if r.conversation == "c7"),
        "{start:?}"
    );
    ws.send_event(0, &started("c7", "s2", false)).await;
    // The courier sends its outbox again when it hears of the login.
    loop {
        if let SessionEvent::Frame(CustomerEvent::Started { .. }) = next(&mut courier).await {
            break;
        }
    }
    assert_eq!(ws.next_customer_command().await.id, line, "sent again");
    assert_eq!(courier.pending(), 1, "until the hub acknowledges it");
    tokio::time::timeout(WAIT, courier.stop()).await.unwrap();
}

/// A line turned away with `rate_limited` is sent again when the hub says, and a line written
/// meanwhile waits behind it: the hub gets them in the order written.
#[tokio::test]
async fn a_line_written_while_one_waits_out_a_rate_limit_goes_after_it() {
    let hub = FakeHub::bind().await;
    let mut courier = Courier::new(customer::spawn(CustomerConfig::new(hub.url())));
    let mut ws = hub.accept().await;
    ws.next_customer_command().await;
    ws.send_event(0, &started("c9", "s1", false)).await;
    loop {
        if let SessionEvent::Frame(CustomerEvent::Started { .. }) = next(&mut courier).await {
            break;
        }
    }
    let first = courier.send(CustomerCommand::Message { text: "one".into() });
    assert_eq!(ws.next_customer_command().await.id, first);
    ws.send_event(
        0,
        &CustomerEvent::Error {
            id: Some(first.clone()),
            code: ErrorCode::RateLimited,
            message: "too fast".into(),
            retry_after_ms: Some(300),
        },
    )
    .await;
    loop {
        if let SessionEvent::Frame(CustomerEvent::Error { .. }) = next(&mut courier).await {
            break;
        }
    }
    let second = courier.send(CustomerCommand::Message { text: "two".into() });
    // Drive the courier past the hub's wait; nothing arrives from the hub meanwhile.
    let _ = tokio::time::timeout(std::time::Duration::from_millis(700), courier.next()).await;
    assert_eq!(
        ws.next_customer_command().await.id,
        first,
        "the turned-away line first"
    );
    assert_eq!(
        ws.next_customer_command().await.id,
        second,
        "then the one held behind it"
    );
    tokio::time::timeout(WAIT, courier.stop()).await.unwrap();
}
