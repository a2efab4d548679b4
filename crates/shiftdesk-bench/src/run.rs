//! The orchestrator: what runs, in which order, in which process, on which core.
//!
//! Every measurement gets fresh server processes (a hub on a copy of a prepared store, a floor,
//! a nats-server) and one load-generator process; the memory ramp adds one load-generator
//! process per step, each on its own 127.0.0.x source address.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::args::{BenchArgs, Scenario};
use super::jobs::{
    IdleJob, Job, JobResult, OfferJob, OfferResult, REALISTIC_RATES, Rates, RelayJob, RelayResult,
    Server, StormJob, Target, Timing,
};
use super::procs::{Loadgen, Pinning, ServerProc};
use super::report::{DiskProbe, MemoryRow, OfferRow, RelayRow, Results, StormRow};

mod callgrind;
mod hubs;
use super::stats::progress;
use super::{nats, stats, wire};
use shiftdesk_hub::store::{Accounts, SqliteStore, hash_token, new_token};
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{Role, WorkerInfo};

/// The read buffer of the tuned floor in the memory ramp and the instruction count (tungstenite's
/// default is 128 KiB; the hub's is 2 KiB).
const TUNED_READ_BUFFER: usize = 4096;

/// Everything the run will do, from the flags.
#[derive(Debug, Clone)]
struct Plan {
    quick: bool,
    workers: Vec<usize>,
    storm_workers: usize,
    idle_workers: usize,
    idle_steps: usize,
    rate: f64,
    timing: Timing,
    /// Seconds per measured run of time to offer (more than the relay's, for enough samples).
    offer_duration_s: f64,
    shadows: Vec<usize>,
    /// Also run the relay against a hub whose log is on tmpfs (a diagnostic, not durable).
    tmpfs_diagnostic: bool,
    pairs: usize,
    window: usize,
    pinnings: Vec<Pinning>,
    scenarios: Vec<Scenario>,
}

impl Plan {
    fn from(args: &BenchArgs) -> Plan {
        let quick = args.quick;
        let workers = if args.workers.is_empty() {
            if quick {
                vec![100]
            } else {
                vec![100, 1_000, 10_000]
            }
        } else {
            args.workers.clone()
        };
        let largest = workers.iter().copied().max().unwrap_or(100);
        let idle_workers = args
            .idle_workers
            .unwrap_or(if quick { 1_000 } else { 15_000 });
        let can_pin = which("taskset").is_some()
            && std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2;
        let pinnings = if args.unpinned || !can_pin {
            vec![Pinning::Unpinned]
        } else if args.pinned || quick {
            vec![Pinning::Pinned]
        } else {
            vec![Pinning::Pinned, Pinning::Unpinned]
        };
        Plan {
            quick,
            storm_workers: args.storm_workers.unwrap_or(largest),
            idle_steps: if quick { 4 } else { 10 },
            idle_workers,
            workers,
            rate: args.rate.unwrap_or(25.0),
            offer_duration_s: args.duration.unwrap_or(if quick { 4.0 } else { 8.0 }),
            tmpfs_diagnostic: !quick && Path::new("/dev/shm").is_dir(),
            timing: Timing {
                warmup_s: if quick { 1.0 } else { 2.0 },
                duration_s: args.duration.unwrap_or(3.0),
                runs: args.runs.unwrap_or(if quick { 1 } else { 3 }),
                drain_s: if quick { 1.0 } else { 1.5 },
            },
            shadows: if quick { vec![0] } else { vec![0, 1, 3] },
            pairs: 16,
            window: usize::from(args.window),
            pinnings,
            scenarios: if args.only.is_empty() {
                let mut all = vec![
                    Scenario::Offer,
                    Scenario::Relay,
                    Scenario::Memory,
                    Scenario::Storm,
                    Scenario::Instructions,
                ];
                // Several hubs need a shared store: only a run on PostgreSQL has one.
                if args.store.is_some() {
                    all.push(Scenario::Hubs);
                }
                all
            } else {
                args.only.clone()
            },
        }
    }

    fn wants(&self, s: Scenario) -> bool {
        self.scenarios.contains(&s)
    }
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Tokens in a prepared store: workers `w00000…` (all six languages, capacity 2) and three
/// supervisors. Each hub gets a copy of the store file.
struct Tokens {
    template: PathBuf,
    workers: Vec<String>,
    supervisors: Vec<String>,
}

fn prepare_store(dir: &Path, workers: usize) -> anyhow::Result<Tokens> {
    let started = Instant::now();
    progress(&format!(
        "preparing a store with {workers} workers and 3 supervisors"
    ));
    let mut store = SqliteStore::open(dir)?;
    let langs = vec![Lang::En, Lang::It, Lang::De, Lang::Nl, Lang::Sv, Lang::Ru];
    let mut add = |id: String, name: String, role: Role| -> anyhow::Result<String> {
        let token = new_token();
        store.add_worker(
            &WorkerInfo {
                id,
                name,
                role,
                languages: langs.clone(),
                skills: vec![],
                capacity: 2,
            },
            &hash_token(&token),
            0,
        )?;
        Ok(token)
    };
    let mut tokens = Tokens {
        template: dir.to_path_buf(),
        workers: Vec::with_capacity(workers),
        supervisors: Vec::new(),
    };
    for i in 0..workers {
        tokens.workers.push(add(
            format!("w{i:05}"),
            format!("Bench Worker {i}"),
            Role::Worker,
        )?);
    }
    for i in 0..3 {
        tokens.supervisors.push(add(
            format!("s{i}"),
            format!("Bench Supervisor {i}"),
            Role::Supervisor,
        )?);
    }
    drop(store);
    progress(&format!(
        "  store ready in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(tokens)
}

/// Copy the prepared SQLite store (its workers) into the empty PostgreSQL store at `url`.
fn copy_to_postgres(template: &Path, url: &str) -> anyhow::Result<()> {
    use shiftdesk_hub::store::{PostgresTarget, postgres::copy_from_sqlite};
    let target = PostgresTarget::parse(url).map_err(|e| anyhow::anyhow!("--store: {e}"))?;
    let source = SqliteStore::open(template)?;
    let copied = copy_from_sqlite(&source, &target, &mut |_, _| {})
        .map_err(|e| anyhow::anyhow!("--store: {e}"))?;
    progress(&format!(
        "  copied {} workers into {}",
        copied.workers,
        target.redacted()
    ));
    Ok(())
}

/// A PostgreSQL URL without its password, for the report.
fn redacted(url: &str) -> String {
    shiftdesk_hub::store::PostgresTarget::parse(url)
        .map(|t| t.redacted().to_string())
        .unwrap_or_else(|_| "(a PostgreSQL store)".into())
}

/// What the orchestrator needs to start things.
struct Env {
    exe: PathBuf,
    work: PathBuf,
    tokens: Option<Tokens>,
    nats: Option<PathBuf>,
    /// `--hub`: the hub to load instead of starting one.
    remote: Option<String>,
    counter: usize,
    /// A program and its arguments to start the next local server under (callgrind).
    wrap: Option<Vec<String>>,
    /// `--store`: the hubs' PostgreSQL store, instead of a copy of the SQLite template each.
    store: Option<String>,
}

impl Env {
    fn next(&mut self, name: &str) -> String {
        self.counter += 1;
        format!("{:02}-{name}", self.counter)
    }

    fn loadgen(&self, pinning: Pinning) -> Loadgen {
        Loadgen {
            exe: self.exe.clone(),
            dir: self.work.clone(),
            pinning,
        }
    }

    /// The program to start with `args`: this one, or under [`Env::wrap`].
    fn wrapped(&self, args: Vec<String>) -> (PathBuf, Vec<String>) {
        match &self.wrap {
            Some(wrap) if !wrap.is_empty() => {
                let mut all: Vec<String> = wrap[1..].to_vec();
                all.push(self.exe.display().to_string());
                all.extend(args);
                (PathBuf::from(&wrap[0]), all)
            }
            _ => (self.exe.clone(), args),
        }
    }

    /// A hub on a fresh copy of the prepared store, or the remote one.
    fn hub(&mut self, pinning: Pinning) -> anyhow::Result<(Server, Option<ServerProc>)> {
        let base = self.work.clone();
        self.hub_in(pinning, &base, &[])
    }

    /// A local hub whose data directory is under `base`, started with `extra` flags after the
    /// bench's own (`--standby` for a second hub on a shared store).
    fn hub_in(
        &mut self,
        pinning: Pinning,
        base: &Path,
        extra: &[&str],
    ) -> anyhow::Result<(Server, Option<ServerProc>)> {
        if let Some(url) = &self.remote {
            return Ok((
                Server {
                    target: Target::Hub,
                    url: url.clone(),
                    pid: None,
                },
                None,
            ));
        }
        let name = self.next("hub");
        let dir = base.join(&name);
        std::fs::create_dir_all(&dir)?;
        let template = &self.tokens.as_ref().context("no prepared store")?.template;
        if self.store.is_none() {
            for file in ["shiftdesk.db", "shiftdesk.db-wal", "shiftdesk.db-shm"] {
                let from = template.join(file);
                if from.exists() {
                    std::fs::copy(&from, dir.join(file))
                        .with_context(|| format!("cannot copy {}", from.display()))?;
                }
            }
        }
        let (store_flag, store) = match &self.store {
            Some(url) => ("--store", url.clone()),
            None => ("--data-dir", dir.display().to_string()),
        };
        let args: Vec<String> = [
            "hub",
            "--listen",
            "127.0.0.1:0",
            store_flag,
            &store,
            "--offer-timeout",
            "1",
            // The load generator's customers write far faster than people: no chat limits.
            "--chat-rate",
            "0",
            "--chat-address-rate",
            "0",
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
        let (program, args) = self.wrapped(args);
        let hub = ServerProc::start(
            &program,
            &args,
            pinning,
            &self.work.join(format!("{name}.log")),
            None,
        )?;
        Ok((
            Server {
                target: Target::Hub,
                url: hub.url.clone(),
                pid: Some(hub.pid),
            },
            Some(hub),
        ))
    }

    fn floor(&mut self, pinning: Pinning) -> anyhow::Result<(Server, ServerProc)> {
        self.floor_with(pinning, None)
    }

    fn floor_with(
        &mut self,
        pinning: Pinning,
        read_buffer: Option<usize>,
    ) -> anyhow::Result<(Server, ServerProc)> {
        let name = self.next("floor");
        let mut args: Vec<String> = ["bench", "--role", "floor", "--listen", "127.0.0.1:0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if let Some(bytes) = read_buffer {
            args.push("--read-buffer".into());
            args.push(bytes.to_string());
        }
        let (program, args) = self.wrapped(args);
        let p = ServerProc::start(
            &program,
            &args,
            pinning,
            &self.work.join(format!("{name}.log")),
            None,
        )?;
        Ok((
            Server {
                target: Target::Floor,
                url: p.url.clone(),
                pid: Some(p.pid),
            },
            p,
        ))
    }

    fn nats(&mut self, pinning: Pinning) -> anyhow::Result<Option<(Server, ServerProc)>> {
        let Some(program) = self.nats.clone() else {
            return Ok(None);
        };
        let name = self.next("nats");
        let p = nats::start(&program, &self.work.join(name), pinning)?;
        Ok(Some((
            Server {
                target: Target::Nats,
                url: p.url.clone(),
                pid: Some(p.pid),
            },
            p,
        )))
    }

    fn worker_tokens(&self) -> &[String] {
        self.tokens.as_ref().map_or(&[], |t| &t.workers)
    }

    fn supervisor_tokens(&self) -> &[String] {
        self.tokens.as_ref().map_or(&[], |t| &t.supervisors)
    }
}

fn read_tokens(args: &BenchArgs) -> anyhow::Result<Vec<String>> {
    let mut tokens = args.tokens.clone();
    if let Some(file) = &args.tokens_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        tokens.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    Ok(tokens)
}

pub fn orchestrate(args: BenchArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut plan = Plan::from(&args);
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let (work, keep) = match &args.data_dir {
        Some(d) => (d.clone(), true),
        None => (
            std::env::temp_dir().join(format!("shiftdesk-bench-{}", std::process::id())),
            false,
        ),
    };
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let nats = nats::find_server(&args.nats_server);
    let mut results = Results::new(plan.quick, &args, &plan_summary(&plan));
    if nats.is_none() {
        results.note(format!(
            "P1 (nats-server) is unavailable: `{}` was not found; its columns say n/a.",
            args.nats_server
        ));
    }
    if plan.pinnings == vec![Pinning::Unpinned] && !args.unpinned {
        results.note(
            "Pinning was not possible here (needs taskset and two CPUs): everything ran unpinned."
                .into(),
        );
    }
    let mut env = Env {
        exe,
        work: work.clone(),
        tokens: None,
        nats,
        remote: args.hub.clone(),
        counter: 0,
        wrap: None,
        store: None,
    };
    if let Some(url) = &args.hub {
        // Operators sizing their own deployment: their tokens, no access to the process.
        let tokens = read_tokens(&args)?;
        if tokens.is_empty() {
            anyhow::bail!(
                "--hub needs worker tokens: --token TOKEN (repeat) or --tokens-file FILE"
            );
        }
        plan.workers.retain(|n| *n <= tokens.len());
        if plan.workers.is_empty() {
            plan.workers = vec![tokens.len()];
        }
        plan.storm_workers = plan.storm_workers.min(tokens.len());
        plan.pairs = plan.pairs.min(tokens.len());
        plan.shadows.retain(|s| *s <= args.supervisor_tokens.len());
        plan.scenarios.retain(|s| *s != Scenario::Memory);
        results.note(format!(
            "Loaded the existing hub at {url} with {} worker tokens: the hub's memory and CPU \
             time need its process on this machine, so the memory ramp and messages per \
             CPU-second are skipped, and pinning applies only to the load generators and the \
             references.",
            tokens.len()
        ));
        env.tokens = Some(Tokens {
            template: PathBuf::new(),
            workers: tokens,
            supervisors: args.supervisor_tokens.clone(),
        });
    } else {
        // Several hubs give each measurement workers of its own (see `hubs::fresh_tokens`).
        let hubs = plan.wants(Scenario::Hubs).then(|| {
            let offer = plan.workers.first().copied().unwrap_or(100);
            crate::report::HUB_COUNTS.len() * (plan.pairs + offer)
        });
        let needed = plan
            .workers
            .iter()
            .copied()
            .chain([plan.storm_workers, plan.idle_workers, plan.pairs])
            .chain(hubs)
            .max()
            .unwrap_or(100);
        let tokens = prepare_store(&work.join("template"), needed)?;
        if let Some(url) = &args.store {
            copy_to_postgres(&tokens.template, url)?;
            results.note(format!(
                "Every hub ran on the PostgreSQL store {} (one at a time, except in the several-hubs \
                 section; the bench's workers copied in once, the history growing from run to \
                 run).",
                redacted(url)
            ));
            env.store = Some(url.clone());
        }
        env.tokens = Some(tokens);
    }
    progress(&format!(
        "shiftdesk bench ({}): {}; work files in {}",
        if plan.quick { "quick" } else { "full" },
        plan_summary(&plan),
        work.display()
    ));

    let load = || {
        std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    results.load.push(load());
    if env.remote.is_none() {
        results.disk.push(disk_probe(&work)?);
    }
    let outcome = run_all(&plan, &mut env, &mut results);
    results.load.push(load());
    if env.remote.is_none() {
        results.disk.push(disk_probe(&work)?);
    }
    if let Err(e) = &outcome {
        results.note(format!("The run stopped early: {e:#}"));
    }
    results.elapsed_s = started.elapsed().as_secs_f64();
    if let Some(out) = &args.out {
        std::fs::write(out, results.markdown())
            .with_context(|| format!("cannot write {}", out.display()))?;
        progress(&format!("wrote {}", out.display()));
    }
    if !keep {
        let _ = std::fs::remove_dir_all(&work);
    }
    outcome?;
    progress(&format!("done in {:.0} s", started.elapsed().as_secs_f64()));
    println!("{}", results.ratios_line());
    Ok(())
}

/// What one durable SQLite commit costs on this disk right now (WAL, `synchronous=FULL`, as
/// the hub's store): the hub's log does one per command, so its throughput follows this.
fn disk_probe(work: &Path) -> anyhow::Result<DiskProbe> {
    let path = work.join("disk-probe.db");
    let _ = std::fs::remove_file(&path);
    let conn = rusqlite::Connection::open(&path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch("CREATE TABLE e (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)")?;
    let body = "x".repeat(300);
    let mut times = Vec::with_capacity(200);
    let started = Instant::now();
    for _ in 0..200 {
        let t = Instant::now();
        conn.execute_batch("BEGIN")?;
        conn.execute("INSERT INTO e (body) VALUES (?1)", [&body])?;
        conn.execute_batch("COMMIT")?;
        times.push(t.elapsed().as_micros() as u64);
    }
    let per_s = 200.0 / started.elapsed().as_secs_f64();
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(work.join(format!("disk-probe.db{suffix}")));
    }
    times.sort_unstable();
    let probe = DiskProbe {
        p50_us: times[times.len() / 2],
        p99_us: times[times.len() * 99 / 100],
        per_s,
    };
    progress(&format!(
        "disk: one durable SQLite commit takes {} ms (p50), {} ms (p99): {:.0} commits/s",
        stats::ms(probe.p50_us),
        stats::ms(probe.p99_us),
        probe.per_s
    ));
    Ok(probe)
}

fn plan_summary(plan: &Plan) -> String {
    format!(
        "offer at {:?} workers and {} conversations/s; relay with {:?} shadows; memory to {} idle workers; storm of {} workers; {} run(s) of {} s; {}",
        plan.workers,
        plan.rate,
        plan.shadows,
        plan.idle_workers,
        plan.storm_workers,
        plan.timing.runs,
        plan.timing.duration_s,
        plan.pinnings
            .iter()
            .map(|p| p.label())
            .collect::<Vec<_>>()
            .join(", then ")
    )
}

fn run_all(plan: &Plan, env: &mut Env, results: &mut Results) -> anyhow::Result<()> {
    for (i, &pinning) in plan.pinnings.iter().enumerate() {
        let primary = i == 0;
        if plan.wants(Scenario::Offer) {
            let counts: Vec<usize> = if primary {
                plan.workers.clone()
            } else {
                plan.workers.iter().copied().take(1).collect()
            };
            for n in counts {
                offer(plan, env, results, pinning, n)?;
            }
        }
        if plan.wants(Scenario::Relay) {
            let shadows: Vec<usize> = if primary {
                plan.shadows.clone()
            } else {
                plan.shadows.iter().copied().take(1).collect()
            };
            for s in shadows {
                relay(plan, env, results, pinning, s)?;
            }
        }
        if primary && plan.wants(Scenario::Memory) && env.remote.is_none() {
            memory(plan, env, results, pinning)?;
        }
        if primary && plan.wants(Scenario::Storm) {
            storm(plan, env, results, pinning)?;
        }
        if primary && plan.wants(Scenario::Hubs) {
            hubs::hubs(plan, env, results, pinning);
        }
        if primary && plan.wants(Scenario::Instructions) && env.remote.is_none() {
            if callgrind::valgrind().is_some() {
                results.instructions = callgrind::instructions(plan, env, pinning)?;
            } else {
                results.note(
                    "Instructions per line were not counted: valgrind is not installed.".into(),
                );
            }
        }
    }
    Ok(())
}

/// Time to offer with `workers` available workers on `server`; customers on `server` too, or
/// on `customer_url` (another hub on the same store).
fn offer_job(
    plan: &Plan,
    server: Server,
    tokens: Vec<String>,
    workers: usize,
    customer_url: Option<String>,
) -> Job {
    Job::Offer(OfferJob {
        server,
        tokens,
        workers,
        rate: plan.rate,
        timing: Timing {
            duration_s: plan.offer_duration_s,
            ..plan.timing
        },
        decline_pct: 20,
        timeout_pct: 5,
        hold_ms: 500,
        sources: wire::sources(2, 8),
        customer_url,
    })
}

/// The relay of `plan.pairs` conversations on `server`, each shadowed by `shadows`
/// supervisors; customers on `server` too unless the caller sets `customer_url`.
fn relay_job(
    plan: &Plan,
    server: Server,
    shadows: usize,
    rates: Rates,
    worker_tokens: Vec<String>,
    supervisor_tokens: Vec<String>,
) -> RelayJob {
    RelayJob {
        server,
        worker_tokens,
        supervisor_tokens,
        pairs: plan.pairs,
        shadows,
        window: plan.window,
        timing: plan.timing,
        rates,
        open_only: false,
        sources: wire::sources(2, 8),
        customer_url: None,
    }
}

fn offer(
    plan: &Plan,
    env: &mut Env,
    results: &mut Results,
    pinning: Pinning,
    n: usize,
) -> anyhow::Result<()> {
    progress(&format!(
        "time to offer: {n} workers, {} conversations/s ({})",
        plan.rate,
        pinning.label()
    ));
    let mut row = OfferRow {
        pinning: Some(pinning),
        workers: n,
        rate: plan.rate,
        ..OfferRow::default()
    };
    let loadgen = env.loadgen(pinning);
    {
        let (server, hub) = env.hub(pinning)?;
        let tokens = env.worker_tokens()[..n.min(env.worker_tokens().len())].to_vec();
        let name = env.next("offer-hub");
        results.command(loadgen.words(&name));
        if let Some(hub) = &hub {
            results.command(hub.command.clone());
        }
        row.hub = Some(expect_offer(
            loadgen.run(&offer_job(plan, server, tokens, n, None), &name)?,
        )?);
    }
    {
        progress(&format!("  P0 floor, {n} workers"));
        let (server, floor) = env.floor(pinning)?;
        results.command(floor.command.clone());
        row.floor = Some(expect_offer(loadgen.run(
            &offer_job(plan, server, vec![], n, None),
            &env.next("offer-floor"),
        )?)?);
        drop(floor);
    }
    if let Some((server, p)) = env.nats(pinning)? {
        progress(&format!("  P1 nats, {n} workers"));
        results.command(p.command.clone());
        row.nats = Some(expect_offer(loadgen.run(
            &offer_job(plan, server, vec![], n, None),
            &env.next("offer-nats"),
        )?)?);
        drop(p);
    }
    results.offer.push(row);
    Ok(())
}

fn expect_offer(r: JobResult) -> anyhow::Result<OfferResult> {
    match r {
        JobResult::Offer(o) => Ok(o),
        other => anyhow::bail!("expected an offer result, got {other:?}"),
    }
}

fn expect_relay(r: JobResult) -> anyhow::Result<RelayResult> {
    match r {
        JobResult::Relay(o) => Ok(o),
        other => anyhow::bail!("expected a relay result, got {other:?}"),
    }
}

fn relay(
    plan: &Plan,
    env: &mut Env,
    results: &mut Results,
    pinning: Pinning,
    shadows: usize,
) -> anyhow::Result<()> {
    progress(&format!(
        "relay: {} conversations, {shadows} shadowing supervisor(s) ({})",
        plan.pairs,
        pinning.label()
    ));
    let loadgen = env.loadgen(pinning);
    let job = |server: Server, rates: Rates, workers: Vec<String>, sups: Vec<String>| {
        Job::Relay(relay_job(plan, server, shadows, rates, workers, sups))
    };
    let mut row = RelayRow {
        pinning: Some(pinning),
        shadows,
        pairs: plan.pairs,
        window: plan.window,
        ..RelayRow::default()
    };
    let hub = {
        let (server, _hub) = env.hub(pinning)?;
        let workers = env.worker_tokens()[..plan.pairs.min(env.worker_tokens().len())].to_vec();
        let sups = env.supervisor_tokens().to_vec();
        expect_relay(loadgen.run(
            &job(
                server,
                Rates::OfMax(vec![0.5, 0.9], REALISTIC_RATES.to_vec()),
                workers,
                sups,
            ),
            &env.next("relay-hub"),
        )?)?
    };
    let rates: Vec<f64> = hub.levels.iter().map(|l| l.rate).collect();
    row.hub = Some(hub);
    if plan.tmpfs_diagnostic && shadows == 0 && env.remote.is_none() {
        progress("  diagnostic: the same hub with its log on tmpfs (no disk flush)");
        let shm = PathBuf::from("/dev/shm").join(format!("shiftdesk-bench-{}", std::process::id()));
        std::fs::create_dir_all(&shm)?;
        let outcome = (|| {
            let (server, _hub) = env.hub_in(pinning, &shm, &[])?;
            let workers = env.worker_tokens()[..plan.pairs.min(env.worker_tokens().len())].to_vec();
            let sups = env.supervisor_tokens().to_vec();
            expect_relay(loadgen.run(
                &job(
                    server,
                    Rates::OfMax(vec![0.5, 0.9], REALISTIC_RATES.to_vec()),
                    workers,
                    sups,
                ),
                &env.next("relay-hub-tmpfs"),
            )?)
        })();
        let _ = std::fs::remove_dir_all(&shm);
        row.hub_tmpfs = Some(outcome?);
    }
    {
        progress("  P0 floor at the hub's rates");
        let (server, floor) = env.floor(pinning)?;
        row.floor = Some(expect_relay(loadgen.run(
            &job(server, Rates::Fixed(rates.clone()), vec![], vec![]),
            &env.next("relay-floor"),
        )?)?);
        drop(floor);
    }
    if let Some((server, p)) = env.nats(pinning)? {
        progress("  P1 nats at the hub's rates");
        row.nats = Some(expect_relay(loadgen.run(
            &job(server, Rates::Fixed(rates), vec![], vec![]),
            &env.next("relay-nats"),
        )?)?);
        drop(p);
    }
    results.relay.push(row);
    Ok(())
}

/// Ramp idle connections in steps, one load-generator process per step (each from its own
/// 127.0.0.x), reading the server's RSS after each.
fn ramp(
    plan: &Plan,
    env: &mut Env,
    pinning: Pinning,
    server: &Server,
    proc_: &ServerProc,
    label: &str,
) -> anyhow::Result<MemoryRow> {
    let step = plan.idle_workers.div_ceil(plan.idle_steps.max(1)).max(1);
    let settle = Duration::from_millis(if plan.quick { 700 } else { 1500 });
    std::thread::sleep(settle);
    let mut points = vec![(0usize, proc_.rss_kib().unwrap_or(0))];
    let loadgen = env.loadgen(pinning);
    let mut idle = Vec::new();
    let mut total = 0;
    let mut k = 0usize;
    while total < plan.idle_workers {
        let count = step.min(plan.idle_workers - total);
        let tokens = if server.target == Target::Hub {
            env.worker_tokens()[total..total + count].to_vec()
        } else {
            vec![]
        };
        let job = Job::Idle(IdleJob {
            server: server.clone(),
            tokens,
            count,
            first: total,
            sources: wire::sources(20u8.saturating_add(k as u8), 1),
        });
        idle.push(loadgen.start_idle(
            &job,
            &env.next(&format!("idle-{}", server.target.label().replace(' ', "-"))),
        )?);
        total += count;
        k += 1;
        std::thread::sleep(settle);
        let rss = proc_.rss_kib().context("cannot read the server's RSS")?;
        progress(&format!(
            "  {label}: {total} idle connections, RSS {:.1} MiB",
            rss as f64 / 1024.0
        ));
        points.push((total, rss));
    }
    for p in idle {
        p.stop();
    }
    // The slope from the first step on: the first connections pay one-off costs (allocator
    // arenas, the runtime's and the store's first buffers) that a short ramp (`--quick`, 1,000
    // connections) would otherwise spread over few connections, and a long one over many. So
    // both modes measure the same thing: what one more idle connection costs.
    let slope = stats::slope(
        &points
            .iter()
            .skip(usize::from(points.len() > 2))
            .map(|(n, kib)| (*n as f64, *kib as f64))
            .collect::<Vec<_>>(),
    );
    Ok(MemoryRow {
        target: server.target,
        label: label.to_string(),
        points,
        kib_per_connection: slope,
    })
}

fn memory(
    plan: &Plan,
    env: &mut Env,
    results: &mut Results,
    pinning: Pinning,
) -> anyhow::Result<()> {
    progress(&format!(
        "memory per idle connection: ramp to {} ({})",
        plan.idle_workers,
        pinning.label()
    ));
    {
        let (server, hub) = env.hub(pinning)?;
        let hub = hub.context("the memory ramp needs a local hub")?;
        let row = ramp(plan, env, pinning, &server, &hub, "hub")?;
        results.memory.push(row);
    }
    {
        let (server, floor) = env.floor(pinning)?;
        let row = ramp(plan, env, pinning, &server, &floor, "P0 floor")?;
        results.memory.push(row);
    }
    {
        // What the hub would save with a small read buffer: the floor with one.
        let (server, floor) = env.floor_with(pinning, Some(TUNED_READ_BUFFER))?;
        results.command(floor.command.clone());
        let row = ramp(
            plan,
            env,
            pinning,
            &server,
            &floor,
            "P0 floor, 4 KiB read buffer",
        )?;
        results.memory.push(row);
    }
    if let Some((server, p)) = env.nats(pinning)? {
        let row = ramp(plan, env, pinning, &server, &p, "P1 nats")?;
        results.memory.push(row);
    }
    Ok(())
}

fn storm(
    plan: &Plan,
    env: &mut Env,
    results: &mut Results,
    pinning: Pinning,
) -> anyhow::Result<()> {
    let n = plan.storm_workers.min(env.worker_tokens().len());
    progress(&format!(
        "reconnect storm: {n} workers ({})",
        pinning.label()
    ));
    let (server, _hub) = env.hub(pinning)?;
    let job = Job::Storm(StormJob {
        server,
        tokens: env.worker_tokens()[..n].to_vec(),
        runs: plan.timing.runs,
        sources: wire::sources(40, 8),
    });
    let r = match env.loadgen(pinning).run(&job, &env.next("storm"))? {
        JobResult::Storm(r) => r,
        other => anyhow::bail!("expected a storm result, got {other:?}"),
    };
    results.storm = Some(StormRow {
        pinning,
        workers: n,
        result: r,
    });
    Ok(())
}
