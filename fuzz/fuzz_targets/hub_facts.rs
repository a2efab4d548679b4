//! Replaying an arbitrary event log: one JSON fact per line, as the SQLite store keeps them.
//! Lines that are not a `Fact` are skipped; the rest are applied in order with
//! `Dispatch::apply`, then the hub starts as `Engine::new` does it (`Input::Restarted`), the
//! consoles' queries run, the workers log in again and time passes. None of it may panic: a
//! damaged or hand-edited log must not stop the hub from starting.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

use shiftdesk_hub::triage::ScriptedTriage;
use shiftdesk_hub::dispatch::{Dispatch, DispatchConfig, Input};
use shiftdesk_hub::facts::Fact;
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{Role, WorkerInfo};

/// The hub restarts at a real wall-clock time (2027-01-15), as `Engine::new` does with
/// `now_ms()`; the log's own times are whatever the input says, including ones in the future.
const NOW: u64 = 1_800_000_000_000;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut dispatch = Dispatch::new(DispatchConfig::default(), Arc::new(ScriptedTriage::default()));
    for info in token_store() {
        dispatch.upsert_worker(info);
    }
    for line in text.lines() {
        if let Ok(fact) = serde_json::from_str::<Fact>(line) {
            dispatch.apply(&fact);
        }
    }
    let _ = dispatch.handle(Input::Restarted, NOW);
    let _ = dispatch.next_deadline();
    let _ = dispatch.wallboard(NOW);
    let _ = dispatch.check_invariants();
    for id in dispatch.conversation_ids() {
        let _ = dispatch.conversation_view(&id);
        let _ = dispatch.queue_position(&id);
        if let Some(owner) = dispatch.owner(&id).map(str::to_string) {
            let _ = dispatch.snapshot_for(&owner, NOW);
        }
    }
    for info in token_store() {
        let _ = dispatch.handle(Input::WorkerConnected { info, resumed: false }, NOW + 1);
    }
    let _ = dispatch.handle(Input::Tick, NOW + 120_000);
    let _ = dispatch.next_deadline();
});

/// The workers the seed logs name, as the token store would give them to `Engine::new`.
fn token_store() -> [WorkerInfo; 3] {
    let info = |id: &str, role, languages: &[Lang]| WorkerInfo {
        id: id.into(),
        name: id.into(),
        role,
        languages: languages.to_vec(),
        skills: Vec::new(),
        capacity: 2,
    };
    [
        info("giulia-romano", Role::Worker, &[Lang::It, Lang::En]),
        info(
            "jan-de-vries",
            Role::Worker,
            &[Lang::Nl, Lang::De, Lang::En],
        ),
        info(
            "sara-lindqvist",
            Role::Supervisor,
            &[Lang::Sv, Lang::En, Lang::De],
        ),
    ]
}
