//! P0, the floor: the smallest relay that can do the hub's job on the wire, built like the hub's
//! network shell (tokio-tungstenite, the same websocket settings, one task per connection with a
//! bounded outbound queue of the same size) but with no JSON, no log and no dispatch rules.
//!
//! Its protocol is three text commands:
//! - `hello NAME [worker]` registers the connection (a worker takes part in `any`); answers `ok`;
//! - `to A,B,C TEXT` sends TEXT to each named connection;
//! - `any TEXT` sends TEXT to one worker, round robin (the floor of "choose a worker and offer").

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::conn::{Codec, Conn};
use super::jobs::{OfferJob, RelayJob};
use super::wire::{self, Ws};
use shiftdesk_hub::engine::CONNECTION_QUEUE;
use shiftdesk_hub::server::WRITE_BATCH;

#[derive(Default)]
struct Registry {
    by_name: HashMap<String, mpsc::Sender<Utf8Bytes>>,
    workers: Vec<String>,
    next: usize,
}

type Shared = Arc<Mutex<Registry>>;

/// Serve on `listen` until killed; prints `... listening on ws://ADDR` first. `read_buffer`
/// overrides the websocket read buffer (tungstenite's default is 128 KiB; the hub's is 4 KiB), to
/// show what the hub's tuning saves.
pub async fn serve(listen: SocketAddr, read_buffer: Option<usize>) -> anyhow::Result<()> {
    let config = match read_buffer {
        Some(bytes) => wire::server_config().read_buffer_size(bytes),
        None => wire::server_config(),
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    {
        use std::io::Write;
        let mut out = std::io::stdout();
        let _ = writeln!(out, "shiftdesk bench floor listening on ws://{addr}");
        let _ = out.flush();
    }
    let registry: Shared = Arc::default();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(_) => {
                // Out of file descriptors and the like: back off, as axum does.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // As the hub does: small frames back to back must not wait for an ACK (Nagle). Without
        // this the floor's tail at moderate load was erratic (p99 from 3 to 490 ms).
        let _ = stream.set_nodelay(true);
        let registry = registry.clone();
        tokio::spawn(async move {
            if let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
            {
                connection(ws, registry).await;
            }
        });
    }
}

async fn connection(
    mut ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    registry: Shared,
) {
    let (tx, mut rx) = mpsc::channel::<Utf8Bytes>(CONNECTION_QUEUE);
    let mut name: Option<String> = None;
    loop {
        tokio::select! {
            Some(frame) = rx.recv() => {
                // Like the hub's connection task: the shared frame is written as it is, with
                // what is already queued, and one flush.
                let mut written = ws.feed(Message::Text(frame)).await.is_ok();
                for _ in 1..WRITE_BATCH {
                    let Ok(frame) = rx.try_recv() else { break };
                    written = written && ws.feed(Message::Text(frame)).await.is_ok();
                }
                if !written || ws.flush().await.is_err() {
                    break;
                }
            }
            msg = ws.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                };
                let text = text.as_str();
                if let Some(rest) = text.strip_prefix("hello ") {
                    let mut words = rest.split(' ');
                    let n = words.next().unwrap_or_default().to_string();
                    let worker = words.next() == Some("worker");
                    if let Ok(mut r) = registry.lock() {
                        r.by_name.insert(n.clone(), tx.clone());
                        if worker {
                            r.workers.push(n.clone());
                        }
                    }
                    name = Some(n);
                    if ws.send(Message::text("ok")).await.is_err() {
                        break;
                    }
                } else if let Some(rest) = text.strip_prefix("to ") {
                    let (to, body) = rest.split_once(' ').unwrap_or((rest, ""));
                    // One new frame per line, shared by its recipients, as the hub does.
                    let body = Utf8Bytes::from(body);
                    if let Ok(r) = registry.lock() {
                        for n in to.split(',') {
                            if let Some(peer) = r.by_name.get(n) {
                                let _ = peer.try_send(body.clone());
                            }
                        }
                    }
                } else if let Some(body) = text.strip_prefix("any ")
                    && let Ok(mut r) = registry.lock()
                    && !r.workers.is_empty()
                {
                    let i = r.next % r.workers.len();
                    r.next = r.next.wrapping_add(1);
                    let chosen = r.workers[i].clone();
                    if let Some(peer) = r.by_name.get(&chosen) {
                        let _ = peer.try_send(body.into());
                    }
                }
            }
        }
    }
    if let Some(n) = name
        && let Ok(mut r) = registry.lock()
    {
        r.by_name.remove(&n);
        r.workers.retain(|w| w != &n);
    }
}

/// Connect and register as `name`; returns once the floor has answered `ok`.
pub async fn register(
    url: &str,
    source: Option<Ipv4Addr>,
    name: &str,
    worker: bool,
) -> anyhow::Result<Ws> {
    let mut ws = wire::connect(url, source).await?;
    let hello = if worker {
        format!("hello {name} worker")
    } else {
        format!("hello {name}")
    };
    ws.send(Message::text(hello)).await?;
    let answer = tokio::time::timeout(Duration::from_secs(30), ws.next())
        .await
        .context("the floor did not answer hello")?;
    match answer {
        Some(Ok(Message::Text(t))) if t.as_str() == "ok" => Ok(ws),
        other => anyhow::bail!("unexpected answer to hello from the floor: {other:?}"),
    }
}

/// Customer k sends to worker k and the shadows; worker k to customer k and the shadows.
pub async fn relay_setup(job: &RelayJob) -> anyhow::Result<Vec<Conn>> {
    let url = &job.server.url;
    let src = |i: usize| job.sources.get(i % job.sources.len().max(1)).copied();
    let shadows: Vec<String> = (0..job.shadows).map(|s| format!("s{s}")).collect();
    let mut conns = Vec::new();
    for (s, name) in shadows.iter().enumerate() {
        conns.push(Conn {
            ws: register(url, src(s), name, false).await?,
            codec: Codec::Floor {
                prefix: String::new(),
            },
            sender: None,
            shadow: true,
        });
    }
    let to = |peer: String| {
        let mut names = vec![peer];
        names.extend(shadows.iter().cloned());
        format!("to {}", names.join(","))
    };
    for k in 0..job.pairs {
        for (side, peer, index) in [("c", "w", 2 * k), ("w", "c", 2 * k + 1)] {
            conns.push(Conn {
                ws: register(url, src(index), &format!("{side}{k}"), false).await?,
                codec: Codec::Floor {
                    prefix: to(format!("{peer}{k}")),
                },
                sender: Some(index as u32),
                shadow: false,
            });
        }
    }
    Ok(conns)
}

/// `customers` senders using `any`, and `job.workers` registered workers.
pub async fn offer_setup(job: &OfferJob, customers: usize) -> anyhow::Result<Vec<Conn>> {
    let url = &job.server.url;
    let src = |i: usize| job.sources.get(i % job.sources.len().max(1)).copied();
    let limit = Arc::new(tokio::sync::Semaphore::new(128));
    let mut handles = Vec::new();
    for i in 0..job.workers {
        let (url, source, limit) = (url.clone(), src(i), limit.clone());
        handles.push(tokio::spawn(async move {
            let _permit = limit.acquire().await?;
            register(&url, source, &format!("w{i}"), true).await
        }));
    }
    let mut conns = Vec::new();
    for h in handles {
        conns.push(Conn {
            ws: h.await??,
            codec: Codec::Floor {
                prefix: String::new(),
            },
            sender: None,
            shadow: false,
        });
    }
    for c in 0..customers {
        conns.push(Conn {
            ws: register(url, src(c), &format!("c{c}"), false).await?,
            codec: Codec::Floor {
                prefix: "any".into(),
            },
            sender: Some(c as u32),
            shadow: false,
        });
    }
    Ok(conns)
}
