//! The editor (a reply, a note, an edited draft, a whisper) and the one-line reason prompt.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::{centered, dim, hints};
use crate::app::{App, EditorPurpose, EditorState, PromptPurpose, PromptState};
use crate::keymap::{Action, Context};

pub fn render_editor(app: &App, editor: &EditorState, frame: &mut Frame, area: Rect) {
    let name = app
        .conversation(editor.purpose.conversation())
        .map(|c| c.view.customer.name.clone())
        .unwrap_or_default();
    let color = match editor.purpose {
        EditorPurpose::Note { .. } => Color::Yellow,
        EditorPurpose::Whisper { .. } => Color::LightMagenta,
        _ => Color::Green,
    };
    let chars = editor.text().chars().count();
    let limit = app.max_text_chars();
    let count_style = if chars > limit {
        Style::default().fg(Color::Red)
    } else {
        dim()
    };
    let mut keys = vec![Span::raw(" ")];
    if editor.discard_armed {
        keys.push(Span::styled(
            "cancel again to discard",
            Style::default().fg(Color::Yellow),
        ));
    } else {
        keys.extend(hints(
            app,
            &[Context::Editor],
            &[(Action::ReplySend, "send"), (Action::Cancel, "cancel")],
        ));
    }
    keys.push(Span::raw(" "));
    let block = Block::bordered()
        .border_style(Style::default().fg(color))
        .title(Line::styled(
            format!(" {} · {name} ", editor.purpose.title()),
            Style::default().fg(color),
        ))
        .title_bottom(Line::from(keys))
        .title_bottom(Line::styled(format!(" {chars}/{limit} "), count_style).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(&editor.textarea, inner);
}

pub fn render_prompt(app: &App, prompt: &PromptState, frame: &mut Frame, body: Rect) {
    let (title, confirm) = match &prompt.purpose {
        PromptPurpose::Decline { .. } => {
            let who = app
                .offer
                .as_ref()
                .map(|o| o.customer.clone())
                .unwrap_or_default();
            (
                format!(" Decline the offer from {who}? "),
                "decline (no penalty)",
            )
        }
        PromptPurpose::Transfer { .. } => (
            " Give this conversation back to the queue? ".to_string(),
            "transfer",
        ),
        PromptPurpose::WallboardFilter { .. } => (
            " Filter workers: a name, or status:available/break/… ".to_string(),
            "apply",
        ),
    };
    let area = centered(body, 64, 5);
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .border_style(Style::default().fg(Color::Yellow))
        .title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [input, keys] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Length(2),
        ratatui::layout::Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(&prompt.textarea, input);
    frame.render_widget(
        Paragraph::new(Line::from(hints(
            app,
            &[Context::Prompt],
            &[(Action::PickerSelect, confirm), (Action::Cancel, "cancel")],
        ))),
        keys,
    );
}
