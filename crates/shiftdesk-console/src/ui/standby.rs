//! The standby panel (`console --standby`, off shift): quiet, with what is waiting in the
//! worker's languages and the keys to go on shift.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::{bold, dim, hints};
use crate::app::{App, demand_line};
use crate::keymap::{Action, Context};

pub fn render(app: &App, frame: &mut Frame, body: Rect) {
    let area = super::centered(body, 72, 11 + app.demand.len().max(1) as u16);
    let standby = app.options.standby.unwrap_or(crate::app::Standby {
        waiting: 3,
        every_ms: 600_000,
    });
    let mut lines = vec![
        Line::styled("You are off shift.", bold()),
        Line::raw(format!(
            "You will hear a bell and get a notification when {} or more customers wait in one of \
             your languages (at most every {}).",
            standby.waiting,
            crate::app::fmt_duration(standby.every_ms)
        )),
        Line::raw(""),
    ];
    if app.demand.is_empty() {
        lines.push(Line::styled(
            "Nobody is waiting for your languages now.",
            dim(),
        ));
    }
    for q in &app.demand {
        lines.push(Line::raw(format!("• {}", demand_line(q))));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(hints(
        app,
        &[Context::Global],
        &[
            (Action::ShiftAvailable, "go on shift"),
            (Action::ScheduleOpen, "planned shifts"),
            (Action::Quit, "quit"),
        ],
    )));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Standby ").border_style(dim())),
        area,
    );
}
