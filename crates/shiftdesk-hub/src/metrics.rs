//! What the hub is doing, for Prometheus: `GET /metrics` renders [`HubMetrics`] in the text
//! exposition format.
//!
//! Each hub has its own registry (tests run several hubs in one process, and a global recorder
//! would mix their numbers). The values come from where the hub already looks, so nothing in the
//! pure dispatch core changes:
//!
//! - gauges (connections, workers, queues) are read from the engine's state when scraped
//!   ([`Gauges`], built from the wallboard the core already computes);
//! - counters and histograms about conversations, offers, drafts and the bot come from the facts
//!   the committer has stored ([`FactObserver`], on the commit thread): a fact of a batch that
//!   could not be stored did not happen, and is not counted;
//! - commit latency and batch size are measured around the append, model draft latency and
//!   fallbacks in the model drafter.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::facts::Fact;
use crate::triage::TriageReason;
use shiftdesk_protocol::{ConversationId, Millis, Role, Wallboard, WorkerStatus};

/// Buckets for customers' waits, in seconds: from "at once" to an hour.
const WAIT_BUCKETS: &[f64] = &[
    0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];
/// Buckets for a model's draft, in seconds (the default draft timeout is 20 s).
const MODEL_BUCKETS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0];
/// Buckets for one durable append, in seconds.
const COMMIT_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Buckets for the facts in one append.
const BATCH_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

const STATUSES: [WorkerStatus; 4] = [
    WorkerStatus::Available,
    WorkerStatus::Break,
    WorkerStatus::Draining,
    WorkerStatus::Offline,
];

/// Counts one forwarded connection in `shiftdesk_forwarded_connections` while it lives.
pub struct ForwardedConnection(std::sync::Arc<HubMetrics>);

impl Drop for ForwardedConnection {
    fn drop(&mut self) {
        self.0.forwarded.dec();
    }
}

/// One hub's metrics. Shared (in an `Arc`) by the server, the commit thread and the drafter.
pub struct HubMetrics {
    registry: Registry,
    connections: IntGaugeVec,
    streams: IntGaugeVec,
    workers: IntGaugeVec,
    queue_depth: IntGaugeVec,
    queue_oldest_wait: prometheus::GaugeVec,
    conversations: IntCounter,
    time_to_offer: HistogramVec,
    time_to_person: HistogramVec,
    offers: IntCounterVec,
    drafts: IntCounterVec,
    draft_outcomes: IntCounterVec,
    model_draft: HistogramVec,
    model_fallbacks: IntCounterVec,
    bot_answers: IntCounterVec,
    clarifying_questions: IntCounterVec,
    handovers: IntCounterVec,
    commit_seconds: Histogram,
    commit_facts: Histogram,
    commit_failures: IntCounter,
    writing: prometheus::IntGauge,
    forwarded: prometheus::IntGauge,
    log_read: prometheus::IntGauge,
    /// Why the last append failed, while no later one has succeeded (for `/readyz`).
    store_error: Mutex<Option<String>>,
}

impl Default for HubMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl HubMetrics {
    pub fn new() -> HubMetrics {
        let registry = Registry::new();
        let metrics = HubMetrics {
            connections: IntGaugeVec::new(
                Opts::new(
                    "shiftdesk_connections",
                    "Logged-in websocket connections, by kind (worker, supervisor, customer).",
                ),
                &["kind"],
            )
            .expect("valid metric"),
            streams: IntGaugeVec::new(
                Opts::new(
                    "shiftdesk_streams",
                    "Client streams the writing hub holds for resume, by kind (worker, \
                     conversation); an ended conversation's goes --keep-ended after its \
                     customer left.",
                ),
                &["kind"],
            )
            .expect("valid metric"),
            workers: IntGaugeVec::new(
                Opts::new(
                    "shiftdesk_workers",
                    "Workers and supervisors by status, and whether a console is connected \
                     (connected=\"false\" with a status other than offline: in the grace period).",
                ),
                &["status", "connected"],
            )
            .expect("valid metric"),
            queue_depth: IntGaugeVec::new(
                Opts::new(
                    "shiftdesk_queue_depth",
                    "Conversations waiting for a person (not yet offered), by language.",
                ),
                &["language"],
            )
            .expect("valid metric"),
            queue_oldest_wait: prometheus::GaugeVec::new(
                Opts::new(
                    "shiftdesk_queue_oldest_wait_seconds",
                    "How long the longest-waiting queued conversation has waited, by language \
                     (0 when none waits).",
                ),
                &["language"],
            )
            .expect("valid metric"),
            conversations: IntCounter::new(
                "shiftdesk_conversations_opened_total",
                "Conversations customers opened.",
            )
            .expect("valid metric"),
            time_to_offer: HistogramVec::new(
                HistogramOpts::new(
                    "shiftdesk_time_to_offer_seconds",
                    "From a conversation's hand-over to a person (queued) to its first offer.",
                )
                .buckets(WAIT_BUCKETS.to_vec()),
                &["language"],
            )
            .expect("valid metric"),
            time_to_person: HistogramVec::new(
                HistogramOpts::new(
                    "shiftdesk_time_to_person_seconds",
                    "From a conversation's hand-over to a person (queued) until the first person \
                     took it (accepted an offer or took it over).",
                )
                .buckets(WAIT_BUCKETS.to_vec()),
                &["language"],
            )
            .expect("valid metric"),
            offers: IntCounterVec::new(
                Opts::new(
                    "shiftdesk_offers_total",
                    "Offers that ended, by outcome: accepted, declined, expired (no answer in \
                     time), withdrawn (by the hub: the worker left, the customer left).",
                ),
                &["outcome"],
            )
            .expect("valid metric"),
            drafts: IntCounterVec::new(
                Opts::new(
                    "shiftdesk_drafts_total",
                    "Reply drafts given to workers, by drafter (kb, openai, fallback).",
                ),
                &["drafter"],
            )
            .expect("valid metric"),
            draft_outcomes: IntCounterVec::new(
                Opts::new(
                    "shiftdesk_draft_outcomes_total",
                    "What workers did with drafts, by drafter and outcome (accepted, edited, \
                     rejected, regenerated, ...).",
                ),
                &["drafter", "outcome"],
            )
            .expect("valid metric"),
            model_draft: HistogramVec::new(
                HistogramOpts::new(
                    "shiftdesk_model_draft_seconds",
                    "How long the model server took per draft, including the wait for a request \
                     slot; result=\"ok\" or \"fallback\" (the built-in drafter answered instead).",
                )
                .buckets(MODEL_BUCKETS.to_vec()),
                &["result"],
            )
            .expect("valid metric"),
            model_fallbacks: IntCounterVec::new(
                Opts::new(
                    "shiftdesk_model_fallbacks_total",
                    "Model drafts replaced by the built-in drafter's, by reason (timeout, \
                     no_slot, unreachable, http_status, server_error, garbage, empty, \
                     interrupted).",
                ),
                &["reason"],
            )
            .expect("valid metric"),
            bot_answers: IntCounterVec::new(
                Opts::new(
                    "shiftdesk_bot_answers_total",
                    "Customer messages the bot answered from the knowledge base, by language.",
                ),
                &["language"],
            )
            .expect("valid metric"),
            clarifying_questions: IntCounterVec::new(
                Opts::new(
                    "shiftdesk_bot_clarifying_questions_total",
                    "Customer messages the bot answered with a question (two articles fitted \
                     about as well, or the message only said hello or thank you), by language. Neither a bot \
                     answer nor a hand-over.",
                ),
                &["language"],
            )
            .expect("valid metric"),
            handovers: IntCounterVec::new(
                Opts::new(
                    "shiftdesk_handovers_total",
                    "Conversations the bot handed to a person, by reason (asked_for_person, \
                     sensitive, operator_topic, asked_again, unserved_language, \
                     low_confidence) and language.",
                ),
                &["reason", "language"],
            )
            .expect("valid metric"),
            commit_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "shiftdesk_commit_seconds",
                    "Time to append one group commit durably to the event log.",
                )
                .buckets(COMMIT_BUCKETS.to_vec()),
            )
            .expect("valid metric"),
            commit_facts: Histogram::with_opts(
                HistogramOpts::new("shiftdesk_commit_batch_facts", "Facts in one group commit.")
                    .buckets(BATCH_BUCKETS.to_vec()),
            )
            .expect("valid metric"),
            commit_failures: IntCounter::new(
                "shiftdesk_commit_failures_total",
                "Group commits the event log refused (the batch was rolled back).",
            )
            .expect("valid metric"),
            writing: prometheus::IntGauge::new(
                "shiftdesk_writing",
                "1 while this hub runs dispatch and writes the store; 0 while it forwards its \
                 clients to the hub that does (a standby on a shared store).",
            )
            .expect("valid metric"),
            forwarded: prometheus::IntGauge::new(
                "shiftdesk_forwarded_connections",
                "Websocket connections this hub forwards to the hub that writes the store.",
            )
            .expect("valid metric"),
            log_read: prometheus::IntGauge::new(
                "shiftdesk_log_read",
                "1 once this hub has read the event log: a standby then follows it and can take \
                 over at once; 0 while it still reads it.",
            )
            .expect("valid metric"),
            store_error: Mutex::new(None),
            registry,
        };
        metrics.register_all();
        metrics.preset();
        metrics
    }

    fn register_all(&self) {
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(self.connections.clone()),
            Box::new(self.streams.clone()),
            Box::new(self.workers.clone()),
            Box::new(self.queue_depth.clone()),
            Box::new(self.queue_oldest_wait.clone()),
            Box::new(self.conversations.clone()),
            Box::new(self.time_to_offer.clone()),
            Box::new(self.time_to_person.clone()),
            Box::new(self.offers.clone()),
            Box::new(self.drafts.clone()),
            Box::new(self.draft_outcomes.clone()),
            Box::new(self.model_draft.clone()),
            Box::new(self.model_fallbacks.clone()),
            Box::new(self.bot_answers.clone()),
            Box::new(self.clarifying_questions.clone()),
            Box::new(self.handovers.clone()),
            Box::new(self.commit_seconds.clone()),
            Box::new(self.commit_facts.clone()),
            Box::new(self.commit_failures.clone()),
            Box::new(self.writing.clone()),
            Box::new(self.forwarded.clone()),
            Box::new(self.log_read.clone()),
        ];
        for collector in collectors {
            // Names are fixed above and distinct; a fresh registry takes each once.
            self.registry
                .register(collector)
                .expect("each metric registered once");
        }
    }

    /// Series that should read 0 rather than be missing before the first event: a query like
    /// `rate(shiftdesk_offers_total{outcome="expired"}[5m])` then works on a fresh hub.
    fn preset(&self) {
        for outcome in ["accepted", "declined", "expired", "withdrawn"] {
            self.offers.with_label_values(&[outcome]);
        }
        self.set_gauges(&Gauges::default());
    }

    /// Whether this hub writes the store (`shiftdesk_writing`).
    pub fn set_writing(&self, writing: bool) {
        self.writing.set(i64::from(writing));
    }

    /// This hub has read the event log (and, a standby, follows it now).
    pub fn set_log_read(&self, read: bool) {
        self.log_read.set(i64::from(read));
    }

    /// Whether this hub has read the event log (`shiftdesk_log_read`).
    pub fn log_read(&self) -> bool {
        self.log_read.get() == 1
    }

    /// A connection forwarded to the writing hub, counted until the guard is dropped.
    pub fn forwarding(self: &std::sync::Arc<Self>) -> ForwardedConnection {
        self.forwarded.inc();
        ForwardedConnection(self.clone())
    }

    /// The text exposition format (version 0.0.4) of every metric, for `GET /metrics`.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(e) = TextEncoder::new().encode_utf8(&self.registry.gather(), &mut text) {
            tracing::error!(%e, "cannot render the metrics");
        }
        text
    }

    /// The `Content-Type` of [`HubMetrics::render`].
    pub fn content_type() -> String {
        TextEncoder::new().format_type().to_string()
    }

    /// Set the gauges to what the engine reported.
    pub fn set_gauges(&self, gauges: &Gauges) {
        for (kind, n) in [
            ("worker", gauges.workers_connected),
            ("supervisor", gauges.supervisors_connected),
            ("customer", gauges.customers_connected),
        ] {
            self.connections.with_label_values(&[kind]).set(n as i64);
        }
        for (kind, n) in [
            ("worker", gauges.worker_streams),
            ("conversation", gauges.conversation_streams),
        ] {
            self.streams.with_label_values(&[kind]).set(n as i64);
        }
        for status in STATUSES {
            for connected in [true, false] {
                let n = gauges
                    .workers
                    .iter()
                    .find(|(s, c, _)| *s == status && *c == connected)
                    .map_or(0, |(_, _, n)| *n);
                self.workers
                    .with_label_values(&[status.label(), if connected { "true" } else { "false" }])
                    .set(n as i64);
            }
        }
        for queue in &gauges.queues {
            self.queue_depth
                .with_label_values(&[queue.language.code()])
                .set(i64::from(queue.depth));
            self.queue_oldest_wait
                .with_label_values(&[queue.language.code()])
                .set(queue.oldest_wait_ms as f64 / 1000.0);
        }
    }

    /// One append to the event log took `took` and held `facts` facts.
    pub fn commit_done(&self, took: Duration, facts: usize, result: Result<(), String>) {
        self.commit_seconds.observe(took.as_secs_f64());
        self.commit_facts.observe(facts as f64);
        let failed = result.is_err();
        *self
            .store_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = result.err();
        if failed {
            self.commit_failures.inc();
        }
    }

    /// Why the last append failed, if no later one has succeeded.
    pub fn store_error(&self) -> Option<String> {
        self.store_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A model draft finished after `took`; `fallback` names why the built-in drafter's was used
    /// instead, if it was.
    pub fn model_draft(&self, took: Duration, fallback: Option<&str>) {
        let result = if fallback.is_some() { "fallback" } else { "ok" };
        self.model_draft
            .with_label_values(&[result])
            .observe(took.as_secs_f64());
        if let Some(reason) = fallback {
            self.model_fallbacks.with_label_values(&[reason]).inc();
        }
    }
}

/// The bearer token `/metrics` asks for (`--metrics-token`). Never printed: `Debug` masks it.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

impl MetricsToken {
    /// A token; an empty or blank one is refused (it would look set and protect nothing).
    pub fn new(token: &str) -> Result<MetricsToken, String> {
        let token = token.trim();
        if token.is_empty() {
            return Err("the metrics token is empty".into());
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("the metrics token has spaces or control characters".into());
        }
        Ok(MetricsToken(token.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}

/// The gauges' values, read from the engine's state when `/metrics` is scraped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauges {
    pub workers_connected: usize,
    pub supervisors_connected: usize,
    pub customers_connected: usize,
    /// Streams held for resume: workers', and conversations'.
    pub worker_streams: usize,
    pub conversation_streams: usize,
    /// (status, connected, how many).
    pub workers: Vec<(WorkerStatus, bool, usize)>,
    pub queues: Vec<QueueGauge>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueueGauge {
    pub language: shiftdesk_protocol::Lang,
    pub depth: u32,
    pub oldest_wait_ms: u64,
}

impl Gauges {
    /// From the wallboard the core computes for supervisors, and the number of customers with a
    /// connection (which only the engine's streams know).
    pub fn of(wallboard: &Wallboard, customers_connected: usize) -> Gauges {
        let mut gauges = Gauges {
            customers_connected,
            ..Gauges::default()
        };
        for w in &wallboard.workers {
            if w.connected {
                match w.role {
                    Role::Worker => gauges.workers_connected += 1,
                    Role::Supervisor => gauges.supervisors_connected += 1,
                }
            }
            match gauges
                .workers
                .iter_mut()
                .find(|(s, c, _)| *s == w.status && *c == w.connected)
            {
                Some((_, _, n)) => *n += 1,
                None => gauges.workers.push((w.status, w.connected, 1)),
            }
        }
        gauges.queues = wallboard
            .queues
            .iter()
            .map(|q| QueueGauge {
                language: q.language,
                depth: q.depth,
                oldest_wait_ms: q.longest_wait_ms,
            })
            .collect();
        gauges
    }
}

/// Counts what the stored facts say happened; lives on the commit thread, which hands it each
/// stored fact in order. Remembers, per conversation waiting for or talking to a person, when
/// it was queued and which drafts are open, to time the waits and name a settled draft's
/// drafter. Conversations queued before the hub started are not timed (their waits began in
/// another process).
pub struct FactObserver {
    metrics: std::sync::Arc<HubMetrics>,
    waits: HashMap<ConversationId, Wait>,
    /// Open drafts: id -> (conversation, drafter).
    drafts: HashMap<String, (ConversationId, String)>,
}

struct Wait {
    language: crate::lang::Lang,
    queued_at: Millis,
    offered: bool,
    taken: bool,
}

impl FactObserver {
    pub fn new(metrics: std::sync::Arc<HubMetrics>) -> FactObserver {
        FactObserver {
            metrics,
            waits: HashMap::new(),
            drafts: HashMap::new(),
        }
    }

    pub fn stored(&mut self, fact: &Fact) {
        let m = &*self.metrics;
        match fact {
            Fact::ConversationOpened { .. } => m.conversations.inc(),
            Fact::Triaged { decision, .. } => {
                let language = decision.language.code();
                if decision.to_human {
                    let reason = match decision.reason {
                        TriageReason::AskedForPerson { .. } => "asked_for_person",
                        TriageReason::Sensitive { .. } => "sensitive",
                        TriageReason::OperatorTopic { .. } => "operator_topic",
                        TriageReason::AskedAgain { .. } => "asked_again",
                        TriageReason::Unserved { .. } => "unserved_language",
                        TriageReason::LowConfidence { .. }
                        | TriageReason::Answered { .. }
                        | TriageReason::Clarify { .. }
                        | TriageReason::Greeted
                        | TriageReason::Thanked => "low_confidence",
                    };
                    m.handovers.with_label_values(&[reason, language]).inc();
                } else if let TriageReason::Clarify { .. }
                | TriageReason::Greeted
                | TriageReason::Thanked = decision.reason
                {
                    // A bot turn, but not an answer.
                    m.clarifying_questions.with_label_values(&[language]).inc();
                } else {
                    m.bot_answers.with_label_values(&[language]).inc();
                }
            }
            Fact::Queued {
                conversation,
                language,
                at,
                ..
            } => {
                self.waits.entry(conversation.clone()).or_insert(Wait {
                    language: *language,
                    queued_at: *at,
                    offered: false,
                    taken: false,
                });
            }
            Fact::Offered {
                conversation, at, ..
            } => {
                if let Some(wait) = self.waits.get_mut(conversation)
                    && !wait.offered
                {
                    wait.offered = true;
                    m.time_to_offer
                        .with_label_values(&[wait.language.code()])
                        .observe(seconds(at.saturating_sub(wait.queued_at)));
                }
            }
            Fact::OfferDeclined { .. } => m.offers.with_label_values(&["declined"]).inc(),
            Fact::OfferExpired { .. } => m.offers.with_label_values(&["expired"]).inc(),
            Fact::OfferWithdrawn { .. } => m.offers.with_label_values(&["withdrawn"]).inc(),
            Fact::Assigned {
                conversation, at, ..
            } => {
                m.offers.with_label_values(&["accepted"]).inc();
                self.person_took(conversation, *at);
            }
            Fact::TakenOver {
                conversation, at, ..
            } => self.person_took(conversation, *at),
            Fact::Drafted {
                conversation,
                draft,
                ..
            } => {
                let drafter = draft.proposal.drafter.clone();
                m.drafts.with_label_values(&[&drafter]).inc();
                self.drafts
                    .insert(draft.id.clone(), (conversation.clone(), drafter));
            }
            Fact::DraftEnded { draft, outcome, .. } => {
                let outcome = serde_json::to_value(outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| format!("{outcome:?}").to_lowercase());
                let drafter = self
                    .drafts
                    .remove(draft)
                    .map_or_else(|| "unknown".to_string(), |(_, drafter)| drafter);
                m.draft_outcomes
                    .with_label_values(&[&drafter, &outcome])
                    .inc();
            }
            Fact::DraftSettled { draft, outcome, .. } => {
                let outcome = serde_json::to_value(outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| format!("{outcome:?}").to_lowercase());
                let drafter = self
                    .drafts
                    .remove(draft)
                    .map_or_else(|| "unknown".to_string(), |(_, drafter)| drafter);
                m.draft_outcomes
                    .with_label_values(&[&drafter, &outcome])
                    .inc();
            }
            Fact::Resolved { conversation, .. } | Fact::Abandoned { conversation, .. } => {
                self.waits.remove(conversation);
                self.drafts.retain(|_, (c, _)| c != conversation);
            }
            _ => {}
        }
    }

    fn person_took(&mut self, conversation: &str, at: Millis) {
        if let Some(wait) = self.waits.get_mut(conversation)
            && !wait.taken
        {
            wait.taken = true;
            self.metrics
                .time_to_person
                .with_label_values(&[wait.language.code()])
                .observe(seconds(at.saturating_sub(wait.queued_at)));
        }
    }
}

fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use shiftdesk_protocol::{Draft, DraftOutcome, DraftProposal, Lang, WallboardQueue};

    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn each_hub_has_its_own_numbers() {
        let one = Arc::new(HubMetrics::new());
        let two = Arc::new(HubMetrics::new());
        FactObserver::new(one.clone()).stored(&Fact::ConversationOpened {
            conversation: "c1".into(),
            customer: "Ada".into(),
            language: Some(Lang::En),
            key: "k".into(),
            context: Vec::new(),
            verified: Vec::new(),
            at: 0,
        });
        assert_eq!(
            value(&one.render(), "shiftdesk_conversations_opened_total"),
            Some(1.0)
        );
        assert_eq!(
            value(&two.render(), "shiftdesk_conversations_opened_total"),
            Some(0.0)
        );
    }

    #[test]
    fn a_clarifying_question_is_neither_an_answer_nor_a_hand_over() {
        let metrics = Arc::new(HubMetrics::new());
        let mut observer = FactObserver::new(metrics.clone());
        observer.stored(&Fact::Triaged {
            conversation: "c1".into(),
            message: 2,
            decision: crate::triage::TriageDecision {
                to_human: false,
                reason: TriageReason::Clarify {
                    first: "payment-plans".into(),
                    second: "move-due-date".into(),
                },
                language: Lang::It,
                intent: "unknown".into(),
                confidence: 0.69,
                bot_answer: Some("Intendi A oppure B?".into()),
                sources: vec!["payment-plans".into(), "move-due-date".into()],
            },
            at: 0,
        });
        let text = metrics.render();
        assert_eq!(
            value(
                &text,
                "shiftdesk_bot_clarifying_questions_total{language=\"it\"}"
            ),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            value(&text, "shiftdesk_bot_answers_total{language=\"it\"}"),
            None,
            "{text}"
        );
        assert!(!text.contains("shiftdesk_handovers_total{"), "{text}");
    }

    #[test]
    fn waits_are_timed_from_the_queue_and_drafts_keep_their_drafter() {
        let metrics = Arc::new(HubMetrics::new());
        let mut observer = FactObserver::new(metrics.clone());
        let c = || "c1".to_string();
        let w = || "w1".to_string();
        let proposal = DraftProposal {
            text: "Hello".into(),
            confidence: 0.9,
            intent: "greeting".into(),
            language: Lang::It,
            sources: Vec::new(),
            drafter: "kb".into(),
            model: None,
            latency_ms: None,
        };
        for fact in [
            Fact::Queued {
                conversation: c(),
                priority: 1,
                intent: "human_request".into(),
                why: "asked".into(),
                language: Lang::It,
                at: 10_000,
            },
            Fact::Offered {
                conversation: c(),
                worker: w(),
                deadline: 40_000,
                language_fallback: false,
                at: 13_000,
            },
            Fact::OfferExpired {
                conversation: c(),
                worker: w(),
                at: 43_000,
            },
            Fact::Offered {
                conversation: c(),
                worker: w(),
                deadline: 80_000,
                language_fallback: false,
                at: 50_000,
            },
            Fact::Assigned {
                conversation: c(),
                worker: w(),
                at: 55_000,
            },
            Fact::Drafted {
                conversation: c(),
                draft: Draft {
                    id: "d1".into(),
                    for_message: 1,
                    proposal,
                },
                attempt: 0,
                at: 56_000,
            },
            Fact::DraftSettled {
                conversation: c(),
                draft: "d1".into(),
                worker: w(),
                outcome: DraftOutcome::Edited,
                sent_text: Some("Ciao".into()),
                reason: None,
                edit_distance: Some(4),
                at: 57_000,
            },
        ] {
            observer.stored(&fact);
        }
        let text = metrics.render();
        let it = "{language=\"it\"}";
        assert_eq!(
            value(&text, &format!("shiftdesk_time_to_offer_seconds_sum{it}")),
            Some(3.0),
            "only the first offer counts: {text}"
        );
        assert_eq!(
            value(&text, &format!("shiftdesk_time_to_person_seconds_sum{it}")),
            Some(45.0)
        );
        assert_eq!(
            value(&text, "shiftdesk_offers_total{outcome=\"expired\"}"),
            Some(1.0)
        );
        assert_eq!(
            value(&text, "shiftdesk_offers_total{outcome=\"accepted\"}"),
            Some(1.0)
        );
        assert_eq!(
            value(
                &text,
                "shiftdesk_draft_outcomes_total{drafter=\"kb\",outcome=\"edited\"}"
            ),
            Some(1.0)
        );
    }

    #[test]
    fn gauges_come_from_the_wallboard() {
        let metrics = HubMetrics::new();
        let wallboard = Wallboard {
            at: 100_000,
            workers: Vec::new(),
            queues: vec![WallboardQueue {
                language: Lang::De,
                depth: 2,
                longest_wait_ms: 7_500,
                time_to_human_p50_ms: None,
                time_to_human_p90_ms: None,
            }],
            live: Vec::new(),
            slots: vec![],
        };
        metrics.set_gauges(&Gauges::of(&wallboard, 3));
        let text = metrics.render();
        assert_eq!(
            value(&text, "shiftdesk_queue_depth{language=\"de\"}"),
            Some(2.0)
        );
        assert_eq!(
            value(
                &text,
                "shiftdesk_queue_oldest_wait_seconds{language=\"de\"}"
            ),
            Some(7.5)
        );
        assert_eq!(
            value(&text, "shiftdesk_connections{kind=\"customer\"}"),
            Some(3.0)
        );
        assert_eq!(
            value(
                &text,
                "shiftdesk_workers{connected=\"false\",status=\"break\"}"
            ),
            Some(0.0)
        );
    }
}
