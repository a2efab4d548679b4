//! Three hubs on one PostgreSQL store, every one serving: one writes, the two started with
//! `--standby` forward their clients to it. The machine's real PostgreSQL, a database of its
//! own per test (`shiftdesk_testkit::postgres::TestDb`):
//!
//! - a customer on one hub is offered to a worker on another, and the conversation goes on
//!   both ways;
//! - the worker's hub is killed: the worker reconnects through another and resumes its stream
//!   where it was (`resumed: true`, the line written meanwhile replayed);
//! - the writing hub is killed: the forwarded connections close with `1011`, a standby takes
//!   over, and worker and customer resume their streams through it (`resumed: true`: the
//!   streams are in the store), the line written meanwhile replayed;
//! - the gateway key: a customer's address forwarded with the wrong key is not believed;
//! - the web chat in a real browser (chromium), served by a gateway, through a takeover;
//! - a writer advertising a gateway's address: refused with why, not forwarded in a circle;
//! - frames over 2 MiB from the writing hub pass; a client's frame over the limit gets 1009.
//!
//! Without a PostgreSQL server each test says it skipped (a failure with
//! SHIFTDESK_REQUIRE_POSTGRES=1, as in CI).
#![cfg(unix)]

mod browser;
mod common;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use shiftdesk_testkit::hub::{Store, add_worker_to, wait_for_role};
use shiftdesk_testkit::postgres::TestDb;
use shiftdesk_testkit::{Client, HubProcess, customer, worker};
use tokio_tungstenite::tungstenite::Message;

use common::BIN;

/// Wait until `url` says it has `role` (`writer` or `gateway`).
async fn until_role(url: &str, role: &str) {
    let (base, wanted) = (url.to_string(), role.to_string());
    let waited =
        tokio::task::spawn_blocking(move || wait_for_role(&base, &wanted, Duration::from_secs(30)))
            .await
            .expect("probe");
    if let Err(last) = waited {
        panic!("{url} is not the {role}: {last:?}");
    }
}

/// The close frame the hub ends a connection with (after any frames still coming).
async fn close_of(client: &mut Client) -> (u16, String) {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(15), client.ws.next())
            .await
            .expect("the connection closes in time");
        match message {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("a close frame expected, got {other:?}"),
        }
    }
}

/// The highest stream `seq` among the frames `client` received.
fn last_seq(client: &Client) -> u64 {
    client
        .seen
        .iter()
        .filter_map(|v| v["seq"].as_u64())
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_on_one_hub_is_served_by_a_worker_on_another() {
    let Some(db) = TestDb::create("gateways offer") else {
        return;
    };
    let logs = tempfile::tempdir().expect("tempdir");
    let token = add_worker_to(BIN, &Store::Url(&db.url), "Ana", "en", 2);
    let writer = HubProcess::start_with_store(BIN, logs.path(), &db.url, &[]);
    let b = HubProcess::start_with_store(BIN, logs.path(), &db.url, &["--standby"]);
    let c = HubProcess::start_with_store(BIN, logs.path(), &db.url, &["--standby"]);
    until_role(&b.url, "gateway").await;
    until_role(&c.url, "gateway").await;

    // The worker on hub B, the customer on hub C.
    let (mut w, welcome) = worker(&b.url, &token).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let (mut cust, conv) = customer(&c.url, "Carla", "en").await;
    let asked = Instant::now();
    let ack = cust
        .command(json!({"type": "message", "text": "I want to talk to a person"}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let offer = w.until_type("offer").await;
    println!(
        "offer across hubs: {} ms from the customer's line",
        asked.elapsed().as_millis()
    );
    assert_eq!(offer["conversation"], conv.as_str(), "{offer}");
    w.ok(json!({"type": "accept_offer", "conversation": conv}))
        .await;
    w.ok(json!({"type": "reply", "conversation": conv, "text": "Hi, Ana here"}))
        .await;
    cust.until("the worker's reply", |v| {
        v["type"] == "message" && v["text"] == "Hi, Ana here"
    })
    .await;
    cust.ok(json!({"type": "message", "text": "my card was charged twice"}))
        .await;
    w.until("the customer's line", |v| {
        v["type"] == "message" && v["message"]["text"] == "my card was charged twice"
    })
    .await;

    // Each gateway counts what it forwards; only the writing hub says it writes.
    let metric = |url: &str, name: &str| {
        let text = shiftdesk_testkit::hub::http_get(url, "/metrics")
            .expect("metrics")
            .1;
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")).map(str::to_string))
            .unwrap_or_else(|| panic!("{name} in {text}"))
    };
    let (bu, cu, au) = (b.url.clone(), c.url.clone(), writer.url.clone());
    let figures = tokio::task::spawn_blocking(move || {
        [
            metric(&bu, "shiftdesk_forwarded_connections"),
            metric(&cu, "shiftdesk_forwarded_connections"),
            metric(&bu, "shiftdesk_writing"),
            metric(&au, "shiftdesk_writing"),
        ]
    })
    .await
    .expect("metrics read");
    assert_eq!(figures, ["1", "1", "0", "1"].map(String::from));

    // The worker's hub dies; the worker comes back through hub C and resumes its stream,
    // which the writing hub keeps: the line written meanwhile is replayed.
    let seen = last_seq(&w);
    b.kill();
    drop(w);
    cust.ok(json!({"type": "message", "text": "hello? are you there?"}))
        .await;
    let mut w = Client::connect(&c.url, "/ws/worker").await;
    w.send(json!({"type": "hello", "token": token, "protocol": 1,
        "resume": {"stream": welcome["stream"], "last_seq": seen}}))
        .await;
    let again = w.until_type("welcome").await;
    assert_eq!(again["resumed"], true, "{again}");
    w.until("the line written while the worker was away", |v| {
        v["type"] == "message" && v["message"]["text"] == "hello? are you there?"
    })
    .await;

    // The writing hub dies: the forwarded connections close with 1011, hub C takes the
    // store over, and both resume their streams through it, where they were: the streams are
    // in the store.
    let (worker_seen, customer_seen) = (last_seq(&w), last_seq(&cust));
    let started = cust
        .seen
        .iter()
        .find(|v| v["type"] == "started")
        .cloned()
        .expect("the customer's started frame");
    writer.kill();
    let (code, reason) = close_of(&mut w).await;
    assert_eq!(code, 1011, "{reason}");
    until_role(&c.url, "writer").await;
    drop(cust);
    let mut cust = Client::connect(&c.url, "/ws/customer").await;
    cust.send(
        json!({"type": "start", "protocol": 1, "resume": {"conversation": conv,
        "key": started["key"], "stream": started["stream"], "last_seq": customer_seen}}),
    )
    .await;
    let again = cust.until_type("started").await;
    assert_eq!(again["resumed"], true, "{again}");
    assert_eq!(again["stream"], started["stream"], "{again}");
    cust.ok(json!({"type": "message", "text": "is the new hub there?"}))
        .await;
    let mut w = Client::connect(&c.url, "/ws/worker").await;
    w.send(json!({"type": "hello", "token": token, "protocol": 1,
        "resume": {"stream": welcome["stream"], "last_seq": worker_seen}}))
        .await;
    let again = w.until_type("welcome").await;
    assert_eq!(again["resumed"], true, "{again}");
    w.until("the line written while the writer changed", |v| {
        v["type"] == "message" && v["message"]["text"] == "is the new hub there?"
    })
    .await;
    assert!(
        !w.seen.iter().any(|v| v["type"] == "conversation"),
        "a resume, not a snapshot: {:?}",
        w.seen
    );
    w.ok(json!({"type": "reply", "conversation": conv, "text": "Yes, still here"}))
        .await;
    cust.until("the worker's reply through the new writer", |v| {
        v["type"] == "message" && v["text"] == "Yes, still here"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_address_counts_only_with_the_stores_key() {
    let Some(db) = TestDb::create("gateway key") else {
        return;
    };
    let logs = tempfile::tempdir().expect("tempdir");
    // One new conversation per address at once (a burst of half of 2 a minute): the address
    // a start counts against decides whether it is let in.
    let writer =
        HubProcess::start_with_store(BIN, logs.path(), &db.url, &["--chat-address-rate", "2"]);
    let gateway = HubProcess::start_with_store(
        BIN,
        logs.path(),
        &db.url,
        &["--standby", "--chat-address-rate", "2"],
    );
    until_role(&gateway.url, "gateway").await;
    let key = db.query("SELECT gateway_key FROM hub_lease").remove(0);
    assert!(key.len() >= 60, "a long random key: {key}");

    let start = |url: String, headers: Vec<(&'static str, String)>| async move {
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                format!("{url}/ws/customer"),
            )
            .expect("request");
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(name, value.parse().expect("header"));
        }
        let (mut ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connects");
        use futures_util::SinkExt;
        ws.send(Message::Text(
            json!({"type": "start", "id": "s1", "protocol": 1, "name": "Carla", "lang": "en"})
                .to_string()
                .into(),
        ))
        .await
        .expect("send");
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).expect("json");
                    if v["type"] == "started" || v["type"] == "error" {
                        return v;
                    }
                }
                other => panic!("no answer to start: {other:?}"),
            }
        }
    };
    // Through the gateway, from a real address as its proxy header would say: the writing hub
    // counts 203.0.113.7 (the gateway has no proxy header configured, so it sends `-`: none).
    // Straight to the writing hub with the right key: the address given counts.
    let with_key = |ip: &str| {
        vec![
            ("x-shiftdesk-gateway", key.clone()),
            ("x-shiftdesk-client-address", ip.to_string()),
        ]
    };
    let first = start(writer.url.clone(), with_key("203.0.113.7")).await;
    assert_eq!(first["type"], "started", "{first}");
    let second = start(writer.url.clone(), with_key("203.0.113.7")).await;
    assert_eq!(
        second["type"], "error",
        "the same address, limited: {second}"
    );
    let other = start(writer.url.clone(), with_key("203.0.113.8")).await;
    assert_eq!(other["type"], "started", "another address: {other}");
    // The wrong key: the address header is not believed (the peer, loopback, counts: no limit).
    let forged = |ip: &str| {
        vec![
            ("x-shiftdesk-gateway", "not-the-key".to_string()),
            ("x-shiftdesk-client-address", ip.to_string()),
        ]
    };
    for _ in 0..2 {
        let v = start(writer.url.clone(), forged("203.0.113.7")).await;
        assert_eq!(v["type"], "started", "a forged address is ignored: {v}");
    }
    // Through the gateway: it forwards with the key, and the customer starts.
    let via = start(gateway.url.clone(), vec![]).await;
    assert_eq!(via["type"], "started", "{via}");
}

/// A real browser on the web chat served by a gateway: the customer is offered to a worker on
/// the writing hub, and when that hub is killed the page reconnects, the gateway takes the
/// store over, and the conversation goes on with the same worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_chat_through_a_gateway_survives_the_writing_hub() {
    let Some(db) = TestDb::create("gateway web chat") else {
        return;
    };
    let Some(d) = browser::driver("the_web_chat_through_a_gateway").await else {
        return;
    };
    let b = &d.browser;
    let logs = tempfile::tempdir().expect("tempdir");
    let token = add_worker_to(BIN, &Store::Url(&db.url), "Giulia", "en", 2);
    let writer = HubProcess::start_with_store(BIN, logs.path(), &db.url, &[]);
    let gateway = HubProcess::start_with_store(BIN, logs.path(), &db.url, &["--standby"]);
    until_role(&gateway.url, "gateway").await;
    let (mut w, _) = worker(&writer.url, &token).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;

    let page = format!("{}/chat", gateway.url.replacen("ws://", "http://", 1));
    b.goto(&page).await.expect("open /chat on the gateway");
    browser::until(b, "the greeting", "document.querySelector('#log li.bot')").await;
    let conversation = browser::a_person_takes_it(b, &mut w).await;
    w.ok(json!({"type": "reply", "conversation": conversation, "text": "Hello from the writing hub"}))
        .await;
    browser::until_worker_said(b, "Hello from the writing hub").await;

    writer.kill();
    until_role(&gateway.url, "writer").await;
    browser::type_line(b, "are you still there?").await;
    let (mut w, _) = worker(&gateway.url, &token).await;
    w.until("the customer's line after the takeover", |v| {
        browser::customer_lines(v, "are you still there?") == 1
    })
    .await;
    w.ok(json!({"type": "reply", "conversation": conversation, "text": "Yes, from the hub that took over"}))
        .await;
    browser::until_worker_said(b, "from the hub that took over").await;
    let shown = browser::lines(b).await;
    let customer: Vec<&(String, String)> = shown
        .iter()
        .filter(|(_, text)| text == "are you still there?")
        .collect();
    assert_eq!(customer.len(), 1, "the line shown once: {shown:?}");
}

/// A writing hub whose `--advertise` leads to a gateway instead of itself: the gateway would
/// forward to itself for ever. It refuses what another hub forwarded, and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_advertised_address_that_leads_to_a_gateway_is_refused_not_looped() {
    let Some(db) = TestDb::create("gateway loop") else {
        return;
    };
    let logs = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let wrong = format!("ws://127.0.0.1:{port}");
    let _writer = HubProcess::start_with_store(BIN, logs.path(), &db.url, &["--advertise", &wrong]);
    let mut command = std::process::Command::new(BIN);
    command
        .args(["hub", "--listen", &format!("127.0.0.1:{port}")])
        // Its own address written another way: it takes the lease's for another hub's.
        .args(["--store", &db.url, "--standby"])
        .args(["--advertise", &format!("ws://localhost:{port}")])
        .stderr(std::process::Stdio::null());
    let (mut gateway, url) = shiftdesk_testkit::hub::spawn_hub(command);
    until_role(&url, "gateway").await;
    let refused = tokio_tungstenite::connect_async(format!("{url}/ws/customer")).await;
    let _ = gateway.kill();
    let _ = gateway.wait();
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 503);
            let body =
                String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).to_string();
            assert!(body.contains("--advertise"), "{body}");
        }
        other => panic!("a refusal expected, got {other:?}"),
    }
}

/// Frames as big as the hub's own clients get pass a gateway: a worker's login snapshot with
/// a long conversation (over 2 MiB). A client's frame over the limit is told `1009`, as by
/// the hub itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_frames_pass_a_gateway_and_too_big_ones_are_refused_alike() {
    use futures_util::SinkExt;
    let Some(db) = TestDb::create("gateway big frames") else {
        return;
    };
    let logs = tempfile::tempdir().expect("tempdir");
    let token = add_worker_to(BIN, &Store::Url(&db.url), "Ana", "en", 2);
    let flags = ["--chat-rate", "0", "--chat-address-rate", "0"];
    let writer = HubProcess::start_with_store(BIN, logs.path(), &db.url, &flags);
    let gateway = HubProcess::start_with_store(
        BIN,
        logs.path(),
        &db.url,
        &["--standby", flags[0], flags[1], flags[2], flags[3]],
    );
    until_role(&gateway.url, "gateway").await;
    let (_w, mut c, conv, _) =
        shiftdesk_testkit::conversation_with_a_person(&writer.url, &token).await;
    let line = "x".repeat(3900);
    for _ in 0..600 {
        c.ok(json!({"type": "message", "text": line})).await;
    }
    let (mut w, _) = worker(&gateway.url, &token).await;
    let snapshot = w
        .until("the long conversation", |v| {
            v["type"] == "conversation" && v["conversation"]["id"] == conv.as_str()
        })
        .await;
    let size = snapshot.to_string().len();
    assert!(size > 2 * 1024 * 1024, "a frame over 2 MiB: {size} bytes");

    let mut big = Client::connect(&gateway.url, "/ws/customer").await;
    let _ = big
        .ws
        .send(Message::Text("y".repeat(3 * 1024 * 1024).into()))
        .await;
    let (code, _) = close_of(&mut big).await;
    assert_eq!(code, 1009, "too big, as the hub says it");
}
