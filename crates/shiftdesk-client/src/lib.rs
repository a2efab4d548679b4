//! One websocket client for the shiftdesk hub, used by the console, `shiftdesk customer`, the
//! demo's simulated customers and workers, the benchmark's load generators and the tests.
//!
//! - [`connect`], [`connect_with`], [`endpoint_url`], [`tls_config`]: opening a websocket (ws://
//!   or wss:// with rustls, the system's root certificates, and optionally a private CA);
//! - [`session`]: the session task (log in, resume, ping, notice a dead link, reconnect), for
//!   either dialect: [`worker`] (`/ws/worker`) and [`customer`] (`/ws/customer`);
//! - [`liveness`] and [`backoff`]: when a link is dead, and how long to wait before trying again;
//! - [`outbox`]: commands not yet answered; [`outbox_file`]: the outbox on disk, written off the
//!   caller's task; [`Courier`]: a session with an outbox, for simple clients;
//! - [`customer_cli`]: `shiftdesk customer`; [`sim`]: the demo's simulated people.

pub mod backoff;
pub mod courier;
pub mod customer;
pub mod customer_cli;
pub mod liveness;
pub mod outbox;
pub mod outbox_file;
pub mod session;
pub mod sim;
pub mod worker;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::http::Uri;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

pub use courier::Courier;
pub use liveness::Liveness;
pub use session::LoginError;
pub use session::{ConnState, Endpoint, Session, SessionCommand, SessionEvent, StreamCursor};
use shiftdesk_protocol::Millis;

pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// A short random prefix for this run's command ids.
pub fn random_prefix() -> String {
    format!("{:08x}", rand::random::<u32>())
}

/// The websocket URL of an endpoint (`/ws/worker`, `/ws/customer`) of the hub at `hub`.
/// `hub` may be `ws://host:port`, `wss://host`, `host:port` (ws assumed), with or without a
/// trailing path.
pub fn endpoint_url(hub: &str, endpoint: &str) -> anyhow::Result<String> {
    let hub = hub.trim().trim_end_matches('/');
    let with_scheme = if hub.starts_with("ws://") || hub.starts_with("wss://") {
        hub.to_string()
    } else if let Some(rest) = hub.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = hub.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if hub.contains("://") {
        anyhow::bail!("hub URL `{hub}` must start with ws:// or wss://");
    } else {
        format!("ws://{hub}")
    };
    let base = with_scheme
        .strip_suffix("/ws/worker")
        .or_else(|| with_scheme.strip_suffix("/ws/customer"))
        .unwrap_or(&with_scheme);
    let url = format!("{base}{endpoint}");
    url.parse::<Uri>()
        .with_context(|| format!("`{url}` is not a valid URL"))?;
    Ok(url)
}

/// TLS settings: the system roots plus, if given, the certificates in `ca_cert` (PEM).
pub fn tls_config(ca_cert: Option<&Path>) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_cert {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read CA certificate {}", path.display()))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert =
                cert.with_context(|| format!("{}: not a PEM certificate", path.display()))?;
            roots
                .add(cert)
                .with_context(|| format!("{}: certificate rejected", path.display()))?;
            added += 1;
        }
        if added == 0 {
            anyhow::bail!("{}: no certificate found (expected PEM)", path.display());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// How to open a websocket, beyond the URL.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// TLS settings for wss:// (`None`: the system roots).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Connect from this local address. The benchmark's load generators spread thousands of
    /// connections over several loopback addresses, each with its own ephemeral ports.
    pub source: Option<IpAddr>,
    /// Websocket buffer and size limits (`None`: tungstenite's defaults).
    pub websocket: Option<WebSocketConfig>,
}

/// Open a websocket to `url`.
pub async fn connect(
    url: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> anyhow::Result<WsStream> {
    connect_with(
        url,
        &ConnectOptions {
            tls,
            ..ConnectOptions::default()
        },
    )
    .await
}

/// Open a websocket to `url` as `options` say. Small frames go out at once (`TCP_NODELAY`).
pub async fn connect_with(url: &str, options: &ConnectOptions) -> anyhow::Result<WsStream> {
    let uri: Uri = url
        .parse()
        .with_context(|| format!("`{url}` is not a valid URL"))?;
    let secure = match uri.scheme_str() {
        Some("wss") => true,
        Some("ws") => false,
        _ => anyhow::bail!("`{url}` must start with ws:// or wss://"),
    };
    let host = uri
        .host()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .with_context(|| format!("`{url}` has no host"))?;
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let addr = tokio::net::lookup_host((host, port))
        .await
        .with_context(|| format!("cannot connect to {url}: cannot resolve {host}"))?
        .next()
        .with_context(|| format!("cannot connect to {url}: {host} has no address"))?;
    let stream = tcp(addr, options.source)
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    stream.set_nodelay(true)?;
    let connector = match (secure, &options.tls) {
        (true, Some(config)) => Some(Connector::Rustls(config.clone())),
        (true, None) => Some(Connector::Rustls(tls_config(None)?)),
        (false, _) => None,
    };
    let (ws, _) =
        tokio_tungstenite::client_async_tls_with_config(url, stream, options.websocket, connector)
            .await
            .with_context(|| format!("cannot connect to {url}: websocket handshake failed"))?;
    Ok(ws)
}

async fn tcp(addr: SocketAddr, source: Option<IpAddr>) -> anyhow::Result<TcpStream> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if let Some(source) = source {
        socket
            .bind(SocketAddr::new(source, 0))
            .with_context(|| format!("cannot bind the source address {source}"))?;
    }
    Ok(socket.connect(addr).await?)
}

#[cfg(test)]
mod tests {
    use super::endpoint_url;

    #[test]
    fn urls() {
        assert_eq!(
            endpoint_url("127.0.0.1:9", "/ws/worker").unwrap(),
            "ws://127.0.0.1:9/ws/worker"
        );
        assert_eq!(
            endpoint_url("wss://hub.example/", "/ws/customer").unwrap(),
            "wss://hub.example/ws/customer"
        );
        assert_eq!(
            endpoint_url("ws://h:1/ws/worker", "/ws/worker").unwrap(),
            "ws://h:1/ws/worker"
        );
        assert!(endpoint_url("ftp://h", "/ws/worker").is_err());
    }

    #[tokio::test]
    async fn nobody_listening_is_an_error_naming_the_url() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("ws://127.0.0.1:{port}/ws/worker");
        let e = format!("{:#}", super::connect(&url, None).await.unwrap_err());
        assert!(e.contains(&url), "{e}");
    }
}
