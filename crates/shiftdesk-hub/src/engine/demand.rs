//! The demand signal: workers off shift whose console asked for it (`hello.features`
//! `"demand"`, the console's `--standby`) get, every [`EVERY_MS`], the queues they could serve
//! that have someone waiting. The console decides whether that is worth a notification (its
//! own threshold and interval): the hub only says how things are.

use super::*;
use shiftdesk_protocol::DemandQueue;

/// How often the figures go out.
const EVERY_MS: Millis = 30_000;

impl Engine {
    pub(super) fn push_demand(&mut self, now: Millis) {
        if now < self.last_demand + EVERY_MS {
            return;
        }
        let wanting: Vec<WorkerId> = self
            .workers
            .iter()
            .filter(|(_, s)| s.wants_demand && s.conn.is_some())
            .map(|(w, _)| w.clone())
            .filter(|w| {
                self.dispatch.worker_status(w) == Some(shiftdesk_protocol::WorkerStatus::Offline)
            })
            .collect();
        if wanting.is_empty() {
            return;
        }
        let queues = self.dispatch.wallboard(now).queues;
        for worker in wanting {
            let speaks = self
                .dispatch
                .worker_info(&worker)
                .map(|i| i.languages.clone())
                .unwrap_or_default();
            let mine: Vec<DemandQueue> = queues
                .iter()
                .filter(|q| q.depth > 0 && speaks.contains(&q.language))
                .map(|q| DemandQueue {
                    language: q.language,
                    waiting: q.depth,
                    longest_wait_ms: q.longest_wait_ms,
                })
                .collect();
            if !mine.is_empty() {
                // The interval runs from the first figures sent, so a queue that starts
                // while nobody was told is reported at once.
                self.last_demand = now;
                self.send_worker_direct(&worker, &WorkerEvent::Demand { queues: mine });
            }
        }
    }
}
