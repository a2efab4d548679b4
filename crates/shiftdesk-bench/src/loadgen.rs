//! The load-generator process (`shiftdesk bench --role loadgen --spec FILE`): run one job and
//! print its result as the last stdout line.

use std::io::{BufRead, Write};

use super::jobs::{Job, JobResult, Target};
use super::{hubload, relay, wire};

/// The runtime of a bench process (a load generator or the floor).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Run a job in this process (idle jobs are not run this way: see [`relay::idle`]).
pub async fn run_job(job: Job) -> anyhow::Result<JobResult> {
    match job {
        Job::Offer(job) => match job.server.target {
            Target::Hub => hubload::offer(job).await.map(JobResult::Offer),
            Target::Floor | Target::Nats => relay::offer_like(job).await.map(JobResult::Offer),
        },
        Job::Relay(job) => relay::relay(job).await.map(JobResult::Relay),
        Job::Idle(job) => {
            let conns = relay::idle(job).await?;
            Ok(JobResult::Idle {
                connected: conns.len(),
            })
        }
        Job::Storm(job) => hubload::storm(job).await.map(JobResult::Storm),
    }
}

/// The load-generator process: run the job; for idle jobs, say "ready N" and hold the
/// connections until stdin closes.
pub fn run(job: Job) -> anyhow::Result<()> {
    let rt = runtime()?;
    let _ = wire::origin();
    let result = match job {
        Job::Idle(job) => {
            let conns = rt.block_on(relay::idle(job))?;
            {
                let mut out = std::io::stdout();
                writeln!(out, "ready {}", conns.len())?;
                out.flush()?;
            }
            // Hold until the orchestrator closes our stdin (or writes `stop`).
            let stdin = std::io::stdin();
            let mut line = String::new();
            while stdin.lock().read_line(&mut line).unwrap_or(0) > 0 {
                if line.trim() == "stop" {
                    break;
                }
                line.clear();
            }
            JobResult::Idle {
                connected: conns.len(),
            }
        }
        job => rt.block_on(run_job(job))?,
    };
    let mut out = std::io::stdout();
    writeln!(out, "{}", serde_json::to_string(&result)?)?;
    out.flush()?;
    // Don't wait for thousands of sockets to close politely.
    rt.shutdown_background();
    Ok(())
}
