//! Rendering: a pure function of [`App`]. One file per panel; nothing here changes state.
//!
//! The layout works from 80x24 up: a status bar on top, a footer (notices or key hints) at the
//! bottom; between them, on the left the shift control, the conversation list and (narrow
//! screens) the customer; in the middle the offer (when one waits), the transcript and the
//! draft or the editor; on screens 110 columns or wider the customer gets a column of its own.

mod context;
mod conversations;
mod draft;
mod editor;
mod footer;
mod help;
mod info;
mod offer;
mod picker;
mod schedule;
mod shadow;
mod shift;
mod standby;
mod status;
mod summary;
pub mod theme;
mod transcript;
mod wallboard;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;

use super::app::{App, Modal};
use super::keymap::{Action, Context};

/// Draw the whole console.
pub fn view(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    status::render(app, frame, top);
    footer::render(app, frame, bottom);
    if app.wallboard_open() {
        wallboard::render(app, frame, body);
    } else if app.standing_by() {
        standby::render(app, frame, body);
    } else {
        main_body(app, frame, body);
    }
    match &app.modal {
        Some(Modal::Summary) => summary::render(app, frame, body),
        Some(Modal::Info(info)) => info::render(app, info, frame, body),
        Some(Modal::Schedule(view)) => schedule::render(app, view, frame, body),
        Some(Modal::Shifts(view)) => {
            let info = crate::app::InfoView {
                title: view.title(),
                lines: view.lines(),
                scroll: 0,
            };
            let hint = format!(
                " up/down choose · {} explain · esc close ",
                app.key_hint(crate::keymap::Action::Explain)
            );
            info::render_with_hint(app, &info, frame, body, &hint);
        }
        Some(Modal::Picker(p)) => picker::render(app, p, frame, body),
        Some(Modal::Prompt(p)) if wallboard::is_filter(p) => {}
        Some(Modal::Prompt(p)) => editor::render_prompt(app, p, frame, body),
        Some(Modal::Editor(_)) | None => {}
    }
    if let Some(scroll) = app.help {
        help::render(app, scroll, frame, body);
    }
    app.options.theme.apply(frame.buffer_mut());
}

fn main_body(app: &App, frame: &mut Frame, body: Rect) {
    let wide = body.width >= 110;
    let (left, mid, right) = if wide {
        let [l, m, r] = Layout::horizontal([
            Constraint::Length(28),
            Constraint::Fill(1),
            Constraint::Length(34),
        ])
        .areas(body);
        (l, m, Some(r))
    } else {
        let [l, m] = Layout::horizontal([Constraint::Length(26), Constraint::Fill(1)]).areas(body);
        (l, m, None)
    };

    // Left: shift, conversations, and the customer when there is no right column.
    if let Some(right) = right {
        let [s, c] = Layout::vertical([Constraint::Length(5), Constraint::Fill(1)]).areas(left);
        shift::render(app, frame, s);
        conversations::render(app, frame, c);
        context::render(app, frame, right);
    } else {
        let customer_h = if body.height >= 20 { 9 } else { 0 };
        let [s, c, k] = Layout::vertical([
            Constraint::Length(5),
            Constraint::Fill(1),
            Constraint::Length(customer_h),
        ])
        .areas(left);
        shift::render(app, frame, s);
        conversations::render(app, frame, c);
        if customer_h > 0 {
            context::render(app, frame, k);
        }
    }

    // Middle: offer, transcript, draft or editor; for a shadowing supervisor, the transcript
    // with the worker's drafts inline and the supervisor's keys.
    let offer_h = if app.offer.is_some() { 8 } else { 0 };
    let editing = matches!(app.modal, Some(Modal::Editor(_)));
    let shadowing = shadow::active(app);
    let bottom_h = if editing {
        if mid.height >= 30 { 12 } else { 9 }
    } else if shadowing {
        shadow::panel_height(app)
    } else {
        // Tall enough for the whole draft where the screen allows, keeping some transcript:
        // Enter sends all of it, so the worker must be able to read all of it.
        let usual = if mid.height >= 30 { 10 } else { 8 };
        let room = mid.height.saturating_sub(offer_h + MIN_TRANSCRIPT);
        draft::wanted_height(app, mid.width).clamp(usual, room.max(usual))
    };
    let [o, t, d] = Layout::vertical([
        Constraint::Length(offer_h),
        Constraint::Fill(1),
        Constraint::Length(bottom_h),
    ])
    .areas(mid);
    if let Some(offer) = &app.offer {
        offer::render(app, offer, frame, o);
    }
    if shadowing {
        shadow::render_transcript(app, frame, t);
    } else {
        transcript::render(app, frame, t);
    }
    match &app.modal {
        Some(Modal::Editor(editor)) => editor::render_editor(app, editor, frame, d),
        _ if shadowing => shadow::render_panel(app, frame, d),
        _ => draft::render(app, frame, d),
    }
}

/// Rows of transcript kept above a draft that grows to show all of its text.
const MIN_TRANSCRIPT: u16 = 6;

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

pub(crate) fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}

pub(crate) fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

pub(crate) fn key_style() -> Style {
    Style::default()
        .fg(Color::Cyan)
        .add_modifier(Modifier::BOLD)
}

/// `key label` pairs for a hint line, using the keys of the active keymap.
pub(crate) fn hints<'a>(
    app: &App,
    contexts: &[Context],
    items: &[(Action, &'a str)],
) -> Vec<Span<'a>> {
    hints_within(app, contexts, items, usize::MAX)
}

/// As [`hints`], leaving out the last pairs that would not fit in `max` columns.
pub(crate) fn hints_within<'a>(
    app: &App,
    contexts: &[Context],
    items: &[(Action, &'a str)],
    max: usize,
) -> Vec<Span<'a>> {
    let mut spans: Vec<Span<'a>> = Vec::new();
    let mut used = 0;
    for (action, label) in items {
        let Some(key) = app.keymap.key_for(contexts, *action) else {
            continue;
        };
        let sep = if spans.is_empty() { 0 } else { 3 };
        let w = sep + width(&key) + 1 + width(label);
        if used + w > max {
            break;
        }
        used += w;
        if sep > 0 {
            spans.push(Span::styled(" · ", dim()));
        }
        spans.push(Span::styled(key, key_style()));
        spans.push(Span::raw(format!(" {label}")));
    }
    spans
}

/// Make room for an overlay at `area` inside `within`: clear it and a column either side, so
/// nothing of the screen below is glued to its borders, and blank any wide glyph (CJK, emoji)
/// cut by the cleared edges, whose other half would otherwise show through or push the
/// border out of place.
pub(crate) fn clear_for_overlay(frame: &mut Frame, area: Rect, within: Rect) {
    let left = area.x.saturating_sub(1).max(within.x);
    let right = (area.right() + 1).min(within.right());
    let cleared = Rect {
        x: left,
        width: right.saturating_sub(left),
        ..area
    };
    frame.render_widget(ratatui::widgets::Clear, cleared);
    let buf = frame.buffer_mut();
    for y in cleared.top()..cleared.bottom() {
        // A wide glyph just left of the cleared columns spans into them.
        if cleared.x > buf.area.x {
            let cell = &mut buf[(cleared.x - 1, y)];
            if width(cell.symbol()) > 1 {
                cell.reset();
            }
        }
        // The cell just right of them may be the hidden half of a glyph that began inside.
        if cleared.right() < buf.area.right() {
            let cell = &mut buf[(cleared.right(), y)];
            if cell.symbol().is_empty() {
                cell.reset();
            }
        }
    }
}

/// A rectangle of at most `width` x `height`, centred in `area`.
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// The display width of a string.
pub(crate) fn width(s: &str) -> usize {
    if is_printable_ascii(s) {
        // One column a byte; the common case, without a lookup per character.
        return s.len();
    }
    Span::raw(s).width()
}

/// Only `' '..='~'`: each is one grapheme one column wide (control characters are not drawn).
pub(crate) fn is_printable_ascii(s: &str) -> bool {
    s.bytes().all(|b| (b' '..=b'~').contains(&b))
}

/// Greedy word wrap: the first line gets `first` columns, the others `rest`. Hard line breaks
/// are kept; words longer than a line are cut.
pub(crate) fn wrap(text: &str, first: usize, rest: usize) -> Vec<String> {
    let first = first.max(1);
    let rest = rest.max(1);
    let mut lines: Vec<String> = Vec::new();
    // Each line is allocated once, big enough for a full line of one-byte characters.
    let mut line = String::with_capacity(first.min(text.len()));
    let mut line_w = 0usize;
    let limit = |lines: &Vec<String>| if lines.is_empty() { first } else { rest };
    for (i, paragraph) in text.split('\n').enumerate() {
        if i > 0 {
            lines.push(std::mem::replace(
                &mut line,
                String::with_capacity(rest.min(text.len())),
            ));
            line_w = 0;
        }
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            // What is left of the word to place: all of it, or the tail of a cut one.
            let mut word = word;
            loop {
                let w = width(word);
                let max = limit(&lines);
                let needed = if line_w == 0 { w } else { line_w + 1 + w };
                if needed <= max {
                    if line_w > 0 {
                        line.push(' ');
                        line_w += 1;
                    }
                    line.push_str(word);
                    line_w += w;
                    break;
                }
                if line_w > 0 {
                    lines.push(std::mem::replace(
                        &mut line,
                        String::with_capacity(rest.min(text.len())),
                    ));
                    line_w = 0;
                    continue;
                }
                // A word longer than a whole line: cut it.
                let mut head_w = 0;
                let mut cut = 0;
                for (idx, c) in word.char_indices() {
                    let end = idx + c.len_utf8();
                    let cw = width(&word[idx..end]);
                    if head_w + cw > max {
                        break;
                    }
                    head_w += cw;
                    cut = end;
                }
                if cut == 0 {
                    // Not even one character fits; take it anyway to make progress.
                    cut = word.chars().next().map_or(word.len(), char::len_utf8);
                }
                lines.push(word[..cut].to_string());
                word = &word[cut..];
                if word.is_empty() {
                    break;
                }
            }
        }
    }
    lines.push(line);
    lines
}

/// Cut `s` to `max` columns, with an ellipsis when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = width(&c.to_string());
        if w + cw + 1 > max {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

pub(crate) fn status_color(status: shiftdesk_protocol::WorkerStatus) -> Color {
    use shiftdesk_protocol::WorkerStatus;
    match status {
        WorkerStatus::Available => Color::Green,
        WorkerStatus::Break => Color::Yellow,
        WorkerStatus::Draining => Color::Cyan,
        WorkerStatus::Offline => Color::Gray,
    }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_fills_lines_and_keeps_breaks() {
        assert_eq!(wrap("one two three", 7, 7), ["one two", "three"]);
        assert_eq!(wrap("a\nb", 10, 10), ["a", "b"]);
        assert_eq!(wrap("abcdefghij", 4, 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("hi there you", 2, 9), ["hi", "there you"]);
        assert_eq!(wrap("", 5, 5), [""]);
        // Cut by columns, not bytes: wide characters take two.
        assert_eq!(wrap("日本語です", 4, 4), ["日本", "語で", "す"]);
        assert_eq!(wrap("ab 日本語", 3, 3), ["ab", "日", "本", "語"]);
    }
}

#[cfg(test)]
mod gig_snapshot_tests;
#[cfg(test)]
mod snapshot_tests;
