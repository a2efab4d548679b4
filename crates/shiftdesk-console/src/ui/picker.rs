//! A list to choose from: why a draft is rejected.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::{centered, hints};
use crate::app::{App, PickerPurpose, PickerState};
use crate::keymap::{Action, Context};

pub fn render(app: &App, picker: &PickerState, frame: &mut Frame, body: Rect) {
    let (title, confirm) = match &picker.purpose {
        PickerPurpose::RejectReason { .. } => (" Why reject this draft? ", "reject"),
    };
    let labels = picker.labels();
    let area = centered(body, 44, labels.len() as u16 + 4);
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .border_style(Style::default().fg(Color::Yellow))
        .title(title);
    let mut lines: Vec<Line> = labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            if i == picker.selected {
                Line::styled(
                    format!("▸ {label}"),
                    Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
                )
            } else {
                Line::raw(format!("  {label}"))
            }
        })
        .collect();
    lines.push(Line::raw(""));
    let mut keys = vec![Span::raw(" ")];
    keys.extend(hints(
        app,
        &[Context::Picker],
        &[(Action::PickerSelect, confirm), (Action::Cancel, "cancel")],
    ));
    lines.push(Line::from(keys));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
