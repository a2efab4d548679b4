//! `shiftdesk customer`: a customer on the command line. Each stdin line is one message; each
//! message received is printed as one JSON line (`from`, `text`, `at`).
//!
//! Like the console, it keeps every message until the hub acknowledges it and survives a broken
//! connection or a hub restart: it reconnects, resumes its conversation from the last frame it
//! saw, and sends the unacknowledged messages again with the same ids (the hub applies each once).

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{
    self as protocol, Author, CustomerCommand, CustomerEvent, CustomerFrame, CustomerResume,
    HubFrame,
};

pub struct CustomerOptions {
    pub hub: String,
    pub name: Option<String>,
    pub lang: Option<Lang>,
    /// After stdin closes, wait at most this long for pending replies.
    pub wait: Duration,
}

/// Give up reconnecting after this long without a working connection.
const RECONNECT_FOR: Duration = Duration::from_secs(60);

fn frame(id: String, command: CustomerCommand) -> anyhow::Result<WsMessage> {
    Ok(WsMessage::Text(
        serde_json::to_string(&CustomerFrame { id, command })?.into(),
    ))
}

/// What survives a reconnect.
#[derive(Default)]
struct Session {
    conversation: Option<(String, String)>,
    stream: String,
    last_seq: u64,
    /// Messages sent but not acknowledged, oldest first.
    unacked: VecDeque<(String, String)>,
    sent: u32,
    awaiting_reply: bool,
}

impl Session {
    fn start_frame(&self, options: &CustomerOptions) -> anyhow::Result<WsMessage> {
        let resume = self
            .conversation
            .as_ref()
            .map(|(conversation, key)| CustomerResume {
                conversation: conversation.clone(),
                key: key.clone(),
                stream: self.stream.clone(),
                last_seq: self.last_seq,
            });
        frame(
            "start".into(),
            CustomerCommand::Start {
                protocol: protocol::PROTOCOL_VERSION,
                name: options.name.clone(),
                lang: options.lang,
                resume,
                context: Default::default(),
            },
        )
    }
}

/// How one connection ended.
enum Ended {
    /// Done: stdin closed and replies arrived, the conversation closed, or Ctrl-C.
    Finished,
    /// The link broke: reconnect.
    Broken(String),
}

/// Run until stdin closes and replies have arrived (or `wait` passes), or the conversation ends.
pub async fn run(options: CustomerOptions) -> anyhow::Result<()> {
    let url = crate::endpoint_url(&options.hub, "/ws/customer")?;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut deadline: Option<Instant> = None;
    let mut session = Session::default();
    let mut backoff = Duration::from_millis(250);
    let mut broken_since: Option<Instant> = None;
    loop {
        let ws = match crate::connect(&url, None).await {
            Ok(ws) => ws,
            // The very first connection failing is an error worth reporting at once.
            Err(e) if session.conversation.is_none() && broken_since.is_none() => return Err(e),
            Err(e) => {
                let since = *broken_since.get_or_insert_with(Instant::now);
                if since.elapsed() > RECONNECT_FOR {
                    return Err(e.context("gave up reconnecting"));
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(250);
        match connected(
            ws,
            &options,
            &mut session,
            &mut stdin,
            &mut stdin_open,
            &mut deadline,
        )
        .await?
        {
            Ended::Finished => return Ok(()),
            Ended::Broken(why) => {
                eprintln!("connection to the hub lost ({why}); reconnecting");
                broken_since = Some(Instant::now());
            }
        }
    }
}

async fn connected(
    mut ws: crate::WsStream,
    options: &CustomerOptions,
    session: &mut Session,
    stdin: &mut tokio::io::Lines<BufReader<tokio::io::Stdin>>,
    stdin_open: &mut bool,
    deadline: &mut Option<Instant>,
) -> anyhow::Result<Ended> {
    if let Err(e) = ws.send(session.start_frame(options)?).await {
        return Ok(Ended::Broken(e.to_string()));
    }
    let mut started = false;
    loop {
        if started && !*stdin_open && session.unacked.is_empty() && !session.awaiting_reply {
            let _ = ws.close(None).await;
            return Ok(Ended::Finished);
        }
        let sleep = async {
            match *deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            line = stdin.next_line(), if *stdin_open && started => {
                match line.context("reading stdin")? {
                    Some(line) if line.trim().is_empty() => {}
                    Some(line) => {
                        session.sent += 1;
                        let id = format!("m{}", session.sent);
                        session.awaiting_reply = true;
                        session.unacked.push_back((id.clone(), line.clone()));
                        if let Err(e) = ws.send(frame(id, CustomerCommand::Message { text: line })?).await {
                            return Ok(Ended::Broken(e.to_string()));
                        }
                    }
                    None => {
                        *stdin_open = false;
                        *deadline = Some(Instant::now() + options.wait);
                    }
                }
            }
            incoming = ws.next() => {
                let text = match incoming {
                    Some(Ok(WsMessage::Text(text))) => text,
                    Some(Ok(WsMessage::Close(_))) | None => return Ok(Ended::Broken("closed".into())),
                    Some(Err(e)) => return Ok(Ended::Broken(e.to_string())),
                    Some(Ok(_)) => continue,
                };
                let HubFrame { seq, event }: HubFrame<CustomerEvent> = serde_json::from_str(&text)
                    .with_context(|| format!("unexpected frame from the hub: {text}"))?;
                if seq > 0 {
                    if seq <= session.last_seq {
                        continue; // already seen before a reconnect
                    }
                    session.last_seq = seq;
                }
                match event {
                    CustomerEvent::Started { conversation, key, stream, resumed, .. } => {
                        if session.conversation.is_none() {
                            eprintln!("conversation {conversation} started");
                        } else if !resumed {
                            eprintln!("the hub restarted; some lines may be missing above");
                        }
                        if !resumed {
                            session.last_seq = 0;
                        }
                        session.conversation = Some((conversation, key));
                        session.stream = stream;
                        started = true;
                        // Anything not acknowledged goes again, with the same id.
                        for (id, text) in session.unacked.clone() {
                            let msg = frame(id, CustomerCommand::Message { text })?;
                            if let Err(e) = ws.send(msg).await {
                                return Ok(Ended::Broken(e.to_string()));
                            }
                        }
                    }
                    CustomerEvent::Message { from, text, at } => {
                        if matches!(from, Author::Bot | Author::Worker) && session.unacked.len() <= 1 {
                            session.awaiting_reply = false;
                        }
                        println!("{}", serde_json::json!({"from": from, "text": text, "at": at}));
                    }
                    CustomerEvent::Ack { id, .. } => session.unacked.retain(|(i, _)| *i != id),
                    CustomerEvent::Error { id, code, message } => {
                        // A refused message is answered, so we don't wait for it.
                        if let Some(id) = &id {
                            session.unacked.retain(|(i, _)| i != id);
                        }
                        eprintln!("hub error {code:?} for {}: {message}", id.unwrap_or_default());
                        if !started {
                            anyhow::bail!("the hub refused the conversation: {message}");
                        }
                    }
                    CustomerEvent::Closed { reason } => {
                        println!("{}", serde_json::json!({"from": "system", "text": format!("conversation closed: {reason}"), "closed": true}));
                        let _ = ws.close(None).await;
                        return Ok(Ended::Finished);
                    }
                    CustomerEvent::Queued { .. } | CustomerEvent::Pong { .. } => {}
                }
            }
            _ = sleep => {
                eprintln!("gave up waiting for replies after {}s", options.wait.as_secs());
                let _ = ws.close(None).await;
                return Ok(Ended::Finished);
            }
            _ = tokio::signal::ctrl_c() => {
                let _ = ws.close(None).await;
                return Ok(Ended::Finished);
            }
        }
    }
}
