//! Standby (`console --standby`): off shift, the console sits quietly and tells the worker
//! when a queue they could serve is long ("12 waiting in Italian, longest 4m00s"), with the
//! bell and a desktop notification (OSC 9 / OSC 777), at most once per the chosen interval.

use shiftdesk_protocol::{DemandQueue, WorkerStatus};

use super::{App, Command, Level, Notification, fmt_duration};
use crate::keymap::Action;

impl App {
    pub(super) fn demand_arrived(&mut self, queues: Vec<DemandQueue>, out: &mut Vec<Command>) {
        self.demand = queues;
        let Some(standby) = self.options.standby else {
            return;
        };
        if self.shift.status != WorkerStatus::Offline {
            return;
        }
        let Some(q) = self
            .demand
            .iter()
            .filter(|q| q.waiting >= standby.waiting)
            .max_by_key(|q| (q.waiting, q.longest_wait_ms))
        else {
            return;
        };
        if self
            .demand_notified
            .is_some_and(|at| self.now < at + standby.every_ms)
        {
            return;
        }
        self.demand_notified = Some(self.now);
        let body = demand_line(q);
        let key = self.key_hint(Action::ShiftAvailable);
        self.note(
            Level::Warn,
            format!("You are needed: {body}. Press {key} to go on shift."),
        );
        out.push(Command::Notify(Notification {
            bell: true,
            desktop: Some(("shiftdesk: you are needed".to_string(), body)),
        }));
    }

    /// Standby and off shift: the body shows the light standby panel.
    pub fn standing_by(&self) -> bool {
        self.options.standby.is_some()
            && self.shift.status == WorkerStatus::Offline
            && self.conversations.is_empty()
            && self.offer.is_none()
    }
}

/// "12 waiting in Italian, longest 4m00s".
pub fn demand_line(q: &DemandQueue) -> String {
    format!(
        "{} waiting in {}, longest {}",
        q.waiting,
        q.language.english_name(),
        fmt_duration(q.longest_wait_ms)
    )
}
