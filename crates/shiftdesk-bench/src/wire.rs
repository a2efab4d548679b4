//! What every load-generator connection shares: opening a websocket from a chosen loopback
//! source address, and the tag that carries a message's scheduled send time inside its text.
//!
//! The tag is plain ASCII (`~T<phase>:<sender>:<micros in letters>~`) so it survives JSON, the
//! hub's masking of digit runs in customer text, the floor's text frames and NATS payloads
//! unchanged, and a receiver finds it without parsing the frame.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use shiftdesk_client::ConnectOptions;
use shiftdesk_client::backoff::Backoff;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub use shiftdesk_client::WsStream as Ws;

/// The websocket settings of the hub (see `hub::server`): tungstenite's defaults (128 KiB read
/// and write buffers) with a 1 MiB message and frame limit. The floor (P0) uses exactly these.
pub fn server_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(shiftdesk_hub::server::HARD_FRAME_LIMIT))
        .max_frame_size(Some(shiftdesk_hub::server::HARD_FRAME_LIMIT))
}

/// The load generator's own sockets: small buffers, so 15,000 of them fit in a few processes.
/// This changes nothing on the server side, which is what is measured.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0)
}

/// The process-wide time origin: tags carry microseconds since it.
pub fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

pub fn micros_since_origin(t: Instant) -> u64 {
    t.saturating_duration_since(origin()).as_micros() as u64
}

pub fn at_micros(us: u64) -> Instant {
    origin() + Duration::from_micros(us)
}

/// `host:port` of a `ws://` URL, resolved. `None` for anything else (wss://, names that do not
/// resolve): those connections are opened without a chosen source address.
async fn socket_addr(url: &str) -> Option<SocketAddr> {
    let rest = url.strip_prefix("ws://")?;
    let authority = rest.split('/').next()?;
    tokio::net::lookup_host(authority).await.ok()?.next()
}

/// Retries of a connect refused because a storm of connects overflowed the listen backlog.
const BACKLOG_RETRY: Backoff = Backoff {
    min: Duration::from_millis(50),
    max: Duration::from_millis(400),
};

/// Open a websocket to `url` with the client's [`shiftdesk_client::connect_with`], from `source`
/// when the target is on loopback (each 127.0.0.x has its own range of ephemeral ports, so many
/// sources allow many more connections), with small buffers. Retries a few times, with jitter:
/// a storm of connects can overflow the listen backlog.
pub async fn connect(url: &str, source: Option<Ipv4Addr>) -> anyhow::Result<Ws> {
    let loopback =
        matches!(socket_addr(url).await, Some(SocketAddr::V4(v4)) if v4.ip().is_loopback());
    let options = ConnectOptions {
        source: source.filter(|_| loopback).map(IpAddr::V4),
        websocket: Some(client_config()),
        tls: None,
    };
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match shiftdesk_client::connect_with(url, &options).await {
            Ok(ws) => return Ok(ws),
            Err(e) if attempt >= 5 => return Err(e),
            Err(_) => tokio::time::sleep(BACKLOG_RETRY.random_wait(attempt)).await,
        }
    }
}

/// Loopback source addresses for one process: `count` addresses starting at 127.0.0.`first`.
pub fn sources(first: u8, count: u8) -> Vec<Ipv4Addr> {
    (0..count.max(1))
        .map(|i| Ipv4Addr::new(127, 0, 0, first.saturating_add(i)))
        .collect()
}

/// A scheduled message: which phase, which sender, when it was meant to leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    pub phase: u32,
    pub sender: u32,
    pub sched_us: u64,
}

impl Tag {
    /// `~T<phase>:<sender>:<micros>~`, the micros in base-26 letters (`a` = 0): the hub masks
    /// runs of seven or more digits in what customers write (phone and card numbers) before
    /// workers see it, and a time in digits is such a run.
    pub fn text(self) -> String {
        let mut letters = Vec::new();
        let mut n = self.sched_us;
        loop {
            letters.push(b'a' + (n % 26) as u8);
            n /= 26;
            if n == 0 {
                break;
            }
        }
        letters.reverse();
        format!(
            "~T{}:{}:{}~",
            self.phase,
            self.sender,
            String::from_utf8_lossy(&letters)
        )
    }
}

/// Every tag in `text`, in order.
pub fn tags(text: &[u8]) -> impl Iterator<Item = Tag> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        while pos + 2 <= text.len() {
            let start = text[pos..].windows(2).position(|w| w == b"~T")? + pos + 2;
            pos = start;
            let mut fields = [0u64; 3];
            let mut i = start;
            let mut field = 0;
            let mut digits = 0;
            while i < text.len() {
                let b = text[i];
                match b {
                    b'0'..=b'9' if field < 2 => {
                        fields[field] = fields[field]
                            .saturating_mul(10)
                            .saturating_add(u64::from(b - b'0'));
                        digits += 1;
                    }
                    b'a'..=b'z' if field == 2 => {
                        fields[2] = fields[2]
                            .saturating_mul(26)
                            .saturating_add(u64::from(b - b'a'));
                        digits += 1;
                    }
                    b':' if field < 2 && digits > 0 => {
                        field += 1;
                        digits = 0;
                    }
                    b'~' if field == 2 && digits > 0 => {
                        pos = i + 1;
                        return Some(Tag {
                            phase: fields[0] as u32,
                            sender: fields[1] as u32,
                            sched_us: fields[2],
                        });
                    }
                    _ => break,
                }
                i += 1;
            }
        }
        None
    })
}

/// The payload every relay message carries after its tag: a typical customer line (~90 bytes).
pub const FILLER: &str =
    "Hi, I paid twice for order 4471 and would like the second charge refunded, please.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_inside_json() {
        let a = Tag {
            phase: 3,
            sender: 17,
            sched_us: 123_456_789,
        };
        let b = Tag {
            phase: 0,
            sender: 0,
            sched_us: 1,
        };
        let frame = format!(
            r#"{{"seq":4,"type":"message","text":"{} {FILLER}"}}~T9:x~ ~T {}"#,
            a.text(),
            b.text()
        );
        let found: Vec<Tag> = tags(frame.as_bytes()).collect();
        assert_eq!(found, vec![a, b]);
        assert_eq!(tags(b"no tag here ~T1:2").count(), 0);
        // What a worker sees of a customer's line is masked: the tag must come through whole.
        let masked = shiftdesk_protocol::redact::mask(&a.text());
        assert_eq!(tags(masked.as_bytes()).collect::<Vec<_>>(), vec![a]);
    }
}
