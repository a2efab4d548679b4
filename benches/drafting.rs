//! Drafting benchmarks (issue 6): what the hub spends per customer message on triage and on
//! the built-in drafter, the two knowledge-base searches behind every message a worker must
//! answer. The relay benchmark's messages go through exactly this.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

use shiftdesk_hub::drafting::kb::{KbDrafter, KnowledgeBase};
use shiftdesk_hub::drafting::{DraftRequest, Drafter, Speaker, Turn};
use shiftdesk_hub::triage::triage;
use shiftdesk_protocol::Lang;

/// Messages as customers write them: a clear question, a compound-word German one with a
/// typo, a Russian one, and off-topic small talk that matches nothing.
const MESSAGES: [(&str, Lang); 4] = [
    (
        "Hi, I paid twice for order 4471 and would like the second charge refunded, please.",
        Lang::En,
    ),
    (
        "Hallo, kann ich meine Ratenzahlung verschiben? Die Rückerstatung für die Retoure fehlt noch.",
        Lang::De,
    ),
    (
        "Здравствуйте, мне не пришёл возврат денег за отменённый заказ, что делать?",
        Lang::Ru,
    ),
    ("ok thanks, have a nice weekend", Lang::En),
];

fn search(c: &mut Criterion) {
    let kb = KnowledgeBase::builtin();
    let mut g = c.benchmark_group("kb_search");
    for (i, (text, lang)) in MESSAGES.iter().enumerate() {
        g.bench_function(format!("{i}_{}", lang.code()), |b| {
            b.iter(|| black_box(kb.search(black_box(text), *lang)))
        });
    }
    g.finish();
}

fn per_message(c: &mut Criterion) {
    let kb = KnowledgeBase::builtin();
    let drafter = KbDrafter::builtin();
    let history: Vec<String> = vec![
        "Hello, I have a question about my plan".into(),
        "I returned the shoes last week".into(),
    ];
    let mut transcript: Vec<Turn> = history
        .iter()
        .map(|t| Turn::new(Speaker::Customer, t.clone()))
        .collect();
    let (text, lang) = MESSAGES[0];
    transcript.push(Turn::new(Speaker::Customer, text));
    c.bench_function("triage_then_draft_en", |b| {
        b.iter(|| {
            let decision = triage(&kb, black_box(text), Some(lang));
            let draft = drafter.draft(&DraftRequest {
                text,
                language: lang,
                history: &history,
                transcript: &transcript,
                attempt: 0,
            });
            black_box((decision, draft))
        })
    });
}

criterion_group!(benches, search, per_message);
criterion_main!(benches);
