//! The session: commands sent again after a reconnect, retries, a fresh login, quitting.

use super::*;
use crate::app::Modal;
use crate::app::session::QUIT_WAIT_MS;
use shiftdesk_protocol::{ErrorCode, WorkerCommand, WorkerEvent, WorkerStatus};

#[test]
fn unconfirmed_commands_are_resent_with_the_same_id_after_reconnect() {
    let mut app = app_with_conversation(false);
    app.update(Msg::Conn(ConnState::Reconnecting {
        attempt: 1,
        at: T0 + 500,
        hub_restarting: false,
    }));
    key(&mut app, "r");
    type_text(&mut app, "Sono qui");
    let out = key(&mut app, "ctrl-s");
    assert!(sent(&out).is_empty(), "not sent while disconnected");
    assert!(
        out.iter()
            .any(|c| matches!(c, Command::SaveOutbox(e) if e.len() == 1))
    );
    assert_eq!(app.outbox.len(), 1);
    let id = app.outbox.entries()[0].frame.id.clone();

    app.update(Msg::Conn(ConnState::Connected));
    let out = app.update(Msg::Hub(welcome(true, WorkerStatus::Available, T0)));
    let frame = only_sent(&out);
    assert_eq!(frame.id, id, "same id: the hub applies it once");
    assert!(matches!(frame.command, WorkerCommand::Reply { .. }));
    // Still pending until acked, also across a second reconnect.
    let out = app.update(Msg::Hub(welcome(true, WorkerStatus::Available, T0)));
    assert_eq!(only_sent(&out).id, id);
    app.update(Msg::Hub(WorkerEvent::Ack {
        id,
        duplicate: true,
    }));
    assert!(app.outbox.is_empty());
}

#[test]
fn unavailable_is_retried_later() {
    let mut app = app();
    let out = key(&mut app, "2");
    let id = only_sent(&out).id.clone();
    app.update(Msg::Hub(WorkerEvent::Error {
        id: Some(id.clone()),
        code: ErrorCode::Unavailable,
        message: "retry".into(),
    }));
    assert_eq!(app.outbox.len(), 1);
    assert!(sent(&app.update(Msg::Tick(T0 + 500))).is_empty());
    let out = app.update(Msg::Tick(T0 + 1_000));
    assert_eq!(only_sent(&out).id, id);
}

#[test]
fn a_fresh_login_drops_old_conversations() {
    let mut app = app_with_conversation(true);
    app.update(Msg::Hub(offer("c-2", T0 + 30_000)));
    // Resumed: everything stays.
    app.update(Msg::Hub(welcome(true, WorkerStatus::Available, T0)));
    assert_eq!(app.conversations.len(), 1);
    assert!(app.offer.is_some());
    // Not resumed: a snapshot follows, so the old state goes.
    app.update(Msg::Hub(welcome(false, WorkerStatus::Available, T0)));
    assert!(app.conversations.is_empty());
    assert!(app.offer.is_none());
    app.update(Msg::Hub(WorkerEvent::Conversation {
        conversation: conversation("c-3", "Jan", false),
    }));
    assert_eq!(app.selected_conversation().map(|c| c.id()), Some("c-3"));
}

#[test]
fn quitting_on_shift_asks_then_goes_offline_and_waits_for_the_ack() {
    let mut app = app();
    let out = key(&mut app, "q");
    assert!(out.is_empty());
    assert!(matches!(app.modal, Some(Modal::Summary)));
    let out = key(&mut app, "q");
    assert!(!out.contains(&Command::Exit), "waits for the hub first");
    assert_eq!(
        only_sent(&out).command,
        WorkerCommand::SetStatus {
            status: WorkerStatus::Offline
        }
    );
    let id = only_sent(&out).id.clone();
    app.update(Msg::Hub(WorkerEvent::Ack {
        id,
        duplicate: false,
    }));
    let out = app.update(Msg::Tick(T0 + 100));
    assert!(out.contains(&Command::Exit));
}

#[test]
fn quitting_when_offline_and_idle_is_immediate_and_a_stuck_outbox_times_out() {
    let (mut app, _) = logged_in(
        Keymap::default_keymap(),
        welcome(false, WorkerStatus::Offline, T0),
    );
    assert!(key(&mut app, "q").contains(&Command::Exit));

    // Available, and the hub never answers.
    let mut app = super::app();
    key(&mut app, "q");
    key(&mut app, "q");
    assert!(!app.update(Msg::Tick(T0 + 1_000)).contains(&Command::Exit));
    assert!(
        app.update(Msg::Tick(T0 + QUIT_WAIT_MS))
            .contains(&Command::Exit)
    );
}

/// A language of the hub's own shows by the name its `welcome` gives; without one, by its code;
/// a built-in one by its own name.
#[test]
fn languages_show_by_the_names_the_hub_gives() {
    let pl = shiftdesk_protocol::Lang::from_code("pl").expect("a code");
    let mut app = app();
    assert_eq!(app.language_label(pl), "pl");
    let mut w = welcome(false, WorkerStatus::Available, T0);
    if let WorkerEvent::Welcome { languages, .. } = &mut w {
        languages.insert(pl, "Polski".into());
    }
    app.update(Msg::Hub(w));
    assert_eq!(app.language_label(pl), "Polski (pl)");
    assert_eq!(
        app.language_label(shiftdesk_protocol::Lang::It),
        "Italiano (it)"
    );
}
