//! Latency histograms (HdrHistogram, microseconds), percentiles, medians across runs, the
//! least-squares slope used for memory per connection, and progress lines.

use std::io::Write as _;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// A progress line on stderr (stdout is for results).
pub fn progress(line: &str) {
    let mut err = std::io::stderr();
    let _ = writeln!(err, "{line}");
}

/// Highest latency a histogram holds (60 s, in µs); anything slower is recorded as 60 s.
const MAX_US: u64 = 60_000_000;

/// A new latency histogram: 1 µs to 60 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3)
        .expect("constant bounds satisfy low >= 1, high >= 2 * low, sigfig <= 5")
}

/// Record a latency in microseconds (clamped to the histogram's range).
pub fn record(h: &mut Histogram<u64>, micros: u64) {
    h.saturating_record(micros.clamp(1, MAX_US));
}

/// Merge `from` into `into` (same bounds, so it cannot fail in practice).
pub fn merge(into: &mut Histogram<u64>, from: &Histogram<u64>) {
    if into.add(from).is_err() {
        for v in from.iter_recorded() {
            into.saturating_record_n(v.value_iterated_to(), v.count_at_value());
        }
    }
}

/// The summary of one latency histogram, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub count: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            count: h.len(),
            p50_us: h.value_at_quantile(0.50),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        }
    }

    /// The median of each field across runs (runs without samples are left out).
    pub fn median(runs: &[Latency]) -> Latency {
        let runs: Vec<&Latency> = runs.iter().filter(|l| l.count > 0).collect();
        if runs.is_empty() {
            return Latency::default();
        }
        let pick = |f: fn(&Latency) -> u64| median_u64(runs.iter().map(|l| f(l)).collect());
        Latency {
            count: pick(|l| l.count),
            p50_us: pick(|l| l.p50_us),
            p99_us: pick(|l| l.p99_us),
            p999_us: pick(|l| l.p999_us),
            max_us: pick(|l| l.max_us),
        }
    }
}

/// The median of some numbers (the lower middle one for an even count); 0 for none.
pub fn median_u64(mut values: Vec<u64>) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    values[(values.len() - 1) / 2]
}

/// The median of some numbers (the mean of the two middle ones for an even count); 0 for none.
pub fn median_f64(mut values: Vec<f64>) -> f64 {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Least-squares slope of y over x; `None` with fewer than two distinct x.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Microseconds as milliseconds with two decimals, for tables.
pub fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

/// A ratio with two decimals, or `n/a` when either side is missing.
pub fn ratio(num: Option<f64>, den: Option<f64>) -> String {
    match (num, den) {
        (Some(n), Some(d)) if d > 0.0 && n.is_finite() => format!("{:.2}", n / d),
        _ => "n/a".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_medians() {
        let mut h = histogram();
        for v in 1..=1000 {
            record(&mut h, v);
        }
        let l = Latency::of(&h);
        assert_eq!(l.count, 1000);
        assert!((499..=501).contains(&l.p50_us), "{l:?}");
        assert!((989..=991).contains(&l.p99_us), "{l:?}");
        let m = Latency::median(&[
            Latency {
                p99_us: 5,
                count: 1,
                ..Latency::default()
            },
            Latency {
                p99_us: 1,
                count: 1,
                ..Latency::default()
            },
            Latency {
                p99_us: 9,
                count: 1,
                ..Latency::default()
            },
            Latency::default(),
        ]);
        assert_eq!(m.p99_us, 5);
        assert_eq!(median_f64(vec![1.0, 4.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn slope_of_a_line() {
        let s = slope(&[(0.0, 10.0), (100.0, 210.0), (200.0, 410.0)]).unwrap();
        assert!((s - 2.0).abs() < 1e-9);
        assert_eq!(slope(&[(1.0, 1.0)]), None);
        assert_eq!(ratio(Some(3.0), Some(2.0)), "1.50");
        assert_eq!(ratio(Some(3.0), None), "n/a");
    }
}
