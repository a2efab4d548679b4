//! The worker's shift: the availability status the hub reports and the worker changes (going
//! offline with open conversations asks first), when the shift began and ended, and the
//! summary shown when it ends and printed when the console closes.

use shiftdesk_protocol::{Millis, WorkerCommand, WorkerStats, WorkerStatus};

use super::{App, Command, Level, Modal, fmt_duration};
use crate::keymap::Action;

/// The worker's shift, as the hub reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    pub status: WorkerStatus,
    /// Since when (console clock) the status holds.
    pub since: Millis,
    pub stats: WorkerStats,
    /// When this shift started (console clock), if the worker has been on shift.
    pub started_at: Option<Millis>,
    /// When the last shift ended.
    pub ended_at: Option<Millis>,
    /// Working (available or draining) without a break since then (console clock).
    pub working_since: Option<Millis>,
    /// When the break reminder last went off during this stretch of work.
    pub reminded_at: Option<Millis>,
}

impl Shift {
    /// Offline, as a console starts before it hears from the hub.
    pub(super) fn new(now: Millis) -> Shift {
        Shift {
            status: WorkerStatus::Offline,
            since: now,
            stats: WorkerStats::default(),
            started_at: None,
            ended_at: None,
            working_since: None,
            reminded_at: None,
        }
    }

    /// Time on shift so far, or of the shift that ended.
    fn on_shift_ms(&self, now: Millis) -> u64 {
        let Some(start) = self.started_at else {
            return 0;
        };
        let end = if self.status == WorkerStatus::Offline {
            self.ended_at.unwrap_or(now)
        } else {
            now
        };
        end.saturating_sub(start)
    }
}

/// The figures printed when the console closes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShiftSummary {
    pub worker: String,
    pub stats: WorkerStats,
    /// Time on shift in this console session, in milliseconds.
    pub on_shift_ms: u64,
}

impl ShiftSummary {
    /// Average handle time, if anything was handled.
    pub fn average_handle_ms(&self) -> Option<u64> {
        (self.stats.handled > 0).then(|| self.stats.handle_ms_total / u64::from(self.stats.handled))
    }

    /// Offers accepted out of offers answered or missed, in percent.
    pub fn acceptance_percent(&self) -> Option<u32> {
        let s = &self.stats;
        let total = s.offers_accepted + s.offers_declined + s.offers_missed;
        (total > 0).then(|| (s.offers_accepted * 100 + total / 2) / total)
    }

    /// The summary as lines of (label, value).
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let s = &self.stats;
        vec![
            ("Time on shift", fmt_duration(self.on_shift_ms)),
            ("Conversations handled", s.handled.to_string()),
            (
                "Average handle time",
                self.average_handle_ms()
                    .map(fmt_duration)
                    .unwrap_or_else(|| "-".into()),
            ),
            (
                "Drafts",
                format!(
                    "{} accepted, {} edited, {} rejected, {} regenerated",
                    s.drafts_accepted, s.drafts_edited, s.drafts_rejected, s.drafts_regenerated
                ),
            ),
            (
                "Offers",
                format!(
                    "{} accepted, {} declined, {} missed",
                    s.offers_accepted, s.offers_declined, s.offers_missed
                ),
            ),
            (
                "Acceptance rate",
                self.acceptance_percent()
                    .map(|p| format!("{p}%"))
                    .unwrap_or_else(|| "-".into()),
            ),
        ]
        .into_iter()
        .chain(self.earnings_rows())
        .collect()
    }

    /// The earnings estimate and its lines, when the hub has a rate card.
    fn earnings_rows(&self) -> Vec<(&'static str, String)> {
        let Some(e) = &self.stats.earnings else {
            return Vec::new();
        };
        let mut rows = vec![(
            "Earnings (estimate)",
            shiftdesk_protocol::format_money(e.total, &e.currency),
        )];
        for line in &e.lines {
            rows.push((
                "",
                format!(
                    "{} = {}",
                    line.label,
                    shiftdesk_protocol::format_money(line.amount, &e.currency)
                ),
            ));
        }
        rows
    }
}

impl std::fmt::Display for ShiftSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.worker.is_empty() {
            writeln!(f, "shiftdesk: shift summary")?;
        } else {
            writeln!(f, "shiftdesk: shift summary for {}", self.worker)?;
        }
        for (label, value) in self.rows() {
            writeln!(f, "  {label:<22} {value}")?;
        }
        Ok(())
    }
}

impl App {
    pub fn summary(&self) -> ShiftSummary {
        ShiftSummary {
            worker: self.me.as_ref().map(|m| m.name.clone()).unwrap_or_default(),
            stats: self.shift.stats.clone(),
            on_shift_ms: self.shift.on_shift_ms(self.now),
        }
    }

    /// The hub's word on the status (at login and whenever it changes). The summary opens when
    /// a shift ends and closes when the next begins.
    pub(super) fn set_status(
        &mut self,
        status: WorkerStatus,
        since: Option<Millis>,
        stats: WorkerStats,
    ) {
        let was = self.shift.status;
        self.shift.since = since.map(|s| self.to_local(s)).unwrap_or(self.now);
        let working =
            |s: WorkerStatus| matches!(s, WorkerStatus::Available | WorkerStatus::Draining);
        if !working(status) {
            self.shift.working_since = None;
            self.shift.reminded_at = None;
        } else if !working(was) || self.shift.working_since.is_none() {
            self.shift.working_since = Some(self.shift.since.min(self.now));
        }
        self.shift.stats = stats;
        self.shift.status = status;
        if status != WorkerStatus::Offline && self.shift.started_at.is_none() {
            // A console started mid-shift counts from when the status began.
            self.shift.started_at = Some(self.shift.since.min(self.now));
            self.shift.ended_at = None;
        }
        if status == WorkerStatus::Offline
            && was != WorkerStatus::Offline
            && let Some(start) = self.shift.started_at
        {
            self.shift.ended_at = Some(self.now.max(start));
            if self.modal.is_none() {
                self.modal = Some(Modal::Summary);
            }
        }
        if status != WorkerStatus::Offline && was == WorkerStatus::Offline {
            if self.shift.ended_at.is_some() {
                // A new shift after a summary.
                self.shift.started_at = Some(self.now);
                self.shift.ended_at = None;
            }
            if matches!(self.modal, Some(Modal::Summary)) {
                self.modal = None;
            }
        }
    }

    /// On each tick: after `break_reminder_ms` of work without a break (and again after each
    /// further stretch as long), a notice, the bell and, if on, a desktop notification.
    pub(super) fn break_reminder(&mut self, out: &mut Vec<Command>) {
        let every = self.options.break_reminder_ms;
        let Some(since) = self.shift.working_since else {
            return;
        };
        if every == 0 {
            return;
        }
        let from = self.shift.reminded_at.unwrap_or(since);
        if self.now.saturating_sub(from) < every {
            return;
        }
        self.shift.reminded_at = Some(self.now);
        let key = self.key_hint(Action::ShiftBreak);
        let text = format!(
            "Break reminder: {} on shift without a break. Press {key} to take one.",
            fmt_duration(self.now.saturating_sub(since))
        );
        self.notice = Some(super::Notice {
            text: text.clone(),
            level: Level::Warn,
            until: self.now + super::NOTICE_MS * 5,
        });
        self.dirty = true;
        out.push(Command::Notify(super::Notification {
            bell: self.options.bell,
            desktop: self.options.notify.then(|| ("shiftdesk".to_string(), text)),
        }));
    }

    /// Ask the hub for another status.
    pub(super) fn change_status(&mut self, status: WorkerStatus, out: &mut Vec<Command>) {
        if self.shift.status == status {
            self.note(Level::Info, format!("You are already {}.", status.label()));
            return;
        }
        let command = WorkerCommand::SetStatus { status };
        self.send(command, out);
        if self
            .modal
            .as_ref()
            .is_some_and(|m| matches!(m, Modal::Summary))
            && status != WorkerStatus::Offline
        {
            self.modal = None;
        }
    }

    /// Going offline gives open conversations back to the queue: with any open, only on a
    /// second press.
    pub(super) fn go_offline(&mut self, out: &mut Vec<Command>) {
        let open = self.open_count();
        if open > 0 && self.shift.status != WorkerStatus::Offline && !self.arm(Action::ShiftOffline)
        {
            let again = self.key_hint(Action::ShiftOffline);
            let drain = self.key_hint(Action::ShiftDrain);
            self.note(
                Level::Warn,
                format!(
                    "{open} open conversation(s) would go back to the queue. Press {again} again to go offline, or {drain} to finish them first."
                ),
            );
            return;
        }
        self.change_status(WorkerStatus::Offline, out);
    }

    pub(super) fn status_refused(&mut self, status: WorkerStatus, message: &str) {
        self.note(
            Level::Error,
            format!("Could not change status to {}: {message}", status.label()),
        );
    }

    /// Show or hide the summary (over the main screen; never over text being written).
    pub(super) fn toggle_summary(&mut self) {
        self.modal = match self.modal.take() {
            Some(Modal::Summary) => None,
            Some(other @ (Modal::Editor(_) | Modal::Prompt(_))) => Some(other),
            _ => Some(Modal::Summary),
        };
    }
}
