//! What `shiftdesk bench` can be asked (clap), including the hidden options of the processes it
//! starts (the load generators and the floor are this same binary).

use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// Run the hubs on this PostgreSQL store (postgres://USER@HOST:PORT/DB, an empty database;
    /// the bench's workers are copied into it) instead of a SQLite file each.
    #[arg(long, value_name = "URL", conflicts_with = "hub")]
    pub store: Option<String>,
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
    /// Only these scenarios, comma-separated: offer, relay, memory, storm, instructions, hubs
    /// (hubs needs --store; a run with --store includes it by default).
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
    /// Internal: the floor's websocket read buffer in bytes (default: tungstenite's, 128 KiB).
    #[arg(long, hide = true)]
    pub read_buffer: Option<usize>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Offer,
    Relay,
    Memory,
    Storm,
    /// Instructions per relayed line, hub and floor, under valgrind's callgrind.
    Instructions,
    /// One, two and three hubs on the `--store` PostgreSQL store: relay and time to offer with
    /// customers and workers on different hubs, beside one hub on SQLite.
    Hubs,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Run one job (`--spec FILE`) and print its result as the last stdout line.
    Loadgen,
    /// P0: the minimal relay.
    Floor,
}
