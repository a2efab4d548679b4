//! The real console in a pseudo-terminal while its hub is restarted: SIGTERM to the hub, the
//! status bar says "hub restarting" (not an error), and when the hub is back on the same address
//! the console reconnects by itself and works on.
#![cfg(unix)]

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use common::{BIN, add_worker_cli};
use shiftdesk_testkit::spawn_hub;

const ROWS: u16 = 24;
const COLS: u16 = 100;

/// `shiftdesk hub` listening on `listen`; its URL.
fn hub_on(dir: &Path, listen: &str) -> (Child, String) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("hub.log"))
        .expect("hub log");
    let mut command = Command::new(BIN);
    command
        .args(["hub", "--listen", listen, "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "shiftdesk=info")
        .stderr(log);
    spawn_hub(command)
}

/// The screen as a person sees it, fed by a thread reading the pty.
struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.lock().expect("lock").screen().contents()
    }

    /// Poll the screen (the console redraws on its own; there is nothing to await).
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.text();
            if pred(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn the_console_shows_the_hub_restarting_and_reconnects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("config dir");
    let token = add_worker_cli(dir.path(), "Rita Restart", "en", 2);
    let (mut hub, url) = hub_on(dir.path(), "127.0.0.1:0");
    let addr = url.trim_start_matches("ws://").to_string();

    let pty = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("pty");
    let mut cmd = CommandBuilder::new(BIN);
    cmd.args(["console", "--hub", &url, "--token", &token, "--no-bell"]);
    cmd.arg("--data-dir");
    cmd.arg(dir.path().join("console"));
    cmd.env("SHIFTDESK_CONFIG_DIR", config.path());
    cmd.env("TERM", "xterm-256color");
    let mut console = pty.slave.spawn_command(cmd).expect("console starts");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("reader");
    let mut keys = pty.master.take_writer().expect("writer");
    let parser = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
    {
        let parser = parser.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                parser.lock().expect("lock").process(&buf[..n]);
            }
        });
    }
    let screen = Screen { parser };
    screen.wait_for("the console to connect", |s| {
        s.contains("Rita Restart") && s.contains("● connected")
    });
    // On shift: the status is the hub's, kept across its restart.
    keys.write_all(b"1").expect("type");
    keys.flush().expect("flush");
    screen.wait_for("available", |s| s.contains("● available"));

    rustix::process::kill_process(
        rustix::process::Pid::from_child(&hub),
        rustix::process::Signal::TERM,
    )
    .expect("SIGTERM");
    let restarting = screen.wait_for("the hub restarting", |s| s.contains("hub restarting"));
    println!("while the hub is down:\n{restarting}");
    let status = hub.wait().expect("hub reaped");
    assert!(status.success(), "hub exit status {status:?}");

    // The new hub, on the same address: the console comes back by itself.
    let (mut hub, _) = hub_on(dir.path(), &addr);
    let back = screen.wait_for("the console to reconnect", |s| {
        s.contains("● connected") && s.contains("Reconnected") && s.contains("● available")
    });
    println!("after the restart:\n{back}");

    let _ = console.kill();
    let _ = console.wait();
    let _ = hub.kill();
    let _ = hub.wait();
}
