//! The week of slots of planned shifts: one line per 30-minute slot with the demand expected
//! per language and how many booked it; the worker's own bookings marked in words.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{bold, dim, hints, truncate};
use crate::app::{App, ScheduleView};
use crate::keymap::{Action, Context};

pub fn render(app: &App, view: &ScheduleView, frame: &mut Frame, body: Rect) {
    let area = super::centered(body, body.width.saturating_sub(4).min(100), body.height);
    super::clear_for_overlay(frame, area, body);
    let s = &view.schedule;
    let history = match s.history_weeks {
        0 => "no history yet: the forecast starts with the first conversations".to_string(),
        1 => "forecast from last week".to_string(),
        n => format!("forecast: average of the last {n} weeks"),
    };
    let block = Block::bordered()
        .border_style(Style::default().fg(Color::Cyan))
        .title(Line::styled(
            " Planned shifts · the week ahead (UTC) ",
            bold(),
        ))
        .title_bottom(
            Line::from(hints(
                app,
                &[Context::Schedule],
                &[
                    (Action::SlotBook, "book"),
                    (Action::SlotRelease, "release"),
                    (Action::ScrollDown, "next day"),
                    (Action::Cancel, "close"),
                ],
            ))
            .right_aligned(),
        );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = inner.width as usize;
    let height = inner.height.saturating_sub(1) as usize;
    let mut lines = vec![Line::styled(truncate(&history, w), dim())];
    // Keep the selection in view, a few rows from the top.
    let first = view.selected.saturating_sub(height.saturating_sub(1) / 3);
    let mut day = None;
    for (i, slot) in s.slots.iter().enumerate().skip(first).take(height) {
        let stamp = crate::app::utc(slot.start);
        let (date, time) = stamp.split_at(10);
        let end = crate::app::utc(slot.start + s.slot_ms);
        let selected = i == view.selected;
        let base = if selected {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        let date = if day != Some(date.to_string()) {
            day = Some(date.to_string());
            date.to_string()
        } else {
            " ".repeat(10)
        };
        let mark = if slot.booked {
            "■ yours "
        } else {
            "□       "
        };
        let demand = if s.history_weeks == 0 {
            String::new()
        } else if slot.forecast.is_empty() {
            "expected 0".to_string()
        } else {
            let by_lang: Vec<String> = slot
                .forecast
                .iter()
                .map(|(lang, n)| format!("{lang} {n:.1}"))
                .collect();
            format!("expected {}", by_lang.join(" · "))
        };
        let head = format!(
            "{}{date}{time}–{} {mark}{} booked  ",
            if selected { "▸ " } else { "  " },
            &end[11..],
            slot.booked_workers
        );
        let room = w.saturating_sub(super::width(&head));
        lines.push(Line::from(vec![
            Span::styled(
                head,
                if slot.booked {
                    base.add_modifier(Modifier::BOLD).fg(Color::Green)
                } else {
                    base
                },
            ),
            Span::styled(truncate(&demand, room), base),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
