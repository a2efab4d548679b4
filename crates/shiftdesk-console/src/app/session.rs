//! The connection and the login on it: the state the status bar shows, what a `welcome` resets
//! and sends again, what the hub's ack or error of each command in the outbox means (each
//! feature takes its own), and quitting, which waits for the outbox to empty.

use shiftdesk_protocol::{
    ErrorCode, Millis, PROTOCOL_VERSION, WorkerCommand, WorkerEvent, WorkerStatus,
};

use super::{App, Command, Level, Modal};
use crate::keymap::Action;

/// How long quitting waits for the hub to confirm what is still in the outbox.
pub(super) const QUIT_WAIT_MS: Millis = 3_000;
/// `unavailable` from the hub means nothing was applied: retry this many times.
const MAX_RETRIES: u32 = 5;

/// The connection, as the status bar shows it; the client's session reports it.
pub use shiftdesk_client::ConnState;

impl App {
    /// How to show a language: "Italiano (it)", "Polski (pl)" for one of the hub's own files,
    /// the code alone when the hub gave no name.
    pub fn language_label(&self, lang: shiftdesk_protocol::Lang) -> String {
        match self.language_names.get(&lang) {
            _ if lang.is_builtin() => format!("{} ({})", lang.name(), lang.code()),
            Some(name) => format!("{name} ({})", lang.code()),
            None => lang.code().to_string(),
        }
    }

    /// The driver's connection task says how the connection is.
    pub(super) fn conn_changed(&mut self, state: ConnState) {
        // Connected counts from the `welcome` that follows: sending before the outbox is
        // sent again could overtake older unconfirmed commands.
        if state != ConnState::Connected {
            self.conn = state;
        }
    }

    /// Logged in (again): take the hub's word for who we are and how things stand, and send
    /// again whatever it has not confirmed.
    pub(super) fn welcome(&mut self, event: WorkerEvent, out: &mut Vec<Command>) {
        let WorkerEvent::Welcome {
            protocol,
            resumed,
            worker,
            status,
            stats,
            limits,
            server_time,
            languages,
            ..
        } = event
        else {
            return;
        };
        if protocol != PROTOCOL_VERSION {
            self.note(
                Level::Warn,
                format!("the hub speaks protocol {protocol}; this console {PROTOCOL_VERSION}"),
            );
        }
        self.skew_ms = server_time as i64 - self.now as i64;
        self.language_names = languages;
        self.conn = ConnState::Connected;
        if !resumed {
            // A snapshot follows: what we had may be stale.
            self.conversations.clear();
            self.selected = 0;
            self.offer = None;
            if matches!(self.modal, Some(Modal::Prompt(_) | Modal::Picker(_))) {
                self.modal = None;
            }
        }
        self.me = Some(worker);
        self.limits = Some(limits);
        self.set_status(status, None, stats);
        let first_login = !self.logged_in_once;
        if self.logged_in_once {
            self.note(Level::Good, "Reconnected");
        } else if self.is_supervisor() {
            // A supervisor's first question is how the floor is doing: open on the wallboard.
            self.board.open = true;
        }
        self.logged_in_once = true;
        for frame in self.outbox.frames() {
            out.push(Command::Send(frame.clone()));
        }
        if self.is_supervisor() {
            self.subscribe_wallboard(out);
        } else if first_login {
            // Bookings change only by this worker's own commands, each answered with the
            // week: once per run is enough.
            self.fetch_bookings(out);
        }
    }

    /// On each tick: send what is due again (after `unavailable`), and leave once quitting is
    /// done waiting.
    pub(super) fn send_due(&mut self, out: &mut Vec<Command>) {
        if self.conn == ConnState::Connected {
            for frame in self.outbox.due(self.now) {
                out.push(Command::Send(frame));
            }
        }
        if let Some(deadline) = self.quitting
            && (self.outbox.is_empty() || self.now >= deadline)
        {
            out.push(Command::Exit);
        }
    }

    /// The hub applied one of our commands.
    pub(super) fn ack(&mut self, id: &str, out: &mut Vec<Command>) {
        if self.quiet_answer(id) {
            return;
        }
        let Some(pending) = self.outbox.take(id) else {
            return;
        };
        out.push(Command::SaveOutbox(self.outbox.entries().to_vec()));
        match pending.frame.command {
            WorkerCommand::AcceptOffer { conversation } => self.accept_confirmed(conversation),
            WorkerCommand::DeclineOffer { conversation, .. } => {
                self.decline_confirmed(&conversation)
            }
            WorkerCommand::Draft { conversation, .. } => {
                if let Some(c) = self.find_mut(&conversation) {
                    c.draft_confirmed(id);
                }
            }
            WorkerCommand::Reply { conversation, .. }
            | WorkerCommand::Note { conversation, .. }
            | WorkerCommand::Whisper { conversation, .. } => {
                if let Some(c) = self.find_mut(&conversation) {
                    c.line_confirmed(id);
                }
            }
            WorkerCommand::TakeOver { .. } => {
                self.note(Level::Good, "You took the conversation over.")
            }
            WorkerCommand::HandBack { .. } => self.note(Level::Good, "Handed back."),
            _ => {}
        }
    }

    /// The hub refused a command (or, without an id, something went wrong on its side).
    pub(super) fn error(
        &mut self,
        id: Option<String>,
        code: ErrorCode,
        message: String,
        out: &mut Vec<Command>,
    ) {
        let Some(id) = id else {
            self.note(Level::Error, format!("Hub: {message}"));
            return;
        };
        if self.quiet_answer(&id) {
            return;
        }
        if code == ErrorCode::Unavailable
            && let Some(p) = self.outbox.get_mut(&id)
            && p.retries < MAX_RETRIES
        {
            p.retries += 1;
            p.retry_at = Some(self.now + 1_000 * u64::from(p.retries));
            self.note(Level::Warn, "The hub is busy; retrying…");
            return;
        }
        let Some(pending) = self.outbox.take(&id) else {
            // Not one of ours (or already answered): show it anyway.
            self.note(Level::Error, format!("Hub: {message}"));
            return;
        };
        out.push(Command::SaveOutbox(self.outbox.entries().to_vec()));
        match pending.frame.command {
            WorkerCommand::AcceptOffer { conversation } => {
                self.accept_refused(&conversation, code, &message)
            }
            WorkerCommand::DeclineOffer { conversation, .. } => {
                self.decline_refused(&conversation, code, &message)
            }
            WorkerCommand::Draft { conversation, .. } => {
                self.draft_refused(&conversation, &message)
            }
            WorkerCommand::Reply { conversation, .. }
            | WorkerCommand::Note { conversation, .. }
            | WorkerCommand::Whisper { conversation, .. } => {
                self.line_refused(&conversation, &id, &message)
            }
            WorkerCommand::SetStatus { status } => self.status_refused(status, &message),
            WorkerCommand::Schedule => self.schedule_refused(code, &message),
            other => {
                self.note(Level::Error, format!("{} refused: {message}", other.name()));
            }
        }
    }

    /// Quit: on shift or with commands unconfirmed, only on a second press; then go offline
    /// and wait (a little) for the hub to confirm what is in the outbox.
    pub(super) fn quit(&mut self, out: &mut Vec<Command>) {
        let on_shift = self.shift.status != WorkerStatus::Offline;
        let risky = on_shift || !self.outbox.is_empty();
        if risky && !self.arm(Action::Quit) {
            self.modal = Some(Modal::Summary);
            let again = self.key_hint(Action::Quit);
            let text = if on_shift {
                format!("Press {again} again to go offline and quit.")
            } else {
                format!(
                    "{} command(s) not yet confirmed by the hub. Press {again} again to quit anyway (they are kept for next time).",
                    self.outbox.len()
                )
            };
            self.note(Level::Warn, text);
            return;
        }
        if on_shift && self.conn == ConnState::Connected {
            self.send(
                WorkerCommand::SetStatus {
                    status: WorkerStatus::Offline,
                },
                out,
            );
        }
        self.modal = Some(Modal::Summary);
        self.quitting = Some(self.now + QUIT_WAIT_MS);
        if self.outbox.is_empty() || self.conn != ConnState::Connected {
            out.push(Command::Exit);
        }
    }
}
