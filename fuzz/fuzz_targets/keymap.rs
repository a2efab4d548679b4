//! `Keymap::parse` on arbitrary text: it never panics, an error names the file and a line that
//! exists, and a keymap it accepts is self-consistent: every bound key prints in a form that
//! parses back to the same key, looking it up finds its action, and layering it over the
//! default keymap works.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shiftdesk_console::keymap::{Context, KeySeq, Keymap, Lookup};

const FILE: &str = "fuzz/keymap.toml";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let keymap = match Keymap::parse(FILE, &text) {
        Ok(keymap) => keymap,
        Err(e) => {
            assert_eq!(e.file, FILE);
            let lines = text.matches('\n').count() + 1;
            assert!(
                (1..=lines).contains(&e.line),
                "line {} of {lines}: {e}",
                e.line
            );
            assert!(!e.message.is_empty());
            return;
        }
    };
    for (context, keys, binding) in keymap.all() {
        let printed = keys.to_string();
        assert_eq!(
            KeySeq::parse(&printed).as_ref(),
            Ok(keys),
            "{keys:?} printed as {printed:?}"
        );
        assert_eq!(
            keymap.lookup(&[context], &keys.0),
            Lookup::Action(binding.action)
        );
    }
    let mut layered = Keymap::default_keymap();
    layered.overlay(keymap);
    for context in Context::ALL {
        for (keys, binding) in layered.bindings(context) {
            let _ = layered.key_for(&[context], binding.action);
            let _ = layered.lookup(&[context], &keys.0);
        }
    }
});
