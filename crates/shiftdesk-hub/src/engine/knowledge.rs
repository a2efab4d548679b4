//! Swapping the knowledge base of a running hub: the operator edits their articles and sends
//! SIGHUP, and the next customer message is triaged and drafted from the new ones, with no
//! connection dropped.
//!
//! A [`KnowledgeReloader`] reads and checks the folder off the engine thread (a folder with
//! an error is refused whole and the hub keeps what it had), builds the drafter over the new
//! articles, and hands both to the engine, which swaps them in between two batches: a batch is
//! triaged by one knowledge base from start to end. Drafts already being written finish with
//! the articles they started with.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::EngineMsg;
use crate::conn::Inbox;
use crate::drafting::kb::{KbError, KnowledgeBase, Problem};
use crate::drafting::{Drafter, DrafterChoice};
use crate::lang::Lang;
use crate::languages::LanguageError;
use crate::metrics::HubMetrics;
use crate::rules::OperatorRules;
use crate::triage::TriagePolicy;

/// A knowledge base and its drafter, waiting for the end of the batch to be swapped in. Made
/// by [`KnowledgeReloader::reload`].
pub struct NewKnowledge {
    pub(super) triage: Arc<TriagePolicy>,
    pub(super) drafter: Arc<dyn Drafter>,
    pub(super) done: oneshot::Sender<()>,
}

impl std::fmt::Debug for NewKnowledge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKnowledge")
            .field("articles", &self.triage.knowledge_base().articles().len())
            .finish_non_exhaustive()
    }
}

/// What knowledge base the hub answers from, for `/healthz`: an operator who sent SIGHUP can
/// see that the reload took.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KnowledgeSummary {
    /// The folder the articles were read from, or `"built-in"`.
    pub source: String,
    pub articles: usize,
    pub languages: Vec<Lang>,
    /// How many times a knowledge base has been swapped in since the hub started.
    pub reloads: u64,
}

impl KnowledgeSummary {
    pub(super) fn of(kb: &KnowledgeBase, reloads: u64) -> Self {
        KnowledgeSummary {
            source: kb
                .source()
                .map_or_else(|| "built-in".to_string(), |p| p.display().to_string()),
            articles: kb.articles().len(),
            languages: kb.languages().into_iter().collect(),
            reloads,
        }
    }
}

/// Why a reload did not happen. The hub goes on with the knowledge base it had.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The folder has errors; each names its file and line.
    #[error(transparent)]
    Invalid(#[from] KbError),
    /// A language file in `languages/` has errors.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Languages(Vec<LanguageError>),
    #[error("the hub is stopping")]
    Stopped,
}

/// A knowledge base the engine now answers from.
#[derive(Debug)]
pub struct Reloaded {
    pub articles: usize,
    pub languages: Vec<Lang>,
    /// What `shiftdesk kb check` would warn about.
    pub warnings: Vec<Problem>,
}

/// Reloads the operator's folder into a running engine. Cheap to clone.
#[derive(Clone)]
pub struct KnowledgeReloader {
    engine: Inbox<EngineMsg>,
    dir: Option<PathBuf>,
    drafter: DrafterChoice,
    rules: OperatorRules,
    metrics: Arc<HubMetrics>,
}

impl std::fmt::Debug for KnowledgeReloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeReloader")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl KnowledgeReloader {
    /// `dir` is the operator's folder (`None`: the hub uses the built-in articles); `rules` the
    /// operator's triage rules from the config file, kept across reloads.
    pub fn new(
        engine: Inbox<EngineMsg>,
        dir: Option<PathBuf>,
        drafter: DrafterChoice,
        rules: OperatorRules,
        metrics: Arc<HubMetrics>,
    ) -> Self {
        KnowledgeReloader {
            engine,
            dir,
            drafter,
            rules,
            metrics,
        }
    }

    /// Read the folder again and swap it in; returns once the engine answers from it. `None`
    /// when the hub uses the built-in articles (there is nothing to reread).
    pub async fn reload(&self) -> Result<Option<Reloaded>, ReloadError> {
        let Some(dir) = self.dir.clone() else {
            return Ok(None);
        };
        let languages_dir = dir.join("languages");
        let loaded = tokio::task::spawn_blocking(move || {
            (
                KnowledgeBase::load_dir(dir),
                crate::languages::load_dir(&languages_dir),
            )
        })
        .await
        .map_err(|_| ReloadError::Stopped)?;
        let (kb, warnings) = loaded.0?;
        // Both folders are good: only now do the new languages replace the old.
        crate::languages::install(loaded.1.map_err(ReloadError::Languages)?);
        let kb = Arc::new(kb);
        let reloaded = Reloaded {
            articles: kb.articles().len(),
            languages: kb.languages().into_iter().collect(),
            warnings,
        };
        let drafter = self
            .drafter
            .build_measured(kb.clone(), self.metrics.clone());
        let triage = Arc::new(TriagePolicy::new(kb, &self.rules));
        let (done, applied) = oneshot::channel();
        self.engine
            .send(EngineMsg::ReplaceKnowledge(NewKnowledge {
                triage,
                drafter,
                done,
            }))
            .await
            .map_err(|_| ReloadError::Stopped)?;
        applied.await.map_err(|_| ReloadError::Stopped)?;
        Ok(Some(reloaded))
    }
}
