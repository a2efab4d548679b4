//! The customer chat on the web: `GET /chat` (a full page), its script and style, and
//! `GET /widget.js` (one script tag puts a launcher and the chat, in an iframe, on any site).
//!
//! The files are plain HTML, CSS and JavaScript under `assets/web/`, compiled in: no build step,
//! nothing fetched from elsewhere. The page speaks the customer dialect over `/ws/customer`
//! like any other client (PROTOCOL.md, section 6).
//!
//! The page learns the hub's languages, and the texts of the operator's own languages (their
//! files' `[page]`, see [`crate::languages::PAGE_TEXTS`]), from two attributes filled in when
//! it is served: `data-langs` and `data-texts`. It is made again when the languages change (a
//! SIGHUP reload), so a language added on a running hub is offered at once.
//!
//! `/chat` is served with a strict Content-Security-Policy: scripts and styles only from the
//! hub's own files (no inline ones), connections only back to the hub, and framing only by
//! the origins the operator allows (`--chat-origins`).

use std::io::Write as _;
use std::sync::{Arc, Mutex};

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

/// `/chat`: the page for the languages loaded now, made again when they change.
struct Page {
    csp: String,
    made: Mutex<Option<(Arc<crate::languages::Registry>, Arc<File>)>>,
}

impl Page {
    fn file(&self) -> Arc<File> {
        let registry = crate::languages::registry();
        let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((seen, file)) = &*made
            && Arc::ptr_eq(seen, &registry)
        {
            return file.clone();
        }
        let file = File::new(
            &page_html(&registry),
            "text/html; charset=utf-8",
            Some(self.csp.clone()),
        );
        *made = Some((registry, file.clone()));
        file
    }
}

/// The page, with the languages of `registry` and their texts filled in.
fn page_html(registry: &crate::languages::Registry) -> String {
    CHAT_HTML
        .replace("{{LANGS}}", &escape_attr(&served_languages(registry)))
        .replace("{{TEXTS}}", &escape_attr(&page_texts(registry)))
}

/// The routes of the web chat; merged into the hub's router.
pub fn router(origins: &ChatOrigins) -> Router {
    let page = Arc::new(Page {
        csp: origins.content_security_policy(),
        made: Mutex::new(None),
    });
    let mut router = Router::new().route(
        "/chat",
        get(move |headers: axum::http::HeaderMap| {
            let file = page.file();
            async move { file.respond(&headers) }
        }),
    );
    let files = [
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

/// `en:English,it:Italiano,…`: the languages the page offers, in the hub's order (the six
/// built in, then the loaded ones).
fn served_languages(registry: &crate::languages::Registry) -> String {
    let builtin = crate::lang::Lang::ALL
        .iter()
        .map(|lang| (*lang, lang.name().to_string()));
    let loaded = registry.loaded().map(|l| (l.lang, l.name.to_string()));
    builtin
        .chain(loaded)
        .map(|(lang, name)| format!("{lang}:{}", name.replace([',', ':'], " ")))
        .collect::<Vec<_>>()
        .join(",")
}

/// `{"pl":{"talk":"…","person":"…"}}`: the page's texts of each loaded language (the built-in
/// ones are in the script).
fn page_texts(registry: &crate::languages::Registry) -> String {
    let texts: serde_json::Map<String, serde_json::Value> = registry
        .loaded()
        .map(|l| {
            let page = l
                .page
                .iter()
                .map(|(key, text)| ((*key).to_string(), serde_json::Value::from(*text)))
                .collect();
            (l.lang.code().to_string(), serde_json::Value::Object(page))
        })
        .collect();
    serde_json::Value::Object(texts).to_string()
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

    /// A language file may give exactly the texts the page has, with the same placeholders.
    #[test]
    fn the_page_texts_a_language_file_may_give_are_the_pages_own() {
        let start = CHAT_JS.find("    en: { ").expect("the English texts");
        let end = start + CHAT_JS[start..].find(" },\n").expect("their end");
        let english = &CHAT_JS[start..end];
        let keys = english.matches(": \"").count();
        assert_eq!(
            keys,
            crate::languages::PAGE_TEXTS.len(),
            "chat.js's English texts and PAGE_TEXTS differ: {english}"
        );
        for (key, placeholders) in crate::languages::PAGE_TEXTS {
            let at = english
                .find(&format!(" {key}: \""))
                .unwrap_or_else(|| panic!("chat.js has no English text `{key}`"));
            let text = &english[at + key.len() + 4..];
            let text = &text[..text.find('"').expect("a closing quote")];
            for p in placeholders {
                assert!(text.contains(p), "{key}: {text:?} lacks {p}");
            }
        }
    }

    #[test]
    fn the_page_lists_the_languages_and_their_texts_as_attributes() {
        let html = page_html(&crate::languages::Registry::default());
        assert!(
            html.contains(r#"data-langs="en:English,it:Italiano,de:Deutsch"#),
            "{html}"
        );
        assert!(html.contains(r#"data-texts="{}""#), "{html}");
    }
}
