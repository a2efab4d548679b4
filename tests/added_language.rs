//! A language added from a file, end to end: Polish loaded from a folder (as an operator in
//! Warsaw would add it), a Polish-speaking worker, and Polish customers routed to her, greeted,
//! told their place in the queue and handed over in Polish.

use std::path::Path;

use serde_json::json;
use shiftdesk_hub::languages;
use shiftdesk_protocol::{Lang, Role};
use shiftdesk_testkit::{Client, add_worker, customer, hub, worker};

fn polish() -> Lang {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/shiftdesk-hub/tests/data/languages");
    let loaded = languages::load_dir(&dir).expect("pl.toml loads");
    assert_eq!(loaded.len(), 1);
    let pl = loaded[0].lang();
    languages::install(loaded);
    pl
}

#[tokio::test]
async fn a_conversation_in_an_added_language_reaches_a_worker_who_speaks_it() {
    let pl = polish();
    assert_eq!(pl.code(), "pl");
    let dir = tempfile::tempdir().expect("tempdir");
    // An English speaker and a Polish speaker; the Polish customer must reach the latter.
    let en_token = add_worker(dir.path(), "ann", &[Lang::En], Role::Worker, 2);
    let pl_token = add_worker(dir.path(), "ola", &[pl], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let (mut ann, _) = worker(&base, &en_token).await;
    ann.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let (mut ola, _) = worker(&base, &pl_token).await;
    ola.ok(json!({"type": "set_status", "status": "available"}))
        .await;

    // Declared Polish: greeted in Polish; a Polish request for a person goes to Ola.
    let (mut c, conv) = customer(&base, "Kasia", "pl").await;
    let welcome = c.until("the greeting", |v| v["type"] == "message").await;
    assert!(
        welcome["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Cześć! Jestem asystentem")),
        "{welcome}"
    );
    c.send(json!({"type": "message", "text": "Chcę rozmawiać z konsultantem"}))
        .await;
    let handoff = c
        .until("the handoff notice", |v| {
            v["type"] == "message" && v["text"].as_str().is_some_and(|t| t.contains("w kolejce"))
        })
        .await;
    assert!(
        handoff["text"]
            .as_str()
            .is_some_and(|t| t.contains("numerem 1")),
        "{handoff}"
    );
    let offer = ola.until("the offer", |v| v["type"] == "offer").await;
    assert_eq!(offer["conversation"], conv.as_str());
    assert_eq!(offer["language"], "pl");
    assert!(
        offer["why"]
            .as_str()
            .is_some_and(|w| w.contains("konsultantem")),
        "{offer}"
    );

    ola.ok(json!({"type": "accept_offer", "conversation": conv}))
        .await;

    // Undeclared: the language is detected from Polish text, and a sensitive topic written in
    // Polish goes to a person as sensitive.
    let mut c2 = Client::connect(&base, "/ws/customer").await;
    c2.send(json!({"type": "start", "protocol": 1, "name": "Piotr"}))
        .await;
    let started = c2.until_type("started").await;
    let conv2 = started["conversation"].as_str().expect("id").to_string();
    c2.send(json!({"type": "message", "text": "Dzień dobry, mój ojciec zmarł w zeszłym tygodniu, co teraz z jego płatnościami?"})).await;
    let offer2 = ola
        .until("the second offer", |v| {
            v["type"] == "offer" && v["conversation"] == conv2.as_str()
        })
        .await;
    assert_eq!(offer2["language"], "pl", "{offer2}");
    assert!(
        offer2["why"]
            .as_str()
            .is_some_and(|w| w.starts_with("sensitive: bereavement")),
        "{offer2}"
    );
    // Offered to Ola, not to Ann (an offer goes to one worker at a time), and not as a
    // language fallback.
    assert!(offer2.get("language_fallback").is_none(), "{offer2}");
    hub.shutdown().await;
}
