//! The gig-work panels (issue 23) in every state: decisions explained, About dispatch,
//! earnings and the shift history, planned shifts and standby. Compared with the committed
//! snapshots in `snapshots/`, like [`super::snapshot_tests`], whose helpers they share.

use crate::app::tests::*;
use crate::app::{App, ConnState, Modal, Msg};
use shiftdesk_protocol::{DecisionKind, WorkerEvent, WorkerStats, WorkerStatus};

use super::snapshot_tests::{big_wallboard, draw, supervisor_with};

// ---------------------------------------------------------------------------------------------
// Decisions explained, About dispatch (issue 23)
// ---------------------------------------------------------------------------------------------

fn decision(
    kind: shiftdesk_protocol::DecisionKind,
    conversation: &str,
    rule: &str,
    params: &[(&str, &str)],
    text: &str,
) -> WorkerEvent {
    WorkerEvent::Decision {
        decision: shiftdesk_protocol::Decision {
            kind,
            at: T0 + 1_000,
            conversation: Some(conversation.into()),
            rule: rule.into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            text: text.into(),
        },
    }
}

/// An offer in a language fallback, and the decisions behind it; `E` pressed.
fn explaining_an_offer() -> App {
    use shiftdesk_protocol::DecisionKind::*;
    let mut app = app();
    app.update(Msg::Hub(decision(
        Offered,
        "c-9",
        "longest_idle",
        &[
            ("idle_ms", "252000"),
            ("eligible", "3"),
            ("open", "0"),
            ("capacity", "2"),
        ],
        "Offered to you because, of the 3 eligible worker(s) (available, any language, with a \
         free slot), you had waited longest for work: 4m12s. You had 0 of 2 conversations open. \
         Acceptance and decline counts are never used to choose.",
    )));
    app.update(Msg::Hub(decision(
        LanguageFallback,
        "c-9",
        "language_wait",
        &[
            ("language", "ru"),
            ("waited_ms", "61000"),
            ("language_wait_ms", "60000"),
        ],
        "The customer writes ru, which you may not speak. No free ru speaker was found within \
         the language wait (1m00s); after 1m01s waiting the conversation goes to any eligible \
         worker, longest idle first.",
    )));
    app.update(Msg::Hub(offer("c-9", T0 + 30_000)));
    app.update(Msg::Tick(T0 + 3_000));
    key(&mut app, "E");
    app
}

#[test]
fn explain_an_offer_80x24() {
    insta::assert_snapshot!(draw(&explaining_an_offer(), 80, 24));
}

#[test]
fn explain_an_offer_120x40() {
    insta::assert_snapshot!(draw(&explaining_an_offer(), 120, 40));
}

fn about_dispatch() -> App {
    let mut app = app();
    let out = key(&mut app, "D");
    assert_eq!(
        sent(&out)[0].command,
        shiftdesk_protocol::WorkerCommand::AboutDispatch
    );
    let rule = |name: &str, text: &str, params: &[(&str, &str)]| shiftdesk_protocol::DispatchRule {
        name: name.into(),
        text: text.into(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    app.update(Msg::Hub(WorkerEvent::AboutDispatch {
        about: shiftdesk_protocol::AboutDispatch {
            rules: vec![
                rule(
                    "longest_idle",
                    "A conversation is offered to one eligible worker: available, speaks the \
                     customer's language, has the skills and a free slot. Among them, the one \
                     who has waited longest for work gets it.",
                    &[],
                ),
                rule(
                    "offer_timeout",
                    "An offer waits 30s for an answer; unanswered, it goes to the next worker.",
                    &[("offer_timeout_ms", "30000")],
                ),
                rule(
                    "grace_period",
                    "A worker whose console disconnects keeps their conversations for 1m00s; \
                     then they go back to the queue.",
                    &[("grace_ms", "60000")],
                ),
            ],
            monitored: vec![
                "Offers accepted, declined and missed: shown to you and to supervisors; never \
                 used to choose who gets offers."
                    .into(),
            ],
            not_monitored: vec![
                "Keystrokes, typing speed, mouse or screen activity: never recorded.".into(),
            ],
        },
    }));
    app
}

#[test]
fn about_dispatch_80x24() {
    insta::assert_snapshot!(draw(&about_dispatch(), 80, 24));
}

#[test]
fn about_dispatch_120x40() {
    insta::assert_snapshot!(draw(&about_dispatch(), 120, 40));
}

// ---------------------------------------------------------------------------------------------
// Earnings and the shift history (issue 23)
// ---------------------------------------------------------------------------------------------

fn earnings(total_engaged: u64) -> shiftdesk_protocol::Earnings {
    let line = |kind: &str, label: &str, amount| shiftdesk_protocol::EarningsLine {
        kind: kind.into(),
        label: label.into(),
        amount,
    };
    let lines = vec![
        line(
            "engaged_time",
            "Engaged time 1h30m × 14.00/h",
            total_engaged,
        ),
        line("conversations", "Conversations 8 × 0.50", 400),
        line("language_premium", "Language premium ru 2 × 0.25", 50),
    ];
    shiftdesk_protocol::Earnings {
        currency: "EUR".into(),
        total: lines.iter().map(|l| l.amount).sum(),
        lines,
    }
}

/// A shift that ended, with its earnings in the summary (and the estimate in the status bar).
fn summary_with_earnings() -> App {
    let mut app = app();
    app.options.break_reminder_ms = 0;
    app.update(Msg::Tick(T0 + 2 * 3_600_000));
    app.update(Msg::Hub(WorkerEvent::Status {
        status: WorkerStatus::Offline,
        since: T0 + 2 * 3_600_000,
        stats: WorkerStats {
            offers_accepted: 8,
            handled: 8,
            handle_ms_total: 8 * 372_000,
            drafts_accepted: 10,
            earnings: Some(earnings(2100)),
            ..WorkerStats::default()
        },
    }));
    app
}

#[test]
fn summary_with_earnings_80x24() {
    let app = summary_with_earnings();
    let screen = draw(&app, 80, 24);
    assert!(screen.contains("≈ 25.50 EUR"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn summary_with_earnings_120x40() {
    insta::assert_snapshot!(draw(&summary_with_earnings(), 120, 40));
}

fn shift_history() -> App {
    let mut app = summary_with_earnings();
    key(&mut app, "L");
    let shift = |start: u64, hours: u64, pay: Option<shiftdesk_protocol::Earnings>| {
        shiftdesk_protocol::ShiftRecord {
            worker: "ana".into(),
            start,
            end: start + hours * 3_600_000,
            available_ms: hours * 3_300_000,
            engaged_ms: hours * 2_400_000,
            break_ms: hours * 300_000,
            conversations: (hours * 4) as u32,
            rate_card: if pay.is_some() {
                vec![
                    "14.00 EUR per hour with at least one conversation open".into(),
                    "0.50 EUR per conversation resolved".into(),
                    "+0.25 EUR per conversation resolved in ru".into(),
                ]
            } else {
                Vec::new()
            },
            decisions: [("offered".to_string(), 9), ("offer_expired".to_string(), 1)]
                .into_iter()
                .collect(),
            earnings: pay,
        }
    };
    let decision =
        |kind, at, rule: &str, params: &[(&str, &str)], text: &str| shiftdesk_protocol::Decision {
            kind,
            at,
            conversation: Some("c7".into()),
            rule: rule.into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            text: text.into(),
        };
    app.update(Msg::Hub(WorkerEvent::ShiftHistory {
        shifts: vec![
            shift(T0, 2, Some(earnings(2100))),
            shift(T0 - 86_400_000, 3, Some(earnings(3150))),
            shift(T0 - 3 * 86_400_000, 1, None),
        ],
        decisions: vec![
            decision(
                DecisionKind::Offered,
                T0 + 600_000,
                "longest_idle",
                &[("idle_ms", "121000"), ("eligible", "2")],
                "Offered to you because, of the 2 eligible worker(s), you had waited longest \
                 for work: 2m01s.",
            ),
            decision(
                DecisionKind::OfferExpired,
                T0 + 3_000_000,
                "offer_timeout",
                &[("offer_timeout_ms", "30000")],
                "The offer was not answered within 30s, so it went to the next worker.",
            ),
        ],
    }));
    app
}

/// The history's first shift explained: how it was paid, the decisions during it.
fn shift_explained() -> App {
    let mut app = shift_history();
    key(&mut app, "down");
    key(&mut app, "up");
    key(&mut app, "E");
    app
}

#[test]
fn shift_explained_80x24() {
    let app = shift_explained();
    let screen = draw(&app, 80, 24);
    assert!(screen.contains("Why · shift of"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn shift_explained_120x40() {
    let app = shift_explained();
    let screen = draw(&app, 120, 40);
    for words in [
        "14.00 EUR per hour",
        "Engaged time 1h30m × 14.00/h = 21.00 EUR",
        "9 offered to you",
        "offer expired · ",
        "8 more are in the hub's log",
    ] {
        assert!(screen.contains(words), "{words}: {screen}");
    }
    insta::assert_snapshot!(screen);
}

#[test]
fn closing_a_shift_explanation_goes_back_to_the_history() {
    let mut app = shift_explained();
    key(&mut app, "esc");
    assert!(matches!(app.modal, Some(Modal::Shifts(_))));
    key(&mut app, "down");
    key(&mut app, "enter");
    let screen = draw(&app, 120, 40);
    // The second shift: a day before, and no decision of the first one's.
    assert!(screen.contains("Why · shift of 2023-11-13"), "{screen}");
    assert!(!screen.contains("offer_timeout"), "{screen}");
}

#[test]
fn shift_history_80x24() {
    insta::assert_snapshot!(draw(&shift_history(), 80, 24));
}

#[test]
fn shift_history_120x40() {
    insta::assert_snapshot!(draw(&shift_history(), 120, 40));
}

#[test]
fn the_earnings_estimate_can_be_hidden() {
    let mut app = summary_with_earnings();
    assert!(app.earnings_shown().is_some());
    key(&mut app, "$");
    assert!(app.earnings_shown().is_none());
    assert!(
        !draw(&app, 120, 40)
            .lines()
            .next()
            .unwrap_or_default()
            .contains("EUR")
    );
}

// ---------------------------------------------------------------------------------------------
// Planned shifts (issue 23)
// ---------------------------------------------------------------------------------------------

fn week(history_weeks: u32) -> shiftdesk_protocol::Schedule {
    let slot_ms = 30 * 60_000;
    let first = T0 - T0 % slot_ms;
    let slots = (0..336u64)
        .map(|i| {
            let start = first + i * slot_ms;
            let mut forecast = std::collections::BTreeMap::new();
            if history_weeks > 0 && i % 3 != 2 {
                forecast.insert("en".to_string(), (i % 5) as f32 * 0.5);
                if i % 2 == 0 {
                    forecast.insert("it".to_string(), 1.25);
                }
            }
            shiftdesk_protocol::Slot {
                start,
                booked: (2..5).contains(&i),
                booked_workers: (i % 4) as u32 + u32::from((2..5).contains(&i)),
                forecast,
            }
        })
        .collect();
    shiftdesk_protocol::Schedule {
        slot_ms,
        history_weeks,
        slots,
    }
}

fn schedule_open(history_weeks: u32) -> App {
    let mut app = app();
    let out = key(&mut app, "P");
    assert_eq!(
        sent(&out)[0].command,
        shiftdesk_protocol::WorkerCommand::Schedule
    );
    app.update(Msg::Hub(WorkerEvent::Schedule {
        schedule: week(history_weeks),
    }));
    key(&mut app, "down");
    key(&mut app, "down");
    key(&mut app, "down");
    app
}

#[test]
fn schedule_week_80x24() {
    insta::assert_snapshot!(draw(&schedule_open(4), 80, 24));
}

#[test]
fn schedule_week_120x40() {
    insta::assert_snapshot!(draw(&schedule_open(4), 120, 40));
}

#[test]
fn schedule_without_history_80x24() {
    let screen = draw(&schedule_open(0), 80, 24);
    assert!(screen.contains("no history yet"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn wallboard_with_booked_versus_expected_slots_80x24() {
    let mut board = big_wallboard(20, 5);
    let slot = 30 * 60_000;
    let first = T0 - T0 % slot;
    board.slots = [(2, 3.5f32), (3, 1.0), (0, 1.5), (1, 0.0)]
        .into_iter()
        .enumerate()
        .map(|(i, (booked, expected))| shiftdesk_protocol::SlotLoad {
            start: first + i as u64 * slot,
            booked,
            expected,
        })
        .collect();
    let app = supervisor_with(board);
    let screen = draw(&app, 80, 24);
    assert!(screen.contains("22:00 2/3.5 short"), "{screen}");
    insta::assert_snapshot!(screen);
}

fn standing_by() -> App {
    use shiftdesk_protocol::{DemandQueue, Lang};
    let mut app = App::new(
        crate::keymap::Keymap::default_keymap(),
        crate::app::AppOptions {
            standby: Some(crate::app::Standby {
                waiting: 3,
                every_ms: 600_000,
            }),
            ..crate::app::AppOptions::default()
        },
        "t",
        T0,
    );
    app.update(Msg::Conn(ConnState::Connected));
    app.update(Msg::Hub(welcome(false, WorkerStatus::Offline, T0)));
    app.update(Msg::Hub(WorkerEvent::Demand {
        queues: vec![
            DemandQueue {
                language: Lang::It,
                waiting: 12,
                longest_wait_ms: 240_000,
            },
            DemandQueue {
                language: Lang::En,
                waiting: 1,
                longest_wait_ms: 20_000,
            },
        ],
    }));
    app
}

#[test]
fn standby_80x24() {
    insta::assert_snapshot!(draw(&standing_by(), 80, 24));
}

#[test]
fn standby_120x40() {
    insta::assert_snapshot!(draw(&standing_by(), 120, 40));
}
