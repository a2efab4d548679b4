//! Simulated customers for the demo (and load tests): real websocket clients that open
//! conversations from `assets/demo/customers.toml`, wait for the bot or a person, and answer
//! a worker's messages at a human pace until the conversation is resolved.

pub mod workers;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use serde::Deserialize;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{
    Author, CustomerCommand, CustomerEvent, CustomerFrame, HubFrame, PROTOCOL_VERSION,
};

const BUILTIN: &str = include_str!("../../../../assets/demo/customers.toml");

/// One simulated customer's script.
#[derive(Debug, Clone, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub lang: Lang,
    /// `bot`, `person` or `sensitive`: what the scenario shows.
    pub kind: String,
    pub opening: Vec<String>,
    #[serde(default)]
    pub follow_ups: Vec<String>,
    #[serde(default)]
    pub context: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct ScenarioFile {
    customer: Vec<Scenario>,
}

/// Parse a scenario file; errors name what is wrong.
pub fn parse(text: &str) -> anyhow::Result<Vec<Scenario>> {
    let file: ScenarioFile = toml::from_str(text).context("customer scenarios")?;
    if let Some(s) = file.customer.iter().find(|s| s.opening.is_empty()) {
        anyhow::bail!("customer `{}` has no opening line", s.name);
    }
    Ok(file.customer)
}

/// The scenarios shipped in assets/.
pub fn builtin() -> Vec<Scenario> {
    // The asset is compiled in and covered by a test, so it always parses.
    parse(BUILTIN).unwrap_or_default()
}

/// How fast simulated people are.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Time to read and type an answer, in milliseconds (min, max).
    pub think_ms: (u64, u64),
    /// Time between two new customers (min, max).
    pub arrival_ms: (u64, u64),
    /// A customer gives up after this long without a resolution.
    pub patience: Duration,
}

impl Pace {
    /// Human-like: seconds to answer, a new customer every half minute or so.
    pub fn human() -> Pace {
        Pace {
            think_ms: (2_500, 6_000),
            arrival_ms: (20_000, 40_000),
            patience: Duration::from_secs(20 * 60),
        }
    }
}

/// How a simulated conversation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The bot answered; the customer left happy.
    Bot,
    /// A person resolved it.
    Resolved,
    /// The customer gave up or the hub closed it another way.
    Ended(String),
}

fn frame(id: String, command: CustomerCommand) -> anyhow::Result<WsMessage> {
    Ok(WsMessage::Text(
        serde_json::to_string(&CustomerFrame { id, command })?.into(),
    ))
}

fn think(range: (u64, u64)) -> Duration {
    let (lo, hi) = range;
    Duration::from_millis(rand::rng().random_range(lo..=hi.max(lo)))
}

/// Play one scenario against the hub at `hub` until it ends.
pub async fn run_customer(hub: &str, scenario: &Scenario, pace: Pace) -> anyhow::Result<Outcome> {
    let url = crate::endpoint_url(hub, "/ws/customer")?;
    let mut ws = crate::connect(&url, None).await?;
    ws.send(frame(
        "start".into(),
        CustomerCommand::Start {
            protocol: PROTOCOL_VERSION,
            name: Some(scenario.name.clone()),
            lang: Some(scenario.lang),
            resume: None,
            context: scenario.context.clone(),
        },
    )?)
    .await?;
    let mut next_id = 0u32;
    let send = |n: u32, text: &str| {
        frame(
            format!("m{n}"),
            CustomerCommand::Message {
                text: text.to_string(),
            },
        )
    };
    let mut with_person = false;
    let mut follow_ups = scenario.follow_ups.iter();
    let deadline = tokio::time::Instant::now() + pace.patience;
    // Opening lines: one at a time, each after the bot's answer (or a hand-off).
    for line in &scenario.opening {
        tokio::time::sleep(think(pace.think_ms)).await;
        next_id += 1;
        ws.send(send(next_id, line)?).await?;
        let sent = format!("m{next_id}");
        // The hub sends what a message caused (the bot's answer, or the hand-off) before its ack.
        loop {
            match next_event(&mut ws, deadline).await? {
                CustomerEvent::Queued { .. } => with_person = true,
                CustomerEvent::Ack { id, .. } | CustomerEvent::Error { id: Some(id), .. }
                    if id == sent =>
                {
                    break;
                }
                CustomerEvent::Closed { reason } => return Ok(Outcome::Ended(reason)),
                _ => {}
            }
        }
        if with_person {
            break;
        }
    }
    if !with_person {
        tokio::time::sleep(think(pace.think_ms)).await;
        ws.send(frame("leave".into(), CustomerCommand::Leave)?)
            .await?;
        let _ = ws.close(None).await;
        return Ok(Outcome::Bot);
    }
    // With a person: answer each of their messages with the next line.
    loop {
        match next_event(&mut ws, deadline).await {
            Ok(CustomerEvent::Message {
                from: Author::Worker,
                ..
            }) => {
                if let Some(line) = follow_ups.next() {
                    tokio::time::sleep(think(pace.think_ms)).await;
                    next_id += 1;
                    ws.send(send(next_id, line)?).await?;
                }
            }
            Ok(CustomerEvent::Closed { reason }) => {
                let _ = ws.close(None).await;
                return Ok(if reason == "resolved" {
                    Outcome::Resolved
                } else {
                    Outcome::Ended(reason)
                });
            }
            Ok(_) => {}
            Err(e) if tokio::time::Instant::now() >= deadline => {
                let _ = ws
                    .send(frame("leave".into(), CustomerCommand::Leave)?)
                    .await;
                return Ok(Outcome::Ended(format!("gave up: {e}")));
            }
            Err(e) => return Err(e),
        }
    }
}

async fn next_event(
    ws: &mut crate::WsStream,
    deadline: tokio::time::Instant,
) -> anyhow::Result<CustomerEvent> {
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| anyhow::anyhow!("no answer in time"))?
            .context("the hub closed the connection")?
            .context("connection to the hub failed")?;
        if let WsMessage::Text(text) = msg {
            let HubFrame { event, .. }: HubFrame<CustomerEvent> =
                serde_json::from_str(&text).with_context(|| format!("unexpected frame: {text}"))?;
            return Ok(event);
        }
    }
}

/// Keep customers arriving until `stop` turns true. The first two arrive at once (one the bot
/// can answer, one that needs a person) so the demo has something to do straight away.
pub async fn run_arrivals(
    hub: String,
    scenarios: Vec<Scenario>,
    pace: Pace,
    mut stop: watch::Receiver<bool>,
) {
    if scenarios.is_empty() {
        return;
    }
    let mut order: Vec<usize> = (0..scenarios.len()).collect();
    // Start with a person request, then the bot, then the rest in file order.
    order.sort_by_key(|&i| match scenarios[i].kind.as_str() {
        "person" => 0,
        "bot" => 1,
        _ => 2,
    });
    let mut n = 0usize;
    loop {
        let scenario = scenarios[order[n % order.len()]].clone();
        let hub = hub.clone();
        tokio::spawn(async move {
            match run_customer(&hub, &scenario, pace).await {
                Ok(outcome) => {
                    tracing::info!(customer = %scenario.name, ?outcome, "simulated customer done")
                }
                Err(e) => {
                    tracing::warn!(customer = %scenario.name, %e, "simulated customer failed")
                }
            }
        });
        n += 1;
        let wait = if n < 2 {
            Duration::from_millis(500)
        } else {
            think(pace.arrival_ms)
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_scenarios_parse_and_cover_the_cases() {
        let all = parse(BUILTIN).expect("assets/demo/customers.toml parses");
        assert!(all.len() >= 8);
        for kind in ["bot", "person", "sensitive"] {
            assert!(all.iter().any(|s| s.kind == kind), "a {kind} scenario");
        }
        let langs: std::collections::BTreeSet<Lang> = all.iter().map(|s| s.lang).collect();
        assert!(langs.len() >= 5, "several languages: {langs:?}");
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let e = parse("[[customer]]\nname = \"x\"\nlang = \"xx\"\nkind = \"bot\"\nopening = []\n")
            .expect_err("bad language");
        assert!(format!("{e:#}").contains("xx"), "{e:#}");
    }
}
