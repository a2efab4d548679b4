//! The dispatch core driven directly, with injected time: offers, declines, timeouts,
//! disconnects, grace periods, draining, queue order, drafts, replay, and property tests over
//! random event sequences. (Supervision, masking and drafts in `dispatch_supervision.rs`; the
//! gig-work rules in `dispatch_gig.rs`.)

mod dispatch;

use dispatch::*;
use proptest::prelude::*;
use shiftdesk_hub::dispatch::{Command, Dispatch, DispatchConfig, DraftWanted, Effect, Input};
use shiftdesk_hub::drafting::DraftProposal;
use shiftdesk_hub::facts::Fact;
use std::sync::Arc;

use shiftdesk_hub::triage::{ScriptedTriage, SensitiveTopic, TriageReason};
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{
    Author, ConversationState, CustomerEvent, DraftAction, ErrorCode, RejectReason, Role,
    WorkerEvent, WorkerInfo, WorkerStatus,
};

#[test]
fn the_bot_keeps_what_it_can_answer() {
    let mut s = Sim::new();
    s.online("w1", &[Lang::En], 2);
    let c = s.customer(Lang::En);
    let effects = s.say(&c, "how do I pay early?", bot_answer(Lang::En));
    assert!(offers(&effects).is_empty());
    assert_eq!(
        customer_texts(&effects),
        vec![(Author::Bot, "You can pay early in the app.".to_string())]
    );
    assert_eq!(s.d.conversation_state(&c), Some(ConversationState::Bot));
}

#[test]
fn asking_for_a_person_offers_to_the_longest_idle_worker() {
    let mut s = Sim::new();
    s.online("early", &[Lang::En, Lang::It], 2);
    s.now += 5_000;
    s.online("late", &[Lang::It], 2);
    s.now += 1_000;
    let c = s.customer(Lang::It);
    let effects = s.say(&c, "voglio parlare con un operatore", asked(Lang::It));
    assert_eq!(offers(&effects), vec![("early".to_string(), c.clone())]);
    // The customer is told a person is coming, with the place in the queue and who is on
    // shift for Italian; no wait is promised before anyone was answered today.
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::ToCustomer {
            event: CustomerEvent::Queued {
                position: 1,
                expected_wait_ms: None,
                on_shift: Some(2),
            },
            ..
        }
    )));
    // And a draft is requested for the worker.
    assert!(draft_wanted(&effects).is_some());
}

#[test]
fn decline_and_timeout_move_the_offer_on_and_are_counted() {
    let mut s = Sim::new();
    s.online("a", &[Lang::En], 1);
    s.now += 1;
    s.online("b", &[Lang::En], 1);
    s.now += 1;
    s.online("c", &[Lang::En], 1);
    let conv = s.customer(Lang::En);
    let first = offers(&s.say(&conv, "human please", asked(Lang::En)));
    assert_eq!(first, vec![("a".to_string(), conv.clone())]);

    let declined = s
        .cmd(
            "a",
            Command::DeclineOffer(conv.clone(), Some("lunch".into())),
        )
        .expect("decline accepted");
    assert_eq!(offers(&declined), vec![("b".to_string(), conv.clone())]);

    let expired = s.advance(30_000);
    assert_eq!(offers(&expired), vec![("c".to_string(), conv.clone())]);
    assert!(expired.iter().any(|e| matches!(
        e,
        Effect::ToWorker { worker, event: WorkerEvent::OfferWithdrawn { reason, .. } } if worker == "b" && reason == "expired"
    )));

    assert_eq!(s.d.worker_stats("a").map(|st| st.offers_declined), Some(1));
    assert_eq!(s.d.worker_stats("b").map(|st| st.offers_missed), Some(1));
    // An expired offer cannot be accepted any more.
    assert_eq!(
        s.cmd("b", Command::AcceptOffer(conv.clone())),
        Err(ErrorCode::Conflict)
    );
    s.cmd("c", Command::AcceptOffer(conv.clone()))
        .expect("accepted");
    assert_eq!(s.d.owner(&conv), Some("c"));
    assert_eq!(s.d.worker_stats("c").map(|st| st.offers_accepted), Some(1));
}

#[test]
fn a_worker_who_passed_is_offered_again_only_after_a_cooldown() {
    let mut s = Sim::new();
    s.online("solo", &[Lang::En], 1);
    let conv = s.customer(Lang::En);
    s.say(&conv, "agent", asked(Lang::En));
    let e = s
        .cmd("solo", Command::DeclineOffer(conv.clone(), None))
        .expect("ok");
    assert!(offers(&e).is_empty(), "not straight back to the decliner");
    assert!(
        s.d.next_deadline().is_some(),
        "a timer is set for the cooldown"
    );
    let e = s.advance(30_000);
    assert_eq!(offers(&e), vec![("solo".to_string(), conv)]);
}

#[test]
fn only_eligible_workers_get_offers() {
    let mut s = Sim::new();
    s.online("de", &[Lang::De], 2);
    s.run(Input::WorkerConnected {
        info: info("onbreak", &[Lang::Sv], 2),
        resumed: false,
    });
    s.cmd("onbreak", Command::SetStatus(WorkerStatus::Break))
        .expect("ok");
    let conv = s.customer(Lang::Sv);
    let e = s.say(&conv, "människa", asked(Lang::Sv));
    assert!(offers(&e).is_empty());
    assert_eq!(
        s.d.conversation_state(&conv),
        Some(ConversationState::Queued)
    );
    // The Swedish speaker comes back from break: the offer goes to them.
    let e = s
        .cmd("onbreak", Command::SetStatus(WorkerStatus::Available))
        .expect("ok");
    assert_eq!(offers(&e), vec![("onbreak".to_string(), conv)]);
}

#[test]
fn capacity_limits_offers() {
    let mut s = Sim::new();
    s.online("w", &[Lang::En], 1);
    let c1 = s.customer(Lang::En);
    s.say(&c1, "person", asked(Lang::En));
    s.cmd("w", Command::AcceptOffer(c1.clone())).expect("ok");
    let c2 = s.customer(Lang::En);
    let e = s.say(&c2, "person", asked(Lang::En));
    assert!(offers(&e).is_empty(), "worker is full");
    let e = s.cmd("w", Command::Resolve(c1)).expect("ok");
    assert_eq!(offers(&e), vec![("w".to_string(), c2)]);
}

#[test]
fn queue_order_is_priority_then_waiting_time() {
    let mut s = Sim::new();
    let first = s.customer(Lang::En);
    s.say(&first, "person", asked(Lang::En));
    s.now += 1000;
    let second = s.customer(Lang::En);
    s.say(&second, "person", asked(Lang::En));
    s.now += 1000;
    let fraud = s.customer(Lang::En);
    s.say(
        &fraud,
        "charge I don't recognise",
        to_human(
            Lang::En,
            TriageReason::Sensitive {
                topic: SensitiveTopic::Fraud,
                phrase: "don't recognise".into(),
            },
        ),
    );
    assert_eq!(s.d.queue_position(&fraud), Some(1));
    assert_eq!(s.d.queue_position(&first), Some(2));
    assert_eq!(s.d.queue_position(&second), Some(3));
    s.run(Input::WorkerConnected {
        info: info("w", &[Lang::En], 3),
        resumed: false,
    });
    let e = s
        .cmd("w", Command::SetStatus(WorkerStatus::Available))
        .expect("ok");
    assert_eq!(offers(&e), vec![("w".to_string(), fraud)]);
}

#[test]
fn a_disconnect_withdraws_the_offer_and_the_grace_period_returns_conversations() {
    let mut s = Sim::new();
    s.online("w1", &[Lang::En], 2);
    s.now += 1;
    s.online("w2", &[Lang::En], 2);
    let owned = s.customer(Lang::En);
    s.say(&owned, "person", asked(Lang::En));
    s.now += 1;
    // Accepting makes w1 busy since now, so w2 has been idle longer.
    s.cmd("w1", Command::AcceptOffer(owned.clone()))
        .expect("ok");
    let offered = s.customer(Lang::En);
    let e = s.say(&offered, "person", asked(Lang::En));
    assert_eq!(offers(&e), vec![("w2".to_string(), offered.clone())]);
    // w2 has the offer; it drops: the offer goes to w1 at once.
    let e = s.run(Input::WorkerDisconnected {
        worker: "w2".into(),
    });
    assert_eq!(offers(&e), vec![("w1".to_string(), offered.clone())]);
    s.cmd("w1", Command::AcceptOffer(offered.clone()))
        .expect("ok");

    // w1 drops: keeps both for the grace period.
    s.run(Input::WorkerDisconnected {
        worker: "w1".into(),
    });
    s.advance(59_000);
    assert_eq!(s.d.owner(&owned), Some("w1"));
    // Reconnecting in time keeps them.
    s.run(Input::WorkerConnected {
        info: info("w1", &[Lang::En], 2),
        resumed: false,
    });
    s.advance(10_000);
    assert_eq!(s.d.owner(&owned), Some("w1"));
    // Drop again and stay away: after the grace period both go back to the queue, with the
    // transcript, and w1 is offline.
    s.run(Input::WorkerDisconnected {
        worker: "w1".into(),
    });
    s.advance(60_000);
    assert_eq!(s.d.owner(&owned), None);
    assert_eq!(
        s.d.conversation_state(&owned),
        Some(ConversationState::Queued)
    );
    assert_eq!(s.d.worker_status("w1"), Some(WorkerStatus::Offline));
    let view = s.d.conversation_view(&owned).expect("still there");
    assert!(view.messages.iter().any(|m| m.text == "person"));
}

#[test]
fn draining_finishes_then_goes_offline() {
    let mut s = Sim::new();
    s.online("w", &[Lang::En], 2);
    let c = s.customer(Lang::En);
    s.say(&c, "person", asked(Lang::En));
    s.cmd("w", Command::AcceptOffer(c.clone())).expect("ok");
    s.cmd("w", Command::SetStatus(WorkerStatus::Draining))
        .expect("ok");
    let c2 = s.customer(Lang::En);
    let e = s.say(&c2, "person", asked(Lang::En));
    assert!(offers(&e).is_empty(), "draining takes no new work");
    assert_eq!(s.d.worker_status("w"), Some(WorkerStatus::Draining));
    s.cmd("w", Command::Resolve(c)).expect("ok");
    assert_eq!(s.d.worker_status("w"), Some(WorkerStatus::Offline));
    assert_eq!(s.d.worker_stats("w").map(|st| st.handled), Some(1));
}

#[test]
fn a_draft_is_given_the_message_it_answers_and_the_lines_before_it_not_later_ones() {
    let mut s = Sim::new();
    s.online("w", &[Lang::En], 2);
    let c = s.customer(Lang::En);
    s.say(&c, "hello there", bot_answer(Lang::En));
    let e = s.say(&c, "I want a person about my refund", asked(Lang::En));
    let wanted = draft_wanted(&e).expect("draft requested").clone();
    // The customer writes again before the draft is started: the first request still gets
    // its own message, and a transcript that ends with it.
    s.say(&c, "it was order 4471", asked(Lang::En));
    let need = s.d.draft_need(&wanted).expect("the conversation is there");
    assert_eq!(need.for_message, wanted.for_message);
    assert_eq!(need.text, "I want a person about my refund");
    assert_eq!(need.history, vec!["hello there".to_string()]);
    let last = need.transcript.last().expect("a transcript");
    assert_eq!(last.text, need.text);
    assert!(
        need.transcript
            .iter()
            .all(|t| t.text != "it was order 4471")
    );
    let gone = DraftWanted {
        conversation: "no-such-conversation".into(),
        ..wanted
    };
    assert_eq!(s.d.draft_need(&gone), None);
}

#[test]
fn drafts_accepted_edited_rejected_and_regenerated() {
    let mut s = Sim::new();
    s.online("w", &[Lang::En], 2);
    let c = s.customer(Lang::En);
    let e = s.say(&c, "I want a person about my refund", asked(Lang::En));
    let for_message = draft_wanted(&e).expect("draft requested").for_message;
    let proposal = |text: &str| DraftProposal {
        text: text.into(),
        confidence: 0.8,
        intent: "refunds_returns".into(),
        language: Lang::En,
        sources: vec!["refunds-returns".into()],
        drafter: "kb".into(),
        model: None,
        latency_ms: None,
    };
    s.run(Input::DraftReady {
        conversation: c.clone(),
        draft: "d1".into(),
        for_message,
        attempt: 0,
        proposal: proposal("Refunds take 5 days."),
    });
    // Only the owner may act on it.
    assert_eq!(
        s.cmd(
            "w",
            Command::Draft(c.clone(), "d1".into(), DraftAction::Accept)
        ),
        Err(ErrorCode::NotYours)
    );
    let e = s.cmd("w", Command::AcceptOffer(c.clone())).expect("ok");
    let view = e
        .iter()
        .find_map(|e| match e {
            Effect::ToWorker {
                event: WorkerEvent::Conversation { conversation },
                ..
            } => Some(conversation.clone()),
            _ => None,
        })
        .expect("conversation sent on accept");
    let draft = view.draft.expect("the draft waits for the worker");
    let e = s
        .cmd(
            "w",
            Command::Draft(c.clone(), draft.id.clone(), DraftAction::Accept),
        )
        .expect("ok");
    assert_eq!(
        customer_texts(&e),
        vec![(Author::Worker, "Refunds take 5 days.".to_string())]
    );
    // The same draft cannot be used twice.
    assert_eq!(
        s.cmd(
            "w",
            Command::Draft(c.clone(), draft.id, DraftAction::Accept)
        ),
        Err(ErrorCode::Conflict)
    );

    // Next message: regenerate, then edit.
    let e = s.say(&c, "and how long exactly?", asked(Lang::En));
    let n = draft_wanted(&e)
        .expect("draft requested for a message to an assigned conversation")
        .for_message;
    s.run(Input::DraftReady {
        conversation: c.clone(),
        draft: "d2".into(),
        for_message: n,
        attempt: 0,
        proposal: proposal("First try."),
    });
    let e = s
        .cmd(
            "w",
            Command::Draft(c.clone(), "d2".into(), DraftAction::Regenerate),
        )
        .expect("ok");
    assert!(
        e.iter()
            .any(|e| matches!(e, Effect::NeedDraft(need) if need.attempt == 1))
    );
    s.run(Input::DraftReady {
        conversation: c.clone(),
        draft: "d3".into(),
        for_message: n,
        attempt: 1,
        proposal: proposal("Second try."),
    });
    let e = s
        .cmd(
            "w",
            Command::Draft(
                c.clone(),
                "d3".into(),
                DraftAction::Edit {
                    text: "Second try, edited.".into(),
                },
            ),
        )
        .expect("ok");
    assert_eq!(
        customer_texts(&e),
        vec![(Author::Worker, "Second try, edited.".to_string())]
    );
    assert!(e.iter().any(|e| matches!(
        e,
        Effect::Record(Fact::DraftSettled {
            edit_distance: Some(8),
            ..
        })
    )));

    // A rejected draft is never sent.
    let e = s.say(&c, "thanks", asked(Lang::En));
    let n = draft_wanted(&e).expect("draft requested").for_message;
    s.run(Input::DraftReady {
        conversation: c.clone(),
        draft: "d4".into(),
        for_message: n,
        attempt: 0,
        proposal: proposal("Bye."),
    });
    let e = s
        .cmd(
            "w",
            Command::Draft(
                c.clone(),
                "d4".into(),
                DraftAction::Reject {
                    reason: RejectReason::Tone,
                },
            ),
        )
        .expect("ok");
    assert!(customer_texts(&e).is_empty());
    let stats = s.d.worker_stats("w").expect("known");
    assert_eq!(
        (
            stats.drafts_accepted,
            stats.drafts_edited,
            stats.drafts_rejected,
            stats.drafts_regenerated
        ),
        (1, 1, 1, 1)
    );
}

#[test]
fn commands_on_someone_elses_conversation_are_refused() {
    let mut s = Sim::new();
    s.online("owner", &[Lang::En], 1);
    s.online("other", &[Lang::En], 1);
    let c = s.customer(Lang::En);
    let e = s.say(&c, "person", asked(Lang::En));
    let (offered_to, _) = offers(&e).remove(0);
    let other = if offered_to == "owner" {
        "other"
    } else {
        "owner"
    };
    assert_eq!(
        s.cmd(other, Command::AcceptOffer(c.clone())),
        Err(ErrorCode::Conflict)
    );
    s.cmd(&offered_to, Command::AcceptOffer(c.clone()))
        .expect("ok");
    for command in [
        Command::Reply(c.clone(), "hi".into()),
        Command::Note(c.clone(), "n".into()),
        Command::Resolve(c.clone()),
        Command::Transfer(c.clone(), None),
    ] {
        assert_eq!(s.cmd(other, command), Err(ErrorCode::NotYours));
    }
    assert_eq!(
        s.cmd(other, Command::Whisper(c.clone(), "psst".into())),
        Err(ErrorCode::Forbidden)
    );
    assert_eq!(
        s.cmd(other, Command::TakeOver(c)),
        Err(ErrorCode::Forbidden)
    );
}

#[test]
fn transfer_puts_it_back_in_the_queue_for_someone_else() {
    let mut s = Sim::new();
    s.online("a", &[Lang::Nl], 1);
    let c = s.customer(Lang::Nl);
    s.say(&c, "medewerker", asked(Lang::Nl));
    s.cmd("a", Command::AcceptOffer(c.clone())).expect("ok");
    s.online("b", &[Lang::Nl], 1);
    let e = s
        .cmd(
            "a",
            Command::Transfer(c.clone(), Some("needs disputes team".into())),
        )
        .expect("ok");
    assert_eq!(offers(&e), vec![("b".to_string(), c)]);
}

#[test]
fn replaying_the_log_rebuilds_the_same_state() {
    let mut s = Sim::new();
    s.online("a", &[Lang::En, Lang::De], 2);
    let c1 = s.customer(Lang::De);
    s.say(&c1, "Mitarbeiter bitte", asked(Lang::De));
    s.cmd("a", Command::AcceptOffer(c1.clone())).expect("ok");
    s.cmd("a", Command::Reply(c1.clone(), "Hallo!".into()))
        .expect("ok");
    let c2 = s.customer(Lang::En);
    s.say(&c2, "person", asked(Lang::En));
    let c3 = s.customer(Lang::En);
    s.say(&c3, "pay early?", bot_answer(Lang::En));

    let mut replayed = Dispatch::new(DispatchConfig::default(), s.triage.clone());
    // The hub loads worker profiles from its token store before replaying.
    replayed.upsert_worker(info("a", &[Lang::En, Lang::De], 2));
    for f in &s.facts {
        replayed.apply(f);
    }
    replayed
        .check_invariants()
        .expect("invariants after replay");
    for c in [&c1, &c2, &c3] {
        assert_eq!(replayed.conversation_view(c), s.d.conversation_view(c));
    }
    assert_eq!(replayed.wallboard(s.now), s.d.wallboard(s.now));
    // The open offer survives too, with its deadline.
    assert_eq!(replayed.next_deadline(), s.d.next_deadline());
}

// ---------------------------------------------------------------------------------------------
// Property tests: random sequences of events never break the rules.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Step {
    Connect(usize),
    Disconnect(usize),
    Status(usize, WorkerStatus),
    NewCustomer(usize),
    Say(usize, bool),
    Accept(usize, usize),
    Decline(usize, usize),
    Reply(usize, usize),
    Resolve(usize, usize),
    Transfer(usize, usize),
    Leave(usize),
    TakeOver(usize),
    HandBack(usize, usize),
    Advance(u64),
}

const LANGS: [Lang; 3] = [Lang::En, Lang::It, Lang::Ru];

fn step() -> impl Strategy<Value = Step> {
    let status = prop_oneof![
        Just(WorkerStatus::Available),
        Just(WorkerStatus::Break),
        Just(WorkerStatus::Draining),
        Just(WorkerStatus::Offline),
    ];
    prop_oneof![
        (0..4usize).prop_map(Step::Connect),
        (0..4usize).prop_map(Step::Disconnect),
        ((0..4usize), status).prop_map(|(w, s)| Step::Status(w, s)),
        (0..3usize).prop_map(Step::NewCustomer),
        ((0..6usize), any::<bool>()).prop_map(|(c, h)| Step::Say(c, h)),
        ((0..4usize), (0..6usize)).prop_map(|(w, c)| Step::Accept(w, c)),
        ((0..4usize), (0..6usize)).prop_map(|(w, c)| Step::Decline(w, c)),
        ((0..4usize), (0..6usize)).prop_map(|(w, c)| Step::Reply(w, c)),
        ((0..4usize), (0..6usize)).prop_map(|(w, c)| Step::Resolve(w, c)),
        ((0..4usize), (0..6usize)).prop_map(|(w, c)| Step::Transfer(w, c)),
        (0..6usize).prop_map(Step::Leave),
        (0..6usize).prop_map(Step::TakeOver),
        ((0..6usize), (0..4usize)).prop_map(|(c, w)| Step::HandBack(c, w)),
        (0..40_000u64).prop_map(Step::Advance),
    ]
}

fn worker_info(i: usize) -> WorkerInfo {
    if i == 3 {
        // The supervisor speaks everything.
        WorkerInfo {
            role: Role::Supervisor,
            ..info("sup", &LANGS, 2)
        }
    } else {
        info(&format!("w{i}"), &LANGS[..=i.min(2)], 1 + i as u32 % 2)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Never two owners, never an offer to an ineligible worker, never a conversation lost;
    /// and the log always replays to the same state.
    #[test]
    fn random_sequences_keep_the_rules(steps in proptest::collection::vec(step(), 1..120)) {
        let triage = Arc::new(ScriptedTriage::default());
        let mut d = Dispatch::new(DispatchConfig { offer_timeout_ms: 30_000, grace_ms: 60_000, ..DispatchConfig::default() }, triage.clone());
        let mut facts: Vec<Fact> = vec![];
        let mut now = T0;
        let mut conversations: Vec<String> = vec![];
        for step in steps {
            let wid = |i: usize| worker_info(i).id;
            let conv = |i: usize| conversations.get(i % conversations.len().max(1)).cloned().unwrap_or_default();
            let input = match step {
                Step::Connect(w) => Input::WorkerConnected { info: worker_info(w), resumed: false },
                Step::Disconnect(w) => Input::WorkerDisconnected { worker: wid(w) },
                Step::Status(w, s) => Input::Command { worker: wid(w), command: Command::SetStatus(s) },
                Step::NewCustomer(l) => Input::CustomerOpened { conversation: format!("c{}", conversations.len() + 1), customer: "x".into(), language: Some(LANGS[l]), key: "k".into(), context: vec![], verified: vec![] },
                Step::Say(c, human) => {
                    let c = conv(c);
                    let lang = d.conversation_language(&c).unwrap_or(Lang::En);
                    if d.conversation_state(&c) == Some(ConversationState::Bot) {
                        triage.push(if human { asked(lang) } else { bot_answer(lang) });
                    }
                    Input::CustomerMessage { conversation: c, text: "hello".into() }
                }
                Step::Accept(w, c) => Input::Command { worker: wid(w), command: Command::AcceptOffer(conv(c)) },
                Step::Decline(w, c) => Input::Command { worker: wid(w), command: Command::DeclineOffer(conv(c), None) },
                Step::Reply(w, c) => Input::Command { worker: wid(w), command: Command::Reply(conv(c), "ok".into()) },
                Step::Resolve(w, c) => Input::Command { worker: wid(w), command: Command::Resolve(conv(c)) },
                Step::Transfer(w, c) => Input::Command { worker: wid(w), command: Command::Transfer(conv(c), None) },
                Step::Leave(c) => Input::CustomerLeft { conversation: conv(c) },
                Step::TakeOver(c) => Input::Command { worker: "sup".into(), command: Command::TakeOver(conv(c)) },
                Step::HandBack(c, w) => Input::Command { worker: "sup".into(), command: Command::HandBack(conv(c), wid(w)) },
                Step::Advance(ms) => { now += ms; Input::Tick }
            };
            if let Ok(effects) = d.handle(input, now) {
                for e in &effects {
                    match e {
                        Effect::Record(f) => {
                            if let Fact::ConversationOpened { conversation, .. } = f {
                                conversations.push(conversation.clone());
                            }
                            facts.push(f.clone());
                        }
                        Effect::ToWorker { worker, event: WorkerEvent::Offer { language, language_fallback, .. } } => {
                            let w = (0..4).map(worker_info).find(|i| &i.id == worker);
                            prop_assert!(w.is_some_and(|w| w.languages.contains(language) != *language_fallback),
                                "offer to {worker} who does not speak {language}, fallback {language_fallback}");
                        }
                        _ => {}
                    }
                }
            }
            if let Err(broken) = d.check_invariants() {
                prop_assert!(false, "{}", broken);
            }
            // Never lost: every conversation ever opened is still known.
            for c in &conversations {
                prop_assert!(d.conversation_state(c).is_some(), "{c} lost");
            }
        }
        let mut replayed = Dispatch::new(DispatchConfig { offer_timeout_ms: 30_000, grace_ms: 60_000, ..DispatchConfig::default() }, triage);
        for w in 0..4 {
            replayed.upsert_worker(worker_info(w));
        }
        for f in &facts {
            replayed.apply(f);
        }
        for c in &conversations {
            prop_assert_eq!(replayed.conversation_view(c), d.conversation_view(c));
        }
        // Time is not in the log: a replayed core learns it from its next input, as the hub's
        // does (language-wait deadlines already handled are not reported again).
        let _ = d.handle(Input::Tick, now);
        let _ = replayed.handle(Input::Tick, now);
        prop_assert_eq!(replayed.next_deadline(), d.next_deadline());
    }
}
