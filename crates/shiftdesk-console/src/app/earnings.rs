//! Pay: the running estimate of this shift's earnings (the hub computes it from its rate card
//! and sends it with the status), shown in the status bar unless the worker hides it, its lines
//! in the shift summary, and the history of the last shifts, each explained on request.

use shiftdesk_protocol::{
    Decision, DecisionKind, Millis, ShiftRecord, WorkerCommand, format_money,
};

use super::explain::rule_line;
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

    pub(super) fn shift_history_arrived(
        &mut self,
        shifts: Vec<ShiftRecord>,
        decisions: Vec<Decision>,
    ) {
        if self.modal.is_none()
            || matches!(
                self.modal,
                Some(Modal::Info(_) | Modal::Summary | Modal::Shifts(_))
            )
        {
            self.shifts_back = None;
            self.modal = Some(Modal::Shifts(ShiftsView {
                shifts,
                decisions,
                selected: 0,
            }));
        }
    }

    /// `explain` in the shift history: how the selected shift was paid and the decisions
    /// recorded during it. Closing the explanation goes back to the history.
    pub(super) fn explain_shift(&mut self) {
        let Some(Modal::Shifts(view)) = self.modal.take() else {
            return;
        };
        let Some(shift) = view.shifts.get(view.selected) else {
            self.modal = Some(Modal::Shifts(view));
            return;
        };
        let info = InfoView {
            title: format!(" Why · shift of {} ", utc(shift.start)),
            lines: explain_lines(shift, &view.decisions),
            scroll: 0,
        };
        self.shifts_back = Some(view);
        self.modal = Some(Modal::Info(info));
    }
}

/// The shift history: the last shifts, newest first, one selected, and the latest decisions
/// the hub keeps about the worker, to explain them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftsView {
    pub shifts: Vec<ShiftRecord>,
    pub decisions: Vec<Decision>,
    pub selected: usize,
}

impl ShiftsView {
    pub fn title(&self) -> String {
        format!(" Shift history · last {} ", self.shifts.len())
    }

    /// The list as lines, the selected shift's heading marked.
    pub fn lines(&self) -> Vec<InfoLine> {
        let mut lines = Vec::new();
        if self.shifts.is_empty() {
            lines.push(InfoLine::Text(
                "No shift has ended yet: a shift is recorded when you go offline.".into(),
            ));
        }
        for (i, s) in self.shifts.iter().enumerate() {
            if i > 0 {
                lines.push(InfoLine::Blank);
            }
            let pay = s
                .earnings
                .as_ref()
                .map(|e| format!(" · {}", format_money(e.total, &e.currency)))
                .unwrap_or_default();
            let heading = format!(
                "{} – {} UTC · {}{pay}",
                utc(s.start),
                &utc(s.end)[11..],
                fmt_duration(s.end.saturating_sub(s.start)),
            );
            lines.push(if i == self.selected {
                InfoLine::Selected(format!("▶ {heading}"))
            } else {
                InfoLine::Heading(format!("  {heading}"))
            });
            lines.push(InfoLine::Text(format!(
                "  available {} · engaged {} · break {} · {} conversation(s)",
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
        lines
    }

    pub(super) fn move_selection(&mut self, down: bool) {
        self.selected = if down {
            (self.selected + 1).min(self.shifts.len().saturating_sub(1))
        } else {
            self.selected.saturating_sub(1)
        };
    }
}

/// A shift in plain words: what was done, how it was paid, and the automated decisions
/// recorded during it, as far as the hub still has them.
fn explain_lines(s: &ShiftRecord, decisions: &[Decision]) -> Vec<InfoLine> {
    let mut lines = vec![InfoLine::Heading("What you did".into())];
    lines.push(InfoLine::Text(format!(
        "You were on shift {} ({} – {} UTC): available for offers {}, engaged {} (at least one \
         conversation open), on break {}. You resolved {} conversation(s).",
        fmt_duration(s.end.saturating_sub(s.start)),
        utc(s.start),
        &utc(s.end)[11..],
        fmt_duration(s.available_ms),
        fmt_duration(s.engaged_ms),
        fmt_duration(s.break_ms),
        s.conversations,
    )));
    lines.push(InfoLine::Blank);
    lines.push(InfoLine::Heading("How it was paid".into()));
    match &s.earnings {
        None => lines.push(InfoLine::Text(
            "The hub had no rate card when this shift ended, so no earnings were computed.".into(),
        )),
        Some(e) => {
            if !s.rate_card.is_empty() {
                lines.push(InfoLine::Text(
                    "The rate card in force when the shift ended:".into(),
                ));
                lines.extend(s.rate_card.iter().map(|r| InfoLine::Text(format!("• {r}"))));
                lines.push(InfoLine::Text("What that made for this shift:".into()));
            }
            for line in &e.lines {
                lines.push(InfoLine::Text(format!(
                    "• {} = {}",
                    line.label,
                    format_money(line.amount, &e.currency)
                )));
            }
            lines.push(InfoLine::Text(format!(
                "Total {}. An estimate: the operator pays.",
                format_money(e.total, &e.currency)
            )));
        }
    }
    lines.push(InfoLine::Blank);
    lines.push(InfoLine::Heading(
        "Automated decisions during this shift".into(),
    ));
    let counted: u32 = s.decisions.values().sum();
    if !s.decisions.is_empty() {
        let mut by_count: Vec<(&String, &u32)> = s.decisions.iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(a.1));
        let counts: Vec<String> = by_count
            .into_iter()
            .map(|(kind, n)| format!("{n} {}", DecisionKind::from_name(kind).label()))
            .collect();
        lines.push(InfoLine::Text(format!("{}.", counts.join(" · "))));
    }
    let during: Vec<&Decision> = decisions
        .iter()
        .filter(|d| (s.start..=s.end).contains(&d.at))
        .collect();
    if counted == 0 && during.is_empty() {
        lines.push(InfoLine::Text(
            "None: no automated decision about you was recorded during this shift.".into(),
        ));
    }
    for d in &during {
        lines.push(InfoLine::Blank);
        lines.push(InfoLine::Heading(format!(
            "{} · {} UTC",
            d.kind.label(),
            &utc(d.at)[11..]
        )));
        lines.push(InfoLine::Text(d.text.clone()));
        lines.push(InfoLine::Detail(rule_line(&d.rule, &d.params)));
    }
    let missing = (counted as usize).saturating_sub(during.len());
    if missing > 0 {
        lines.push(InfoLine::Blank);
        lines.push(InfoLine::Detail(format!(
            "{missing} more are in the hub's log: it sends the console only the latest 50 \
             decisions about you. Your operator can give you all of them."
        )));
    }
    lines
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
