//! The conversations on screen (the worker's own, and those a supervisor shadows): the list and
//! which one is selected, each transcript with its unread count and scroll position, the lines
//! the worker sent that the hub has not confirmed yet, and resolving a conversation or giving it
//! back to the queue.

use shiftdesk_protocol::{
    Author, ConversationId, ConversationState, ConversationView, Message, WorkerCommand,
};

use super::draft::{DraftLog, DraftState, DraftStatus};
use super::modal::PromptPurpose;
use super::{App, Command, Level, cycle};

const SCROLL_STEP: u16 = 3;

/// A line the worker sent and the hub has not confirmed yet (or refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLine {
    pub id: String,
    pub from: Author,
    pub text: String,
    pub failed: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConvState {
    pub view: ConversationView,
    pub draft: Option<DraftState>,
    pub unread: u32,
    /// Set when the hub said the worker no longer has it; the reason.
    pub closed: Option<String>,
    /// Lines scrolled up from the bottom of the transcript.
    pub scroll: u16,
    pub pending: Vec<PendingLine>,
    /// Every draft seen in this conversation and what the owner did with it, oldest first:
    /// what a shadowing supervisor sees inline in the transcript.
    pub drafts: Vec<DraftLog>,
    /// The owner's display name (the view only has the id), from the wallboard.
    pub owner_name: Option<String>,
    /// A draft being written (streamed by a model): the customer message it answers and the
    /// text so far. Replaced by the finished draft.
    pub writing: Option<(u32, String)>,
}

impl ConvState {
    fn new(mut view: ConversationView) -> ConvState {
        let draft = view.draft.take().map(|draft| DraftState {
            draft,
            status: DraftStatus::Proposed,
            edited: None,
        });
        let mut c = ConvState {
            view,
            draft,
            unread: 0,
            closed: None,
            scroll: 0,
            pending: Vec::new(),
            drafts: Vec::new(),
            owner_name: None,
            writing: None,
        };
        c.log_current_draft();
        c
    }

    pub fn id(&self) -> &str {
        &self.view.id
    }

    /// A fresh view of a conversation already shown (after a reconnect, a transfer, a take
    /// over): keep what only this console knows.
    fn refresh(&mut self, view: ConversationView, owner_name: Option<String>, open: bool) {
        let mut fresh = ConvState::new(view);
        if let (Some(new), Some(old)) = (&mut fresh.draft, self.draft.take())
            && new.draft.id == old.draft.id
        {
            new.status = old.status;
        }
        fresh.unread = self.unread;
        fresh.scroll = self.scroll;
        fresh.pending = std::mem::take(&mut self.pending);
        fresh.drafts = std::mem::take(&mut self.drafts);
        fresh.log_current_draft();
        fresh.owner_name = owner_name;
        if !open {
            fresh.closed = Some(format!("{:?}", fresh.view.state).to_lowercase());
            fresh.end_drafts();
        }
        *self = fresh;
    }

    fn log_current_draft(&mut self) {
        if let Some(draft) = self.draft.as_ref().map(|d| d.draft.clone()) {
            self.log_draft(&draft);
        }
    }

    /// A new line, once (the hub may send one again after a resume). `selected`: the worker
    /// is looking at this conversation.
    fn add_message(&mut self, message: Message, selected: bool) {
        if self.view.messages.iter().any(|m| m.n == message.n) {
            return;
        }
        let from = message.from;
        self.view.messages.push(message);
        self.view.messages.sort_by_key(|m| m.n);
        if selected {
            // New lines bring the view back down.
            self.scroll = 0;
        } else if from == Author::Customer {
            self.unread += 1;
        }
    }

    /// The conversation ended: a draft still waiting can no longer be sent, so it goes (it
    /// stays in `drafts`, the record a shadowing supervisor sees).
    fn end_drafts(&mut self) {
        if self.draft.as_ref().is_some_and(|d| d.actionable()) {
            self.draft = None;
        }
        self.writing = None;
    }

    pub(super) fn line_confirmed(&mut self, id: &str) {
        self.pending.retain(|p| p.id != id);
    }
}

impl App {
    pub fn selected_conversation(&self) -> Option<&ConvState> {
        self.conversations.get(self.selected)
    }

    pub(super) fn selected_conversation_mut(&mut self) -> Option<&mut ConvState> {
        self.conversations.get_mut(self.selected)
    }

    /// The conversation with this id, if it is on screen.
    pub fn conversation(&self, id: &str) -> Option<&ConvState> {
        self.conversations.iter().find(|c| c.view.id == id)
    }

    pub(super) fn find_mut(&mut self, id: &str) -> Option<&mut ConvState> {
        self.conversations.iter_mut().find(|c| c.view.id == id)
    }

    pub(super) fn position(&self, id: &str) -> Option<usize> {
        self.conversations.iter().position(|c| c.view.id == id)
    }

    /// Conversations the worker owns (not just shadows).
    pub fn open_count(&self) -> usize {
        self.conversations
            .iter()
            .filter(|c| c.closed.is_none() && self.owns(c))
            .count()
    }

    pub fn owns(&self, c: &ConvState) -> bool {
        match (&self.me, &c.view.owner) {
            (Some(me), Some(owner)) => *owner == me.id,
            // Before login nothing is known; treat it as ours.
            (None, _) => true,
            (Some(_), None) => false,
        }
    }

    pub(super) fn conversation_arrived(&mut self, view: ConversationView) {
        let id = view.id.clone();
        let owner_name = self.owner_name_of(&view);
        let open =
            view.state != ConversationState::Resolved && view.state != ConversationState::Abandoned;
        if let Some(existing) = self.find_mut(&id) {
            existing.refresh(view, owner_name, open);
        } else if open {
            let mut fresh = ConvState::new(view);
            fresh.owner_name = owner_name;
            fresh.unread = fresh
                .view
                .messages
                .iter()
                .filter(|m| m.from == Author::Customer)
                .count()
                .min(1) as u32;
            self.conversations.push(fresh);
            let index = self.conversations.len() - 1;
            if self.select_on_arrival.as_deref() == Some(id.as_str())
                || self.conversations.len() == 1
            {
                self.select(index);
                self.select_on_arrival = None;
            }
        }
    }

    pub(super) fn message_arrived(&mut self, conversation: &str, message: Message) {
        let selected = self
            .selected_conversation()
            .is_some_and(|c| c.view.id == conversation);
        if let Some(c) = self.find_mut(conversation) {
            c.add_message(message, selected);
        }
    }

    /// The hub says the worker no longer has a conversation. The selected one stays on screen,
    /// marked, until the worker moves on; any other goes now.
    pub(super) fn closed(&mut self, conversation: &str, reason: String) {
        let Some(index) = self.position(conversation) else {
            return;
        };
        let name = self.conversations[index].view.customer.name.clone();
        let text = match reason.as_str() {
            "resolved" => format!("Conversation with {name} resolved."),
            "abandoned" => format!("{name} left the conversation."),
            "transferred" => format!("Conversation with {name} went back to the queue."),
            other => format!("Conversation with {name} closed: {other}."),
        };
        self.note(Level::Info, text);
        if index == self.selected {
            let c = &mut self.conversations[index];
            c.closed = Some(reason);
            c.end_drafts();
        } else {
            self.conversations.remove(index);
            if index < self.selected {
                self.selected -= 1;
            }
        }
    }

    pub(super) fn select(&mut self, index: usize) {
        let target = self.conversations.get(index).map(|c| c.view.id.clone());
        // Closed conversations go once the worker moves on from them.
        self.conversations
            .retain(|c| c.closed.is_none() || Some(&c.view.id) == target.as_ref());
        self.selected = target
            .and_then(|t| self.conversations.iter().position(|c| c.view.id == t))
            .unwrap_or(0);
        if let Some(c) = self.conversations.get_mut(self.selected) {
            c.unread = 0;
        }
    }

    /// The next (or previous) conversation in the list, wrapping around.
    pub(super) fn select_next(&mut self, forward: bool) {
        if self.conversations.is_empty() {
            return;
        }
        self.select(cycle(self.selected, self.conversations.len(), forward));
    }

    pub(super) fn scroll_transcript(&mut self, up: bool) {
        if let Some(c) = self.selected_conversation_mut() {
            c.scroll = if up {
                c.scroll.saturating_add(SCROLL_STEP)
            } else {
                c.scroll.saturating_sub(SCROLL_STEP)
            };
        }
    }

    pub(super) fn resolve(&mut self, out: &mut Vec<Command>) {
        let Some(conversation) = self.workable() else {
            return;
        };
        self.send(WorkerCommand::Resolve { conversation }, out);
        self.note(Level::Info, "Resolving…");
    }

    /// Giving a conversation back to the queue first asks why (optional).
    pub(super) fn ask_transfer_reason(&mut self) {
        let Some(conversation) = self.workable() else {
            return;
        };
        self.open_prompt(
            PromptPurpose::Transfer { conversation },
            "optional: why? (enter to give it back to the queue)",
            "",
        );
    }

    /// The transfer prompt was confirmed.
    pub(super) fn transfer(
        &mut self,
        conversation: ConversationId,
        reason: Option<String>,
        out: &mut Vec<Command>,
    ) {
        self.send(
            WorkerCommand::Transfer {
                conversation,
                reason,
            },
            out,
        );
        self.note(Level::Info, "Giving it back to the queue…");
    }

    /// The selected conversation's id, if the worker owns it and it is open; else say why not.
    pub(super) fn workable(&mut self) -> Option<ConversationId> {
        let (id, closed, owned) = match self.selected_conversation() {
            Some(c) => (c.view.id.clone(), c.closed.is_some(), self.owns(c)),
            None => {
                self.note(Level::Info, "No conversation is open.");
                return None;
            }
        };
        if closed {
            self.note(Level::Info, "This conversation has ended.");
            return None;
        }
        if !owned {
            self.note(
                Level::Info,
                "You are shadowing this conversation (read-only).",
            );
            return None;
        }
        Some(id)
    }

    /// Show a line just sent (a reply, a note, a whisper) until the hub confirms it.
    pub(super) fn pending_line(
        &mut self,
        conversation: &str,
        id: String,
        from: Author,
        text: String,
    ) {
        if let Some(c) = self.find_mut(conversation) {
            c.scroll = 0;
            c.pending.push(PendingLine {
                id,
                from,
                text,
                failed: None,
            });
        }
    }

    pub(super) fn line_refused(&mut self, conversation: &str, id: &str, message: &str) {
        if let Some(c) = self.find_mut(conversation)
            && let Some(line) = c.pending.iter_mut().find(|p| p.id == id)
        {
            line.failed = Some(message.to_string());
        }
        self.note(Level::Error, format!("Not sent: {message}"));
    }
}
