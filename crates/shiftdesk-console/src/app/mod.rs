//! The console's state and its one way to change: `update(msg) -> Vec<Command>`.
//!
//! The Elm Architecture, as ratatui's docs describe it. Nothing here does IO or reads a clock:
//! time arrives as [`Msg::Tick`], keys as [`KeyPress`] values, hub frames as [`WorkerEvent`]s,
//! and everything the app wants done (send a frame, ring the bell, save the outbox, exit) comes
//! back as a [`Command`] for the driver to carry out. Rendering (`ui::view`) only reads this.
//!
//! This file holds the state, the messages, the dispatch of `update` and the helpers every
//! feature uses (notices, sending through the outbox, the hub's clock). Each feature owns its
//! state types and its part of `update` in a file of its own:
//! - `session`: the connection, the login (`welcome`), the hub's acks and errors, quitting;
//! - `shift`: the worker's status and the shift summary;
//! - `offer`: an offer, its countdown, accept and decline;
//! - `conversation`: the conversation list, transcripts, lines sent and not yet confirmed;
//! - `draft`: AI drafts and what the worker does with them;
//! - `modal`: the editor, the one-line prompt and the picker;
//! - `supervisor`: the wallboard, shadowing, whispers, take over and hand back;
//! - `explain`: the hub's decisions about the worker, explained, and "About dispatch";
//! - `earnings`: the running estimate, and the shift history;
//! - `standby`: the demand signal while off shift (`--standby`);
//! - `schedule`: planned shifts (the week of slots, booking, the reminder at a slot's start);
//! - `keys`: key presses to actions through the keymap, and the key contexts in force.

mod conversation;
mod draft;
mod earnings;
mod explain;
mod keys;
mod modal;
mod offer;
mod schedule;
mod session;
mod shift;
mod standby;
mod supervisor;
#[cfg(test)]
pub(crate) mod tests;

pub use conversation::{ConvState, PendingLine};
pub use draft::{DraftDoing, DraftLog, DraftState, DraftStatus};
pub use earnings::{ShiftsView, utc};
pub use explain::{InfoLine, InfoView};
pub use keys::{Armed, to_textarea_input};
pub use modal::{
    EditorPurpose, EditorState, Modal, PickerPurpose, PickerState, PromptPurpose, PromptState,
};
pub use offer::{OfferAnswer, OfferState};
pub use schedule::ScheduleView;
pub use session::ConnState;
pub use shift::{Shift, ShiftSummary};
pub use standby::demand_line;

use super::board::WallboardView;
use super::keymap::{KeyPress, Keymap};
use shiftdesk_client::outbox::{IdGen, Outbox, Pending};
use shiftdesk_protocol::{
    ConversationId, Limits, Millis, WorkerCommand, WorkerEvent, WorkerFrame, WorkerInfo,
};

/// How long a notice stays in the bottom line.
const NOTICE_MS: Millis = 6_000;

/// Everything that can happen to the console.
// A hub frame is the big variant; each message is moved once through a channel, so boxing it
// would only add an allocation per frame.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Msg {
    /// The clock moved (milliseconds since the Unix epoch). The driver sends one before each
    /// batch of other messages and every 250 ms.
    Tick(Millis),
    Key(KeyPress),
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    /// The terminal changed size: redraw.
    Resize,
    Conn(ConnState),
    /// A frame from the hub, already de-duplicated by sequence number.
    Hub(WorkerEvent),
}

/// What the app asks the driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Send(WorkerFrame),
    /// Ring the bell and/or post a desktop notification (OSC 9 / OSC 777).
    Notify(Notification),
    /// The outbox changed: save it so it survives a restart.
    SaveOutbox(Vec<Pending>),
    /// Leave: restore the terminal and print the summary.
    Exit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub bell: bool,
    /// Title and body for OSC 9 / OSC 777, if desktop notifications are on.
    pub desktop: Option<(String, String)>,
}

/// The worker's settings: what the app asks for, and how it looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppOptions {
    pub bell: bool,
    pub notify: bool,
    /// Put the customer's words in desktop notifications (off by default: shoulder-surfing).
    pub notify_text: bool,
    pub theme: crate::ui::theme::Theme,
    /// Remind the worker to take a break after this long on shift without one (0: never).
    pub break_reminder_ms: u64,
    /// `--standby`: off shift, notify when a queue the worker could serve is long.
    pub standby: Option<Standby>,
}

/// When a standby console notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standby {
    /// Waiting in one of the worker's languages, at least.
    pub waiting: u32,
    /// At most one notification per this long.
    pub every_ms: u64,
}

/// The break reminder's default: 90 minutes on shift without a break.
pub const BREAK_REMINDER_DEFAULT_MIN: u64 = 90;

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            bell: true,
            notify: false,
            notify_text: false,
            theme: crate::ui::theme::Theme::Default,
            break_reminder_ms: BREAK_REMINDER_DEFAULT_MIN * 60_000,
            standby: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Good,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub level: Level,
    pub until: Millis,
}

/// The whole console state.
pub struct App {
    pub keymap: Keymap,
    pub options: AppOptions,
    pub now: Millis,
    /// Hub clock minus console clock, measured at `welcome`.
    skew_ms: i64,
    pub conn: ConnState,
    pub me: Option<WorkerInfo>,
    pub limits: Option<Limits>,
    /// Names of the hub's languages beyond the six built in, from `welcome`.
    language_names: std::collections::BTreeMap<shiftdesk_protocol::Lang, String>,
    pub shift: Shift,
    pub offer: Option<OfferState>,
    pub conversations: Vec<ConvState>,
    pub selected: usize,
    pub outbox: Outbox,
    pub modal: Option<Modal>,
    /// The help overlay, over whatever is open (even the editor, whose text it keeps); the
    /// value is how far it is scrolled.
    pub help: Option<u16>,
    /// The supervisor wallboard: open or not, its figures keep arriving once subscribed.
    pub board: WallboardView,
    /// The hub's automated decisions about this worker, oldest first.
    pub decisions: Vec<shiftdesk_protocol::Decision>,
    /// The dispatch rules, as the hub last described them.
    pub about: Option<shiftdesk_protocol::AboutDispatch>,
    /// The shift history under an open explanation of one of its shifts.
    pub shifts_back: Option<ShiftsView>,
    /// The worker hid the earnings estimate from the status bar.
    pub hide_earnings: bool,
    /// Starts of the slots the worker booked (hub clock), from the last `schedule`.
    pub booked: std::collections::BTreeSet<Millis>,
    pub slot_ms: u64,
    reminded_slots: std::collections::BTreeSet<Millis>,
    /// The worker asked to see the schedule: open it when it arrives.
    schedule_wanted: bool,
    /// The latest demand figures (standby), and when the last notification went out.
    pub demand: Vec<shiftdesk_protocol::DemandQueue>,
    demand_notified: Option<Millis>,
    /// Ids of queries sent outside the outbox, whose refusal is not shown; their prefix and
    /// count.
    quiet_ids: Vec<String>,
    query_prefix: String,
    queries: u64,
    pub notice: Option<Notice>,
    pub armed: Option<Armed>,
    /// Keys typed so far of a multi-key sequence.
    pub pending_keys: Vec<KeyPress>,
    /// Quitting: exit once the outbox is empty or at this time.
    pub quitting: Option<Millis>,
    ids: IdGen,
    /// Select this conversation when it arrives (the worker just accepted it).
    select_on_arrival: Option<ConversationId>,
    dirty: bool,
    logged_in_once: bool,
}

impl App {
    /// A new console. `id_prefix` makes this run's command ids unique (random, from the driver).
    pub fn new(
        keymap: Keymap,
        options: AppOptions,
        id_prefix: impl Into<String>,
        now: Millis,
    ) -> App {
        let id_prefix: String = id_prefix.into();
        App {
            keymap,
            options,
            now,
            skew_ms: 0,
            conn: ConnState::Connecting { attempt: 1 },
            me: None,
            limits: None,
            language_names: Default::default(),
            shift: Shift::new(now),
            offer: None,
            conversations: Vec::new(),
            selected: 0,
            outbox: Outbox::default(),
            modal: None,
            help: None,
            board: WallboardView::default(),
            decisions: Vec::new(),
            about: None,
            shifts_back: None,
            hide_earnings: false,
            booked: Default::default(),
            slot_ms: 30 * 60_000,
            reminded_slots: Default::default(),
            schedule_wanted: false,
            demand: Vec::new(),
            demand_notified: None,
            quiet_ids: Vec::new(),
            query_prefix: format!("{id_prefix}-"),
            queries: 0,
            notice: None,
            armed: None,
            pending_keys: Vec::new(),
            quitting: None,
            ids: IdGen::new(id_prefix.clone()),
            select_on_arrival: None,
            dirty: true,
            logged_in_once: false,
        }
    }

    /// Put back commands an earlier run could not get confirmed. They are sent after login.
    pub fn restore_outbox(&mut self, saved: Vec<Pending>) {
        self.outbox.restore(saved);
    }

    /// Has anything visible changed since the last call?
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// How long ago (console clock) a hub timestamp was.
    pub fn since_hub_time(&self, hub_ms: Millis) -> u64 {
        self.now.saturating_sub(self.to_local(hub_ms))
    }

    pub fn max_text_chars(&self) -> usize {
        self.limits
            .as_ref()
            .map(|l| l.max_text_chars)
            .unwrap_or(shiftdesk_protocol::MAX_TEXT_CHARS)
    }

    // -----------------------------------------------------------------------------------------
    // update
    // -----------------------------------------------------------------------------------------

    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        let mut out = Vec::new();
        match msg {
            Msg::Tick(now) => self.tick(now, &mut out),
            Msg::Key(key) => {
                self.dirty = true;
                if self.quitting.is_none() {
                    self.key(key.normalized(), &mut out);
                    self.tell_typing(&mut out);
                }
            }
            Msg::Paste(text) => {
                self.dirty = true;
                self.paste(text);
                self.tell_typing(&mut out);
            }
            Msg::Resize => self.dirty = true,
            Msg::Conn(state) => {
                self.dirty = true;
                self.conn_changed(state);
            }
            Msg::Hub(event) => {
                self.dirty = true;
                self.hub(event, &mut out);
            }
        }
        out
    }

    fn tick(&mut self, now: Millis, out: &mut Vec<Command>) {
        let before = self.now;
        self.now = now.max(self.now);
        // Redraw when a shown second changes, or often while the offer gauge moves.
        if before / 1000 != self.now / 1000 || self.offer.is_some() {
            self.dirty = true;
        }
        if let Some(notice) = &self.notice
            && notice.until <= self.now
        {
            self.notice = None;
            self.dirty = true;
        }
        if let Some(armed) = self.armed
            && armed.until <= self.now
        {
            self.armed = None;
            self.dirty = true;
        }
        self.drop_stale_offer();
        self.break_reminder(out);
        self.slot_reminder(out);
        self.send_due(out);
    }

    /// A frame from the hub, to the feature it concerns.
    fn hub(&mut self, event: WorkerEvent, out: &mut Vec<Command>) {
        match event {
            event @ WorkerEvent::Welcome { .. } => self.welcome(event, out),
            WorkerEvent::Ack { id, .. } => self.ack(&id, out),
            WorkerEvent::Error { id, code, message } => self.error(id, code, message, out),
            WorkerEvent::Pong { .. } => {}
            WorkerEvent::Status {
                status,
                since,
                stats,
            } => self.set_status(status, Some(since), stats),
            event @ WorkerEvent::Offer { .. } => self.offer_arrived(event, out),
            WorkerEvent::OfferWithdrawn {
                conversation,
                reason,
            } => self.offer_withdrawn(&conversation, &reason),
            WorkerEvent::Conversation { conversation } => self.conversation_arrived(conversation),
            WorkerEvent::Message {
                conversation,
                message,
            } => self.message_arrived(&conversation, message),
            WorkerEvent::Draft {
                conversation,
                draft,
            } => {
                if let Some(c) = self.find_mut(&conversation) {
                    c.draft_arrived(draft);
                }
            }
            WorkerEvent::DraftPartial {
                conversation,
                for_message,
                text,
            } => {
                if let Some(c) = self.find_mut(&conversation) {
                    c.draft_partial(for_message, text);
                }
            }
            WorkerEvent::DraftDone {
                conversation,
                draft,
                outcome,
                reason,
            } => {
                if let Some(c) = self.find_mut(&conversation) {
                    c.draft_done(&draft, outcome, reason);
                }
            }
            WorkerEvent::Closed {
                conversation,
                reason,
            } => self.closed(&conversation, reason),
            WorkerEvent::Shadowers {
                conversation,
                supervisors,
            } => {
                if let Some(c) = self.find_mut(&conversation) {
                    c.view.shadowed_by = supervisors;
                }
            }
            WorkerEvent::Wallboard { wallboard } => self.wallboard_arrived(wallboard),
            WorkerEvent::Decision { decision } => self.decision_arrived(decision),
            WorkerEvent::AboutDispatch { about } => self.about_arrived(about),
            WorkerEvent::ShiftHistory { shifts, decisions } => {
                self.shift_history_arrived(shifts, decisions)
            }
            WorkerEvent::Schedule { schedule } => self.schedule_arrived(schedule),
            WorkerEvent::Demand { queues } => self.demand_arrived(queues, out),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Shared by the features
    // -----------------------------------------------------------------------------------------

    fn note(&mut self, level: Level, text: impl Into<String>) {
        let extra = if level == Level::Error { 4_000 } else { 0 };
        self.notice = Some(Notice {
            text: text.into(),
            level,
            until: self.now + NOTICE_MS + extra,
        });
    }

    /// Queue a command: give it an id and a number in this run's sequence, keep it in the
    /// outbox, send it if connected.
    fn send(&mut self, command: WorkerCommand, out: &mut Vec<Command>) -> String {
        let frame: WorkerFrame = self.ids.frame(command);
        let id = frame.id.clone();
        self.outbox.push(frame.clone(), self.now);
        if self.conn == ConnState::Connected {
            out.push(Command::Send(frame));
        }
        out.push(Command::SaveOutbox(self.outbox.entries().to_vec()));
        id
    }

    fn to_local(&self, hub_ms: Millis) -> Millis {
        (hub_ms as i64 - self.skew_ms).max(0) as Millis
    }

    /// The hub's clock at a console time.
    fn to_hub(&self, local: Millis) -> Millis {
        (local as i64 + self.skew_ms).max(0) as Millis
    }
}

/// One step forward or back through a list of `len` (not empty), wrapping around.
fn cycle(index: usize, len: usize, forward: bool) -> usize {
    if forward {
        (index + 1) % len
    } else {
        (index + len - 1) % len
    }
}

/// `12s`, `4m05s`, `1h02m`.
pub fn fmt_duration(ms: u64) -> String {
    let s = ms / 1000;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}
