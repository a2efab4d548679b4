//! A shift paid by the operator's rate card, end to end: the real `shiftdesk hub` binary with a
//! config file holding `[rates]`, a worker who goes on shift, takes and resolves a
//! conversation and goes offline, then `shiftdesk export shifts` read as an operator would.

mod common;

use std::process::Command;

use serde_json::{Value, json};
use shiftdesk_testkit::{customer, worker};

use common::{BIN, add_worker_cli, export, hub_process};

#[tokio::test]
async fn a_shift_is_exported_with_its_earnings_by_the_config_rate_card() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("hub.toml");
    std::fs::write(
        &config,
        r#"
[rates]
currency = "EUR"
per_engaged_hour = 14.0
per_conversation = 0.5
language_premium = { en = 0.25 }
"#,
    )
    .expect("config written");
    let token = add_worker_cli(dir.path(), "Marta", "en", 2);
    let hub = hub_process(dir.path(), &["--config", config.to_str().expect("utf-8")]);
    let (mut w, welcome) = worker(&hub.url, &token).await;
    let me = welcome["worker"]["id"]
        .as_str()
        .expect("worker id")
        .to_string();
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;

    let (mut c, conv) = customer(&hub.url, "Kim", "en").await;
    c.send(json!({"type": "message", "text": "I want to talk to a person"}))
        .await;
    w.until("the offer", |f| {
        f["type"] == "offer" && f["conversation"] == conv
    })
    .await;
    w.ok(json!({"type": "accept_offer", "conversation": conv}))
        .await;
    w.ok(json!({"type": "reply", "conversation": conv, "text": "Hello, I am here."}))
        .await;
    w.ok(json!({"type": "resolve", "conversation": conv})).await;
    w.ok(json!({"type": "set_status", "status": "offline"}))
        .await;
    // The summary's status carries the ended shift's earnings: the shift is in the log.
    let status = w
        .seen_or_until("offline with earnings", |f| {
            f["type"] == "status" && f["status"] == "offline" && f["stats"]["earnings"].is_object()
        })
        .await;

    let shifts = export(dir.path(), "shifts");
    assert_eq!(shifts.len(), 1, "{shifts:?}");
    let shift = &shifts[0];
    assert_eq!(shift["worker"], me.as_str(), "{shift}");
    let (start, end) = (
        shift["start"].as_u64().expect("start"),
        shift["end"].as_u64().expect("end"),
    );
    assert!(start < end, "{shift}");
    assert_eq!(shift["conversations"], 1, "{shift}");
    for minutes in ["minutes_available", "minutes_engaged", "minutes_on_break"] {
        assert!(
            shift[minutes].as_f64().is_some_and(|m| m >= 0.0),
            "{minutes}: {shift}"
        );
    }

    let earnings = &shift["earnings"];
    assert_eq!(earnings["currency"], "EUR", "{shift}");
    let lines: Vec<(&str, u64)> = earnings["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().expect("kind"),
                l["amount"].as_u64().expect("amount"),
            )
        })
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l.0).collect();
    assert_eq!(
        kinds,
        ["engaged_time", "conversations", "language_premium"],
        "{shift}"
    );
    assert_eq!(lines[1].1, 50, "one conversation × 0.50: {shift}");
    assert_eq!(lines[2].1, 25, "one en conversation × 0.25: {shift}");
    let sum: u64 = lines.iter().map(|l| l.1).sum();
    assert_eq!(earnings["total"], sum, "{shift}");
    // The same earnings as the worker's summary was told.
    assert_eq!(&status["stats"]["earnings"], earnings, "{status}");

    // What a console needs to explain the shift: the card in words, the decisions counted.
    let card: Vec<&str> = shift["rate_card"]
        .as_array()
        .expect("rate_card")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(card.len(), 3, "{shift}");
    assert!(card[0].starts_with("14.00 EUR per hour"), "{card:?}");
    assert_eq!(shift["decisions"]["offered"], 1, "{shift}");

    // The worker's own history says the same, with the offer decision to explain it.
    w.ok(json!({"type": "shift_history"})).await;
    let history = w
        .seen_or_until("the history", |f| f["type"] == "shift_history")
        .await;
    assert_eq!(
        history["shifts"][0]["decisions"], shift["decisions"],
        "{history}"
    );
    let offered = history["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .find(|d| d["kind"] == "offered")
        .unwrap_or_else(|| panic!("the offer decision in {history}"));
    let at = offered["at"].as_u64().expect("at");
    assert!((start..=end).contains(&at), "{offered} within {shift}");
}

/// A bad value in `[rates]` stops `--check` with the file, the line and what is wrong.
#[test]
fn a_bad_rate_card_fails_the_check_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("rates.toml");
    std::fs::write(
        &bad,
        "grace = 10\n\n[rates]\ncurrency = \"EUR\"\nper_conversation = -1\n",
    )
    .expect("write");
    let out = Command::new(BIN)
        .args(["hub", "--check", "--config"])
        .arg(&bad)
        .output()
        .expect("runs");
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rates.toml:3: rates: per_conversation = -1: an amount from 0 to 100000"),
        "{err}"
    );
}
