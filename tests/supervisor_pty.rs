//! The real `shiftdesk demo --role supervisor` in a pseudo-terminal: open the wallboard, wait
//! for a live conversation that a simulated worker has, shadow it, whisper to the worker, quit,
//! and find the whisper in that conversation in `shiftdesk export conversations`: the line the
//! hub delivered to the worker's side. Keys are read from keymaps/default.toml by action name,
//! as an outside tool would; the screen is read through a vt100 parser. Nothing sleeps for
//! something that can be awaited: every wait polls the screen (or the process) up to a deadline.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

const BIN: &str = env!("CARGO_BIN_EXE_shiftdesk");
const ROWS: u16 = 40;
const COLS: u16 = 120;
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

/// The key bound to `action` in `[context]` of the default keymap, as the bytes a terminal
/// sends. Where several keys are bound, the simplest to type is used.
fn key_in(context: &str, action: &str) -> Vec<u8> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/keymaps/default.toml"))
            .expect("default keymap");
    let table: toml::Table = text.parse().expect("toml");
    let keys = table
        .get(context)
        .and_then(|t| t.as_table())
        .unwrap_or_else(|| panic!("no [{context}] in keymaps/default.toml"));
    let mut typeable: Vec<(u8, Vec<u8>)> = keys
        .iter()
        .filter(|(_, value)| {
            value
                .as_str()
                .or_else(|| value.get("action").and_then(|a| a.as_str()))
                == Some(action)
        })
        .filter_map(|(key, _)| {
            Some(match key.as_str() {
                k if k.chars().count() == 1 => (0, k.as_bytes().to_vec()),
                k if k.starts_with("ctrl-") && k.len() == 6 => {
                    (1, vec![k.as_bytes()[5].to_ascii_lowercase() - b'a' + 1])
                }
                "enter" => (2, b"\r".to_vec()),
                "tab" => (2, b"\t".to_vec()),
                "esc" => (2, b"\x1b".to_vec()),
                "down" => (3, b"\x1b[B".to_vec()),
                "up" => (3, b"\x1b[A".to_vec()),
                "pagedown" => (3, b"\x1b[6~".to_vec()),
                "pageup" => (3, b"\x1b[5~".to_vec()),
                _ => return None,
            })
        })
        .collect();
    typeable.sort();
    typeable
        .into_iter()
        .next()
        .map(|(_, bytes)| bytes)
        .unwrap_or_else(|| panic!("no key this test can type for {action} in [{context}]"))
}

/// The screen as a person sees it, fed by a thread reading the pty.
struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.lock().expect("lock").screen().contents()
    }

    /// Poll until `pred` holds; `None` at the deadline.
    fn poll<T>(&self, within: Duration, pred: impl Fn(&str) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(found) = pred(&self.text()) {
                return Some(found);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.poll(WAIT, |s| pred(s).then(|| s.to_string()))
            .unwrap_or_else(|| panic!("timed out waiting for {what}; screen:\n{}", self.text()))
    }
}

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

struct Demo {
    child: Box<dyn Child + Send + Sync>,
    keys: Box<dyn Write + Send>,
    screen: Screen,
}

impl Demo {
    fn start(data: &Path, config: &Path) -> Demo {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("pty");
        let mut cmd = CommandBuilder::new(BIN);
        cmd.args([
            "demo",
            "--role",
            "supervisor",
            "--arrivals",
            "1-2",
            "--no-bell",
            "--data-dir",
        ]);
        cmd.arg(data);
        cmd.env("SHIFTDESK_CONFIG_DIR", config);
        cmd.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(cmd).expect("demo starts");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let keys = pty.master.take_writer().expect("writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        {
            let parser = parser.clone();
            std::thread::spawn(move || {
                // Keep the master open while the child runs.
                let _master = pty.master;
                let mut buf = [0u8; 8192];
                while let Ok(n) = reader.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    parser.lock().expect("lock").process(&buf[..n]);
                }
            });
        }
        Demo {
            child,
            keys,
            screen: Screen { parser },
        }
    }

    fn press(&mut self, context: &str, action: &str) {
        self.type_bytes(&key_in(context, action));
    }

    fn type_bytes(&mut self, bytes: &[u8]) {
        self.keys.write_all(bytes).expect("type");
        self.keys.flush().expect("flush");
    }

    /// Open the wallboard and select a live conversation a simulated worker has.
    fn choose_assigned_conversation(&mut self) -> (String, String) {
        if !self.screen.text().contains("Live conversations") {
            self.press("global", "supervisor.wallboard");
            self.screen
                .wait_for("the wallboard", |s| s.contains("Live conversations"));
        }
        if self.screen.text().contains("to choose one to shadow") {
            // The workers list has the focus: move it to the live conversations.
            self.press("wallboard", "wallboard.focus");
            self.screen
                .wait_for("the live list to have the focus", |s| {
                    !s.contains("to choose one to shadow")
                });
        }
        let deadline = Instant::now() + WAIT * 2;
        loop {
            let row = selected_live_row(&self.screen.text()).unwrap_or_default();
            if let Some(found) = assigned(&row) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "no conversation with a simulated worker appeared; screen:\n{}",
                self.screen.text()
            );
            // Waiting ones are listed first: move down, or wait for the next figures (about
            // one a second) when already at the bottom.
            self.press("wallboard", "picker.down");
            self.screen.poll(Duration::from_secs(2), |s| {
                (selected_live_row(s).unwrap_or_default() != row).then_some(())
            });
        }
    }

    /// Wait for the process to end, pressing quit again if it asks to confirm.
    fn quit(&mut self) {
        self.press("global", "quit");
        let deadline = Instant::now() + WAIT;
        let mut pressed_again = false;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "demo exit status {status:?}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the demo did not exit; screen:\n{}",
                self.screen.text()
            );
            if !pressed_again && self.screen.text().contains("again to") {
                self.press("global", "quit");
                pressed_again = true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn a_supervisor_shadows_a_live_conversation_and_whispers_to_the_worker() {
    let data = tempfile::tempdir().expect("data dir");
    let config = tempfile::tempdir().expect("config dir");
    let mut demo = Demo::start(data.path(), config.path());
    demo.screen
        .wait_for("the supervisor console to connect", |s| {
            s.contains(SUPERVISOR) && s.contains("connected")
        });
    // A supervisor starts on the wallboard, without pressing anything.
    demo.screen
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
        let shown = demo.screen.poll(WAIT, |s| {
            if s.contains(&banner) {
                Some(true)
            } else if s.contains("shadow refused") {
                Some(false)
            } else {
                None
            }
        });
        if shown != Some(true) {
            println!("could not shadow {conversation}:\n{}", demo.screen.text());
            continue;
        }
        let screen = demo.screen.text();
        assert!(screen.contains("read-only"), "{screen}");
        println!("shadow view:\n{screen}");

        demo.press("conversation", "supervisor.whisper");
        demo.screen.wait_for("the whisper editor", |s| {
            s.contains("Whisper to the worker")
        });
        demo.type_bytes(whisper.as_bytes());
        demo.screen
            .wait_for("the typed whisper", |s| s.contains(&whisper));
        demo.press("editor", "reply.send");
        // The hub sends the line to everyone watching the conversation: the worker who owns
        // it and this supervisor. On screen it loses its "sending…" mark.
        let confirmed = format!("Whisper ({SUPERVISOR}): {whisper}");
        let sent = demo.screen.poll(WAIT, |s| {
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
                println!("whisper confirmed:\n{}", demo.screen.text());
                shadowed = Some((conversation, worker));
                break;
            }
            _ => {
                println!("whisper not delivered:\n{}", demo.screen.text());
                // Stop shadowing the ended conversation and try another.
                demo.press("conversation", "supervisor.shadow");
            }
        }
    }
    let (conversation, worker) = shadowed.expect("a whisper reached a worker within 4 tries");

    demo.quit();
    drop(demo);

    let conversations = shiftdesk_testkit::export(BIN, data.path(), "conversations");
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
