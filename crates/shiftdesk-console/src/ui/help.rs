//! The help overlay, generated from the active keymap for the contexts in force.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{dim, key_style, truncate};
use crate::app::App;
use crate::keymap::{Action, Context};

pub fn render(app: &App, scroll: u16, frame: &mut Frame, body: Rect) {
    let area = centered_help(body);
    super::clear_for_overlay(frame, area, body);
    let block = Block::bordered()
        .border_style(Style::default().fg(Color::Cyan))
        .title(format!(" Keys · {} keymap ", app.keymap.source))
        .title_bottom(Line::styled(" up/down scroll · esc close ", dim()).right_aligned());
    let inner = block.inner(area);
    let w = inner.width as usize;
    let supervisor = app.is_supervisor();
    let mut lines: Vec<Line> = Vec::new();
    for context in app.help_contexts() {
        let bindings: Vec<_> = app
            .keymap
            .bindings(context)
            .into_iter()
            .filter(|(_, b)| supervisor || !is_supervisor_action(b.action))
            .collect();
        if bindings.is_empty() {
            continue;
        }
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(
            format!("[{}] {}", context.name(), about(context)),
            Style::default().add_modifier(Modifier::BOLD),
        ));
        for (keys, binding) in bindings {
            let key = format!("{:<10}", keys.to_string());
            let action = format!(" {:<22}", binding.action.name());
            let desc_w = w.saturating_sub(super::width(&key) + action.len() + 1);
            lines.push(Line::from(vec![
                Span::styled(key, key_style()),
                Span::styled(action, dim()),
                Span::raw(format!(" {}", truncate(&binding.desc, desc_w))),
            ]));
        }
    }
    let height = inner.height as usize;
    let max = lines.len().saturating_sub(height);
    let scroll = (scroll as usize).min(max);
    let visible: Vec<Line> = lines.into_iter().skip(scroll).take(height).collect();
    frame.render_widget(Paragraph::new(visible).block(block), area);
}

pub(super) fn centered_help(body: Rect) -> Rect {
    let width = body.width.saturating_sub(4).min(96);
    let height = body.height.saturating_sub(2).min(40);
    super::centered(body, width, height)
}

fn is_supervisor_action(action: Action) -> bool {
    matches!(
        action,
        Action::SupervisorShadow
            | Action::SupervisorWhisper
            | Action::SupervisorTakeover
            | Action::SupervisorHandback
            | Action::SupervisorWallboard
    )
}

fn about(context: Context) -> &'static str {
    match context {
        Context::Global => "anywhere",
        Context::Offer => "while an offer waits",
        Context::Conversation => "the open conversation",
        Context::Draft => "while a draft waits",
        Context::Editor => "in the editor (letters type)",
        Context::Prompt => "in a reason prompt (letters type)",
        Context::Picker => "choosing from a list",
        Context::Help => "this help",
        Context::Summary => "the shift summary",
        Context::Wallboard => "the supervisor wallboard",
        Context::Schedule => "the week of slots (planned shifts)",
    }
}
