//! Fault test 2: a userspace TCP proxy between the console's real session task (the worker
//! session of shiftdesk-client) and a real hub that delays, splits, blackholes and cuts the link.
//! Through it a worker takes an offer and sends replies and draft actions (accept, edit),
//! interleaved, while the proxy misbehaves. At the end the customer (connected to the hub
//! directly) and the store's export must each hold every reply and every sent draft exactly once,
//! in the order the worker sent them.
//!
//! The worker is driven the way the console's `App` drives the session: every command goes into
//! an [`Outbox`] with a fresh id, is sent when connected, and the whole outbox is sent again,
//! in order, after each `welcome`; an `ack` or `error` settles an entry.
//!
//! The faults come from a seeded RNG (`FAULT_PROXY_SEED`, printed), the number of steps from
//! `FAULT_PROXY_STEPS` (default 40). Each fault is printed. The first fault is always a cut and
//! the second a blackhole that lasts until the console notices by itself (its own pings go
//! unanswered) and reconnects; after that they are random, and they stop once the worker's
//! outbox is empty or after `CHAOS_AT_MOST`.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

use shiftdesk_client::outbox::{IdGen, Outbox};
use shiftdesk_client::worker::{self, WorkerConfig, WorkerEvents, WorkerSession};
use shiftdesk_client::{ConnState, Liveness, SessionEvent};
use shiftdesk_hub::dispatch::DispatchConfig;
use shiftdesk_hub::server::HubConfig;
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{
    Author, DraftAction, ErrorCode, Message, Role, WorkerCommand, WorkerEvent, WorkerFrame,
    WorkerStatus,
};
use shiftdesk_testkit::{add_worker, customer, hub_config, start_hub};

/// How long the worker waits for any news from its session before the test fails. Generous:
/// backoff tops out at 15 s, and the machine may be busy.
const WAIT: Duration = Duration::from_secs(60);
/// The faults stop after this long even if the worker is not done (it then finishes calmly).
const CHAOS_AT_MOST: Duration = Duration::from_secs(30);

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------------
// The proxy
// ---------------------------------------------------------------------------------------------

/// What the proxy does with one proxied connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Flowing,
    /// Nothing is forwarded either way; the sockets stay open.
    Dark,
    /// Both sockets are dropped.
    Cut,
}

struct Pair {
    n: u64,
    link: watch::Sender<Link>,
}

impl Pair {
    /// Both pumps still run (each holds a receiver).
    fn live(&self) -> bool {
        self.link.receiver_count() > 0 && *self.link.borrow() != Link::Cut
    }
}

#[derive(Clone)]
struct Proxy {
    addr: SocketAddr,
    pairs: Arc<Mutex<Vec<Pair>>>,
    /// How many connections the proxy has accepted.
    accepted: watch::Receiver<u64>,
}

impl Proxy {
    /// Listen on 127.0.0.1 and forward every connection to `upstream`, delaying and splitting
    /// chunks with an RNG seeded from `seed` and the connection's number.
    async fn start(upstream: SocketAddr, seed: u64) -> (Proxy, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let pairs = Arc::new(Mutex::new(Vec::<Pair>::new()));
        let (accepted_tx, accepted) = watch::channel(0u64);
        let registry = pairs.clone();
        let task = tokio::spawn(async move {
            let mut n = 0u64;
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                n += 1;
                let Ok(hub) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = hub.set_nodelay(true);
                let (link_tx, link) = watch::channel(Link::Flowing);
                let (client_read, client_write) = client.into_split();
                let (hub_read, hub_write) = hub.into_split();
                let rng = |direction: u64| StdRng::seed_from_u64(seed ^ (n << 8) ^ direction);
                tokio::spawn(pump(client_read, hub_write, link.clone(), rng(1)));
                tokio::spawn(pump(hub_read, client_write, link, rng(2)));
                registry.lock().unwrap().push(Pair { n, link: link_tx });
                accepted_tx.send_replace(n);
            }
        });
        (
            Proxy {
                addr,
                pairs,
                accepted,
            },
            task,
        )
    }

    /// Drop both sockets of every live connection; how many there were.
    fn cut(&self) -> usize {
        let pairs = self.pairs.lock().unwrap();
        let mut cut = 0;
        for pair in pairs.iter().filter(|p| p.live()) {
            pair.link.send_replace(Link::Cut);
            cut += 1;
        }
        cut
    }

    /// Stop forwarding on every live connection; their numbers.
    fn darken(&self) -> Vec<u64> {
        let pairs = self.pairs.lock().unwrap();
        let mut dark = Vec::new();
        for pair in pairs
            .iter()
            .filter(|p| p.live() && *p.link.borrow() == Link::Flowing)
        {
            pair.link.send_replace(Link::Dark);
            dark.push(pair.n);
        }
        dark
    }

    /// Forward again on these connections, if they are still dark.
    fn light(&self, dark: &[u64]) {
        let pairs = self.pairs.lock().unwrap();
        for pair in pairs.iter().filter(|p| dark.contains(&p.n)) {
            pair.link.send_if_modified(|link| {
                let was_dark = *link == Link::Dark;
                if was_dark {
                    *link = Link::Flowing;
                }
                was_dark
            });
        }
    }

    /// Cut everything, live or not, so nothing old can reach the hub later.
    fn shut(&self) {
        for pair in self.pairs.lock().unwrap().iter() {
            pair.link.send_replace(Link::Cut);
        }
    }
}

/// Wait while the link is dark; `false` once it is cut.
async fn flowing(link: &mut watch::Receiver<Link>) -> bool {
    loop {
        let now = *link.borrow_and_update();
        match now {
            Link::Flowing => return true,
            Link::Cut => return false,
            Link::Dark => {}
        }
        if link.changed().await.is_err() {
            return false;
        }
    }
}

/// Resolves when the link is cut.
async fn cut(mut link: watch::Receiver<Link>) {
    loop {
        if *link.borrow_and_update() == Link::Cut {
            return;
        }
        if link.changed().await.is_err() {
            return;
        }
    }
}

/// How long to hold a chunk: mostly not at all, sometimes a little, now and then a lot.
fn chunk_delay(rng: &mut StdRng) -> Duration {
    Duration::from_millis(match rng.random_range(0..100) {
        0..70 => 0,
        70..95 => rng.random_range(1..20),
        _ => rng.random_range(50..250),
    })
}

/// Copy one direction of a connection, chunk by chunk, in order: each chunk possibly delayed and
/// split in two, nothing forwarded while the link is dark, everything dropped when it is cut.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut link: watch::Receiver<Link>,
    mut rng: StdRng,
) {
    let mut buf = vec![0u8; 8 * 1024];
    loop {
        if !flowing(&mut link).await {
            return;
        }
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            () = cut(link.clone()) => return,
        };
        let split = if n > 1 && rng.random_bool(0.1) {
            rng.random_range(1..n)
        } else {
            n
        };
        for part in [&buf[..split], &buf[split..n]] {
            if part.is_empty() {
                continue;
            }
            let delay = chunk_delay(&mut rng);
            if !delay.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = cut(link.clone()) => return,
                }
            }
            if !flowing(&mut link).await {
                return;
            }
            tokio::select! {
                written = to.write_all(part) => if written.is_err() { return },
                () = cut(link.clone()) => return,
            }
        }
    }
    // The sender closed its side: pass that on (not through a blackhole, though).
    if flowing(&mut link).await {
        let _ = to.shutdown().await;
    }
}

// ---------------------------------------------------------------------------------------------
// The faults
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct ChaosReport {
    cuts: u32,
    blackholes: u32,
    /// Blackholes during which the console gave up on the dark connection and opened a new one.
    noticed: u32,
}

/// Misbehave until `done` or `CHAOS_AT_MOST`, printing each fault. `forced` turns true once the
/// first two faults (a cut, then a blackhole the console has to notice itself) have happened.
async fn chaos(
    proxy: Proxy,
    seed: u64,
    mut done: watch::Receiver<bool>,
    forced: watch::Sender<bool>,
) -> ChaosReport {
    let mut rng = StdRng::seed_from_u64(seed);
    let start = Instant::now();
    let t = || format!("t={:.1}s", start.elapsed().as_secs_f64());
    let mut report = ChaosReport::default();
    let mut round = 0u32;
    loop {
        let forced_over = report.cuts >= 1 && report.noticed >= 1;
        forced.send_if_modified(|f| {
            let changed = *f != forced_over;
            *f = forced_over;
            changed
        });
        if forced_over && (*done.borrow() || start.elapsed() > CHAOS_AT_MOST) {
            break;
        }
        let calm = Duration::from_millis(rng.random_range(300..1000));
        tokio::select! {
            () = tokio::time::sleep(calm) => {}
            _ = done.wait_for(|d| *d), if forced_over => break,
        }
        round += 1;
        let roll = rng.random_range(0..100);
        let kind = match (report.cuts, report.noticed) {
            (0, _) => "cut",
            (_, 0) => "blackhole until noticed",
            _ if roll < 40 => "cut",
            _ if roll < 80 => "blackhole",
            _ => "blackhole until noticed",
        };
        if kind == "cut" {
            let n = proxy.cut();
            if n == 0 {
                println!(
                    "fault_proxy: {} round {round}: cut, but nothing was connected",
                    t()
                );
            } else {
                report.cuts += 1;
                println!("fault_proxy: {} round {round}: cut {n} connection(s)", t());
            }
            continue;
        }
        let mut accepted = proxy.accepted.clone();
        let before = *accepted.borrow_and_update();
        let dark = proxy.darken();
        if dark.is_empty() {
            println!(
                "fault_proxy: {} round {round}: blackhole, but nothing was connected",
                t()
            );
            continue;
        }
        report.blackholes += 1;
        let reconnected = if kind == "blackhole" {
            let hold = Duration::from_millis(rng.random_range(200..2500));
            println!(
                "fault_proxy: {} round {round}: blackhole on connection(s) {dark:?} for {hold:?}",
                t()
            );
            tokio::time::sleep(hold).await;
            *accepted.borrow() > before
        } else {
            println!(
                "fault_proxy: {} round {round}: blackhole on connection(s) {dark:?} until the console reconnects",
                t()
            );
            // Released early only if the test is over (then the check below fails it).
            tokio::select! {
                _ = accepted.wait_for(|n| *n > before) => true,
                _ = done.wait_for(|d| *d) => false,
            }
        };
        proxy.light(&dark);
        if reconnected {
            report.noticed += 1;
        }
        println!(
            "fault_proxy: {} round {round}: light again on {dark:?}; {}",
            t(),
            if reconnected {
                "the console had noticed and reconnected"
            } else {
                "the console stayed on it"
            }
        );
    }
    println!("fault_proxy: {} chaos over after {round} rounds", t());
    report
}

// ---------------------------------------------------------------------------------------------
// The worker: the session driven the way `App` drives it
// ---------------------------------------------------------------------------------------------

struct Worker {
    session: WorkerSession,
    from_net: WorkerEvents,
    conn: ConnState,
    outbox: Outbox,
    ids: IdGen,
    /// Every hub frame the session handed over, in order.
    events: Vec<WorkerEvent>,
    /// Command ids in the order they were queued, and in the order the hub first answered them.
    queued: Vec<String>,
    answered: Vec<String>,
    refused: Vec<(WorkerFrame, ErrorCode, String)>,
    logins: u32,
    resumed: u32,
    duplicate_acks: u32,
}

impl Worker {
    fn handle(&mut self, msg: SessionEvent<WorkerEvent>) {
        match msg {
            // As `App::update`: the state shown is the state used to decide whether to send.
            SessionEvent::Conn(state) => self.conn = state,
            SessionEvent::Frame(event) => {
                match &event {
                    WorkerEvent::Welcome { resumed, .. } => {
                        self.conn = ConnState::Connected;
                        self.logins += 1;
                        if *resumed {
                            self.resumed += 1;
                        }
                        for frame in self.outbox.frames() {
                            self.session.send(frame.clone());
                        }
                    }
                    WorkerEvent::Ack { id, duplicate } => {
                        if *duplicate {
                            self.duplicate_acks += 1;
                        }
                        if self.outbox.take(id).is_some() {
                            self.answered.push(id.clone());
                        }
                    }
                    WorkerEvent::Error {
                        id: Some(id),
                        code,
                        message,
                    } => {
                        if let Some(pending) = self.outbox.take(id) {
                            self.answered.push(id.clone());
                            self.refused.push((pending.frame, *code, message.clone()));
                        }
                    }
                    _ => {}
                }
                self.events.push(event);
            }
            _ => {}
        }
    }

    /// A new command: a fresh id, into the outbox, sent now if connected.
    fn queue(&mut self, command: WorkerCommand) -> String {
        let frame = WorkerFrame {
            id: self.ids.next_id(),
            producer: None,
            cseq: None,
            command,
        };
        self.outbox.push(frame.clone(), shiftdesk_client::now_ms());
        self.queued.push(frame.id.clone());
        if self.conn == ConnState::Connected {
            self.session.send(frame.clone());
        }
        frame.id
    }

    /// Handle the next message from the session.
    async fn step(&mut self, waiting_for: &str) {
        match tokio::time::timeout(WAIT, self.from_net.recv()).await {
            Ok(Some(msg)) => self.handle(msg),
            Ok(None) => panic!("the session ended while waiting for {waiting_for}"),
            Err(_) => panic!(
                "nothing from the session for {WAIT:?} while waiting for {waiting_for}; connection {:?}, {} command(s) unanswered",
                self.conn,
                self.outbox.len()
            ),
        }
    }

    /// Keep handling messages for a while (the worker thinking between two commands).
    async fn think(&mut self, pause: Duration) {
        let until = Instant::now() + pause;
        loop {
            tokio::select! {
                msg = self.from_net.recv() => match msg {
                    Some(msg) => self.handle(msg),
                    None => panic!("the session ended"),
                },
                () = tokio::time::sleep_until(until) => return,
            }
        }
    }

    /// Keep handling messages until `until` resolves.
    async fn handle_until<T>(&mut self, waiting_for: &str, until: impl Future<Output = T>) -> T {
        tokio::pin!(until);
        loop {
            tokio::select! {
                value = &mut until => return value,
                () = self.step(waiting_for) => {}
            }
        }
    }

    /// The first event from index `from` on that `pick` takes, and its index.
    async fn wait_for<T>(
        &mut self,
        waiting_for: &str,
        from: usize,
        mut pick: impl FnMut(&WorkerEvent) -> Option<T>,
    ) -> (usize, T) {
        let mut i = from;
        loop {
            while i < self.events.len() {
                if let Some(found) = pick(&self.events[i]) {
                    return (i, found);
                }
                i += 1;
            }
            self.step(waiting_for).await;
        }
    }

    /// Until the hub has answered every command.
    async fn settle(&mut self, waiting_for: &str) {
        while !self.outbox.is_empty() {
            self.step(waiting_for).await;
        }
    }

    fn answered(&self, id: &str) -> bool {
        self.answered.iter().any(|a| a == id)
    }
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

/// The worker lines in a list of customer frames.
fn worker_lines(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .filter(|v| v["type"] == "message" && v["from"] == "worker")
        .map(|v| v["text"].as_str().expect("text").to_string())
        .collect()
}

/// The conversation as the worker's console saw it: the view from `accept_offer`, then each
/// `message` frame. A resume with a gap or a duplicate shows here as a missing or repeated `n`
/// (the view and the first frames may overlap: the same line in both is fine).
fn worker_transcript(events: &[WorkerEvent], conversation: &str) -> (Vec<Message>, Vec<String>) {
    let mut lines: BTreeMap<u32, Message> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut last_frame = 0;
    for event in events {
        match event {
            WorkerEvent::Conversation { conversation: view } if view.id == conversation => {
                for m in &view.messages {
                    lines.insert(m.n, m.clone());
                }
            }
            WorkerEvent::Message {
                conversation: c,
                message,
            } if c == conversation => {
                if message.n <= last_frame {
                    problems.push(format!(
                        "worker: line {} arrived again after line {last_frame}",
                        message.n
                    ));
                }
                last_frame = message.n;
                if let Some(old) = lines.insert(message.n, message.clone())
                    && old != *message
                {
                    problems.push(format!("worker: two different lines {}", message.n));
                }
            }
            _ => {}
        }
    }
    let numbers: Vec<u32> = lines.keys().copied().collect();
    if numbers.first() != Some(&1) || numbers.windows(2).any(|w| w[1] != w[0] + 1) {
        problems.push(format!("worker: lines missing: {numbers:?}"));
    }
    (lines.into_values().collect(), problems)
}

/// Empty if `got` is `want`; otherwise what differs, for the failure message.
fn compare(what: &str, want: &[String], got: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut checked = std::collections::BTreeSet::new();
    for text in want.iter().filter(|t| checked.insert(*t)) {
        let n = got.iter().filter(|g| *g == text).count();
        let expected = want.iter().filter(|w| *w == text).count();
        if n != expected {
            problems.push(format!(
                "{what}: {text:?} arrived {n} time(s), sent {expected}"
            ));
        }
    }
    for text in got.iter().filter(|g| !want.contains(g)) {
        problems.push(format!("{what}: {text:?} was never sent"));
    }
    if problems.is_empty()
        && let Some(i) = want.iter().zip(got).position(|(w, g)| w != g)
    {
        problems.push(format!(
            "{what}: out of order from line {i}: sent {:?}, got {:?}",
            want[i], got[i]
        ));
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_and_drafts_arrive_once_and_in_order_through_a_misbehaving_link() {
    let seed = env_number("FAULT_PROXY_SEED", 5);
    let steps = env_number("FAULT_PROXY_STEPS", 40) as usize;
    println!("fault_proxy: seed {seed} (FAULT_PROXY_SEED), {steps} steps (FAULT_PROXY_STEPS)");

    let dir = tempfile::tempdir().unwrap();
    let token = add_worker(dir.path(), "wren", &[Lang::En], Role::Worker, 2);
    let hub = start_hub(HubConfig {
        dispatch: DispatchConfig {
            offer_timeout_ms: 30_000,
            grace_ms: 120_000,
            ..DispatchConfig::default()
        },
        ..hub_config(dir.path())
    })
    .await;
    let (proxy, proxy_task) = Proxy::start(hub.addr, seed).await;

    // The worker's console, through the proxy. Short liveness intervals so that a blackhole
    // is noticed within a second or two, as the defaults would within 25 s (10 s during the
    // websocket handshake).
    let (session, from_net) = worker::spawn_with(
        WorkerConfig::new(format!("ws://{}", proxy.addr), token),
        Liveness {
            ping_every: Duration::from_millis(250),
            silence_limit: Duration::from_millis(1_000),
            connect_timeout: Duration::from_millis(2_000),
            ..Liveness::default()
        },
    );
    let mut worker = Worker {
        session,
        from_net,
        conn: ConnState::Connecting { attempt: 1 },
        outbox: Outbox::default(),
        ids: IdGen::new(format!("fp{seed}")),
        events: Vec::new(),
        queued: Vec::new(),
        answered: Vec::new(),
        refused: Vec::new(),
        logins: 0,
        resumed: 0,
        duplicate_acks: 0,
    };

    let (done_tx, done) = watch::channel(false);
    let (forced_tx, mut forced) = watch::channel(false);
    let chaos = tokio::spawn(chaos(proxy.clone(), seed, done, forced_tx));

    // The customer talks to the hub directly and asks for a person.
    let (mut customer, conversation) = customer(&hub.url(), "Dana", "en").await;
    customer
        .ok(json!({"type": "message", "text": "I want to talk to a person, please"}))
        .await;

    // The worker goes available and accepts the offer. An offer withdrawn because the link
    // dropped is refused (`conflict`) and offered again once the worker is back.
    worker.queue(WorkerCommand::SetStatus {
        status: WorkerStatus::Available,
    });
    let mut from = 0;
    let mut offers_lost = 0;
    loop {
        let (at, offered) = worker
            .wait_for("an offer", from, |e| match e {
                WorkerEvent::Offer { conversation, .. } => Some(conversation.clone()),
                _ => None,
            })
            .await;
        from = at + 1;
        assert_eq!(offered, conversation);
        let id = worker.queue(WorkerCommand::AcceptOffer {
            conversation: conversation.clone(),
        });
        while !worker.answered(&id) {
            worker.step("the answer to accept_offer").await;
        }
        match worker.refused.iter().position(|(f, ..)| f.id == id) {
            None => break,
            Some(i) => {
                let (_, code, message) = worker.refused.remove(i);
                println!(
                    "fault_proxy: accept_offer refused ({code:?}: {message}); waiting for the offer again"
                );
                offers_lost += 1;
            }
        }
    }

    // Replies and draft actions, interleaved, at a worker's pace; some pile up unanswered.
    let mut plan = StdRng::seed_from_u64(seed.wrapping_add(1));
    let mut sent: Vec<String> = Vec::new();
    let (mut replies, mut accepts, mut edits) = (0, 0, 0);
    for i in 1..=steps {
        if i == steps / 2 {
            // Make sure the forced faults happen while there is still work in flight.
            worker
                .handle_until("the first cut and blackhole", forced.wait_for(|f| *f))
                .await
                .unwrap();
        }
        let roll = plan.random_range(0..4);
        if roll < 2 {
            let text = format!("Reply {i}: I am looking into it right now.");
            worker.queue(WorkerCommand::Reply {
                conversation: conversation.clone(),
                text: text.clone(),
            });
            sent.push(text);
            replies += 1;
        } else {
            // A reply still on its way would discard the draft about to come: let it land.
            worker.settle("replies before a question").await;
            let from = worker.events.len();
            customer
                .ok(json!({"type": "message", "text": format!("Question {i}: how do I change my delivery address?")}))
                .await;
            let (_, draft) = worker
                .wait_for(&format!("the draft for question {i}"), from, |e| match e {
                    WorkerEvent::Draft {
                        conversation: c,
                        draft,
                    } if *c == conversation => Some(draft.clone()),
                    _ => None,
                })
                .await;
            let action = if roll == 2 {
                accepts += 1;
                sent.push(draft.proposal.text.clone());
                DraftAction::Accept
            } else {
                edits += 1;
                let text = format!("Edited {i}: go to Settings, then Addresses.");
                sent.push(text.clone());
                DraftAction::Edit { text }
            };
            worker.queue(WorkerCommand::Draft {
                conversation: conversation.clone(),
                draft: draft.id.clone(),
                action,
            });
        }
        worker
            .think(Duration::from_millis(plan.random_range(0..120)))
            .await;
    }
    worker.settle("the last commands").await;

    // Calm: stop the faults, the console, and the proxy, so nothing old reaches the hub later.
    done_tx.send_replace(true);
    let report = tokio::time::timeout(WAIT, chaos)
        .await
        .expect("the chaos stops")
        .unwrap();
    tokio::time::timeout(WAIT, worker.session.stop())
        .await
        .expect("the session stops")
        .unwrap();
    proxy.shut();
    proxy_task.abort();

    // The faults did happen: the forced ones at least.
    assert!(report.cuts >= 1 && report.noticed >= 1, "{report:?}");
    assert!(worker.logins >= 2, "the console never had to reconnect");

    // The worker's side: nothing refused (a draft action overtaken by a reply would be), the
    // hub's first answers in the order the commands were queued, every login after the first a
    // resume (the hub never restarted).
    let mut problems = Vec::new();
    for (frame, code, message) in &worker.refused {
        problems.push(format!("worker: {frame:?} refused: {code:?} {message}"));
    }
    if worker.answered != worker.queued {
        problems.push(format!(
            "worker: commands queued as {:?} were first answered as {:?}",
            worker.queued, worker.answered
        ));
    }
    if worker.resumed != worker.logins - 1 {
        problems.push(format!(
            "worker: {} logins, only {} resumed",
            worker.logins, worker.resumed
        ));
    }

    // The customer: a last round trip, so every frame the worker's commands caused is in.
    customer
        .ok(json!({"type": "message", "text": "Thanks, that is all."}))
        .await;
    problems.extend(compare("customer", &sent, &worker_lines(&customer.seen)));

    // The worker's own console: every line once, no gap, its own lines in the order sent.
    let (transcript, gaps) = worker_transcript(&worker.events, &conversation);
    problems.extend(gaps);
    let echoed: Vec<String> = transcript
        .iter()
        .filter(|m| m.from == Author::Worker)
        .map(|m| m.text.clone())
        .collect();
    problems.extend(compare("worker", &sent, &echoed));

    // The store, through `shiftdesk export`.
    let mut out = Vec::new();
    shiftdesk_hub::export::run(
        shiftdesk_hub::export::ExportKind::Conversations,
        dir.path(),
        &mut out,
    )
    .unwrap();
    let record: Value = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|c| c["id"] == conversation.as_str())
        .expect("the conversation is exported");
    let stored: Vec<String> = record["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["from"] == "worker")
        .map(|m| m["text"].as_str().expect("text").to_string())
        .collect();
    problems.extend(compare("export", &sent, &stored));
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    println!(
        "fault_proxy: {} logins ({} resumed), {} duplicate acks after resends, {offers_lost} offer(s) lost to the link, {} blackhole(s) noticed by the console itself",
        worker.logins, worker.resumed, worker.duplicate_acks, report.noticed
    );
    println!(
        "fault_proxy: {} cuts, {} blackholes, {} commands ({replies} replies, {accepts} drafts accepted, {edits} edited), all delivered once, in order",
        report.cuts,
        report.blackholes,
        sent.len()
    );
    hub.shutdown().await;
}
