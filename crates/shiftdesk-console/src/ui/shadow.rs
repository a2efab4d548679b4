//! What a supervisor sees of a conversation they shadow: a banner that says so and whose it is,
//! the transcript with every draft and what the worker did with it inline (sent as is, edited,
//! rejected and why, or still waiting), and the supervisor's own keys. Read-only: the draft and
//! the reply belong to the worker; the supervisor whispers, takes over, or stops shadowing.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph, Wrap};

use std::collections::HashMap;

use super::transcript::{Rows, push_line, push_pending, visible_lines, with_footer};
use super::{dim, hints_within, key_style, wrap};
use crate::app::{App, ConvState, DraftLog};
use crate::keymap::{Action, Context};
use shiftdesk_protocol::DraftOutcome;

const SHADOW: Color = Color::LightMagenta;

/// Does the middle of the screen show the shadow view? For a supervisor, whenever the selected
/// conversation is not theirs (or there is none: then it says how to start).
pub fn active(app: &App) -> bool {
    app.is_supervisor() && app.selected_conversation().is_none_or(|c| app.shadowing(c))
}

/// Rows for the supervisor's panel under the transcript (none when nothing is shadowed).
pub fn panel_height(app: &App) -> u16 {
    if app.selected_conversation().is_some() {
        4
    } else {
        0
    }
}

pub fn render_transcript(app: &App, frame: &mut Frame, area: Rect) {
    let Some(c) = app.selected_conversation() else {
        return empty(app, frame, area);
    };
    let [banner_area, area] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    frame.render_widget(Paragraph::new(banner(app, c)), banner_area);

    let block = with_footer(
        Block::bordered()
            .border_style(Style::default().fg(SHADOW))
            .title(format!(
                " {} · {} · {} ",
                c.view.customer.name,
                c.view.language,
                c.view.intent.replace('_', " ")
            )),
        c,
    );
    let inner = block.inner(area);
    let width = inner.width as usize;
    let me = app.me.as_ref().map(|m| m.name.as_str());
    let owner = app.owner_label(c).unwrap_or_else(|| "the worker".into());

    let messages = &c.view.messages;
    // Each message is followed by its drafts; one item after the messages holds the drafts for
    // a line this console has not seen (should not happen: still show them); then the pending
    // replies. Only the drafts are indexed here, never the messages.
    let mut drafts_for: HashMap<u32, Vec<&DraftLog>> = HashMap::new();
    for d in &c.drafts {
        drafts_for.entry(d.draft.for_message).or_default().push(d);
    }
    let seen = |n: u32| {
        messages.binary_search_by_key(&n, |m| m.n).is_ok() || messages.iter().any(|m| m.n == n)
    };
    let visible = visible_lines(
        messages.len() + 1 + c.pending.len(),
        inner.height as usize,
        c.scroll as usize,
        |i, lines| {
            if let Some(m) = messages.get(i) {
                push_line(lines, m, me, &c.view.customer.name, width);
                for d in drafts_for.get(&m.n).into_iter().flatten() {
                    push_draft(lines, d, &owner, width);
                }
            } else if i == messages.len() {
                for d in c.drafts.iter().filter(|d| !seen(d.draft.for_message)) {
                    push_draft(lines, d, &owner, width);
                }
            } else if let Some(p) = c.pending.get(i - messages.len() - 1) {
                push_pending(lines, p, width);
            }
        },
    );
    frame.render_widget(block, area);
    frame.render_widget(Rows(visible), inner);
}

/// One line, impossible to miss: whose conversation this is and that it is read-only.
fn banner(app: &App, c: &ConvState) -> Line<'static> {
    let strong = Style::default()
        .fg(Color::Black)
        .bg(SHADOW)
        .add_modifier(Modifier::BOLD);
    let soft = Style::default().fg(Color::Black).bg(SHADOW);
    let owner = match app.owner_label(c) {
        Some(name) => name,
        None => "nobody yet (waiting for a worker)".into(),
    };
    let mut spans = vec![
        Span::styled(" ◉ ", strong),
        Span::styled(
            if c.closed.is_some() {
                format!("SHADOWED {owner}")
            } else {
                format!("SHADOWING {owner}")
            },
            strong,
        ),
        Span::styled(" · read-only ", soft),
    ];
    let me = app.me.as_ref().map(|m| m.name.as_str());
    let others: Vec<&str> = c
        .view
        .shadowed_by
        .iter()
        .map(String::as_str)
        .filter(|name| Some(*name) != me)
        .collect();
    if !others.is_empty() {
        spans.push(Span::styled(
            format!("· also: {} ", others.join(", ")),
            soft,
        ));
    }
    Line::from(spans).style(soft)
}

/// A draft in the transcript, under the customer line it answers, with its fate.
fn push_draft(lines: &mut Vec<Line<'static>>, d: &DraftLog, owner: &str, width: usize) {
    let p = &d.draft.proposal;
    let confidence = (p.confidence.clamp(0.0, 1.0) * 100.0).round() as u32;
    let (verdict, color, show_text) = match d.outcome {
        None => (format!("waiting for {owner}"), Color::Cyan, true),
        Some((DraftOutcome::Accepted | DraftOutcome::Pending, _)) => {
            ("sent as is ✓".to_string(), Color::Green, false)
        }
        Some((DraftOutcome::Edited, _)) => ("edited, then sent ✎".to_string(), Color::Yellow, true),
        Some((DraftOutcome::Rejected, reason)) => (
            format!(
                "rejected ✕ {}",
                reason.map(|r| r.label()).unwrap_or("no reason given")
            ),
            Color::Red,
            true,
        ),
        Some((DraftOutcome::Regenerated, _)) => {
            ("another asked for ↻".to_string(), Color::Gray, true)
        }
    };
    let gutter = Span::styled("  ┆ ", Style::default().fg(color));
    lines.push(Line::from(vec![
        gutter.clone(),
        Span::styled(format!("draft {confidence}% → "), dim()),
        Span::styled(
            verdict,
            Style::default().fg(color).add_modifier(Modifier::BOLD),
        ),
    ]));
    if show_text {
        let text_w = width.saturating_sub(4).max(8);
        for part in wrap(&p.text, text_w, text_w) {
            if part.is_empty() {
                continue;
            }
            lines.push(Line::from(vec![
                gutter.clone(),
                Span::styled(part, dim().add_modifier(Modifier::ITALIC)),
            ]));
        }
    }
}

/// The supervisor's keys for this conversation, where the worker would have the draft.
pub fn render_panel(app: &App, frame: &mut Frame, area: Rect) {
    let Some(c) = app.selected_conversation() else {
        return;
    };
    let block = Block::bordered()
        .border_style(Style::default().fg(SHADOW))
        .title(" Supervisor ");
    let mut items: Vec<(Action, &str)> = Vec::new();
    if c.closed.is_none() {
        if c.view.owner.is_some() {
            items.push((Action::SupervisorWhisper, "whisper"));
        }
        items.push((Action::SupervisorTakeover, "take over"));
        items.push((Action::SupervisorShadow, "stop shadowing"));
    }
    items.push((Action::SupervisorWallboard, "wallboard"));
    let inner_w = area.width.saturating_sub(3) as usize;
    let mut keys = vec![Span::raw(" ")];
    keys.extend(hints_within(
        app,
        &[Context::Conversation, Context::Global],
        &items,
        inner_w,
    ));
    let status = match (&c.closed, c.drafts.last()) {
        (Some(reason), _) => Line::styled(format!(" Ended: {reason}."), dim()),
        (None, Some(d)) if d.outcome.is_none() => Line::from(vec![
            Span::raw(" A draft waits for "),
            Span::styled(
                app.owner_label(c).unwrap_or_else(|| "the worker".into()),
                Style::default().fg(Color::Cyan),
            ),
            Span::raw("."),
        ]),
        _ => Line::styled(
            " Only the worker sees a whisper, never the customer.",
            dim(),
        ),
    };
    frame.render_widget(
        Paragraph::new(vec![status, Line::from(keys)]).block(block),
        area,
    );
}

/// A supervisor with nothing open: how to start.
fn empty(app: &App, frame: &mut Frame, area: Rect) {
    let key = |action| Span::styled(app.key_hint(action), key_style());
    let lines = vec![
        Line::raw(""),
        Line::styled(
            "Not shadowing anything.",
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Line::raw(""),
        Line::from(vec![
            Span::styled("Press ", dim()),
            key(Action::SupervisorWallboard),
            Span::styled(
                " for the wallboard, choose a worker or a live conversation, and press ",
                dim(),
            ),
            key(Action::SupervisorShadow),
            Span::styled(".", dim()),
        ]),
        Line::raw(""),
        Line::from(vec![
            Span::styled("While shadowing: ", dim()),
            key(Action::SupervisorWhisper),
            Span::styled(" whispers to the worker, ", dim()),
            key(Action::SupervisorTakeover),
            Span::styled(" takes the conversation over.", dim()),
        ]),
    ];
    let block = Block::bordered()
        .title(" Shadow ")
        .padding(Padding::horizontal(1));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
