//! Measuring the bot: run the hub's own triage over a labelled set of customer messages and
//! count what it did with them (`shiftdesk kb eval`, and the evaluation test).
//!
//! An evaluation file has one message per line, as JSON, with `#` comment lines and blank
//! lines allowed:
//!
//! ```text
//! {"lang": "it", "expect": "move-due-date", "text": "posso spostare la rata?"}
//! {"lang": "en", "expect": "person", "text": "can I talk to a human"}
//! {"lang": "de", "expect": "sensitive", "topic": "fraud", "text": "das war ich nicht"}
//! ```
//!
//! `expect` is the id of the (non-sensitive) article the bot should answer with, `person` (the
//! customer explicitly asks for a person) or `sensitive` (a person must handle it; `topic` is
//! for the reader). Each message is triaged on its own, with its `lang` as the conversation's
//! language, exactly as the hub triages a customer's message while the bot has the
//! conversation.
//!
//! What triage did is one of three [`Outcome`]s: the bot answered with an article, the bot
//! asked a clarifying question (any bot turn that is not an article's answer: counted as not
//! answered, and not wrong), or the message went to a person.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::drafting::kb::KnowledgeBase;
use crate::lang::Lang;
use crate::triage::{Triage, TriageReason};

/// What the bot should do with a message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    /// Answer with this article.
    Article(String),
    /// Hand over: the customer asked for a person.
    Person,
    /// Hand over: a sensitive topic.
    Sensitive,
}

impl Expected {
    /// As written in the file and the report: the article id, `person` or `sensitive`.
    pub fn label(&self) -> &str {
        match self {
            Expected::Article(id) => id,
            Expected::Person => "person",
            Expected::Sensitive => "sensitive",
        }
    }
}

/// One labelled customer message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalMessage {
    pub lang: Lang,
    pub expect: Expected,
    /// For sensitive messages, the topic if given (fraud, dispute, ...).
    pub topic: Option<String>,
    pub text: String,
    /// Where it came from: `FILE:LINE`.
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    lang: String,
    expect: String,
    #[serde(default)]
    topic: Option<String>,
    text: String,
}

/// Parse an evaluation file's text; `name` is used in the error messages and sources. Every
/// problem is reported, as `name:line: what is wrong`.
pub fn parse(name: &str, content: &str) -> Result<Vec<EvalMessage>, Vec<String>> {
    let mut messages = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in content.lines().enumerate() {
        let line = raw.trim();
        let at = format!("{name}:{}", i + 1);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed: Line = match serde_json::from_str(line) {
            Ok(parsed) => parsed,
            Err(e) => {
                errors.push(format!(
                    "{at}: not a message line ({e}); expected {{\"lang\": ..., \"expect\": ..., \"text\": ...}}"
                ));
                continue;
            }
        };
        let Some(lang) = Lang::from_code(&parsed.lang) else {
            errors.push(format!(
                "{at}: not a language code: {:?}; use en, it, de, nl, sv, ru or another ISO 639 code",
                parsed.lang
            ));
            continue;
        };
        let expect = match parsed.expect.trim() {
            "" => {
                errors.push(format!(
                    "{at}: `expect` is empty: give an article id, \"person\" or \"sensitive\""
                ));
                continue;
            }
            "person" => Expected::Person,
            "sensitive" => Expected::Sensitive,
            id => Expected::Article(id.to_string()),
        };
        if parsed.text.trim().is_empty() {
            errors.push(format!("{at}: the message text is empty"));
            continue;
        }
        messages.push(EvalMessage {
            lang,
            expect,
            topic: parsed.topic,
            text: parsed.text,
            source: at,
        });
    }
    if errors.is_empty() {
        Ok(messages)
    } else {
        Err(errors)
    }
}

/// Read and parse an evaluation file.
pub fn load(path: &Path) -> Result<Vec<EvalMessage>, Vec<String>> {
    let content = std::fs::read_to_string(path)
        .map_err(|e| vec![format!("{}: cannot read: {e}", path.display())])?;
    parse(&path.display().to_string(), &content)
}

/// Check that every expected article is a routine article of `kb` in the message's language:
/// the problems, one per message.
pub fn check_labels(messages: &[EvalMessage], kb: &KnowledgeBase) -> Vec<String> {
    let mut problems = Vec::new();
    for m in messages {
        let Expected::Article(id) = &m.expect else {
            continue;
        };
        match kb.article(id) {
            None => problems.push(format!(
                "{}: no article `{id}` in the knowledge base; expect an article id, \"person\" or \"sensitive\"",
                m.source
            )),
            Some(a) if a.sensitive => problems.push(format!(
                "{}: `{id}` is a sensitive article (a person answers it): label the message \"sensitive\"",
                m.source
            )),
            Some(a) if a.variant(m.lang).is_none() => problems.push(format!(
                "{}: article `{id}` is not written in {}",
                m.source, m.lang
            )),
            Some(_) => {}
        }
    }
    problems
}

/// What triage did with a message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "article", rename_all = "snake_case")]
pub enum Outcome {
    /// The bot answered with this article.
    Answered(String),
    /// The bot asked the customer a clarifying question (not an answer, not wrong).
    Asked,
    /// A person takes the conversation.
    HandedOver,
}

impl Outcome {
    fn describe(&self) -> String {
        match self {
            Outcome::Answered(id) => id.clone(),
            Outcome::Asked => "(asked a question)".into(),
            Outcome::HandedOver => "(handed over)".into(),
        }
    }
}

/// One message and what the bot did with it.
#[derive(Debug, Clone, Serialize)]
pub struct Judged {
    pub message: EvalMessage,
    pub outcome: Outcome,
    /// Triage's reason, in one line.
    pub reason: String,
}

impl Judged {
    /// Whether the bot did what the label says.
    pub fn is_right(&self) -> bool {
        match (&self.message.expect, &self.outcome) {
            (Expected::Article(want), Outcome::Answered(got)) => want == got,
            (Expected::Person | Expected::Sensitive, Outcome::HandedOver) => true,
            _ => false,
        }
    }
}

/// Triage every message with `triage`, the message's language as the hint.
pub fn run(triage: &dyn Triage, messages: &[EvalMessage]) -> Report {
    let judged = messages
        .iter()
        .map(|m| {
            let decision = triage.triage(&m.text, Some(m.lang));
            let outcome = if decision.to_human {
                Outcome::HandedOver
            } else {
                match &decision.reason {
                    TriageReason::Answered { article, .. } => Outcome::Answered(article.clone()),
                    // Any other bot turn (a clarifying question) is not an answer.
                    _ => Outcome::Asked,
                }
            };
            Judged {
                message: m.clone(),
                outcome,
                reason: decision.reason.explain(),
            }
        })
        .collect();
    Report { judged }
}

/// Counts over a group of messages, and the rates the issue's targets are written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Messages labelled with an article.
    pub routine: usize,
    /// Routine messages the bot answered (with any article).
    pub answered: usize,
    /// ... with the right article.
    pub right: usize,
    /// ... with another article.
    pub wrong: usize,
    /// Routine messages the bot answered with a clarifying question.
    pub asked: usize,
    /// Routine messages handed over to a person.
    pub handed_over: usize,
    pub person: usize,
    pub person_handed_over: usize,
    pub sensitive: usize,
    pub sensitive_handed_over: usize,
}

fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

impl Stats {
    fn add(&mut self, j: &Judged) {
        let handed = j.outcome == Outcome::HandedOver;
        match &j.message.expect {
            Expected::Article(want) => {
                self.routine += 1;
                match &j.outcome {
                    Outcome::Answered(got) => {
                        self.answered += 1;
                        if got == want {
                            self.right += 1;
                        } else {
                            self.wrong += 1;
                        }
                    }
                    Outcome::Asked => self.asked += 1,
                    Outcome::HandedOver => self.handed_over += 1,
                }
            }
            Expected::Person => {
                self.person += 1;
                self.person_handed_over += usize::from(handed);
            }
            Expected::Sensitive => {
                self.sensitive += 1;
                self.sensitive_handed_over += usize::from(handed);
            }
        }
    }

    pub fn messages(&self) -> usize {
        self.routine + self.person + self.sensitive
    }
    /// Share of routine messages the bot answered.
    pub fn answered_share(&self) -> Option<f64> {
        share(self.answered, self.routine)
    }
    /// Share of the bot's answers (to routine messages) that were the right article.
    pub fn right_share(&self) -> Option<f64> {
        share(self.right, self.answered)
    }
    /// Wrong answers as a share of all routine messages.
    pub fn wrong_rate(&self) -> Option<f64> {
        share(self.wrong, self.routine)
    }
    /// Share of routine messages answered with a clarifying question.
    pub fn asked_share(&self) -> Option<f64> {
        share(self.asked, self.routine)
    }
    /// Share of routine messages handed over to a person.
    pub fn handover_rate(&self) -> Option<f64> {
        share(self.handed_over, self.routine)
    }
    /// Share of explicit requests for a person that were handed over.
    pub fn person_share(&self) -> Option<f64> {
        share(self.person_handed_over, self.person)
    }
    /// Share of sensitive messages that were handed over.
    pub fn sensitive_share(&self) -> Option<f64> {
        share(self.sensitive_handed_over, self.sensitive)
    }
}

/// Wrong outcomes of one kind: routine messages answered with another article, and person or
/// sensitive messages the bot kept.
#[derive(Debug, Clone, Serialize)]
pub struct Confusion {
    pub expected: String,
    pub outcome: String,
    pub count: usize,
    /// The first such message, `lang: text`.
    pub example: String,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub judged: Vec<Judged>,
}

impl Report {
    fn stats_where(&self, keep: impl Fn(&Judged) -> bool) -> Stats {
        let mut stats = Stats::default();
        for j in self.judged.iter().filter(|j| keep(j)) {
            stats.add(j);
        }
        stats
    }

    /// Over every message.
    pub fn overall(&self) -> Stats {
        self.stats_where(|_| true)
    }

    /// Per language, in the order the languages first appear.
    pub fn by_language(&self) -> Vec<(Lang, Stats)> {
        let mut langs: Vec<Lang> = Vec::new();
        for j in &self.judged {
            if !langs.contains(&j.message.lang) {
                langs.push(j.message.lang);
            }
        }
        langs
            .into_iter()
            .map(|l| (l, self.stats_where(|j| j.message.lang == l)))
            .collect()
    }

    /// Per expected article (routine), then `person`, then `sensitive` per topic (`sensitive:
    /// fraud`), sorted by label.
    pub fn by_expected(&self) -> Vec<(String, Stats)> {
        let mut groups: BTreeMap<(u8, String), Stats> = BTreeMap::new();
        for j in &self.judged {
            let key = match (&j.message.expect, &j.message.topic) {
                (Expected::Article(id), _) => (0, id.clone()),
                (Expected::Person, _) => (1, "person".to_string()),
                (Expected::Sensitive, Some(topic)) => (2, format!("sensitive: {topic}")),
                (Expected::Sensitive, None) => (2, "sensitive".to_string()),
            };
            groups.entry(key).or_default().add(j);
        }
        groups.into_iter().map(|((_, k), s)| (k, s)).collect()
    }

    /// The bot's mistakes that are not hand-overs of routine messages, grouped by (expected,
    /// outcome), most frequent first.
    pub fn confusions(&self) -> Vec<Confusion> {
        let mut groups: BTreeMap<(String, String), (usize, String)> = BTreeMap::new();
        for j in &self.judged {
            let mistake = match (&j.message.expect, &j.outcome) {
                (Expected::Article(want), Outcome::Answered(got)) => want != got,
                (Expected::Person | Expected::Sensitive, o) => *o != Outcome::HandedOver,
                _ => false,
            };
            if !mistake {
                continue;
            }
            let entry = groups
                .entry((j.message.expect.label().to_string(), j.outcome.describe()))
                .or_insert_with(|| (0, format!("{}: {}", j.message.lang, j.message.text)));
            entry.0 += 1;
        }
        let mut confusions: Vec<Confusion> = groups
            .into_iter()
            .map(|((expected, outcome), (count, example))| Confusion {
                expected,
                outcome,
                count,
                example,
            })
            .collect();
        confusions.sort_by_key(|c| std::cmp::Reverse(c.count));
        confusions
    }

    /// Messages the bot did not get right, in file order.
    pub fn misses(&self) -> impl Iterator<Item = &Judged> {
        self.judged.iter().filter(|j| !j.is_right())
    }

    /// The report as text: a table per language, one per expected article and topic, then the
    /// confusions.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let overall = self.overall();
        let _ = writeln!(
            out,
            "{} messages: {} routine, {} asking for a person, {} sensitive",
            overall.messages(),
            overall.routine,
            overall.person,
            overall.sensitive
        );
        out.push_str(
            "\nrouting: answered = bot answered (share of routine), right = share of those answers\n\
             with the right article, wrong = wrong article (share of routine), asked = clarifying\n\
             question, handover = routine sent to a person; person, sensitive = share handed over\n\n",
        );
        let header = |out: &mut String, first: &str| {
            let _ = writeln!(
                out,
                "{first:<22} {:>5} {:>9} {:>7} {:>7} {:>7} {:>9} {:>13} {:>13}",
                "n", "answered", "right", "wrong", "asked", "handover", "person", "sensitive"
            );
        };
        let row = |out: &mut String, name: &str, s: &Stats| {
            let _ = writeln!(
                out,
                "{name:<22} {:>5} {:>9} {:>7} {:>7} {:>7} {:>9} {:>13} {:>13}",
                s.messages(),
                pct(s.answered_share()),
                pct(s.right_share()),
                pct(s.wrong_rate()),
                pct(s.asked_share()),
                pct(s.handover_rate()),
                of(s.person_handed_over, s.person),
                of(s.sensitive_handed_over, s.sensitive),
            );
        };
        header(&mut out, "language");
        for (lang, stats) in self.by_language() {
            row(&mut out, lang.code(), &stats);
        }
        row(&mut out, "all", &overall);
        out.push('\n');
        header(&mut out, "expected");
        for (label, stats) in self.by_expected() {
            row(&mut out, &label, &stats);
        }
        let confusions = self.confusions();
        if confusions.is_empty() {
            out.push_str("\nconfusions: none\n");
        } else {
            out.push_str("\nconfusions (expected -> what the bot did, count, first example)\n");
            for c in &confusions {
                let _ = writeln!(
                    out,
                    "  {} -> {}  {}  e.g. {}",
                    c.expected, c.outcome, c.count, c.example
                );
            }
        }
        out
    }

    /// The same numbers for machines.
    pub fn json(&self) -> serde_json::Value {
        let stats = |s: &Stats| {
            serde_json::json!({
                "counts": s,
                "answered_share": s.answered_share(),
                "right_share": s.right_share(),
                "wrong_rate": s.wrong_rate(),
                "asked_share": s.asked_share(),
                "handover_rate": s.handover_rate(),
                "person_share": s.person_share(),
                "sensitive_share": s.sensitive_share(),
            })
        };
        let languages: serde_json::Map<String, serde_json::Value> = self
            .by_language()
            .into_iter()
            .map(|(l, s)| (l.code().to_string(), stats(&s)))
            .collect();
        let expected: serde_json::Map<String, serde_json::Value> = self
            .by_expected()
            .into_iter()
            .map(|(k, s)| (k, stats(&s)))
            .collect();
        serde_json::json!({
            "overall": stats(&self.overall()),
            "languages": languages,
            "expected": expected,
            "confusions": self.confusions(),
        })
    }
}

/// Several reports as pretty JSON, for `kb eval --json`: one object per named part, with the
/// knowledge base's name (`kb`), and every miss if `misses`.
pub fn json_text(reports: &[(String, Report)], kb: &str, misses: bool) -> String {
    let parts: Vec<serde_json::Value> = reports
        .iter()
        .map(|(name, report)| {
            let mut value = report.json();
            value["file"] = name.as_str().into();
            value["kb"] = kb.into();
            if misses {
                value["misses"] =
                    serde_json::to_value(report.misses().collect::<Vec<_>>()).unwrap_or_default();
            }
            value
        })
        .collect();
    serde_json::to_string_pretty(&parts).unwrap_or_default()
}

/// A share as a percentage, `-` for none.
fn pct(share: Option<f64>) -> String {
    share.map_or_else(|| "-".to_string(), |s| format!("{:.1}%", s * 100.0))
}

/// `k/n` handed over, or `-` if there are none.
fn of(part: usize, whole: usize) -> String {
    if whole == 0 {
        "-".to_string()
    } else {
        format!("{part}/{whole} {}", pct(share(part, whole)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::{ScriptedTriage, TriageDecision};

    fn decision(to_human: bool, reason: TriageReason) -> TriageDecision {
        TriageDecision {
            to_human,
            reason,
            language: Lang::En,
            intent: "x".into(),
            confidence: 0.5,
            bot_answer: (!to_human).then(|| "answer".to_string()),
            sources: Vec::new(),
        }
    }

    fn answered(article: &str) -> TriageDecision {
        decision(
            false,
            TriageReason::Answered {
                article: article.into(),
                confidence: 0.9,
            },
        )
    }

    fn handed_over() -> TriageDecision {
        decision(true, TriageReason::LowConfidence { confidence: 0.1 })
    }

    #[test]
    fn parse_reports_every_bad_line_with_its_number() {
        let text = "# comment\n\n\
            {\"lang\": \"en\", \"expect\": \"pay-early\", \"text\": \"pay it all now?\"}\n\
            not json\n\
            {\"lang\": \"english\", \"expect\": \"person\", \"text\": \"human\"}\n\
            {\"lang\": \"it\", \"expect\": \"\", \"text\": \"ciao\"}\n\
            {\"lang\": \"it\", \"expect\": \"person\", \"text\": \"  \"}\n\
            {\"lang\": \"ru\", \"expect\": \"sensitive\", \"topic\": \"fraud\", \"text\": \"мошенники\", \"x\": 1}\n";
        let errors = parse("f.jsonl", text).expect_err("bad lines");
        assert_eq!(errors.len(), 5, "{errors:#?}");
        assert!(errors[0].starts_with("f.jsonl:4: not a message line"));
        assert!(errors[1].starts_with("f.jsonl:5: not a language code"));
        assert!(errors[2].starts_with("f.jsonl:6: `expect` is empty"));
        assert!(errors[3].starts_with("f.jsonl:7: the message text is empty"));
        assert!(errors[4].contains("f.jsonl:8:") && errors[4].contains("unknown field"));

        let ok = parse(
            "g",
            "{\"lang\": \"de\", \"expect\": \"sensitive\", \"topic\": \"fraud\", \"text\": \"x\"}",
        )
        .expect("valid");
        assert_eq!(ok[0].lang, Lang::De);
        assert_eq!(ok[0].expect, Expected::Sensitive);
        assert_eq!(ok[0].topic.as_deref(), Some("fraud"));
        assert_eq!(ok[0].source, "g:1");
    }

    #[test]
    fn labels_must_be_routine_articles_of_the_knowledge_base() {
        let messages = parse(
            "f",
            "{\"lang\": \"en\", \"expect\": \"no-such-article\", \"text\": \"a\"}\n\
             {\"lang\": \"en\", \"expect\": \"fraud\", \"text\": \"b\"}\n\
             {\"lang\": \"en\", \"expect\": \"pay-early\", \"text\": \"c\"}\n\
             {\"lang\": \"pl\", \"expect\": \"pay-early\", \"text\": \"d\"}\n",
        )
        .expect("valid");
        let problems = check_labels(&messages, &KnowledgeBase::builtin());
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].starts_with("f:1: no article `no-such-article`"));
        assert!(problems[1].starts_with("f:2: `fraud` is a sensitive article"));
        assert!(problems[2].starts_with("f:4: article `pay-early` is not written in pl"));
    }

    #[test]
    fn counts_right_wrong_asked_and_handed_over() {
        let messages = parse(
            "f",
            "{\"lang\": \"en\", \"expect\": \"pay-early\", \"text\": \"1\"}\n\
             {\"lang\": \"en\", \"expect\": \"pay-early\", \"text\": \"2\"}\n\
             {\"lang\": \"it\", \"expect\": \"move-due-date\", \"text\": \"3\"}\n\
             {\"lang\": \"it\", \"expect\": \"move-due-date\", \"text\": \"4\"}\n\
             {\"lang\": \"it\", \"expect\": \"person\", \"text\": \"5\"}\n\
             {\"lang\": \"it\", \"expect\": \"person\", \"text\": \"6\"}\n\
             {\"lang\": \"en\", \"expect\": \"sensitive\", \"text\": \"7\"}\n",
        )
        .expect("valid");
        let triage = ScriptedTriage::default();
        triage.push(answered("pay-early"));
        triage.push(answered("payment-plans"));
        // A bot turn that is not an article's answer: a clarifying question.
        triage.push(decision(
            false,
            TriageReason::LowConfidence { confidence: 0.3 },
        ));
        triage.push(handed_over());
        triage.push(handed_over());
        triage.push(answered("pay-early"));
        triage.push(handed_over());
        let report = run(&triage, &messages);
        let all = report.overall();
        assert_eq!(
            all,
            Stats {
                routine: 4,
                answered: 2,
                right: 1,
                wrong: 1,
                asked: 1,
                handed_over: 1,
                person: 2,
                person_handed_over: 1,
                sensitive: 1,
                sensitive_handed_over: 1,
            }
        );
        assert_eq!(all.answered_share(), Some(0.5));
        assert_eq!(all.right_share(), Some(0.5));
        assert_eq!(all.wrong_rate(), Some(0.25));
        assert_eq!(all.asked_share(), Some(0.25));
        assert_eq!(all.person_share(), Some(0.5));
        let langs = report.by_language();
        assert_eq!(langs[0].0, Lang::En);
        assert_eq!(langs[0].1.right, 1);
        assert_eq!(langs[1].1.person, 2);
        let confusions = report.confusions();
        assert_eq!(confusions.len(), 2, "{confusions:#?}");
        assert!(
            confusions
                .iter()
                .any(|c| c.expected == "pay-early" && c.outcome == "payment-plans")
        );
        assert!(
            confusions.iter().any(|c| c.expected == "person"
                && c.outcome == "pay-early"
                && c.example == "it: 6")
        );
        assert_eq!(report.misses().count(), 4);
        let table = report.table();
        assert!(
            table.contains("pay-early -> payment-plans  1  e.g. en: 2"),
            "{table}"
        );
        assert_eq!(report.json()["overall"]["wrong_rate"], 0.25);
    }
}
