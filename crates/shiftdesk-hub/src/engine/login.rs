//! Logging in: a worker's `hello` (checked against the token store, answered with `welcome`
//! and either the missed frames or a snapshot) and a customer's `start` (a new conversation
//! with a fresh id and key, or a resume with the key).

use super::*;

/// What a customer said about themselves when opening a conversation.
pub(super) struct Opening {
    pub(super) name: Option<String>,
    pub(super) lang: Option<Lang>,
    pub(super) context: Vec<(String, String)>,
    pub(super) verified: Vec<String>,
}

impl Engine {
    // The fields of `hello` one by one, as the other logins take them.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn worker_hello(
        &mut self,
        conn: ConnHandle,
        id: &str,
        token: &str,
        version: u32,
        resume: Option<Resume>,
        features: &[String],
        now: Millis,
    ) -> Option<WorkerId> {
        let error = |code, message: &str| {
            direct(
                &conn,
                &WorkerEvent::Error {
                    id: Some(id.to_string()),
                    code,
                    message: message.to_string(),
                },
            )
        };
        if version != PROTOCOL_VERSION {
            error(
                ErrorCode::Version,
                &format!("this hub speaks protocol {PROTOCOL_VERSION}, not {version}"),
            );
            return None;
        }
        let stored = match self.store.worker_by_token(&hash_token(token)) {
            Ok(Some(w)) => w,
            Ok(None) => {
                error(ErrorCode::Unauthorized, "unknown token");
                return None;
            }
            Err(e) => {
                tracing::error!(%e, "token lookup failed");
                error(
                    ErrorCode::Unavailable,
                    "the hub cannot read its store; retry",
                );
                return None;
            }
        };
        let info = stored.info;
        let worker = info.id.clone();
        let status = self
            .dispatch
            .worker_status(&worker)
            .unwrap_or(shiftdesk_protocol::WorkerStatus::Offline);
        let stats = self.dispatch.worker_stats(&worker).unwrap_or_default();
        let limits = self.limits();
        let stream = stream_of(
            &mut self.workers,
            &self.streams,
            self.store.as_ref(),
            &worker,
            || false,
        );
        let replaced = stream.conn.take().inspect(|old| {
            old.kill(CLOSE_REPLACED, "logged in elsewhere");
        });
        let replay = resume
            .filter(|r| r.stream == stream.name)
            .and_then(|r| stream.replay_from(r.last_seq, self.store.as_ref()));
        let welcome = WorkerEvent::Welcome {
            protocol: PROTOCOL_VERSION,
            stream: stream.name.clone(),
            resumed: replay.is_some(),
            worker: info.clone(),
            status,
            stats,
            limits,
            server_time: now,
            languages: crate::languages::registry()
                .loaded()
                .map(|l| (l.lang, l.name.to_string()))
                .collect(),
        };
        self.held
            .push((conn.clone(), protocol::encode(0, &welcome).into()));
        if let Some(frames) = &replay {
            for frame in frames {
                self.held.push((conn.clone(), frame.clone()));
            }
        }
        stream.conn = Some(conn);
        stream.wants_decisions = features
            .iter()
            .any(|f| f == shiftdesk_protocol::FEATURE_DECISIONS);
        stream.wants_demand = features
            .iter()
            .any(|f| f == shiftdesk_protocol::FEATURE_DEMAND);
        if replaced.is_some() {
            // The wallboard went to the replaced connection; the new one subscribes again.
            self.wallboard_subscribers.retain(|w| w != &worker);
        }
        let resumed = replay.is_some();
        self.run(Input::WorkerConnected { info, resumed }, now);
        Some(worker)
    }

    pub(super) fn customer_start(
        &mut self,
        conn: ConnHandle,
        id: &str,
        version: u32,
        opening: Opening,
        resume: Option<CustomerResume>,
        now: Millis,
    ) -> Option<ConversationId> {
        let error = |code, message: String| {
            direct(
                &conn,
                &CustomerEvent::Error {
                    id: Some(id.to_string()),
                    code,
                    message,
                    retry_after_ms: None,
                },
            )
        };
        if version != PROTOCOL_VERSION {
            error(
                ErrorCode::Version,
                format!("this hub speaks protocol {PROTOCOL_VERSION}, not {version}"),
            );
            return None;
        }
        if let Some(resume) = resume {
            let key = self.dispatch.conversation_key(&resume.conversation);
            if key.as_deref() != Some(resume.key.as_str()) {
                error(
                    ErrorCode::Unauthorized,
                    format!("no conversation `{}` with that key", resume.conversation),
                );
                return None;
            }
            let conversation = resume.conversation.clone();
            let stream = stream_of(
                &mut self.customers,
                &self.streams,
                self.store.as_ref(),
                &conversation,
                || conversation_ended(&self.dispatch, &conversation),
            );
            // Without a stream name, `last_seq` counts frames of the current stream.
            let replay = resume
                .stream
                .is_none_or(|s| s == stream.name)
                .then(|| stream.replay_from(resume.last_seq, self.store.as_ref()))
                .flatten();
            // A stream the client cannot continue: send the whole transcript instead, so the
            // page shows no gap (PROTOCOL.md 6.1, "Transcript snapshot").
            let transcript =
                match replay {
                    Some(_) => None,
                    None => self.dispatch.customer_transcript(&conversation).map(
                        |(messages, closed)| shiftdesk_protocol::CustomerTranscript {
                            messages,
                            last_seq: stream.last_seq(),
                            closed,
                        },
                    ),
                };
            let started = CustomerEvent::Started {
                protocol: PROTOCOL_VERSION,
                conversation: conversation.clone(),
                key: resume.key,
                stream: stream.name.clone(),
                resumed: replay.is_some(),
                transcript,
            };
            self.held
                .push((conn.clone(), protocol::encode(0, &started).into()));
            for frame in replay.unwrap_or_default() {
                self.held.push((conn.clone(), frame));
            }
            // One connection per conversation: an older one is told, as a worker's is.
            if let Some(old) = stream.conn.replace(conn) {
                old.kill(CLOSE_REPLACED, "resumed elsewhere");
            }
            return Some(conversation);
        }
        let Opening {
            name,
            lang,
            context,
            verified,
        } = opening;
        let name = name
            .map(|n| n.trim().chars().take(80).collect::<String>())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "Customer".to_string());
        let key = crate::store::new_token();
        let conversation = self.new_conversation_id();
        let input = Input::CustomerOpened {
            conversation: conversation.clone(),
            customer: name,
            language: lang,
            key: key.clone(),
            context,
            verified,
        };
        let effects = match self.dispatch.handle(input, now) {
            Ok(effects) => effects,
            Err(refusal) => {
                error(refusal.code, refusal.message);
                return None;
            }
        };
        let mut stream = self.streams.fresh(&conversation);
        let started = CustomerEvent::Started {
            protocol: PROTOCOL_VERSION,
            conversation: conversation.clone(),
            key,
            stream: stream.name.clone(),
            resumed: false,
            transcript: None,
        };
        self.held
            .push((conn.clone(), protocol::encode(0, &started).into()));
        stream.conn = Some(conn);
        self.customers.insert(conversation.clone(), stream);
        self.carry_out(effects);
        Some(conversation)
    }

    /// A conversation id no conversation has: random, so hubs that share one log never hand
    /// out the same id, and nobody can guess another customer's from their own.
    pub(super) fn new_conversation_id(&self) -> ConversationId {
        loop {
            let id = format!("c-{}", short_id());
            if self.dispatch.conversation_state(&id).is_none() {
                return id;
            }
        }
    }
}

/// Eight characters of base-32 without look-alike letters: 40 bits, short enough to read out
/// to a colleague and to fit a wallboard column.
pub(super) fn short_id() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
    (0..8)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}
