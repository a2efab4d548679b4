//! Tests of `update`, one file per feature, and the fixtures they share with the view's tests
//! (`ui::snapshot_tests`, `ui::transcript`): a logged-in worker or supervisor, hub frames, keys.

mod conversation;
mod draft;
mod keys;
mod modal;
mod offer;
mod session;
mod shift;
mod supervisor;

use super::{App, AppOptions, Command, ConnState, Msg};
use crate::keymap::{KeyPress, Keymap};
use shiftdesk_protocol::{
    Author, ConversationState, ConversationView, CustomerContext, Draft, DraftProposal, Lang,
    Limits, LiveConversation, Message, Millis, PROTOCOL_VERSION, Role, WallboardWorker,
    WorkerEvent, WorkerFrame, WorkerInfo, WorkerStats, WorkerStatus,
};

pub const T0: Millis = 1_700_000_000_000;

pub fn worker(role: Role) -> WorkerInfo {
    WorkerInfo {
        id: "ana".into(),
        name: "Ana".into(),
        role,
        languages: vec![Lang::En, Lang::It],
        skills: vec![],
        capacity: 2,
    }
}

pub fn limits() -> Limits {
    Limits {
        max_frame_bytes: 65536,
        max_text_chars: 4000,
        max_id_bytes: 64,
        resume_window: 2048,
        offer_timeout_ms: 30_000,
        grace_ms: 60_000,
    }
}

pub fn welcome(resumed: bool, status: WorkerStatus, server_time: Millis) -> WorkerEvent {
    WorkerEvent::Welcome {
        protocol: PROTOCOL_VERSION,
        stream: "e1-ana".into(),
        resumed,
        worker: worker(Role::Worker),
        status,
        stats: WorkerStats::default(),
        limits: limits(),
        server_time,
        languages: Default::default(),
    }
}

pub fn offer(conversation: &str, deadline: Millis) -> WorkerEvent {
    WorkerEvent::Offer {
        conversation: conversation.into(),
        language: Lang::It,
        intent: "refund_status".into(),
        why: "asked for a person".into(),
        customer: "Maria Rossi".into(),
        // As the hub sends it: the card number masked but for its last four digits.
        preview: "Ho pagato due volte, carta •••• •••• •••• 1234".into(),
        waited_ms: 42_000,
        deadline,
        timeout_ms: 30_000,
        because: "idle longest (4m) of 2 eligible: speaks it, 0/2 open".into(),
        language_fallback: false,
    }
}

pub fn draft(id: &str, for_message: u32) -> Draft {
    Draft {
        id: id.into(),
        for_message,
        proposal: DraftProposal {
            text: "Ciao Maria, il rimborso arriva in 3-5 giorni lavorativi.".into(),
            confidence: 0.82,
            intent: "refund_status".into(),
            language: Lang::It,
            sources: vec!["refunds-1".into()],
            drafter: "kb".into(),
            model: None,
            latency_ms: None,
        },
    }
}

pub fn message(n: u32, from: Author, text: &str, by: Option<&str>) -> Message {
    Message {
        n,
        from,
        text: text.into(),
        at: T0,
        by: by.map(str::to_string),
    }
}

pub fn conversation(id: &str, name: &str, with_draft: bool) -> ConversationView {
    ConversationView {
        id: id.into(),
        state: ConversationState::Assigned,
        customer: CustomerContext {
            name: name.into(),
            language: Some(Lang::It),
            facts: vec![
                ("plan".into(), "Premium".into()),
                // Masked by the hub.
                ("card".into(), "•••• •••• •••• 4242".into()),
            ],
            // Signed by the operator's site; the card is what the browser declared.
            verified: vec!["plan".into()],
        },
        language: Lang::It,
        intent: "refund_status".into(),
        why: "asked for a person".into(),
        messages: vec![
            message(
                1,
                Author::Customer,
                "Ciao, ho pagato due volte il mio ordine.",
                None,
            ),
            message(2, Author::Bot, "Ti passo a una persona.", None),
            message(3, Author::System, "Ana joined the conversation.", None),
        ],
        draft: with_draft.then(|| draft("d1", 1)),
        owner: Some("ana".into()),
        shadowed_by: vec![],
        opened_at: T0,
        language_fallback: false,
    }
}

/// A console with this keymap at T0, connected and logged in with `welcome`; and what the
/// login sent.
pub fn logged_in(keymap: Keymap, welcome: WorkerEvent) -> (App, Vec<Command>) {
    let mut app = App::new(keymap, AppOptions::default(), "t", T0);
    app.update(Msg::Conn(ConnState::Connected));
    let out = app.update(Msg::Hub(welcome));
    (app, out)
}

/// A logged-in, available worker at T0.
pub fn app() -> App {
    let (app, _) = logged_in(
        Keymap::default_keymap(),
        welcome(false, WorkerStatus::Available, T0),
    );
    app
}

/// A logged-in worker with one conversation, `c-1` with Maria, with a draft waiting or not.
pub fn app_with_conversation(with_draft: bool) -> App {
    let mut app = app();
    app.update(Msg::Hub(WorkerEvent::Conversation {
        conversation: conversation("c-1", "Maria", with_draft),
    }));
    app
}

/// A supervisor (Sam) logged in; returns the app and what login sent.
pub fn supervisor() -> (App, Vec<Command>) {
    let mut w = welcome(false, WorkerStatus::Offline, T0);
    if let WorkerEvent::Welcome { worker, .. } = &mut w {
        worker.role = Role::Supervisor;
        worker.id = "sam".into();
        worker.name = "Sam".into();
    }
    logged_in(Keymap::default_keymap(), w)
}

pub fn board_worker(
    id: &str,
    name: &str,
    status: WorkerStatus,
    open: u32,
    since: Millis,
) -> WallboardWorker {
    WallboardWorker {
        role: Role::Worker,
        id: id.into(),
        name: name.into(),
        status,
        connected: status != WorkerStatus::Offline,
        since,
        open,
        capacity: 2,
        stats: WorkerStats::default(),
    }
}

pub fn live(id: &str, owner: Option<&str>) -> LiveConversation {
    LiveConversation {
        id: id.into(),
        state: if owner.is_some() {
            ConversationState::Assigned
        } else {
            ConversationState::Queued
        },
        language: Lang::It,
        owner: owner.map(str::to_string),
        intent: "refund_status".into(),
        waiting_ms: 30_000,
    }
}

pub fn key(app: &mut App, text: &str) -> Vec<Command> {
    let mut out = Vec::new();
    for k in crate::keymap::KeySeq::parse(text).unwrap().0 {
        out.extend(app.update(Msg::Key(k)));
    }
    out
}

pub fn type_text(app: &mut App, text: &str) -> Vec<Command> {
    let mut out = Vec::new();
    for c in text.chars() {
        out.extend(app.update(Msg::Key(KeyPress::char(c))));
    }
    out
}

pub fn sent(commands: &[Command]) -> Vec<&WorkerFrame> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Send(frame) => Some(frame),
            _ => None,
        })
        .collect()
}

fn only_sent(commands: &[Command]) -> &WorkerFrame {
    let frames = sent(commands);
    assert_eq!(frames.len(), 1, "expected one frame, got {commands:?}");
    frames[0]
}
