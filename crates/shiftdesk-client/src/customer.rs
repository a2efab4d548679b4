//! The customer dialect (`/ws/customer`): `start` opens a conversation, or resumes it with the
//! conversation's id and key; `started` answers. A conversation the hub does not know (its store
//! was replaced) is forgotten and a new one started.

use std::collections::BTreeMap;

use tokio::sync::mpsc;

use crate::liveness::Liveness;
use crate::session::{self, Dialect, Endpoint, Frame, HubEvent, Session, SessionEvent, Verdict};
use shiftdesk_protocol::{
    CustomerCommand, CustomerEvent, CustomerFrame, CustomerResume, ErrorCode, Lang,
    PROTOCOL_VERSION, Resume,
};

/// What a customer session needs.
#[derive(Clone, Default)]
pub struct CustomerConfig {
    pub endpoint: Endpoint,
    /// Display name for the worker (`None`: "Customer").
    pub name: Option<String>,
    /// The declared language (`None`: detected from the messages).
    pub lang: Option<Lang>,
    /// What the site knows about the customer, shown to the worker masked.
    pub context: BTreeMap<String, String>,
    /// Context signed by the operator's backend (PROTOCOL.md 6.1), shown to workers as
    /// verified.
    pub signed_context: Option<String>,
}

impl CustomerConfig {
    pub fn new(hub: impl Into<String>) -> CustomerConfig {
        CustomerConfig {
            endpoint: Endpoint {
                hub: hub.into(),
                tls: None,
            },
            ..CustomerConfig::default()
        }
    }
}

pub struct CustomerDialect {
    name: Option<String>,
    lang: Option<Lang>,
    context: BTreeMap<String, String>,
    signed_context: Option<String>,
    /// The conversation's id and key, once `started`.
    conversation: Option<(String, String)>,
}

impl CustomerDialect {
    /// A new conversation for a customer called `name`, in `lang` (see [`CustomerConfig`]).
    pub fn new(name: Option<String>, lang: Option<Lang>) -> CustomerDialect {
        CustomerDialect {
            name,
            lang,
            context: BTreeMap::new(),
            signed_context: None,
            conversation: None,
        }
    }
}

pub type CustomerSession = Session<CustomerFrame>;
pub type CustomerEvents = mpsc::UnboundedReceiver<SessionEvent<CustomerEvent>>;

/// Start a customer session with the default liveness rules.
pub fn spawn(config: CustomerConfig) -> (CustomerSession, CustomerEvents) {
    spawn_with(config, Liveness::default())
}

/// [`spawn`] with other liveness settings (tests).
pub fn spawn_with(config: CustomerConfig, liveness: Liveness) -> (CustomerSession, CustomerEvents) {
    let dialect = CustomerDialect {
        name: config.name,
        lang: config.lang,
        context: config.context,
        signed_context: config.signed_context,
        conversation: None,
    };
    session::spawn(dialect, config.endpoint, liveness)
}

impl Frame for CustomerFrame {
    type Command = CustomerCommand;

    fn new(id: String, command: CustomerCommand) -> CustomerFrame {
        CustomerFrame::new(id, command)
    }

    fn in_sequence(self, producer: &str, n: u64) -> CustomerFrame {
        CustomerFrame::in_sequence(self, producer, n)
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn command(&self) -> &CustomerCommand {
        &self.command
    }
}

impl HubEvent for CustomerEvent {
    fn answer_to(&self) -> Option<&str> {
        match self {
            CustomerEvent::Ack { id, .. } | CustomerEvent::Error { id: Some(id), .. } => Some(id),
            _ => None,
        }
    }

    fn retry_after_ms(&self) -> Option<u64> {
        match self {
            CustomerEvent::Error {
                code: ErrorCode::RateLimited,
                retry_after_ms,
                ..
            } => Some(retry_after_ms.unwrap_or(1000)),
            _ => None,
        }
    }
}

impl Dialect for CustomerDialect {
    type Frame = CustomerFrame;
    type Event = CustomerEvent;
    const ENDPOINT: &'static str = "/ws/customer";
    const LOGIN: &'static str = "start";
    const REPLACED: &'static str = "the conversation was resumed on another connection";

    fn login(&self, id: String, resume: Option<Resume>) -> CustomerFrame {
        let resume = self
            .conversation
            .as_ref()
            .zip(resume)
            .map(|((conversation, key), resume)| CustomerResume {
                conversation: conversation.clone(),
                key: key.clone(),
                stream: Some(resume.stream),
                last_seq: resume.last_seq,
            });
        CustomerFrame::new(
            id,
            CustomerCommand::Start {
                protocol: PROTOCOL_VERSION,
                name: self.name.clone(),
                lang: self.lang,
                resume,
                context: self.context.clone(),
                signed_context: self.signed_context.clone(),
            },
        )
    }

    fn ping(id: String) -> CustomerFrame {
        CustomerFrame::new(id, CustomerCommand::Ping)
    }

    fn classify(&mut self, event: &CustomerEvent, login_id: &str) -> Verdict {
        match event {
            CustomerEvent::Started {
                conversation,
                key,
                stream,
                resumed,
                ..
            } => {
                self.conversation = Some((conversation.clone(), key.clone()));
                Verdict::LoggedIn {
                    stream: stream.clone(),
                    resumed: *resumed,
                }
            }
            CustomerEvent::Error {
                id: Some(id),
                code,
                message,
                ..
            } if id == login_id => match code {
                ErrorCode::Unauthorized if self.conversation.is_some() => {
                    // PROTOCOL.md 8.2, step 3: forget the conversation and start a new one.
                    let (old, _) = self.conversation.take().unwrap_or_default();
                    Verdict::StartOver(format!(
                        "the hub does not know conversation {old} ({message}): starting a new one"
                    ))
                }
                ErrorCode::Version => Verdict::Refused(format!("protocol mismatch: {message}")),
                ErrorCode::Unavailable | ErrorCode::RateLimited => {
                    Verdict::Retry(format!("the hub is busy: {message}"))
                }
                _ => Verdict::Refused(format!("the hub refused the conversation: {message}")),
            },
            CustomerEvent::Pong { .. } => Verdict::Pong,
            _ => Verdict::Pass,
        }
    }
}
