//! Console benchmarks (issue 6): the first frame, rendering a 10,000-message transcript at
//! 200x60 beside a 10-message one, and memory with 50 open conversations.
//!
//! The console is driven only through its public API, as the real driver does:
//! `App::new`, `App::update(Msg)` and `ui::view` into ratatui's `TestBackend`.
//!
//! Memory: a counting global allocator needs `unsafe` (forbidden in this crate), so the
//! resident set (VmRSS) of this process is read before and after building and drawing the
//! 50 conversations; the difference and the absolute value go to
//! target/criterion/console_memory.json, which `shiftdesk bench --out` reads.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::widgets::{Block, Paragraph};

use shiftdesk_console::app::{ConnState, Msg};
use shiftdesk_console::keymap::Keymap;
use shiftdesk_console::{App, AppOptions, ui};
use shiftdesk_hub::drafting::DraftProposal;
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{
    Author, ConversationState, ConversationView, CustomerContext, Draft, Limits, Message, Millis,
    PROTOCOL_VERSION, Role, WorkerEvent, WorkerInfo, WorkerStats, WorkerStatus,
};

const T0: Millis = 1_700_000_000_000;

fn welcome() -> WorkerEvent {
    WorkerEvent::Welcome {
        protocol: PROTOCOL_VERSION,
        stream: "bench-ana".into(),
        resumed: false,
        worker: WorkerInfo {
            id: "ana".into(),
            name: "Ana".into(),
            role: Role::Worker,
            languages: vec![Lang::En, Lang::It],
            skills: vec![],
            capacity: 60,
        },
        status: WorkerStatus::Available,
        stats: WorkerStats::default(),
        limits: Limits {
            max_frame_bytes: 65536,
            max_text_chars: 4000,
            max_id_bytes: 64,
            resume_window: 2048,
            offer_timeout_ms: 30_000,
            grace_ms: 60_000,
        },
        server_time: T0,
        languages: Default::default(),
    }
}

/// A logged-in console, as the driver has it after `welcome`.
fn logged_in() -> App {
    let mut app = App::new(Keymap::default_keymap(), AppOptions::default(), "b", T0);
    app.update(Msg::Tick(T0));
    app.update(Msg::Conn(ConnState::Connected));
    app.update(Msg::Hub(welcome()));
    app
}

const LINES: [&str; 4] = [
    "Hi, I paid twice for order 4471 and would like the second charge refunded, please.",
    "Thanks for waiting. I can see both payments; the second one is being refunded now and should reach your card in 3 to 5 working days.",
    "Great, and will I get an email about it?",
    "Yes: an email goes out as soon as the refund is processed. Is there anything else I can help with?",
];

fn conversation(id: &str, messages: usize) -> ConversationView {
    let messages = (0..messages)
        .map(|i| Message {
            n: i as u32 + 1,
            from: if i % 2 == 0 {
                Author::Customer
            } else {
                Author::Worker
            },
            text: LINES[i % LINES.len()].to_string(),
            at: T0 + i as u64 * 1000,
            by: (i % 2 == 1).then(|| "Ana".to_string()),
        })
        .collect::<Vec<_>>();
    let last = messages.len() as u32;
    ConversationView {
        id: id.into(),
        state: ConversationState::Assigned,
        customer: CustomerContext {
            name: format!("Customer {id}"),
            language: Some(Lang::En),
            facts: vec![
                ("plan".into(), "Pay in 3".into()),
                ("card".into(), "•••• •••• •••• 4242".into()),
            ],
            verified: vec!["plan".into()],
        },
        language: Lang::En,
        intent: "refund_status".into(),
        why: "customer asked for a person (\"talk to a person\")".into(),
        messages,
        draft: Some(Draft {
            id: format!("d-{id}"),
            for_message: last.max(1),
            proposal: DraftProposal {
                text: LINES[1].into(),
                confidence: 0.8,
                intent: "refund_status".into(),
                language: Lang::En,
                sources: vec!["refunds".into()],
                drafter: "kb".into(),
                model: None,
                latency_ms: None,
            },
        }),
        owner: Some("ana".into()),
        shadowed_by: vec![],
        opened_at: T0,
        language_fallback: false,
    }
}

fn with_conversations(count: usize, messages: usize) -> App {
    let mut app = logged_in();
    for c in 0..count {
        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation(&format!("c{c}"), messages),
        }));
    }
    app
}

fn terminal(width: u16, height: u16) -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(width, height)).expect("a test terminal")
}

fn first_frame(c: &mut Criterion) {
    let mut g = c.benchmark_group("console_first_frame");
    // The reference: a minimal ratatui program's first frame on the same backend.
    g.bench_function("minimal_ratatui", |b| {
        b.iter(|| {
            let mut t = terminal(80, 24);
            t.draw(|f| {
                f.render_widget(
                    Paragraph::new("Hello, shift!").block(Block::bordered().title("minimal")),
                    f.area(),
                )
            })
            .expect("draw");
            black_box(t);
        })
    });
    // The console from nothing: state, keymap, login, first draw.
    g.bench_function("console_80x24", |b| {
        b.iter(|| {
            let app = logged_in();
            let mut t = terminal(80, 24);
            t.draw(|f| ui::view(&app, f)).expect("draw");
            black_box(t);
        })
    });
    g.finish();
}

fn transcript(c: &mut Criterion) {
    let mut g = c.benchmark_group("console_transcript");
    for messages in [10usize, 10_000] {
        let app = with_conversations(1, messages);
        let mut t = terminal(200, 60);
        g.bench_function(format!("{messages}_messages_200x60"), |b| {
            b.iter(|| {
                t.draw(|f| ui::view(&app, f)).expect("draw");
            })
        });
    }
    g.finish();
}

fn rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resident memory with 50 open conversations of 40 lines each, drawn at 200x60.
fn memory(c: &mut Criterion) {
    const CONVERSATIONS: usize = 50;
    const MESSAGES: usize = 40;
    let before = rss_kib();
    let app = with_conversations(CONVERSATIONS, MESSAGES);
    let mut t = terminal(200, 60);
    t.draw(|f| ui::view(&app, f)).expect("draw");
    let after = rss_kib();
    let state_json: usize = app
        .conversations
        .iter()
        .map(|c| serde_json::to_string(&c.view).map_or(0, |s| s.len()))
        .sum();
    let report = serde_json::json!({
        "conversations": CONVERSATIONS,
        "messages_per_conversation": MESSAGES,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "rss_delta_kib": before.zip(after).map(|(b, a)| a.saturating_sub(b)),
        "conversation_views_json_bytes": state_json,
    });
    eprintln!("console memory with {CONVERSATIONS} conversations: {report}");
    let dir = std::path::Path::new("target/criterion");
    if std::fs::create_dir_all(dir).is_ok() {
        let _ = std::fs::write(dir.join("console_memory.json"), report.to_string());
    }
    let mut g = c.benchmark_group("console_memory");
    g.bench_function("draw_50_conversations_200x60", |b| {
        b.iter(|| t.draw(|f| ui::view(&app, f)).expect("draw").area)
    });
    g.finish();
}

// Memory first, before the other benchmarks have grown the heap.
criterion_group!(benches, memory, first_frame, transcript);
criterion_main!(benches);
