//! The open conversation's transcript: who said what, each kind of line in its own style.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::{dim, is_printable_ascii, wrap};
use crate::app::{App, PendingLine};
use shiftdesk_protocol::{Author, Message};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(c) = app.selected_conversation() else {
        let lines = vec![
            Line::raw(""),
            Line::styled(
                " No open conversation.",
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Line::styled(
                if app.shift.status == shiftdesk_protocol::WorkerStatus::Available {
                    " Waiting for an offer: it appears above, with a countdown.".to_string()
                } else {
                    format!(
                        " Press {} to go available; offers appear above.",
                        app.key_hint(crate::keymap::Action::ShiftAvailable)
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
    let block = with_footer(Block::bordered().title(title), c);
    let inner = block.inner(area);
    let width = inner.width as usize;
    let me = app.me.as_ref().map(|m| m.name.as_str());

    let messages = &c.view.messages;
    let visible = visible_lines(
        messages.len() + c.pending.len(),
        inner.height as usize,
        c.scroll as usize,
        |i, lines| {
            if let Some(m) = messages.get(i) {
                push_line(lines, m, me, &c.view.customer.name, width);
            } else if let Some(p) = c.pending.get(i - messages.len()) {
                push_pending(lines, p, width);
            }
        },
    );
    frame.render_widget(block, area);
    frame.render_widget(Rows(visible), inner);
}

/// Transcript rows, already wrapped to the panel's width, drawn from the top; what `Paragraph`
/// (no wrap, left-aligned) would draw, cell for cell.
///
/// `Paragraph` splits every row into grapheme clusters and measures each one: with a full
/// transcript panel that was the biggest part of a frame. A row that is all printable ASCII,
/// as most transcript text is, has one cell per byte, so it is written straight into the
/// buffer; any other row (wide or combining characters, masked digits, an alignment) is left
/// to `Paragraph`. The test `rows_draw_what_a_paragraph_draws` holds the two to the same cells
/// and styles.
pub(super) struct Rows(pub Vec<Line<'static>>);

impl Widget for Rows {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.is_empty() {
            return;
        }
        for (y, line) in (area.top()..area.bottom()).zip(self.0) {
            let plain = line.alignment.is_none_or(|a| a == Alignment::Left)
                && line.spans.iter().all(|s| is_printable_ascii(&s.content));
            if !plain {
                Paragraph::new(line).render(
                    Rect {
                        y,
                        height: 1,
                        ..area
                    },
                    buf,
                );
                continue;
            }
            let start = buf.index_of(area.x, y);
            let mut cells = buf.content[start..start + area.width as usize].iter_mut();
            for span in &line.spans {
                let style = Style::default().patch(line.style).patch(span.style);
                // Bytes first: `zip` takes a cell only for a byte there is to write.
                for (byte, cell) in span.content.bytes().zip(cells.by_ref()) {
                    cell.set_char(char::from(byte)).set_style(style);
                }
            }
        }
    }
}

/// The bottom-right corner of a transcript's frame: why it ended, or how far it is scrolled up.
pub(super) fn with_footer<'a>(block: Block<'a>, c: &crate::app::ConvState) -> Block<'a> {
    if let Some(reason) = &c.closed {
        block.title_bottom(
            Line::styled(
                format!(" ended: {reason} "),
                Style::default().fg(Color::Yellow),
            )
            .right_aligned(),
        )
    } else if c.scroll > 0 {
        block.title_bottom(Line::styled(format!(" ↑ {} more ", c.scroll), dim()).right_aligned())
    } else {
        block
    }
}

/// The rows a transcript panel shows: `height` rows, `scroll` rows up from the bottom (no further
/// up than the first row). Only the newest items needed are built, walking back from the last:
/// `build(i, lines)` appends the rows of item `i` (of `count`, oldest first), so a draw costs
/// what the screen and the scroll offset need, whatever the length of the conversation.
pub(super) fn visible_lines(
    count: usize,
    height: usize,
    scroll: usize,
    mut build: impl FnMut(usize, &mut Vec<Line<'static>>),
) -> Vec<Line<'static>> {
    let wanted = height.saturating_add(scroll);
    // Newest item first; each chunk holds one item's rows in order.
    let mut chunks: Vec<Vec<Line<'static>>> = Vec::new();
    let mut built = 0usize;
    for i in (0..count).rev() {
        if built >= wanted {
            break;
        }
        let mut rows = Vec::new();
        build(i, &mut rows);
        built += rows.len();
        chunks.push(rows);
    }
    // Everything older than what was built would only push the start further up, so the
    // clamp below is the same as over the whole transcript.
    let max_scroll = built.saturating_sub(height);
    let scroll = scroll.min(max_scroll);
    let start = built.saturating_sub(height + scroll);
    chunks
        .into_iter()
        .rev()
        .flatten()
        .skip(start)
        .take(height)
        .collect()
}

/// A line of the transcript, labelled with who wrote it.
pub(super) fn push_line(
    lines: &mut Vec<Line<'static>>,
    m: &Message,
    me: Option<&str>,
    customer: &str,
    width: usize,
) {
    let (label, style) = label(m.from, m.by.as_deref(), me, customer);
    push_message(lines, &label, style, &m.text, m.from, width);
}

/// A line the worker sent that the hub has not confirmed yet (or refused).
pub(super) fn push_pending(lines: &mut Vec<Line<'static>>, p: &PendingLine, width: usize) {
    let (label, style) = pending_label(p);
    push_message(lines, &label, style, &p.text, p.from, width);
}

/// The label of a reply still on its way (or refused).
fn pending_label(p: &PendingLine) -> (String, Style) {
    match &p.failed {
        Some(why) => (
            format!("{} (not sent: {why})", author_label(p.from)),
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
        None => (format!("{} (sending…)", author_label(p.from)), dim()),
    }
}

fn author_label(from: Author) -> &'static str {
    match from {
        Author::Note => "Note",
        Author::Whisper => "Whisper",
        _ => "You",
    }
}

fn label(from: Author, by: Option<&str>, me: Option<&str>, customer: &str) -> (String, Style) {
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

fn push_message(
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::{Color, Modifier, Style};
    use ratatui::text::{Line, Span};
    use ratatui::widgets::{Paragraph, Widget};

    use crate::app::tests::*;
    use crate::app::{App, Msg};
    use shiftdesk_protocol::{Author, WorkerEvent};

    /// A worker with one open conversation holding messages `first..=last`.
    fn with_messages(first: u32, last: u32) -> App {
        let mut app = app();
        let mut view = conversation("c-1", "Maria Rossi", false);
        view.messages = (first..=last)
            .map(|n| {
                let (from, by) = if n % 2 == 0 {
                    (Author::Customer, None)
                } else {
                    (Author::Worker, Some("Ana"))
                };
                let text = format!(
                    "Line {n}: the second charge on order 4471 is being refunded and should reach the card in 3 to 5 working days."
                );
                message(n, from, &text, by)
            })
            .collect();
        app.update(Msg::Hub(WorkerEvent::Conversation { conversation: view }));
        app
    }

    /// Scroll the open transcript `lines` up from the bottom, as the scroll keys do.
    fn scroll(app: &mut App, lines: u16) {
        let selected = app.selected;
        app.conversations[selected].scroll = lines;
    }

    fn draw(app: &App) -> String {
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        terminal
            .draw(|frame| super::render(app, frame, frame.area()))
            .unwrap();
        terminal.backend().to_string()
    }

    #[test]
    fn a_long_conversation_draws_the_same_last_screen_as_its_last_50_messages() {
        let mut long = with_messages(1, 10_000);
        let mut short = with_messages(9_951, 10_000);
        let last = draw(&long);
        assert!(last.contains("Line 10000:"), "{last}");
        assert_eq!(last, draw(&short));
        // Scrolled up within what the last 50 messages hold, too.
        scroll(&mut long, 20);
        scroll(&mut short, 20);
        assert_eq!(draw(&long), draw(&short));
    }

    fn style(i: u8) -> Style {
        match i % 4 {
            0 => Style::default(),
            1 => Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            2 => Style::default()
                .fg(Color::Yellow)
                .remove_modifier(Modifier::BOLD),
            _ => Style::default()
                .bg(Color::DarkGray)
                .add_modifier(Modifier::ITALIC),
        }
    }

    /// A row of spans: mostly plain ASCII, some with a masked digit, a wide or combining
    /// character, a tab or a line break; sometimes a row style or an alignment.
    fn row() -> impl Strategy<Value = Line<'static>> {
        let text = prop_oneof![
            4 => "[ -~]{0,30}",
            1 => "[ -~]{0,10}[•é日\u{301}\t\n][ -~]{0,10}",
        ];
        let span = (text, any::<u8>()).prop_map(|(text, s)| Span::styled(text, style(s)));
        (proptest::collection::vec(span, 0..4), any::<u8>(), 0u8..4).prop_map(
            |(spans, s, align)| {
                let line = Line::from(spans).style(style(s / 2));
                match align {
                    0 => line.right_aligned(),
                    1 => line.left_aligned(),
                    _ => line,
                }
            },
        )
    }

    proptest! {
        #[test]
        fn rows_draw_what_a_paragraph_draws(
            rows in proptest::collection::vec(row(), 0..8),
            x in 0u16..12,
            width in 0u16..40,
            height in 0u16..12,
        ) {
            // The area may reach past the buffer's right and bottom edges.
            let area = Rect::new(x, 1, width, height);
            let mut expected = Buffer::empty(Rect::new(0, 0, 48, 10));
            let mut drawn = expected.clone();
            Paragraph::new(rows.clone()).render(area, &mut expected);
            super::Rows(rows).render(area, &mut drawn);
            prop_assert_eq!(drawn, expected);
        }
    }
}
