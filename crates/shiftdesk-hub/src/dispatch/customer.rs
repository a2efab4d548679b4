//! What customers do: open a conversation, write, leave; and the drafts written for them.
//! While the bot has a conversation every message is triaged here (the core owns the policy;
//! the knowledge base it reads is given to [`Dispatch::new`]), and an undeclared language is
//! detected from what the customer wrote.

use super::*;

/// What a customer gave when opening a conversation.
pub(super) struct Opening {
    pub customer: String,
    pub language: Option<Lang>,
    pub key: String,
    pub context: Vec<(String, String)>,
    pub verified: Vec<String>,
}

impl Dispatch {
    pub(super) fn customer_opened(
        &mut self,
        conversation: ConversationId,
        opening: Opening,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        if self.conversations.contains_key(&conversation) {
            return Err(Refusal::new(
                ErrorCode::Conflict,
                format!("conversation `{conversation}` already exists"),
            ));
        }
        let Opening {
            customer,
            language,
            key,
            context,
            verified,
        } = opening;
        // A language this hub does not serve is treated as undeclared: detected from what the
        // customer writes, among the languages it does serve.
        let language = language.filter(|l| crate::languages::is_served(*l));
        self.record(
            Fact::ConversationOpened {
                conversation: conversation.clone(),
                customer,
                language,
                key,
                context,
                verified,
                at: now,
            },
            out,
        );
        let greeting = notices::welcome(language.unwrap_or(Lang::En));
        self.record(
            Fact::BotSaid {
                conversation: conversation.clone(),
                text: greeting.clone(),
                sources: Vec::new(),
                at: now,
            },
            out,
        );
        out.push(Effect::ToCustomer {
            conversation,
            event: CustomerEvent::Message {
                from: Author::Bot,
                text: greeting,
                at: now,
                name: None,
            },
        });
        Ok(())
    }

    pub(super) fn customer_left(
        &mut self,
        conversation: ConversationId,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let c = self.conversation(&conversation)?;
        if c.open() {
            let owner = c.owner.clone();
            self.end_for_everyone(&conversation, "abandoned", out);
            self.end_pending_draft(&conversation, DraftEnd::Abandoned, now, out);
            self.record(
                Fact::Abandoned {
                    conversation,
                    at: now,
                },
                out,
            );
            if let Some(owner) = owner {
                self.after_release(&owner, now, out);
            }
        }
        Ok(())
    }

    /// The drafter answered: the draft goes to the owner and shadowers (replacing the one
    /// waiting, which is recorded as superseded), unless a newer message came, a worker answered
    /// the message meanwhile (the draft is stale), or the conversation ended.
    pub(super) fn draft_ready(
        &mut self,
        conversation: ConversationId,
        draft: Draft,
        attempt: u32,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let c = self.conversation(&conversation)?;
        let current = c.last_customer_message().map(|m| m.n) == Some(draft.for_message);
        // A worker already answered the message: the draft would answer it twice.
        if !(c.open() && current) || c.answered_after(draft.for_message) {
            return Ok(());
        }
        self.end_pending_draft(&conversation, DraftEnd::Superseded, now, out);
        self.record(
            Fact::Drafted {
                conversation: conversation.clone(),
                draft: draft.clone(),
                attempt,
                at: now,
            },
            out,
        );
        let event = WorkerEvent::Draft {
            conversation: conversation.clone(),
            draft,
        };
        self.to_watchers(&conversation, event, out);
        Ok(())
    }

    pub(super) fn customer_message(
        &mut self,
        id: &str,
        text: String,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let c = self.conversation(id)?;
        if !c.open() {
            return Err(Refusal::new(
                ErrorCode::Conflict,
                "this conversation has ended; start a new one",
            ));
        }
        let state = c.state;
        // The language known before this message is the hint; triage reads the message first.
        let decision = (state == ConversationState::Bot).then(|| {
            let hint = self.conversation_language(id);
            let decision = match self.clarifying(id) {
                Some((message, first, second)) => {
                    let asked = Clarifying {
                        message: &message,
                        first: &first,
                        second: &second,
                    };
                    self.triage.triage_answer(&text, &asked, hint)
                }
                None => self.triage.triage(&text, hint),
            };
            self.never_loop(id, decision)
        });
        self.record(
            Fact::CustomerSaid {
                conversation: id.to_string(),
                text,
                at: now,
            },
            out,
        );
        let n = self
            .conversations
            .get(id)
            .map_or(0, |c| c.messages.len() as u32);
        if state == ConversationState::Bot {
            self.detect_language(id, now, out);
            let Some(decision) = decision else {
                return Ok(());
            };
            self.record(
                Fact::Triaged {
                    conversation: id.to_string(),
                    message: n,
                    decision: decision.clone(),
                    at: now,
                },
                out,
            );
            if decision.to_human {
                let crisis = matches!(
                    decision.reason,
                    TriageReason::Sensitive {
                        topic: SensitiveTopic::Crisis,
                        ..
                    }
                );
                let priority = match decision.reason {
                    _ if crisis => 3,
                    TriageReason::Sensitive { .. } | TriageReason::OperatorTopic { .. } => 2,
                    TriageReason::AskedForPerson { .. } | TriageReason::AskedAgain { .. } => 1,
                    _ => 0,
                };
                // Triage already applied a declared conversation's language; an undeclared one
                // keeps what was detected from all the customer wrote.
                let language = self
                    .conversations
                    .get(id)
                    .map_or(decision.language, |c| c.language);
                self.record(
                    Fact::Queued {
                        conversation: id.to_string(),
                        priority,
                        intent: decision.intent.clone(),
                        why: decision.reason.explain(),
                        language,
                        at: now,
                    },
                    out,
                );
                if crisis {
                    self.system_line(id, notices::crisis(language), None, now, out);
                }
                let position = self.queue_position(id).unwrap_or(1);
                let notice = triage::handoff_notice(language, position as usize);
                self.system_line(id, notice, None, now, out);
                out.push(Effect::ToCustomer {
                    conversation: id.to_string(),
                    event: self.queued_event(id, now),
                });
                self.want_draft(id, 0, out);
            } else if let Some(answer) = decision.bot_answer {
                // A clarifying question names two articles but sends neither.
                let sources = match decision.reason {
                    TriageReason::Clarify { .. } => Vec::new(),
                    _ => decision.sources.clone(),
                };
                self.record(
                    Fact::BotSaid {
                        conversation: id.to_string(),
                        text: answer.clone(),
                        sources,
                        at: now,
                    },
                    out,
                );
                out.push(Effect::ToCustomer {
                    conversation: id.to_string(),
                    event: CustomerEvent::Message {
                        from: Author::Bot,
                        text: answer,
                        at: now,
                        name: None,
                    },
                });
            }
        } else {
            self.send_last_line(id, out);
            self.want_draft(id, 0, out);
        }
        Ok(())
    }
    /// When the bot's last turn was a clarifying question: the customer message it was about
    /// and the two articles it named. The next message answers it.
    fn clarifying(&self, id: &str) -> Option<(String, String, String)> {
        let c = self.conversations.get(id)?;
        let (first, second) = c.clarifying.clone()?;
        let message = c
            .messages
            .iter()
            .rev()
            .find(|m| m.from == Author::Customer)?
            .text
            .clone();
        Some((message, first, second))
    }

    /// The bot never goes round in circles: an article it already sent, a clarifying question
    /// right after another, or a second "hello" answered with a question, means a person
    /// instead; a second "thank you" gets no answer.
    fn never_loop(&self, id: &str, decision: TriageDecision) -> TriageDecision {
        let c = self.conversations.get(id);
        if let TriageReason::Answered { article, .. } = &decision.reason
            && c.is_some_and(|c| c.bot_sources.values().any(|s| s.contains(article)))
        {
            let article = article.clone();
            return decision.to_person(TriageReason::AskedAgain { article });
        }
        if decision.reason == TriageReason::Thanked && c.is_some_and(|c| c.thanked) {
            // Thanked again: the bot has said "you're welcome" once and says nothing more.
            return TriageDecision {
                bot_answer: None,
                ..decision
            };
        }
        let just_asked = c.is_some_and(|c| c.clarifying.is_some());
        let loops = match decision.reason {
            TriageReason::Clarify { .. } => just_asked,
            TriageReason::Greeted => c.is_some_and(|c| c.greeted),
            _ => false,
        };
        if decision.to_human || !loops {
            return decision;
        }
        decision.unsure()
    }

    /// For a customer who declared no language: detect it from everything they wrote while the
    /// bot had the conversation (the last [`DETECT_MESSAGES`] messages), and record it when it
    /// is first clear or when it changes. More text is more evidence, so a clear later message
    /// outweighs an earlier "ok", while one unclear message never undoes a clear detection.
    pub(super) fn detect_language(&mut self, id: &str, now: Millis, out: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get(id) else {
            return;
        };
        if c.declared {
            return;
        }
        // The newest few, read from the back: the cost does not grow with the conversation.
        let mut customer: Vec<&str> = c
            .messages
            .iter()
            .rev()
            .filter(|m| m.from == Author::Customer)
            .take(DETECT_MESSAGES)
            .map(|m| m.text.as_str())
            .collect();
        customer.reverse();
        let recent = customer.join("\n");
        let Some(language) = crate::lang::detect_clear(&recent) else {
            return;
        };
        if c.detected && c.language == language {
            return;
        }
        self.record(
            Fact::LanguageDetected {
                conversation: id.to_string(),
                language,
                at: now,
            },
            out,
        );
    }
}

/// How many of the customer's latest messages language detection reads.
const DETECT_MESSAGES: usize = 8;
