//! The OpenAI-compatible drafter (placeholder: being written).

use std::sync::Arc;
use std::time::Duration;

use super::kb::{KbDrafter, KnowledgeBase};
use super::{DraftProposal, DraftRequest, Drafter, DrafterArgs, DrafterChoice, DrafterKind};

/// How to reach a model server.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// Base URL ending in /v1.
    pub base_url: String,
    pub model: String,
    /// Never printed: Debug masks it.
    pub api_key: Option<String>,
    pub timeout: Duration,
    pub max_concurrent: usize,
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .field("max_concurrent", &self.max_concurrent)
            .finish()
    }
}

pub struct OpenAiDrafter {
    config: OpenAiConfig,
    fallback: KbDrafter,
}

impl OpenAiDrafter {
    pub fn new(config: OpenAiConfig, kb: Arc<KnowledgeBase>) -> Self {
        OpenAiDrafter {
            config,
            fallback: KbDrafter::new(kb),
        }
    }
}

impl Drafter for OpenAiDrafter {
    fn name(&self) -> &str {
        "openai"
    }

    fn draft(&self, req: &DraftRequest<'_>) -> DraftProposal {
        let mut proposal = self.fallback.draft(req);
        proposal.drafter = "fallback".into();
        proposal.model = Some(self.config.model.clone());
        proposal
    }
}

pub(super) fn choice_from_args(args: &DrafterArgs) -> Result<DrafterChoice, String> {
    match args.drafter {
        DrafterKind::Kb => Ok(DrafterChoice::Kb),
        DrafterKind::Openai => {
            let base_url = args
                .openai_url
                .clone()
                .ok_or("--drafter openai needs --openai-url URL (ending in /v1)")?;
            let model = args
                .model
                .clone()
                .ok_or("--drafter openai needs --model NAME")?;
            let api_key = match &args.api_key_env {
                Some(var) => Some(std::env::var(var).map_err(|_| {
                    format!("--api-key-env {var}: the environment variable {var} is not set")
                })?),
                None => None,
            };
            Ok(DrafterChoice::OpenAi(OpenAiConfig {
                base_url,
                model,
                api_key,
                timeout: Duration::from_secs(args.draft_timeout),
                max_concurrent: args.model_concurrency as usize,
            }))
        }
    }
}
