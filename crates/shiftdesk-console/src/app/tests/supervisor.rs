//! The supervisor: the wallboard, shadowing, whispers, take over and hand back.

use super::*;
use crate::app::Modal;
use crate::board::BoardFocus;
use crate::keymap::Context;
use shiftdesk_protocol::{
    ConversationState, Draft, DraftOutcome, RejectReason, WorkerCommand, WorkerEvent, WorkerStatus,
};

fn small_board() -> WorkerEvent {
    WorkerEvent::Wallboard {
        wallboard: shiftdesk_protocol::Wallboard {
            at: T0,
            workers: vec![
                board_worker("ana", "Ana", WorkerStatus::Available, 2, T0),
                board_worker("jan", "Jan", WorkerStatus::Break, 0, T0 - 60_000),
                board_worker("li", "Li", WorkerStatus::Available, 1, T0),
                board_worker("sam", "Sam", WorkerStatus::Offline, 0, T0),
            ],
            queues: vec![],
            live: vec![
                live("c-1", Some("Ana")),
                live("c-2", Some("Ana")),
                live("c-3", Some("Li")),
                live("c-4", None),
            ],
            slots: vec![],
        },
    }
}

fn shadowed(id: &str, owner: &str, with_draft: bool) -> WorkerEvent {
    let mut view = conversation(id, "Maria", with_draft);
    view.owner = Some(owner.into());
    view.shadowed_by = vec!["Sam".into()];
    WorkerEvent::Conversation { conversation: view }
}

#[test]
fn a_supervisor_subscribes_to_the_wallboard_at_login_and_a_worker_never_does() {
    let (mut sup, out) = supervisor();
    assert!(
        sent(&out)
            .iter()
            .any(|f| f.command == WorkerCommand::Wallboard)
    );
    assert!(sup.wallboard_open(), "a supervisor starts on the wallboard");
    assert_eq!(sup.contexts().0, [Context::Wallboard, Context::Global]);
    key(&mut sup, "esc");
    assert!(!sup.wallboard_open());
    assert!(sent(&key(&mut sup, "W")).is_empty(), "already subscribed");
    assert!(sup.wallboard_open());
    // A reconnection does not open it again over what the supervisor was doing.
    key(&mut sup, "esc");
    let mut again = welcome(true, WorkerStatus::Offline, T0);
    if let WorkerEvent::Welcome { worker, .. } = &mut again {
        worker.role = Role::Supervisor;
        worker.id = "sam".into();
    }
    sup.update(Msg::Conn(ConnState::Connecting { attempt: 1 }));
    sup.update(Msg::Conn(ConnState::Connected));
    sup.update(Msg::Hub(again));
    assert!(!sup.wallboard_open());

    let mut worker = app();
    let out = key(&mut worker, "W");
    assert!(sent(&out).is_empty());
    assert!(!worker.wallboard_open());
    for k in ["s", "w", "O", "H"] {
        assert!(sent(&key(&mut worker, k)).is_empty(), "{k}");
    }
}

#[test]
fn a_shadowing_supervisor_is_read_only_but_can_whisper() {
    let (mut app, _) = supervisor();
    app.update(Msg::Hub(small_board()));
    key(&mut app, "tab");
    assert_eq!(app.board.focus, BoardFocus::Live);
    assert_eq!(
        app.board.selected_live().map(|c| c.id.as_str()),
        Some("c-4"),
        "waiting first"
    );
    key(&mut app, "down");
    assert_eq!(
        app.board.selected_live().map(|c| c.id.as_str()),
        Some("c-1")
    );
    let out = key(&mut app, "s");
    assert_eq!(
        only_sent(&out).command,
        WorkerCommand::Shadow {
            conversation: "c-1".into()
        }
    );
    assert!(!app.wallboard_open());
    app.update(Msg::Hub(shadowed("c-1", "ana", true)));
    assert_eq!(app.selected_conversation().map(|c| c.id()), Some("c-1"));
    assert!(app.shadowing(app.selected_conversation().unwrap()));
    assert_eq!(
        app.owner_label(app.selected_conversation().unwrap())
            .as_deref(),
        Some("Ana"),
        "the name, from the wallboard"
    );
    assert!(sent(&key(&mut app, "r")).is_empty(), "read-only");
    assert!(
        sent(&key(&mut app, "enter")).is_empty(),
        "cannot send the worker's draft"
    );
    key(&mut app, "w");
    type_text(&mut app, "offer the refund");
    let out = key(&mut app, "ctrl-s");
    assert_eq!(
        only_sent(&out).command,
        WorkerCommand::Whisper {
            conversation: "c-1".into(),
            text: "offer the refund".into()
        }
    );
    // Stop shadowing.
    let out = key(&mut app, "s");
    assert_eq!(
        only_sent(&out).command,
        WorkerCommand::Unshadow {
            conversation: "c-1".into()
        }
    );
}

#[test]
fn shadowing_a_worker_shadows_each_of_their_conversations() {
    let (mut app, _) = supervisor();
    app.update(Msg::Hub(small_board()));
    assert_eq!(
        app.board.selected_worker().map(|w| w.id.as_str()),
        Some("ana")
    );
    let out = key(&mut app, "enter");
    let asked: Vec<_> = sent(&out).iter().map(|f| f.command.clone()).collect();
    assert_eq!(
        asked,
        [
            WorkerCommand::Shadow {
                conversation: "c-1".into()
            },
            WorkerCommand::Shadow {
                conversation: "c-2".into()
            }
        ]
    );
    app.update(Msg::Hub(shadowed("c-1", "ana", false)));
    app.update(Msg::Hub(shadowed("c-2", "ana", false)));
    assert_eq!(app.selected_conversation().map(|c| c.id()), Some("c-1"));
    // Again: already shadowed, nothing to send, just shown.
    key(&mut app, "W");
    assert!(sent(&key(&mut app, "s")).is_empty());
    // Jan has nothing open.
    key(&mut app, "W");
    key(&mut app, "down");
    assert_eq!(
        app.board.selected_worker().map(|w| w.id.as_str()),
        Some("jan")
    );
    assert!(sent(&key(&mut app, "s")).is_empty());
    assert!(
        app.notice
            .as_ref()
            .unwrap()
            .text
            .contains("no open conversation")
    );
}

#[test]
fn the_draft_log_keeps_what_the_worker_did_with_each_draft() {
    let (mut app, _) = supervisor();
    app.update(Msg::Hub(shadowed("c-1", "ana", true)));
    let d2 = Draft {
        id: "d2".into(),
        for_message: 4,
        ..draft("d2", 4)
    };
    app.update(Msg::Hub(WorkerEvent::DraftDone {
        conversation: "c-1".into(),
        draft: "d1".into(),
        outcome: DraftOutcome::Rejected,
        reason: Some(RejectReason::Tone),
    }));
    app.update(Msg::Hub(WorkerEvent::Draft {
        conversation: "c-1".into(),
        draft: d2,
    }));
    // A fresh snapshot (after a reconnect) keeps the log.
    app.update(Msg::Hub(shadowed("c-1", "ana", false)));
    let c = app.selected_conversation().unwrap();
    let log: Vec<_> = c
        .drafts
        .iter()
        .map(|d| (d.draft.id.as_str(), d.outcome))
        .collect();
    assert_eq!(
        log,
        [
            (
                "d1",
                Some((DraftOutcome::Rejected, Some(RejectReason::Tone)))
            ),
            ("d2", None)
        ]
    );
}

#[test]
fn a_shadowed_conversation_follows_its_owner_from_the_wallboard() {
    let (mut app, _) = supervisor();
    key(&mut app, "esc"); // off the wallboard the console opens on
    let mut view = conversation("c-4", "Maria", false);
    view.owner = None;
    view.state = ConversationState::Queued;
    app.update(Msg::Hub(WorkerEvent::Conversation { conversation: view }));
    assert!(sent(&key(&mut app, "w")).is_empty());
    assert!(app.modal.is_none(), "nobody to whisper to yet");
    let mut board = small_board();
    if let WorkerEvent::Wallboard { wallboard } = &mut board {
        wallboard.live[3].owner = Some("Li".into());
        wallboard.live[3].state = ConversationState::Assigned;
    }
    app.update(Msg::Hub(board));
    let c = app.selected_conversation().unwrap();
    assert_eq!(c.view.owner.as_deref(), Some("li"));
    assert_eq!(app.owner_label(c).as_deref(), Some("Li"));
    key(&mut app, "w");
    assert!(matches!(app.modal, Some(Modal::Editor(_))));
    // Back in the queue (a transfer): nobody again.
    app.modal = None;
    app.update(Msg::Hub(small_board()));
    let c = app.selected_conversation().unwrap();
    assert_eq!((c.view.owner.as_deref(), app.owner_label(c)), (None, None));
}

#[test]
fn sort_and_filter_from_the_keyboard() {
    let (mut app, _) = supervisor();
    app.update(Msg::Hub(small_board()));
    key(&mut app, "o");
    assert_eq!(app.board.sort, crate::board::WorkerSort::Status);
    key(&mut app, "/");
    type_text(&mut app, "status:br");
    assert_eq!(app.board.rows.len(), 1, "applied as it is typed");
    key(&mut app, "esc");
    assert_eq!(app.board.rows.len(), 4, "cancel puts the old filter back");
    key(&mut app, "/");
    type_text(&mut app, "a");
    key(&mut app, "enter");
    assert!(app.modal.is_none());
    assert_eq!(app.board.filter.text, "a");
    let ids: Vec<&str> = app
        .board
        .rows
        .iter()
        .map(|&i| app.board.data.as_ref().unwrap().workers[i].id.as_str())
        .collect();
    assert_eq!(ids, ["ana", "jan", "sam"]);
    // Editing the filter starts from the current one.
    key(&mut app, "/");
    key(&mut app, "backspace");
    key(&mut app, "enter");
    assert!(app.board.filter.is_empty());
    assert_eq!(app.board.rows.len(), 4);
    // The sort and filter survive closing and a new frame.
    key(&mut app, "esc");
    app.update(Msg::Hub(small_board()));
    assert_eq!(app.board.sort, crate::board::WorkerSort::Status);
}

#[test]
fn take_over_asks_first_and_hand_back_picks_a_worker_on_the_wallboard() {
    let (mut app, _) = supervisor();
    key(&mut app, "esc"); // off the wallboard the console opens on
    app.update(Msg::Hub(small_board()));
    app.update(Msg::Hub(shadowed("c-1", "ana", false)));
    assert!(sent(&key(&mut app, "O")).is_empty(), "asks first");
    assert!(app.notice.as_ref().unwrap().text.contains("from Ana"));
    let out = key(&mut app, "O");
    assert_eq!(
        only_sent(&out).command,
        WorkerCommand::TakeOver {
            conversation: "c-1".into()
        }
    );
    let mut mine = conversation("c-1", "Maria", true);
    mine.owner = Some("sam".into());
    app.update(Msg::Hub(WorkerEvent::Conversation { conversation: mine }));
    let c = app.selected_conversation().unwrap();
    assert!(app.owns(c) && !app.shadowing(c));
    assert_eq!(
        app.contexts().0,
        [Context::Draft, Context::Conversation, Context::Global],
        "now a worker's view: drafts and replies are the supervisor's"
    );
    key(&mut app, "H");
    assert!(app.wallboard_open());
    let names: Vec<&str> = app
        .board
        .rows
        .iter()
        .map(|&i| app.board.data.as_ref().unwrap().workers[i].id.as_str())
        .collect();
    assert_eq!(names, ["jan", "li"], "connected, with room, not me");
    key(&mut app, "down");
    let out = key(&mut app, "enter");
    assert_eq!(
        only_sent(&out).command,
        WorkerCommand::HandBack {
            conversation: "c-1".into(),
            worker: "li".into()
        }
    );
    assert!(!app.wallboard_open());
    assert!(app.board.hand_back.is_none());
    assert_eq!(
        app.board.rows.len(),
        4,
        "the wallboard lists everyone again"
    );
}
