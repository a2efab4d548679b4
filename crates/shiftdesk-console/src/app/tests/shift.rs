//! The shift: status keys, going offline with open conversations, the summary.

use super::*;
use crate::app::Modal;
use shiftdesk_protocol::{WorkerCommand, WorkerEvent, WorkerStats, WorkerStatus};

#[test]
fn shift_keys_set_status_and_offline_with_open_chats_asks_first() {
    let mut app = app();
    assert_eq!(
        only_sent(&key(&mut app, "2")).command,
        WorkerCommand::SetStatus {
            status: WorkerStatus::Break
        }
    );
    assert_eq!(
        only_sent(&key(&mut app, "3")).command,
        WorkerCommand::SetStatus {
            status: WorkerStatus::Draining
        }
    );
    app.update(Msg::Hub(WorkerEvent::Conversation {
        conversation: conversation("c-1", "Maria", false),
    }));
    assert!(sent(&key(&mut app, "0")).is_empty(), "asks first");
    assert!(
        app.notice
            .as_ref()
            .unwrap()
            .text
            .contains("back to the queue")
    );
    assert_eq!(
        only_sent(&key(&mut app, "0")).command,
        WorkerCommand::SetStatus {
            status: WorkerStatus::Offline
        }
    );
}

#[test]
fn going_offline_shows_the_summary_with_figures_from_the_hub() {
    let mut app = app();
    let stats = WorkerStats {
        offers_accepted: 3,
        offers_declined: 1,
        offers_missed: 0,
        handled: 2,
        handle_ms_total: 600_000,
        drafts_accepted: 4,
        drafts_edited: 2,
        drafts_rejected: 1,
        drafts_regenerated: 0,
        earnings: None,
    };
    app.update(Msg::Tick(T0 + 3_600_000));
    app.update(Msg::Hub(WorkerEvent::Status {
        status: WorkerStatus::Offline,
        since: T0 + 3_600_000,
        stats: stats.clone(),
    }));
    assert!(matches!(app.modal, Some(Modal::Summary)));
    let summary = app.summary();
    assert_eq!(summary.stats, stats);
    assert_eq!(summary.on_shift_ms, 3_600_000);
    assert_eq!(summary.average_handle_ms(), Some(300_000));
    assert_eq!(summary.acceptance_percent(), Some(75));
    let text = summary.to_string();
    assert!(text.contains("Average handle time"), "{text}");
    assert!(text.contains("5m00s"), "{text}");
    assert!(text.contains("4 accepted, 2 edited, 1 rejected"), "{text}");
    // Time stops when the shift ends.
    app.update(Msg::Tick(T0 + 7_200_000));
    assert_eq!(app.summary().on_shift_ms, 3_600_000);
}

fn status(status: WorkerStatus, since: u64) -> WorkerEvent {
    WorkerEvent::Status {
        status,
        since,
        stats: WorkerStats::default(),
    }
}

fn reminders(out: &[Command]) -> usize {
    out.iter()
        .filter(|c| matches!(c, Command::Notify(_)))
        .count()
}

#[test]
fn a_break_reminder_after_the_configured_time_without_a_break() {
    let minute = 60_000;
    let mut app = App::new(
        crate::keymap::Keymap::default_keymap(),
        AppOptions {
            break_reminder_ms: 45 * minute,
            ..AppOptions::default()
        },
        "t",
        T0,
    );
    app.update(Msg::Conn(ConnState::Connected));
    app.update(Msg::Hub(welcome(false, WorkerStatus::Available, T0)));
    assert_eq!(reminders(&app.update(Msg::Tick(T0 + 44 * minute))), 0);
    let out = app.update(Msg::Tick(T0 + 45 * minute));
    assert_eq!(reminders(&out), 1);
    let notice = app.notice.clone().unwrap().text;
    assert!(
        notice.contains("45m00s on shift without a break") && notice.contains("Press 2"),
        "{notice}"
    );
    // Once per stretch of the interval, not on every tick.
    assert_eq!(reminders(&app.update(Msg::Tick(T0 + 46 * minute))), 0);
    assert_eq!(reminders(&app.update(Msg::Tick(T0 + 90 * minute))), 1);

    // A break starts the count again.
    app.update(Msg::Hub(status(WorkerStatus::Break, T0 + 91 * minute)));
    assert_eq!(reminders(&app.update(Msg::Tick(T0 + 200 * minute))), 0);
    app.update(Msg::Hub(status(WorkerStatus::Available, T0 + 200 * minute)));
    assert_eq!(reminders(&app.update(Msg::Tick(T0 + 244 * minute))), 0);
    assert_eq!(reminders(&app.update(Msg::Tick(T0 + 245 * minute))), 1);

    // 0 turns it off.
    app.options.break_reminder_ms = 0;
    assert_eq!(reminders(&app.update(Msg::Tick(T0 + 400 * minute))), 0);
}

#[test]
fn booking_a_slot_and_its_reminder_when_it_starts() {
    use shiftdesk_protocol::{Schedule, Slot};
    let slot_ms = 30 * 60_000;
    let next = T0 - T0 % slot_ms + slot_ms;
    let schedule = |booked: bool| Schedule {
        slot_ms,
        history_weeks: 0,
        slots: vec![Slot {
            start: next,
            booked,
            booked_workers: u32::from(booked),
            forecast: Default::default(),
        }],
    };
    let mut app = app();
    app.update(Msg::Hub(status(WorkerStatus::Offline, T0)));
    key(&mut app, "P");
    app.update(Msg::Hub(WorkerEvent::Schedule {
        schedule: schedule(false),
    }));
    assert!(matches!(app.modal, Some(Modal::Schedule(_))));
    assert_eq!(
        only_sent(&key(&mut app, "b")).command,
        WorkerCommand::BookSlot { start: next }
    );
    app.update(Msg::Hub(WorkerEvent::Schedule {
        schedule: schedule(true),
    }));
    key(&mut app, "esc");
    assert_eq!(reminders(&app.update(Msg::Tick(next - 1))), 0);
    let out = app.update(Msg::Tick(next));
    assert_eq!(reminders(&out), 1);
    let notice = app.notice.clone().unwrap().text;
    assert!(
        notice.contains("booked slot starts now") && notice.contains("Press 1"),
        "{notice}"
    );
    assert_eq!(reminders(&app.update(Msg::Tick(next + 60_000))), 0, "once");
    // Releasing it sends the command for the selected slot.
    key(&mut app, "P");
    app.update(Msg::Hub(WorkerEvent::Schedule {
        schedule: schedule(true),
    }));
    assert_eq!(
        only_sent(&key(&mut app, "u")).command,
        WorkerCommand::ReleaseSlot { start: next }
    );
}

#[test]
fn standby_notifies_when_a_queue_is_long_at_most_once_per_interval() {
    use shiftdesk_protocol::{DemandQueue, Lang};
    let minute = 60_000;
    let mut app = App::new(
        crate::keymap::Keymap::default_keymap(),
        AppOptions {
            standby: Some(crate::app::Standby {
                waiting: 3,
                every_ms: 10 * minute,
            }),
            ..AppOptions::default()
        },
        "t",
        T0,
    );
    app.update(Msg::Conn(ConnState::Connected));
    app.update(Msg::Hub(welcome(false, WorkerStatus::Offline, T0)));
    assert!(app.standing_by());
    let demand = |waiting| {
        Msg::Hub(WorkerEvent::Demand {
            queues: vec![DemandQueue {
                language: Lang::It,
                waiting,
                longest_wait_ms: 4 * minute,
            }],
        })
    };
    let notified = |out: Vec<Command>| {
        out.into_iter().find_map(|c| match c {
            Command::Notify(n) => Some(n),
            _ => None,
        })
    };
    assert_eq!(notified(app.update(demand(2))), None, "below the threshold");
    let n = notified(app.update(demand(12))).expect("a notification");
    assert!(n.bell);
    assert_eq!(
        n.desktop,
        Some((
            "shiftdesk: you are needed".to_string(),
            "12 waiting in Italian, longest 4m00s".to_string()
        ))
    );
    app.update(Msg::Tick(T0 + 9 * minute));
    assert_eq!(
        notified(app.update(demand(12))),
        None,
        "within the interval"
    );
    app.update(Msg::Tick(T0 + 10 * minute));
    assert!(notified(app.update(demand(12))).is_some());
    // On shift: no standby notifications.
    app.update(Msg::Hub(status(WorkerStatus::Available, T0 + 10 * minute)));
    app.update(Msg::Tick(T0 + 30 * minute));
    assert_eq!(notified(app.update(demand(12))), None);
}
