//! The status bar: who, shift status, connection, time on shift, handled, outbox.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{dim, status_color};
use crate::console::app::{App, ConnState, fmt_duration};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let sep = || Span::styled(" │ ", dim());
    let mut spans = vec![Span::raw(" ")];
    let name = app
        .me
        .as_ref()
        .map(|m| m.name.clone())
        .unwrap_or_else(|| "shiftdesk".into());
    spans.push(Span::styled(name, Style::default().add_modifier(Modifier::BOLD)));
    if app.is_supervisor() {
        spans.push(Span::styled(" (supervisor)", dim()));
    }
    spans.push(sep());
    let status = app.shift.status;
    spans.push(Span::styled(
        format!("● {}", status.label()),
        Style::default().fg(status_color(status)),
    ));
    spans.push(Span::raw(format!(
        " {}",
        fmt_duration(app.now.saturating_sub(app.shift.since))
    )));
    spans.push(sep());
    spans.push(connection(app));
    spans.push(sep());
    let summary = app.summary();
    spans.push(Span::raw(format!("shift {}", fmt_duration(summary.on_shift_ms))));
    spans.push(sep());
    spans.push(Span::raw(format!("handled {}", app.shift.stats.handled)));
    spans.push(sep());
    let pending = app.outbox.len();
    if pending == 0 {
        spans.push(Span::styled("outbox 0", dim()));
    } else {
        spans.push(Span::styled(
            format!("outbox {pending} pending"),
            Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ));
    }
    let line = Line::from(spans);
    frame.render_widget(
        Paragraph::new(line).style(Style::default().bg(Color::Black)),
        area,
    );
}

fn connection(app: &App) -> Span<'static> {
    match &app.conn {
        ConnState::Connected => Span::styled("● connected", Style::default().fg(Color::Green)),
        ConnState::Connecting { attempt } if *attempt <= 1 => {
            Span::styled("◌ connecting…", Style::default().fg(Color::Yellow))
        }
        ConnState::Connecting { attempt } => Span::styled(
            format!("◌ connecting (try {attempt})"),
            Style::default().fg(Color::Yellow),
        ),
        ConnState::Reconnecting { at, .. } => {
            let secs = at.saturating_sub(app.now).div_ceil(1000);
            Span::styled(
                format!("◌ reconnecting in {secs}s"),
                Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            )
        }
        ConnState::Offline { .. } => Span::styled(
            "✕ offline",
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
    }
}
