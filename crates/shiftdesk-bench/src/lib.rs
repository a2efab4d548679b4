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
//! - [`args`]: the command line; [`run`]: the orchestrator: processes, scenarios, order;
//! - [`jobs`]: what a load generator is asked and answers; [`loadgen`]: the load-generator
//!   process;
//! - [`relay`]: the driver of relay and offer-like phases, over [`conn`]ections that
//!   [`hubload`], [`floor`] and [`nats`] set up; [`wire`]: sockets and the send-time tags;
//! - [`report`]: BENCHMARKS.md and the final `ratios:` line.
//!
//! The modules depend on each other without cycles: the connection types are in [`conn`],
//! the job types in [`jobs`] and the command line in [`args`], below everything that uses them.

pub mod args;
pub mod conn;
pub mod floor;
pub mod hubload;
pub mod jobs;
pub mod loadgen;
pub mod nats;
pub mod procs;
pub mod relay;
pub mod report;
pub mod run;
pub mod stats;
pub mod wire;

use anyhow::Context;

pub use args::{BenchArgs, BenchOptions, Role, Scenario};
use loadgen::runtime;

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
            loadgen::run(job)
        }
    }
}
