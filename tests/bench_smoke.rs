//! The bench's load generator against an in-process hub, with tiny numbers: the histograms
//! get samples, and a small reconnect storm resumes every worker with no gap and no duplicate.
//! No wall-clock assertions: the machine is shared and noisy.

use std::net::Ipv4Addr;

use shiftdesk_bench::jobs::{
    Job, JobResult, OfferJob, Rates, RelayJob, Server, StormJob, Target, Timing,
};
use shiftdesk_bench::loadgen::run_job;
use shiftdesk_hub::dispatch::DispatchConfig;
use shiftdesk_hub::server::HubConfig;
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::Role;
use shiftdesk_testkit::{add_worker, hub_config, start_hub};

fn tokens(dir: &std::path::Path, prefix: &str, n: usize, role: Role) -> Vec<String> {
    let langs = [Lang::En, Lang::It, Lang::De, Lang::Nl, Lang::Sv, Lang::Ru];
    (0..n)
        .map(|i| add_worker(dir, &format!("{prefix}{i}"), &langs, role, 2))
        .collect()
}

const TINY: Timing = Timing {
    warmup_s: 0.2,
    duration_s: 0.6,
    runs: 1,
    drain_s: 0.5,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_against_an_in_process_hub() {
    let dir = tempfile::tempdir().expect("temp dir");
    let workers = tokens(dir.path(), "w", 6, Role::Worker);
    let supervisors = tokens(dir.path(), "s", 1, Role::Supervisor);
    let hub = start_hub(HubConfig {
        dispatch: DispatchConfig {
            offer_timeout_ms: 500,
            grace_ms: 60_000,
            ..DispatchConfig::default()
        },
        ..hub_config(dir.path())
    })
    .await;
    let server = Server {
        target: Target::Hub,
        url: hub.url(),
        pid: Some(std::process::id()),
    };
    let sources = vec![Ipv4Addr::LOCALHOST];

    // Time to offer: 4 workers, 20 conversations/s, with declines and timeouts mixed in.
    let offer = run_job(Job::Offer(OfferJob {
        server: server.clone(),
        tokens: workers[..4].to_vec(),
        workers: 4,
        rate: 20.0,
        timing: TINY,
        decline_pct: 20,
        timeout_pct: 5,
        hold_ms: 100,
        sources: sources.clone(),
        customer_url: None,
    }))
    .await
    .expect("the offer job runs");
    let JobResult::Offer(offer) = offer else {
        panic!("not an offer result: {offer:?}");
    };
    assert_eq!(offer.runs.len(), 1);
    assert!(offer.runs[0].scheduled > 0);
    assert!(
        offer.median.count > 0,
        "no first offer was measured: {offer:?}"
    );
    assert!(offer.median.p99_us >= offer.median.p50_us);

    // Relay with one shadowing supervisor: the closed-loop maximum, then 50% of it.
    let relay = run_job(Job::Relay(RelayJob {
        server: server.clone(),
        worker_tokens: workers[4..6].to_vec(),
        supervisor_tokens: supervisors,
        pairs: 2,
        shadows: 1,
        window: 2,
        timing: TINY,
        rates: Rates::OfMax(vec![0.5], vec![]),
        open_only: false,
        sources: sources.clone(),
        customer_url: None,
    }))
    .await
    .expect("the relay job runs");
    let JobResult::Relay(relay) = relay else {
        panic!("not a relay result: {relay:?}");
    };
    assert!(relay.max.median.count > 0, "no relayed line: {relay:?}");
    assert!(
        relay.max.runs[0].shadow_received > 0,
        "the shadow saw nothing"
    );
    assert_eq!(relay.levels.len(), 1);
    assert!(
        relay.levels[0].median.count > 0,
        "no line at 50%: {relay:?}"
    );

    // A tiny reconnect storm, twice: everyone resumes, nothing missing, nothing twice.
    let storm = run_job(Job::Storm(StormJob {
        server,
        tokens: workers[..4].to_vec(),
        runs: 2,
        sources,
    }))
    .await
    .expect("the storm job runs");
    let JobResult::Storm(storm) = storm else {
        panic!("not a storm result: {storm:?}");
    };
    assert_eq!(storm.runs.len(), 2);
    for run in &storm.runs {
        assert_eq!(run.resumed, 4, "{run:?}");
        assert_eq!(run.not_resumed, 0, "{run:?}");
        assert_eq!(run.failed, 0, "{run:?}");
        assert_eq!(run.gaps, 0, "{run:?}");
        assert_eq!(run.duplicates, 0, "{run:?}");
    }
    hub.shutdown().await;
}
