//! Planned shifts in the real demo, in a pseudo-terminal: book the slot that is on now, see the
//! reminder that it has started, go available, and be moved to draining (then offline) when
//! it ends. The demo runs with one-minute slots so the end comes within the test.

mod common;

use std::time::Duration;

use shiftdesk_testkit::PtyApp;

use common::BIN;

#[test]
fn a_booked_slot_reminds_at_its_start_and_drains_at_its_end() {
    let data = tempfile::tempdir().expect("data dir");
    // Customers arrive rarely: the worker should stay free, so the drain ends in offline.
    let mut demo = PtyApp::command(BIN)
        .args([
            "demo",
            "--no-bell",
            "--slot-minutes",
            "1",
            "--arrivals",
            "600-600",
        ])
        .arg("--data-dir")
        .arg(data.path())
        .size(30, 100)
        .spawn();
    let screen = demo.screen();
    screen.wait_for_within(Duration::from_secs(30), "the demo console", |s| {
        s.contains("Alex (demo)") && s.contains("connected")
    });
    // schedule.open, then slot.book on the first slot: the one on now (default keymap).
    demo.send(b"P");
    screen.wait_for("the week of slots", |s| s.contains("Planned shifts"));
    demo.send(b"b");
    screen.wait_for("the booking and its reminder", |s| {
        s.contains("■ yours") && s.contains("Your booked slot starts now")
    });
    demo.send(b"\x1b");
    std::thread::sleep(Duration::from_millis(300));
    demo.send(b"1");
    screen.wait_for("available", |s| s.contains("● available"));
    // At the end of the slot (within a minute) the hub drains the worker; with nothing open
    // that means offline, and the summary.
    screen.wait_for_within(
        Duration::from_secs(90),
        "the drain at the end of the slot",
        |s| s.contains("● offline") && s.contains("Shift summary"),
    );
    demo.send(b"\x1b");
    std::thread::sleep(Duration::from_millis(300));
    demo.send(b"E");
    screen.wait_for("the explanation", |s| {
        s.contains("drained at slot end") && s.contains("Your booked slot ended")
    });
    demo.send(b"\x1b");
    // Apart, so that the terminal does not read them as alt-q.
    std::thread::sleep(Duration::from_millis(300));
    demo.send(b"q");
    let status = demo.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "demo exit status {status:?}");
}
