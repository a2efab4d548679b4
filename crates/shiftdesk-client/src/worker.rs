//! The worker and supervisor dialect (`/ws/worker`): `hello` with the token and the resume
//! cursor, answered by `welcome` or an `error` that says whether retrying can help.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::liveness::Liveness;
use crate::session::{self, Dialect, Endpoint, Frame, HubEvent, Session, SessionEvent, Verdict};
use shiftdesk_protocol::{
    ErrorCode, PROTOCOL_VERSION, Resume, WorkerCommand, WorkerEvent, WorkerFrame,
};

/// Called once, after the first `welcome` (the console remembers the login then).
pub type LoginHook = Arc<dyn Fn() + Send + Sync>;

/// What a worker session needs.
#[derive(Clone, Default)]
pub struct WorkerConfig {
    pub endpoint: Endpoint,
    pub token: String,
    pub on_first_login: Option<LoginHook>,
    /// `hello.features`: the optional frames to ask for (`decisions` by default; a standby
    /// console adds `demand`).
    pub features: Vec<String>,
}

impl WorkerConfig {
    pub fn new(hub: impl Into<String>, token: impl Into<String>) -> WorkerConfig {
        WorkerConfig {
            endpoint: Endpoint {
                hub: hub.into(),
                tls: None,
            },
            token: token.into(),
            on_first_login: None,
            features: vec![shiftdesk_protocol::FEATURE_DECISIONS.into()],
        }
    }
}

pub struct WorkerDialect {
    token: String,
    on_first_login: Option<LoginHook>,
    features: Vec<String>,
}

impl WorkerDialect {
    pub fn new(token: impl Into<String>) -> WorkerDialect {
        WorkerDialect {
            token: token.into(),
            on_first_login: None,
            features: vec![shiftdesk_protocol::FEATURE_DECISIONS.into()],
        }
    }
}

pub type WorkerSession = Session<WorkerFrame>;
pub type WorkerEvents = mpsc::UnboundedReceiver<SessionEvent<WorkerEvent>>;

/// Start a worker session with the default liveness rules.
pub fn spawn(config: WorkerConfig) -> (WorkerSession, WorkerEvents) {
    spawn_with(config, Liveness::default())
}

/// [`spawn`] with other liveness settings (tests).
pub fn spawn_with(config: WorkerConfig, liveness: Liveness) -> (WorkerSession, WorkerEvents) {
    let dialect = WorkerDialect {
        token: config.token,
        on_first_login: config.on_first_login,
        features: config.features,
    };
    session::spawn(dialect, config.endpoint, liveness)
}

impl Frame for WorkerFrame {
    type Command = WorkerCommand;

    fn new(id: String, command: WorkerCommand) -> WorkerFrame {
        WorkerFrame::new(id, command)
    }

    fn in_sequence(self, producer: &str, n: u64) -> WorkerFrame {
        WorkerFrame::in_sequence(self, producer, n)
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn command(&self) -> &WorkerCommand {
        &self.command
    }
}

impl HubEvent for WorkerEvent {
    fn answer_to(&self) -> Option<&str> {
        match self {
            WorkerEvent::Ack { id, .. } | WorkerEvent::Error { id: Some(id), .. } => Some(id),
            _ => None,
        }
    }
}

impl Dialect for WorkerDialect {
    type Frame = WorkerFrame;
    type Event = WorkerEvent;
    const ENDPOINT: &'static str = "/ws/worker";
    const LOGIN: &'static str = "hello";
    const REPLACED: &'static str = "logged in from another console; this one stopped";

    fn login(&self, id: String, resume: Option<Resume>) -> WorkerFrame {
        WorkerFrame::new(
            id,
            WorkerCommand::Hello {
                token: self.token.clone(),
                protocol: PROTOCOL_VERSION,
                resume,
                features: self.features.clone(),
            },
        )
    }

    fn ping(id: String) -> WorkerFrame {
        WorkerFrame::new(id, WorkerCommand::Ping)
    }

    fn classify(&mut self, event: &WorkerEvent, login_id: &str) -> Verdict {
        match event {
            WorkerEvent::Welcome {
                stream, resumed, ..
            } => {
                if let Some(hook) = self.on_first_login.take() {
                    hook();
                }
                Verdict::LoggedIn {
                    stream: stream.clone(),
                    resumed: *resumed,
                }
            }
            WorkerEvent::Error {
                id: Some(id),
                code,
                message,
            } if id == login_id => match code {
                ErrorCode::Unauthorized => {
                    Verdict::Refused(format!("the hub refused the token: {message}"))
                }
                ErrorCode::Version => Verdict::Refused(format!("protocol mismatch: {message}")),
                ErrorCode::Forbidden => Verdict::Refused(message.clone()),
                _ => {
                    tracing::warn!(?code, %message, "login failed");
                    Verdict::Retry(format!("login failed: {message}"))
                }
            },
            WorkerEvent::Pong { .. } => Verdict::Pong,
            _ => Verdict::Pass,
        }
    }
}
