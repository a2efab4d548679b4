//! The chat page in a real browser, as outside testers used it: where the keyboard focus starts
//! and shows, a signed context too long for the hub, and the chat open in two tabs.
//!
//! Like `web_chat.rs`, these drive Debian's `chromium` through `chromedriver` against a real hub
//! on 127.0.0.1:0; without them installed they print that they skipped.

#![cfg(unix)]

mod browser;

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;
use shiftdesk_hub::chat::ChatSecret;
use shiftdesk_protocol::{Lang, Role};
use shiftdesk_testkit::{add_worker, hub, hub_config, start_hub};

use browser::*;

/// The page opens with the focus in the message box (not four Tabs away), and every control
/// reached with the keyboard shows a focus ring of 3:1 or more against what it is drawn on, the
/// blue header's language menu too, and wholly on the screen, on a desktop and on a phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_focus_starts_in_the_box_and_every_focus_ring_shows() {
    let Some(d) = driver("focus_rings").await else {
        return;
    };
    let b = &d.browser;
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = hub(dir.path()).await;
    for width in [1024, 375] {
        b.set_window_size(width, 700).await.expect("a window size");
        b.goto(&http(&hub, "/chat")).await.expect("open /chat");
        until(b, "the greeting", "document.querySelector('#log li.bot')").await;
        let focused = b
            .execute("return document.activeElement.id;", vec![])
            .await
            .expect("the focus");
        assert_eq!(focused, json!("text"), "{width} px: where the focus starts");
        // Back from the box to the language menu, then on to Send.
        let mut rings = vec![];
        for keys in ["\u{E008}\u{E004}\u{E000}"; 3]
            .into_iter()
            .chain(["\u{E004}"; 4])
        {
            press(b, keys).await;
            let ring = b
                .execute(&format!("return {FOCUS_RING};"), vec![])
                .await
                .expect("the ring");
            if ring[0] == "lang" && width == 1024 {
                screenshot(b, "web-chat-focus-language.png").await;
            }
            rings.push(ring);
        }
        let order: Vec<_> = rings.iter().map(|r| r[0].clone()).collect();
        assert_eq!(
            order,
            ["person", "log", "lang", "log", "person", "text", "send"].map(|id| json!(id)),
            "{width} px: the keyboard's order"
        );
        for ring in &rings {
            assert_eq!(ring[1], json!(true), "{width} px: no focus ring: {ring}");
            assert!(
                ring[2].as_f64().expect("a ratio") >= 3.0,
                "{width} px: a focus ring too faint to see: {ring}"
            );
            assert_eq!(
                ring[3],
                json!(true),
                "{width} px: the ring is off the screen: {ring}"
            );
        }
    }
    hub.shutdown().await;
}

/// A signed context over the protocol's 8192 bytes (`/chat#context=` and 20,000 characters)
/// is dropped, as a bad token is: the bot greets, the customer chats, and the worker sees no
/// verified facts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_signed_context_is_dropped_and_the_chat_works() {
    let Some(d) = driver("over_long_context").await else {
        return;
    };
    let b = &d.browser;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "giulia", &[Lang::En], Role::Worker, 2);
    let mut config = hub_config(dir.path());
    config.chat.secret = Some(ChatSecret::new(SECRET).expect("a secret"));
    let hub = start_hub(config).await;
    let mut w = on_shift(&hub, &token).await;
    for context in ["x".repeat(20_000), "€".repeat(3000)] {
        // Fresh storage, cleared from a page of the hub's that runs no script.
        b.goto(&http(&hub, "/chat.css"))
            .await
            .expect("the hub's origin");
        b.execute("localStorage.clear();", vec![])
            .await
            .expect("fresh storage");
        b.goto(&format!(
            "{}#context={}",
            http(&hub, "/chat"),
            context.replace('€', "%E2%82%AC")
        ))
        .await
        .expect("open /chat with the context");
        until(b, "the greeting", "document.querySelector('#log li.bot')").await;
        assert_eq!(status(b).await, "Connected");
        let conversation = a_person_takes_it(b, &mut w).await;
        let view = w
            .seen_or_until("the conversation", |f| {
                f["type"] == "conversation" && f["conversation"]["id"] == json!(conversation)
            })
            .await;
        let customer = &view["conversation"]["customer"];
        assert_eq!(customer.get("verified"), None, "{customer}");
        type_line(b, "Hello, can you see this?").await;
        w.until("the customer's line", |f| {
            f["type"] == "message" && f["message"]["text"] == "Hello, can you see this?"
        })
        .await;
        until(
            b,
            "the lines to be acked",
            "document.querySelectorAll('#log li.customer').length === 2 && !document.querySelector('#log li .note')",
        )
        .await;
        if context.starts_with('x') {
            screenshot(b, "web-chat-long-context.png").await;
        }
        w.ok(json!({"type": "resolve", "conversation": conversation}))
            .await;
    }

    // Should the page send one anyway (its own check fooled here), the hub turns the `start`
    // down (`bad_field`) and the page starts again without it.
    d.before_each_page("TextEncoder.prototype.encode = function () { return new Uint8Array(0); };")
        .await;
    b.goto(&http(&hub, "/chat.css"))
        .await
        .expect("the hub's origin");
    b.execute("localStorage.clear();", vec![])
        .await
        .expect("fresh storage");
    b.goto(&format!(
        "{}#context={}",
        http(&hub, "/chat"),
        "y".repeat(20_000)
    ))
    .await
    .expect("open /chat with the context");
    until(b, "the greeting", "document.querySelector('#log li.bot')").await;
    type_line(b, "And now?").await;
    until(
        b,
        "the line to be acked",
        "document.querySelector('#log li.customer') && !document.querySelector('#log li .note')",
    )
    .await;
    hub.shutdown().await;
}

/// The chat open in two tabs of one browser (the same storage): the tab the chat moved away
/// from says so, in its status bar too, and takes nothing to send; what was typed in its box
/// stays there, and "Continue here" takes the chat back, with the focus in the box. A line left
/// in the shared outbox is sent by the tab that holds the chat. When the tab holding it is
/// closed, the one left takes it back by itself. The worker gets every line once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_open_in_two_tabs_is_written_in_the_one_that_holds_it() {
    let Some(d) = driver("two_tabs").await else {
        return;
    };
    let b = &d.browser;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "giulia", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let mut w = on_shift(&hub, &token).await;
    b.goto(&http(&hub, "/chat")).await.expect("open /chat");
    until(b, "the greeting", "document.querySelector('#log li.bot')").await;
    let conversation = a_person_takes_it(b, &mut w).await;
    let with_person =
        "document.getElementById('status').textContent === 'You are chatting with a person.'
         && !document.getElementById('text').disabled";
    until(b, "the worker", with_person).await;
    let first = b.window().await.expect("the first tab");
    b.find(Locator::Id("text"))
        .await
        .expect("the text field")
        .send_keys("typed in the first tab")
        .await
        .expect("typing");

    let second = b.new_window(true).await.expect("a second tab").handle;
    b.switch_to_window(second.clone())
        .await
        .expect("to the second tab");
    b.goto(&http(&hub, "/chat"))
        .await
        .expect("open /chat again");
    until(b, "the chat in the second tab", with_person).await;

    b.switch_to_window(first.clone())
        .await
        .expect("to the first tab");
    let away = "getComputedStyle(document.getElementById('elsewhere')).display !== 'none'";
    until(b, "the first tab to say the chat moved", away).await;
    // It stays so: no "Connecting…", nothing to send from here.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let state =
        "[document.getElementById('status').textContent, document.getElementById('text').disabled,
         document.getElementById('send').disabled, document.getElementById('person').disabled,
         document.getElementById('text').value, document.activeElement.id]";
    let shown = b
        .execute(&format!("return {state};"), vec![])
        .await
        .expect("the first tab");
    assert_eq!(
        shown,
        json!([
            "This chat is open in another tab or window.",
            true,
            true,
            true,
            "typed in the first tab",
            "here"
        ]),
        "the tab the chat moved away from"
    );
    b.execute(
        "document.getElementById('compose').requestSubmit();",
        vec![],
    )
    .await
    .expect("submit");
    assert_eq!(
        b.execute(
            "return [document.querySelectorAll('#log li.customer').length,
                     JSON.parse(localStorage.getItem('shiftdesk.chat.v1')).outbox.length];",
            vec![]
        )
        .await
        .expect("check"),
        json!([1, 0]),
        "a line was taken in the tab the chat moved away from"
    );
    screenshot(b, "web-chat-elsewhere.png").await;

    // A line in the shared outbox (written by this tab as the other took over, or by an older
    // page): the tab holding the chat sends it.
    b.execute(
        "const s = JSON.parse(localStorage.getItem('shiftdesk.chat.v1'));
         s.cseq += 1;
         s.outbox.push({ id: 'm-shared-outbox', n: s.cseq, text: 'left in the shared outbox' });
         s.lines.push({ from: 'customer', text: 'left in the shared outbox', at: Date.now(), pending: 'm-shared-outbox' });
         localStorage.setItem('shiftdesk.chat.v1', JSON.stringify(s));",
        vec![],
    )
    .await
    .expect("a line in the outbox");
    w.until("the line from the shared outbox", |f| {
        f["type"] == "message" && f["message"]["text"] == "left in the shared outbox"
    })
    .await;
    let acked = "document.querySelectorAll('#log li.customer').length === 2 && !document.querySelector('#log li .note')";
    until(b, "the shared line acked, as the first tab shows", acked).await;

    // "Continue here": the chat comes back, with the focus in the box; Enter sends what was kept.
    b.find(Locator::Id("here"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("click");
    until(b, "the chat back in the first tab", with_person).await;
    assert_eq!(
        b.execute("return document.activeElement.id;", vec![])
            .await
            .expect("the focus"),
        json!("text")
    );
    press(b, "\u{E007}").await;
    w.until("the kept line", |f| {
        f["type"] == "message" && f["message"]["text"] == "typed in the first tab"
    })
    .await;
    until(
        b,
        "the kept line acked",
        "document.querySelectorAll('#log li.customer').length === 3 && !document.querySelector('#log li .note')",
    )
    .await;

    // The first tab, holding the chat, is closed: the second takes it back by itself.
    b.close_window().await.expect("close the first tab");
    b.switch_to_window(second).await.expect("to the second tab");
    until(b, "the second tab to take the chat back", with_person).await;
    type_line(b, "written in the second tab").await;
    w.until("the second tab's line", |f| {
        f["type"] == "message" && f["message"]["text"] == "written in the second tab"
    })
    .await;
    until(
        b,
        "all the lines acked",
        "document.querySelectorAll('#log li.customer').length === 4 && !document.querySelector('#log li .note')",
    )
    .await;
    for text in [
        "left in the shared outbox",
        "typed in the first tab",
        "written in the second tab",
    ] {
        let got = w
            .seen
            .iter()
            .filter(|f| f["type"] == "message" && f["message"]["text"] == text)
            .count();
        assert_eq!(got, 1, "{text:?} reached the worker {got} times");
    }
    let shown = lines(b).await;
    let customer: Vec<_> = shown
        .iter()
        .filter(|(from, _)| from == "customer")
        .map(|(_, text)| text.as_str())
        .collect();
    assert_eq!(
        customer,
        [
            "I would like to talk to a person, please.",
            "left in the shared outbox",
            "typed in the first tab",
            "written in the second tab"
        ],
        "{shown:?}"
    );
    w.ok(json!({"type": "resolve", "conversation": conversation}))
        .await;
    hub.shutdown().await;
}
