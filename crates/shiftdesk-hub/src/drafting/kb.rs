//! The knowledge base: the articles the bot and the built-in drafter answer from.
//!
//! A knowledge base is a folder of Markdown articles, one file per article and language, named
//! `ID.LANG.md` (`gift-cards.en.md`), with TOML front matter between `+++` lines (a title, and
//! what to find the article by: example `questions` customers ask and `keywords`); the body is
//! the answer. The built-in articles (`assets/kb/`, a buy-now-pay-later service's) are compiled
//! into the binary ([`KnowledgeBase::builtin`]) so the hub and the demo answer routine questions
//! with no setup; an operator points the hub at their own folder instead
//! ([`KnowledgeBase::check_dir`], [`KnowledgeBase::from_dir`]). Reading and checking the files
//! is the child module `files`.
//!
//! An article may exist in only some languages: it is used only for customers writing in one
//! of them. Retrieval is deliberately simple and explainable: the customer's words are
//! normalised and matched against each article's keywords and phrases (stems, light typo
//! tolerance, compound words) and against its example questions (how many of a question's
//! content words the message has), and the matches add up to a score in 0..1. Triage uses that
//! score to decide whether the bot may answer, and workers see which words matched, so there
//! are no hidden embeddings.
//!
//! The drafter that turns a search result into a reply ([`KbDrafter`]) lives in the child
//! module `drafter`, so that loading and scoring can be read and tested apart from the wording
//! of drafts; it is re-exported here.

mod drafter;
mod files;
mod questions;
mod retrieval;

pub(crate) use drafter::CLARIFY_CONFIDENCE;
pub use drafter::KbDrafter;
pub use files::{Problem, Severity};

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use crate::drafting::keywords::{Found, KeywordIndex, MatchMode, Phrase};
use crate::lang::{self, Lang};
use files::ArticleFile;
use questions::Question;
use retrieval::{Fields, Retrieval, Scored};

/// Why a knowledge base could not be loaded: every error found, each naming its file and, where
/// it has one, the line.
#[derive(Debug, Clone)]
pub struct KbError {
    /// The folder.
    pub dir: PathBuf,
    /// The errors (never empty).
    pub problems: Vec<Problem>,
}

impl fmt::Display for KbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "knowledge base {} not loaded: ", self.dir.display())?;
        for (n, problem) in self.problems.iter().enumerate() {
            if n > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for KbError {}

/// A folder, read and checked: the knowledge base when it has no errors, and every problem
/// found (errors and warnings, by file).
#[derive(Debug, Clone)]
pub struct Checked {
    pub kb: Option<KnowledgeBase>,
    pub problems: Vec<Problem>,
}

impl Checked {
    /// How many of the problems are errors.
    pub fn errors(&self) -> usize {
        self.problems.iter().filter(|p| p.is_error()).count()
    }

    /// The knowledge base and its warnings, or the errors.
    pub fn into_result(self) -> Result<(KnowledgeBase, Vec<Problem>), Vec<Problem>> {
        match self.kb {
            Some(kb) => Ok((kb, self.problems)),
            None => Err(self
                .problems
                .into_iter()
                .filter(Problem::is_error)
                .collect()),
        }
    }
}

/// One article in one language: what its file says.
#[derive(Debug, Clone)]
pub struct Variant {
    pub title: String,
    /// The answer to send a customer (the file's body).
    pub answer: String,
    pub tags: Vec<String>,
    /// The example questions, as written.
    pub questions: Vec<String>,
    /// The file it was read from.
    pub source: PathBuf,
    /// Retrieval phrases, longest first so a phrase claims its words before a single keyword
    /// inside it can.
    keywords: Vec<Phrase>,
    /// How specific each keyword is to this article among the articles in its language
    /// (see [`specificity`]), in `keywords` order.
    specificity: Vec<f32>,
    /// The example questions, ready to match.
    matchers: Vec<Question>,
}

/// One knowledge-base article: what to say about one topic, in the languages it is written in.
#[derive(Debug, Clone)]
pub struct Article {
    /// Stable id, the file name before the language (`"move-due-date"`).
    pub id: String,
    /// The customer intent it answers, snake_case (`"move_due_date"`): the front matter's
    /// `intent`, or the id with `_` for `-`.
    pub intent: String,
    /// True for topics a person must handle (fraud, disputes, hardship, complaints,
    /// bereavement): the bot never answers these on its own. Set in any of its files, it holds
    /// for every language.
    pub sensitive: bool,
    variants: BTreeMap<Lang, Variant>,
}

impl Article {
    /// The article in `lang`, if it is written in it.
    pub fn variant(&self, lang: Lang) -> Option<&Variant> {
        self.variants.get(&lang)
    }

    /// The languages it is written in.
    pub fn languages(&self) -> impl Iterator<Item = Lang> + '_ {
        self.variants.keys().copied()
    }

    /// The article's title in `lang`.
    pub fn title(&self, lang: Lang) -> Option<&str> {
        self.variant(lang).map(|v| v.title.as_str())
    }

    /// The answer to send a customer, in `lang`.
    pub fn answer(&self, lang: Lang) -> Option<&str> {
        self.variant(lang).map(|v| v.answer.as_str())
    }

    /// One article from its checked files (one per language, at least one).
    fn from_files(files: Vec<ArticleFile>) -> Option<Article> {
        let first = files.first()?;
        let id = first.id.clone();
        let intent = files
            .iter()
            .find_map(|f| f.intent.as_ref().map(|(intent, _)| intent.clone()))
            .unwrap_or_else(|| id.replace('-', "_"));
        let sensitive = files.iter().any(|f| f.sensitive);
        let variants = files
            .into_iter()
            .map(|f| {
                let mut keywords: Vec<Phrase> = f
                    .keywords
                    .iter()
                    .map(|k| Phrase::keyword(k))
                    .filter(|p| p.len() > 0)
                    .collect();
                keywords
                    .sort_by(|a, b| b.len().cmp(&a.len()).then(b.text.len().cmp(&a.text.len())));
                let matchers = f
                    .questions
                    .iter()
                    .filter_map(|q| Question::new(q, f.lang))
                    .collect();
                let variant = Variant {
                    title: f.title,
                    answer: f.answer,
                    tags: f.tags,
                    questions: f.questions,
                    source: f.path,
                    keywords,
                    specificity: Vec::new(),
                    matchers,
                };
                (f.lang, variant)
            })
            .collect();
        Some(Article {
            id,
            intent,
            sensitive,
            variants,
        })
    }
}

/// A ranked search result: how well one article fits a customer message.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub article_id: String,
    pub intent: String,
    pub sensitive: bool,
    /// 0..1. A clear question scores at least 0.6; off-topic text stays below 0.35.
    pub score: f32,
    /// The keywords and phrases that matched (normalised, longest first), then the words of
    /// the example question that matched, so a worker can see why.
    pub matched: Vec<String>,
}

/// The articles, loaded and validated.
#[derive(Debug, Clone)]
pub struct KnowledgeBase {
    articles: Vec<Article>,
    /// Every keyword and question word of every article, for [`Self::search`].
    index: KeywordIndex,
    /// BM25 over the articles' words, by language.
    retrieval: Retrieval,
    /// The folder it was read from; `None` for the built-in articles.
    source: Option<PathBuf>,
}

/// The built-in articles' files, compiled into the binary: each id in every language. Keep in
/// step with `assets/kb/` (the test `builtin_list_is_in_step_with_the_asset_folder` checks).
macro_rules! builtin_articles {
    ($($id:literal),* $(,)?) => {
        &[$(
            ($id, [
                ("en", include_str!(concat!("../../../../assets/kb/", $id, ".en.md"))),
                ("it", include_str!(concat!("../../../../assets/kb/", $id, ".it.md"))),
                ("de", include_str!(concat!("../../../../assets/kb/", $id, ".de.md"))),
                ("nl", include_str!(concat!("../../../../assets/kb/", $id, ".nl.md"))),
                ("sv", include_str!(concat!("../../../../assets/kb/", $id, ".sv.md"))),
                ("ru", include_str!(concat!("../../../../assets/kb/", $id, ".ru.md"))),
            ]),
        )*]
    };
}

type BuiltinFiles = [(&'static str, [(&'static str, &'static str); 6])];

const BUILTIN_ARTICLES: &BuiltinFiles = builtin_articles!(
    "payment-plans",
    "pay-early",
    "move-due-date",
    "refunds-returns",
    "declined-payment",
    "disputes",
    "fraud",
    "hardship",
    "account-access",
    "complaints",
    "bereavement",
);

/// Parsed once per process; [`KnowledgeBase::builtin`] hands out clones.
static BUILTIN: LazyLock<Checked> = LazyLock::new(|| {
    let files = BUILTIN_ARTICLES
        .iter()
        .flat_map(|(id, langs)| {
            langs.iter().map(move |(code, text)| {
                let path = PathBuf::from(format!("assets/kb/{id}.{code}.md"));
                (path, Ok(text.to_string()))
            })
        })
        .collect();
    KnowledgeBase::check_files(None, files, Vec::new())
});

/// Weight of one matched single keyword; tuned so that one clear keyword that only its article
/// uses scores 0.6 (see [`specificity`] for keywords several articles share).
const WORD_WEIGHT: f32 = 0.75;
/// Extra weight per additional word of a matched phrase (phrases are more specific).
const PHRASE_WORD_WEIGHT: f32 = 0.35;
/// Cap on the weight of one phrase.
const MAX_PHRASE_WEIGHT: f32 = 1.4;
/// English keywords also count for other languages (customers write "refund" or "app" in any
/// language), at this fraction of their weight.
const ENGLISH_FALLBACK_WEIGHT: f32 = 0.5;
/// Weight of an example question all of whose content words the message has; a question
/// matched in part weighs in proportion. Alone, a whole question scores 0.75.
const QUESTION_WEIGHT: f32 = 1.5;
/// A question counts only when the message has at least this share of its content words
/// (two of "pay", "gift", "card"; not "pay" alone).
const MIN_QUESTION_COVERAGE: f32 = 0.5;
/// The share of an article's score that comes from its keywords (the rest is BM25, see
/// [`KnowledgeBase::combine`]).
const KEYWORD_SHARE: f32 = 0.7;
/// A BM25 score at which the best article counts half: a message that shares one specific
/// word with an article scores about 2-4, a clear question 6-15.
const BM25_SATURATION: f32 = 4.0;
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
            .kb
            .clone()
            .expect("built-in knowledge base is valid")
    }

    /// Read and check every article in `dir` and its subfolders: the knowledge base if there
    /// is no error, and every problem found. Never fails: a folder that cannot be read is a
    /// problem too.
    pub fn check_dir(dir: impl AsRef<Path>) -> Checked {
        let dir = dir.as_ref();
        let mut problems = Vec::new();
        let files = files::read_folder(dir, &mut problems);
        let mut checked = Self::check_files(Some(dir), files, problems);
        checked
            .problems
            .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        checked
    }

    /// Load the articles in `dir`, or every error found. (Warnings are dropped; see
    /// [`Self::load_dir`].)
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, KbError> {
        Self::load_dir(dir).map(|(kb, _)| kb)
    }

    /// Load the articles in `dir` with the warnings about them, or every error found.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<(Self, Vec<Problem>), KbError> {
        let dir = dir.as_ref();
        Self::check_dir(dir)
            .into_result()
            .map_err(|problems| KbError {
                dir: dir.to_path_buf(),
                problems,
            })
    }

    /// Check the files as a whole and build the knowledge base if nothing is wrong.
    fn check_files(
        source: Option<&Path>,
        files: Vec<(PathBuf, std::io::Result<String>)>,
        mut problems: Vec<Problem>,
    ) -> Checked {
        let articles: Vec<Article> = files::parse_files(files, &mut problems)
            .into_iter()
            .filter_map(Article::from_files)
            .collect();
        if articles.is_empty() && !problems.iter().any(Problem::is_error) {
            problems.push(Problem {
                path: source.map_or_else(|| PathBuf::from("assets/kb"), Path::to_path_buf),
                line: None,
                severity: Severity::Error,
                message: "no articles: a knowledge base is a folder of ID.LANG.md files, like \
                          gift-cards.en.md"
                    .into(),
            });
        }
        let kb = (!problems.iter().any(Problem::is_error))
            .then(|| Self::from_articles(source.map(Path::to_path_buf), articles));
        Checked { kb, problems }
    }

    /// Index checked articles (ids are unique).
    fn from_articles(source: Option<PathBuf>, mut articles: Vec<Article>) -> Self {
        let mut index = KeywordIndex::for_keywords();
        for variant in articles.iter_mut().flat_map(|a| a.variants.values_mut()) {
            for phrase in &mut variant.keywords {
                index.add(phrase);
            }
            for question in &mut variant.matchers {
                for word in &mut question.words {
                    index.add(word);
                }
            }
        }
        // How many articles of each language use each word (title, answer, keywords,
        // questions), for the keywords' specificity.
        let mut docs: BTreeMap<Lang, Vec<HashSet<String>>> = BTreeMap::new();
        for article in &articles {
            for (lang, v) in &article.variants {
                let mut words: HashSet<String> = HashSet::new();
                for text in [&v.title, &v.answer].into_iter().chain(&v.questions) {
                    words.extend(lang::words(text));
                }
                for k in &v.keywords {
                    words.extend(k.words().map(|(w, _)| w.to_string()));
                }
                docs.entry(*lang).or_default().push(words);
            }
        }
        for article in &mut articles {
            for (lang, v) in &mut article.variants {
                let docs = docs.get(lang).map_or(&[][..], Vec::as_slice);
                v.specificity = v.keywords.iter().map(|k| specificity(k, docs)).collect();
                for question in &mut v.matchers {
                    question.specificity = question
                        .words
                        .iter()
                        .map(|w| specificity(w, docs))
                        .collect();
                }
            }
        }
        let keyword_texts = |v: &Variant| v.keywords.iter().map(|k| k.text.clone()).collect();
        let texts: Vec<(usize, Lang, Vec<String>, Vec<String>)> = articles
            .iter()
            .enumerate()
            .flat_map(|(i, a)| {
                let english: Vec<String> =
                    a.variant(Lang::En).map(keyword_texts).unwrap_or_default();
                a.variants.iter().map(move |(lang, v)| {
                    let en = if *lang == Lang::En {
                        Vec::new()
                    } else {
                        english.clone()
                    };
                    (i, *lang, keyword_texts(v), en)
                })
            })
            .collect();
        let retrieval = Retrieval::build(texts.iter().filter_map(|(i, lang, kw, en)| {
            let v = articles[*i].variant(*lang)?;
            Some(Fields {
                article: *i,
                lang: *lang,
                title: &v.title,
                answer: &v.answer,
                questions: &v.questions,
                keywords: kw,
                english_keywords: en,
            })
        }));
        KnowledgeBase {
            articles,
            index,
            retrieval,
            source,
        }
    }

    /// The folder the articles were read from; `None` for the built-in ones.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// Every language some article is written in.
    pub fn languages(&self) -> BTreeSet<Lang> {
        self.articles.iter().flat_map(Article::languages).collect()
    }

    /// All articles, in id order.
    pub fn articles(&self) -> &[Article] {
        &self.articles
    }

    /// The article with this id.
    pub fn article(&self, id: &str) -> Option<&Article> {
        self.articles.iter().find(|a| a.id == id)
    }

    /// Articles matching a customer message written in `lang`, best first; articles with no
    /// match, and articles not written in `lang`, are left out. Ties keep id order, so results
    /// are deterministic.
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
        let text_matches = self.combine(
            self.rank(alone.len(), lang, |p, used, mode| alone.find(p, used, mode)),
            self.retrieval.search(text, lang),
        );
        let context_matches = (!earlier.is_empty()).then(|| {
            let together = format!("{}\n{text}", earlier.join("\n"));
            self.combine(
                self.rank(hits.len(), lang, |p, used, mode| hits.find(p, used, mode)),
                self.retrieval.search(&together, lang),
            )
        });
        (text_matches, context_matches)
    }

    /// One ranking from the two retrievals: each article's score is
    /// [`KEYWORD_SHARE`] of its keyword score plus the rest of its BM25 score relative to the
    /// best article's, scaled by how much evidence the best has (`best / (best +`
    /// [`BM25_SATURATION`]`)`). An article both find scores highest; one only BM25 finds can
    /// still be answered when the message has a lot of its words and nothing else's.
    fn combine(&self, keyword: Vec<Match>, bm25: Vec<Scored>) -> Vec<Match> {
        let best = bm25.first().map_or(0.0, |s| s.score);
        let evidence = best / (best + BM25_SATURATION);
        let mut matches: Vec<Match> = Vec::new();
        for (i, article) in self.articles.iter().enumerate() {
            let kw = keyword.iter().find(|m| m.article_id == article.id);
            let bm = bm25.iter().find(|s| s.article == i);
            if kw.is_none() && bm.is_none() {
                continue;
            }
            let relative = bm.map_or(0.0, |s| s.score / best);
            let score = KEYWORD_SHARE * kw.map_or(0.0, |m| m.score)
                + (1.0 - KEYWORD_SHARE) * relative * evidence;
            let mut matched = kw.map(|m| m.matched.clone()).unwrap_or_default();
            // The words BM25 found that the keywords do not already show.
            for word in bm.iter().flat_map(|s| &s.matched) {
                let shown = matched.iter().any(|m| {
                    m.split(' ')
                        .any(|w| w.starts_with(word.as_str()) || word.starts_with(w))
                });
                if !shown {
                    matched.push(word.clone());
                }
            }
            matches.push(Match {
                article_id: article.id.clone(),
                intent: article.intent.clone(),
                sensitive: article.sensitive,
                score,
                matched,
            });
        }
        matches.sort_by(|a, b| b.score.total_cmp(&a.score));
        matches
    }

    /// Score every article by its keywords and example questions with `find` (a phrase's
    /// match in the message, given the words already claimed) and rank them.
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
        self.combine(
            self.rank(words.len(), lang, |phrase, used, mode| {
                phrase.find(&words, used, mode)
            }),
            self.retrieval.search(text, lang),
        )
    }
}

/// Score one article against the customer's words. Each word of the message can support at
/// most one keyword, so overlapping keywords ("due date" and "date") do not double count; the
/// best-matching example question adds to that. An article not written in `lang` is not a
/// match: the customer could not be answered from it.
fn score_article(
    article: &Article,
    words: usize,
    lang: Lang,
    find: impl Fn(&Phrase, &[bool], MatchMode) -> Option<Found>,
) -> Option<Match> {
    let variant = article.variant(lang)?;
    let mut used = vec![false; words];
    let mut raw = 0.0;
    let mut matched = Vec::new();
    let mut passes = vec![(variant, 1.0)];
    if lang != Lang::En
        && let Some(english) = article.variant(Lang::En)
    {
        passes.push((english, ENGLISH_FALLBACK_WEIGHT));
    }
    // Clean matches first, so that a typo-tolerant match of one keyword cannot claim a word
    // that another keyword matches exactly ("rimborsato" vs "rimborso").
    for mode in [MatchMode::Stem, MatchMode::Keyword] {
        for &(pass, pass_weight) in &passes {
            for (n, phrase) in pass.keywords.iter().enumerate() {
                if matched.contains(&phrase.text) {
                    continue;
                }
                let Some(found) = find(phrase, &used, mode) else {
                    continue;
                };
                for &i in &found.positions {
                    used[i] = true;
                }
                let specific = pass.specificity.get(n).copied().unwrap_or(1.0);
                raw += weight(phrase) * specific * found.quality * pass_weight;
                matched.push(phrase.text.clone());
            }
        }
    }
    if let Some((coverage, words)) = best_question(variant, words, &find) {
        raw += QUESTION_WEIGHT * coverage;
        // Words a matched keyword already shows ("buono regalo") are not listed again.
        for word in words {
            if !matched.iter().any(|m| m.split(' ').any(|w| w == word)) {
                matched.push(word);
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

/// The example question whose content words the message has the largest share of (at least
/// [`MIN_QUESTION_COVERAGE`]), each word counted by its [`specificity`]: that share, and the
/// words that matched. A word every article's questions use (the product's name: "Can I swim
/// with the AquaPod?", "How do I charge my AquaPod?") is a small share of any question, so a
/// message that has only it ("does the AquaPod come in pink?") matches none. Question words may
/// match words a keyword already claimed: a message close to an example question is more
/// evidence, not a double count.
fn best_question(
    variant: &Variant,
    words: usize,
    find: impl Fn(&Phrase, &[bool], MatchMode) -> Option<Found>,
) -> Option<(f32, Vec<String>)> {
    let unused = vec![false; words];
    let mut best: Option<(f32, Vec<String>)> = None;
    for question in &variant.matchers {
        let (mut got, mut all) = (0.0, 0.0);
        let mut hit = Vec::new();
        for (n, word) in question.words.iter().enumerate() {
            let specific = question.specificity.get(n).copied().unwrap_or(1.0);
            all += specific;
            if let Some(found) = find(word, &unused, MatchMode::Keyword) {
                got += found.quality * specific;
                hit.push(word.text.clone());
            }
        }
        let coverage = if all > 0.0 { got / all } else { 0.0 };
        if coverage >= MIN_QUESTION_COVERAGE && best.as_ref().is_none_or(|(b, _)| coverage > *b) {
            best = Some((coverage, hit));
        }
    }
    best
}

/// How much a keyword says about its article rather than about payments in general: the mean,
/// over its words, of an inverse document frequency among the articles of its language,
/// `ln(1 + N/df) / ln(1 + N)`: 1 for a word only one article uses, about 0.3 for one all use.
/// "nächste rate" (instalments are in every article) then weighs less than "verschieben" (only
/// moving a due date is about that). Measured with `shiftdesk kb eval` on the tune part of
/// `assets/eval/`: wrong answers 4.0% → 2.7% of routine messages, answered 76.7% → 76.0%
/// (holdout, not tuned on: 8.8% → 5.9%, 75.5% both); mixing in a constant share did worse.
fn specificity(phrase: &Phrase, docs: &[HashSet<String>]) -> f32 {
    let n = docs.len() as f32;
    if n < 2.0 {
        return 1.0;
    }
    let mut sum = 0.0;
    let mut count = 0;
    for (word, prefix) in phrase.words() {
        let df = docs
            .iter()
            .filter(|d| d.contains(word) || (prefix && d.iter().any(|w| w.starts_with(word))))
            .count()
            .max(1) as f32;
        sum += (1.0 + n / df).ln() / (1.0 + n).ln();
        count += 1;
    }
    if count == 0 {
        return 1.0;
    }
    SPECIFICITY_MIX + (1.0 - SPECIFICITY_MIX) * sum / count as f32
}

/// The share of a keyword's weight that does not depend on its specificity.
const SPECIFICITY_MIX: f32 = 0.25;

/// Longer phrases are more specific, so they weigh more.
fn weight(phrase: &Phrase) -> f32 {
    (WORD_WEIGHT + PHRASE_WORD_WEIGHT * (phrase.len().saturating_sub(1)) as f32)
        .min(MAX_PHRASE_WEIGHT)
}

#[cfg(test)]
mod tests;
