//! The open conversation's transcript: who said what, each kind of line in its own style.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{dim, wrap};
use crate::console::app::App;
use crate::protocol::Author;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(c) = app.selected_conversation() else {
        let lines = vec![
            Line::raw(""),
            Line::styled(
                " No open conversation.",
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Line::styled(
                if app.shift.status == crate::protocol::WorkerStatus::Available {
                    " Waiting for an offer: it appears above, with a countdown.".to_string()
                } else {
                    format!(
                        " Press {} to go available; offers appear above.",
                        app.key_hint(crate::console::keymap::Action::ShiftAvailable)
                    )
                },
                dim(),
            ),
        ];
        frame.render_widget(
            Paragraph::new(lines).block(Block::bordered().title(" Transcript ")),
            area,
        );
        return;
    };
    let mut title = format!(
        " {} · {} · {} ",
        c.view.customer.name,
        c.view.language,
        c.view.intent.replace('_', " ")
    );
    if !c.view.shadowed_by.is_empty() && app.owns(c) {
        title.push_str(&format!("· shadowed by {} ", c.view.shadowed_by.join(", ")));
    }
    let mut block = Block::bordered().title(title);
    if let Some(reason) = &c.closed {
        block = block.title_bottom(
            Line::styled(
                format!(" ended: {reason} "),
                Style::default().fg(Color::Yellow),
            )
            .right_aligned(),
        );
    } else if c.scroll > 0 {
        block = block
            .title_bottom(Line::styled(format!(" ↑ {} more ", c.scroll), dim()).right_aligned());
    }
    let inner = block.inner(area);
    let width = inner.width as usize;
    let me = app.me.as_ref().map(|m| m.name.as_str());

    let mut lines: Vec<Line> = Vec::new();
    for m in &c.view.messages {
        let (label, style) = label(m.from, m.by.as_deref(), me, &c.view.customer.name);
        let text = if m.from == Author::Customer {
            crate::hub::mask::mask(&m.text)
        } else {
            m.text.clone()
        };
        push_message(&mut lines, &label, style, &text, m.from, width);
    }
    for p in &c.pending {
        let (label, style) = match &p.failed {
            Some(why) => (
                format!("{} (not sent: {why})", author_label(p.from)),
                Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            ),
            None => (format!("{} (sending…)", author_label(p.from)), dim()),
        };
        push_message(&mut lines, &label, style, &p.text, p.from, width);
    }
    let height = inner.height as usize;
    let max_scroll = lines.len().saturating_sub(height);
    let scroll = (c.scroll as usize).min(max_scroll);
    let start = lines.len().saturating_sub(height + scroll);
    let visible: Vec<Line> = lines.into_iter().skip(start).take(height).collect();
    frame.render_widget(Paragraph::new(visible).block(block), area);
}

pub(super) fn author_label(from: Author) -> &'static str {
    match from {
        Author::Note => "Note",
        Author::Whisper => "Whisper",
        _ => "You",
    }
}

pub(super) fn label(
    from: Author,
    by: Option<&str>,
    me: Option<&str>,
    customer: &str,
) -> (String, Style) {
    let mine = by.is_some() && by == me;
    match from {
        Author::Customer => (
            customer.to_string(),
            Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        ),
        Author::Bot => (
            "Bot".into(),
            Style::default()
                .fg(Color::Magenta)
                .add_modifier(Modifier::BOLD),
        ),
        Author::Worker => (
            if mine {
                "You".into()
            } else {
                by.unwrap_or("Agent").to_string()
            },
            Style::default()
                .fg(Color::Green)
                .add_modifier(Modifier::BOLD),
        ),
        Author::Note => (
            format!(
                "Note ({})",
                if mine { "you" } else { by.unwrap_or("agent") }
            ),
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::ITALIC),
        ),
        Author::Whisper => (
            format!("Whisper ({})", by.unwrap_or("supervisor")),
            Style::default()
                .fg(Color::LightMagenta)
                .add_modifier(Modifier::ITALIC),
        ),
        Author::System => ("—".into(), dim().add_modifier(Modifier::ITALIC)),
    }
}

pub(super) fn push_message(
    lines: &mut Vec<Line<'static>>,
    label: &str,
    style: Style,
    text: &str,
    from: Author,
    width: usize,
) {
    let prefix = format!("{label}: ");
    let prefix_w = super::width(&prefix);
    let body_style = match from {
        Author::Note => Style::default().fg(Color::Yellow),
        Author::Whisper => Style::default().fg(Color::LightMagenta),
        Author::System => dim().add_modifier(Modifier::ITALIC),
        _ => Style::default(),
    };
    let (prefix, prefix_w) = if from == Author::System {
        ("— ".to_string(), 2)
    } else {
        (prefix, prefix_w)
    };
    let first = width.saturating_sub(prefix_w).max(8);
    let parts = wrap(text, first, width.saturating_sub(2).max(8));
    for (i, part) in parts.into_iter().enumerate() {
        if i == 0 {
            lines.push(Line::from(vec![
                Span::styled(prefix.clone(), style),
                Span::styled(part, body_style),
            ]));
        } else {
            lines.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(part, body_style),
            ]));
        }
    }
}
