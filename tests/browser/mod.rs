//! What the web chat's browser tests share: Debian's chromium driven through chromedriver
//! (WebDriver, headless, `--no-sandbox`), and steps on the page.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use serde_json::{Value, json};
use shiftdesk_hub::server::RunningHub;
use shiftdesk_testkit::{Client, worker};
use tokio::io::AsyncBufReadExt;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The secret the tests' shop signs its customers' context with.
pub const SECRET: &[u8] = b"tests-only-secret-0123456789abcdef";

pub fn http(hub: &RunningHub, path: &str) -> String {
    format!("http://{}{path}", hub.addr)
}

/// chromedriver on a free port and a headless chromium session. chromedriver runs in a process
/// group of its own, with the browsers it starts: dropping this kills the whole group, so a
/// failed test leaves no chromium behind.
pub struct Driver {
    child: tokio::process::Child,
    /// chromedriver's port, for the commands fantoccini does not have.
    port: u16,
    pub browser: Browser,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(pid) = self
            .child
            .id()
            .and_then(|id| rustix::process::Pid::from_raw(id as i32))
        {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

/// `None` (and a line saying so) when chromium or chromedriver is not installed, unless
/// `SHIFTDESK_REQUIRE_BROWSER` is set (CI sets it: there the browser tests must run).
pub async fn driver(test: &str) -> Option<Driver> {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        assert!(
            std::env::var_os("SHIFTDESK_REQUIRE_BROWSER").is_none(),
            "{test}: SHIFTDESK_REQUIRE_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing"
        );
        eprintln!(
            "{test}: skipped: no {CHROMIUM} or {CHROMEDRIVER} (apt-get install chromium chromium-driver)"
        );
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = tokio::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    // It says when it listens.
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let listening = async {
        while let Some(line) = lines.next_line().await.expect("chromedriver output") {
            if line.contains("started successfully") {
                return true;
            }
        }
        false
    };
    let listening = tokio::time::timeout(Duration::from_secs(30), listening).await;
    assert!(matches!(listening, Ok(true)), "chromedriver did not start");
    // Keep reading, so chromedriver never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1024,768", "--lang=en-US"],
        }),
    );
    let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a chromium session");
    browser
        .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
            Some(Duration::from_secs(30)),
            Some(Duration::from_secs(30)),
            Some(Duration::ZERO),
        ))
        .await
        .expect("timeouts");
    Some(Driver {
        child,
        port,
        browser,
    })
}

impl Driver {
    /// Take the browser off the network, or put it back, as Playwright's
    /// `context.setOffline` does (Chrome's network emulation: `navigator.onLine` changes and the
    /// page gets `offline` / `online`; sockets already open are left as they are).
    pub async fn set_offline(&self, offline: bool) {
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
        )
        .await;
    }

    /// Run `script` in every page this browser opens from now on, before the page's own.
    pub async fn before_each_page(&self, script: &str) {
        self.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": script }),
        )
        .await;
    }

    /// A Chrome DevTools Protocol command, through chromedriver.
    async fn cdp(&self, cmd: &str, params: Value) {
        let session = self
            .browser
            .session_id()
            .await
            .expect("the session id")
            .expect("a session");
        let url = format!(
            "http://127.0.0.1:{}/session/{session}/goog/cdp/execute",
            self.port
        );
        let body = json!({"cmd": cmd, "params": params}).to_string();
        let status = tokio::task::spawn_blocking(move || {
            ureq::post(&url)
                .header("content-type", "application/json")
                .send(body)
                .expect("chromedriver answers")
                .status()
                .as_u16()
        })
        .await
        .expect("the request");
        assert_eq!(status, 200, "{cmd}");
    }
}

/// Wait until the JavaScript expression `cond` is truthy in the page; returns its value.
pub async fn until(b: &Browser, what: &str, cond: &str) -> Value {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         const check = () => {{ let v = null; try {{ v = ({cond}); }} catch (e) {{}}
                               if (v) done(v); else setTimeout(check, 25); }};
         check();"
    );
    match b.execute_async(&script, vec![]).await {
        Ok(v) => v,
        Err(e) => panic!(
            "waiting for {what}: {e}; the page shows {:?}",
            lines(b).await
        ),
    }
}

/// The status bar's text.
pub async fn status(b: &Browser) -> String {
    b.execute(
        "return document.getElementById('status').textContent;",
        vec![],
    )
    .await
    .expect("the status")
    .as_str()
    .expect("text")
    .to_string()
}

/// A JavaScript expression: whether the transcript's last line is inside the visible part of
/// the log.
pub const LAST_LINE_VISIBLE: &str = "(() => {
    const log = document.getElementById('log').getBoundingClientRect();
    const last = document.querySelector('#log li:last-child').getBoundingClientRect();
    return last.top >= log.top - 1 && last.bottom <= log.bottom + 1; })()";

/// The transcript as shown: (class, text) of each line.
pub async fn lines(b: &Browser) -> Vec<(String, String)> {
    let v = b
        .execute(
            "return Array.from(document.querySelectorAll('#log li')).map(li =>
               [li.className.replace('line ', ''), li.querySelector('.text').textContent]);",
            vec![],
        )
        .await
        .expect("read the transcript");
    serde_json::from_value(v).expect("pairs")
}

/// How many customer lines with this text a worker frame holds (a `message`, or the messages
/// of a `conversation`).
pub fn customer_lines(frame: &Value, text: &str) -> usize {
    match frame {
        Value::Object(map) => {
            let own = usize::from(
                map.get("from") == Some(&json!("customer"))
                    && map.get("text") == Some(&json!(text)),
            );
            own + map.values().map(|v| customer_lines(v, text)).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(|v| customer_lines(v, text)).sum(),
        _ => 0,
    }
}

pub async fn type_line(b: &Browser, text: &str) {
    let field = b.find(Locator::Id("text")).await.expect("the text field");
    field.send_keys(text).await.expect("typing");
    field.send_keys("\u{E007}").await.expect("Enter");
}

pub async fn screenshot(b: &Browser, name: &str) -> PathBuf {
    let png = b.screenshot().await.expect("a screenshot");
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, png).expect("write the screenshot");
    eprintln!("screenshot: {}", path.display());
    path
}

/// The customer presses "Talk to a person".
pub async fn ask_for_a_person(b: &Browser) {
    b.find(Locator::Id("person"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("click");
}

/// The customer asks for a person and the worker `w` (on shift) takes the offer; returns the
/// conversation's id.
pub async fn a_person_takes_it(b: &Browser, w: &mut Client) -> String {
    ask_for_a_person(b).await;
    let offer = w.until_type("offer").await;
    let conversation = offer["conversation"].as_str().expect("id").to_string();
    w.ok(json!({"type": "accept_offer", "conversation": conversation}))
        .await;
    conversation
}

/// Wait until the page shows a line of the worker's that contains `text`.
pub async fn until_worker_said(b: &Browser, text: &str) {
    let cond = format!(
        "[...document.querySelectorAll('#log li.worker')].some(li => li.textContent.includes({}))",
        json!(text)
    );
    until(b, &format!("the worker's line {text:?}"), &cond).await;
}

/// A worker on shift, logged in over websocket.
pub async fn on_shift(hub: &RunningHub, token: &str) -> Client {
    let (mut w, _) = worker(&hub.url(), token).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    w
}

/// A JavaScript expression: the focused element's id, whether it shows its focus ring
/// (`:focus-visible`, a solid outline of 2 px or more), the contrast of the ring's colour with
/// the background it is drawn on (WCAG 1.4.11 asks 3:1), and whether the whole ring is on the
/// screen.
pub const FOCUS_RING: &str = "(() => {
    const e = document.activeElement, cs = getComputedStyle(e);
    const rgb = c => c.match(/[\\d.]+/g).map(Number);
    const lum = c => { const [r, g, b] = rgb(c).slice(0, 3).map(v => { v /= 255;
        return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const offset = parseFloat(cs.outlineOffset), width = parseFloat(cs.outlineWidth);
    let bg = 'rgb(255, 255, 255)';
    for (let n = offset < 0 ? e : e.parentElement; n; n = n.parentElement) {
        const c = rgb(getComputedStyle(n).backgroundColor);
        if (c.length < 4 || c[3] > 0) { bg = getComputedStyle(n).backgroundColor; break; }
    }
    const [a, b] = [lum(cs.outlineColor), lum(bg)];
    const contrast = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const r = e.getBoundingClientRect(), out = Math.max(offset + width, 0);
    const onScreen = r.left - out >= 0 && r.top - out >= 0
        && r.right + out <= document.documentElement.clientWidth
        && r.bottom + out <= document.documentElement.clientHeight;
    return [e.id, e.matches(':focus-visible') && cs.outlineStyle === 'solid' && width >= 2,
            Math.round(contrast * 100) / 100, onScreen];
})()";

/// Press `keys` (WebDriver key codes) on whatever has the focus.
pub async fn press(b: &Browser, keys: &str) {
    b.active_element()
        .await
        .expect("the focused element")
        .send_keys(keys)
        .await
        .expect("keys");
}
