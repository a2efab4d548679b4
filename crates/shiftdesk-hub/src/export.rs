//! `shiftdesk export`: conversations and drafts as JSON lines, read from the event log.
//!
//! The export opens the store read-only, so it works while the hub is running (SQLite's WAL
//! lets readers and the writer proceed together; PostgreSQL reads a snapshot). It is a pure fold over facts: the same log always
//! exports the same lines.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::dispatch::{Dispatch, DispatchConfig};
use crate::facts::{DraftEnd, Fact};
use crate::store::{EventStore, SqliteStore};
use crate::triage::TriageReason;
use shiftdesk_protocol::{
    ConversationView, DraftOutcome, Message, Millis, RejectReason, WorkerInfo,
};

#[derive(Debug, Serialize)]
pub struct TriageRecord {
    pub message: u32,
    pub to_human: bool,
    pub reason: TriageReason,
    pub explanation: String,
    pub intent: String,
    pub confidence: f32,
    pub at: Millis,
}

#[derive(Debug, Serialize)]
pub struct ConversationRecord {
    pub id: String,
    pub state: shiftdesk_protocol::ConversationState,
    pub language: crate::lang::Lang,
    pub customer: String,
    pub intent: String,
    pub owner: Option<String>,
    pub opened_at: Millis,
    pub time_to_first_offer_ms: Option<u64>,
    pub messages: Vec<Message>,
    pub triage: Vec<TriageRecord>,
}

#[derive(Debug, Serialize)]
pub struct DraftRecord {
    pub conversation: String,
    pub draft: String,
    pub for_message: u32,
    pub drafter: String,
    /// The model that wrote the draft (or failed to, for `fallback`); null for the built-in
    /// drafter and for drafts logged before models were recorded.
    pub model: Option<String>,
    pub text: String,
    pub confidence: f32,
    pub intent: String,
    pub language: crate::lang::Lang,
    pub sources: Vec<String>,
    pub attempt: u32,
    pub outcome: ExportedOutcome,
    pub sent_text: Option<String>,
    pub reason: Option<RejectReason>,
    pub edit_distance: Option<u32>,
    pub worker: Option<String>,
    pub drafted_at: Millis,
    pub settled_at: Option<Millis>,
}

/// How a draft ended, as the export gives it: what the worker did with it (the outcomes of the
/// wire's `draft_done`), how it stopped waiting when nobody acted on it, or `pending` while it
/// is still waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportedOutcome {
    Pending,
    Accepted,
    Edited,
    Rejected,
    Regenerated,
    Superseded,
    Discarded,
    Abandoned,
}

impl From<DraftOutcome> for ExportedOutcome {
    fn from(outcome: DraftOutcome) -> Self {
        match outcome {
            DraftOutcome::Pending => ExportedOutcome::Pending,
            DraftOutcome::Accepted => ExportedOutcome::Accepted,
            DraftOutcome::Edited => ExportedOutcome::Edited,
            DraftOutcome::Rejected => ExportedOutcome::Rejected,
            DraftOutcome::Regenerated => ExportedOutcome::Regenerated,
        }
    }
}

impl From<DraftEnd> for ExportedOutcome {
    fn from(end: DraftEnd) -> Self {
        match end {
            DraftEnd::Superseded => ExportedOutcome::Superseded,
            DraftEnd::Discarded => ExportedOutcome::Discarded,
            DraftEnd::Abandoned => ExportedOutcome::Abandoned,
        }
    }
}

/// One record per conversation, in id order.
pub fn conversations(workers: &[WorkerInfo], facts: &[Fact]) -> Vec<ConversationRecord> {
    // Replaying never triages: the decisions are in the log.
    let mut dispatch = Dispatch::new(
        DispatchConfig::default(),
        std::sync::Arc::new(crate::drafting::kb::KnowledgeBase::builtin()),
    );
    for w in workers {
        dispatch.upsert_worker(w.clone());
    }
    let mut triage: BTreeMap<String, Vec<TriageRecord>> = BTreeMap::new();
    let mut queued_at: BTreeMap<String, Millis> = BTreeMap::new();
    let mut first_offer: BTreeMap<String, u64> = BTreeMap::new();
    for fact in facts {
        dispatch.apply(fact);
        match fact {
            Fact::Triaged {
                conversation,
                message,
                decision,
                at,
            } => triage
                .entry(conversation.clone())
                .or_default()
                .push(TriageRecord {
                    message: *message,
                    to_human: decision.to_human,
                    explanation: decision.reason.explain(),
                    reason: decision.reason.clone(),
                    intent: decision.intent.clone(),
                    confidence: decision.confidence,
                    at: *at,
                }),
            Fact::Queued {
                conversation, at, ..
            } => {
                queued_at.entry(conversation.clone()).or_insert(*at);
            }
            Fact::Offered {
                conversation, at, ..
            } => {
                if let Some(q) = queued_at.get(conversation) {
                    first_offer
                        .entry(conversation.clone())
                        .or_insert(at.saturating_sub(*q));
                }
            }
            _ => {}
        }
    }
    let mut views: Vec<ConversationView> = dispatch
        .conversation_ids()
        .iter()
        .filter_map(|id| dispatch.conversation_view(id))
        .collect();
    // Oldest first; ids of older hubs were numbered ("c12"), newer ones are random.
    views.sort_by_cached_key(|view| {
        let numbered = view.id.trim_start_matches('c').parse::<u64>().ok();
        (view.opened_at, numbered, view.id.clone())
    });
    views
        .into_iter()
        .map(|view| ConversationRecord {
            triage: triage.remove(&view.id).unwrap_or_default(),
            time_to_first_offer_ms: first_offer.get(&view.id).copied(),
            // The export is the operator's record: what was said, unmasked.
            customer: dispatch
                .customer_name(&view.id)
                .unwrap_or_default()
                .to_string(),
            messages: dispatch.transcript(&view.id).unwrap_or_default(),
            id: view.id,
            state: view.state,
            language: view.language,
            intent: view.intent,
            owner: view.owner,
            opened_at: view.opened_at,
        })
        .collect()
}

/// One record per draft, in the order they were made.
pub fn drafts(facts: &[Fact]) -> Vec<DraftRecord> {
    let mut records: Vec<DraftRecord> = Vec::new();
    let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
    for fact in facts {
        match fact {
            Fact::Drafted {
                conversation,
                draft,
                attempt,
                at,
            } => {
                index.insert((conversation.clone(), draft.id.clone()), records.len());
                records.push(DraftRecord {
                    conversation: conversation.clone(),
                    draft: draft.id.clone(),
                    for_message: draft.for_message,
                    drafter: draft.proposal.drafter.clone(),
                    model: draft.proposal.model.clone(),
                    text: draft.proposal.text.clone(),
                    confidence: draft.proposal.confidence,
                    intent: draft.proposal.intent.clone(),
                    language: draft.proposal.language,
                    sources: draft.proposal.sources.clone(),
                    attempt: *attempt,
                    outcome: ExportedOutcome::Pending,
                    sent_text: None,
                    reason: None,
                    edit_distance: None,
                    worker: None,
                    drafted_at: *at,
                    settled_at: None,
                });
            }
            Fact::DraftSettled {
                conversation,
                draft,
                worker,
                outcome,
                sent_text,
                reason,
                edit_distance,
                at,
            } => {
                if let Some(&i) = index.get(&(conversation.clone(), draft.clone())) {
                    let r = &mut records[i];
                    r.outcome = (*outcome).into();
                    r.sent_text = sent_text.clone();
                    r.reason = *reason;
                    r.edit_distance = *edit_distance;
                    r.worker = Some(worker.clone());
                    r.settled_at = Some(*at);
                }
            }
            Fact::DraftEnded {
                conversation,
                draft,
                outcome,
                at,
            } => {
                if let Some(&i) = index.get(&(conversation.clone(), draft.clone())) {
                    let r = &mut records[i];
                    r.outcome = (*outcome).into();
                    r.settled_at = Some(*at);
                }
            }
            _ => {}
        }
    }
    records
}

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportKind {
    Conversations,
    Drafts,
    /// One object per shift that ended: worker, start, end, minutes available, engaged and on
    /// break, conversations, earnings.
    Shifts,
}

/// One shift, as `shiftdesk export shifts` gives it.
#[derive(Debug, Serialize)]
pub struct ShiftLine {
    pub worker: String,
    pub start: Millis,
    pub end: Millis,
    pub minutes_available: f64,
    pub minutes_engaged: f64,
    pub minutes_on_break: f64,
    pub conversations: u32,
    /// By the rate card in force when the shift ended; `null` without one.
    pub earnings: Option<shiftdesk_protocol::Earnings>,
    /// That rate card in words; left out without one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rate_card: Vec<String>,
    /// The automated decisions about the worker during the shift, by kind; left out when none.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub decisions: std::collections::BTreeMap<String, u32>,
}

/// Every shift that ended, in the order they ended.
pub fn shifts(facts: &[Fact]) -> Vec<ShiftLine> {
    let minutes = |ms: u64| (ms as f64 / 600.0).round() / 100.0;
    facts
        .iter()
        .filter_map(|f| match f {
            Fact::ShiftEnded { shift, .. } => Some(ShiftLine {
                worker: shift.worker.clone(),
                start: shift.start,
                end: shift.end,
                minutes_available: minutes(shift.available_ms),
                minutes_engaged: minutes(shift.engaged_ms),
                minutes_on_break: minutes(shift.break_ms),
                conversations: shift.conversations,
                earnings: shift.earnings.clone(),
                rate_card: shift.rate_card.clone(),
                decisions: shift.decisions.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// Write the export of the SQLite store in `data_dir` to `out`, one JSON object per line.
pub fn run(kind: ExportKind, data_dir: &Path, out: &mut dyn Write) -> anyhow::Result<usize> {
    run_store(kind, &SqliteStore::open_read_only(data_dir)?, out)
}

/// Write the export of `store` (either backend) to `out`, one JSON object per line.
pub fn run_store(
    kind: ExportKind,
    store: &dyn EventStore,
    out: &mut dyn Write,
) -> anyhow::Result<usize> {
    let facts: Vec<Fact> = store.load()?;
    let workers: Vec<WorkerInfo> = store.workers()?.into_iter().map(|w| w.info).collect();
    let lines: Vec<String> = match kind {
        ExportKind::Conversations => conversations(&workers, &facts)
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?,
        ExportKind::Drafts => drafts(&facts)
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?,
        ExportKind::Shifts => shifts(&facts)
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?,
    };
    for line in &lines {
        writeln!(out, "{line}")?;
    }
    Ok(lines.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drafted(proposal: serde_json::Value) -> Fact {
        let draft = serde_json::json!({"id": "d1", "for_message": 2});
        let mut draft = draft.as_object().cloned().expect("object");
        draft.extend(proposal.as_object().cloned().expect("object"));
        Fact::Drafted {
            conversation: "c1".into(),
            draft: serde_json::from_value(serde_json::Value::Object(draft)).expect("a draft"),
            attempt: 0,
            at: 5,
        }
    }

    #[test]
    fn every_draft_names_its_model_and_old_logs_still_export() {
        // Logged before drafts recorded a model: no `model`, no `latency_ms`.
        let old = drafted(serde_json::json!({
            "text": "Hello", "confidence": 0.8, "intent": "pay_early", "language": "en",
            "sources": ["pay-early"], "drafter": "kb",
        }));
        let new = drafted(serde_json::json!({
            "text": "Hi", "confidence": 0.8, "intent": "pay_early", "language": "en",
            "sources": ["pay-early"], "drafter": "openai", "model": "smollm2", "latency_ms": 1200,
        }));
        let lines: Vec<serde_json::Value> = drafts(&[old, new])
            .iter()
            .map(|r| serde_json::to_value(r).expect("serializes"))
            .collect();
        assert_eq!(lines[0]["model"], serde_json::Value::Null);
        assert!(
            lines[0]
                .as_object()
                .is_some_and(|o| o.contains_key("model"))
        );
        assert_eq!(lines[1]["model"], "smollm2");
        assert_eq!(lines[1]["drafter"], "openai");
    }
}
