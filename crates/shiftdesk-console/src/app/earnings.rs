//! Pay: the running estimate of this shift's earnings (the hub computes it from its rate card
//! and sends it with the status), shown in the status bar unless the worker hides it, its lines
//! in the shift summary, and the history of the last shifts.

use shiftdesk_protocol::{Millis, ShiftRecord, WorkerCommand, format_money};

use super::{App, Command, ConnState, InfoLine, InfoView, Level, Modal, fmt_duration};

impl App {
    /// `earnings.toggle`: show or hide the estimate in the status bar.
    pub(super) fn toggle_earnings(&mut self) {
        self.hide_earnings = !self.hide_earnings;
        if self.shift.stats.earnings.is_none() {
            self.note(
                Level::Info,
                "This hub has no rate card: there are no earnings to show.",
            );
        }
    }

    /// The estimate for the status bar, if there is one and it is not hidden.
    pub fn earnings_shown(&self) -> Option<String> {
        let e = self.shift.stats.earnings.as_ref()?;
        (!self.hide_earnings).then(|| format!("≈ {}", format_money(e.total, &e.currency)))
    }

    /// `shift.history`: ask the hub; the list opens when it arrives.
    pub(super) fn ask_shift_history(&mut self, out: &mut Vec<Command>) {
        if self.conn != ConnState::Connected {
            self.note(
                Level::Info,
                "Not connected: the shift history comes from the hub.",
            );
            return;
        }
        self.send(WorkerCommand::ShiftHistory, out);
    }

    pub(super) fn shift_history_arrived(&mut self, shifts: Vec<ShiftRecord>) {
        let mut lines = Vec::new();
        if shifts.is_empty() {
            lines.push(InfoLine::Text(
                "No shift has ended yet: a shift is recorded when you go offline.".into(),
            ));
        }
        for (i, s) in shifts.iter().enumerate() {
            if i > 0 {
                lines.push(InfoLine::Blank);
            }
            let pay = s
                .earnings
                .as_ref()
                .map(|e| format!(" · {}", format_money(e.total, &e.currency)))
                .unwrap_or_default();
            lines.push(InfoLine::Heading(format!(
                "{} – {} UTC · {}{pay}",
                utc(s.start),
                &utc(s.end)[11..],
                fmt_duration(s.end.saturating_sub(s.start)),
            )));
            lines.push(InfoLine::Text(format!(
                "available {} · engaged {} · break {} · {} conversation(s)",
                fmt_duration(s.available_ms),
                fmt_duration(s.engaged_ms),
                fmt_duration(s.break_ms),
                s.conversations
            )));
            if let Some(e) = &s.earnings {
                for line in &e.lines {
                    lines.push(InfoLine::Detail(format!(
                        "  {} = {}",
                        line.label,
                        format_money(line.amount, &e.currency)
                    )));
                }
            }
        }
        if self.modal.is_none() || matches!(self.modal, Some(Modal::Info(_) | Modal::Summary)) {
            self.modal = Some(Modal::Info(InfoView {
                title: format!(" Shift history · last {} ", shifts.len()),
                lines,
                scroll: 0,
            }));
        }
    }
}

/// `2026-12-07 09:05` (UTC) from milliseconds since the epoch.
pub fn utc(ms: Millis) -> String {
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil-from-days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rest / 3600,
        (rest % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00");
        assert_eq!(super::utc(1_700_000_000_000), "2023-11-14 22:13");
        assert_eq!(super::utc(1_709_208_000_000), "2024-02-29 12:00");
    }
}
