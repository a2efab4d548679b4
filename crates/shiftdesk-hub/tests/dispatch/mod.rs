//! What the dispatch core's tests share: workers, scripted triage decisions, and `Sim`, the
//! core driven with injected time.
#![allow(dead_code)]

use shiftdesk_hub::dispatch::{Command, Dispatch, DispatchConfig, DraftWanted, Effect, Input};
use shiftdesk_hub::facts::Fact;
use std::sync::Arc;

use shiftdesk_hub::triage::{ScriptedTriage, TriageDecision, TriageReason};
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{
    Author, ConversationState, CustomerEvent, ErrorCode, Role, WorkerEvent, WorkerInfo,
    WorkerStatus,
};

pub const T0: u64 = 1_700_000_000_000;

pub fn info(id: &str, langs: &[Lang], capacity: u32) -> WorkerInfo {
    WorkerInfo {
        id: id.into(),
        name: id.to_uppercase(),
        role: Role::Worker,
        languages: langs.to_vec(),
        skills: vec![],
        capacity,
    }
}

pub fn to_human(lang: Lang, reason: TriageReason) -> TriageDecision {
    TriageDecision {
        to_human: true,
        reason,
        language: lang,
        intent: "other".into(),
        confidence: 0.3,
        bot_answer: None,
        sources: vec![],
    }
}

pub fn asked(lang: Lang) -> TriageDecision {
    to_human(
        lang,
        TriageReason::AskedForPerson {
            phrase: "a person".into(),
        },
    )
}

pub fn bot_answer(lang: Lang) -> TriageDecision {
    TriageDecision {
        to_human: false,
        reason: TriageReason::Answered {
            article: "pay-early".into(),
            confidence: 0.9,
        },
        language: lang,
        intent: "pay_early".into(),
        confidence: 0.9,
        bot_answer: Some("You can pay early in the app.".into()),
        sources: vec!["pay-early".into()],
    }
}

pub fn clarify(lang: Lang) -> TriageDecision {
    TriageDecision {
        to_human: false,
        reason: TriageReason::Clarify {
            first: "move-due-date".into(),
            second: "payment-plans".into(),
        },
        language: lang,
        intent: "unknown".into(),
        confidence: 0.6,
        bot_answer: Some("Do you mean moving a due date, or payment plans?".into()),
        sources: vec!["move-due-date".into(), "payment-plans".into()],
    }
}

/// A test harness around the core that keeps every recorded fact.
pub struct Sim {
    pub d: Dispatch,
    pub triage: Arc<ScriptedTriage>,
    pub facts: Vec<Fact>,
    pub now: u64,
}

impl Sim {
    pub fn new() -> Sim {
        let triage = Arc::new(ScriptedTriage::default());
        Sim {
            d: Dispatch::new(
                DispatchConfig {
                    offer_timeout_ms: 30_000,
                    grace_ms: 60_000,
                    ..DispatchConfig::default()
                },
                triage.clone(),
            ),
            triage,
            facts: vec![],
            now: T0,
        }
    }

    pub fn run(&mut self, input: Input) -> Vec<Effect> {
        let effects = self.d.handle(input, self.now).expect("input accepted");
        self.keep(&effects);
        self.d.check_invariants().expect("invariants hold");
        effects
    }

    pub fn keep(&mut self, effects: &[Effect]) {
        for e in effects {
            if let Effect::Record(f) = e {
                self.facts.push(f.clone());
            }
        }
    }

    pub fn cmd(&mut self, worker: &str, command: Command) -> Result<Vec<Effect>, ErrorCode> {
        match self.d.handle(
            Input::Command {
                worker: worker.into(),
                command,
            },
            self.now,
        ) {
            Ok(effects) => {
                self.keep(&effects);
                self.d.check_invariants().expect("invariants hold");
                Ok(effects)
            }
            Err(r) => Err(r.code),
        }
    }

    pub fn online(&mut self, id: &str, langs: &[Lang], capacity: u32) {
        self.run(Input::WorkerConnected {
            info: info(id, langs, capacity),
            resumed: false,
        });
        self.cmd(id, Command::SetStatus(WorkerStatus::Available))
            .expect("status accepted");
    }

    pub fn customer(&mut self, lang: Lang) -> String {
        let conversation = format!("c{}", self.d.conversation_ids().len() + 1);
        let effects = self.run(Input::CustomerOpened {
            conversation,
            customer: "Ana".into(),
            language: Some(lang),
            key: "k".into(),
            context: vec![],
            verified: Vec::new(),
        });
        effects
            .iter()
            .find_map(|e| match e {
                Effect::Record(Fact::ConversationOpened { conversation, .. }) => {
                    Some(conversation.clone())
                }
                _ => None,
            })
            .expect("a conversation opened")
    }

    /// A customer message; `triage` is what the core's triage decides if the bot has it.
    pub fn say(&mut self, conversation: &str, text: &str, triage: TriageDecision) -> Vec<Effect> {
        if self.d.conversation_state(conversation) == Some(ConversationState::Bot) {
            self.triage.push(triage);
        }
        self.run(Input::CustomerMessage {
            conversation: conversation.into(),
            text: text.into(),
        })
    }

    pub fn advance(&mut self, ms: u64) -> Vec<Effect> {
        self.now += ms;
        self.run(Input::Tick)
    }
}

pub fn offers(effects: &[Effect]) -> Vec<(String, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::ToWorker {
                worker,
                event: WorkerEvent::Offer { conversation, .. },
            } => Some((worker.clone(), conversation.clone())),
            _ => None,
        })
        .collect()
}

/// The draft the core asked for, if it asked for one.
pub fn draft_wanted(effects: &[Effect]) -> Option<&DraftWanted> {
    effects.iter().find_map(|e| match e {
        Effect::NeedDraft(wanted) => Some(wanted),
        _ => None,
    })
}

pub fn customer_texts(effects: &[Effect]) -> Vec<(Author, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::ToCustomer {
                event: CustomerEvent::Message { from, text, .. },
                ..
            } => Some((*from, text.clone())),
            _ => None,
        })
        .collect()
}
