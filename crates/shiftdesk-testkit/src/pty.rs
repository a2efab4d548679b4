//! A program in a pseudo-terminal, read as a person would see it: [`PtyApp`] spawns it (the
//! real `shiftdesk` binary, in the top-level tests), types keys and waits for it to exit;
//! [`Screen`] is what a vt100 terminal shows, fed by a thread reading the pty, and every wait
//! polls it up to a deadline (the console redraws on its own: there is nothing to await). A wait
//! that times out panics with the screen as it was. [`key`] finds the bytes for an action in
//! keymaps/default.toml, as an outside tool would.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

/// How long [`Screen::wait_for`] waits unless [`PtyCommand::timeout`] says otherwise.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(20);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(20);

/// What to run in a pseudo-terminal, and how large the terminal is; [`PtyCommand::spawn`] starts
/// it. `TERM` is `xterm-256color`.
pub struct PtyCommand {
    command: CommandBuilder,
    rows: u16,
    cols: u16,
    timeout: Duration,
}

impl PtyCommand {
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// The terminal's size (80x24 unless set).
    pub fn size(mut self, rows: u16, cols: u16) -> Self {
        self.rows = rows;
        self.cols = cols;
        self
    }

    /// How long [`Screen::wait_for`] waits before failing the test ([`DEFAULT_WAIT`] unless set).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn spawn(self) -> PtyApp {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: self.rows,
                cols: self.cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("pty");
        let program = self.command.get_argv()[0].to_string_lossy().into_owned();
        let child = pty
            .slave
            .spawn_command(self.command)
            .unwrap_or_else(|e| panic!("{program} starts in a pty: {e}"));
        // Only the child holds the slave: the reader sees the end when the child exits.
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        let keys = pty.master.take_writer().expect("pty writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(self.rows, self.cols, 0)));
        let output = Arc::new(Mutex::new(Vec::new()));
        {
            let parser = parser.clone();
            let output = output.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = reader.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    parser.lock().expect("lock").process(&buf[..n]);
                    output.lock().expect("lock").extend_from_slice(&buf[..n]);
                }
            });
        }
        PtyApp {
            child,
            keys,
            _master: pty.master,
            screen: Screen {
                parser,
                timeout: self.timeout,
            },
            output,
        }
    }
}

/// A program running in a pseudo-terminal; killed (and reaped) when dropped if still running.
pub struct PtyApp {
    child: Box<dyn Child + Send + Sync>,
    keys: Box<dyn Write + Send>,
    /// Kept open while the program runs.
    _master: Box<dyn MasterPty + Send>,
    screen: Screen,
    output: Arc<Mutex<Vec<u8>>>,
}

impl PtyApp {
    /// The program at `bin`, to be given its arguments and spawned.
    pub fn command(bin: &str) -> PtyCommand {
        let mut command = CommandBuilder::new(bin);
        command.env("TERM", "xterm-256color");
        PtyCommand {
            command,
            rows: 24,
            cols: 80,
            timeout: DEFAULT_WAIT,
        }
    }

    /// The screen (a handle that stays valid while keys are typed).
    pub fn screen(&self) -> Screen {
        self.screen.clone()
    }

    /// Type `bytes` (see [`key`] for an action's).
    pub fn send(&mut self, bytes: &[u8]) {
        self.keys.write_all(bytes).expect("type into the pty");
        self.keys.flush().expect("flush the pty");
    }

    /// How the program ended, if it has.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("wait for the program")
    }

    /// Wait up to `within` for the program to end; its status.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        self.wait_until(within, "the program to exit", PtyApp::try_wait)
    }

    /// Call `step` until it returns something, up to `within` (for waits that also type, or
    /// look at more than the screen); on timeout the test fails with the screen.
    pub fn wait_until<T>(
        &mut self,
        within: Duration,
        what: &str,
        mut step: impl FnMut(&mut PtyApp) -> Option<T>,
    ) -> T {
        poll(within, || step(self)).unwrap_or_else(|| {
            panic!(
                "timed out waiting for {what}; screen:\n{}",
                self.screen.text()
            )
        })
    }

    /// Everything the program wrote to the terminal, including what it printed after leaving
    /// the alternate screen.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("lock")).into_owned()
    }

    /// Kill the program if it still runs, and reap it.
    fn kill(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for PtyApp {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The terminal's screen as a person sees it; clones share it.
#[derive(Clone)]
pub struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    timeout: Duration,
}

impl Screen {
    /// The text on screen, row by row.
    pub fn text(&self) -> String {
        self.parser.lock().expect("lock").screen().contents()
    }

    /// Wait until `pred` holds for the screen; that screen. Fails the test with the screen
    /// after the app's timeout.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_for_within(self.timeout, what, pred)
    }

    /// [`Screen::wait_for`] with its own timeout.
    pub fn wait_for_within(
        &self,
        within: Duration,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        self.poll(within, |s| pred(s).then(|| s.to_string()))
            .unwrap_or_else(|| panic!("timed out waiting for {what}; screen:\n{}", self.text()))
    }

    /// Look at the screen until `found` returns something, up to `within`; `None` then (for
    /// waits that may fairly come to nothing).
    pub fn poll<T>(&self, within: Duration, mut found: impl FnMut(&str) -> Option<T>) -> Option<T> {
        poll(within, || found(&self.text()))
    }
}

/// Call `step` every [`POLL`] until it returns something or `within` has passed (it is called
/// once more at the deadline).
fn poll<T>(within: Duration, mut step: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = step() {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// The key bound to `action` in `[context]` of keymaps/default.toml, as the bytes a terminal
/// sends. Where several keys are bound, the simplest to type: a character, then a ctrl key,
/// then enter, tab or esc, then arrows and pages.
pub fn key(context: &str, action: &str) -> Vec<u8> {
    let mut typeable: Vec<(u8, Vec<u8>)> = bindings(context)
        .into_iter()
        .filter(|(_, bound)| bound == action)
        .filter_map(|(key, _)| typed(&key))
        .collect();
    typeable.sort();
    typeable
        .into_iter()
        .next()
        .map(|(_, bytes)| bytes)
        .unwrap_or_else(|| panic!("no key a test can type for {action} in [{context}]"))
}

/// The bytes for `key`, which keymaps/default.toml must bind to `action` in `[context]` (to
/// type a particular one of an action's keys).
pub fn bound_key(context: &str, key: &str, action: &str) -> Vec<u8> {
    let bound = bindings(context).into_iter().find(|(k, _)| k == key);
    assert!(
        bound.as_ref().is_some_and(|(_, a)| a == action),
        "keymaps/default.toml binds {key} in [{context}] to {bound:?}, not {action}"
    );
    typed(key)
        .map(|(_, bytes)| bytes)
        .unwrap_or_else(|| panic!("a test cannot type {key}"))
}

/// (key, action) for every key in `[context]` of the default keymap.
fn bindings(context: &str) -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../keymaps/default.toml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("{path}: {e}"));
    let keys = table
        .get(context)
        .and_then(|t| t.as_table())
        .unwrap_or_else(|| panic!("no [{context}] in {path}"));
    keys.iter()
        .filter_map(|(key, value)| {
            let action = value
                .as_str()
                .or_else(|| value.get("action").and_then(|a| a.as_str()))?;
            Some((key.clone(), action.to_string()))
        })
        .collect()
}

/// The bytes a terminal sends for a key written as in the keymap, ranked by how simple it is
/// to type; `None` for keys tests do not type.
fn typed(key: &str) -> Option<(u8, Vec<u8>)> {
    Some(match key {
        k if k.chars().count() == 1 => (0, k.as_bytes().to_vec()),
        k if k.starts_with("ctrl-") && k.len() == 6 => {
            (1, vec![k.as_bytes()[5].to_ascii_lowercase() - b'a' + 1])
        }
        "enter" => (2, b"\r".to_vec()),
        "tab" => (2, b"\t".to_vec()),
        "esc" => (2, b"\x1b".to_vec()),
        "down" => (3, b"\x1b[B".to_vec()),
        "up" => (3, b"\x1b[A".to_vec()),
        "pagedown" => (3, b"\x1b[6~".to_vec()),
        "pageup" => (3, b"\x1b[5~".to_vec()),
        _ => return None,
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn shell(script: &str) -> PtyApp {
        PtyApp::command("/bin/sh").args(["-c", script]).spawn()
    }

    #[test]
    fn the_screen_shows_what_the_program_writes_and_keys_reach_it() {
        let mut app = shell("printf 'ready\\n'; read line; printf 'got %s\\n' \"$line\"");
        let screen = app.screen();
        screen.wait_for("the prompt", |s| s.contains("ready"));
        app.send(b"abc\r");
        screen.wait_for("the echo", |s| s.contains("got abc"));
        let status = app.wait_exit(DEFAULT_WAIT);
        assert!(status.success(), "{status:?}");
        assert!(app.output().contains("got abc"), "{}", app.output());
    }

    #[test]
    fn a_wait_that_times_out_shows_the_screen() {
        let app = shell("printf 'still here\\n'; sleep 30");
        let screen = app.screen();
        screen.wait_for("the text", |s| s.contains("still here"));
        let failed = std::panic::catch_unwind(|| {
            screen.wait_for_within(Duration::from_millis(100), "a miracle", |_| false)
        })
        .expect_err("the wait fails");
        let message = failed.downcast_ref::<String>().expect("a message");
        assert!(
            message.starts_with("timed out waiting for a miracle; screen:\n")
                && message.contains("still here"),
            "{message}"
        );
    }

    #[test]
    fn keys_come_from_the_default_keymap() {
        assert_eq!(key("global", "quit"), b"q");
        assert_eq!(key("draft", "draft.accept"), b"\r");
        assert_eq!(key("wallboard", "picker.down"), b"j");
        assert_eq!(bound_key("global", "ctrl-c", "quit"), [3]);
    }
}
