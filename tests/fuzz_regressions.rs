//! What the fuzz targets in `fuzz/` found, kept as ordinary tests so `cargo test` guards it
//! without a fuzzer; and a check that the fuzz seeds are still valid inputs.
//!
//! The hub's event log is read back with `serde_json::from_str::<Fact>` line by line and
//! replayed with `Dispatch::apply` (`Engine::new`). A log that was edited by hand, restored from
//! a damaged backup or written by a buggy build can hold ids and times no running hub would
//! write; replaying it must not panic. Debug builds (and `cargo test`) check integer overflow,
//! so an overflow there is a panic; release builds wrap silently instead, which is no better.

use std::sync::Arc;

use shiftdesk_hub::dispatch::{Dispatch, DispatchConfig, Input};
use shiftdesk_hub::facts::Fact;
use shiftdesk_hub::triage::ScriptedTriage;
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{ConversationState, Role, WorkerInfo};

/// The moment the hub restarts, as `now_ms()` would give it (2027-01-15).
const NOW: u64 = 1_800_000_000_000;
/// The largest time or id a log line can hold.
const MAX: u64 = u64::MAX;

fn giulia() -> WorkerInfo {
    WorkerInfo {
        id: "giulia".into(),
        name: "Giulia Romano".into(),
        role: Role::Worker,
        languages: vec![Lang::En],
        skills: vec![],
        capacity: 2,
    }
}

/// Replay log lines the way `Engine::new` does, with Giulia in the token store.
fn replay(lines: &[String]) -> Dispatch {
    let mut dispatch = Dispatch::new(
        DispatchConfig::default(),
        Arc::new(ScriptedTriage::default()),
    );
    dispatch.upsert_worker(giulia());
    for line in lines {
        let fact: Fact = serde_json::from_str(line).expect("a valid fact");
        dispatch.apply(&fact);
    }
    dispatch
}

fn opened(conversation: &str) -> String {
    format!(
        r#"{{"fact":"conversation_opened","conversation":"{conversation}","customer":"Ann","language":"en","key":"k","at":1}}"#
    )
}

fn assigned(conversation: &str, at: u64) -> String {
    format!(r#"{{"fact":"assigned","conversation":"{conversation}","worker":"giulia","at":{at}}}"#)
}

/// fuzz/artifacts/hub_facts/crash-45c7a2b6…, minimised: `next_conversation = n + 1`.
#[test]
fn replaying_the_largest_conversation_id_does_not_overflow() {
    let dispatch = replay(&[opened(&format!("c{MAX}"))]);
    assert_eq!(
        dispatch.conversation_state(&format!("c{MAX}")),
        Some(ConversationState::Bot)
    );
}

/// The same pattern for drafts: `next_draft = n + 1`.
#[test]
fn replaying_the_largest_draft_id_does_not_overflow() {
    let drafted = format!(
        r#"{{"fact":"drafted","conversation":"c1","draft":{{"id":"d{MAX}","for_message":1,"text":"Hi","confidence":0.5,"intent":"pay_early","language":"en","sources":[],"drafter":"kb"}},"attempt":0,"at":2}}"#
    );
    let dispatch = replay(&[opened("c1"), drafted]);
    let view = dispatch.conversation_view("c1").expect("c1 is open");
    assert_eq!(view.draft.map(|d| d.id), Some(format!("d{MAX}")));
}

/// A conversation assigned at 0 and resolved at the end of time, then another one: the shift's
/// total handle time saturates instead of overflowing.
#[test]
fn handle_time_total_saturates() {
    let resolved = |conversation: &str, at: u64| {
        format!(
            r#"{{"fact":"resolved","conversation":"{conversation}","worker":"giulia","at":{at}}}"#
        )
    };
    let dispatch = replay(&[
        opened("c1"),
        assigned("c1", 0),
        resolved("c1", MAX),
        opened("c2"),
        assigned("c2", 0),
        resolved("c2", 5),
    ]);
    let stats = dispatch.worker_stats("giulia").expect("giulia is known");
    assert_eq!(stats.handled, 2);
    assert_eq!(stats.handle_ms_total, MAX);
}

fn disconnected_at_end_of_time() -> Vec<String> {
    vec![
        opened("c1"),
        assigned("c1", 2),
        format!(r#"{{"fact":"worker_disconnected","worker":"giulia","at":{MAX}}}"#),
    ]
}

/// The restart's tick computes `disconnected_at + grace_ms` for every disconnected worker.
#[test]
fn restarting_after_a_disconnect_stamped_at_the_end_of_time_does_not_overflow() {
    let mut dispatch = replay(&disconnected_at_end_of_time());
    dispatch
        .handle(Input::Restarted, NOW)
        .expect("the restart is applied");
    // Her grace period has not run out, so she keeps the conversation.
    assert_eq!(dispatch.owner("c1"), Some("giulia"));
}

/// `next_deadline` (which the engine asks before every wait) computes the same sum.
#[test]
fn grace_deadline_at_the_end_of_time_saturates() {
    let dispatch = replay(&disconnected_at_end_of_time());
    assert_eq!(dispatch.next_deadline(), Some(MAX));
}

fn declined_at_end_of_time() -> Vec<String> {
    vec![
        r#"{"fact":"status_changed","worker":"giulia","status":"available","at":1}"#.into(),
        opened("c1"),
        r#"{"fact":"queued","conversation":"c1","priority":1,"intent":"pay_early","why":"asked","language":"en","at":2}"#.into(),
        format!(r#"{{"fact":"offer_declined","conversation":"c1","worker":"giulia","reason":null,"at":{MAX}}}"#),
    ]
}

/// A worker who passed on a conversation may be offered it again `offer_timeout_ms` later:
/// `next_deadline` computes that moment.
#[test]
fn offer_cooldown_deadline_at_the_end_of_time_saturates() {
    // Without a language wait ending first (the conversation was queued at 2), the cooldown is
    // the earliest deadline.
    let mut dispatch = Dispatch::new(
        DispatchConfig {
            language_wait_ms: MAX,
            ..DispatchConfig::default()
        },
        Arc::new(ScriptedTriage::default()),
    );
    dispatch.upsert_worker(giulia());
    for line in declined_at_end_of_time() {
        let fact: Fact = serde_json::from_str(&line).expect("a valid fact");
        dispatch.apply(&fact);
    }
    assert_eq!(dispatch.next_deadline(), Some(MAX));
}

/// Choosing whom to offer a queued conversation to computes the same moment.
#[test]
fn offering_after_a_decline_stamped_at_the_end_of_time_does_not_overflow() {
    let mut dispatch = replay(&declined_at_end_of_time());
    dispatch
        .handle(
            Input::WorkerConnected {
                info: giulia(),
                resumed: false,
            },
            NOW,
        )
        .expect("giulia logs in");
    // She passed on it and her cooldown has not run out: it stays in the queue.
    assert_eq!(
        dispatch.conversation_state("c1"),
        Some(ConversationState::Queued)
    );
}

/// The seeds under fuzz/seeds/ start every fuzzing run; if the protocol or the keymap format
/// changes under them they stop reaching the code past the first error, so keep them valid.
#[test]
fn fuzz_seeds_are_valid_inputs() {
    use shiftdesk_console::keymap::Keymap;
    use shiftdesk_protocol::{decode_customer, decode_worker};
    use std::path::Path;

    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let read = |dir: &str| -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = std::fs::read_dir(seeds.join(dir))
            .expect("seed directory")
            .map(|entry| {
                let path = entry.expect("seed file").path();
                let text = std::fs::read_to_string(&path).expect("seed text");
                (path.display().to_string(), text)
            })
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no seeds in fuzz/seeds/{dir}");
        files
    };
    for (file, text) in read("worker_frame") {
        assert!(
            decode_worker(&text).is_ok(),
            "{file}: {:?}",
            decode_worker(&text)
        );
    }
    for (file, text) in read("customer_frame") {
        assert!(
            decode_customer(&text).is_ok(),
            "{file}: {:?}",
            decode_customer(&text)
        );
    }
    for (file, text) in read("keymap") {
        let parsed = Keymap::parse(&file, &text);
        if file.ends_with("typo.toml") {
            // Kept on purpose: the error path with a suggestion.
            let e = parsed.expect_err("typo.toml has an unknown action");
            assert!(e.message.contains("offer.accept"), "{e}");
        } else if let Err(e) = parsed {
            panic!("{e}");
        }
    }
    for (file, text) in read("hub_facts") {
        for (n, line) in text.lines().enumerate() {
            if let Err(e) = serde_json::from_str::<Fact>(line) {
                panic!("{file}:{}: {e}", n + 1);
            }
        }
    }
}
