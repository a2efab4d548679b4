//! The real hub for tests: in-process on 127.0.0.1:0 ([`hub`]), or the `shiftdesk hub`
//! binary as a child process ([`HubProcess`]); and workers in its store.

use std::ffi::OsStr;
use std::path::Path;

use serde_json::Value;
use shiftdesk_hub::dispatch::DispatchConfig;
use shiftdesk_hub::server::{self, HubConfig, RunningHub};
use shiftdesk_hub::store::{Accounts, SqliteStore, hash_token, new_token};
use shiftdesk_protocol::{Lang, Role, WorkerInfo};

/// The hub's settings for a test: 127.0.0.1:0, the store in `dir`, default dispatch rules, no
/// TLS, the built-in drafter. Change what the test is about.
pub fn hub_config(dir: &Path) -> HubConfig {
    HubConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.to_path_buf(),
        store: Default::default(),
        dispatch: DispatchConfig::default(),
        tls: None,
        drafter: Default::default(),
        rules: Default::default(),
        metrics_token: None,
        kb: None,
        chat: Default::default(),
        rates: None,
    }
}

/// Start a hub in this process.
pub async fn start_hub(config: HubConfig) -> RunningHub {
    server::start(config).await.expect("hub starts")
}

/// A hub in this process with [`hub_config`].
pub async fn hub(dir: &Path) -> RunningHub {
    start_hub(hub_config(dir)).await
}

/// Add a worker to the store in `dir` and return their token.
pub fn add_worker(dir: &Path, id: &str, langs: &[Lang], role: Role, capacity: u32) -> String {
    let mut store = SqliteStore::open(dir).expect("store opens");
    let token = new_token();
    store
        .add_worker(
            &WorkerInfo {
                id: id.into(),
                name: format!("{}{}", id[..1].to_uppercase(), &id[1..]),
                role,
                languages: langs.to_vec(),
                skills: vec![],
                capacity,
            },
            &hash_token(&token),
            0,
        )
        .expect("worker added");
    token
}

/// Spawn a `shiftdesk hub` command (its flags, environment and stderr already set) and wait for
/// the line it prints when listening; the process and its URL. The caller owns the process.
pub fn spawn_hub(mut command: std::process::Command) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("hub starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("hub prints its URL");
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .expect("url at the end of the line")
        .to_string();
    assert!(url.starts_with("ws://127.0.0.1:"), "hub printed: {line}");
    (child, url)
}

/// `GET base + path` on a hub (`base` is its `ws://HOST:PORT`): the status and the body, or
/// `None` when nothing answers.
pub fn http_get(base: &str, path: &str) -> Option<(u16, String)> {
    let url = format!("{}{path}", base.replacen("ws://", "http://", 1));
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(5)))
        .build()
        .new_agent();
    let mut response = agent.get(&url).call().ok()?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().ok()?;
    Some((status, body))
}

/// The role `/healthz` gives: `writer` (it runs the dispatch core) or `gateway` (it forwards
/// to the one that does); `None` when it does not answer.
pub fn hub_role(base: &str) -> Option<String> {
    let (status, body) = http_get(base, "/healthz")?;
    let health: Value = serde_json::from_str(&body).ok()?;
    (status == 200).then(|| health["role"].as_str().map(str::to_string))?
}

/// Wait until the hub at `base` says it has `role` (see [`hub_role`]), `limit` at most; the
/// role it last gave when it does not (`Err`). Blocks: from async code, on `spawn_blocking`.
pub fn wait_for_role(
    base: &str,
    role: &str,
    limit: std::time::Duration,
) -> Result<(), Option<String>> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let now = hub_role(base);
        if now.as_deref() == Some(role) {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(now);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A `shiftdesk hub` process on 127.0.0.1:0; killed with SIGKILL when dropped.
pub struct HubProcess {
    pub child: std::process::Child,
    pub url: String,
}

impl HubProcess {
    /// Start the `shiftdesk` binary at `bin` as a hub on `dir` with extra flags; stderr goes
    /// to `dir/hub.log`. (`bin` is `env!("CARGO_BIN_EXE_shiftdesk")` in the top-level tests.)
    pub fn start(bin: &str, dir: &Path, extra: &[&str]) -> HubProcess {
        HubProcess::start_on(bin, dir, "127.0.0.1:0", extra)
    }

    /// [`HubProcess::start`] listening on `listen` (to bring a hub back on the address it had).
    pub fn start_on(bin: &str, dir: &Path, listen: &str, extra: &[&str]) -> HubProcess {
        HubProcess::launch(
            bin,
            dir,
            listen,
            &["--data-dir".as_ref(), dir.as_os_str()],
            extra,
        )
    }

    /// Start the binary as a hub on another store (`--store URL`); stderr goes to
    /// `log_dir/hub.log`.
    pub fn start_with_store(bin: &str, log_dir: &Path, store: &str, extra: &[&str]) -> HubProcess {
        HubProcess::launch(
            bin,
            log_dir,
            "127.0.0.1:0",
            &["--store".as_ref(), store.as_ref()],
            extra,
        )
    }

    fn launch(
        bin: &str,
        log_dir: &Path,
        listen: &str,
        store: &[&OsStr],
        extra: &[&str],
    ) -> HubProcess {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_dir.join("hub.log"))
            .expect("hub log");
        let mut command = std::process::Command::new(bin);
        command
            .args(["hub", "--listen", listen])
            .args(store)
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("SHIFTDESK_TEST_HUB_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stderr(log);
        let (child, url) = spawn_hub(command);
        HubProcess { child, url }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and wait until it is gone.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `shiftdesk admin add-worker` with the given languages and capacity; returns the token.
pub fn add_worker_cli(bin: &str, dir: &Path, name: &str, langs: &str, capacity: u32) -> String {
    add_worker_to(bin, &Store::Dir(dir), name, langs, capacity)
}

/// `shiftdesk export KIND` as parsed JSON lines.
pub fn export(bin: &str, dir: &Path, kind: &str) -> Vec<Value> {
    export_from(bin, &Store::Dir(dir), kind)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// The store a `shiftdesk` command names: `--data-dir DIR` or `--store URL`.
pub enum Store<'a> {
    Dir(&'a Path),
    Url(&'a str),
}

impl Store<'_> {
    fn args(&self) -> [&OsStr; 2] {
        match self {
            Store::Dir(dir) => ["--data-dir".as_ref(), dir.as_os_str()],
            Store::Url(url) => ["--store".as_ref(), url.as_ref()],
        }
    }
}

/// [`add_worker_cli`] on either store.
pub fn add_worker_to(bin: &str, store: &Store, name: &str, langs: &str, capacity: u32) -> String {
    let capacity = capacity.to_string();
    let token = run(
        bin,
        store,
        &["admin", "add-worker"],
        &["--name", name, "--langs", langs, "--capacity", &capacity],
    )
    .trim()
    .to_string();
    assert!(token.starts_with("sd_"), "token printed: {token}");
    token
}

/// `shiftdesk export KIND` from either store, exactly as printed.
pub fn export_from(bin: &str, store: &Store, kind: &str) -> String {
    run(bin, store, &["export", kind], &[])
}

/// `shiftdesk COMMAND --data-dir DIR ARGS` (or `--store URL`), which must succeed; its stdout.
pub fn run(bin: &str, store: &Store, command: &[&str], args: &[&str]) -> String {
    let out = std::process::Command::new(bin)
        .args(command)
        .args(store.args())
        .args(args)
        .output()
        .expect("shiftdesk runs");
    assert!(
        out.status.success(),
        "shiftdesk {command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}
