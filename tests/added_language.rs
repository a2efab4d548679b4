//! A language added from a file, end to end: Polish loaded from a folder (as an operator in
//! Warsaw would add it), a Polish-speaking worker, and Polish customers routed to her, greeted,
//! told their place in the queue and handed over in Polish.

mod common;

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

/// The same as an operator does it, with the real binary: a knowledge-base folder with the
/// built-in articles, `languages/pl.toml` and a Polish article; `admin add-worker --langs pl
/// --kb DIR`; `hub --kb DIR`. The bot answers a Polish question from the Polish article, and a
/// Polish request for a person reaches the Polish-speaking worker.
#[tokio::test]
async fn an_operator_adds_polish_with_a_file_and_the_real_hub_serves_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let kb = tempfile::tempdir().expect("kb folder");
    for entry in std::fs::read_dir(root.join("assets/kb")).expect("built-in articles") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|x| x == "md") {
            std::fs::copy(&path, kb.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    std::fs::create_dir(kb.path().join("languages")).expect("languages folder");
    std::fs::copy(
        root.join("crates/shiftdesk-hub/tests/data/languages/pl.toml"),
        kb.path().join("languages/pl.toml"),
    )
    .expect("pl.toml");
    std::fs::write(
        kb.path().join("gift-cards.pl.md"),
        "+++\ntitle = \"Karty podarunkowe\"\nquestions = [\"Czy mogę zapłacić kartą podarunkową?\"]\n\
         keywords = [\"karta podarunkowa\", \"bon\"]\n+++\n\n\
         Tak: przy płatności wybierz *Karta podarunkowa* i wpisz kod z karty.\n",
    )
    .expect("article");
    let kb_dir = kb.path().to_str().expect("utf-8");

    let check = std::process::Command::new(common::BIN)
        .args(["kb", "check", kb_dir])
        .output()
        .expect("kb check runs");
    let listed = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{listed}");
    assert!(listed.contains("pl"), "{listed}");

    let data = tempfile::tempdir().expect("data dir");
    // Without the folder, `pl` is refused; with it, accepted.
    let refused = std::process::Command::new(common::BIN)
        .args([
            "admin",
            "add-worker",
            "--name",
            "Ola",
            "--langs",
            "pl",
            "--data-dir",
        ])
        .arg(data.path())
        .output()
        .expect("admin runs");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("languages/pl.toml"));
    let out = std::process::Command::new(common::BIN)
        .args([
            "admin",
            "add-worker",
            "--name",
            "Ola",
            "--langs",
            "pl",
            "--kb",
            kb_dir,
        ])
        .arg("--data-dir")
        .arg(data.path())
        .output()
        .expect("admin runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();

    let hub = common::hub_process(data.path(), &["--kb", kb_dir]);
    let (mut ola, welcome) = worker(&hub.url, &token).await;
    // The console learns the language's name from its file, to show "Polski (pl)".
    assert_eq!(welcome["languages"], json!({"pl": "Polski"}), "{welcome}");
    ola.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let (mut c, conv) = customer(&hub.url, "Kasia", "pl").await;
    c.send(json!({"type": "message", "text": "czy moge zaplacic karta podarunkowa?"}))
        .await;
    let answer = c
        .until("the bot's answer", |v| {
            v["type"] == "message" && v["from"] == "bot" && v["seq"].as_u64() > Some(1)
        })
        .await;
    assert!(
        answer["text"]
            .as_str()
            .is_some_and(|t| t.contains("Karta podarunkowa")),
        "{answer}"
    );
    c.send(json!({"type": "message", "text": "dziękuję, ale wolę porozmawiać z konsultantem"}))
        .await;
    let offer = ola
        .until("the offer", |v| {
            v["type"] == "offer" && v["conversation"] == conv.as_str()
        })
        .await;
    assert_eq!(offer["language"], "pl");
}

/// A loaded language is detected from its text, with `detect = "pol"` or, without it, by its
/// English name; languages still nobody serves are claimed by neither it nor a built-in one.
#[test]
fn a_loaded_language_is_detected_and_unserved_ones_are_not() {
    use shiftdesk_hub::lang::detect_clear;
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/shiftdesk-hub/tests/data/languages/pl.toml");
    let text = std::fs::read_to_string(&source).expect("pl.toml");
    let without_detect = tempfile::tempdir().expect("folder");
    std::fs::write(
        without_detect.path().join("pl.toml"),
        text.lines()
            .filter(|l| !l.starts_with("detect"))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .expect("pl.toml without detect");
    let loaded = languages::load_dir(without_detect.path()).expect("loads");
    assert_eq!(loaded[0].language().detect, None);
    languages::install(loaded);
    let check = |pl: Lang| {
        for text in [
            "Dzień dobry, zapomniałem hasła do konta",
            "dzien dobry zapomnialem hasla",
            "chcę rozmawiać z konsultantem",
            "nie moge zaplacic raty",
            "Dzień dobry, mój ojciec zmarł w zeszłym tygodniu, co teraz z jego płatnościami?",
        ] {
            assert_eq!(detect_clear(text), Some(pl), "{text:?}");
        }
        for text in [
            "quiero hablar con una persona",
            "Hola, olvidé mi contraseña y no puedo entrar en mi cuenta",
            "chci mluvit s clovekem",
            "je veux parler a quelqu'un",
        ] {
            assert_eq!(detect_clear(text), None, "{text:?}");
        }
        assert_eq!(detect_clear("Kan ik eerder betalen?"), Some(Lang::Nl));
        assert_eq!(
            detect_clear("vorrei parlare con una persona"),
            Some(Lang::It)
        );
    };
    check(Lang::from_code("pl").expect("code"));
    check(polish());
}
