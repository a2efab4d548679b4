//! `shiftdesk customer`: a customer on the command line. Each stdin line is one message; each
//! message received is printed as one JSON line (`from`, `text`, `at`).
//!
//! It runs on the same session as the console ([`crate::customer`]) through a [`Courier`]:
//! every message stays in the outbox until the hub acknowledges it; a broken connection or a
//! hub restart is survived by reconnecting with backoff, resuming the conversation from the last
//! frame seen, and sending the unacknowledged messages again with the same ids (the hub applies
//! each once).

use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::Instant;

use crate::Courier;
use crate::customer::{self, CustomerConfig};
use crate::session::{ConnState, SessionEvent};
use shiftdesk_protocol::{Author, CustomerCommand, CustomerEvent, ErrorCode, Lang};

pub struct CustomerOptions {
    pub hub: String,
    pub name: Option<String>,
    pub lang: Option<Lang>,
    /// After stdin closes, wait at most this long for pending replies.
    pub wait: Duration,
    /// Context signed by the operator's backend (PROTOCOL.md 6.1).
    pub signed_context: Option<String>,
}

/// Give up reconnecting after this long without a working connection.
const RECONNECT_FOR: Duration = Duration::from_secs(60);

/// Run until stdin closes and replies have arrived (or `wait` passes), or the conversation ends.
pub async fn run(options: CustomerOptions) -> anyhow::Result<()> {
    // A bad URL is the user's mistake: say so before anything else.
    crate::session::hub_urls(&options.hub, "/ws/customer")?;
    let mut courier = Courier::new(customer::spawn(CustomerConfig {
        name: options.name.clone(),
        lang: options.lang,
        signed_context: options.signed_context.clone(),
        ..CustomerConfig::new(options.hub.clone())
    }));
    let result = converse(&mut courier, &options).await;
    courier.stop().await;
    result
}

async fn converse(
    courier: &mut Courier<shiftdesk_protocol::CustomerFrame, CustomerEvent>,
    options: &CustomerOptions,
) -> anyhow::Result<()> {
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut deadline: Option<Instant> = None;
    let mut started = false;
    let mut awaiting_reply = false;
    // Since when no connection has worked (from the start, or since the last one broke).
    let mut broken_since: Option<Instant> = Some(Instant::now());
    loop {
        if started && !stdin_open && courier.pending() == 0 && !awaiting_reply {
            return Ok(());
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
                        awaiting_reply = true;
                        courier.send(CustomerCommand::Message { text: line });
                    }
                    None => {
                        stdin_open = false;
                        deadline = Some(Instant::now() + options.wait);
                    }
                }
            }
            event = courier.next() => {
                let Some(event) = event else {
                    anyhow::bail!("the connection to the hub ended");
                };
                match event {
                    SessionEvent::Conn(ConnState::Connected) => broken_since = None,
                    SessionEvent::Conn(ConnState::Offline { reason }) => anyhow::bail!("{reason}"),
                    SessionEvent::Conn(_) => {}
                    SessionEvent::Lost(why) => {
                        // The very first connection failing is an error worth reporting at once.
                        if !started {
                            anyhow::bail!("{why}");
                        }
                        let since = *broken_since.get_or_insert_with(Instant::now);
                        if since.elapsed() > RECONNECT_FOR {
                            anyhow::bail!("gave up reconnecting: {why}");
                        }
                        eprintln!("connection to the hub lost ({why}); reconnecting");
                    }
                    SessionEvent::Frame(event) => {
                        if received(event, &mut started, &mut awaiting_reply, courier.pending()) {
                            return Ok(());
                        }
                    }
                }
            }
            _ = sleep => {
                eprintln!("gave up waiting for replies after {}s", options.wait.as_secs());
                return Ok(());
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// Show a hub frame; true when the conversation is over.
fn received(
    event: CustomerEvent,
    started: &mut bool,
    awaiting_reply: &mut bool,
    pending: usize,
) -> bool {
    match event {
        CustomerEvent::Started {
            conversation,
            resumed,
            ..
        } => {
            if !*started {
                eprintln!("conversation {conversation} started");
            } else if !resumed {
                eprintln!("the hub restarted; some lines may be missing above");
            }
            *started = true;
        }
        CustomerEvent::Message {
            from,
            text,
            at,
            name,
        } => {
            if matches!(from, Author::Bot | Author::Worker) && pending <= 1 {
                *awaiting_reply = false;
            }
            let mut line = serde_json::json!({"from": from, "text": text, "at": at});
            if let Some(name) = name {
                line["name"] = name.into();
            }
            println!("{line}");
        }
        CustomerEvent::Error {
            code: ErrorCode::RateLimited,
            message,
            ..
        } => {
            // The courier keeps the line and sends it again when the hub says.
            eprintln!("{message} (sent again by itself)");
        }
        CustomerEvent::Error {
            id, code, message, ..
        } => {
            // A refused message is answered (the courier settled it), so we don't wait for it.
            eprintln!(
                "hub error {code:?} for {}: {message}",
                id.unwrap_or_default()
            );
        }
        CustomerEvent::Closed { reason } => {
            println!(
                "{}",
                serde_json::json!({"from": "system", "text": format!("conversation closed: {reason}"), "closed": true})
            );
            return true;
        }
        CustomerEvent::Queued {
            on_shift: Some(0), ..
        } => eprintln!(
            "nobody who speaks your language is on shift right now; you stay in the queue"
        ),
        CustomerEvent::Ack { .. }
        | CustomerEvent::Queued { .. }
        | CustomerEvent::Pong { .. }
        | CustomerEvent::Typing { .. } => {}
    }
    false
}
