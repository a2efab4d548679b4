//! Every panel in every state, drawn on a `TestBackend` and compared with the committed
//! snapshots in `snapshots/`. Review changes with `INSTA_UPDATE=always cargo test` and a diff.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::console::app::tests::*;
use crate::console::app::{App, ConnState, Msg};
use crate::protocol::{
    Author, ConversationState, ErrorCode, LiveConversation, Role, Wallboard, WallboardQueue,
    WallboardWorker, WorkerEvent, WorkerStats, WorkerStatus,
};

fn draw(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| super::view(app, frame)).unwrap();
    terminal.backend().to_string()
}

fn with_conversation(draft: bool) -> App {
    let mut app = app();
    let mut view = conversation("c-1", "Maria Rossi", draft);
    view.messages.push(message(
        4,
        Author::Customer,
        "Mi avete addebitato due volte 49,90 € sulla carta 4111 1111 1111 1234, potete controllare? Scrivetemi a maria.rossi@example.it",
        None,
    ));
    view.messages.push(message(
        5,
        Author::Note,
        "Checked the ledger: double charge confirmed.",
        Some("Ana"),
    ));
    if let Some(d) = &mut view.draft {
        d.for_message = 4;
    }
    app.update(Msg::Hub(WorkerEvent::Conversation { conversation: view }));
    app.update(Msg::Hub(WorkerEvent::Conversation {
        conversation: conversation("c-2", "Jan de Vries", false),
    }));
    app.update(Msg::Hub(WorkerEvent::Message {
        conversation: "c-2".into(),
        message: message(4, Author::Customer, "Hallo?", None),
    }));
    app.update(Msg::Tick(T0 + 75_000));
    app
}

#[test]
fn idle_available_80x24() {
    let app = app();
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn connecting_before_login_80x24() {
    let app = App::new(
        crate::console::keymap::Keymap::default_keymap(),
        Default::default(),
        "t",
        T0,
    );
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn reconnecting_status_bar_80x24() {
    let mut app = with_conversation(true);
    app.update(Msg::Conn(ConnState::Reconnecting {
        attempt: 3,
        at: T0 + 75_000 + 3_200,
    }));
    crate::console::app::tests::key(&mut app, "r");
    crate::console::app::tests::type_text(&mut app, "Controllo subito");
    crate::console::app::tests::key(&mut app, "ctrl-s");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn offline_after_a_refused_login_80x24() {
    let mut app = App::new(
        crate::console::keymap::Keymap::default_keymap(),
        Default::default(),
        "t",
        T0,
    );
    app.update(Msg::Conn(ConnState::Offline {
        reason: "the hub refused the token: unknown token".into(),
    }));
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn offer_with_countdown_80x24() {
    let mut app = app();
    app.update(Msg::Hub(offer("c-9", T0 + 30_000)));
    app.update(Msg::Tick(T0 + 12_000));
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn offer_urgent_over_a_conversation_80x24() {
    let mut app = with_conversation(true);
    app.update(Msg::Hub(offer("c-9", T0 + 75_000 + 6_000)));
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn draft_proposed_80x24() {
    let app = with_conversation(true);
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn draft_pending_80x24() {
    let mut app = with_conversation(true);
    app.update(Msg::Conn(ConnState::Reconnecting {
        attempt: 1,
        at: T0 + 76_000,
    }));
    crate::console::app::tests::key(&mut app, "enter");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn draft_sent_80x24() {
    let mut app = with_conversation(true);
    let out = crate::console::app::tests::key(&mut app, "enter");
    let id = sent(&out)[0].id.clone();
    app.update(Msg::Hub(WorkerEvent::Message {
        conversation: "c-1".into(),
        message: message(
            6,
            Author::Worker,
            "Ciao Maria, il rimborso arriva in 3-5 giorni lavorativi.",
            Some("Ana"),
        ),
    }));
    app.update(Msg::Hub(WorkerEvent::Ack {
        id,
        duplicate: false,
    }));
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn draft_failed_80x24() {
    let mut app = with_conversation(true);
    let out = crate::console::app::tests::key(&mut app, "enter");
    let id = sent(&out)[0].id.clone();
    app.update(Msg::Hub(WorkerEvent::Error {
        id: Some(id),
        code: ErrorCode::Conflict,
        message: "draft `d1` is no longer current".into(),
    }));
    app.notice = None;
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn draft_reject_picker_80x24() {
    let mut app = with_conversation(true);
    crate::console::app::tests::key(&mut app, "x");
    crate::console::app::tests::key(&mut app, "down");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn editor_open_80x24() {
    let mut app = with_conversation(true);
    crate::console::app::tests::key(&mut app, "e");
    crate::console::app::tests::type_text(&mut app, " Ti scrivo appena arriva.");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn note_editor_empty_80x24() {
    let mut app = with_conversation(false);
    crate::console::app::tests::key(&mut app, "n");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn decline_prompt_80x24() {
    let mut app = app();
    app.update(Msg::Hub(offer("c-9", T0 + 30_000)));
    crate::console::app::tests::key(&mut app, "d");
    crate::console::app::tests::type_text(&mut app, "on a call");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn help_overlay_80x24() {
    let mut app = with_conversation(true);
    crate::console::app::tests::key(&mut app, "?");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn reply_editor_120x40() {
    let mut app = with_conversation(true);
    crate::console::app::tests::key(&mut app, "?");
    crate::console::app::tests::key(&mut app, "down");
    crate::console::app::tests::key(&mut app, "esc");
    crate::console::app::tests::key(&mut app, "r");
    crate::console::app::tests::type_text(&mut app, "Controllo subito?");
    insta::assert_snapshot!(draw(&app, 120, 40));
}

#[test]
fn help_over_the_editor_80x24() {
    let mut app = with_conversation(true);
    crate::console::app::tests::key(&mut app, "r");
    crate::console::app::tests::key(&mut app, "f1");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn summary_80x24() {
    let mut app = app();
    app.update(Msg::Tick(T0 + 2 * 3_600_000 + 15 * 60_000));
    app.update(Msg::Hub(WorkerEvent::Status {
        status: WorkerStatus::Offline,
        since: T0 + 2 * 3_600_000 + 15 * 60_000,
        stats: WorkerStats {
            offers_accepted: 9,
            offers_declined: 2,
            offers_missed: 1,
            handled: 8,
            handle_ms_total: 8 * 372_000,
            drafts_accepted: 14,
            drafts_edited: 6,
            drafts_rejected: 3,
            drafts_regenerated: 2,
        },
    }));
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn quit_confirmation_80x24() {
    let mut app = with_conversation(false);
    crate::console::app::tests::key(&mut app, "q");
    app.notice = None;
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn conversation_with_offer_and_draft_120x40() {
    let mut app = with_conversation(true);
    app.update(Msg::Hub(WorkerEvent::Shadowers {
        conversation: "c-1".into(),
        supervisors: vec!["Sam".into()],
    }));
    app.update(Msg::Hub(offer("c-9", T0 + 75_000 + 21_000)));
    insta::assert_snapshot!(draw(&app, 120, 40));
}

#[test]
fn supervisor_wallboard_120x40() {
    let mut app = App::new(
        crate::console::keymap::Keymap::default_keymap(),
        Default::default(),
        "t",
        T0,
    );
    app.update(Msg::Conn(ConnState::Connected));
    let mut w = welcome(false, WorkerStatus::Available, T0);
    if let WorkerEvent::Welcome { worker, .. } = &mut w {
        worker.role = Role::Supervisor;
        worker.id = "sam".into();
        worker.name = "Sam".into();
    }
    app.update(Msg::Hub(w));
    crate::console::app::tests::key(&mut app, "W");
    let worker = |id: &str, name: &str, status, open, handled| WallboardWorker {
        id: id.into(),
        name: name.into(),
        status,
        connected: status != WorkerStatus::Offline,
        since: T0,
        open,
        capacity: 2,
        stats: WorkerStats {
            handled,
            handle_ms_total: u64::from(handled) * 300_000,
            ..Default::default()
        },
    };
    app.update(Msg::Hub(WorkerEvent::Wallboard {
        wallboard: Wallboard {
            at: T0,
            workers: vec![
                worker("ana", "Ana", WorkerStatus::Available, 1, 4),
                worker("jan", "Jan", WorkerStatus::Break, 0, 2),
                worker("li", "Li", WorkerStatus::Offline, 0, 0),
            ],
            queues: vec![
                WallboardQueue {
                    language: crate::lang::Lang::En,
                    depth: 2,
                    longest_wait_ms: 95_000,
                    time_to_human_p50_ms: Some(40_000),
                    time_to_human_p90_ms: Some(120_000),
                },
                WallboardQueue {
                    language: crate::lang::Lang::It,
                    depth: 0,
                    longest_wait_ms: 0,
                    time_to_human_p50_ms: None,
                    time_to_human_p90_ms: None,
                },
            ],
            live: vec![
                LiveConversation {
                    id: "c-1".into(),
                    state: ConversationState::Assigned,
                    language: crate::lang::Lang::It,
                    owner: Some("Ana".into()),
                    intent: "refund_status".into(),
                    waiting_ms: 0,
                },
                LiveConversation {
                    id: "c-7".into(),
                    state: ConversationState::Queued,
                    language: crate::lang::Lang::En,
                    owner: None,
                    intent: "card_blocked".into(),
                    waiting_ms: 95_000,
                },
            ],
        },
    }));
    crate::console::app::tests::key(&mut app, "down");
    insta::assert_snapshot!(draw(&app, 120, 40));
}

#[test]
fn every_snapshot_state_fits_at_80x24_without_panicking_when_tiny() {
    // Small and odd sizes must not panic (layout arithmetic).
    let mut app = with_conversation(true);
    app.update(Msg::Hub(offer("c-9", T0 + 90_000)));
    for (w, h) in [(20, 5), (40, 10), (79, 23), (1, 1), (200, 60)] {
        draw(&app, w, h);
    }
    crate::console::app::tests::key(&mut app, "?");
    draw(&app, 30, 8);
}
