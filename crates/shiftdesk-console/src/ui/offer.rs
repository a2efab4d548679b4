//! An offer waiting for an answer: who, what, why them, and a countdown to the deadline.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, LineGauge, Paragraph};

use super::{bold, dim, hints, truncate};
use crate::app::{App, OfferAnswer, OfferState, fmt_duration};
use crate::keymap::{Action, Context};

pub fn render(app: &App, offer: &OfferState, frame: &mut Frame, area: Rect) {
    let remaining = offer.remaining_ms(app.now);
    let urgent = remaining <= 10_000;
    let color = if urgent { Color::Red } else { Color::Yellow };
    let block = Block::bordered()
        .border_style(Style::default().fg(color).add_modifier(Modifier::BOLD))
        .title(Line::styled(
            // Said in words too, not only in red.
            if urgent {
                " New offer · hurry "
            } else {
                " New offer "
            },
            Style::default().fg(color).add_modifier(Modifier::BOLD),
        ))
        .title_top(
            Line::from(format!(
                " {} · {} ",
                offer.language,
                offer.intent.replace('_', " ")
            ))
            .right_aligned(),
        );
    frame.render_widget(Clear, area);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = inner.width as usize;
    let [info, gauge, keys] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let waited = offer.waited_ms + app.now.saturating_sub(offer.received_at);
    let mut who = vec![
        Span::styled(offer.customer.clone(), bold().fg(Color::Cyan)),
        Span::styled(format!(" · waiting {}", fmt_duration(waited)), dim()),
    ];
    if offer.language_fallback {
        who.push(Span::raw(" "));
        who.push(language_warning(offer.language));
    }
    let lines = vec![
        Line::from(who),
        Line::from(vec![
            Span::styled("why ", dim()),
            Span::raw(truncate(&offer.why, w.saturating_sub(4))),
        ]),
        Line::styled(
            truncate(&format!("“{}”", offer.preview), w),
            Style::default().add_modifier(Modifier::ITALIC),
        ),
        Line::from(vec![
            Span::styled("you because ", dim()),
            Span::styled(truncate(&offer.because, w.saturating_sub(12)), dim()),
        ]),
    ];
    frame.render_widget(Paragraph::new(lines), info);
    let label = if remaining == 0 {
        "time is up".to_string()
    } else {
        format!("{:>3}s left", remaining.div_ceil(1000))
    };
    frame.render_widget(
        LineGauge::default()
            .filled_symbol("█")
            .unfilled_symbol("░")
            .ratio(offer.ratio(app.now))
            .label(Span::styled(
                label,
                Style::default().fg(color).add_modifier(Modifier::BOLD),
            ))
            .filled_style(Style::default().fg(color))
            .unfilled_style(dim()),
        gauge,
    );
    let keys_line = match offer.answer {
        OfferAnswer::None => Line::from(hints(
            app,
            &[Context::Offer],
            &[
                (Action::OfferAccept, "accept"),
                (Action::OfferDecline, "decline (no penalty)"),
                (Action::Explain, "why me?"),
            ],
        )),
        OfferAnswer::Accepting => Line::styled("accepting…", dim()),
        OfferAnswer::Declining => Line::styled("declining…", dim()),
    };
    frame.render_widget(Paragraph::new(keys_line), keys);
}

/// The mark of a language-fallback offer or conversation: the worker may not speak it.
pub fn language_warning(language: shiftdesk_protocol::Lang) -> Span<'static> {
    Span::styled(
        format!("⚠ not your language: {language}"),
        Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
    )
}
