//! Instructions per relayed line, counted by valgrind's callgrind: a figure that does not move
//! with the machine's other load, beside the timings that do (issue 24).
//!
//! A server is started under callgrind and loaded at a low and at a high open-loop rate for
//! the same time; it is stopped with SIGTERM so that callgrind writes its count. What one line
//! costs is the difference of the two counts over the difference of the lines sent: start-up,
//! the setup of the connections and what the server does per second of time (ticks, pings,
//! checkpoints) are the same in both runs and cancel out.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{Env, Plan, expect_relay};
use crate::jobs::{Job, Rates, RelayJob, Server, Target, Timing};
use crate::procs::Pinning;
use crate::report::InstructionsRow;
use crate::stats::progress;

/// The two rates, lines per second: low enough that the hub under callgrind (50 to 100 times
/// slower) keeps up on one core.
const RATES: [f64; 2] = [60.0, 180.0];
const TIMING: Timing = Timing {
    warmup_s: 1.0,
    duration_s: 10.0,
    runs: 1,
    drain_s: 3.0,
};

/// Where valgrind is, if it is.
pub(super) fn valgrind() -> Option<PathBuf> {
    super::which("valgrind")
}

/// Count the hub's and the floor's instructions per line.
pub(super) fn instructions(
    plan: &Plan,
    env: &mut Env,
    pinning: Pinning,
) -> anyhow::Result<Vec<InstructionsRow>> {
    let valgrind = valgrind().context("valgrind is not installed")?;
    let mut rows = Vec::new();
    for target in [Target::Hub, Target::Floor] {
        progress(&format!(
            "instructions per line: {} under callgrind at {:?} lines/s",
            target.label(),
            RATES
        ));
        let mut points = Vec::new();
        for rate in RATES {
            let name = env.next(&format!("callgrind-{}", target.label().replace(' ', "-")));
            let out = env.work.join(format!("{name}.out"));
            env.wrap = Some(vec![
                valgrind.display().to_string(),
                "--tool=callgrind".into(),
                format!("--callgrind-out-file={}", out.display()),
            ]);
            let started = match target {
                Target::Hub => env.hub(pinning),
                // With the hub's read buffer: tungstenite's default zero-fills 128 KiB before
                // every read, which made the floor's count depend on how many reads a line took.
                _ => env
                    .floor_with(pinning, Some(super::TUNED_READ_BUFFER))
                    .map(|(s, p)| (s, Some(p))),
            };
            env.wrap = None;
            let (server, proc_) = started?;
            let proc_ = proc_.context("callgrind needs a local server")?;
            let lines = load(plan, env, pinning, server, rate, &name)?;
            proc_.terminate()?;
            let instructions = read_total(&out)?;
            progress(&format!(
                "  {rate:.0}/s: {lines} lines, {instructions} instructions in all"
            ));
            points.push((lines, instructions));
        }
        let [(l1, i1), (l2, i2)] = [points[0], points[1]];
        anyhow::ensure!(
            l2 > l1,
            "the faster run sent no more lines ({l1} and {l2}): cannot tell a line's cost"
        );
        let per_line = (i2 as f64 - i1 as f64) / (l2 - l1) as f64;
        progress(&format!(
            "  {}: {per_line:.0} instructions per line",
            target.label()
        ));
        rows.push(InstructionsRow {
            target,
            per_line,
            points,
        });
    }
    Ok(rows)
}

/// One relay run at `rate` (open loop only) against `server`; returns the lines sent.
fn load(
    plan: &Plan,
    env: &mut Env,
    pinning: Pinning,
    server: Server,
    rate: f64,
    name: &str,
) -> anyhow::Result<u64> {
    let workers = match server.target {
        Target::Hub => env.worker_tokens()[..plan.pairs.min(env.worker_tokens().len())].to_vec(),
        _ => Vec::new(),
    };
    let job = Job::Relay(RelayJob {
        timing: TIMING,
        open_only: true,
        ..super::relay_job(
            plan,
            server,
            0,
            Rates::Fixed(vec![rate]),
            workers,
            Vec::new(),
        )
    });
    let result = expect_relay(env.loadgen(pinning).run(&job, name)?)?;
    Ok(result
        .levels
        .iter()
        .flat_map(|l| &l.runs)
        .map(|r| r.sent)
        .sum())
}

/// The `totals:` (or `summary:`) line of a callgrind output file: every instruction counted.
fn read_total(path: &Path) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("callgrind wrote no {}", path.display()))?;
    let line = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
    };
    line("totals:")
        .or_else(|| line("summary:"))
        .with_context(|| format!("no `totals:` line in {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_read_from_a_callgrind_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(
            &path,
            "version: 1\nevents: Ir\nfl=x\n1 5\nsummary: 160812170\ntotals: 160812388\n",
        )
        .unwrap();
        assert_eq!(read_total(&path).unwrap(), 160_812_388);
        std::fs::write(&path, "events: Ir\n").unwrap();
        let e = read_total(&path).unwrap_err().to_string();
        assert!(e.contains("no `totals:` line"), "{e}");
    }
}
