//! The status bar: who, shift status, connection, time on shift, handled, outbox. On a narrow
//! terminal the least important parts go first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{dim, status_color};
use crate::app::{App, ConnState, fmt_duration};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    // (priority, spans): lower priority is dropped first when the line is too long.
    let mut parts: Vec<(u8, Vec<Span<'static>>)> = Vec::new();
    let name = app
        .me
        .as_ref()
        .map(|m| m.name.clone())
        .unwrap_or_else(|| "shiftdesk".into());
    let mut who = vec![Span::styled(
        name,
        Style::default().add_modifier(Modifier::BOLD),
    )];
    if app.is_supervisor() {
        who.push(Span::styled(" (supervisor)", dim()));
    }
    parts.push((9, who));
    let status = app.shift.status;
    parts.push((
        8,
        vec![
            Span::styled(
                format!("● {}", status.label()),
                Style::default().fg(status_color(status)),
            ),
            Span::raw(format!(
                " {}",
                fmt_duration(app.now.saturating_sub(app.shift.since))
            )),
        ],
    ));
    parts.push((9, vec![connection(app)]));
    parts.push((
        3,
        vec![Span::raw(format!(
            "shift {}",
            fmt_duration(app.summary().on_shift_ms)
        ))],
    ));
    parts.push((
        4,
        vec![Span::raw(format!("handled {}", app.shift.stats.handled))],
    ));
    if let Some(earned) = app.earnings_shown() {
        parts.push((5, vec![Span::raw(earned)]));
    }
    let pending = app.outbox.len();
    parts.push((
        7,
        vec![if pending == 0 {
            Span::styled("outbox 0", dim())
        } else {
            Span::styled(
                format!("outbox {pending} pending"),
                Style::default()
                    .fg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
            )
        }],
    ));

    let total = |parts: &[(u8, Vec<Span<'static>>)]| -> usize {
        1 + parts
            .iter()
            .map(|(_, s)| s.iter().map(Span::width).sum::<usize>())
            .sum::<usize>()
            + 3 * parts.len().saturating_sub(1)
    };
    while total(&parts) > area.width as usize {
        let Some(lowest) = parts
            .iter()
            .enumerate()
            .filter(|(_, (p, _))| *p < 9)
            .min_by_key(|(_, (p, _))| *p)
            .map(|(i, _)| i)
        else {
            break;
        };
        parts.remove(lowest);
    }
    let mut spans = vec![Span::raw(" ")];
    for (i, (_, part)) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" │ ", dim()));
        }
        spans.extend(part);
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(Style::default().bg(Color::Black)),
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
        ConnState::Reconnecting {
            at, hub_restarting, ..
        } => {
            let secs = at.saturating_sub(app.now).div_ceil(1000);
            // The hub said it was stopping: a restart, not a problem on this side.
            let what = if *hub_restarting {
                "hub restarting, retry"
            } else {
                "reconnecting"
            };
            Span::styled(
                format!("◌ {what} in {secs}s"),
                Style::default()
                    .fg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
            )
        }
        ConnState::Offline { .. } => Span::styled(
            "✕ offline",
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
    }
}
