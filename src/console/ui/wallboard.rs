//! The supervisor wallboard: workers, queues, and live conversations to shadow.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{bold, dim, status_color, truncate};
use crate::console::app::{App, WallboardView, fmt_duration};

pub fn render(app: &App, wallboard: &WallboardView, frame: &mut Frame, body: Rect) {
    let Some(data) = &wallboard.data else {
        frame.render_widget(
            Paragraph::new(Line::styled("waiting for the hub…", dim()))
                .block(Block::bordered().title(" Wallboard ")),
            body,
        );
        return;
    };
    let workers_h = (data.workers.len() as u16 + 3).min(body.height / 2);
    let queues_h = (data.queues.len() as u16 + 3).min(body.height / 3);
    let [w_area, q_area, l_area] = Layout::vertical([
        Constraint::Length(workers_h),
        Constraint::Length(queues_h),
        Constraint::Fill(1),
    ])
    .areas(body);

    let mut lines = vec![Line::styled(
        format!(
            "{:<18} {:<10} {:>5} {:>7} {:>6} {:>5}",
            "worker", "status", "open", "handled", "AHT", "link"
        ),
        bold(),
    )];
    for w in &data.workers {
        let aht = if w.stats.handled > 0 {
            fmt_duration(w.stats.handle_ms_total / u64::from(w.stats.handled))
        } else {
            "-".into()
        };
        lines.push(Line::from(vec![
            Span::raw(format!("{:<18} ", truncate(&w.name, 18))),
            Span::styled(
                format!("{:<10}", w.status.label()),
                Style::default().fg(status_color(w.status)),
            ),
            Span::raw(format!(
                " {:>5} {:>7} {:>6} {:>5}",
                format!("{}/{}", w.open, w.capacity),
                w.stats.handled,
                aht,
                if w.connected { "up" } else { "down" }
            )),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Workers ")),
        w_area,
    );

    let mut lines = vec![Line::styled(
        format!(
            "{:<6} {:>6} {:>12} {:>10} {:>10}",
            "queue", "depth", "longest", "p50", "p90"
        ),
        bold(),
    )];
    let opt = |v: Option<u64>| v.map(fmt_duration).unwrap_or_else(|| "-".into());
    for q in &data.queues {
        lines.push(Line::raw(format!(
            "{:<6} {:>6} {:>12} {:>10} {:>10}",
            q.language.code(),
            q.depth,
            fmt_duration(q.longest_wait_ms),
            opt(q.time_to_human_p50_ms),
            opt(q.time_to_human_p90_ms)
        )));
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Queues (time to a person) ")),
        q_area,
    );

    let mut lines: Vec<Line> = Vec::new();
    if data.live.is_empty() {
        lines.push(Line::styled("no live conversations", dim()));
    }
    for (i, c) in data.live.iter().enumerate() {
        let text = format!(
            "{} {:<10} {:<3} {:<9} {:<14} {}",
            if i == wallboard.selected { "▸" } else { " " },
            truncate(&c.id, 10),
            c.language.code(),
            format!("{:?}", c.state).to_lowercase(),
            truncate(c.owner.as_deref().unwrap_or("-"), 14),
            c.intent.replace('_', " ")
        );
        let style = if i == wallboard.selected {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        lines.push(Line::styled(
            truncate(&text, l_area.width.saturating_sub(2) as usize),
            style,
        ));
    }
    let _ = app;
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Live conversations ")),
        l_area,
    );
}
