//! Shifts and what they earn: a clock per worker (time available, engaged, on break, and the
//! conversations resolved), kept by `apply` so a replay rebuilds it; a [`Fact::ShiftEnded`] with
//! the shift's record and earnings when the worker goes offline; the last [`HISTORY`] shifts per
//! worker; and the operator's rate card (`[rates]` in the hub config).

use serde::Deserialize;
use shiftdesk_protocol::{DecisionKind, Earnings, EarningsLine, ShiftRecord};

use super::offers::human_duration;
use super::*;

/// Shifts kept per worker for the console's history.
pub const HISTORY: usize = 30;

/// The operator's rate card: what a shift earns. Amounts are in the currency's main unit with
/// up to two decimals (`14.5` is 14.50).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateCard {
    /// ISO 4217 code, three capital letters.
    pub currency: String,
    /// Paid per hour with at least one conversation open.
    #[serde(default)]
    pub per_engaged_hour: f64,
    /// Paid per conversation resolved.
    #[serde(default)]
    pub per_conversation: f64,
    /// Added per conversation resolved in these languages, by code.
    #[serde(default)]
    pub language_premium: BTreeMap<String, f64>,
    /// Added per conversation resolved during the night hours, and per hour engaged (with at
    /// least one conversation open) during them.
    #[serde(default)]
    pub night_premium: f64,
    /// The night, in the hub's UTC hours: `[22, 6]` is 22:00 to 06:00.
    #[serde(default = "default_night")]
    pub night_hours: [u8; 2],
}

fn default_night() -> [u8; 2] {
    [22, 6]
}

/// Money in the minor unit (cents), from a main-unit amount.
fn cents(amount: f64) -> u64 {
    (amount * 100.0).round().max(0.0) as u64
}

fn money(minor: u64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

impl RateCard {
    /// What is wrong with it, if anything, in words for the config error.
    pub fn check(&self) -> Result<(), String> {
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "currency `{}`: three capital letters (ISO 4217), like EUR",
                self.currency
            ));
        }
        let amounts = [
            ("per_engaged_hour", self.per_engaged_hour),
            ("per_conversation", self.per_conversation),
            ("night_premium", self.night_premium),
        ];
        for (name, v) in amounts.into_iter().chain(
            self.language_premium
                .values()
                .map(|v| ("language_premium", *v)),
        ) {
            if !v.is_finite() || !(0.0..=100_000.0).contains(&v) {
                return Err(format!("{name} = {v}: an amount from 0 to 100000"));
            }
        }
        for code in self.language_premium.keys() {
            if Lang::from_code(code).is_none() {
                return Err(format!("language_premium: `{code}` is not a language code"));
            }
        }
        if self.night_hours.iter().any(|h| *h > 23) {
            return Err(format!(
                "night_hours = {:?}: two hours from 0 to 23",
                self.night_hours
            ));
        }
        if self.per_engaged_hour == 0.0 && self.per_conversation == 0.0 {
            return Err("set per_engaged_hour, per_conversation or both".into());
        }
        Ok(())
    }

    fn is_night(&self, at: Millis) -> bool {
        self.is_night_hour(((at / 3_600_000) % 24) as u8)
    }

    fn is_night_hour(&self, hour: u8) -> bool {
        let [from, to] = self.night_hours;
        if from <= to {
            (from..to).contains(&hour)
        } else {
            hour >= from || hour < to
        }
    }

    /// The card in plain words, one line per rate, for the explanation of a shift.
    pub fn in_words(&self) -> Vec<String> {
        let c = &self.currency;
        let mut lines = Vec::new();
        if self.per_engaged_hour > 0.0 {
            lines.push(format!(
                "{} {c} per hour with at least one conversation open (counted to the millisecond)",
                money(cents(self.per_engaged_hour))
            ));
        }
        if self.per_conversation > 0.0 {
            lines.push(format!(
                "{} {c} per conversation resolved",
                money(cents(self.per_conversation))
            ));
        }
        for (code, premium) in &self.language_premium {
            lines.push(format!(
                "+{} {c} per conversation resolved in {code}",
                money(cents(*premium))
            ));
        }
        if self.night_premium > 0.0 {
            let [from, to] = self.night_hours;
            let premium = money(cents(self.night_premium));
            lines.push(format!(
                "+{premium} {c} per hour engaged and per conversation resolved between \
                 {from:02}:00 and {to:02}:00 UTC"
            ));
        }
        lines
    }

    /// The earnings of a shift with these figures: `engaged` is the time with a conversation
    /// open, counted by the UTC hour of the day it fell in.
    pub fn earnings(&self, engaged: &EngagedByHour, handled: &[(Lang, Millis)]) -> Earnings {
        let engaged_ms = engaged.total();
        let mut lines = Vec::new();
        if self.per_engaged_hour > 0.0 {
            let rate = cents(self.per_engaged_hour);
            lines.push(EarningsLine {
                kind: "engaged_time".into(),
                label: format!(
                    "Engaged time {} × {}/h",
                    human_duration(engaged_ms),
                    money(rate)
                ),
                amount: (u128::from(rate) * u128::from(engaged_ms) / 3_600_000) as u64,
            });
        }
        let n = handled.len() as u64;
        if self.per_conversation > 0.0 {
            let rate = cents(self.per_conversation);
            lines.push(EarningsLine {
                kind: "conversations".into(),
                label: format!("Conversations {n} × {}", money(rate)),
                amount: rate * n,
            });
        }
        for (code, premium) in &self.language_premium {
            let count = handled
                .iter()
                .filter(|(lang, _)| lang.code() == code.as_str())
                .count() as u64;
            if count > 0 {
                let rate = cents(*premium);
                lines.push(EarningsLine {
                    kind: "language_premium".into(),
                    label: format!("Language premium {code} {count} × {}", money(rate)),
                    amount: rate * count,
                });
            }
        }
        if self.night_premium > 0.0 {
            let night_ms: u64 = (0u8..24)
                .filter(|h| self.is_night_hour(*h))
                .map(|h| engaged.0[usize::from(h)])
                .sum();
            if night_ms > 0 {
                let rate = cents(self.night_premium);
                lines.push(EarningsLine {
                    kind: "night_engaged_time".into(),
                    label: format!(
                        "Night premium, engaged {} × {}/h",
                        human_duration(night_ms),
                        money(rate)
                    ),
                    amount: (u128::from(rate) * u128::from(night_ms) / 3_600_000) as u64,
                });
            }
            let count = handled.iter().filter(|(_, at)| self.is_night(*at)).count() as u64;
            if count > 0 {
                let rate = cents(self.night_premium);
                lines.push(EarningsLine {
                    kind: "night_premium".into(),
                    label: format!("Night premium {count} × {}", money(rate)),
                    amount: rate * count,
                });
            }
        }
        Earnings {
            currency: self.currency.clone(),
            total: lines.iter().map(|l| l.amount).sum(),
            lines,
        }
    }
}

/// Time with a conversation open, by the UTC hour of the day it fell in (what a night
/// premium needs, whatever the night hours of the card that pays the shift).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngagedByHour(pub [u64; 24]);

impl EngagedByHour {
    /// Count `from..to` (milliseconds since the epoch), split at the hours.
    pub fn add(&mut self, from: Millis, to: Millis) {
        let mut at = from;
        while at < to {
            let next_hour = (at / 3_600_000 + 1) * 3_600_000;
            let end = next_hour.min(to);
            self.0[((at / 3_600_000) % 24) as usize] += end - at;
            at = end;
        }
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// A worker's shift so far.
#[derive(Debug, Clone, Default)]
pub(super) struct ShiftClock {
    start: Option<Millis>,
    last: Millis,
    /// What the time since `last` counts as.
    status: Option<WorkerStatus>,
    engaged: bool,
    available_ms: u64,
    engaged_by_hour: EngagedByHour,
    break_ms: u64,
    /// Conversations resolved: their language and when.
    handled: Vec<(Lang, Millis)>,
    /// Automated decisions about the worker, counted by kind.
    decisions: BTreeMap<String, u32>,
}

impl ShiftClock {
    /// Count the time up to `at` under the state it had.
    fn advance(&mut self, at: Millis) {
        let elapsed = at.saturating_sub(self.last);
        match self.status {
            Some(WorkerStatus::Available | WorkerStatus::Draining) => self.available_ms += elapsed,
            Some(WorkerStatus::Break) => self.break_ms += elapsed,
            _ => {}
        }
        if self.engaged && self.start.is_some() {
            self.engaged_by_hour.add(self.last, self.last + elapsed);
        }
        self.last = self.last.max(at);
    }
}

impl Dispatch {
    /// Use this rate card from now on (shifts that end later are paid by it).
    pub fn set_rates(&mut self, rates: Option<RateCard>) {
        self.rates = rates;
    }

    pub fn rates(&self) -> Option<&RateCard> {
        self.rates.as_ref()
    }

    /// After a fact changed a worker (from `apply`): count the time before it, then follow the
    /// worker's new status and load.
    pub(super) fn clock_after(&mut self, worker: &str, at: Millis) {
        let Some(w) = self.workers.get(worker) else {
            return;
        };
        let (status, engaged) = (w.status, !w.owned.is_empty());
        let clock = self.clocks.entry(worker.to_string()).or_default();
        clock.advance(at);
        if clock.start.is_none() && status != WorkerStatus::Offline {
            *clock = ShiftClock {
                start: Some(at),
                last: at,
                ..ShiftClock::default()
            };
        }
        clock.status = Some(status);
        clock.engaged = engaged;
    }

    /// A conversation this worker owned was resolved (from `apply`).
    pub(super) fn clock_handled(&mut self, worker: &str, language: Lang, at: Millis) {
        let clock = self.clocks.entry(worker.to_string()).or_default();
        if clock.start.is_some() {
            clock.handled.push((language, at));
        }
    }

    /// A decision about this worker was recorded (from `apply`): counted in the shift.
    pub(super) fn clock_decided(&mut self, worker: &str, kind: DecisionKind) {
        if let Some(clock) = self.clocks.get_mut(worker)
            && clock.start.is_some()
        {
            *clock.decisions.entry(kind.name().to_string()).or_default() += 1;
        }
    }

    /// The record of the worker's shift as it stands at `end`.
    fn shift_record(&self, worker: &str, end: Millis) -> Option<ShiftRecord> {
        let clock = self.clocks.get(worker)?;
        let start = clock.start?;
        let mut c = clock.clone();
        c.advance(end);
        Some(ShiftRecord {
            worker: worker.to_string(),
            start,
            end,
            available_ms: c.available_ms,
            engaged_ms: c.engaged_by_hour.total(),
            break_ms: c.break_ms,
            conversations: c.handled.len() as u32,
            earnings: self
                .rates
                .as_ref()
                .map(|r| r.earnings(&c.engaged_by_hour, &c.handled)),
            rate_card: self
                .rates
                .as_ref()
                .map(RateCard::in_words)
                .unwrap_or_default(),
            decisions: c.decisions,
        })
    }

    /// The earnings of the worker's current shift so far, or, once offline, of the shift that
    /// just ended (what the summary shows); `None` without a rate card.
    pub fn earnings_now(&self, worker: &str) -> Option<Earnings> {
        match self.shift_record(worker, self.now) {
            Some(shift) => shift.earnings,
            None => self
                .shift_history
                .get(worker)
                .and_then(|h| h.back())
                .and_then(|s| s.earnings.clone()),
        }
    }

    /// After recording a fact (from `record`): a worker who just went offline ends their shift,
    /// with its record in the log.
    pub(super) fn end_shift_if_over(&mut self, fact: &Fact, out: &mut Vec<Effect>) {
        let Fact::StatusChanged {
            worker,
            status: WorkerStatus::Offline,
            at,
        } = fact
        else {
            return;
        };
        if let Some(shift) = self.shift_record(worker, *at) {
            self.record(
                Fact::ShiftEnded {
                    worker: worker.clone(),
                    shift,
                    at: *at,
                },
                out,
            );
        }
    }

    /// A shift ended (from `apply`): into the history, and the clock starts over.
    pub(super) fn shift_ended(&mut self, worker: &str, shift: &ShiftRecord) {
        self.clocks.remove(worker);
        let history = self.shift_history.entry(worker.to_string()).or_default();
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(shift.clone());
    }

    /// The worker's last shifts, newest first.
    pub fn shifts_of(&self, worker: &str) -> Vec<ShiftRecord> {
        self.shift_history
            .get(worker)
            .map(|h| h.iter().rev().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> RateCard {
        RateCard {
            currency: "EUR".into(),
            per_engaged_hour: 14.0,
            per_conversation: 0.5,
            language_premium: [("ru".to_string(), 0.25)].into_iter().collect(),
            night_premium: 0.4,
            night_hours: [22, 6],
        }
    }

    #[test]
    fn earnings_have_a_line_per_rate() {
        // 23:00 UTC is night, 12:00 is not.
        let night = 23 * 3_600_000;
        let day = 12 * 3_600_000;
        // 90 minutes engaged by day (12:00 to 13:30).
        let mut engaged = EngagedByHour::default();
        engaged.add(day, day + 90 * 60_000);
        let e = card().earnings(&engaged, &[(Lang::Ru, night), (Lang::En, day)]);
        let lines: Vec<(&str, u64)> = e
            .lines
            .iter()
            .map(|l| (l.kind.as_str(), l.amount))
            .collect();
        assert_eq!(
            lines,
            [
                ("engaged_time", 2100),
                ("conversations", 100),
                ("language_premium", 25),
                ("night_premium", 40)
            ]
        );
        assert_eq!(e.total, 2265);
        assert_eq!(e.lines[0].label, "Engaged time 1h30m × 14.00/h");
    }

    #[test]
    fn the_night_premium_is_paid_on_engaged_time_at_night_too() {
        // Engaged 21:30 to 23:00 UTC: one hour of it in the night (from 22:00).
        let mut engaged = EngagedByHour::default();
        engaged.add(21 * 3_600_000 + 1_800_000, 23 * 3_600_000);
        assert_eq!(engaged.0[21], 1_800_000);
        assert_eq!(engaged.0[22], 3_600_000);
        let e = card().earnings(&engaged, &[(Lang::En, 22 * 3_600_000 + 60_000)]);
        let lines: Vec<(&str, u64)> = e
            .lines
            .iter()
            .map(|l| (l.kind.as_str(), l.amount))
            .collect();
        assert_eq!(
            lines,
            [
                ("engaged_time", 2100),
                ("conversations", 50),
                ("night_engaged_time", 40),
                ("night_premium", 40)
            ]
        );
        assert_eq!(e.lines[2].label, "Night premium, engaged 1h00m × 0.40/h");
        // Night hours that do not wrap: 0 to 6 is not 22:00.
        let early = RateCard {
            night_hours: [0, 6],
            ..card()
        };
        let e = early.earnings(&engaged, &[]);
        assert!(
            e.lines.iter().all(|l| !l.kind.starts_with("night")),
            "{e:?}"
        );
    }

    #[test]
    fn the_rate_card_in_words_has_a_line_per_rate() {
        assert_eq!(
            card().in_words(),
            [
                "14.00 EUR per hour with at least one conversation open (counted to the millisecond)",
                "0.50 EUR per conversation resolved",
                "+0.25 EUR per conversation resolved in ru",
                "+0.40 EUR per hour engaged and per conversation resolved between 22:00 and 06:00 UTC",
            ]
        );
    }

    #[test]
    fn a_bad_rate_card_says_what_is_wrong() {
        let bad = |f: fn(&mut RateCard)| {
            let mut c = card();
            f(&mut c);
            c.check().unwrap_err()
        };
        assert!(bad(|c| c.currency = "euro".into()).contains("ISO 4217"));
        assert!(bad(|c| c.per_conversation = -1.0).contains("per_conversation"));
        assert!(bad(|c| c.night_hours = [25, 6]).contains("night_hours"));
        assert!(
            bad(|c| {
                c.language_premium.insert("??".into(), 1.0);
            })
            .contains("not a language")
        );
        assert!(card().check().is_ok());
    }
}
