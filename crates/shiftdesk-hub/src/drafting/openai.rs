//! The OpenAI-compatible drafter: reply drafts from a language model behind the chat-completions
//! API (a hosted one, or a self-hosted Ollama, llama.cpp server or vLLM), grounded in the
//! knowledge base, with the built-in drafter as the fallback.
//!
//! The hub calls it on a blocking thread, so this is plain blocking HTTP (`ureq`). Each draft:
//!
//! 1. waits for one of `max_concurrent` request slots (a small server is easily swamped by a busy
//!    hub, and queueing here is kinder than queueing there);
//! 2. picks the best few knowledge-base articles for the conversation and puts their answers, in
//!    the customer's language, in the system prompt, with the recent transcript as the messages;
//! 3. asks for a streamed answer and hands the text so far to the caller as it grows.
//!
//! One deadline (`timeout`) covers all of it: the wait for a slot, connecting, and the whole
//! stream. When the model is slow, down, or answers something that is not a usable draft, the
//! worker gets the built-in drafter's answer at once, marked `drafter: "fallback"`, and the log
//! says why. A model outage never leaves a worker without a draft.

use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::kb::{CLARIFY_CONFIDENCE, KbDrafter, KnowledgeBase, Match};
use super::{
    DraftProposal, DraftRequest, Drafter, DrafterArgs, DrafterChoice, DrafterKind, Speaker,
};
use crate::lang::Lang;
use crate::metrics::HubMetrics;

/// How many knowledge-base articles go into the prompt.
const GROUNDING_ARTICLES: usize = 3;
/// Upper bound on the length of a draft, in tokens. Replies to customers are short; a small
/// bound also keeps a small local model quick.
const MAX_TOKENS: u32 = 120;
/// Temperature of the first draft: close to the articles.
const FIRST_TEMPERATURE: f32 = 0.3;
/// Temperature when the worker asks for another draft: a different wording.
const RETRY_TEMPERATURE: f32 = 0.9;
/// Most bytes read from a model server for one draft; more is garbage.
const MAX_RESPONSE_BYTES: u64 = 2 * 1024 * 1024;
/// How much of an error body goes into the log.
const ERROR_SNIPPET_CHARS: usize = 200;

/// How to reach a model server.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// Base URL ending in /v1.
    pub base_url: String,
    pub model: String,
    /// Never printed: Debug masks it.
    pub api_key: Option<String>,
    pub timeout: Duration,
    pub max_concurrent: usize,
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .field("max_concurrent", &self.max_concurrent)
            .finish()
    }
}

/// Why a model draft was not used. Shown in the hub's log; never contains the API key.
#[derive(Debug, thiserror::Error)]
enum ModelError {
    #[error("all {0} model request slots stayed busy until the deadline")]
    NoSlot(usize),
    #[error("no answer within the {0:?} deadline")]
    Timeout(Duration),
    #[error("cannot reach the model server: {0}")]
    Unreachable(String),
    #[error("the model server answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the model server reported an error: {0}")]
    ServerError(String),
    #[error("the answer is not a chat completion: {0}")]
    Garbage(String),
    #[error("the model wrote an empty draft")]
    Empty,
    #[error("the stream broke off after {0} characters: {1}")]
    Interrupted(usize, String),
}

impl ModelError {
    /// A short, fixed name for the `reason` label of `shiftdesk_model_fallbacks_total`.
    fn reason(&self) -> &'static str {
        match self {
            ModelError::NoSlot(_) => "no_slot",
            ModelError::Timeout(_) => "timeout",
            ModelError::Unreachable(_) => "unreachable",
            ModelError::Status { .. } => "http_status",
            ModelError::ServerError(_) => "server_error",
            ModelError::Garbage(_) => "garbage",
            ModelError::Empty => "empty",
            ModelError::Interrupted(..) => "interrupted",
        }
    }
}

/// Drafts with a model server; see the module documentation.
pub struct OpenAiDrafter {
    config: OpenAiConfig,
    kb: Arc<KnowledgeBase>,
    fallback: KbDrafter,
    agent: ureq::Agent,
    slots: Slots,
    /// Where each draft's latency and each fallback are counted, if anywhere.
    metrics: Option<Arc<HubMetrics>>,
}

impl OpenAiDrafter {
    pub fn new(config: OpenAiConfig, kb: Arc<KnowledgeBase>) -> Self {
        let mut builder = ureq::Agent::config_builder()
            // Status codes are checked here, so the log can say what the server said.
            .http_status_as_error(false)
            .timeout_global(Some(config.timeout))
            .max_idle_connections_per_host(config.max_concurrent.max(1))
            .user_agent(concat!("shiftdesk/", env!("CARGO_PKG_VERSION")));
        if config.base_url.starts_with("https://") {
            builder = builder.tls_config(tls_config());
        }
        OpenAiDrafter {
            slots: Slots::new(config.max_concurrent),
            agent: builder.build().new_agent(),
            fallback: KbDrafter::new(kb.clone()),
            kb,
            config,
            metrics: None,
        }
    }

    /// Count each draft's latency and each fallback in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<HubMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The knowledge-base articles the model is given, best first. Articles the bot already
    /// answered with are left out: the customer read them and still asked for a person.
    fn grounding(&self, req: &DraftRequest<'_>) -> Vec<Match> {
        let sent = req.bot_sent();
        let mut candidates = self.fallback.candidates(req);
        candidates.retain(|m| !sent.contains(&m.article_id.as_str()));
        candidates.truncate(GROUNDING_ARTICLES);
        candidates
    }

    /// The chat-completions request body.
    fn request_body(&self, req: &DraftRequest<'_>, grounding: &[Match]) -> Value {
        let mut messages = vec![json!({
            "role": "system",
            "content": self.system_prompt(req, grounding),
        })];
        let mut ends_with_text = false;
        for turn in req.transcript {
            let role = match turn.speaker {
                Speaker::Customer => "user",
                Speaker::Agent | Speaker::Bot => "assistant",
            };
            // Chat templates expect the conversation to open with the user.
            if messages.len() == 1 && role == "assistant" {
                continue;
            }
            messages.push(json!({ "role": role, "content": turn.text }));
            ends_with_text = turn.speaker == Speaker::Customer && turn.text == req.text;
        }
        if !ends_with_text {
            messages.push(json!({ "role": "user", "content": req.text }));
        }
        let temperature = if req.attempt == 0 {
            FIRST_TEMPERATURE
        } else {
            RETRY_TEMPERATURE
        };
        json!({
            "model": self.config.model,
            "messages": messages,
            "stream": true,
            "max_tokens": MAX_TOKENS,
            "temperature": temperature,
        })
    }

    fn system_prompt(&self, req: &DraftRequest<'_>, grounding: &[Match]) -> String {
        let language = crate::languages::english_name(req.language);
        let mut prompt = format!(
            "You write reply drafts for a customer-support agent, who checks the draft before \
             sending it to the customer.\n\
             Write the reply in {language}, the customer's language. Be brief (two or three \
             sentences) and polite. Use only the facts in the knowledge-base articles below; \
             never invent amounts, dates, links or policies. If the articles do not answer the \
             customer, ask one short clarifying question instead. Write only the reply itself: \
             no preamble, no notes, no signature.\n"
        );
        if grounding.iter().any(|m| m.sensitive) {
            prompt.push_str(
                "The topic may be distressing for the customer: be especially gentle and \
                 reassuring.\n",
            );
        }
        let sent = req.bot_sent();
        if !sent.is_empty() {
            let titles: Vec<String> = sent
                .iter()
                .map(|id| {
                    self.kb
                        .article(id)
                        .and_then(|a| a.title(req.language).or_else(|| a.title(Lang::En)))
                        .map_or_else(|| id.to_string(), |t| format!("\"{t}\""))
                })
                .collect();
            prompt.push_str(&format!(
                "Before a person took over, the automated assistant already answered the customer \
                 with the article {} (its replies are in the conversation). The customer read it \
                 and still wanted a person: do not repeat or paraphrase that answer. ",
                titles.join(" and ")
            ));
            prompt.push_str(if req.first_reply_after_bot() {
                "Say briefly that you see the assistant already explained it, then follow up \
                 personally: ask what is still unclear or what happened in their case.\n"
            } else {
                "A person has replied since then, so the conversation has moved on: do not \
                 mention the assistant's article again; answer the customer's latest message.\n"
            });
        }
        if req.attempt > 0 {
            prompt.push_str(
                "The agent asked for another draft: write a clearly different wording from \
                 a first attempt.\n",
            );
        }
        if grounding.is_empty() {
            prompt.push_str("\nNo knowledge-base article matches this conversation.\n");
        } else {
            prompt.push_str("\nKnowledge-base articles:\n");
            for m in grounding {
                if let Some(article) = self.kb.article(&m.article_id)
                    && let Some(variant) = article.variant(req.language)
                {
                    prompt.push_str(&format!(
                        "\n[{}] {}\n{}\n",
                        article.id, variant.title, variant.answer
                    ));
                }
            }
        }
        prompt
    }

    /// Ask the model, streaming the text to `partial`. Returns the finished draft text.
    fn ask_model(
        &self,
        req: &DraftRequest<'_>,
        grounding: &[Match],
        deadline: Instant,
        partial: &mut dyn FnMut(&str),
    ) -> Result<String, ModelError> {
        let _slot = self
            .slots
            .acquire(deadline)
            .ok_or(ModelError::NoSlot(self.slots.max))?;
        let remaining = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(ModelError::Timeout(self.config.timeout))?;
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let mut request = self
            .agent
            .post(&url)
            .header("Accept", "text/event-stream, application/json")
            .content_type("application/json");
        if let Some(key) = &self.config.api_key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        let body = self.request_body(req, grounding).to_string();
        let response = request
            .config()
            .timeout_global(Some(remaining))
            .build()
            .send(body.as_str())
            .map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        let reader = response
            .into_body()
            .into_with_config()
            .limit(MAX_RESPONSE_BYTES)
            .reader();
        if !(200..300).contains(&status) {
            let mut body = String::new();
            let _ = reader
                .take(16 * 1024)
                .read_to_string(&mut body)
                .map_err(|e| self.io_error(e, 0));
            return Err(ModelError::Status {
                status,
                body: snippet(&body),
            });
        }
        let text = read_answer(BufReader::new(reader), partial, |e, got| {
            self.io_error(e, got)
        })?;
        Ok(text)
    }

    fn transport_error(&self, e: ureq::Error) -> ModelError {
        match e {
            ureq::Error::Timeout(_) => ModelError::Timeout(self.config.timeout),
            ureq::Error::Io(io) => self.io_error(io, 0),
            other => ModelError::Unreachable(other.to_string()),
        }
    }

    /// An I/O error while reading, after `got` characters of the draft.
    fn io_error(&self, e: std::io::Error, got: usize) -> ModelError {
        let timed_out = e.kind() == std::io::ErrorKind::TimedOut
            || e.get_ref()
                .and_then(|inner| inner.downcast_ref::<ureq::Error>())
                .is_some_and(|inner| matches!(inner, ureq::Error::Timeout(_)));
        if timed_out {
            ModelError::Timeout(self.config.timeout)
        } else if got > 0 {
            ModelError::Interrupted(got, e.to_string())
        } else {
            ModelError::Unreachable(e.to_string())
        }
    }
}

impl Drafter for OpenAiDrafter {
    fn name(&self) -> &str {
        "openai"
    }

    fn draft(&self, req: &DraftRequest<'_>) -> DraftProposal {
        self.draft_streaming(req, &mut |_| {})
    }

    fn draft_streaming(
        &self,
        req: &DraftRequest<'_>,
        partial: &mut dyn FnMut(&str),
    ) -> DraftProposal {
        let started = Instant::now();
        let deadline = started + self.config.timeout;
        let grounding = self.grounding(req);
        let answer = self.ask_model(req, &grounding, deadline, partial);
        let took = started.elapsed();
        if let Some(metrics) = &self.metrics {
            metrics.model_draft(took, answer.as_ref().err().map(ModelError::reason));
        }
        let latency_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        match answer {
            Ok(text) => {
                let best = grounding.first();
                DraftProposal {
                    text,
                    confidence: best.map_or(CLARIFY_CONFIDENCE, |m| m.score.clamp(0.0, 1.0)),
                    intent: best.map_or_else(|| "unknown".to_string(), |m| m.intent.clone()),
                    language: req.language,
                    sources: grounding.iter().map(|m| m.article_id.clone()).collect(),
                    drafter: self.name().to_string(),
                    model: Some(self.config.model.clone()),
                    latency_ms: Some(latency_ms),
                }
            }
            Err(why) => {
                tracing::warn!(
                    model = %self.config.model,
                    url = %self.config.base_url,
                    latency_ms,
                    "model draft failed, using the built-in drafter: {why}"
                );
                let mut proposal = self.fallback.draft(req);
                proposal.drafter = "fallback".into();
                proposal.model = Some(self.config.model.clone());
                proposal.latency_ms = Some(latency_ms);
                proposal
            }
        }
    }
}

/// Read a chat-completions answer: a server-sent-event stream of chunks (`data: {...}` lines,
/// ending with `data: [DONE]`), or a plain JSON completion from a server that ignores
/// `stream`. Calls `partial` with the text so far each time it grows.
fn read_answer(
    mut reader: impl BufRead,
    partial: &mut dyn FnMut(&str),
    io_error: impl Fn(std::io::Error, usize) -> ModelError,
) -> Result<String, ModelError> {
    let mut text = String::new();
    let mut plain = Vec::new();
    let mut streamed = false;
    let mut finish: Option<String> = None;
    let mut done = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| io_error(e, text.chars().count()))?;
        if n == 0 {
            break;
        }
        if !streamed && plain.is_empty() && !line.trim_ascii_start().starts_with(b"data:") {
            if line.trim_ascii().is_empty() {
                continue;
            }
            // Not an event stream: read the rest as one JSON document.
            plain.extend_from_slice(&line);
            reader.read_to_end(&mut plain).map_err(|e| io_error(e, 0))?;
            break;
        }
        let line = std::str::from_utf8(line.trim_ascii())
            .map_err(|_| ModelError::Garbage("an event that is not UTF-8".into()))?;
        // Blank lines end events; `:` lines are comments (keep-alives); `event:`, `id:` and
        // `retry:` say nothing a chat completion needs.
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        streamed = true;
        let data = data.trim();
        if data == "[DONE]" {
            done = true;
            break;
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|_| ModelError::Garbage(format!("event is not JSON: {}", snippet(data))))?;
        check_error(&chunk)?;
        let choice = chunk
            .get("choices")
            .and_then(Value::as_array)
            .ok_or_else(|| ModelError::Garbage(format!("no choices: {}", snippet(data))))?
            .first();
        let Some(choice) = choice else {
            // Some servers end with a usage-only chunk that has no choices.
            continue;
        };
        if let Some(delta) = choice
            .pointer("/delta/content")
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty())
        {
            text.push_str(delta);
            partial(&text);
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            finish = Some(reason.to_string());
        }
    }
    if !streamed {
        let body = std::str::from_utf8(&plain)
            .map_err(|_| ModelError::Garbage("an answer that is not UTF-8".into()))?;
        let answer: Value = serde_json::from_str(body)
            .map_err(|_| ModelError::Garbage(format!("not JSON: {}", snippet(body))))?;
        check_error(&answer)?;
        let choice = answer
            .pointer("/choices/0")
            .ok_or_else(|| ModelError::Garbage(format!("no choices: {}", snippet(body))))?;
        text = choice
            .pointer("/message/content")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        finish = choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(str::to_string);
    } else if !done && finish.is_none() {
        return Err(ModelError::Interrupted(
            text.chars().count(),
            "the stream ended before [DONE]".into(),
        ));
    }
    let mut text = text.trim().to_string();
    if finish.as_deref() == Some("length") {
        // Cut off by the token limit: keep the complete sentences, not half of one.
        text = whole_sentences(&text).to_string();
    }
    if text.is_empty() {
        return Err(ModelError::Empty);
    }
    Ok(text)
}

/// An `{"error": ...}` object in place of (or inside) a completion.
fn check_error(value: &Value) -> Result<(), ModelError> {
    match value.get("error") {
        None | Some(Value::Null) => Ok(()),
        Some(error) => {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .map_or_else(|| error.to_string(), str::to_string);
            Err(ModelError::ServerError(snippet(&message)))
        }
    }
}

/// `text` up to the end of its last complete sentence, or all of it when it has none.
fn whole_sentences(text: &str) -> &str {
    let end = text
        .char_indices()
        .rfind(|&(_, c)| matches!(c, '.' | '!' | '?' | '…' | '。'))
        .map(|(i, c)| i + c.len_utf8());
    match end {
        Some(end) => text[..end].trim_end(),
        None => text,
    }
}

/// The start of a server's text, for the log.
fn snippet(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(ERROR_SNIPPET_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// TLS for hosted APIs: the project's rustls with the ring provider, and the platform's root
/// certificates (as the console's websocket client uses).
fn tls_config() -> ureq::tls::TlsConfig {
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::warn!("loading the platform's root certificates: {e}");
    }
    let roots: Vec<ureq::tls::Certificate<'static>> = native
        .certs
        .iter()
        .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(ureq::tls::RootCerts::from(roots))
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .build()
}

/// At most `max` model requests in flight; the others wait, within their deadline.
struct Slots {
    max: usize,
    in_use: Mutex<usize>,
    freed: Condvar,
}

struct Slot<'a>(&'a Slots);

impl Slots {
    fn new(max: usize) -> Slots {
        Slots {
            max: max.max(1),
            in_use: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// A slot, or `None` when none frees up before `deadline`.
    fn acquire(&self, deadline: Instant) -> Option<Slot<'_>> {
        let mut in_use = self.in_use.lock().unwrap_or_else(PoisonError::into_inner);
        while *in_use >= self.max {
            let left = deadline.checked_duration_since(Instant::now())?;
            if left.is_zero() {
                return None;
            }
            in_use = self
                .freed
                .wait_timeout(in_use, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *in_use += 1;
        Some(Slot(self))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut in_use = self.0.in_use.lock().unwrap_or_else(PoisonError::into_inner);
        *in_use = in_use.saturating_sub(1);
        self.0.freed.notify_one();
    }
}

pub(super) fn choice_from_args(args: &DrafterArgs) -> Result<DrafterChoice, String> {
    match args.drafter {
        DrafterKind::Kb => Ok(DrafterChoice::Kb),
        DrafterKind::Openai => {
            let base_url = args
                .openai_url
                .as_deref()
                .ok_or("--drafter openai needs --openai-url URL (ending in /v1)")?;
            let base_url = check_base_url(base_url)?;
            let model = args
                .model
                .as_deref()
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .ok_or("--drafter openai needs --model NAME (e.g. --model llama3.2)")?
                .to_string();
            let api_key = match &args.api_key_env {
                Some(var) => {
                    let key = std::env::var(var).map_err(|_| {
                        format!("--api-key-env {var}: the environment variable {var} is not set")
                    })?;
                    if key.trim().is_empty() {
                        return Err(format!(
                            "--api-key-env {var}: the environment variable {var} is empty"
                        ));
                    }
                    Some(key.trim().to_string())
                }
                None => None,
            };
            Ok(DrafterChoice::OpenAi(OpenAiConfig {
                base_url,
                model,
                api_key,
                timeout: Duration::from_secs(args.draft_timeout),
                max_concurrent: usize::try_from(args.model_concurrency).unwrap_or(usize::MAX),
            }))
        }
    }
}

/// The base URL without its trailing slash, or an error naming `--openai-url`.
fn check_base_url(url: &str) -> Result<String, String> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("https://"))
        .ok_or_else(|| format!("--openai-url {url}: must start with http:// or https://"))?;
    let host = rest.strip_suffix("/v1").ok_or_else(|| {
        format!(
            "--openai-url {url}: must end with /v1, the API's base (e.g. http://127.0.0.1:11434/v1)"
        )
    })?;
    let authority = host.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.chars().any(char::is_whitespace) {
        return Err(format!("--openai-url {url}: no host name"));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drafting::Turn;
    use crate::lang::Lang;

    fn collect(body: &str) -> (Result<String, ModelError>, Vec<String>) {
        let mut seen = Vec::new();
        let result = read_answer(
            BufReader::new(body.as_bytes()),
            &mut |t| seen.push(t.to_string()),
            |e, _| ModelError::Unreachable(e.to_string()),
        );
        (result, seen)
    }

    #[test]
    fn reads_a_stream_and_reports_growing_text() {
        let body = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n\
                    : keep-alive\n\n\
                    data: {\"choices\":[{\"delta\":{\"content\":\"Hello\"}}]}\n\n\
                    data: {\"choices\":[{\"delta\":{\"content\":\" there.\"},\"finish_reason\":null}]}\r\n\r\n\
                    data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
                    data: [DONE]\n\n";
        let (text, seen) = collect(body);
        assert_eq!(text.expect("a draft"), "Hello there.");
        assert_eq!(seen, vec!["Hello", "Hello there."]);
    }

    #[test]
    fn reads_a_plain_completion() {
        let body = r#"{"choices":[{"message":{"role":"assistant","content":" Hi! "},"finish_reason":"stop"}]}"#;
        let (text, seen) = collect(body);
        assert_eq!(text.expect("a draft"), "Hi!");
        assert!(seen.is_empty());
    }

    #[test]
    fn rejects_garbage_errors_and_broken_streams() {
        for body in [
            "<html>502 Bad Gateway</html>",
            "{\"object\":\"list\"}",
            "{\"error\":{\"message\":\"model not found\"}}",
            "data: {\"choices\":[{\"delta\":{\"content\":\"Half a sen\"}}]}\n\n",
            "data: not json\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"  \"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n",
            "",
        ] {
            let (text, _) = collect(body);
            assert!(text.is_err(), "{body:?} gave {text:?}");
        }
    }

    #[test]
    fn a_draft_cut_by_the_token_limit_keeps_whole_sentences() {
        let body = "data: {\"choices\":[{\"delta\":{\"content\":\"You can. Then we wi\"},\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n";
        let (text, _) = collect(body);
        assert_eq!(text.expect("a draft"), "You can.");
    }

    #[test]
    fn base_urls_are_checked() {
        assert_eq!(
            check_base_url("http://127.0.0.1:11434/v1/").as_deref(),
            Ok("http://127.0.0.1:11434/v1")
        );
        assert!(check_base_url("https://api.openai.com/v1").is_ok());
        for bad in [
            "127.0.0.1:8080/v1",
            "ftp://host/v1",
            "http://host:8080",
            "http://host/v1/chat/completions",
            "http:///v1",
        ] {
            let e = check_base_url(bad).expect_err(bad);
            assert!(e.starts_with("--openai-url"), "{e}");
        }
    }

    /// A model server that cannot be reached: the built-in drafter answers, and the hub's
    /// metrics count the fallback with its reason and the time it took.
    #[test]
    fn a_fallback_is_counted_with_its_reason() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let metrics = Arc::new(HubMetrics::new());
        let drafter = OpenAiDrafter::new(
            OpenAiConfig {
                base_url: format!("http://{closed}/v1"),
                model: "m".into(),
                api_key: None,
                timeout: Duration::from_secs(5),
                max_concurrent: 1,
            },
            Arc::new(KnowledgeBase::builtin()),
        )
        .with_metrics(metrics.clone());
        let proposal = drafter.draft(&DraftRequest {
            text: "Can I pay early?",
            language: Lang::En,
            history: &[],
            transcript: &[],
            attempt: 0,
        });
        assert_eq!(proposal.drafter, "fallback");
        let text = metrics.render();
        assert!(
            text.contains("shiftdesk_model_fallbacks_total{reason=\"unreachable\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("shiftdesk_model_draft_seconds_count{result=\"fallback\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn the_prompt_is_grounded_and_names_the_language() {
        let drafter = OpenAiDrafter::new(
            OpenAiConfig {
                base_url: "http://127.0.0.1:9/v1".into(),
                model: "m".into(),
                api_key: None,
                timeout: Duration::from_secs(1),
                max_concurrent: 1,
            },
            Arc::new(KnowledgeBase::builtin()),
        );
        let transcript = [
            Turn::new(Speaker::Customer, "Здравствуйте"),
            Turn::new(Speaker::Agent, "Здравствуйте! Чем помочь?"),
            Turn::new(Speaker::Customer, "Как вернуть деньги за заказ?"),
        ];
        let req = DraftRequest {
            text: "Как вернуть деньги за заказ?",
            language: Lang::Ru,
            history: &[],
            transcript: &transcript,
            attempt: 1,
        };
        let grounding = drafter.grounding(&req);
        assert!(!grounding.is_empty() && grounding.len() <= GROUNDING_ARTICLES);
        let body = drafter.request_body(&req, &grounding);
        let messages = body["messages"].as_array().expect("messages");
        let system = messages[0]["content"].as_str().expect("system prompt");
        assert!(system.contains("Russian"), "{system}");
        assert!(system.contains(&format!("[{}]", grounding[0].article_id)));
        let roles: Vec<&str> = messages.iter().filter_map(|m| m["role"].as_str()).collect();
        assert_eq!(roles, ["system", "user", "assistant", "user"]);
        assert_eq!(body["stream"], true);
        assert!(body["temperature"].as_f64() > Some(f64::from(FIRST_TEMPERATURE)));
    }

    /// After the bot answered with an article and the customer asked for a person, the model
    /// is not given that article again, and is told to acknowledge it and follow up.
    #[test]
    fn the_prompt_leaves_out_what_the_bot_already_sent() {
        let drafter = OpenAiDrafter::new(
            OpenAiConfig {
                base_url: "http://127.0.0.1:9/v1".into(),
                model: "m".into(),
                api_key: None,
                timeout: Duration::from_secs(1),
                max_concurrent: 1,
            },
            Arc::new(KnowledgeBase::builtin()),
        );
        let kb = KnowledgeBase::builtin();
        let answer = kb
            .article("move-due-date")
            .and_then(|a| a.answer(Lang::En))
            .expect("article")
            .to_string();
        let history = ["How can I move my due date?".to_string()];
        let transcript = [
            Turn::new(Speaker::Customer, "How can I move my due date?"),
            Turn {
                speaker: Speaker::Bot,
                text: answer.clone(),
                sources: vec!["move-due-date".into()],
            },
            Turn::new(Speaker::Customer, "that doesn't help, I want a person"),
        ];
        let req = DraftRequest {
            text: "that doesn't help, I want a person",
            language: Lang::En,
            history: &history,
            transcript: &transcript,
            attempt: 0,
        };
        let grounding = drafter.grounding(&req);
        assert!(
            grounding.iter().all(|m| m.article_id != "move-due-date"),
            "{grounding:?}"
        );
        let body = drafter.request_body(&req, &grounding);
        let messages = body["messages"].as_array().expect("messages");
        let system = messages[0]["content"].as_str().expect("system prompt");
        assert!(system.contains("\"Moving a due date\""), "{system}");
        assert!(system.contains("do not repeat"), "{system}");
        assert!(!system.contains("[move-due-date]"), "{system}");
        assert!(system.contains("already explained it"), "{system}");
        let roles: Vec<&str> = messages.iter().filter_map(|m| m["role"].as_str()).collect();
        assert_eq!(roles, ["system", "user", "assistant", "user"]);

        // Once a person has replied, the article is not brought up again.
        let later = [
            transcript[0].clone(),
            transcript[1].clone(),
            transcript[2].clone(),
            Turn::new(Speaker::Agent, "Sure, which purchase is it about?"),
            Turn::new(Speaker::Customer, "the shoes, I was charged twice"),
        ];
        let req = DraftRequest {
            text: "the shoes, I was charged twice",
            transcript: &later,
            ..req
        };
        let body = drafter.request_body(&req, &drafter.grounding(&req));
        let system = body["messages"][0]["content"]
            .as_str()
            .expect("system prompt");
        assert!(!system.contains("already explained it"), "{system}");
        assert!(
            system.contains("answer the customer's latest message"),
            "{system}"
        );
    }
}
