//! What the hub asks of customers' connections beyond the protocol: context signed by the
//! operator's backend (so workers can tell verified facts from what a browser declared), and
//! message rate limits per conversation and per address.
//!
//! A signed context is a token `PAYLOAD.SIGNATURE`: `PAYLOAD` is the base64url (no padding)
//! of a JSON object, `SIGNATURE` the lowercase hex of HMAC-SHA256(secret, PAYLOAD). The
//! object's entries are the context (strings; numbers and booleans are written as text); an
//! optional `exp` (Unix seconds) is when the token stops being accepted. PROTOCOL.md 6.1.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::web::ChatOrigins;

/// The shortest secret accepted: HMAC-SHA256 wants at least 32 bytes of key to be worth it.
pub const MIN_SECRET_BYTES: usize = 32;

/// Most entries, and longest key or value, of a signed context (as for a declared one).
const MAX_ENTRIES: usize = 20;
const MAX_CHARS: usize = 200;

/// The customer chat's flags (`shiftdesk hub`), also keys of the config file.
#[derive(Debug, Clone, clap::Args)]
pub struct ChatArgs {
    /// Origins whose pages may embed the web chat (GET /chat, in an iframe: see /widget.js),
    /// comma-separated, like `https://shop.example.com,https://help.example.com`; `'self'`
    /// (the hub's own pages) by default, `*` for any site.
    #[arg(long, value_name = "ORIGINS", default_value = "'self'", value_parser = ChatOrigins::parse)]
    pub chat_origins: ChatOrigins,
    /// A file holding the secret your backend signs customer context with (HMAC-SHA256, at
    /// least 32 characters; see README, "Customer chat"). Without it, signed context is never
    /// shown as verified.
    #[arg(long, value_name = "FILE")]
    pub chat_secret_file: Option<PathBuf>,
    /// Most messages one conversation may send a minute (a burst of half of it at once);
    /// 0: no limit.
    #[arg(long, value_name = "N", default_value_t = 120)]
    pub chat_rate: u32,
    /// Most messages and new conversations from one address a minute, all its conversations
    /// together (a burst of half of it); 0: no limit. Loopback connections count only with
    /// --real-ip-header (else a local proxy would put every customer under one limit).
    #[arg(long, value_name = "N", default_value_t = 600)]
    pub chat_address_rate: u32,
    /// Take the customer's address from this request header, set by your reverse proxy (like
    /// `X-Real-IP`), instead of the connection's (which behind a proxy is the proxy's).
    #[arg(long, value_name = "HEADER")]
    pub real_ip_header: Option<String>,
}

impl Default for ChatArgs {
    fn default() -> ChatArgs {
        ChatArgs {
            chat_origins: ChatOrigins::default(),
            chat_secret_file: None,
            chat_rate: 120,
            chat_address_rate: 600,
            real_ip_header: None,
        }
    }
}

impl ChatArgs {
    /// Read the secret file and check the header name.
    pub fn settings(&self) -> Result<ChatSettings, String> {
        let secret = match &self.chat_secret_file {
            Some(path) => Some(ChatSecret::read(path)?),
            None => None,
        };
        let real_ip_header = match &self.real_ip_header {
            Some(name) => Some(
                axum::http::HeaderName::try_from(name.trim())
                    .map_err(|_| format!("--real-ip-header: `{name}` is not a header name"))?,
            ),
            None => None,
        };
        Ok(ChatSettings {
            origins: self.chat_origins.clone(),
            secret,
            per_conversation: self.chat_rate,
            per_address: self.chat_address_rate,
            real_ip_header,
        })
    }
}

/// The customer chat's settings, checked.
#[derive(Debug, Clone)]
pub struct ChatSettings {
    pub origins: ChatOrigins,
    pub secret: Option<ChatSecret>,
    /// Messages a minute per conversation (0: no limit).
    pub per_conversation: u32,
    /// Messages and starts a minute per address (0: no limit).
    pub per_address: u32,
    pub real_ip_header: Option<axum::http::HeaderName>,
}

impl Default for ChatSettings {
    fn default() -> ChatSettings {
        ChatArgs::default()
            .settings()
            .unwrap_or_else(|_| unreachable!("the defaults name no file"))
    }
}

/// The key context is signed with. Its `Debug` never shows it.
#[derive(Clone)]
pub struct ChatSecret(Vec<u8>);

impl std::fmt::Debug for ChatSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChatSecret(…)")
    }
}

impl ChatSecret {
    pub fn new(secret: &[u8]) -> Result<ChatSecret, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the chat secret is {} bytes; it must be at least {MIN_SECRET_BYTES} \
                 (e.g. `openssl rand -hex 32`)",
                secret.len()
            ));
        }
        Ok(ChatSecret(secret.to_vec()))
    }

    /// The file's contents without the line break at its end.
    pub fn read(path: &Path) -> Result<ChatSecret, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the chat secret: {e}", path.display()))?;
        ChatSecret::new(text.trim_end_matches(['\n', '\r']).as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        }
    }

    /// Sign `context` (what an operator's backend does; here for tests and `shiftdesk` tools).
    pub fn sign(&self, payload: &serde_json::Value) -> String {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string());
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        format!("{payload}.{}", hex::encode(mac.finalize().into_bytes()))
    }

    /// The context a token carries, if it is signed with this secret and has not expired.
    pub fn verify(&self, token: &str, now_secs: u64) -> Result<Vec<(String, String)>, String> {
        let (payload, signature) = token
            .rsplit_once('.')
            .ok_or("not PAYLOAD.SIGNATURE (no `.`)")?;
        let signature =
            hex::decode(signature).map_err(|_| "the signature is not hexadecimal".to_string())?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| "the signature does not match (another secret, or a changed payload)")?;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| "the payload is not base64url".to_string())?;
        let value: serde_json::Value =
            serde_json::from_slice(&json).map_err(|e| format!("the payload is not JSON: {e}"))?;
        let serde_json::Value::Object(object) = value else {
            return Err("the payload is not a JSON object".into());
        };
        let mut context = Vec::new();
        for (key, value) in object {
            if key == "exp" {
                let exp = value
                    .as_u64()
                    .ok_or("`exp` must be a number of seconds since 1970")?;
                if exp <= now_secs {
                    return Err(format!("expired {} s ago", now_secs - exp));
                }
                continue;
            }
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => return Err(format!("`{key}` must be a string, a number or a boolean")),
            };
            if key.chars().count() > MAX_CHARS || text.chars().count() > MAX_CHARS {
                return Err(format!("`{key}` is longer than {MAX_CHARS} characters"));
            }
            context.push((key, text));
        }
        if context.len() > MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} entries"));
        }
        Ok(context)
    }
}

/// A customer's context: what their browser declared, and what the operator signed. Signed
/// entries win over declared ones of the same key.
pub fn merge_context(
    declared: impl IntoIterator<Item = (String, String)>,
    signed: Vec<(String, String)>,
) -> (Vec<(String, String)>, Vec<String>) {
    let verified: Vec<String> = signed.iter().map(|(k, _)| k.clone()).collect();
    let mut context: Vec<(String, String)> = declared
        .into_iter()
        .filter(|(k, _)| !verified.contains(k))
        .collect();
    context.extend(signed);
    (context, verified)
}

/// Message rate limits for customers, per conversation and per address.
pub struct ChatLimits {
    conversations: Option<DefaultKeyedRateLimiter<String>>,
    addresses: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

impl ChatLimits {
    pub fn new(settings: &ChatSettings) -> ChatLimits {
        ChatLimits {
            conversations: quota(settings.per_conversation).map(RateLimiter::keyed),
            addresses: quota(settings.per_address).map(RateLimiter::keyed),
            clock: DefaultClock::default(),
        }
    }

    /// May `conversation` (from `address`) send one more message? `Err`: wait this long.
    pub fn message(&self, conversation: &str, address: IpAddr) -> Result<(), Duration> {
        self.conversation(conversation)?;
        self.start(address)
    }

    /// The per-conversation limit alone (a connection not limited by address).
    pub fn conversation(&self, conversation: &str) -> Result<(), Duration> {
        if let Some(limiter) = &self.conversations
            && let Err(not_until) = limiter.check_key(&conversation.to_string())
        {
            return Err(not_until.wait_time_from(self.clock.now()));
        }
        Ok(())
    }

    /// May `address` open one more conversation (or send a message)?
    pub fn start(&self, address: IpAddr) -> Result<(), Duration> {
        if let Some(limiter) = &self.addresses
            && let Err(not_until) = limiter.check_key(&address)
        {
            return Err(not_until.wait_time_from(self.clock.now()));
        }
        Ok(())
    }

    /// Forget keys whose limit has fully recovered (call now and then: memory stays bounded).
    pub fn forget_idle(&self) {
        if let Some(l) = &self.conversations {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.addresses {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

/// `per_minute` with a burst of half of it (no person writes that many lines at once; a
/// script soon does); `None` for 0 (no limit).
fn quota(per_minute: u32) -> Option<Quota> {
    let per_minute = NonZeroU32::new(per_minute)?;
    let burst = NonZeroU32::new(per_minute.get().div_ceil(2)).unwrap_or(per_minute);
    Some(Quota::per_minute(per_minute).allow_burst(burst))
}

/// The chat's rules as the server applies them to each customer connection.
pub struct ChatGate {
    pub limits: ChatLimits,
    secret: Option<ChatSecret>,
    real_ip_header: Option<axum::http::HeaderName>,
}

impl ChatGate {
    pub fn new(settings: &ChatSettings) -> ChatGate {
        ChatGate {
            limits: ChatLimits::new(settings),
            secret: settings.secret.clone(),
            real_ip_header: settings.real_ip_header.clone(),
        }
    }

    /// The address a connection's limits count against: the proxy's header if one is set
    /// (its last entry: what the proxy nearest to the hub saw), else the peer. `None` for a
    /// loopback peer without the header: the machine itself, or a local proxy whose header
    /// is not configured, which would put every customer under one limit.
    pub fn address(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> Option<IpAddr> {
        if let Some(name) = &self.real_ip_header
            && let Some(value) = headers.get(name).and_then(|v| v.to_str().ok())
            && let Some(ip) = value
                .rsplit(',')
                .next()
                .and_then(|last| last.trim().parse::<IpAddr>().ok())
        {
            return Some(ip);
        }
        (!peer.is_loopback()).then_some(peer)
    }

    /// The context to store for a new conversation, and which of its keys are verified.
    pub fn context(
        &self,
        declared: impl IntoIterator<Item = (String, String)>,
        token: Option<&str>,
    ) -> (Vec<(String, String)>, Vec<String>) {
        let signed = match (token, &self.secret) {
            (None, _) => Vec::new(),
            (Some(_), None) => {
                tracing::warn!(
                    "a customer sent signed context, but the hub has no --chat-secret-file:                      ignored (nothing of it is shown)"
                );
                Vec::new()
            }
            (Some(token), Some(secret)) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                match secret.verify(token, now) {
                    Ok(signed) => signed,
                    Err(why) => {
                        tracing::warn!(%why, "signed context refused (nothing of it is shown)");
                        Vec::new()
                    }
                }
            }
        };
        merge_context(declared, signed)
    }
}

/// The message shown to a customer whose message was not taken.
pub fn rate_limited_message(wait: Duration) -> String {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    format!("You are sending messages too quickly; please wait {secs} s and send it again.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> ChatSecret {
        ChatSecret::new(b"0123456789abcdef0123456789abcdef").expect("long enough")
    }

    #[test]
    fn a_signed_context_verifies_and_a_changed_one_does_not() {
        let token = secret()
            .sign(&serde_json::json!({"email": "ana@example.com", "plan": "gold", "orders": 3}));
        let context = secret().verify(&token, 0).expect("verifies");
        assert_eq!(
            context,
            vec![
                ("email".to_string(), "ana@example.com".to_string()),
                ("orders".to_string(), "3".to_string()),
                ("plan".to_string(), "gold".to_string()),
            ]
        );
        let (payload, signature) = token.split_once('.').expect("a dot");
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"email":"ana@example.com","plan":"platinum","orders":3}"#);
        let err = secret()
            .verify(&format!("{forged}.{signature}"), 0)
            .expect_err("forged");
        assert!(err.contains("does not match"), "{err}");
        let other = ChatSecret::new(&[7u8; 32]).expect("long enough");
        assert!(other.verify(&token, 0).is_err());
        assert!(
            secret()
                .verify(payload, 0)
                .expect_err("no dot")
                .contains("no `.`")
        );
        assert!(secret().verify(&format!("{payload}.zz"), 0).is_err());
    }

    /// The worked example of PROTOCOL.md ("Signed context"), computed with Python's `hmac` as
    /// the README's recipe does: the format is what other languages produce.
    #[test]
    fn the_protocol_example_verifies() {
        let secret = ChatSecret::new(b"0123456789abcdef0123456789abcdef").expect("long enough");
        let token = "eyJlbWFpbCI6ImFuYUBleGFtcGxlLmNvbSIsInBsYW4iOiJQYXkgaW4gMyJ9.\
                     7d5714c0b50f1ff485298091e043b4f5009666753d4fd8cb5ed2f8307c8ef46e";
        assert_eq!(
            secret.verify(token, 0).expect("verifies"),
            vec![
                ("email".to_string(), "ana@example.com".to_string()),
                ("plan".to_string(), "Pay in 3".to_string()),
            ]
        );
    }

    #[test]
    fn an_expired_token_is_refused() {
        let token = secret().sign(&serde_json::json!({"email": "a@b.c", "exp": 1000}));
        assert!(secret().verify(&token, 999).is_ok());
        let err = secret().verify(&token, 1005).expect_err("expired");
        assert!(err.contains("expired 5 s ago"), "{err}");
    }

    #[test]
    fn a_short_secret_is_refused_with_the_reason() {
        let err = ChatSecret::new(b"short").expect_err("too short");
        assert!(err.contains("at least 32"), "{err}");
    }

    #[test]
    fn signed_entries_win_and_are_the_verified_ones() {
        let (context, verified) = merge_context(
            [
                ("email".to_string(), "fake@x.y".to_string()),
                ("page".to_string(), "/pricing".to_string()),
            ],
            vec![("email".to_string(), "ana@example.com".to_string())],
        );
        assert_eq!(
            context,
            vec![
                ("page".to_string(), "/pricing".to_string()),
                ("email".to_string(), "ana@example.com".to_string()),
            ]
        );
        assert_eq!(verified, vec!["email".to_string()]);
    }

    #[test]
    fn a_conversation_over_its_rate_waits_and_others_do_not() {
        let settings = ChatSettings {
            per_conversation: 6,
            per_address: 0,
            ..ChatSettings::default()
        };
        let limits = ChatLimits::new(&settings);
        let here = IpAddr::from([127, 0, 0, 1]);
        // A burst of half the minute's six, then a wait of about ten seconds.
        for _ in 0..3 {
            assert!(limits.message("c-1", here).is_ok());
        }
        let wait = limits.message("c-1", here).expect_err("over the burst");
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(10),
            "{wait:?}"
        );
        assert!(limits.message("c-2", here).is_ok());
        assert!(rate_limited_message(wait).contains("please wait"));
    }

    #[test]
    fn an_address_counts_all_its_conversations() {
        let settings = ChatSettings {
            per_conversation: 0,
            per_address: 3,
            ..ChatSettings::default()
        };
        let limits = ChatLimits::new(&settings);
        let here = IpAddr::from([10, 0, 0, 1]);
        assert!(limits.start(here).is_ok());
        assert!(limits.message("c-1", here).is_ok());
        assert!(limits.message("c-1", here).is_err());
        assert!(limits.message("c-1", IpAddr::from([10, 0, 0, 2])).is_ok());
    }
}
