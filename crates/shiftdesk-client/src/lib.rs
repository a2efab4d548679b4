//! Connecting to a hub as a client (console, customer, simulator, benchmarks, tests): ws:// or
//! wss:// with rustls, the system's root certificates, and optionally a private CA.

pub mod customer;
pub mod sim;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::net::TcpStream;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

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
    url.parse::<tokio_tungstenite::tungstenite::http::Uri>()
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

/// Open a websocket to `url`.
pub async fn connect(
    url: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> anyhow::Result<WsStream> {
    let connector = match (url.starts_with("wss://"), tls) {
        (true, Some(config)) => Some(Connector::Rustls(config)),
        (true, None) => Some(Connector::Rustls(tls_config(None)?)),
        (false, _) => None,
    };
    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(url, None, false, connector)
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    Ok(ws)
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
}
