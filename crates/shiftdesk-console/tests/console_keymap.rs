//! Keymap loading: the built-in keymaps, user files layered on top, and errors that name the
//! file and line.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use shiftdesk_console::keymap::{Action, Context, KeyPress, KeySeq, Keymap, Lookup};

/// Action names other tools rely on: each must be bound in keymaps/default.toml.
const CONTRACT: &[&str] = &[
    "quit",
    "help",
    "shift.available",
    "shift.break",
    "shift.drain",
    "shift.offline",
    "offer.accept",
    "offer.decline",
    "conversation.next",
    "conversation.prev",
    "draft.accept",
    "draft.edit",
    "draft.reject",
    "draft.regenerate",
    "reply.compose",
    "reply.send",
    "note.compose",
    "conversation.resolve",
    "conversation.transfer",
];

const SUPERVISOR: &[&str] = &[
    "supervisor.shadow",
    "supervisor.whisper",
    "supervisor.takeover",
    "supervisor.handback",
    "supervisor.wallboard",
];

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn load_err(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "mine.toml", text);
    let e = Keymap::load(path.to_str().unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("mine.toml:"), "error must name the file: {e}");
    e
}

#[test]
fn builtin_keymaps_load() {
    for name in ["default", "vim", "emacs"] {
        let keymap = Keymap::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(keymap.all().count() > 20, "{name} binds too little");
    }
}

#[test]
fn default_keymap_binds_every_contract_action_and_supervisor_ones() {
    // Read the file the way an outside tool would: plain TOML, values are names or tables.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../keymaps/default.toml"
    ))
    .unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let mut names = BTreeSet::new();
    for (_, table) in doc {
        for (_, value) in table.as_table().unwrap() {
            let name = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Table(t) => t["action"].as_str().unwrap().to_string(),
                other => panic!("unexpected value {other:?}"),
            };
            names.insert(name);
        }
    }
    for name in CONTRACT.iter().chain(SUPERVISOR) {
        assert!(
            names.contains(*name),
            "`{name}` is not bound in default.toml"
        );
        assert!(
            Action::from_name(name).is_some(),
            "`{name}` is not an action"
        );
    }
}

#[test]
fn every_builtin_keymap_binds_the_contract_actions() {
    for name in ["default", "vim", "emacs"] {
        let keymap = Keymap::load(name).unwrap();
        let bound: BTreeSet<&str> = keymap.all().map(|(_, _, b)| b.action.name()).collect();
        for action in CONTRACT {
            assert!(bound.contains(action), "{name} does not bind `{action}`");
        }
    }
}

/// Contexts that are active together in the console (see `App::contexts`).
fn stacks() -> Vec<Vec<Context>> {
    use Context::*;
    vec![
        vec![Offer, Draft, Conversation, Global],
        vec![Offer, Wallboard, Global],
        vec![Editor, Global],
        vec![Prompt, Global],
        vec![Picker, Global],
        vec![Help, Global],
        vec![Summary, Global],
    ]
}

#[test]
fn no_key_means_two_things_at_once_in_builtin_keymaps() {
    for name in ["default", "vim", "emacs"] {
        let keymap = Keymap::load(name).unwrap();
        for stack in stacks() {
            let mut seen: BTreeMap<String, (Context, Action)> = BTreeMap::new();
            for context in &stack {
                for (keys, binding) in keymap.bindings(*context) {
                    let key = keys.to_string();
                    if let Some((other, action)) = seen.get(&key) {
                        assert_eq!(
                            *action,
                            binding.action,
                            "{name}: `{key}` is {} in [{}] but {} in [{}]",
                            action.name(),
                            other.name(),
                            binding.action.name(),
                            context.name()
                        );
                    }
                    seen.insert(key, (*context, binding.action));
                }
            }
        }
    }
}

#[test]
fn default_keys_are_the_documented_simple_ones() {
    let keymap = Keymap::load("default").unwrap();
    let normal = [
        Context::Offer,
        Context::Draft,
        Context::Conversation,
        Context::Global,
    ];
    let expect = [
        ("1", Action::ShiftAvailable),
        ("2", Action::ShiftBreak),
        ("3", Action::ShiftDrain),
        ("0", Action::ShiftOffline),
        ("a", Action::OfferAccept),
        ("d", Action::OfferDecline),
        ("tab", Action::ConversationNext),
        ("shift-tab", Action::ConversationPrev),
        ("enter", Action::DraftAccept),
        ("e", Action::DraftEdit),
        ("x", Action::DraftReject),
        ("g", Action::DraftRegenerate),
        ("r", Action::ReplyCompose),
        ("n", Action::NoteCompose),
        ("R", Action::ConversationResolve),
        ("T", Action::ConversationTransfer),
        ("?", Action::Help),
        ("q", Action::Quit),
    ];
    for (key, action) in expect {
        let keys = KeySeq::parse(key).unwrap();
        assert_eq!(
            keymap.lookup(&normal, &keys.0),
            Lookup::Action(action),
            "{key}"
        );
    }
    let send = KeySeq::parse("ctrl-s").unwrap();
    assert_eq!(
        keymap.lookup(&[Context::Editor, Context::Global], &send.0),
        Lookup::Action(Action::ReplySend)
    );
}

#[test]
fn user_file_overrides_key_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "keymap.toml",
        "[offer]\n\"y\" = { action = \"offer.accept\", desc = \"yes please\" }\n\"a\" = \"none\"\n\n[global]\n\"Q\" = \"quit\"\n",
    );
    let mut keymap = Keymap::load("default").unwrap();
    keymap.overlay_file(&path).unwrap();
    let ctx = [Context::Offer, Context::Global];
    assert_eq!(
        keymap.lookup(&ctx, &[KeyPress::char('y')]),
        Lookup::Action(Action::OfferAccept)
    );
    assert_eq!(
        keymap.lookup(&ctx, &[KeyPress::char('a')]),
        Lookup::None,
        "unbound with none"
    );
    assert_eq!(
        keymap.lookup(&ctx, &[KeyPress::char('Q')]),
        Lookup::Action(Action::Quit)
    );
    // Untouched keys stay.
    assert_eq!(
        keymap.lookup(&ctx, &[KeyPress::char('d')]),
        Lookup::Action(Action::OfferDecline)
    );
    assert_eq!(
        keymap.lookup(&ctx, &[KeyPress::char('q')]),
        Lookup::Action(Action::Quit)
    );
    let desc = keymap
        .bindings(Context::Offer)
        .into_iter()
        .find(|(k, _)| k.to_string() == "y")
        .map(|(_, b)| b.desc.clone());
    assert_eq!(desc.as_deref(), Some("yes please"));
    assert!(keymap.source.contains("keymap.toml"), "{}", keymap.source);
}

#[test]
fn a_path_keymap_is_layered_over_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "mine.toml", "[draft]\n\"s\" = \"draft.accept\"\n");
    let keymap = Keymap::load(path.to_str().unwrap()).unwrap();
    let ctx = [Context::Draft, Context::Conversation, Context::Global];
    assert_eq!(
        keymap.lookup(&ctx, &[KeyPress::char('s')]),
        Lookup::Action(Action::DraftAccept)
    );
    assert_eq!(
        keymap.lookup(&ctx, &[KeyPress::char('q')]),
        Lookup::Action(Action::Quit)
    );
}

#[test]
fn sequences_wait_for_the_next_key() {
    let keymap = Keymap::load("vim").unwrap();
    let ctx = [Context::Draft, Context::Conversation, Context::Global];
    let g = KeyPress::char('g');
    let r = KeyPress::char('r');
    assert_eq!(keymap.lookup(&ctx, &[g]), Lookup::Prefix);
    assert_eq!(
        keymap.lookup(&ctx, &[g, r]),
        Lookup::Action(Action::DraftRegenerate)
    );
    assert_eq!(keymap.lookup(&ctx, &[g, g]), Lookup::None);
}

#[test]
fn unknown_action_names_the_line() {
    let e = load_err("[global]\n\"q\" = \"quit\"\n\"z\" = \"draft.acept\"\n");
    assert!(e.contains("mine.toml:3:"), "{e}");
    assert!(e.contains("unknown action `draft.acept`"), "{e}");
    assert!(e.contains("did you mean `draft.accept`"), "{e}");
}

#[test]
fn bad_key_syntax_names_the_line() {
    let e = load_err("[global]\n\n\"ctrl-\" = \"quit\"\n");
    assert!(e.contains("mine.toml:3:"), "{e}");
    assert!(e.contains("bad key"), "{e}");
    let e = load_err("[global]\n\"hyper-x\" = \"quit\"\n");
    assert!(e.contains("mine.toml:2:"), "{e}");
    let e = load_err("[global]\n\"f99\" = \"quit\"\n");
    assert!(e.contains("mine.toml:2:"), "{e}");
}

#[test]
fn duplicates_name_the_line() {
    // The same key written twice: TOML itself refuses.
    let e = load_err("[global]\n\"q\" = \"quit\"\n\"q\" = \"help\"\n");
    assert!(e.contains("mine.toml:3:"), "{e}");
    // The same key written two ways.
    let e = load_err("[global]\n\"ctrl-c\" = \"quit\"\n\"ctrl-C\" = \"help\"\n");
    assert!(e.contains("mine.toml:3:"), "{e}");
    assert!(e.contains("duplicate key"), "{e}");
    // A key that is also the start of a sequence.
    let e = load_err("[draft]\n\"g\" = \"draft.regenerate\"\n\"g g\" = \"draft.accept\"\n");
    assert!(e.contains("mine.toml:3:"), "{e}");
}

#[test]
fn values_must_be_strings_or_tables_with_an_action() {
    let e = load_err("[global]\n\"q\" = 3\n");
    assert!(e.contains("mine.toml:2:"), "{e}");
    assert!(e.contains("must be a string"), "{e}");
    let e = load_err("[global]\n\"q\" = { desc = \"x\" }\n");
    assert!(e.contains("mine.toml:2:"), "{e}");
    assert!(e.contains("missing `action`"), "{e}");
    let e = load_err("[global]\n\"q\" = { action = 1 }\n");
    assert!(e.contains("mine.toml:2:"), "{e}");
}

#[test]
fn unknown_context_and_broken_toml_name_the_line() {
    let e = load_err("\n[sidebar]\n\"q\" = \"quit\"\n");
    assert!(e.contains("mine.toml:2:"), "{e}");
    assert!(e.contains("unknown context"), "{e}");
    let e = load_err("[global]\n\"q\" = \"quit\n");
    assert!(e.contains("mine.toml:2:"), "{e}");
}

#[test]
fn printable_keys_cannot_be_bound_where_text_is_typed() {
    let e = load_err("[editor]\n\"s\" = \"reply.send\"\n");
    assert!(e.contains("mine.toml:2:"), "{e}");
    assert!(e.contains("types text"), "{e}");
    // Non-printable keys are fine there.
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "ok.toml",
        "[editor]\n\"alt-s\" = \"reply.send\"\n\"f2\" = \"reply.send\"\n",
    );
    Keymap::load(path.to_str().unwrap()).unwrap();
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let e = Keymap::load("/nonexistent/keys.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/keys.toml"), "{e}");
}

#[test]
fn key_syntax_round_trips() {
    for text in [
        "a",
        "A",
        "?",
        "ctrl-c",
        "alt-enter",
        "shift-tab",
        "f1",
        "space",
        "pageup",
        "ctrl-alt-x",
    ] {
        let key = KeyPress::parse(text).unwrap();
        assert_eq!(KeyPress::parse(&key.to_string()).unwrap(), key, "{text}");
    }
    assert_eq!(
        KeyPress::parse("shift-a").unwrap(),
        KeyPress::parse("A").unwrap()
    );
    assert_eq!(
        KeyPress::parse("ctrl-C").unwrap(),
        KeyPress::parse("ctrl-c").unwrap()
    );
    assert!(KeyPress::parse("shift-/").is_err());
    assert!(KeyPress::parse("").is_err());
}
