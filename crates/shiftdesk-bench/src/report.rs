//! The results of a run: BENCHMARKS.md and the final `ratios:` line.
//!
//! Everything above the marker [`KEEP_MARKER`] is regenerated; what follows it in an existing
//! output file (the written analysis) is kept as it is.

use std::fmt::Write as _;
use std::path::Path;

use super::args::BenchArgs;
use super::jobs::{
    OfferResult, REALISTIC_RATES, RelayLevel, RelayResult, RelayRun, StormResult, Target,
};
use super::procs::{self, Pinning};
use super::stats::{self, Latency, ms, ratio};

mod hubs;
pub use hubs::{HUB_COUNTS, HUBS_RELAY_RATE, HubsResults, HubsRow};

/// Lines after this one in an existing BENCHMARKS.md survive regeneration.
pub const KEEP_MARKER: &str =
    "<!-- Written by hand below this line; `shiftdesk bench --out` keeps it. -->";

#[derive(Debug, Default)]
pub struct OfferRow {
    pub pinning: Option<Pinning>,
    pub workers: usize,
    pub rate: f64,
    pub hub: Option<OfferResult>,
    pub floor: Option<OfferResult>,
    pub nats: Option<OfferResult>,
}

/// Instructions per relayed line under callgrind, from two runs at different rates.
#[derive(Debug, Clone)]
pub struct InstructionsRow {
    pub target: Target,
    pub per_line: f64,
    /// (lines sent, instructions counted) of each run.
    pub points: Vec<(u64, u64)>,
}

#[derive(Debug, Default)]
pub struct RelayRow {
    pub pinning: Option<Pinning>,
    pub shadows: usize,
    pub pairs: usize,
    /// Lines each sender keeps in flight while the highest throughput is measured.
    pub window: usize,
    pub hub: Option<RelayResult>,
    pub floor: Option<RelayResult>,
    pub nats: Option<RelayResult>,
    /// The hub with its log on tmpfs: a diagnostic (not durable), to show the CPU ceiling.
    pub hub_tmpfs: Option<RelayResult>,
}

/// One durable SQLite commit on the run's disk (WAL, `synchronous=FULL`).
#[derive(Debug, Clone, Copy)]
pub struct DiskProbe {
    pub p50_us: u64,
    pub p99_us: u64,
    pub per_s: f64,
}

#[derive(Debug)]
pub struct MemoryRow {
    pub target: Target,
    pub label: String,
    /// (connections, RSS KiB)
    pub points: Vec<(usize, u64)>,
    pub kib_per_connection: Option<f64>,
}

#[derive(Debug)]
pub struct StormRow {
    pub pinning: Pinning,
    pub workers: usize,
    pub result: StormResult,
}

#[derive(Debug, Default)]
pub struct Results {
    pub quick: bool,
    pub invocation: String,
    pub plan: String,
    pub date: String,
    pub machine: Vec<(String, String)>,
    pub versions: Vec<(String, String)>,
    pub commands: Vec<String>,
    pub offer: Vec<OfferRow>,
    pub relay: Vec<RelayRow>,
    pub memory: Vec<MemoryRow>,
    pub storm: Option<StormRow>,
    pub instructions: Vec<InstructionsRow>,
    /// Several hubs on one PostgreSQL store.
    pub hubs: Option<HubsResults>,
    /// Commit latency on the run's disk, at the start and at the end.
    pub disk: Vec<DiskProbe>,
    /// /proc/loadavg at the start and at the end: other work on the machine.
    pub load: Vec<String>,
    pub notes: Vec<String>,
    pub elapsed_s: f64,
    /// The hand-written part of an existing output file, kept on regeneration.
    pub kept: Option<String>,
}

impl Results {
    pub fn new(quick: bool, args: &BenchArgs, plan: &str) -> Results {
        let invocation = std::iter::once("shiftdesk".to_string())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" ");
        let mut versions = vec![
            (
                "shiftdesk".to_string(),
                format!(
                    "{}{}",
                    env!("CARGO_PKG_VERSION"),
                    git_commit()
                        .map(|c| format!(" (git {c})"))
                        .unwrap_or_default()
                ),
            ),
            (
                "rustc".to_string(),
                procs::version_of("rustc", "--version").unwrap_or_else(|| "unknown".into()),
            ),
        ];
        let nats = super::nats::find_server(&args.nats_server)
            .and_then(|p| procs::version_of(&p.display().to_string(), "--version"));
        versions.push((
            "nats-server".into(),
            nats.unwrap_or_else(|| "not found (P1 unavailable)".into()),
        ));
        versions.push((
            "taskset".into(),
            procs::version_of("taskset", "--version").unwrap_or_else(|| "not found".into()),
        ));
        let kept = args.out.as_deref().and_then(kept_part);
        Results {
            quick,
            invocation,
            plan: plan.to_string(),
            date: procs::version_of("date", "-u").unwrap_or_default(),
            machine: procs::machine(),
            versions,
            kept,
            ..Results::default()
        }
    }

    pub fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    pub fn command(&mut self, command: String) {
        if !self.commands.contains(&command) {
            self.commands.push(command);
        }
    }

    fn offer_ratio(&self, reference: fn(&OfferRow) -> Option<&OfferResult>) -> String {
        let row = self.offer.first();
        ratio(
            row.and_then(|r| r.hub.as_ref())
                .map(|h| h.median.p99_us as f64),
            row.and_then(reference).map(|f| f.median.p99_us as f64),
        )
    }

    fn relay_ratio(
        &self,
        reference: fn(&RelayRow) -> Option<&RelayResult>,
        pick: fn(&Latency) -> u64,
    ) -> String {
        let row = self.relay.first();
        let at_half = |r: Option<&RelayResult>| {
            r.and_then(|r| r.levels.first())
                .filter(|l| l.median.count > 0)
                .map(|l| pick(&l.median) as f64)
        };
        ratio(
            at_half(row.and_then(|r| r.hub.as_ref())),
            at_half(row.and_then(reference)),
        )
    }

    fn hub_kib(&self) -> Option<f64> {
        self.memory
            .iter()
            .find(|m| m.target == Target::Hub)
            .and_then(|m| m.kib_per_connection)
    }

    fn write_disk(&self, md: &mut String) -> std::fmt::Result {
        if self.disk.is_empty() {
            return Ok(());
        }
        let at = ["start", "end"];
        let probes = self
            .disk
            .iter()
            .enumerate()
            .map(|(i, d)| {
                format!(
                    "{}: {} ms p50, {} ms p99 ({:.0} commits/s)",
                    at.get(i).unwrap_or(&"later"),
                    ms(d.p50_us),
                    ms(d.p99_us),
                    d.per_s
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        if !self.load.is_empty() {
            writeln!(
                md,
                "**The machine.** Load average (1, 5, 15 min) at the start and at the end: {}. Pinning keeps the hub and the load generator apart, not other work on the machine.",
                self.load.join("; ")
            )?;
            writeln!(md)?;
        }
        writeln!(
            md,
            "**The disk.** The hub commits the commands that arrive together in one durable SQLite transaction (WAL, `synchronous=FULL`; group commit), so under load one flush serves many messages, while a lone message still waits for one commit: what that costs on this disk, which other work on the machine changes from minute to minute, measured by this run, 200 commits of one row each: {probes}."
        )?;
        writeln!(md)?;
        Ok(())
    }

    /// The last line of `shiftdesk bench`.
    pub fn ratios_line(&self) -> String {
        format!(
            "ratios: offer_p99_vs_floor={} relay_p99_vs_floor={} relay_p99_vs_nats={} kb_per_idle_worker={} relay_max_vs_floor={} cpu_per_line_vs_floor={} relay_p99_vs_floor_at_1k={} relay_p99_vs_floor_at_5k={} relay_p99_vs_floor_at_20k={} instructions_per_line_vs_floor={} {}",
            self.offer_ratio(|r| r.floor.as_ref()),
            self.relay_ratio(|r| r.floor.as_ref(), |l| l.p99_us),
            self.relay_ratio(|r| r.nats.as_ref(), |l| l.p99_us),
            self.hub_kib()
                .map_or_else(|| "n/a".to_string(), |k| format!("{k:.2}")),
            self.max_ratio(|r| Some(r.achieved)),
            self.max_ratio(|r| {
                let per_cpu: Vec<f64> = r.runs.iter().filter_map(RelayRun::per_cpu_s).collect();
                // CPU per line is the inverse of lines per CPU second.
                (!per_cpu.is_empty()).then(|| 1.0 / stats::median_f64(per_cpu))
            }),
            self.relay_ratio_at(REALISTIC_RATES[0]),
            self.relay_ratio_at(REALISTIC_RATES[1]),
            self.relay_ratio_at(REALISTIC_RATES[2]),
            ratio(
                self.instructions_of(Target::Hub),
                self.instructions_of(Target::Floor)
            ),
            self.hubs_ratios(),
        )
    }

    fn instructions_of(&self, target: Target) -> Option<f64> {
        self.instructions
            .iter()
            .find(|r| r.target == target)
            .map(|r| r.per_line)
    }

    /// Hub ÷ floor p99 at one of the realistic rates (n/a where the hub could not carry it).
    fn relay_ratio_at(&self, rate: f64) -> String {
        let row = self.relay.first();
        let hub = row.and_then(|r| r.hub.as_ref());
        let Some(i) = hub.and_then(|h| h.levels.iter().position(|l| l.rate == rate)) else {
            return "n/a".into();
        };
        let p99 = |r: Option<&RelayResult>| {
            r.and_then(|r| r.levels.get(i))
                .filter(|l| l.median.count > 0)
                .map(|l| l.median.p99_us as f64)
        };
        ratio(p99(hub), p99(row.and_then(|r| r.floor.as_ref())))
    }

    /// Hub ÷ floor of a figure of the closed-loop maximum runs (no shadows, the first row).
    fn max_ratio(&self, figure: impl Fn(&RelayLevel) -> Option<f64>) -> String {
        let row = self.relay.first();
        ratio(
            row.and_then(|r| r.hub.as_ref())
                .and_then(|h| figure(&h.max)),
            row.and_then(|r| r.floor.as_ref())
                .and_then(|f| figure(&f.max)),
        )
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = self.write_markdown(&mut md);
        md
    }

    fn write_markdown(&self, md: &mut String) -> std::fmt::Result {
        writeln!(md, "# Benchmarks")?;
        writeln!(md)?;
        writeln!(
            md,
            "The hub measured beside a floor and a peer, in one run on one machine (issue 6). \
             Generated by `{}` on {} in {:.0} s ({} run). **Do not edit above the marker line**: \
             regenerate instead.",
            self.invocation,
            if self.date.is_empty() {
                "an unknown date"
            } else {
                &self.date
            },
            self.elapsed_s,
            if self.quick { "a quick" } else { "a full" }
        )?;
        writeln!(md)?;
        writeln!(md, "```sh")?;
        writeln!(
            md,
            "# regenerate this file (full run, about 20 minutes; --quick takes under 2):"
        )?;
        writeln!(
            md,
            "cargo bench --bench console && cargo run --release -- bench --out BENCHMARKS.md"
        )?;
        writeln!(md, "```")?;
        writeln!(md)?;
        writeln!(
            md,
            "- **Hub**: `shiftdesk hub` as shipped, a child process, default SQLite store (the durable log on, `synchronous=FULL`), `--offer-timeout 1` so that the timeout share of the offer mix stays short."
        )?;
        writeln!(
            md,
            "- **P0, the floor**: a minimal relay on tokio-tungstenite with the hub's websocket settings (`bench --role floor`, [crates/shiftdesk-bench/src/floor.rs](crates/shiftdesk-bench/src/floor.rs)): the same connection-task shape and queue, no JSON, no log, no rules. What the wire alone costs."
        )?;
        writeln!(
            md,
            "- **P1, the peer**: nats-server with its websocket listener; publisher to subscriber in the NATS text protocol. A mature broker hop."
        )?;
        writeln!(
            md,
            "- **Load**: separate processes of this binary (`bench --role loadgen`), open-loop: every message has a scheduled send time and its latency is measured from that time into an HdrHistogram (no coordinated omission). Each measurement: a warm-up, then the runs; tables show the **median of the runs**."
        )?;
        writeln!(
            md,
            "- **Ratios** are hub ÷ reference: above 1 the hub is slower (or bigger). Plan: {}.",
            self.plan
        )?;
        writeln!(md)?;
        for n in &self.notes {
            writeln!(md, "> {n}")?;
            writeln!(md)?;
        }
        writeln!(md, "## Summary")?;
        writeln!(md)?;
        writeln!(md, "```")?;
        writeln!(md, "{}", self.ratios_line())?;
        writeln!(md, "```")?;
        writeln!(md)?;
        self.write_targets(md)?;
        self.write_disk(md)?;
        self.write_offer(md)?;
        self.write_relay(md)?;
        self.write_memory(md)?;
        self.write_storm(md)?;
        self.write_instructions(md)?;
        self.write_hubs(md)?;
        write_console(md)?;
        writeln!(md, "## Machine, versions, commands")?;
        writeln!(md)?;
        writeln!(md, "| | |")?;
        writeln!(md, "|---|---|")?;
        for (k, v) in self.machine.iter().chain(&self.versions) {
            writeln!(md, "| {k} | {v} |")?;
        }
        writeln!(md)?;
        writeln!(
            md,
            "Processes, as this run started them (paths are this run's temporary files):"
        )?;
        writeln!(md)?;
        writeln!(md, "```sh")?;
        writeln!(md, "{}", self.invocation)?;
        for c in &self.commands {
            writeln!(md, "{c}")?;
        }
        writeln!(md, "```")?;
        writeln!(md)?;
        writeln!(md, "{KEEP_MARKER}")?;
        match &self.kept {
            Some(k) => write!(md, "{k}")?,
            None => {
                writeln!(md)?;
                writeln!(md, "## Analysis")?;
                writeln!(md)?;
                writeln!(md, "(Nothing written yet.)")?;
            }
        }
        Ok(())
    }

    fn write_targets(&self, md: &mut String) -> std::fmt::Result {
        writeln!(md, "### Targets (issue 6)")?;
        writeln!(md)?;
        writeln!(md, "| Target | Measured | |")?;
        writeln!(md, "|---|---|---|")?;
        let verdict = |ok: Option<bool>| match ok {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "n/a",
        };
        let relay = self.relay.first();
        let p99 = |r: Option<&RelayResult>| {
            r.and_then(|r| r.levels.first())
                .filter(|l| l.median.count > 0)
                .map(|l| l.median.p99_us as f64)
        };
        let hub_p99 = p99(relay.and_then(|r| r.hub.as_ref()));
        let floor_p99 = p99(relay.and_then(|r| r.floor.as_ref()));
        let nats_p99 = p99(relay.and_then(|r| r.nats.as_ref()));
        let r0 = hub_p99.zip(floor_p99).map(|(h, f)| h / f);
        let r1 = hub_p99.zip(nats_p99).map(|(h, f)| h / f);
        writeln!(
            md,
            "| relay p99 ≤ 1.5× P0 (durable log on; at 50% of the hub's max, no shadows) | {}× | {} |",
            fmt_opt(r0),
            verdict(r0.map(|r| r <= 1.5))
        )?;
        writeln!(
            md,
            "| relay p99 ≤ 1.0× P1 | {}× | {} |",
            fmt_opt(r1),
            verdict(r1.map(|r| r <= 1.0))
        )?;
        let kib = self.hub_kib();
        writeln!(
            md,
            "| ≤ 15 KB hub memory per idle worker connection | {} KiB | {} |",
            fmt_opt(kib),
            verdict(kib.map(|k| k * 1.024 <= 15.0))
        )?;
        let max = relay.and_then(|r| r.hub.as_ref()).map(|h| h.max.achieved);
        writeln!(
            md,
            "| ≥ 50,000 relayed messages/s (durable log on) | {} /s | {} |",
            max.map_or("n/a".into(), |m| format!("{m:.0}")),
            verdict(max.map(|m| m >= 50_000.0))
        )?;
        let hub_offer: Vec<(usize, u64)> = self
            .offer
            .iter()
            .filter(|r| r.pinning == self.offer.first().and_then(|f| f.pinning))
            .filter_map(|r| r.hub.as_ref().map(|h| (r.workers, h.median.p50_us)))
            .collect();
        if let (Some(first), Some(last)) = (hub_offer.first(), hub_offer.last())
            && first.0 != last.0
        {
            let growth = last.1 as f64 / first.1.max(1) as f64;
            writeln!(
                md,
                "| time to choose a worker does not grow with workers (p50 at {} vs {}) | {} ms vs {} ms ({growth:.2}×) | {} |",
                first.0,
                last.0,
                ms(first.1),
                ms(last.1),
                verdict(Some(growth <= 1.2))
            )?;
        } else {
            writeln!(
                md,
                "| time to choose a worker does not grow with workers | measured at one size only | n/a |"
            )?;
        }
        if let Some(s) = &self.storm {
            let t99 = stats::median_f64(s.result.runs.iter().map(|r| r.t99_ms).collect());
            let bad: u64 = s.result.runs.iter().map(|r| r.gaps + r.duplicates).sum();
            let ok = (s.workers >= 10_000).then_some(t99 < 5000.0 && bad == 0);
            writeln!(
                md,
                "| reconnect storm of 10,000: 99% resumed < 5 s, zero gaps or duplicates | {} workers: 99% in {:.0} ms, {} gaps + duplicates | {} |",
                s.workers,
                t99,
                bad,
                verdict(ok)
            )?;
        }
        writeln!(md)?;
        Ok(())
    }

    fn write_offer(&self, md: &mut String) -> std::fmt::Result {
        if self.offer.is_empty() {
            return Ok(());
        }
        writeln!(md, "## 1. Time to offer")?;
        writeln!(md)?;
        writeln!(
            md,
            "N available workers; λ new conversations per second, each a customer saying \"I want to talk to a person\" (the connection is opened 300 ms before). Latency: from the message's scheduled send to the `offer` frame on a worker's socket (the first offer of each conversation). Workers decline 20% of offers and let 5% time out (1 s), accept the rest and resolve after 500 ms. P0 and P1: the same one hop, a customer's line delivered to one of the N workers chosen by the server (round robin; a NATS queue group). Milliseconds."
        )?;
        writeln!(md)?;
        writeln!(
            md,
            "| pinning | N | λ/s | hub p50 | hub p99 | hub p99.9 | P0 p50 | P0 p99 | P1 p50 | P1 p99 | hub/P0 p50 | hub/P0 p99 | hub/P1 p50 | hub/P1 p99 | hub CPU ms per conversation | accepted / declined / timed out / no offer |"
        )?;
        writeln!(
            md,
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        )?;
        for r in &self.offer {
            let h = r.hub.as_ref().map(|h| h.median);
            let f = r.floor.as_ref().map(|h| h.median);
            let n = r.nats.as_ref().map(|h| h.median);
            let cpu = r.hub.as_ref().and_then(|h| {
                let runs: Vec<f64> = h
                    .runs
                    .iter()
                    .filter_map(|run| {
                        run.server_cpu_s
                            .map(|c| c * 1000.0 / run.scheduled.max(1) as f64)
                    })
                    .collect();
                (!runs.is_empty()).then(|| stats::median_f64(runs))
            });
            let mix = r.hub.as_ref().map_or("n/a".to_string(), |h| {
                let sum = |f: fn(&super::jobs::OfferRun) -> u64| h.runs.iter().map(f).sum::<u64>();
                format!(
                    "{} / {} / {} / {}",
                    sum(|x| x.accepted),
                    sum(|x| x.declined),
                    sum(|x| x.timed_out),
                    sum(|x| x.missing)
                )
            });
            writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                pin(r.pinning),
                r.workers,
                r.rate,
                lat(h, |l| l.p50_us),
                lat(h, |l| l.p99_us),
                lat(h, |l| l.p999_us),
                lat(f, |l| l.p50_us),
                lat(f, |l| l.p99_us),
                lat(n, |l| l.p50_us),
                lat(n, |l| l.p99_us),
                rat(h, f, |l| l.p50_us),
                rat(h, f, |l| l.p99_us),
                rat(h, n, |l| l.p50_us),
                rat(h, n, |l| l.p99_us),
                fmt_opt(cpu),
                mix
            )?;
        }
        writeln!(md)?;
        Ok(())
    }

    fn write_relay(&self, md: &mut String) -> std::fmt::Result {
        if self.relay.is_empty() {
            return Ok(());
        }
        writeln!(md, "## 2. Relay")?;
        writeln!(md)?;
        let (pairs, window) = self.relay.first().map_or((0, 0), |r| (r.pairs, r.window));
        writeln!(
            md,
            "{pairs} conversations already assigned; customer ↔ worker lines (a customer `message`, a worker `reply`, alternating), each conversation shadowed by 0, 1 or 3 supervisors. First the highest sustained throughput (closed loop: every sender keeps {window} lines in flight, `--window`), then open-loop at 50% and 90% of the hub's maximum; P0 and P1 run at the **same absolute rates** as the hub (and their own maximum). Latency from scheduled send to the line on the other side. \"per CPU-s\": lines delivered (with shadow copies) per second of the server process's CPU (user + system, /proc)."
        )?;
        writeln!(md)?;
        writeln!(md, "### Highest throughput")?;
        writeln!(md)?;
        writeln!(
            md,
            "| pinning | shadows | hub lines/s | hub per CPU-s | hub p99 at max | P0 lines/s | P0 per CPU-s | P1 lines/s | P1 per CPU-s | load generator CPU, hub run |"
        )?;
        writeln!(md, "|---|---|---|---|---|---|---|---|---|---|")?;
        for r in &self.relay {
            let max = |x: &Option<RelayResult>| x.as_ref().map(|x| x.max.clone());
            let (h, f, n) = (max(&r.hub), max(&r.floor), max(&r.nats));
            writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                pin(r.pinning),
                r.shadows,
                tput(&h),
                per_cpu(&h),
                lat(h.as_ref().map(|h| h.median), |l| l.p99_us),
                tput(&f),
                per_cpu(&f),
                tput(&n),
                per_cpu(&n),
                h.as_ref().map_or("n/a".into(), |h| {
                    let cpu = stats::median_f64(
                        h.runs
                            .iter()
                            .map(|r| r.loadgen_cpu_s / r.wall_s.max(1e-9))
                            .collect(),
                    );
                    format!("{:.0}% of a core", cpu * 100.0)
                })
            )?;
        }
        writeln!(md)?;
        let tmpfs: Vec<&RelayRow> = self
            .relay
            .iter()
            .filter(|r| r.hub_tmpfs.is_some())
            .collect();
        if !tmpfs.is_empty() {
            writeln!(
                md,
                "Diagnostic, not a result: the same hub with its data directory on tmpfs (/dev/shm), where a flush costs nothing. Not durable across a machine crash; the gap to the durable runs above is what the disk still costs with group commit."
            )?;
            writeln!(md)?;
            writeln!(
                md,
                "| pinning | shadows | lines/s (max) | per CPU-s | p50, p99 at 50% | p50, p99 at 90% |"
            )?;
            writeln!(md, "|---|---|---|---|---|---|")?;
            for r in tmpfs {
                let t = r.hub_tmpfs.clone().map(|t| t.max);
                let level = |i: usize| {
                    r.hub_tmpfs.as_ref().and_then(|h| h.levels.get(i)).map_or(
                        "n/a".to_string(),
                        |l| {
                            format!(
                                "{} ms, {} ms (at {:.0}/s)",
                                ms(l.median.p50_us),
                                ms(l.median.p99_us),
                                l.rate
                            )
                        },
                    )
                };
                writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} |",
                    pin(r.pinning),
                    r.shadows,
                    tput(&t),
                    per_cpu(&t),
                    level(0),
                    level(1)
                )?;
            }
            writeln!(md)?;
        }
        writeln!(
            md,
            "### Latency at 50% and 90% of the hub's maximum, then at 1,000, 5,000 and 20,000 lines/s"
        )?;
        writeln!(md)?;
        writeln!(
            md,
            "| pinning | shadows | rate/s | hub p50 | hub p99 | P0 p50 | P0 p99 | P1 p50 | P1 p99 | hub/P0 p50 | hub/P0 p99 | hub/P1 p50 | hub/P1 p99 | delivered/s hub, P0, P1 |"
        )?;
        writeln!(
            md,
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        )?;
        for r in &self.relay {
            let levels = r.hub.as_ref().map_or(0, |h| h.levels.len());
            for i in 0..levels {
                let lv =
                    |x: &Option<RelayResult>| x.as_ref().and_then(|x| x.levels.get(i)).cloned();
                let (h, f, n) = (lv(&r.hub), lv(&r.floor), lv(&r.nats));
                let m = |x: &Option<RelayLevel>| x.as_ref().map(|x| x.median);
                let achieved = |x: &Option<RelayLevel>| {
                    x.as_ref()
                        .map_or("n/a".into(), |x| format!("{:.0}", x.achieved))
                };
                writeln!(
                    md,
                    "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}, {}, {} |",
                    pin(r.pinning),
                    r.shadows,
                    h.as_ref().map_or(0.0, |h| h.rate),
                    lat(m(&h), |l| l.p50_us),
                    lat(m(&h), |l| l.p99_us),
                    lat(m(&f), |l| l.p50_us),
                    lat(m(&f), |l| l.p99_us),
                    lat(m(&n), |l| l.p50_us),
                    lat(m(&n), |l| l.p99_us),
                    rat(m(&h), m(&f), |l| l.p50_us),
                    rat(m(&h), m(&f), |l| l.p99_us),
                    rat(m(&h), m(&n), |l| l.p50_us),
                    rat(m(&h), m(&n), |l| l.p99_us),
                    achieved(&h),
                    achieved(&f),
                    achieved(&n)
                )?;
            }
        }
        writeln!(md)?;
        Ok(())
    }

    fn write_memory(&self, md: &mut String) -> std::fmt::Result {
        if self.memory.is_empty() {
            return Ok(());
        }
        writeln!(md, "## 3. Memory per idle connection")?;
        writeln!(md)?;
        writeln!(
            md,
            "Idle connections added in steps, each step by its own load-generator process from its own 127.0.0.x address; the server's VmRSS (/proc/PID/status) after each step. Hub connections are logged-in workers gone `available`; P0's say `hello`; P1's `CONNECT` and `SUB`. The slope is a least-squares fit of RSS over connections from the first step on (the first step pays one-off costs, so a short `--quick` ramp and a full one measure the same thing: what one more idle connection costs)."
        )?;
        writeln!(md)?;
        writeln!(
            md,
            "| server | KiB per connection | vs P0 | RSS (MiB) at connections |"
        )?;
        writeln!(md, "|---|---|---|---|")?;
        let floor = self
            .memory
            .iter()
            .find(|m| m.label == "P0 floor")
            .and_then(|m| m.kib_per_connection);
        for m in &self.memory {
            let points = m
                .points
                .iter()
                .map(|(n, kib)| format!("{:.1} @ {n}", *kib as f64 / 1024.0))
                .collect::<Vec<_>>()
                .join(", ");
            writeln!(
                md,
                "| {} | {} | {} | {} |",
                m.label,
                fmt_opt(m.kib_per_connection),
                ratio(m.kib_per_connection, floor),
                points
            )?;
        }
        writeln!(md)?;
        Ok(())
    }

    fn write_instructions(&self, md: &mut String) -> std::fmt::Result {
        if self.instructions.is_empty() {
            return Ok(());
        }
        writeln!(md, "## 5. Instructions per relayed line (callgrind)")?;
        writeln!(md)?;
        writeln!(
            md,
            "Counted, not timed, so other load on the machine does not move it: each server runs under `valgrind --tool=callgrind` and is loaded at 60 and then at 180 lines/s for 10 s (16 conversations, no shadows); a line's cost is the difference of the two counts over the difference of the lines sent, so start-up and per-second work cancel out. The floor reads with a 4 KiB buffer here (the hub's is 2 KiB) (tungstenite's default zero-fills 128 KiB before each read, and that, not relaying, was most of its count). At these rates most hub commits hold one line, so the hub's figure carries a whole durable commit per line; at real loads commits are shared."
        )?;
        writeln!(md)?;
        writeln!(
            md,
            "| server | instructions per line | vs P0 | lines, instructions (low) | lines, instructions (high) |"
        )?;
        writeln!(md, "|---|---|---|---|---|")?;
        let floor = self.instructions_of(Target::Floor);
        for r in &self.instructions {
            let point = |i: usize| {
                r.points
                    .get(i)
                    .map_or("n/a".into(), |(l, n)| format!("{l}, {n}"))
            };
            writeln!(
                md,
                "| {} | {:.0} | {} | {} | {} |",
                r.target.label(),
                r.per_line,
                ratio(Some(r.per_line), floor),
                point(0),
                point(1)
            )?;
        }
        writeln!(md)?;
        Ok(())
    }

    fn write_storm(&self, md: &mut String) -> std::fmt::Result {
        let Some(s) = &self.storm else {
            return Ok(());
        };
        writeln!(md, "## 4. Reconnect storm")?;
        writeln!(md)?;
        writeln!(
            md,
            "{} logged-in workers ({}). Each run: every worker sends a `set_status` and drops its connection without reading the answer; all reconnect at once with `hello` + `resume {{stream, last_seq}}`, check the replay's `seq` and re-send the command with its original id (the outbox rule). \"Resumed\" = `welcome` with `resumed: true`, the replay, and the answer to the re-sent command. A gap is a jump in `seq` (or the command lost); a duplicate is a repeated `seq` (or the command applied twice).",
            s.workers,
            s.pinning.label()
        )?;
        writeln!(md)?;
        writeln!(
            md,
            "| run | 50% resumed (ms) | 99% (ms) | 100% (ms) | resumed | snapshot instead | failed | gaps | duplicates | stream frames after resume | hub CPU s |"
        )?;
        writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|")?;
        for (i, r) in s.result.runs.iter().enumerate() {
            writeln!(
                md,
                "| {} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {} |",
                i + 1,
                r.t50_ms,
                r.t99_ms,
                r.t100_ms,
                r.resumed,
                r.not_resumed,
                r.failed,
                r.gaps,
                r.duplicates,
                r.replayed,
                fmt_opt(r.server_cpu_s)
            )?;
        }
        writeln!(md)?;
        Ok(())
    }
}

/// The console's criterion results, read from target/criterion.
fn write_console(md: &mut String) -> std::fmt::Result {
    writeln!(md, "{CONSOLE_HEADING}")?;
    writeln!(md)?;
    let estimates = [
        (
            "first frame, minimal ratatui program (reference)",
            "console_first_frame/minimal_ratatui",
        ),
        (
            "first frame, console (80x24)",
            "console_first_frame/console_80x24",
        ),
        (
            "render, 10-message transcript at 200x60",
            "console_transcript/10_messages_200x60",
        ),
        (
            "render, 10,000-message transcript at 200x60",
            "console_transcript/10000_messages_200x60",
        ),
    ];
    let found: Vec<(&str, Option<f64>)> = estimates
        .iter()
        .map(|(label, dir)| (*label, criterion_mean_ns(dir)))
        .collect();
    if found.iter().all(|(_, v)| v.is_none()) {
        writeln!(
            md,
            "No criterion results found under target/criterion: run `cargo bench --bench console` first."
        )?;
        writeln!(md)?;
        return Ok(());
    }
    writeln!(
        md,
        "From `cargo bench --bench console` (criterion's mean estimates in target/criterion), on the same machine."
    )?;
    writeln!(md)?;
    writeln!(md, "| benchmark | mean |")?;
    writeln!(md, "|---|---|")?;
    for (label, v) in &found {
        writeln!(
            md,
            "| {label} | {} |",
            v.map_or("n/a".into(), |ns| format!("{:.1} µs", ns / 1000.0))
        )?;
    }
    let ratio_of = |a: usize, b: usize| found[a].1.zip(found[b].1).map(|(x, y)| x / y);
    writeln!(
        md,
        "| first frame, console ÷ minimal (target ≤ 2) | {} |",
        fmt_opt(ratio_of(1, 0))
    )?;
    writeln!(
        md,
        "| transcript 10,000 ÷ 10 (target ≤ 1.2) | {} |",
        fmt_opt(ratio_of(3, 2))
    )?;
    if let Some(mem) = std::fs::read_to_string("target/criterion/console_memory.json")
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
    {
        let mib = |k: &str| mem[k].as_f64().map(|kib| kib / 1024.0);
        writeln!(
            md,
            "| 50 open conversations of {} lines, drawn at 200x60: resident set of the whole benchmark process (target: under 30 MB) | {} MiB ({} MiB more than before building them) |",
            mem["messages_per_conversation"],
            fmt_opt(mib("rss_after_kib")),
            fmt_opt(mib("rss_delta_kib"))
        )?;
    }
    writeln!(md)?;
    Ok(())
}

/// Replace the console section of an existing BENCHMARKS.md with the latest criterion
/// results (after `cargo bench --bench console`), leaving everything else as it is.
pub fn refresh_console(path: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let start = text
        .find(CONSOLE_HEADING)
        .with_context(|| format!("{} has no console section", path.display()))?;
    let end = text[start..]
        .find("\n## ")
        .map_or(text.len(), |i| start + i + 1);
    let mut section = String::new();
    write_console(&mut section)?;
    let updated = format!("{}{}{}", &text[..start], section, &text[end..]);
    std::fs::write(path, updated).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

const CONSOLE_HEADING: &str = "## Console (criterion)";

/// The commit this binary is run from, if it is run from a git checkout.
fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The hand-written part of an existing file (from the marker on, the marker excluded).
fn kept_part(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let at = text.find(KEEP_MARKER)?;
    Some(text[at + KEEP_MARKER.len()..].to_string())
}

fn criterion_mean_ns(bench: &str) -> Option<f64> {
    let path = format!("target/criterion/{bench}/new/estimates.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

fn fmt_opt(v: Option<f64>) -> String {
    v.filter(|v| v.is_finite())
        .map_or_else(|| "n/a".into(), |v| format!("{v:.2}"))
}

fn pin(p: Option<Pinning>) -> &'static str {
    match p {
        Some(Pinning::Pinned) => "pinned",
        Some(Pinning::Unpinned) => "unpinned",
        None => "n/a",
    }
}

fn lat(l: Option<Latency>, f: fn(&Latency) -> u64) -> String {
    l.filter(|l| l.count > 0)
        .map_or_else(|| "n/a".into(), |l| ms(f(&l)))
}

fn rat(a: Option<Latency>, b: Option<Latency>, f: fn(&Latency) -> u64) -> String {
    let v = |l: Option<Latency>| l.filter(|l| l.count > 0).map(|l| f(&l) as f64);
    ratio(v(a), v(b))
}

fn tput(l: &Option<RelayLevel>) -> String {
    l.as_ref()
        .map_or_else(|| "n/a".into(), |l| format!("{:.0}", l.achieved))
}

fn per_cpu(l: &Option<RelayLevel>) -> String {
    l.as_ref()
        .map(|l| stats::median_f64(l.runs.iter().filter_map(|r| r.per_cpu_s()).collect()))
        .filter(|v| *v > 0.0)
        .map_or_else(|| "n/a".into(), |v| format!("{v:.0}"))
}
