//! Triage and drafting in every supported language: the promise "a human whenever the customer
//! asks, sensitive topics always go to a person" must hold in all six, not only in English.
//!
//! Each language has the same table of cases, written the way customers write: person requests,
//! the five sensitive topics, two routine questions the bot may answer, off-topic text and a
//! routine question that also asks for a person.

use std::sync::Arc;

use shiftdesk_hub::drafting::kb::{KbDrafter, KnowledgeBase};
use shiftdesk_hub::drafting::{DraftRequest, Drafter};
use shiftdesk_hub::lang::{Lang, detect};
use shiftdesk_hub::triage::{SensitiveTopic, TriageDecision, TriageReason, triage};

struct Cases {
    lang: Lang,
    person: [&'static str; 2],
    sensitive: [(SensitiveTopic, &'static str); 5],
    /// (message, article id the bot must answer with)
    routine: [(&'static str, &'static str); 2],
    off_topic: &'static str,
    gibberish: &'static str,
    mixed: &'static str,
}

use SensitiveTopic::{Bereavement, Complaint, Dispute, Fraud, Hardship};

const CASES: [Cases; 6] = [
    Cases {
        lang: Lang::En,
        person: [
            "Can I talk to a human please?",
            "I want a real person, not a bot",
        ],
        sensitive: [
            (Fraud, "There's a charge on my account I don't recognise"),
            (
                Dispute,
                "My order never arrived and the shop won't answer me",
            ),
            (Hardship, "I lost my job and I can't afford my payments"),
            (
                Complaint,
                "I want to make a formal complaint about your service",
            ),
            (
                Bereavement,
                "My father passed away last week, he had an account with you",
            ),
        ],
        routine: [
            ("Can I pay early?", "pay-early"),
            ("How do I move my due date?", "move-due-date"),
        ],
        off_topic: "What's the weather like today?",
        gibberish: "asdfgh qwerty zxcvb",
        mixed: "How do I move my due date? Actually, just let me talk to an agent.",
    },
    Cases {
        lang: Lang::It,
        person: [
            "Ho bisogno di parlare con una persona",
            "Voglio un operatore, per favore",
        ],
        sensitive: [
            (
                Fraud,
                "C'è un addebito che non riconosco, non l'ho fatto io",
            ),
            (
                Dispute,
                "Il mio ordine non è mai arrivato e il negozio non risponde",
            ),
            (Hardship, "Ho perso il lavoro e non riesco a pagare le rate"),
            (
                Complaint,
                "Voglio presentare un reclamo, il vostro servizio è pessimo",
            ),
            (Bereavement, "Mio padre è venuto a mancare il mese scorso"),
        ],
        routine: [
            ("Posso pagare tutto in anticipo?", "pay-early"),
            ("Come posso spostare la data di scadenza?", "move-due-date"),
        ],
        off_topic: "Che tempo fa oggi a Roma?",
        gibberish: "sdfgk wqpoz mnbvc",
        mixed: "Come posso spostare la scadenza? Comunque preferisco parlare con qualcuno.",
    },
    Cases {
        lang: Lang::De,
        person: [
            "Ich möchte mit einem Mitarbeiter sprechen",
            "Kann ich bitte mit einem Menschen reden?",
        ],
        sensitive: [
            (
                Fraud,
                "Auf meinem Konto ist ein Einkauf, den ich nicht erkenne. Ist das Betrug?",
            ),
            (Dispute, "Meine Bestellung ist nie angekommen"),
            (
                Hardship,
                "Ich habe meinen Job verloren und kann die Raten nicht mehr bezahlen",
            ),
            (Complaint, "Ich möchte mich über euren Service beschweren"),
            (Bereavement, "Meine Mutter ist letzten Monat verstorben"),
        ],
        routine: [
            ("Kann ich früher bezahlen?", "pay-early"),
            (
                "Ich möchte meinen Fälligkeitstermin verschieben",
                "move-due-date",
            ),
        ],
        off_topic: "Wie wird das Wetter heute?",
        gibberish: "xyzzk plörf qwmtt",
        mixed: "Ich möchte meinen Fälligkeitstermin verschieben, aber bitte mit einem Mitarbeiter.",
    },
    Cases {
        lang: Lang::Nl,
        person: [
            "Ik wil met een medewerker praten",
            "Kan ik met een mens spreken?",
        ],
        sensitive: [
            (
                Fraud,
                "Er staat een betaling op mijn rekening die ik niet herken",
            ),
            (Dispute, "Mijn bestelling is nooit aangekomen"),
            (
                Hardship,
                "Ik ben mijn baan kwijt en kan mijn termijnen niet betalen",
            ),
            (Complaint, "Ik wil een klacht indienen over jullie service"),
            (Bereavement, "Mijn moeder is vorige week overleden"),
        ],
        routine: [
            ("Kan ik eerder betalen?", "pay-early"),
            ("Hoe kan ik mijn vervaldatum verplaatsen?", "move-due-date"),
        ],
        off_topic: "Wat voor weer wordt het vandaag?",
        gibberish: "grtzl vmnkq ploef",
        mixed: "Hoe kan ik mijn vervaldatum verplaatsen? Ik wil liever met een medewerker praten.",
    },
    Cases {
        lang: Lang::Sv,
        person: [
            "Jag vill prata med en människa",
            "Kan jag få prata med en handläggare?",
        ],
        sensitive: [
            (
                Fraud,
                "Det finns ett köp på mitt konto som jag inte känner igen",
            ),
            (Dispute, "Mitt paket har aldrig kommit"),
            (
                Hardship,
                "Jag har blivit uppsagd och har inte råd att betala",
            ),
            (
                Complaint,
                "Jag vill lämna ett klagomål, det här är oacceptabelt",
            ),
            (Bereavement, "Min pappa har gått bort"),
        ],
        routine: [
            ("Kan jag betala i förväg?", "pay-early"),
            ("Hur flyttar jag förfallodagen?", "move-due-date"),
        ],
        off_topic: "Hur blir vädret idag?",
        gibberish: "qwåtz frmpk snörv",
        mixed: "Hur flyttar jag förfallodagen? Jag vill prata med en människa.",
    },
    Cases {
        lang: Lang::Ru,
        person: ["Мне нужен оператор", "Хочу поговорить с живым человеком"],
        sensitive: [
            (
                Fraud,
                "С моей карты списали деньги за покупку, которую я не совершал",
            ),
            (Dispute, "Мой заказ так и не пришёл"),
            (Hardship, "Я потерял работу и не могу платить"),
            (Complaint, "Хочу подать жалобу на ваше обслуживание"),
            (Bereavement, "Мой отец умер в прошлом месяце"),
        ],
        routine: [
            ("Можно ли оплатить досрочно?", "pay-early"),
            ("Как перенести дату платежа?", "move-due-date"),
        ],
        off_topic: "Какая сегодня погода?",
        gibberish: "ывапр олдж щзхъ",
        mixed: "Как перенести дату платежа? Лучше соедините с оператором.",
    },
];

fn kb() -> KnowledgeBase {
    KnowledgeBase::builtin()
}

/// Triage with no hint, as for the first message of a conversation: language detection has to
/// work on its own.
fn run(kb: &KnowledgeBase, text: &str) -> TriageDecision {
    triage(kb, text, None)
}

#[test]
fn person_requests_go_to_a_person_in_every_language() {
    let kb = kb();
    for case in &CASES {
        for text in case.person {
            let d = run(&kb, text);
            assert!(d.to_human, "{}: {text:?} -> {d:?}", case.lang);
            assert!(
                matches!(d.reason, TriageReason::AskedForPerson { .. }),
                "{}: {text:?} -> {:?}",
                case.lang,
                d.reason
            );
            assert_eq!(d.language, case.lang, "{text:?}");
            assert_eq!(d.bot_answer, None, "{text:?}");
        }
    }
}

#[test]
fn sensitive_topics_go_to_a_person_in_every_language() {
    let kb = kb();
    for case in &CASES {
        for (topic, text) in case.sensitive {
            let d = run(&kb, text);
            assert!(d.to_human, "{}: {text:?} -> {d:?}", case.lang);
            match &d.reason {
                TriageReason::Sensitive { topic: got, phrase } => {
                    assert_eq!(*got, topic, "{}: {text:?} matched {phrase:?}", case.lang);
                    assert!(!phrase.is_empty(), "{text:?}");
                }
                other => panic!("{}: {text:?} -> {other:?}, want {topic:?}", case.lang),
            }
            assert_eq!(d.intent, topic.intent(), "{text:?}");
            assert_eq!(d.language, case.lang, "{text:?}");
            assert_eq!(d.bot_answer, None, "{text:?}");
        }
    }
}

/// A customer who may harm themselves goes to a person as `crisis`, in every language, even when
/// the same message asks for a person or names a topic the bot knows; everyday figures of speech
/// ("I can't log in anymore", "this app is killing me") do not.
#[test]
fn a_customer_who_may_harm_themselves_goes_to_a_person_first_in_every_language() {
    let kb = kb();
    for (lang, text) in [
        (Lang::En, "I want to kill myself"),
        (
            Lang::En,
            "i've been thinking about ending it all, i can't pay anything",
        ),
        (
            Lang::En,
            "honestly I don't want to live anymore. can I talk to an agent",
        ),
        (Lang::It, "voglio farla finita, non riesco a pagare la rata"),
        (Lang::De, "ich will nicht mehr leben"),
        (Lang::Nl, "ik denk aan zelfmoord"),
        (Lang::Sv, "jag vill inte leva längre"),
        (Lang::Ru, "не хочу жить, долги по рассрочке"),
    ] {
        let d = run(&kb, text);
        assert!(d.to_human, "{lang}: {text:?} -> {d:?}");
        assert!(
            matches!(
                d.reason,
                TriageReason::Sensitive {
                    topic: SensitiveTopic::Crisis,
                    ..
                }
            ),
            "{lang}: {text:?} -> {:?}",
            d.reason
        );
        assert_eq!(d.language, lang, "{text:?}");
    }
    for text in [
        "ich kann mich nicht mehr einloggen",
        "this app is killing me lol, how do I pay early",
        "I can't go on paying this much, can I move my due date",
        "non ce la faccio più a pagare la rata",
    ] {
        let d = run(&kb, text);
        assert!(
            !matches!(
                d.reason,
                TriageReason::Sensitive {
                    topic: SensitiveTopic::Crisis,
                    ..
                }
            ),
            "{text:?} -> {:?}",
            d.reason
        );
    }
}

#[test]
fn routine_questions_are_answered_by_the_bot_in_the_customers_language() {
    let kb = kb();
    for case in &CASES {
        for (text, article_id) in case.routine {
            let d = run(&kb, text);
            assert!(!d.to_human, "{}: {text:?} -> {d:?}", case.lang);
            assert_eq!(d.language, case.lang, "{text:?}");
            match &d.reason {
                TriageReason::Answered {
                    article,
                    confidence,
                } => {
                    assert_eq!(article, article_id, "{text:?}");
                    // Keywords are 70% of the score (BM25 the rest): a clear question scores
                    // well above the 0.45 the bot needs.
                    assert!(
                        *confidence >= 0.5,
                        "{text:?}: clear question scored {confidence}"
                    );
                }
                other => panic!("{}: {text:?} -> {other:?}", case.lang),
            }
            let article = kb.article(article_id).expect("article exists");
            assert_eq!(d.bot_answer.as_deref(), article.answer(case.lang));
            assert_eq!(d.sources, [article_id]);
        }
    }
}

#[test]
fn off_topic_and_gibberish_are_low_confidence() {
    let kb = kb();
    for case in &CASES {
        // Off-topic text is real language: detected without a hint.
        let d = run(&kb, case.off_topic);
        assert_eq!(d.language, case.lang, "{:?}", case.off_topic);
        assert!(
            matches!(d.reason, TriageReason::LowConfidence { confidence } if confidence < 0.35),
            "{}: {:?} -> {d:?}",
            case.lang,
            case.off_topic
        );
        assert!(d.to_human);
        // Gibberish has no language: the conversation's language is kept.
        let d = triage(&kb, case.gibberish, Some(case.lang));
        assert_eq!(d.language, case.lang, "{:?}", case.gibberish);
        assert!(
            matches!(d.reason, TriageReason::LowConfidence { confidence } if confidence < 0.35),
            "{}: {:?} -> {d:?}",
            case.lang,
            case.gibberish
        );
        assert!(d.to_human);
        assert_eq!(d.intent, "unknown");
    }
}

#[test]
fn a_routine_question_that_asks_for_a_person_gets_a_person() {
    let kb = kb();
    for case in &CASES {
        let d = run(&kb, case.mixed);
        assert!(d.to_human, "{}: {:?} -> {d:?}", case.lang, case.mixed);
        assert!(
            matches!(d.reason, TriageReason::AskedForPerson { .. }),
            "{}: {:?} -> {:?}",
            case.lang,
            case.mixed,
            d.reason
        );
        assert_eq!(d.language, case.lang, "{:?}", case.mixed);
        // The worker still sees what the question was about.
        assert_eq!(d.intent, "move_due_date", "{:?}", case.mixed);
    }
}

#[test]
fn language_detection_is_right_for_every_case() {
    for case in &CASES {
        let texts = case
            .person
            .iter()
            .chain(case.sensitive.iter().map(|(_, t)| t))
            .chain(case.routine.iter().map(|(t, _)| t))
            .chain([&case.off_topic, &case.mixed]);
        for text in texts {
            assert_eq!(detect(text, None), case.lang, "{text:?}");
            // A wrong hint does not override clear text.
            let wrong = if case.lang == Lang::En {
                Lang::De
            } else {
                Lang::En
            };
            assert_eq!(
                detect(text, Some(wrong)),
                case.lang,
                "{text:?} with hint {wrong}"
            );
        }
    }
}

#[test]
fn kb_drafter_writes_in_the_requested_language_and_regenerate_changes_the_draft() {
    let kb = Arc::new(kb());
    let drafter = KbDrafter::new(kb.clone());
    assert_eq!(drafter.name(), "kb");
    for case in &CASES {
        let (text, article_id) = case.routine[1];
        let req = DraftRequest {
            text,
            language: case.lang,
            history: &[],
            transcript: &[],
            attempt: 0,
        };
        let first = drafter.draft(&req);
        let article = kb.article(article_id).expect("article exists");
        assert_eq!(first.language, case.lang);
        assert_eq!(first.sources, [article_id], "{text:?}");
        assert_eq!(first.intent, article.intent);
        assert_eq!(first.drafter, "kb");
        assert!(
            first
                .text
                .contains(article.answer(case.lang).expect("in this language")),
            "{}",
            first.text
        );
        assert!(first.confidence >= 0.6, "{text:?}: {}", first.confidence);
        // The greeting is in the customer's language too, not English.
        if case.lang != Lang::En {
            assert!(!first.text.starts_with("Hi"), "{}", first.text);
        }
        assert_eq!(detect(&first.text, None), case.lang, "{}", first.text);

        let mut seen = vec![first.text.clone()];
        for attempt in 1..4 {
            let again = drafter.draft(&DraftRequest { attempt, ..req });
            assert_eq!(again.language, case.lang);
            assert_ne!(
                again.text,
                seen[seen.len() - 1],
                "attempt {attempt} repeated the draft"
            );
            seen.push(again.text);
        }
    }
}

#[test]
fn kb_drafter_asks_a_question_in_the_customers_language_when_nothing_matches() {
    let drafter = KbDrafter::new(Arc::new(kb()));
    for case in &CASES {
        let req = DraftRequest {
            text: case.off_topic,
            language: case.lang,
            history: &[],
            transcript: &[],
            attempt: 0,
        };
        let draft = drafter.draft(&req);
        assert_eq!(draft.intent, "unknown");
        assert!(draft.confidence < 0.35);
        assert!(draft.sources.is_empty());
        assert!(draft.text.contains('?'), "{}", draft.text);
        assert_eq!(detect(&draft.text, None), case.lang, "{}", draft.text);
        let again = drafter.draft(&DraftRequest { attempt: 1, ..req });
        assert_ne!(again.text, draft.text);
    }
}
