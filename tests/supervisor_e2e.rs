//! Supervisors against the real hub: authorization, privacy between workers, shadowing by
//! several supervisors at once, whispers, take-over and hand-back.

use serde_json::{Value, json};
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::Role;
use shiftdesk_testkit::{Client, add_worker, customer, hub, worker};

/// A customer who asks for a person, and the worker who takes them.
async fn assigned(base: &str, w: &mut Client, lang: &str, text: &str) -> (Client, String) {
    let (mut c, conv) = customer(base, "Kim", lang).await;
    c.ok(json!({"type": "message", "text": text})).await;
    let offer = w
        .seen_or_until("offer", |v| {
            v["type"] == "offer" && v["conversation"] == conv.as_str()
        })
        .await;
    assert_eq!(offer["conversation"], conv.as_str());
    w.ok(json!({"type": "accept_offer", "conversation": conv}))
        .await;
    (c, conv)
}

#[tokio::test]
async fn every_supervisor_command_is_refused_for_a_worker_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "wendy", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let (mut w, _) = worker(&hub.url(), &token).await;
    for frame in [
        json!({"type": "wallboard"}),
        json!({"type": "shadow", "conversation": "c1"}),
        json!({"type": "unshadow", "conversation": "c1"}),
        json!({"type": "whisper", "conversation": "c1", "text": "psst"}),
        json!({"type": "take_over", "conversation": "c1"}),
        json!({"type": "hand_back", "conversation": "c1", "worker": "wendy"}),
    ] {
        let answer = w.command(frame.clone()).await;
        assert_eq!(answer["type"], "error", "{frame}");
        assert_eq!(answer["code"], "forbidden", "{frame}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|m| m.contains("supervisor"))
        );
    }
    hub.shutdown().await;
}

#[tokio::test]
async fn a_worker_never_receives_frames_about_someone_elses_conversation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t1 = add_worker(dir.path(), "one", &[Lang::En], Role::Worker, 1);
    let t2 = add_worker(dir.path(), "two", &[Lang::En], Role::Worker, 1);
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let (mut w1, _) = worker(&base, &t1).await;
    w1.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let (mut c1, conv1) = assigned(&base, &mut w1, "en", "I want to talk to a person").await;
    let (mut w2, _) = worker(&base, &t2).await;
    w2.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let (mut c2, conv2) = assigned(&base, &mut w2, "en", "Can I speak to an agent?").await;
    // Both conversations are busy.
    c1.ok(json!({"type": "message", "text": "my order number is 1234"}))
        .await;
    c2.ok(json!({"type": "message", "text": "my email is kim@example.com"}))
        .await;
    w1.ok(json!({"type": "reply", "conversation": conv1, "text": "Thanks, checking."}))
        .await;
    w2.ok(json!({"type": "reply", "conversation": conv2, "text": "Thanks, one moment."}))
        .await;
    let about = |seen: &[Value]| -> Vec<String> {
        seen.iter()
            .filter_map(|v| {
                v["conversation"]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| v["conversation"]["id"].as_str().map(str::to_string))
            })
            .collect()
    };
    w1.ok(json!({"type": "set_status", "status": "break"}))
        .await;
    w2.ok(json!({"type": "set_status", "status": "break"}))
        .await;
    assert!(
        about(&w1.seen).iter().all(|c| *c == conv1),
        "w1 saw {:?}",
        about(&w1.seen)
    );
    assert!(
        about(&w2.seen).iter().all(|c| *c == conv2),
        "w2 saw {:?}",
        about(&w2.seen)
    );
    assert!(!about(&w1.seen).is_empty() && !about(&w2.seen).is_empty());
    hub.shutdown().await;
}

#[tokio::test]
async fn two_supervisors_shadow_whisper_take_over_and_hand_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tw = add_worker(dir.path(), "willa", &[Lang::De], Role::Worker, 2);
    let ts1 = add_worker(
        dir.path(),
        "sara",
        &[Lang::De, Lang::En],
        Role::Supervisor,
        2,
    );
    let ts2 = add_worker(
        dir.path(),
        "sven",
        &[Lang::De, Lang::En],
        Role::Supervisor,
        2,
    );
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let (mut w, _) = worker(&base, &tw).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let (mut c, conv) = assigned(
        &base,
        &mut w,
        "de",
        "Ich möchte mit einem Menschen sprechen",
    )
    .await;

    let (mut s1, _) = worker(&base, &ts1).await;
    let (mut s2, _) = worker(&base, &ts2).await;
    // The wallboard lists the live conversation.
    s1.ok(json!({"type": "wallboard"})).await;
    let board = s1
        .seen_or_until("wallboard", |v| v["type"] == "wallboard")
        .await;
    assert!(
        board["wallboard"]["live"]
            .as_array()
            .expect("live")
            .iter()
            .any(|l| l["id"] == conv.as_str())
    );
    for s in [&mut s1, &mut s2] {
        s.ok(json!({"type": "shadow", "conversation": conv})).await;
        let view = s
            .seen_or_until("conversation", |v| v["type"] == "conversation")
            .await;
        assert_eq!(view["conversation"]["id"], conv.as_str());
    }
    // The worker sees who is shadowing.
    let shadowers = w
        .until("both shadowers", |v| {
            v["type"] == "shadowers" && v["supervisors"].as_array().is_some_and(|a| a.len() == 2)
        })
        .await;
    assert_eq!(shadowers["conversation"], conv.as_str());

    // Fan-out: a customer line and the draft reach both supervisors, as they happen.
    c.ok(json!({"type": "message", "text": "Meine Zahlung wurde abgelehnt"}))
        .await;
    for s in [&mut s1, &mut s2] {
        s.until("the customer's line", |v| {
            v["type"] == "message" && v["message"]["text"] == "Meine Zahlung wurde abgelehnt"
        })
        .await;
        s.until("the draft", |v| v["type"] == "draft").await;
    }
    let draft = w.until("the draft", |v| v["type"] == "draft").await;
    w.ok(json!({"type": "draft", "conversation": conv, "draft": draft["draft"]["id"], "action": "reject", "reason": "incorrect"}))
        .await;
    for s in [&mut s1, &mut s2] {
        let done = s
            .until("what the worker did", |v| v["type"] == "draft_done")
            .await;
        assert_eq!(done["outcome"], "rejected");
        assert_eq!(done["reason"], "incorrect");
    }

    // A whisper reaches the worker and the shadowers, never the customer.
    s1.ok(json!({"type": "whisper", "conversation": conv, "text": "Frag nach der Bestellnummer"}))
        .await;
    let whisper = w
        .until("the whisper", |v| {
            v["type"] == "message" && v["message"]["from"] == "whisper"
        })
        .await;
    assert_eq!(whisper["message"]["text"], "Frag nach der Bestellnummer");
    s2.until("the whisper", |v| v["message"]["from"] == "whisper")
        .await;
    c.ok(json!({"type": "message", "text": "Hallo?"})).await;
    assert!(
        !c.seen
            .iter()
            .any(|v| v["text"] == "Frag nach der Bestellnummer")
    );

    // Take-over: ownership moves; the worker is told; the worker's late reply is refused.
    s1.ok(json!({"type": "take_over", "conversation": conv}))
        .await;
    w.until("told", |v| {
        v["type"] == "closed" && v["conversation"] == conv.as_str()
    })
    .await;
    let late = w
        .command(json!({"type": "reply", "conversation": conv, "text": "too late"}))
        .await;
    assert_eq!(late["code"], "not_yours");
    s1.ok(
        json!({"type": "reply", "conversation": conv, "text": "Hier ist Sara, ich helfe weiter."}),
    )
    .await;
    let line = c
        .until("the supervisor's reply", |v| v["from"] == "worker")
        .await;
    assert_eq!(line["text"], "Hier ist Sara, ich helfe weiter.");
    // A second supervisor cannot grab it at the same time without it moving atomically.
    s2.ok(json!({"type": "take_over", "conversation": conv}))
        .await;
    let refused = s1
        .command(json!({"type": "reply", "conversation": conv, "text": "?"}))
        .await;
    assert_eq!(refused["code"], "not_yours");

    // Hand back to the worker.
    s2.ok(json!({"type": "hand_back", "conversation": conv, "worker": "willa"}))
        .await;
    w.until("the conversation back", |v| {
        v["type"] == "conversation" && v["conversation"]["id"] == conv.as_str()
    })
    .await;
    w.ok(json!({"type": "reply", "conversation": conv, "text": "Ich bin wieder da."}))
        .await;
    c.until("the worker again", |v| v["text"] == "Ich bin wieder da.")
        .await;
    hub.shutdown().await;
}

/// Card numbers, phone numbers and email addresses a customer writes are masked by the hub:
/// the worker's and the shadowing supervisor's sockets never carry them in full.
#[tokio::test]
async fn workers_and_supervisors_receive_customer_card_numbers_masked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tw = add_worker(dir.path(), "wendy", &[Lang::En], Role::Worker, 1);
    let ts = add_worker(dir.path(), "sam", &[Lang::En], Role::Supervisor, 1);
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let (mut w, _) = worker(&base, &tw).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let (mut c, conv) = assigned(
        &base,
        &mut w,
        "en",
        "I want a person, card 4242 4242 4242 4242 was charged twice",
    )
    .await;
    let (mut s, _) = worker(&base, &ts).await;
    s.ok(json!({"type": "shadow", "conversation": conv})).await;
    c.ok(json!({"type": "message", "text": "call me on +44 7700 900123 or kim@example.com"}))
        .await;
    let line = |v: &Value| v["type"] == "message" && v["message"]["from"] == "customer";
    let to_worker = w.seen_or_until("message", line).await;
    let to_supervisor = s.seen_or_until("message", line).await;
    for got in [&to_worker, &to_supervisor] {
        assert_eq!(
            got["message"]["text"], "call me on +•• •••• ••••23 or k***@example.com",
            "{got}"
        );
    }
    let everything = format!("{:?}{:?}", w.seen, s.seen);
    for secret in ["4242 4242 4242 4242", "900123", "kim@example.com"] {
        assert!(!everything.contains(secret), "{secret} reached a worker");
    }
    assert!(
        everything.contains("•••• •••• •••• 4242"),
        "the card's last four stay"
    );
    hub.shutdown().await;
}
