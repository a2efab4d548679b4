//! Several hubs on one PostgreSQL store (`--only hubs`, with `--store`).
//!
//! For 1, 2 and 3 hubs: the first is started as usual and writes; the others are started with
//! `--standby` and are gateways, forwarding every websocket frame to the writer. Customers
//! connect to the last hub and workers to the one before it ([`Hubs::layout`]), so with two
//! hubs every customer line crosses one gateway, and with three both sides cross one and the
//! writer takes no client connection. Measured: the relay (closed-loop maximum, then open
//! loop at half of it and at a fixed rate) and time to offer, each on hubs started afresh;
//! and, for comparison, the same time-to-offer job on one hub with its own SQLite store.
//!
//! A failed measurement is written down in the report and the next one goes on: a count of
//! hubs that fails is a finding, not a reason to lose the others.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

use super::{Env, Plan, expect_offer, expect_relay, offer_job, relay_job};
use crate::jobs::{Job, OfferResult, Rates, RelayJob, RelayResult, Server};
use crate::procs::{Pinning, ServerProc};
use crate::report::{HUB_COUNTS, HUBS_RELAY_RATE, HubsResults, HubsRow, Results};
use crate::stats::progress;

/// How long a new hub may take to say, on `/healthz`, that it writes or whom it forwards to
/// (a standby: and that it has read the log, about 2 µs a fact in a release build).
const READY_WAIT: Duration = Duration::from_secs(120);

/// Hubs on one store, in the order they were started: the first writes.
struct Hubs {
    procs: Vec<ServerProc>,
    servers: Vec<Server>,
}

impl Drop for Hubs {
    /// The gateways go first and the writer last: a gateway that outlived the writer would take
    /// the store over, and the next measurement's writer would have to wait for its lock.
    fn drop(&mut self) {
        while let Some(p) = self.procs.pop() {
            drop(p);
        }
    }
}

impl Hubs {
    /// Start `n` hubs on `env`'s store: the first as a writer, then the others with
    /// `--standby`, each once `/healthz` says it writes (the first) or forwards to the first
    /// and follows the log.
    fn start(env: &mut Env, pinning: Pinning, n: usize) -> anyhow::Result<Hubs> {
        anyhow::ensure!(
            env.store.is_some(),
            "several hubs need a shared store (--store postgres://…)"
        );
        let base = env.work.clone();
        let mut hubs = Hubs {
            procs: Vec::with_capacity(n),
            servers: Vec::with_capacity(n),
        };
        for i in 0..n {
            let extra: &[&str] = if i == 0 { &[] } else { &["--standby"] };
            let (server, proc_) = env.hub_in(pinning, &base, extra)?;
            let mut proc_ = proc_.context("several hubs need hub processes on this machine")?;
            match hubs.servers.first() {
                None => wait_for(&mut proc_, "that it writes", |h| h["role"] == "writer")?,
                Some(writer) => {
                    // And that it has read the log: a standby that still replays it (every
                    // earlier measurement's facts) would take the writer's core meanwhile.
                    let writer = writer.url.as_str();
                    let what = format!("that it forwards to {writer} and follows the log");
                    wait_for(&mut proc_, &what, |h| {
                        h["role"] == "gateway"
                            && h["writer"] == writer
                            && h["standby"] == "following"
                    })?
                }
            }
            hubs.procs.push(proc_);
            hubs.servers.push(server);
        }
        Ok(hubs)
    }

    /// The hub workers connect to, and where customers connect when that is another hub:
    /// customers on the last hub, workers on the one before it (one hub: both on it). The
    /// server's process is the writer's, whatever hub the workers are on: the CPU time per
    /// line is read from the hub that every line goes through.
    fn layout(&self) -> (Server, Option<String>) {
        let n = self.servers.len();
        let mut workers = self.servers[n.saturating_sub(2)].clone();
        workers.pid = self.servers[0].pid;
        let customers = (n >= 2).then(|| self.servers[n - 1].url.clone());
        (workers, customers)
    }

    /// Every hub still runs (one that exited says why in its log).
    fn check_alive(&mut self) -> anyhow::Result<()> {
        self.procs.iter_mut().try_for_each(ServerProc::check_alive)
    }

    fn commands(&self, results: &mut Results) {
        for p in &self.procs {
            results.command(p.command.clone());
        }
    }
}

/// Wait until the hub's `/healthz` satisfies `ready`; `what` says what it was to report.
fn wait_for(
    hub: &mut ServerProc,
    what: &str,
    ready: impl Fn(&Value) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY_WAIT;
    loop {
        hub.check_alive()?;
        let health = healthz(&hub.url);
        if health.as_ref().is_some_and(&ready) {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "the hub at {} did not say {what} within {} s (its last /healthz: {}): {}",
                hub.url,
                READY_WAIT.as_secs(),
                health.map_or_else(|| "no answer".to_string(), |h| h.to_string()),
                hub.log_tail()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `GET /healthz` on a hub at `ws://HOST:PORT` (no TLS, as the bench starts them): its JSON,
/// or `None` when it does not answer 200 with JSON.
fn healthz(url: &str) -> Option<Value> {
    let authority = url.strip_prefix("ws://")?.split('/').next()?;
    let mut stream = TcpStream::connect(authority).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?;
    (status == "200").then(|| serde_json::from_str(body).ok())?
}

/// The scenario: every count of hubs, then the single SQLite hub. Failures become notes.
pub(super) fn hubs(plan: &Plan, env: &mut Env, results: &mut Results, pinning: Pinning) {
    if env.remote.is_some() || env.store.is_none() {
        results.note(
            "Several hubs were not measured: they need a shared PostgreSQL store, which the \
             bench starts its own hubs on only with --store postgres://… (and not with --hub)."
                .into(),
        );
        return;
    }
    let workers = plan
        .workers
        .first()
        .copied()
        .unwrap_or(100)
        .min(env.worker_tokens().len());
    let mut used = 0;
    let mut out = HubsResults {
        pinning: Some(pinning),
        pairs: plan.pairs,
        window: plan.window,
        workers,
        rate: plan.rate,
        ..HubsResults::default()
    };
    for n in HUB_COUNTS {
        let mut row = HubsRow {
            hubs: n,
            ..HubsRow::default()
        };
        progress(&format!("several hubs: {n} on the store, relay"));
        let tokens = fresh_tokens(env.worker_tokens(), &mut used, plan.pairs);
        match relay(plan, env, results, pinning, n, tokens) {
            Ok(r) => row.relay = Some(r),
            Err(e) => row.errors.push(format!("relay: {e:#}")),
        }
        progress(&format!("several hubs: {n} on the store, time to offer"));
        let tokens = fresh_tokens(env.worker_tokens(), &mut used, workers);
        match offer(plan, env, results, pinning, n, tokens) {
            Ok(r) => row.offer = Some(r),
            Err(e) => row.errors.push(format!("time to offer: {e:#}")),
        }
        for e in &row.errors {
            progress(&format!("  {n} hub(s), {e}"));
        }
        out.rows.push(row);
    }
    let kills = if plan.quick { 5 } else { 20 };
    progress(&format!(
        "several hubs: failover, the writer of 3 killed {kills} times"
    ));
    let tokens = fresh_tokens(env.worker_tokens(), &mut used, kills);
    match failover(env, results, pinning, kills, &tokens) {
        Ok(times) => out.failover_ms = times,
        Err(e) => {
            progress(&format!("  failed: {e:#}"));
            out.failover_error = Some(format!("{e:#}"));
        }
    }
    progress("several hubs: time to offer on one hub with SQLite, for comparison");
    match sqlite_offer(plan, env, results, pinning, workers) {
        Ok(r) => out.sqlite_offer = Some(r),
        Err(e) => {
            progress(&format!("  failed: {e:#}"));
            out.sqlite_error = Some(format!("{e:#}"));
        }
    }
    results.hubs = Some(out);
}

/// The next `n` worker tokens that no measurement of this scenario has used (from the first
/// again when they run out): what one measurement leaves on the shared store, such as the
/// open conversations of a relay that failed, does not change the next one.
fn fresh_tokens(all: &[String], used: &mut usize, n: usize) -> Vec<String> {
    let n = n.min(all.len());
    if *used + n > all.len() {
        *used = 0;
    }
    let tokens = all[*used..*used + n].to_vec();
    *used += n;
    tokens
}

fn relay(
    plan: &Plan,
    env: &mut Env,
    results: &mut Results,
    pinning: Pinning,
    n: usize,
    workers: Vec<String>,
) -> anyhow::Result<RelayResult> {
    let mut hubs = Hubs::start(env, pinning, n)?;
    hubs.commands(results);
    let (server, customer_url) = hubs.layout();
    let rates = Rates::OfMax(vec![0.5], vec![HUBS_RELAY_RATE]);
    let job = Job::Relay(RelayJob {
        customer_url,
        ..relay_job(plan, server, 0, rates, workers, Vec::new())
    });
    let name = env.next(&format!("relay-{n}-hubs"));
    let loadgen = env.loadgen(pinning);
    results.command(loadgen.words(&name));
    let result = loadgen.run(&job, &name);
    hubs.check_alive()?;
    expect_relay(result?)
}

fn offer(
    plan: &Plan,
    env: &mut Env,
    results: &mut Results,
    pinning: Pinning,
    n: usize,
    tokens: Vec<String>,
) -> anyhow::Result<OfferResult> {
    let mut hubs = Hubs::start(env, pinning, n)?;
    hubs.commands(results);
    let (server, customer_url) = hubs.layout();
    let workers = tokens.len();
    let job = offer_job(plan, server, tokens, workers, customer_url);
    let name = env.next(&format!("offer-{n}-hubs"));
    let result = env.loadgen(pinning).run(&job, &name);
    hubs.check_alive()?;
    expect_offer(result?)
}

/// Three hubs, the standbys following the log; `kills` times: SIGKILL the writer, and time
/// until the next offer reaches a worker (a new worker and a new customer who asks for a person, on the hubs left, as soon as
/// one of them says it writes); then start the killed hub again as a standby. Milliseconds.
fn failover(
    env: &mut Env,
    results: &mut Results,
    pinning: Pinning,
    kills: usize,
    tokens: &[String],
) -> anyhow::Result<Vec<u64>> {
    anyhow::ensure!(!tokens.is_empty(), "no worker tokens");
    let mut hubs = Hubs::start(env, pinning, 3)?;
    hubs.commands(results);
    // Standbys ready to take over: they have read the log and follow it.
    for i in 1..hubs.procs.len() {
        wait_for(&mut hubs.procs[i], "that it follows the log", |h| {
            h["standby"] == "following"
        })?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let base = env.work.clone();
    let mut writer = 0;
    let mut times = Vec::with_capacity(kills);
    for kill in 0..kills {
        let killed = Instant::now();
        hubs.procs[writer].kill();
        let left: Vec<usize> = (0..hubs.procs.len()).filter(|i| *i != writer).collect();
        let deadline = killed + READY_WAIT;
        let next = loop {
            if let Some(&i) = left
                .iter()
                .find(|&&i| healthz(&hubs.servers[i].url).is_some_and(|h| h["role"] == "writer"))
            {
                break i;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "no hub took the store over within {} s of kill {}",
                READY_WAIT.as_secs(),
                kill + 1
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        let took_over = killed.elapsed();
        let other = left.iter().copied().find(|i| *i != next).unwrap_or(next);
        let token = &tokens[kill % tokens.len()];
        runtime
            .block_on(next_offer(
                &hubs.servers[other].url,
                &hubs.servers[next].url,
                token,
            ))
            .with_context(|| format!("the offer after kill {}", kill + 1))?;
        times.push(killed.elapsed().as_millis() as u64);
        progress(&format!(
            "  kill {}: a hub wrote after {} ms, the next offer after {} ms",
            kill + 1,
            took_over.as_millis(),
            killed.elapsed().as_millis()
        ));
        // Back as a standby, in the killed one's place.
        let (server, proc_) = env.hub_in(pinning, &base, &["--standby"])?;
        let mut proc_ = proc_.context("a hub process")?;
        let writer_url = hubs.servers[next].url.clone();
        wait_for(&mut proc_, "that it forwards and follows the log", |h| {
            h["role"] == "gateway"
                && h["writer"] == writer_url.as_str()
                && h["standby"] == "following"
        })?;
        results.command(proc_.command.clone());
        hubs.procs[writer] = proc_;
        hubs.servers[writer] = server;
        writer = next;
    }
    Ok(times)
}

/// A worker on `worker_hub` goes available, a customer on `customer_hub` asks for a person:
/// returns once the worker has an offer (this customer's, or one still waiting from before).
async fn next_offer(worker_hub: &str, customer_hub: &str, token: &str) -> anyhow::Result<()> {
    use futures_util::SinkExt;
    use shiftdesk_protocol::{WorkerCommand, WorkerStatus};
    let (mut worker, _) = crate::hubload::HubWorker::login(
        worker_hub,
        token,
        None,
        shiftdesk_client::StreamCursor::default(),
    )
    .await?;
    // Not `command`: the offer may come before the acknowledgement, which `command` would
    // wait for, passing over the offer.
    worker
        .send_command(WorkerCommand::SetStatus {
            status: WorkerStatus::Available,
        })
        .await?;
    let url = shiftdesk_client::endpoint_url(customer_hub, "/ws/customer")?;
    let (mut customer, _) = tokio_tungstenite::connect_async(url).await?;
    for frame in [
        serde_json::json!({"type": "start", "id": "f1", "protocol": 1, "name": "Failover", "lang": "en"}),
        serde_json::json!({"type": "message", "id": "f2", "text": "I want to talk to a person"}),
    ] {
        customer
            .send(tokio_tungstenite::tungstenite::Message::Text(
                frame.to_string().into(),
            ))
            .await?;
    }
    loop {
        let v = worker.next_timeout(READY_WAIT).await?;
        if v["type"] == "offer" {
            return Ok(());
        }
    }
}

/// The same time-to-offer job on one hub with a copy of the SQLite template, in this run.
fn sqlite_offer(
    plan: &Plan,
    env: &mut Env,
    results: &mut Results,
    pinning: Pinning,
    workers: usize,
) -> anyhow::Result<OfferResult> {
    let store = env.store.take();
    let started = env.hub(pinning);
    env.store = store;
    let (server, hub) = started?;
    let mut hub = hub.context("the SQLite comparison needs a hub process on this machine")?;
    results.command(hub.command.clone());
    let tokens = env.worker_tokens()[..workers].to_vec();
    let job = offer_job(plan, server, tokens, workers, None);
    let name = env.next("offer-sqlite-hub");
    let result = env.loadgen(pinning).run(&job, &name);
    hub.check_alive()?;
    expect_offer(result?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::Target;

    fn hubs(n: usize) -> Hubs {
        Hubs {
            procs: Vec::new(),
            servers: (1..=n)
                .map(|i| Server {
                    target: Target::Hub,
                    url: format!("ws://127.0.0.1:{i}"),
                    pid: Some(i as u32),
                })
                .collect(),
        }
    }

    #[test]
    fn customers_and_workers_are_on_different_hubs_from_two_on() {
        let (workers, customers) = hubs(1).layout();
        assert_eq!(
            (workers.url.as_str(), customers),
            ("ws://127.0.0.1:1", None)
        );
        let (workers, customers) = hubs(2).layout();
        assert_eq!(workers.url, "ws://127.0.0.1:1");
        assert_eq!(customers.as_deref(), Some("ws://127.0.0.1:2"));
        // Three: both sides on gateways; the writer (the first) takes no client.
        let (workers, customers) = hubs(3).layout();
        assert_eq!(workers.url, "ws://127.0.0.1:2");
        assert_eq!(customers.as_deref(), Some("ws://127.0.0.1:3"));
        assert_eq!(workers.pid, Some(1), "CPU time is the writer's");
    }

    #[test]
    fn each_measurement_gets_workers_of_its_own_while_there_are_enough() {
        let all: Vec<String> = (0..5).map(|i| format!("t{i}")).collect();
        let mut used = 0;
        assert_eq!(fresh_tokens(&all, &mut used, 2), ["t0", "t1"]);
        assert_eq!(fresh_tokens(&all, &mut used, 2), ["t2", "t3"]);
        assert_eq!(fresh_tokens(&all, &mut used, 2), ["t0", "t1"]);
        assert_eq!(fresh_tokens(&all, &mut used, 9).len(), 5);
    }

    #[test]
    fn healthz_is_none_when_nothing_listens() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        drop(listener);
        assert!(healthz(&url).is_none());
    }
}
