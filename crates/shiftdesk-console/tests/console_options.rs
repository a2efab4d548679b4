//! How the console resolves its options: flags over `console.toml` over defaults, the remembered
//! login, the user's keymap, and errors that name what is wrong.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use shiftdesk_console::config::{Dirs, Login};
use shiftdesk_console::keymap::{Action, Context, KeyPress, Lookup};
use shiftdesk_console::{ConsoleArgs, ResolvedOptions};

fn dirs() -> (tempfile::TempDir, Dirs) {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = Dirs {
        config: tmp.path().join("config"),
        data: tmp.path().join("data"),
    };
    std::fs::create_dir_all(&dirs.config).unwrap();
    (tmp, dirs)
}

fn args(hub: Option<&str>, token: Option<&str>) -> ConsoleArgs {
    ConsoleArgs {
        hub: hub.map(str::to_string),
        token: token.map(str::to_string),
        ..ConsoleArgs::default()
    }
}

fn err(args: ConsoleArgs, dirs: &Dirs) -> String {
    format!(
        "{:#}",
        ResolvedOptions::from_args_in(args, dirs).unwrap_err()
    )
}

#[test]
fn flags_are_enough_and_defaults_apply() {
    let (_tmp, dirs) = dirs();
    let opts = ResolvedOptions::from_args_in(args(Some("ws://127.0.0.1:7878"), Some("tok")), &dirs)
        .unwrap();
    assert_eq!(opts.hub, "ws://127.0.0.1:7878");
    assert_eq!(opts.token, "tok");
    assert_eq!(opts.data_dir.as_deref(), Some(dirs.data.as_path()));
    assert_eq!(opts.remember_in.as_deref(), Some(dirs.config.as_path()));
    assert!(opts.app.bell);
    assert!(!opts.app.notify && !opts.app.notify_text);
    assert_eq!(opts.keymap.source, "default");
}

#[test]
fn missing_hub_or_token_says_what_to_pass() {
    let (_tmp, dirs) = dirs();
    assert!(err(args(None, Some("t")), &dirs).contains("--hub"));
    assert!(err(args(Some("ws://h:1"), None), &dirs).contains("--token"));
    assert!(err(args(Some("ftp://h"), Some("t")), &dirs).contains("ws://"));
    assert!(err(args(Some("ws://h:1"), Some("  ")), &dirs).contains("empty"));
}

#[test]
fn the_remembered_login_is_used_for_its_own_hub_only() {
    let (_tmp, dirs) = dirs();
    Login {
        hub: Some("ws://127.0.0.1:7878".into()),
        token: Some("saved".into()),
    }
    .save(&dirs.config.join("login.toml"))
    .unwrap();
    let opts = ResolvedOptions::from_args_in(args(None, None), &dirs).unwrap();
    assert_eq!(
        (opts.hub.as_str(), opts.token.as_str()),
        ("ws://127.0.0.1:7878", "saved")
    );
    // Another hub does not get this hub's token.
    let e = err(args(Some("ws://other:1"), None), &dirs);
    assert!(e.contains("no token for ws://other:1"), "{e}");
    // A token flag wins.
    let opts = ResolvedOptions::from_args_in(args(None, Some("new")), &dirs).unwrap();
    assert_eq!(opts.token, "new");
}

#[test]
fn settings_file_and_flags() {
    let (_tmp, dirs) = dirs();
    std::fs::write(
        dirs.config.join("console.toml"),
        "keymap = \"vim\"\nbell = false\nnotify = true\n",
    )
    .unwrap();
    let opts = ResolvedOptions::from_args_in(args(Some("ws://h:1"), Some("t")), &dirs).unwrap();
    assert_eq!(opts.keymap.source, "vim");
    assert!(!opts.app.bell);
    assert!(opts.app.notify && !opts.app.notify_text);

    let mut a = args(Some("ws://h:1"), Some("t"));
    a.keymap = Some("emacs".into());
    a.notify_text = true;
    let opts = ResolvedOptions::from_args_in(a, &dirs).unwrap();
    assert_eq!(opts.keymap.source, "emacs");
    assert!(opts.app.notify && opts.app.notify_text);

    std::fs::write(dirs.config.join("console.toml"), "bel = false\n").unwrap();
    let e = err(args(Some("ws://h:1"), Some("t")), &dirs);
    assert!(e.contains("console.toml:1:"), "{e}");
}

#[test]
fn no_bell_flag() {
    let (_tmp, dirs) = dirs();
    let mut a = args(Some("ws://h:1"), Some("t"));
    a.no_bell = true;
    assert!(!ResolvedOptions::from_args_in(a, &dirs).unwrap().app.bell);
}

#[test]
fn the_user_keymap_is_layered_and_its_errors_stop_the_console() {
    let (_tmp, dirs) = dirs();
    let path = dirs.config.join("keymap.toml");
    std::fs::write(&path, "[offer]\n\"y\" = \"offer.accept\"\n").unwrap();
    let opts = ResolvedOptions::from_args_in(args(Some("ws://h:1"), Some("t")), &dirs).unwrap();
    let ctx = [Context::Offer, Context::Global];
    assert_eq!(
        opts.keymap.lookup(&ctx, &[KeyPress::char('y')]),
        Lookup::Action(Action::OfferAccept)
    );
    assert_eq!(
        opts.keymap.lookup(&ctx, &[KeyPress::char('a')]),
        Lookup::Action(Action::OfferAccept)
    );

    std::fs::write(&path, "[offer]\n\n\"y\" = \"offer.acept\"\n").unwrap();
    let e = err(args(Some("ws://h:1"), Some("t")), &dirs);
    assert!(e.contains("keymap.toml:3:"), "{e}");
    assert!(e.contains("offer.accept"), "{e}");
}

#[test]
fn a_missing_ca_certificate_is_named() {
    let (_tmp, dirs) = dirs();
    let mut a = args(Some("wss://h"), Some("t"));
    a.ca_cert = Some("/nonexistent/ca.pem".into());
    assert!(err(a, &dirs).contains("/nonexistent/ca.pem"));
}
