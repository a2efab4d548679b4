//! Simulated customers for the demo (and load tests): real websocket clients that open
//! conversations from `assets/demo/customers.toml`, wait for the bot or a person, and answer
//! a worker's messages at a human pace until the conversation is resolved.

pub mod workers;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use rand::Rng;
use serde::Deserialize;
use tokio::sync::watch;

use crate::Courier;
use crate::customer::{self, CustomerConfig};
use crate::session::{ConnState, SessionEvent};
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{Author, CustomerCommand, CustomerEvent, CustomerFrame};

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

fn think(range: (u64, u64)) -> Duration {
    let (lo, hi) = range;
    Duration::from_millis(rand::rng().random_range(lo..=hi.max(lo)))
}

type CustomerCourier = Courier<CustomerFrame, CustomerEvent>;

/// Play one scenario against the hub at `hub` until it ends. The customer rides out dropped
/// connections like any client of this crate: it resumes and sends what was not acknowledged.
pub async fn run_customer(hub: &str, scenario: &Scenario, pace: Pace) -> anyhow::Result<Outcome> {
    crate::session::hub_urls(hub, "/ws/customer")?;
    let mut courier = Courier::new(customer::spawn(CustomerConfig {
        name: Some(scenario.name.clone()),
        lang: Some(scenario.lang),
        context: scenario.context.clone(),
        ..CustomerConfig::new(hub)
    }));
    let deadline = tokio::time::Instant::now() + pace.patience;
    let outcome = converse(&mut courier, scenario, pace, deadline).await;
    let still_open = match &outcome {
        Ok(Outcome::Bot) | Err(_) => true,
        Ok(Outcome::Ended(reason)) => reason.starts_with("gave up"),
        Ok(Outcome::Resolved) => false,
    };
    if still_open {
        // Leaving: nothing stays in the hub's queue for a customer who is gone.
        let id = courier.send(CustomerCommand::Leave);
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while courier.is_pending(&id) && courier.next().await.is_some() {}
        })
        .await;
    }
    courier.stop().await;
    outcome
}

async fn converse(
    courier: &mut CustomerCourier,
    scenario: &Scenario,
    pace: Pace,
    deadline: tokio::time::Instant,
) -> anyhow::Result<Outcome> {
    let mut with_person = false;
    let mut follow_ups = scenario.follow_ups.iter();
    // Opening lines: one at a time, each after the bot's answer (or a hand-off).
    for line in &scenario.opening {
        tokio::time::sleep(think(pace.think_ms)).await;
        let sent = courier.send(CustomerCommand::Message { text: line.clone() });
        // The hub sends what a message caused (the bot's answer, or the hand-off) before its ack.
        while courier.is_pending(&sent) {
            match next_event(courier, deadline).await? {
                CustomerEvent::Queued { .. } => with_person = true,
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
        return Ok(Outcome::Bot);
    }
    // With a person: answer each of their messages with the next line.
    loop {
        match next_event(courier, deadline).await {
            Ok(CustomerEvent::Message {
                from: Author::Worker,
                ..
            }) => {
                if let Some(line) = follow_ups.next() {
                    tokio::time::sleep(think(pace.think_ms)).await;
                    courier.send(CustomerCommand::Message { text: line.clone() });
                }
            }
            Ok(CustomerEvent::Closed { reason }) if reason == "resolved" => {
                return Ok(Outcome::Resolved);
            }
            Ok(CustomerEvent::Closed { reason }) => return Ok(Outcome::Ended(reason)),
            Ok(_) => {}
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Ok(Outcome::Ended(format!("gave up: {e}")));
            }
            Err(e) => return Err(e),
        }
    }
}

/// The next hub frame, before `deadline`; an error if the session gave up.
async fn next_event(
    courier: &mut CustomerCourier,
    deadline: tokio::time::Instant,
) -> anyhow::Result<CustomerEvent> {
    loop {
        let event = tokio::time::timeout_at(deadline, courier.next())
            .await
            .map_err(|_| anyhow::anyhow!("no answer in time"))?
            .context("the session ended")?;
        match event {
            SessionEvent::Frame(event) => return Ok(event),
            SessionEvent::Conn(ConnState::Offline { reason }) => anyhow::bail!("{reason}"),
            SessionEvent::Lost(why) => tracing::info!(%why, "simulated customer reconnecting"),
            SessionEvent::Conn(_) => {}
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
        let e = parse(
            "[[customer]]\nname = \"x\"\nlang = \"english\"\nkind = \"bot\"\nopening = [\"hi\"]\n",
        )
        .expect_err("bad language");
        assert!(format!("{e:#}").contains("english"), "{e:#}");
        let e = parse("[[customer]]\nname = \"x\"\nlang = \"en\"\nkind = \"bot\"\nopening = []\n")
            .expect_err("no opening");
        assert!(format!("{e:#}").contains("no opening line"), "{e:#}");
    }
}
