//! Keys: multi-key sequences and the help overlay, over the editor too.

use super::*;
use crate::app::Modal;
use crate::keymap::Context;
use shiftdesk_protocol::{DraftAction, WorkerCommand, WorkerEvent, WorkerStatus};

#[test]
fn key_sequences_and_help() {
    let (mut app, _) = logged_in(
        Keymap::builtin("vim").unwrap().unwrap(),
        welcome(false, WorkerStatus::Available, T0),
    );
    app.update(Msg::Hub(WorkerEvent::Conversation {
        conversation: conversation("c-1", "Maria", true),
    }));
    assert!(key(&mut app, "g").is_empty());
    assert_eq!(app.pending_keys.len(), 1);
    let out = key(&mut app, "r");
    assert!(matches!(
        only_sent(&out).command,
        WorkerCommand::Draft {
            action: DraftAction::Regenerate,
            ..
        }
    ));
    assert!(app.pending_keys.is_empty());
    key(&mut app, "?");
    assert!(app.help.is_some());
    key(&mut app, "esc");
    assert!(app.help.is_none());
    // Help opens over the editor and closing it gives the text back.
    key(&mut app, "i");
    type_text(&mut app, "ciao");
    key(&mut app, "f1");
    assert!(app.help.is_some());
    assert_eq!(app.contexts().0, [Context::Help, Context::Global]);
    key(&mut app, "esc");
    let Some(Modal::Editor(editor)) = &app.modal else {
        panic!("editor closed")
    };
    assert_eq!(editor.text(), "ciao");
}
