//! `shiftdesk customer`: a customer on the command line. Each stdin line is one message; each
//! message received is printed as one JSON line (`from`, `text`, `at`).

use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::client;
use crate::lang::Lang;
use crate::protocol::{self, Author, CustomerCommand, CustomerEvent, CustomerFrame, HubFrame};

pub struct CustomerOptions {
    pub hub: String,
    pub name: Option<String>,
    pub lang: Option<Lang>,
    /// After stdin closes, wait at most this long for pending replies.
    pub wait: Duration,
}

fn frame(id: String, command: CustomerCommand) -> anyhow::Result<WsMessage> {
    Ok(WsMessage::Text(
        serde_json::to_string(&CustomerFrame { id, command })?.into(),
    ))
}

/// Run until stdin closes and replies have arrived (or `wait` passes), or the conversation ends.
pub async fn run(options: CustomerOptions) -> anyhow::Result<()> {
    let url = client::endpoint_url(&options.hub, "/ws/customer")?;
    let mut ws = client::connect(&url, None).await?;
    ws.send(frame(
        "start".into(),
        CustomerCommand::Start {
            protocol: protocol::PROTOCOL_VERSION,
            name: options.name.clone(),
            lang: options.lang,
            resume: None,
            context: Default::default(),
        },
    )?)
    .await?;

    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut sent = 0u32;
    let mut acked = 0u32;
    let mut awaiting_reply = false;
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        if !stdin_open && acked == sent && !awaiting_reply {
            break;
        }
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            line = stdin.next_line(), if stdin_open => {
                match line.context("reading stdin")? {
                    Some(line) if line.trim().is_empty() => {}
                    Some(line) => {
                        sent += 1;
                        awaiting_reply = true;
                        ws.send(frame(format!("m{sent}"), CustomerCommand::Message { text: line })?).await?;
                    }
                    None => {
                        stdin_open = false;
                        deadline = Some(tokio::time::Instant::now() + options.wait);
                    }
                }
            }
            incoming = ws.next() => {
                let Some(incoming) = incoming else { anyhow::bail!("the hub closed the connection") };
                let WsMessage::Text(text) = incoming.context("connection to the hub failed")? else { continue };
                let HubFrame { event, .. }: HubFrame<CustomerEvent> = serde_json::from_str(&text)
                    .with_context(|| format!("unexpected frame from the hub: {text}"))?;
                match event {
                    CustomerEvent::Message { from, text, at } => {
                        if matches!(from, Author::Bot | Author::Worker) && acked + 1 >= sent {
                            awaiting_reply = false;
                        }
                        println!("{}", serde_json::json!({"from": from, "text": text, "at": at}));
                    }
                    CustomerEvent::Ack { .. } => acked += 1,
                    CustomerEvent::Error { id, code, message } => {
                        // A refused message still counts as answered, so we don't wait for it.
                        if id.as_deref().is_some_and(|i| i.starts_with('m')) {
                            acked += 1;
                        }
                        eprintln!("hub error {code:?} for {}: {message}", id.unwrap_or_default());
                    }
                    CustomerEvent::Closed { reason } => {
                        println!("{}", serde_json::json!({"from": "system", "text": format!("conversation closed: {reason}"), "closed": true}));
                        break;
                    }
                    CustomerEvent::Started { conversation, .. } => {
                        eprintln!("conversation {conversation} started");
                    }
                    CustomerEvent::Queued { .. } | CustomerEvent::Pong { .. } => {}
                }
            }
            _ = sleep => {
                eprintln!("gave up waiting for replies after {}s", options.wait.as_secs());
                break;
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    let _ = ws.close(None).await;
    Ok(())
}
