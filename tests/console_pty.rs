//! The real `shiftdesk console` binary in a pseudo-terminal, against a real hub process: go
//! available, accept an offer, accept the draft, and the customer receives that text. Keys are
//! read from keymaps/default.toml by action name, as any outside tool would.

mod common;

use std::time::Duration;

use serde_json::json;
use shiftdesk_testkit::pty::{bound_key, key};

use common::{add_worker_cli, console_in_pty, hub_process};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_takes_an_offer_and_sends_the_draft_from_the_real_console() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("config dir");
    let hub = hub_process(dir.path(), &[]);
    let token = add_worker_cli(dir.path(), "Paula Pty", "en,it", 2);

    let mut console = console_in_pty(&hub.url, &token, dir.path(), config.path(), (30, 100));
    let screen = console.screen();

    screen.wait_for("the console to connect", |s| {
        s.contains("Paula Pty") && s.contains("connected")
    });
    console.send(&key("global", "shift.available"));
    screen.wait_for("available", |s| s.contains("available"));

    let (mut customer, conv) = shiftdesk_testkit::customer(&hub.url, "Lucia", "it").await;
    customer
        .ok(json!({"type": "message", "text": "Vorrei parlare con un operatore"}))
        .await;
    let offer_screen = screen.wait_for("the offer", |s| {
        s.contains("Lucia") && s.contains("operatore")
    });
    println!("offer on screen:\n{offer_screen}");

    console.send(&key("offer", "offer.accept"));
    let conversation_screen = screen.wait_for("the draft", |s| {
        s.contains("Draft") && s.contains("proposed")
    });
    println!("conversation on screen:\n{conversation_screen}");

    console.send(&key("draft", "draft.accept"));
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

    // Quit with ctrl-c (raw mode hands it to the console): it asks to confirm, goes offline,
    // restores the terminal and prints the shift summary.
    let quit = bound_key("global", "ctrl-c", "quit");
    console.send(&quit);
    std::thread::sleep(Duration::from_millis(300));
    console.send(&quit);
    let status = console.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "console exit status {status:?}");
    assert!(
        console.output().contains("accepted"),
        "summary printed after exit"
    );
}
