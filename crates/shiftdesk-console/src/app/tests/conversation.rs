//! Conversations: unread counts, switching, resolving and giving one back to the queue.

use super::*;
use shiftdesk_protocol::{Author, WorkerCommand, WorkerEvent};

#[test]
fn unread_counts_customer_lines_in_other_conversations() {
    let mut app = app_with_conversation(false);
    app.update(Msg::Hub(WorkerEvent::Conversation {
        conversation: conversation("c-2", "Jan", false),
    }));
    assert_eq!(app.selected_conversation().map(|c| c.id()), Some("c-1"));
    let line = |n| WorkerEvent::Message {
        conversation: "c-2".into(),
        message: message(n, Author::Customer, "hallo?", None),
    };
    app.update(Msg::Hub(line(4)));
    app.update(Msg::Hub(line(5)));
    app.update(Msg::Hub(line(5)));
    assert_eq!(
        app.conversations[1].unread, 3,
        "1 from before + 2 new, duplicate ignored"
    );
    key(&mut app, "tab");
    assert_eq!(
        app.selected_conversation().map(|c| (c.id(), c.unread)),
        Some(("c-2", 0))
    );
    key(&mut app, "shift-tab");
    assert_eq!(app.selected_conversation().map(|c| c.id()), Some("c-1"));
}

#[test]
fn resolve_and_transfer() {
    let mut app = app_with_conversation(false);
    let out = key(&mut app, "R");
    assert_eq!(
        only_sent(&out).command,
        WorkerCommand::Resolve {
            conversation: "c-1".into()
        }
    );
    app.update(Msg::Hub(WorkerEvent::Closed {
        conversation: "c-1".into(),
        reason: "resolved".into(),
    }));
    assert_eq!(app.conversations[0].closed.as_deref(), Some("resolved"));
    assert_eq!(app.open_count(), 0);
    assert!(
        sent(&key(&mut app, "R")).is_empty(),
        "nothing to resolve any more"
    );

    app.update(Msg::Hub(WorkerEvent::Conversation {
        conversation: conversation("c-2", "Jan", false),
    }));
    key(&mut app, "tab");
    assert_eq!(
        app.conversations.len(),
        1,
        "the closed one went when we moved on"
    );
    key(&mut app, "T");
    type_text(&mut app, "needs German");
    let out = key(&mut app, "enter");
    assert_eq!(
        only_sent(&out).command,
        WorkerCommand::Transfer {
            conversation: "c-2".into(),
            reason: Some("needs German".into())
        }
    );
}
