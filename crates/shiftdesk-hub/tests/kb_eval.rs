//! The bot measured on the evaluation set (assets/eval/): how customers really write, in the six
//! built-in languages, labelled with what the bot should do. The hub's own triage runs on every
//! message, as `shiftdesk kb eval` does, and the numbers are printed (run with `--nocapture`
//! to see the tables).
//!
//! The targets are the constants below, asserted on every part: `tune` (tuned on),
//! `holdout` (kept aside, only measured) and `fresh` (written before the BM25 retrieval of
//! issue 21 and never tuned on). Explicit requests for a person are not negotiable: 100% in
//! every language.

use std::path::PathBuf;
use std::sync::Arc;

use shiftdesk_hub::drafting::kb::KnowledgeBase;
use shiftdesk_hub::kb_eval::{self, Report, Stats};
use shiftdesk_hub::triage::TriagePolicy;

/// Wrong answers (bot answered with the wrong article), as a share of all routine messages.
const TARGET_MAX_WRONG: f64 = 0.02;
/// The bot answers at least this share of routine messages.
const TARGET_MIN_ANSWERED: f64 = 0.70;
/// Explicit requests for a person handed over, in every language.
const TARGET_PERSON: f64 = 1.0;
/// Sensitive topics handed over.
const TARGET_MIN_SENSITIVE: f64 = 0.98;

fn evaluate(part: &str) -> Report {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/eval")
        .join(format!("{part}.jsonl"));
    let messages = kb_eval::load(&path).unwrap_or_else(|e| panic!("{}", e.join("\n")));
    let kb = KnowledgeBase::builtin();
    let problems = kb_eval::check_labels(&messages, &kb);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let policy = TriagePolicy::new(Arc::new(kb), &Default::default());
    let report = kb_eval::run(&policy, &messages);
    println!("== assets/eval/{part}.jsonl\n{}", report.table());
    report
}

fn rate(share: Option<f64>) -> f64 {
    share.expect("the part has messages of this kind")
}

/// The targets that must hold now, for one part: person requests in every language.
fn assert_people_get_a_person(part: &str, report: &Report) {
    for (lang, stats) in report.by_language() {
        assert!(
            stats.person >= 4,
            "{part}: too few person requests in {lang}"
        );
        let missed: Vec<String> = report
            .misses()
            .filter(|j| j.message.lang == lang && j.message.expect.label() == "person")
            .map(|j| format!("{}: {} ({})", j.message.source, j.message.text, j.reason))
            .collect();
        assert_eq!(
            rate(stats.person_share()),
            TARGET_PERSON,
            "{part}, {lang}: requests for a person not handed over:\n{}",
            missed.join("\n")
        );
    }
}

/// Print the part's numbers against the targets and assert them.
fn assert_targets(part: &str, all: &Stats) {
    let wrong = rate(all.wrong_rate());
    let answered = rate(all.answered_share());
    let sensitive = rate(all.sensitive_share());
    println!(
        "{part}: wrong {:.1}% (target <= {:.0}%), answered {:.1}% (target >= {:.0}%), \
         sensitive handed over {:.1}% (target >= {:.0}%)",
        wrong * 100.0,
        TARGET_MAX_WRONG * 100.0,
        answered * 100.0,
        TARGET_MIN_ANSWERED * 100.0,
        sensitive * 100.0,
        TARGET_MIN_SENSITIVE * 100.0
    );
    assert!(
        wrong <= TARGET_MAX_WRONG + 1e-9,
        "{part}: wrong answers {wrong:.3}, more than {TARGET_MAX_WRONG}"
    );
    assert!(
        answered + 1e-9 >= TARGET_MIN_ANSWERED,
        "{part}: the bot answered {answered:.3} of routine messages, less than \
         {TARGET_MIN_ANSWERED}"
    );
    assert!(
        sensitive >= TARGET_MIN_SENSITIVE,
        "{part}: sensitive messages handed over: {sensitive:.3}"
    );
}

#[test]
fn tune_part() {
    let report = evaluate("tune");
    assert!(
        report.overall().messages() >= 180,
        "the tune part has shrunk"
    );
    assert_people_get_a_person("tune", &report);
    // 0 wrong of 150 routine messages, 92.7% answered.
    assert_targets("tune", &report.overall());
}

#[test]
fn holdout_part() {
    let report = evaluate("holdout");
    assert!(
        report.overall().messages() >= 120,
        "the holdout part has shrunk"
    );
    assert_people_get_a_person("holdout", &report);
    // 1 wrong of 102 routine messages (1.0%; 8.8% at issue 21's start), 72.5% answered.
    assert_targets("holdout", &report.overall());
}

#[test]
fn fresh_part() {
    let report = evaluate("fresh");
    assert!(
        report.overall().messages() >= 120,
        "the fresh part has shrunk"
    );
    assert_people_get_a_person("fresh", &report);
    // 0 wrong of 84 routine messages, 83.3% answered (77.4% before BM25).
    assert_targets("fresh", &report.overall());
}

#[test]
fn the_set_is_large_and_spread_over_every_language_and_article() {
    let mut all = Vec::new();
    for part in ["tune", "holdout"] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../assets/eval")
            .join(format!("{part}.jsonl"));
        all.extend(kb_eval::load(&path).unwrap_or_else(|e| panic!("{}", e.join("\n"))));
    }
    assert!(all.len() >= 300, "{} messages", all.len());
    let kb = KnowledgeBase::builtin();
    for lang in shiftdesk_hub::lang::Lang::ALL {
        let ours: Vec<_> = all.iter().filter(|m| m.lang == lang).collect();
        assert!(ours.len() >= 50, "{lang}: {} messages", ours.len());
        for article in kb.articles().iter().filter(|a| !a.sensitive) {
            assert!(
                ours.iter().any(|m| m.expect.label() == article.id),
                "{lang}: no message expects {}",
                article.id
            );
        }
    }
}
