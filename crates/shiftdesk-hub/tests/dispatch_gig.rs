//! The dispatch core with injected time: decisions explained to workers, shifts and earnings,
//! planned slots and the queue's news for waiting customers (issues 20 and 23).

mod dispatch;

use dispatch::*;
use shiftdesk_hub::dispatch::{Command, Dispatch, DispatchConfig, Effect, Input};
use shiftdesk_hub::facts::Fact;
use std::sync::Arc;

use shiftdesk_hub::triage::ScriptedTriage;
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{ConversationState, CustomerEvent, ErrorCode, WorkerEvent, WorkerStatus};

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
