//! The PostgreSQL store against the machine's PostgreSQL, each test in a database of its own
//! (see `shiftdesk_testkit::postgres`): the same meaning as the SQLite store (facts in order,
//! a command's first answer kept for its retry, accounts, a reopened store finds it all), its
//! schema migrations, its writer lock, broken connections, and `migrate-store`'s copy.
//! Without a server each test says it skipped (a failure with SHIFTDESK_REQUIRE_POSTGRES=1).

use shiftdesk_hub::facts::Fact;
use shiftdesk_hub::store::{
    Accounts, CommandLedger, CommandRecord, CommandResult, EventLog, EventStore, OpenMode,
    PostgresStore, SqliteStore, hash_token,
};
use shiftdesk_protocol::{Lang, Role, WorkerInfo, WorkerStatus};
use shiftdesk_testkit::postgres::TestDb;

fn fact(i: u64) -> Fact {
    Fact::StatusChanged {
        worker: format!("w{i}"),
        status: WorkerStatus::Available,
        at: i,
    }
}

fn said(conversation: &str, text: &str) -> Fact {
    Fact::CustomerSaid {
        conversation: conversation.into(),
        text: text.into(),
        at: 7,
    }
}

fn record(principal: &str, id: &str, result: CommandResult) -> CommandRecord {
    CommandRecord {
        principal: principal.into(),
        id: id.into(),
        result,
    }
}

fn refused(message: &str) -> CommandResult {
    CommandResult::Refused {
        code: "conflict".into(),
        message: message.into(),
    }
}

fn open(db: &TestDb) -> PostgresStore {
    PostgresStore::open(&db.target(), OpenMode::Create).expect("the store opens")
}

fn worker(id: &str, role: Role) -> WorkerInfo {
    WorkerInfo {
        id: id.into(),
        name: format!("{id} Lima"),
        role,
        languages: vec![Lang::En, Lang::It],
        skills: vec!["fraud".into(), "disputes".into()],
        capacity: 3,
    }
}

/// Facts come back in the order appended, across appends and within one large append, with
/// sequence numbers that only grow; text with quotes, newlines and NULs survives.
#[test]
fn facts_come_back_in_order() {
    let Some(db) = TestDb::create("facts in order") else {
        return;
    };
    let store = open(&db);
    let mut appender = store.appender().expect("an appender");
    let mut facts: Vec<Fact> = (0..300).map(fact).collect();
    for batch in facts.chunks(7) {
        appender.append(batch, &[], &[], 1).expect("append");
    }
    // One append of many facts keeps their order too; and they are read back in several
    // statements (10,000 facts a statement), with nothing lost or repeated at the seams.
    let big: Vec<Fact> = (300..21_300).map(fact).collect();
    appender.append(&big, &[], &[], 2).expect("a big append");
    facts.extend(big);
    let odd = said(
        "c-1",
        "a \"quote\",\nnew line, tab\t, NUL \u{0} and émoji 🙂",
    );
    appender
        .append(std::slice::from_ref(&odd), &[], &[], 3)
        .expect("append");
    facts.push(odd);
    // An append with nothing to store is no statement at all.
    appender.append(&[], &[], &[], 4).expect("empty append");
    assert_eq!(store.load().expect("load"), facts);
    let seqs: Vec<i64> = store
        .load_after(0)
        .expect("load")
        .into_iter()
        .map(|(seq, _)| seq)
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seq only grows");
    let from = seqs[10_000];
    let after: Vec<i64> = store
        .load_after(from)
        .expect("load after")
        .into_iter()
        .map(|(seq, _)| seq)
        .collect();
    assert_eq!(after, seqs[10_001..], "after a given fact");
    assert_eq!(
        db.query("SELECT count(DISTINCT kind) FROM events"),
        vec!["2".to_string()]
    );
}

/// A command's result is kept (a refusal with its code and message), a later record of the
/// same command replaces it (in one append or the next), ids are exact bytes (NUL and all),
/// and `command_keys` lists each once.
#[test]
fn commands_are_remembered_with_their_results() {
    let Some(db) = TestDb::create("command results") else {
        return;
    };
    let store = open(&db);
    let mut appender = store.appender().expect("an appender");
    appender
        .append(
            &[fact(1)],
            &[
                record("ana", "m1", CommandResult::Ok),
                record("c:9", "m1", refused("already taken")),
                // The same command twice in one append: the later record counts.
                record("ana", "m2", CommandResult::Ok),
                record("ana", "m2", refused("second thoughts")),
                record("ana", "nul\u{0}id", refused("a NUL \u{0} in the message")),
            ],
            &[],
            1,
        )
        .expect("append");
    assert_eq!(
        store.command_result("ana", "m1").expect("lookup"),
        Some(CommandResult::Ok)
    );
    assert_eq!(
        store.command_result("c:9", "m1").expect("lookup"),
        Some(refused("already taken"))
    );
    assert_eq!(
        store.command_result("ana", "m2").expect("lookup"),
        Some(refused("second thoughts"))
    );
    assert_eq!(
        store.command_result("ana", "nul\u{0}id").expect("lookup"),
        Some(refused("a NUL \u{FFFD} in the message"))
    );
    assert_eq!(store.command_result("ana", "m3").expect("lookup"), None);
    assert_eq!(store.command_result("bo", "m1").expect("lookup"), None);
    // A later append's record replaces the earlier one; commands alone are an append too.
    appender
        .append(
            &[],
            &[record("ana", "m1", refused("on reflection"))],
            &[],
            2,
        )
        .expect("append");
    assert_eq!(
        store.command_result("ana", "m1").expect("lookup"),
        Some(refused("on reflection"))
    );
    let mut keys = Vec::new();
    let listed = store
        .command_keys(&mut |p, id| keys.push((p.to_string(), id.to_string())))
        .expect("keys");
    assert!(listed);
    keys.sort();
    assert_eq!(
        keys,
        [
            ("ana", "m1"),
            ("ana", "m2"),
            ("ana", "nul\u{0}id"),
            ("c:9", "m1")
        ]
        .map(|(p, id)| (p.to_string(), id.to_string()))
    );
}

/// A client run's command sequence is one row, the later state winning within an append and
/// across appends, read back exactly (the window of applied numbers and the refusals).
#[test]
fn client_sequences_are_one_row_per_run() {
    use shiftdesk_hub::store::{ClientSequence, RefusedCommand};
    let Some(db) = TestDb::create("client sequences") else {
        return;
    };
    let store = open(&db);
    let mut appender = store.appender().expect("an appender");
    let mut run = store
        .client_sequence("w:ana", "p1")
        .expect("lookup")
        .unwrap_or(ClientSequence {
            principal: "w:ana".into(),
            producer: "p1".into(),
            last: 0,
            applied: Default::default(),
            refused: Vec::new(),
        });
    assert_eq!(run.last, 0, "nothing stored yet");
    let earlier = ClientSequence {
        last: 3,
        ..run.clone()
    };
    run.last = 7;
    run.refused.push(RefusedCommand {
        cseq: 6,
        code: "conflict".into(),
        message: "taken".into(),
    });
    appender
        .append(&[fact(1)], &[], &[earlier, run.clone()], 1)
        .expect("append");
    assert_eq!(
        store.client_sequence("w:ana", "p1").expect("lookup"),
        Some(run.clone())
    );
    run.last = 9;
    appender
        .append(&[], &[], std::slice::from_ref(&run), 2)
        .expect("append");
    assert_eq!(
        store.client_sequence("w:ana", "p1").expect("lookup"),
        Some(run)
    );
    assert_eq!(store.client_sequence("w:ana", "p2").expect("lookup"), None);
}

/// Workers and supervisors with their profiles; a token finds its worker until it is
/// rotated; ids are unique.
#[test]
fn accounts_are_kept_with_token_hashes() {
    let Some(db) = TestDb::create("accounts") else {
        return;
    };
    let mut store = open(&db);
    store
        .add_worker(&worker("sam", Role::Supervisor), &hash_token("t-sam"), 5)
        .expect("added");
    store
        .add_worker(&worker("ana", Role::Worker), &hash_token("t-ana"), 6)
        .expect("added");
    let again = store
        .add_worker(&worker("ana", Role::Worker), &hash_token("t-other"), 7)
        .expect_err("a second ana");
    assert_eq!(again.to_string(), "a worker with id `ana` already exists");
    let ana = store
        .worker_by_token(&hash_token("t-ana"))
        .expect("lookup")
        .expect("ana");
    assert_eq!(ana.info, worker("ana", Role::Worker));
    assert_eq!(ana.created_at, 6);
    assert_eq!(store.worker_by_token("nope").expect("lookup"), None);
    let ids: Vec<String> = store
        .workers()
        .expect("workers")
        .into_iter()
        .map(|w| w.info.id)
        .collect();
    assert_eq!(ids, ["ana", "sam"]);
    let added: Vec<String> = store
        .workers_added_since(6)
        .expect("workers added since")
        .into_iter()
        .map(|w| w.info.id)
        .collect();
    assert_eq!(added, ["ana"], "added at 6 or later");
    assert_eq!(store.workers_summary().expect("summary"), (2, 6));
    assert!(store.workers_added_since(7).expect("none").is_empty());
    store
        .set_token("ana", &hash_token("t-new"))
        .expect("rotated");
    assert_eq!(
        store.worker_by_token(&hash_token("t-ana")).expect("lookup"),
        None
    );
    assert!(
        store
            .worker_by_token(&hash_token("t-new"))
            .expect("lookup")
            .is_some()
    );
    let unknown = store.set_token("zed", "x").expect_err("no zed");
    assert_eq!(unknown.to_string(), "no worker with id `zed`");
}

/// Closed and opened again (as after a restart), the store has everything; the migration
/// ran once; a read-only store cannot write; a store from a newer shiftdesk is refused, and
/// so is reading a database that holds no store.
#[test]
fn a_reopened_store_has_everything_and_its_schema_once() {
    let Some(db) = TestDb::create("reopen") else {
        return;
    };
    let empty = PostgresStore::open(&db.target(), OpenMode::ReadOnly)
        .err()
        .expect("no store to read yet")
        .to_string();
    assert!(empty.contains("no shiftdesk store in"), "{empty}");
    {
        let mut store = open(&db);
        store
            .add_worker(&worker("ana", Role::Worker), &hash_token("t"), 1)
            .expect("added");
        let mut appender = store.appender().expect("an appender");
        appender
            .append(
                &[fact(1), fact(2)],
                &[record("ana", "m1", CommandResult::Ok)],
                &[],
                1,
            )
            .expect("append");
    }
    let store = open(&db);
    assert_eq!(store.load().expect("load"), vec![fact(1), fact(2)]);
    assert_eq!(
        store.command_result("ana", "m1").expect("lookup"),
        Some(CommandResult::Ok)
    );
    assert_eq!(store.workers().expect("workers").len(), 1);
    assert_eq!(
        db.query("SELECT count(*) FROM schema_migrations"),
        vec!["6".to_string()]
    );

    let mut reader = PostgresStore::open(&db.target(), OpenMode::ReadOnly).expect("read-only");
    assert_eq!(reader.load().expect("load").len(), 2);
    let write = reader
        .add_worker(&worker("bo", Role::Worker), &hash_token("b"), 1)
        .expect_err("read-only");
    assert!(write.to_string().contains("read-only"), "{write}");

    db.query("INSERT INTO schema_migrations (version, name) VALUES (999, 'from the future')");
    let newer = PostgresStore::open(&db.target(), OpenMode::Create)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        newer.contains("schema version 999") && newer.contains("newer"),
        "{newer}"
    );
}

/// One writer per store: a second appender waits for the writer lock, then is refused with
/// who holds it; once the first is gone, the lock is free again.
#[test]
fn a_second_writer_is_refused() {
    let Some(db) = TestDb::create("writer lock") else {
        return;
    };
    let store = open(&db);
    let first = store.appender().expect("the first writer");
    let second = store.appender().err().expect("a second writer").to_string();
    assert!(
        second.contains("another shiftdesk hub is writing to")
            && second.contains("pg_terminate_backend")
            && second.contains("--standby"),
        "{second}"
    );
    drop(first);
    store.appender().expect("the lock is free again");
}

/// `pg_terminate_backend` on every connection: the next read and the next append connect
/// again, the append is stored once, and what was stored before is all there.
#[test]
fn broken_connections_are_made_again() {
    let Some(db) = TestDb::create("terminated") else {
        return;
    };
    let store = open(&db);
    let mut appender = store.appender().expect("an appender");
    appender.append(&[fact(1)], &[], &[], 1).expect("append");
    assert!(
        db.terminate_connections() >= 2,
        "the store's two connections"
    );
    appender
        .append(
            &[fact(2)],
            &[record("ana", "m1", CommandResult::Ok)],
            &[],
            2,
        )
        .expect("an append after the connection was cut");
    assert_eq!(store.load().expect("load"), vec![fact(1), fact(2)]);
    db.terminate_connections();
    assert_eq!(
        store.command_result("ana", "m1").expect("lookup"),
        Some(CommandResult::Ok)
    );
    assert!(store.ping().is_ok());
}

/// `migrate-store`'s copy: events with their sequence numbers, commands (indexed and not, the
/// later record winning), workers with their token hashes; an append afterwards goes on
/// after the last copied event. A second copy into the now non-empty store is refused.
#[test]
fn a_sqlite_store_is_copied_whole() {
    let Some(db) = TestDb::create("copy") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sqlite = SqliteStore::open(dir.path()).expect("sqlite");
    sqlite
        .add_worker(&worker("ana", Role::Worker), &hash_token("t-ana"), 3)
        .expect("added");
    sqlite
        .add_worker(&worker("sam", Role::Supervisor), &hash_token("t-sam"), 4)
        .expect("added");
    let facts: Vec<Fact> = (0..12_345).map(fact).collect();
    // Enough commands that SQLite has moved some into its index and left others in its log.
    let commands: Vec<CommandRecord> = (0..6_000)
        .map(|i| {
            record(
                &format!("c:{}", i % 13),
                &format!("m{i}"),
                CommandResult::Ok,
            )
        })
        .collect();
    let mut command_chunks = commands.chunks(500);
    for facts in facts.chunks(1_000) {
        let commands = command_chunks.next().unwrap_or_default();
        sqlite.append(facts, commands, &[], 9).expect("append");
    }
    sqlite
        .append(&[], &[record("c:3", "m3", refused("later"))], &[], 10)
        .expect("append");
    // Two client runs' command sequences (PROTOCOL.md 3.2), one with a refusal.
    let runs: Vec<shiftdesk_hub::store::ClientSequence> = (1..=2)
        .map(|n| shiftdesk_hub::store::ClientSequence {
            principal: "w:ana".into(),
            producer: format!("run{n}"),
            last: 10 * n,
            applied: Default::default(),
            refused: vec![shiftdesk_hub::store::RefusedCommand {
                cseq: n,
                code: "conflict".into(),
                message: "taken".into(),
            }],
        })
        .collect();
    sqlite.append(&[], &[], &runs, 11).expect("append");
    let before = sqlite.load_after(0).expect("load");

    let mut progress = Vec::new();
    let copied = shiftdesk_hub::store::postgres::copy_from_sqlite(
        &sqlite,
        &db.target(),
        &mut |table, rows| progress.push((table.to_string(), rows)),
    )
    .expect("copied");
    assert_eq!(
        (
            copied.events,
            copied.commands,
            copied.workers,
            copied.sequences
        ),
        (12_345, 6_000, 2, 2)
    );
    // Told as chunks went: the events, then the command records (6,000 and the later one).
    assert_eq!(progress.first(), Some(&("events".to_string(), 5_000)));
    assert_eq!(progress.last(), Some(&("commands".to_string(), 6_001)));

    let store = PostgresStore::open(&db.target(), OpenMode::Existing).expect("opens");
    assert_eq!(store.load_after(0).expect("load"), before);
    for run in &runs {
        assert_eq!(
            store
                .client_sequence("w:ana", &run.producer)
                .expect("lookup")
                .as_ref(),
            Some(run)
        );
    }
    assert_eq!(
        store.command_result("c:3", "m3").expect("lookup"),
        Some(refused("later"))
    );
    assert_eq!(
        store
            .command_result(&format!("c:{}", 5_999 % 13), "m5999")
            .expect("lookup"),
        Some(CommandResult::Ok)
    );
    assert_eq!(
        store.workers().expect("workers"),
        sqlite.workers().expect("workers")
    );
    assert!(
        store
            .worker_by_token(&hash_token("t-sam"))
            .expect("lookup")
            .is_some()
    );
    let mut appender = store.appender().expect("an appender");
    appender
        .append(&[fact(99_999)], &[], &[], 11)
        .expect("append");
    let last = store.load_after(0).expect("load");
    let (seq, _) = last.last().expect("a last fact");
    assert_eq!(*seq, before.last().expect("copied").0 + 1);
    drop(appender);

    let again =
        shiftdesk_hub::store::postgres::copy_from_sqlite(&sqlite, &db.target(), &mut |_, _| {})
            .expect_err("not empty")
            .to_string();
    assert!(
        again.contains("already holds a shiftdesk store (12346 events, 6000 commands, 2 workers)"),
        "{again}"
    );
}

/// A TCP proxy to PostgreSQL that, once armed, cuts the connection where the answer to an
/// append (its `UPDATE 1` command tag) would reach the client: the append is committed, and
/// the client cannot know.
struct CutProxy {
    port: u16,
    armed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cuts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CutProxy {
    fn start(server: std::net::SocketAddr) -> CutProxy {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let armed = Arc::new(AtomicBool::new(false));
        let cuts = Arc::new(AtomicUsize::new(0));
        let (armed_, cuts_) = (armed.clone(), cuts.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = std::net::TcpStream::connect(server) else {
                    return;
                };
                let (mut c_in, mut s_out) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_in, &mut s_out);
                    let _ = s_out.shutdown(std::net::Shutdown::Both);
                });
                let (armed, cuts) = (armed_.clone(), cuts_.clone());
                std::thread::spawn(move || {
                    use std::io::{Read, Write};
                    let (mut from, mut to) = (server, client);
                    let mut buffer = [0u8; 64 * 1024];
                    while let Ok(n) = from.read(&mut buffer) {
                        let chunk = &buffer[..n];
                        if n == 0 {
                            break;
                        }
                        if chunk.windows(9).any(|w| w == b"UPDATE 1\0")
                            && armed.swap(false, Ordering::SeqCst)
                        {
                            cuts.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        if to.write_all(chunk).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(std::net::Shutdown::Both);
                    let _ = from.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        CutProxy { port, armed, cuts }
    }
}

/// The answer to an append is lost after PostgreSQL committed it: the store connects again,
/// finds the append's token in `last_append`, and reports it stored, without sending it a
/// second time.
#[test]
fn an_append_whose_answer_was_lost_is_found_stored_and_not_repeated() {
    use std::sync::atomic::Ordering;
    let Some(db) = TestDb::create("answer lost") else {
        return;
    };
    let store = open(&db);
    let target = db.target();
    let config = target.config();
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(host) => host.clone(),
        other => panic!("a TCP host, not {other:?}"),
    };
    let server = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), config.get_ports()[0]))
        .expect("resolves")
        .next()
        .expect("an address");
    let proxy = CutProxy::start(server);
    let through_proxy = shiftdesk_hub::store::PostgresTarget::parse(&format!(
        "postgres://{}@127.0.0.1:{}/{}",
        config.get_user().unwrap_or("postgres"),
        proxy.port,
        db.name
    ))
    .expect("a URL");
    let mut appender = PostgresStore::open_writer(&through_proxy, &mut || {}).expect("a writer");
    appender.append(&[fact(1)], &[], &[], 1).expect("append");
    proxy.armed.store(true, Ordering::SeqCst);
    appender
        .append(
            &[fact(2)],
            &[record("ana", "m1", CommandResult::Ok)],
            &[],
            2,
        )
        .expect("stored, though its answer was lost");
    assert_eq!(
        proxy.cuts.load(Ordering::SeqCst),
        1,
        "the answer was cut off"
    );
    assert_eq!(store.load().expect("load"), vec![fact(1), fact(2)], "once");
    // Sent once: a second try would have taken another number from the sequence (a failed
    // insert's numbers are not given back).
    let seqs: Vec<i64> = store
        .load_after(0)
        .expect("load")
        .iter()
        .map(|(seq, _)| *seq)
        .collect();
    assert_eq!(seqs[1], seqs[0] + 1, "{seqs:?}");
    appender.append(&[fact(3)], &[], &[], 3).expect("and on");
    assert_eq!(store.load().expect("load").len(), 3);
}

/// A standby follows the log while it waits for the writer lock (`appender_waiting` calls back
/// between its tries), so that taking over reads only what was written since; once the writer
/// is gone it gets the store, and the facts after the last one it read are the ones it missed.
#[test]
fn a_standby_follows_the_log_while_it_waits_for_the_store() {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::{Arc, Mutex};
    let Some(db) = TestDb::create("standby follows") else {
        return;
    };
    let store = open(&db);
    let mut writer = store.appender().expect("the writer");
    writer
        .append(&[fact(1), fact(2)], &[], &[], 1)
        .expect("append");

    let seen = Arc::new(Mutex::new(Vec::new()));
    let position = Arc::new(AtomicI64::new(0));
    let standby = {
        let (target, seen, position) = (db.target().standby(), seen.clone(), position.clone());
        std::thread::spawn(move || {
            let store = PostgresStore::open(&target, OpenMode::Create).expect("opens");
            let mut calls = 0;
            let appender = store
                .appender_waiting(&mut || {
                    calls += 1;
                    let after = store
                        .load_after(position.load(Ordering::SeqCst))
                        .expect("read while waiting");
                    if let Some((last, _)) = after.last() {
                        position.store(*last, Ordering::SeqCst);
                    }
                    seen.lock()
                        .unwrap()
                        .extend(after.into_iter().map(|(_, f)| f));
                })
                .expect("the store, once the writer is gone");
            let missed = store
                .load_after(position.load(Ordering::SeqCst))
                .expect("read after");
            (calls, appender, missed)
        })
    };
    let until = |n: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while seen.lock().unwrap().len() < n {
            assert!(
                std::time::Instant::now() < deadline,
                "the standby reads the log"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    until(2);
    writer.append(&[fact(3)], &[], &[], 2).expect("append");
    until(3);
    assert_eq!(*seen.lock().unwrap(), vec![fact(1), fact(2), fact(3)]);
    // The last append before the writer goes: the standby finds it after taking over.
    writer.append(&[fact(4)], &[], &[], 3).expect("append");
    drop(writer);
    let (calls, mut appender, missed) = standby.join().expect("the standby thread");
    assert!(calls >= 2, "called back while waiting: {calls}");
    let missed: Vec<Fact> = missed.into_iter().map(|(_, f)| f).collect();
    let mut all = seen.lock().unwrap().clone();
    all.extend(missed);
    assert_eq!(
        all,
        vec![fact(1), fact(2), fact(3), fact(4)],
        "each fact once"
    );
    appender
        .append(&[fact(5)], &[], &[], 4)
        .expect("the standby writes now");
}

/// Clients' stream frames go in with the facts and come back by stream: runs of one stream in
/// one append become one row, a stream keeps at least its last `RESUME_WINDOW` frames (what is
/// a window behind its head goes as it crosses each multiple of the window), its head is the
/// last seq stored (0 for none), and the store has one name that begins every stream name, the
/// same for every handle on it.
#[test]
fn stream_frames_are_kept_per_stream_for_the_resume_window() {
    use shiftdesk_hub::store::{StreamChanges, StreamFrames};
    use shiftdesk_protocol::RESUME_WINDOW;
    let Some(db) = TestDb::create("stream frames") else {
        return;
    };
    let store = open(&db);
    let text = |stream: &str, seq: u64| format!(r#"{{"seq":{seq},"type":"ack","id":"{stream}"}}"#);
    let run = |stream: &str, seqs: std::ops::RangeInclusive<u64>| StreamFrames {
        stream: stream.into(),
        first: *seqs.start(),
        frames: seqs.map(|seq| text(stream, seq).into()).collect(),
    };
    let window = RESUME_WINDOW as u64;
    let mut appender = store.appender().expect("the writer");
    // Two batches coalesced into one append: one row for each stream.
    appender
        .append_with_frames(
            &[fact(1)],
            &[],
            &[],
            StreamChanges {
                frames: &[run("s-ana", 1..=1), run("s-c1", 1..=1), run("s-ana", 2..=3)],
                forgotten: &[],
            },
            1,
        )
        .expect("an append with frames");
    assert_eq!(
        db.query("SELECT count(*) FROM stream_frames"),
        vec!["2".to_string()]
    );
    // Two windows and a half more of one stream, in appends of various sizes.
    let last = 2 * window + window / 2;
    let mut next = 4;
    for size in [100, window, 7, window / 2, 1].into_iter().cycle() {
        if next > last {
            break;
        }
        let end = (next + size - 1).min(last);
        appender
            .append_with_frames(
                &[],
                &[],
                &[],
                StreamChanges {
                    frames: &[run("s-ana", next..=end)],
                    forgotten: &[],
                },
                2,
            )
            .expect("frames alone");
        next = end + 1;
    }
    drop(appender);

    let origin = open(&db)
        .stream_origin()
        .expect("read")
        .expect("a PostgreSQL store keeps streams");
    assert_eq!(origin.len(), 16, "{origin}");
    assert_eq!(
        store.stream_origin().expect("read"),
        Some(origin),
        "one name for the store's streams"
    );
    assert_eq!(store.stream_head("s-ana").expect("read"), last);
    assert_eq!(store.stream_head("s-c1").expect("read"), 1);
    assert_eq!(store.stream_head("nobody").expect("read"), 0);

    let kept = store.stream_frames("s-ana", 0, last).expect("read");
    let oldest = kept.first().expect("frames").0;
    assert!(
        kept.len() as u64 >= window && oldest > 1,
        "at least the last window, not the whole history: {} from {oldest}",
        kept.len()
    );
    assert!(
        kept.iter()
            .zip(oldest..=last)
            .all(|((seq, f), want)| *seq == want && *f == text("s-ana", want))
            && kept.len() as u64 == last - oldest + 1,
        "in order, each its own frame"
    );
    let some = store
        .stream_frames("s-ana", last - 3, last - 1)
        .expect("read");
    assert_eq!(
        some,
        vec![
            (last - 2, text("s-ana", last - 2)),
            (last - 1, text("s-ana", last - 1))
        ]
    );
    assert_eq!(
        store.stream_frames("s-c1", 0, 1).expect("read"),
        vec![(1, text("s-c1", 1))]
    );
    assert!(
        store
            .stream_frames("nobody", 0, 10)
            .expect("read")
            .is_empty()
    );

    // A stream let go of (an ended conversation's) loses every frame; the others keep theirs.
    let mut appender = store.appender().expect("the writer again");
    appender
        .append_with_frames(
            &[fact(2)],
            &[],
            &[],
            StreamChanges {
                frames: &[],
                forgotten: &["s-c1".to_string()],
            },
            3,
        )
        .expect("an append that lets a stream go");
    assert_eq!(store.stream_head("s-c1").expect("read"), 0);
    assert!(store.stream_frames("s-c1", 0, 1).expect("read").is_empty());
    assert_eq!(store.stream_head("s-ana").expect("read"), last);
}
