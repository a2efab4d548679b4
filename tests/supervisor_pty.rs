//! The real `shiftdesk demo --role supervisor` in a pseudo-terminal: open the wallboard, wait
//! for a live conversation that a simulated worker has, shadow it, whisper to the worker, quit,
//! and find the whisper in that conversation in `shiftdesk export conversations`: the line the
//! hub delivered to the worker's side. Keys are read from keymaps/default.toml by action name,
//! as an outside tool would; the screen is read through a vt100 parser. Nothing sleeps for
//! something that can be awaited: every wait polls the screen (or the process) up to a deadline.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use shiftdesk_testkit::pty::key;
use shiftdesk_testkit::{PtyApp, Screen};

use common::BIN;

/// Generous: the machine may be busy, and simulated workers take seconds to accept.
const WAIT: Duration = Duration::from_secs(45);

/// The simulated team of the supervisor demo (src/demo.rs).
const TEAM: &[&str] = &[
    "Marta Ricci",
    "Lukas Braun",
    "Sanne Bakker",
    "Ingrid Holm",
    "Dmitri Orlov",
    "Priya Shah",
];
const SUPERVISOR: &str = "Sam Okafor";

/// The selected row of the live conversations list, if the wallboard shows one.
fn selected_live_row(screen: &str) -> Option<String> {
    screen
        .lines()
        .skip_while(|l| !l.contains("Live conversations"))
        .skip(1)
        .find(|l| l.contains("▸ "))
        .map(str::to_string)
}

/// (conversation id, worker) when the selected live row is with a simulated worker.
fn assigned(row: &str) -> Option<(String, String)> {
    let worker = TEAM.iter().find(|name| row.contains(*name))?;
    if !row.contains("assigned") {
        return None;
    }
    let after = row.split("▸ ").nth(1)?;
    let id = after.split_whitespace().next()?.to_string();
    Some((id, worker.to_string()))
}

/// The supervisor demo in a pseudo-terminal.
struct Demo {
    app: PtyApp,
}

impl Demo {
    fn start(data: &Path, config: &Path) -> Demo {
        let app = PtyApp::command(BIN)
            .args([
                "demo",
                "--role",
                "supervisor",
                "--arrivals",
                "1-2",
                "--no-bell",
                "--data-dir",
            ])
            .arg(data)
            .env("SHIFTDESK_CONFIG_DIR", config)
            .size(40, 120)
            .timeout(WAIT)
            .spawn();
        Demo { app }
    }

    fn screen(&self) -> Screen {
        self.app.screen()
    }

    fn press(&mut self, context: &str, action: &str) {
        self.app.send(&key(context, action));
    }

    fn type_bytes(&mut self, bytes: &[u8]) {
        self.app.send(bytes);
    }

    /// Open the wallboard and select a live conversation a simulated worker has.
    fn choose_assigned_conversation(&mut self) -> (String, String) {
        if !self.screen().text().contains("Live conversations") {
            self.press("global", "supervisor.wallboard");
            self.screen()
                .wait_for("the wallboard", |s| s.contains("Live conversations"));
        }
        if self.screen().text().contains("to choose one to shadow") {
            // The workers list has the focus: move it to the live conversations.
            self.press("wallboard", "wallboard.focus");
            self.screen()
                .wait_for("the live list to have the focus", |s| {
                    !s.contains("to choose one to shadow")
                });
        }
        let down = key("wallboard", "picker.down");
        self.app
            .wait_until(WAIT * 2, "a conversation with a simulated worker", |app| {
                let row = selected_live_row(&app.screen().text()).unwrap_or_default();
                if let Some(found) = assigned(&row) {
                    return Some(found);
                }
                // Waiting ones are listed first: move down, or wait for the next figures
                // (about one a second) when already at the bottom.
                app.send(&down);
                app.screen().poll(Duration::from_secs(2), |s| {
                    (selected_live_row(s).unwrap_or_default() != row).then_some(())
                });
                None
            })
    }

    /// Wait for the process to end, pressing quit again if it asks to confirm.
    fn quit(&mut self) {
        let quit = key("global", "quit");
        self.app.send(&quit);
        let mut pressed_again = false;
        let status = self.app.wait_until(WAIT, "the demo to exit", |app| {
            if let Some(status) = app.try_wait() {
                return Some(status);
            }
            if !pressed_again && app.screen().text().contains("again to") {
                app.send(&quit);
                pressed_again = true;
            }
            None
        });
        assert!(status.success(), "demo exit status {status:?}");
    }
}

#[test]
fn a_supervisor_shadows_a_live_conversation_and_whispers_to_the_worker() {
    let data = tempfile::tempdir().expect("data dir");
    let config = tempfile::tempdir().expect("config dir");
    let mut demo = Demo::start(data.path(), config.path());
    demo.screen()
        .wait_for("the supervisor console to connect", |s| {
            s.contains(SUPERVISOR) && s.contains("connected")
        });
    // A supervisor starts on the wallboard, without pressing anything.
    demo.screen()
        .wait_for("the wallboard first", |s| s.contains("Live conversations"));

    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .subsec_nanos();
    let whisper = format!("pty-whisper-{}-{nonce:x}", std::process::id());

    // A conversation can end at any moment (the customer leaves, the worker resolves it):
    // then shadowing or whispering is refused, and the test picks another one.
    let mut shadowed = None;
    for attempt in 1..=4 {
        let (conversation, worker) = demo.choose_assigned_conversation();
        println!("attempt {attempt}: shadowing {conversation} ({worker})");
        demo.press("wallboard", "supervisor.shadow");
        let banner = format!("SHADOWING {worker}");
        let shown = demo.screen().poll(WAIT, |s| {
            if s.contains(&banner) {
                Some(true)
            } else if s.contains("shadow refused") {
                Some(false)
            } else {
                None
            }
        });
        if shown != Some(true) {
            println!("could not shadow {conversation}:\n{}", demo.screen().text());
            continue;
        }
        let screen = demo.screen().text();
        assert!(screen.contains("read-only"), "{screen}");
        println!("shadow view:\n{screen}");

        demo.press("conversation", "supervisor.whisper");
        demo.screen().wait_for("the whisper editor", |s| {
            s.contains("Whisper to the worker")
        });
        demo.type_bytes(whisper.as_bytes());
        demo.screen()
            .wait_for("the typed whisper", |s| s.contains(&whisper));
        demo.press("editor", "reply.send");
        // The hub sends the line to everyone watching the conversation: the worker who owns
        // it and this supervisor. On screen it loses its "sending…" mark.
        let confirmed = format!("Whisper ({SUPERVISOR}): {whisper}");
        let sent = demo.screen().poll(WAIT, |s| {
            if s.contains(&confirmed) {
                Some(true)
            } else if s.contains("not sent") || s.contains("Not sent") {
                Some(false)
            } else {
                None
            }
        });
        match sent {
            Some(true) => {
                println!("whisper confirmed:\n{}", demo.screen().text());
                shadowed = Some((conversation, worker));
                break;
            }
            _ => {
                println!("whisper not delivered:\n{}", demo.screen().text());
                // Stop shadowing the ended conversation and try another.
                demo.press("conversation", "supervisor.shadow");
            }
        }
    }
    let (conversation, worker) = shadowed.expect("a whisper reached a worker within 4 tries");

    demo.quit();
    drop(demo);

    let conversations = common::export(data.path(), "conversations");
    let record = conversations
        .iter()
        .find(|c| c["id"] == conversation.as_str())
        .unwrap_or_else(|| panic!("{conversation} not in the export"));
    let messages = record["messages"].as_array().expect("messages");
    let line = messages
        .iter()
        .find(|m| m["from"] == "whisper" && m["text"] == whisper.as_str())
        .unwrap_or_else(|| panic!("no whisper line in {record:#}"));
    assert_eq!(line["by"], SUPERVISOR);
    // The whisper went into a conversation the worker had: a line of theirs comes before it
    // or they were its owner when it was exported.
    let worker_line = messages
        .iter()
        .any(|m| m["from"] == "worker" && m["by"] == worker.as_str());
    let joined = messages.iter().any(|m| {
        m["from"] == "system"
            && m["text"]
                .as_str()
                .is_some_and(|t| t.contains(worker.as_str()))
    });
    assert!(
        worker_line || joined,
        "{worker} never appears in {conversation}: {record:#}"
    );
    println!("export has the whisper in {conversation}: {line}");
}
