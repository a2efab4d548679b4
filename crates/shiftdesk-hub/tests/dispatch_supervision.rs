//! The dispatch core with injected time: shadowing and take-overs, masking what workers see,
//! logins and snapshots, and what becomes of drafts.

mod dispatch;

use dispatch::*;
use shiftdesk_hub::dispatch::{Command, Dispatch, DispatchConfig, DraftWanted, Effect, Input};
use shiftdesk_hub::drafting::DraftProposal;
use shiftdesk_hub::facts::Fact;

use shiftdesk_hub::triage::TriageReason;
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{
    Author, ConversationState, DraftAction, ErrorCode, Role, WorkerEvent, WorkerInfo, WorkerStatus,
};

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
