//! What the top-level tests need the `shiftdesk` binary for. Everything else (the JSON client,
//! the in-process hub, workers in the store) is in `shiftdesk-testkit`.
#![allow(dead_code)]

use std::path::Path;

use serde_json::Value;
use shiftdesk_testkit::{HubProcess, PtyApp};

/// The real `shiftdesk` binary, for tests that drive it as a user would.
pub const BIN: &str = env!("CARGO_BIN_EXE_shiftdesk");

/// `shiftdesk hub` on 127.0.0.1:0 with its store in `dir`; killed when dropped.
pub fn hub_process(dir: &Path, extra: &[&str]) -> HubProcess {
    HubProcess::start(BIN, dir, extra)
}

/// `shiftdesk admin add-worker`; returns the token.
pub fn add_worker_cli(dir: &Path, name: &str, langs: &str, capacity: u32) -> String {
    shiftdesk_testkit::add_worker_cli(BIN, dir, name, langs, capacity)
}

/// `shiftdesk export KIND` as parsed JSON lines.
pub fn export(dir: &Path, kind: &str) -> Vec<Value> {
    shiftdesk_testkit::export(BIN, dir, kind)
}

/// `shiftdesk console` in a `rows`x`cols` pseudo-terminal, logged in with `token` to the hub at
/// `url`; its data in `dir/console`, its config directory `config`.
pub fn console_in_pty(
    url: &str,
    token: &str,
    dir: &Path,
    config: &Path,
    (rows, cols): (u16, u16),
) -> PtyApp {
    PtyApp::command(BIN)
        .args(["console", "--hub", url, "--token", token, "--no-bell"])
        .arg("--data-dir")
        .arg(dir.join("console"))
        .env("SHIFTDESK_CONFIG_DIR", config)
        .size(rows, cols)
        .spawn()
}
