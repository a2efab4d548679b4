//! The OpenAI-compatible drafter against a small chat-completions server inside the test (raw
//! HTTP/1.1 over tokio on 127.0.0.1:0) that streams, hangs, breaks off, answers garbage or 500,
//! or is not there at all; plus the `--drafter openai` flag errors through the real binary.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use shiftdesk_hub::drafting::kb::KnowledgeBase;
use shiftdesk_hub::drafting::openai::{OpenAiConfig, OpenAiDrafter};
use shiftdesk_hub::drafting::{DraftProposal, DraftRequest, Drafter, Speaker, Turn};
use shiftdesk_protocol::Lang;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// A request the server received.
#[derive(Debug, Clone)]
struct Seen {
    request_line: String,
    /// Header lines, names lower-cased.
    headers: Vec<(String, String)>,
    body: Value,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

async fn read_request(stream: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut request_line = String::new();
    stream.read_line(&mut request_line).await.ok()?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).await.ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(Seen {
        request_line: request_line.trim_end().to_string(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    })
}

const SSE_HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";

fn chunk(content: &str) -> String {
    let event = json!({
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}],
    });
    format!("data: {event}\n\n")
}

const STREAM_END: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";

fn plain(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Serve one connection at a time with `handle`, each on its own task; returns the base URL.
async fn serve<F, Fut>(handle: F) -> String
where
    F: Fn(BufReader<TcpStream>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handle = Arc::new(handle);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handle(BufReader::new(stream)));
        }
    });
    format!("http://{addr}/v1")
}

fn config(base_url: &str, timeout: Duration) -> OpenAiConfig {
    OpenAiConfig {
        base_url: base_url.to_string(),
        model: "test-model".into(),
        api_key: None,
        timeout,
        max_concurrent: 4,
    }
}

fn drafter(config: OpenAiConfig) -> Arc<OpenAiDrafter> {
    Arc::new(OpenAiDrafter::new(
        config,
        Arc::new(KnowledgeBase::builtin()),
    ))
}

const QUESTION: &str = "Can I pay my bill early?";

/// Draft an answer to [`QUESTION`] on a blocking thread (as the hub does); returns the proposal
/// and every partial text, in order.
async fn draft(drafter: Arc<OpenAiDrafter>) -> (DraftProposal, Vec<String>) {
    draft_streaming(drafter, |_| {}).await
}

async fn draft_streaming(
    drafter: Arc<OpenAiDrafter>,
    on_partial: impl Fn(&str) + Send + 'static,
) -> (DraftProposal, Vec<String>) {
    tokio::task::spawn_blocking(move || {
        let transcript = [
            Turn::new(Speaker::Customer, "Hi, I have a question about my invoice"),
            Turn::new(Speaker::Agent, "Hello! How can I help?"),
            Turn::new(Speaker::Customer, QUESTION),
        ];
        let history = ["Hi, I have a question about my invoice".to_string()];
        let req = DraftRequest {
            text: QUESTION,
            language: Lang::En,
            history: &history,
            transcript: &transcript,
            attempt: 0,
        };
        let mut partials = Vec::new();
        let proposal = drafter.draft_streaming(&req, &mut |text| {
            partials.push(text.to_string());
            on_partial(text);
        });
        (proposal, partials)
    })
    .await
    .expect("the drafter does not panic")
}

/// The built-in drafter's answer, marked as a fallback for `test-model`.
fn assert_fallback(proposal: &DraftProposal) {
    assert_eq!(proposal.drafter, "fallback", "{proposal:?}");
    assert_eq!(proposal.model.as_deref(), Some("test-model"));
    let kb = shiftdesk_hub::drafting::kb::KbDrafter::builtin();
    assert!(!proposal.text.is_empty());
    assert_eq!(
        proposal.sources,
        kb.draft(&DraftRequest {
            text: QUESTION,
            language: Lang::En,
            history: &["Hi, I have a question about my invoice".to_string()],
            transcript: &[],
            attempt: 0,
        })
        .sources,
        "the fallback is the built-in drafter's answer"
    );
}

#[tokio::test]
async fn a_streamed_answer_arrives_piece_by_piece_and_is_the_draft() {
    let pieces = ["You can pay", " early at any time", " from the app."];
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<Seen>();
    let (partial_tx, partial_rx) = mpsc::unbounded_channel::<String>();
    let partial_rx = Arc::new(tokio::sync::Mutex::new(partial_rx));
    let base = serve(move |mut stream| {
        let seen_tx = seen_tx.clone();
        let partial_rx = partial_rx.clone();
        async move {
            let Some(seen) = read_request(&mut stream).await else {
                return;
            };
            let _ = seen_tx.send(seen);
            let stream = stream.get_mut();
            stream.write_all(SSE_HEAD.as_bytes()).await.expect("write");
            let mut so_far = String::new();
            let mut partial_rx = partial_rx.lock().await;
            for piece in pieces {
                stream
                    .write_all(chunk(piece).as_bytes())
                    .await
                    .expect("write");
                stream.flush().await.expect("flush");
                // The next piece only after the drafter has shown this one: the draft streams.
                so_far.push_str(piece);
                let shown = partial_rx.recv().await.expect("partial text");
                assert_eq!(shown, so_far);
            }
            stream
                .write_all(STREAM_END.as_bytes())
                .await
                .expect("write");
        }
    })
    .await;
    let mut cfg = config(&base, Duration::from_secs(30));
    cfg.api_key = Some("sk-test-123".into());
    let (proposal, partials) = draft_streaming(drafter(cfg), move |text| {
        let _ = partial_tx.send(text.to_string());
    })
    .await;

    assert_eq!(proposal.drafter, "openai", "{proposal:?}");
    assert_eq!(proposal.text, pieces.concat());
    assert_eq!(
        partials,
        [
            "You can pay",
            "You can pay early at any time",
            &pieces.concat()
        ]
    );
    assert_eq!(proposal.model.as_deref(), Some("test-model"));
    assert!(proposal.latency_ms.is_some());
    assert_eq!(proposal.language, Lang::En);
    assert!(!proposal.sources.is_empty(), "grounded in articles");
    assert_ne!(proposal.intent, "unknown");

    let seen = seen_rx.recv().await.expect("the server saw the request");
    assert_eq!(seen.request_line, "POST /v1/chat/completions HTTP/1.1");
    assert_eq!(seen.header("authorization"), Some("Bearer sk-test-123"));
    assert_eq!(seen.body["model"], "test-model");
    assert_eq!(seen.body["stream"], true);
    let messages = seen.body["messages"].as_array().expect("messages");
    let system = messages[0]["content"].as_str().expect("system prompt");
    assert!(system.contains("English"), "{system}");
    // Every article the draft names as a source is in the prompt, with its answer.
    let kb = KnowledgeBase::builtin();
    for id in &proposal.sources {
        let article = kb.article(id).expect("a real article");
        assert!(
            system.contains(article.answer(Lang::En).expect("in English")),
            "{id} not in {system}"
        );
    }
    let last = messages.last().expect("a last message");
    assert_eq!(
        (last["role"].as_str(), last["content"].as_str()),
        (Some("user"), Some(QUESTION))
    );
    assert!(messages.iter().any(|m| m["role"] == "assistant"));
}

#[tokio::test]
async fn a_plain_json_answer_is_accepted_and_no_key_means_no_authorization() {
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<Seen>();
    let base = serve(move |mut stream| {
        let seen_tx = seen_tx.clone();
        async move {
            let Some(seen) = read_request(&mut stream).await else {
                return;
            };
            let _ = seen_tx.send(seen);
            let body = json!({
                "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Yes, you can pay early."}, "finish_reason": "stop"}],
            });
            let reply = plain("200 OK", "application/json", &body.to_string());
            let _ = stream.get_mut().write_all(reply.as_bytes()).await;
        }
    })
    .await;
    let (proposal, _) = draft(drafter(config(&base, Duration::from_secs(30)))).await;
    assert_eq!(proposal.drafter, "openai", "{proposal:?}");
    assert_eq!(proposal.text, "Yes, you can pay early.");
    let seen = seen_rx.recv().await.expect("request");
    assert_eq!(seen.header("authorization"), None);
}

#[tokio::test]
async fn a_server_that_hangs_gets_the_fallback_at_the_deadline() {
    let base = serve(|mut stream| async move {
        let _request = read_request(&mut stream).await;
        // Never answer; hold the connection open.
        std::future::pending::<()>().await;
        drop(stream);
    })
    .await;
    let (proposal, partials) = draft(drafter(config(&base, Duration::from_secs(1)))).await;
    assert_fallback(&proposal);
    assert!(partials.is_empty());
}

#[tokio::test]
async fn a_stream_that_stalls_midway_gets_the_fallback_not_half_a_sentence() {
    let base = serve(|mut stream| async move {
        let _request = read_request(&mut stream).await;
        let s = stream.get_mut();
        let _ = s.write_all(SSE_HEAD.as_bytes()).await;
        let _ = s.write_all(chunk("You can pay ear").as_bytes()).await;
        let _ = s.flush().await;
        std::future::pending::<()>().await;
    })
    .await;
    let (proposal, partials) = draft(drafter(config(&base, Duration::from_secs(1)))).await;
    assert_eq!(partials, ["You can pay ear"]);
    assert_fallback(&proposal);
}

#[tokio::test]
async fn a_stream_that_breaks_off_midway_gets_the_fallback() {
    let base = serve(|mut stream| async move {
        let _request = read_request(&mut stream).await;
        let s = stream.get_mut();
        let _ = s.write_all(SSE_HEAD.as_bytes()).await;
        let _ = s.write_all(chunk("You can pay ear").as_bytes()).await;
        // Connection closed without finish_reason or [DONE].
        let _ = s.shutdown().await;
    })
    .await;
    let (proposal, partials) = draft(drafter(config(&base, Duration::from_secs(30)))).await;
    assert_eq!(partials, ["You can pay ear"]);
    assert_fallback(&proposal);
}

#[tokio::test]
async fn garbage_gets_the_fallback() {
    for garbage in [
        plain(
            "200 OK",
            "text/html",
            "<html><body>Welcome to nginx!</body></html>",
        ),
        plain(
            "200 OK",
            "application/json",
            r#"{"object":"list","data":[]}"#,
        ),
        plain(
            "200 OK",
            "application/json",
            r#"{"choices":[{"message":{"content":""}}]}"#,
        ),
        format!("{SSE_HEAD}data: this is not json\n\n"),
    ] {
        let base = serve(move |mut stream| {
            let garbage = garbage.clone();
            async move {
                let _request = read_request(&mut stream).await;
                let _ = stream.get_mut().write_all(garbage.as_bytes()).await;
            }
        })
        .await;
        let (proposal, _) = draft(drafter(config(&base, Duration::from_secs(30)))).await;
        assert_fallback(&proposal);
    }
}

#[tokio::test]
async fn an_http_error_gets_the_fallback() {
    for status in [
        "500 Internal Server Error",
        "404 Not Found",
        "401 Unauthorized",
    ] {
        let base = serve(move |mut stream| async move {
            let _request = read_request(&mut stream).await;
            let reply = plain(
                status,
                "application/json",
                r#"{"error":{"message":"model exploded"}}"#,
            );
            let _ = stream.get_mut().write_all(reply.as_bytes()).await;
        })
        .await;
        let (proposal, _) = draft(drafter(config(&base, Duration::from_secs(30)))).await;
        assert_fallback(&proposal);
    }
}

#[tokio::test]
async fn a_server_that_is_not_there_gets_the_fallback() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    // A long deadline: a refused connection must not wait for it.
    let (proposal, _) = draft(drafter(config(
        &format!("http://{addr}/v1"),
        Duration::from_secs(600),
    )))
    .await;
    assert_fallback(&proposal);
    assert!(
        proposal.latency_ms.is_some_and(|ms| ms < 600_000),
        "the fallback came before the deadline: {proposal:?}"
    );
}

#[tokio::test]
async fn no_more_than_the_cap_of_requests_reach_the_server_at_once() {
    const DRAFTS: usize = 6;
    const CAP: usize = 2;
    // The server holds every request until the test releases it, and counts how many it holds.
    let in_flight = Arc::new(Mutex::new((0usize, 0usize))); // (now, most)
    let (arrived_tx, mut arrived_rx) =
        mpsc::unbounded_channel::<tokio::sync::oneshot::Sender<()>>();
    let counter = in_flight.clone();
    let base = serve(move |mut stream| {
        let counter = counter.clone();
        let arrived_tx = arrived_tx.clone();
        async move {
            if read_request(&mut stream).await.is_none() {
                return;
            }
            {
                let mut c = counter.lock().expect("lock");
                c.0 += 1;
                c.1 = c.1.max(c.0);
            }
            let (release_tx, release_rx) = tokio::sync::oneshot::channel();
            let _ = arrived_tx.send(release_tx);
            let _ = release_rx.await;
            // Count it finished before the drafter can see the end (and send the next one).
            counter.lock().expect("lock").0 -= 1;
            let s = stream.get_mut();
            let _ = s.write_all(SSE_HEAD.as_bytes()).await;
            let _ = s.write_all(chunk("You can pay early.").as_bytes()).await;
            let _ = s.write_all(STREAM_END.as_bytes()).await;
        }
    })
    .await;
    let mut cfg = config(&base, Duration::from_secs(60));
    cfg.max_concurrent = CAP;
    let drafter = drafter(cfg);
    let drafts: Vec<_> = (0..DRAFTS)
        .map(|_| tokio::spawn(draft(drafter.clone())))
        .collect();

    // Release requests one at a time once the cap's worth is waiting at the server.
    let mut waiting = Vec::new();
    let mut released = 0;
    while released < DRAFTS {
        let want = CAP.min(DRAFTS - released);
        while waiting.len() < want {
            waiting.push(arrived_rx.recv().await.expect("a request arrives"));
        }
        let release: tokio::sync::oneshot::Sender<()> = waiting.remove(0);
        let _ = release.send(());
        released += 1;
    }
    for d in drafts {
        let (proposal, _) = d.await.expect("draft task");
        assert_eq!(proposal.drafter, "openai", "{proposal:?}");
        assert_eq!(proposal.text, "You can pay early.");
    }
    let most = in_flight.lock().expect("lock").1;
    assert_eq!(most, CAP, "the server saw {most} requests at once");
}

#[test]
fn the_api_key_never_shows_in_debug_output() {
    let mut cfg = config("http://127.0.0.1:1/v1", Duration::from_secs(5));
    cfg.api_key = Some("sk-very-secret-key".into());
    let shown = format!("{cfg:?} {cfg:#?}");
    assert!(!shown.contains("sk-very-secret-key"), "{shown}");
    assert!(shown.contains("test-model"));
}

/// `shiftdesk hub ARGS` must refuse to start: returns its stderr.
fn hub_refuses(args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_shiftdesk"));
    cmd.args(["hub", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(args)
        .env_remove("NOPE_NOT_SET")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    // A hub that wrongly starts would run forever: stop it and fail.
    let Ok(output) = rx.recv_timeout(Duration::from_secs(60)) else {
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
        panic!("hub {args:?} started instead of refusing the flags");
    };
    let output = output.expect("output");
    let status = output.status;
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!status.success(), "hub {args:?} started; stderr: {stderr}");
    stderr
}

#[test]
fn hub_with_drafter_openai_needs_a_url() {
    let err = hub_refuses(&["--drafter", "openai", "--model", "m"], &[]);
    assert!(err.contains("--openai-url"), "{err}");
}

#[test]
fn hub_refuses_a_bad_openai_url() {
    for (url, says) in [
        ("127.0.0.1:8080/v1", "http://"),
        ("http://127.0.0.1:8080", "/v1"),
    ] {
        let err = hub_refuses(
            &["--drafter", "openai", "--openai-url", url, "--model", "m"],
            &[],
        );
        assert!(
            err.contains("--openai-url") && err.contains(says),
            "{url}: {err}"
        );
    }
}

#[test]
fn hub_refuses_a_missing_model_or_api_key_variable() {
    let err = hub_refuses(
        &[
            "--drafter",
            "openai",
            "--openai-url",
            "http://127.0.0.1:8080/v1",
        ],
        &[],
    );
    assert!(err.contains("--model"), "{err}");
    let err = hub_refuses(
        &[
            "--drafter",
            "openai",
            "--openai-url",
            "http://127.0.0.1:8080/v1",
            "--model",
            "m",
            "--api-key-env",
            "NOPE_NOT_SET",
        ],
        &[],
    );
    assert!(
        err.contains("--api-key-env NOPE_NOT_SET") && err.contains("not set"),
        "{err}"
    );
}
