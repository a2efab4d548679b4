//! `/metrics` and `/readyz` of a real hub, over HTTP: a worker takes a conversation and replies,
//! then the scrape is parsed whole with a Prometheus text-format parser and its numbers checked;
//! the metrics token; readiness.

use std::collections::HashMap;
use std::io::BufRead;

use prometheus_parse::{LineInfo, Sample, Scrape, Value as Metric};
use serde_json::{Value, json};
use shiftdesk_hub::metrics::MetricsToken;
use shiftdesk_hub::server::HubConfig;
use shiftdesk_protocol::{Lang, Role};
use shiftdesk_testkit::{Client, add_worker, customer, hub, hub_config, start_hub, worker};

/// GET `path` on the hub, with a bearer token if given: the status and the body.
async fn get(addr: std::net::SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let url = format!("http://{addr}{path}");
    let authorization = token.map(|t| format!("Bearer {t}"));
    tokio::task::spawn_blocking(move || {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        let mut request = agent.get(&url);
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        let mut response = request.call().expect("the hub answers HTTP");
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().expect("a text body");
        (status, body)
    })
    .await
    .expect("the request ran")
}

/// Parse a whole scrape. Every line must be a comment the format knows, a sample with a number,
/// or empty: the parser skips what it does not understand, so this checks it understood all.
fn parse(body: &str) -> Vec<Sample> {
    for line in body.lines() {
        match LineInfo::parse(line) {
            LineInfo::Doc { .. } | LineInfo::Type { .. } | LineInfo::Empty => {}
            LineInfo::Sample { value, .. } => assert!(
                value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value),
                "not a number in {line:?}"
            ),
            LineInfo::Ignored => panic!("not in the text format: {line:?}"),
        }
    }
    let scrape = Scrape::parse(body.as_bytes().lines()).expect("the scrape parses");
    // HELP for every metric, and only `shiftdesk_` names.
    for sample in &scrape.samples {
        assert!(sample.metric.starts_with("shiftdesk_"), "{}", sample.metric);
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| sample.metric.strip_suffix(s))
            .filter(|base| scrape.docs.contains_key(*base))
            .unwrap_or(&sample.metric);
        assert!(scrape.docs.contains_key(base), "no HELP for {base}");
    }
    scrape.samples
}

/// The value of the counter or gauge `metric` with exactly these labels.
fn value(samples: &[Sample], metric: &str, labels: &[(&str, &str)]) -> f64 {
    let wanted: HashMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let sample = samples
        .iter()
        .find(|s| s.metric == metric && *s.labels == wanted)
        .unwrap_or_else(|| panic!("no {metric}{labels:?} in {samples:#?}"));
    match sample.value {
        Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v) => v,
        ref other => panic!("{metric} is not a single number: {other:?}"),
    }
}

/// How many observations the histogram `metric` with these labels has (its `+Inf` bucket).
fn observations(samples: &[Sample], metric: &str, labels: &[(&str, &str)]) -> f64 {
    let wanted: HashMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let sample = samples
        .iter()
        .find(|s| s.metric == metric && *s.labels == wanted)
        .unwrap_or_else(|| panic!("no histogram {metric}{labels:?}"));
    let Metric::Histogram(buckets) = &sample.value else {
        panic!("{metric} is not a histogram: {:?}", sample.value);
    };
    buckets
        .iter()
        .find(|b| b.less_than == f64::INFINITY)
        .map(|b| b.count)
        .expect("a +Inf bucket")
}

/// A customer who asks for a person; returns once they are queued.
async fn asks_for_a_person(base: &str, name: &str, lang: &str, text: &str) -> (Client, String) {
    let (mut c, conversation) = customer(base, name, lang).await;
    c.until("the bot greeting", |v| {
        v["type"] == "message" && v["from"] == "bot"
    })
    .await;
    c.send(json!({"type": "message", "text": text})).await;
    c.until_type("queued").await;
    (c, conversation)
}

#[tokio::test]
async fn a_scrape_after_real_traffic_parses_and_counts_what_happened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "marta", &[Lang::It], Role::Worker, 1);
    let boss = add_worker(dir.path(), "sara", &[Lang::It], Role::Supervisor, 1);
    let hub = hub(dir.path()).await;
    let base = hub.url();

    // Before anything happens, the series are there and read 0.
    let (status, body) = get(hub.addr, "/metrics", None).await;
    assert_eq!(status, 200, "{body}");
    let fresh = parse(&body);
    assert_eq!(
        value(&fresh, "shiftdesk_offers_total", &[("outcome", "accepted")]),
        0.0
    );
    assert_eq!(
        value(&fresh, "shiftdesk_connections", &[("kind", "worker")]),
        0.0
    );

    let (mut w, _) = worker(&base, &token).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let (mut supervisor, _) = worker(&base, &boss).await;

    // An Italian customer asks for a person and gets Marta, who sends the draft.
    let (mut c, conv) =
        asks_for_a_person(&base, "Giulia", "it", "Vorrei parlare con un operatore").await;
    let offer = w.until_type("offer").await;
    assert_eq!(offer["conversation"], conv.as_str());
    w.ok(json!({"type": "accept_offer", "conversation": conv}))
        .await;
    let view = w
        .seen
        .iter()
        .rev()
        .find(|v| v["type"] == "conversation")
        .cloned()
        .expect("the conversation arrives on accept");
    let draft = match &view["conversation"]["draft"] {
        Value::Null => w.until_type("draft").await["draft"].clone(),
        ready => ready.clone(),
    };
    let draft_id = draft["id"].as_str().expect("draft id").to_string();
    w.ok(json!({"type": "draft", "conversation": conv, "draft": draft_id, "action": "accept"}))
        .await;
    c.until("the worker's reply", |v| {
        v["type"] == "message" && v["from"] == "worker"
    })
    .await;

    // An English customer asks too: Marta is full and speaks no English, so they wait.
    let (_waiting, _) =
        asks_for_a_person(&base, "John", "en", "I want to talk to a human please").await;

    let (status, body) = get(hub.addr, "/metrics", None).await;
    assert_eq!(status, 200, "{body}");
    let samples = parse(&body);
    let count = |metric: &str, labels: &[(&str, &str)]| value(&samples, metric, labels);

    assert_eq!(
        count("shiftdesk_offers_total", &[("outcome", "accepted")]),
        1.0
    );
    assert_eq!(
        count("shiftdesk_offers_total", &[("outcome", "declined")]),
        0.0
    );
    assert_eq!(count("shiftdesk_conversations_opened_total", &[]), 2.0);
    assert_eq!(count("shiftdesk_connections", &[("kind", "worker")]), 1.0);
    assert_eq!(
        count("shiftdesk_connections", &[("kind", "supervisor")]),
        1.0
    );
    assert_eq!(count("shiftdesk_connections", &[("kind", "customer")]), 2.0);
    assert_eq!(
        count(
            "shiftdesk_workers",
            &[("status", "available"), ("connected", "true")]
        ),
        1.0
    );
    assert_eq!(
        count(
            "shiftdesk_workers",
            &[("status", "offline"), ("connected", "true")]
        ),
        1.0,
        "the supervisor is logged in but not on shift"
    );
    assert_eq!(count("shiftdesk_queue_depth", &[("language", "en")]), 1.0);
    assert_eq!(count("shiftdesk_queue_depth", &[("language", "it")]), 0.0);
    assert!(count("shiftdesk_queue_oldest_wait_seconds", &[("language", "en")]) >= 0.0);
    assert_eq!(
        count(
            "shiftdesk_handovers_total",
            &[("reason", "asked_for_person"), ("language", "it")]
        ),
        1.0
    );
    assert_eq!(
        count(
            "shiftdesk_handovers_total",
            &[("reason", "asked_for_person"), ("language", "en")]
        ),
        1.0
    );
    assert!(count("shiftdesk_drafts_total", &[("drafter", "kb")]) >= 1.0);
    assert_eq!(
        count(
            "shiftdesk_draft_outcomes_total",
            &[("drafter", "kb"), ("outcome", "accepted")]
        ),
        1.0
    );
    assert_eq!(
        observations(
            &samples,
            "shiftdesk_time_to_offer_seconds",
            &[("language", "it")]
        ),
        1.0
    );
    assert_eq!(
        observations(
            &samples,
            "shiftdesk_time_to_person_seconds",
            &[("language", "it")]
        ),
        1.0
    );
    assert!(observations(&samples, "shiftdesk_commit_seconds", &[]) >= 1.0);
    assert!(observations(&samples, "shiftdesk_commit_batch_facts", &[]) >= 1.0);
    assert_eq!(count("shiftdesk_commit_failures_total", &[]), 0.0);

    // Marta's console closes: once the supervisor's wallboard shows her away, so does a scrape
    // (both read the same engine state, the scrape later).
    supervisor.ok(json!({"type": "wallboard"})).await;
    drop(w);
    supervisor
        .until("Marta away on the wallboard", |v| {
            v["type"] == "wallboard"
                && v["wallboard"]["workers"].as_array().is_some_and(|ws| {
                    ws.iter()
                        .any(|w| w["id"] == "marta" && w["connected"] == false)
                })
        })
        .await;
    let (_, body) = get(hub.addr, "/metrics", None).await;
    let samples = parse(&body);
    assert_eq!(
        value(&samples, "shiftdesk_connections", &[("kind", "worker")]),
        0.0
    );
    assert_eq!(
        value(
            &samples,
            "shiftdesk_workers",
            &[("status", "available"), ("connected", "false")]
        ),
        1.0,
        "away, within the grace period"
    );
    hub.shutdown().await;
}

#[tokio::test]
async fn with_a_token_metrics_needs_it_and_nothing_else_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = start_hub(HubConfig {
        metrics_token: Some(MetricsToken::new("s3cret-scrape").expect("a token")),
        ..hub_config(dir.path())
    })
    .await;

    let (status, body) = get(hub.addr, "/metrics", None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("Bearer"), "{body}");
    let (status, _) = get(hub.addr, "/metrics", Some("wrong")).await;
    assert_eq!(status, 401);
    let (status, body) = get(hub.addr, "/metrics", Some("s3cret-scrape")).await;
    assert_eq!(status, 200, "{body}");
    assert!(!parse(&body).is_empty());

    // Health and readiness stay open to the orchestrator.
    assert_eq!(get(hub.addr, "/healthz", None).await.0, 200);
    assert_eq!(get(hub.addr, "/readyz", None).await.0, 200);
    hub.shutdown().await;

    assert!(
        MetricsToken::new("  ").is_err(),
        "a blank token protects nothing"
    );
    assert!(
        !format!("{:?}", MetricsToken::new("s3cret-scrape")).contains("s3cret"),
        "Debug never shows the token"
    );
}

#[tokio::test]
async fn readyz_is_200_while_the_store_is_writable_and_503_with_a_reason_when_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let hub = hub(&data).await;
    let (status, body) = get(hub.addr, "/readyz", None).await;
    assert_eq!((status, body.trim()), (200, "ready"));

    // The data directory disappears under the running hub (a lost mount, a wrong cleanup).
    std::fs::remove_dir_all(&data).expect("remove the data dir");
    let (status, body) = get(hub.addr, "/readyz", None).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.starts_with("not ready") && body.contains("data directory"),
        "{body}"
    );
    hub.shutdown().await;
}
