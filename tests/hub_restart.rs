//! Clean restarts: the real `shiftdesk hub` binary, stopped with SIGTERM (or SIGINT) while a
//! worker and a customer are connected. Each client gets close `1011 hub stopped`, the process
//! exits 0, and what the hub acknowledged before the signal is in its log after a restart.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::{Child, Command, ExitStatus};

use futures_util::StreamExt;
use serde_json::{Value, json};
use shiftdesk_testkit::client::{Client, customer, worker};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use common::{BIN, add_worker_cli, export, hub_process};
use shiftdesk_testkit::spawn_hub;

/// `shiftdesk hub` logging at info level, as JSON lines, into `dir/hub.log`; its URL.
fn hub_with_json_logs(dir: &Path) -> (Child, String) {
    let log = std::fs::File::create(dir.join("hub.log")).expect("hub log");
    let mut command = Command::new(BIN);
    command
        .args(["hub", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .arg("--data-dir")
        .arg(dir)
        .env("RUST_LOG", "shiftdesk=info")
        .stderr(log);
    spawn_hub(command)
}

fn signal(child: &Child, signal: rustix::process::Signal) {
    rustix::process::kill_process(rustix::process::Pid::from_child(child), signal)
        .expect("signal sent");
}

async fn exit_status(mut child: Child) -> ExitStatus {
    tokio::task::spawn_blocking(move || child.wait().expect("reaped"))
        .await
        .expect("waited")
}

/// Read until the hub's close frame (frames before it are skipped) and answer it; the frame.
async fn close_frame(client: &mut Client, who: &str) -> CloseFrame {
    loop {
        let next = tokio::time::timeout(shiftdesk_testkit::client::FRAME_TIMEOUT, client.ws.next())
            .await
            .unwrap_or_else(|_| panic!("{who}: no close frame in time"));
        match next {
            Some(Ok(Message::Close(Some(frame)))) => {
                // Reading on sends tungstenite's answer and sees the hub close TCP.
                while let Some(Ok(_)) = client.ws.next().await {}
                return frame;
            }
            Some(Ok(Message::Close(None))) => panic!("{who}: a close frame without a code"),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("{who}: the connection broke without a close frame: {e}"),
            None => panic!("{who}: the connection ended without a close frame"),
        }
    }
}

fn assert_hub_stopped(frame: &CloseFrame, who: &str) {
    assert_eq!(u16::from(frame.code), 1011, "{who}: {frame:?}");
    assert_eq!(frame.reason.as_str(), "hub stopped", "{who}: {frame:?}");
}

#[tokio::test]
async fn sigterm_closes_every_connection_with_1011_and_keeps_what_was_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker_cli(dir.path(), "Ana", "en", 2);
    let (hub, url) = hub_with_json_logs(dir.path());

    let (mut ana, _) = worker(&url, &token).await;
    let (mut cust, conversation) = customer(&url, "Carla", "en").await;
    let started = cust
        .seen_or_until("started", |v| v["type"] == "started")
        .await;
    let key = started["key"].as_str().expect("key").to_string();
    let line = "my card was charged twice";
    let acked = cust
        .command(json!({"id": "m-1", "type": "message", "text": line}))
        .await;
    assert_eq!(acked["type"], "ack", "{acked}");

    signal(&hub, rustix::process::Signal::TERM);
    assert_hub_stopped(&close_frame(&mut ana, "worker").await, "worker");
    assert_hub_stopped(&close_frame(&mut cust, "customer").await, "customer");
    let status = exit_status(hub).await;
    assert_eq!(status.code(), Some(0), "a clean stop exits 0: {status}");

    // --log-format json: every line on stderr is one JSON object, and the stop is in them.
    let log = std::fs::read_to_string(dir.path().join("hub.log")).expect("hub log");
    let records: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for message in ["hub started", "hub stopped"] {
        assert!(
            records.iter().any(|r| r["message"] == message),
            "no `{message}` in the log:\n{log}"
        );
    }

    // Restarted, the hub has the line: resent with its id, it is a duplicate; and it is in the
    // conversation's transcript.
    let hub = hub_process(dir.path(), &[]);
    let mut cust = Client::connect(&hub.url, "/ws/customer").await;
    cust.send(json!({"type": "start", "protocol": 1, "resume": {
        "conversation": conversation, "key": key, "stream": started["stream"], "last_seq": 0}}))
        .await;
    cust.until_type("started").await;
    let again = cust
        .command(json!({"id": "m-1", "type": "message", "text": line}))
        .await;
    assert_eq!(again["type"], "ack", "{again}");
    assert_eq!(again["duplicate"], true, "{again}");
    let conversations = export(dir.path(), "conversations");
    let record = conversations
        .iter()
        .find(|c| c["id"] == conversation.as_str())
        .expect("the conversation survived the restart");
    let lines: Vec<&Value> = record["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["from"] == "customer" && m["text"] == line)
        .collect();
    assert_eq!(lines.len(), 1, "{record:#}");
    hub.kill();
}

#[tokio::test]
async fn sigint_stops_the_hub_cleanly_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hub, url) = hub_with_json_logs(dir.path());
    let (mut cust, _) = customer(&url, "Carla", "en").await;
    signal(&hub, rustix::process::Signal::INT);
    assert_hub_stopped(&close_frame(&mut cust, "customer").await, "customer");
    let status = exit_status(hub).await;
    assert_eq!(status.code(), Some(0), "a clean stop exits 0: {status}");
}
