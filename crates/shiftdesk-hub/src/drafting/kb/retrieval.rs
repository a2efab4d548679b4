//! Ranked retrieval over the articles' own words: BM25 on stemmed terms, with character
//! trigrams for typos and compound words.
//!
//! Each article in each language is one document: its title, its example questions, its
//! keywords and its answer, each field counted with a weight (a keyword says more about an
//! article than a word of its answer). Words are [`lang::words`], less the function words of
//! the language ("can", "my", "la"), stemmed with the language's Snowball stemmer
//! (`rust-stemmers`: English, Italian, German, Dutch, Swedish, Russian), so "rimandare",
//! "rimando" and "rimandato" are one term. Two adjacent terms are a term too ("due date",
//! "pay early"), so that word order says something where single words are shared. A message is
//! scored against every document of its language with BM25 (Robertson's ranking function, as
//! search engines use it): a term counts by how often the document has it, with diminishing
//! returns, and by how rare it is among the documents of the language, so a word every
//! article uses ("payment", "rata") weighs little and one only one article uses weighs most.
//!
//! A word of the message that no document has is looked up by its character trigrams: the
//! closest term of the language sharing most of them (a typo: "pasword", "verschiben") counts
//! in its place at a lower weight, and a long word containing a term whole (a compound:
//! "ratenzahlung", "mejladress") counts as that term. English keywords are in every
//! language's documents too, at a lower weight: customers write "refund" or "declined" in
//! any language.
//!
//! Languages added as data (`languages/*.toml`) have no stemmer: their words are taken as
//! written, their marker words as the function words, and trigrams still catch inflections
//! that share a stem.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};
use rust_stemmers::{Algorithm, Stemmer};

use crate::lang::{self, Lang};

/// BM25's term-frequency saturation: how fast repeats of a term stop adding.
const K1: f32 = 1.2;
/// BM25's length normalisation: how much a long article is discounted. The articles differ in
/// length mostly by how many keywords their author wrote, which is not a reason to discount
/// them much.
const B: f32 = 0.4;
/// Field weights: how many times one occurrence counts.
const TITLE_WEIGHT: f32 = 2.0;
const KEYWORD_WEIGHT: f32 = 2.0;
const QUESTION_WEIGHT: f32 = 2.0;
const ANSWER_WEIGHT: f32 = 1.0;

/// English keywords in another language's document (code-switching customers).
const ENGLISH_WEIGHT: f32 = 1.0;
/// A pair of adjacent terms, relative to a single term.
const BIGRAM_WEIGHT: f32 = 1.0;
/// Words shorter than this (in characters) are never looked up by trigrams.
const MIN_FUZZY_CHARS: usize = 5;
/// Dice coefficient of trigram sets above which an unknown word is taken as a typo of a term.
const MIN_TYPO_SIMILARITY: f32 = 0.6;
/// A term found whole inside a longer unknown word (a compound) counts this much.
const COMPOUND_QUALITY: f32 = 0.8;
/// A compound part must have at least this many characters ("zahlung" in "ratenzahlung", not
/// "rat").
const MIN_COMPOUND_PART: usize = 5;

/// Words that say which instalment a customer means, not what they want done with it: "the
/// next instalment" is in questions about moving it, paying it early or why it failed, so
/// it must not point to the article that explains instalments. (As [`lang::normalize`] writes
/// them; every list is checked whatever the language.)
#[rustfmt::skip]
const REFERENCE_WORDS: &[&str] = &[
    "next", "prossima", "prossimo", "prossime", "prossimi", "nachste", "nachsten", "nachster",
    "nachstes", "volgende", "nasta", "следующий", "следующая", "следующую", "следующего",
    "следующие", "следующем", "следующей",
];

/// How one language's text becomes terms: function words out, the rest stemmed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Analyzer {
    lang: Lang,
    stemmer: Option<Algorithm>,
}

impl Analyzer {
    pub(crate) fn new(lang: Lang) -> Analyzer {
        let stemmer = match lang {
            Lang::En => Some(Algorithm::English),
            Lang::It => Some(Algorithm::Italian),
            Lang::De => Some(Algorithm::German),
            Lang::Nl => Some(Algorithm::Dutch),
            Lang::Sv => Some(Algorithm::Swedish),
            Lang::Ru => Some(Algorithm::Russian),
            _ => None,
        };
        Analyzer { lang, stemmer }
    }

    /// The content words of `text`, stemmed, in order.
    pub(crate) fn terms(&self, text: &str) -> Vec<String> {
        let stop = super::questions::function_words(self.lang);
        let stemmer = self.stemmer.map(Stemmer::create);
        lang::words(text)
            .into_iter()
            .filter(|w| {
                !stop.contains(&w.as_str())
                    && !REFERENCE_WORDS.contains(&w.as_str())
                    && (w.chars().count() > 1 || w.chars().all(|c| c.is_ascii_digit()))
            })
            .map(|w| match &stemmer {
                Some(s) => s.stem(&w).into_owned(),
                None => w,
            })
            .filter(|t| !t.is_empty())
            .collect()
    }
}

/// The terms of a text for indexing or searching: its stems, then each pair of adjacent stems
/// (written with a space, which no stem has).
fn with_bigrams(terms: &[String]) -> impl Iterator<Item = (String, f32)> + '_ {
    let single = terms.iter().map(|t| (t.clone(), 1.0));
    let pairs = terms
        .windows(2)
        .map(|w| (format!("{} {}", w[0], w[1]), BIGRAM_WEIGHT));
    single.chain(pairs)
}

/// One article in one language, as BM25 sees it.
#[derive(Debug, Clone, Default)]
struct Document {
    /// The article's place in the knowledge base's list.
    article: usize,
    /// Weighted count of each term.
    tf: HashMap<String, f32>,
    /// Weighted count of all single terms.
    len: f32,
}

impl Document {
    fn add(&mut self, terms: &[String], weight: f32) {
        for (term, w) in with_bigrams(terms) {
            if !term.contains(' ') {
                self.len += weight;
            }
            *self.tf.entry(term).or_default() += weight * w;
        }
    }
}

/// The text of one article in one language, for [`Retrieval::build`].
pub(crate) struct Fields<'a> {
    pub(crate) article: usize,
    pub(crate) lang: Lang,
    pub(crate) title: &'a str,
    pub(crate) answer: &'a str,
    pub(crate) questions: &'a [String],
    pub(crate) keywords: &'a [String],
    /// The article's English keywords, when `lang` is another language.
    pub(crate) english_keywords: &'a [String],
}

/// The documents of one language, and what BM25 needs to score them.
#[derive(Debug, Clone)]
struct LangIndex {
    analyzer: Analyzer,
    docs: Vec<Document>,
    avg_len: f32,
    /// Inverse document frequency of every term some document has.
    idf: HashMap<String, f32>,
    /// Single terms of at least [`MIN_FUZZY_CHARS`] characters, and their trigrams, for
    /// unknown words.
    fuzzy: Vec<(String, Vec<String>)>,
    /// Trigram → indexes into `fuzzy`.
    by_trigram: HashMap<String, Vec<u32>>,
}

/// The BM25 index of a knowledge base: one [`LangIndex`] per language.
#[derive(Debug, Clone, Default)]
pub(crate) struct Retrieval {
    langs: BTreeMap<Lang, LangIndex>,
}

/// How well one article fits a message by BM25, and the message words behind it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scored {
    pub(crate) article: usize,
    pub(crate) score: f32,
    /// The message's words whose terms matched, as [`lang::words`] writes them, in message
    /// order.
    pub(crate) matched: Vec<String>,
}

impl Retrieval {
    pub(crate) fn build<'a>(fields: impl IntoIterator<Item = Fields<'a>>) -> Retrieval {
        let english = Analyzer::new(Lang::En);
        let mut docs: BTreeMap<Lang, Vec<Document>> = BTreeMap::new();
        for f in fields {
            let analyzer = Analyzer::new(f.lang);
            let mut doc = Document {
                article: f.article,
                ..Document::default()
            };
            doc.add(&analyzer.terms(f.title), TITLE_WEIGHT);
            doc.add(&analyzer.terms(f.answer), ANSWER_WEIGHT);
            for q in f.questions {
                doc.add(&analyzer.terms(q), QUESTION_WEIGHT);
            }
            for k in f.keywords {
                doc.add(&analyzer.terms(k), KEYWORD_WEIGHT);
            }
            for k in f.english_keywords {
                doc.add(&english.terms(k), ENGLISH_WEIGHT);
            }
            docs.entry(f.lang).or_default().push(doc);
        }
        let langs = docs
            .into_iter()
            .map(|(lang, docs)| (lang, LangIndex::new(Analyzer::new(lang), docs)))
            .collect();
        Retrieval { langs }
    }

    /// Every article of `lang` with a positive score, best first (ties in article order).
    pub(crate) fn search(&self, text: &str, lang: Lang) -> Vec<Scored> {
        let Some(index) = self.langs.get(&lang) else {
            return Vec::new();
        };
        index.search(text)
    }
}

impl LangIndex {
    fn new(analyzer: Analyzer, docs: Vec<Document>) -> LangIndex {
        let n = docs.len() as f32;
        let avg_len = (docs.iter().map(|d| d.len).sum::<f32>() / n.max(1.0)).max(1.0);
        let mut df: HashMap<String, usize> = HashMap::new();
        for doc in &docs {
            for term in doc.tf.keys() {
                *df.entry(term.clone()).or_default() += 1;
            }
        }
        let idf_of = |df: usize| {
            let df = df as f32;
            (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
        };
        // A pair of words is rarer than either word, but a pair with a common word ("pay
        // early", "prossima rata") is no more specific than that common word: its weight is
        // capped at the weight of its commoner word, so that a pair adds word order, not a
        // second count of its rare word.
        let idf: HashMap<String, f32> = df
            .iter()
            .map(|(term, &count)| {
                let mut idf = idf_of(count);
                if let Some((a, b)) = term.split_once(' ') {
                    let part = |w: &str| df.get(w).map_or(0.0, |&c| idf_of(c));
                    idf = idf.min(part(a)).min(part(b));
                }
                (term.clone(), idf)
            })
            .collect();
        let mut fuzzy: Vec<(String, Vec<String>)> = idf
            .keys()
            .filter(|t| !t.contains(' ') && t.chars().count() >= MIN_FUZZY_CHARS)
            .map(|t| (t.clone(), trigrams(t)))
            .collect();
        // Sorted, so that ties between candidates break the same way in every process.
        fuzzy.sort();
        let mut by_trigram: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, (_, grams)) in fuzzy.iter().enumerate() {
            for g in grams {
                by_trigram
                    .entry(g.clone())
                    .or_default()
                    .push(u32::try_from(i).unwrap_or(u32::MAX));
            }
        }
        LangIndex {
            analyzer,
            docs,
            avg_len,
            idf,
            fuzzy,
            by_trigram,
        }
    }

    fn search(&self, text: &str) -> Vec<Scored> {
        // Each word of the message as a term the documents have (itself, its English stem, or
        // its closest term by trigrams), with how sure that reading is and the word as written.
        let english = Analyzer::new(Lang::En);
        let mut terms: Vec<(String, f32, String)> = Vec::new();
        for word in lang::words(text) {
            let Some(stem) = self.analyzer.terms(&word).into_iter().next() else {
                continue;
            };
            if self.idf.contains_key(&stem) {
                terms.push((stem, 1.0, word));
                continue;
            }
            if let Some(en) = english.terms(&word).into_iter().next()
                && self.idf.contains_key(&en)
            {
                terms.push((en, 1.0, word));
                continue;
            }
            match self.closest(&stem) {
                Some((term, quality)) => terms.push((term, quality, word)),
                // Kept, so that it breaks a pair of its neighbours.
                None => terms.push((stem, 0.0, word)),
            }
        }
        let mut query: Vec<(String, f32, Option<&str>)> = Vec::new();
        for (i, (term, q, word)) in terms.iter().enumerate() {
            query.push((term.clone(), *q, Some(word.as_str())));
            if let Some((next, q2, _)) = terms.get(i + 1) {
                query.push((format!("{term} {next}"), q.min(*q2), None));
            }
        }
        // Each term once, at its best reading.
        let mut seen: Vec<(String, f32, Option<&str>)> = Vec::new();
        for (term, q, word) in query {
            if q <= 0.0 || !self.idf.contains_key(&term) {
                continue;
            }
            match seen.iter_mut().find(|(t, _, _)| *t == term) {
                Some(s) if s.1 < q => *s = (term, q, word),
                Some(_) => {}
                None => seen.push((term, q, word)),
            }
        }
        let mut scored: Vec<Scored> = Vec::new();
        for doc in &self.docs {
            let norm = K1 * (1.0 - B + B * doc.len / self.avg_len);
            let mut score = 0.0;
            let mut matched = Vec::new();
            for (term, q, word) in &seen {
                let Some(&tf) = doc.tf.get(term) else {
                    continue;
                };
                let idf = self.idf.get(term).copied().unwrap_or(0.0);
                score += q * idf * tf * (K1 + 1.0) / (tf + norm);
                if let Some(word) = word {
                    matched.push((*word).to_string());
                }
            }
            if score > 0.0 {
                scored.push(Scored {
                    article: doc.article,
                    score,
                    matched,
                });
            }
        }
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.article.cmp(&b.article)));
        scored
    }

    /// The term an unknown word most likely means, by shared trigrams: a term it contains
    /// whole (a compound part; the longest), else the most similar one if it is close enough
    /// (a typo). With how sure that is.
    fn closest(&self, word: &str) -> Option<(String, f32)> {
        if word.chars().count() < MIN_FUZZY_CHARS {
            return None;
        }
        let grams = trigrams(word);
        let mut shared: HashMap<u32, usize> = HashMap::new();
        for g in &grams {
            for &i in self.by_trigram.get(g).into_iter().flatten() {
                *shared.entry(i).or_default() += 1;
            }
        }
        let mut best: Option<(f32, usize, u32)> = None;
        for (&i, &n) in &shared {
            let (term, term_grams) = &self.fuzzy[i as usize];
            let chars = term.chars().count();
            let quality = if chars >= MIN_COMPOUND_PART && word.contains(term.as_str()) {
                COMPOUND_QUALITY
            } else {
                let dice = 2.0 * n as f32 / (grams.len() + term_grams.len()) as f32;
                if dice < MIN_TYPO_SIMILARITY {
                    continue;
                }
                dice * COMPOUND_QUALITY
            };
            let candidate = (quality, chars, i);
            // Best quality, then the longer term, then the first in sorted order.
            let better = best.is_none_or(|(bq, bc, bi)| {
                quality > bq || (quality == bq && (chars > bc || (chars == bc && i < bi)))
            });
            if better {
                best = Some(candidate);
            }
        }
        best.map(|(quality, _, i)| (self.fuzzy[i as usize].0.clone(), quality))
    }
}

/// The character trigrams of a word, each once, with `^` and `$` marking its ends.
fn trigrams(word: &str) -> Vec<String> {
    let chars: Vec<char> = std::iter::once('^')
        .chain(word.chars())
        .chain(std::iter::once('$'))
        .collect();
    let mut out: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(lang: Lang, text: &str) -> Vec<String> {
        Analyzer::new(lang).terms(text)
    }

    #[test]
    fn words_are_stemmed_in_their_language_without_function_words() {
        assert_eq!(terms(Lang::En, "I returned my orders"), ["return", "order"]);
        assert_eq!(
            terms(Lang::It, "vorrei rimandare il pagamento"),
            terms(Lang::It, "rimandato pagamenti")
        );
        assert_eq!(terms(Lang::Ru, "платежи"), terms(Lang::Ru, "платеж"));
    }

    #[test]
    fn a_language_without_a_stemmer_keeps_its_words() {
        let pl = Lang::from_code("pl").expect("a code");
        assert_eq!(terms(pl, "Zwrot pieniędzy"), ["zwrot", "pieniedzy"]);
    }

    fn index() -> Retrieval {
        let none: &[String] = &[];
        let kw = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let refund = kw(&["refund", "send back", "ratenzahlung zurück"]);
        let due = kw(&["verschieben", "due date"]);
        Retrieval::build([
            Fields {
                article: 0,
                lang: Lang::De,
                title: "Rücksendungen und Erstattungen",
                answer: "Die Erstattung kommt vom Händler.",
                questions: none,
                keywords: &refund,
                english_keywords: none,
            },
            Fields {
                article: 1,
                lang: Lang::De,
                title: "Fälligkeit verschieben",
                answer: "Du kannst das Datum einmal verschieben.",
                questions: none,
                keywords: &due,
                english_keywords: &kw(&["postpone"]),
            },
        ])
    }

    #[test]
    fn typos_and_compounds_find_their_terms() {
        let index = index();
        let top = |text: &str| index.search(text, Lang::De).first().map(|s| s.article);
        assert_eq!(top("kann ich verschiben?"), Some(1), "a typo");
        assert_eq!(top("ratenzahlungsrückerstattung"), Some(0), "a compound");
        assert_eq!(top("kann ich postpone"), Some(1), "an English keyword");
        assert_eq!(top("guten tag"), None);
        assert!(index.search("verschieben", Lang::Sv).is_empty());
    }
}
