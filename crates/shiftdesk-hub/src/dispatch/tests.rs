//! The indexes against full scans. Under test, `dispatch` checks every match against
//! [`Dispatch::offers_by_scan`], the matching that scanned and sorted all workers before the
//! indexes existed (kept here word for word), and `tick` checks the expired offers and the
//! workers out of grace against the scans it replaced. The property test runs random event
//! sequences (workers whose languages and capacity change between logins, restarts, replay)
//! and checks after every event that the indexes equal a scan of the state.

use proptest::prelude::*;

use super::*;

impl Dispatch {
    /// The matching as it was before the indexes: every free worker, sorted, scanned for each
    /// queued conversation.
    pub(super) fn offers_by_scan(&self, now: Millis) -> Vec<PlannedOffer> {
        let mut free: Vec<&Worker> = self
            .workers
            .values()
            .filter(|w| {
                w.connected
                    && w.status == WorkerStatus::Available
                    && w.offer.is_none()
                    && w.free_capacity()
            })
            .collect();
        if free.is_empty() {
            return Vec::new();
        }
        free.sort_by(|a, b| (a.idle_since, &a.info.id).cmp(&(b.idle_since, &b.info.id)));
        let mut offers = Vec::new();
        let mut taken: BTreeSet<WorkerId> = BTreeSet::new();
        for (_, _, id) in &self.queue {
            let Some(c) = self.conversations.get(id) else {
                continue;
            };
            let waited = now.saturating_sub(c.queued_at.unwrap_or(c.opened_at));
            let may_fall_back = waited >= self.config.language_wait_ms;
            let mut speakers: Vec<&Worker> = Vec::new();
            let mut others: Vec<&Worker> = Vec::new();
            for w in free.iter().copied() {
                let cooled = c
                    .passed
                    .get(&w.info.id)
                    .is_none_or(|at| at.saturating_add(self.config.offer_timeout_ms) <= now);
                if taken.contains(&w.info.id) || !cooled {
                    continue;
                }
                if w.info.languages.contains(&c.language) {
                    speakers.push(w);
                } else if may_fall_back {
                    others.push(w);
                }
            }
            let fallback = speakers.is_empty();
            let eligible = if fallback { &others } else { &speakers };
            let chosen = eligible
                .iter()
                .find(|w| !c.passed.contains_key(&w.info.id))
                .or_else(|| eligible.first());
            if let Some(w) = chosen {
                let because = super::offers::offer_reason(
                    w,
                    c.language,
                    eligible.len(),
                    fallback,
                    waited,
                    now,
                );
                taken.insert(w.info.id.clone());
                offers.push(PlannedOffer {
                    conversation: id.clone(),
                    worker: w.info.id.clone(),
                    because,
                    language_fallback: fallback,
                    eligible: eligible.len(),
                    waited,
                });
            }
            if taken.len() == free.len() {
                break;
            }
        }
        offers
    }

    /// Offers past their deadline as `tick` found them before the offer index.
    pub(super) fn expired_by_scan(&self, now: Millis) -> Vec<(ConversationId, WorkerId)> {
        let mut expired: Vec<(ConversationId, WorkerId)> = self
            .conversations
            .values()
            .filter_map(|c| match &c.offer {
                Some((w, deadline)) if *deadline <= now => Some((c.id.clone(), w.clone())),
                _ => None,
            })
            .collect();
        expired.sort_unstable();
        expired
    }

    /// Workers whose grace is over as `tick` found them before the index of those away.
    pub(super) fn gone_by_scan(&self, now: Millis) -> Vec<WorkerId> {
        self.workers
            .values()
            .filter(|w| {
                !w.connected
                    && w.disconnected_at
                        .is_some_and(|at| at.saturating_add(self.config.grace_ms) <= now)
                    && (!w.owned.is_empty() || w.status != WorkerStatus::Offline)
            })
            .map(|w| w.info.id.clone())
            .collect()
    }
}

fn scripted() -> std::sync::Arc<dyn Triage> {
    std::sync::Arc::new(crate::triage::ScriptedTriage::default())
}

const T0: Millis = 1_700_000_000_000;
const WORKERS: usize = 6;
const LANGS: [Lang; 3] = [Lang::En, Lang::It, Lang::Ru];

fn config() -> DispatchConfig {
    DispatchConfig {
        offer_timeout_ms: 30_000,
        grace_ms: 60_000,
        language_wait_ms: 45_000,
        ..DispatchConfig::default()
    }
}

fn worker_id(i: usize) -> WorkerId {
    if i == 0 {
        "sup".into()
    } else {
        format!("w{i}")
    }
}

/// Worker `i` with languages from a bit mask (bit 3 repeats the first language, so duplicates
/// are covered) and a capacity that may be 0.
fn worker(i: usize, languages: u8, capacity: u32) -> WorkerInfo {
    let mut speaks: Vec<Lang> = (0..3)
        .filter(|b| languages & (1 << b) != 0)
        .map(|b| LANGS[b])
        .collect();
    if languages & 8 != 0
        && let Some(first) = speaks.first().copied()
    {
        speaks.push(first);
    }
    WorkerInfo {
        id: worker_id(i),
        name: format!("W{i}"),
        role: if i == 0 {
            Role::Supervisor
        } else {
            Role::Worker
        },
        languages: speaks,
        skills: Vec::new(),
        capacity,
    }
}

#[derive(Debug, Clone)]
enum Step {
    Connect(usize, u8, u32),
    /// A profile change from the token store without a login.
    Upsert(usize, u8, u32),
    Disconnect(usize),
    Status(usize, WorkerStatus),
    NewCustomer(usize),
    ToHuman(usize),
    Accept(usize),
    Decline(usize),
    Resolve(usize),
    Transfer(usize),
    Leave(usize),
    TakeOver(usize),
    HandBack(usize, usize),
    Advance(u64),
    Restarted,
}

fn step() -> impl Strategy<Value = Step> {
    let status = prop_oneof![
        6 => Just(WorkerStatus::Available),
        1 => Just(WorkerStatus::Break),
        1 => Just(WorkerStatus::Draining),
        1 => Just(WorkerStatus::Offline),
    ];
    prop_oneof![
        4 => (0..WORKERS, 0..16u8, 0..3u32).prop_map(|(w, l, c)| Step::Connect(w, l, c)),
        1 => (0..WORKERS, 0..16u8, 0..3u32).prop_map(|(w, l, c)| Step::Upsert(w, l, c)),
        2 => (0..WORKERS).prop_map(Step::Disconnect),
        6 => (0..WORKERS, status).prop_map(|(w, s)| Step::Status(w, s)),
        5 => (0..LANGS.len()).prop_map(Step::NewCustomer),
        6 => (0..8usize).prop_map(Step::ToHuman),
        4 => (0..8usize).prop_map(Step::Accept),
        4 => (0..8usize).prop_map(Step::Decline),
        2 => (0..8usize).prop_map(Step::Resolve),
        2 => (0..8usize).prop_map(Step::Transfer),
        1 => (0..8usize).prop_map(Step::Leave),
        1 => (0..8usize).prop_map(Step::TakeOver),
        1 => (0..8usize, 0..WORKERS).prop_map(|(c, w)| Step::HandBack(c, w)),
        3 => (0..50_000u64).prop_map(Step::Advance),
        1 => Just(Step::Restarted),
    ]
}

proptest! {
    // Failures are kept beside this file (tests.proptest-regressions), not in a top-level folder.
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))), .. ProptestConfig::default() })]

    /// After every event the indexes equal a full scan (and every match equals the old
    /// scanning one, checked inside `dispatch`); a replay of the log builds the same indexes.
    /// Only the indexes are checked: a profile that changes while its worker holds an offer
    /// or conversations can break `check_invariants`' language and capacity rules, with or
    /// without indexes (the rules tests in tests/dispatch_core.rs keep profiles fixed).
    #[test]
    fn indexes_match_a_full_scan(steps in proptest::collection::vec(step(), 1..200)) {
        let mut d = Dispatch::new(config(), scripted());
        let mut facts: Vec<Fact> = Vec::new();
        let mut now = T0;
        let mut profiles: BTreeMap<WorkerId, WorkerInfo> = BTreeMap::new();
        let mut conversations: Vec<ConversationId> = Vec::new();
        for step in steps {
            let conv = |i: usize| {
                conversations.get(i % conversations.len().max(1)).cloned().unwrap_or_default()
            };
            // The worker a conversation is with (offered or owned), else the first worker.
            let holder = |d: &Dispatch, c: &str| {
                d.conversations
                    .get(c)
                    .and_then(|c| c.offer.as_ref().map(|(w, _)| w.clone()).or(c.owner.clone()))
                    .unwrap_or_else(|| worker_id(1))
            };
            let command = |worker: WorkerId, command: Command| Input::Command { worker, command };
            let input = match step {
                Step::Connect(w, l, c) => {
                    let info = worker(w, l, c);
                    profiles.insert(info.id.clone(), info.clone());
                    Input::WorkerConnected { info, resumed: false }
                }
                Step::Upsert(w, l, c) => {
                    let info = worker(w, l, c);
                    profiles.insert(info.id.clone(), info.clone());
                    d.upsert_worker(info);
                    d.check_indexes().map_err(TestCaseError::fail)?;
                    continue;
                }
                Step::Disconnect(w) => Input::WorkerDisconnected { worker: worker_id(w) },
                Step::Status(w, s) => command(worker_id(w), Command::SetStatus(s)),
                Step::NewCustomer(l) => Input::CustomerOpened {
                    conversation: format!("c{}", conversations.len() + 1),
                    customer: "x".into(),
                    language: Some(LANGS[l]),
                    key: "k".into(),
                    context: Vec::new(),
                    verified: Vec::new(),
                },
                Step::ToHuman(c) => {
                    let c = conv(c);
                    // Unscripted, the triage sends it to a person in the conversation's language.
                    Input::CustomerMessage { conversation: c, text: "hello".into() }
                }
                Step::Accept(c) => {
                    let c = conv(c);
                    command(holder(&d, &c), Command::AcceptOffer(c))
                }
                Step::Decline(c) => {
                    let c = conv(c);
                    command(holder(&d, &c), Command::DeclineOffer(c, None))
                }
                Step::Resolve(c) => {
                    let c = conv(c);
                    command(holder(&d, &c), Command::Resolve(c))
                }
                Step::Transfer(c) => {
                    let c = conv(c);
                    command(holder(&d, &c), Command::Transfer(c, None))
                }
                Step::Leave(c) => Input::CustomerLeft { conversation: conv(c) },
                Step::TakeOver(c) => command(worker_id(0), Command::TakeOver(conv(c))),
                Step::HandBack(c, w) => {
                    command(worker_id(0), Command::HandBack(conv(c), worker_id(w)))
                }
                Step::Advance(ms) => {
                    now += ms;
                    Input::Tick
                }
                Step::Restarted => Input::Restarted,
            };
            if let Ok(effects) = d.handle(input, now) {
                for e in effects {
                    if let Effect::Record(f) = e {
                        if let Fact::ConversationOpened { conversation, .. } = &f {
                            conversations.push(conversation.clone());
                        }
                        facts.push(f);
                    }
                }
            }
            d.check_indexes().map_err(TestCaseError::fail)?;
        }
        // The hub's replay: current profiles from the token store, then the log.
        let mut replayed = Dispatch::new(config(), scripted());
        for info in profiles.into_values() {
            replayed.upsert_worker(info);
        }
        for f in &facts {
            replayed.apply(f);
        }
        replayed.check_indexes().map_err(TestCaseError::fail)?;
        prop_assert_eq!(&replayed.indexes, &d.indexes);
        // Time is not in the log: a replayed core learns it from its next input.
        let _ = d.handle(Input::Tick, now);
        let _ = replayed.handle(Input::Tick, now);
        prop_assert_eq!(&replayed.indexes, &d.indexes);
        prop_assert_eq!(replayed.next_deadline(), d.next_deadline());
    }
}

/// Many free workers and a conversation that most of them passed on: the first who has not
/// passed gets it, the count leaves out those still cooling down, and the walk only steps over
/// the passes.
#[test]
fn passes_are_stepped_over_and_not_counted() {
    let mut d = Dispatch::new(config(), scripted());
    let mut now = T0;
    for i in 1..=200 {
        let id = format!("w{i:03}");
        d.handle(
            Input::WorkerConnected {
                info: WorkerInfo {
                    id: id.clone(),
                    ..worker(1, 0b001, 1)
                },
                resumed: false,
            },
            now,
        )
        .expect("connected");
        d.handle(
            Input::Command {
                worker: id,
                command: Command::SetStatus(WorkerStatus::Available),
            },
            now,
        )
        .expect("available");
        now += 1;
    }
    let opened = d
        .handle(
            Input::CustomerOpened {
                conversation: "c1".into(),
                customer: "x".into(),
                language: Some(Lang::En),
                key: "k".into(),
                context: Vec::new(),
                verified: Vec::new(),
            },
            now,
        )
        .expect("opened");
    let c = opened
        .iter()
        .find_map(|e| match e {
            Effect::Record(Fact::ConversationOpened { conversation, .. }) => {
                Some(conversation.clone())
            }
            _ => None,
        })
        .expect("a conversation");
    d.handle(
        Input::CustomerMessage {
            conversation: c.clone(),
            text: "a person".into(),
        },
        now,
    )
    .expect("queued");
    // The five longest idle decline in turn; each next offer goes to the next in line.
    let mut effects = Vec::new();
    for i in 1..=5 {
        let offered = d.conversations[&c].offer.clone().expect("offered").0;
        assert_eq!(offered, format!("w{i:03}"));
        effects = d
            .handle(
                Input::Command {
                    worker: offered,
                    command: Command::DeclineOffer(c.clone(), None),
                },
                now,
            )
            .expect("declined");
    }
    let because = effects
        .iter()
        .find_map(|e| match e {
            Effect::ToWorker {
                worker,
                event: WorkerEvent::Offer { because, .. },
            } if worker == "w006" => Some(because.clone()),
            _ => None,
        })
        .expect("offered to the longest idle who has not passed");
    // 200 free, less the five still cooling down.
    assert!(because.contains(" of 195 eligible"), "{because}");
}

// ---------------------------------------------------------------------------------------------
// What waiting customers are told (`queued`), the wallboard's queues and slots
// ---------------------------------------------------------------------------------------------

/// A worker of `capacity` speaking English, logged in and available.
fn on_shift(d: &mut Dispatch, id: &str, capacity: u32, now: Millis) {
    let info = WorkerInfo {
        id: id.into(),
        ..worker(1, 0b001, capacity)
    };
    d.handle(
        Input::WorkerConnected {
            info,
            resumed: false,
        },
        now,
    )
    .expect("connected");
    set(d, id, Command::SetStatus(WorkerStatus::Available), now);
}

fn set(d: &mut Dispatch, worker: &str, command: Command, now: Millis) -> Vec<Effect> {
    d.handle(
        Input::Command {
            worker: worker.into(),
            command,
        },
        now,
    )
    .expect("applied")
}

/// An English customer who asks for a person: the conversation's id.
fn asks_for_a_person(d: &mut Dispatch, n: usize, now: Millis) -> ConversationId {
    let id = format!("c{n}");
    d.handle(
        Input::CustomerOpened {
            conversation: id.clone(),
            customer: "x".into(),
            language: Some(Lang::En),
            key: "k".into(),
            context: Vec::new(),
            verified: Vec::new(),
        },
        now,
    )
    .expect("opened");
    d.handle(
        Input::CustomerMessage {
            conversation: id.clone(),
            text: "a person".into(),
        },
        now,
    )
    .expect("handed over");
    id
}

/// The `on_shift` of every `queued` the effects send to `conversation`.
fn queued_to(effects: &[Effect], conversation: &str) -> Vec<Option<u32>> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::ToCustomer {
                conversation: c,
                event: CustomerEvent::Queued { on_shift, .. },
            } if c == conversation => Some(*on_shift),
            _ => None,
        })
        .collect()
}

/// The only English speaker, full, goes offline: the customers of their conversations, back in
/// the queue, hear one `queued` each with nobody on shift (not one counting the worker who just
/// left, then another), and so does the customer already waiting.
#[test]
fn going_offline_tells_each_waiting_customer_once_counted_after_the_change() {
    let mut d = Dispatch::new(config(), scripted());
    let now = T0;
    on_shift(&mut d, "w1", 2, now);
    let mut owned = Vec::new();
    for n in 1..=2 {
        let c = asks_for_a_person(&mut d, n, now);
        set(&mut d, "w1", Command::AcceptOffer(c.clone()), now);
        owned.push(c);
    }
    let waiting = asks_for_a_person(&mut d, 3, now);
    assert_eq!(d.owner(&owned[1]), Some("w1"));
    let effects = set(&mut d, "w1", Command::SetStatus(WorkerStatus::Offline), now);
    for c in owned.iter().chain([&waiting]) {
        assert_eq!(queued_to(&effects, c), [Some(0)], "{c}: {effects:#?}");
    }
    // Back on shift: the three waiting hear that someone is (the first of them is offered).
    let effects = set(
        &mut d,
        "w1",
        Command::SetStatus(WorkerStatus::Available),
        now,
    );
    for c in owned.iter().chain([&waiting]) {
        assert_eq!(queued_to(&effects, c), [Some(1)], "{c}");
    }
}

/// A worker who stays on shift transfers: their customer is told at once, the worker counted.
#[test]
fn a_transfer_tells_the_customer_with_the_worker_still_on_shift() {
    let mut d = Dispatch::new(config(), scripted());
    let now = T0;
    on_shift(&mut d, "w1", 1, now);
    let c = asks_for_a_person(&mut d, 1, now);
    set(&mut d, "w1", Command::AcceptOffer(c.clone()), now);
    let effects = set(&mut d, "w1", Command::Transfer(c.clone(), None), now);
    assert_eq!(queued_to(&effects, &c), [Some(1)]);
}

/// Past the grace period, the customer of a disconnected worker's conversation hears one
/// `queued`, after the worker went offline: nobody on shift.
#[test]
fn the_end_of_grace_tells_the_customer_once_with_the_worker_gone() {
    let mut d = Dispatch::new(config(), scripted());
    let now = T0;
    on_shift(&mut d, "w1", 1, now);
    let c = asks_for_a_person(&mut d, 1, now);
    set(&mut d, "w1", Command::AcceptOffer(c.clone()), now);
    d.handle(
        Input::WorkerDisconnected {
            worker: "w1".into(),
        },
        now,
    )
    .expect("disconnected");
    let effects = d
        .handle(Input::Tick, now + config().grace_ms)
        .expect("ticked");
    assert_eq!(d.worker_status("w1"), Some(WorkerStatus::Offline));
    assert_eq!(queued_to(&effects, &c), [Some(0)], "{effects:#?}");
    // The system line comes first, then `queued`.
    let to_customer: Vec<&CustomerEvent> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::ToCustomer {
                conversation,
                event,
            } if *conversation == c => Some(event),
            _ => None,
        })
        .collect();
    assert!(
        matches!(
            to_customer.as_slice(),
            [CustomerEvent::Message { .. }, CustomerEvent::Queued { .. }]
        ),
        "{to_customer:#?}"
    );
}

/// PROTOCOL.md 5.4: the six built-in languages in the order en, it, de, nl, sv, ru (not by code).
#[test]
fn the_wallboard_lists_the_built_in_queues_in_the_documented_order() {
    let mut d = Dispatch::new(config(), scripted());
    asks_for_a_person(&mut d, 1, T0);
    let board = d.wallboard(T0 + 1_000);
    let order: Vec<&str> = board.queues.iter().map(|q| q.language.code()).collect();
    assert_eq!(order[..6], ["en", "it", "de", "nl", "sv", "ru"]);
    assert_eq!(
        (board.queues[0].depth, board.queues[0].longest_wait_ms),
        (1, 1_000)
    );
}

/// Arrivals from earlier the same day are not history: no forecast, no wallboard slots. A week
/// later they are a whole week of it.
#[test]
fn history_is_whole_weeks_and_a_fresh_hub_has_no_slots() {
    const WEEK: Millis = 7 * DAY_MS;
    let mut d = Dispatch::new(config(), scripted());
    let now = T0;
    on_shift(&mut d, "w1", 1, now);
    asks_for_a_person(&mut d, 1, now);
    let later = now + 3 * 3_600_000;
    let week = d.schedule("w1", later);
    assert_eq!(week.history_weeks, 0);
    assert!(week.slots.iter().all(|s| s.forecast.is_empty()));
    assert!(d.wallboard(later).slots.is_empty());
    // A booking makes slots, with nothing expected: 0, not -0.
    let next = d.slot_start(later) + config().slot_ms;
    set(&mut d, "w1", Command::BookSlot(next), later);
    let slots = d.wallboard(later).slots;
    assert_eq!(slots.len(), 4);
    assert_eq!(slots[1].booked, 1);
    for s in &slots {
        assert!(s.expected == 0.0 && s.expected.is_sign_positive(), "{s:?}");
    }
    let json = serde_json::to_string(&slots).expect("json");
    assert!(!json.contains("-0"), "{json}");
    // A week after the first arrival's slot began: one whole week, the arrival in it.
    let week = d.schedule("w1", now + WEEK);
    assert_eq!(week.history_weeks, 1);
    assert_eq!(week.slots[0].forecast.get("en"), Some(&1.0));
    assert_eq!(
        d.schedule("w1", now + WEEK - config().slot_ms)
            .history_weeks,
        0
    );
}
