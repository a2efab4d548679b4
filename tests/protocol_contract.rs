//! PROTOCOL.md against the real hub, where a client written from the document alone found them
//! apart: replaced connections (supervisors and customers), resuming a customer conversation,
//! a resume ahead of the stream, stale drafts, the example session frame by frame, and the final
//! outcome of every draft in the export.

use futures_util::StreamExt;
use serde_json::{Value, json};
use shiftdesk_hub::export::{ExportKind, run as export};
use shiftdesk_protocol::{CustomerEvent, Lang, Role, WorkerEvent};
use shiftdesk_testkit::{Client, FRAME_TIMEOUT, add_worker, customer, hub, worker};
use tokio_tungstenite::tungstenite::Message;

/// Read until the hub closes the connection; the close code, if the hub sent a close frame.
async fn close_code(c: &mut Client) -> Option<u16> {
    loop {
        let next = tokio::time::timeout(FRAME_TIMEOUT, c.ws.next())
            .await
            .expect("the hub closes the connection in time");
        match next {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(Message::Text(text))) => {
                c.seen
                    .push(serde_json::from_str(&text).expect("hub sends JSON"));
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
}

/// A customer who asks for a person, and the worker `w` who takes them.
async fn assigned(base: &str, w: &mut Client) -> (Client, String) {
    let (mut c, conv) = customer(base, "Kim", "en").await;
    c.ok(json!({"type": "message", "text": "I want to talk to a person"}))
        .await;
    w.seen_or_until("the offer", |v| {
        v["type"] == "offer" && v["conversation"] == conv.as_str()
    })
    .await;
    w.ok(json!({"type": "accept_offer", "conversation": conv}))
        .await;
    (c, conv)
}

fn shadowers(v: &Value, conv: &str) -> Option<Vec<String>> {
    (v["type"] == "shadowers" && v["conversation"] == conv).then(|| {
        v["supervisors"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|s| s.as_str().expect("a name").to_string())
            .collect()
    })
}

/// PROTOCOL.md 5.1: a supervisor's new login replaces the old connection (closed with 4000),
/// and what that connection followed ends with it: the wallboard and the shadows stop, the
/// owner is told nobody watches any more, and the new connection gets neither until it
/// subscribes again.
#[tokio::test]
async fn a_replaced_supervisor_connection_ends_its_wallboard_and_shadows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tw = add_worker(dir.path(), "willa", &[Lang::En], Role::Worker, 2);
    let ts = add_worker(dir.path(), "sara", &[Lang::En], Role::Supervisor, 2);
    let to = add_worker(dir.path(), "otto", &[Lang::En], Role::Supervisor, 2);
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let (mut w, _) = worker(&base, &tw).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let (mut c, conv) = assigned(&base, &mut w).await;

    let (mut old, _) = worker(&base, &ts).await;
    old.ok(json!({"type": "wallboard"})).await;
    old.ok(json!({"type": "shadow", "conversation": conv}))
        .await;
    w.until("Sara in the shadowers", |v| {
        shadowers(v, &conv) == Some(vec!["Sara".to_string()])
    })
    .await;

    let (mut new, welcome) = worker(&base, &ts).await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(close_code(&mut old).await, Some(4000), "{:?}", old.seen);
    w.until("nobody in the shadowers", |v| {
        shadowers(v, &conv) == Some(vec![])
    })
    .await;

    // A customer line, and a wallboard pushed after the new login (to another supervisor,
    // who subscribed after it): neither reaches the new connection, which has not asked.
    c.ok(json!({"type": "message", "text": "are you still there?"}))
        .await;
    let (mut otto, _) = worker(&base, &to).await;
    otto.ok(json!({"type": "wallboard"})).await;
    otto.until_type("wallboard").await;
    otto.until_type("wallboard").await;
    // Anything for the new connection from before now arrives before this answer.
    new.ok(json!({"type": "set_status", "status": "offline"}))
        .await;
    let unasked: Vec<&Value> = new
        .seen
        .iter()
        .filter(|v| v["type"] == "wallboard" || v["conversation"] == conv.as_str())
        .collect();
    assert!(unasked.is_empty(), "not subscribed, yet got {unasked:?}");

    // Shadowing again works as after any reconnect.
    new.ok(json!({"type": "shadow", "conversation": conv}))
        .await;
    w.until("Sara back in the shadowers", |v| {
        shadowers(v, &conv) == Some(vec!["Sara".to_string()])
    })
    .await;
    hub.shutdown().await;
}

/// Start a conversation; returns the client and the `started` frame, after the greeting.
async fn started(base: &str) -> (Client, Value) {
    let mut c = Client::connect(base, "/ws/customer").await;
    c.send(json!({"type": "start", "protocol": 1, "name": "Ada", "lang": "en"}))
        .await;
    let started = c.until_type("started").await;
    let greeting = c.until_type("message").await;
    assert_eq!(greeting["seq"], 1);
    (c, started)
}

/// Resume a conversation on a new connection with `resume`; returns the client and `started`.
async fn resume(base: &str, resume: Value) -> (Client, Value) {
    let mut c = Client::connect(base, "/ws/customer").await;
    c.send(json!({"type": "start", "protocol": 1, "resume": resume}))
        .await;
    let started = c
        .until("started", |v| {
            v["type"] == "started" || v["type"] == "error"
        })
        .await;
    (c, started)
}

/// PROTOCOL.md 6.1 and 8.2 agree: a customer resumes with the conversation, its key and
/// `last_seq`; `stream` may be left out (the hub knows the conversation's stream).
#[tokio::test]
async fn a_customer_resumes_without_naming_the_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let (first, s) = started(&base).await;
    drop(first);
    let (mut c, again) = resume(
        &base,
        json!({"conversation": s["conversation"], "key": s["key"], "last_seq": 0}),
    )
    .await;
    assert_eq!(again["type"], "started", "{again}");
    assert_eq!(again["resumed"], true, "{again}");
    assert_eq!(again["stream"], s["stream"]);
    let replayed = c.until_type("message").await;
    assert_eq!(
        (replayed["seq"].clone(), replayed["from"].clone()),
        (json!(1), json!("bot")),
        "the greeting is replayed"
    );
    hub.shutdown().await;
}

/// A `last_seq` past the end of the stream (a client that counted frames of another stream, or
/// a bug) is not resumed: resuming would make the client drop the next frames as already seen.
/// Workers get `resumed: false` and the snapshot; customers `resumed: false`.
#[tokio::test]
async fn a_resume_ahead_of_the_stream_is_answered_with_resumed_false() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "wendy", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let base = hub.url();

    let (mut w, welcome) = worker(&base, &token).await;
    let status = w.until_type("status").await;
    assert_eq!(status["seq"], 1);
    let stream = welcome["stream"].clone();
    drop(w);
    for ahead in [50, u64::MAX] {
        let mut w = Client::connect(&base, "/ws/worker").await;
        w.send(json!({"type": "hello", "token": token, "protocol": 1,
                      "resume": {"stream": stream, "last_seq": ahead}}))
            .await;
        let welcome = w.until_type("welcome").await;
        assert_eq!(welcome["resumed"], false, "last_seq {ahead}: {welcome}");
        let snapshot = w.next().await.expect("the snapshot follows");
        assert_eq!(snapshot["type"], "status", "{snapshot}");
        assert!(
            snapshot["seq"].as_u64().is_some_and(|s| s > 1),
            "{snapshot}"
        );
    }

    let (first, s) = started(&base).await;
    drop(first);
    let (mut c, again) = resume(
        &base,
        json!({"conversation": s["conversation"], "key": s["key"],
               "stream": s["stream"], "last_seq": 50}),
    )
    .await;
    assert_eq!(again["type"], "started", "{again}");
    assert_eq!(again["resumed"], false, "{again}");
    // What follows continues the stream; a client that forgot `last_seq` applies it.
    let ack = c
        .command(json!({"type": "message", "text": "how do I pay early?"}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    hub.shutdown().await;
}

/// Only the newest connection of a conversation gets its frames, so the older one is closed
/// with 4000, as a worker's is: its outbox can then settle instead of waiting for acks that go
/// elsewhere.
#[tokio::test]
async fn an_older_customer_connection_is_closed_when_the_conversation_resumes_elsewhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let (mut old, s) = started(&base).await;
    let (mut new, again) = resume(
        &base,
        json!({"conversation": s["conversation"], "key": s["key"],
               "stream": s["stream"], "last_seq": 1}),
    )
    .await;
    assert_eq!(again["resumed"], true, "{again}");
    assert_eq!(close_code(&mut old).await, Some(4000), "{:?}", old.seen);
    new.ok(json!({"type": "message", "text": "hello again"}))
        .await;
    hub.shutdown().await;
}

/// A draft answers one customer message: after a reply to that message, sending the draft would
/// answer twice, so it is refused with `stale_draft`, and the customer gets only the reply.
#[tokio::test]
async fn a_draft_made_moot_by_a_reply_is_refused_as_stale() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "marta", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let (mut w, _) = worker(&base, &token).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let (mut c, conv) = assigned(&base, &mut w).await;
    let view = w
        .seen_or_until("the conversation", |v| v["type"] == "conversation")
        .await;
    let draft = match &view["conversation"]["draft"] {
        Value::Null => w.until_type("draft").await["draft"].clone(),
        ready => ready.clone(),
    };
    w.ok(json!({"type": "reply", "conversation": conv, "text": "Hi Kim, I'm here."}))
        .await;
    let answer = w
        .command(json!({"type": "draft", "conversation": conv, "draft": draft["id"], "action": "accept"}))
        .await;
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(answer["code"], "stale_draft", "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains(draft["id"].as_str().expect("id"))),
        "the message names the draft: {answer}"
    );
    // The customer's next command is answered after anything the draft could have sent.
    c.ok(json!({"type": "message", "text": "ok"})).await;
    let from_worker: Vec<&Value> = c
        .seen
        .iter()
        .filter(|v| v["type"] == "message" && v["from"] == "worker")
        .collect();
    assert_eq!(from_worker.len(), 1, "only the reply: {from_worker:?}");
    hub.shutdown().await;
}

/// The example line of an export in PROTOCOL.md section 10 (`heading` names its subsection).
fn documented_export(heading: &str) -> Value {
    let doc = include_str!("../PROTOCOL.md");
    let section = doc
        .split(heading)
        .nth(1)
        .expect("PROTOCOL.md documents the export");
    let json = section
        .split("```json\n")
        .nth(1)
        .and_then(|s| s.split("\n```").next())
        .expect("an example line");
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{heading}: {e}: {json}"))
}

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    keys.sort();
    keys
}

/// Every draft has a final outcome in the export: replaced by a newer draft (`superseded`), made
/// moot by a reply (`discarded`), left when the conversation ended (`abandoned`). Both exports
/// have the shape PROTOCOL.md section 10 documents.
#[tokio::test]
async fn the_export_gives_every_draft_a_final_outcome() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "marta", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let (mut w, _) = worker(&base, &token).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let (mut c, conv) = assigned(&base, &mut w).await;
    let view = w
        .seen_or_until("the conversation", |v| v["type"] == "conversation")
        .await;
    let first = match &view["conversation"]["draft"] {
        Value::Null => w.until_type("draft").await["draft"].clone(),
        ready => ready.clone(),
    };
    let next_draft = async |w: &mut Client, c: &mut Client, text: &str| -> Value {
        c.ok(json!({"type": "message", "text": text})).await;
        w.until("a draft for the new line", |v| {
            v["type"] == "draft" && v["draft"]["id"] != first["id"]
        })
        .await["draft"]
            .clone()
    };
    let second = next_draft(&mut w, &mut c, "I was charged twice for my order").await;
    w.ok(json!({"type": "reply", "conversation": conv, "text": "Let me look."}))
        .await;
    let third = next_draft(&mut w, &mut c, "thanks, it was order 4411").await;
    w.ok(json!({"type": "resolve", "conversation": conv})).await;

    let mut out = Vec::new();
    export(ExportKind::Drafts, dir.path(), &mut out).expect("export");
    let lines: Vec<Value> = String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let outcome = |draft: &Value| {
        let line = lines
            .iter()
            .find(|l| l["draft"] == draft["id"])
            .unwrap_or_else(|| panic!("draft {draft} exported: {lines:?}"));
        assert!(line["settled_at"].is_u64(), "{line}");
        line["outcome"].clone()
    };
    assert_eq!(outcome(&first), "superseded");
    assert_eq!(outcome(&second), "discarded");
    assert_eq!(outcome(&third), "abandoned");
    let documented = documented_export("### 10.2 `shiftdesk export drafts`");
    assert_eq!(
        keys(&lines[0]),
        keys(&documented),
        "the drafts export as documented"
    );

    let mut out = Vec::new();
    export(ExportKind::Conversations, dir.path(), &mut out).expect("export");
    let conversation: Value =
        serde_json::from_slice(&out).expect("one conversation, one JSON line");
    let documented = documented_export("### 10.1 `shiftdesk export conversations`");
    assert_eq!(
        keys(&conversation),
        keys(&documented),
        "the conversations export as documented"
    );
    assert_eq!(
        keys(&conversation["triage"][0]),
        keys(&documented["triage"][0]),
        "a triage entry as documented"
    );
    assert_eq!(
        conversation["triage"][0]["reason"]["kind"],
        "asked_for_person"
    );
    hub.shutdown().await;
}

/// The frames of PROTOCOL.md section 7, by client: `W` (the worker console) or `C` (the customer).
fn example_session(client: char) -> Vec<Value> {
    let doc = include_str!("../PROTOCOL.md");
    let section = doc
        .split("## 7. Example session")
        .nth(1)
        .and_then(|s| s.split("## 8.").next())
        .expect("PROTOCOL.md has section 7");
    let sent_by_hub = format!("{client}< ");
    let sent_to_hub = format!("{client}> ");
    let mut frames = Vec::new();
    for line in section.lines() {
        if let Some(json) = line.strip_prefix(&sent_to_hub) {
            // What the client sends must decode as the hub decodes it.
            let decoded = match client {
                'W' => shiftdesk_protocol::decode_worker(json).map(drop),
                _ => shiftdesk_protocol::decode_customer(json).map(drop),
            };
            assert!(decoded.is_ok(), "{line}: {decoded:?}");
        }
        let Some(json) = line.strip_prefix(&sent_by_hub) else {
            continue;
        };
        let frame: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{line}: {e}"));
        // And what the hub sends is a frame the protocol crate knows.
        let known = match client {
            'W' => serde_json::from_value::<WorkerEvent>(frame.clone()).map(drop),
            _ => serde_json::from_value::<CustomerEvent>(frame.clone()).map(drop),
        };
        assert!(known.is_ok(), "{line}: {known:?}");
        frames.push(frame);
    }
    assert!(!frames.is_empty(), "no {client}< frames in section 7");
    frames
}

/// A frame as the example session is compared: its place, its type and what a client acts on.
fn shape(frame: &Value) -> String {
    let detail = match frame["type"].as_str().unwrap_or_default() {
        "message" => frame["message"]["from"]
            .as_str()
            .or(frame["from"].as_str())
            .map(str::to_string),
        "draft_done" => Some(frame["outcome"].to_string()),
        "status" => Some(frame["status"].to_string()),
        "closed" => Some(frame["reason"].to_string()),
        "welcome" | "started" => Some(format!("resumed {}", frame["resumed"])),
        _ => None,
    };
    match detail {
        Some(d) => format!("{} {} {d}", frame["seq"], frame["type"]),
        None => format!("{} {}", frame["seq"], frame["type"]),
    }
}

/// The example session of PROTOCOL.md is what the hub sends: the same frames, in the same
/// order, with the same sequence numbers, for the worker and for the customer; its first
/// `status` is dated at login, and a regenerated draft follows the `ack`.
#[tokio::test]
async fn the_example_session_is_what_the_hub_sends() {
    let doc_worker = example_session('W');
    let doc_customer = example_session('C');
    let since = |frames: &[Value]| {
        let welcome = frames.iter().find(|f| f["type"] == "welcome").cloned();
        let status = frames.iter().find(|f| f["type"] == "status").cloned();
        (
            welcome.expect("a welcome")["server_time"].clone(),
            status.expect("a status")["since"].clone(),
        )
    };
    let (server_time, first_since) = since(&doc_worker);
    assert_eq!(
        first_since, server_time,
        "the example's first status is dated at login, as the hub sends it"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "giulia", &[Lang::It, Lang::En], Role::Worker, 2);
    // A supervisor who only watches the queue, to know when the first draft is made.
    let ts = add_worker(dir.path(), "sara", &[Lang::It], Role::Supervisor, 1);
    let hub = hub(dir.path()).await;
    let base = hub.url();

    let (mut w, _) = worker(&base, &token).await;
    w.until_type("status").await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let mut c = Client::connect(&base, "/ws/customer").await;
    c.send(json!({"type": "start", "protocol": 1, "name": "Marco Bianchi", "lang": "it"}))
        .await;
    let conv = c.until_type("started").await["conversation"]
        .as_str()
        .expect("an id")
        .to_string();
    c.until_type("message").await;
    c.ok(json!({"type": "message", "text": "Buongiorno, vorrei parlare con un operatore per spostare la scadenza della rata."}))
        .await;
    w.until_type("offer").await;
    // As in the example, the draft for message 2 is made while the conversation is offered.
    let (mut sup, _) = worker(&base, &ts).await;
    sup.ok(json!({"type": "shadow", "conversation": conv}))
        .await;
    sup.seen_or_until("the first draft", |v| {
        v["type"] == "draft" || v["conversation"]["draft"].is_object()
    })
    .await;
    sup.ok(json!({"type": "unshadow", "conversation": conv}))
        .await;

    w.ok(json!({"type": "accept_offer", "conversation": conv}))
        .await;
    let view = w
        .seen_or_until("the view", |v| v["type"] == "conversation")
        .await;
    let first = view["conversation"]["draft"]["id"].clone();
    assert!(first.is_string(), "the draft is in the view: {view}");
    w.ok(json!({"type": "draft", "conversation": conv, "draft": first, "action": "accept"}))
        .await;
    c.until("the worker's line", |v| v["from"] == "worker")
        .await;
    c.ok(json!({"type": "message", "text": "Perfetto, grazie mille!"}))
        .await;
    let second = w.until_type("draft").await["draft"]["id"].clone();
    w.ok(json!({"type": "draft", "conversation": conv, "draft": second, "action": "regenerate"}))
        .await;
    w.until("the regenerated draft", |v| {
        v["type"] == "draft" && v["draft"]["id"] != second
    })
    .await;
    w.ok(json!({"type": "resolve", "conversation": conv})).await;
    c.until_type("closed").await;

    let hub_since = since(&w.seen);
    assert_eq!(
        hub_since.1, hub_since.0,
        "the hub dates the first status at login"
    );
    let shapes = |frames: &[Value]| frames.iter().map(shape).collect::<Vec<_>>();
    assert_eq!(shapes(&w.seen), shapes(&doc_worker), "the worker's frames");
    assert_eq!(
        shapes(&c.seen),
        shapes(&doc_customer),
        "the customer's frames"
    );
    hub.shutdown().await;
}

/// PROTOCOL.md section 11: a client that lists `decisions` in `hello.features` is told why it
/// got an offer (a `decision` frame before the `offer`, with the rule and its parameters); one
/// that does not never gets the frame. `about_dispatch` answers with the live configuration.
#[tokio::test]
async fn decisions_go_to_clients_that_ask_and_about_dispatch_describes_the_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let new = add_worker(dir.path(), "nora", &[Lang::En], Role::Worker, 1);
    let old = add_worker(dir.path(), "otto", &[Lang::En], Role::Worker, 1);
    let hub = hub(dir.path()).await;
    let base = hub.url();

    let mut n = Client::connect(&base, "/ws/worker").await;
    n.send(json!({"type": "hello", "token": new, "protocol": 1, "features": ["decisions"]}))
        .await;
    n.until_type("welcome").await;
    n.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let (mut o, _) = worker(&base, &old).await;
    o.ok(json!({"type": "set_status", "status": "available"}))
        .await;

    // Nora has waited longest: the offer is hers, with its reason first.
    let (mut c, conv) = customer(&base, "Kim", "en").await;
    c.ok(json!({"type": "message", "text": "I want to talk to a person"}))
        .await;
    let decision = n.until_type("decision").await;
    assert_eq!(decision["decision"]["kind"], "offered", "{decision}");
    assert_eq!(decision["decision"]["conversation"], conv.as_str());
    assert_eq!(decision["decision"]["rule"], "longest_idle");
    assert_eq!(decision["decision"]["params"]["eligible"], "2");
    let offer = n.until_type("offer").await;
    assert!(offer["seq"].as_u64() > decision["seq"].as_u64());

    // She declines: told why she is skipped; Otto (no features) gets the offer and no decision.
    n.ok(json!({"type": "decline_offer", "conversation": conv}))
        .await;
    assert!(
        n.seen
            .iter()
            .any(|v| v["type"] == "decision" && v["decision"]["kind"] == "skipped_after_decline"),
        "{:?}",
        n.seen
    );
    o.until_type("offer").await;
    assert!(
        o.seen.iter().all(|v| v["type"] != "decision"),
        "{:?}",
        o.seen
    );

    n.ok(json!({"type": "about_dispatch"})).await;
    let about = n
        .seen
        .iter()
        .find(|v| v["type"] == "about_dispatch")
        .cloned()
        .expect("about_dispatch before the ack");
    assert_eq!(about["seq"], 0);
    let rules = about["about"]["rules"].as_array().expect("rules");
    let timeout = rules
        .iter()
        .find(|r| r["name"] == "offer_timeout")
        .expect("the offer timeout rule");
    assert_eq!(timeout["params"]["offer_timeout_ms"], "30000");
    assert!(
        !about["about"]["not_monitored"]
            .as_array()
            .expect("list")
            .is_empty()
    );
    hub.shutdown().await;
}

/// PROTOCOL.md 11.6: a console off shift that asked for `demand` hears what is waiting in its
/// languages; one that did not ask hears nothing.
#[tokio::test]
async fn an_off_shift_standby_console_hears_the_demand_in_its_languages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let standby = add_worker(dir.path(), "stella", &[Lang::It], Role::Worker, 1);
    let plain = add_worker(dir.path(), "piet", &[Lang::It], Role::Worker, 1);
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let mut s = Client::connect(&base, "/ws/worker").await;
    s.send(json!({"type": "hello", "token": standby, "protocol": 1, "features": ["demand"]}))
        .await;
    s.until_type("welcome").await;
    let (mut p, _) = worker(&base, &plain).await;
    let (mut c, _) = customer(&base, "Gianni", "it").await;
    c.ok(json!({"type": "message", "text": "Voglio parlare con un operatore"}))
        .await;
    let demand = s.until_type("demand").await;
    assert_eq!(demand["seq"], 0);
    assert_eq!(demand["queues"][0]["language"], "it", "{demand}");
    assert_eq!(demand["queues"][0]["waiting"], 1);
    p.ok(json!({"type": "about_dispatch"})).await;
    assert!(p.seen.iter().all(|v| v["type"] != "demand"), "{:?}", p.seen);
    hub.shutdown().await;
}

/// PROTOCOL.md 5.4 and 6.3, where a client written from the document found the hub apart: the
/// wallboard's queues come in the documented order (en, it, de, nl, sv, ru), a fresh store
/// has no `slots` (arrivals from earlier the same day are not history), and a customer put back
/// in the queue because the only worker on shift went offline gets one `queued`, which counts
/// that worker gone (`on_shift: 0`).
#[tokio::test]
async fn the_wallboard_order_no_history_and_one_queued_when_the_worker_leaves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tw = add_worker(dir.path(), "willa", &[Lang::En], Role::Worker, 1);
    let ts = add_worker(dir.path(), "sara", &[Lang::De], Role::Supervisor, 1);
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let (mut w, _) = worker(&base, &tw).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let (mut c, _) = assigned(&base, &mut w).await;

    let (mut s, _) = worker(&base, &ts).await;
    s.ok(json!({"type": "wallboard"})).await;
    let board = s
        .seen_or_until("the wallboard", |v| v["type"] == "wallboard")
        .await;
    let order: Vec<&str> = board["wallboard"]["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .map(|q| q["language"].as_str().expect("a code"))
        .collect();
    assert_eq!(order[..6], ["en", "it", "de", "nl", "sv", "ru"], "{board}");
    assert!(board["wallboard"].get("slots").is_none(), "{board}");
    s.ok(json!({"type": "schedule"})).await;
    let week = s
        .seen_or_until("the schedule", |v| v["type"] == "schedule")
        .await;
    assert_eq!(week["schedule"]["history_weeks"], 0, "{week}");

    let before = c.seen.len();
    w.ok(json!({"type": "set_status", "status": "offline"}))
        .await;
    c.until_type("queued").await;
    // Whatever the worker's going offline sent comes before the answer to a later command.
    c.ok(json!({"type": "message", "text": "Still there?"}))
        .await;
    let queued: Vec<&Value> = c.seen[before..]
        .iter()
        .filter(|v| v["type"] == "queued")
        .collect();
    assert_eq!(queued.len(), 1, "{:#?}", &c.seen[before..]);
    assert_eq!(queued[0]["on_shift"], 0, "{}", queued[0]);
    hub.shutdown().await;
}
