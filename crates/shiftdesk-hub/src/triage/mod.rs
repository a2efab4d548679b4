//! Triage: does the bot answer this customer message, or does a person, and why.
//!
//! This is where design principle 4 ("a human whenever the customer asks") is enforced. The
//! rules run in a fixed order, and the first that applies decides:
//!
//! 0. the customer may harm themselves ([`SensitiveTopic::Crisis`]) → a person, ahead of everyone;
//! 1. the customer asks for a person, in any of our six languages (all phrase lists are checked,
//!    whatever language was detected, because customers mix languages) → a person;
//! 2. the message touches a sensitive topic (fraud, a dispute with a merchant, financial hardship,
//!    a complaint, a bereavement), by our own phrase lists or because the best knowledge-base
//!    match is a sensitive article → a person, even though the knowledge base has an article;
//! 3. the message is written in a language the hub does not serve ([`lang::unserved`]) → a
//!    person: the bot's articles would match only look-alike words;
//! 4. the knowledge base is not sure enough (best score below [`LOW_CONFIDENCE`]) → a person;
//! 5. the best article does not beat the runner-up by [`CLARIFY_MARGIN`] → the bot asks one
//!    short question naming the two articles' topics ([`TriageReason::Clarify`]), and the
//!    customer's answer is triaged again, read together with the question it answers (a
//!    runner-up that close which is a sensitive article → a person instead; the dispatch core
//!    never asks two clarifying questions in a row: the second goes to a person);
//! 6. otherwise the bot answers with the best article, in the customer's language.
//!
//! The phrase lists are code, not knowledge-base data, so that swapping in a deployment's own
//! articles can never switch these safety rules off. Every decision carries a
//! [`TriageReason`] that a worker can read in one line ([`TriageReason::explain`]).

use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};

use crate::drafting::kb::KnowledgeBase;
use crate::drafting::keywords::{Hits, KeywordIndex, MatchMode, Phrase};
use crate::lang::{self, Lang, Token};
use crate::rules::OperatorRules;

/// Below this knowledge-base score the bot does not answer on its own.
pub const LOW_CONFIDENCE: f32 = 0.45;

/// The best article must beat the runner-up by at least this much (difference of scores, 0..1)
/// for the bot to answer with it; closer than that, the bot asks which of the two is meant.
///
/// How it was chosen: on the tune part of `assets/eval/` with `shiftdesk kb eval` (keywords
/// weighed by specificity): 0.10 gave 2.0% wrong answers and 73.3% answered, 0.07 2.0% and
/// 74.7%, 0.05 2.7% and 75.3%. The wrong answers this removes are the close calls between an
/// instalment phrase of the payment-plans article and the verb of the due-date article
/// ("posso rimandare la prossima rata?"). A lead of a whole extra keyword or an example
/// question still answers at once.
pub const CLARIFY_MARGIN: f32 = 0.07;

/// Topics a person always handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensitiveTopic {
    /// The customer may harm themselves: a person, ahead of everyone, and a line telling the
    /// customer where to get help at once.
    Crisis,
    Fraud,
    Dispute,
    Hardship,
    Complaint,
    Bereavement,
}

impl SensitiveTopic {
    pub const ALL: [SensitiveTopic; 6] = [
        SensitiveTopic::Crisis,
        SensitiveTopic::Fraud,
        SensitiveTopic::Dispute,
        SensitiveTopic::Hardship,
        SensitiveTopic::Complaint,
        SensitiveTopic::Bereavement,
    ];

    /// Short English label for workers.
    pub fn label(self) -> &'static str {
        match self {
            SensitiveTopic::Crisis => "customer may be at risk of harming themselves",
            SensitiveTopic::Fraud => "suspected fraud",
            SensitiveTopic::Dispute => "dispute with a merchant",
            SensitiveTopic::Hardship => "financial hardship",
            SensitiveTopic::Complaint => "complaint",
            SensitiveTopic::Bereavement => "bereavement",
        }
    }

    /// The knowledge-base intent of the topic's article (`"fraud"`, `"dispute"`, ...).
    pub fn intent(self) -> &'static str {
        match self {
            SensitiveTopic::Crisis => "crisis",
            SensitiveTopic::Fraud => "fraud",
            SensitiveTopic::Dispute => "dispute",
            SensitiveTopic::Hardship => "hardship",
            SensitiveTopic::Complaint => "complaint",
            SensitiveTopic::Bereavement => "bereavement",
        }
    }

    /// The topic of a sensitive article's intent. A deployment's own sensitive intents that we
    /// do not know are reported as complaints, the most general topic: they still go to a person.
    fn from_intent(intent: &str) -> SensitiveTopic {
        SensitiveTopic::ALL
            .into_iter()
            .find(|t| t.intent() == intent)
            .unwrap_or(SensitiveTopic::Complaint)
    }
}

/// Why triage decided what it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TriageReason {
    /// The customer asked for a person; `phrase` is what they wrote.
    AskedForPerson { phrase: String },
    /// A sensitive topic; `phrase` is what the customer wrote that shows it.
    Sensitive {
        topic: SensitiveTopic,
        phrase: String,
    },
    /// A sensitive topic of the operator's own (from the config's `[rules]`).
    OperatorTopic { topic: String, phrase: String },
    /// The bot is not sure what the customer needs.
    LowConfidence { confidence: f32 },
    /// The bot answered with this article.
    Answered { article: String, confidence: f32 },
    /// Two articles fit about equally well (within [`CLARIFY_MARGIN`]): the bot asked the
    /// customer which of the two they mean. A bot turn: the conversation stays with the bot.
    Clarify { first: String, second: String },
    /// The message only says hello ("hi", "guten Morgen"): the bot asks what the customer needs
    /// instead of queueing them for a person. A bot turn; a second greeting alone goes to a
    /// person.
    Greeted,
    /// The message only thanks the bot ("thanks!", "grazie"): it says it was glad to help and
    /// asks if there is anything else, instead of queueing the customer for a person. A bot
    /// turn.
    Thanked,
    /// The bot would have answered with an article it already sent in this conversation: the
    /// customer is still asking, so the article did not help, and a person takes over instead
    /// of the bot saying it again.
    AskedAgain { article: String },
    /// The message is written in a language the hub does not serve (`language`: its English
    /// name). The bot reads only the served languages: an article it matched would be a match
    /// of look-alike words, so a person reads the message.
    Unserved { language: String },
}

impl TriageReason {
    /// One short English line for the worker's screen and the export.
    pub fn explain(&self) -> String {
        match self {
            TriageReason::AskedForPerson { phrase } => {
                format!("customer asked for a person (\"{phrase}\")")
            }
            TriageReason::Sensitive { topic, phrase } if phrase.is_empty() => {
                format!("sensitive: {}", topic.label())
            }
            TriageReason::Sensitive { topic, phrase } => {
                format!("sensitive: {} (\"{phrase}\")", topic.label())
            }
            TriageReason::OperatorTopic { topic, phrase } => {
                format!(
                    "sensitive: {} (operator rule; \"{phrase}\")",
                    topic.replace('_', " ")
                )
            }
            TriageReason::LowConfidence { confidence } => {
                format!("bot unsure (confidence {confidence:.2})")
            }
            TriageReason::Answered {
                article,
                confidence,
            } => format!("bot answered with {article} (confidence {confidence:.2})"),
            TriageReason::Clarify { first, second } => {
                format!("bot asked a clarifying question: {first} or {second}")
            }
            TriageReason::Greeted => "the customer said hello; the bot asked what they need".into(),
            TriageReason::Thanked => {
                "the customer said thank you; the bot asked if there is more".into()
            }
            TriageReason::AskedAgain { article } => {
                format!("the bot already answered with {article}; the customer asked again")
            }
            TriageReason::Unserved { language } => {
                format!("written in {language}, which the bot does not read")
            }
        }
    }
}

/// The outcome of triage for one customer message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageDecision {
    pub to_human: bool,
    pub reason: TriageReason,
    /// The customer's language, detected from the message (with the conversation's language as
    /// the hint).
    pub language: Lang,
    /// What the customer wants: a knowledge-base intent, a sensitive topic's intent,
    /// `"human_request"` or `"unknown"`.
    pub intent: String,
    /// The best knowledge-base score, 0..1.
    pub confidence: f32,
    /// Some only when `!to_human`: what the bot says, in the customer's language: the
    /// knowledge-base answer, or the clarifying question ([`TriageReason::Clarify`]).
    pub bot_answer: Option<String>,
    /// Knowledge-base articles behind the decision.
    pub sources: Vec<String>,
}

impl TriageDecision {
    /// The same decision, handed to a person for `reason` instead: the bot says nothing.
    pub fn to_person(self, reason: TriageReason) -> TriageDecision {
        TriageDecision {
            to_human: true,
            reason,
            bot_answer: None,
            ..self
        }
    }

    /// The same decision, handed to a person as "bot unsure" at its confidence.
    pub fn unsure(self) -> TriageDecision {
        let confidence = self.confidence;
        self.to_person(TriageReason::LowConfidence { confidence })
    }
}

/// The triage policy the dispatch core calls for each customer message while the bot has the
/// conversation. Pure: the same text and hint give the same decision (the hub's is the
/// knowledge base; tests may script decisions).
pub trait Triage: Send + Sync + std::fmt::Debug {
    fn triage(&self, text: &str, hint: Option<Lang>) -> TriageDecision;

    /// Triage the customer's answer to the clarifying question `asked`. By default the answer
    /// is read alone.
    fn triage_answer(
        &self,
        text: &str,
        asked: &Clarifying<'_>,
        hint: Option<Lang>,
    ) -> TriageDecision {
        let _ = asked;
        self.triage(text, hint)
    }
}

/// A clarifying question the bot asked: the customer message it was about, and the two
/// articles it named.
#[derive(Debug, Clone, Copy)]
pub struct Clarifying<'a> {
    pub message: &'a str,
    pub first: &'a str,
    pub second: &'a str,
}

impl Triage for KnowledgeBase {
    fn triage(&self, text: &str, hint: Option<Lang>) -> TriageDecision {
        triage(self, text, hint)
    }

    fn triage_answer(
        &self,
        text: &str,
        asked: &Clarifying<'_>,
        hint: Option<Lang>,
    ) -> TriageDecision {
        decide_answer(self, &PATTERNS, text, asked, hint)
    }
}

/// The hub's triage: a knowledge base plus the built-in rules and the operator's own
/// ([`OperatorRules`]), which can only add to the built-in ones.
#[derive(Debug)]
pub struct TriagePolicy {
    kb: Arc<KnowledgeBase>,
    patterns: Patterns,
}

impl TriagePolicy {
    pub fn new(kb: Arc<KnowledgeBase>, rules: &OperatorRules) -> TriagePolicy {
        TriagePolicy {
            kb,
            patterns: Patterns::new(rules),
        }
    }

    pub fn knowledge_base(&self) -> &Arc<KnowledgeBase> {
        &self.kb
    }
}

impl Triage for TriagePolicy {
    fn triage(&self, text: &str, hint: Option<Lang>) -> TriageDecision {
        decide(&self.kb, &self.patterns, text, hint)
    }

    fn triage_answer(
        &self,
        text: &str,
        asked: &Clarifying<'_>,
        hint: Option<Lang>,
    ) -> TriageDecision {
        decide_answer(&self.kb, &self.patterns, text, asked, hint)
    }
}

/// Decisions given in advance, taken in order: for tests and simulations that need a route
/// whatever the wording. With none left a message goes to a person in the conversation's
/// language (low confidence), as the knowledge base does when it cannot tell.
#[derive(Debug, Default)]
pub struct ScriptedTriage {
    next: std::sync::Mutex<std::collections::VecDeque<TriageDecision>>,
}

impl ScriptedTriage {
    /// The decision for the next message triaged.
    pub fn push(&self, decision: TriageDecision) {
        if let Ok(mut next) = self.next.lock() {
            next.push_back(decision);
        }
    }
}

impl Triage for ScriptedTriage {
    fn triage(&self, _text: &str, hint: Option<Lang>) -> TriageDecision {
        let scripted = self.next.lock().ok().and_then(|mut next| next.pop_front());
        scripted.unwrap_or_else(|| TriageDecision {
            to_human: true,
            reason: TriageReason::LowConfidence { confidence: 0.0 },
            language: hint.unwrap_or(Lang::En),
            intent: "unknown".into(),
            confidence: 0.0,
            bot_answer: None,
            sources: Vec::new(),
        })
    }
}

/// Decide who answers `text` with the built-in rules. `hint` is the conversation's language so
/// far, if known.
pub fn triage(kb: &KnowledgeBase, text: &str, hint: Option<Lang>) -> TriageDecision {
    decide(kb, &PATTERNS, text, hint)
}

/// Triage the answer to a clarifying question. Alone first: a person, a sensitive topic or a
/// clear article decide at once. When it is not clear alone, the answer picks one of the two
/// articles the question named if it has more evidence for one (the article's keywords, or a
/// word of its title as the customer saw it: "the due date one"); failing that, it is read
/// after the message the question was about, and that is taken if it is clear.
fn decide_answer(
    kb: &KnowledgeBase,
    patterns: &Patterns,
    text: &str,
    asked: &Clarifying<'_>,
    hint: Option<Lang>,
) -> TriageDecision {
    let alone = decide(kb, patterns, text, hint);
    // "thanks" or "hi" does not answer the question: a person takes over, as after a second
    // unclear answer.
    if matches!(alone.reason, TriageReason::Greeted | TriageReason::Thanked) {
        return alone.unsure();
    }
    let unclear = matches!(
        alone.reason,
        TriageReason::Clarify { .. } | TriageReason::LowConfidence { .. }
    );
    if !unclear {
        return alone;
    }
    let together_text = format!("{}\n{text}", asked.message);
    if let Some(id) = chosen(kb, text, alone.language, asked) {
        let confidence = kb
            .search(&together_text, alone.language)
            .iter()
            .find(|m| m.article_id == id)
            .map_or(LOW_CONFIDENCE, |m| m.score.max(LOW_CONFIDENCE));
        if let Some(decision) = answered(kb, id, alone.language, confidence) {
            return decision;
        }
    }
    let together = decide(kb, patterns, &together_text, hint);
    match together.reason {
        TriageReason::Answered { .. } => together,
        _ => alone,
    }
}

/// Which of the two articles of a clarifying question `text` names: the one more words of
/// whose title (four letters or more, with the knowledge base's stem and typo matching) are in
/// `text`; with as many of each, the one whose knowledge-base score leads by
/// [`CLARIFY_MARGIN`] (a customer who just repeats the question names neither); failing both,
/// a short answer that says "the first" or "the second" ([`ORDINALS`]).
fn chosen<'a>(
    kb: &KnowledgeBase,
    text: &str,
    lang: Lang,
    asked: &Clarifying<'a>,
) -> Option<&'a str> {
    let words = lang::words(text);
    let unused = vec![false; words.len()];
    let matches = kb.search(text, lang);
    let score = |id: &str| {
        matches
            .iter()
            .find(|m| m.article_id == id)
            .map_or(0.0, |m| m.score)
    };
    let named = |id: &str| {
        let title = kb
            .article(id)
            .and_then(|a| a.title(lang).or_else(|| a.title(Lang::En)))
            .unwrap_or_default();
        let mut index = KeywordIndex::for_keywords();
        let mut title_words: Vec<Phrase> = lang::words(title)
            .iter()
            .filter(|w| w.chars().count() >= 4)
            .map(|w| Phrase::keyword(w))
            .collect();
        for phrase in &mut title_words {
            index.add(phrase);
        }
        let hits = index.hits(&words);
        title_words
            .iter()
            .filter(|p| p.find_in(&hits, &unused, MatchMode::Keyword).is_some())
            .count()
    };
    let lead = score(asked.first) - score(asked.second);
    match named(asked.first).cmp(&named(asked.second)) {
        std::cmp::Ordering::Greater => Some(asked.first),
        std::cmp::Ordering::Less => Some(asked.second),
        std::cmp::Ordering::Equal if lead >= CLARIFY_MARGIN => Some(asked.first),
        std::cmp::Ordering::Equal if -lead >= CLARIFY_MARGIN => Some(asked.second),
        std::cmp::Ordering::Equal => {
            // Only a short answer: in a sentence these words mean other things ("prima della
            // scadenza", "andra frågor").
            if words.len() > MAX_ORDINAL_ANSWER_WORDS {
                return None;
            }
            let says = |list: &[&str]| {
                words
                    .iter()
                    .any(|w| list.iter().any(|o| lang::normalize(o) == *w))
            };
            match (says(&ORDINALS.0), says(&ORDINALS.1)) {
                (true, false) => Some(asked.first),
                (false, true) => Some(asked.second),
                _ => None,
            }
        }
    }
}

/// Answers longer than this are not read for "the first" or "the second".
const MAX_ORDINAL_ANSWER_WORDS: usize = 4;

/// How customers say "the first" and "the second" one, in the six built-in languages.
const ORDINALS: ([&str; 18], [&str; 18]) = (
    [
        "first",
        "former",
        "1",
        "1st",
        "prima",
        "primo",
        "erste",
        "ersten",
        "erstes",
        "erster",
        "eerste",
        "första",
        "forsta",
        "первое",
        "первый",
        "первая",
        "первую",
        "первом",
    ],
    [
        "second",
        "latter",
        "2",
        "2nd",
        "seconda",
        "secondo",
        "zweite",
        "zweiten",
        "zweites",
        "zweiter",
        "tweede",
        "andra",
        "второе",
        "второй",
        "вторая",
        "вторую",
        "втором",
        "2:a",
    ],
);

/// The bot's answer with article `id` in `language`, if the article is written in it.
fn answered(
    kb: &KnowledgeBase,
    id: &str,
    language: Lang,
    confidence: f32,
) -> Option<TriageDecision> {
    let article = kb.article(id)?;
    let answer = article.answer(language)?;
    Some(TriageDecision {
        to_human: false,
        reason: TriageReason::Answered {
            article: article.id.clone(),
            confidence,
        },
        language,
        intent: article.intent.clone(),
        confidence,
        bot_answer: Some(answer.to_string()),
        sources: vec![article.id.clone()],
    })
}

/// The question asking which of two articles the customer means, naming each by its title in
/// the customer's language (the English title, then the id, when it has none).
pub fn clarifying_question(kb: &KnowledgeBase, lang: Lang, first: &str, second: &str) -> String {
    let title = |id: &str| {
        kb.article(id)
            .and_then(|a| a.title(lang).or_else(|| a.title(Lang::En)))
            .unwrap_or(id)
            .to_string()
    };
    crate::notices::which_one(lang, &title(first), &title(second))
}

fn decide(
    kb: &KnowledgeBase,
    patterns: &Patterns,
    text: &str,
    hint: Option<Lang>,
) -> TriageDecision {
    let (language, unserved) = lang::read_language(text, hint);
    let tokens = lang::tokens(text);
    let hits = patterns
        .index
        .hits(&tokens.iter().map(|t| t.norm.clone()).collect::<Vec<_>>());
    // "I can't pay" is hardship unless the message says the payment failed: then neither our
    // lists nor the hardship article make it a reason to hand over.
    let cannot_pay = find_any(&patterns.cannot_pay, &hits, &tokens);
    let failed = cannot_pay.is_some() && find_any(&patterns.technical, &hits, &tokens).is_some();
    let mut matches = kb.search(&without_courtesies(text), language);
    if failed {
        let hardship = SensitiveTopic::Hardship.intent();
        matches.retain(|m| !(m.sensitive && m.intent == hardship));
    }
    let best = matches.first();
    let confidence = best.map_or(0.0, |m| m.score);
    let confident = best.filter(|m| m.score >= LOW_CONFIDENCE);
    let human = |reason, intent: String, sources| TriageDecision {
        to_human: true,
        reason,
        language,
        intent,
        confidence,
        bot_answer: None,
        sources,
    };

    // 0. A customer who may harm themselves: a person, ahead of everyone, before anything else.
    if let Some(phrase) = patterns
        .sensitive
        .iter()
        .filter(|(topic, _)| *topic == SensitiveTopic::Crisis)
        .find_map(|(_, list)| find_any(list, &hits, &tokens))
    {
        let topic = SensitiveTopic::Crisis;
        return human(
            TriageReason::Sensitive { topic, phrase },
            topic.intent().to_string(),
            Vec::new(),
        );
    }

    // 1. A person, whenever asked.
    if let Some(phrase) = find_any(&patterns.person, &hits, &tokens) {
        let (intent, sources) = match confident {
            Some(m) => (m.intent.clone(), vec![m.article_id.clone()]),
            None => ("human_request".to_string(), Vec::new()),
        };
        return human(TriageReason::AskedForPerson { phrase }, intent, sources);
    }

    // 2. Sensitive topics, by our own lists first, then by the knowledge base.
    let sensitive = patterns
        .sensitive
        .iter()
        .find_map(|(topic, list)| find_any(list, &hits, &tokens).map(|p| (*topic, p)))
        .or_else(|| {
            cannot_pay
                .filter(|_| !failed)
                .map(|p| (SensitiveTopic::Hardship, p))
        })
        .or_else(|| {
            confident.filter(|m| m.sensitive).map(|m| {
                let phrase = m.matched.first().cloned().unwrap_or_default();
                (SensitiveTopic::from_intent(&m.intent), phrase)
            })
        });
    let operator = patterns
        .operator
        .iter()
        .find_map(|(topic, list)| find_any(list, &hits, &tokens).map(|p| (topic, p)));
    if let (None, Some((topic, phrase))) = (&sensitive, operator) {
        return human(
            TriageReason::OperatorTopic {
                topic: topic.clone(),
                phrase,
            },
            topic.clone(),
            Vec::new(),
        );
    }
    if let Some((topic, phrase)) = sensitive {
        let sources = matches
            .iter()
            .filter(|m| m.intent == topic.intent())
            .map(|m| m.article_id.clone())
            .take(1)
            .collect();
        return human(
            TriageReason::Sensitive { topic, phrase },
            topic.intent().to_string(),
            sources,
        );
    }

    // 3. A language the bot does not read: its articles matched only look-alike words.
    if let Some(name) = unserved {
        return human(
            TriageReason::Unserved {
                language: name.to_string(),
            },
            "unknown".to_string(),
            Vec::new(),
        );
    }

    // 4. Not sure: a person will read it, unless the customer only said hello. Then the bot
    //    asks what they need: a person would only ask the same.
    let Some(best) = confident else {
        let pleasantry = if only_greets(&tokens) {
            Some((TriageReason::Greeted, crate::notices::what_about(language)))
        } else if only_thanks(&tokens) {
            Some((
                TriageReason::Thanked,
                crate::notices::anything_else(language),
            ))
        } else {
            None
        };
        if let Some((reason, answer)) = pleasantry {
            return TriageDecision {
                to_human: false,
                reason,
                language,
                intent: "unknown".to_string(),
                confidence,
                bot_answer: Some(answer),
                sources: Vec::new(),
            };
        }
        return human(
            TriageReason::LowConfidence { confidence },
            "unknown".to_string(),
            Vec::new(),
        );
    };
    // 5. Two articles fit about as well: ask which one the customer means, rather than answer
    //    with what may be the wrong one. A sensitive article that close goes to a person.
    if let Some(second) = matches
        .iter()
        .skip(1)
        .find(|m| m.article_id != best.article_id)
        .filter(|m| best.score - m.score < CLARIFY_MARGIN)
    {
        if second.sensitive {
            let topic = SensitiveTopic::from_intent(&second.intent);
            let phrase = second.matched.first().cloned().unwrap_or_default();
            return human(
                TriageReason::Sensitive { topic, phrase },
                topic.intent().to_string(),
                vec![second.article_id.clone()],
            );
        }
        let (first, second) = (best.article_id.clone(), second.article_id.clone());
        return TriageDecision {
            to_human: false,
            bot_answer: Some(clarifying_question(kb, language, &first, &second)),
            sources: vec![first.clone(), second.clone()],
            reason: TriageReason::Clarify { first, second },
            language,
            intent: "unknown".to_string(),
            confidence,
        };
    }

    // 6. The bot answers. (Search only returns articles of this knowledge base written in this
    //    language; be safe anyway.)
    answered(kb, &best.article_id, language, confidence).unwrap_or_else(|| {
        human(
            TriageReason::LowConfidence { confidence },
            "unknown".to_string(),
            Vec::new(),
        )
    })
}

/// Words of greeting in the six built-in languages: a message of these alone says hello and
/// nothing else. The first list says hello by itself; the second only goes with it ("good
/// morning", "hi there", "guten Tag"). Every list is checked whatever the language.
#[rustfmt::skip]
const GREETINGS: (&[&str], &[&str]) = (
    &[
        "hi", "hello", "hey", "hiya", "heya", "howdy", "morning", "afternoon", "evening", "ciao",
        "salve", "buongiorno", "buonasera", "buon", "hallo", "moin", "servus", "guten", "morgen",
        "abend", "hoi", "goedemorgen", "goedemiddag", "goedenavond", "goeiedag", "goedendag",
        "hej", "hejsan", "hallå", "tjena", "morgon", "kväll", "goddag", "привет", "здравствуйте",
        "здравствуй", "здрасте", "приветствую", "добрый", "доброе", "утро", "вечер",
    ],
    &[
        "good", "day", "there", "again", "all", "everyone", "anyone", "anybody", "team", "folks",
        "greetings", "pomeriggio", "ehi", "a", "tutti", "tag", "grüß", "gott", "zusammen", "leute",
        "dag", "daar", "allemaal", "god", "alla", "день", "алло", "всем",
    ],
);

/// A word with each run of one letter cut to one ("hellooo" and "hello" are "helo", "heyyy"
/// is "hey"), so that a drawn-out greeting is still one.
fn squeezed(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

/// A kind of message that says one polite thing and nothing else: some words say it alone,
/// others only go with them.
struct Pleasantry {
    alone: Vec<String>,
    with: Vec<String>,
    max_words: usize,
    /// Compare words [`squeezed`] ("hellooo").
    squeeze: bool,
}

impl Pleasantry {
    fn new(lists: (&[&str], &[&str]), max_words: usize, squeeze: bool) -> Pleasantry {
        let form = |w: &str| {
            let w = lang::normalize(w);
            if squeeze { squeezed(&w) } else { w }
        };
        Pleasantry {
            alone: lists.0.iter().map(|w| form(w)).collect(),
            with: lists.1.iter().map(|w| form(w)).collect(),
            max_words,
            squeeze,
        }
    }

    /// One to `max_words` words, all of them from the two lists and one from the first.
    fn is_all_of(&self, tokens: &[Token]) -> bool {
        let words: Vec<String> = tokens
            .iter()
            .map(|t| {
                if self.squeeze {
                    squeezed(&t.norm)
                } else {
                    t.norm.clone()
                }
            })
            .collect();
        (1..=self.max_words).contains(&words.len())
            && words.iter().any(|w| self.alone.contains(w))
            && words
                .iter()
                .all(|w| self.alone.contains(w) || self.with.contains(w))
    }
}

static GREETING: LazyLock<Pleasantry> = LazyLock::new(|| Pleasantry::new(GREETINGS, 4, true));

/// A message of one to four words, all of them greetings and one saying hello by itself ("hi
/// there", "Guten Morgen!", "добрый вечер", "heyyy").
fn only_greets(tokens: &[Token]) -> bool {
    GREETING.is_all_of(tokens)
}

/// Polite formulas that say nothing about what the customer needs but share words with an
/// article: "in advance" is paying early in every language ("grazie in anticipo", "спасибо
/// заранее"). Left out of the knowledge-base search.
#[rustfmt::skip]
const COURTESIES: &[&str] = &[
    "thanks in advance", "thank you in advance", "grazie in anticipo", "ringrazio in anticipo",
    "grazie mille in anticipo", "danke vorab", "danke im voraus", "vielen dank im voraus",
    "vielen dank vorab", "bij voorbaat dank", "alvast bedankt", "tack i forvag",
    "tack pa forhand", "спасибо заранее", "заранее спасибо", "заранее благодарю",
    "благодарю заранее",
];

static COURTESY_PHRASES: LazyLock<Vec<String>> = LazyLock::new(|| {
    COURTESIES
        .iter()
        .map(|c| format!(" {} ", lang::normalize(c)))
        .collect()
});

/// `text` as [`lang::normalize`] writes it, less the [`COURTESIES`] in it.
fn without_courtesies(text: &str) -> String {
    let mut padded = format!(
        " {} ",
        lang::normalize(text)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    );
    for phrase in COURTESY_PHRASES.iter() {
        while let Some(at) = padded.find(phrase.as_str()) {
            padded.replace_range(at..at + phrase.len(), " ");
        }
    }
    padded
}

/// Words of thanks in the six built-in languages, and the words that go with them ("thanks a
/// lot", "ok, danke schön", "большое спасибо"); a message of these alone only thanks.
#[rustfmt::skip]
const THANKS: (&[&str], &[&str]) = (
    &[
        "thanks", "thank", "thx", "ty", "cheers", "grazie", "danke", "dankeschön", "bedankt",
        "dank", "tack", "tackar", "dankjewel", "dankuwel", "спасибо", "спс", "благодарю",
    ],
    &[
        "you", "so", "much", "a", "lot", "very", "many", "ok", "okay", "great", "perfect",
        "that", "helps", "helped", "mille", "tante", "molte", "schön", "sehr", "vielen", "je",
        "wel", "u", "hartelijk", "så", "mycket", "stort", "большое", "огромное", "вам", "ок",
        "all", "again", "mate", "bye", "gentilissimi", "gentilissimo", "gentilissima", "hat",
        "geklappt", "top", "tusen", "!",
    ],
);

static THANKING: LazyLock<Pleasantry> = LazyLock::new(|| Pleasantry::new(THANKS, 6, false));

/// A message of one to six words that only says thank you ("thanks a lot!", "ok grazie mille").
fn only_thanks(tokens: &[Token]) -> bool {
    THANKING.is_all_of(tokens)
}

/// Handoff notice for the customer in their language: "A person will be with you shortly. You
/// are number {n} in the queue." `position` is 1-based; 0 is shown as 1.
pub fn handoff_notice(lang: Lang, position: usize) -> String {
    let n = position.max(1);
    match lang {
        Lang::En => format!("A person will be with you shortly. You are number {n} in the queue."),
        Lang::It => format!("Una persona ti risponderà a breve. Sei il numero {n} in coda."),
        Lang::De => {
            format!("Gleich ist eine Person für dich da. Du bist Nummer {n} in der Warteschlange.")
        }
        Lang::Nl => format!("Er komt zo iemand bij je. Je bent nummer {n} in de wachtrij."),
        Lang::Sv => format!("En person är snart hos dig. Du är nummer {n} i kön."),
        Lang::Ru => {
            format!("Скоро к вам подключится сотрудник. Ваш номер в очереди: {n}.")
        }
        _ => match crate::languages::get(lang) {
            Some(l) => l.handoff.replace("{position}", &n.to_string()),
            None => handoff_notice(Lang::En, n),
        },
    }
}

/// A pattern found in the message (the longest), quoted as the customer wrote it (from the
/// first to the last matched word).
fn find_any(patterns: &[Phrase], hits: &Hits, tokens: &[Token]) -> Option<String> {
    let unused = vec![false; tokens.len()];
    // The longest of the phrases found: it says the most ("passami il responsabile", an
    // operator's phrase, rather than the built-in "responsabile" inside it); the first of
    // those as long.
    let (first, last) = patterns
        .iter()
        .filter_map(|p| {
            let found = hits.find(p, &unused, MatchMode::Pattern)?;
            Some((*found.positions.first()?, *found.positions.last()?))
        })
        // The first of the longest: `min_by_key` keeps the first of equals.
        .min_by_key(|&(first, last)| std::cmp::Reverse(last - first))?;
    Some(lang::quote(tokens, first, last))
}

/// The triage patterns, indexed so that a message's words are looked up once rather than
/// tried against every pattern.
#[derive(Debug)]
struct Patterns {
    index: KeywordIndex,
    person: Vec<Phrase>,
    sensitive: Vec<(SensitiveTopic, Vec<Phrase>)>,
    /// The operator's own sensitive topics, by name.
    operator: Vec<(String, Vec<Phrase>)>,
    /// "I can't pay": hardship unless `technical` says a payment failed.
    cannot_pay: Vec<Phrase>,
    technical: Vec<Phrase>,
}

impl Patterns {
    /// The built-in patterns plus the operator's.
    fn new(rules: &OperatorRules) -> Patterns {
        let mut index = KeywordIndex::for_patterns();
        let mut person = PERSON_PATTERNS.clone();
        let mut sensitive = SENSITIVE_PATTERNS.clone();
        let mut operator: Vec<(String, Vec<Phrase>)> = Vec::new();
        person.extend(rules.person_phrases().map(Phrase::pattern));
        let registry = crate::languages::registry();
        let loaded = registry.loaded().flat_map(|l| {
            l.sensitive
                .iter()
                .flat_map(|(topic, list)| list.iter().map(move |p| (*topic, *p)))
        });
        person.extend(
            registry
                .loaded()
                .flat_map(|l| l.person.iter().map(|p| Phrase::pattern(p))),
        );
        for (topic, phrase) in rules.sensitive_phrases().chain(loaded) {
            let phrase = Phrase::pattern(phrase);
            if let Some((_, list)) = sensitive.iter_mut().find(|(t, _)| t.intent() == topic) {
                list.push(phrase);
            } else if let Some((_, list)) = operator.iter_mut().find(|(t, _)| t == topic) {
                list.push(phrase);
            } else {
                operator.push((topic.to_string(), vec![phrase]));
            }
        }
        let mut cannot_pay = CANNOT_PAY_PATTERNS.clone();
        let mut technical = TECHNICAL_PATTERNS.clone();
        for phrase in person
            .iter_mut()
            .chain(cannot_pay.iter_mut())
            .chain(technical.iter_mut())
            .chain(sensitive.iter_mut().flat_map(|(_, list)| list.iter_mut()))
            .chain(operator.iter_mut().flat_map(|(_, list)| list.iter_mut()))
        {
            index.add(phrase);
        }
        Patterns {
            index,
            person,
            sensitive,
            operator,
            cannot_pay,
            technical,
        }
    }
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| Patterns::new(&OperatorRules::default()));

mod phrases;
use phrases::{CANNOT_PAY_PATTERNS, PERSON_PATTERNS, SENSITIVE_PATTERNS, TECHNICAL_PATTERNS};

#[cfg(test)]
mod tests;
