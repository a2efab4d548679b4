//! The knowledge base: the articles the bot and the built-in drafter answer from.
//!
//! Articles live in `assets/kb/*.toml`, one per topic, each with a title, retrieval keywords and
//! an answer in all six languages. They are compiled into the binary ([`KnowledgeBase::builtin`])
//! so the hub and the demo answer routine questions with no setup; a deployment can point at its
//! own folder instead ([`KnowledgeBase::from_dir`]).
//!
//! Retrieval is deliberately simple and explainable: the customer's words are normalised and
//! matched against each article's keywords and phrases (stems, light typo tolerance, compound
//! words), and the matches add up to a score in 0..1. Triage uses that score to decide whether the
//! bot may answer, and workers see which keywords matched, so there are no hidden embeddings.
//!
//! This module loads, validates and searches the articles. The drafter that turns a search
//! result into a reply ([`KbDrafter`]) lives in the child module `drafter`, so that loading and
//! scoring can be read and tested apart from the wording of drafts; it is re-exported here.

mod drafter;

pub(crate) use drafter::CLARIFY_CONFIDENCE;
pub use drafter::KbDrafter;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde::Deserialize;

use crate::drafting::keywords::{Found, KeywordIndex, MatchMode, Phrase};
use crate::lang::{self, Lang};

/// Why a knowledge base could not be loaded. Every variant names the file or folder at fault.
#[derive(Debug, thiserror::Error)]
pub enum KbError {
    /// The folder or a file in it could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file is not a valid article: bad TOML, a missing language, a duplicate id, ...
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    /// The folder holds no `*.toml` article.
    #[error("{}: no knowledge-base articles (*.toml) found", path.display())]
    Empty { path: PathBuf },
}

/// One value per supported language, indexed by [`Lang`]. Articles must be complete in every
/// language, so a lookup never has to fall back.
#[derive(Debug, Clone)]
struct PerLang<T>([T; 6]);

impl<T> PerLang<T> {
    fn get(&self, lang: Lang) -> &T {
        // A language with no text of its own here is answered in English.
        &self.0[Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0)]
    }
}

/// One knowledge-base article: what to say about one topic, in every language.
#[derive(Debug, Clone)]
pub struct Article {
    /// Stable id, equal to the file name without `.toml` (`"move-due-date"`).
    pub id: String,
    /// The customer intent it answers, snake_case (`"move_due_date"`).
    pub intent: String,
    /// True for topics a person must handle (fraud, disputes, hardship, complaints,
    /// bereavement): the bot never answers these on its own.
    pub sensitive: bool,
    titles: PerLang<String>,
    answers: PerLang<String>,
    /// Retrieval phrases per language, longest first so a phrase claims its words before a
    /// single keyword inside it can.
    keywords: PerLang<Vec<Phrase>>,
}

impl Article {
    /// The article's title in `lang`.
    pub fn title(&self, lang: Lang) -> &str {
        self.titles.get(lang)
    }

    /// The answer to send a customer, in `lang`.
    pub fn answer(&self, lang: Lang) -> &str {
        self.answers.get(lang)
    }

    /// Parse one article from TOML. `source` names the file in error messages; when
    /// `expected_id` is given, the article's `id` must equal it (the file name), so that a
    /// renamed file cannot silently shadow another article.
    pub fn from_toml(
        source: &Path,
        text: &str,
        expected_id: Option<&str>,
    ) -> Result<Self, KbError> {
        let invalid = |message: String| KbError::Invalid {
            path: source.to_path_buf(),
            message,
        };
        let raw: RawArticle =
            toml::from_str(text).map_err(|e| invalid(e.to_string().trim_end().to_string()))?;
        if raw.id.trim().is_empty() {
            return Err(invalid("`id` is empty".into()));
        }
        if let Some(expected) = expected_id
            && raw.id != expected
        {
            return Err(invalid(format!(
                "id {:?} does not match the file name (expected {expected:?})",
                raw.id
            )));
        }
        if raw.intent.trim().is_empty() {
            return Err(invalid("`intent` is empty".into()));
        }
        let titles = per_lang(raw.title, "title", |s| !s.trim().is_empty()).map_err(invalid)?;
        let answers = per_lang(raw.answer, "answer", |s| !s.trim().is_empty()).map_err(invalid)?;
        let keywords = per_lang(raw.keywords, "keywords", |k| !k.is_empty()).map_err(invalid)?;
        let keywords = PerLang(keywords.0.map(|list| {
            let mut phrases: Vec<Phrase> = list
                .iter()
                .map(|k| Phrase::keyword(k))
                .filter(|p| p.len() > 0)
                .collect();
            phrases.sort_by(|a, b| b.len().cmp(&a.len()).then(b.text.len().cmp(&a.text.len())));
            phrases
        }));
        Ok(Article {
            id: raw.id,
            intent: raw.intent,
            sensitive: raw.sensitive,
            titles,
            answers,
            keywords,
        })
    }
}

/// The article file as written; validated into an [`Article`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArticle {
    id: String,
    intent: String,
    #[serde(default)]
    sensitive: bool,
    title: BTreeMap<String, String>,
    keywords: BTreeMap<String, Vec<String>>,
    answer: BTreeMap<String, String>,
}

/// Turn a table keyed by language code into a complete [`PerLang`], or say what is missing.
fn per_lang<T>(
    mut table: BTreeMap<String, T>,
    field: &str,
    non_empty: impl Fn(&T) -> bool,
) -> Result<PerLang<T>, String> {
    let mut values = Vec::with_capacity(Lang::ALL.len());
    let mut missing = Vec::new();
    for lang in Lang::ALL {
        match table.remove(lang.code()) {
            Some(value) if non_empty(&value) => values.push(value),
            Some(_) => missing.push(format!("{} (empty)", lang.code())),
            None => missing.push(lang.code().to_string()),
        }
    }
    // Whatever is left is keyed by a code we do not support (a typo, or "fr").
    if let Some(unknown) = table.keys().next() {
        return Err(format!(
            "`{field}` has an entry for unsupported language {unknown:?} (supported: en, it, de, nl, sv, ru)"
        ));
    }
    if !missing.is_empty() {
        return Err(format!(
            "`{field}` is missing language(s): {}",
            missing.join(", ")
        ));
    }
    let values: [T; 6] = values
        .try_into()
        .map_err(|_| format!("`{field}` is incomplete"))?;
    Ok(PerLang(values))
}

/// A ranked search result: how well one article fits a customer message.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub article_id: String,
    pub intent: String,
    pub sensitive: bool,
    /// 0..1. A clear question scores at least 0.6; off-topic text stays below 0.35.
    pub score: f32,
    /// The keywords and phrases that matched (normalised, longest first), so a worker can see
    /// why.
    pub matched: Vec<String>,
}

/// The articles, loaded and validated.
#[derive(Debug, Clone)]
pub struct KnowledgeBase {
    articles: Vec<Article>,
    /// Every keyword word of every article, for [`Self::search`].
    index: KeywordIndex,
}

/// The built-in articles, compiled into the binary. Keep in step with `assets/kb/`.
const BUILTIN_ARTICLES: [(&str, &str); 11] = [
    (
        "payment-plans",
        include_str!("../../../../assets/kb/payment-plans.toml"),
    ),
    (
        "pay-early",
        include_str!("../../../../assets/kb/pay-early.toml"),
    ),
    (
        "move-due-date",
        include_str!("../../../../assets/kb/move-due-date.toml"),
    ),
    (
        "refunds-returns",
        include_str!("../../../../assets/kb/refunds-returns.toml"),
    ),
    (
        "declined-payment",
        include_str!("../../../../assets/kb/declined-payment.toml"),
    ),
    (
        "disputes",
        include_str!("../../../../assets/kb/disputes.toml"),
    ),
    ("fraud", include_str!("../../../../assets/kb/fraud.toml")),
    (
        "hardship",
        include_str!("../../../../assets/kb/hardship.toml"),
    ),
    (
        "account-access",
        include_str!("../../../../assets/kb/account-access.toml"),
    ),
    (
        "complaints",
        include_str!("../../../../assets/kb/complaints.toml"),
    ),
    (
        "bereavement",
        include_str!("../../../../assets/kb/bereavement.toml"),
    ),
];

/// Parsed once per process; [`KnowledgeBase::builtin`] hands out clones.
static BUILTIN: LazyLock<Result<KnowledgeBase, KbError>> = LazyLock::new(|| {
    let articles = BUILTIN_ARTICLES
        .iter()
        .map(|(id, text)| {
            let path = PathBuf::from(format!("assets/kb/{id}.toml"));
            Article::from_toml(&path, text, Some(id))
        })
        .collect::<Result<Vec<_>, _>>()?;
    KnowledgeBase::from_articles(Path::new("assets/kb"), articles)
});

/// Weight of one matched single keyword; tuned so that one clear keyword scores 0.6.
const WORD_WEIGHT: f32 = 0.75;
/// Extra weight per additional word of a matched phrase (phrases are more specific).
const PHRASE_WORD_WEIGHT: f32 = 0.35;
/// Cap on the weight of one phrase.
const MAX_PHRASE_WEIGHT: f32 = 1.4;
/// English keywords also count for other languages (customers write "refund" or "app" in any
/// language), at this fraction of their weight.
const ENGLISH_FALLBACK_WEIGHT: f32 = 0.5;
/// `score = raw / (raw + SATURATION)`: adding evidence raises the score with diminishing returns
/// and never reaches 1.
const SATURATION: f32 = 0.5;

impl KnowledgeBase {
    /// The articles shipped in `assets/kb/`, compiled in.
    ///
    /// # Panics
    /// If a built-in article is invalid. That is a bug caught by the test
    /// `builtin_articles_all_parse`, never a runtime condition.
    #[expect(
        clippy::expect_used,
        reason = "built-in assets are compiled in and checked by the test builtin_articles_all_parse"
    )]
    pub fn builtin() -> KnowledgeBase {
        BUILTIN
            .as_ref()
            .map(Clone::clone)
            .map_err(ToString::to_string)
            .expect("built-in knowledge base is valid")
    }

    /// Load every `*.toml` file in `dir` as an article. Errors name the file and what is wrong.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, KbError> {
        let dir = dir.as_ref();
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| KbError::Io { path, source }
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
            let path = entry.map_err(io_err(dir))?.path();
            if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        let mut articles = Vec::with_capacity(files.len());
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_string);
            articles.push(Article::from_toml(&path, &text, stem.as_deref())?);
        }
        Self::from_articles(dir, articles)
    }

    /// Build from already-parsed articles, checking ids are unique. `origin` names the source
    /// in errors.
    pub fn from_articles(origin: &Path, mut articles: Vec<Article>) -> Result<Self, KbError> {
        if articles.is_empty() {
            return Err(KbError::Empty {
                path: origin.to_path_buf(),
            });
        }
        let mut seen = HashSet::new();
        for article in &articles {
            if !seen.insert(article.id.as_str()) {
                return Err(KbError::Invalid {
                    path: origin.join(format!("{}.toml", article.id)),
                    message: format!("duplicate article id {:?}", article.id),
                });
            }
        }
        let mut index = KeywordIndex::for_keywords();
        for article in &mut articles {
            for phrases in &mut article.keywords.0 {
                for phrase in phrases {
                    index.add(phrase);
                }
            }
        }
        Ok(KnowledgeBase { articles, index })
    }

    /// All articles, in load order.
    pub fn articles(&self) -> &[Article] {
        &self.articles
    }

    /// The article with this id.
    pub fn article(&self, id: &str) -> Option<&Article> {
        self.articles.iter().find(|a| a.id == id)
    }

    /// Articles matching a customer message written in `lang`, best first; articles with no
    /// matching keyword are left out. Ties keep load order, so results are deterministic.
    pub fn search(&self, text: &str, lang: Lang) -> Vec<Match> {
        self.search_in_context(&[], text, lang).0
    }

    /// [`Self::search`] for `text` alone, and for `text` read after `earlier` messages (`None`
    /// when there are none). The same as two searches, with the words looked up once.
    fn search_in_context(
        &self,
        earlier: &[String],
        text: &str,
        lang: Lang,
    ) -> (Vec<Match>, Option<Vec<Match>>) {
        let mut words: Vec<String> = earlier.iter().flat_map(|m| lang::words(m)).collect();
        let before = words.len();
        words.extend(lang::words(text));
        let hits = self.index.hits(&words);
        let alone = hits.after(before);
        let text_matches = self.rank(alone.len(), lang, |p, used, mode| alone.find(p, used, mode));
        let context_matches = (!earlier.is_empty())
            .then(|| self.rank(hits.len(), lang, |p, used, mode| hits.find(p, used, mode)));
        (text_matches, context_matches)
    }

    /// Score every article with `find` (a phrase's match in the message, given the words
    /// already claimed) and rank them.
    fn rank(
        &self,
        words: usize,
        lang: Lang,
        find: impl Fn(&Phrase, &[bool], MatchMode) -> Option<Found>,
    ) -> Vec<Match> {
        let mut matches: Vec<Match> = self
            .articles
            .iter()
            .filter_map(|article| score_article(article, words, lang, &find))
            .collect();
        matches.sort_by(|a, b| b.score.total_cmp(&a.score));
        matches
    }

    /// [`Self::search`] the slow way, trying every phrase against every word: what the index
    /// must agree with.
    #[cfg(test)]
    fn search_unindexed(&self, text: &str, lang: Lang) -> Vec<Match> {
        let words = lang::words(text);
        self.rank(words.len(), lang, |phrase, used, mode| {
            phrase.find(&words, used, mode)
        })
    }
}

/// Score one article against the customer's words. Each word of the message can support at
/// most one keyword, so overlapping keywords ("due date" and "date") do not double count.
fn score_article(
    article: &Article,
    words: usize,
    lang: Lang,
    find: impl Fn(&Phrase, &[bool], MatchMode) -> Option<Found>,
) -> Option<Match> {
    let mut used = vec![false; words];
    let mut raw = 0.0;
    let mut matched = Vec::new();
    let mut passes = vec![(lang, 1.0)];
    if lang != Lang::En {
        passes.push((Lang::En, ENGLISH_FALLBACK_WEIGHT));
    }
    // Clean matches first, so that a typo-tolerant match of one keyword cannot claim a word
    // that another keyword matches exactly ("rimborsato" vs "rimborso").
    for mode in [MatchMode::Stem, MatchMode::Keyword] {
        for &(pass_lang, pass_weight) in &passes {
            for phrase in article.keywords.get(pass_lang) {
                if matched.contains(&phrase.text) {
                    continue;
                }
                let Some(found) = find(phrase, &used, mode) else {
                    continue;
                };
                for &i in &found.positions {
                    used[i] = true;
                }
                raw += weight(phrase) * found.quality * pass_weight;
                matched.push(phrase.text.clone());
            }
        }
    }
    (raw > 0.0).then(|| Match {
        article_id: article.id.clone(),
        intent: article.intent.clone(),
        sensitive: article.sensitive,
        score: raw / (raw + SATURATION),
        matched,
    })
}

/// Longer phrases are more specific, so they weigh more.
fn weight(phrase: &Phrase) -> f32 {
    (WORD_WEIGHT + PHRASE_WORD_WEIGHT * (phrase.len().saturating_sub(1)) as f32)
        .min(MAX_PHRASE_WEIGHT)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENSITIVE_IDS: [&str; 5] = ["disputes", "fraud", "hardship", "complaints", "bereavement"];

    /// A valid article file, for building broken variants of it.
    fn valid_article(id: &str) -> String {
        let mut text = format!("id = \"{id}\"\nintent = \"test_intent\"\n");
        text.push_str(
            "title = { en = \"T\", it = \"T\", de = \"T\", nl = \"T\", sv = \"T\", ru = \"T\" }\n",
        );
        text.push_str("[keywords]\n");
        for lang in Lang::ALL {
            text.push_str(&format!("{} = [\"widget\"]\n", lang.code()));
        }
        text.push_str("[answer]\n");
        for lang in Lang::ALL {
            text.push_str(&format!("{} = \"Answer.\"\n", lang.code()));
        }
        text
    }

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write article");
        }
        dir
    }

    fn load_err(files: &[(&str, &str)]) -> String {
        let dir = dir_with(files);
        KnowledgeBase::from_dir(dir.path())
            .expect_err("should not load")
            .to_string()
    }

    #[test]
    fn builtin_articles_all_parse() {
        for (id, text) in BUILTIN_ARTICLES {
            let path = PathBuf::from(format!("assets/kb/{id}.toml"));
            if let Err(e) = Article::from_toml(&path, text, Some(id)) {
                panic!("built-in article is invalid: {e}");
            }
        }
        let kb = KnowledgeBase::builtin();
        assert_eq!(kb.articles().len(), BUILTIN_ARTICLES.len());
    }

    #[test]
    fn builtin_articles_are_complete_and_sensible() {
        let kb = KnowledgeBase::builtin();
        let mut intents = HashSet::new();
        for article in kb.articles() {
            assert!(
                intents.insert(article.intent.clone()),
                "duplicate intent {}",
                article.intent
            );
            assert_eq!(
                article.sensitive,
                SENSITIVE_IDS.contains(&article.id.as_str()),
                "{} sensitivity",
                article.id
            );
            for lang in Lang::ALL {
                let n = article.keywords.get(lang).len();
                assert!(
                    (10..=25).contains(&n),
                    "{} has {n} {lang} keywords",
                    article.id
                );
                let answer = article.answer(lang);
                let sentences = answer.matches(['.', '!', '?']).count();
                assert!(
                    (2..=5).contains(&sentences),
                    "{} {lang} answer: {answer}",
                    article.id
                );
                assert!(!article.title(lang).is_empty());
            }
        }
    }

    #[test]
    fn builtin_list_is_in_step_with_the_asset_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/kb");
        let from_disk = KnowledgeBase::from_dir(&dir).expect("assets/kb loads");
        let mut disk: Vec<&str> = from_disk.articles().iter().map(|a| a.id.as_str()).collect();
        let builtin = KnowledgeBase::builtin();
        let mut compiled: Vec<&str> = builtin.articles().iter().map(|a| a.id.as_str()).collect();
        disk.sort_unstable();
        compiled.sort_unstable();
        assert_eq!(
            disk, compiled,
            "add new assets/kb files to BUILTIN_ARTICLES"
        );
    }

    #[test]
    fn from_dir_loads_valid_articles() {
        let dir = dir_with(&[
            ("widget.toml", &valid_article("widget")),
            ("README.md", "not an article"),
        ]);
        let kb = KnowledgeBase::from_dir(dir.path()).expect("loads");
        assert_eq!(kb.articles().len(), 1);
        let article = kb.article("widget").expect("present");
        assert!(!article.sensitive, "sensitive defaults to false");
        assert_eq!(article.answer(Lang::Sv), "Answer.");
        let hits = kb.search("my widget broke", Lang::De);
        assert_eq!(
            hits.len(),
            1,
            "English fallback keyword matches a German request"
        );
    }

    #[test]
    fn from_dir_error_names_the_file_and_the_toml_problem() {
        let msg = load_err(&[("broken.toml", "id = \"broken\"\nintent = = 3\n")]);
        assert!(msg.contains("broken.toml"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn from_dir_error_names_the_missing_language() {
        let text = valid_article("gap").replace("sv = \"Answer.\"\n", "");
        let msg = load_err(&[("gap.toml", &text)]);
        assert!(msg.contains("gap.toml"), "{msg}");
        assert!(msg.contains("`answer` is missing language(s): sv"), "{msg}");

        let text = valid_article("blank").replace("ru = \"Answer.\"", "ru = \"  \"");
        let msg = load_err(&[("blank.toml", &text)]);
        assert!(
            msg.contains("blank.toml") && msg.contains("ru (empty)"),
            "{msg}"
        );
    }

    #[test]
    fn from_dir_error_names_an_unsupported_language() {
        let text = valid_article("fr").replace("[answer]\n", "[answer]\nfr = \"Réponse.\"\n");
        let msg = load_err(&[("fr.toml", &text)]);
        assert!(msg.contains("fr.toml") && msg.contains("\"fr\""), "{msg}");
    }

    #[test]
    fn from_dir_error_names_an_id_that_does_not_match_the_file() {
        let msg = load_err(&[("one.toml", &valid_article("two"))]);
        assert!(msg.contains("one.toml"), "{msg}");
        assert!(
            msg.contains("\"two\"") && msg.contains("file name"),
            "{msg}"
        );
    }

    #[test]
    fn from_dir_error_names_an_unknown_field() {
        let text = valid_article("typo").replace("intent =", "sensitiv = true\nintent =");
        let msg = load_err(&[("typo.toml", &text)]);
        assert!(
            msg.contains("typo.toml") && msg.contains("sensitiv"),
            "{msg}"
        );
    }

    #[test]
    fn from_dir_errors_for_empty_and_missing_folders() {
        let empty = tempfile::tempdir().expect("tempdir");
        let err = KnowledgeBase::from_dir(empty.path()).expect_err("empty");
        assert!(matches!(err, KbError::Empty { .. }), "{err}");
        assert!(err.to_string().contains("no knowledge-base articles"));

        let missing = empty.path().join("nope");
        let err = KnowledgeBase::from_dir(&missing).expect_err("missing");
        assert!(matches!(err, KbError::Io { .. }), "{err}");
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn clear_questions_score_high_and_off_topic_low() {
        let kb = KnowledgeBase::builtin();
        let clear = [
            ("Where is my refund?", Lang::En, "refunds-returns"),
            ("Why was my card declined?", Lang::En, "declined-payment"),
            ("Ho dimenticato la password", Lang::It, "account-access"),
            (
                "Wie funktioniert die Ratenzahlung?",
                Lang::De,
                "payment-plans",
            ),
            ("Mijn betaling is geweigerd", Lang::Nl, "declined-payment"),
            ("Var är min återbetalning?", Lang::Sv, "refunds-returns"),
            (
                "Как работает оплата в 4 платежа?",
                Lang::Ru,
                "payment-plans",
            ),
        ];
        for (text, lang, id) in clear {
            let best = kb.search(text, lang).into_iter().next().expect("a match");
            assert_eq!(best.article_id, id, "{text}");
            assert!(best.score >= 0.6, "{text}: {}", best.score);
            assert!(best.score < 1.0);
        }
        let off_topic = [
            ("what's the weather", Lang::En),
            ("asdkjh qwezzx plorb", Lang::En),
            ("Qual è la capitale della Francia?", Lang::It),
            ("Ich mag Katzen", Lang::De),
        ];
        for (text, lang) in off_topic {
            let best = kb.search(text, lang).first().map_or(0.0, |m| m.score);
            assert!(best < 0.35, "{text}: {best}");
        }
    }

    /// Every line the demo's customers say, searched in their language and in English.
    #[test]
    fn the_index_agrees_with_trying_every_keyword_on_the_demo_customers() {
        let kb = KnowledgeBase::builtin();
        let demo: toml::Value =
            toml::from_str(include_str!("../../../../assets/demo/customers.toml")).unwrap();
        let mut lines = 0;
        for customer in demo["customer"].as_array().unwrap() {
            let lang = Lang::from_code(customer["lang"].as_str().unwrap()).unwrap();
            let said = ["opening", "follow_ups"]
                .iter()
                .flat_map(|k| customer[*k].as_array().unwrap());
            for line in said {
                let line = line.as_str().unwrap();
                for lang in [lang, Lang::En] {
                    assert_eq!(
                        kb.search(line, lang),
                        kb.search_unindexed(line, lang),
                        "{line}"
                    );
                }
                lines += 1;
            }
        }
        assert!(lines > 20, "only {lines} demo lines");
    }

    /// Reading a message with the ones before it gives what two separate searches give.
    #[test]
    fn search_in_context_is_two_searches() {
        let kb = KnowledgeBase::builtin();
        let earlier = vec![
            "Hello, I have a question about my plan".to_string(),
            "I returned the shoes last week, they were too small".to_string(),
        ];
        for text in ["when will I get my money?", "and the due date?", "ok"] {
            let (alone, in_context) = kb.search_in_context(&earlier, text, Lang::En);
            assert_eq!(alone, kb.search_unindexed(text, Lang::En));
            let joined = format!("{}\n{text}", earlier.join("\n"));
            assert_eq!(
                in_context,
                Some(kb.search_unindexed(&joined, Lang::En)),
                "{text}"
            );
        }
        assert_eq!(kb.search_in_context(&[], "refund", Lang::En).1, None);
    }

    /// Every word of every built-in keyword, for building messages near them.
    static KEYWORD_WORDS: LazyLock<Vec<String>> = LazyLock::new(|| {
        let kb = KnowledgeBase::builtin();
        let mut words: Vec<String> = kb
            .articles()
            .iter()
            .flat_map(|a| Lang::ALL.map(|l| a.keywords.get(l)))
            .flatten()
            .flat_map(|p| p.text.split(' ').map(str::to_string).collect::<Vec<_>>())
            .collect();
        words.sort();
        words.dedup();
        words
    });

    proptest::proptest! {
        // Failures are kept beside this file, not in a top-level folder.
        #![proptest_config(proptest::test_runner::Config { failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))), ..proptest::test_runner::Config::default() })]
        /// Messages made of built-in keyword words, some inflected, glued or mistyped, rank
        /// the same articles with the same scores through the index as the slow way.
        #[test]
        fn the_index_agrees_with_trying_every_keyword(
            picks in proptest::collection::vec(
                (proptest::arbitrary::any::<proptest::sample::Index>(), 0u8..6, proptest::arbitrary::any::<proptest::sample::Index>()),
                1..14,
            ),
            lang in proptest::sample::select(&Lang::ALL[..]),
        ) {
            let words: Vec<String> = picks
                .iter()
                .map(|(word, how, at)| {
                    let word = &KEYWORD_WORDS[word.index(KEYWORD_WORDS.len())];
                    let mut chars: Vec<char> = word.chars().collect();
                    let i = at.index(chars.len());
                    match how {
                        0 => chars.insert(i, 'x'),
                        1 if chars.len() > 1 => {
                            chars.remove(i);
                        }
                        2 if i + 1 < chars.len() => chars.swap(i, i + 1),
                        3 => chars.extend("ed".chars()),
                        4 => chars.splice(0..0, "raten".chars()).for_each(drop),
                        _ => {}
                    }
                    chars.into_iter().collect()
                })
                .collect();
            let text = words.join(" ");
            let kb = &*KB;
            proptest::prop_assert_eq!(kb.search(&text, lang), kb.search_unindexed(&text, lang), "{}", text);
        }
    }

    static KB: LazyLock<KnowledgeBase> = LazyLock::new(KnowledgeBase::builtin);

    #[test]
    fn search_tolerates_inflections_typos_and_compounds() {
        let kb = KnowledgeBase::builtin();
        let top = |text: &str, lang| kb.search(text, lang).first().map(|m| m.article_id.clone());
        assert_eq!(
            top("I got refunded twice", Lang::En).as_deref(),
            Some("refunds-returns")
        );
        assert_eq!(
            top("where is my refnud", Lang::En).as_deref(),
            Some("refunds-returns")
        );
        assert_eq!(
            top("Frage zur Monatsratenzahlung", Lang::De).as_deref(),
            Some("payment-plans")
        );
        assert_eq!(
            top("can i MOVE the DUE-DATE", Lang::En).as_deref(),
            Some("move-due-date")
        );
    }

    #[test]
    fn english_keywords_count_less_in_other_languages() {
        let kb = KnowledgeBase::builtin();
        let en = kb.search("refund", Lang::En)[0].score;
        let de = kb.search("refund", Lang::De)[0].score;
        assert!(de < en && de > 0.0, "en {en}, de {de}");
    }
}
