//! A read-only text screen over the body: an explanation of decisions, About dispatch.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::{bold, dim, wrap};
use crate::app::{App, InfoLine, InfoView};

pub fn render(_app: &App, info: &InfoView, frame: &mut Frame, body: Rect) {
    let width = body.width.saturating_sub(4).min(100);
    let block = Block::bordered()
        .border_style(Style::default().fg(Color::Cyan))
        .title(Line::styled(info.title.clone(), bold()))
        .title_bottom(Line::styled(" up/down scroll · esc close ", dim()).right_aligned());
    let w = width.saturating_sub(3) as usize;
    let mut lines: Vec<Line> = Vec::new();
    for line in &info.lines {
        match line {
            InfoLine::Blank => lines.push(Line::raw("")),
            InfoLine::Heading(text) => lines.push(Line::styled(text.clone(), bold())),
            InfoLine::Text(text) => {
                // Bullets hang: wrapped lines line up under the text.
                let indent = if text.starts_with("• ") { 2 } else { 0 };
                for (i, part) in wrap(text, w, w.saturating_sub(indent))
                    .into_iter()
                    .enumerate()
                {
                    let pad = if i == 0 { 0 } else { indent };
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
    let scroll = (info.scroll as usize).min(max);
    let visible: Vec<Line> = lines.into_iter().skip(scroll).take(height).collect();
    frame.render_widget(Paragraph::new(visible).block(block), area);
}
