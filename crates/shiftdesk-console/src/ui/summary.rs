//! The shift summary: shown when the worker goes offline or quits, and printed on exit.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{centered, dim, hints};
use crate::app::App;
use crate::keymap::{Action, Context};

pub fn render(app: &App, frame: &mut Frame, body: Rect) {
    let summary = app.summary();
    let rows = summary.rows();
    let area = centered(body, 76, rows.len() as u16 + 6);
    super::clear_for_overlay(frame, area, body);
    let title = if summary.worker.is_empty() {
        " Shift summary ".to_string()
    } else {
        format!(" Shift summary · {} ", summary.worker)
    };
    let block = Block::bordered()
        .border_style(Style::default().fg(Color::Cyan))
        .title(Line::styled(
            title,
            Style::default().add_modifier(Modifier::BOLD),
        ));
    let mut lines: Vec<Line> = vec![Line::raw("")];
    for (label, value) in rows {
        lines.push(Line::from(vec![
            Span::styled(format!(" {label:<23}"), dim()),
            Span::styled(value, Style::default().add_modifier(Modifier::BOLD)),
        ]));
    }
    lines.push(Line::raw(""));
    let footer = if app.quitting.is_some() {
        Line::styled(
            " Going offline and closing…",
            Style::default().fg(Color::Yellow),
        )
    } else if app.armed.is_some_and(|a| a.action == Action::Quit) {
        Line::from(vec![
            Span::raw(" Press "),
            Span::styled(app.key_hint(Action::Quit), super::key_style()),
            Span::raw(" again to go offline and quit, "),
            Span::styled(
                app.keymap
                    .key_for(&[Context::Summary], Action::Cancel)
                    .unwrap_or_default(),
                super::key_style(),
            ),
            Span::raw(" to stay."),
        ])
    } else {
        let mut spans = vec![Span::raw(" ")];
        spans.extend(hints(
            app,
            &[Context::Summary, Context::Global],
            &[
                (Action::Cancel, "close"),
                (Action::ShiftAvailable, "start a new shift"),
                (Action::Quit, "quit"),
            ],
        ));
        Line::from(spans)
    };
    lines.push(footer);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
