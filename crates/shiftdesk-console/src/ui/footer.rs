//! The bottom line: a notice when there is one, else the keys that matter now.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{dim, hints_within, key_style};
use crate::app::{App, ConnState, Level, Modal};
use crate::keymap::{Action, Context};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let line = if let Some(notice) = &app.notice {
        let color = match notice.level {
            Level::Info => Color::White,
            Level::Good => Color::Green,
            Level::Warn => Color::Yellow,
            Level::Error => Color::Red,
        };
        Line::from(vec![
            Span::raw(" "),
            Span::styled(
                notice.text.clone(),
                Style::default().fg(color).add_modifier(Modifier::BOLD),
            ),
        ])
    } else if let ConnState::Offline { reason } = &app.conn {
        Line::from(vec![
            Span::raw(" "),
            Span::styled(
                format!("Offline: {reason}. "),
                Style::default().fg(Color::Red),
            ),
            Span::styled(app.key_hint(Action::Quit), key_style()),
            Span::raw(" quit"),
        ])
    } else if !app.pending_keys.is_empty() {
        let typed: Vec<String> = app.pending_keys.iter().map(|k| k.to_string()).collect();
        Line::from(vec![
            Span::raw(" "),
            Span::styled(format!("{} …", typed.join(" ")), key_style()),
        ])
    } else {
        let (contexts, _) = app.contexts();
        let items: &[(Action, &str)] = match &app.modal {
            _ if app.help.is_some() => &[(Action::PickerDown, "scroll"), (Action::Help, "close")],
            Some(Modal::Editor(_)) => &[(Action::ReplySend, "send"), (Action::Cancel, "cancel")],
            Some(Modal::Prompt(_)) => &[
                (Action::PickerSelect, "confirm"),
                (Action::Cancel, "cancel"),
            ],
            Some(Modal::Picker(_)) => &[
                (Action::PickerDown, "next"),
                (Action::PickerUp, "previous"),
                (Action::PickerSelect, "choose"),
                (Action::Cancel, "cancel"),
            ],
            Some(Modal::Info(_)) => &[(Action::PickerDown, "scroll"), (Action::Cancel, "close")],
            Some(Modal::Shifts(_)) => &[
                (Action::PickerDown, "next shift"),
                (Action::Explain, "explain"),
                (Action::Cancel, "close"),
            ],
            Some(Modal::Schedule(_)) => &[
                (Action::PickerDown, "next slot"),
                (Action::SlotBook, "book"),
                (Action::SlotRelease, "release"),
                (Action::Cancel, "close"),
            ],
            Some(Modal::Summary) => &[
                (Action::Cancel, "close"),
                (Action::ShiftAvailable, "go available"),
                (Action::Quit, "quit"),
            ],
            None if app.board.hand_back.is_some() => &[
                (Action::PickerDown, "next"),
                (Action::PickerSelect, "hand back to this worker"),
                (Action::WallboardFilter, "filter"),
                (Action::WallboardSort, "sort"),
                (Action::Cancel, "cancel"),
            ],
            None if app.wallboard_open() => &[
                (Action::PickerDown, "next"),
                (Action::WallboardFocus, "workers/live"),
                (Action::SupervisorShadow, "shadow"),
                (Action::WallboardSort, "sort"),
                (Action::WallboardFilter, "filter"),
                (Action::Cancel, "close"),
                (Action::Help, "help"),
            ],
            None => &[
                (Action::OfferAccept, "accept"),
                (Action::OfferDecline, "decline"),
                (Action::ConversationNext, "next"),
                (Action::ReplyCompose, "reply"),
                (Action::NoteCompose, "note"),
                (Action::ConversationResolve, "resolve"),
                (Action::SupervisorWhisper, "whisper"),
                (Action::SupervisorTakeover, "take over"),
                (Action::SupervisorShadow, "unshadow"),
                (Action::SupervisorHandback, "hand back"),
                (Action::SupervisorWallboard, "wallboard"),
                (Action::Help, "help"),
                (Action::Quit, "quit"),
            ],
        };
        let items: Vec<(Action, &str)> = items
            .iter()
            .filter(|(a, _)| match a {
                Action::OfferAccept | Action::OfferDecline => contexts.contains(&Context::Offer),
                Action::ConversationNext => app.conversations.len() > 1,
                Action::ReplyCompose | Action::NoteCompose | Action::ConversationResolve => app
                    .selected_conversation()
                    .is_some_and(|c| c.closed.is_none() && app.owns(c)),
                Action::SupervisorShadow if app.wallboard_open() => true,
                Action::SupervisorHandback => {
                    app.is_supervisor()
                        && app
                            .selected_conversation()
                            .is_some_and(|c| c.closed.is_none() && app.owns(c))
                }
                Action::SupervisorWhisper
                | Action::SupervisorTakeover
                | Action::SupervisorShadow => {
                    app.is_supervisor()
                        && app
                            .selected_conversation()
                            .is_some_and(|c| c.closed.is_none() && !app.owns(c))
                }
                Action::SupervisorWallboard => app.is_supervisor(),
                _ => true,
            })
            .copied()
            .collect();
        let mut spans = vec![Span::raw(" ")];
        spans.extend(hints_within(
            app,
            &contexts,
            &items,
            area.width.saturating_sub(1) as usize,
        ));
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line).style(dim().fg(Color::Gray)), area);
}
