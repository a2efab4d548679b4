//! What a supervisor does beyond a worker: the wallboard (subscribed at each login; its sort,
//! focus and filter), shadowing a conversation or every conversation of a worker (read-only),
//! whispering to the worker, taking a conversation over and handing it back. The wallboard's
//! own state (rows, sort, filter, selection) is `board::WallboardView`.

use shiftdesk_protocol::{ConversationId, ConversationView, Role, Wallboard, WorkerCommand};

use super::conversation::ConvState;
use super::modal::{EditorPurpose, PromptPurpose};
use super::{App, Command, ConnState, Level};
use crate::board::{BoardFocus, HandBackTarget};
use crate::keymap::Action;

impl App {
    pub fn is_supervisor(&self) -> bool {
        self.me.as_ref().is_some_and(|m| m.role == Role::Supervisor)
    }

    pub fn wallboard_open(&self) -> bool {
        self.board.open
    }

    /// Is the supervisor watching this conversation without owning it?
    pub fn shadowing(&self, c: &ConvState) -> bool {
        self.is_supervisor() && !self.owns(c)
    }

    /// Who owns a conversation, by name where the wallboard knows it.
    pub fn owner_label(&self, c: &ConvState) -> Option<String> {
        c.owner_name.clone().or_else(|| c.view.owner.clone())
    }

    /// The owner's display name, for a view that just arrived (its `owner` is the freshest).
    pub(super) fn owner_name_of(&self, view: &ConversationView) -> Option<String> {
        let owner = view.owner.as_deref()?;
        if self.me.as_ref().is_some_and(|m| m.id == owner) {
            return self.me.as_ref().map(|m| m.name.clone());
        }
        self.board
            .name_of(owner)
            .or_else(|| {
                self.board
                    .live_entry(&view.id)
                    .and_then(|c| c.owner.as_deref())
            })
            .map(str::to_string)
    }

    /// The hub forgets subscriptions with the connection: ask again at each login. The
    /// figures also give names to owners and hand-back targets.
    pub(super) fn subscribe_wallboard(&mut self, out: &mut Vec<Command>) {
        self.board.me = self.me.as_ref().map(|m| m.id.clone()).unwrap_or_default();
        self.send(WorkerCommand::Wallboard, out);
    }

    pub(super) fn wallboard_arrived(&mut self, wallboard: Wallboard) {
        self.board.set_data(wallboard, self.now);
        self.follow_owners();
    }

    /// The hub tells a shadowing supervisor about new lines, not about a new owner (a waiting
    /// conversation accepted, a transfer, a hand-back by someone else): the wallboard's live
    /// list does, each second. Conversations the supervisor owns are left alone.
    fn follow_owners(&mut self) {
        let updates: Vec<Option<(Option<String>, Option<String>)>> = self
            .conversations
            .iter()
            .map(|c| {
                if c.closed.is_some() || self.owns(c) {
                    return None;
                }
                let live = self.board.live_entry(&c.view.id)?;
                let name = live.owner.clone();
                let id = match &name {
                    None => None,
                    Some(n) => Some(
                        self.board
                            .id_of(n)
                            .map(str::to_string)
                            .or_else(|| c.view.owner.clone())?,
                    ),
                };
                Some((id, name))
            })
            .collect();
        for (c, update) in self.conversations.iter_mut().zip(updates) {
            if let Some((id, name)) = update {
                c.view.owner = id;
                c.owner_name = name;
            }
        }
    }

    pub(super) fn toggle_wallboard(&mut self, out: &mut Vec<Command>) {
        if !self.is_supervisor() {
            self.note(Level::Info, "The wallboard is for supervisors.");
            return;
        }
        if self.board.open {
            self.board.close();
        } else {
            self.board.open = true;
            if self.board.data.is_none() && self.conn == ConnState::Connected {
                // Normally subscribed at login; ask again if nothing came yet.
                if !self.outbox.has(|c| *c == WorkerCommand::Wallboard) {
                    self.send(WorkerCommand::Wallboard, out);
                }
            }
        }
    }

    /// Edit the wallboard's filter in a prompt, starting from the current one.
    pub(super) fn open_wallboard_filter(&mut self) {
        let previous = self.board.filter.text.clone();
        self.open_prompt(
            PromptPurpose::WallboardFilter {
                previous: previous.clone(),
            },
            "a name, or status:break (empty shows everyone)",
            &previous,
        );
    }

    /// The filter prompt was confirmed.
    pub(super) fn apply_filter(&mut self, text: &str) {
        self.board.set_filter(text);
        if let Some(problem) = self.board.filter.problem.clone() {
            self.note(Level::Warn, format!("Filter: {problem}."));
        }
    }

    /// On the wallboard, shadow what is selected; elsewhere, stop shadowing the selected
    /// conversation.
    pub(super) fn shadow(&mut self, out: &mut Vec<Command>) {
        if !self.is_supervisor() {
            return;
        }
        if self.board.open {
            self.shadow_from_wallboard(out);
        } else if let Some(c) = self.selected_conversation()
            && !self.owns(c)
            && c.closed.is_none()
        {
            let conversation = c.view.id.clone();
            if let Some(c) = self.selected_conversation_mut() {
                c.closed = Some("no longer shadowed".into());
            }
            self.send(WorkerCommand::Unshadow { conversation }, out);
        }
    }

    /// Shadow what is selected on the wallboard: a live conversation, or every conversation of
    /// the selected worker.
    fn shadow_from_wallboard(&mut self, out: &mut Vec<Command>) {
        if self.board.hand_back.is_some() {
            let choose = self.key_hint(Action::PickerSelect);
            self.note(
                Level::Info,
                format!("Choose a worker with {choose}, or cancel."),
            );
            return;
        }
        let (targets, who): (Vec<ConversationId>, Option<String>) = match self.board.focus {
            BoardFocus::Live => match self.board.selected_live() {
                Some(c) => (vec![c.id.clone()], None),
                None => (Vec::new(), None),
            },
            BoardFocus::Workers => match self.board.selected_worker() {
                Some(w) => (
                    self.board
                        .live_of(&w.name)
                        .into_iter()
                        .map(|c| c.id.clone())
                        .collect(),
                    Some(w.name.clone()),
                ),
                None => (Vec::new(), None),
            },
        };
        if targets.is_empty() {
            let text = match who {
                Some(name) => format!("{name} has no open conversation to shadow."),
                None => "No conversation selected.".to_string(),
            };
            self.note(Level::Info, text);
            return;
        }
        self.board.close();
        let showing = |app: &App, id: &str| {
            app.conversations
                .iter()
                .position(|c| c.view.id == id && c.closed.is_none())
        };
        for conversation in &targets {
            // Already shadowing (or owning) it: nothing to ask.
            if showing(self, conversation).is_none() {
                self.send(
                    WorkerCommand::Shadow {
                        conversation: conversation.clone(),
                    },
                    out,
                );
            }
        }
        match showing(self, &targets[0]) {
            Some(index) => self.select(index),
            None => self.select_on_arrival = Some(targets[0].clone()),
        }
        let text = match (who, targets.len()) {
            (Some(name), n) if n > 1 => {
                format!(
                    "Shadowing {name}'s {n} conversations (read-only); switch between them with the conversation keys."
                )
            }
            (Some(name), _) => format!("Shadowing {name} (read-only)."),
            (None, _) => "Shadowing (read-only).".to_string(),
        };
        self.note(Level::Info, text);
    }

    /// Write privately to the worker who owns the shadowed conversation.
    pub(super) fn whisper(&mut self) {
        if !self.is_supervisor() {
            return;
        }
        let Some(c) = self.selected_conversation() else {
            return;
        };
        if c.closed.is_some() {
            self.note(Level::Info, "This conversation has ended.");
        } else if self.owns(c) {
            self.note(
                Level::Info,
                "You own this conversation: write to the customer instead.",
            );
        } else if c.view.owner.is_none() {
            self.note(
                Level::Info,
                "Nobody has this conversation yet to whisper to.",
            );
        } else {
            let conversation = c.view.id.clone();
            self.open_editor(EditorPurpose::Whisper { conversation }, "");
        }
    }

    /// Take the shadowed conversation from its owner, on a second press if it has one.
    pub(super) fn take_over(&mut self, out: &mut Vec<Command>) {
        if !self.is_supervisor() {
            return;
        }
        let Some(c) = self.selected_conversation() else {
            return;
        };
        if self.owns(c) || c.closed.is_some() {
            return;
        }
        let conversation = c.view.id.clone();
        let from = self.owner_label(c);
        if from.is_some() && !self.arm(Action::SupervisorTakeover) {
            let again = self.key_hint(Action::SupervisorTakeover);
            let from = from.unwrap_or_default();
            self.note(
                Level::Warn,
                format!(
                    "Take this conversation from {from}? They are told and lose it. Press {again} again."
                ),
            );
            return;
        }
        self.send(WorkerCommand::TakeOver { conversation }, out);
        self.note(Level::Info, "Taking over…");
    }

    /// Hand a conversation the supervisor owns back: the wallboard opens to choose a worker.
    pub(super) fn start_hand_back(&mut self) {
        if !self.is_supervisor() {
            return;
        }
        let Some(c) = self
            .selected_conversation()
            .filter(|c| self.owns(c) && c.closed.is_none())
        else {
            self.note(
                Level::Info,
                "Only a conversation you took over can be handed back.",
            );
            return;
        };
        let target = HandBackTarget {
            conversation: c.view.id.clone(),
            customer: c.view.customer.name.clone(),
        };
        self.board.start_hand_back(target);
    }

    /// Hand the taken-over conversation to the worker selected on the wallboard.
    pub(super) fn hand_back_to_selected(&mut self, out: &mut Vec<Command>) {
        let Some(target) = self.board.hand_back.clone() else {
            return;
        };
        let Some(worker) = self.board.selected_worker().cloned() else {
            self.note(
                Level::Info,
                "Nobody can take it now: no connected worker has free capacity.",
            );
            return;
        };
        self.board.close();
        self.send(
            WorkerCommand::HandBack {
                conversation: target.conversation,
                worker: worker.id,
            },
            out,
        );
        self.note(
            Level::Info,
            format!("Handing {} back to {}…", target.customer, worker.name),
        );
    }
}
