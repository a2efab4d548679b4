//! Planned shifts in the real demo, in a pseudo-terminal: book the slot that is on now, see the
//! reminder that it has started, go available, and be moved to draining (then offline) when
//! it ends. The demo runs with one-minute slots so the end comes within the test.

mod common;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use common::BIN;

const ROWS: u16 = 30;
const COLS: u16 = 100;

fn wait_for(parser: &Mutex<vt100::Parser>, what: &str, secs: u64, pred: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let text = parser.lock().expect("lock").screen().contents();
        if pred(&text) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; screen:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_booked_slot_reminds_at_its_start_and_drains_at_its_end() {
    let data = tempfile::tempdir().expect("data dir");
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("pty");
    let mut cmd = CommandBuilder::new(BIN);
    // Customers arrive rarely: the worker should stay free, so the drain ends in offline.
    cmd.args([
        "demo",
        "--no-bell",
        "--slot-minutes",
        "1",
        "--arrivals",
        "600-600",
    ]);
    cmd.arg("--data-dir");
    cmd.arg(data.path());
    cmd.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(cmd).expect("demo starts");
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
    let mut press = |k: &[u8]| {
        keys.write_all(k).expect("type");
        keys.flush().expect("flush");
    };
    wait_for(&parser, "the demo console", 30, |s| {
        s.contains("Alex (demo)") && s.contains("connected")
    });
    // schedule.open, then slot.book on the first slot: the one on now (default keymap).
    press(b"P");
    wait_for(&parser, "the week of slots", 20, |s| {
        s.contains("Planned shifts")
    });
    press(b"b");
    wait_for(&parser, "the booking and its reminder", 20, |s| {
        s.contains("■ yours") && s.contains("Your booked slot starts now")
    });
    press(b"\x1b");
    std::thread::sleep(Duration::from_millis(300));
    press(b"1");
    wait_for(&parser, "available", 20, |s| s.contains("● available"));
    // At the end of the slot (within a minute) the hub drains the worker; with nothing open
    // that means offline, and the summary.
    wait_for(&parser, "the drain at the end of the slot", 90, |s| {
        s.contains("● offline") && s.contains("Shift summary")
    });
    press(b"\x1b");
    std::thread::sleep(Duration::from_millis(300));
    press(b"E");
    wait_for(&parser, "the explanation", 20, |s| {
        s.contains("drained at slot end") && s.contains("Your booked slot ended")
    });
    press(b"\x1b");
    // Apart, so that the terminal does not read them as alt-q.
    std::thread::sleep(Duration::from_millis(300));
    press(b"q");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "demo exit status {status:?}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the demo did not exit");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
