//! The several-hubs section of the report and its keys on the `ratios:` line.

use std::fmt::Write as _;

use super::{Results, fmt_opt, lat};
use crate::jobs::{OfferResult, RelayLevel, RelayResult, RelayRun};
use crate::procs::Pinning;
use crate::stats::{Latency, median_f64, ratio};

/// How many hubs share the store, one count after the other.
pub const HUB_COUNTS: [usize; 3] = [1, 2, 3];

/// The relay's fixed open-loop rate with several hubs, lines per second: the same for every
/// count of hubs, so their latencies compare (beside half of each one's own maximum).
pub const HUBS_RELAY_RATE: f64 = 1_000.0;

/// The target: time to offer across hubs, p99, at most this many times that of one SQLite hub.
const OFFER_TARGET: f64 = 2.0;

/// One count of hubs on the shared store.
#[derive(Debug, Default)]
pub struct HubsRow {
    pub hubs: usize,
    pub relay: Option<RelayResult>,
    pub offer: Option<OfferResult>,
    /// What failed, measurement by measurement.
    pub errors: Vec<String>,
}

/// The several-hubs scenario.
#[derive(Debug, Default)]
pub struct HubsResults {
    pub pinning: Option<Pinning>,
    pub pairs: usize,
    pub window: usize,
    /// Available workers and conversations per second of the time-to-offer jobs.
    pub workers: usize,
    pub rate: f64,
    pub rows: Vec<HubsRow>,
    /// The same time-to-offer job on one hub with its own SQLite store.
    pub sqlite_offer: Option<OfferResult>,
    pub sqlite_error: Option<String>,
    /// Three hubs, the writer SIGKILLed again and again: from each kill to the next offer a
    /// worker received, in milliseconds, in the order measured.
    pub failover_ms: Vec<u64>,
    pub failover_error: Option<String>,
}

impl HubsResults {
    fn row(&self, hubs: usize) -> Option<&HubsRow> {
        self.rows.iter().find(|r| r.hubs == hubs)
    }

    fn sqlite_p99(&self) -> Option<f64> {
        offer_p99(self.sqlite_offer.as_ref())
    }

    /// Offer p99 across hubs ÷ the SQLite hub's, for each count of two or more hubs.
    fn offer_ratios(&self) -> Vec<(usize, Option<f64>)> {
        let sqlite = self.sqlite_p99();
        self.rows
            .iter()
            .filter(|r| r.hubs >= 2)
            .map(|r| {
                let across = offer_p99(r.offer.as_ref());
                (r.hubs, across.zip(sqlite).map(|(a, s)| a / s))
            })
            .collect()
    }
}

fn offer_p99(offer: Option<&OfferResult>) -> Option<f64> {
    offer
        .filter(|o| o.median.count > 0)
        .map(|o| o.median.p99_us as f64)
}

/// The relay's open-loop level at `rate`, if it was run (it is not above the maximum).
fn level_at(relay: &RelayResult, rate: f64) -> Option<&RelayLevel> {
    relay.levels.iter().find(|l| l.rate == rate)
}

/// The writer's CPU per relayed line in a level's runs (the median), microseconds.
fn cpu_us_per_line(level: &RelayLevel) -> Option<f64> {
    let per_cpu_s: Vec<f64> = level.runs.iter().filter_map(RelayRun::per_cpu_s).collect();
    (!per_cpu_s.is_empty()).then(|| 1e6 / median_f64(per_cpu_s))
}

/// Issue 22's target for failover (the writer killed → the next offer), milliseconds.
const FAILOVER_TARGET_MS: u64 = 5000;

/// p50, p99 and the maximum of the failover times (nearest rank), if any were measured.
fn failover_summary(times: &[u64]) -> Option<(u64, u64, u64)> {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let rank =
        |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    (!sorted.is_empty()).then(|| (rank(0.5), rank(0.99), sorted[sorted.len() - 1]))
}

/// Which hub the customers and the workers are on, hubs numbered from 1 in start order.
fn layout(hubs: usize) -> String {
    match hubs {
        0 => "n/a".into(),
        1 => "both on hub 1 (writer)".into(),
        2 => "hub 2 (gateway) → hub 1 (writer)".into(),
        n => format!("hub {n} (gateway) → hub {} (gateway); hub 1 writes", n - 1),
    }
}

impl Results {
    /// `hubs_relay_max_N=… offer_p99_across_hubs_vs_sqlite=…`: `n/a` where not measured.
    pub(super) fn hubs_ratios(&self) -> String {
        let mut keys = Vec::new();
        for n in HUB_COUNTS {
            let max = self
                .hubs
                .as_ref()
                .and_then(|h| h.row(n))
                .and_then(|r| r.relay.as_ref())
                .map_or_else(|| "n/a".into(), |r| format!("{:.0}", r.max.achieved));
            keys.push(format!("hubs_relay_max_{n}={max}"));
        }
        // The worst of the counts with customers and workers on different hubs.
        let worst = self.hubs.as_ref().and_then(|h| {
            let ratios = h.offer_ratios();
            if ratios.is_empty() || ratios.iter().any(|(_, r)| r.is_none()) {
                return None;
            }
            ratios.iter().filter_map(|(_, r)| *r).reduce(f64::max)
        });
        keys.push(format!(
            "offer_p99_across_hubs_vs_sqlite={}",
            fmt_opt(worst)
        ));
        let failover = self
            .hubs
            .as_ref()
            .and_then(|h| failover_summary(&h.failover_ms))
            .map(|(_, p99, _)| p99.to_string());
        keys.push(format!(
            "failover_p99_ms={}",
            failover.unwrap_or_else(|| "n/a".into())
        ));
        keys.join(" ")
    }

    pub(super) fn write_hubs(&self, md: &mut String) -> std::fmt::Result {
        let Some(h) = &self.hubs else {
            return Ok(());
        };
        writeln!(md, "## 6. Several hubs on one PostgreSQL store")?;
        writeln!(md)?;
        writeln!(
            md,
            "1, 2 and 3 hubs on the `--store` database, started afresh for each measurement: the first as usual (it writes), the others with `--standby` (gateways: they forward every websocket frame to the writer). Customers connect to the last hub, workers to the one before it: with 2 hubs every customer line crosses a gateway; with 3 both sides do, and the writer takes no client connection. Hubs {}; PostgreSQL is not pinned. CPU per line is the writer's (user + system, /proc), whatever hub the clients are on. Relay: {} conversations, no shadows, the closed-loop maximum ({} lines in flight per sender), then open loop at 50% of that maximum and at {:.0} lines/s. Time to offer: {} available workers, {} conversations/s, the mix of section 1. The last row is the same time-to-offer job on one hub with its own SQLite store, in this run. Milliseconds.",
            match h.pinning {
                Some(Pinning::Pinned) => "all on CPU 0, the load generator on CPU 1",
                _ => "unpinned",
            },
            h.pairs,
            h.window,
            HUBS_RELAY_RATE,
            h.workers,
            h.rate
        )?;
        writeln!(md)?;
        writeln!(
            md,
            "| hubs | store | customers → workers | relay lines/s (max) | writer CPU µs per line at max | relay p99 at max | relay p50, p99 at 50% of max | relay p50, p99 at {:.0}/s | offer p50 | offer p99 | offer p99 ÷ SQLite | conversations without an offer |",
            HUBS_RELAY_RATE
        )?;
        writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|")?;
        let sqlite = h.sqlite_p99();
        let p50_p99 = |l: Option<&RelayLevel>| {
            l.filter(|l| l.median.count > 0).map_or_else(
                || "n/a".to_string(),
                |l| {
                    format!(
                        "{}, {} (at {:.0}/s)",
                        lat(Some(l.median), |x| x.p50_us),
                        lat(Some(l.median), |x| x.p99_us),
                        l.achieved
                    )
                },
            )
        };
        let offer_cells = |o: Option<&OfferResult>| {
            let m = o.map(|o| o.median);
            let missing = o.map_or_else(
                || "n/a".to_string(),
                |o| {
                    let scheduled: u64 = o.runs.iter().map(|r| r.scheduled).sum();
                    let missing: u64 = o.runs.iter().map(|r| r.missing).sum();
                    format!("{missing} of {scheduled}")
                },
            );
            (
                lat(m, |l| l.p50_us),
                lat(m, |l| l.p99_us),
                ratio(offer_p99(o), sqlite),
                missing,
            )
        };
        for r in &h.rows {
            let relay = r.relay.as_ref();
            let (p50, p99, vs, missing) = offer_cells(r.offer.as_ref());
            writeln!(
                md,
                "| {} | PostgreSQL | {} | {} | {} | {} | {} | {} | {p50} | {p99} | {vs} | {missing} |",
                r.hubs,
                layout(r.hubs),
                relay.map_or_else(|| "n/a".into(), |r| format!("{:.0}", r.max.achieved)),
                fmt_opt(relay.and_then(|r| cpu_us_per_line(&r.max))),
                lat(relay.map(|r| r.max.median), |l: &Latency| l.p99_us),
                p50_p99(relay.and_then(|r| r.levels.first())),
                p50_p99(relay.and_then(|r| level_at(r, HUBS_RELAY_RATE))),
            )?;
        }
        let (p50, p99, vs, missing) = offer_cells(h.sqlite_offer.as_ref());
        writeln!(
            md,
            "| 1 | SQLite | {} | not run | | | | | {p50} | {p99} | {vs} | {missing} |",
            layout(1)
        )?;
        writeln!(md)?;
        let ratios = h.offer_ratios();
        if !ratios.is_empty() {
            let measured = ratios
                .iter()
                .map(|(n, r)| format!("{n} hubs {}×", fmt_opt(*r)))
                .collect::<Vec<_>>()
                .join(", ");
            let verdict = if ratios.iter().any(|(_, r)| r.is_none()) {
                "n/a"
            } else if ratios
                .iter()
                .all(|(_, r)| r.is_some_and(|r| r <= OFFER_TARGET))
            {
                "met"
            } else {
                "**missed**"
            };
            writeln!(
                md,
                "Target: time to offer across hubs, p99, at most {OFFER_TARGET}× that of one SQLite hub in the same run: {measured}: {verdict}."
            )?;
            writeln!(md)?;
        }
        for r in &h.rows {
            for e in &r.errors {
                writeln!(md, "> {} hub(s), {e}", r.hubs)?;
                writeln!(md)?;
            }
        }
        if let Some(e) = &h.sqlite_error {
            writeln!(md, "> The SQLite hub's time to offer failed: {e}")?;
            writeln!(md)?;
        }
        if let Some((p50, p99, max)) = failover_summary(&h.failover_ms) {
            let verdict = if p99 < FAILOVER_TARGET_MS {
                "met"
            } else {
                "**missed**"
            };
            writeln!(
                md,
                "Failover: three hubs, the writer SIGKILLed {} times (each time started again as a standby); from the kill to the next offer a worker received (a new customer asking for a person, a new worker, on the hubs left): p50 {p50} ms, p99 {p99} ms, max {max} ms. Target: p99 under {FAILOVER_TARGET_MS} ms: {verdict}.",
                h.failover_ms.len()
            )?;
            writeln!(md)?;
        }
        if let Some(e) = &h.failover_error {
            writeln!(md, "> Failover: {e}")?;
            writeln!(md)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(p99_us: u64) -> OfferResult {
        OfferResult {
            median: Latency {
                count: 10,
                p50_us: p99_us / 2,
                p99_us,
                ..Latency::default()
            },
            ..OfferResult::default()
        }
    }

    fn relay(max: f64) -> RelayResult {
        RelayResult {
            max: RelayLevel {
                achieved: max,
                ..RelayLevel::default()
            },
            levels: Vec::new(),
        }
    }

    #[test]
    fn the_keys_are_there_measured_or_not() {
        let mut results = Results::default();
        assert_eq!(
            results.hubs_ratios(),
            "hubs_relay_max_1=n/a hubs_relay_max_2=n/a hubs_relay_max_3=n/a \
             offer_p99_across_hubs_vs_sqlite=n/a failover_p99_ms=n/a"
        );
        results.hubs = Some(HubsResults {
            rows: [(1, 9000.0, 4_000), (2, 6000.0, 6_000), (3, 5000.0, 9_000)]
                .into_iter()
                .map(|(hubs, max, p99)| HubsRow {
                    hubs,
                    relay: Some(relay(max)),
                    offer: Some(offer(p99)),
                    errors: Vec::new(),
                })
                .collect(),
            sqlite_offer: Some(offer(3_000)),
            failover_ms: vec![90, 60, 7000, 80, 70],
            ..HubsResults::default()
        });
        // The worst of 2 and 3 hubs: 9 ms ÷ 3 ms.
        assert_eq!(
            results.hubs_ratios(),
            "hubs_relay_max_1=9000 hubs_relay_max_2=6000 hubs_relay_max_3=5000 \
             offer_p99_across_hubs_vs_sqlite=3.00 failover_p99_ms=7000"
        );
        let mut md = String::new();
        results.write_hubs(&mut md).unwrap();
        assert!(
            md.contains("| 3 | PostgreSQL | hub 3 (gateway) → hub 2 (gateway)"),
            "{md}"
        );
        assert!(
            md.contains("2 hubs 2.00×, 3 hubs 3.00×: **missed**"),
            "{md}"
        );
        assert!(
            md.contains("SIGKILLed 5 times") && md.contains("p50 80 ms, p99 7000 ms, max 7000 ms"),
            "{md}"
        );
        assert!(md.contains("under 5000 ms: **missed**"), "{md}");
    }
}
