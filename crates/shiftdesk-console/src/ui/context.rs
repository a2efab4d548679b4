//! The customer beside the transcript: name, language, topic, why a person, facts (as the hub
//! sends them: card numbers, addresses and phone numbers already masked).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::{bold, dim};
use crate::app::App;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(" Customer ");
    let Some(c) = app.selected_conversation() else {
        frame.render_widget(Paragraph::new(Line::styled("-", dim())).block(block), area);
        return;
    };
    let customer = &c.view.customer;
    let language = c.view.language;
    let mut lang_line = vec![
        Span::styled("lang ", dim()),
        Span::raw(format!("{} ({})", language.name(), language.code())),
    ];
    if customer.language.is_none() {
        // The customer declared none: the hub detected it from their messages.
        lang_line.push(Span::styled(" detected", dim()));
    }
    let mut lines = vec![
        Line::styled(customer.name.clone(), bold().fg(Color::Cyan)),
        Line::from(lang_line),
    ];
    if c.view.language_fallback {
        lines.push(Line::from(super::offer::language_warning(language)));
    }
    lines.extend([
        Line::from(vec![
            Span::styled("topic ", dim()),
            Span::raw(c.view.intent.replace('_', " ")),
        ]),
        Line::from(vec![
            Span::styled("why ", dim()),
            Span::styled(
                c.view.why.clone(),
                Style::default().add_modifier(Modifier::ITALIC),
            ),
        ]),
    ]);
    for (key, value) in &customer.facts {
        lines.push(Line::from(vec![
            Span::styled(format!("{key} "), dim()),
            Span::raw(value.clone()),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
