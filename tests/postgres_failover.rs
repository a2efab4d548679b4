//! Two hubs on one PostgreSQL store: one writes, the other (`--standby`) waits. The machine's
//! real PostgreSQL, a database of its own per test (`shiftdesk_testkit::postgres::TestDb`):
//!
//! - the writing hub killed with SIGKILL: the standby takes the store over, customers and
//!   workers resume on it, and every acknowledged line is there once;
//! - the writing hub paused with SIGSTOP past its lease: the standby ends its session and
//!   takes over; resumed, the old hub cannot write (it is fenced) and stops with status 75,
//!   and nothing it was asked after the takeover is in the log.
//!
//! Without a PostgreSQL server each test says it skipped (a failure with
//! SHIFTDESK_REQUIRE_POSTGRES=1, as in CI).
#![cfg(unix)]

mod common;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shiftdesk_testkit::hub::spawn_hub;
use shiftdesk_testkit::hub::{Store, add_worker_to, export_from, hub_role, wait_for_role};
use shiftdesk_testkit::postgres::TestDb;
use shiftdesk_testkit::{HubProcess, conversation_with_a_person, resume_customer, worker};

use common::BIN;

/// A hub started with `--standby`: it serves at once, forwarding its clients to the writing
/// hub, and writes itself once it has taken the store over.
struct Standby(HubProcess);

impl Standby {
    fn start(db: &TestDb, logs: &std::path::Path) -> Standby {
        Standby(HubProcess::start_with_store(
            BIN,
            logs,
            &db.url,
            &["--standby"],
        ))
    }

    /// Its URL, once it has taken over (within `limit`).
    fn taken_over(&self, limit: Duration, logs: &std::path::Path) -> String {
        if wait_for_role(&self.0.url, "writer", limit).is_ok() {
            return self.0.url.clone();
        }
        let log = std::fs::read_to_string(logs.join("hub.log")).unwrap_or_default();
        panic!("the standby did not take over within {limit:?}; the hubs' log:\n{log}")
    }
}

fn signal(pid: u32, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("a pid");
    rustix::process::kill_process(pid, signal).expect("signal sent");
}

/// The texts of `conv`'s messages in an export of the store.
fn texts(db: &TestDb, conv: &str) -> Vec<String> {
    let conversations = export_from(BIN, &Store::Url(&db.url), "conversations");
    let record: Value = conversations
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .find(|c| c["id"] == conv)
        .unwrap_or_else(|| panic!("conversation {conv} lost: {conversations}"));
    record["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["text"].as_str().map(str::to_string))
        .collect()
}

fn once(texts: &[String], text: &str) -> bool {
    texts.iter().filter(|t| *t == text).count() == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_takes_over_when_the_writing_hub_is_killed() {
    let Some(db) = TestDb::create("failover kill") else {
        return;
    };
    let logs = tempfile::tempdir().expect("tempdir");
    let token = add_worker_to(BIN, &Store::Url(&db.url), "Ana", "en", 2);
    let first = HubProcess::start_with_store(BIN, logs.path(), &db.url, &[]);
    let standby = Standby::start(&db, logs.path());
    let (_w, mut c, conv, started) = conversation_with_a_person(&first.url, &token).await;
    c.ok(json!({"type": "message", "text": "my card was charged twice"}))
        .await;
    assert_eq!(
        hub_role(&standby.0.url).as_deref(),
        Some("gateway"),
        "a standby forwards while the other hub writes"
    );

    let killed = Instant::now();
    first.kill();
    let url = standby.taken_over(Duration::from_secs(30), logs.path());
    println!(
        "failover after SIGKILL: {} ms to a writing hub",
        killed.elapsed().as_millis()
    );
    let mut c = resume_customer(&url, &conv, &started).await;
    let (mut w, _) = worker(&url, &token).await;
    let snapshot = w.until_type("conversation").await;
    assert_eq!(snapshot["conversation"]["id"], conv.as_str(), "{snapshot}");
    c.ok(json!({"type": "message", "text": "are you still there?"}))
        .await;
    w.ok(json!({"type": "reply", "conversation": conv, "text": "Yes, still here"}))
        .await;
    c.until("the reply", |v| {
        v["type"] == "message" && v["text"] == "Yes, still here"
    })
    .await;
    let all = texts(&db, &conv);
    for text in [
        "I want to talk to a person",
        "my card was charged twice",
        "are you still there?",
        "Yes, still here",
    ] {
        assert!(once(&all, text), "{text} once: {all:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_writer_is_replaced_and_then_cannot_write() {
    let Some(db) = TestDb::create("failover pause") else {
        return;
    };
    let logs = tempfile::tempdir().expect("tempdir");
    let token = add_worker_to(BIN, &Store::Url(&db.url), "Ana", "en", 2);
    let mut first = HubProcess::start_with_store(BIN, logs.path(), &db.url, &[]);
    let standby = Standby::start(&db, logs.path());
    let (mut old_worker, _c, conv, started) = conversation_with_a_person(&first.url, &token).await;

    let paused = Instant::now();
    signal(first.pid(), rustix::process::Signal::STOP);
    let url = standby.taken_over(Duration::from_secs(30), logs.path());
    println!(
        "failover after SIGSTOP: {} ms to a writing hub (the lease is 5 s)",
        paused.elapsed().as_millis()
    );
    let mut c = resume_customer(&url, &conv, &started).await;
    c.ok(json!({"type": "message", "text": "hello from the new hub"}))
        .await;

    // A worker still connected to the old hub replies while it sleeps; it wakes up with the
    // reply to store: that reply must never be stored, and the old hub stops instead.
    old_worker
        .send(json!({"type": "reply", "conversation": conv, "text": "from the paused hub"}))
        .await;
    signal(first.pid(), rustix::process::Signal::CONT);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = first.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the fenced hub is still running");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status.code(), Some(75), "fenced: {status}");
    let all = texts(&db, &conv);
    assert!(once(&all, "hello from the new hub"), "{all:?}");
    assert!(
        !all.iter().any(|t| t == "from the paused hub"),
        "the paused hub wrote after it was replaced: {all:?}"
    );
    // The new hub goes on.
    c.ok(json!({"type": "message", "text": "still fine?"}))
        .await;
}

/// One of the test's hub processes, on a port of its own, told to stand by or not.
struct Slot {
    port: u16,
    child: Option<Child>,
}

/// Start a hub on `port` (`--standby` unless `first`), serving once it prints where.
fn start_slot(db: &TestDb, logs: &std::path::Path, slot: usize, port: u16, first: bool) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(logs.join(format!("hub{slot}.log")))
        .expect("log");
    let mut command = Command::new(BIN);
    command
        .args([
            "hub",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--store",
            &db.url,
        ])
        // A line every 50 ms is faster than people write: no rate limit (it would turn lines
        // away, and the client sends those again later, out of order).
        .args(["--grace", "600", "--chat-rate", "0"])
        .env("RUST_LOG", "warn")
        .stderr(log);
    if !first {
        command.arg("--standby");
    }
    let (child, _) = spawn_hub(command);
    child
}

/// Which of `hubs` writes, once one does (within `limit`).
fn writer_among(hubs: &[String], limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(i) = hubs
            .iter()
            .position(|h| hub_role(h).as_deref() == Some("writer"))
        {
            return i;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("no hub of {hubs:?} took the store over within {limit:?}")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// What the three-hub test does to the hubs, again and again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// SIGKILL the writing hub, then start it again as a standby.
    KillWriter,
    /// End every PostgreSQL session of the hubs (`pg_terminate_backend`), as a database
    /// restart does. Whichever hub takes the writer lock first writes on; a writer that lost it
    /// stops (status 75) and is started again as a standby.
    EndSessions,
}

/// Three hubs on one store; the one writing is SIGKILLed 20 times at random moments (and
/// started again as a standby) while a customer, given all three addresses, writes a line
/// every 50 ms through the shared client (outbox, numbered commands, resume), and two workers
/// who take every offer do the same with the hubs in other orders. Afterwards every line is
/// stored exactly once, in the order written (0 acknowledged lines lost, 0 doubled), the
/// conversation was taken once and has one owner, and that worker resumed its stream at every
/// reconnection (`resumed: true`) and so was sent each line once, in order, none missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_kills_of_the_writing_hub_lose_and_double_nothing() {
    hubs_under_faults("twenty kills", Fault::KillWriter, 20).await;
}

/// The same with PostgreSQL's sessions ended 8 times: the hubs reconnect, and nothing
/// acknowledged is lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_database_sessions_lose_and_double_nothing() {
    hubs_under_faults("ended sessions", Fault::EndSessions, 8).await;
}

async fn hubs_under_faults(name: &str, fault: Fault, times: usize) {
    use rand::Rng;
    use shiftdesk_client::Courier;
    use shiftdesk_client::customer::{self, CustomerConfig};
    use shiftdesk_client::session::SessionEvent;
    use shiftdesk_protocol::{CustomerCommand, CustomerEvent};

    let Some(db) = TestDb::create(name) else {
        return;
    };
    let logs = tempfile::tempdir().expect("tempdir");
    let mut slots: Vec<Slot> = (0..3)
        .map(|_| Slot {
            port: free_port(),
            child: None,
        })
        .collect();
    for (i, slot) in slots.iter_mut().enumerate() {
        slot.child = Some(start_slot(&db, logs.path(), i, slot.port, i == 0));
    }
    let hubs: Vec<String> = slots
        .iter()
        .map(|s| format!("ws://127.0.0.1:{}", s.port))
        .collect();
    let mut leader = writer_among(&hubs, Duration::from_secs(30));
    assert_eq!(leader, 0, "the hub started without --standby writes");
    let probes = hubs.clone();

    // Two workers, each given the hubs in another order, who take every offer. The customer
    // asks for a person first: exactly one of them must own the conversation, once.
    let (stop_tx, mut stop) = tokio::sync::watch::channel(false);
    // Once the customer is done: its last line, which the worker who has the conversation
    // waits for before it stops.
    let (last_tx, last_line) = tokio::sync::watch::channel(None::<String>);
    let mut workers = Vec::new();
    for (name, order) in [("Ana", [2, 1, 0]), ("Ben", [1, 0, 2])] {
        let token = add_worker_to(BIN, &Store::Url(&db.url), name, "en", 2);
        let urls: Vec<String> = order.iter().map(|&i| hubs[i].clone()).collect();
        let mut last_line = last_line.clone();
        workers.push(tokio::spawn(async move {
            use shiftdesk_client::worker::{self, WorkerConfig};
            use shiftdesk_protocol::{WorkerCommand, WorkerEvent, WorkerStatus};
            let mut courier = Courier::new(worker::spawn(WorkerConfig::new(urls.join(","), token)));
            let mut accepts = std::collections::HashMap::new();
            let mut accepted = Vec::new();
            let mut available = false;
            // Every welcome's `resumed`, and the customer's lines as they came (their `n`).
            let mut resumed = Vec::new();
            let mut lines: Vec<(u32, String)> = Vec::new();
            let mut deadline = None;
            loop {
                let last = last_line.borrow().clone();
                if let Some(last) = &last {
                    let waiting = !accepted.is_empty() && !lines.iter().any(|(_, t)| t == last);
                    if !waiting {
                        break;
                    }
                    let deadline = *deadline.get_or_insert_with(|| Instant::now() + Duration::from_secs(60));
                    assert!(Instant::now() < deadline, "{name} never got {last}: {lines:?}");
                }
                tokio::select! {
                    event = courier.next() => match event {
                        Some(SessionEvent::Frame(WorkerEvent::Welcome { resumed: again, .. })) => {
                            resumed.push(again);
                            if !available {
                                courier.send(WorkerCommand::SetStatus { status: WorkerStatus::Available });
                                available = true;
                            }
                        }
                        Some(SessionEvent::Frame(WorkerEvent::Offer { conversation, .. })) => {
                            let id = courier.send(WorkerCommand::AcceptOffer { conversation: conversation.clone() });
                            accepts.insert(id, conversation);
                        }
                        Some(SessionEvent::Frame(WorkerEvent::Ack { id, .. })) => {
                            if let Some(conversation) = accepts.remove(&id) {
                                accepted.push(conversation);
                            }
                        }
                        Some(SessionEvent::Frame(WorkerEvent::Message { message, .. })) => {
                            lines.push((message.n, message.text));
                        }
                        Some(_) => {}
                        None => break,
                    },
                    _ = last_line.changed() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)), if last.is_some() => {}
                }
            }
            courier.stop().await;
            (name, accepted, resumed, lines)
        }));
    }

    // The customer: a line every 50 ms until told to stop, then until all are acknowledged.
    let customer = tokio::spawn(async move {
        let mut courier = Courier::new(customer::spawn(CustomerConfig {
            name: Some("Carla".into()),
            lang: Some(shiftdesk_protocol::Lang::En),
            ..CustomerConfig::new(hubs.join(","))
        }));
        let mut conversation = None;
        let mut sent = Vec::new();
        let mut acked = 0usize;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            let stopping = *stop.borrow();
            if stopping && courier.pending() == 0 && !sent.is_empty() {
                break;
            }
            tokio::select! {
                _ = tick.tick(), if !stopping && conversation.is_some() => {
                    let text = format!("line {}", sent.len() + 1);
                    courier.send(CustomerCommand::Message { text: text.clone() });
                    sent.push(text);
                }
                event = courier.next() => match event {
                    Some(SessionEvent::Frame(CustomerEvent::Started { conversation: c, .. })) => {
                        if conversation.is_none() {
                            courier.send(CustomerCommand::Message {
                                text: "I want to talk to a person".into(),
                            });
                        }
                        conversation.get_or_insert(c);
                    }
                    Some(SessionEvent::Frame(CustomerEvent::Ack { .. })) => acked += 1,
                    Some(_) => {}
                    None => break,
                },
                _ = stop.changed() => {}
            }
        }
        courier.stop().await;
        (conversation, sent, acked)
    });

    let mut rng = rand::rng();
    let mut failovers = Vec::new();
    let mut fenced = 0;
    let mut ended = 0;
    for _ in 0..times {
        tokio::time::sleep(Duration::from_millis(rng.random_range(150..700))).await;
        let struck = Instant::now();
        match fault {
            Fault::KillWriter => {
                let mut child = slots[leader].child.take().expect("the leader runs");
                child.kill().expect("SIGKILL");
                child.wait().expect("reaped");
            }
            Fault::EndSessions => {
                ended += tokio::task::block_in_place(|| db.terminate_connections());
            }
        }
        let probes = probes.clone();
        leader =
            tokio::task::spawn_blocking(move || writer_among(&probes, Duration::from_secs(30)))
                .await
                .expect("probing the hubs");
        failovers.push(struck.elapsed().as_millis());
        if fault == Fault::EndSessions {
            // A writer that lost the lock to a standby stops within its next heartbeat.
            tokio::time::sleep(Duration::from_millis(1200)).await;
        }
        // Back as a standby on its address: it forwards at once.
        for (i, slot) in slots.iter_mut().enumerate() {
            let exited = match slot.child.as_mut() {
                None => None,
                Some(child) => child.try_wait().expect("wait"),
            };
            if let Some(status) = exited {
                assert_eq!(
                    status.code(),
                    Some(75),
                    "hub {i} stopped, but not fenced: {status}"
                );
                fenced += 1;
            }
            if slot.child.is_none() || exited.is_some() {
                slot.child = Some(start_slot(&db, logs.path(), i, slot.port, false));
            }
        }
    }
    let _ = stop_tx.send(true);
    let (conversation, sent, acked) = tokio::time::timeout(Duration::from_secs(120), customer)
        .await
        .expect("every line acknowledged in time")
        .expect("the customer task");
    failovers.sort_unstable();
    println!(
        "{name} ({times}; {ended} sessions ended, {fenced} hubs fenced): {} lines sent, {acked} acknowledged (retries included); a hub writing p50 {} ms after, max {} ms",
        sent.len(),
        failovers[failovers.len() / 2],
        failovers[failovers.len() - 1]
    );
    let _ = last_tx.send(sent.last().cloned());
    let mut owners = Vec::new();
    for worker in workers {
        let (name, accepted, resumed, lines) = worker.await.expect("a worker task");
        if !accepted.is_empty() {
            // The worker who has the conversation saw each line after taking it once, in
            // order, none missing: every reconnection resumed its stream.
            let numbers: Vec<u32> = lines.iter().map(|(n, _)| *n).collect();
            assert!(
                numbers.windows(2).all(|w| w[1] == w[0] + 1),
                "{name}'s lines, each once and none missing: {lines:?}"
            );
        }
        println!(
            "{name}: {} welcomes, {} resumed",
            resumed.len(),
            resumed.iter().filter(|r| **r).count()
        );
        assert!(
            resumed.iter().skip(1).all(|r| *r),
            "{name} resumed every time after the first login: {resumed:?}"
        );
        owners.extend(accepted.into_iter().map(|c| (name, c)));
    }
    for slot in &mut slots {
        if let Some(mut child) = slot.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    let conversation = conversation.expect("the conversation started");
    let taken: Vec<&str> = owners
        .iter()
        .filter(|(_, c)| *c == conversation)
        .map(|(name, _)| *name)
        .collect();
    assert_eq!(taken.len(), 1, "the conversation taken once: {owners:?}");
    let exported = export_from(BIN, &Store::Url(&db.url), "conversations");
    let record: Value = exported
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .find(|c| c["id"] == conversation.as_str())
        .expect("the conversation in the export");
    assert_eq!(
        record["owner"],
        taken[0].to_lowercase(),
        "one owner, the worker who took it: {record}"
    );
    let stored: Vec<String> = texts(&db, &conversation)
        .into_iter()
        .filter(|t| t.starts_with("line "))
        .collect();
    assert_eq!(stored, sent, "every line once, in the order written");
}
