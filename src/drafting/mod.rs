//! Reply drafts for workers: the [`Drafter`] trait and the proposal it returns.
//!
//! Every customer message a worker must answer arrives with a draft (design.md, "Drafts"). The hub
//! asks a [`Drafter`] for it; the built-in one is [`kb::KbDrafter`], a retrieval drafter over the
//! knowledge base in `assets/kb/`, so the demo works offline with no model server. Other drafters
//! (an OpenAI-compatible HTTP client) implement the same trait, so the hub does not care which one
//! it talks to.

pub mod kb;

use serde::{Deserialize, Serialize};

use crate::lang::Lang;

/// What a drafter is asked to answer.
#[derive(Debug, Clone, Copy)]
pub struct DraftRequest<'a> {
    /// The customer message to answer.
    pub text: &'a str,
    /// The customer's language; the draft is written in it.
    pub language: Lang,
    /// Earlier customer messages in this conversation, oldest first (may be empty). Gives context
    /// to a follow-up like "and how long does that take?".
    pub history: &'a [String],
    /// 0 for the first draft; each "regenerate" from the worker increments it, and the drafter
    /// must then return a different draft (the next-best article, or a different phrasing).
    pub attempt: u32,
}

/// A proposed reply, with what it is based on, shown to the worker to accept, edit or reject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftProposal {
    /// The reply text, in `language`.
    pub text: String,
    /// How sure the drafter is that this answers the message, 0..=1.
    pub confidence: f32,
    /// What the customer wants, as a snake_case intent (`"move_due_date"`), or `"unknown"`.
    pub intent: String,
    /// Language the draft is written in.
    pub language: Lang,
    /// Ids of the knowledge-base articles the draft used.
    pub sources: Vec<String>,
    /// Which drafter wrote it (`"kb"`, a model name, ...), for evaluating drafters against each
    /// other from the exported outcomes.
    pub drafter: String,
}

/// Something that writes reply drafts. Implementations must be cheap to share across the hub's
/// tasks; slow ones (HTTP models) are called off the dispatch core by the shell.
pub trait Drafter: Send + Sync {
    /// Short name recorded in [`DraftProposal::drafter`].
    fn name(&self) -> &str;
    /// Draft a reply. Never fails: a drafter with nothing useful to say returns a clarifying
    /// question with low confidence, and the worker writes the reply.
    fn draft(&self, req: &DraftRequest<'_>) -> DraftProposal;
}
