//! Decoding with errors a client can act on (the error names the field and the limit), and
//! encoding with the stream's sequence number. PROTOCOL.md sections 3 and 4.

use serde::Serialize;

use super::*;

/// Why a text frame could not be decoded. The message is meant for the client's developer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub code: ErrorCode,
    pub message: String,
    /// The command id, when it could be read even though the rest was wrong.
    pub id: Option<String>,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

const WORKER_TYPES: &[&str] = &[
    "hello",
    "ping",
    "set_status",
    "accept_offer",
    "decline_offer",
    "reply",
    "draft",
    "note",
    "resolve",
    "transfer",
    "wallboard",
    "shadow",
    "unshadow",
    "whisper",
    "take_over",
    "hand_back",
    "typing",
    "about_dispatch",
    "shift_history",
    "schedule",
    "book_slot",
    "release_slot",
];
const CUSTOMER_TYPES: &[&str] = &["start", "ping", "message", "leave"];

/// Decode a frame from a worker console.
pub fn decode_worker(text: &str) -> Result<WorkerFrame, DecodeError> {
    let frame: WorkerFrame = decode(text, WORKER_TYPES, |f: &WorkerFrame| &f.id)?;
    check_sequence(frame.producer.as_deref(), frame.cseq)
        .and_then(|()| check_worker(&frame))
        .map_err(|message| DecodeError {
            code: ErrorCode::BadField,
            message,
            id: Some(frame.id.clone()),
        })?;
    Ok(frame)
}

/// Decode a frame from a customer.
pub fn decode_customer(text: &str) -> Result<CustomerFrame, DecodeError> {
    let frame: CustomerFrame = decode(text, CUSTOMER_TYPES, |f: &CustomerFrame| &f.id)?;
    let checked = check_sequence(frame.producer.as_deref(), frame.cseq).and(match &frame.command {
        CustomerCommand::Message { text } => check_text("text", text),
        CustomerCommand::Start {
            signed_context: Some(token),
            ..
        } if token.len() > MAX_SIGNED_CONTEXT_BYTES => Err(format!(
            "`signed_context` is {} bytes; the limit is {MAX_SIGNED_CONTEXT_BYTES}",
            token.len()
        )),
        CustomerCommand::Start { context, .. } if context.len() > 20 => {
            Err("`context` has more than 20 entries".into())
        }
        CustomerCommand::Start { context, .. } => context
            .iter()
            .find(|(k, v)| k.chars().count() > 200 || v.chars().count() > 200)
            .map_or(Ok(()), |(k, _)| {
                Err(format!("`context.{k}` is longer than 200 characters"))
            }),
        _ => Ok(()),
    });
    checked.map_err(|message| DecodeError {
        code: ErrorCode::BadField,
        message,
        id: Some(frame.id.clone()),
    })?;
    Ok(frame)
}

/// Decode a frame of type `T` (whose `id` is `id_of`); `known` lists its dialect's types.
fn decode<T: serde::de::DeserializeOwned>(
    text: &str,
    known: &[&str],
    id_of: fn(&T) -> &str,
) -> Result<T, DecodeError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(DecodeError {
            code: ErrorCode::TooLarge,
            message: format!(
                "frame is {} bytes; the limit is {MAX_FRAME_BYTES}",
                text.len()
            ),
            id: None,
        });
    }
    // A well-formed frame (nearly every one) in one pass. Anything else is decoded again below,
    // through a JSON value, for an error that says exactly what is wrong; that path allocates
    // the whole value first (every key and string) and then decodes the frame from it.
    if let Ok(frame) = serde_json::from_str::<T>(text)
        && !id_of(&frame).is_empty()
        && id_of(&frame).len() <= MAX_ID_BYTES
    {
        return Ok(frame);
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| DecodeError {
        code: ErrorCode::Malformed,
        message: format!("not valid JSON: {e}"),
        id: None,
    })?;
    let Some(object) = value.as_object() else {
        return Err(DecodeError {
            code: ErrorCode::Malformed,
            message: "a frame must be a JSON object".into(),
            id: None,
        });
    };
    let id = match object.get("id") {
        Some(serde_json::Value::String(id)) if !id.is_empty() && id.len() <= MAX_ID_BYTES => {
            id.clone()
        }
        Some(serde_json::Value::String(_)) => {
            return Err(DecodeError {
                code: ErrorCode::BadField,
                message: format!("`id` must be 1 to {MAX_ID_BYTES} bytes"),
                id: None,
            });
        }
        _ => {
            return Err(DecodeError {
                code: ErrorCode::Malformed,
                message: "missing string field `id`".into(),
                id: None,
            });
        }
    };
    let kind = match object.get("type") {
        Some(serde_json::Value::String(kind)) => kind.as_str(),
        _ => {
            return Err(DecodeError {
                code: ErrorCode::Malformed,
                message: "missing string field `type`".into(),
                id: Some(id),
            });
        }
    };
    if !known.contains(&kind) {
        return Err(DecodeError {
            code: ErrorCode::UnknownType,
            message: format!("unknown frame type `{kind}`; known: {}", known.join(", ")),
            id: Some(id),
        });
    }
    let kind = kind.to_string();
    serde_json::from_value(value).map_err(|e| DecodeError {
        code: ErrorCode::Malformed,
        message: format!("bad `{kind}` frame: {e}"),
        id: Some(id),
    })
}

/// `producer` and `cseq` come together, within their limits (PROTOCOL.md 3.2).
fn check_sequence(producer: Option<&str>, cseq: Option<u64>) -> Result<(), String> {
    match (producer, cseq) {
        (None, None) => Ok(()),
        (Some(_), None) => Err("`producer` needs `cseq`".into()),
        (None, Some(_)) => Err("`cseq` needs `producer`".into()),
        (Some(p), _) if p.is_empty() || p.len() > MAX_PRODUCER_BYTES => Err(format!(
            "`producer` must be 1 to {MAX_PRODUCER_BYTES} bytes"
        )),
        (_, Some(n)) if n == 0 || n > MAX_CSEQ => Err(format!("`cseq` must be 1 to {MAX_CSEQ}")),
        _ => Ok(()),
    }
}

fn check_text(field: &str, text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("`{field}` must not be empty"));
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(format!(
            "`{field}` is {chars} characters; the limit is {MAX_TEXT_CHARS}"
        ));
    }
    Ok(())
}

fn check_worker(frame: &WorkerFrame) -> Result<(), String> {
    match &frame.command {
        WorkerCommand::Reply { text, .. }
        | WorkerCommand::Note { text, .. }
        | WorkerCommand::Whisper { text, .. } => check_text("text", text),
        WorkerCommand::Draft {
            action: DraftAction::Edit { text },
            ..
        } => check_text("text", text),
        WorkerCommand::DeclineOffer {
            reason: Some(reason),
            ..
        }
        | WorkerCommand::Transfer {
            reason: Some(reason),
            ..
        } if reason.chars().count() > 200 => Err("`reason` is longer than 200 characters".into()),
        _ => Ok(()),
    }
}

thread_local! {
    /// Where [`encode_with`] writes a frame before lending it out.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Room [`SCRATCH`] may keep after a frame bigger than this (a long transcript) has gone.
const SCRATCH_KEEP: usize = 64 * 1024;

/// Encode a hub frame. Serialising these types cannot fail (no maps with non-string keys).
///
/// The frame is written into a buffer kept by the thread, then copied into a string of its
/// exact length: one allocation. `serde_json::to_string` started at 128 bytes and grew by
/// doubling, and the hub then shrank the result to keep in its resume window: a profile of
/// the hub's engine at 47,000 lines a second had a tenth of its time in those reallocations.
pub fn encode<E: Serialize>(seq: u64, event: &E) -> String {
    encode_with(seq, event, str::to_owned)
}

/// Encode a hub frame and lend its text to `use_it`, which copies what it keeps (the text is
/// in a buffer the thread keeps for the next frame). [`encode`] is `use_it` = `to_owned`.
pub fn encode_with<E: Serialize, R>(seq: u64, event: &E, use_it: impl FnOnce(&str) -> R) -> R {
    // Taken, not borrowed: an encode inside a Serialize impl (or inside `use_it`) finds it
    // empty and simply allocates.
    let mut buf = SCRATCH.with(std::cell::RefCell::take);
    buf.clear();
    let text = serde_json::to_writer(&mut buf, &HubFrame { seq, event })
        .map_err(|e| e.to_string())
        .and_then(|()| std::str::from_utf8(&buf).map_err(|e| e.to_string()));
    let result = match text {
        Ok(text) => use_it(text),
        Err(e) => use_it(&encode_failed(seq, &e)),
    };
    if buf.capacity() <= SCRATCH_KEEP {
        SCRATCH.with(|scratch| scratch.replace(buf));
    }
    result
}

/// The frame that stands in for one that could not be encoded.
fn encode_failed(seq: u64, e: &str) -> String {
    serde_json::json!({
        "seq": seq,
        "type": "error",
        "code": "unavailable",
        "message": format!("hub could not encode a frame: {e}"),
    })
    .to_string()
}
