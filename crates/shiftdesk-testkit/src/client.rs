//! A websocket client for tests that speak the protocol by hand, in JSON: it keeps every frame
//! it received, so a test can wait for one and look back at the others.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use shiftdesk_client::WsStream;
use tokio_tungstenite::tungstenite::Message;

/// How long a test waits for a frame it expects before failing.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(15);

/// A websocket client that remembers every frame it received.
pub struct Client {
    pub ws: WsStream,
    pub seen: Vec<Value>,
    /// Command ids must never repeat for a worker, even across connections: a random prefix.
    prefix: String,
    next_id: u64,
}

impl Client {
    pub async fn connect(base: &str, endpoint: &str) -> Client {
        let url = shiftdesk_client::endpoint_url(base, endpoint).expect("url");
        let ws = shiftdesk_client::connect(&url, None)
            .await
            .expect("connects");
        Client {
            ws,
            seen: vec![],
            prefix: format!("{:x}", rand::random::<u32>()),
            next_id: 0,
        }
    }

    pub fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("{}-{}", self.prefix, self.next_id)
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.to_string().into()))
            .await
            .expect("send");
    }

    /// Send a command with a fresh id; returns the id.
    pub async fn send(&mut self, mut frame: Value) -> String {
        let id = match frame.get("id").and_then(Value::as_str) {
            Some(id) => id.to_string(),
            None => {
                let id = self.new_id();
                frame["id"] = json!(id);
                id
            }
        };
        self.send_raw(&frame.to_string()).await;
        id
    }

    /// The next frame, or None if the connection closed.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(FRAME_TIMEOUT, self.ws.next())
                .await
                .expect("a frame arrives in time")?;
            match msg {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(&t).expect("hub sends JSON");
                    self.seen.push(v.clone());
                    return Some(v);
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Wait for the first frame matching `pred` (frames before it are kept in `seen`).
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            match self.next().await {
                Some(v) if pred(&v) => return v,
                Some(_) => {}
                None => panic!(
                    "connection closed while waiting for {what}; saw {:#?}",
                    self.seen
                ),
            }
        }
    }

    /// The newest frame already received that matches, or else wait for one.
    pub async fn seen_or_until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        match self.seen.iter().rev().find(|v| pred(v)) {
            Some(v) => v.clone(),
            None => self.until(what, pred).await,
        }
    }

    pub async fn until_type(&mut self, kind: &str) -> Value {
        self.until(kind, |v| v["type"] == kind).await
    }

    /// Send a command and wait for its ack or error.
    pub async fn command(&mut self, frame: Value) -> Value {
        let id = self.send(frame).await;
        self.until(&format!("answer to {id}"), |v| {
            (v["type"] == "ack" || v["type"] == "error") && v["id"] == id.as_str()
        })
        .await
    }

    pub async fn ok(&mut self, frame: Value) {
        let answer = self.command(frame.clone()).await;
        assert_eq!(answer["type"], "ack", "{frame} was refused: {answer}");
        assert!(
            answer["duplicate"] != true || frame.get("id").is_some(),
            "{frame} was taken for a retry of an earlier command: {answer}"
        );
    }
}

/// Log in as a worker; returns the client and the welcome frame.
pub async fn worker(base: &str, token: &str) -> (Client, Value) {
    let mut c = Client::connect(base, "/ws/worker").await;
    c.send(json!({"type": "hello", "token": token, "protocol": 1}))
        .await;
    let welcome = c.until_type("welcome").await;
    (c, welcome)
}

/// Log in as a worker and go available.
pub async fn available(base: &str, token: &str) -> Client {
    let (mut w, _) = worker(base, token).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    w
}

/// The next thing the bot says to the customer.
pub async fn bot_says(c: &mut Client) -> String {
    c.until("a bot message", |v| {
        v["type"] == "message" && v["from"] == "bot"
    })
    .await["text"]
        .as_str()
        .expect("text")
        .to_string()
}

/// The draft the worker is offered after accepting `conv` (the offer is awaited first).
pub async fn accepted_draft(w: &mut Client, conv: &str) -> Value {
    w.until_type("offer").await;
    w.ok(json!({"type": "accept_offer", "conversation": conv}))
        .await;
    let view = w
        .seen_or_until("the conversation", |v| v["type"] == "conversation")
        .await;
    match &view["conversation"]["draft"] {
        Value::Null => w.until_type("draft").await["draft"].clone(),
        ready => ready.clone(),
    }
}

/// Open a customer conversation; returns the client and the conversation id.
pub async fn customer(base: &str, name: &str, lang: &str) -> (Client, String) {
    let mut c = Client::connect(base, "/ws/customer").await;
    c.send(json!({"type": "start", "protocol": 1, "name": name, "lang": lang}))
        .await;
    let started = c.until_type("started").await;
    let id = started["conversation"].as_str().expect("id").to_string();
    (c, id)
}

/// A worker who goes available, a customer who asks for a person, and the worker taking the
/// offer: the worker, the customer, the conversation id and the customer's `started` frame.
pub async fn conversation_with_a_person(url: &str, token: &str) -> (Client, Client, String, Value) {
    let (mut w, _) = worker(url, token).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let (mut c, conv) = customer(url, "Carla", "en").await;
    let started = c.seen_or_until("started", |v| v["type"] == "started").await;
    let ack = c
        .command(json!({"type": "message", "text": "I want to talk to a person"}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let offer = w.until_type("offer").await;
    assert_eq!(offer["conversation"], conv.as_str());
    w.ok(json!({"type": "accept_offer", "conversation": conv}))
        .await;
    (w, c, conv, started)
}

/// The customer of `conv` (whose `started` frame was `started`) back on a new connection to
/// `url`, resumed from the start of its stream.
pub async fn resume_customer(url: &str, conv: &str, started: &Value) -> Client {
    let mut c = Client::connect(url, "/ws/customer").await;
    c.send(json!({"type": "start", "protocol": 1, "resume": {
        "conversation": conv, "key": started["key"], "stream": started["stream"], "last_seq": 0}}))
        .await;
    c.until_type("started").await;
    c
}

/// A gauge of the hub's `/metrics` (`name{labels}`), e.g.
/// `shiftdesk_streams{kind="conversation"}`; `None` when it is not there or nothing answers.
/// Blocks: from async code, on `spawn_blocking`.
pub fn gauge(base: &str, series: &str) -> Option<f64> {
    let (status, body) = crate::hub::http_get(base, "/metrics")?;
    if status != 200 {
        return None;
    }
    body.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// A hub started with `--keep-ended 1`: a worker resolves a conversation and its customer
/// leaves; the hub lets the conversation's stream go (its `shiftdesk_streams` gauge drops to 0
/// within 20 s), and the customer who comes back with their old stream gets the whole
/// transcript, ended, instead of a resume. Returns the conversation's old stream name.
pub async fn an_ended_conversation_is_let_go(url: &str, token: &str) -> String {
    let (mut w, mut c, conv, started) = conversation_with_a_person(url, token).await;
    w.ok(json!({"type": "reply", "conversation": conv, "text": "Done: refunded."}))
        .await;
    c.until("the reply", |v| {
        v["type"] == "message" && v["from"] == "worker"
    })
    .await;
    w.ok(json!({"type": "resolve", "conversation": conv})).await;
    c.until("the end", |v| v["type"] == "closed").await;
    let last_seq = c.seen.iter().filter_map(|v| v["seq"].as_u64()).max();
    drop(c);
    let series = r#"shiftdesk_streams{kind="conversation"}"#;
    let base = url.to_string();
    let held = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let held = gauge(&base, series);
            if held == Some(0.0) || std::time::Instant::now() > deadline {
                return held;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    })
    .await
    .expect("the metrics poll");
    assert_eq!(
        held,
        Some(0.0),
        "{series}: the ended conversation's stream is still held"
    );

    let mut back = Client::connect(url, "/ws/customer").await;
    back.send(json!({"type": "start", "protocol": 1, "resume": {
        "conversation": conv, "key": started["key"], "stream": started["stream"],
        "last_seq": last_seq}}))
        .await;
    let again = back.until_type("started").await;
    assert_eq!(again["resumed"], false, "{again}");
    assert_ne!(
        again["stream"], started["stream"],
        "a stream of a new name: {again}"
    );
    let transcript = &again["transcript"];
    assert_eq!(transcript["closed"], "resolved", "{again}");
    let texts: Vec<&str> = transcript["messages"]
        .as_array()
        .expect("the transcript's messages")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert!(
        texts.contains(&"I want to talk to a person") && texts.contains(&"Done: refunded."),
        "{texts:?}"
    );
    started["stream"]
        .as_str()
        .expect("a stream name")
        .to_string()
}
