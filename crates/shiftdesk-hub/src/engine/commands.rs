//! Commands from logged-in clients. Each is answered once: a retry (the same `cseq` of the same
//! client run, or for clients without one the same id) gets the first answer again and changes
//! nothing.

use super::*;

impl Engine {
    pub(super) fn worker_command(&mut self, worker: &str, frame: WorkerFrame, now: Millis) {
        let WorkerFrame {
            id,
            producer,
            cseq,
            command,
        } = frame;
        let sequence = producer.zip(cseq);
        if let WorkerCommand::Typing { conversation } = &command {
            self.typing(worker, conversation);
            return;
        }
        let principal = format!("w:{worker}");
        let previous = match self.previous_result(&principal, &id, sequence.as_ref()) {
            Ok(previous) => previous,
            Err(e) => {
                let event = WorkerEvent::Error {
                    id: Some(id),
                    code: ErrorCode::Unavailable,
                    message: unreadable(e),
                };
                self.send_worker(worker, &event);
                return;
            }
        };
        if let Some(previous) = previous {
            let event = match previous {
                CommandResult::Ok => WorkerEvent::Ack {
                    id,
                    duplicate: true,
                },
                CommandResult::Refused { code, message } => WorkerEvent::Error {
                    id: Some(id),
                    code: serde_json::from_value(serde_json::Value::String(code))
                        .unwrap_or(ErrorCode::Conflict),
                    message,
                },
            };
            self.send_worker(worker, &event);
            return;
        }
        let is_supervisor = self
            .dispatch
            .worker_info(worker)
            .is_some_and(|w| w.role == Role::Supervisor);
        let name = command.name();
        let books = matches!(
            command,
            WorkerCommand::BookSlot { .. } | WorkerCommand::ReleaseSlot { .. }
        );
        let result = if command.needs_supervisor() && !is_supervisor {
            Err(Refusal {
                code: ErrorCode::Forbidden,
                message: format!("`{name}` needs the supervisor role"),
            })
        } else {
            match command {
                WorkerCommand::Wallboard => {
                    if !self.wallboard_subscribers.iter().any(|w| w == worker) {
                        self.wallboard_subscribers.push(worker.to_string());
                    }
                    let wallboard = self.dispatch.wallboard(now);
                    self.send_worker_direct(worker, &WorkerEvent::Wallboard { wallboard });
                    Ok(Vec::new())
                }
                WorkerCommand::AboutDispatch => {
                    let about = self.dispatch.about();
                    self.send_worker_direct(worker, &WorkerEvent::AboutDispatch { about });
                    Ok(Vec::new())
                }
                WorkerCommand::Schedule => {
                    let schedule = self.dispatch.schedule(worker, now);
                    self.send_worker_direct(worker, &WorkerEvent::Schedule { schedule });
                    Ok(Vec::new())
                }
                WorkerCommand::ShiftHistory => {
                    let shifts = self.dispatch.shifts_of(worker);
                    let decisions = self.dispatch.decisions_about(worker);
                    self.send_worker_direct(
                        worker,
                        &WorkerEvent::ShiftHistory { shifts, decisions },
                    );
                    Ok(Vec::new())
                }
                WorkerCommand::Hello { .. } => Err(Refusal {
                    code: ErrorCode::Conflict,
                    message: "already logged in".into(),
                }),
                WorkerCommand::Ping => Ok(Vec::new()),
                other => match to_core_command(other) {
                    Some(command) => self.dispatch.handle(
                        Input::Command {
                            worker: worker.to_string(),
                            command,
                        },
                        now,
                    ),
                    None => Ok(Vec::new()),
                },
            }
        };
        match result {
            Ok(effects) => {
                self.remember_command(principal, id.clone(), sequence, CommandResult::Ok);
                self.carry_out(effects);
                if books {
                    // The week as it is now, for the console's schedule view.
                    let schedule = self.dispatch.schedule(worker, now);
                    self.send_worker_direct(worker, &WorkerEvent::Schedule { schedule });
                }
                self.send_worker(
                    worker,
                    &WorkerEvent::Ack {
                        id,
                        duplicate: false,
                    },
                );
            }
            Err(refusal) => {
                let code = serde_json::to_value(refusal.code)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let stored = CommandResult::Refused {
                    code,
                    message: refusal.message.clone(),
                };
                self.remember_command(principal, id.clone(), sequence, stored);
                self.send_worker(
                    worker,
                    &WorkerEvent::Error {
                        id: Some(id),
                        code: refusal.code,
                        message: refusal.message,
                    },
                );
            }
        }
    }

    /// The owner of an open conversation is typing: the customer sees it (outside the
    /// stream: nothing stored, nothing replayed). From anyone else it is dropped unanswered.
    fn typing(&mut self, worker: &str, conversation: &str) {
        let open = self
            .dispatch
            .conversation_state(conversation)
            .is_some_and(|s| s == shiftdesk_protocol::ConversationState::Assigned);
        if !open || self.dispatch.owner(conversation) != Some(worker) {
            return;
        }
        let name = self.dispatch.worker_name(worker);
        let conn = self
            .customers
            .get(conversation)
            .and_then(|s| s.conn.as_ref())
            .cloned();
        if let Some(conn) = conn {
            let event = CustomerEvent::Typing { name };
            self.held.push((conn, protocol::encode(0, &event).into()));
        }
    }

    pub(super) fn customer_command(
        &mut self,
        conversation: &str,
        frame: CustomerFrame,
        now: Millis,
    ) {
        let CustomerFrame {
            id,
            producer,
            cseq,
            command,
        } = frame;
        let sequence = producer.zip(cseq);
        let principal = format!("c:{conversation}");
        let previous = match self.previous_result(&principal, &id, sequence.as_ref()) {
            Ok(previous) => previous,
            Err(e) => {
                let event = CustomerEvent::Error {
                    id: Some(id),
                    code: ErrorCode::Unavailable,
                    message: unreadable(e),
                    retry_after_ms: Some(1000),
                };
                self.send_customer(conversation, &event);
                return;
            }
        };
        if let Some(previous) = previous {
            let event = match previous {
                CommandResult::Ok => CustomerEvent::Ack {
                    id,
                    duplicate: true,
                },
                CommandResult::Refused { message, .. } => CustomerEvent::Error {
                    id: Some(id),
                    code: ErrorCode::Conflict,
                    message,
                    retry_after_ms: None,
                },
            };
            self.send_customer(conversation, &event);
            return;
        }
        let input = match command {
            CustomerCommand::Message { text } => Input::CustomerMessage {
                conversation: conversation.to_string(),
                text,
            },
            CustomerCommand::Leave => Input::CustomerLeft {
                conversation: conversation.to_string(),
            },
            CustomerCommand::Start { .. } | CustomerCommand::Ping => {
                self.send_customer(
                    conversation,
                    &CustomerEvent::Ack {
                        id,
                        duplicate: false,
                    },
                );
                return;
            }
        };
        match self.dispatch.handle(input, now) {
            Ok(effects) => {
                self.remember_command(principal, id.clone(), sequence, CommandResult::Ok);
                self.carry_out(effects);
                self.send_customer(
                    conversation,
                    &CustomerEvent::Ack {
                        id,
                        duplicate: false,
                    },
                );
            }
            Err(refusal) => self.send_customer(
                conversation,
                &CustomerEvent::Error {
                    id: Some(id),
                    code: refusal.code,
                    message: refusal.message,
                    retry_after_ms: None,
                },
            ),
        }
    }

    /// The answer a command already got, if it is a retry: by its client run's sequence when
    /// it has one, else by its id (from a batch not yet stored, else from the log).
    pub(super) fn previous_result(
        &mut self,
        principal: &str,
        id: &str,
        sequence: Option<&(String, u64)>,
    ) -> Result<Option<CommandResult>, StoreError> {
        if let Some((producer, n)) = sequence {
            return self
                .sequences
                .previous(principal, producer, *n, self.store.as_ref());
        }
        // Every command in `recent_commands` or in the log is in `seen`: its "no" settles
        // nearly every command without a lookup.
        if !self.seen.may_have(principal, id) {
            return Ok(None);
        }
        if let Some((result, _)) = self
            .recent_commands
            .get(&(principal.to_string(), id.to_string()))
        {
            return Ok(Some(result.clone()));
        }
        self.store.command_result(principal, id)
    }

    /// Remember a command's result: it reaches the log with the open batch, and a retry that
    /// comes before that is answered from here.
    pub(super) fn remember_command(
        &mut self,
        principal: String,
        id: String,
        sequence: Option<(String, u64)>,
        result: CommandResult,
    ) {
        if let Some((producer, n)) = sequence {
            self.sequences
                .applied(&principal, &producer, n, &result, self.batch_no);
            return;
        }
        self.seen.insert(&principal, &id);
        self.recent_commands.insert(
            (principal.clone(), id.clone()),
            (result.clone(), self.batch_no),
        );
        self.batch_commands.push(CommandRecord {
            principal,
            id,
            result,
        });
    }
}

/// What a client is told when the store cannot say whether a command is a retry: nothing was
/// applied, so it is sent again (with a new `cseq`, PROTOCOL.md 3.2).
fn unreadable(e: StoreError) -> String {
    tracing::error!(%e, "cannot read a client's command sequence");
    "the hub cannot read its store; send the command again with a new cseq".into()
}

fn to_core_command(command: WorkerCommand) -> Option<Command> {
    Some(match command {
        WorkerCommand::SetStatus { status } => Command::SetStatus(status),
        WorkerCommand::AcceptOffer { conversation } => Command::AcceptOffer(conversation),
        WorkerCommand::DeclineOffer {
            conversation,
            reason,
        } => Command::DeclineOffer(conversation, reason),
        WorkerCommand::Reply { conversation, text } => Command::Reply(conversation, text),
        WorkerCommand::Draft {
            conversation,
            draft,
            action,
        } => Command::Draft(conversation, draft, action),
        WorkerCommand::Note { conversation, text } => Command::Note(conversation, text),
        WorkerCommand::Resolve { conversation } => Command::Resolve(conversation),
        WorkerCommand::Transfer {
            conversation,
            reason,
        } => Command::Transfer(conversation, reason),
        WorkerCommand::Shadow { conversation } => Command::Shadow(conversation),
        WorkerCommand::Unshadow { conversation } => Command::Unshadow(conversation),
        WorkerCommand::Whisper { conversation, text } => Command::Whisper(conversation, text),
        WorkerCommand::TakeOver { conversation } => Command::TakeOver(conversation),
        WorkerCommand::HandBack {
            conversation,
            worker,
        } => Command::HandBack(conversation, worker),
        WorkerCommand::BookSlot { start } => Command::BookSlot(start),
        WorkerCommand::ReleaseSlot { start } => Command::ReleaseSlot(start),
        WorkerCommand::Hello { .. }
        | WorkerCommand::Ping
        | WorkerCommand::Wallboard
        | WorkerCommand::AboutDispatch
        | WorkerCommand::ShiftHistory
        | WorkerCommand::Schedule
        | WorkerCommand::Typing { .. } => {
            return None;
        }
    })
}
