//! The web chat (`GET /chat`, `GET /widget.js`): its headers and size, the transcript snapshot a
//! customer gets after a hub restart, and the page itself in a real browser.
//!
//! The browser tests drive Debian's `chromium` through `chromedriver` (WebDriver, headless,
//! `--no-sandbox`) against a real hub on 127.0.0.1:0 and a real worker over websocket. Without
//! chromium and chromedriver installed they print that they skipped; `.ci/run` installs both.

#![cfg(unix)]

mod browser;

use std::io::Read;

use std::time::Duration;

use fantoccini::Locator;
use serde_json::{Value, json};
use shiftdesk_hub::chat::ChatSecret;
use shiftdesk_hub::server::RunningHub;
use shiftdesk_protocol::{Lang, Role};
use shiftdesk_testkit::{Client, add_worker, hub, hub_config, start_hub, worker};

use browser::*;

// ---------------------------------------------------------------------------------------------
// Without a browser
// ---------------------------------------------------------------------------------------------

/// What a worker is shown of a customer who opened with `start` (extra fields merged in), once
/// they asked for a person and the worker accepted.
async fn customer_as_shown(hub: &RunningHub, worker: &mut Client, start: Value) -> Value {
    let mut c = Client::connect(&hub.url(), "/ws/customer").await;
    let mut frame = json!({"type": "start", "protocol": 1, "lang": "en"});
    for (k, v) in start.as_object().expect("an object") {
        frame[k] = v.clone();
    }
    c.send(frame).await;
    c.until_type("started").await;
    c.send(json!({"type": "message", "text": "I want to talk to a person"}))
        .await;
    let offer = worker.until_type("offer").await;
    let conversation = offer["conversation"].as_str().expect("id").to_string();
    worker
        .ok(json!({"type": "accept_offer", "conversation": conversation}))
        .await;
    let view = worker
        .seen_or_until("the conversation", |f| {
            f["type"] == "conversation" && f["conversation"]["id"] == json!(conversation)
        })
        .await;
    worker
        .ok(json!({"type": "resolve", "conversation": conversation}))
        .await;
    view["conversation"]["customer"].clone()
}

/// Context the operator's backend signed is shown as verified, and wins over what the browser
/// declared under the same key; a forged or expired token shows nothing of itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_context_is_verified_and_a_forged_one_is_not_shown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "giulia", &[Lang::En], Role::Worker, 3);
    let mut config = hub_config(dir.path());
    let secret = ChatSecret::new(SECRET).expect("a secret");
    config.chat.secret = Some(secret.clone());
    let hub = start_hub(config).await;
    let mut w = on_shift(&hub, &token).await;

    let signed = secret.sign(&json!({"plan": "Pay in 3", "customer_id": 4711}));
    let shown = customer_as_shown(
        &hub,
        &mut w,
        json!({"signed_context": signed, "context": {"plan": "Platinum", "page": "/help"}}),
    )
    .await;
    assert_eq!(shown["verified"], json!(["customer_id", "plan"]), "{shown}");
    assert_eq!(
        shown["facts"],
        json!([
            ["page", "/help"],
            ["customer_id", "4711"],
            ["plan", "Pay in 3"]
        ]),
        "{shown}"
    );

    let other = ChatSecret::new(&[b'x'; 32]).expect("a secret");
    let forged = other.sign(&json!({"plan": "Platinum"}));
    let shown = customer_as_shown(&hub, &mut w, json!({"signed_context": forged})).await;
    assert_eq!(shown.get("verified"), None, "{shown}");
    assert_eq!(shown["facts"], json!([]), "{shown}");

    let expired = secret.sign(&json!({"plan": "Pay in 3", "exp": 1_000_000_000}));
    let shown = customer_as_shown(
        &hub,
        &mut w,
        json!({"signed_context": expired, "context": {"page": "/help"}}),
    )
    .await;
    assert_eq!(shown.get("verified"), None, "{shown}");
    assert_eq!(shown["facts"], json!([["page", "/help"]]), "{shown}");
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_page_is_served_with_a_strict_policy_and_fits_the_budget() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = hub_config(dir.path());
    config.chat.origins =
        shiftdesk_hub::web::ChatOrigins::parse("https://shop.example.com").expect("an origin");
    let hub = start_hub(config).await;
    let urls = ["/chat", "/chat.js", "/chat.css", "/widget.js"].map(|p| http(&hub, p));
    let [page, js, css, widget] =
        tokio::task::spawn_blocking(move || urls.map(|u| ureq::get(&u).call().expect("GET")))
            .await
            .expect("requests");
    let csp = page
        .headers()
        .get("content-security-policy")
        .expect("a CSP on /chat")
        .to_str()
        .expect("ascii");
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors https://shop.example.com",
    ] {
        assert!(csp.contains(part), "CSP {csp:?} lacks {part:?}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    for (response, kind) in [
        (&page, "text/html"),
        (&js, "text/javascript"),
        (&css, "text/css"),
        (&widget, "text/javascript"),
    ] {
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(
            headers["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with(kind),
            "{:?}",
            headers["content-type"]
        );
    }
    let mut page = page;
    let html = page.body_mut().read_to_string().expect("body");
    assert!(
        html.contains(r#"data-langs="en:"#) && html.contains(",ru:"),
        "the page lists the hub's languages: {html}"
    );

    // Everything the page needs, gzipped, under 30 KB.
    let mut total = 0;
    for (name, text) in shiftdesk_hub::web::ASSETS {
        let mut gz = flate2::read::GzEncoder::new(text.as_bytes(), flate2::Compression::best());
        let mut out = Vec::new();
        gz.read_to_end(&mut out).expect("gzip");
        eprintln!("{name}: {} bytes, {} gzipped", text.len(), out.len());
        total += out.len();
    }
    assert!(total < 30 * 1024, "the web chat is {total} bytes gzipped");

    // Served that way to a browser that accepts it; and once it has a file, a 304.
    let url = http(&hub, "/chat.js");
    let (gzipped, etag, again) = tokio::task::spawn_blocking(move || {
        let mut first = ureq::get(&url)
            .header("accept-encoding", "gzip, deflate, br")
            .call()
            .expect("GET");
        assert_eq!(first.headers()["content-encoding"], "gzip");
        let etag = first.headers()["etag"].to_str().expect("ascii").to_string();
        let body = first.body_mut().read_to_vec().expect("body");
        let again = ureq::get(&url)
            .header("accept-encoding", "gzip")
            .header("if-none-match", &etag)
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .expect("GET")
            .status()
            .as_u16();
        (body, etag, again)
    })
    .await
    .expect("requests");
    let mut js = String::new();
    flate2::read::GzDecoder::new(gzipped.as_slice())
        .read_to_string(&mut js)
        .expect("gunzip");
    assert_eq!(js, shiftdesk_hub::web::ASSETS[1].1);
    assert!(etag.starts_with('"'), "{etag}");
    assert_eq!(again, 304);
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_resuming_after_a_restart_gets_the_whole_transcript() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "giulia", &[Lang::En], Role::Worker, 2);
    let first = hub(dir.path()).await;
    let (mut w, _) = worker(&first.url(), &token).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let mut c = Client::connect(&first.url(), "/ws/customer").await;
    c.send(json!({"type": "start", "protocol": 1, "lang": "en"}))
        .await;
    let started = c.until_type("started").await;
    let (conversation, key, stream) = (
        started["conversation"].as_str().expect("id").to_string(),
        started["key"].as_str().expect("key").to_string(),
        started["stream"].as_str().expect("stream").to_string(),
    );
    c.ok(json!({"type": "message", "text": "I want to talk to a person"}))
        .await;
    let offer = w.until_type("offer").await;
    assert_eq!(offer["conversation"], conversation.as_str());
    w.ok(json!({"type": "accept_offer", "conversation": conversation}))
        .await;
    w.ok(
        json!({"type": "note", "conversation": conversation, "text": "private: check the refund"}),
    )
    .await;
    w.ok(json!({"type": "reply", "conversation": conversation, "text": "Hello, I am here."}))
        .await;
    c.until("the reply", |f| f["text"] == "Hello, I am here.")
        .await;
    let last_seq = c.seen.iter().filter_map(|f| f["seq"].as_u64()).max();

    let addr = first.addr;
    first.shutdown().await;
    let mut config = hub_config(dir.path());
    config.listen = addr;
    let second = start_hub(config).await;
    let mut c = Client::connect(&second.url(), "/ws/customer").await;
    c.send(json!({"type": "start", "protocol": 1, "resume": {
        "conversation": conversation, "key": key, "stream": stream, "last_seq": last_seq}}))
        .await;
    let started = c.until_type("started").await;
    assert_eq!(started["resumed"], false, "{started}");
    let transcript = &started["transcript"];
    let lines: Vec<(&str, &str)> = transcript["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("a transcript in {started}"))
        .iter()
        .map(|m| {
            (
                m["from"].as_str().expect("from"),
                m["text"].as_str().expect("text"),
            )
        })
        .collect();
    assert_eq!(lines.first().map(|l| l.0), Some("bot"), "{lines:?}");
    assert!(lines.contains(&("customer", "I want to talk to a person")));
    assert_eq!(lines.last(), Some(&("worker", "Hello, I am here.")));
    assert!(
        lines
            .iter()
            .all(|(from, text)| *from != "note" && !text.contains("private")),
        "a note reached the customer: {lines:?}"
    );
    assert!(transcript["closed"].is_null());
    let seq = transcript["last_seq"].as_u64().expect("last_seq");

    // The stream goes on after the snapshot's last_seq.
    let (mut w, _) = worker(&second.url(), &token).await;
    w.ok(json!({"type": "reply", "conversation": conversation, "text": "Still here."}))
        .await;
    let reply = c
        .until("the next reply", |f| f["text"] == "Still here.")
        .await;
    assert_eq!(reply["seq"].as_u64(), Some(seq + 1), "{reply}");
    second.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// In a real browser
// ---------------------------------------------------------------------------------------------

const XSS_WORKER: &str =
    r#"<img src=x onerror="window.__xss='worker'"><script>window.__xss='worker'</script>"#;
const XSS_CUSTOMER: &str = r#"<img src=x onerror="window.__xss='customer'"> & <b>bold</b>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn talk_to_a_person_first_then_the_workers_reply_shows_as_text() {
    let Some(d) = driver("talk_to_a_person_first").await else {
        return;
    };
    let b = &d.browser;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "giulia", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let mut w = on_shift(&hub, &token).await;

    b.goto(&http(&hub, "/chat")).await.expect("open /chat");
    until(b, "the greeting", "document.querySelector('#log li.bot')").await;
    let hidden = b
        .execute(
            "return ['ended', 'elsewhere'].map(id => getComputedStyle(document.getElementById(id)).display);",
            vec![],
        )
        .await
        .expect("styles");
    assert_eq!(
        hidden,
        json!(["none", "none"]),
        "panels shown before their time"
    );
    // The very first action: the button.
    ask_for_a_person(b).await;
    let offer = w.until_type("offer").await;
    let conversation = offer["conversation"].as_str().expect("id").to_string();
    until(
        b,
        "the queue position",
        "document.getElementById('status').textContent.includes('number 1 in the queue')",
    )
    .await;
    w.ok(json!({"type": "accept_offer", "conversation": conversation}))
        .await;
    until(
        b,
        "the worker's name",
        "[...document.querySelectorAll('#log li.system')].some(li => li.textContent.includes('Giulia'))",
    )
    .await;
    // A note is never shown, and never makes the customer see "typing".
    w.ok(json!({"type": "note", "conversation": conversation, "text": "NOTE-never-shown"}))
        .await;
    // The console says the owner is typing a reply: the page shows it, with their name.
    w.send(json!({"type": "typing", "conversation": conversation}))
        .await;
    until(
        b,
        "the typing indicator",
        "!document.getElementById('typing').hidden && document.getElementById('typing').textContent === 'Giulia is typing…'",
    )
    .await;
    w.ok(json!({"type": "reply", "conversation": conversation, "text": XSS_WORKER}))
        .await;
    until(
        b,
        "the worker's reply",
        "document.querySelector('#log li.worker')",
    )
    .await;
    // Their line ends the indicator, and is headed with their name.
    let after_reply = b
        .execute(
            "return [document.getElementById('typing').hidden,
                     document.querySelector('#log li.worker .who').textContent];",
            vec![],
        )
        .await
        .expect("check");
    assert_eq!(after_reply, json!([true, "Giulia"]));
    type_line(b, XSS_CUSTOMER).await;
    w.until("the customer's line", |f| {
        f["type"] == "message" && f["message"]["text"] == XSS_CUSTOMER
    })
    .await;
    until(
        b,
        "the customer's line to be acked",
        "!document.querySelector('#log li .note')",
    )
    .await;

    let shown = lines(b).await;
    assert!(
        shown.contains(&("worker".into(), XSS_WORKER.into())),
        "{shown:?}"
    );
    assert!(
        shown.contains(&("customer".into(), XSS_CUSTOMER.into())),
        "{shown:?}"
    );
    assert!(
        !shown.iter().any(|(_, t)| t.contains("NOTE-never-shown")),
        "{shown:?}"
    );
    let injected = b
        .execute(
            "return [window.__xss || null, document.querySelectorAll('#log img, #log script, #log b').length];",
            vec![],
        )
        .await
        .expect("check");
    assert_eq!(
        injected,
        json!([null, 0]),
        "markup from a line ran or rendered"
    );
    screenshot(b, "web-chat.png").await;

    // Reload: the same transcript, nothing twice.
    b.refresh().await.expect("reload");
    let n = shown.len();
    until(
        b,
        "the transcript after a reload",
        &format!("document.querySelectorAll('#log li').length >= {n}"),
    )
    .await;
    assert_eq!(lines(b).await, shown, "the reload changed the transcript");

    // The worker resolves: the page says so and offers a new chat.
    w.ok(json!({"type": "resolve", "conversation": conversation}))
        .await;
    until(
        b,
        "the end",
        "getComputedStyle(document.getElementById('ended')).display !== 'none'",
    )
    .await;
    assert!(
        b.execute("return document.getElementById('text').disabled;", vec![])
            .await
            .expect("check")
            .as_bool()
            .expect("bool")
    );
    b.find(Locator::Id("new-chat"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("click");
    until(
        b,
        "a new greeting alone",
        "document.querySelectorAll('#log li').length === 1 && document.querySelector('#log li.bot')",
    )
    .await;
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routine_question_is_answered_by_the_bot() {
    let Some(d) = driver("a_routine_question").await else {
        return;
    };
    let b = &d.browser;
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = hub(dir.path()).await;
    b.goto(&http(&hub, "/chat")).await.expect("open /chat");
    until(b, "the greeting", "document.querySelector('#log li.bot')").await;
    type_line(b, "How can I move the due date of my next instalment?").await;
    until(
        b,
        "the bot's answer",
        "document.querySelectorAll('#log li.bot').length === 2",
    )
    .await;
    let shown = lines(b).await;
    assert_eq!(shown.len(), 3, "{shown:?}");
    assert_eq!(shown[1].0, "customer");
    // Keyboard only: Shift+Tab from the text field reaches "Talk to a person", with a focus ring.
    let field = b.find(Locator::Id("text")).await.expect("the text field");
    field
        .send_keys("\u{E008}\u{E004}\u{E000}")
        .await
        .expect("Shift+Tab");
    let focus = b
        .execute(
            "const e = document.activeElement;
             return [e.id, getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineWidth];",
            vec![],
        )
        .await
        .expect("style");
    assert_eq!(
        focus,
        json!(["person", "solid", "3px"]),
        "the focus after Shift+Tab"
    );
    // Enter on it asks for a person, no mouse needed; with nobody on shift, the page says so.
    b.active_element()
        .await
        .expect("the focused button")
        .send_keys("\u{E007}")
        .await
        .expect("Enter");
    until(
        b,
        "the request for a person, by keyboard",
        "document.querySelectorAll('#log li.customer').length === 2
         && document.getElementById('status').textContent.startsWith('Nobody who speaks')",
    )
    .await;
    d.browser
        .set_window_size(320, 640)
        .await
        .expect("a narrow window");
    let overflow = b
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .expect("measure");
    assert_eq!(overflow, json!(true), "the page scrolls sideways at 320 px");
    screenshot(b, "web-chat-320.png").await;
    hub.shutdown().await;
}

async fn shop_site(listener: tokio::net::TcpListener, hub: String, context: String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let page = format!(
        "<!doctype html><html><head><title>Shop</title></head><body><h1>The shop</h1>\
         <script src=\"{hub}/widget.js\" data-context=\"{context}\" async></script></body></html>"
    );
    while let Ok((mut tcp, _)) = listener.accept().await {
        let page = page.clone();
        tokio::spawn(async move {
            let mut request = [0u8; 4096];
            let _ = tcp.read(&mut request).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = tcp.write_all(response.as_bytes()).await;
            let _ = tcp.shutdown().await;
        });
    }
}

/// The widget on a site `--chat-origins` allows: the launcher opens the chat in an iframe and
/// the bot greets; the context the shop signed reaches the worker as verified. (With the
/// default origins, `'self'`, the browser refuses the frame and the greeting never comes:
/// checked by hand, it fails on the wait.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_opens_the_chat_on_an_allowed_site() {
    let Some(d) = driver("the_widget").await else {
        return;
    };
    let b = &d.browser;
    let dir = tempfile::tempdir().expect("tempdir");
    let site = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the shop");
    let site_url = format!("http://{}", site.local_addr().expect("addr"));
    let mut config = hub_config(dir.path());
    config.chat.origins = shiftdesk_hub::web::ChatOrigins::parse(&site_url).expect("an origin");
    let secret = ChatSecret::new(SECRET).expect("a secret");
    config.chat.secret = Some(secret.clone());
    let token = add_worker(dir.path(), "giulia", &[Lang::En], Role::Worker, 2);
    let hub = start_hub(config).await;
    let mut w = on_shift(&hub, &token).await;
    let signed = secret.sign(&json!({"email": "ana@example.com", "plan": "Pay in 3"}));
    tokio::spawn(shop_site(site, format!("http://{}", hub.addr), signed));

    b.goto(&site_url).await.expect("open the shop");
    let launcher = b
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("button[aria-controls='shiftdesk-chat']"))
        .await
        .expect("the launcher");
    assert_eq!(launcher.text().await.expect("label"), "Chat with us");
    launcher.click().await.expect("open the chat");
    let frame = b
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("#shiftdesk-chat iframe"))
        .await
        .expect("the chat's iframe");
    frame.enter_frame().await.expect("into the iframe");
    until(
        b,
        "the greeting in the widget",
        "document.querySelector('#log li.bot')",
    )
    .await;
    a_person_takes_it(b, &mut w).await;
    let view = w
        .seen_or_until("the conversation", |f| f["type"] == "conversation")
        .await;
    let customer = &view["conversation"]["customer"];
    assert_eq!(customer["verified"], json!(["email", "plan"]), "{customer}");
    b.clone()
        .enter_parent_frame()
        .await
        .expect("back to the shop");
    assert_eq!(
        launcher
            .attr("aria-expanded")
            .await
            .expect("attr")
            .as_deref(),
        Some("true")
    );
    hub.shutdown().await;
}
