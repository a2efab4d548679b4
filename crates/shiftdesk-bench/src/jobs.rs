//! What the orchestrator asks a load-generator process to do, and what it answers.
//!
//! A job travels as a JSON file (`--spec`); the answer is the last line the load generator
//! prints on stdout, also JSON. The smoke test calls [`super::loadgen::run_job`] in-process
//! instead.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::stats::Latency;

/// Which server a job loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The shiftdesk hub.
    Hub,
    /// P0: the minimal tokio-tungstenite relay (`floor`).
    Floor,
    /// P1: nats-server over its websocket listener.
    Nats,
}

impl Target {
    pub fn label(self) -> &'static str {
        match self {
            Target::Hub => "hub",
            Target::Floor => "P0 floor",
            Target::Nats => "P1 nats",
        }
    }
}

/// The server under load.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Server {
    pub target: Target,
    pub url: String,
    /// Its process id, when it runs on this machine: CPU time is read from /proc.
    pub pid: Option<u32>,
}

/// How long each measured run lasts, how many there are, and the warm-up before the first.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Timing {
    pub warmup_s: f64,
    pub duration_s: f64,
    pub runs: usize,
    /// How long receivers keep listening after the last scheduled send of a run; later
    /// arrivals count as not received.
    pub drain_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    Offer(OfferJob),
    Relay(RelayJob),
    Idle(IdleJob),
    Storm(StormJob),
}

/// Time to offer: `workers` available workers; `rate` conversations per second that ask for a
/// person. Against the floor and NATS it is the same one hop: a customer's line to one of the
/// workers, chosen by the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OfferJob {
    pub server: Server,
    /// Hub: worker tokens (one connection each). Others: `workers` connections.
    pub tokens: Vec<String>,
    pub workers: usize,
    pub rate: f64,
    pub timing: Timing,
    /// Percent of offers declined, and left to time out (hub only).
    pub decline_pct: u32,
    pub timeout_pct: u32,
    /// How long an accepted conversation is held before it is resolved.
    pub hold_ms: u64,
    pub sources: Vec<Ipv4Addr>,
    /// Hub: where customers connect, when not to `server` (another hub on the same store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_url: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OfferRun {
    pub latency: Latency,
    pub scheduled: u64,
    /// Conversations whose first offer (or the floor's delivery) never arrived.
    pub missing: u64,
    pub accepted: u64,
    pub declined: u64,
    pub timed_out: u64,
    pub resolved: u64,
    /// Error frames the hub sent (for example `conflict` on an offer that had just expired).
    pub errors: u64,
    pub server_cpu_s: Option<f64>,
    pub loadgen_cpu_s: f64,
    pub wall_s: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OfferResult {
    pub runs: Vec<OfferRun>,
    pub median: Latency,
    /// Seconds to log `workers` in and make them available (hub), or to connect them.
    pub setup_s: f64,
}

/// Realistic loads the relay is measured at beside the fractions of its maximum, lines/s.
pub const REALISTIC_RATES: [f64; 3] = [1_000.0, 5_000.0, 20_000.0];

/// Which rates the open-loop levels of a relay job use.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rates {
    /// These fractions of the throughput measured in the same job (the hub: 0.5 and 0.9), then
    /// these absolute rates (realistic loads: 1,000, 5,000, 20,000 lines/s), those below it.
    OfMax(Vec<f64>, Vec<f64>),
    /// These absolute rates, messages per second (the references, at the hub's rates).
    Fixed(Vec<f64>),
}

/// Relay: `pairs` customer and worker connections exchanging lines, each conversation shadowed
/// by `shadows` supervisors. First the highest throughput (closed loop, `window` lines in flight
/// per sender), then open-loop levels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RelayJob {
    pub server: Server,
    pub worker_tokens: Vec<String>,
    pub supervisor_tokens: Vec<String>,
    pub pairs: usize,
    pub shadows: usize,
    pub window: usize,
    pub timing: Timing,
    pub rates: Rates,
    /// Only the open-loop levels: no closed-loop maximum first (instruction counts).
    #[serde(default)]
    pub open_only: bool,
    pub sources: Vec<Ipv4Addr>,
    /// Hub: where customers connect, when not to `server` (another hub on the same store);
    /// workers and supervisors connect to `server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_url: Option<String>,
}

/// One measured run of a relay phase.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RelayRun {
    pub latency: Latency,
    pub sent: u64,
    pub received: u64,
    /// Copies delivered to shadowing supervisors.
    pub shadow_received: u64,
    /// Relayed lines per second (primary recipients only).
    pub throughput: f64,
    pub server_cpu_s: Option<f64>,
    pub loadgen_cpu_s: f64,
    pub wall_s: f64,
}

impl RelayRun {
    /// Relayed lines (with their shadow copies) per second of the server's CPU.
    pub fn per_cpu_s(&self) -> Option<f64> {
        self.server_cpu_s
            .filter(|c| *c > 0.0)
            .map(|c| (self.received + self.shadow_received) as f64 / c)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RelayLevel {
    /// Offered rate, lines per second.
    pub rate: f64,
    pub runs: Vec<RelayRun>,
    pub median: Latency,
    /// The median of the runs' delivered rate.
    pub achieved: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RelayResult {
    /// The closed-loop runs: highest sustained throughput.
    pub max: RelayLevel,
    pub levels: Vec<RelayLevel>,
}

/// Idle connections for the memory ramp: connect, log in (hub: `hello`, then `available`) and
/// hold until stdin closes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdleJob {
    pub server: Server,
    pub tokens: Vec<String>,
    /// Connections for the floor and NATS (which need no token); names start at `first`.
    pub count: usize,
    pub first: usize,
    pub sources: Vec<Ipv4Addr>,
}

/// Reconnect storm: every worker logs in, then, `runs` times, all drop at once and resume.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StormJob {
    pub server: Server,
    pub tokens: Vec<String>,
    pub runs: usize,
    pub sources: Vec<Ipv4Addr>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StormRun {
    pub workers: u64,
    /// Milliseconds from the drop until 50 %, 99 % and all workers had resumed (welcome with
    /// `resumed: true`, the replay, and the ack of the command they re-sent).
    pub t50_ms: f64,
    pub t99_ms: f64,
    pub t100_ms: f64,
    pub resumed: u64,
    /// Logins that came back `resumed: false` (a snapshot instead of the missed frames).
    pub not_resumed: u64,
    /// Workers that did not get back within the time limit.
    pub failed: u64,
    /// Frames missing in a stream (a jump in `seq`).
    pub gaps: u64,
    /// Frames delivered twice (a `seq` at or below one already seen), or a command applied twice.
    pub duplicates: u64,
    /// Frames replayed in all.
    pub replayed: u64,
    pub server_cpu_s: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StormResult {
    pub runs: Vec<StormRun>,
    pub setup_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum JobResult {
    Offer(OfferResult),
    Relay(RelayResult),
    Idle { connected: usize },
    Storm(StormResult),
}
