//! Matching keyword phrases against the words of a customer message, and an index that makes
//! it cheap.
//!
//! A [`Phrase`] ("move due date", "rückerstattung", "operator*") matches a message's normalised
//! words in order, with short gaps, as stems, inside compounds and with a typo, depending on the
//! [`MatchMode`]. The knowledge base has over a thousand keywords and triage a few hundred
//! patterns, and trying each against each word of every message was most of the hub's CPU time
//! under load, so they are looked up instead: a [`KeywordIndex`] holds every
//! distinct keyword word once, and [`KeywordIndex::hits`] finds, for each word of a message,
//! the keyword words it matches (by hash lookups of its prefixes and inner parts, plus an edit
//! distance only against keywords with the same first letter and a near length). The phrases
//! are then matched against those hits ([`Phrase::find_in`]), with the same result as trying
//! them all.

// foldhash, not SipHash: the keys are short words, hashed many times per message, and SipHash
// was a tenth of the time. Its seeds are random per process, so a customer still cannot choose
// words that collide; the tables keyed by message words are per message and small.
use foldhash::{HashMap, HashSet};

use crate::lang;

/// How many unrelated words may sit between the words of a keyword phrase
/// ("move *my* due date" matches "move due date").
const KB_MAX_GAP: usize = 2;
/// Match quality of an exact or stem match.
const CLEAN: f32 = 1.0;
/// Match quality of a keyword found inside a compound word, or with a typo.
const LOOSE: f32 = 0.8;
/// Keyword words shorter than this (in characters) match only exactly or as stems: no typos,
/// no compounds.
const MIN_LOOSE_CHARS: usize = 5;

/// How a [`Phrase`] matches words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MatchMode {
    /// Knowledge-base retrieval, exact and stem matches only (the first pass of [`Self::Keyword`]).
    Stem,
    /// Knowledge-base retrieval, tuned for recall: words of four or more letters match as
    /// stems ("refund" matches "refunded"), long words also inside compounds
    /// ("zahlung" in "ratenzahlung") and with one typo, and phrases allow short gaps.
    Keyword,
    /// Triage rules, tuned for precision: words match exactly unless written with a trailing
    /// `*` ("operator*"), no typos, at most one word between phrase words.
    Pattern,
}

impl MatchMode {
    fn max_gap(self) -> usize {
        match self {
            MatchMode::Stem | MatchMode::Keyword => KB_MAX_GAP,
            MatchMode::Pattern => 1,
        }
    }

    /// Whether a match of this quality counts in this mode.
    fn admits(self, quality: f32) -> bool {
        self == MatchMode::Keyword || quality >= CLEAN
    }
}

/// A keyword or phrase, split into normalised words, ready to match a message.
#[derive(Debug, Clone)]
pub(crate) struct Phrase {
    /// The phrase as written in the list (normalised), for display.
    pub(crate) text: String,
    words: Vec<PhraseWord>,
    /// Each word's id in the [`KeywordIndex`] the phrase was added to (empty until then).
    ids: Vec<WordId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PhraseWord {
    word: String,
    /// Matches any word starting with `word`.
    prefix: bool,
    /// `word`'s length in characters and its first character, so the typo-tolerant checks can
    /// rule most message words out without counting or comparing anything.
    chars: usize,
    first: Option<char>,
    /// The word's [`letters`].
    letters: u64,
}

/// Where a phrase matched and how cleanly (1.0 exact or stem, less for typos and compounds).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    pub(crate) positions: Vec<usize>,
    pub(crate) quality: f32,
}

impl Phrase {
    /// The phrase's words (normalised), and whether each matches as a stem (a prefix).
    pub(crate) fn words(&self) -> impl Iterator<Item = (&str, bool)> {
        self.words.iter().map(|w| (w.word.as_str(), w.prefix))
    }

    /// A knowledge-base keyword: words of four or more letters are stems.
    pub(crate) fn keyword(text: &str) -> Phrase {
        Self::parse(text, |w| w.chars().count() >= 4)
    }

    /// A triage pattern: only words ending in `*` are stems.
    pub(crate) fn pattern(text: &str) -> Phrase {
        Self::parse(text, |_| false)
    }

    fn parse(text: &str, default_prefix: impl Fn(&str) -> bool) -> Phrase {
        let mut words = Vec::new();
        for raw in text.split_whitespace() {
            let (raw, star) = match raw.strip_suffix('*') {
                Some(stem) => (stem, true),
                None => (raw, false),
            };
            // Normalising may split a word ("can't" -> "can t"); only the last piece keeps `*`.
            let parts = lang::words(raw);
            let last = parts.len().saturating_sub(1);
            for (i, word) in parts.into_iter().enumerate() {
                let prefix = (i == last && star) || default_prefix(&word);
                let chars = word.chars().count();
                let first = word.chars().next();
                let letters = word.chars().fold(0, |seen, c| seen | letters(c));
                words.push(PhraseWord {
                    word,
                    prefix,
                    chars,
                    first,
                    letters,
                });
            }
        }
        let text = words
            .iter()
            .map(|w| w.word.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Phrase {
            text,
            words,
            ids: Vec::new(),
        }
    }

    /// How many words the phrase has.
    pub(crate) fn len(&self) -> usize {
        self.words.len()
    }

    /// Find this phrase in `words`, skipping words already claimed (`used`). Phrase words must
    /// appear in order, with at most the mode's gap between them. Returns the first match.
    ///
    /// This tries the phrase against every word: the definition that [`Self::find_in`] must
    /// agree with, kept for the tests that check it does.
    #[cfg(test)]
    pub(crate) fn find(&self, words: &[String], used: &[bool], mode: MatchMode) -> Option<Found> {
        self.find_by(words.len(), used, mode, 0..words.len(), |k, i| {
            self.words[k].matches(&words[i], mode)
        })
    }

    /// [`Self::find`] for a phrase added to the index that produced `hits`: the same result,
    /// looked up instead of compared. (`Keyword` mode needs an index
    /// [`for keywords`](KeywordIndex::for_keywords).)
    pub(crate) fn find_in(&self, hits: &Hits, used: &[bool], mode: MatchMode) -> Option<Found> {
        let first = *self.ids.first()?;
        let starts = hits
            .of(first)
            .iter()
            .filter(|&&(_, q)| mode.admits(q))
            .map(|&(i, _)| i as usize);
        self.find_by(hits.words, used, mode, starts, |k, i| {
            hits.quality(self.ids[k], i).filter(|&q| mode.admits(q))
        })
    }

    /// The matching walk shared by [`Self::find`] and [`Self::find_in`]: `starts` are the
    /// positions to try for the first word, ascending (any superset of where it matches);
    /// `matches(k, i)` says whether phrase word `k` matches message word `i`, and how well.
    fn find_by(
        &self,
        words: usize,
        used: &[bool],
        mode: MatchMode,
        starts: impl Iterator<Item = usize>,
        matches: impl Fn(usize, usize) -> Option<f32>,
    ) -> Option<Found> {
        if self.words.is_empty() {
            return None;
        }
        let max_gap = mode.max_gap();
        'start: for start in starts {
            if used[start] {
                continue;
            }
            let Some(q) = matches(0, start) else {
                continue;
            };
            let mut positions = vec![start];
            let mut quality = q;
            let mut at = start;
            for k in 1..self.words.len() {
                let window = (at + 1)..words.min(at + 2 + max_gap);
                let next = window
                    .into_iter()
                    .filter(|&i| !used[i])
                    .find_map(|i| matches(k, i).map(|q| (i, q)));
                match next {
                    Some((i, q)) => {
                        positions.push(i);
                        quality = quality.min(q);
                        at = i;
                    }
                    None => continue 'start,
                }
            }
            return Some(Found { positions, quality });
        }
        None
    }
}

impl PhraseWord {
    /// Whether a message word matches this phrase word, and how cleanly. (The index finds the
    /// same without asking each word; this is what it must agree with.)
    #[cfg(test)]
    fn matches(&self, word: &str, mode: MatchMode) -> Option<f32> {
        if word == self.word || (self.prefix && word.starts_with(&self.word)) {
            return Some(CLEAN);
        }
        if mode != MatchMode::Keyword || self.chars < MIN_LOOSE_CHARS {
            return None;
        }
        // Compound words: German, Dutch and Swedish glue nouns together ("ratenzahlung").
        // (An equal-length containment is equality, handled above.)
        if word.len() > self.word.len() && word.contains(&self.word) {
            return Some(LOOSE);
        }
        self.typo(&Measured::new(word)).then_some(LOOSE)
    }

    /// One typo in a long word ("refnud", "verschiben"); compare against the same-length
    /// start of the message word too, so a typo in an inflected form still counts. People
    /// rarely mistype the first letter, and requiring it keeps unrelated words out.
    fn typo(&self, word: &Measured<'_>) -> bool {
        let len = self.chars;
        if len < MIN_LOOSE_CHARS || word.first != self.first {
            return false;
        }
        let limit = if len >= 10 { 2 } else { 1 };
        let word_len = word.chars;
        // An edit distance is at least the difference in length, and at least the number of
        // letters one word has and the other lacks: most words stop here, before counting.
        if word_len < 4 || word_len + limit < len || (!self.prefix && word_len > len + limit) {
            return false;
        }
        let whole = if word_len.abs_diff(len) <= limit
            && fewest_edits(self.letters, word.letters(word_len)) <= limit
        {
            strsim::damerau_levenshtein(&self.word, word.text)
        } else {
            usize::MAX
        };
        let start = if self.prefix && word_len > len {
            if fewest_edits(self.letters, word.letters(len)) <= limit {
                let head: String = word.text.chars().take(len).collect();
                strsim::damerau_levenshtein(&self.word, &head)
            } else {
                usize::MAX
            }
        } else {
            whole
        };
        whole.min(start) <= limit
    }
}

/// A message word, measured once for the typo checks against many keyword words.
struct Measured<'a> {
    text: &'a str,
    chars: usize,
    first: Option<char>,
    /// `heads[n]`: the [`letters`] of the word's first `n` characters.
    heads: Vec<u64>,
}

impl<'a> Measured<'a> {
    fn new(text: &'a str) -> Self {
        let mut heads = vec![0];
        let mut seen = 0;
        for c in text.chars() {
            seen |= letters(c);
            heads.push(seen);
        }
        Measured {
            text,
            chars: heads.len() - 1,
            first: text.chars().next(),
            heads,
        }
    }

    /// The letters of the first `n` characters (or the whole word).
    fn letters(&self, n: usize) -> u64 {
        self.heads[n.min(self.chars)]
    }
}

/// A set of letters as 64 bits, one per letter (two letters may share one).
fn letters(c: char) -> u64 {
    1 << (u32::from(c) % 64)
}

/// A lower bound on the edit distance between words with these [`letters`]: every letter one
/// has and the other lacks takes an edit, and an edit adds at most one letter and removes at
/// most one. (Letters sharing a bit can only hide a difference, so the bound stays true.)
fn fewest_edits(a: u64, b: u64) -> usize {
    (a & !b).count_ones().max((b & !a).count_ones()) as usize
}

/// A keyword word's place in a [`KeywordIndex`].
type WordId = u32;

/// Every distinct word of the phrases added to it, so that a message word finds the keyword
/// words it matches by lookup. See the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct KeywordIndex {
    /// Whether [`Self::hits`] looks for compounds and typos too (`Keyword` mode), or only for
    /// exact and stem matches (`Stem` and `Pattern` mode).
    loose: bool,
    words: Vec<PhraseWord>,
    ids: HashMap<PhraseWord, WordId>,
    /// Keyword words by their text: a message word's prefixes and inner parts are looked up
    /// here.
    by_text: HashMap<String, Vec<WordId>>,
    /// Keyword words long enough for typo tolerance, by first letter, shortest first.
    by_first: HashMap<char, Vec<WordId>>,
    /// The first [`MIN_LOOSE_CHARS`] characters of every keyword word long enough to be found
    /// inside a compound: only where one of these starts can a compound match start.
    compound_heads: HashSet<String>,
}

impl KeywordIndex {
    /// An index for knowledge-base keywords, matched in `Stem` and `Keyword` mode.
    pub(crate) fn for_keywords() -> Self {
        Self::new(true)
    }

    /// An index for triage patterns, matched in `Pattern` mode: exact and stem matches only.
    pub(crate) fn for_patterns() -> Self {
        Self::new(false)
    }

    fn new(loose: bool) -> Self {
        KeywordIndex {
            loose,
            words: Vec::new(),
            ids: HashMap::default(),
            by_text: HashMap::default(),
            by_first: HashMap::default(),
            compound_heads: HashSet::default(),
        }
    }

    /// Add a phrase's words (once each) and give the phrase their ids, so it can be matched
    /// with [`Phrase::find_in`].
    pub(crate) fn add(&mut self, phrase: &mut Phrase) {
        phrase.ids = phrase.words.iter().map(|w| self.intern(w)).collect();
    }

    fn intern(&mut self, word: &PhraseWord) -> WordId {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = WordId::try_from(self.words.len()).unwrap_or(WordId::MAX);
        self.words.push(word.clone());
        self.ids.insert(word.clone(), id);
        self.by_text.entry(word.word.clone()).or_default().push(id);
        if word.chars >= MIN_LOOSE_CHARS
            && let Some(first) = word.first
        {
            let same_first = self.by_first.entry(first).or_default();
            let at =
                same_first.partition_point(|&other| self.words[other as usize].chars <= word.chars);
            same_first.insert(at, id);
            self.compound_heads
                .insert(word.word.chars().take(MIN_LOOSE_CHARS).collect());
        }
        id
    }

    /// Which keyword words each of `words` (a message, normalised) matches, and how cleanly:
    /// everything [`Phrase::find_in`] needs to match the indexed phrases in `Stem` and
    /// `Keyword` mode.
    pub(crate) fn hits(&self, words: &[String]) -> Hits {
        let mut hits = Hits {
            words: words.len(),
            by_id: HashMap::default(),
        };
        // A message often repeats a word; look each distinct one up once.
        let mut seen: HashMap<&str, Vec<(WordId, f32)>> = HashMap::default();
        for (pos, word) in words.iter().enumerate() {
            let found = seen
                .entry(word.as_str())
                .or_insert_with(|| self.matches_of(word));
            let pos = u32::try_from(pos).unwrap_or(u32::MAX);
            for &(id, q) in found.iter() {
                hits.by_id.entry(id).or_default().push((pos, q));
            }
        }
        hits
    }

    /// The keyword words `word` matches, each once with its best quality (exactly what
    /// [`PhraseWord::matches`] says of each in `Keyword` mode, or in `Stem` mode for an index
    /// of patterns, without asking each).
    fn matches_of(&self, word: &str) -> Vec<(WordId, f32)> {
        // Char boundaries of `word`; it has `chars` characters.
        let bounds: Vec<usize> = word
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(word.len()))
            .collect();
        let chars = bounds.len() - 1;
        // Exact and stem matches: the whole word, or a prefix of it that is a stem.
        let mut found: Vec<(WordId, f32)> = Vec::new();
        for &end in &bounds[1..] {
            for &id in self.by_text.get(&word[..end]).into_iter().flatten() {
                if end == word.len() || self.words[id as usize].prefix {
                    found.push((id, CLEAN));
                }
            }
        }
        if !self.loose {
            return found;
        }
        let mut loose = |id: WordId| {
            if !found.iter().any(|&(i, _)| i == id) {
                found.push((id, LOOSE));
            }
        };
        // Compounds: a long keyword word anywhere inside a longer message word.
        if chars > MIN_LOOSE_CHARS {
            for (s, &start) in bounds.iter().enumerate().take(chars - MIN_LOOSE_CHARS + 1) {
                if !self
                    .compound_heads
                    .contains(&word[start..bounds[s + MIN_LOOSE_CHARS]])
                {
                    continue;
                }
                for &end in &bounds[s + MIN_LOOSE_CHARS..] {
                    if end - start < word.len() {
                        self.by_text
                            .get(&word[start..end])
                            .into_iter()
                            .flatten()
                            .for_each(|&id| loose(id));
                    }
                }
            }
        }
        // Typos: only keyword words with the same first letter can match.
        if let Some(first) = word.chars().next() {
            let measured = Measured::new(word);
            for &id in self.by_first.get(&first).into_iter().flatten() {
                let candidate = &self.words[id as usize];
                // Longer by more than two letters: this one and all after it are too long.
                if candidate.chars > chars + 2 {
                    break;
                }
                if candidate.typo(&measured) {
                    loose(id);
                }
            }
        }
        found
    }
}

/// What [`KeywordIndex::hits`] found in one message: for each keyword word, the message
/// positions it matches (ascending) and how cleanly.
#[derive(Debug)]
pub(crate) struct Hits {
    /// How many words the message has.
    words: usize,
    by_id: HashMap<WordId, Vec<(u32, f32)>>,
}

impl Hits {
    fn of(&self, id: WordId) -> &[(u32, f32)] {
        self.by_id.get(&id).map_or(&[], Vec::as_slice)
    }

    fn quality(&self, id: WordId, pos: usize) -> Option<f32> {
        self.of(id)
            .iter()
            .find(|&&(i, _)| i as usize == pos)
            .map(|&(_, q)| q)
    }

    /// The hits of the words from `start` on, as if the message began there.
    pub(crate) fn after(&self, start: usize) -> Hits {
        let start = u32::try_from(start).unwrap_or(u32::MAX);
        let mut by_id: HashMap<WordId, Vec<(u32, f32)>> = HashMap::default();
        for (&id, found) in &self.by_id {
            let kept: Vec<(u32, f32)> = found
                .iter()
                .filter(|&&(pos, _)| pos >= start)
                .map(|&(pos, q)| (pos - start, q))
                .collect();
            if !kept.is_empty() {
                by_id.insert(id, kept);
            }
        }
        Hits {
            words: self.words.saturating_sub(start as usize),
            by_id,
        }
    }

    /// How many words the message has.
    pub(crate) fn len(&self) -> usize {
        self.words
    }

    /// [`Phrase::find_in`] these hits, ruling most phrases out at once.
    pub(crate) fn find(&self, phrase: &Phrase, used: &[bool], mode: MatchMode) -> Option<Found> {
        if self.may_match(phrase) {
            phrase.find_in(self, used, mode)
        } else {
            None
        }
    }

    /// Whether the phrase's first word matches anywhere: if not, it cannot match.
    pub(crate) fn may_match(&self, phrase: &Phrase) -> bool {
        phrase
            .ids
            .first()
            .is_some_and(|id| self.by_id.contains_key(id))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn indexed(texts: &[&str]) -> (KeywordIndex, Vec<Phrase>) {
        let mut index = KeywordIndex::for_keywords();
        let mut phrases: Vec<Phrase> = texts.iter().map(|t| Phrase::keyword(t)).collect();
        for p in &mut phrases {
            index.add(p);
        }
        (index, phrases)
    }

    fn words(text: &str) -> Vec<String> {
        lang::words(text)
    }

    #[test]
    fn the_index_finds_stems_compounds_and_typos() {
        let (index, phrases) = indexed(&[
            "refund",
            "zahlung",
            "verschieben",
            "due date",
            "app",
            "dispute",
        ]);
        let msg = words("refunded ratenzahlung verschiben app apple my due date");
        let hits = index.hits(&msg);
        let used = vec![false; msg.len()];
        let found = |p: &Phrase, mode| p.find_in(&hits, &used, mode).map(|f| f.positions);
        assert_eq!(found(&phrases[0], MatchMode::Stem), Some(vec![0]));
        assert_eq!(
            found(&phrases[1], MatchMode::Stem),
            None,
            "compounds are loose"
        );
        assert_eq!(found(&phrases[1], MatchMode::Keyword), Some(vec![1]));
        assert_eq!(found(&phrases[2], MatchMode::Keyword), Some(vec![2]));
        assert_eq!(found(&phrases[3], MatchMode::Keyword), Some(vec![6, 7]));
        // "app" is short: exact only, so "apple" does not match it but "app" does.
        assert_eq!(found(&phrases[4], MatchMode::Keyword), Some(vec![3]));
        assert!(!hits.may_match(&phrases[5]));
        assert_eq!(found(&phrases[5], MatchMode::Keyword), None);
    }

    #[test]
    fn a_word_shared_by_phrases_is_stored_once() {
        let (index, _) = indexed(&["due date", "date", "move due date"]);
        assert_eq!(index.words.len(), 3, "{:?}", index.words);
    }

    #[test]
    fn a_word_supports_one_keyword_only() {
        // "due date" and "date" are both keywords; "due date" must not count twice.
        let phrase = Phrase::keyword("due date");
        let words = lang::words("move my due date");
        let mut used = vec![false; words.len()];
        let found = phrase
            .find(&words, &used, MatchMode::Keyword)
            .expect("found");
        assert_eq!(found.positions, [2, 3]);
        used[2] = true;
        assert!(phrase.find(&words, &used, MatchMode::Keyword).is_none());
    }

    #[test]
    fn patterns_are_exact_unless_starred() {
        let words = lang::words("operatori per favore");
        let unused = vec![false; words.len()];
        assert!(
            Phrase::pattern("operatore")
                .find(&words, &unused, MatchMode::Pattern)
                .is_none()
        );
        assert!(
            Phrase::pattern("operator*")
                .find(&words, &unused, MatchMode::Pattern)
                .is_some()
        );
        // At most one word between pattern words.
        let words = lang::words("talk to a real human");
        let unused = vec![false; words.len()];
        assert!(
            Phrase::pattern("talk to human")
                .find(&words, &unused, MatchMode::Pattern)
                .is_none()
        );
        assert!(
            Phrase::pattern("to a human")
                .find(&words, &unused, MatchMode::Pattern)
                .is_some()
        );
    }

    /// Words near the keywords: the keywords themselves, inflected, glued into compounds,
    /// with a letter changed, dropped or swapped, and unrelated words.
    fn near_word(keywords: &'static [&'static str]) -> impl Strategy<Value = String> {
        let pick = prop::sample::select(keywords);
        prop_oneof![
            pick.clone().prop_map(str::to_string),
            (
                pick.clone(),
                prop::sample::select(&["ed", "ing", "en", "s", "ata"][..])
            )
                .prop_map(|(k, s)| format!("{k}{s}")),
            (
                prop::sample::select(&["raten", "ab", "x"][..]),
                pick.clone()
            )
                .prop_map(|(p, k)| format!("{p}{k}")),
            (pick.clone(), any::<prop::sample::Index>(), any::<char>()).prop_map(|(k, at, c)| {
                let mut chars: Vec<char> = k.chars().collect();
                let i = at.index(chars.len());
                chars[i] = c;
                chars.into_iter().collect()
            }),
            (pick.clone(), any::<prop::sample::Index>()).prop_map(|(k, at)| {
                let mut chars: Vec<char> = k.chars().collect();
                chars.remove(at.index(chars.len()));
                chars.into_iter().collect()
            }),
            (pick, any::<prop::sample::Index>()).prop_map(|(k, at)| {
                let mut chars: Vec<char> = k.chars().collect();
                let i = at.index(chars.len() - 1);
                chars.swap(i, i + 1);
                chars.into_iter().collect()
            }),
            "[a-zäöüåéё]{1,14}",
            "[а-яё]{2,12}",
        ]
    }

    const KEYWORDS: &[&str] = &[
        "refund",
        "refunded",
        "zahlung",
        "ratenzahlung",
        "verschieben",
        "zurückerstattet",
        "due date",
        "move due date",
        "app",
        "restitu*",
        "возврат",
        "вернуть деньги",
        "återbetalning",
        "money back",
        "send back",
        "geld zurück",
        "pay",
        "payment plan",
    ];

    proptest! {
        // Failures are kept beside this file, not in a top-level folder.
        #![proptest_config(proptest::test_runner::Config { failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))), ..proptest::test_runner::Config::default() })]
        /// The index gives exactly what trying every phrase against every word gives: the same
        /// match, at the same positions, with the same quality, in both indexed modes, with
        /// some words already claimed.
        #[test]
        fn the_index_agrees_with_trying_every_phrase(
            msg in prop::collection::vec(near_word(KEYWORDS), 0..12),
            claimed in prop::collection::vec(any::<bool>(), 12),
        ) {
            let (index, phrases) = indexed(KEYWORDS);
            let msg: Vec<String> = msg.iter().flat_map(|w| lang::words(w)).collect();
            let used: Vec<bool> = (0..msg.len()).map(|i| claimed[i % claimed.len()] && i % 3 == 0).collect();
            let hits = index.hits(&msg);
            let mut patterns = KeywordIndex::for_patterns();
            let pattern_phrases: Vec<Phrase> = KEYWORDS
                .iter()
                .map(|t| {
                    let mut p = Phrase::pattern(t);
                    patterns.add(&mut p);
                    p
                })
                .collect();
            let pattern_hits = patterns.hits(&msg);
            for p in &pattern_phrases {
                let slow = p.find(&msg, &used, MatchMode::Pattern);
                prop_assert_eq!(p.find_in(&pattern_hits, &used, MatchMode::Pattern), slow, "pattern {} in {:?}", p.text, msg);
            }
            for mode in [MatchMode::Stem, MatchMode::Keyword] {
                for p in &phrases {
                    let slow = p.find(&msg, &used, mode);
                    prop_assert_eq!(p.find_in(&hits, &used, mode), slow.clone(), "{} in {:?} ({:?})", p.text, msg, mode);
                    if slow.is_some() {
                        prop_assert!(hits.may_match(p));
                    }
                }
            }
        }
    }
}
