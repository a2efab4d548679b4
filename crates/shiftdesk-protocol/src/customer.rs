//! The customer dialect (`/ws/customer`): what a chat widget or `shiftdesk customer` sends and
//! receives. PROTOCOL.md section 6.

use serde::{Deserialize, Serialize};

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerFrame {
    pub id: String,
    /// Names one run of the client whose command sequence `cseq` numbers (PROTOCOL.md 3.2).
    /// Both or neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer: Option<String>,
    /// This command's number in `producer`'s sequence: a retry is recognised by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cseq: Option<u64>,
    #[serde(flatten)]
    pub command: CustomerCommand,
}

impl CustomerFrame {
    /// A frame with only an id (deduplicated by id).
    pub fn new(id: impl Into<String>, command: CustomerCommand) -> CustomerFrame {
        CustomerFrame {
            id: id.into(),
            producer: None,
            cseq: None,
            command,
        }
    }

    /// The same frame as number `n` of `producer`'s command sequence.
    pub fn in_sequence(self, producer: impl Into<String>, n: u64) -> CustomerFrame {
        CustomerFrame {
            producer: Some(producer.into()),
            cseq: Some(n),
            ..self
        }
    }

    /// The producer and number, when the frame has both.
    pub fn sequence(&self) -> Option<(&str, u64)> {
        Some((self.producer.as_deref()?, self.cseq?))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CustomerCommand {
    /// First frame: open a conversation, or resume one.
    Start {
        protocol: u32,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        lang: Option<Lang>,
        #[serde(default)]
        resume: Option<CustomerResume>,
        /// What the site knows about the customer (plan, email, ...), shown to the worker
        /// masked. At most 20 entries of at most 200 characters.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        context: std::collections::BTreeMap<String, String>,
        /// Context signed by the operator's backend (PROTOCOL.md 6.1, "Signed context"):
        /// `BASE64URL(JSON).HEX(HMAC-SHA256(secret, BASE64URL(JSON)))`. Workers see its entries
        /// as verified; a token that does not verify is dropped, never shown as fact.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signed_context: Option<String>,
    },
    Ping,
    Message {
        text: String,
    },
    /// The customer leaves. An open conversation becomes `abandoned`.
    Leave,
}

impl CustomerCommand {
    pub fn name(&self) -> &'static str {
        match self {
            CustomerCommand::Start { .. } => "start",
            CustomerCommand::Ping => "ping",
            CustomerCommand::Message { .. } => "message",
            CustomerCommand::Leave => "leave",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerResume {
    pub conversation: ConversationId,
    /// The `stream` from `started`: a hub restart starts a new stream. Optional: without it the
    /// hub takes `last_seq` to count frames of the conversation's current stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// The secret from `started`.
    pub key: String,
    pub last_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CustomerEvent {
    Started {
        protocol: u32,
        conversation: ConversationId,
        /// Keep it to resume this conversation on a new connection.
        key: String,
        /// Names this conversation's frame stream; `seq` counts within it.
        stream: String,
        resumed: bool,
        /// On a resume that cannot continue the client's stream (`resumed: false`, after a hub
        /// restart, say): every line of the conversation so far, so the client shows no gap.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transcript: Option<CustomerTranscript>,
    },
    /// The message with this id is stored; it will not be lost.
    Ack {
        id: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        duplicate: bool,
    },
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        code: ErrorCode,
        message: String,
        /// With `rate_limited`: when the message may be sent again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    Pong {
        server_time: Millis,
    },
    /// A line for the customer: from `bot`, `worker` or `system`.
    Message {
        from: Author,
        text: String,
        at: Millis,
        /// The name of the person who wrote a `worker` line, or, on the `system` line that says
        /// a person joined, of that person.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// A person is on the way; `position` is the place in the queue (1 = next).
    Queued {
        position: u32,
        /// Today's median time from the queue to a person in this language; omitted when
        /// nobody has been answered today (no honest estimate).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expected_wait_ms: Option<u64>,
        /// Workers on shift (available or busy) who speak the conversation's language. `0`:
        /// nobody is; the conversation stays queued until someone comes on shift.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_shift: Option<u32>,
    },
    /// The person who owns the conversation is typing a reply (`seq: 0`, not stored). Show it
    /// for about 6 seconds, or until their message arrives.
    Typing {
        name: String,
    },
    /// The conversation has ended.
    Closed {
        reason: String,
    },
}

/// The whole conversation as the customer sees it (PROTOCOL.md 6.1, "Transcript snapshot").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerTranscript {
    /// Every line, oldest first: the customer's own and those from `bot`, `worker` and
    /// `system` (never notes or whispers).
    pub messages: Vec<CustomerLine>,
    /// The stream `seq` the transcript includes: frames up to it are in `messages` already,
    /// so the client sets its `last_seq` to it.
    pub last_seq: u64,
    /// `resolved` or `abandoned` if the conversation has ended; `null` while it is open.
    pub closed: Option<String>,
}

/// One line of a [`CustomerTranscript`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerLine {
    pub from: Author,
    pub text: String,
    pub at: Millis,
    /// The name of the person who wrote a `worker` line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}
