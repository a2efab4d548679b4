//! The real `shiftdesk console` binary in a pseudo-terminal, against a real hub process: go
//! available, accept an offer, accept the draft, and the customer receives that text. Keys are
//! read from keymaps/default.toml by action name, as any outside tool would.

mod common;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use serde_json::json;

use common::{BIN, add_worker_cli, hub_process};
const ROWS: u16 = 30;
const COLS: u16 = 100;

/// The key bound to `action` in the default keymap, as the bytes a terminal sends.
fn key_for(action: &str) -> Vec<u8> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/keymaps/default.toml"))
            .expect("default keymap");
    let table: toml::Table = text.parse().expect("toml");
    for (_, context) in table {
        let Some(context) = context.as_table() else {
            continue;
        };
        for (key, value) in context {
            let bound = value
                .as_str()
                .or_else(|| value.get("action").and_then(|a| a.as_str()));
            if bound == Some(action) {
                return match key.as_str() {
                    "enter" => b"\r".to_vec(),
                    "tab" => b"\t".to_vec(),
                    "esc" => b"\x1b".to_vec(),
                    k if k.starts_with("ctrl-") && k.len() == 6 => {
                        vec![k.as_bytes()[5].to_ascii_lowercase() - b'a' + 1]
                    }
                    k if k.chars().count() == 1 => k.as_bytes().to_vec(),
                    other => panic!("test cannot type key `{other}` for {action}"),
                };
            }
        }
    }
    panic!("no key for {action} in keymaps/default.toml");
}

/// The screen as a person sees it, fed by a thread reading the pty.
struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.lock().expect("lock").screen().contents()
    }

    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.text();
            if pred(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_takes_an_offer_and_sends_the_draft_from_the_real_console() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("config dir");
    let hub = hub_process(dir.path(), &[]);
    let token = add_worker_cli(dir.path(), "Paula Pty", "en,it", 2);

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
        "console",
        "--hub",
        &hub.url,
        "--token",
        &token,
        "--no-bell",
        "--data-dir",
    ]);
    cmd.arg(dir.path().join("console"));
    cmd.env("SHIFTDESK_CONFIG_DIR", config.path());
    cmd.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(cmd).expect("console starts");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("reader");
    let mut keys = pty.master.take_writer().expect("writer");
    let parser = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
    let all_output = Arc::new(Mutex::new(Vec::<u8>::new()));
    {
        let parser = parser.clone();
        let all_output = all_output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                parser.lock().expect("lock").process(&buf[..n]);
                all_output
                    .lock()
                    .expect("lock")
                    .extend_from_slice(&buf[..n]);
            }
        });
    }
    let screen = Screen { parser };
    let mut press = |action: &str| {
        keys.write_all(&key_for(action)).expect("type");
        keys.flush().expect("flush");
    };

    screen.wait_for("the console to connect", |s| {
        s.contains("Paula Pty") && s.contains("connected")
    });
    press("shift.available");
    screen.wait_for("available", |s| s.contains("available"));

    let (mut customer, conv) = shiftdesk_testkit::customer(&hub.url, "Lucia", "it").await;
    customer
        .ok(json!({"type": "message", "text": "Vorrei parlare con un operatore"}))
        .await;
    let offer_screen = screen.wait_for("the offer", |s| {
        s.contains("Lucia") && s.contains("operatore")
    });
    println!("offer on screen:\n{offer_screen}");

    press("offer.accept");
    let conversation_screen = screen.wait_for("the draft", |s| {
        s.contains("Draft") && s.contains("proposed")
    });
    println!("conversation on screen:\n{conversation_screen}");

    press("draft.accept");
    let got = customer
        .until("the worker's message", |v| {
            v["type"] == "message" && v["from"] == "worker"
        })
        .await;
    let text = got["text"].as_str().expect("text").to_string();
    assert!(!text.is_empty());
    // What the customer got is the draft the worker saw (its first line is on screen).
    let first_words: String = text
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    screen.wait_for("the sent line in the transcript", |s| {
        s.contains(&first_words)
    });
    println!("customer {conv} received: {text}");

    // Quit: the console asks to confirm, goes offline, restores the terminal and prints the
    // shift summary.
    press("quit");
    std::thread::sleep(Duration::from_millis(300));
    press("quit");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "console did not exit; screen:\n{}",
            screen.text()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "console exit status {status:?}");
    let output = String::from_utf8_lossy(&all_output.lock().expect("lock")).to_string();
    assert!(output.contains("accepted"), "summary printed after exit");
}
