//! Keys: which key contexts are in force, a key press (or a sequence of them) to an action
//! through the keymap or into the text field that has focus, confirmations by a second press,
//! and each action to the feature that carries it out.

use ratatui_textarea::{Input, Key as TaKey};

use shiftdesk_protocol::{DraftAction, Millis, WorkerStatus};

use super::{App, Command, Level, Modal};
use crate::board::PAGE;
use crate::keymap::{Action, Context, Key, KeyPress, Lookup};

/// How long a second press of quit / offline counts as "yes, really".
const CONFIRM_MS: Millis = 5_000;

/// A confirmation waiting for a second key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Armed {
    pub action: Action,
    pub until: Millis,
}

impl App {
    /// The key contexts in force, most specific first, and whether a text field has focus.
    pub fn contexts(&self) -> (Vec<Context>, bool) {
        if self.help.is_some() {
            return (vec![Context::Help, Context::Global], false);
        }
        let text = matches!(self.modal, Some(Modal::Editor(_) | Modal::Prompt(_)));
        (self.screen_contexts(), text)
    }

    /// The contexts of the main screen, without any modal.
    pub fn base_contexts(&self) -> Vec<Context> {
        let mut contexts = Vec::new();
        if self.offer.is_some() {
            contexts.push(Context::Offer);
        }
        if self.board.open {
            contexts.push(Context::Wallboard);
        } else {
            if self
                .selected_conversation()
                .and_then(|c| c.draft.as_ref())
                .is_some_and(|d| d.actionable())
                && self.selected_conversation().is_some_and(|c| self.owns(c))
            {
                contexts.push(Context::Draft);
            }
            contexts.push(Context::Conversation);
        }
        contexts.push(Context::Global);
        contexts
    }

    /// The contexts the help overlay lists: those of the screen under it, then help's own.
    pub fn help_contexts(&self) -> Vec<Context> {
        let mut contexts = self.screen_contexts();
        contexts.push(Context::Help);
        contexts
    }

    /// The contexts of what is on screen under the help overlay: a modal, or the main screen.
    fn screen_contexts(&self) -> Vec<Context> {
        match &self.modal {
            Some(Modal::Editor(_)) => vec![Context::Editor, Context::Global],
            Some(Modal::Prompt(_)) => vec![Context::Prompt, Context::Global],
            Some(Modal::Picker(_)) => vec![Context::Picker, Context::Global],
            Some(Modal::Summary) => vec![Context::Summary, Context::Global],
            // Scrolled and closed with the help's keys.
            Some(Modal::Info(_)) => vec![Context::Help, Context::Global],
            Some(Modal::Schedule(_)) => vec![Context::Schedule, Context::Global],
            Some(Modal::Shifts(_)) => vec![Context::Picker, Context::Global],
            None => self.base_contexts(),
        }
    }

    /// The key for an action, as the help and the notices name it.
    pub fn key_hint(&self, action: Action) -> String {
        let (contexts, _) = self.contexts();
        self.keymap
            .key_for(&contexts, action)
            .or_else(|| self.keymap.key_for(&Context::ALL, action))
            .unwrap_or_else(|| action.name().to_string())
    }

    pub(super) fn key(&mut self, key: KeyPress, out: &mut Vec<Command>) {
        let (contexts, text) = self.contexts();
        if text && self.pending_keys.is_empty() && key.is_printable() {
            self.type_key(key);
            return;
        }
        self.pending_keys.push(key);
        match self.keymap.lookup(&contexts, &self.pending_keys) {
            Lookup::Action(action) => {
                self.pending_keys.clear();
                self.action(action, out);
            }
            Lookup::Prefix => {}
            Lookup::None => {
                let keys = std::mem::take(&mut self.pending_keys);
                if text && keys.len() == 1 {
                    self.type_key(key);
                } else if keys.len() > 1 {
                    let typed: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
                    self.note(Level::Info, format!("`{}` is not bound", typed.join(" ")));
                }
            }
        }
    }

    /// A first press arms `action` and returns false; a second press in time returns true.
    pub(super) fn arm(&mut self, action: Action) -> bool {
        if self
            .armed
            .is_some_and(|a| a.action == action && a.until > self.now)
        {
            self.armed = None;
            return true;
        }
        self.armed = Some(Armed {
            action,
            until: self.now + CONFIRM_MS,
        });
        false
    }

    fn action(&mut self, action: Action, out: &mut Vec<Command>) {
        if !matches!(
            action,
            Action::Quit | Action::ShiftOffline | Action::SupervisorTakeover
        ) {
            self.armed = None;
        }
        match action {
            Action::Quit => self.quit(out),
            Action::Help => {
                self.help = match self.help {
                    Some(_) => None,
                    None => Some(0),
                };
            }
            Action::Summary => self.toggle_summary(),
            Action::Cancel => self.cancel(),
            Action::ShiftAvailable => self.change_status(WorkerStatus::Available, out),
            Action::ShiftBreak => self.change_status(WorkerStatus::Break, out),
            Action::ShiftDrain => self.change_status(WorkerStatus::Draining, out),
            Action::ShiftOffline => self.go_offline(out),
            Action::OfferAccept => self.accept_offer(out),
            Action::OfferDecline => self.ask_decline_reason(),
            Action::ConversationNext => self.select_next(true),
            Action::ConversationPrev => self.select_next(false),
            Action::ConversationResolve => self.resolve(out),
            Action::ConversationTransfer => self.ask_transfer_reason(),
            Action::ScrollUp | Action::ScrollDown
                if matches!(self.modal, Some(Modal::Schedule(_))) =>
            {
                // A page: one day of slots.
                let day = (86_400_000 / self.slot_ms.max(60_000)) as isize;
                self.move_in_schedule(if action == Action::ScrollUp {
                    -day
                } else {
                    day
                });
            }
            Action::ScrollUp | Action::ScrollDown if self.board.open => {
                let step = PAGE as isize;
                self.board.move_selection(if action == Action::ScrollUp {
                    -step
                } else {
                    step
                });
            }
            Action::ScrollUp => self.scroll_transcript(true),
            Action::ScrollDown => self.scroll_transcript(false),
            Action::DraftAccept => self.draft_action(DraftAction::Accept, out),
            Action::DraftRegenerate => self.draft_action(DraftAction::Regenerate, out),
            Action::DraftEdit => self.edit_draft(),
            Action::DraftReject => self.ask_reject_reason(),
            Action::ReplyCompose => self.compose(false),
            Action::NoteCompose => self.compose(true),
            Action::ReplySend => self.send_editor(out),
            Action::PickerUp => self.move_selection(false),
            Action::PickerDown => self.move_selection(true),
            Action::PickerSelect => self.pick(out),
            Action::SupervisorWallboard => self.toggle_wallboard(out),
            Action::WallboardSort if self.board.open => self.board.cycle_sort(),
            Action::WallboardFocus if self.board.open => self.board.toggle_focus(),
            Action::WallboardFilter if self.board.open => self.open_wallboard_filter(),
            Action::WallboardSort | Action::WallboardFocus | Action::WallboardFilter => {}
            Action::SupervisorShadow => self.shadow(out),
            Action::SupervisorWhisper => self.whisper(),
            Action::SupervisorTakeover => self.take_over(out),
            Action::SupervisorHandback => self.start_hand_back(),
            Action::Explain => self.explain(),
            Action::AboutDispatch => self.ask_about_dispatch(out),
            Action::EarningsToggle => self.toggle_earnings(),
            Action::ShiftHistory => self.ask_shift_history(out),
            Action::ScheduleOpen => self.open_schedule(out),
            Action::SlotBook => self.book_selected(true, out),
            Action::SlotRelease => self.book_selected(false, out),
        }
    }
}

/// Our key press as the text area's input.
pub fn to_textarea_input(key: KeyPress) -> Input {
    let k = match key.key {
        Key::Char(c) => TaKey::Char(c),
        Key::Enter => TaKey::Enter,
        Key::Esc => TaKey::Esc,
        Key::Tab => TaKey::Tab,
        Key::BackTab => TaKey::Tab,
        Key::Backspace => TaKey::Backspace,
        Key::Delete => TaKey::Delete,
        Key::Insert => TaKey::Null,
        Key::Up => TaKey::Up,
        Key::Down => TaKey::Down,
        Key::Left => TaKey::Left,
        Key::Right => TaKey::Right,
        Key::Home => TaKey::Home,
        Key::End => TaKey::End,
        Key::PageUp => TaKey::PageUp,
        Key::PageDown => TaKey::PageDown,
        Key::F(n) => TaKey::F(n),
    };
    Input {
        key: k,
        ctrl: key.ctrl,
        alt: key.alt,
        shift: key.shift,
    }
}
