//! The demo's simulated customers: each scenario is routed the way its `kind` says, and a
//! simulated customer plays a whole conversation against the real hub with a scripted worker.

use std::time::Duration;

use serde_json::json;
use shiftdesk_client::sim::{self, Outcome, Pace};
use shiftdesk_hub::drafting::kb::KnowledgeBase;
use shiftdesk_hub::triage;
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::Role;
use shiftdesk_testkit::{add_worker, hub, worker};

#[test]
fn every_scenario_is_routed_as_its_kind_says() {
    let kb = KnowledgeBase::builtin();
    for s in sim::builtin() {
        let decisions: Vec<_> = s
            .opening
            .iter()
            .map(|line| triage::triage(&kb, line, Some(s.lang)))
            .collect();
        let to_person = decisions.iter().position(|d| d.to_human);
        match s.kind.as_str() {
            "bot" => assert_eq!(to_person, None, "{}: {decisions:#?}", s.name),
            "person" | "sensitive" => assert_eq!(
                to_person,
                Some(s.opening.len() - 1),
                "{}: only the last opening line hands over: {decisions:#?}",
                s.name
            ),
            other => panic!("unknown kind {other}"),
        }
        for d in &decisions {
            assert_eq!(d.language, s.lang, "{}: language of {d:?}", s.name);
        }
    }
}

#[tokio::test]
async fn a_simulated_customer_talks_to_a_scripted_worker_until_resolved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "giorgio", &[Lang::It], Role::Worker, 1);
    let hub = hub(dir.path()).await;
    let url = hub.url();
    let scenario = sim::builtin()
        .into_iter()
        .find(|s| s.lang == Lang::It && s.kind == "person")
        .expect("an Italian person scenario");
    let pace = Pace {
        think_ms: (1, 5),
        arrival_ms: (1, 5),
        patience: Duration::from_secs(30),
    };
    let (mut w, _) = worker(&url, &token).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let customer = tokio::spawn({
        let url = url.clone();
        let scenario = scenario.clone();
        async move { sim::run_customer(&url, &scenario, pace).await }
    });
    let offer = w.seen_or_until("offer", |v| v["type"] == "offer").await;
    let conv = offer["conversation"].as_str().expect("id").to_string();
    w.ok(json!({"type": "accept_offer", "conversation": conv}))
        .await;
    // Answer each customer line with its draft, as a worker in a hurry would.
    let mut used: Vec<String> = vec![];
    for _ in 0..scenario.follow_ups.len() + 1 {
        let fresh = |v: &serde_json::Value, used: &[String]| {
            let d = if v["type"] == "draft" {
                &v["draft"]
            } else if v["type"] == "conversation" {
                &v["conversation"]["draft"]
            } else {
                return None;
            };
            d["id"]
                .as_str()
                .filter(|id| !used.iter().any(|u| u == id))
                .map(str::to_string)
        };
        let frame = {
            let used = used.clone();
            w.seen_or_until("a new draft", move |v| fresh(v, &used).is_some())
                .await
        };
        let id = fresh(&frame, &used).expect("fresh draft");
        used.push(id.clone());
        w.ok(json!({"type": "draft", "conversation": conv, "draft": id, "action": "accept"}))
            .await;
    }
    w.ok(json!({"type": "resolve", "conversation": conv})).await;
    let outcome = customer.await.expect("task").expect("customer ran");
    assert_eq!(outcome, Outcome::Resolved);
    hub.shutdown().await;
}

#[test]
fn simulated_workers_write_in_the_customers_language() {
    // The supervisor demo's workers edit drafts and write personal lines: in the customer's
    // language, not in English.
    for lang in Lang::ALL {
        let (edited, personal) = sim::workers::own_words(lang);
        for line in [edited, personal] {
            assert_eq!(
                shiftdesk_hub::lang::detect(line, None),
                lang,
                "{lang}: {line:?}"
            );
        }
    }
}
