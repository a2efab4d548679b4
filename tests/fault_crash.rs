//! Fault test 1: the hub is killed with SIGKILL at random moments while simulated customers
//! and workers are busy, then restarted, many times. Every message acknowledged to its sender
//! is in the transcript exactly once; no conversation is lost; none has two owners.
//!
//! Cycles: 20 by default; `SHIFTDESK_CRASH_CYCLES=200 cargo test --test fault_crash` for more.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use common::{add_worker_cli, export, hub_process};

/// What the clients were told: acknowledged customer lines and worker replies.
#[derive(Default)]
struct Acked {
    customer: BTreeMap<String, Vec<String>>,
    worker: BTreeMap<String, Vec<String>>,
}

/// A customer who keeps writing until the connection dies. Sends a line, waits for its ack.
async fn busy_customer(url: String, tag: String, acked: Arc<Mutex<Acked>>) {
    let Ok((mut c, conv)) = tokio::time::timeout(Duration::from_secs(5), async {
        let mut c = shiftdesk_testkit::Client::connect(&url, "/ws/customer").await;
        c.send(json!({"type": "start", "protocol": 1, "name": tag}))
            .await;
        let started = c.until_type("started").await;
        (
            c,
            started["conversation"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    })
    .await
    else {
        return;
    };
    for n in 0.. {
        let text = if n == 1 {
            format!("{tag}: I want to talk to a person")
        } else {
            format!("{tag}: line {n}")
        };
        let id = format!("m{n}");
        let frame = json!({"id": id, "type": "message", "text": text}).to_string();
        if c.ws.send(Message::Text(frame.into())).await.is_err() {
            return;
        }
        // Wait for the ack; a dead connection ends this customer.
        loop {
            match c.ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap_or_default();
                    if v["type"] == "ack" && v["id"] == id.as_str() {
                        acked
                            .lock()
                            .expect("lock")
                            .customer
                            .entry(conv.clone())
                            .or_default()
                            .push(text.clone());
                        break;
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            }
        }
    }
}

/// A worker who takes every offer and replies to every customer line, until the link dies.
async fn busy_worker(url: String, token: String, acked: Arc<Mutex<Acked>>) {
    let Ok(mut ws) = shiftdesk_client::connect(&format!("{url}/ws/worker"), None).await else {
        return;
    };
    let prefix = format!("{:x}", rand::random::<u64>());
    let mut n = 0;
    let mut send = |v: Value| {
        n += 1;
        let id = format!("{prefix}-{n}");
        let mut v = v;
        v["id"] = json!(id);
        (id, Message::Text(v.to_string().into()))
    };
    let mut pending: BTreeMap<String, (String, String)> = BTreeMap::new();
    for v in [
        json!({"type": "hello", "token": token, "protocol": 1}),
        json!({"type": "set_status", "status": "available"}),
    ] {
        if ws.send(send(v).1).await.is_err() {
            return;
        }
    }
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(t) = msg else { continue };
        let v: Value = serde_json::from_str(&t).unwrap_or_default();
        let out = match v["type"].as_str() {
            Some("offer") => {
                Some(json!({"type": "accept_offer", "conversation": v["conversation"]}))
            }
            Some("message") if v["message"]["from"] == "customer" => {
                let text = format!("re: {}", v["message"]["text"].as_str().unwrap_or_default());
                Some(json!({"type": "reply", "conversation": v["conversation"], "text": text}))
            }
            Some("ack") => {
                if let Some((conv, text)) = pending.remove(v["id"].as_str().unwrap_or_default()) {
                    acked
                        .lock()
                        .expect("lock")
                        .worker
                        .entry(conv)
                        .or_default()
                        .push(text);
                }
                None
            }
            _ => None,
        };
        if let Some(frame) = out {
            let (id, msg) = send(frame.clone());
            if frame["type"] == "reply" {
                pending.insert(
                    id,
                    (
                        frame["conversation"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                        frame["text"].as_str().unwrap_or_default().to_string(),
                    ),
                );
            }
            if ws.send(msg).await.is_err() {
                return;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cycles: usize = std::env::var("SHIFTDESK_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let tokens: Vec<String> = ["ada", "bo"]
        .iter()
        .map(|name| add_worker_cli(dir.path(), name, "en,it,de,nl,sv,ru", 4))
        .collect();
    let acked = Arc::new(Mutex::new(Acked::default()));
    for cycle in 0..cycles {
        let hub = hub_process(dir.path(), &["--offer-timeout", "2", "--grace", "3"]);
        let mut tasks = vec![];
        for t in &tokens {
            tasks.push(tokio::spawn(busy_worker(
                hub.url.clone(),
                t.clone(),
                acked.clone(),
            )));
        }
        for i in 0..3 {
            tasks.push(tokio::spawn(busy_customer(
                hub.url.clone(),
                format!("c{cycle}.{i}"),
                acked.clone(),
            )));
        }
        // Let them work for a random while, then pull the plug mid-flight.
        let ms = rand::rng().random_range(50..400);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        drop(hub);
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }

    let conversations = export(dir.path(), "conversations");
    let acked = acked.lock().expect("lock");
    let mut checked = 0;
    for (side, from, map) in [
        ("customer", "customer", &acked.customer),
        ("worker", "worker", &acked.worker),
    ] {
        for (conv, texts) in map {
            let record = conversations
                .iter()
                .find(|c| c["id"] == conv.as_str())
                .unwrap_or_else(|| panic!("conversation {conv} lost"));
            let lines: Vec<&str> = record["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .filter(|m| m["from"] == from)
                .filter_map(|m| m["text"].as_str())
                .collect();
            for t in texts {
                let n = lines.iter().filter(|l| *l == t).count();
                assert_eq!(n, 1, "{side} line `{t}` in {conv} appears {n} times");
                checked += 1;
            }
        }
    }
    for c in &conversations {
        if !c["owner"].is_null() {
            assert_eq!(c["state"], "assigned", "an owner only while assigned: {c}");
        }
    }
    assert!(
        checked > cycles,
        "the test exercised something: {checked} lines"
    );
    println!(
        "fault_crash: {cycles} SIGKILL cycles; {} conversations; {checked} acknowledged lines each found exactly once",
        conversations.len()
    );
}
