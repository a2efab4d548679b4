//! The dispatch core driven directly, with injected time: offers, declines, timeouts,
//! disconnects, grace periods, draining, queue order, drafts, replay, and property tests over
//! random event sequences.

use proptest::prelude::*;
use shiftdesk_hub::dispatch::{Command, Dispatch, DispatchConfig, DraftWanted, Effect, Input};
use shiftdesk_hub::drafting::DraftProposal;
use shiftdesk_hub::facts::Fact;
use std::sync::Arc;

use shiftdesk_hub::triage::{ScriptedTriage, SensitiveTopic, TriageDecision, TriageReason};
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{
    Author, ConversationState, CustomerEvent, DraftAction, ErrorCode, RejectReason, Role,
    WorkerEvent, WorkerInfo, WorkerStatus,
};

const T0: u64 = 1_700_000_000_000;

fn info(id: &str, langs: &[Lang], capacity: u32) -> WorkerInfo {
    WorkerInfo {
        id: id.into(),
        name: id.to_uppercase(),
        role: Role::Worker,
        languages: langs.to_vec(),
        skills: vec![],
        capacity,
    }
}

fn to_human(lang: Lang, reason: TriageReason) -> TriageDecision {
    TriageDecision {
        to_human: true,
        reason,
        language: lang,
        intent: "other".into(),
        confidence: 0.3,
        bot_answer: None,
        sources: vec![],
    }
}

fn asked(lang: Lang) -> TriageDecision {
    to_human(
        lang,
        TriageReason::AskedForPerson {
            phrase: "a person".into(),
        },
    )
}

fn bot_answer(lang: Lang) -> TriageDecision {
    TriageDecision {
        to_human: false,
        reason: TriageReason::Answered {
            article: "pay-early".into(),
            confidence: 0.9,
        },
        language: lang,
        intent: "pay_early".into(),
        confidence: 0.9,
        bot_answer: Some("You can pay early in the app.".into()),
        sources: vec!["pay-early".into()],
    }
}

fn clarify(lang: Lang) -> TriageDecision {
    TriageDecision {
        to_human: false,
        reason: TriageReason::Clarify {
            first: "move-due-date".into(),
            second: "payment-plans".into(),
        },
        language: lang,
        intent: "unknown".into(),
        confidence: 0.6,
        bot_answer: Some("Do you mean moving a due date, or payment plans?".into()),
        sources: vec!["move-due-date".into(), "payment-plans".into()],
    }
}

/// A test harness around the core that keeps every recorded fact.
struct Sim {
    d: Dispatch,
    triage: Arc<ScriptedTriage>,
    facts: Vec<Fact>,
    now: u64,
}

impl Sim {
    fn new() -> Sim {
        let triage = Arc::new(ScriptedTriage::default());
        Sim {
            d: Dispatch::new(
                DispatchConfig {
                    offer_timeout_ms: 30_000,
                    grace_ms: 60_000,
                    ..DispatchConfig::default()
                },
                triage.clone(),
            ),
            triage,
            facts: vec![],
            now: T0,
        }
    }

    fn run(&mut self, input: Input) -> Vec<Effect> {
        let effects = self.d.handle(input, self.now).expect("input accepted");
        self.keep(&effects);
        self.d.check_invariants().expect("invariants hold");
        effects
    }

    fn keep(&mut self, effects: &[Effect]) {
        for e in effects {
            if let Effect::Record(f) = e {
                self.facts.push(f.clone());
            }
        }
    }

    fn cmd(&mut self, worker: &str, command: Command) -> Result<Vec<Effect>, ErrorCode> {
        match self.d.handle(
            Input::Command {
                worker: worker.into(),
                command,
            },
            self.now,
        ) {
            Ok(effects) => {
                self.keep(&effects);
                self.d.check_invariants().expect("invariants hold");
                Ok(effects)
            }
            Err(r) => Err(r.code),
        }
    }

    fn online(&mut self, id: &str, langs: &[Lang], capacity: u32) {
        self.run(Input::WorkerConnected {
            info: info(id, langs, capacity),
            resumed: false,
        });
        self.cmd(id, Command::SetStatus(WorkerStatus::Available))
            .expect("status accepted");
    }

    fn customer(&mut self, lang: Lang) -> String {
        let conversation = format!("c{}", self.d.conversation_ids().len() + 1);
        let effects = self.run(Input::CustomerOpened {
            conversation,
            customer: "Ana".into(),
            language: Some(lang),
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

    /// A customer message; `triage` is what the core's triage decides if the bot has it.
    fn say(&mut self, conversation: &str, text: &str, triage: TriageDecision) -> Vec<Effect> {
        if self.d.conversation_state(conversation) == Some(ConversationState::Bot) {
            self.triage.push(triage);
        }
        self.run(Input::CustomerMessage {
            conversation: conversation.into(),
            text: text.into(),
        })
    }

    fn advance(&mut self, ms: u64) -> Vec<Effect> {
        self.now += ms;
        self.run(Input::Tick)
    }
}

fn offers(effects: &[Effect]) -> Vec<(String, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::ToWorker {
                worker,
                event: WorkerEvent::Offer { conversation, .. },
            } => Some((worker.clone(), conversation.clone())),
            _ => None,
        })
        .collect()
}

/// The draft the core asked for, if it asked for one.
fn draft_wanted(effects: &[Effect]) -> Option<&DraftWanted> {
    effects.iter().find_map(|e| match e {
        Effect::NeedDraft(wanted) => Some(wanted),
        _ => None,
    })
}

fn customer_texts(effects: &[Effect]) -> Vec<(Author, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::ToCustomer {
                event: CustomerEvent::Message { from, text, .. },
                ..
            } => Some((*from, text.clone())),
            _ => None,
        })
        .collect()
}

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

#[test]
fn time_to_a_person_counts_until_someone_takes_it_today() {
    let mut s = Sim::new();
    let c = s.customer(Lang::It);
    s.say(&c, "operatore", asked(Lang::It));
    s.now += 5_000;
    s.online("w", &[Lang::It], 1);
    s.now += 3_000;
    s.cmd("w", Command::AcceptOffer(c)).expect("accepted");
    let it =
        s.d.wallboard(s.now)
            .queues
            .into_iter()
            .find(|q| q.language == Lang::It)
            .expect("the Italian queue");
    assert_eq!(
        it.time_to_human_p50_ms,
        Some(8_000),
        "queued until accepted"
    );
    // Tomorrow, today's figures no longer count.
    let tomorrow = s.now + 24 * 60 * 60 * 1000;
    let it =
        s.d.wallboard(tomorrow)
            .queues
            .into_iter()
            .find(|q| q.language == Lang::It)
            .expect("the Italian queue");
    assert_eq!(it.time_to_human_p50_ms, None);
}

#[test]
fn shadowing_supervisors_follow_the_conversation_to_its_new_owner() {
    let mut s = Sim::new();
    s.online("w1", &[Lang::En], 1);
    s.run(Input::WorkerConnected {
        info: WorkerInfo {
            role: Role::Supervisor,
            ..info("sup", &[Lang::En], 1)
        },
        resumed: false,
    });
    let c = s.customer(Lang::En);
    s.say(&c, "person", asked(Lang::En));
    s.cmd("w1", Command::AcceptOffer(c.clone())).expect("ok");
    s.cmd("sup", Command::Shadow(c.clone())).expect("ok");
    s.online("w2", &[Lang::En], 1);
    let e = s
        .cmd("w1", Command::Transfer(c.clone(), None))
        .expect("transferred");
    let told_sup = e.iter().any(|e| {
        matches!(e, Effect::ToWorker { worker, event: WorkerEvent::Conversation { conversation } }
            if worker == "sup" && conversation.owner.is_none())
    });
    assert!(told_sup, "the shadower sees it back in the queue");
    let e = s.cmd("w2", Command::AcceptOffer(c.clone())).expect("ok");
    let told_sup = e.iter().any(|e| {
        matches!(e, Effect::ToWorker { worker, event: WorkerEvent::Conversation { conversation } }
            if worker == "sup" && conversation.owner.as_deref() == Some("w2"))
    });
    assert!(told_sup, "the shadower sees the new owner");
}

#[test]
fn shadowing_is_in_the_log_and_ends_with_the_supervisors_connection() {
    let mut s = Sim::new();
    s.online("w1", &[Lang::En], 1);
    s.run(Input::WorkerConnected {
        info: WorkerInfo {
            role: Role::Supervisor,
            ..info("sup", &[Lang::En], 1)
        },
        resumed: false,
    });
    let c = s.customer(Lang::En);
    s.say(&c, "person", asked(Lang::En));
    s.cmd("w1", Command::AcceptOffer(c.clone())).expect("ok");
    let e = s.cmd("sup", Command::Shadow(c.clone())).expect("ok");
    assert!(e.iter().any(|e| matches!(e, Effect::Record(Fact::ShadowStarted { supervisor, .. }) if supervisor == "sup")));
    // A hub that replays the log knows who watches.
    let mut replayed = Dispatch::new(DispatchConfig::default(), s.triage.clone());
    replayed.upsert_worker(info("w1", &[Lang::En], 1));
    replayed.upsert_worker(WorkerInfo {
        role: Role::Supervisor,
        ..info("sup", &[Lang::En], 1)
    });
    for f in &s.facts {
        replayed.apply(f);
    }
    let view = replayed.conversation_view(&c).expect("the conversation");
    assert_eq!(view.shadowed_by, vec!["SUP".to_string()]);
    // Unshadowing twice records one fact; disconnecting ends the rest without a fact.
    let e = s.cmd("sup", Command::Unshadow(c.clone())).expect("ok");
    assert!(
        e.iter()
            .any(|e| matches!(e, Effect::Record(Fact::ShadowEnded { .. })))
    );
    let e = s.cmd("sup", Command::Unshadow(c.clone())).expect("ok");
    assert!(!e.iter().any(|e| matches!(e, Effect::Record(_))));
    s.cmd("sup", Command::Shadow(c.clone())).expect("ok");
    let e = s.run(Input::WorkerDisconnected {
        worker: "sup".into(),
    });
    let owner_told = e.iter().any(|e| {
        matches!(e, Effect::ToWorker { worker, event: WorkerEvent::Shadowers { supervisors, .. } }
            if worker == "w1" && supervisors.is_empty())
    });
    assert!(owner_told, "the owner sees nobody watching any more");
    let view = s.d.conversation_view(&c).expect("the conversation");
    assert!(view.shadowed_by.is_empty());
}

#[test]
fn workers_never_receive_a_customers_card_or_phone_number_in_full() {
    let mut s = Sim::new();
    s.online("w1", &[Lang::En], 1);
    let c = s.customer(Lang::En);
    let card = "my card 4242 4242 4242 4242 was charged, call +44 7700 900123";
    let e = s.say(&c, card, asked(Lang::En));
    let preview = e
        .iter()
        .find_map(|e| match e {
            Effect::ToWorker {
                event: WorkerEvent::Offer { preview, .. },
                ..
            } => Some(preview.clone()),
            _ => None,
        })
        .expect("an offer");
    let e = s.cmd("w1", Command::AcceptOffer(c.clone())).expect("ok");
    let view = e
        .iter()
        .find_map(|e| match e {
            Effect::ToWorker {
                event: WorkerEvent::Conversation { conversation },
                ..
            } => Some(conversation.clone()),
            _ => None,
        })
        .expect("the conversation");
    let e = s.say(&c, "it ends 4242 4242 4242 1111", asked(Lang::En));
    let line = e
        .iter()
        .find_map(|e| match e {
            Effect::ToWorker {
                event: WorkerEvent::Message { message, .. },
                ..
            } => Some(message.text.clone()),
            _ => None,
        })
        .expect("the new line");
    let sent = [preview, view.messages[1].text.clone(), line];
    for text in &sent {
        assert!(!text.contains("4242 4242"), "{text}");
        assert!(!text.contains("900123"), "{text}");
    }
    assert!(
        sent[0].contains("4242") && sent[2].contains("1111"),
        "{sent:?}"
    );
    // The log and the drafter keep what the customer wrote.
    assert!(
        s.facts
            .iter()
            .any(|f| matches!(f, Fact::CustomerSaid { text, .. } if text == card))
    );
}

#[test]
fn a_login_without_resume_gets_one_snapshot_with_the_offer_made_at_login() {
    let mut s = Sim::new();
    let c = s.customer(Lang::En);
    s.say(&c, "person", asked(Lang::En));
    s.run(Input::WorkerConnected {
        info: info("w1", &[Lang::En], 1),
        resumed: false,
    });
    let e = s
        .cmd("w1", Command::SetStatus(WorkerStatus::Available))
        .expect("ok");
    assert_eq!(offers(&e).len(), 1);
    // The console restarts: it logs in again without resuming and must be told everything.
    let e = s.run(Input::WorkerConnected {
        info: info("w1", &[Lang::En], 1),
        resumed: false,
    });
    let to_w1: Vec<&WorkerEvent> = e
        .iter()
        .filter_map(|e| match e {
            Effect::ToWorker { worker, event } if worker == "w1" => Some(event),
            _ => None,
        })
        .collect();
    let statuses = to_w1
        .iter()
        .filter(|e| matches!(e, WorkerEvent::Status { .. }))
        .count();
    let offers = to_w1
        .iter()
        .filter(|e| matches!(e, WorkerEvent::Offer { .. }))
        .count();
    assert_eq!((statuses, offers), (1, 1), "{to_w1:?}");
    // Resuming sends nothing: the console missed nothing.
    let e = s.run(Input::WorkerConnected {
        info: info("w1", &[Lang::En], 1),
        resumed: true,
    });
    assert!(
        !e.iter().any(|e| matches!(e, Effect::ToWorker { .. })),
        "{e:?}"
    );
}

fn supervisor(id: &str) -> WorkerInfo {
    WorkerInfo {
        role: Role::Supervisor,
        ..info(id, &[Lang::En], 1)
    }
}

/// A supervisor who logs in again while connected replaces the old connection, and what it
/// followed ends with it (PROTOCOL.md 5.1): each shadow is recorded as ended and the owner is
/// told, as when a connection drops. The supervisor stays connected and may shadow again.
#[test]
fn a_login_that_replaces_a_supervisors_connection_ends_its_shadows() {
    let mut s = Sim::new();
    s.online("w1", &[Lang::En], 1);
    s.run(Input::WorkerConnected {
        info: supervisor("sup"),
        resumed: false,
    });
    let c = s.customer(Lang::En);
    s.say(&c, "person", asked(Lang::En));
    s.cmd("w1", Command::AcceptOffer(c.clone())).expect("ok");
    s.cmd("sup", Command::Shadow(c.clone())).expect("ok");

    let e = s.run(Input::WorkerConnected {
        info: supervisor("sup"),
        resumed: true,
    });
    assert!(
        e.iter().any(|e| matches!(e,
            Effect::Record(Fact::ShadowEnded { supervisor, conversation, .. })
                if supervisor == "sup" && *conversation == c)),
        "the shadow's end is in the log: {e:?}"
    );
    let owner_told = e.iter().any(|e| {
        matches!(e, Effect::ToWorker { worker, event: WorkerEvent::Shadowers { supervisors, .. } }
            if worker == "w1" && supervisors.is_empty())
    });
    assert!(owner_told, "the owner sees nobody watching any more: {e:?}");
    assert!(
        !e.iter()
            .any(|e| matches!(e, Effect::Record(Fact::WorkerDisconnected { .. }))),
        "a replaced connection is not a disconnection"
    );
    assert!(
        s.d.conversation_view(&c)
            .expect("the conversation")
            .shadowed_by
            .is_empty()
    );
    // Nothing of the conversation reaches the supervisor now.
    let e = s.say(&c, "are you there?", asked(Lang::En));
    assert!(
        !e.iter()
            .any(|e| matches!(e, Effect::ToWorker { worker, .. } if worker == "sup")),
        "{e:?}"
    );
    // The new connection shadows again, as PROTOCOL.md 8.2 asks after every welcome.
    s.cmd("sup", Command::Shadow(c.clone())).expect("ok");
    assert_eq!(
        s.d.conversation_view(&c)
            .expect("the conversation")
            .shadowed_by,
        vec!["SUP".to_string()]
    );
}

fn kb_proposal(text: &str) -> DraftProposal {
    DraftProposal {
        text: text.into(),
        confidence: 0.8,
        intent: "refunds_returns".into(),
        language: Lang::En,
        sources: vec!["refunds-returns".into()],
        drafter: "kb".into(),
        model: None,
        latency_ms: None,
    }
}

/// A draft answers one customer message. Once the worker has replied after that message the
/// draft is stale: one that arrives then is dropped (never shown, never sendable), and one that
/// was waiting is refused with `stale_draft` rather than sent as a second answer.
#[test]
fn a_draft_for_a_message_the_worker_already_answered_is_never_delivered_or_sent() {
    let mut s = Sim::new();
    s.online("w", &[Lang::En], 2);
    let c = s.customer(Lang::En);
    let e = s.say(&c, "I want a person about my refund", asked(Lang::En));
    let first = draft_wanted(&e).expect("a draft is wanted").for_message;
    s.run(Input::DraftReady {
        conversation: c.clone(),
        draft: "d1".into(),
        for_message: first,
        attempt: 0,
        proposal: kb_proposal("Refunds take 5 days."),
    });
    s.cmd("w", Command::AcceptOffer(c.clone())).expect("ok");
    s.cmd("w", Command::Reply(c.clone(), "Let me check.".into()))
        .expect("ok");
    assert_eq!(
        s.cmd(
            "w",
            Command::Draft(c.clone(), "d1".into(), DraftAction::Accept)
        ),
        Err(ErrorCode::StaleDraft),
        "the waiting draft was discarded by the reply"
    );

    // The customer writes again; the worker answers before the drafter does.
    let e = s.say(&c, "it was 40 euros", asked(Lang::En));
    let second = draft_wanted(&e).expect("a draft is wanted").for_message;
    s.cmd("w", Command::Reply(c.clone(), "Found it.".into()))
        .expect("ok");
    let e = s.run(Input::DraftReady {
        conversation: c.clone(),
        draft: "d2".into(),
        for_message: second,
        attempt: 0,
        proposal: kb_proposal("Refunds take 5 days."),
    });
    assert!(
        !e.iter().any(|e| matches!(
            e,
            Effect::ToWorker {
                event: WorkerEvent::Draft { .. },
                ..
            } | Effect::Record(Fact::Drafted { .. })
        )),
        "a stale draft is dropped: {e:?}"
    );
    assert!(
        s.d.conversation_view(&c)
            .expect("the conversation")
            .draft
            .is_none()
    );
    assert_eq!(
        s.cmd(
            "w",
            Command::Draft(c.clone(), "d2".into(), DraftAction::Accept)
        ),
        Err(ErrorCode::Conflict),
        "a draft that was never delivered is unknown"
    );
    // Not even the drafter is asked for a message already answered.
    let wanted = DraftWanted {
        conversation: c.clone(),
        for_message: second,
        language: Lang::En,
        attempt: 0,
    };
    assert!(s.d.draft_need(&wanted).is_none());
}

/// Every draft ends with an outcome in the log: one replaced by a newer draft is `superseded`,
/// one a reply made moot is `discarded`, one left when the conversation ended is `abandoned`.
#[test]
fn drafts_nobody_acted_on_get_a_final_outcome_in_the_log_and_the_export() {
    use shiftdesk_hub::facts::DraftEnd;
    let mut s = Sim::new();
    s.online("w", &[Lang::En], 2);
    let c = s.customer(Lang::En);
    let ready = |s: &mut Sim, e: &[Effect], id: &str| {
        let n = draft_wanted(e).expect("a draft is wanted").for_message;
        s.run(Input::DraftReady {
            conversation: c.clone(),
            draft: id.into(),
            for_message: n,
            attempt: 0,
            proposal: kb_proposal("Refunds take 5 days."),
        })
    };
    let e = s.say(&c, "I want a person about my refund", asked(Lang::En));
    ready(&mut s, &e, "d1");
    let e = s.say(&c, "it was 40 euros", asked(Lang::En));
    ready(&mut s, &e, "d2");
    s.cmd("w", Command::AcceptOffer(c.clone())).expect("ok");
    s.cmd("w", Command::Reply(c.clone(), "Let me check.".into()))
        .expect("ok");
    let e = s.say(&c, "thanks", asked(Lang::En));
    ready(&mut s, &e, "d3");
    s.cmd("w", Command::Resolve(c.clone())).expect("ok");
    // A customer who leaves with a draft waiting.
    let left = s.customer(Lang::En);
    let e = s.say(&left, "I want a person", asked(Lang::En));
    let n = draft_wanted(&e).expect("a draft is wanted").for_message;
    s.run(Input::DraftReady {
        conversation: left.clone(),
        draft: "d4".into(),
        for_message: n,
        attempt: 0,
        proposal: kb_proposal("Hello."),
    });
    s.run(Input::CustomerLeft {
        conversation: left.clone(),
    });

    let ended: Vec<(String, DraftEnd)> = s
        .facts
        .iter()
        .filter_map(|f| match f {
            Fact::DraftEnded { draft, outcome, .. } => Some((draft.clone(), *outcome)),
            _ => None,
        })
        .collect();
    assert_eq!(
        ended,
        vec![
            ("d1".to_string(), DraftEnd::Superseded),
            ("d2".to_string(), DraftEnd::Discarded),
            ("d3".to_string(), DraftEnd::Abandoned),
            ("d4".to_string(), DraftEnd::Abandoned),
        ]
    );
    let exported: Vec<(String, serde_json::Value, bool)> = shiftdesk_hub::export::drafts(&s.facts)
        .iter()
        .map(|r| {
            let line = serde_json::to_value(r).expect("serializes");
            (
                r.draft.clone(),
                line["outcome"].clone(),
                r.settled_at.is_some(),
            )
        })
        .collect();
    assert_eq!(
        exported,
        vec![
            ("d1".to_string(), "superseded".into(), true),
            ("d2".to_string(), "discarded".into(), true),
            ("d3".to_string(), "abandoned".into(), true),
            ("d4".to_string(), "abandoned".into(), true),
        ]
    );
}

/// The drafter reads what the bot said before the hand-over, and which articles it answered
/// from (a clarifying question names two but sends neither).
#[test]
fn the_drafter_is_given_the_bots_answers_and_their_articles() {
    let mut s = Sim::new();
    s.online("w", &[Lang::En], 2);
    let c = s.customer(Lang::En);
    s.say(&c, "when do I pay?", clarify(Lang::En));
    s.say(&c, "the early one", bot_answer(Lang::En));
    let e = s.say(&c, "that doesn't help, I want a person", asked(Lang::En));
    let wanted = draft_wanted(&e).expect("draft requested").clone();
    let need = s.d.draft_need(&wanted).expect("the conversation is there");
    let bot: Vec<(&str, &[String])> = need
        .transcript
        .iter()
        .filter(|t| t.speaker == shiftdesk_hub::drafting::Speaker::Bot)
        .map(|t| (t.text.as_str(), t.sources.as_slice()))
        .collect();
    assert_eq!(bot.len(), 3, "greeting, question, answer: {bot:?}");
    assert!(
        bot[1].1.is_empty(),
        "a clarifying question sends no article"
    );
    assert_eq!(
        bot[2],
        (
            "You can pay early in the app.",
            &["pay-early".to_string()][..]
        )
    );
}

/// A clarifying question is a bot turn; the answer to it is triaged again; a second clarifying
/// question in a row would loop, so that message goes to a person instead.
#[test]
fn a_clarifying_question_is_a_bot_turn_and_never_asked_twice_in_a_row() {
    let mut s = Sim::new();
    s.online("w", &[Lang::En], 2);
    let c = s.customer(Lang::En);
    let e = s.say(&c, "can I put off my next instalment?", clarify(Lang::En));
    assert!(offers(&e).is_empty());
    assert_eq!(
        customer_texts(&e),
        vec![(
            Author::Bot,
            "Do you mean moving a due date, or payment plans?".to_string()
        )]
    );
    assert_eq!(s.d.conversation_state(&c), Some(ConversationState::Bot));
    assert!(draft_wanted(&e).is_none(), "no person, no draft");

    // Answered: the bot answers, and a later unclear message may be clarified again.
    let e = s.say(&c, "the first one", bot_answer(Lang::En));
    assert_eq!(customer_texts(&e).len(), 1);
    let e = s.say(&c, "and the next one?", clarify(Lang::En));
    assert_eq!(s.d.conversation_state(&c), Some(ConversationState::Bot));
    assert_eq!(customer_texts(&e)[0].0, Author::Bot);

    // Still unclear right after a clarifying question: a person, not another question.
    let e = s.say(&c, "hmm, both?", clarify(Lang::En));
    assert_eq!(offers(&e), vec![("w".to_string(), c.clone())]);
    assert!(
        customer_texts(&e)
            .iter()
            .all(|(from, _)| *from != Author::Bot)
    );
    let triaged = s
        .facts
        .iter()
        .rev()
        .find_map(|f| match f {
            Fact::Triaged { decision, .. } => Some(decision.clone()),
            _ => None,
        })
        .expect("triaged");
    assert!(triaged.to_human);
    assert!(
        matches!(triaged.reason, TriageReason::LowConfidence { .. }),
        "{triaged:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Decisions explained (issue 23)
// ---------------------------------------------------------------------------------------------

/// The decisions told to `worker` in these effects: (kind, conversation).
fn decisions_to(
    effects: &[Effect],
    worker: &str,
) -> Vec<(shiftdesk_protocol::DecisionKind, Option<String>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::ToWorker {
                worker: w,
                event: WorkerEvent::Decision { decision },
            } if w == worker => Some((decision.kind, decision.conversation.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn every_automated_decision_about_a_worker_is_recorded_with_its_parameters() {
    use shiftdesk_protocol::DecisionKind::*;
    let mut s = Sim::new();
    s.online("a", &[Lang::En], 1);
    s.now += 1_000;
    s.online("b", &[Lang::En], 1);
    s.now += 1_000;
    let conv = s.customer(Lang::En);
    let e = s.say(&conv, "human please", asked(Lang::En));
    let c = Some(conv.clone());
    assert_eq!(decisions_to(&e, "a"), [(Offered, c.clone())]);
    assert_eq!(decisions_to(&e, "b"), [(OfferedElsewhere, c.clone())]);
    let offered = s.d.decisions_about("a");
    let d = &offered[0];
    assert_eq!(d.rule, "longest_idle");
    assert_eq!(d.params["idle_ms"], "2000");
    assert_eq!(d.params["eligible"], "2");
    assert!(
        d.text.contains("waited longest") && d.text.contains("never used"),
        "{}",
        d.text
    );
    let elsewhere = &s.d.decisions_about("b")[0];
    assert_eq!(elsewhere.params["chosen_idle_ms"], "2000");
    assert_eq!(elsewhere.params["your_idle_ms"], "1000");

    // A decline: skipped for one offer timeout; the offer goes to b.
    let e = s
        .cmd("a", Command::DeclineOffer(conv.clone(), None))
        .expect("declined");
    assert_eq!(decisions_to(&e, "a"), [(SkippedAfterDecline, c.clone())]);
    assert_eq!(decisions_to(&e, "b"), [(Offered, c.clone())]);
    assert_eq!(s.d.decisions_about("a")[1].params["cooldown_ms"], "30000");

    // b lets it expire: told so, and skipped too; it goes back to a (cooled down by then).
    let e = s.advance(30_000);
    assert_eq!(
        decisions_to(&e, "b"),
        [(OfferExpired, c.clone()), (SkippedAfterDecline, c.clone())]
    );
    assert_eq!(decisions_to(&e, "a"), [(Offered, c.clone())]);
    s.cmd("a", Command::AcceptOffer(conv.clone())).expect("ok");

    // a's console drops past the grace period: the conversation goes back, and a is told why.
    s.run(Input::WorkerDisconnected { worker: "a".into() });
    let e = s.advance(60_000);
    assert_eq!(decisions_to(&e, "a"), [(ReturnedAfterGrace, c.clone())]);
    let returned = s.d.decisions_about("a").pop().expect("recorded");
    assert_eq!(returned.params["grace_ms"], "60000");

    // All of it is in the log: a replay rebuilds the same list.
    let mut replayed = Dispatch::new(s.d.config(), s.d.triage_policy());
    for f in &s.facts {
        replayed.apply(f);
    }
    for w in ["a", "b"] {
        assert_eq!(replayed.decisions_about(w), s.d.decisions_about(w), "{w}");
    }
}

#[test]
fn a_language_fallback_is_explained_with_the_language_wait() {
    use shiftdesk_protocol::DecisionKind::*;
    let mut s = Sim::new();
    s.online("en", &[Lang::En], 1);
    let conv = s.customer(Lang::Ru);
    s.say(&conv, "оператор", asked(Lang::Ru));
    let e = s.advance(60_000);
    let c = Some(conv.clone());
    assert_eq!(
        decisions_to(&e, "en"),
        [(Offered, c.clone()), (LanguageFallback, c)]
    );
    let d = s.d.decisions_about("en").pop().expect("recorded");
    assert_eq!(d.rule, "language_wait");
    assert_eq!(d.params["language"], "ru");
    assert_eq!(d.params["language_wait_ms"], "60000");
}

#[test]
fn about_dispatch_is_built_from_the_live_configuration() {
    let d = Dispatch::new(
        DispatchConfig {
            offer_timeout_ms: 45_000,
            grace_ms: 90_000,
            language_wait_ms: 0,
            ..DispatchConfig::default()
        },
        Arc::new(ScriptedTriage::default()),
    );
    let about = d.about();
    let rule = |name: &str| {
        about
            .rules
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("rule {name}"))
    };
    assert_eq!(rule("offer_timeout").params["offer_timeout_ms"], "45000");
    assert!(rule("offer_timeout").text.contains("45s"));
    assert_eq!(rule("grace_period").params["grace_ms"], "90000");
    assert_eq!(rule("language_wait").params["language_wait_ms"], "0");
    assert!(rule("longest_idle").text.contains("waited longest"));
    assert!(!about.monitored.is_empty());
    assert!(
        about
            .not_monitored
            .iter()
            .any(|m| m.contains("Acceptance or decline rates"))
    );
}

/// Who gets each offer, in order, when `a` and `b` serve the same customers; before them, `a`
/// has `a_passes` conversations pass by (declined, or left to expire: `expire`).
fn who_gets_offers(a_passes: usize, expire: bool) -> Vec<String> {
    let mut s = Sim::new();
    s.online("a", &[Lang::En], 1);
    s.now += 1_000;
    s.online("b", &[Lang::En], 1);
    s.now += 1_000;
    s.online("z", &[Lang::En], 1);
    // `a`, idle longest, gets each of these first and passes on it.
    for _ in 0..a_passes {
        let c = s.customer(Lang::En);
        let e = s.say(&c, "person", asked(Lang::En));
        assert_eq!(offers(&e)[0].0, "a");
        let e = if expire {
            s.advance(30_000)
        } else {
            s.cmd("a", Command::DeclineOffer(c.clone(), None))
                .expect("declined")
        };
        let (taker, _) = offers(&e).pop().expect("offered to the next");
        assert_ne!(taker, "a");
        // The customer leaves before anyone takes it: nobody's idle time changes; only `a`'s
        // declined or missed count does.
        s.run(Input::CustomerLeft { conversation: c });
    }
    let st = s.d.worker_stats("a").expect("a's figures");
    assert_eq!((st.offers_declined + st.offers_missed) as usize, a_passes);
    // Same clock from here on, whatever happened before.
    s.now = T0 + 1_000_000;
    let mut got = Vec::new();
    for _ in 0..4 {
        let c = s.customer(Lang::En);
        let e = s.say(&c, "person", asked(Lang::En));
        let (w, _) = offers(&e).pop().expect("an offer");
        s.cmd(&w, Command::AcceptOffer(c.clone())).expect("ok");
        s.now += 1_000;
        s.cmd(&w, Command::Resolve(c)).expect("resolved");
        s.now += 1_000;
        got.push(w);
    }
    got
}

#[test]
fn acceptance_and_decline_rates_never_change_who_gets_offers() {
    // Whatever `a`'s record (no pass, many declines, many missed offers), the same fresh
    // customers go to the same workers: longest idle first, nothing else.
    let clean = who_gets_offers(0, false);
    assert_eq!(clean, who_gets_offers(5, false), "after declines");
    assert_eq!(clean, who_gets_offers(5, true), "after missed offers");
    assert_eq!(clean, ["a", "b", "z", "a"]);
}

// ---------------------------------------------------------------------------------------------
// Shifts and earnings (issue 23)
// ---------------------------------------------------------------------------------------------

#[test]
fn a_shift_is_recorded_with_its_times_and_earnings_when_it_ends() {
    let mut s = Sim::new();
    s.d.set_rates(Some(shiftdesk_hub::dispatch::RateCard {
        currency: "EUR".into(),
        per_engaged_hour: 12.0,
        per_conversation: 0.5,
        language_premium: [("it".to_string(), 0.2)].into_iter().collect(),
        night_premium: 0.0,
        night_hours: [22, 6],
    }));
    s.online("w", &[Lang::It], 2);
    s.now += 60_000;
    let conv = s.customer(Lang::It);
    s.say(&conv, "operatore", asked(Lang::It));
    s.now += 5_000;
    s.cmd("w", Command::AcceptOffer(conv.clone())).expect("ok");
    // 30 minutes engaged, then 10 minutes on break, then drain and stop.
    s.now += 30 * 60_000;
    let e = s.cmd("w", Command::Resolve(conv)).expect("ok");
    let status_earnings = e.iter().find_map(|e| match e {
        Effect::ToWorker {
            event: WorkerEvent::Status { stats, .. },
            ..
        } => stats.earnings.clone(),
        _ => None,
    });
    assert_eq!(status_earnings.map(|e| e.total), Some(600 + 50 + 20));
    s.cmd("w", Command::SetStatus(WorkerStatus::Break))
        .expect("ok");
    s.now += 10 * 60_000;
    s.cmd("w", Command::SetStatus(WorkerStatus::Offline))
        .expect("ok");

    let shift = s
        .facts
        .iter()
        .find_map(|f| match f {
            Fact::ShiftEnded { shift, .. } => Some(shift.clone()),
            _ => None,
        })
        .expect("the shift is in the log");
    assert_eq!(shift.worker, "w");
    assert_eq!(shift.end - shift.start, (65 + 30 * 60 + 10 * 60) * 1000);
    assert_eq!(shift.available_ms, (65 + 30 * 60) * 1000);
    assert_eq!(shift.engaged_ms, 30 * 60_000);
    assert_eq!(shift.break_ms, 10 * 60_000);
    assert_eq!(shift.conversations, 1);
    let earnings = shift.earnings.clone().expect("a rate card");
    let lines: Vec<(&str, u64)> = earnings
        .lines
        .iter()
        .map(|l| (l.kind.as_str(), l.amount))
        .collect();
    assert_eq!(
        lines,
        [
            ("engaged_time", 600),
            ("conversations", 50),
            ("language_premium", 20)
        ]
    );
    assert_eq!(s.d.shifts_of("w"), std::slice::from_ref(&shift));
    // Offline, the figures still show what the shift earned (the summary reads them).
    assert_eq!(
        s.d.worker_stats("w").and_then(|st| st.earnings),
        Some(earnings)
    );

    // The history is rebuilt by a replay, rate card or not.
    let mut replayed = Dispatch::new(s.d.config(), s.d.triage_policy());
    for f in &s.facts {
        replayed.apply(f);
    }
    assert_eq!(replayed.shifts_of("w"), [shift]);
}

// ---------------------------------------------------------------------------------------------
// Planned shifts (issue 23)
// ---------------------------------------------------------------------------------------------

const SLOT: u64 = 30 * 60_000;
const WEEK: u64 = 7 * 24 * 3_600_000;

#[test]
fn the_forecast_comes_from_the_same_slot_of_the_last_four_weeks() {
    let mut s = Sim::new();
    s.online("w", &[Lang::En, Lang::It], 9);
    // A fresh hub has no history.
    let week = s.d.schedule("w", s.now);
    assert_eq!(week.history_weeks, 0);
    assert_eq!(week.slots.len(), 336);
    assert!(week.slots.iter().all(|slot| slot.forecast.is_empty()));
    // Two Italian customers and an English one in this slot, then two weeks pass.
    let slot_start = s.d.slot_start(s.now);
    for lang in [Lang::It, Lang::It, Lang::En] {
        let c = s.customer(lang);
        s.say(&c, "person", asked(lang));
    }
    s.now += 2 * WEEK;
    let week = s.d.schedule("w", s.now);
    assert_eq!(week.history_weeks, 2);
    let same = week
        .slots
        .iter()
        .find(|slot| (slot.start - slot_start).is_multiple_of(WEEK))
        .expect("the same slot of the week");
    assert_eq!(same.forecast["it"], 1.0, "two over two weeks");
    assert_eq!(same.forecast["en"], 0.5);
    let next = week
        .slots
        .iter()
        .find(|slot| slot.start == same.start + SLOT)
        .expect("the next slot");
    assert!(next.forecast.is_empty());
}

#[test]
fn booked_slots_end_in_a_drain_explained_to_the_worker() {
    use shiftdesk_protocol::DecisionKind;
    let mut s = Sim::new();
    s.online("w", &[Lang::En], 2);
    let now_slot = s.d.slot_start(s.now);
    // Not a slot start; a past slot: refused.
    assert_eq!(
        s.cmd("w", Command::BookSlot(now_slot + 1)),
        Err(ErrorCode::BadField)
    );
    assert_eq!(
        s.cmd("w", Command::BookSlot(now_slot - SLOT)),
        Err(ErrorCode::Conflict)
    );
    s.cmd("w", Command::BookSlot(now_slot))
        .expect("the current slot");
    s.cmd("w", Command::BookSlot(now_slot + SLOT))
        .expect("and the next");
    s.cmd("w", Command::BookSlot(now_slot + 4 * SLOT))
        .expect("a later one");
    // Released well ahead: not late; the schedule shows what is booked.
    s.cmd("w", Command::ReleaseSlot(now_slot + 4 * SLOT))
        .expect("released");
    assert!(s.facts.iter().any(|f| matches!(
        f,
        Fact::SlotReleased { late: false, start, .. } if *start == now_slot + 4 * SLOT
    )));
    let week = s.d.schedule("w", s.now);
    let booked: Vec<u64> = week
        .slots
        .iter()
        .filter(|slot| slot.booked)
        .map(|slot| slot.start)
        .collect();
    assert_eq!(booked, [now_slot, now_slot + SLOT]);
    assert_eq!(week.slots[0].booked_workers, 1);
    // Supervisors see booked versus expected for the next slots on the wallboard.
    let loads = s.d.wallboard(s.now).slots;
    assert_eq!(loads.len(), 4);
    assert_eq!((loads[0].start, loads[0].booked), (now_slot, 1));
    assert_eq!(loads[2].booked, 0);

    // The hub wakes up for the end of the booked stretch, not the end of the first slot.
    assert_eq!(s.d.next_deadline(), Some(now_slot + 2 * SLOT));
    let owned = s.customer(Lang::En);
    s.say(&owned, "person", asked(Lang::En));
    s.cmd("w", Command::AcceptOffer(owned.clone())).expect("ok");
    s.now = now_slot + SLOT + 1_000;
    s.advance(0);
    assert_eq!(s.d.worker_status("w"), Some(WorkerStatus::Available));
    s.now = now_slot + 2 * SLOT;
    let e = s.advance(0);
    assert_eq!(s.d.worker_status("w"), Some(WorkerStatus::Draining));
    assert_eq!(s.d.owner(&owned), Some("w"), "open chats are finished");
    assert!(e.iter().any(|e| matches!(
        e,
        Effect::ToWorker { event: WorkerEvent::Decision { decision }, .. }
            if decision.kind == DecisionKind::DrainedAtSlotEnd
    )));
    // Going available again is up to the worker, and is not undone at the next tick.
    s.cmd("w", Command::SetStatus(WorkerStatus::Available))
        .expect("ok");
    s.advance(60_000);
    assert_eq!(s.d.worker_status("w"), Some(WorkerStatus::Available));

    // A late release is recorded as late; the bookings come back with a replay.
    let later = s.d.slot_start(s.now) + SLOT;
    s.cmd("w", Command::BookSlot(later)).expect("booked");
    s.now = later - 60_000;
    s.cmd("w", Command::ReleaseSlot(later)).expect("released");
    assert!(s.facts.iter().any(|f| matches!(
        f,
        Fact::SlotReleased { late: true, start, .. } if *start == later
    )));
    let mut replayed = Dispatch::new(s.d.config(), s.d.triage_policy());
    for f in &s.facts {
        replayed.apply(f);
    }
    assert_eq!(
        replayed.schedule("w", s.now).slots,
        s.d.schedule("w", s.now).slots
    );
}

/// What `queued` tells a customer, from a list of effects.
fn queued(effects: &[Effect]) -> Vec<(String, Option<u64>, Option<u32>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::ToCustomer {
                conversation,
                event:
                    CustomerEvent::Queued {
                        expected_wait_ms,
                        on_shift,
                        ..
                    },
            } => Some((conversation.clone(), *expected_wait_ms, *on_shift)),
            _ => None,
        })
        .collect()
}

#[test]
fn queued_customers_hear_who_is_on_shift_and_todays_typical_wait() {
    let mut s = Sim::new();
    // Nobody on shift for Italian: said so, and no wait promised.
    let first = s.customer(Lang::It);
    let effects = s.say(&first, "voglio parlare con un operatore", asked(Lang::It));
    assert_eq!(queued(&effects), vec![(first.clone(), None, Some(0))]);
    // An English speaker coming on shift changes nothing for Italian customers.
    s.online("emma", &[Lang::En], 2);
    assert_eq!(
        s.d.conversation_state(&first),
        Some(ConversationState::Queued)
    );
    // The first Italian speaker does: the waiting customer is told someone is on shift now.
    s.now += 30_000;
    s.run(Input::WorkerConnected {
        info: info("giulia", &[Lang::It], 2),
        resumed: false,
    });
    let effects = s
        .cmd("giulia", Command::SetStatus(WorkerStatus::Available))
        .expect("status accepted");
    assert_eq!(queued(&effects), vec![(first.clone(), None, Some(1))]);
    assert_eq!(
        offers(&effects),
        vec![("giulia".to_string(), first.clone())]
    );
    s.cmd("giulia", Command::AcceptOffer(first.clone()))
        .expect("accepted");
    // The first took 30 s today: the next customer hears that as the typical wait.
    let second = s.customer(Lang::It);
    let effects = s.say(&second, "voglio parlare con un operatore", asked(Lang::It));
    assert_eq!(
        queued(&effects),
        vec![(second.clone(), Some(30_000), Some(1))]
    );
    // Giulia goes on a break, so nobody who speaks Italian is on shift: the customer hears it.
    let effects = s
        .cmd("giulia", Command::SetStatus(WorkerStatus::Break))
        .expect("status accepted");
    assert_eq!(queued(&effects), vec![(second, Some(30_000), Some(0))]);
}
