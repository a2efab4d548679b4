//! Planned shifts: the week of 30-minute slots with the demand expected in each, booking and
//! releasing them, and a reminder when a booked slot starts (the hub moves the worker to
//! draining when it ends).

use std::collections::BTreeSet;

use shiftdesk_protocol::{ErrorCode, Millis, Schedule, WorkerCommand, WorkerStatus};

use super::{App, Command, ConnState, Level, Modal, Notification};
use crate::keymap::Action;

/// The schedule on screen: the week and the selected slot.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleView {
    pub schedule: Schedule,
    pub selected: usize,
}

impl App {
    /// `schedule.open`: ask the hub for the week; it opens when it arrives.
    pub(super) fn open_schedule(&mut self, out: &mut Vec<Command>) {
        if self.conn != ConnState::Connected {
            self.note(
                Level::Info,
                "Not connected: the schedule comes from the hub.",
            );
            return;
        }
        self.schedule_wanted = true;
        self.send(WorkerCommand::Schedule, out);
    }

    /// At login: learn the booked slots, for the reminders. A query, not a change: sent once,
    /// outside the outbox, and quiet if refused (an older hub has no planned shifts).
    pub(super) fn fetch_bookings(&mut self, out: &mut Vec<Command>) {
        self.queries += 1;
        let id = format!("{}q{}", self.query_prefix, self.queries);
        self.quiet_ids.push(id.clone());
        out.push(Command::Send(shiftdesk_protocol::WorkerFrame::new(
            id,
            WorkerCommand::Schedule,
        )));
    }

    /// Was this the id of a quiet query (its answer needs nothing more)?
    pub(super) fn quiet_answer(&mut self, id: &str) -> bool {
        let before = self.quiet_ids.len();
        self.quiet_ids.retain(|q| q != id);
        self.quiet_ids.len() != before
    }

    pub(super) fn schedule_arrived(&mut self, schedule: Schedule) {
        self.booked = schedule
            .slots
            .iter()
            .filter(|s| s.booked)
            .map(|s| s.start)
            .collect::<BTreeSet<Millis>>();
        self.slot_ms = schedule.slot_ms;
        match &mut self.modal {
            Some(Modal::Schedule(view)) => {
                // Keep the selection on the same slot.
                let start = view.schedule.slots.get(view.selected).map(|s| s.start);
                view.selected = start
                    .and_then(|t| schedule.slots.iter().position(|s| s.start == t))
                    .unwrap_or(0);
                view.schedule = schedule;
            }
            None | Some(Modal::Info(_) | Modal::Summary) if self.schedule_wanted => {
                self.modal = Some(Modal::Schedule(ScheduleView {
                    schedule,
                    selected: 0,
                }));
            }
            _ => {}
        }
        self.schedule_wanted = false;
    }

    /// The refusal of a `schedule` command: an older hub without planned shifts stays quiet.
    pub(super) fn schedule_refused(&mut self, code: ErrorCode, message: &str) {
        if code != ErrorCode::UnknownType || self.schedule_wanted {
            self.note(Level::Error, format!("Schedule: {message}"));
        }
        self.schedule_wanted = false;
    }

    pub(super) fn move_in_schedule(&mut self, step: isize) {
        if let Some(Modal::Schedule(view)) = &mut self.modal {
            let len = view.schedule.slots.len();
            if len > 0 {
                view.selected = (view.selected as isize + step).clamp(0, len as isize - 1) as usize;
            }
        }
    }

    /// `slot.book` / `slot.release` on the selected slot.
    pub(super) fn book_selected(&mut self, book: bool, out: &mut Vec<Command>) {
        let Some(Modal::Schedule(view)) = &self.modal else {
            let key = self.key_hint(Action::ScheduleOpen);
            self.note(Level::Info, format!("Open the schedule first ({key})."));
            return;
        };
        let Some(slot) = view.schedule.slots.get(view.selected).cloned() else {
            return;
        };
        match (book, slot.booked) {
            (true, true) => self.note(Level::Info, "You already booked this slot."),
            (false, false) => self.note(Level::Info, "You have not booked this slot."),
            (true, false) => {
                self.send(WorkerCommand::BookSlot { start: slot.start }, out);
            }
            (false, true) => {
                self.send(WorkerCommand::ReleaseSlot { start: slot.start }, out);
            }
        }
    }

    /// On each tick: when a booked slot starts, remind the worker (once), with the bell.
    pub(super) fn slot_reminder(&mut self, out: &mut Vec<Command>) {
        let now = self.to_hub(self.now);
        let due = self
            .booked
            .iter()
            .copied()
            .filter(|start| *start <= now && now < start + self.slot_ms.max(1))
            .find(|start| !self.reminded_slots.contains(start));
        let Some(start) = due else {
            return;
        };
        self.reminded_slots.insert(start);
        let text = if self.shift.status == WorkerStatus::Offline {
            format!(
                "Your booked slot starts now. Press {} to go available.",
                self.key_hint(Action::ShiftAvailable)
            )
        } else {
            "Your booked slot starts now.".to_string()
        };
        self.notice = Some(super::Notice {
            text: text.clone(),
            level: Level::Warn,
            until: self.now + super::NOTICE_MS * 5,
        });
        self.dirty = true;
        out.push(Command::Notify(Notification {
            bell: self.options.bell,
            desktop: self.options.notify.then(|| ("shiftdesk".to_string(), text)),
        }));
    }
}
