//! The real console in a pseudo-terminal while its hub is restarted: SIGTERM to the hub, the
//! status bar says "hub restarting" (not an error), and when the hub is back on the same address
//! the console reconnects by itself and works on.
#![cfg(unix)]

mod common;

use shiftdesk_testkit::HubProcess;

use common::{BIN, add_worker_cli, console_in_pty, hub_process};

#[test]
fn the_console_shows_the_hub_restarting_and_reconnects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("config dir");
    let token = add_worker_cli(dir.path(), "Rita Restart", "en", 2);
    let mut hub = hub_process(dir.path(), &[]);
    let addr = hub.url.trim_start_matches("ws://").to_string();

    let mut console = console_in_pty(&hub.url, &token, dir.path(), config.path(), (24, 100));
    let screen = console.screen();
    screen.wait_for("the console to connect", |s| {
        s.contains("Rita Restart") && s.contains("● connected")
    });
    // On shift: the status is the hub's, kept across its restart.
    console.send(b"1");
    screen.wait_for("available", |s| s.contains("● available"));

    rustix::process::kill_process(
        rustix::process::Pid::from_child(&hub.child),
        rustix::process::Signal::TERM,
    )
    .expect("SIGTERM");
    let restarting = screen.wait_for("the hub restarting", |s| s.contains("hub restarting"));
    println!("while the hub is down:\n{restarting}");
    let status = hub.child.wait().expect("hub reaped");
    assert!(status.success(), "hub exit status {status:?}");

    // The new hub, on the same address: the console comes back by itself.
    let _hub = HubProcess::start_on(BIN, dir.path(), &addr, &[]);
    let back = screen.wait_for("the console to reconnect", |s| {
        s.contains("● connected") && s.contains("Reconnected") && s.contains("● available")
    });
    println!("after the restart:\n{back}");
    drop(console);
}
