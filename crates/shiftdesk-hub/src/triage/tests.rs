//! Tests of the triage rules.

use super::*;

fn kb() -> KnowledgeBase {
    KnowledgeBase::builtin()
}

#[test]
fn person_request_wins_over_everything() {
    let d = triage(&kb(), "I lost my job, can I talk to a human?", None);
    assert!(d.to_human);
    assert!(
        matches!(d.reason, TriageReason::AskedForPerson { .. }),
        "{d:?}"
    );
}

#[test]
fn person_phrase_is_quoted_as_written() {
    let d = triage(&kb(), "Voglio parlare con un OPERATORE!", None);
    assert_eq!(
        d.reason,
        TriageReason::AskedForPerson {
            phrase: "operatore".into()
        }
    );
    assert_eq!(
        d.reason.explain(),
        "customer asked for a person (\"operatore\")"
    );
    assert_eq!(d.language, Lang::It);
    assert_eq!(d.bot_answer, None);
}

#[test]
fn person_lists_are_checked_whatever_the_language() {
    // An English-detected message with a Dutch request in it.
    let d = triage(&kb(), "hello, medewerker please", Some(Lang::En));
    assert!(
        matches!(d.reason, TriageReason::AskedForPerson { .. }),
        "{d:?}"
    );
}

/// Ways of asking for someone above or other than the bot, mixed with a topic the bot knows
/// (an outside tester's sentences, 2026-12-07): the request wins, in every language.
#[test]
fn asking_for_a_supervisor_or_saying_the_bot_is_useless_is_a_request_for_a_person() {
    for text in [
        "supervisor please, my payment keeps getting declined",
        "let me talk to support staff about the due date",
        "this bot is useless, I already asked about my refund three times",
        "get me a manager, my payment was declined again",
        "this bot is useless",
        "talk to support staff",
        "can I speak to your supervisor",
        "connect me with customer support",
        "the bot isn't helping, I still can't log in",
        "Der Bot ist nutzlos, ich will meine Rate verschieben",
        "Ich will mit Ihrem Vorgesetzten sprechen",
        "voglio parlare con un responsabile per il rimborso",
        "il bot non mi aiuta, devo spostare la rata",
        "ik wil een leidinggevende spreken over mijn terugbetaling",
        "jag vill prata med chefen om min betalning",
        "позовите руководителя, платёж снова отклонён",
        "бот бесполезен, хочу перенести платёж",
        // A second outside tester's, the same evening.
        "the bot isnt helping, my payment was declined",
        "you don't help. i want to return my shoes",
        "this chatbot is pointless, when will i get my refund",
        "can I speak to a superviser, card declined",
        "i dont want to chat with a robot, refund status please",
        "sei inutile, non riesco ad accedere al mio account",
        "voglio parlare col capo",
        "du hilfst mir nicht, ich komm nicht in mein konto",
        "nein danke, ich will einen menschen",
        "ik wil iemand van de klantenservice, betaling mislukt",
        "boten är värdelös, hur flyttar jag förfallodagen",
        "хочу поговорить с поддержкой, платеж отклонен",
        "je veux parler a un conseiller svp",
        "quero falar com um atendente",
        "chce rozmawiac z konsultantem",
    ] {
        let d = triage(&kb(), text, None);
        assert!(
            d.to_human && matches!(d.reason, TriageReason::AskedForPerson { .. }),
            "{text}: {d:?}"
        );
    }
}

/// A message that only says hello gets the bot's question, in the customer's language, not a
/// person; hello with a question or a request is read as usual.
#[test]
fn a_greeting_alone_gets_a_question_not_a_person() {
    for (text, lang) in [
        ("hello", Lang::En),
        ("Hi there!", Lang::En),
        ("good morning", Lang::En),
        ("buongiorno", Lang::It),
        ("Guten Morgen", Lang::De),
        ("goedemiddag", Lang::Nl),
        ("Hej hej", Lang::Sv),
        ("Здравствуйте!", Lang::Ru),
        ("добрый вечер", Lang::Ru),
        // A second outside tester's.
        ("Guten Tag!", Lang::De),
        ("buonasera a tutti", Lang::It),
        ("hallo zusammen", Lang::De),
        ("Hello? anyone there?", Lang::En),
        ("heyyy", Lang::En),
        ("god kväll", Lang::Sv),
    ] {
        let d = triage(&kb(), text, Some(lang));
        assert!(!d.to_human, "{text}: {d:?}");
        assert_eq!(d.reason, TriageReason::Greeted, "{text}");
        assert_eq!(
            d.bot_answer.as_deref(),
            Some(crate::notices::what_about(lang).as_str()),
            "{text}"
        );
    }
    let asks = triage(&kb(), "hello, my card was declined", Some(Lang::En));
    assert!(
        matches!(asks.reason, TriageReason::Answered { .. }),
        "{asks:?}"
    );
    let person = triage(&kb(), "hi, a human please", Some(Lang::En));
    assert!(person.to_human, "{person:?}");
    for text in [
        "good",
        "there",
        "hello I have a problem with something weird",
    ] {
        let d = triage(&kb(), text, Some(Lang::En));
        assert_ne!(d.reason, TriageReason::Greeted, "{text}");
    }
}

/// A message that only thanks the bot gets "you're welcome, anything else?" in the customer's
/// language, not a place in the queue; thanks with a problem is read as usual.
#[test]
fn thanks_alone_gets_the_bots_reply_not_a_person() {
    for (text, lang) in [
        ("thanks!", Lang::En),
        ("ok thank you so much", Lang::En),
        ("great, thanks a lot", Lang::En),
        ("grazie mille", Lang::It),
        ("Danke schön!", Lang::De),
        ("bedankt", Lang::Nl),
        ("tack så mycket", Lang::Sv),
        ("Спасибо большое", Lang::Ru),
        // A second outside tester's.
        ("cheers mate", Lang::En),
        ("great thanks bye", Lang::En),
        ("ok grazie, gentilissimi", Lang::It),
        ("vielen dank, hat geklappt", Lang::De),
        ("dankjewel, top", Lang::Nl),
        ("tusen tack", Lang::Sv),
        ("спс", Lang::Ru),
    ] {
        let d = triage(&kb(), text, Some(lang));
        assert!(!d.to_human, "{text}: {d:?}");
        assert_eq!(d.reason, TriageReason::Thanked, "{text}");
        assert_eq!(
            d.bot_answer.as_deref(),
            Some(crate::notices::anything_else(lang).as_str()),
            "{text}"
        );
    }
    for text in [
        "thanks, but it still doesn't work",
        "thanks, can I talk to a human now",
        "ok",
    ] {
        let d = triage(&kb(), text, Some(Lang::En));
        assert_ne!(d.reason, TriageReason::Thanked, "{text}");
    }
}

/// "Thanks in advance" is politeness, not paying early ("grazie in anticipo", "спасибо
/// заранее" share the pay-early article's words); and "thanks" or "hi" in answer to a
/// clarifying question does not answer it: a person takes over.
#[test]
fn thanks_in_advance_is_not_paying_early_and_does_not_answer_a_question() {
    for text in [
        "grazie in anticipo, ho un problema con l'ordine",
        "спасибо заранее, у меня проблема с заказом",
        "danke vorab, ich habe ein problem mit meiner bestellung",
    ] {
        let d = triage(&kb(), text, None);
        assert!(
            !matches!(&d.reason, TriageReason::Answered { article, .. } if article == "pay-early"),
            "{text}: {d:?}"
        );
    }
    let early = triage(&kb(), "posso pagare in anticipo?", None);
    assert!(
        matches!(&early.reason, TriageReason::Answered { article, .. } if article == "pay-early"),
        "{early:?}"
    );
    let kb = kb();
    let asked = Clarifying {
        message: "can I postpone my next payment?",
        first: "payment-plans",
        second: "move-due-date",
    };
    for reply in ["thanks", "hi"] {
        let d = kb.triage_answer(reply, &asked, Some(Lang::En));
        assert!(d.to_human, "{reply}: {d:?}");
    }
}

#[test]
fn sensitive_article_match_goes_to_a_person_even_without_a_listed_phrase() {
    // "scammed" is in the fraud article's keywords and in the pattern list; check the
    // knowledge-base route by using a keyword only the article has.
    let d = triage(&kb(), "someone else bought this", None);
    assert!(d.to_human, "{d:?}");
    assert!(
        matches!(
            d.reason,
            TriageReason::Sensitive {
                topic: SensitiveTopic::Fraud,
                ..
            }
        ),
        "{d:?}"
    );
}

#[test]
fn answered_carries_the_article_answer() {
    let d = triage(&kb(), "How can I move my due date?", None);
    assert!(!d.to_human, "{d:?}");
    let kb = kb();
    let article = kb.article("move-due-date").expect("article exists");
    assert_eq!(d.bot_answer.as_deref(), article.answer(Lang::En));
    assert_eq!(d.intent, "move_due_date");
    assert_eq!(d.sources, ["move-due-date"]);
    assert!(
        d.reason
            .explain()
            .starts_with("bot answered with move-due-date")
    );
}

/// The built-in articles' confusion from issue 21: putting off the next instalment matched
/// the payment-plans article a little better than the due-date one. "The next instalment"
/// says which payment, not what to do with it, so now the verb decides: the bot answers with
/// the due-date article, or asks which of the two is meant when the keywords tie; never the
/// payment-plans article.
const PUT_OFF: [(Lang, &str); 5] = [
    (Lang::En, "can I postpone my next payment?"),
    (Lang::It, "posso rimandare la prossima rata?"),
    (Lang::De, "kann ich die nächste Rate aufschieben?"),
    (Lang::Nl, "kan ik de volgende termijn uitstellen?"),
    (Lang::Ru, "можно отложить следующий платеж?"),
];

#[test]
fn close_articles_get_a_clarifying_question_naming_both_in_the_customers_language() {
    let kb = kb();
    let mut asked = 0;
    for (lang, text) in PUT_OFF {
        let d = triage(&kb, text, Some(lang));
        assert!(!d.to_human, "{lang}: {d:?}");
        assert_eq!(d.language, lang);
        let (first, second) = match &d.reason {
            TriageReason::Clarify { first, second } => (first, second),
            TriageReason::Answered { article, .. } => {
                assert_eq!(article, "move-due-date", "{lang}: {d:?}");
                continue;
            }
            _ => panic!("{lang}: {d:?}"),
        };
        asked += 1;
        let mut both = [first.as_str(), second.as_str()];
        both.sort_unstable();
        assert_eq!(both, ["move-due-date", "payment-plans"], "{lang}");
        let question = d.bot_answer.as_deref().expect("a question");
        for id in both {
            let title = kb.article(id).and_then(|a| a.title(lang)).expect("title");
            assert!(question.contains(title), "{lang}: {question}");
        }
        assert!(question.ends_with('?'), "{question}");
        assert_eq!(d.sources.len(), 2);
    }
    assert!(asked > 0, "no clarifying question was asked");
}

#[test]
fn a_clear_lead_is_still_answered_at_once() {
    // A whole example question against a single keyword.
    let d = triage(&kb(), "How can I move my due date?", None);
    assert!(matches!(d.reason, TriageReason::Answered { .. }), "{d:?}");
}

#[test]
fn a_person_and_sensitive_topics_win_over_a_clarifying_question() {
    let d = triage(
        &kb(),
        "posso rimandare la prossima rata? voglio parlare con un operatore",
        Some(Lang::It),
    );
    assert!(
        matches!(d.reason, TriageReason::AskedForPerson { .. }),
        "{d:?}"
    );
    let d = triage(
        &kb(),
        "can I postpone my next payment? I lost my job",
        Some(Lang::En),
    );
    assert!(
        matches!(
            d.reason,
            TriageReason::Sensitive {
                topic: SensitiveTopic::Hardship,
                ..
            }
        ),
        "{d:?}"
    );
}

#[test]
fn the_answer_to_a_clarifying_question_picks_one_of_the_two() {
    let kb = kb();
    let asked = |message| Clarifying {
        message,
        first: "payment-plans",
        second: "move-due-date",
    };
    let cases = [
        (
            Lang::En,
            "can I postpone my next payment?",
            "the due date one",
            "move-due-date",
        ),
        (
            Lang::En,
            "can I postpone my next payment?",
            "how pay in 3 works",
            "payment-plans",
        ),
        (
            Lang::It,
            "posso rimandare la prossima rata?",
            "spostare la data di scadenza",
            "move-due-date",
        ),
        (
            Lang::De,
            "kann ich die nächste Rate aufschieben?",
            "den Fälligkeitstermin",
            "move-due-date",
        ),
        (
            Lang::Nl,
            "kan ik de volgende termijn uitstellen?",
            "de vervaldatum graag",
            "move-due-date",
        ),
        (
            Lang::Ru,
            "можно отложить следующий платеж?",
            "перенос даты",
            "move-due-date",
        ),
    ];
    for (lang, message, answer, want) in cases {
        let d = kb.triage_answer(answer, &asked(message), Some(lang));
        assert_eq!(
            d.reason,
            TriageReason::Answered {
                article: want.into(),
                confidence: d.confidence
            },
            "{lang} {answer:?}: {d:?}"
        );
        assert_eq!(
            d.bot_answer.as_deref(),
            kb.article(want).and_then(|a| a.answer(lang))
        );
    }
    // "The first" and "the second", short, in any language: the order of the question.
    for (answer, want) in [
        ("the first one", "payment-plans"),
        ("la seconda", "move-due-date"),
        ("die zweite bitte", "move-due-date"),
        ("второе", "move-due-date"),
    ] {
        let d = kb.triage_answer(answer, &asked("can I postpone my next payment?"), None);
        assert!(
            matches!(&d.reason, TriageReason::Answered { article, .. } if article == want),
            "{answer}: {d:?}"
        );
    }
    // Repeating the question: never the payment-plans article; the due-date one (the two
    // messages together lead clearly) or the question again.
    let d = kb.triage_answer(
        "kan ik de volgende termijn uitstellen?",
        &asked("kan ik de volgende termijn uitstellen?"),
        Some(Lang::Nl),
    );
    assert!(
        matches!(&d.reason, TriageReason::Answered { article, .. } if article == "move-due-date")
            || matches!(d.reason, TriageReason::Clarify { .. }),
        "{d:?}"
    );
    // Naming neither: not answered (the dispatch core then hands over rather than ask again).
    let d = kb.triage_answer(
        "hmm",
        &asked("kan ik de volgende termijn uitstellen?"),
        Some(Lang::Nl),
    );
    assert!(d.to_human, "{d:?}");
    // Asking for a person in the answer still wins.
    let d = kb.triage_answer(
        "neither, I want a human",
        &asked("can I postpone my next payment?"),
        Some(Lang::En),
    );
    assert!(
        matches!(d.reason, TriageReason::AskedForPerson { .. }),
        "{d:?}"
    );
}

#[test]
fn clarify_serializes_and_explains() {
    let reason = TriageReason::Clarify {
        first: "payment-plans".into(),
        second: "move-due-date".into(),
    };
    let json = serde_json::to_value(&reason).expect("serialize");
    assert_eq!(json["kind"], "clarify");
    assert_eq!(json["first"], "payment-plans");
    assert_eq!(
        reason.explain(),
        "bot asked a clarifying question: payment-plans or move-due-date"
    );
}

#[test]
fn explain_lines() {
    assert_eq!(
        TriageReason::LowConfidence { confidence: 0.214 }.explain(),
        "bot unsure (confidence 0.21)"
    );
    assert_eq!(
        TriageReason::Sensitive {
            topic: SensitiveTopic::Fraud,
            phrase: String::new()
        }
        .explain(),
        "sensitive: suspected fraud"
    );
}

#[test]
fn handoff_notice_in_every_language_names_the_position() {
    for lang in Lang::ALL {
        let notice = handoff_notice(lang, 3);
        assert!(notice.contains('3'), "{lang}: {notice}");
    }
    assert_eq!(
        handoff_notice(Lang::En, 2),
        "A person will be with you shortly. You are number 2 in the queue."
    );
    assert!(handoff_notice(Lang::Sv, 0).contains("nummer 1"));
}

#[test]
fn reason_serializes_with_kind_tag() {
    let json = serde_json::to_value(TriageReason::Sensitive {
        topic: SensitiveTopic::Hardship,
        phrase: "lost my job".into(),
    })
    .expect("serialize");
    assert_eq!(json["kind"], "sensitive");
    assert_eq!(json["topic"], "hardship");
}

#[test]
fn all_patterns_compile_to_words() {
    for p in PERSON_PATTERNS.iter() {
        assert!(!p.text.is_empty());
    }
    for (topic, patterns) in SENSITIVE_PATTERNS.iter() {
        assert!(!patterns.is_empty(), "{topic:?}");
        for p in patterns {
            assert!(!p.text.is_empty(), "{topic:?}");
        }
    }
}

#[test]
fn cannot_pay_is_hardship_unless_the_payment_failed() {
    let kb = kb();
    for (lang, failed, hardship) in [
        (
            Lang::De,
            "ich kann nicht bezahlen, es kommt immer ein fehler",
            "ich kann nicht bezahlen, das geld reicht diesen monat nicht",
        ),
        (
            Lang::Sv,
            "jag kan inte betala, får felmeddelande varje gang",
            "jag kan inte betala nästa delbetalning",
        ),
        (
            Lang::Ru,
            "не могу оплатить, каждый раз выдает ошибку",
            "не могу оплатить следующий платеж",
        ),
    ] {
        let d = triage(&kb, failed, Some(lang));
        assert!(
            !matches!(d.reason, TriageReason::Sensitive { .. }),
            "{lang}: {d:?}"
        );
        assert_ne!(d.intent, "hardship", "{lang}: {d:?}");
        let d = triage(&kb, hardship, Some(lang));
        assert!(
            matches!(
                d.reason,
                TriageReason::Sensitive {
                    topic: SensitiveTopic::Hardship,
                    ..
                }
            ),
            "{lang}: {d:?}"
        );
    }
    // Words of hardship itself always count, error or not.
    let d = triage(
        &kb,
        "I can't pay my instalment, it says error, and I lost my job",
        Some(Lang::En),
    );
    assert!(d.to_human, "{d:?}");
    assert_eq!(d.intent, "hardship");
}

#[test]
fn asking_to_be_called_back_is_asking_for_a_person() {
    // With BM25 a message that names a payment finds some article; a customer who wants a
    // person on the phone must not depend on the bot being unsure.
    for (lang, text) in [
        (
            Lang::En,
            "I have a question about my payment, can someone call me back?",
        ),
        (
            Lang::It,
            "ho un problema con la rata, potete farmi chiamare?",
        ),
        (Lang::De, "frage zur rate, kann mich jemand zurückrufen?"),
        (
            Lang::Nl,
            "vraag over mijn termijn, kan een collega mij terugbellen?",
        ),
        (Lang::Sv, "fråga om min faktura, kan ni ringa mig?"),
        (Lang::Ru, "вопрос по платежу, можете мне перезвонить?"),
    ] {
        let d = triage(&kb(), text, Some(lang));
        assert!(
            matches!(d.reason, TriageReason::AskedForPerson { .. }),
            "{lang}: {d:?}"
        );
    }
}

/// An outside tester's requests for a person that the bot answered (2026-12-08, section A of
/// their report): a call back, a colleague, "your people", "assistenza", "kundtjänst", "not a
/// machine", next to a topic the bot knows. The request wins, in every language.
#[test]
fn asking_for_a_call_a_colleague_or_not_a_machine_is_a_request_for_a_person() {
    let kb = kb();
    for (lang, text) in [
        (
            Lang::En,
            "please pass me to a colleague, I want to move my due date",
        ),
        (
            Lang::En,
            "i'd prefer to discuss pay in 4 with one of your people",
        ),
        (Lang::En, "talk to person about refund"),
        (
            Lang::En,
            "I don't want to chat with a machine, I want to move my due date",
        ),
        (
            Lang::It,
            "posso parlare con l'assistenza per spostare la rata?",
        ),
        (Lang::It, "chiamatemi per il rimborso"),
        (
            Lang::It,
            "ma c'e qualcuno di reale? vorrei spostare la rata",
        ),
        (Lang::De, "ruft mich bitte wegen der erstattung an"),
        (Lang::Nl, "bel me even over de retour"),
        (Lang::Sv, "ring mig angående returen"),
        (
            Lang::Sv,
            "koppla mig till kundtjänst, jag vill flytta förfallodagen",
        ),
        (
            Lang::Sv,
            "får jag snacka med nån som jobbar där, har en fråga om återbetalning",
        ),
        (Lang::Ru, "позвоните мне по поводу возврата"),
    ] {
        let d = triage(&kb, text, Some(lang));
        assert!(
            d.to_human && matches!(d.reason, TriageReason::AskedForPerson { .. }),
            "{lang}: {text}: {d:?}"
        );
    }
}

/// The same tester's sensitive messages that the bot answered, or handed over only as "bot
/// unsure" (sections B to E and the debatable list of their report): account takeover and
/// purchases that were not the customer's, hardship said as redundancy, illness or benefits,
/// broken, wrong or missing goods, a death said indirectly, and angry repeat contacts. Each
/// goes to a person, as the topic it is.
#[test]
fn sensitive_topics_in_other_words_go_to_a_person_as_that_topic() {
    use super::SensitiveTopic::{Bereavement, Complaint, Dispute, Fraud, Hardship};
    let kb = kb();
    for (lang, topic, text) in [
        (
            Lang::Sv,
            Fraud,
            "någon har loggat in på mitt konto utan lov",
        ),
        (
            Lang::En,
            Fraud,
            "i want a refund for a purchase i never made",
        ),
        (
            Lang::En,
            Fraud,
            "someone logged into my account and changed my password",
        ),
        (
            Lang::En,
            Fraud,
            "my ex still has access to my account and is buying things",
        ),
        (
            Lang::En,
            Fraud,
            "I didn't authorise this payment, can you refund it",
        ),
        (
            Lang::En,
            Fraud,
            "this purchase isn't mine, can I return it?",
        ),
        (
            Lang::En,
            Fraud,
            "there's an order from a shop I've never heard of, can I get a refund",
        ),
        (
            Lang::En,
            Fraud,
            "I got charged for something I didn't buy, how do I get my money back",
        ),
        (
            Lang::En,
            Fraud,
            "I got charged for something I didn't buy and now my payment was declined",
        ),
        (
            Lang::En,
            Fraud,
            "my son bought stuff on my account without asking, can I get a refund",
        ),
        (
            Lang::It,
            Fraud,
            "qualcuno e entrato nel mio account e ha cambiato la password",
        ),
        (
            Lang::It,
            Fraud,
            "mio figlio ha comprato con il mio account senza chiedermelo, posso avere il rimborso?",
        ),
        (
            Lang::De,
            Fraud,
            "diese bestellung war nicht ich, wie bekomme ich mein geld zurück",
        ),
        (
            Lang::De,
            Fraud,
            "mein sohn hat ohne mein wissen über mein konto bestellt, kann ich das zurückgeben?",
        ),
        (
            Lang::Nl,
            Fraud,
            "iemand is in mijn account gekomen en heeft mijn wachtwoord veranderd",
        ),
        (
            Lang::Sv,
            Fraud,
            "någon har loggat in på mitt konto och bytt lösenord",
        ),
        (
            Lang::Ru,
            Fraud,
            "кто-то зашел в мой аккаунт и поменял пароль",
        ),
        (
            Lang::Ru,
            Fraud,
            "мой сын купил с моего аккаунта без спроса, как вернуть деньги?",
        ),
        (
            Lang::En,
            Hardship,
            "I need to delay my payment because I've been made redundant",
        ),
        (
            Lang::En,
            Hardship,
            "can I get an extension? I'm between jobs",
        ),
        (
            Lang::En,
            Hardship,
            "I'm disabled and my benefits got cut, can I move my payment",
        ),
        (
            Lang::En,
            Hardship,
            "my wife just had surgery and I can't work for a while, can I push the payment back",
        ),
        (
            Lang::En,
            Hardship,
            "i'm going through a divorce and can't keep up with the payments, can i postpone",
        ),
        (
            Lang::En,
            Hardship,
            "I have a gambling problem and can't pay, can you extend my due date",
        ),
        (
            Lang::It,
            Hardship,
            "posso avere qualche giorno in piu? sono in cassa integrazione",
        ),
        (
            Lang::De,
            Hardship,
            "kann ich einen zahlungsaufschub bekommen, bin gerade krank und verdiene nichts",
        ),
        (
            Lang::Nl,
            Hardship,
            "kan ik een week uitstel krijgen, ik zit in de ziektewet",
        ),
        (
            Lang::Nl,
            Hardship,
            "heb net een kind gekregen en zit zonder inkomen, kan ik de betaling uitstellen?",
        ),
        (
            Lang::Sv,
            Hardship,
            "kan jag få anstånd en vecka, jag är sjukskriven och har ingen lön",
        ),
        (
            Lang::Sv,
            Hardship,
            "har det väldigt tufft ekonomiskt, kan jag skjuta upp betalningen?",
        ),
        (Lang::Ru, Hardship, "можно перенести платеж? меня сократили"),
        (
            Lang::Ru,
            Hardship,
            "можно отсрочку на неделю, я на больничном и без зарплаты",
        ),
        (
            Lang::En,
            Dispute,
            "package never showed up, do I still have to pay the next payment?",
        ),
        (
            Lang::En,
            Dispute,
            "I want my money back, the item was broken",
        ),
        (
            Lang::En,
            Dispute,
            "i want a refund, they sent me something completely different",
        ),
        (
            Lang::En,
            Dispute,
            "the seller sent me the wrong size and won't answer, can I return it and get a refund",
        ),
        (
            Lang::En,
            Dispute,
            "the laptop arrived broken, how do I return it",
        ),
        (
            Lang::En,
            Dispute,
            "I returned the item but the shop says they never got it back",
        ),
        (
            Lang::Nl,
            Dispute,
            "ik wil mijn geld terug, het product was kapot",
        ),
        (
            Lang::Nl,
            Dispute,
            "heb al 3 weken niks ontvangen, kan ik het terugsturen?",
        ),
        (
            Lang::En,
            Bereavement,
            "my husband handled the account but he's no longer with us. can I pay off the rest?",
        ),
        (
            Lang::En,
            Complaint,
            "your app is garbage, still can't log in after a week",
        ),
        (
            Lang::En,
            Complaint,
            "third time writing about this refund and nobody gets back to me",
        ),
        (
            Lang::It,
            Complaint,
            "e la terza volta che scrivo per il rimborso e nessuno risponde",
        ),
        (
            Lang::De,
            Complaint,
            "das ist schon das dritte mal dass ich wegen der erstattung schreibe, keiner antwortet",
        ),
        (
            Lang::Ru,
            Complaint,
            "пишу уже третий раз про возврат, никто не отвечает",
        ),
        (Lang::En, Bereavement, "he's no longer with us"),
        (Lang::It, Bereavement, "mio marito non c'e piu"),
        (Lang::De, Bereavement, "mein mann lebt nicht mehr"),
        (Lang::Nl, Bereavement, "mijn vader is er niet meer"),
        (Lang::Ru, Bereavement, "муж ушёл из жизни"),
        (Lang::En, Fraud, "I got charged for something I didn't buy"),
        (
            Lang::En,
            Fraud,
            "there's an order on my account from a shop I've never heard of",
        ),
        (Lang::De, Fraud, "diese bestellung war nicht ich"),
        (
            Lang::En,
            Dispute,
            "package never showed up but you're still charging me",
        ),
        (
            Lang::Sv,
            Hardship,
            "har det väldigt tufft ekonomiskt just nu",
        ),
        (
            Lang::En,
            Bereavement,
            "my husband handled the account but he's no longer with us",
        ),
    ] {
        let d = triage(&kb, text, Some(lang));
        assert!(d.to_human, "{lang}: {text}: {d:?}");
        assert!(
            matches!(d.reason, TriageReason::Sensitive { topic: t, .. } if t == topic),
            "{lang}: {text}: expected {topic:?}, {d:?}"
        );
    }
}

/// Routine questions with words close to the phrases above ("changed my password", "wrong
/// size", "not authorised", "smarrito", "kwijtgeraakt", "i värsta fall"): still the bot's to
/// answer. The second list the knowledge base may not answer, but no phrase may claim them.
#[test]
fn routine_questions_near_the_new_phrases_are_not_handed_over_for_them() {
    let kb = kb();
    for (lang, text) in [
        (Lang::En, "how do I return an item"),
        (Lang::En, "my card was declined"),
        (Lang::En, "I forgot my password"),
        (Lang::En, "can I move my due date"),
        (Lang::En, "I changed my password and now I can't log in"),
        (Lang::En, "I don't have access to my account anymore"),
        (
            Lang::En,
            "do I still have access to my account after paying everything",
        ),
        (Lang::En, "I ordered the wrong size, how do I return it"),
        (Lang::En, "when will I get my refund"),
        (Lang::En, "the payment date has passed, can I still pay"),
        (
            Lang::En,
            "sorry for my terrible english, how do I move my due date",
        ),
        (
            Lang::En,
            "is it the first time I'm writing, how do I pay early",
        ),
        (Lang::It, "ho dimenticato la password"),
        (Lang::It, "ho smarrito la password, come la cambio"),
        (Lang::It, "come faccio il reso di un prodotto"),
        (Lang::De, "ich habe mein passwort vergessen"),
        (Lang::De, "kauf nicht genehmigt, was heißt das?"),
        (Lang::De, "kann ich die rate verschieben"),
        (Lang::Nl, "aankoop niet goedgekeurd, wat betekent dat?"),
        (Lang::Nl, "ik ben mijn wachtwoord kwijtgeraakt"),
        (Lang::Nl, "ik ben mijn wachtwoord vergeten"),
        (Lang::Sv, "jag har glömt mitt lösenord"),
        (Lang::Sv, "i värsta fall, kan jag flytta datumet?"),
        (Lang::Sv, "hur returnerar jag en vara"),
        (Lang::Ru, "я забыл пароль"),
        (Lang::Ru, "операция отклонена, что делать"),
        (Lang::Ru, "как вернуть товар"),
        (Lang::Ru, "можно перенести платеж"),
    ] {
        let d = triage(&kb, text, Some(lang));
        assert!(
            matches!(d.reason, TriageReason::Answered { .. }),
            "{lang}: {text}: {d:?}"
        );
    }
    for (lang, text) in [
        (Lang::En, "payment not authorised, what does that mean"),
        (
            Lang::En,
            "my phone died while paying, did the payment go through?",
        ),
        (Lang::It, "posso pagare a fine mese?"),
        (Lang::De, "wie melde ich mich in der app an"),
        (Lang::Sv, "jag fick fel när jag betalade"),
        (
            Lang::En,
            "it's the first time I'm writing, how does pay in 4 work",
        ),
        (Lang::En, "payment not authorised"),
        (Lang::It, "la rata è scomparsa dall'app"),
        (Lang::Nl, "ik heb nog niks ontvangen van de terugbetaling"),
        (
            Lang::De,
            "ich möchte den artikel in einer anderen größe umtauschen",
        ),
        (Lang::Sv, "beroende på lönen, kan jag flytta betalningen?"),
        (Lang::Ru, "переведите деньги на карту, пожалуйста"),
    ] {
        let d = triage(&kb, text, Some(lang));
        assert!(
            !matches!(
                d.reason,
                TriageReason::AskedForPerson { .. } | TriageReason::Sensitive { .. }
            ),
            "{lang}: {text}: {d:?}"
        );
    }
}
