//! The real hub on 127.0.0.1:0 with real websocket clients: the full path from a customer who
//! asks for a person to the worker's accepted draft arriving at the customer; bad input of
//! every kind; idempotent retries; resume without gaps.

mod common;

use common::export;
use serde_json::{Value, json};
use shiftdesk_hub::dispatch::DispatchConfig;
use shiftdesk_hub::server::{self, HubConfig, RunningHub};
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::Role;
use shiftdesk_testkit::{
    Client, add_worker, available, customer, hub, hub_config, start_hub, worker,
};

#[tokio::test]
async fn a_customer_who_asks_for_a_person_gets_the_workers_accepted_draft() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "marta", &[Lang::It, Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let base = hub.url();

    let mut w = available(&base, &token).await;
    let (mut c, conv) = customer(&base, "Giulia", "it").await;
    c.until("the bot greeting", |v| {
        v["type"] == "message" && v["from"] == "bot"
    })
    .await;
    c.send(json!({"type": "message", "text": "Vorrei parlare con un operatore, per favore"}))
        .await;
    // The customer is told a person is on the way, with the place in the queue.
    let queued = c.until_type("queued").await;
    assert_eq!(queued["position"], 1);
    c.until_type("ack").await;

    let offer = w.until_type("offer").await;
    assert_eq!(offer["conversation"], conv.as_str());
    assert_eq!(offer["language"], "it");
    assert!(offer["why"].as_str().is_some_and(|w| !w.is_empty()));
    assert!(
        offer["because"]
            .as_str()
            .is_some_and(|b| b.contains("idle"))
    );

    w.ok(json!({"type": "accept_offer", "conversation": conv}))
        .await;
    let view = w
        .seen
        .iter()
        .rev()
        .find(|v| v["type"] == "conversation")
        .cloned()
        .expect("the conversation arrives on accept");
    // Drafts are written off the dispatch core: in the view if it was ready, else right after.
    let draft = match &view["conversation"]["draft"] {
        Value::Null => w.until_type("draft").await["draft"].clone(),
        ready => ready.clone(),
    };
    assert_eq!(
        draft["language"], "it",
        "draft in the customer's language: {draft}"
    );
    assert!(draft["confidence"].as_f64().is_some());
    let draft_id = draft["id"].as_str().expect("draft id").to_string();
    let draft_text = draft["text"].as_str().expect("draft text").to_string();

    w.ok(json!({"type": "draft", "conversation": conv, "draft": draft_id, "action": "accept"}))
        .await;
    let got = c
        .until("the worker's message", |v| {
            v["type"] == "message" && v["from"] == "worker"
        })
        .await;
    assert_eq!(got["text"], draft_text.as_str());

    // The export has it, with the triage reason and the draft outcome.
    let mut out = Vec::new();
    shiftdesk_hub::export::run(
        shiftdesk_hub::export::ExportKind::Drafts,
        dir.path(),
        &mut out,
    )
    .expect("export");
    let drafts: Vec<Value> = String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let exported = drafts
        .iter()
        .find(|d| d["draft"] == draft_id.as_str())
        .expect("draft exported");
    assert_eq!(exported["outcome"], "accepted");
    assert_eq!(exported["sent_text"], draft_text.as_str());
    assert_eq!(exported["drafter"], "kb");
    hub.shutdown().await;
}

/// A hub that drafts once a customer has been quiet for `quiet_ms`, and a worker who has taken a
/// customer's conversation and seen the draft for its opening line.
async fn taken_conversation(
    dir: &std::path::Path,
    quiet_ms: u64,
) -> (RunningHub, Client, Client, String, Value) {
    let token = add_worker(dir, "marta", &[Lang::En], Role::Worker, 2);
    let hub = start_hub(HubConfig {
        dispatch: DispatchConfig {
            draft_quiet_ms: quiet_ms,
            ..DispatchConfig::default()
        },
        ..hub_config(dir)
    })
    .await;
    let base = hub.url();
    let mut w = available(&base, &token).await;
    let (mut c, conv) = customer(&base, "Ada", "en").await;
    c.send(json!({"type": "message", "text": "I want to talk to a person"}))
        .await;
    w.until_type("offer").await;
    w.ok(json!({"type": "accept_offer", "conversation": conv}))
        .await;
    // The draft for the opening line, in the view or right after it.
    let view = w
        .seen_or_until("the conversation", |v| v["type"] == "conversation")
        .await;
    let opening = match &view["conversation"]["draft"] {
        Value::Null => w.until_type("draft").await["draft"].clone(),
        ready => ready.clone(),
    };
    (hub, w, c, conv, opening)
}

/// The next customer line the worker receives.
async fn customer_line(w: &mut Client) -> Value {
    w.until("a customer line", |v| {
        v["type"] == "message" && v["message"]["from"] == "customer"
    })
    .await
}

/// A customer who writes several lines in a row gets one draft, for the last of them, once
/// they pause; the lines before it are not drafted.
#[tokio::test]
async fn a_burst_of_customer_lines_is_drafted_once_for_its_last_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A long quiet period, so that a slow test machine cannot make a pause inside the burst.
    let (hub, mut w, mut c, _, opening) = taken_conversation(dir.path(), 1_500).await;

    let burst = [
        "my parcel has not arrived",
        "it was due on Monday",
        "can I get a refund for the order?",
    ];
    for line in burst {
        c.send(json!({"type": "message", "text": line})).await;
    }
    let mut last_n = None;
    for line in burst {
        let got = customer_line(&mut w).await;
        assert_eq!(got["message"]["text"], line);
        last_n = got["message"]["n"].as_u64();
    }
    let draft = w.until_type("draft").await;
    assert_eq!(
        draft["draft"]["for_message"].as_u64(),
        last_n,
        "the draft answers the burst's last line: {draft}"
    );
    let drafts_for_the_burst = w
        .seen
        .iter()
        .filter(|v| v["type"] == "draft" && v["draft"]["for_message"] != opening["for_message"])
        .count();
    assert_eq!(drafts_for_the_burst, 1, "one draft for three lines");
    hub.shutdown().await;
}

/// A customer who never pauses long enough is still drafted for, at most four quiet periods
/// after the oldest line waiting.
#[tokio::test]
async fn a_customer_who_never_pauses_is_still_drafted_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Lines every 40 ms for 2 s against a 200 ms quiet period: no pause, and a draft is due at
    // most 800 ms after the first line.
    let (hub, mut w, mut c, _, opening) = taken_conversation(dir.path(), 200).await;
    let lines = 50;
    for i in 0..lines {
        c.send(json!({"type": "message", "text": format!("and another thing, number {i}")}))
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    }
    for _ in 0..lines {
        customer_line(&mut w).await;
    }
    let drafted_while_writing = w
        .seen
        .iter()
        .any(|v| v["type"] == "draft" && v["draft"]["for_message"] != opening["for_message"]);
    assert!(
        drafted_while_writing,
        "a draft arrived before the customer's last line"
    );
    hub.shutdown().await;
}

#[tokio::test]
async fn an_undeclared_swedish_customer_goes_to_the_swedish_speaker_and_is_drafted_in_swedish() {
    let dir = tempfile::tempdir().expect("tempdir");
    let eng = add_worker(dir.path(), "eve", &[Lang::En], Role::Worker, 2);
    let swe = add_worker(dir.path(), "ingrid", &[Lang::Sv, Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let base = hub.url();

    // The English-only worker is first in line (idle longest, or on a tie "eve" sorts first):
    // without the language she would get it.
    let mut e = available(&base, &eng).await;
    let mut s = available(&base, &swe).await;

    // No `lang` in the start frame.
    let mut c = Client::connect(&base, "/ws/customer").await;
    c.send(json!({"type": "start", "protocol": 1, "name": "Sven"}))
        .await;
    let conv = c.until_type("started").await["conversation"]
        .as_str()
        .expect("id")
        .to_string();
    c.send(json!({"type": "message", "text": "Hej! Jag vill prata med en människa, tack."}))
        .await;
    // The handoff notice is in Swedish.
    let notice = c
        .until("the handoff notice", |v| {
            v["type"] == "message" && v["from"] == "system"
        })
        .await;
    assert!(
        notice["text"].as_str().is_some_and(|t| t.contains("kön")),
        "{notice}"
    );

    let offer = s.until_type("offer").await;
    assert_eq!(offer["conversation"], conv.as_str());
    assert_eq!(offer["language"], "sv");
    assert!(offer.get("language_fallback").is_none(), "{offer}");
    assert!(
        offer["because"]
            .as_str()
            .is_some_and(|b| b.contains("speaks sv")),
        "{offer}"
    );
    // Everything sent to the English worker before this pong has arrived: no offer among it.
    e.send(json!({"type": "ping"})).await;
    e.until_type("pong").await;
    assert!(
        !e.seen.iter().any(|v| v["type"] == "offer"),
        "{:#?}",
        e.seen
    );

    s.ok(json!({"type": "accept_offer", "conversation": conv}))
        .await;
    let view = s
        .seen_or_until("the conversation", |v| v["type"] == "conversation")
        .await;
    assert_eq!(view["conversation"]["language"], "sv");
    // Declared nothing: the customer context says so.
    assert!(
        view["conversation"]["customer"]["language"].is_null(),
        "{view}"
    );
    let draft = match &view["conversation"]["draft"] {
        Value::Null => s.until_type("draft").await["draft"].clone(),
        ready => ready.clone(),
    };
    assert_eq!(draft["language"], "sv", "{draft}");
    let text = draft["text"].as_str().expect("draft text");
    assert_eq!(
        shiftdesk_hub::lang::detect_clear(text),
        Some(Lang::Sv),
        "the draft reads as Swedish: {text}"
    );
    hub.shutdown().await;

    // `shiftdesk export conversations` (the real binary) has the detected language.
    let conversations = export(dir.path(), "conversations");
    let exported = conversations
        .iter()
        .find(|v| v["id"] == conv.as_str())
        .expect("conversation exported");
    assert_eq!(exported["language"], "sv", "{exported}");
}

#[tokio::test]
async fn bad_frames_get_clear_errors_and_the_connection_stays_usable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "ana", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let base = hub.url();

    // A bad token is refused, and the same connection can then log in.
    let mut w = Client::connect(&base, "/ws/worker").await;
    let e = w
        .command(json!({"type": "hello", "token": "sd_nope", "protocol": 1}))
        .await;
    assert_eq!(
        (e["type"].as_str(), e["code"].as_str()),
        (Some("error"), Some("unauthorized"))
    );
    // Commands before login are refused too.
    let e = w
        .command(json!({"type": "set_status", "status": "available"}))
        .await;
    assert_eq!(e["code"], "unauthorized");
    let e = w
        .command(json!({"type": "hello", "token": token, "protocol": 99}))
        .await;
    assert_eq!(e["code"], "version");
    w.send(json!({"type": "hello", "token": token, "protocol": 1}))
        .await;
    w.until_type("welcome").await;

    let cases: Vec<(String, &str, &str)> = vec![
        ("{not json".into(), "malformed", "not valid JSON"),
        ("[1,2]".into(), "malformed", "JSON object"),
        (
            r#"{"id":"x1","type":"teleport"}"#.into(),
            "unknown_type",
            "teleport",
        ),
        (r#"{"type":"ping"}"#.into(), "malformed", "`id`"),
        (
            r#"{"id":"x2","type":"set_status","status":"asleep"}"#.into(),
            "malformed",
            "set_status",
        ),
        (
            format!(
                r#"{{"id":"x3","type":"reply","conversation":"c1","text":"{}"}}"#,
                "a".repeat(70_000)
            ),
            "too_large",
            "65536",
        ),
        (
            format!(
                r#"{{"id":"x4","type":"note","conversation":"c1","text":"{}"}}"#,
                "a".repeat(4001)
            ),
            "bad_field",
            "4000",
        ),
        (
            r#"{"id":"x5","type":"reply","conversation":"c1","text":"   "}"#.into(),
            "bad_field",
            "empty",
        ),
    ];
    for (frame, code, mentions) in cases {
        w.send_raw(&frame).await;
        let e = w.until_type("error").await;
        assert_eq!(e["code"], code, "for {}", &frame[..frame.len().min(60)]);
        assert!(
            e["message"].as_str().is_some_and(|m| m.contains(mentions)),
            "error for {} should mention {mentions}: {e}",
            &frame[..frame.len().min(60)]
        );
    }
    // Binary frames are refused with a reason.
    use futures_util::SinkExt;
    w.ws.send(tokio_tungstenite::tungstenite::Message::Binary(
        vec![1, 2, 3].into(),
    ))
    .await
    .expect("send");
    let e = w.until_type("error").await;
    assert!(e["message"].as_str().is_some_and(|m| m.contains("binary")));

    // Still usable after all that.
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    w.send(json!({"type": "ping"})).await;
    w.until_type("pong").await;

    // A worker's supervisor commands are forbidden; someone else's conversation is not theirs.
    let e = w.command(json!({"type": "wallboard"})).await;
    assert_eq!(e["code"], "forbidden");
    let e = w
        .command(json!({"type": "take_over", "conversation": "c1"}))
        .await;
    assert_eq!(e["code"], "forbidden");
    let e = w
        .command(json!({"type": "reply", "conversation": "c999", "text": "hi"}))
        .await;
    assert_eq!(e["code"], "not_yours");

    // Customers: message before start, then a bad frame, then a normal message still works.
    let mut c = Client::connect(&base, "/ws/customer").await;
    let e = c.command(json!({"type": "message", "text": "hi"})).await;
    assert_eq!(e["code"], "unauthorized");
    c.send(json!({"type": "start", "protocol": 1, "lang": "en"}))
        .await;
    c.until_type("started").await;
    c.send_raw("nonsense").await;
    assert_eq!(c.until_type("error").await["code"], "malformed");
    c.ok(json!({"type": "message", "text": "How do I pay early?"}))
        .await;
    hub.shutdown().await;
}

#[tokio::test]
async fn a_command_retried_with_the_same_id_is_applied_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "sven", &[Lang::Sv], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let mut w = available(&base, &token).await;
    let (mut c, conv) = customer(&base, "Per", "sv").await;
    c.ok(json!({"type": "message", "text": "Jag vill prata med en människa"}))
        .await;
    w.until_type("offer").await;
    w.ok(json!({"type": "accept_offer", "conversation": conv}))
        .await;

    let reply = json!({"id": "reply-1", "type": "reply", "conversation": conv, "text": "Hej! Jag heter Sven."});
    w.ok(reply.clone()).await;
    let again = w.command(reply.clone()).await;
    assert_eq!(again["type"], "ack");
    assert_eq!(again["duplicate"], true);

    // The customer's retried message is stored once too.
    let msg = json!({"id": "m-1", "type": "message", "text": "Tack!"});
    c.ok(msg.clone()).await;
    let again = c.command(msg).await;
    assert_eq!(again["duplicate"], true);

    if !c.seen.iter().any(|v| v["from"] == "worker") {
        c.until("the reply", |v| v["from"] == "worker").await;
    }
    let mut out = Vec::new();
    shiftdesk_hub::export::run(
        shiftdesk_hub::export::ExportKind::Conversations,
        dir.path(),
        &mut out,
    )
    .expect("export");
    let line = String::from_utf8(out).expect("utf8");
    let conv_json: Value = serde_json::from_str(line.lines().next().expect("one")).expect("json");
    let texts: Vec<&str> = conv_json["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(
        texts
            .iter()
            .filter(|t| **t == "Hej! Jag heter Sven.")
            .count(),
        1
    );
    assert_eq!(texts.iter().filter(|t| **t == "Tack!").count(), 1);
    hub.shutdown().await;
}

/// Numbered commands (PROTOCOL.md 3.2): a retry is known by its `producer` and `cseq`, not its
/// id, across a hub restart too; a refusal is repeated; a number below the highest that was
/// never applied is new; and none of it goes into the hub's index of command ids.
#[tokio::test]
async fn a_command_retried_with_the_same_cseq_is_applied_once_even_after_a_restart() {
    use shiftdesk_hub::store::{CommandLedger, SqliteStore};
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "sven", &[Lang::Sv], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let mut w = available(&base, &token).await;
    let (mut c, conv) = customer(&base, "Per", "sv").await;
    let ask = json!({"id": "a", "producer": "cust1", "cseq": 1, "type": "message",
        "text": "Jag vill prata med en människa"});
    c.ok(ask.clone()).await;
    w.until_type("offer").await;
    let numbered = |n: u64, id: &str, body: Value| {
        let mut frame = body;
        frame["id"] = json!(id);
        frame["producer"] = json!("run1");
        frame["cseq"] = json!(n);
        frame
    };
    w.ok(numbered(
        1,
        "x1",
        json!({"type": "accept_offer", "conversation": conv}),
    ))
    .await;
    let reply = json!({"type": "reply", "conversation": conv, "text": "Hej! Jag heter Sven."});
    w.ok(numbered(2, "x2", reply.clone())).await;
    // The same number under another id is the same command.
    let again = w.command(numbered(2, "x2-again", reply.clone())).await;
    assert_eq!(
        (&again["type"], &again["duplicate"]),
        (&json!("ack"), &json!(true)),
        "{again}"
    );
    let refused = numbered(
        3,
        "x3",
        json!({"type": "resolve", "conversation": "c-nope"}),
    );
    let first = w.command(refused.clone()).await;
    assert_eq!(first["type"], "error", "{first}");
    assert_eq!(w.command(refused.clone()).await["code"], first["code"]);
    // 5 before 4: 4 was never applied, so it is new when it comes.
    let late = json!({"type": "reply", "conversation": conv, "text": "Ett ögonblick."});
    w.ok(numbered(
        5,
        "x5",
        json!({"type": "note", "conversation": conv, "text": "kollar"}),
    ))
    .await;
    w.ok(numbered(4, "x4", late.clone())).await;
    let again = c.command(ask.clone()).await;
    assert_eq!(again["duplicate"], true, "{again}");
    hub.shutdown().await;

    // After a restart the store answers: the same outcomes, nothing applied twice.
    let hub = shiftdesk_testkit::hub(dir.path()).await;
    let base = hub.url();
    let (mut w, _) = worker(&base, &token).await;
    let again = w.command(numbered(2, "y2", reply.clone())).await;
    assert_eq!(again["duplicate"], true, "{again}");
    assert_eq!(w.command(numbered(4, "y4", late)).await["duplicate"], true);
    assert_eq!(w.command(refused).await["code"], first["code"]);
    hub.shutdown().await;

    let conversations = export(dir.path(), "conversations");
    let record = conversations
        .iter()
        .find(|r| r["id"] == conv.as_str())
        .expect("the conversation");
    let texts: Vec<&str> = record["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    for text in [
        "Jag vill prata med en människa",
        "Hej! Jag heter Sven.",
        "Ett ögonblick.",
    ] {
        assert_eq!(
            texts.iter().filter(|t| **t == text).count(),
            1,
            "{text}: {texts:?}"
        );
    }
    let store = SqliteStore::open_read_only(dir.path()).expect("store");
    let mut indexed = Vec::new();
    store
        .command_keys(&mut |principal, id| indexed.push(format!("{principal} {id}")))
        .expect("keys");
    assert!(
        !indexed
            .iter()
            .any(|k| k.ends_with(" a") || k.contains(" x") || k.contains(" y")),
        "numbered commands are not indexed by id: {indexed:?}"
    );
    let run = store
        .client_sequence("w:sven", "run1")
        .expect("read")
        .expect("the run is stored");
    assert_eq!(run.last, 5);
}

#[tokio::test]
async fn a_worker_who_reconnects_resumes_without_gap_or_duplicate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "nina", &[Lang::Nl], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let (mut w, welcome) = worker(&base, &token).await;
    let stream = welcome["stream"].as_str().expect("stream").to_string();
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let (mut c, conv) = customer(&base, "Joost", "nl").await;
    c.ok(json!({"type": "message", "text": "Ik wil een medewerker spreken"}))
        .await;
    w.until_type("offer").await;
    w.ok(json!({"type": "accept_offer", "conversation": conv}))
        .await;
    let last_seq = w
        .seen
        .iter()
        .filter_map(|v| v["seq"].as_u64())
        .max()
        .expect("seq");
    drop(w);

    // While the worker is away, the customer writes twice.
    c.ok(json!({"type": "message", "text": "Hallo?"})).await;
    c.ok(json!({"type": "message", "text": "Is daar iemand?"}))
        .await;

    let mut w = Client::connect(&base, "/ws/worker").await;
    w.send(json!({"type": "hello", "token": token, "protocol": 1, "resume": {"stream": stream, "last_seq": last_seq}}))
        .await;
    let welcome = w.until_type("welcome").await;
    assert_eq!(welcome["resumed"], true);
    w.until("the second missed message", |v| {
        v["message"]["text"] == "Is daar iemand?"
    })
    .await;
    let seqs: Vec<u64> = w
        .seen
        .iter()
        .filter_map(|v| v["seq"].as_u64())
        .filter(|s| *s > 0)
        .collect();
    let expected: Vec<u64> = (last_seq + 1..=last_seq + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "no gap, no duplicate");
    assert!(w.seen.iter().any(|v| v["message"]["text"] == "Hallo?"));
    // Still the owner: the grace period kept the conversation.
    w.ok(json!({"type": "reply", "conversation": conv, "text": "Ja, ik ben er!"}))
        .await;

    // A resume from an unknown stream gets a snapshot instead.
    let mut w2 = Client::connect(&base, "/ws/worker").await;
    w2.send(json!({"type": "hello", "token": token, "protocol": 1, "resume": {"stream": "old", "last_seq": 5}}))
        .await;
    let welcome = w2.until_type("welcome").await;
    assert_eq!(welcome["resumed"], false);
    let snap = w2.until_type("conversation").await;
    assert_eq!(snap["conversation"]["id"], conv.as_str());
    // The first connection was replaced.
    assert!(w.next().await.is_none(), "old connection closed");
    hub.shutdown().await;
}

#[tokio::test]
async fn the_hub_serves_wss_with_its_own_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "tls", &[Lang::En], Role::Worker, 1);
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("certificate");
    let cert_path = dir.path().join("hub.pem");
    let key_path = dir.path().join("hub.key");
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    let hub = start_hub(HubConfig {
        tls: Some((cert_path.clone(), key_path.clone())),
        ..hub_config(dir.path())
    })
    .await;
    assert!(hub.url().starts_with("wss://"));

    // Without the private CA the certificate is refused.
    let url = shiftdesk_client::endpoint_url(&hub.url(), "/ws/worker").expect("url");
    assert!(shiftdesk_client::connect(&url, None).await.is_err());

    // With it, a worker logs in over wss://.
    let tls = shiftdesk_client::tls_config(Some(&cert_path)).expect("CA loads");
    let mut ws = shiftdesk_client::connect(&url, Some(tls))
        .await
        .expect("wss connects");
    use futures_util::{SinkExt, StreamExt};
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        json!({"id": "h", "type": "hello", "token": token, "protocol": 1})
            .to_string()
            .into(),
    ))
    .await
    .expect("send");
    let welcome = ws.next().await.expect("frame").expect("ok");
    assert!(welcome.to_text().expect("text").contains("\"welcome\""));
    hub.shutdown().await;

    // A bad key file is a clear error before anything starts.
    std::fs::write(&key_path, "not a key").expect("write");
    let err = server::start(HubConfig {
        tls: Some((cert_path, key_path)),
        ..hub_config(dir.path())
    })
    .await
    .err()
    .expect("refused");
    assert!(format!("{err:#}").contains("hub.key"), "{err:#}");
}

/// `hub --keep-ended`: the stream of a conversation that ended, whose customer left, is let go
/// (the hub does not hold every conversation it ever served); the customer who comes back gets
/// the transcript.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_conversations_stream_is_let_go_after_keep_ended() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = common::add_worker_cli(dir.path(), "Ana", "en", 2);
    let hub = common::hub_process(dir.path(), &["--keep-ended", "1"]);
    shiftdesk_testkit::an_ended_conversation_is_let_go(&hub.url, &token).await;
    let workers = tokio::task::spawn_blocking(move || {
        shiftdesk_testkit::gauge(&hub.url, r#"shiftdesk_streams{kind="worker"}"#)
    })
    .await
    .expect("the metrics read");
    assert_eq!(workers, Some(1.0), "the worker's stream stays");
}
