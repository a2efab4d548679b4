//! The draft for the newest customer message: text, confidence, intent, sources, and where it
//! is (proposed, pending, sent, failed) with the keys to act on it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::{dim, hints, wrap};
use crate::app::{App, DraftDoing, DraftStatus};
use crate::keymap::{Action, Context};

/// Rows the draft panel needs, borders included, to show the whole of a draft the worker can
/// act on (the panel's usual height when there is none) at this width.
pub fn wanted_height(app: &App, width: u16) -> u16 {
    let Some(d) = app.selected_conversation().and_then(|c| c.draft.as_ref()) else {
        return 0;
    };
    if !matches!(d.status, DraftStatus::Proposed | DraftStatus::Failed { .. }) {
        return 0;
    }
    let text = width.saturating_sub(2) as usize;
    let lines = wrap(&d.draft.proposal.text, text, text).len();
    // Borders, the sources line and the keys line.
    u16::try_from(lines).unwrap_or(u16::MAX).saturating_add(4)
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(c) = app.selected_conversation() else {
        frame.render_widget(Block::bordered().title(" Draft ").border_style(dim()), area);
        return;
    };
    let owned = app.owns(c);
    if let Some((for_message, text)) = &c.writing
        && c.closed.is_none()
        && c.draft
            .as_ref()
            .is_none_or(|d| d.draft.for_message < *for_message || !d.actionable())
    {
        render_writing(frame, area, text);
        return;
    }
    let Some(d) = &c.draft else {
        let mut lines = vec![Line::styled(
            if c.closed.is_some() {
                "This conversation has ended."
            } else if owned {
                "No draft waiting: the next customer message brings one."
            } else {
                "Shadowing: read-only."
            },
            dim(),
        )];
        if c.closed.is_none() && owned {
            lines.push(Line::from(hints(
                app,
                &[Context::Conversation],
                &[
                    (Action::ReplyCompose, "write a reply"),
                    (Action::NoteCompose, "private note"),
                ],
            )));
        }
        frame.render_widget(
            Paragraph::new(lines).block(Block::bordered().title(" Draft ").border_style(dim())),
            area,
        );
        return;
    };
    let p = &d.draft.proposal;
    let (state, color) = match &d.status {
        DraftStatus::Proposed => ("proposed".to_string(), Color::Yellow),
        DraftStatus::Pending { doing, .. } => (
            match doing {
                DraftDoing::Accept | DraftDoing::Edit => "sending…".to_string(),
                DraftDoing::Reject(_) => "rejecting…".to_string(),
                DraftDoing::Regenerate => "asking for another…".to_string(),
            },
            Color::Gray,
        ),
        DraftStatus::Sent { doing } => (
            match doing {
                DraftDoing::Accept => "sent ✓".to_string(),
                DraftDoing::Edit => "sent edited ✓".to_string(),
                DraftDoing::Reject(reason) => format!("rejected: {}", reason.label()),
                DraftDoing::Regenerate => "another draft is coming…".to_string(),
            },
            Color::Green,
        ),
        DraftStatus::Failed { .. } => ("not sent".to_string(), Color::Red),
    };
    let confidence = (p.confidence.clamp(0.0, 1.0) * 100.0).round() as u32;
    let conf_color = match confidence {
        80.. => Color::Green,
        50..=79 => Color::Yellow,
        _ => Color::Red,
    };
    let block = Block::bordered()
        .border_style(Style::default().fg(color))
        .title(Line::from(vec![
            Span::raw(" Draft · "),
            Span::styled(
                format!("{confidence}%"),
                Style::default().fg(conf_color).add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!(" · {} ", p.intent.replace('_', " "))),
            match (p.drafter.as_str(), &p.model) {
                ("openai", Some(model)) => Span::styled(format!("· {model} "), dim()),
                ("fallback", _) => Span::styled(
                    "· built-in: model unavailable ",
                    Style::default().fg(Color::Red),
                ),
                _ => Span::raw(""),
            },
        ]))
        .title_top(
            Line::styled(
                format!(" {state} "),
                Style::default().fg(color).add_modifier(Modifier::BOLD),
            )
            .right_aligned(),
        );
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let [text_area, sources_area, keys_area] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let text_style = match d.status {
        DraftStatus::Proposed | DraftStatus::Failed { .. } => Style::default(),
        _ => dim(),
    };
    // Once an edit is on its way, the panel shows what the customer gets, not the proposal.
    let text = match (&d.status, &d.edited) {
        (DraftStatus::Pending { .. } | DraftStatus::Sent { .. }, Some(edited)) => edited,
        _ => &p.text,
    };
    let mut lines: Vec<Line> = wrap(text, text_area.width as usize, text_area.width as usize)
        .into_iter()
        .map(|l| Line::styled(l, text_style))
        .collect();
    let rows = text_area.height as usize;
    if lines.len() > rows && rows > 0 {
        // Never let a cut draft look whole: say how much is hidden and where to read it.
        let hidden = lines.len() - (rows - 1);
        lines.truncate(rows - 1);
        lines.push(Line::styled(
            format!(
                "… {hidden} more line{} not shown (e: read all)",
                if hidden == 1 { "" } else { "s" }
            ),
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ));
    }
    frame.render_widget(Paragraph::new(lines), text_area);
    let sources = if p.sources.is_empty() {
        "sources: none".to_string()
    } else {
        format!("sources: {}", p.sources.join(", "))
    };
    let sources = match &d.status {
        DraftStatus::Failed { message } => Line::styled(
            format!("✕ not sent: {message}"),
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
        _ => Line::styled(sources, dim()),
    };
    frame.render_widget(Paragraph::new(sources), sources_area);
    let keys = match &d.status {
        DraftStatus::Proposed | DraftStatus::Failed { .. } if owned => Line::from(draft_hints(app)),
        _ => Line::raw(""),
    };
    frame.render_widget(Paragraph::new(keys), keys_area);
}

fn draft_hints(app: &App) -> Vec<Span<'static>> {
    hints(
        app,
        &[Context::Draft],
        &[
            (Action::DraftAccept, "send"),
            (Action::DraftEdit, "edit"),
            (Action::DraftReject, "reject"),
            (Action::DraftRegenerate, "another"),
        ],
    )
}

/// A draft a model is still writing: the text so far, nothing to act on yet.
fn render_writing(frame: &mut Frame, area: Rect, text: &str) {
    let block = Block::bordered()
        .border_style(dim())
        .title(" Draft ")
        .title_top(
            Line::styled(
                " writing… ",
                Style::default()
                    .fg(Color::Gray)
                    .add_modifier(Modifier::BOLD),
            )
            .right_aligned(),
        );
    frame.render_widget(
        Paragraph::new(format!("{text}▍"))
            .style(dim())
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
