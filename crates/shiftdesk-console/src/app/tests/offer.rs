//! Offers: the notification, accept, decline with a reason, the countdown on the hub's clock.

use super::*;
use crate::app::{Level, Modal, Notification, OfferAnswer};
use crate::keymap::{Context, Keymap};
use shiftdesk_protocol::{ErrorCode, WorkerCommand, WorkerEvent, WorkerStatus};

#[test]
fn offer_arrives_then_accept_sends_and_ack_confirms() {
    let mut app = app();
    let out = app.update(Msg::Hub(offer("c-1", T0 + 30_000)));
    assert!(out.contains(&Command::Notify(Notification {
        bell: true,
        desktop: None
    })));
    assert!(app.offer.is_some());
    assert!(app.contexts().0.contains(&Context::Offer));

    let out = key(&mut app, "a");
    let frame = only_sent(&out).clone();
    assert_eq!(
        frame.command,
        WorkerCommand::AcceptOffer {
            conversation: "c-1".into()
        }
    );
    assert_eq!(frame.id, "t-1");
    assert_eq!(app.outbox.len(), 1, "pending until the hub answers");
    assert_eq!(
        app.offer.as_ref().map(|o| o.answer.clone()),
        Some(OfferAnswer::Accepting)
    );
    // A second press does not send twice.
    assert!(sent(&key(&mut app, "a")).is_empty());

    app.update(Msg::Hub(WorkerEvent::Conversation {
        conversation: conversation("c-1", "Maria Rossi", true),
    }));
    app.update(Msg::Hub(WorkerEvent::Ack {
        id: frame.id.clone(),
        duplicate: false,
    }));
    assert!(app.outbox.is_empty());
    assert!(app.offer.is_none());
    assert_eq!(app.selected_conversation().map(|c| c.id()), Some("c-1"));
    assert_eq!(app.open_count(), 1);
}

#[test]
fn an_expired_offer_is_said_plainly() {
    let mut app = app();
    app.update(Msg::Hub(offer("c-1", T0 + 30_000)));
    let out = key(&mut app, "a");
    let id = only_sent(&out).id.clone();
    app.update(Msg::Hub(WorkerEvent::Error {
        id: Some(id),
        code: ErrorCode::Conflict,
        message: "the offer for `c-1` is no longer open to you".into(),
    }));
    assert!(app.offer.is_none());
    assert!(app.outbox.is_empty());
    let notice = app.notice.clone().unwrap();
    assert_eq!(notice.level, Level::Error);
    assert!(notice.text.contains("Offer expired"), "{}", notice.text);
}

#[test]
fn decline_asks_for_an_optional_reason() {
    let mut app = app();
    app.update(Msg::Hub(offer("c-1", T0 + 30_000)));
    assert!(
        sent(&key(&mut app, "d")).is_empty(),
        "nothing sent before the prompt"
    );
    assert!(matches!(app.modal, Some(Modal::Prompt(_))));
    // Letters type into the prompt, even those bound elsewhere (a = accept, q = quit).
    assert!(type_text(&mut app, "aq busy").is_empty());
    let out = key(&mut app, "enter");
    assert_eq!(
        only_sent(&out).command,
        WorkerCommand::DeclineOffer {
            conversation: "c-1".into(),
            reason: Some("aq busy".into())
        }
    );
    assert!(app.modal.is_none());
    app.update(Msg::Hub(WorkerEvent::OfferWithdrawn {
        conversation: "c-1".into(),
        reason: "declined".into(),
    }));
    assert!(app.offer.is_none());
    assert!(app.notice.as_ref().unwrap().text.contains("No penalty"));

    // Esc in the prompt keeps the offer; an empty reason is sent as none.
    app.update(Msg::Hub(offer("c-2", T0 + 30_000)));
    key(&mut app, "d");
    key(&mut app, "esc");
    assert!(app.modal.is_none());
    assert!(app.offer.is_some());
    key(&mut app, "d");
    let out = key(&mut app, "enter");
    assert_eq!(
        only_sent(&out).command,
        WorkerCommand::DeclineOffer {
            conversation: "c-2".into(),
            reason: None
        }
    );
}

#[test]
fn countdown_follows_the_hub_clock_and_drops_a_stale_offer() {
    // The hub's clock is 5 s ahead of ours.
    let (mut app, _) = logged_in(
        Keymap::default_keymap(),
        welcome(false, WorkerStatus::Available, T0 + 5_000),
    );
    app.update(Msg::Hub(offer("c-1", T0 + 5_000 + 30_000)));
    let o = app.offer.clone().unwrap();
    assert_eq!(o.remaining_ms(app.now), 30_000);
    assert!((o.ratio(app.now) - 1.0).abs() < 1e-9);
    app.update(Msg::Tick(T0 + 12_000));
    let o = app.offer.clone().unwrap();
    assert_eq!(o.remaining_ms(app.now), 18_000);
    assert!((o.ratio(app.now) - 0.6).abs() < 1e-9);
    app.update(Msg::Tick(T0 + 30_000));
    assert_eq!(app.offer.as_ref().unwrap().remaining_ms(app.now), 0);
    // The hub's withdrawal may be lost with a connection: drop it a little later.
    app.update(Msg::Tick(T0 + 36_000));
    assert!(app.offer.is_none());
}

#[test]
fn desktop_notifications_leave_out_customer_text_unless_asked() {
    let mut app = App::new(
        Keymap::default_keymap(),
        AppOptions {
            bell: false,
            notify: true,
            notify_text: false,
            ..AppOptions::default()
        },
        "t",
        T0,
    );
    let out = app.update(Msg::Hub(offer("c-1", T0 + 30_000)));
    let Some(Command::Notify(n)) = out.first() else {
        panic!("{out:?}")
    };
    assert!(!n.bell);
    let (_, body) = n.desktop.clone().unwrap();
    assert!(
        !body.contains("Maria") && !body.contains("pagato"),
        "{body}"
    );

    app.options.notify_text = true;
    let out = app.update(Msg::Hub(offer("c-2", T0 + 30_000)));
    let Some(Command::Notify(n)) = out.first() else {
        panic!("{out:?}")
    };
    let (_, body) = n.desktop.clone().unwrap();
    // The preview as the hub sent it, its card number masked there.
    assert!(
        body.contains("Ho pagato due volte, carta •••• •••• •••• 1234"),
        "{body}"
    );
}
