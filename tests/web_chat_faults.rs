//! The web chat in a real browser when things go wrong: nobody on shift, a customer over the
//! rate limit, the hub restarted or killed mid-conversation; and the bytes one handled
//! conversation costs on the wire. See `tests/web_chat.rs` for the page itself; the browser
//! steps are in `tests/browser`. Without chromium and chromedriver these tests say they skipped;
//! `.ci/run` installs both.

#![cfg(unix)]

mod browser;

use std::path::Path;

use browser::*;
use serde_json::json;
use shiftdesk_protocol::{Lang, Role};
use shiftdesk_testkit::{add_worker, hub, hub_config, start_hub, worker};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_restart_mid_conversation_loses_nothing_and_repeats_nothing() {
    let Some(d) = driver("a_hub_restart").await else {
        return;
    };
    let b = &d.browser;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "giulia", &[Lang::En], Role::Worker, 2);
    let first = hub(dir.path()).await;
    let addr = first.addr;
    let mut w = on_shift(&first, &token).await;
    b.goto(&http(&first, "/chat")).await.expect("open /chat");
    until(b, "the greeting", "document.querySelector('#log li.bot')").await;
    type_line(b, "I need a human please").await;
    let offer = w.until_type("offer").await;
    let conversation = offer["conversation"].as_str().expect("id").to_string();
    w.ok(json!({"type": "accept_offer", "conversation": conversation}))
        .await;
    w.ok(json!({"type": "reply", "conversation": conversation, "text": "Before the restart."}))
        .await;
    until(b, "the reply", "document.querySelector('#log li.worker')").await;
    let before = lines(b).await;
    first.shutdown().await;
    until(
        b,
        "the page to see the hub gone",
        "!document.getElementById('status').textContent.startsWith('Connected')",
    )
    .await;
    type_line(b, "Typed during the outage").await;

    let mut config = hub_config(dir.path());
    config.listen = addr;
    let second = start_hub(config).await;
    // The page reconnects at once when the network comes back.
    b.execute("window.dispatchEvent(new Event('online'));", vec![])
        .await
        .expect("online");
    let (mut w, _) = worker(&second.url(), &token).await;
    until(
        b,
        "the outage line to be acked",
        "document.querySelectorAll('#log li.customer').length === 2 && !document.querySelector('#log li .note')",
    )
    .await;
    // The worker's stream is in order: once this reply is acked, the outage line has reached
    // the worker, as a `message` or in the conversation it got at login.
    w.ok(json!({"type": "reply", "conversation": conversation, "text": "After the restart."}))
        .await;
    until_worker_said(b, "After the restart.").await;
    until(
        b,
        "the outage line to be acked",
        "!document.querySelector('#log li .note')",
    )
    .await;
    let after = lines(b).await;
    let mut expected = before.clone();
    expected.push(("customer".into(), "Typed during the outage".into()));
    expected.push(("worker".into(), "After the restart.".into()));
    assert_eq!(after, expected, "the transcript after the restart");
    let arrived: usize = w
        .seen
        .iter()
        .map(|f| customer_lines(f, "Typed during the outage"))
        .sum();
    assert_eq!(
        arrived, 1,
        "the outage line reached the worker {arrived} times"
    );
    second.shutdown().await;
}

/// The browser goes offline (as Playwright's `setOffline` does it): the page says so at once,
/// not when its ping times out 30-45 s later; a line typed meanwhile waits, and once the browser
/// is back online the page reconnects at once and the line reaches the worker exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn going_offline_is_shown_at_once_and_online_reconnects_at_once() {
    use std::time::{Duration, Instant};
    let Some(d) = driver("going_offline").await else {
        return;
    };
    let b = &d.browser;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "giulia", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let mut w = on_shift(&hub, &token).await;
    b.set_window_size(375, 667).await.expect("a phone's window");
    b.goto(&http(&hub, "/chat")).await.expect("open /chat");
    until(b, "the greeting", "document.querySelector('#log li.bot')").await;
    let conversation = a_person_takes_it(b, &mut w).await;
    w.ok(json!({"type": "reply", "conversation": conversation, "text": "Hello, Giulia here."}))
        .await;
    until_worker_said(b, "Hello, Giulia here.").await;
    assert_eq!(status(b).await, "You are chatting with a person.");

    d.set_offline(true).await;
    let offline_at = Instant::now();
    until(
        b,
        "the page to say it is offline",
        "document.getElementById('status').classList.contains('offline')",
    )
    .await;
    let took = offline_at.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "the page took {took:?} to say it is offline"
    );
    assert!(status(b).await.starts_with("Offline: reconnecting…"));
    type_line(b, "Typed while offline").await;
    until(
        b,
        "the line, waiting",
        "[...document.querySelectorAll('#log li.customer')].some(li => li.textContent.includes('Typed while offline') && li.querySelector('.note'))",
    )
    .await;
    screenshot(b, "web-chat-offline-375.png").await;
    // Still offline a while later: the page keeps saying so, and waits for the network.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let now = status(b).await;
    assert!(now.starts_with("Offline: reconnecting…"), "{now}");

    d.set_offline(false).await;
    let online_at = Instant::now();
    until(
        b,
        "the line to be acked",
        "!document.querySelector('#log li .note') && document.getElementById('status').textContent === 'You are chatting with a person.'",
    )
    .await;
    let took = online_at.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "the page took {took:?} to reconnect and send"
    );
    w.seen_or_until("the line typed offline", |f| {
        f["type"] == "message" && f["message"]["text"] == "Typed while offline"
    })
    .await;
    // Once: a reply after it arrives after it, and nothing more came meanwhile.
    w.ok(json!({"type": "reply", "conversation": conversation, "text": "Got it."}))
        .await;
    until_worker_said(b, "Got it.").await;
    let arrived: usize = w
        .seen
        .iter()
        .map(|f| customer_lines(f, "Typed while offline"))
        .sum();
    assert_eq!(
        arrived, 1,
        "the offline line reached the worker {arrived} times"
    );
    let shown = lines(b).await;
    assert_eq!(
        shown
            .iter()
            .filter(|(_, text)| text == "Typed while offline")
            .count(),
        1,
        "{shown:?}"
    );
    hub.shutdown().await;
}

/// A shop's page on another origin (another port) that embeds the chat with one script tag,
/// with the customer's context signed by the shop's backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_on_shift_is_said_plainly_and_the_chat_waits_for_someone() {
    let Some(d) = driver("nobody_on_shift").await else {
        return;
    };
    let b = &d.browser;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "giulia", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    b.goto(&http(&hub, "/chat")).await.expect("open /chat");
    until(b, "the greeting", "document.querySelector('#log li.bot')").await;
    ask_for_a_person(b).await;
    until(
        b,
        "the page to say nobody is on shift",
        "document.getElementById('status').textContent.startsWith('Nobody who speaks your language is on shift')",
    )
    .await;
    screenshot(b, "web-chat-nobody-on-shift.png").await;
    // Someone comes on shift: the page says so at once.
    let mut w = on_shift(&hub, &token).await;
    until(
        b,
        "the page to see someone on shift",
        "document.getElementById('status').textContent.startsWith('A person will be with you shortly')",
    )
    .await;
    let offer = w.seen_or_until("the offer", |f| f["type"] == "offer").await;
    let conversation = offer["conversation"].as_str().expect("id").to_string();
    // The customer leaves and comes back later with the same link: still there.
    b.goto("about:blank").await.expect("leave");
    b.goto(&http(&hub, "/chat")).await.expect("come back");
    w.ok(json!({"type": "accept_offer", "conversation": conversation}))
        .await;
    w.ok(json!({"type": "reply", "conversation": conversation, "text": "Sorry for the wait!"}))
        .await;
    until_worker_said(b, "Sorry for the wait!").await;
    let status = b
        .execute(
            "return document.getElementById('status').textContent;",
            vec![],
        )
        .await
        .expect("status");
    assert_eq!(status, json!("You are chatting with a person."));
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_over_the_rate_limit_is_told_and_the_line_goes_later_once() {
    let Some(d) = driver("rate_limit").await else {
        return;
    };
    let b = &d.browser;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "giulia", &[Lang::En], Role::Worker, 2);
    let mut config = hub_config(dir.path());
    // 60 a minute: a burst of 30, then one a second.
    config.chat.per_conversation = 60;
    let hub = start_hub(config).await;
    let mut w = on_shift(&hub, &token).await;
    b.goto(&http(&hub, "/chat")).await.expect("open /chat");
    until(b, "the greeting", "document.querySelector('#log li.bot')").await;
    type_line(b, "I want to talk to a person").await;
    let offer = w.until_type("offer").await;
    let conversation = offer["conversation"].as_str().expect("id").to_string();
    w.ok(json!({"type": "accept_offer", "conversation": conversation}))
        .await;
    // A script in the page sends 34 lines at once (a bot, or a stuck key and Enter).
    b.execute(
        "for (let i = 1; i <= 34; i++) {
           document.getElementById('text').value = 'line ' + i;
           document.getElementById('send').click();
         }",
        vec![],
    )
    .await
    .expect("send 34");
    until(
        b,
        "the rate-limit message",
        "document.getElementById('status').textContent.startsWith('You are sending messages too quickly')",
    )
    .await;
    screenshot(b, "web-chat-rate-limited.png").await;
    until(
        b,
        "every line to be sent in the end",
        "document.querySelectorAll('#log li.customer').length === 35 && !document.querySelector('#log li .note')",
    )
    .await;
    for i in 1..=34 {
        let text = format!("line {i}");
        w.seen_or_until(&text, |f| {
            f["type"] == "message" && f["message"]["text"] == json!(text)
        })
        .await;
    }
    for i in 1..=34 {
        let text = format!("line {i}");
        let arrived: usize = w.seen.iter().map(|f| customer_lines(f, &text)).sum();
        assert_eq!(arrived, 1, "{text} reached the worker {arrived} times");
    }
    // In the order written: a line turned away goes again before those written after it.
    let order: Vec<u32> = w
        .seen
        .iter()
        .filter(|f| f["type"] == "message")
        .filter_map(|f| {
            f["message"]["text"]
                .as_str()?
                .strip_prefix("line ")?
                .parse()
                .ok()
        })
        .collect();
    assert!(
        order.windows(2).all(|p| p[0] < p[1]),
        "lines reached the worker out of order: {order:?}"
    );
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_killed_with_sigkill_mid_conversation_loses_nothing_and_repeats_nothing() {
    let Some(d) = driver("a_hub_killed").await else {
        return;
    };
    let b = &d.browser;
    let bin = env!("CARGO_BIN_EXE_shiftdesk");
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "giulia", &[Lang::En], Role::Worker, 2);
    let first = shiftdesk_testkit::HubProcess::start(bin, dir.path(), &[]);
    let base = first.url.replace("ws://", "http://");
    let port = first.url.rsplit(':').next().expect("a port").to_string();
    let (mut w, _) = worker(&first.url, &token).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    b.goto(&format!("{base}/chat")).await.expect("open /chat");
    until(b, "the greeting", "document.querySelector('#log li.bot')").await;
    type_line(b, "I need a human please").await;
    let offer = w.until_type("offer").await;
    let conversation = offer["conversation"].as_str().expect("id").to_string();
    w.ok(json!({"type": "accept_offer", "conversation": conversation}))
        .await;
    w.ok(json!({"type": "reply", "conversation": conversation, "text": "Before the kill."}))
        .await;
    type_line(b, "Acked before the kill").await;
    until(
        b,
        "the reply, and the line acked",
        "document.querySelector('#log li.worker') && document.querySelectorAll('#log li.customer').length === 2 && !document.querySelector('#log li .note')",
    )
    .await;
    let before = lines(b).await;
    first.kill();
    until(
        b,
        "the page to see the hub gone",
        "!document.getElementById('status').textContent.startsWith('Connected')",
    )
    .await;
    type_line(b, "Typed while the hub was down").await;

    let listen = format!("127.0.0.1:{port}");
    let second = shiftdesk_testkit::HubProcess::start(bin, dir.path(), &["--listen", &listen]);
    b.execute("window.dispatchEvent(new Event('online'));", vec![])
        .await
        .expect("online");
    let (mut w, _) = worker(&second.url, &token).await;
    until(
        b,
        "the outage line to be acked",
        "document.querySelectorAll('#log li.customer').length === 3 && !document.querySelector('#log li .note')",
    )
    .await;
    w.ok(json!({"type": "reply", "conversation": conversation, "text": "After the restart."}))
        .await;
    until_worker_said(b, "After the restart.").await;
    let after = lines(b).await;
    let mut expected = before.clone();
    expected.push(("customer".into(), "Typed while the hub was down".into()));
    expected.push(("worker".into(), "After the restart.".into()));
    assert_eq!(after, expected, "the transcript after the restart");
    // A reload shows the same, from the hub's snapshot or the page's own copy alike.
    b.refresh().await.expect("reload");
    until(
        b,
        "the transcript after a reload",
        &format!(
            "document.querySelectorAll('#log li').length >= {}",
            expected.len()
        ),
    )
    .await;
    assert_eq!(
        lines(b).await,
        expected,
        "the reload changed the transcript"
    );
    let arrived: usize = w
        .seen
        .iter()
        .map(|f| customer_lines(f, "Typed while the hub was down"))
        .sum();
    assert_eq!(
        arrived, 1,
        "the outage line reached the worker {arrived} times"
    );
}

/// A TCP proxy in front of the hub that counts the bytes each way, HTTP and websocket alike:
/// `[to the hub, to the browser]`.
async fn counting_proxy(
    hub: std::net::SocketAddr,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<[std::sync::atomic::AtomicU64; 2]>,
) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the proxy");
    let addr = listener.local_addr().expect("addr");
    let counts = std::sync::Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let shared = counts.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(upstream) = tokio::net::TcpStream::connect(hub).await else {
                continue;
            };
            let (mut cr, mut cw) = client.into_split();
            let (mut ur, mut uw) = upstream.into_split();
            let (up, down) = (shared.clone(), shared.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n @ 1..) = cr.read(&mut buf).await {
                    up[0].fetch_add(n as u64, Ordering::Relaxed);
                    if uw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = uw.shutdown().await;
            });
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n @ 1..) = ur.read(&mut buf).await {
                    down[1].fetch_add(n as u64, Ordering::Relaxed);
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = cw.shutdown().await;
            });
        }
    });
    (addr, counts)
}

/// Bytes on the wire for one handled conversation in the real page, through a counting proxy:
/// the first visit (page, script, style, websocket), the conversation (a routine question the
/// bot answers, "Talk to a person", the worker typing and replying, the customer answering,
/// resolved), and a reload (every file revalidated, the conversation resumed). The figures go
/// to BENCHMARKS.md ("Web chat on the wire"); they are printed, and kept sane by loose limits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_handled_conversation_on_the_wire() {
    use std::sync::atomic::Ordering;
    let Some(d) = driver("on_the_wire").await else {
        return;
    };
    let b = &d.browser;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "giulia", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let mut w = on_shift(&hub, &token).await;
    let (proxy, counts) = counting_proxy(hub.addr).await;
    let read = || {
        (
            counts[0].load(Ordering::Relaxed),
            counts[1].load(Ordering::Relaxed),
        )
    };
    let mut phases: Vec<(&str, (u64, u64))> = Vec::new();
    let mut mark = (0, 0);
    let mut phase = |name: &'static str, now: (u64, u64)| {
        phases.push((name, (now.0 - mark.0, now.1 - mark.1)));
        mark = now;
    };

    b.goto(&format!("http://{proxy}/chat"))
        .await
        .expect("open /chat");
    until(b, "the greeting", "document.querySelector('#log li.bot')").await;
    phase(
        "first visit: page, script, style, websocket, greeting",
        read(),
    );

    type_line(b, "how can I move the due date of my next payment?").await;
    until(
        b,
        "the bot's answer",
        "document.querySelectorAll('#log li.bot').length >= 2 && !document.querySelector('#log li .note')",
    )
    .await;
    let conversation = a_person_takes_it(b, &mut w).await;
    w.send(json!({"type": "typing", "conversation": conversation}))
        .await;
    w.ok(json!({"type": "reply", "conversation": conversation,
                "text": "Hi, I'm Giulia. I have moved your due date by 14 days; you will get an e-mail."}))
        .await;
    type_line(b, "Thank you, that's all I needed!").await;
    w.seen_or_until("the customer's thanks", |f| {
        f["type"] == "message" && f["message"]["text"] == "Thank you, that's all I needed!"
    })
    .await;
    w.ok(json!({"type": "reply", "conversation": conversation, "text": "You're welcome, have a nice day!"}))
        .await;
    w.ok(json!({"type": "resolve", "conversation": conversation}))
        .await;
    until(
        b,
        "the end",
        "getComputedStyle(document.getElementById('ended')).display !== 'none'",
    )
    .await;
    phase(
        "the conversation: 3 customer lines, the bot's answer, 2 replies, resolved",
        read(),
    );

    b.refresh().await.expect("reload");
    until(
        b,
        "the transcript after a reload",
        "document.querySelectorAll('#log li.worker').length === 2",
    )
    .await;
    phase(
        "a reload: files revalidated (304), conversation resumed",
        read(),
    );

    let mut report = String::from("| What | Browser → hub | Hub → browser |\n|---|---:|---:|\n");
    for (name, (up, down)) in &phases {
        report.push_str(&format!("| {name} | {up} B | {down} B |\n"));
    }
    eprintln!("{report}");
    std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-chat-wire.md"),
        &report,
    )
    .expect("write the figures");
    // Loose limits, so that a regression (no compression, no 304s) shows.
    let (first_up, first_down) = phases[0].1;
    assert!(
        first_down < 30 * 1024,
        "first visit: {first_down} bytes down"
    );
    assert!(first_up < 8 * 1024, "first visit: {first_up} bytes up");
    let (_, reload_down) = phases[2].1;
    assert!(
        reload_down < first_down / 2,
        "a reload downloads {reload_down} bytes"
    );
    hub.shutdown().await;
}
