//! The customer chat on the web: `GET /chat` (a full page), its script and style, and
//! `GET /widget.js` (one script tag puts a launcher and the chat, in an iframe, on any site).
//!
//! The files are plain HTML, CSS and JavaScript under `assets/web/`, compiled in: no build step,
//! nothing fetched from elsewhere. The page speaks the customer dialect over `/ws/customer`
//! like any other client (PROTOCOL.md, section 6).
//!
//! `/chat` is served with a strict Content-Security-Policy: scripts and styles only from the
//! hub's own files (no inline ones), connections only back to the hub, and framing only by
//! the origins the operator allows (`--chat-origins`).

use std::io::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::Digest as _;

const CHAT_HTML: &str = include_str!("../../../assets/web/chat.html");
const CHAT_JS: &str = include_str!("../../../assets/web/chat.js");
const CHAT_CSS: &str = include_str!("../../../assets/web/chat.css");
const WIDGET_JS: &str = include_str!("../../../assets/web/widget.js");

/// Every file the chat serves, by name: what the size budget counts.
pub const ASSETS: [(&str, &str); 4] = [
    ("chat.html", CHAT_HTML),
    ("chat.js", CHAT_JS),
    ("chat.css", CHAT_CSS),
    ("widget.js", WIDGET_JS),
];

/// Who may put the chat in a frame: origins like `https://shop.example.com`, or `'self'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatOrigins(Vec<String>);

impl Default for ChatOrigins {
    /// Only pages of the hub itself.
    fn default() -> ChatOrigins {
        ChatOrigins(vec!["'self'".into()])
    }
}

impl ChatOrigins {
    /// A comma-separated list (`--chat-origins`), each `'self'`, `*` (any site), or an
    /// origin: `https://` or `http://`, a host, an optional port, and nothing after it. Empty
    /// means the default.
    pub fn parse(list: &str) -> Result<ChatOrigins, String> {
        let mut origins = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            origins.push(parse_origin(item)?);
        }
        if origins.is_empty() {
            return Ok(ChatOrigins::default());
        }
        Ok(ChatOrigins(origins))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The page's Content-Security-Policy.
    pub fn content_security_policy(&self) -> String {
        format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
             img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors {}",
            self.0.join(" ")
        )
    }
}

fn parse_origin(item: &str) -> Result<String, String> {
    if item == "'self'" || item == "self" {
        return Ok("'self'".into());
    }
    if item == "*" {
        return Ok("*".into());
    }
    let bad = |why: &str| {
        format!(
            "`{item}` is not an origin ({why}); write it like https://shop.example.com, or 'self'"
        )
    };
    let rest = item
        .strip_prefix("https://")
        .or_else(|| item.strip_prefix("http://"))
        .ok_or_else(|| bad("it must start with https:// or http://"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Err(bad("no host"));
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => (host, Some(port)),
        _ => (rest, None),
    };
    if let Some(port) = port
        && (port.is_empty() || port.parse::<u16>().is_err())
    {
        return Err(bad("the port must be a number"));
    }
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '*' | '[' | ']' | ':'));
    if !host_ok {
        return Err(bad(
            "a path, a space or another character that cannot be in a host",
        ));
    }
    Ok(item.strip_suffix('/').unwrap_or(item).to_ascii_lowercase())
}

/// One file as served: its text, gzipped once at start, and a validator (customers on a weak
/// link download each file once, compressed, and revalidate it with a 304 afterwards).
struct File {
    content_type: &'static str,
    plain: Bytes,
    gzip: Bytes,
    etag: HeaderValue,
    /// The page's own Content-Security-Policy (only `/chat` has one).
    csp: Option<HeaderValue>,
}

impl File {
    fn new(text: &str, content_type: &'static str, csp: Option<String>) -> Arc<File> {
        let plain = Bytes::from(text.to_string());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let gzip = match gz.write_all(&plain).and_then(|()| gz.finish()) {
            Ok(bytes) => Bytes::from(bytes),
            // Writing to memory does not fail; if it did, serve the plain text only.
            Err(_) => Bytes::new(),
        };
        let digest = sha2::Sha256::digest(&plain);
        let etag = HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..12])))
            .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        Arc::new(File {
            content_type,
            plain,
            gzip,
            etag,
            csp: csp.and_then(|c| HeaderValue::from_str(&c).ok()),
        })
    }

    fn respond(&self, request: &axum::http::HeaderMap) -> Response {
        let fresh = request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|tags| tags.split(',').any(|t| t.trim() == self.etag));
        let gzip = !self.gzip.is_empty()
            && request
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .is_some_and(accepts_gzip);
        let mut response = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else if gzip {
            (StatusCode::OK, self.gzip.clone()).into_response()
        } else {
            (StatusCode::OK, self.plain.clone()).into_response()
        };
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        if gzip && !fresh {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        headers.insert(header::ETAG, self.etag.clone());
        if let Some(csp) = &self.csp {
            headers.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
        }
        common_headers(headers);
        response
    }
}

/// `gzip` among the encodings an `Accept-Encoding` allows (not with `q=0`).
fn accepts_gzip(accept: &str) -> bool {
    accept.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let refused = parts.any(|p| p.replace(' ', "") == "q=0" || p.replace(' ', "") == "q=0.0");
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

/// The routes of the web chat; merged into the hub's router.
pub fn router(origins: &ChatOrigins) -> Router {
    let page = CHAT_HTML.replace("{{LANGS}}", &escape_attr(&served_languages()));
    let files = [
        (
            "/chat",
            File::new(
                &page,
                "text/html; charset=utf-8",
                Some(origins.content_security_policy()),
            ),
        ),
        (
            "/chat.js",
            File::new(CHAT_JS, "text/javascript; charset=utf-8", None),
        ),
        (
            "/chat.css",
            File::new(CHAT_CSS, "text/css; charset=utf-8", None),
        ),
        (
            "/widget.js",
            File::new(WIDGET_JS, "text/javascript; charset=utf-8", None),
        ),
    ];
    let mut router = Router::new();
    for (path, file) in files {
        router = router.route(
            path,
            get(move |headers: axum::http::HeaderMap| {
                let file = file.clone();
                async move { file.respond(&headers) }
            }),
        );
    }
    router
}

/// `en:English,it:Italiano,…`: the languages the page offers, in the hub's order.
fn served_languages() -> String {
    crate::languages::served()
        .into_iter()
        .map(|lang| {
            let name = crate::languages::name(lang).replace([',', ':'], " ");
            format!("{lang}:{name}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn common_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_and_refuse_clearly() {
        assert_eq!(
            ChatOrigins::parse("").expect("empty"),
            ChatOrigins::default()
        );
        let ok = ChatOrigins::parse("https://Shop.example.com, http://localhost:8080/, 'self'")
            .expect("valid");
        assert_eq!(
            ok.as_slice(),
            [
                "https://shop.example.com",
                "http://localhost:8080",
                "'self'"
            ]
        );
        assert!(
            ok.content_security_policy()
                .ends_with("frame-ancestors https://shop.example.com http://localhost:8080 'self'")
        );
        for bad in [
            "shop.example.com",
            "https://",
            "https://shop.example.com/chat",
            "https://a b",
            "https://x.com:port",
            "https://x.com; script-src *",
        ] {
            let err = ChatOrigins::parse(bad).expect_err(bad);
            assert!(err.contains(&format!("`{bad}` is not an origin")), "{err}");
        }
    }

    #[test]
    fn gzip_is_sent_only_to_who_accepts_it() {
        assert!(accepts_gzip("gzip, deflate, br"));
        assert!(accepts_gzip("br;q=1.0, gzip;q=0.8"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("br, deflate"));
        assert!(!accepts_gzip("gzip;q=0, br"));
        assert!(!accepts_gzip("identity"));
    }

    #[test]
    fn the_page_names_only_its_own_files() {
        assert!(!CHAT_HTML.contains("<style"), "no inline style");
        assert!(!CHAT_HTML.contains("style="), "no inline style attribute");
        assert!(!CHAT_HTML.contains("<script>"), "no inline script");
        assert!(!CHAT_HTML.contains("http"), "nothing from elsewhere");
        assert!(!CHAT_JS.contains("innerHTML"), "text only, never markup");
    }
}
