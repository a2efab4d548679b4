//! AI drafts: the one waiting in each conversation and where it is (proposed, sent and not yet
//! confirmed, done, refused), one still being written, the log of every draft and what the
//! owner did with it (what a shadowing supervisor sees), and the worker's accept, edit, reject
//! (with a reason) and regenerate.

use shiftdesk_protocol::{
    ConversationId, Draft, DraftAction, DraftOutcome, RejectReason, WorkerCommand,
};

use super::conversation::ConvState;
use super::modal::{EditorPurpose, Modal, PickerPurpose, PickerState};
use super::{App, Command, Level};

/// What was done with a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftDoing {
    Accept,
    Edit,
    Reject(RejectReason),
    Regenerate,
}

impl DraftDoing {
    fn of(action: &DraftAction) -> DraftDoing {
        match action {
            DraftAction::Accept => DraftDoing::Accept,
            DraftAction::Edit { .. } => DraftDoing::Edit,
            DraftAction::Reject { reason } => DraftDoing::Reject(*reason),
            DraftAction::Regenerate => DraftDoing::Regenerate,
        }
    }

    /// What the owner did, as the hub reports it.
    fn of_outcome(outcome: DraftOutcome, reason: Option<RejectReason>) -> DraftDoing {
        match outcome {
            DraftOutcome::Accepted | DraftOutcome::Pending => DraftDoing::Accept,
            DraftOutcome::Edited => DraftDoing::Edit,
            DraftOutcome::Rejected => DraftDoing::Reject(reason.unwrap_or(RejectReason::Other)),
            DraftOutcome::Regenerated => DraftDoing::Regenerate,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftStatus {
    /// Waiting for the worker.
    Proposed,
    /// Sent to the hub, not yet confirmed.
    Pending { id: String, doing: DraftDoing },
    /// The hub confirmed it.
    Sent { doing: DraftDoing },
    /// The hub refused it; the message says why.
    Failed { message: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct DraftState {
    pub draft: Draft,
    pub status: DraftStatus,
    /// What the worker sent instead of the proposal, when they edited it: shown once sent.
    pub edited: Option<String>,
}

impl DraftState {
    /// Can the worker act on it now?
    pub fn actionable(&self) -> bool {
        matches!(
            self.status,
            DraftStatus::Proposed | DraftStatus::Failed { .. }
        )
    }
}

/// A draft and, once the owner acted on it, what they did.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftLog {
    pub draft: Draft,
    pub outcome: Option<(DraftOutcome, Option<RejectReason>)>,
}

impl ConvState {
    pub(super) fn log_draft(&mut self, draft: &Draft) {
        if !self.drafts.iter().any(|d| d.draft.id == draft.id) {
            self.drafts.push(DraftLog {
                draft: draft.clone(),
                outcome: None,
            });
        }
    }

    /// A finished draft: it replaces the one waiting and any being written.
    pub(super) fn draft_arrived(&mut self, draft: Draft) {
        self.log_draft(&draft);
        self.writing = None;
        self.draft = Some(DraftState {
            draft,
            status: DraftStatus::Proposed,
            edited: None,
        });
    }

    /// The text so far of a draft being written, unless a draft for this line or a later one
    /// already waits for the worker.
    pub(super) fn draft_partial(&mut self, for_message: u32, text: String) {
        if self
            .draft
            .as_ref()
            .is_none_or(|d| d.draft.for_message < for_message || !d.actionable())
        {
            self.writing = Some((for_message, text));
        }
    }

    /// The owner acted on a draft (this console or another, or a supervisor's view of it).
    pub(super) fn draft_done(
        &mut self,
        draft: &str,
        outcome: DraftOutcome,
        reason: Option<RejectReason>,
    ) {
        if let Some(log) = self.drafts.iter_mut().find(|d| d.draft.id == draft) {
            log.outcome = Some((outcome, reason));
        }
        if let Some(d) = &mut self.draft
            && d.draft.id == draft
            && !matches!(d.status, DraftStatus::Pending { .. })
        {
            d.status = DraftStatus::Sent {
                doing: DraftDoing::of_outcome(outcome, reason),
            };
        }
    }

    /// The hub confirmed the draft command with this id.
    pub(super) fn draft_confirmed(&mut self, id: &str) {
        if let Some(d) = &mut self.draft
            && let DraftStatus::Pending {
                id: pending_id,
                doing,
            } = &d.status
            && pending_id == id
        {
            d.status = DraftStatus::Sent { doing: *doing };
        }
    }
}

impl App {
    /// The selected conversation and its draft, if the worker can act on the draft now.
    fn workable_draft(&mut self) -> Option<(ConversationId, Draft)> {
        let id = self.workable()?;
        let draft = self.selected_conversation().and_then(|c| c.draft.clone());
        match draft {
            Some(d) if d.actionable() => Some((id, d.draft)),
            Some(d) => {
                let text = match d.status {
                    DraftStatus::Pending { .. } => "Already sent; waiting for the hub.",
                    _ => "This draft is done; wait for the next one.",
                };
                self.note(Level::Info, text);
                None
            }
            None => {
                self.note(Level::Info, "No draft is waiting.");
                None
            }
        }
    }

    /// Accept or regenerate the selected conversation's draft.
    pub(super) fn draft_action(&mut self, action: DraftAction, out: &mut Vec<Command>) {
        if let Some((conversation, draft)) = self.workable_draft() {
            self.draft_command(conversation, draft.id, action, out);
        }
    }

    /// Send what the worker does with a draft; it is pending until the hub confirms.
    pub(super) fn draft_command(
        &mut self,
        conversation: ConversationId,
        draft: String,
        action: DraftAction,
        out: &mut Vec<Command>,
    ) {
        let doing = DraftDoing::of(&action);
        let edited = match &action {
            DraftAction::Edit { text } => Some(text.clone()),
            _ => None,
        };
        let id = self.send(
            WorkerCommand::Draft {
                conversation: conversation.clone(),
                draft: draft.clone(),
                action,
            },
            out,
        );
        if let Some(c) = self.find_mut(&conversation)
            && let Some(d) = &mut c.draft
            && d.draft.id == draft
        {
            d.status = DraftStatus::Pending { id, doing };
            d.edited = edited;
            c.scroll = 0;
        }
    }

    /// Editing opens the editor on the draft's text.
    pub(super) fn edit_draft(&mut self) {
        let Some((conversation, draft)) = self.workable_draft() else {
            return;
        };
        let text = draft.proposal.text.clone();
        let purpose = EditorPurpose::EditDraft {
            conversation,
            draft: draft.id,
            original: text.clone(),
        };
        self.open_editor(purpose, &text);
    }

    /// Rejecting first asks why, from a list.
    pub(super) fn ask_reject_reason(&mut self) {
        let Some((conversation, draft)) = self.workable_draft() else {
            return;
        };
        self.modal = Some(Modal::Picker(PickerState {
            purpose: PickerPurpose::RejectReason {
                conversation,
                draft: draft.id,
            },
            selected: 0,
        }));
    }

    pub(super) fn draft_refused(&mut self, conversation: &str, message: &str) {
        if let Some(c) = self.find_mut(conversation)
            && let Some(d) = &mut c.draft
        {
            d.status = DraftStatus::Failed {
                message: message.to_string(),
            };
        }
        self.note(Level::Error, format!("Draft not sent: {message}"));
    }
}
