//! The customer beside the transcript: name, language, topic, why a person, facts (as the hub
//! sends them: card numbers, addresses and phone numbers already masked), the facts the
//! operator's site signed apart from those the customer's browser declared.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::{bold, dim};
use crate::app::App;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(c) = app.selected_conversation() else {
        let block = Block::bordered().title(" Customer ");
        frame.render_widget(Paragraph::new(Line::styled("-", dim())).block(block), area);
        return;
    };
    // An ended conversation stays on screen until the worker moves on; its customer is not
    // the one of an offer that may be waiting beside it.
    let block = Block::bordered().title(if c.closed.is_some() {
        " Customer (ended) "
    } else {
        " Customer "
    });
    let customer = &c.view.customer;
    let language = c.view.language;
    let mut lang_line = vec![
        Span::styled("lang ", dim()),
        Span::raw(app.language_label(language)),
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
    // Facts the operator's site signed are set apart from what the customer's browser
    // declared, by a heading in words (never by colour alone): only the first are facts.
    let fact = |(key, value): &(String, String)| {
        Line::from(vec![
            Span::styled(format!(" {key} "), dim()),
            Span::raw(value.clone()),
        ])
    };
    let (verified, declared): (Vec<_>, Vec<_>) = customer
        .facts
        .iter()
        .partition(|(key, _)| customer.verified.contains(key));
    if !verified.is_empty() {
        lines.push(Line::styled(
            "✓ verified by your site",
            bold().fg(Color::Green),
        ));
        lines.extend(verified.into_iter().map(fact));
    }
    if !declared.is_empty() {
        lines.push(Line::styled("declared, not verified", dim()));
        lines.extend(declared.into_iter().map(fact));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
