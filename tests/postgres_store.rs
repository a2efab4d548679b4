//! The real `shiftdesk` binary on the machine's PostgreSQL (`--store postgres://…`), each test
//! in a database of its own (`shiftdesk_testkit::postgres::TestDb`):
//!
//! - a hub killed with SIGKILL mid-conversation and restarted on the same database: the
//!   conversation resumes, with every acknowledged line there once, and the worker resumes
//!   her stream (`resumed: true`: streams are in the store);
//! - `admin migrate-store`: a history made by a real hub on SQLite, copied, exports the same
//!   from both stores, for every export kind;
//! - `pg_terminate_backend` on the hub's connections while a customer writes: the hub
//!   connects again and every acknowledged line is stored once.
//!
//! Without a PostgreSQL server each test says it skipped (a failure with
//! SHIFTDESK_REQUIRE_POSTGRES=1, as in CI).
#![cfg(unix)]

mod common;

use serde_json::{Value, json};
use shiftdesk_testkit::hub::{Store, add_worker_to, export_from, run};
use shiftdesk_testkit::postgres::TestDb;
use shiftdesk_testkit::{
    Client, HubProcess, conversation_with_a_person, customer, resume_customer, worker,
};

use common::BIN;

fn hub_on(db: &TestDb, logs: &std::path::Path) -> HubProcess {
    HubProcess::start_with_store(BIN, logs, &db.url, &[])
}

/// The conversation `conv` in an export of conversations, and its lines from `from`.
fn lines_from(conversations: &str, conv: &str, from: &str) -> (Value, Vec<String>) {
    let record: Value = conversations
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .find(|c| c["id"] == conv)
        .unwrap_or_else(|| panic!("conversation {conv} lost: {conversations}"));
    let lines = record["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["from"] == from)
        .filter_map(|m| m["text"].as_str().map(str::to_string))
        .collect();
    (record, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_on_postgres_killed_and_restarted_loses_nothing_acknowledged() {
    let Some(db) = TestDb::create("sigkill restart") else {
        return;
    };
    let logs = tempfile::tempdir().expect("tempdir");
    let token = add_worker_to(BIN, &Store::Url(&db.url), "Ana", "en", 2);
    let hub = hub_on(&db, logs.path());
    let (mut w, mut c, conv, started) = conversation_with_a_person(&hub.url, &token).await;
    let mut said = vec!["I want to talk to a person".to_string()];
    let mut replied = vec![];
    for text in ["my card was charged twice", "both on Monday"] {
        let ack = c.command(json!({"type": "message", "text": text})).await;
        assert_eq!(ack["type"], "ack", "{ack}");
        said.push(text.into());
    }
    for text in ["Hello Carla, I am looking at it", "I see both charges"] {
        w.ok(json!({"type": "reply", "conversation": conv, "text": text}))
            .await;
        replied.push(text.to_string());
    }
    let worker_seen = w.seen.iter().filter_map(|v| v["seq"].as_u64()).max();
    let stream = w
        .seen
        .iter()
        .find(|v| v["type"] == "welcome")
        .expect("welcome")["stream"]
        .clone();
    hub.kill();

    // Restarted on the same database: the customer resumes and writes, then the worker
    // resumes her stream where she was (it is in the store): she still has the conversation
    // (her grace period), is sent the line she missed, and it goes on.
    let hub = hub_on(&db, logs.path());
    let mut c = resume_customer(&hub.url, &conv, &started).await;
    let text = "are you still there?";
    let ack = c.command(json!({"type": "message", "text": text})).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    said.push(text.into());
    let mut w = Client::connect(&hub.url, "/ws/worker").await;
    w.send(json!({"type": "hello", "token": token, "protocol": 1,
        "resume": {"stream": stream, "last_seq": worker_seen}}))
        .await;
    let welcome = w.until_type("welcome").await;
    assert_eq!(welcome["worker"]["id"], "ana", "{welcome}");
    assert_eq!(
        welcome["resumed"], true,
        "the stream outlives the hub: {welcome}"
    );
    w.until("the customer's line after the restart", |v| {
        v["type"] == "message" && v["message"]["text"] == text
    })
    .await;
    let answer = "Yes: the second charge is refunded";
    w.ok(json!({"type": "reply", "conversation": conv, "text": answer}))
        .await;
    replied.push(answer.into());
    c.until("the worker's answer", |v| {
        v["type"] == "message" && v["from"] == "worker" && v["text"] == answer
    })
    .await;
    hub.kill();

    let conversations = export_from(BIN, &Store::Url(&db.url), "conversations");
    let (record, from_customer) = lines_from(&conversations, &conv, "customer");
    assert_eq!(
        from_customer, said,
        "every acknowledged line once, in order"
    );
    assert_eq!(lines_from(&conversations, &conv, "worker").1, replied);
    assert_eq!(record["owner"], "ana", "{record}");
    assert_eq!(record["state"], "assigned", "{record}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_store_copies_a_sqlite_history_that_exports_the_same() {
    let Some(db) = TestDb::create("migrate store") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Store::Dir(dir.path());
    let token = add_worker_to(BIN, &sqlite, "Ana", "en,it", 2);
    add_worker_to(BIN, &sqlite, "Bo", "en", 1);

    // A history with something for every export: conversations, a draft accepted, a reply,
    // a resolution, and a shift that ended.
    let hub = HubProcess::start(BIN, dir.path(), &[]);
    let (mut w, mut c, conv, _) = conversation_with_a_person(&hub.url, &token).await;
    let ack = c
        .command(json!({"type": "message", "text": "How can I get paid early?"}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let draft = w
        .until("a draft for the new line", |v| {
            v["type"] == "draft" && v["draft"]["for_message"].as_u64() > Some(1)
        })
        .await;
    w.ok(json!({"type": "draft", "conversation": conv, "draft": draft["draft"]["id"], "action": "accept"}))
        .await;
    w.ok(json!({"type": "reply", "conversation": conv, "text": "Anything else?"}))
        .await;
    w.ok(json!({"type": "resolve", "conversation": conv})).await;
    let (_other, _) = customer(&hub.url, "Dario", "it").await;
    w.ok(json!({"type": "set_status", "status": "offline"}))
        .await;
    hub.kill();

    let out = std::process::Command::new(BIN)
        .args(["admin", "migrate-store", "--data-dir"])
        .arg(dir.path())
        .args(["--to", &db.url])
        .output()
        .expect("migrate-store runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "migrate-store failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("copied ") && stdout.contains(" client sequences and 2 workers from "),
        "{stdout}"
    );

    let postgres = Store::Url(&db.url);
    use clap::ValueEnum;
    for kind in shiftdesk_hub::export::ExportKind::value_variants() {
        let name = kind
            .to_possible_value()
            .expect("a name")
            .get_name()
            .to_string();
        let from_sqlite = export_from(BIN, &sqlite, &name);
        assert!(
            !from_sqlite.is_empty(),
            "nothing to compare in `export {name}`"
        );
        assert_eq!(
            export_from(BIN, &postgres, &name),
            from_sqlite,
            "`export {name}` differs between the stores"
        );
    }
    assert_eq!(
        run(BIN, &postgres, &["admin", "list-workers"], &[]),
        run(BIN, &sqlite, &["admin", "list-workers"], &[])
    );

    // Not into a store that has a history.
    let again = std::process::Command::new(BIN)
        .args(["admin", "migrate-store", "--data-dir"])
        .arg(dir.path())
        .args(["--to", &db.url])
        .output()
        .expect("migrate-store runs");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert!(
        stderr.contains("already holds a shiftdesk store"),
        "{stderr}"
    );

    // The hub goes on from it: the same token logs in, the resolved conversation is there.
    let hub = hub_on(&db, dir.path());
    let (_, welcome) = worker(&hub.url, &token).await;
    assert_eq!(welcome["worker"]["id"], "ana", "{welcome}");
    hub.kill();
}

/// Say `text` with command id `id` until it is acknowledged, as a client's outbox does:
/// reconnecting (and resuming) when the hub closes the connection, waiting when told to.
async fn say(c: &mut Client, url: &str, conv: &str, started: &Value, id: &str, text: &str) {
    loop {
        c.send(json!({"id": id, "type": "message", "text": text}))
            .await;
        loop {
            match c.next().await {
                Some(v) if v["id"] == id && v["type"] == "ack" => return,
                Some(v) if v["id"] == id && v["code"] == "rate_limited" => {
                    let wait = v["retry_after_ms"].as_u64().unwrap_or(1000);
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                    break;
                }
                Some(v) if v["id"] == id => panic!("`{text}` refused: {v}"),
                Some(_) => continue,
                None => {
                    *c = resume_customer(url, conv, started).await;
                    break;
                }
            }
        }
    }
}

/// `GET /readyz` on the hub at `ws_url`: the status line and body.
async fn readyz(ws_url: &str) -> String {
    let addr = ws_url.trim_start_matches("ws://").to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(addr).expect("connects");
        tcp.write_all(b"GET /readyz HTTP/1.0\r\n\r\n")
            .expect("request");
        let mut response = String::new();
        tcp.read_to_string(&mut response).expect("response");
        response
    })
    .await
    .expect("readyz")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_reconnects_when_postgres_ends_its_sessions() {
    let Some(db) = TestDb::create("terminate backend") else {
        return;
    };
    let logs = tempfile::tempdir().expect("tempdir");
    let token = add_worker_to(BIN, &Store::Url(&db.url), "Ana", "en", 2);
    let hub = hub_on(&db, logs.path());
    let (_w, mut c, conv, started) = conversation_with_a_person(&hub.url, &token).await;
    assert!(readyz(&hub.url).await.contains("ready"));
    // PostgreSQL ends every session of the database every 50 ms, 8 times, from a thread of
    // its own, while the customer writes: some appends are cut off mid-way.
    let db = std::sync::Arc::new(db);
    let terminator = {
        let db = db.clone();
        std::thread::spawn(move || {
            (0..8)
                .map(|_| {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    db.terminate_connections()
                })
                .sum::<usize>()
        })
    };
    let mut said = vec!["I want to talk to a person".to_string()];
    let mut n = 0;
    while !terminator.is_finished() || n < 20 {
        let text = format!("line {n}");
        say(&mut c, &hub.url, &conv, &started, &format!("m{n}"), &text).await;
        said.push(text);
        n += 1;
    }
    let terminated = terminator.join().expect("the terminator");
    // The writer each time it was connected, the others when they were.
    assert!(terminated >= 4, "sessions ended: {terminated}");
    let response = readyz(&hub.url).await;
    assert!(
        response.contains("200") && response.ends_with("ready\n"),
        "{response}"
    );
    let log = std::fs::read_to_string(logs.path().join("hub.log")).expect("hub log");
    assert!(
        log.contains("the connection to PostgreSQL broke"),
        "the hub saw its connections end: {log}"
    );
    hub.kill();

    let conversations = export_from(BIN, &Store::Url(&db.url), "conversations");
    let (_, from_customer) = lines_from(&conversations, &conv, "customer");
    assert_eq!(
        from_customer, said,
        "every acknowledged line once, in order"
    );
}

/// `shiftdesk ARGS`, which must fail; its stderr.
fn fails(args: &[&str]) -> String {
    let out = std::process::Command::new(BIN)
        .args(args)
        .output()
        .expect("shiftdesk runs");
    assert!(!out.status.success(), "{args:?} succeeded");
    String::from_utf8(out.stderr).expect("utf8")
}

/// No PostgreSQL needed: a bad URL, a closed port and a server that never answers each end
/// the command with an error that names `--store` and the URL, never its password.
#[test]
fn a_store_that_cannot_be_used_is_a_clear_error_without_the_password() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    // Accepts, then says nothing (a stopped server).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_port = silent.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("tempdir");
    add_worker_to(BIN, &Store::Dir(dir.path()), "Ana", "en", 1);
    let sqlite = dir.path().display().to_string();
    let bad_port = "postgres://ana:s3cret@127.0.0.1:notaport/shiftdesk".to_string();
    let refused = format!("postgres://ana:s3cret@127.0.0.1:{closed}/shiftdesk");
    let mute = format!("postgres://ana:s3cret@127.0.0.1:{silent_port}/shiftdesk?connect_timeout=1");
    for (args, says) in [
        (
            vec![
                "hub",
                "--listen",
                "127.0.0.1:0",
                "--store",
                &bad_port,
                "--check",
            ],
            "is not a PostgreSQL URL".to_string(),
        ),
        (
            vec!["hub", "--listen", "127.0.0.1:0", "--store", &refused],
            "cannot connect to PostgreSQL at".to_string(),
        ),
        (
            vec!["hub", "--listen", "127.0.0.1:0", "--store", &mute],
            "no answer within 1s".to_string(),
        ),
        (
            vec!["export", "conversations", "--store", &refused],
            "cannot connect".to_string(),
        ),
        (
            vec![
                "admin",
                "list-workers",
                "--store",
                "mysql://ana:s3cret@db/x",
            ],
            "write `sqlite`".to_string(),
        ),
        (
            vec![
                "admin",
                "migrate-store",
                "--data-dir",
                &sqlite,
                "--to",
                &refused,
            ],
            "--to: cannot connect to PostgreSQL at".to_string(),
        ),
    ] {
        let stderr = fails(&args);
        assert!(
            stderr.contains("--store") || stderr.contains("--to"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains(&says), "{args:?}: {stderr}");
        assert!(
            stderr.contains("ana:***@") && !stderr.contains("s3cret"),
            "{args:?}: {stderr}"
        );
    }
    drop(silent);
}

/// `hub --keep-ended` on PostgreSQL: the stream of a conversation that ended, whose customer
/// left, is let go, and its frames are deleted from `stream_frames`; the worker's stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_conversations_stored_frames_go_with_its_stream() {
    let Some(db) = TestDb::create("keep ended") else {
        return;
    };
    let logs = tempfile::tempdir().expect("tempdir");
    let token = add_worker_to(BIN, &Store::Url(&db.url), "Ana", "en", 2);
    let hub = HubProcess::start_with_store(BIN, logs.path(), &db.url, &["--keep-ended", "1"]);
    let stream = shiftdesk_testkit::an_ended_conversation_is_let_go(&hub.url, &token).await;
    // The deletion rides on the next append: the customer's return above made one.
    let rows = |name: &str| {
        db.query(&format!(
            "SELECT count(*) FROM stream_frames WHERE stream = '{name}'"
        ))
    };
    let mut left = rows(&stream);
    for _ in 0..50 {
        if left == ["0"] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = rows(&stream);
    }
    assert_eq!(left, ["0"], "frames of {stream} are still stored");
    let workers = db.query("SELECT count(*) FROM stream_frames WHERE stream NOT LIKE '%-c-%'");
    assert_ne!(workers, ["0"], "the worker's frames stay");
}
