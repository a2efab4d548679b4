//! `shiftdesk hub --config FILE`, run as an operator would: the real binary, a TOML file with
//! flags and the operator's own triage rules, real websocket clients.

mod common;

use std::process::Command;

use serde_json::json;
use shiftdesk_testkit::{customer, worker};

use common::{BIN, add_worker_cli, hub_process};

/// The operator's extra request-a-person phrase and their own sensitive topic send a
/// conversation to a person, with the rule named in the offer; the config's offer timeout is
/// the one the hub uses; the built-in rules still apply.
#[tokio::test]
async fn operator_rules_from_the_config_file_route_to_a_person() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("hub.toml");
    std::fs::write(
        &config,
        r#"
offer_timeout = 42

[rules.en]
person = ["escalate*"]
sensitive.medical = ["hospital bill", "surgery"]

[rules.it]
person = ["passami il responsabile"]
"#,
    )
    .expect("config written");
    let token = add_worker_cli(dir.path(), "Marta", "en,it", 4);
    let hub = hub_process(dir.path(), &["--config", config.to_str().expect("utf-8")]);
    let (mut w, _) = worker(&hub.url, &token).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;

    let cases = [
        (
            "en",
            "Please escalate this, it has gone on too long",
            "escalate",
        ),
        (
            "en",
            "I cannot pay because of a hospital bill",
            "operator rule",
        ),
        (
            "it",
            "passami il responsabile per favore",
            "passami il responsabile",
        ),
        // Built in, whatever the config says.
        ("en", "can I talk to a human", "human"),
    ];
    for (lang, text, why) in cases {
        let (mut c, conv) = customer(&hub.url, "Ada", lang).await;
        c.send(json!({"type": "message", "text": text})).await;
        let offer = w
            .until("the offer", |v| {
                v["type"] == "offer" && v["conversation"] == conv
            })
            .await;
        assert!(
            offer["why"].as_str().is_some_and(|w| w.contains(why)),
            "{text}: {offer}"
        );
        assert_eq!(offer["timeout_ms"], 42_000, "{offer}");
        w.ok(json!({"type": "decline_offer", "conversation": conv}))
            .await;
    }
}

/// `--check` says ok for a good file and names file, line and key for a bad one; a bad file
/// stops the hub before it starts.
#[test]
fn check_names_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "listen = \"127.0.0.1:0\"\ndata_dir = \"data\"\n").expect("write");
    let out = Command::new(BIN)
        .args(["hub", "--check", "--config"])
        .arg(&good)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("good.toml: ok"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "grace = 10\n# a comment\noffer_timeout = \"soon\"\n").expect("write");
    for extra in [&["--check"][..], &[]] {
        let out = Command::new(BIN)
            .arg("hub")
            .args(extra)
            .arg("--config")
            .arg(&bad)
            .output()
            .expect("runs");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("bad.toml:3: offer_timeout: invalid value 'soon'"),
            "{err}"
        );
    }
}
