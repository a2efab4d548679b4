//! A read-only text screen over the body: an explanation of decisions, About dispatch.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::{bold, dim, wrap};
use crate::app::{App, InfoLine, InfoView};

pub fn render(app: &App, info: &InfoView, frame: &mut Frame, body: Rect) {
    render_with_hint(app, info, frame, body, " up/down scroll · esc close ");
}

/// The same with its own hint at the bottom; a [`InfoLine::Selected`] line is kept in view
/// (at the top, under one line of what comes before) whatever `info.scroll` says.
pub fn render_with_hint(_app: &App, info: &InfoView, frame: &mut Frame, body: Rect, hint: &str) {
    let width = body.width.saturating_sub(4).min(100);
    let block = Block::bordered()
        .border_style(Style::default().fg(Color::Cyan))
        .title(Line::styled(info.title.clone(), bold()))
        .title_bottom(Line::styled(hint.to_string(), dim()).right_aligned());
    let w = width.saturating_sub(3) as usize;
    let mut lines: Vec<Line> = Vec::new();
    let mut selected = None;
    for line in &info.lines {
        match line {
            InfoLine::Blank => lines.push(Line::raw("")),
            InfoLine::Heading(text) => lines.push(Line::styled(text.clone(), bold())),
            InfoLine::Selected(text) => {
                selected = Some(lines.len());
                lines.push(Line::styled(
                    text.clone(),
                    bold().add_modifier(Modifier::REVERSED),
                ));
            }
            InfoLine::Text(text) => {
                // Leading spaces indent every line; bullets hang: wrapped lines line up under
                // the text.
                let body = text.trim_start();
                let lead = text.len() - body.len();
                let indent = lead + if body.starts_with("• ") { 2 } else { 0 };
                for (i, part) in wrap(body, w.saturating_sub(lead), w.saturating_sub(indent))
                    .into_iter()
                    .enumerate()
                {
                    let pad = if i == 0 { lead } else { indent };
                    lines.push(Line::raw(format!("{}{part}", " ".repeat(pad))));
                }
            }
            InfoLine::Detail(text) => {
                let indent = text.len() - text.trim_start().len();
                let room = w.saturating_sub(indent);
                for part in wrap(text.trim_start(), room, room) {
                    lines.push(Line::styled(format!("{}{part}", " ".repeat(indent)), dim()));
                }
            }
        }
    }
    // As tall as the text, up to the whole body.
    let area = super::centered(body, width, (lines.len() as u16).saturating_add(2));
    super::clear_for_overlay(frame, area, body);
    let height = block.inner(area).height as usize;
    let max = lines.len().saturating_sub(height);
    let scroll = selected
        .map_or(info.scroll as usize, |row| row.saturating_sub(1))
        .min(max);
    let visible: Vec<Line> = lines.into_iter().skip(scroll).take(height).collect();
    frame.render_widget(Paragraph::new(visible).block(block), area);
}
