//! The real `shiftdesk` binary: hub, admin, customer and export commands, bad flags, and a
//! hub killed with SIGKILL and restarted with nothing acknowledged lost.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{BIN, add_worker_cli, export, hub_process};
use serde_json::{Value, json};
use shiftdesk_testkit::{Client, worker};

fn shiftdesk(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().expect("runs")
}

#[test]
fn bad_flags_get_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf8");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["hub", "--listen", "nowhere"], "--listen"),
        (vec!["hub", "--offer-timeout", "0"], "--offer-timeout"),
        (
            vec![
                "admin",
                "add-worker",
                "--data-dir",
                d,
                "--name",
                "X",
                "--langs",
                "en,xx",
            ],
            "xx",
        ),
        (
            vec![
                "admin",
                "add-worker",
                "--data-dir",
                d,
                "--name",
                "X",
                "--langs",
                "en",
                "--role",
                "boss",
            ],
            "boss",
        ),
        (vec!["export", "tickets", "--data-dir", d], "tickets"),
        (
            vec!["export", "conversations", "--data-dir", "/nonexistent/sd"],
            "no shiftdesk store",
        ),
        (vec!["customer", "--hub", "ftp://x"], "ws://"),
        (vec!["hub", "--advertise", "http://x:1"], "--advertise"),
        (vec!["hub", "--advertise", "ws://x:1/ws"], "without a path"),
        (
            vec!["hub", "--data-dir", d, "--advertise", "ws://x:1"],
            "--advertise needs --store postgres://",
        ),
        (vec!["frobnicate"], "frobnicate"),
    ];
    for (args, mentions) in cases {
        let out = shiftdesk(&args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(mentions),
            "{args:?}: error should mention {mentions}: {err}"
        );
    }
    // Adding the same worker twice is refused, clearly.
    add_worker_cli(dir.path(), "Lena", "de", 3);
    let out = shiftdesk(&[
        "admin",
        "add-worker",
        "--data-dir",
        d,
        "--name",
        "Lena",
        "--langs",
        "de",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

#[test]
fn the_customer_command_prints_what_the_customer_receives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = hub_process(dir.path(), &[]);
    let mut child = Command::new(BIN)
        .args([
            "customer", "--hub", &hub.url, "--name", "Anna", "--lang", "de", "--wait", "20",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("customer starts");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "Wie kann ich früher bezahlen?").expect("write");
    }
    let out = child
        .wait_with_output()
        .expect("customer exits when stdin closes");
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert!(
        lines
            .iter()
            .all(|l| l["from"].is_string() && l["text"].is_string())
    );
    assert!(
        lines.len() >= 2 && lines.iter().filter(|l| l["from"] == "bot").count() >= 2,
        "greeting and an answer from the bot: {lines:#?}"
    );
    hub.kill();
}

/// Customers and a worker are active; the hub is SIGKILLed at several points and restarted;
/// every message acknowledged to its sender is in the transcript exactly once, no conversation
/// is lost and none has two owners.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_restart_lose_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.keep();
    let dir = &dir;
    let token = add_worker_cli(dir, "Marta", "en,it,de", 3);
    let cycles: usize = std::env::var("SHIFTDESK_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    // Conversation id -> texts the hub acknowledged.
    let mut acked: Vec<(String, Vec<String>)> = vec![];
    let mut owned: Vec<String> = vec![];
    for cycle in 0..cycles {
        let hub = hub_process(dir, &[]);
        let (mut w, _) = worker(&hub.url, &token).await;
        // The conversation taken before the last crash is still hers: she finishes it.
        if let Some(previous) = owned.last() {
            w.ok(json!({"type": "resolve", "conversation": previous}))
                .await;
        }
        w.ok(json!({"type": "set_status", "status": "available"}))
            .await;
        // Earlier conversations: customers resume theirs and keep writing.
        for (i, lang) in ["en", "it", "de"].iter().enumerate() {
            let (mut c, conv) =
                shiftdesk_testkit::customer(&hub.url, &format!("C{cycle}-{i}"), lang).await;
            let mut texts = vec![];
            for n in 0..3 {
                let text = if n == 1 && i == 0 {
                    "I want to talk to a person".to_string()
                } else {
                    format!("message {n} of cycle {cycle} ({lang})")
                };
                let answer = c.command(json!({"type": "message", "text": text})).await;
                assert_eq!(answer["type"], "ack", "{answer}");
                texts.push(text);
            }
            acked.push((conv, texts));
        }
        // Take the offer that the request for a person produced.
        let offer = w.seen_or_until("an offer", |v| v["type"] == "offer").await;
        let conv = offer["conversation"].as_str().expect("id").to_string();
        w.ok(json!({"type": "accept_offer", "conversation": conv}))
            .await;
        owned.push(conv.clone());
        // A message in flight when the hub dies: sent, maybe not acknowledged.
        let mut c = Client::connect(&hub.url, "/ws/customer").await;
        c.send(json!({"type": "start", "protocol": 1})).await;
        hub.kill();
        println!(
            "cycle {cycle}: killed the hub with SIGKILL after {} acknowledged messages",
            acked.iter().map(|(_, t)| t.len()).sum::<usize>()
        );
    }

    let conversations = export(dir, "conversations");
    for (conv, texts) in &acked {
        let record = conversations
            .iter()
            .find(|c| c["id"] == conv.as_str())
            .unwrap_or_else(|| panic!("conversation {conv} lost"));
        let messages: Vec<&str> = record["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|m| m["from"] == "customer")
            .filter_map(|m| m["text"].as_str())
            .collect();
        for t in texts {
            assert_eq!(
                messages.iter().filter(|m| *m == t).count(),
                1,
                "{conv}: `{t}` must be there exactly once: {messages:?}"
            );
        }
        assert!(!record["triage"].as_array().expect("triage").is_empty());
    }
    // The last accepted conversation still has its owner after the restart (grace period).
    let hub = hub_process(dir, &[]);
    let (mut w, welcome) = worker(&hub.url, &token).await;
    assert_eq!(welcome["resumed"], false);
    let snapshot = w.until_type("conversation").await;
    assert!(
        owned.contains(
            &snapshot["conversation"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        )
    );
    for c in &conversations {
        // One owner at most, and only in the assigned state.
        if !c["owner"].is_null() {
            assert_eq!(c["state"], "assigned", "{c}");
        }
    }
    println!(
        "checked {} conversations and {} acknowledged messages over {cycles} SIGKILL cycles",
        conversations.len(),
        acked.iter().map(|(_, t)| t.len()).sum::<usize>()
    );
    hub.kill();
}

/// A TCP forwarder on 127.0.0.1:0 whose target can change: the customer keeps one address while
/// the hub behind it is killed and restarted on a new port.
async fn forwarder(target: std::sync::Arc<std::sync::Mutex<String>>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let to = target.lock().expect("lock").clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_command_rides_out_a_hub_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker_cli(dir.path(), "Rita", "en", 2);
    let hub = hub_process(dir.path(), &[]);
    let target = std::sync::Arc::new(std::sync::Mutex::new(
        hub.url.trim_start_matches("ws://").to_string(),
    ));
    let front = forwarder(target.clone()).await;
    let mut customer = tokio::process::Command::new(BIN)
        .args([
            "customer",
            "--hub",
            &format!("ws://{front}"),
            "--wait",
            "30",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("customer");
    let mut input = customer.stdin.take().expect("stdin");
    use tokio::io::AsyncWriteExt;
    input
        .write_all(b"I want to talk to a person\n")
        .await
        .expect("write");
    let (mut w, _) = worker(&hub.url, &token).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let offer = w.seen_or_until("offer", |v| v["type"] == "offer").await;
    w.ok(json!({"type": "accept_offer", "conversation": offer["conversation"]}))
        .await;

    // The hub dies; a new one starts on the same data; the customer's link is re-pointed.
    hub.kill();
    let hub = hub_process(dir.path(), &[]);
    *target.lock().expect("lock") = hub.url.trim_start_matches("ws://").to_string();
    input
        .write_all(b"written while the hub was down\n")
        .await
        .expect("write");
    // The worker comes back and answers; the customer gets it.
    let (mut w, _) = worker(&hub.url, &token).await;
    let conv = w.until_type("conversation").await;
    let conv = conv["conversation"]["id"].as_str().expect("id").to_string();
    w.until("the line written during the outage", |v| {
        v["message"]["text"] == "written while the hub was down"
    })
    .await;
    w.ok(json!({"type": "reply", "conversation": conv, "text": "Back again, sorry!"}))
        .await;
    drop(input);
    let out = customer.wait_with_output().await.expect("customer exits");
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).expect("utf8");
    assert!(
        stdout.contains("Back again, sorry!"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conversations = export(dir.path(), "conversations");
    let lines: Vec<&str> = conversations[0]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["from"] == "customer")
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(
        lines,
        vec![
            "I want to talk to a person",
            "written while the hub was down"
        ]
    );
}
