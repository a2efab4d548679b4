//! Load on the shiftdesk hub over its real protocol (PROTOCOL.md): workers that log in, take or
//! refuse offers and resume after a drop; customers that ask for a person.
//!
//! Connections open and log in with the client's `connect_with` and `log_in` (the console's
//! handshake, resume cursor included), and send protocol types; after that each one drives its
//! own socket, so that what is measured is the hub and the wire, not a session task per worker.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use rand::Rng;
use serde_json::Value;
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;

use super::conn::{self, Codec, Conn, IdSource};
use super::jobs::{OfferJob, OfferResult, OfferRun, RelayJob, StormJob, StormResult, StormRun};
use super::procs::{cpu_seconds, self_cpu_seconds};
use super::stats::{self, Latency, progress};
use super::wire::{self, Tag, Ws};
use shiftdesk_client::StreamCursor;
use shiftdesk_client::customer::CustomerDialect;
use shiftdesk_client::session::log_in;
use shiftdesk_client::worker::WorkerDialect;
use shiftdesk_protocol::{
    CustomerCommand, CustomerEvent, CustomerFrame, Lang, WorkerCommand, WorkerEvent, WorkerFrame,
    WorkerStatus,
};

/// How long setup steps may wait for the hub's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// A logged-in worker or supervisor connection that checks its stream's `seq`.
pub struct HubWorker {
    pub ws: Ws,
    pub token: String,
    /// The stream and the highest `seq` processed (what a resume sends).
    pub cursor: StreamCursor,
    pub gaps: u64,
    pub duplicates: u64,
    ids: IdSource,
}

impl HubWorker {
    /// Connect and log in with the client's handshake (resuming from `cursor`); returns after
    /// `welcome`, with whether the hub resumed the stream.
    pub async fn login(
        url: &str,
        token: &str,
        source: Option<Ipv4Addr>,
        mut cursor: StreamCursor,
    ) -> anyhow::Result<(HubWorker, bool)> {
        let mut ws =
            wire::connect(&shiftdesk_client::endpoint_url(url, "/ws/worker")?, source).await?;
        let welcome = tokio::time::timeout(
            ANSWER_TIMEOUT,
            log_in(&mut ws, &mut WorkerDialect::new(token), &mut cursor),
        )
        .await
        .context("no `welcome` in time")?
        .map_err(|e| anyhow::anyhow!("the hub refused the login: {e}"))?;
        let resumed = matches!(welcome, WorkerEvent::Welcome { resumed: true, .. });
        let worker = HubWorker {
            ws,
            token: token.to_string(),
            cursor,
            gaps: 0,
            duplicates: 0,
            ids: IdSource::new("b"),
        };
        Ok((worker, resumed))
    }

    pub async fn send(&mut self, frame: &WorkerFrame) -> anyhow::Result<()> {
        self.ws.send(conn::encode(frame)).await?;
        Ok(())
    }

    /// Send `command` with a fresh id.
    pub async fn send_command(&mut self, command: WorkerCommand) -> anyhow::Result<()> {
        let frame = self.ids.worker(command);
        self.send(&frame).await
    }

    /// The next frame, with `seq` checked: a jump is a gap, a repeat a duplicate.
    pub async fn next(&mut self) -> anyhow::Result<Value> {
        loop {
            let msg = self
                .ws
                .next()
                .await
                .context("the hub closed the connection")??;
            let text = match msg {
                Message::Text(t) => t,
                Message::Close(c) => anyhow::bail!("the hub closed the connection: {c:?}"),
                _ => continue,
            };
            let v: Value = serde_json::from_str(text.as_str()).context("the hub sent bad JSON")?;
            let seq = v["seq"].as_u64().unwrap_or(0);
            if seq > 0 {
                if self.cursor.is_gap(seq) {
                    self.gaps += seq - self.cursor.last_seq() - 1;
                }
                if !self.cursor.accept(seq) {
                    self.duplicates += 1;
                    continue;
                }
            }
            return Ok(v);
        }
    }

    pub async fn next_timeout(&mut self, limit: Duration) -> anyhow::Result<Value> {
        tokio::time::timeout(limit, self.next())
            .await
            .context("no answer from the hub in time")?
    }

    /// Send a command and wait for its `ack` (an `error` fails).
    pub async fn command(&mut self, command: WorkerCommand) -> anyhow::Result<Value> {
        let frame = self.ids.worker(command);
        self.send(&frame).await?;
        loop {
            let v = self.next_timeout(ANSWER_TIMEOUT).await?;
            if v["id"] == frame.id.as_str() {
                match v["type"].as_str() {
                    Some("ack") => return Ok(v),
                    Some("error") => anyhow::bail!("{} was refused: {}", frame.command.name(), v),
                    _ => {}
                }
            }
        }
    }
}

/// Log in every token (128 at a time), optionally going `available`; in token order.
pub async fn login_many(
    url: &str,
    tokens: &[String],
    sources: &[Ipv4Addr],
    available: bool,
) -> anyhow::Result<Vec<HubWorker>> {
    let limit = Arc::new(Semaphore::new(128));
    let done = Arc::new(AtomicUsize::new(0));
    let total = tokens.len();
    let mut handles = Vec::with_capacity(total);
    for (i, token) in tokens.iter().enumerate() {
        let (url, token, limit, done) =
            (url.to_string(), token.clone(), limit.clone(), done.clone());
        let source = sources.get(i % sources.len().max(1)).copied();
        handles.push(tokio::spawn(async move {
            let _permit = limit.acquire().await?;
            let (mut w, _) =
                HubWorker::login(&url, &token, source, StreamCursor::default()).await?;
            if available {
                w.command(WorkerCommand::SetStatus {
                    status: WorkerStatus::Available,
                })
                .await?;
            }
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if n % 2000 == 0 && n < total {
                progress(&format!("  {n}/{total} workers logged in"));
            }
            anyhow::Ok(w)
        }));
    }
    let mut workers = Vec::with_capacity(total);
    for h in handles {
        workers.push(h.await??);
    }
    Ok(workers)
}

/// Open a customer conversation; returns the socket and the conversation id.
async fn customer(url: &str, source: Option<Ipv4Addr>) -> anyhow::Result<(Ws, String)> {
    let mut ws = wire::connect(
        &shiftdesk_client::endpoint_url(url, "/ws/customer")?,
        source,
    )
    .await?;
    let mut dialect = CustomerDialect::new(Some("Bench Customer".into()), Some(Lang::En));
    let started = tokio::time::timeout(
        ANSWER_TIMEOUT,
        log_in(&mut ws, &mut dialect, &mut StreamCursor::default()),
    )
    .await
    .context("no `started` in time")?
    .map_err(|e| anyhow::anyhow!("the hub refused `start`: {e}"))?;
    match started {
        CustomerEvent::Started { conversation, .. } => Ok((ws, conversation)),
        other => anyhow::bail!("`start` was answered with {other:?}"),
    }
}

/// A customer's frame, ready to send: number `n` of the conversation's one command sequence.
fn customer_frame(n: u64, command: CustomerCommand) -> Message {
    conn::encode(&CustomerFrame::new(format!("m{n}"), command).in_sequence("bench", n))
}

/// What the offer scenario's tasks share.
struct OfferShared {
    /// Conversations that have had their first offer.
    offered: Mutex<HashSet<String>>,
    /// Index 0 is the warm-up; runs start at 1. The tag's phase says which run.
    hists: Vec<Mutex<Histogram<u64>>>,
    first_offers: Vec<AtomicU64>,
    accepted: Vec<AtomicU64>,
    declined: Vec<AtomicU64>,
    timed_out: Vec<AtomicU64>,
    resolved: Vec<AtomicU64>,
    errors: Vec<AtomicU64>,
    current: AtomicUsize,
    decline_pct: u32,
    timeout_pct: u32,
    hold: Duration,
}

fn bump(counters: &[AtomicU64], run: usize) {
    if let Some(c) = counters.get(run) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// Time to offer on the hub.
pub async fn offer(job: OfferJob) -> anyhow::Result<OfferResult> {
    let t0 = Instant::now();
    let url = job.server.url.clone();
    let customer_url = job.customer_url.clone().unwrap_or_else(|| url.clone());
    let n = job.workers.min(job.tokens.len());
    progress(&format!("  logging in {n} workers"));
    let workers = login_many(&url, &job.tokens[..n], &job.sources, true).await?;
    let setup_s = t0.elapsed().as_secs_f64();
    progress(&format!("  {n} workers available after {setup_s:.1} s"));
    let runs = job.timing.runs.max(1);
    let slots = runs + 1;
    let counters = || (0..slots).map(|_| AtomicU64::new(0)).collect::<Vec<_>>();
    let shared = Arc::new(OfferShared {
        offered: Mutex::new(HashSet::new()),
        hists: (0..slots).map(|_| Mutex::new(stats::histogram())).collect(),
        first_offers: counters(),
        accepted: counters(),
        declined: counters(),
        timed_out: counters(),
        resolved: counters(),
        errors: counters(),
        current: AtomicUsize::new(0),
        decline_pct: job.decline_pct,
        timeout_pct: job.timeout_pct,
        hold: Duration::from_millis(job.hold_ms),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker_tasks: Vec<_> = workers
        .into_iter()
        .map(|w| tokio::spawn(offer_worker(w, shared.clone(), stop_rx.clone())))
        .collect();
    let mut result = OfferResult {
        setup_s,
        ..OfferResult::default()
    };
    let mut customers = Vec::new();
    let source_count = job.sources.len().max(1);
    let mut next_customer = 0usize;
    for run in 0..slots {
        let seconds = if run == 0 {
            job.timing.warmup_s
        } else {
            job.timing.duration_s
        };
        let count = (job.rate * seconds).round() as u64;
        if count == 0 {
            continue;
        }
        shared.current.store(run, Ordering::Relaxed);
        let start = Instant::now() + Duration::from_millis(500);
        let cpu0 = job.server.pid.and_then(cpu_seconds);
        let self0 = self_cpu_seconds();
        for i in 0..count {
            let at = start + Duration::from_secs_f64(i as f64 / job.rate);
            // Open the conversation a little ahead; the clock starts at the scheduled send.
            tokio::time::sleep_until((at - Duration::from_millis(300)).into()).await;
            let source = job.sources.get(next_customer % source_count).copied();
            next_customer += 1;
            let tag = Tag {
                phase: run as u32,
                sender: i as u32,
                sched_us: wire::micros_since_origin(at),
            };
            customers.push(tokio::spawn(offer_customer(
                customer_url.clone(),
                source,
                tag,
                stop_rx.clone(),
            )));
        }
        let end = start + Duration::from_secs_f64(count as f64 / job.rate);
        // Wait for the first offers (the scenario's own offer timeout is short: 1 s).
        let drain_until = end + Duration::from_secs_f64(5.0_f64.max(job.timing.drain_s));
        while Instant::now() < drain_until
            && shared.first_offers[run].load(Ordering::Relaxed) < count
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let cpu1 = job.server.pid.and_then(cpu_seconds);
        let self1 = self_cpu_seconds();
        if run == 0 {
            progress("  warm-up done");
            continue;
        }
        let latency = shared.hists[run]
            .lock()
            .map(|h| Latency::of(&h))
            .unwrap_or_default();
        let got = |c: &[AtomicU64]| c[run].load(Ordering::Relaxed);
        let r = OfferRun {
            latency,
            scheduled: count,
            missing: count.saturating_sub(got(&shared.first_offers)),
            accepted: got(&shared.accepted),
            declined: got(&shared.declined),
            timed_out: got(&shared.timed_out),
            resolved: got(&shared.resolved),
            errors: got(&shared.errors),
            server_cpu_s: cpu0.zip(cpu1).map(|(a, b)| b - a),
            loadgen_cpu_s: self1.unwrap_or(0.0) - self0.unwrap_or(0.0),
            wall_s: (Instant::now() - start).as_secs_f64(),
        };
        progress(&format!(
            "  run {run}: {} conversations, first offer p50 {} ms, p99 {} ms, p99.9 {} ms ({} missing)",
            count,
            stats::ms(r.latency.p50_us),
            stats::ms(r.latency.p99_us),
            stats::ms(r.latency.p999_us),
            r.missing
        ));
        result.runs.push(r);
    }
    // Let accepted conversations resolve, then stop everyone (customers leave).
    tokio::time::sleep(shared.hold + Duration::from_millis(200)).await;
    let _ = stop_tx.send(true);
    for c in customers {
        let _ = c.await;
    }
    for w in worker_tasks {
        let _ = w.await;
    }
    result.median = Latency::median(&result.runs.iter().map(|r| r.latency).collect::<Vec<_>>());
    Ok(result)
}

/// A worker in the offer scenario: accepts, declines or lets offers expire; resolves accepted
/// conversations after `hold`.
async fn offer_worker(mut w: HubWorker, shared: Arc<OfferShared>, mut stop: watch::Receiver<bool>) {
    let mut resolves: std::collections::VecDeque<(Instant, String)> = Default::default();
    loop {
        let next_resolve = resolves.front().map(|(at, _)| *at);
        tokio::select! {
            _ = stop.changed() => break,
            _ = async { if let Some(at) = next_resolve { tokio::time::sleep_until(at.into()).await } }, if next_resolve.is_some() => {
                if let Some((_, conversation)) = resolves.pop_front()
                    && w.send_command(WorkerCommand::Resolve { conversation }).await.is_err()
                {
                    break;
                }
            }
            v = w.next() => {
                let Ok(v) = v else { break };
                let run = shared.current.load(Ordering::Relaxed);
                match v["type"].as_str() {
                    Some("offer") => {
                        let conversation = v["conversation"].as_str().unwrap_or_default().to_string();
                        let preview = v["preview"].as_str().unwrap_or_default();
                        let tag = wire::tags(preview.as_bytes()).next();
                        let run = tag.map_or(run, |t| t.phase as usize);
                        let first = shared
                            .offered
                            .lock()
                            .map(|mut o| o.insert(conversation.clone()))
                            .unwrap_or(false);
                        if first && let Some(tag) = tag {
                            let waited = Instant::now().saturating_duration_since(wire::at_micros(tag.sched_us));
                            if let Some(h) = shared.hists.get(run)
                                && let Ok(mut h) = h.lock()
                            {
                                stats::record(&mut h, waited.as_micros() as u64);
                            }
                            bump(&shared.first_offers, run);
                        }
                        let roll = rand::rng().random_range(0..100u32);
                        let frame = if roll < shared.timeout_pct {
                            bump(&shared.timed_out, run);
                            None
                        } else if roll < shared.timeout_pct + shared.decline_pct {
                            bump(&shared.declined, run);
                            Some(WorkerCommand::DeclineOffer { conversation, reason: Some("bench".into()) })
                        } else {
                            bump(&shared.accepted, run);
                            resolves.push_back((Instant::now() + shared.hold, conversation.clone()));
                            Some(WorkerCommand::AcceptOffer { conversation })
                        };
                        if let Some(command) = frame
                            && w.send_command(command).await.is_err()
                        {
                            break;
                        }
                    }
                    Some("closed") if v["reason"] == "resolved" => bump(&shared.resolved, run),
                    Some("error") => bump(&shared.errors, run),
                    _ => {}
                }
            }
        }
    }
}

/// A customer in the offer scenario: opens the conversation ahead of time, asks for a person at
/// the scheduled moment, and stays until the conversation is resolved (or leaves at the end).
async fn offer_customer(
    url: String,
    source: Option<Ipv4Addr>,
    tag: Tag,
    mut stop: watch::Receiver<bool>,
) {
    let Ok((mut ws, _conversation)) = customer(&url, source).await else {
        return;
    };
    tokio::time::sleep_until(wire::at_micros(tag.sched_us).into()).await;
    let text = format!("{} I want to talk to a person, please.", tag.text());
    let message = customer_frame(1, CustomerCommand::Message { text });
    if ws.send(message).await.is_err() {
        return;
    }
    let give_up = tokio::time::sleep(Duration::from_secs(60));
    tokio::pin!(give_up);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = &mut give_up => break,
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    if t.as_str().contains(r#""type":"closed""#) {
                        let _ = ws.close(None).await;
                        return;
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            }
        }
    }
    // Still open: leave, so nothing is left in the hub's queue.
    let _ = ws.send(customer_frame(2, CustomerCommand::Leave)).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.next()).await;
    let _ = ws.close(None).await;
}

/// Relay setup: one conversation per worker, each asked for a person, offered and accepted;
/// the worker then goes on break (keeps the conversation, gets no more offers). Supervisors
/// shadow every conversation. Customers connect to `customer_url` when the job names one.
pub async fn relay_setup(job: &RelayJob) -> anyhow::Result<Vec<Conn>> {
    let url = &job.server.url;
    let customer_url = job.customer_url.as_deref().unwrap_or(url);
    let pairs = job.pairs.min(job.worker_tokens.len());
    if pairs == 0 {
        anyhow::bail!("the relay scenario needs at least one worker token");
    }
    if job.supervisor_tokens.len() < job.shadows {
        anyhow::bail!(
            "{} shadows need {} supervisor tokens",
            job.shadows,
            job.shadows
        );
    }
    let src = |i: usize| job.sources.get(i % job.sources.len().max(1)).copied();
    let workers = login_many(url, &job.worker_tokens[..pairs], &job.sources, true).await?;
    // Each worker takes the first offer it gets and goes on break.
    let takers: Vec<_> = workers
        .into_iter()
        .map(|mut w| {
            tokio::spawn(async move {
                let conversation = loop {
                    let v = w.next_timeout(ANSWER_TIMEOUT).await?;
                    if v["type"] == "offer" {
                        let conversation =
                            v["conversation"].as_str().unwrap_or_default().to_string();
                        w.command(WorkerCommand::AcceptOffer {
                            conversation: conversation.clone(),
                        })
                        .await?;
                        break conversation;
                    }
                };
                w.command(WorkerCommand::SetStatus {
                    status: WorkerStatus::Break,
                })
                .await?;
                anyhow::Ok((w, conversation))
            })
        })
        .collect();
    let mut customers = Vec::new();
    for k in 0..pairs {
        let (mut ws, conversation) = customer(customer_url, src(2 * k)).await?;
        let text = "I want to talk to a person, please.".to_string();
        ws.send(customer_frame(1, CustomerCommand::Message { text }))
            .await?;
        // Wait until someone has joined before asking for the next one: the first system
        // line is the queue notice, the second the join notice.
        let mut system_lines = 0;
        while system_lines < 2 {
            let msg = tokio::time::timeout(ANSWER_TIMEOUT, ws.next())
                .await
                .context("nobody accepted the conversation in time")?
                .context("the hub closed the customer connection")??;
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(t.as_str())?;
                if v["type"] == "message" && v["from"] == "system" {
                    system_lines += 1;
                }
            }
        }
        customers.push((ws, conversation));
    }
    let mut owners = std::collections::HashMap::new();
    for t in takers {
        let (w, conversation) = t.await??;
        owners.insert(conversation, w);
    }
    let mut conns = Vec::new();
    for s in 0..job.shadows {
        let token = &job.supervisor_tokens[s];
        let (mut sup, _) = HubWorker::login(url, token, src(s), StreamCursor::default()).await?;
        for (_, conversation) in &customers {
            sup.command(WorkerCommand::Shadow {
                conversation: conversation.clone(),
            })
            .await?;
        }
        conns.push(Conn {
            ws: sup.ws,
            codec: Codec::HubListener,
            sender: None,
            shadow: true,
        });
    }
    for (k, (ws, conversation)) in customers.into_iter().enumerate() {
        let worker = owners
            .remove(&conversation)
            .with_context(|| format!("no worker accepted {conversation}"))?;
        conns.push(Conn {
            ws,
            codec: Codec::HubCustomer {
                ids: IdSource::new("m"),
            },
            sender: Some(2 * k as u32),
            shadow: false,
        });
        conns.push(Conn {
            ws: worker.ws,
            codec: Codec::HubWorker {
                conversation,
                ids: IdSource::new("r"),
            },
            sender: Some(2 * k as u32 + 1),
            shadow: false,
        });
    }
    Ok(conns)
}

/// How long a customer who leaves waits for the hub to confirm it.
const LEAVE_WAIT: Duration = Duration::from_secs(5);

/// Customers leave, and wait for the hub's answer ([`LEAVE_WAIT`] at most), so that no bench
/// conversation stays open. The orchestrator stops the hub as soon as this job ends: on a
/// shared store a `leave` not yet committed left the conversation open, assigned to a worker
/// that the next measurement logs in again, whose login snapshot then carries its whole
/// transcript (tens of thousands of lines) and who has one slot fewer for offers.
pub async fn relay_cleanup(conns: Vec<Conn>) {
    futures_util::future::join_all(conns.into_iter().map(|mut c| async move {
        if let Codec::HubCustomer { ids } = &mut c.codec {
            let leave = ids.customer(CustomerCommand::Leave);
            if c.ws.send(conn::encode(&leave)).await.is_ok() {
                let answered = until_answered(&mut c.ws, &leave.id);
                let _ = tokio::time::timeout(LEAVE_WAIT, answered).await;
            }
        }
        let _ = c.ws.close(None).await;
    }))
    .await;
}

/// Read a customer's socket until the hub answers the command `id` (`ack` or `error`), or
/// closes the conversation or the connection.
async fn until_answered(ws: &mut Ws, id: &str) {
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(text) = msg else { continue };
        let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        let answer = v["id"] == id && matches!(v["type"].as_str(), Some("ack" | "error"));
        if answer || v["type"] == "closed" {
            return;
        }
    }
}

/// The reconnect storm.
pub async fn storm(job: StormJob) -> anyhow::Result<StormResult> {
    let t0 = Instant::now();
    let url = job.server.url.clone();
    let n = job.tokens.len();
    progress(&format!("  logging in {n} workers"));
    let mut workers = login_many(&url, &job.tokens, &job.sources, true).await?;
    let mut result = StormResult {
        setup_s: t0.elapsed().as_secs_f64(),
        ..StormResult::default()
    };
    // Read what login left on the sockets (status, ack), so last_seq is current.
    settle(&mut workers).await;
    let source_count = job.sources.len().max(1);
    for run in 0..job.runs.max(1) {
        let status = if run % 2 == 0 {
            WorkerStatus::Break
        } else {
            WorkerStatus::Available
        };
        let cpu0 = job.server.pid.and_then(cpu_seconds);
        let storm_at = Instant::now();
        // Everyone sends a command and drops the connection without waiting for the answer.
        let mut dropped = Vec::with_capacity(n);
        for mut w in workers.drain(..) {
            let frame = w.ids.worker(WorkerCommand::SetStatus { status });
            let _ = w.send(&frame).await;
            let HubWorker {
                ws, token, cursor, ..
            } = w;
            drop(ws);
            dropped.push((token, cursor, frame));
        }
        let tasks: Vec<_> = dropped
            .into_iter()
            .enumerate()
            .map(|(i, (token, cursor, frame))| {
                let url = url.clone();
                let source = job.sources.get((i + run + 1) % source_count).copied();
                tokio::spawn(async move {
                    tokio::time::timeout(
                        Duration::from_secs(90),
                        resume(url, token, source, cursor, frame),
                    )
                    .await
                })
            })
            .collect();
        let mut times = Vec::with_capacity(n);
        let mut r = StormRun {
            workers: n as u64,
            ..StormRun::default()
        };
        for t in tasks {
            match t.await {
                Ok(Ok(Ok(done))) => {
                    r.gaps += done.worker.gaps;
                    r.duplicates += done.worker.duplicates + done.applied.saturating_sub(1);
                    r.replayed += done.replayed;
                    if done.applied == 0 {
                        r.gaps += 1;
                    }
                    if done.resumed {
                        r.resumed += 1;
                        times.push(done.at.saturating_duration_since(storm_at));
                    } else {
                        r.not_resumed += 1;
                    }
                    workers.push(done.worker);
                }
                _ => r.failed += 1,
            }
        }
        times.sort();
        let at = |q: f64| -> f64 {
            if times.is_empty() {
                return f64::NAN;
            }
            // The time by which a fraction q of *all* workers had resumed (not just those
            // that did): a worker that never came back leaves the high quantiles undefined.
            let k = ((q * n as f64).ceil() as usize).max(1);
            times
                .get(k - 1)
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
        };
        r.t50_ms = at(0.5);
        r.t99_ms = at(0.99);
        r.t100_ms = at(1.0);
        r.server_cpu_s = cpu0
            .zip(job.server.pid.and_then(cpu_seconds))
            .map(|(a, b)| b - a);
        progress(&format!(
            "  storm {}: {} workers, 50% in {:.0} ms, 99% in {:.0} ms, 100% in {:.0} ms; {} gaps, {} duplicates, {} not resumed, {} failed",
            run + 1,
            n,
            r.t50_ms,
            r.t99_ms,
            r.t100_ms,
            r.gaps,
            r.duplicates,
            r.not_resumed,
            r.failed
        ));
        result.runs.push(r);
        settle(&mut workers).await;
    }
    for mut w in workers {
        let _ = w.ws.close(None).await;
    }
    Ok(result)
}

/// Read whatever is already waiting on each socket (all sockets at once, briefly).
async fn settle(workers: &mut [HubWorker]) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    futures_util::future::join_all(workers.iter_mut().map(|w| async move {
        while let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(5), w.next()).await {}
    }))
    .await;
}

struct Resumed {
    worker: HubWorker,
    resumed: bool,
    /// When the re-sent command was answered: the worker is fully back.
    at: Instant,
    /// Non-duplicate acks of the command (must be exactly 1).
    applied: u64,
    replayed: u64,
}

/// Log in again with `resume`, check the replay, re-send the command (same id: the outbox rule)
/// and wait for its answer.
async fn resume(
    url: String,
    token: String,
    source: Option<Ipv4Addr>,
    cursor: StreamCursor,
    frame: WorkerFrame,
) -> anyhow::Result<Resumed> {
    let (mut w, resumed) = HubWorker::login(&url, &token, source, cursor).await?;
    let id = frame.id.as_str();
    w.send(&frame).await?;
    // Answers to this id: (duplicate?, when). If the original reached the hub before the drop,
    // its ack is in the replay and the re-send gets `duplicate: true`; if it did not, the
    // re-send is applied now and gets the only ack.
    let mut acks: Vec<(bool, Instant)> = Vec::new();
    let mut replayed = 0;
    loop {
        let v = if acks.is_empty() {
            w.next_timeout(ANSWER_TIMEOUT).await?
        } else {
            // One non-duplicate ack so far: wait briefly for a second answer.
            match tokio::time::timeout(Duration::from_secs(2), w.next()).await {
                Ok(v) => v?,
                Err(_) => break,
            }
        };
        if v["seq"].as_u64().unwrap_or(0) > 0 {
            replayed += 1;
        }
        if v["id"] == id {
            match v["type"].as_str() {
                Some("ack") => {
                    let duplicate = v["duplicate"] == true;
                    acks.push((duplicate, Instant::now()));
                    if duplicate || acks.len() > 1 {
                        break;
                    }
                }
                Some("error") => anyhow::bail!("the re-sent command was refused: {v}"),
                _ => {}
            }
        }
    }
    let applied = acks.iter().filter(|(dup, _)| !dup).count() as u64;
    let at = acks.last().map_or_else(Instant::now, |(_, at)| *at);
    Ok(Resumed {
        worker: w,
        resumed,
        at,
        applied,
        replayed,
    })
}
