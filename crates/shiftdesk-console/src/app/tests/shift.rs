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
