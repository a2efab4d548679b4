//! The relay driver: connections that send tagged lines on an open-loop schedule (or as fast
//! as a window allows) and record, on the receiving side, the time from the *scheduled* send.
//!
//! The same driver loads the hub, the floor (P0) and NATS (P1); only the framing differs
//! ([`super::conn::Codec`]) and how the connections are set up (hub: log in and accept conversations;
//! floor: `hello`; NATS: `CONNECT` and `SUB`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::sync::{Notify, Semaphore};

use super::conn::Conn;
use super::jobs::{
    IdleJob, OfferJob, OfferResult, OfferRun, Rates, RelayJob, RelayLevel, RelayResult, RelayRun,
    Target, Timing,
};
use super::procs::{cpu_seconds, self_cpu_seconds};
use super::stats::progress;
use super::stats::{self, Latency};
use super::wire::{self, Tag, Ws};
use super::{floor, hubload, nats};

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Every sender keeps `window` lines in flight.
    Closed { window: u64 },
    /// All senders together send `rate` lines per second, evenly spaced.
    Open { rate: f64 },
}

struct Phase {
    id: u32,
    mode: Mode,
    senders: u64,
    start: Instant,
    measure_from: Instant,
    send_until: Instant,
    recv_until: Instant,
    /// Lines delivered per sender (closed loop), and a wake-up for each.
    delivered: Vec<AtomicU64>,
    wake: Vec<Notify>,
}

impl Phase {
    fn measured(&self, sched_us: u64) -> bool {
        let t = wire::at_micros(sched_us);
        t >= self.measure_from && t < self.send_until
    }
}

#[derive(Default)]
struct Outcome {
    hist: Option<Histogram<u64>>,
    received: u64,
    shadow_received: u64,
    sent: u64,
    error: Option<String>,
}

async fn run_conn(mut conn: Conn, phase: Arc<Phase>) -> (Conn, Outcome) {
    let mut out = Outcome::default();
    let mut hist = stats::histogram();
    let mut k: u64 = 0;
    let mut sent: u64 = 0;
    loop {
        let now = Instant::now();
        if now >= phase.recv_until {
            break;
        }
        let next_send = match (conn.sender, phase.mode) {
            (Some(j), Mode::Open { rate }) => {
                let at = phase.start
                    + Duration::from_secs_f64((k * phase.senders + u64::from(j)) as f64 / rate);
                (at < phase.send_until).then_some(at)
            }
            (Some(j), Mode::Closed { window }) => {
                let delivered = phase.delivered[j as usize].load(Ordering::Acquire);
                (now < phase.send_until && sent.saturating_sub(delivered) < window).then_some(now)
            }
            (None, _) => None,
        };
        let waiting_for_window = matches!(phase.mode, Mode::Closed { .. })
            && conn.sender.is_some()
            && next_send.is_none()
            && now < phase.send_until;
        // A line already due leaves at once. Through the timer it would wait for the next of
        // its 1 ms ticks, which held every sender to one line per millisecond: the floor and NATS
        // stopped at 21,000-26,000 lines/s with most of a core idle.
        if let (Some(j), Some(sched)) = (conn.sender, next_send)
            && sched <= now
        {
            k += 1;
            sent += 1;
            if let Err(e) = send_line(&mut conn, &phase, j, sched, &mut out).await {
                out.error = Some(e);
                break;
            }
            continue;
        }
        let wake = conn.sender.map(|j| phase.wake[j as usize].notified());
        tokio::select! {
            biased;
            _ = sleep_until_opt(next_send), if next_send.is_some() => {
                let (Some(j), Some(sched)) = (conn.sender, next_send) else { continue };
                k += 1;
                sent += 1;
                if let Err(e) = send_line(&mut conn, &phase, j, sched, &mut out).await {
                    out.error = Some(e);
                    break;
                }
            }
            msg = conn.ws.next() => {
                let msg = match msg {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => { out.error = Some(format!("connection failed: {e}")); break; }
                    None => { out.error = Some("connection closed by the server".into()); break; }
                };
                let received_at = Instant::now();
                let me = conn.sender;
                let shadow = conn.shadow;
                let reply = conn.codec.scan(&msg, |tag| {
                    if tag.phase != phase.id || Some(tag.sender) == me {
                        return;
                    }
                    if shadow {
                        if phase.measured(tag.sched_us) {
                            out.shadow_received += 1;
                        }
                        return;
                    }
                    if phase.measured(tag.sched_us) {
                        let sched = wire::at_micros(tag.sched_us);
                        stats::record(&mut hist, received_at.saturating_duration_since(sched).as_micros() as u64);
                        out.received += 1;
                    }
                    if let Some(d) = phase.delivered.get(tag.sender as usize) {
                        d.fetch_add(1, Ordering::AcqRel);
                        phase.wake[tag.sender as usize].notify_one();
                    }
                });
                if let Some(reply) = reply
                    && conn.ws.send(reply).await.is_err()
                {
                    break;
                }
            }
            _ = async { if let Some(w) = wake { w.await } }, if waiting_for_window => {}
            _ = tokio::time::sleep_until(phase.recv_until.into()) => break,
        }
    }
    out.hist = Some(hist);
    (conn, out)
}

/// Send sender `j`'s line scheduled for `sched`.
async fn send_line(
    conn: &mut Conn,
    phase: &Phase,
    j: u32,
    sched: Instant,
    out: &mut Outcome,
) -> Result<(), String> {
    let tag = Tag {
        phase: phase.id,
        sender: j,
        sched_us: wire::micros_since_origin(sched),
    };
    if phase.measured(tag.sched_us) {
        out.sent += 1;
    }
    let frame = conn.codec.encode(tag);
    conn.ws
        .send(frame)
        .await
        .map_err(|e| format!("send failed: {e}"))
}

async fn sleep_until_opt(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}

/// Run one phase on every connection; returns the connections and the merged outcome.
async fn run_phase(
    conns: Vec<Conn>,
    id: u32,
    mode: Mode,
    lead: Duration,
    duration: Duration,
    drain: Duration,
    server_pid: Option<u32>,
) -> anyhow::Result<(Vec<Conn>, RelayRun)> {
    let senders = conns
        .iter()
        .filter_map(|c| c.sender)
        .max()
        .map_or(0, |m| m + 1);
    let start = Instant::now() + Duration::from_millis(20);
    let measure_from = start + lead;
    let send_until = measure_from + duration;
    let phase = Arc::new(Phase {
        id,
        mode,
        senders: u64::from(senders),
        start,
        measure_from,
        send_until,
        recv_until: send_until + drain,
        delivered: (0..senders).map(|_| AtomicU64::new(0)).collect(),
        wake: (0..senders).map(|_| Notify::new()).collect(),
    });
    let handles: Vec<_> = conns
        .into_iter()
        .map(|c| tokio::spawn(run_conn(c, phase.clone())))
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu0 = server_pid.and_then(cpu_seconds);
    let self0 = self_cpu_seconds();
    tokio::time::sleep_until(send_until.into()).await;
    let cpu1 = server_pid.and_then(cpu_seconds);
    let self1 = self_cpu_seconds();
    let mut conns = Vec::with_capacity(handles.len());
    let mut hist = stats::histogram();
    let mut run = RelayRun::default();
    let mut errors = Vec::new();
    for h in handles {
        let (conn, out) = h.await.context("a connection task failed")?;
        conns.push(conn);
        if let Some(h) = &out.hist {
            stats::merge(&mut hist, h);
        }
        run.sent += out.sent;
        run.received += out.received;
        run.shadow_received += out.shadow_received;
        if let Some(e) = out.error {
            errors.push(e);
        }
    }
    if let Some(e) = errors.first() {
        anyhow::bail!(
            "{} connection(s) failed during the run, first: {e}",
            errors.len()
        );
    }
    run.latency = Latency::of(&hist);
    run.wall_s = duration.as_secs_f64();
    run.throughput = run.received as f64 / run.wall_s;
    run.server_cpu_s = cpu0.zip(cpu1).map(|(a, b)| b - a);
    run.loadgen_cpu_s = self1.unwrap_or(0.0) - self0.unwrap_or(0.0);
    Ok((conns, run))
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// `runs` measured runs of one mode; the first gets the warm-up as its lead-in.
async fn level(
    mut conns: Vec<Conn>,
    phase: &mut u32,
    mode: Mode,
    timing: Timing,
    warm: bool,
    pid: Option<u32>,
    label: &str,
) -> anyhow::Result<(Vec<Conn>, RelayLevel)> {
    let mut level = RelayLevel {
        rate: match mode {
            Mode::Open { rate } => rate,
            Mode::Closed { .. } => 0.0,
        },
        ..RelayLevel::default()
    };
    for r in 0..timing.runs.max(1) {
        *phase += 1;
        let lead = if warm && r == 0 {
            secs(timing.warmup_s)
        } else {
            Duration::from_millis(300)
        };
        let (c, run) = run_phase(
            conns,
            *phase,
            mode,
            lead,
            secs(timing.duration_s),
            secs(timing.drain_s),
            pid,
        )
        .await?;
        conns = c;
        // The server's CPU per relayed line: steadier from run to run than the tail. /proc counts
        // CPU in 10 ms ticks, so a run that used less than a second of it is not worth dividing.
        let cpu = run
            .server_cpu_s
            .filter(|&s| s >= 1.0 && run.received > 0)
            .map(|s| format!(", {:.1} µs CPU per line", s * 1e6 / run.received as f64))
            .unwrap_or_default();
        progress(&format!(
            "  {label} run {}: {:.0} lines/s, p50 {} ms, p99 {} ms ({} sent, {} received{cpu})",
            r + 1,
            run.throughput,
            stats::ms(run.latency.p50_us),
            stats::ms(run.latency.p99_us),
            run.sent,
            run.received
        ));
        level.runs.push(run);
    }
    level.median = Latency::median(&level.runs.iter().map(|r| r.latency).collect::<Vec<_>>());
    level.achieved = stats::median_f64(level.runs.iter().map(|r| r.throughput).collect());
    Ok((conns, level))
}

/// The relay scenario, for any target.
pub async fn relay(job: RelayJob) -> anyhow::Result<RelayResult> {
    let conns = match job.server.target {
        Target::Hub => hubload::relay_setup(&job).await?,
        Target::Floor => floor::relay_setup(&job).await?,
        Target::Nats => nats::relay_setup(&job).await?,
    };
    let pid = job.server.pid;
    let mut phase = 0;
    let label = format!(
        "{} relay, {} shadow(s)",
        job.server.target.label(),
        job.shadows
    );
    let (mut conns, max) = if job.open_only {
        (conns, RelayLevel::default())
    } else {
        level(
            conns,
            &mut phase,
            Mode::Closed {
                window: job.window.max(1) as u64,
            },
            job.timing,
            true,
            pid,
            &format!("{label}, max"),
        )
        .await?
    };
    let rates: Vec<f64> = match &job.rates {
        Rates::OfMax(fractions, then) => fractions
            .iter()
            .map(|f| f * max.achieved)
            .chain(then.iter().copied().filter(|r| *r < max.achieved))
            .collect(),
        Rates::Fixed(rates) => rates.clone(),
    };
    let mut levels = Vec::new();
    for rate in rates {
        if rate <= 0.0 {
            continue;
        }
        let (c, l) = level(
            conns,
            &mut phase,
            Mode::Open { rate },
            job.timing,
            // Without the maximum first, the first level warms up.
            job.open_only && levels.is_empty(),
            pid,
            &format!("{label}, {rate:.0}/s"),
        )
        .await?;
        conns = c;
        levels.push(l);
    }
    if job.server.target == Target::Hub {
        hubload::relay_cleanup(conns).await;
    }
    Ok(RelayResult { max, levels })
}

/// Offer-like one hop on the floor and NATS: customers' lines go to one of `workers`
/// connections, chosen by the server (round robin; a NATS queue group).
pub async fn offer_like(job: OfferJob) -> anyhow::Result<OfferResult> {
    let t0 = Instant::now();
    let customers = 16.min(job.workers.max(1));
    let conns = match job.server.target {
        Target::Floor => floor::offer_setup(&job, customers).await?,
        Target::Nats => nats::offer_setup(&job, customers).await?,
        Target::Hub => anyhow::bail!("the hub's time to offer is measured by hubload::offer"),
    };
    let setup_s = t0.elapsed().as_secs_f64();
    let mut phase = 0;
    let label = format!(
        "{} offer-like, {} workers",
        job.server.target.label(),
        job.workers
    );
    let (_conns, level) = level(
        conns,
        &mut phase,
        Mode::Open { rate: job.rate },
        job.timing,
        true,
        job.server.pid,
        &label,
    )
    .await?;
    let runs: Vec<OfferRun> = level
        .runs
        .iter()
        .map(|r| OfferRun {
            latency: r.latency,
            scheduled: r.sent,
            missing: r.sent.saturating_sub(r.received),
            server_cpu_s: r.server_cpu_s,
            loadgen_cpu_s: r.loadgen_cpu_s,
            wall_s: r.wall_s,
            ..OfferRun::default()
        })
        .collect();
    Ok(OfferResult {
        median: level.median,
        runs,
        setup_s,
    })
}

/// Idle connections for the memory ramp. They stay open as long as the returned value lives.
pub async fn idle(job: IdleJob) -> anyhow::Result<Vec<IdleConn>> {
    match job.server.target {
        Target::Hub => Ok(
            hubload::login_many(&job.server.url, &job.tokens, &job.sources, true)
                .await?
                .into_iter()
                .map(IdleConn::Hub)
                .collect(),
        ),
        Target::Floor | Target::Nats => {
            let limit = Arc::new(Semaphore::new(128));
            let mut handles = Vec::with_capacity(job.count);
            for i in 0..job.count {
                let limit = limit.clone();
                let url = job.server.url.clone();
                let source = job.sources.get(i % job.sources.len().max(1)).copied();
                let target = job.server.target;
                let name = format!("i{}", job.first + i);
                handles.push(tokio::spawn(async move {
                    let _permit = limit.acquire().await?;
                    match target {
                        Target::Floor => floor::register(&url, source, &name, false).await,
                        _ => nats::subscriber(&url, source, &format!("idle.{name}"), None).await,
                    }
                }));
            }
            let mut conns = Vec::with_capacity(handles.len());
            for h in handles {
                conns.push(IdleConn::Ws(h.await??));
            }
            Ok(conns)
        }
    }
}

/// An idle connection, held open.
pub enum IdleConn {
    Hub(hubload::HubWorker),
    Ws(Ws),
}
