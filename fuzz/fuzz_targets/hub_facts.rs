//! Replaying an arbitrary event log: one JSON fact per line, as the SQLite store keeps them.
//! Lines that are not a `Fact` are skipped; the rest are applied in order with
//! `Dispatch::apply`, then the hub's start-up path runs as `Engine::new` does it
//! (`Input::Restarted`), followed by the queries the engine and consoles make. None of it may
//! panic: a damaged or hand-edited log must not stop the hub from starting.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shiftdesk::hub::dispatch::{Dispatch, DispatchConfig, Input};
use shiftdesk::hub::facts::Fact;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut dispatch = Dispatch::new(DispatchConfig::default());
    let mut now = 0;
    for line in text.lines() {
        let Ok(fact) = serde_json::from_str::<Fact>(line) else {
            continue;
        };
        now = now.max(fact_time(&fact));
        dispatch.apply(&fact);
    }
    let _ = dispatch.handle(Input::Restarted, now);
    let _ = dispatch.next_deadline();
    let _ = dispatch.wallboard(now);
    let _ = dispatch.check_invariants();
    for id in dispatch.conversation_ids() {
        let _ = dispatch.conversation_view(&id);
        let _ = dispatch.queue_position(&id);
        if let Some(owner) = dispatch.owner(&id).map(str::to_string) {
            let _ = dispatch.snapshot_for(&owner, now);
        }
    }
    let _ = dispatch.handle(Input::Tick, now);
});

/// The `at` of a fact, so the restart happens after the last thing the log recorded.
fn fact_time(fact: &Fact) -> u64 {
    serde_json::to_value(fact)
        .ok()
        .and_then(|v| v.get("at").and_then(serde_json::Value::as_u64))
        .unwrap_or(0)
}
