//! Shift control: the current status, the keys to change it, and capacity.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{dim, key_style, status_color};
use crate::app::App;
use crate::keymap::{Action, Context};
use shiftdesk_protocol::WorkerStatus;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let capacity = app.me.as_ref().map(|m| m.capacity).unwrap_or(0);
    let block = Block::bordered()
        .title(" Shift ")
        .title_top(Line::from(format!(" {}/{} open ", app.open_count(), capacity)).right_aligned());
    let option =
        |action: Action, status: WorkerStatus, label: &'static str| -> Vec<Span<'static>> {
            let key = app
                .keymap
                .key_for(&[Context::Global], action)
                .unwrap_or_else(|| "-".into());
            let current = app.shift.status == status;
            let style = if current {
                Style::default()
                    .fg(status_color(status))
                    .add_modifier(Modifier::BOLD | Modifier::REVERSED)
            } else {
                Style::default()
            };
            vec![
                Span::styled(key, key_style()),
                Span::raw(" "),
                Span::styled(label, style),
            ]
        };
    let pad = |mut spans: Vec<Span<'static>>, to: usize| {
        let w: usize = spans.iter().map(|s| s.width()).sum();
        spans.push(Span::raw(" ".repeat(to.saturating_sub(w))));
        spans
    };
    let mut first = pad(
        option(Action::ShiftAvailable, WorkerStatus::Available, "available"),
        13,
    );
    first.extend(option(Action::ShiftBreak, WorkerStatus::Break, "break"));
    let mut second = pad(
        option(Action::ShiftDrain, WorkerStatus::Draining, "drain"),
        13,
    );
    second.extend(option(
        Action::ShiftOffline,
        WorkerStatus::Offline,
        "offline",
    ));
    let why = match app.shift.status {
        WorkerStatus::Available => "offers on",
        WorkerStatus::Break => "no offers",
        WorkerStatus::Draining => "finishing up",
        WorkerStatus::Offline => "off shift",
    };
    let lines = vec![
        Line::from(vec![
            Span::styled(
                format!("● {}", app.shift.status.label()),
                Style::default()
                    .fg(status_color(app.shift.status))
                    .add_modifier(Modifier::BOLD),
            ),
            Span::styled(format!(" {why}"), dim()),
        ]),
        Line::from(first),
        Line::from(second),
    ];
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
