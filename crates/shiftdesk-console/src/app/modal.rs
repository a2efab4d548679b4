//! The windows over the main screen that take the keys: the editor (a reply, a note, an edited
//! draft, a whisper), the one-line prompt (a reason, the wallboard's filter), the list picker
//! (why a draft is rejected) and the summary; typing and pasting into them, and what confirming
//! or cancelling each one does.

use ratatui_textarea::{Key as TaKey, TextArea, WrapMode};

use shiftdesk_protocol::{
    Author, ConversationId, DraftAction, Millis, RejectReason, WorkerCommand, WorkerFrame,
};

use super::keys::to_textarea_input;
use super::{App, Command, ConnState, Level, cycle};
use crate::keymap::KeyPress;

/// How often the customer is told again that the worker is typing (their page shows it for
/// about six seconds after each).
pub const TYPING_EVERY_MS: Millis = 3_000;

/// A window over the main screen that takes the keys.
pub enum Modal {
    Editor(EditorState),
    Prompt(PromptState),
    Picker(PickerState),
    Summary,
    /// A read-only text screen: an explanation, About dispatch.
    Info(super::InfoView),
    /// The week of slots of planned shifts.
    Schedule(super::ScheduleView),
    /// The last shifts, one selected to explain.
    Shifts(super::ShiftsView),
}

/// What the editor is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditorPurpose {
    Reply {
        conversation: ConversationId,
    },
    Note {
        conversation: ConversationId,
    },
    EditDraft {
        conversation: ConversationId,
        draft: String,
        original: String,
    },
    Whisper {
        conversation: ConversationId,
    },
}

impl EditorPurpose {
    pub fn conversation(&self) -> &str {
        match self {
            EditorPurpose::Reply { conversation }
            | EditorPurpose::Note { conversation }
            | EditorPurpose::EditDraft { conversation, .. }
            | EditorPurpose::Whisper { conversation } => conversation,
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            EditorPurpose::Reply { .. } => "Reply",
            EditorPurpose::Note { .. } => "Private note",
            EditorPurpose::EditDraft { .. } => "Edit draft",
            EditorPurpose::Whisper { .. } => "Whisper to the worker",
        }
    }
}

pub struct EditorState {
    pub purpose: EditorPurpose,
    pub textarea: TextArea<'static>,
    /// Cancel was pressed once on changed text: a second press discards it.
    pub discard_armed: bool,
    /// A key changed the text since the customer was last told the worker is typing.
    typed: bool,
    /// When the customer was last told (console clock).
    typing_told_at: Option<Millis>,
}

impl EditorState {
    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }

    fn changed(&self) -> bool {
        let text = self.text();
        match &self.purpose {
            EditorPurpose::EditDraft { original, .. } => text != *original,
            _ => !text.trim().is_empty(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptPurpose {
    Decline {
        conversation: ConversationId,
    },
    Transfer {
        conversation: ConversationId,
    },
    /// The wallboard's filter, applied as it is typed; cancel puts `previous` back.
    WallboardFilter {
        previous: String,
    },
}

pub struct PromptState {
    pub purpose: PromptPurpose,
    pub textarea: TextArea<'static>,
}

impl PromptState {
    pub fn text(&self) -> String {
        self.textarea.lines().join(" ")
    }
}

/// What the list picker chooses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickerPurpose {
    RejectReason {
        conversation: ConversationId,
        draft: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickerState {
    pub purpose: PickerPurpose,
    pub selected: usize,
}

impl PickerState {
    pub fn len(&self) -> usize {
        match &self.purpose {
            PickerPurpose::RejectReason { .. } => RejectReason::ALL.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn labels(&self) -> Vec<String> {
        match &self.purpose {
            PickerPurpose::RejectReason { .. } => RejectReason::ALL
                .iter()
                .map(|r| r.label().to_string())
                .collect(),
        }
    }
}

/// A prompt's answer as an optional, short reason.
fn reason(text: &str) -> Option<String> {
    let text = text.trim().chars().take(200).collect::<String>();
    (!text.is_empty()).then_some(text)
}

impl App {
    /// A key typed into the editor or the prompt.
    pub(super) fn type_key(&mut self, key: KeyPress) {
        let input = to_textarea_input(key);
        match &mut self.modal {
            Some(Modal::Editor(editor)) => {
                // Only a change of the text is typing (not moving the cursor).
                editor.typed |= editor.textarea.input(input);
                editor.discard_armed = false;
            }
            // One line: Enter is the keymap's business, never a newline.
            Some(Modal::Prompt(prompt)) if input.key != TaKey::Enter => {
                prompt.textarea.input(input);
            }
            _ => {}
        }
        self.prompt_changed();
    }

    pub(super) fn paste(&mut self, text: String) {
        match &mut self.modal {
            Some(Modal::Editor(editor)) => {
                editor.textarea.insert_str(text);
                editor.discard_armed = false;
                editor.typed = true;
            }
            Some(Modal::Prompt(prompt)) => {
                prompt.textarea.insert_str(text.replace(['\n', '\r'], " "));
            }
            _ => {}
        }
        self.prompt_changed();
    }

    /// The wallboard filter follows the prompt as it is typed.
    fn prompt_changed(&mut self) {
        if let Some(Modal::Prompt(prompt)) = &self.modal
            && matches!(prompt.purpose, PromptPurpose::WallboardFilter { .. })
        {
            let text = prompt.text();
            self.board.set_filter(&text);
        }
    }

    /// Open the one-line prompt, holding `text`.
    pub(super) fn open_prompt(&mut self, purpose: PromptPurpose, placeholder: &str, text: &str) {
        let mut textarea = TextArea::default();
        textarea.set_placeholder_text(placeholder);
        textarea.set_cursor_line_style(ratatui::style::Style::default());
        textarea.insert_str(text);
        self.modal = Some(Modal::Prompt(PromptState { purpose, textarea }));
    }

    pub(super) fn open_editor(&mut self, purpose: EditorPurpose, text: &str) {
        let mut textarea = if text.is_empty() {
            TextArea::default()
        } else {
            TextArea::new(text.lines().map(str::to_string).collect())
        };
        textarea.set_wrap_mode(WrapMode::WordOrGlyph);
        textarea.set_cursor_line_style(ratatui::style::Style::default());
        textarea.set_placeholder_text(match &purpose {
            EditorPurpose::Reply { .. } => "Write to the customer…",
            EditorPurpose::Note { .. } => "A private note (the customer never sees it)…",
            EditorPurpose::EditDraft { .. } => "",
            EditorPurpose::Whisper { .. } => "A private line to the worker…",
        });
        textarea.move_cursor(ratatui_textarea::CursorMove::Bottom);
        textarea.move_cursor(ratatui_textarea::CursorMove::End);
        self.modal = Some(Modal::Editor(EditorState {
            purpose,
            textarea,
            discard_armed: false,
            typed: false,
            typing_told_at: None,
        }));
    }

    /// While the worker types a reply (or edits a draft to send), the customer sees "typing"
    /// for a few seconds: told at most every [`TYPING_EVERY_MS`], outside the outbox (it is
    /// worth nothing later). Never for a note or a whisper.
    pub(super) fn tell_typing(&mut self, out: &mut Vec<Command>) {
        let now = self.now;
        let connected = self.conn == ConnState::Connected;
        let Some(Modal::Editor(editor)) = &mut self.modal else {
            return;
        };
        if !std::mem::take(&mut editor.typed) || !connected {
            return;
        }
        let conversation = match &editor.purpose {
            EditorPurpose::Reply { conversation }
            | EditorPurpose::EditDraft { conversation, .. } => conversation.clone(),
            EditorPurpose::Note { .. } | EditorPurpose::Whisper { .. } => return,
        };
        if editor
            .typing_told_at
            .is_some_and(|at| now < at.saturating_add(TYPING_EVERY_MS))
        {
            return;
        }
        editor.typing_told_at = Some(now);
        // Not a change: no number, never in the outbox.
        out.push(Command::Send(WorkerFrame::new(
            self.ids.next_id(),
            WorkerCommand::Typing { conversation },
        )));
    }

    /// Write to the customer (or a private note) in the selected conversation.
    pub(super) fn compose(&mut self, note: bool) {
        let Some(conversation) = self.workable() else {
            return;
        };
        let purpose = if note {
            EditorPurpose::Note { conversation }
        } else {
            EditorPurpose::Reply { conversation }
        };
        self.open_editor(purpose, "");
    }

    /// Send what the editor holds, as what it is for.
    pub(super) fn send_editor(&mut self, out: &mut Vec<Command>) {
        let Some(Modal::Editor(editor)) = &self.modal else {
            return;
        };
        let text = editor.text().trim_end().to_string();
        if text.trim().is_empty() {
            self.note(Level::Info, "Nothing to send.");
            return;
        }
        let chars = text.chars().count();
        let limit = self.max_text_chars();
        if chars > limit {
            self.note(
                Level::Error,
                format!("Too long: {chars} characters; the limit is {limit}."),
            );
            return;
        }
        let purpose = editor.purpose.clone();
        self.modal = None;
        let conversation = purpose.conversation().to_string();
        let line = text.clone();
        let (command, from) = match purpose {
            EditorPurpose::EditDraft {
                conversation,
                draft,
                original,
            } => {
                let action = if text == original.trim_end() {
                    DraftAction::Accept
                } else {
                    DraftAction::Edit { text }
                };
                self.draft_command(conversation, draft, action, out);
                return;
            }
            EditorPurpose::Reply { conversation } => {
                (WorkerCommand::Reply { conversation, text }, Author::Worker)
            }
            EditorPurpose::Note { conversation } => {
                (WorkerCommand::Note { conversation, text }, Author::Note)
            }
            EditorPurpose::Whisper { conversation } => (
                WorkerCommand::Whisper { conversation, text },
                Author::Whisper,
            ),
        };
        let id = self.send(command, out);
        self.pending_line(&conversation, id, from, line);
    }

    /// Up or down: scrolls the help, moves in the picker or on the wallboard.
    pub(super) fn move_selection(&mut self, down: bool) {
        if let Some(scroll) = &mut self.help {
            *scroll = if down {
                scroll.saturating_add(1)
            } else {
                scroll.saturating_sub(1)
            };
            return;
        }
        match &mut self.modal {
            Some(Modal::Picker(p)) => p.selected = cycle(p.selected, p.len().max(1), down),
            Some(Modal::Schedule(_)) => self.move_in_schedule(if down { 1 } else { -1 }),
            Some(Modal::Shifts(view)) => view.move_selection(down),
            Some(Modal::Info(info)) => {
                info.scroll = if down {
                    info.scroll.saturating_add(1)
                } else {
                    info.scroll.saturating_sub(1)
                };
            }
            None if self.board.open => self.board.move_selection(if down { 1 } else { -1 }),
            _ => {}
        }
    }

    /// Confirm what is open: the picker's choice, the prompt's text, or (on the wallboard) the
    /// selected row.
    pub(super) fn pick(&mut self, out: &mut Vec<Command>) {
        if self.help.take().is_some() {
            return;
        }
        match self.modal.take() {
            Some(Modal::Picker(picker)) => match picker.purpose {
                PickerPurpose::RejectReason {
                    conversation,
                    draft,
                } => {
                    let reason = RejectReason::ALL
                        .get(picker.selected)
                        .copied()
                        .unwrap_or(RejectReason::Other);
                    self.draft_command(conversation, draft, DraftAction::Reject { reason }, out);
                }
            },
            Some(Modal::Prompt(prompt)) => {
                let text = prompt.text();
                match prompt.purpose {
                    PromptPurpose::Decline { conversation } => {
                        self.decline_offer(conversation, reason(&text), out)
                    }
                    PromptPurpose::Transfer { conversation } => {
                        self.transfer(conversation, reason(&text), out)
                    }
                    PromptPurpose::WallboardFilter { .. } => self.apply_filter(&text),
                }
            }
            Some(Modal::Summary) => {}
            Some(shifts @ Modal::Shifts(_)) => {
                self.modal = Some(shifts);
                self.explain_shift();
            }
            Some(other) => self.modal = Some(other),
            None if self.board.open => {
                if self.board.hand_back.is_some() {
                    self.hand_back_to_selected(out);
                } else {
                    self.shadow(out);
                }
            }
            None => {}
        }
    }

    /// Close what is open: the help, a modal (changed text only on a second press), the
    /// wallboard.
    pub(super) fn cancel(&mut self) {
        if self.help.take().is_some() {
            return;
        }
        match self.modal.take() {
            Some(Modal::Editor(mut editor)) => {
                if editor.changed() && !editor.discard_armed {
                    editor.discard_armed = true;
                    self.modal = Some(Modal::Editor(editor));
                    self.note(Level::Warn, "Press cancel again to discard the text.");
                }
            }
            Some(Modal::Prompt(PromptState {
                purpose: PromptPurpose::WallboardFilter { previous },
                ..
            })) => self.board.set_filter(&previous),
            // The explanation of a shift goes back to the history.
            Some(Modal::Info(_)) => {
                if let Some(view) = self.shifts_back.take() {
                    self.modal = Some(Modal::Shifts(view));
                }
            }
            Some(_) => {}
            None => {
                if self.board.open {
                    self.board.close();
                }
            }
        }
    }
}
