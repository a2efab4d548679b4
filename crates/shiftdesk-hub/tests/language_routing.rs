//! Language-aware routing, driven through the dispatch core with injected time: a customer who
//! declares no language has it detected from their messages and recorded in the log; offers go
//! to workers who speak it; when none is free within the language wait, the conversation goes to
//! any eligible worker, marked as a fallback, at a deadline the core reports itself.
//!
//! Customer messages are triaged the way the hub's engine does it: `triage::triage` with the
//! conversation's known language (`Dispatch::conversation_language`) as the hint.

use proptest::prelude::*;
use shiftdesk_hub::dispatch::{Command, Dispatch, DispatchConfig, Effect, Input};
use shiftdesk_hub::drafting::kb::KnowledgeBase;
use shiftdesk_hub::facts::Fact;
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{ConversationState, Role, WorkerEvent, WorkerInfo, WorkerStatus};
use std::sync::Arc;

const T0: u64 = 1_700_000_000_000;
const WAIT: u64 = 60_000;

fn info(id: &str, langs: &[Lang]) -> WorkerInfo {
    WorkerInfo {
        id: id.into(),
        name: id.to_uppercase(),
        role: Role::Worker,
        languages: langs.to_vec(),
        skills: vec![],
        capacity: 2,
    }
}

/// An offer as a worker sees it.
#[derive(Debug, Clone, PartialEq)]
struct SeenOffer {
    worker: String,
    conversation: String,
    language: Lang,
    fallback: bool,
    because: String,
}

fn offers(effects: &[Effect]) -> Vec<SeenOffer> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::ToWorker {
                worker,
                event:
                    WorkerEvent::Offer {
                        conversation,
                        language,
                        because,
                        language_fallback,
                        ..
                    },
            } => Some(SeenOffer {
                worker: worker.clone(),
                conversation: conversation.clone(),
                language: *language,
                fallback: *language_fallback,
                because: because.clone(),
            }),
            _ => None,
        })
        .collect()
}

struct Sim {
    d: Dispatch,
    facts: Vec<Fact>,
    now: u64,
}

impl Sim {
    fn new(language_wait_ms: u64) -> Sim {
        Sim {
            d: Dispatch::new(
                DispatchConfig {
                    language_wait_ms,
                    ..DispatchConfig::default()
                },
                Arc::new(KnowledgeBase::builtin()),
            ),
            facts: vec![],
            now: T0,
        }
    }

    fn run(&mut self, input: Input) -> Vec<Effect> {
        let effects = self.d.handle(input, self.now).expect("input accepted");
        for e in &effects {
            if let Effect::Record(f) = e {
                self.facts.push(f.clone());
            }
        }
        self.d.check_invariants().expect("invariants hold");
        effects
    }

    fn online(&mut self, id: &str, langs: &[Lang]) {
        self.run(Input::WorkerConnected {
            info: info(id, langs),
            resumed: false,
        });
        self.run(Input::Command {
            worker: id.into(),
            command: Command::SetStatus(WorkerStatus::Available),
        });
    }

    fn customer(&mut self, declared: Option<Lang>) -> String {
        let conversation = format!("c{}", self.d.conversation_ids().len() + 1);
        let effects = self.run(Input::CustomerOpened {
            conversation,
            customer: "Kim".into(),
            language: declared,
            key: "k".into(),
            context: vec![],
            verified: Vec::new(),
        });
        effects
            .iter()
            .find_map(|e| match e {
                Effect::Record(Fact::ConversationOpened { conversation, .. }) => {
                    Some(conversation.clone())
                }
                _ => None,
            })
            .expect("a conversation opened")
    }

    /// A customer message; the core triages it with the built-in knowledge base.
    fn say(&mut self, conversation: &str, text: &str) -> Vec<Effect> {
        self.run(Input::CustomerMessage {
            conversation: conversation.into(),
            text: text.into(),
        })
    }

    fn tick_at(&mut self, at: u64) -> Vec<Effect> {
        self.now = at;
        self.run(Input::Tick)
    }

    fn replayed(&self) -> Dispatch {
        let mut d = Dispatch::new(self.d.config(), self.d.triage_policy());
        for f in &self.facts {
            d.apply(f);
        }
        d
    }

    fn detected(&self, conversation: &str) -> Vec<Lang> {
        self.facts
            .iter()
            .filter_map(|f| match f {
                Fact::LanguageDetected {
                    conversation: c,
                    language,
                    ..
                } if c == conversation => Some(*language),
                _ => None,
            })
            .collect()
    }
}

fn drafts_in(effects: &[Effect]) -> Vec<Lang> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::NeedDraft(need) => Some(need.language),
            _ => None,
        })
        .collect()
}

#[test]
fn undeclared_customers_are_detected_recorded_and_survive_replay() {
    let cases = [
        ("Hej! Jag vill prata med en människa, tack.", Lang::Sv),
        ("Здравствуйте, мне нужен оператор, пожалуйста", Lang::Ru),
        ("Ciao, vorrei parlare con un operatore per favore", Lang::It),
    ];
    for (text, want) in cases {
        let mut s = Sim::new(WAIT);
        let c = s.customer(None);
        assert_eq!(
            s.d.conversation_language(&c),
            None,
            "nothing known before the customer writes"
        );
        let effects = s.say(&c, text);
        assert_eq!(s.detected(&c), vec![want], "{text}");
        assert_eq!(s.d.conversation_language(&c), Some(want), "{text}");
        assert_eq!(s.d.language_declared(&c), Some(false));
        // Queued in that language, drafted in it, and the customer view says it was not declared.
        assert_eq!(drafts_in(&effects), vec![want], "{text}");
        let view = s.d.conversation_view(&c).expect("view");
        assert_eq!(view.language, want);
        assert_eq!(view.customer.language, None);
        let replayed = s.replayed();
        assert_eq!(replayed.conversation_language(&c), Some(want), "{text}");
        assert_eq!(replayed.conversation_view(&c), s.d.conversation_view(&c));
    }
}

#[test]
fn a_clear_later_message_refines_the_language_while_with_the_bot() {
    let mut s = Sim::new(WAIT);
    s.online("eng", &[Lang::En]);
    s.now += 1;
    s.online("deb", &[Lang::De]);
    let c = s.customer(None);
    // A question the bot answers, in English.
    s.say(&c, "Can I pay early?");
    assert_eq!(s.d.conversation_state(&c), Some(ConversationState::Bot));
    assert_eq!(s.detected(&c), vec![Lang::En]);
    // Then clearly German, with more to go on: the language changes, and the conversation goes
    // to the German speaker, drafted in German.
    let effects = s.say(
        &c,
        "Ich möchte bitte mit einem Mitarbeiter sprechen, ich habe eine Frage zu meiner Zahlung",
    );
    assert_eq!(s.detected(&c), vec![Lang::En, Lang::De]);
    assert_eq!(s.d.conversation_language(&c), Some(Lang::De));
    let got = offers(&effects);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].worker.as_str(), got[0].language), ("deb", Lang::De));
    assert_eq!(drafts_in(&effects), vec![Lang::De]);
    // Once a person has it, later messages no longer change it.
    s.say(&c, "Sorry, can we do this in English?");
    assert_eq!(s.detected(&c), vec![Lang::En, Lang::De]);
    assert_eq!(s.replayed().conversation_language(&c), Some(Lang::De));
}

#[test]
fn a_terse_reply_does_not_undo_a_clear_detection() {
    let mut s = Sim::new(WAIT);
    let c = s.customer(None);
    s.say(&c, "Kan jag betala i förväg?");
    assert_eq!(s.detected(&c), vec![Lang::Sv]);
    assert_eq!(
        s.d.conversation_state(&c),
        Some(ConversationState::Bot),
        "the bot answers this one"
    );
    // "ok" alone says nothing (it would route as English); with what came before, still Swedish.
    let effects = s.say(&c, "ok");
    assert_eq!(s.detected(&c), vec![Lang::Sv]);
    assert_eq!(s.d.conversation_language(&c), Some(Lang::Sv));
    assert_eq!(drafts_in(&effects), vec![Lang::Sv]);
}

#[test]
fn unclear_text_records_nothing_and_routes_as_english() {
    let mut s = Sim::new(WAIT);
    s.online("eng", &[Lang::En]);
    let c = s.customer(None);
    let effects = s.say(&c, "ok?");
    assert!(s.detected(&c).is_empty());
    assert_eq!(s.d.conversation_language(&c), None, "still not known");
    let got = offers(&effects);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].language, got[0].fallback), (Lang::En, false));
}

#[test]
fn the_speaker_gets_the_offer_even_if_an_english_worker_idled_longer() {
    let mut s = Sim::new(WAIT);
    s.online("eng", &[Lang::En]);
    s.now += 10 * 60_000;
    s.online("sven", &[Lang::Sv, Lang::En]);
    s.now += 1_000;
    let c = s.customer(None);
    let effects = s.say(&c, "Hej, jag vill prata med en människa");
    let got = offers(&effects);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].worker, "sven");
    assert_eq!(got[0].language, Lang::Sv);
    assert!(!got[0].fallback);
    assert!(got[0].because.contains("speaks sv"), "{}", got[0].because);
}

#[test]
fn with_only_a_non_speaker_free_the_offer_waits_then_falls_back_marked() {
    let mut s = Sim::new(WAIT);
    s.online("eng", &[Lang::En]);
    s.now += 1_000;
    let c = s.customer(None);
    let queued_at = s.now;
    let effects = s.say(&c, "Здравствуйте, мне нужен оператор");
    assert!(offers(&effects).is_empty(), "nobody speaks ru yet");
    assert_eq!(s.d.conversation_state(&c), Some(ConversationState::Queued));

    let deadline =
        s.d.next_deadline()
            .expect("the language wait is a deadline");
    assert_eq!(deadline, queued_at + WAIT);
    // Just before it: still nothing.
    assert!(offers(&s.tick_at(deadline - 1)).is_empty());
    assert_eq!(s.d.next_deadline(), Some(deadline));
    // At it, with no other event: offered to the English worker, marked.
    let got = offers(&s.tick_at(deadline));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].worker, "eng");
    assert_eq!(got[0].language, Lang::Ru);
    assert!(got[0].fallback);
    assert!(
        got[0]
            .because
            .starts_with("no free ru speaker after 1m00s: offered to any language"),
        "{}",
        got[0].because
    );
    // The mark follows the conversation to the worker who accepts it, and survives replay.
    s.run(Input::Command {
        worker: "eng".into(),
        command: Command::AcceptOffer(c.clone()),
    });
    let view = s.d.conversation_view(&c).expect("view");
    assert!(view.language_fallback);
    assert_eq!(view.language, Lang::Ru);
    assert_eq!(s.replayed().conversation_view(&c), Some(view));
}

#[test]
fn a_speaker_who_comes_online_during_the_wait_gets_it_unmarked() {
    let mut s = Sim::new(WAIT);
    s.online("eng", &[Lang::En]);
    let c = s.customer(None);
    assert!(offers(&s.say(&c, "Jag vill prata med en människa")).is_empty());
    s.now += WAIT / 2;
    s.run(Input::WorkerConnected {
        info: info("sven", &[Lang::Sv]),
        resumed: false,
    });
    let effects = s.run(Input::Command {
        worker: "sven".into(),
        command: Command::SetStatus(WorkerStatus::Available),
    });
    let got = offers(&effects);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].worker.as_str(), got[0].fallback), ("sven", false));
}

#[test]
fn after_a_fallback_decline_the_next_worker_is_still_chosen_longest_idle_first() {
    let mut s = Sim::new(0);
    s.online("a", &[Lang::En]);
    s.now += 1;
    s.online("b", &[Lang::De]);
    s.now += 1;
    let c = s.customer(Some(Lang::Ru));
    let got = offers(&s.say(&c, "мне нужен оператор"));
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].worker.as_str(), got[0].fallback), ("a", true));
    let effects = s.run(Input::Command {
        worker: "a".into(),
        command: Command::DeclineOffer(c.clone(), None),
    });
    let got = offers(&effects);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].worker.as_str(), got[0].fallback), ("b", true));
}

#[test]
fn a_declared_language_wins_over_detection_of_a_short_ambiguous_message() {
    let mut s = Sim::new(WAIT);
    s.online("eng", &[Lang::En]);
    s.now += 1;
    s.online("nina", &[Lang::Nl]);
    let c = s.customer(Some(Lang::Nl));
    assert_eq!(s.d.conversation_language(&c), Some(Lang::Nl));
    // "help" alone reads as English, but the customer said Dutch. ("hello" alone would get the
    // bot's question instead of a person.)
    let effects = s.say(&c, "help");
    assert!(s.detected(&c).is_empty(), "declared: no detection fact");
    assert_eq!(s.d.conversation_language(&c), Some(Lang::Nl));
    assert_eq!(s.d.language_declared(&c), Some(true));
    let got = offers(&effects);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].worker.as_str(), got[0].language),
        ("nina", Lang::Nl)
    );
    assert_eq!(drafts_in(&effects), vec![Lang::Nl]);
    let view = s.d.conversation_view(&c).expect("view");
    assert_eq!(view.customer.language, Some(Lang::Nl));
}

#[test]
fn the_same_short_message_undeclared_is_detected_as_english() {
    // The contrast to the test above: without a declaration, "help" is English.
    let mut s = Sim::new(WAIT);
    s.online("eng", &[Lang::En]);
    s.now += 1;
    s.online("nina", &[Lang::Nl]);
    let c = s.customer(None);
    let got = offers(&s.say(&c, "help"));
    assert_eq!(s.detected(&c), vec![Lang::En]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].worker.as_str(), got[0].language), ("eng", Lang::En));
}

#[test]
fn language_wait_zero_falls_back_at_once() {
    let mut s = Sim::new(0);
    s.online("eng", &[Lang::En]);
    let c = s.customer(None);
    let got = offers(&s.say(&c, "Hej, jag vill prata med en människa"));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].worker, "eng");
    assert!(got[0].fallback);
    assert!(got[0].because.contains("after 0s"), "{}", got[0].because);
}

#[test]
fn a_passed_language_deadline_is_not_reported_again() {
    // Nobody at all is free: the deadline fires once, then the next event does the matching.
    let mut s = Sim::new(WAIT);
    let c = s.customer(None);
    s.say(&c, "мне нужен оператор");
    let deadline = s.d.next_deadline().expect("deadline");
    assert!(offers(&s.tick_at(deadline)).is_empty());
    assert_eq!(
        s.d.next_deadline(),
        None,
        "no busy loop on a passed deadline"
    );
    s.now += 5_000;
    s.online("eng", &[Lang::En]);
    assert_eq!(s.d.conversation_state(&c), Some(ConversationState::Offered));
}

#[test]
fn old_logs_without_the_new_fields_still_replay() {
    let opened = serde_json::json!({
        "fact": "conversation_opened", "conversation": "c1", "customer": "Old",
        "language": "de", "key": "k", "at": T0,
    });
    let offered = serde_json::json!({
        "fact": "offered", "conversation": "c1", "worker": "w", "deadline": T0 + 30_000,
        "at": T0,
    });
    let opened: Fact = serde_json::from_value(opened).expect("old conversation_opened");
    let offered: Fact = serde_json::from_value(offered).expect("old offered");
    assert!(matches!(
        &opened,
        Fact::ConversationOpened {
            language: Some(Lang::De),
            ..
        }
    ));
    assert!(matches!(
        &offered,
        Fact::Offered {
            language_fallback: false,
            ..
        }
    ));
    let mut d = Dispatch::new(
        DispatchConfig::default(),
        Arc::new(KnowledgeBase::builtin()),
    );
    d.apply(&opened);
    assert_eq!(d.conversation_language("c1"), Some(Lang::De));
    assert_eq!(d.language_declared("c1"), Some(true));
    // And a fact without a fallback serializes as before (no new key).
    let json = serde_json::to_string(&offered).expect("serialize");
    assert!(!json.contains("language_fallback"), "{json}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Whatever the workers' languages, idle order and the wait: a speaker, if any is free, gets
    /// the offer unmarked; otherwise nobody before the wait and a marked offer to the longest
    /// idle worker at the deadline.
    #[test]
    fn speakers_first_then_the_longest_idle_after_the_wait(
        langs in proptest::collection::vec(proptest::sample::subsequence(Lang::ALL.to_vec(), 1..=2), 1..5),
        customer in proptest::sample::select(Lang::ALL.to_vec()),
        wait_s in 0u64..120,
    ) {
        let mut s = Sim::new(wait_s * 1000);
        for (i, l) in langs.iter().enumerate() {
            s.online(&format!("w{i}"), l);
            s.now += 1_000;
        }
        let c = s.customer(Some(customer));
        let effects = s.run(Input::CustomerMessage {
            conversation: c.clone(),
            text: "operator please person".into(),
        });
        let language = s.d.conversation_language(&c).expect("declared");
        let speaker = langs.iter().position(|l| l.contains(&language));
        let got = offers(&effects);
        match (speaker, wait_s) {
            (Some(i), _) => {
                prop_assert_eq!(got.len(), 1);
                prop_assert_eq!(&got[0].worker, &format!("w{i}"));
                prop_assert!(!got[0].fallback);
            }
            (None, 0) => {
                prop_assert_eq!(got.len(), 1);
                prop_assert_eq!(&got[0].worker, "w0");
                prop_assert!(got[0].fallback);
            }
            (None, _) => {
                prop_assert!(got.is_empty());
                let deadline = s.d.next_deadline().expect("deadline");
                let got = offers(&s.tick_at(deadline));
                prop_assert_eq!(got.len(), 1);
                prop_assert_eq!(&got[0].worker, "w0");
                prop_assert!(got[0].fallback);
            }
        }
    }
}
