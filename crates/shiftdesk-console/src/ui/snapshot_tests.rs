//! Every panel in every state, drawn on a `TestBackend` and compared with the committed
//! snapshots in `snapshots/`. Review changes with `INSTA_UPDATE=always cargo test` and a diff.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::tests::*;
use crate::app::{App, ConnState, Msg};
use shiftdesk_protocol::{
    Author, ConversationState, DraftOutcome, ErrorCode, LiveConversation, RejectReason, Wallboard,
    WallboardQueue, WallboardWorker, WorkerEvent, WorkerStats, WorkerStatus,
};

pub(super) fn draw(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| super::view(app, frame)).unwrap();
    terminal.backend().to_string()
}

fn with_conversation(draft: bool) -> App {
    let mut app = app();
    let mut view = conversation("c-1", "Maria Rossi", draft);
    // The card number and the address as the hub sends them: masked.
    view.messages.push(message(
        4,
        Author::Customer,
        "Mi avete addebitato due volte 49,90 € sulla carta •••• •••• •••• 1234, potete controllare? Scrivetemi a m***@example.it",
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
        crate::keymap::Keymap::default_keymap(),
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
        hub_restarting: false,
    }));
    crate::app::tests::key(&mut app, "r");
    crate::app::tests::type_text(&mut app, "Controllo subito");
    crate::app::tests::key(&mut app, "ctrl-s");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

/// The hub closed with `1011 hub stopped`: the status bar says it is restarting, not that
/// something is wrong, and the outbox waits for the reconnect.
#[test]
fn hub_restarting_status_bar_80x24() {
    let mut app = with_conversation(true);
    app.update(Msg::Conn(ConnState::Reconnecting {
        attempt: 1,
        at: T0 + 75_000 + 800,
        hub_restarting: true,
    }));
    crate::app::tests::key(&mut app, "r");
    crate::app::tests::type_text(&mut app, "Controllo subito");
    crate::app::tests::key(&mut app, "ctrl-s");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn offline_after_a_refused_login_80x24() {
    let mut app = App::new(
        crate::keymap::Keymap::default_keymap(),
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
fn offer_in_a_language_fallback_80x24() {
    let mut app = app();
    let mut event = offer("c-9", T0 + 30_000);
    if let WorkerEvent::Offer {
        language,
        because,
        language_fallback,
        ..
    } = &mut event
    {
        *language = shiftdesk_protocol::Lang::Ru;
        *because = "no free ru speaker after 1m00s: offered to any language; idle longest (4m) of 2 eligible, 0/2 open".into();
        *language_fallback = true;
    }
    app.update(Msg::Hub(event));
    app.update(Msg::Tick(T0 + 12_000));
    insta::assert_snapshot!(draw(&app, 80, 24));
}

/// The customer panel of a conversation whose language was detected (not declared) and that
/// reached this worker as a language fallback.
#[test]
fn customer_panel_detected_language_fallback_120x40() {
    let mut app = app();
    let mut view = conversation("c-3", "Olga Ivanova", false);
    view.customer.language = None;
    view.language = shiftdesk_protocol::Lang::Ru;
    view.language_fallback = true;
    view.messages.truncate(1);
    view.messages[0].text = "Здравствуйте, мне нужен оператор".into();
    app.update(Msg::Hub(WorkerEvent::Conversation { conversation: view }));
    app.update(Msg::Tick(T0 + 5_000));
    insta::assert_snapshot!(draw(&app, 120, 40));
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

/// A draft as long as the built-in articles' answers (about 520 characters).
fn with_a_long_draft() -> App {
    let mut app = app();
    let mut view = conversation("c-1", "Maria Rossi", true);
    if let Some(d) = &mut view.draft {
        d.proposal.text = "Sorry about that! We check every purchase individually, so a decline \
            doesn't mean anything is wrong with your account; common reasons are an expired card, \
            not enough funds on the card, or an amount that is too high for this purchase. Check \
            your card in the app under Wallet, or try another card or a smaller amount. If an \
            instalment payment failed, we retry automatically after 2 days, or you can pay it \
            yourself in the app under Purchases. END."
            .into();
    }
    app.update(Msg::Hub(WorkerEvent::Conversation { conversation: view }));
    app.update(Msg::Tick(T0 + 75_000));
    app
}

/// Enter sends the whole draft, so the panel grows to show all of it where the screen has room.
#[test]
fn a_long_draft_is_shown_whole_100x30() {
    let screen = draw(&with_a_long_draft(), 100, 30);
    assert!(screen.contains("END."), "{screen}");
    insta::assert_snapshot!(screen);
}

/// A draft of this length fits whole at 80x24 too; one twice as long does not, and the panel
/// says how much is hidden instead of looking whole.
#[test]
fn a_long_draft_that_does_not_fit_says_so_80x24() {
    assert!(draw(&with_a_long_draft(), 80, 24).contains("END."));
    let mut app = with_a_long_draft();
    if let Some(d) = app
        .conversations
        .iter_mut()
        .find(|c| c.id() == "c-1")
        .and_then(|c| c.draft.as_mut())
    {
        let text = d.draft.proposal.text.clone();
        d.draft.proposal.text = format!("{text} {text}");
    }
    let screen = draw(&app, 80, 24);
    assert_eq!(screen.matches("END.").count(), 1, "{screen}");
    assert!(
        screen.contains("more lines not shown (e: read all)"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn resolved_conversation_without_its_draft_80x24() {
    let mut app = with_conversation(true);
    app.update(Msg::Hub(WorkerEvent::Closed {
        conversation: "c-1".into(),
        reason: "resolved".into(),
    }));
    app.notice = None;
    let screen = draw(&app, 80, 24);
    assert!(!screen.contains("enter send"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn draft_pending_80x24() {
    let mut app = with_conversation(true);
    app.update(Msg::Conn(ConnState::Reconnecting {
        attempt: 1,
        at: T0 + 76_000,
        hub_restarting: false,
    }));
    crate::app::tests::key(&mut app, "enter");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn draft_sent_80x24() {
    let mut app = with_conversation(true);
    let out = crate::app::tests::key(&mut app, "enter");
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

/// After an edited draft is sent, the panel shows the text the customer got, not the proposal.
#[test]
fn an_edited_draft_shows_what_was_sent() {
    let mut app = with_conversation(true);
    crate::app::tests::key(&mut app, "e");
    crate::app::tests::type_text(&mut app, " Grazie, Ana");
    let out = crate::app::tests::key(&mut app, "ctrl-s");
    let id = sent(&out)[0].id.clone();
    app.update(Msg::Hub(WorkerEvent::Ack {
        id,
        duplicate: false,
    }));
    let screen = draw(&app, 80, 24);
    assert!(screen.contains("sent edited ✓"), "{screen}");
    assert!(screen.contains("Grazie, Ana"), "{screen}");
}

#[test]
fn draft_failed_80x24() {
    let mut app = with_conversation(true);
    let out = crate::app::tests::key(&mut app, "enter");
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
    crate::app::tests::key(&mut app, "x");
    crate::app::tests::key(&mut app, "down");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn editor_open_80x24() {
    let mut app = with_conversation(true);
    crate::app::tests::key(&mut app, "e");
    crate::app::tests::type_text(&mut app, " Ti scrivo appena arriva.");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn note_editor_empty_80x24() {
    let mut app = with_conversation(false);
    crate::app::tests::key(&mut app, "n");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn decline_prompt_80x24() {
    let mut app = app();
    app.update(Msg::Hub(offer("c-9", T0 + 30_000)));
    crate::app::tests::key(&mut app, "d");
    crate::app::tests::type_text(&mut app, "on a call");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn help_overlay_80x24() {
    let mut app = with_conversation(true);
    crate::app::tests::key(&mut app, "?");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn help_overlay_leaves_no_half_of_a_wide_glyph_at_its_edges() {
    // A transcript of wide glyphs (two columns each) under the help, at widths of both
    // parities: the overlay's borders must not cut a glyph in two, and the column either side
    // of it is blank rather than a stray character of the screen below.
    for width in 80..=85u16 {
        let mut app = app();
        let mut view = conversation("c-1", "山田 花子", true);
        let line = "日本語のテキストです。返金はいつ届きますか？".repeat(8);
        for n in 4..12 {
            view.messages
                .push(message(n, Author::Customer, &line, None));
        }
        app.update(Msg::Hub(WorkerEvent::Conversation { conversation: view }));
        crate::app::tests::key(&mut app, "?");
        let mut terminal = Terminal::new(TestBackend::new(width, 24)).unwrap();
        terminal.draw(|frame| super::view(&app, frame)).unwrap();
        let buf = terminal.backend().buffer().clone();
        let body = ratatui::layout::Rect::new(0, 1, width, 22);
        let help = super::help::centered_help(body);
        for y in help.top()..help.bottom() {
            for x in 0..width - 1 {
                let (cell, next) = (&buf[(x, y)], &buf[(x + 1, y)]);
                assert!(
                    super::width(cell.symbol()) < 2 || next.symbol() == " ",
                    "width {width}, row {y}: {:?} at {x} is cut by {:?}",
                    cell.symbol(),
                    next.symbol()
                );
            }
            for x in [help.left() - 1, help.right()] {
                assert_eq!(
                    buf[(x, y)].symbol(),
                    " ",
                    "width {width}, row {y}, column {x}"
                );
            }
        }
    }
}

#[test]
fn reply_editor_120x40() {
    let mut app = with_conversation(true);
    crate::app::tests::key(&mut app, "?");
    crate::app::tests::key(&mut app, "down");
    crate::app::tests::key(&mut app, "esc");
    crate::app::tests::key(&mut app, "r");
    crate::app::tests::type_text(&mut app, "Controllo subito?");
    insta::assert_snapshot!(draw(&app, 120, 40));
}

#[test]
fn help_over_the_editor_80x24() {
    let mut app = with_conversation(true);
    crate::app::tests::key(&mut app, "r");
    crate::app::tests::key(&mut app, "f1");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn summary_80x24() {
    let mut app = app();
    app.options.break_reminder_ms = 0;
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
            earnings: None,
        },
    }));
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn quit_confirmation_80x24() {
    let mut app = with_conversation(false);
    crate::app::tests::key(&mut app, "q");
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

// ---------------------------------------------------------------------------------------------
// Supervisor views
// ---------------------------------------------------------------------------------------------

const FIRST: &[&str] = &[
    "Ana", "Jan", "Li", "Marta", "Lukas", "Sanne", "Ingrid", "Dmitri", "Priya", "Tomás", "Aiko",
    "Femke", "Olga", "Chidi", "Elif",
];
const LAST: &[&str] = &[
    "Rossi", "de Vries", "Chen", "Ricci", "Braun", "Bakker", "Holm", "Orlov", "Shah", "García",
    "Sato", "Jansen", "Ivanova", "Okafor", "Yılmaz", "Novak", "Berg", "Costa", "Weber", "Lund",
];

/// `n` workers with varied statuses and figures, `live` conversations among them, six queues.
pub(super) fn big_wallboard(n: usize, live_n: usize) -> Wallboard {
    let statuses = [
        WorkerStatus::Available,
        WorkerStatus::Available,
        WorkerStatus::Available,
        WorkerStatus::Break,
        WorkerStatus::Draining,
        WorkerStatus::Available,
        WorkerStatus::Offline,
    ];
    let workers: Vec<WallboardWorker> = (0..n)
        .map(|i| {
            let status = statuses[i % statuses.len()];
            let open = if status == WorkerStatus::Offline {
                0
            } else {
                (i % 3) as u32
            };
            let i32 = i as u32;
            WallboardWorker {
                role: shiftdesk_protocol::Role::Worker,
                id: format!("w{i:03}"),
                name: format!(
                    "{} {}",
                    FIRST[i % FIRST.len()],
                    LAST[(i / FIRST.len()) % LAST.len()]
                ),
                status,
                // Every 11th has dropped off (in the grace period).
                connected: status != WorkerStatus::Offline && i % 11 != 5,
                since: T0 - ((i as u64 * 7_919) % 5_400) * 1_000,
                open,
                capacity: 2,
                stats: WorkerStats {
                    offers_accepted: 3 + i32 % 17,
                    offers_declined: i32 % 4,
                    offers_missed: (i32 * 7) % 10 / 4,
                    handled: 2 + i32 % 15,
                    handle_ms_total: u64::from(2 + i32 % 15)
                        * (180_000 + u64::from(i32 % 9) * 20_000),
                    drafts_accepted: 5 + i32 % 23,
                    drafts_edited: i32 % 7,
                    drafts_rejected: (i32 * 3) % 4,
                    drafts_regenerated: i32 % 2,
                    earnings: None,
                },
            }
        })
        .collect();
    let langs = shiftdesk_protocol::Lang::ALL;
    let owners: Vec<&WallboardWorker> = workers.iter().filter(|w| w.open > 0).collect();
    let live = (0..live_n)
        .map(|i| {
            let queued = i % 9 == 4;
            LiveConversation {
                id: format!("c{}", 1_000 + i),
                state: if queued {
                    ConversationState::Queued
                } else {
                    ConversationState::Assigned
                },
                language: langs[i % langs.len()],
                owner: (!queued).then(|| owners[i % owners.len().max(1)].name.clone()),
                intent: [
                    "refund_status",
                    "card_blocked",
                    "move_due_date",
                    "human_request",
                ][i % 4]
                    .into(),
                waiting_ms: 20_000 + (i as u64 * 13_000) % 400_000,
            }
        })
        .collect();
    let queues = langs
        .iter()
        .enumerate()
        .map(|(i, &language)| WallboardQueue {
            language,
            depth: [3, 1, 0, 0, 2, 0][i],
            longest_wait_ms: [95_000, 12_000, 0, 0, 41_000, 0][i],
            time_to_human_p50_ms: [
                Some(38_000),
                Some(22_000),
                Some(51_000),
                None,
                Some(64_000),
                Some(30_000),
            ][i],
            time_to_human_p90_ms: [
                Some(125_000),
                Some(70_000),
                Some(160_000),
                None,
                Some(190_000),
                Some(88_000),
            ][i],
        })
        .collect();
    Wallboard {
        at: T0,
        workers,
        queues,
        live,
        slots: vec![],
    }
}

pub(super) fn supervisor_with(board: Wallboard) -> App {
    let (mut app, _) = supervisor();
    app.update(Msg::Hub(WorkerEvent::Wallboard { wallboard: board }));
    app.update(Msg::Tick(T0 + 1_000));
    // The subscription's ack.
    let id = app.outbox.entries()[0].frame.id.clone();
    app.update(Msg::Hub(WorkerEvent::Ack {
        id,
        duplicate: false,
    }));
    app
}

fn wallboard_300_scrolled() -> App {
    let mut app = supervisor_with(big_wallboard(300, 120));
    for _ in 0..14 {
        key(&mut app, "pagedown");
    }
    key(&mut app, "up");
    app
}

#[test]
fn wallboard_300_workers_scrolled_120x40() {
    let app = wallboard_300_scrolled();
    assert_eq!(app.board.selected, 139);
    insta::assert_snapshot!(draw(&app, 120, 40));
}

#[test]
fn wallboard_300_workers_scrolled_80x24() {
    let app = wallboard_300_scrolled();
    insta::assert_snapshot!(draw(&app, 80, 24));
}

fn wallboard_sorted_and_filtered() -> App {
    let mut app = supervisor_with(big_wallboard(300, 120));
    key(&mut app, "o");
    key(&mut app, "o");
    key(&mut app, "/");
    type_text(&mut app, "status:break");
    key(&mut app, "enter");
    key(&mut app, "down");
    app
}

#[test]
fn wallboard_sorted_by_time_in_status_and_filtered_120x40() {
    let app = wallboard_sorted_and_filtered();
    insta::assert_snapshot!(draw(&app, 120, 40));
}

#[test]
fn wallboard_sorted_by_time_in_status_and_filtered_80x24() {
    let app = wallboard_sorted_and_filtered();
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn wallboard_filter_prompt_and_live_focus_80x24() {
    let mut app = supervisor_with(big_wallboard(40, 25));
    key(&mut app, "tab");
    key(&mut app, "down");
    key(&mut app, "down");
    key(&mut app, "/");
    type_text(&mut app, "mar");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

fn small_board() -> Wallboard {
    let mut board = big_wallboard(0, 0);
    board.workers = vec![
        board_worker("ana", "Ana Rossi", WorkerStatus::Available, 1, T0 - 250_000),
        board_worker("jan", "Jan de Vries", WorkerStatus::Break, 0, T0 - 95_000),
        board_worker("li", "Li Chen", WorkerStatus::Available, 2, T0 - 30_000),
    ];
    board.live = vec![live("c-1", Some("Ana Rossi"))];
    board
}

/// Sam shadows Ana's conversation: a draft she edited, one she rejected, one waiting, and
/// Sam's whisper; Kim shadows too.
fn shadowing() -> App {
    let mut app = supervisor_with(small_board());
    // Off the wallboard the console opens on.
    key(&mut app, "W");
    let mut view = conversation("c-1", "Maria Rossi", false);
    view.owner = Some("ana".into());
    view.shadowed_by = vec!["Kim".into(), "Sam".into()];
    view.messages[2].text = "Ana Rossi joined the conversation.".into();
    app.update(Msg::Hub(WorkerEvent::Conversation { conversation: view }));
    let line = |n, from, text: &str, by: Option<&str>| WorkerEvent::Message {
        conversation: "c-1".into(),
        message: message(n, from, text, by),
    };
    let drafted = |id: &str, for_message, text: &str| {
        let mut d = draft(id, for_message);
        d.proposal.text = text.into();
        WorkerEvent::Draft {
            conversation: "c-1".into(),
            draft: d,
        }
    };
    let done = |id: &str, outcome, reason| WorkerEvent::DraftDone {
        conversation: "c-1".into(),
        draft: id.into(),
        outcome,
        reason,
    };
    for event in [
        drafted(
            "d1",
            1,
            "Ciao Maria, il rimborso arriva in 3-5 giorni lavorativi.",
        ),
        done("d1", DraftOutcome::Edited, None),
        line(
            4,
            Author::Worker,
            "Ciao Maria, vedo il doppio addebito: il rimborso arriva entro 3 giorni.",
            Some("Ana Rossi"),
        ),
        line(5, Author::Customer, "E se non arriva?", None),
        drafted(
            "d2",
            5,
            "Puoi controllare lo stato nella sezione Rimborsi dell'app.",
        ),
        done(
            "d2",
            DraftOutcome::Rejected,
            Some(RejectReason::NeedsPerson),
        ),
        line(
            6,
            Author::Worker,
            "Ti scrivo io venerdì per confermare.",
            Some("Ana Rossi"),
        ),
        line(7, Author::Customer, "Grazie! E la seconda carta?", None),
        drafted("d3", 7, "Per la seconda carta apri Impostazioni > Carte."),
        done("d3", DraftOutcome::Accepted, None),
        line(
            8,
            Author::Worker,
            "Per la seconda carta apri Impostazioni > Carte.",
            Some("Ana Rossi"),
        ),
        line(9, Author::Customer, "Ok, e quando scade la rata?", None),
        drafted("d4", 9, "La rata scade il 15 del mese."),
        line(
            10,
            Author::Whisper,
            "Offer to move the due date: she qualifies.",
            Some("Sam"),
        ),
    ] {
        app.update(Msg::Hub(event));
    }
    app.update(Msg::Tick(T0 + 2_000));
    app
}

#[test]
fn shadow_with_draft_outcomes_and_a_whisper_120x40() {
    let app = shadowing();
    insta::assert_snapshot!(draw(&app, 120, 40));
}

#[test]
fn shadow_with_draft_outcomes_and_a_whisper_80x24() {
    let app = shadowing();
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn shadow_whisper_editor_80x24() {
    let mut app = shadowing();
    key(&mut app, "w");
    type_text(&mut app, "She asked twice; apologise first.");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn hand_back_chooses_on_the_wallboard_80x24() {
    let mut app = shadowing();
    key(&mut app, "O");
    key(&mut app, "O");
    let mut mine = conversation("c-1", "Maria Rossi", false);
    mine.owner = Some("sam".into());
    app.update(Msg::Hub(WorkerEvent::Conversation { conversation: mine }));
    key(&mut app, "H");
    app.notice = None;
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn supervisor_not_shadowing_anything_80x24() {
    let mut app = supervisor_with(small_board());
    // The console opens on the wallboard; closing it shows the (empty) shadowing view.
    key(&mut app, "W");
    insta::assert_snapshot!(draw(&app, 80, 24));
}

#[test]
fn drawing_the_wallboard_does_not_grow_with_the_list() {
    // The sort and filter run when a frame arrives; drawing only touches the visible rows. A
    // view that built a line per worker would take seconds here (debug build).
    let mut app = supervisor_with(big_wallboard(200_000, 50_000));
    key(&mut app, "pagedown");
    let small = supervisor_with(big_wallboard(20, 5));
    let time = |app: &App| {
        let start = std::time::Instant::now();
        for _ in 0..5 {
            draw(app, 120, 40);
        }
        start.elapsed()
    };
    let (big, little) = (time(&app), time(&small));
    println!("draw x5: 200,000 workers {big:?}, 20 workers {little:?}");
    assert!(
        big < little * 4 + std::time::Duration::from_millis(150),
        "200,000 workers: {big:?}; 20 workers: {little:?}"
    );
}

#[test]
fn every_snapshot_state_fits_at_80x24_without_panicking_when_tiny() {
    // Small and odd sizes must not panic (layout arithmetic).
    let mut app = with_conversation(true);
    app.update(Msg::Hub(offer("c-9", T0 + 90_000)));
    for (w, h) in [(20, 5), (40, 10), (79, 23), (1, 1), (200, 60)] {
        draw(&app, w, h);
    }
    crate::app::tests::key(&mut app, "?");
    draw(&app, 30, 8);
}
