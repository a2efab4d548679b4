//! P1: nats-server (the Debian package) with its websocket listener, spoken to in the NATS text
//! protocol (`CONNECT`, `SUB`, `PUB`, `MSG`, `PING`/`PONG`) over websocket binary frames.
//!
//! Relay: customer k publishes on `r.k.w` (worker k subscribes), worker k on `r.k.c`; the
//! shadows subscribe to `r.>`. Offer-like: the workers subscribe to `offers` in one queue
//! group, so the server picks one of them for each message.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::conn::{Codec, Conn};
use super::jobs::{OfferJob, RelayJob};
use super::procs::{Pinning, ServerProc};
use super::wire::{self, Ws};

/// A free TCP port on 127.0.0.1 (bound and released: good enough for a bench).
fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Find nats-server: the given path or name, then /usr/sbin (Debian puts it there).
pub fn find_server(program: &str) -> Option<PathBuf> {
    let given = Path::new(program);
    if given.components().count() > 1 {
        return given.is_file().then(|| given.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Start nats-server with a websocket listener; `dir` holds its config and log.
pub fn start(program: &Path, dir: &Path, pinning: Pinning) -> anyhow::Result<ServerProc> {
    std::fs::create_dir_all(dir)?;
    let port = free_port()?;
    let ws_port = free_port()?;
    let config = dir.join("nats.conf");
    std::fs::write(
        &config,
        format!(
            "host: 127.0.0.1\nport: {port}\nmax_connections: 100000\n\
             websocket {{\n  listen: \"127.0.0.1:{ws_port}\"\n  no_tls: true\n}}\n"
        ),
    )
    .with_context(|| format!("cannot write {}", config.display()))?;
    ServerProc::start(
        program,
        &["-c".to_string(), config.display().to_string()],
        pinning,
        &dir.join("nats.log"),
        Some(format!("ws://127.0.0.1:{ws_port}")),
    )
}

/// Connect, send CONNECT (and SUB if given), and wait for the PONG that confirms both.
async fn open(url: &str, source: Option<Ipv4Addr>, sub: Option<String>) -> anyhow::Result<Ws> {
    let mut ws = wire::connect(url, source).await?;
    let mut hello = String::from(
        "CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1,\"echo\":false,\"name\":\"shiftdesk-bench\"}\r\n",
    );
    if let Some(sub) = sub {
        hello.push_str(&sub);
    }
    hello.push_str("PING\r\n");
    ws.send(Message::binary(hello.into_bytes())).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .context("nats-server did not answer PING")?;
        match msg {
            Some(Ok(Message::Binary(b))) => seen.extend_from_slice(&b),
            Some(Ok(Message::Text(t))) => seen.extend_from_slice(t.as_bytes()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("nats-server closed the connection"),
        }
        if seen.windows(6).any(|w| w == b"PONG\r\n") {
            return Ok(ws);
        }
        if let Some(i) = seen.windows(5).position(|w| w == b"-ERR ") {
            anyhow::bail!(
                "nats-server refused: {}",
                String::from_utf8_lossy(&seen[i..])
            );
        }
    }
}

/// A subscriber to `subject` (in queue group `queue`, if given).
pub async fn subscriber(
    url: &str,
    source: Option<Ipv4Addr>,
    subject: &str,
    queue: Option<&str>,
) -> anyhow::Result<Ws> {
    let sub = match queue {
        Some(q) => format!("SUB {subject} {q} 1\r\n"),
        None => format!("SUB {subject} 1\r\n"),
    };
    open(url, source, Some(sub)).await
}

fn nats(subject: &str) -> Codec {
    Codec::Nats {
        subject: subject.to_string(),
        tail: Vec::new(),
    }
}

pub async fn relay_setup(job: &RelayJob) -> anyhow::Result<Vec<Conn>> {
    let url = &job.server.url;
    let src = |i: usize| job.sources.get(i % job.sources.len().max(1)).copied();
    let mut conns = Vec::new();
    for s in 0..job.shadows {
        conns.push(Conn {
            ws: subscriber(url, src(s), "r.>", None).await?,
            codec: nats(""),
            sender: None,
            shadow: true,
        });
    }
    for k in 0..job.pairs {
        // Customer k listens on r.k.c and publishes to r.k.w; worker k the other way round.
        for (listen, publish, index) in [("c", "w", 2 * k), ("w", "c", 2 * k + 1)] {
            conns.push(Conn {
                ws: subscriber(url, src(index), &format!("r.{k}.{listen}"), None).await?,
                codec: nats(&format!("r.{k}.{publish}")),
                sender: Some(index as u32),
                shadow: false,
            });
        }
    }
    Ok(conns)
}

pub async fn offer_setup(job: &OfferJob, customers: usize) -> anyhow::Result<Vec<Conn>> {
    let url = &job.server.url;
    let src = |i: usize| job.sources.get(i % job.sources.len().max(1)).copied();
    let limit = Arc::new(tokio::sync::Semaphore::new(128));
    let mut handles = Vec::new();
    for i in 0..job.workers {
        let (url, source, limit) = (url.clone(), src(i), limit.clone());
        handles.push(tokio::spawn(async move {
            let _permit = limit.acquire().await?;
            subscriber(&url, source, "offers", Some("workers")).await
        }));
    }
    let mut conns = Vec::new();
    for h in handles {
        conns.push(Conn {
            ws: h.await??,
            codec: nats(""),
            sender: None,
            shadow: false,
        });
    }
    for c in 0..customers {
        conns.push(Conn {
            ws: open(url, src(c), None).await?,
            codec: nats("offers"),
            sender: Some(c as u32),
            shadow: false,
        });
    }
    Ok(conns)
}
