//! Reply drafts for workers: the [`Drafter`] trait and the proposal it returns.
//!
//! Every customer message a worker must answer arrives with a draft (design.md, "Drafts"). The hub
//! asks a [`Drafter`] for it; the built-in one is [`kb::KbDrafter`], a retrieval drafter over the
//! knowledge base in `assets/kb/`, so the demo works offline with no model server. Other drafters
//! (an OpenAI-compatible HTTP client) implement the same trait, so the hub does not care which one
//! it talks to.

pub mod kb;
pub(crate) mod keywords;
pub mod openai;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::lang::Lang;
use crate::metrics::HubMetrics;
pub use shiftdesk_protocol::DraftProposal;

/// What a drafter is asked to answer.
#[derive(Debug, Clone, Copy)]
pub struct DraftRequest<'a> {
    /// The customer message to answer.
    pub text: &'a str,
    /// The customer's language; the draft is written in it.
    pub language: Lang,
    /// The few customer messages before `text` (up to four), oldest first (may be empty). Gives context
    /// to a follow-up like "and how long does that take?".
    pub history: &'a [String],
    /// The recent conversation, oldest first: customer lines, what the bot said while it had the
    /// conversation (with the articles it answered from) and what the worker sent (notes and
    /// whispers are never included). Up to [`TRANSCRIPT_TURNS`] turns, ending with `text`.
    pub transcript: &'a [Turn],
    /// 0 for the first draft; each "regenerate" from the worker increments it, and the drafter
    /// must then return a different draft (the next-best article, or a different phrasing).
    pub attempt: u32,
}

impl DraftRequest<'_> {
    /// A person (the worker, or a supervisor who took over) has already written to the
    /// customer in the recent transcript: a draft goes on from there instead of greeting.
    pub fn agent_replied(&self) -> bool {
        self.transcript.iter().any(|t| t.speaker == Speaker::Agent)
    }

    /// The knowledge-base articles the bot already answered the customer with in this
    /// conversation (before a person took over), oldest first, each once. A draft must not
    /// propose them again: the customer has read them and still asked for a person.
    pub fn bot_sent(&self) -> Vec<&str> {
        let mut sent: Vec<&str> = Vec::new();
        for turn in self.transcript.iter().filter(|t| t.speaker == Speaker::Bot) {
            for id in &turn.sources {
                if !sent.contains(&id.as_str()) {
                    sent.push(id);
                }
            }
        }
        sent
    }

    /// This draft is the first reply a person gives after the bot's last article answer: no
    /// worker line follows that answer in the transcript. Only then may a draft acknowledge the
    /// article ("I see the assistant already sent you …"); once a person has replied, the
    /// conversation has moved on from it.
    pub fn first_reply_after_bot(&self) -> bool {
        let Some(last_article) = self
            .transcript
            .iter()
            .rposition(|t| t.speaker == Speaker::Bot && !t.sources.is_empty())
        else {
            return false;
        };
        !self.transcript[last_article..]
            .iter()
            .any(|t| t.speaker == Speaker::Agent)
    }

    /// What the customer has already been sent in the recent transcript, by the worker or the
    /// bot, oldest first. A draft must never propose one of these texts again.
    pub fn already_sent(&self) -> impl Iterator<Item = &str> + '_ {
        self.transcript
            .iter()
            .filter(|t| matches!(t.speaker, Speaker::Agent | Speaker::Bot))
            .map(|t| t.text.as_str())
    }
}

/// How many recent turns of a conversation a drafter is given.
pub const TRANSCRIPT_TURNS: usize = 12;

/// Who said a line of the transcript given to a drafter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Customer,
    /// The worker (or a supervisor who took over): what the customer saw from a person.
    Agent,
    /// The automated assistant, while it had the conversation.
    Bot,
}

/// One line of the transcript given to a drafter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    pub speaker: Speaker,
    pub text: String,
    /// For a bot turn: the knowledge-base articles it answered from (empty for greetings and
    /// clarifying questions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

impl Turn {
    /// A customer's or a person's line.
    pub fn new(speaker: Speaker, text: impl Into<String>) -> Turn {
        Turn {
            speaker,
            text: text.into(),
            sources: Vec::new(),
        }
    }
}

/// Something that writes reply drafts. Implementations must be cheap to share across the hub's
/// tasks; slow ones (HTTP models) are called off the dispatch core by the shell.
pub trait Drafter: Send + Sync {
    /// Short name recorded in [`DraftProposal::drafter`].
    fn name(&self) -> &str;
    /// Draft a reply. Never fails: a drafter with nothing useful to say returns a clarifying
    /// question with low confidence, and the worker writes the reply.
    fn draft(&self, req: &DraftRequest<'_>) -> DraftProposal;
    /// Draft a reply, calling `partial` with the text so far each time it grows, so the worker
    /// can start reading before the draft is finished. Drafters that do not stream (the built-in
    /// one) answer at once and never call it. Called on a blocking thread, never on the
    /// dispatch core's.
    fn draft_streaming(
        &self,
        req: &DraftRequest<'_>,
        partial: &mut dyn FnMut(&str),
    ) -> DraftProposal {
        let _ = partial;
        self.draft(req)
    }
    /// How many drafts are worth writing at once. A drafter that waits on a model server wants
    /// many in flight; one that only computes (the built-in one) wants no more than the cores.
    fn parallel_drafts(&self) -> usize {
        32
    }
}

/// Which drafter a hub uses, from `--drafter` and its options.
#[derive(Debug, Clone, Default)]
pub enum DrafterChoice {
    /// The built-in knowledge-base drafter.
    #[default]
    Kb,
    /// An OpenAI-compatible chat-completions server, with the built-in drafter as fallback.
    OpenAi(openai::OpenAiConfig),
}

impl DrafterChoice {
    /// Build the drafter over the knowledge base.
    pub fn build(&self, kb: Arc<kb::KnowledgeBase>) -> Arc<dyn Drafter> {
        self.build_measured(kb, Arc::new(HubMetrics::new()))
    }

    /// [`DrafterChoice::build`], counting a model's draft latency and fallbacks in `metrics`.
    pub fn build_measured(
        &self,
        kb: Arc<kb::KnowledgeBase>,
        metrics: Arc<HubMetrics>,
    ) -> Arc<dyn Drafter> {
        match self {
            DrafterChoice::Kb => Arc::new(kb::KbDrafter::new(kb)),
            DrafterChoice::OpenAi(config) => {
                Arc::new(openai::OpenAiDrafter::new(config.clone(), kb).with_metrics(metrics))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DrafterKind {
    /// The built-in knowledge-base drafter (no model server needed).
    Kb,
    /// An OpenAI-compatible server: Ollama, llama.cpp's server, vLLM or a hosted API.
    Openai,
}

/// `--drafter` and its options, shared by `shiftdesk hub` and `shiftdesk demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DrafterArgs {
    /// Who drafts replies: the built-in knowledge-base drafter, or an OpenAI-compatible model
    /// server (with the built-in drafter as fallback).
    #[arg(long, value_enum, default_value = "kb")]
    pub drafter: DrafterKind,
    /// Base URL of the OpenAI-compatible API, ending in /v1 (e.g. http://127.0.0.1:11434/v1
    /// for Ollama).
    #[arg(long, value_name = "URL")]
    pub openai_url: Option<String>,
    /// Model name to ask for (e.g. llama3.2, qwen2.5:7b-instruct).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Name of the environment variable holding the API key (the key itself is never a flag).
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Seconds to wait for a model draft before using the built-in drafter instead.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub draft_timeout: u64,
    /// Most requests in flight to the model server at once; more wait their turn.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub model_concurrency: u64,
}

impl DrafterArgs {
    /// Check the options and read the API key. Errors name the flag that is wrong.
    pub fn choice(&self) -> Result<DrafterChoice, String> {
        openai::choice_from_args(self)
    }
}
