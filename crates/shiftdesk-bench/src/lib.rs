//! `shiftdesk bench`: the hub measured beside a floor and a peer, in one run on one machine.
//!
//! In the spirit of `redis-benchmark` and `nats bench`: by default it starts its own hub (a
//! child process), P0 (a minimal tokio-tungstenite relay, [`floor`]) and P1 (nats-server with
//! its websocket listener, [`nats`]) on loopback, drives them from separate load-generator
//! processes (this same binary, `bench --role loadgen`), and writes the results, as ratios,
//! to BENCHMARKS.md. Latency is open-loop and measured from each message's *scheduled* send
//! time into HdrHistogram, so a stalled server cannot hide its stalls (no coordinated
//! omission). `--hub URL --token …` loads an existing hub instead.
//!
//! - [`run`]: the orchestrator: processes, scenarios, order;
//! - [`hubload`], [`relay`], [`floor`], [`nats`]: what the load generators do;
//! - [`report`]: BENCHMARKS.md and the final `ratios:` line.

pub mod floor;
pub mod hubload;
pub mod jobs;
pub mod nats;
pub mod procs;
pub mod relay;
pub mod report;
pub mod run;
pub mod stats;
pub mod wire;

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

/// What `shiftdesk bench` can be asked. The rarer options sit in a box ([`BenchOptions`],
/// reachable as if they were fields) to keep the CLI's command enum small.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// A short run (under two minutes): 100 workers, one run per measurement, pinned.
    #[arg(long)]
    pub quick: bool,
    /// Write the results as Markdown to this file (for example BENCHMARKS.md).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub options: Box<BenchOptions>,
}

impl std::ops::Deref for BenchArgs {
    type Target = BenchOptions;

    fn deref(&self) -> &BenchOptions {
        &self.options
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct BenchOptions {
    /// Load this existing hub (ws://host:port) instead of starting one. Memory (RSS) and the
    /// hub's CPU time need its process, so they are skipped.
    #[arg(long, value_name = "URL")]
    pub hub: Option<String>,
    /// A worker token for --hub (repeat it for more workers; see also --tokens-file).
    #[arg(long = "token", value_name = "TOKEN")]
    pub tokens: Vec<String>,
    /// A file with one worker token per line, for --hub with many workers.
    #[arg(long, value_name = "FILE")]
    pub tokens_file: Option<PathBuf>,
    /// A supervisor token for --hub (repeat; the relay's shadowing needs up to 3).
    #[arg(long = "supervisor-token", value_name = "TOKEN")]
    pub supervisor_tokens: Vec<String>,
    /// Keep the hubs' data, logs and job files here (default: a temporary directory, removed
    /// at the end).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Pin servers to CPU 0 and load generators to CPU 1 (taskset) only.
    #[arg(long, conflicts_with = "unpinned")]
    pub pinned: bool,
    /// Do not pin anything.
    #[arg(long)]
    pub unpinned: bool,
    /// Available workers for time to offer, comma-separated (default 100 with --quick,
    /// 100,1000,10000 otherwise).
    #[arg(long, value_delimiter = ',', value_name = "N,...")]
    pub workers: Vec<usize>,
    /// Workers in the reconnect storm (default: the largest of --workers).
    #[arg(long, value_name = "N")]
    pub storm_workers: Option<usize>,
    /// Idle workers the memory ramp climbs to (default 1000 with --quick, 15000 otherwise).
    #[arg(long, value_name = "N")]
    pub idle_workers: Option<usize>,
    /// New conversations per second that ask for a person (time to offer).
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,
    /// Seconds per measured run.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Measured runs per measurement (the median is reported).
    #[arg(long, value_name = "N")]
    pub runs: Option<usize>,
    /// Lines each relay sender keeps in flight while the highest throughput is measured
    /// (16 conversations, so 32 senders). With fewer, the hub's highest rate is set by how long
    /// one line takes (it waits for a commit), not by what the hub can carry
    #[arg(long, value_name = "LINES", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub window: u16,
    /// Only these scenarios, comma-separated: offer, relay, memory, storm.
    #[arg(long, value_delimiter = ',', value_enum, value_name = "SCENARIO,...")]
    pub only: Vec<Scenario>,
    /// Only refresh the console section of --out from the latest `cargo bench --bench console`
    /// results, keeping the rest of the file.
    #[arg(long, requires = "out")]
    pub console_only: bool,
    /// The nats-server program for P1 (reported as unavailable if it cannot be found).
    #[arg(long, default_value = "nats-server", value_name = "PROGRAM")]
    pub nats_server: String,
    /// Internal: what this process is (the load generator and the floor are this binary).
    #[arg(long, hide = true, value_enum)]
    pub role: Option<Role>,
    /// Internal: the load generator's job file.
    #[arg(long, hide = true)]
    pub spec: Option<PathBuf>,
    /// Internal: where the floor listens.
    #[arg(long, hide = true, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Internal: the floor's websocket read buffer in bytes (default: the hub's, 128 KiB).
    #[arg(long, hide = true)]
    pub read_buffer: Option<usize>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Offer,
    Relay,
    Memory,
    Storm,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Run one job (`--spec FILE`) and print its result as the last stdout line.
    Loadgen,
    /// P0: the minimal relay.
    Floor,
}

/// A progress line on stderr (stdout is for results).
pub fn progress(line: &str) {
    let mut err = std::io::stderr();
    let _ = writeln!(err, "{line}");
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub fn main(args: BenchArgs) -> anyhow::Result<()> {
    match args.role {
        None if args.console_only => match &args.out {
            Some(out) => report::refresh_console(out),
            None => anyhow::bail!("--console-only needs --out FILE"),
        },
        None => run::orchestrate(args),
        Some(Role::Floor) => runtime()?.block_on(floor::serve(args.listen, args.read_buffer)),
        Some(Role::Loadgen) => {
            let spec = args
                .spec
                .clone()
                .context("--role loadgen needs --spec FILE")?;
            let text =
                std::fs::read(&spec).with_context(|| format!("cannot read {}", spec.display()))?;
            let job: jobs::Job = serde_json::from_slice(&text)
                .with_context(|| format!("{} is not a bench job", spec.display()))?;
            loadgen(job)
        }
    }
}

/// The load-generator process: run the job; for idle jobs, say "ready N" and hold the
/// connections until stdin closes.
fn loadgen(job: jobs::Job) -> anyhow::Result<()> {
    let rt = runtime()?;
    let _ = wire::origin();
    let result = match job {
        jobs::Job::Idle(job) => {
            let conns = rt.block_on(relay::idle(job))?;
            {
                let mut out = std::io::stdout();
                writeln!(out, "ready {}", conns.len())?;
                out.flush()?;
            }
            // Hold until the orchestrator closes our stdin (or writes `stop`).
            let stdin = std::io::stdin();
            let mut line = String::new();
            while stdin.lock().read_line(&mut line).unwrap_or(0) > 0 {
                if line.trim() == "stop" {
                    break;
                }
                line.clear();
            }
            jobs::JobResult::Idle {
                connected: conns.len(),
            }
        }
        job => rt.block_on(jobs::run_job(job))?,
    };
    let mut out = std::io::stdout();
    writeln!(out, "{}", serde_json::to_string(&result)?)?;
    out.flush()?;
    // Don't wait for thousands of sockets to close politely.
    rt.shutdown_background();
    Ok(())
}
