//! `shiftdesk kb`: check an operator's knowledge-base folder, and ask it what the hub's bot
//! would do with a customer message; and the hub's reload of that folder on SIGHUP.
//!
//! `kb ask` runs the same triage the hub runs for each customer message while the bot has the
//! conversation, and the same drafter a worker's draft comes from, so what it prints is what
//! the hub would do.

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Subcommand;
use shiftdesk_hub::drafting::kb::{KbDrafter, KnowledgeBase};
use shiftdesk_hub::drafting::{DraftRequest, Drafter};
use shiftdesk_hub::engine::{KnowledgeReloader, ReloadError};
use shiftdesk_hub::kb_eval;
use shiftdesk_hub::languages;
use shiftdesk_hub::triage::{self, TriageReason};
use shiftdesk_protocol::Lang;

#[derive(Subcommand)]
pub enum KbCmd {
    /// List every problem of a knowledge-base folder: file, line and what is wrong. Exits
    /// non-zero if there is an error (the hub would not load the folder); warnings alone are
    /// fine.
    Check {
        /// The folder of ID.LANG.md articles.
        dir: PathBuf,
    },
    /// Show what the bot would do with a customer message: the best article and its score, the
    /// runner-up, and whether the bot answers or hands over to a person, and why.
    #[command(override_usage = "shiftdesk kb ask [DIR] [--lang LANG] MESSAGE")]
    Ask {
        /// The folder of articles (the built-in ones if left out), then the customer's message.
        #[arg(value_name = "DIR MESSAGE", num_args = 1..=2, required = true)]
        args: Vec<String>,
        /// The conversation's language (en, it, de, nl, sv, ru); detected from the message if
        /// left out. As in the hub, a message clearly in another language wins.
        #[arg(long)]
        lang: Option<Lang>,
    },
    /// Measure the bot on labelled customer messages (JSON lines: lang, expect, text; see
    /// assets/eval/): per language and per expected article, the share the bot answered, the
    /// share of its answers that were right, the wrong-answer rate, the hand-over rate, and for
    /// requests for a person and sensitive topics the share handed over; then the confusions.
    /// A report: exits 0 whatever it measured, non-zero only for a bad file.
    Eval {
        /// Evaluation files, e.g. assets/eval/tune.jsonl assets/eval/holdout.jsonl (each is
        /// reported on its own, then all together if there are several).
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        /// The folder of articles (the built-in ones if left out).
        #[arg(long, value_name = "DIR")]
        kb: Option<PathBuf>,
        /// Print the numbers as JSON instead of tables.
        #[arg(long)]
        json: bool,
        /// Also list every message the bot did not get right, with triage's reason.
        #[arg(long)]
        misses: bool,
    },
}

pub fn main(command: KbCmd) -> anyhow::Result<()> {
    match command {
        KbCmd::Check { dir } => check(&dir),
        KbCmd::Ask { mut args, lang } => {
            let message = args.pop().unwrap_or_default();
            let dir = args.pop().map(PathBuf::from);
            if dir.is_none() && Path::new(&message).is_dir() {
                bail!("{message} is a folder: give the customer's message after it");
            }
            ask(dir.as_deref(), lang, &message)
        }
        KbCmd::Eval {
            files,
            kb,
            json,
            misses,
        } => eval(&files, kb.as_deref(), json, misses),
    }
}

/// Load the folder's language files (`DIR/languages/*.toml`), printing their problems; the
/// number of errors.
fn load_languages(dir: &Path) -> usize {
    match languages::load_dir(&dir.join("languages")) {
        Ok(loaded) => {
            languages::install(loaded);
            0
        }
        Err(errors) => {
            for e in &errors {
                match e.line {
                    Some(line) => println!("{}:{line}: error: {}", e.path.display(), e.message),
                    None => println!("{}: error: {}", e.path.display(), e.message),
                }
            }
            errors.len()
        }
    }
}

fn check(dir: &Path) -> anyhow::Result<()> {
    let language_errors = load_languages(dir);
    let checked = KnowledgeBase::check_dir(dir);
    for problem in &checked.problems {
        println!("{problem}");
    }
    let mut unserved = 0;
    if let Some(kb) = &checked.kb {
        for lang in kb
            .languages()
            .into_iter()
            .filter(|l| !languages::is_served(*l))
        {
            println!(
                "{}: warning: articles in `{lang}`, a language the hub does not serve: add {}",
                dir.display(),
                dir.join("languages").join(format!("{lang}.toml")).display()
            );
            unserved += 1;
        }
    }
    let errors = checked.errors() + language_errors;
    let warnings = checked.problems.len() - checked.errors() + unserved;
    let counts = format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    );
    match &checked.kb {
        Some(_) if language_errors > 0 => {
            println!("{}: {counts}", dir.display());
            bail!("{} has errors: the hub would not load it", dir.display())
        }
        Some(kb) => {
            let langs: Vec<String> = kb
                .languages()
                .into_iter()
                .map(|l| l.code().to_string())
                .collect();
            println!(
                "{}: {} in {} ({}); {counts}",
                dir.display(),
                plural(kb.articles().len(), "article"),
                plural(langs.len(), "language"),
                langs.join(", ")
            );
            Ok(())
        }
        None => {
            println!("{}: {counts}", dir.display());
            bail!("{} has errors: the hub would not load it", dir.display())
        }
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn ask(dir: Option<&Path>, lang: Option<Lang>, message: &str) -> anyhow::Result<()> {
    if message.trim().is_empty() {
        bail!("the message to ask about is empty");
    }
    let kb = load_kb(dir)?;
    print!("{}", explain(&kb, lang, message));
    Ok(())
}

/// The knowledge base in `dir` (with its language files), or the built-in one.
fn load_kb(dir: Option<&Path>) -> anyhow::Result<KnowledgeBase> {
    Ok(match dir {
        Some(dir) => {
            if load_languages(dir) > 0 {
                bail!("{} has errors in its language files", dir.display());
            }
            let checked = KnowledgeBase::check_dir(dir);
            let warnings = checked.problems.len() - checked.errors();
            match checked.kb {
                Some(kb) => {
                    if warnings > 0 {
                        eprintln!(
                            "({}: see shiftdesk kb check {})",
                            plural(warnings, "warning"),
                            dir.display()
                        );
                    }
                    kb
                }
                None => {
                    for problem in checked.problems.iter().filter(|p| p.is_error()) {
                        eprintln!("{problem}");
                    }
                    bail!("{} has errors: the hub would not load it", dir.display())
                }
            }
        }
        None => KnowledgeBase::builtin(),
    })
}

fn eval(files: &[PathBuf], dir: Option<&Path>, json: bool, misses: bool) -> anyhow::Result<()> {
    let kb = load_kb(dir)?;
    let mut parts = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        match kb_eval::load(file) {
            Ok(messages) => {
                problems.extend(kb_eval::check_labels(&messages, &kb));
                parts.push((file.display().to_string(), messages));
            }
            Err(errors) => problems.extend(errors),
        }
    }
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("{problem}");
        }
        bail!(
            "{} in the evaluation files",
            plural(problems.len(), "problem")
        );
    }
    if parts.len() > 1 {
        let all = parts.iter().flat_map(|(_, m)| m.clone()).collect();
        parts.push(("all files".to_string(), all));
    }
    let source = match dir {
        Some(dir) => dir.display().to_string(),
        None => "the built-in articles".to_string(),
    };
    let policy = triage::TriagePolicy::new(std::sync::Arc::new(kb), &Default::default());
    let reports: Vec<(String, kb_eval::Report)> = parts
        .into_iter()
        .map(|(name, messages)| {
            let report = kb_eval::run(&policy, &messages);
            (name, report)
        })
        .collect();
    if json {
        println!("{}", kb_eval::json_text(&reports, &source, misses));
        return Ok(());
    }
    for (i, (name, report)) in reports.iter().enumerate() {
        if i > 0 {
            println!();
        }
        println!("== {name} ({source})");
        print!("{}", report.table());
        if misses {
            println!("\nmisses (expected -> what the bot did: triage's reason)");
            for j in report.misses() {
                println!(
                    "  {}  {} -> {}: {}\n      {}",
                    j.message.source,
                    j.message.expect.label(),
                    match &j.outcome {
                        kb_eval::Outcome::Answered(id) => id.as_str(),
                        kb_eval::Outcome::Asked => "asked",
                        kb_eval::Outcome::HandedOver => "handed over",
                    },
                    j.reason,
                    j.message.text
                );
            }
        }
    }
    Ok(())
}

/// What the bot would do with `message`, in a few labelled lines.
fn explain(kb: &KnowledgeBase, hint: Option<Lang>, message: &str) -> String {
    // The hub's triage, then the ranking it used, for the scores.
    let policy = triage::TriagePolicy::new(std::sync::Arc::new(kb.clone()), &Default::default());
    let decision = triage::Triage::triage(&policy, message, hint);
    let language = decision.language;
    let matches = kb.search(message, language);
    let mut out = String::new();
    let how = match hint {
        None => "detected".to_string(),
        Some(hint) if hint == language => "--lang".to_string(),
        Some(hint) => format!("detected; the message is not in {hint}"),
    };
    out.push_str(&format!("language   {} ({how})\n", language.code()));
    let describe = |m: &shiftdesk_hub::drafting::kb::Match| {
        let title = kb
            .article(&m.article_id)
            .and_then(|a| a.title(language))
            .unwrap_or_default();
        format!("{} \"{title}\"  score {:.2}", m.article_id, m.score)
    };
    match matches.first() {
        Some(best) => {
            out.push_str(&format!(
                "article    {}  (matched: {})\n",
                describe(best),
                best.matched.join(", ")
            ));
            if let Some(source) = kb
                .article(&best.article_id)
                .and_then(|a| a.variant(language))
                .map(|v| &v.source)
            {
                out.push_str(&format!("           {}\n", source.display()));
            }
        }
        None => out.push_str("article    none (no article matches)\n"),
    }
    match matches.get(1) {
        Some(second) => out.push_str(&format!("runner-up  {}\n", describe(second))),
        None => out.push_str("runner-up  none\n"),
    }
    let why = decision.reason.explain();
    if let (TriageReason::Clarify { first, second }, Some(question)) =
        (&decision.reason, &decision.bot_answer)
    {
        out.push_str(&format!(
            "decision   ask a clarifying question: {first} or {second} (scores within {:.2})\n\n{question}\n",
            triage::CLARIFY_MARGIN
        ));
        return out;
    }
    if let Some(answer) = &decision.bot_answer {
        out.push_str(&format!("decision   answer: {why}\n\n{answer}\n"));
        return out;
    }
    let cause = match decision.reason {
        TriageReason::AskedForPerson { .. } => "the customer asked for a person",
        TriageReason::Sensitive { .. } | TriageReason::OperatorTopic { .. } => {
            "a person handles sensitive topics"
        }
        TriageReason::LowConfidence { .. } | TriageReason::Clarify { .. } => {
            "no article is a sure enough fit"
        }
        TriageReason::AskedAgain { .. } => "the article did not help",
        TriageReason::Unserved { .. } => "the bot reads only the languages it serves",
        TriageReason::Answered { .. } | TriageReason::Greeted | TriageReason::Thanked => "",
    };
    out.push_str(&format!(
        "decision   hand over to a person: {why}; {cause}\n"
    ));
    // What the person is offered as a draft for this message.
    let draft = KbDrafter::new(std::sync::Arc::new(kb.clone())).draft(&DraftRequest {
        text: message,
        language,
        history: &[],
        transcript: &[],
        attempt: 0,
    });
    match draft.sources.first() {
        Some(article) => out.push_str(&format!(
            "draft      the person's draft is written from {article}\n"
        )),
        None => {
            out.push_str("draft      the person's draft asks the customer a clarifying question\n")
        }
    }
    out
}

/// Reread the hub's knowledge-base folder on every SIGHUP, for as long as the hub runs. A
/// folder with errors is not loaded: the hub keeps answering from the articles it had, and the
/// errors are logged with their file and line. SIGHUP is caught from the moment this is
/// called (before the hub says it is listening), so it can never end the hub, even without
/// `--kb`. Call it inside the runtime.
pub fn reload_on_sighup(reloader: KnowledgeReloader) -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
    async move {
        #[cfg(unix)]
        {
            let mut hangups = match hangups {
                Ok(hangups) => hangups,
                Err(e) => {
                    tracing::warn!(%e, "cannot catch SIGHUP; the knowledge base cannot be reloaded");
                    return;
                }
            };
            while hangups.recv().await.is_some() {
                reload(&reloader).await;
            }
        }
        #[cfg(not(unix))]
        {
            let _ = reloader;
        }
    }
}

async fn reload(reloader: &KnowledgeReloader) {
    match reloader.reload().await {
        Ok(Some(reloaded)) => {
            for warning in &reloaded.warnings {
                tracing::warn!(%warning, "knowledge base");
            }
            let langs: Vec<&str> = reloaded.languages.iter().map(|l| l.code()).collect();
            tracing::info!(
                articles = reloaded.articles,
                languages = %langs.join(","),
                "knowledge base reloaded"
            );
        }
        Ok(None) => {
            tracing::info!("SIGHUP: the hub answers from the built-in articles (no --kb)");
        }
        Err(ReloadError::Invalid(e)) => {
            for problem in &e.problems {
                tracing::error!("{problem}");
            }
            tracing::error!(
                "knowledge base {} not reloaded ({}): the hub keeps answering from the \
                 articles it had",
                e.dir.display(),
                plural(e.problems.len(), "error")
            );
        }
        Err(e) => tracing::warn!(%e, "knowledge base not reloaded"),
    }
}
