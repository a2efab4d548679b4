//! Drafts: accept, edit, reject with a reason, a refusal and a retry.

use super::*;
use crate::app::{DraftDoing, DraftStatus, Modal};
use crate::keymap::Context;
use shiftdesk_protocol::{
    DraftAction, DraftOutcome, ErrorCode, RejectReason, WorkerCommand, WorkerEvent,
};

#[test]
fn draft_accept_is_pending_then_sent() {
    let mut app = app_with_conversation(true);
    assert!(app.contexts().0.contains(&Context::Draft));
    let out = key(&mut app, "enter");
    let frame = only_sent(&out).clone();
    assert_eq!(
        frame.command,
        WorkerCommand::Draft {
            conversation: "c-1".into(),
            draft: "d1".into(),
            action: DraftAction::Accept
        }
    );
    let status = |app: &App| {
        app.selected_conversation()
            .unwrap()
            .draft
            .clone()
            .unwrap()
            .status
    };
    assert_eq!(
        status(&app),
        DraftStatus::Pending {
            id: frame.id.clone(),
            doing: DraftDoing::Accept
        }
    );
    // Pressing again while pending sends nothing.
    assert!(sent(&key(&mut app, "enter")).is_empty());
    app.update(Msg::Hub(WorkerEvent::DraftDone {
        conversation: "c-1".into(),
        draft: "d1".into(),
        outcome: DraftOutcome::Accepted,
        reason: None,
    }));
    app.update(Msg::Hub(WorkerEvent::Ack {
        id: frame.id,
        duplicate: false,
    }));
    assert_eq!(
        status(&app),
        DraftStatus::Sent {
            doing: DraftDoing::Accept
        }
    );
    assert!(!app.contexts().0.contains(&Context::Draft));
    // The next draft is proposed again.
    app.update(Msg::Hub(WorkerEvent::Draft {
        conversation: "c-1".into(),
        draft: draft("d2", 5),
    }));
    assert_eq!(status(&app), DraftStatus::Proposed);
}

#[test]
fn draft_edit_opens_the_editor_and_sends_the_edited_text() {
    let mut app = app_with_conversation(true);
    assert!(sent(&key(&mut app, "e")).is_empty());
    let Some(Modal::Editor(editor)) = &app.modal else {
        panic!("editor not open");
    };
    assert_eq!(editor.text(), draft("d1", 1).proposal.text);
    type_text(&mut app, " Grazie!");
    let out = key(&mut app, "ctrl-s");
    let expected = format!("{} Grazie!", draft("d1", 1).proposal.text);
    assert_eq!(
        only_sent(&out).command,
        WorkerCommand::Draft {
            conversation: "c-1".into(),
            draft: "d1".into(),
            action: DraftAction::Edit { text: expected }
        }
    );
    assert!(app.modal.is_none());
}

#[test]
fn an_unchanged_edit_counts_as_accept() {
    let mut app = app_with_conversation(true);
    key(&mut app, "e");
    let out = key(&mut app, "ctrl-s");
    assert!(matches!(
        only_sent(&out).command,
        WorkerCommand::Draft {
            action: DraftAction::Accept,
            ..
        }
    ));
}

#[test]
fn draft_reject_picks_a_reason() {
    let mut app = app_with_conversation(true);
    assert!(sent(&key(&mut app, "x")).is_empty());
    assert!(matches!(app.modal, Some(Modal::Picker(_))));
    key(&mut app, "down");
    key(&mut app, "j");
    let out = key(&mut app, "enter");
    assert_eq!(
        only_sent(&out).command,
        WorkerCommand::Draft {
            conversation: "c-1".into(),
            draft: "d1".into(),
            action: DraftAction::Reject {
                reason: RejectReason::ALL[2]
            }
        }
    );
}

#[test]
fn a_refused_draft_is_failed_and_can_be_retried_with_a_new_id() {
    let mut app = app_with_conversation(true);
    let first = only_sent(&key(&mut app, "g")).id.clone();
    app.update(Msg::Hub(WorkerEvent::Error {
        id: Some(first.clone()),
        code: ErrorCode::Conflict,
        message: "no draft is waiting in `c-1`".into(),
    }));
    let d = app.selected_conversation().unwrap().draft.clone().unwrap();
    assert_eq!(
        d.status,
        DraftStatus::Failed {
            message: "no draft is waiting in `c-1`".into()
        }
    );
    let second = only_sent(&key(&mut app, "enter")).id.clone();
    assert_ne!(first, second);
}

#[test]
fn a_resolved_conversation_no_longer_offers_its_draft() {
    let mut app = app_with_conversation(true);
    assert!(app.conversations[0].draft.is_some());
    app.update(Msg::Hub(WorkerEvent::Closed {
        conversation: "c-1".into(),
        reason: "resolved".into(),
    }));
    let c = &app.conversations[0];
    assert_eq!(c.closed.as_deref(), Some("resolved"));
    assert!(
        c.draft.is_none(),
        "a draft of an ended conversation can't be sent"
    );
    assert_eq!(c.drafts.len(), 1, "its record stays");
    assert!(sent(&key(&mut app, "enter")).is_empty());
    assert!(!app.contexts().0.contains(&Context::Draft));
}
