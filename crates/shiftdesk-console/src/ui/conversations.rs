//! The list of conversations, with unread counts and a mark where a draft waits.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{dim, truncate};
use crate::app::{App, DraftStatus};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(format!(" Conversations ({}) ", app.conversations.len()));
    let inner_w = area.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    if app.conversations.is_empty() {
        lines.push(Line::styled("none yet", dim()));
    }
    for (i, c) in app.conversations.iter().enumerate() {
        let selected = i == app.selected;
        let marker = if selected { "▸" } else { " " };
        let mut tail = String::new();
        if c.draft
            .as_ref()
            .is_some_and(|d| d.status == DraftStatus::Proposed)
        {
            tail.push_str(" ✎");
        }
        if c.unread > 0 {
            tail.push_str(&format!(" ●{}", c.unread));
        }
        let lang = format!(" {}", c.view.language);
        let name_w = inner_w.saturating_sub(2 + tail.chars().count() + lang.len());
        let mut name = truncate(&c.view.customer.name, name_w);
        if !app.owns(c) {
            name = truncate(&format!("{} (shadow)", c.view.customer.name), name_w);
        }
        let pad = name_w.saturating_sub(super::width(&name));
        let base = if c.closed.is_some() {
            dim().add_modifier(Modifier::CROSSED_OUT)
        } else if selected {
            Style::default().add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        };
        let base = if selected {
            base.add_modifier(Modifier::REVERSED)
        } else {
            base
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{marker} "), base),
            Span::styled(format!("{name}{}", " ".repeat(pad)), base),
            Span::styled(lang, base.fg(Color::Gray)),
            Span::styled(tail, base.fg(Color::Yellow).add_modifier(Modifier::BOLD)),
        ]));
    }
    // Keep the selected one in view.
    let height = area.height.saturating_sub(2) as usize;
    let skip = (app.selected + 1).saturating_sub(height);
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
