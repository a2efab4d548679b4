//! Planned shifts: 30-minute slots a worker books and releases, the demand expected in each
//! (from the last four weeks of conversations handed to a person), and moving a worker to
//! draining when the last slot they booked ends (recorded and explained as a decision).

use shiftdesk_protocol::{Decision, DecisionKind, Schedule, Slot};

use super::offers::human_duration;
use super::*;

const WEEK_MS: u64 = 7 * DAY_MS;
/// Weeks of arrivals the forecast averages.
const HISTORY_WEEKS: u64 = 4;
/// How far ahead a slot can be booked.
const AHEAD_MS: u64 = WEEK_MS;
/// Most slots in one schedule (a week of 30-minute slots; fewer days with shorter slots).
const MAX_SLOTS: u64 = 336;

impl Dispatch {
    fn slot_ms(&self) -> u64 {
        self.config.slot_ms.max(60_000)
    }

    /// The start of the slot `at` falls in.
    pub fn slot_start(&self, at: Millis) -> Millis {
        at - at % self.slot_ms()
    }

    /// A conversation was handed to a person (from `apply`): an arrival for the forecast.
    /// A week more than the forecast averages is kept, so that the oldest arrival kept shows
    /// whether the hub has recorded four whole weeks (see [`Dispatch::schedule`]).
    pub(super) fn arrival(&mut self, language: Lang, at: Millis) {
        self.arrivals.push_back((at, language));
        let horizon = at.saturating_sub((HISTORY_WEEKS + 1) * WEEK_MS);
        while self.arrivals.front().is_some_and(|(t, _)| *t < horizon) {
            self.arrivals.pop_front();
        }
    }

    /// The week from the current slot: what `worker` booked, how many booked each slot, and the
    /// demand expected per language.
    ///
    /// The history is made of whole weeks only: from the start of the slot of the oldest
    /// arrival the hub holds to the start of the current slot, at most four. Less than a week
    /// (a fresh store, arrivals from earlier today) is no history: `history_weeks` 0 and every
    /// forecast empty. With `n` weeks, a slot's forecast is what arrived in the same slot of
    /// each of those `n` weeks, averaged: each slot of the week occurs exactly `n` times in
    /// them.
    pub fn schedule(&self, worker: &str, now: Millis) -> Schedule {
        let slot = self.slot_ms();
        let first = self.slot_start(now);
        let oldest = self
            .arrivals
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| *t < first)
            .min();
        let history_weeks = oldest.map_or(0, |o| {
            (first.saturating_sub(self.slot_start(o)) / WEEK_MS).min(HISTORY_WEEKS)
        });
        // Arrivals of those whole weeks, by position in the week and language.
        let horizon = first.saturating_sub(history_weeks * WEEK_MS);
        let mut counts: BTreeMap<u64, BTreeMap<Lang, u32>> = BTreeMap::new();
        for (at, language) in self
            .arrivals
            .iter()
            .filter(|(t, _)| history_weeks > 0 && *t >= horizon && *t < first)
        {
            *counts
                .entry((at % WEEK_MS) / slot)
                .or_default()
                .entry(*language)
                .or_default() += 1;
        }
        let mine = self.bookings.get(worker);
        let slots = (0..(AHEAD_MS / slot).min(MAX_SLOTS))
            .map(|i| {
                let start = first + i * slot;
                let position = (start % WEEK_MS) / slot;
                let forecast = counts
                    .get(&position)
                    .map(|by_lang| {
                        by_lang
                            .iter()
                            .map(|(l, n)| (l.to_string(), *n as f32 / history_weeks as f32))
                            .collect()
                    })
                    .unwrap_or_default();
                Slot {
                    start,
                    booked: mine.is_some_and(|b| b.contains(&start)),
                    booked_workers: self.booked_count(start),
                    forecast,
                }
            })
            .collect();
        Schedule {
            slot_ms: slot,
            history_weeks: history_weeks as u32,
            slots,
        }
    }

    /// The next `n` slots from the current one, booked versus expected, for the wallboard;
    /// empty when no slot from now to a week ahead is booked and there is no history (as
    /// [`Dispatch::schedule`] counts it: whole weeks).
    pub fn slot_loads(&self, now: Millis, n: usize) -> Vec<shiftdesk_protocol::SlotLoad> {
        let week = self.schedule("", now);
        if week.history_weeks == 0 && week.slots.iter().all(|s| s.booked_workers == 0) {
            return Vec::new();
        }
        week.slots
            .into_iter()
            .take(n)
            .map(|s| shiftdesk_protocol::SlotLoad {
                start: s.start,
                booked: s.booked_workers,
                // Summed from 0.0: an empty sum of floats is -0.0, which JSON shows as `-0.0`.
                expected: s.forecast.values().fold(0.0, |total, n| total + n),
            })
            .collect()
    }

    fn booked_count(&self, start: Millis) -> u32 {
        self.bookings
            .values()
            .filter(|b| b.contains(&start))
            .count() as u32
    }

    pub(super) fn book_slot(
        &mut self,
        worker: &str,
        start: Millis,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let slot = self.slot_ms();
        if !start.is_multiple_of(slot) {
            return Err(Refusal::new(
                ErrorCode::BadField,
                format!(
                    "{start} is not the start of a slot (every {})",
                    human_duration(slot)
                ),
            ));
        }
        if start + slot <= now || start > now + AHEAD_MS {
            return Err(Refusal::new(
                ErrorCode::Conflict,
                "only slots from now to a week ahead can be booked",
            ));
        }
        if self
            .bookings
            .get(worker)
            .is_some_and(|b| b.contains(&start))
        {
            return Ok(());
        }
        self.record(
            Fact::SlotBooked {
                worker: worker.to_string(),
                start,
                at: now,
            },
            out,
        );
        Ok(())
    }

    pub(super) fn release_slot(
        &mut self,
        worker: &str,
        start: Millis,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        if !self
            .bookings
            .get(worker)
            .is_some_and(|b| b.contains(&start))
        {
            return Err(Refusal::new(
                ErrorCode::Conflict,
                "you have not booked that slot",
            ));
        }
        // Late: within a slot's length of its start, or after it began. Recorded for the
        // operator's figures; nothing automatic follows from it.
        let late = now + self.slot_ms() > start;
        self.record(
            Fact::SlotReleased {
                worker: worker.to_string(),
                start,
                late,
                at: now,
            },
            out,
        );
        Ok(())
    }

    /// From `apply`.
    pub(super) fn slot_booked(&mut self, worker: &str, start: Millis, booked: bool) {
        let slots = self.bookings.entry(worker.to_string()).or_default();
        if booked {
            slots.insert(start);
        } else {
            slots.remove(&start);
        }
        // Past slots are of no more use.
        let keep_from = self.now.saturating_sub(DAY_MS);
        slots.retain(|s| *s >= keep_from);
    }

    /// The end of the booked stretch of slots containing `at` (consecutive bookings join).
    fn booked_until(&self, worker: &str, at: Millis) -> Option<Millis> {
        let slots = self.bookings.get(worker)?;
        let slot = self.slot_ms();
        let mut start = self.slot_start(at);
        if !slots.contains(&start) {
            return None;
        }
        while slots.contains(&(start + slot)) {
            start += slot;
        }
        Some(start + slot)
    }

    /// The next end of a booked stretch, for a worker on shift: when the hub must look again.
    pub(super) fn next_slot_end(&self) -> Option<Millis> {
        let slot = self.slot_ms();
        self.bookings
            .iter()
            .filter(|(w, _)| {
                self.workers
                    .get(*w)
                    .is_some_and(|w| w.status == WorkerStatus::Available)
            })
            .flat_map(|(_, b)| {
                b.iter()
                    .map(move |s| s + slot)
                    .filter(move |end| !b.contains(end))
            })
            .filter(|end| *end > self.now)
            .min()
    }

    /// On a tick: workers available when their booked stretch ended are moved to draining (they
    /// finish their conversations and take no new ones), with the decision explained.
    pub(super) fn drain_at_slot_end(&mut self, now: Millis, out: &mut Vec<Effect>) {
        let slot = self.slot_ms();
        let since = self.slots_checked.max(now.saturating_sub(slot));
        self.slots_checked = now;
        let due: Vec<(WorkerId, Millis)> = self
            .bookings
            .iter()
            .filter(|(w, _)| {
                self.workers
                    .get(*w)
                    .is_some_and(|w| w.status == WorkerStatus::Available)
            })
            .filter_map(|(w, b)| {
                let end = b
                    .iter()
                    .map(|s| s + slot)
                    .filter(|end| *end > since && *end <= now && !b.contains(end))
                    .max()?;
                // Booked again from now on: keep working.
                self.booked_until(w, now)
                    .is_none()
                    .then(|| (w.clone(), end))
            })
            .collect();
        for (worker, end) in due {
            // As if the worker had pressed drain: the pending offer goes back, and with nothing
            // open they go offline at once.
            self.decide(
                &worker,
                Decision {
                    kind: DecisionKind::DrainedAtSlotEnd,
                    at: now,
                    conversation: None,
                    rule: "slot_end".into(),
                    params: [("slot_end".to_string(), end.to_string())]
                        .into_iter()
                        .collect(),
                    text: "Your booked slot ended, so you were moved to draining: you finish \
                           your open conversations and get no new offers, then go offline. Go \
                           available again to keep working; nothing else follows from it."
                        .into(),
                },
                out,
            );
            self.set_status(&worker, WorkerStatus::Draining, now, out);
        }
    }
}
