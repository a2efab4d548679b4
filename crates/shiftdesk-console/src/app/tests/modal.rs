//! The editor: keys type rather than act, and changed text is only thrown away on a second
//! cancel.

use super::*;
use crate::app::Modal;
use shiftdesk_protocol::{WorkerCommand, WorkerEvent};

#[test]
fn printable_keys_type_in_the_editor_and_never_act() {
    let mut app = app_with_conversation(false);
    app.update(Msg::Hub(offer("c-2", T0 + 30_000)));
    key(&mut app, "r");
    // q would quit, 0 go offline, a accept the offer, R resolve, ? help...
    let out = type_text(&mut app, "q0aR? Tutto ok");
    // Nothing but "typing" for the customer.
    assert!(
        sent(&out)
            .iter()
            .all(|f| matches!(f.command, WorkerCommand::Typing { .. })),
        "{out:?}"
    );
    assert!(app.quitting.is_none() && app.armed.is_none());
    let out = key(&mut app, "ctrl-s");
    assert_eq!(
        only_sent(&out).command,
        WorkerCommand::Reply {
            conversation: "c-1".into(),
            text: "q0aR? Tutto ok".into()
        }
    );
    // Shown as pending until the hub confirms.
    let pending = app.selected_conversation().unwrap().pending.clone();
    assert_eq!(pending.len(), 1);
    app.update(Msg::Hub(WorkerEvent::Ack {
        id: pending[0].id.clone(),
        duplicate: false,
    }));
    assert!(app.selected_conversation().unwrap().pending.is_empty());
}

#[test]
fn cancel_asks_before_throwing_text_away() {
    let mut app = app_with_conversation(false);
    key(&mut app, "n");
    type_text(&mut app, "check the ledger");
    key(&mut app, "esc");
    assert!(
        matches!(app.modal, Some(Modal::Editor(_))),
        "first esc keeps the text"
    );
    key(&mut app, "esc");
    assert!(app.modal.is_none());
    // An empty editor closes at once.
    key(&mut app, "r");
    key(&mut app, "esc");
    assert!(app.modal.is_none());
}

#[test]
fn typing_a_reply_tells_the_customer_now_and_then_and_a_note_never() {
    let mut app = app_with_conversation(false);
    let outbox = app.outbox.len();
    key(&mut app, "r");
    let typing = |out: &[Command]| {
        sent(out)
            .iter()
            .filter(|f| {
                f.command
                    == WorkerCommand::Typing {
                        conversation: "c-1".into(),
                    }
            })
            .count()
    };
    // The first key tells at once; the next ones within three seconds do not.
    assert_eq!(typing(&type_text(&mut app, "Ciao Maria")), 1);
    app.update(Msg::Tick(T0 + 2_000));
    assert_eq!(typing(&type_text(&mut app, ", ")), 0);
    app.update(Msg::Tick(T0 + 3_500));
    assert_eq!(typing(&type_text(&mut app, "ecco")), 1);
    // Moving the cursor is not typing; deleting is.
    app.update(Msg::Tick(T0 + 7_000));
    assert_eq!(typing(&key(&mut app, "left")), 0);
    assert_eq!(typing(&key(&mut app, "backspace")), 1);
    // Worth nothing later: never kept in the outbox.
    assert_eq!(app.outbox.len(), outbox);
    key(&mut app, "esc");
    key(&mut app, "esc");

    // A private note is never announced to the customer.
    app.update(Msg::Tick(T0 + 20_000));
    key(&mut app, "n");
    assert_eq!(typing(&type_text(&mut app, "refund already issued")), 0);
}
