//! The console's state and its one way to change: `update(msg) -> Vec<Command>`.
//!
//! The Elm Architecture, as ratatui's docs describe it. Nothing here does IO or reads a clock:
//! time arrives as [`Msg::Tick`], keys as [`KeyPress`] values, hub frames as [`WorkerEvent`]s,
//! and everything the app wants done (send a frame, ring the bell, save the outbox, exit) comes
//! back as a [`Command`] for the driver to carry out. Rendering (`ui::view`) only reads this.

use ratatui_textarea::{Input, Key as TaKey, TextArea, WrapMode};

use super::board::{BoardFocus, HandBackTarget, PAGE, WallboardView};
use super::keymap::{Action, Context, Key, KeyPress, Keymap, Lookup};
use shiftdesk_client::outbox::{IdGen, Outbox, Pending};
use shiftdesk_protocol::{
    Author, ConversationId, ConversationState, ConversationView, Draft, DraftAction, DraftOutcome,
    ErrorCode, Limits, Message, Millis, PROTOCOL_VERSION, RejectReason, Role, WorkerCommand,
    WorkerEvent, WorkerFrame, WorkerInfo, WorkerStats, WorkerStatus,
};

/// How long a notice stays in the bottom line.
const NOTICE_MS: Millis = 6_000;
/// How long a second press of quit / offline counts as "yes, really".
const CONFIRM_MS: Millis = 5_000;
/// How long quitting waits for the hub to confirm what is still in the outbox.
const QUIT_WAIT_MS: Millis = 3_000;
/// An offer still on screen this long after its deadline is dropped locally (the hub's
/// `offer_withdrawn` may have been lost with a connection).
const OFFER_GRACE_MS: Millis = 5_000;
/// `unavailable` from the hub means nothing was applied: retry this many times.
const MAX_RETRIES: u32 = 5;
const SCROLL_STEP: u16 = 3;

/// The connection, as the status bar shows it; the client's session reports it.
pub use shiftdesk_client::ConnState;

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

/// Settings that change what the app asks for, not how it looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppOptions {
    pub bell: bool,
    pub notify: bool,
    /// Put the customer's words in desktop notifications (off by default: shoulder-surfing).
    pub notify_text: bool,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            bell: true,
            notify: false,
            notify_text: false,
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

/// The worker's shift, as the hub reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    pub status: WorkerStatus,
    /// Since when (console clock) the status holds.
    pub since: Millis,
    pub stats: WorkerStats,
    /// When this shift started (console clock), if the worker has been on shift.
    pub started_at: Option<Millis>,
    /// When the last shift ended.
    pub ended_at: Option<Millis>,
}

/// Where the worker's answer to an offer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferAnswer {
    None,
    Accepting,
    Declining,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OfferState {
    pub conversation: ConversationId,
    pub language: shiftdesk_protocol::Lang,
    pub intent: String,
    pub why: String,
    pub customer: String,
    pub preview: String,
    /// How long the customer had waited when the offer was made.
    pub waited_ms: u64,
    /// When the offer arrived (console clock).
    pub received_at: Millis,
    /// The deadline on the console clock.
    pub deadline: Millis,
    /// The full time a worker gets to answer, for the gauge.
    pub timeout_ms: u64,
    pub because: String,
    /// The worker may not speak `language` (the hub's language fallback).
    pub language_fallback: bool,
    pub answer: OfferAnswer,
}

impl OfferState {
    pub fn remaining_ms(&self, now: Millis) -> u64 {
        self.deadline.saturating_sub(now)
    }

    /// Fraction of the time left, 0..=1.
    pub fn ratio(&self, now: Millis) -> f64 {
        if self.timeout_ms == 0 {
            return 0.0;
        }
        (self.remaining_ms(now) as f64 / self.timeout_ms as f64).clamp(0.0, 1.0)
    }
}

/// What was done with a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftDoing {
    Accept,
    Edit,
    Reject(RejectReason),
    Regenerate,
}

impl DraftDoing {
    fn of(action: &DraftAction) -> DraftDoing {
        match action {
            DraftAction::Accept => DraftDoing::Accept,
            DraftAction::Edit { .. } => DraftDoing::Edit,
            DraftAction::Reject { reason } => DraftDoing::Reject(*reason),
            DraftAction::Regenerate => DraftDoing::Regenerate,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftStatus {
    /// Waiting for the worker.
    Proposed,
    /// Sent to the hub, not yet confirmed.
    Pending { id: String, doing: DraftDoing },
    /// The hub confirmed it.
    Sent { doing: DraftDoing },
    /// The hub refused it; the message says why.
    Failed { message: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct DraftState {
    pub draft: Draft,
    pub status: DraftStatus,
}

impl DraftState {
    /// Can the worker act on it now?
    pub fn actionable(&self) -> bool {
        matches!(
            self.status,
            DraftStatus::Proposed | DraftStatus::Failed { .. }
        )
    }
}

/// A line the worker sent and the hub has not confirmed yet (or refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLine {
    pub id: String,
    pub from: Author,
    pub text: String,
    pub failed: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConvState {
    pub view: ConversationView,
    pub draft: Option<DraftState>,
    pub unread: u32,
    /// Set when the hub said the worker no longer has it; the reason.
    pub closed: Option<String>,
    /// Lines scrolled up from the bottom of the transcript.
    pub scroll: u16,
    pub pending: Vec<PendingLine>,
    /// Every draft seen in this conversation and what the owner did with it, oldest first:
    /// what a shadowing supervisor sees inline in the transcript.
    pub drafts: Vec<DraftLog>,
    /// The owner's display name (the view only has the id), from the wallboard.
    pub owner_name: Option<String>,
    /// A draft being written (streamed by a model): the customer message it answers and the
    /// text so far. Replaced by the finished draft.
    pub writing: Option<(u32, String)>,
}

/// A draft and, once the owner acted on it, what they did.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftLog {
    pub draft: Draft,
    pub outcome: Option<(DraftOutcome, Option<RejectReason>)>,
}

impl ConvState {
    fn new(mut view: ConversationView) -> ConvState {
        let draft = view.draft.take().map(|draft| DraftState {
            draft,
            status: DraftStatus::Proposed,
        });
        let drafts = draft
            .iter()
            .map(|d| DraftLog {
                draft: d.draft.clone(),
                outcome: None,
            })
            .collect();
        ConvState {
            view,
            draft,
            unread: 0,
            closed: None,
            scroll: 0,
            pending: Vec::new(),
            drafts,
            owner_name: None,
            writing: None,
        }
    }

    fn log_draft(&mut self, draft: &Draft) {
        if !self.drafts.iter().any(|d| d.draft.id == draft.id) {
            self.drafts.push(DraftLog {
                draft: draft.clone(),
                outcome: None,
            });
        }
    }

    pub fn id(&self) -> &str {
        &self.view.id
    }
}

/// What the editor is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditorPurpose {
    Reply {
        conversation: ConversationId,
    },
    Note {
        conversation: ConversationId,
    },
    EditDraft {
        conversation: ConversationId,
        draft: String,
        original: String,
    },
    Whisper {
        conversation: ConversationId,
    },
}

impl EditorPurpose {
    pub fn conversation(&self) -> &str {
        match self {
            EditorPurpose::Reply { conversation }
            | EditorPurpose::Note { conversation }
            | EditorPurpose::EditDraft { conversation, .. }
            | EditorPurpose::Whisper { conversation } => conversation,
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            EditorPurpose::Reply { .. } => "Reply",
            EditorPurpose::Note { .. } => "Private note",
            EditorPurpose::EditDraft { .. } => "Edit draft",
            EditorPurpose::Whisper { .. } => "Whisper to the worker",
        }
    }
}

pub struct EditorState {
    pub purpose: EditorPurpose,
    pub textarea: TextArea<'static>,
    /// Cancel was pressed once on changed text: a second press discards it.
    pub discard_armed: bool,
}

impl EditorState {
    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }

    fn changed(&self) -> bool {
        let text = self.text();
        match &self.purpose {
            EditorPurpose::EditDraft { original, .. } => text != *original,
            _ => !text.trim().is_empty(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptPurpose {
    Decline {
        conversation: ConversationId,
    },
    Transfer {
        conversation: ConversationId,
    },
    /// The wallboard's filter, applied as it is typed; cancel puts `previous` back.
    WallboardFilter {
        previous: String,
    },
}

pub struct PromptState {
    pub purpose: PromptPurpose,
    pub textarea: TextArea<'static>,
}

impl PromptState {
    pub fn text(&self) -> String {
        self.textarea.lines().join(" ")
    }
}

/// What the list picker chooses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickerPurpose {
    RejectReason {
        conversation: ConversationId,
        draft: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickerState {
    pub purpose: PickerPurpose,
    pub selected: usize,
}

impl PickerState {
    pub fn len(&self) -> usize {
        match &self.purpose {
            PickerPurpose::RejectReason { .. } => RejectReason::ALL.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn labels(&self) -> Vec<String> {
        match &self.purpose {
            PickerPurpose::RejectReason { .. } => RejectReason::ALL
                .iter()
                .map(|r| r.label().to_string())
                .collect(),
        }
    }
}

/// A window over the main screen that takes the keys.
pub enum Modal {
    Editor(EditorState),
    Prompt(PromptState),
    Picker(PickerState),
    Summary,
}

/// A confirmation waiting for a second key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Armed {
    pub action: Action,
    pub until: Millis,
}

/// The figures printed when the console closes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShiftSummary {
    pub worker: String,
    pub stats: WorkerStats,
    /// Time on shift in this console session, in milliseconds.
    pub on_shift_ms: u64,
}

impl ShiftSummary {
    /// Average handle time, if anything was handled.
    pub fn average_handle_ms(&self) -> Option<u64> {
        (self.stats.handled > 0).then(|| self.stats.handle_ms_total / u64::from(self.stats.handled))
    }

    /// Offers accepted out of offers answered or missed, in percent.
    pub fn acceptance_percent(&self) -> Option<u32> {
        let s = &self.stats;
        let total = s.offers_accepted + s.offers_declined + s.offers_missed;
        (total > 0).then(|| (s.offers_accepted * 100 + total / 2) / total)
    }

    /// The summary as lines of (label, value).
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let s = &self.stats;
        vec![
            ("Time on shift", fmt_duration(self.on_shift_ms)),
            ("Conversations handled", s.handled.to_string()),
            (
                "Average handle time",
                self.average_handle_ms()
                    .map(fmt_duration)
                    .unwrap_or_else(|| "-".into()),
            ),
            (
                "Drafts",
                format!(
                    "{} accepted, {} edited, {} rejected, {} regenerated",
                    s.drafts_accepted, s.drafts_edited, s.drafts_rejected, s.drafts_regenerated
                ),
            ),
            (
                "Offers",
                format!(
                    "{} accepted, {} declined, {} missed",
                    s.offers_accepted, s.offers_declined, s.offers_missed
                ),
            ),
            (
                "Acceptance rate",
                self.acceptance_percent()
                    .map(|p| format!("{p}%"))
                    .unwrap_or_else(|| "-".into()),
            ),
        ]
    }
}

impl std::fmt::Display for ShiftSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.worker.is_empty() {
            writeln!(f, "shiftdesk: shift summary")?;
        } else {
            writeln!(f, "shiftdesk: shift summary for {}", self.worker)?;
        }
        for (label, value) in self.rows() {
            writeln!(f, "  {label:<22} {value}")?;
        }
        Ok(())
    }
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
        App {
            keymap,
            options,
            now,
            skew_ms: 0,
            conn: ConnState::Connecting { attempt: 1 },
            me: None,
            limits: None,
            shift: Shift {
                status: WorkerStatus::Offline,
                since: now,
                stats: WorkerStats::default(),
                started_at: None,
                ended_at: None,
            },
            offer: None,
            conversations: Vec::new(),
            selected: 0,
            outbox: Outbox::default(),
            modal: None,
            help: None,
            board: WallboardView::default(),
            notice: None,
            armed: None,
            pending_keys: Vec::new(),
            quitting: None,
            ids: IdGen::new(id_prefix),
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

    pub fn selected_conversation(&self) -> Option<&ConvState> {
        self.conversations.get(self.selected)
    }

    fn selected_conversation_mut(&mut self) -> Option<&mut ConvState> {
        self.conversations.get_mut(self.selected)
    }

    pub fn is_supervisor(&self) -> bool {
        self.me.as_ref().is_some_and(|m| m.role == Role::Supervisor)
    }

    pub fn wallboard_open(&self) -> bool {
        self.board.open
    }

    /// How long ago (console clock) a hub timestamp was.
    pub fn since_hub_time(&self, hub_ms: Millis) -> u64 {
        self.now.saturating_sub(self.to_local(hub_ms))
    }

    /// Is the supervisor watching this conversation without owning it?
    pub fn shadowing(&self, c: &ConvState) -> bool {
        self.is_supervisor() && !self.owns(c)
    }

    /// Who owns a conversation, by name where the wallboard knows it.
    pub fn owner_label(&self, c: &ConvState) -> Option<String> {
        c.owner_name.clone().or_else(|| c.view.owner.clone())
    }

    /// Conversations the worker owns (not just shadows).
    pub fn open_count(&self) -> usize {
        self.conversations
            .iter()
            .filter(|c| c.closed.is_none() && self.owns(c))
            .count()
    }

    pub fn owns(&self, c: &ConvState) -> bool {
        match (&self.me, &c.view.owner) {
            (Some(me), Some(owner)) => *owner == me.id,
            // Before login nothing is known; treat it as ours.
            (None, _) => true,
            (Some(_), None) => false,
        }
    }

    pub fn max_text_chars(&self) -> usize {
        self.limits
            .as_ref()
            .map(|l| l.max_text_chars)
            .unwrap_or(shiftdesk_protocol::MAX_TEXT_CHARS)
    }

    pub fn summary(&self) -> ShiftSummary {
        let on_shift_ms = match self.shift.started_at {
            Some(start) => {
                let end = if self.shift.status == WorkerStatus::Offline {
                    self.shift.ended_at.unwrap_or(self.now)
                } else {
                    self.now
                };
                end.saturating_sub(start)
            }
            None => 0,
        };
        ShiftSummary {
            worker: self.me.as_ref().map(|m| m.name.clone()).unwrap_or_default(),
            stats: self.shift.stats.clone(),
            on_shift_ms,
        }
    }

    /// The key contexts in force, most specific first, and whether a text field has focus.
    pub fn contexts(&self) -> (Vec<Context>, bool) {
        if self.help.is_some() {
            return (vec![Context::Help, Context::Global], false);
        }
        match &self.modal {
            Some(Modal::Editor(_)) => (vec![Context::Editor, Context::Global], true),
            Some(Modal::Prompt(_)) => (vec![Context::Prompt, Context::Global], true),
            Some(Modal::Picker(_)) => (vec![Context::Picker, Context::Global], false),
            Some(Modal::Summary) => (vec![Context::Summary, Context::Global], false),
            None => (self.base_contexts(), false),
        }
    }

    /// The contexts of the main screen, without any modal.
    pub fn base_contexts(&self) -> Vec<Context> {
        let mut contexts = Vec::new();
        if self.offer.is_some() {
            contexts.push(Context::Offer);
        }
        if self.board.open {
            contexts.push(Context::Wallboard);
        } else {
            if self
                .selected_conversation()
                .and_then(|c| c.draft.as_ref())
                .is_some_and(|d| d.actionable())
                && self.selected_conversation().is_some_and(|c| self.owns(c))
            {
                contexts.push(Context::Draft);
            }
            contexts.push(Context::Conversation);
        }
        contexts.push(Context::Global);
        contexts
    }

    /// The contexts the help overlay lists: those of the screen under it, then help's own.
    pub fn help_contexts(&self) -> Vec<Context> {
        let mut contexts = match &self.modal {
            Some(Modal::Editor(_)) => vec![Context::Editor, Context::Global],
            Some(Modal::Prompt(_)) => vec![Context::Prompt, Context::Global],
            Some(Modal::Picker(_)) => vec![Context::Picker, Context::Global],
            Some(Modal::Summary) => vec![Context::Summary, Context::Global],
            None => self.base_contexts(),
        };
        contexts.push(Context::Help);
        contexts
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
                }
            }
            Msg::Paste(text) => {
                self.dirty = true;
                match &mut self.modal {
                    Some(Modal::Editor(editor)) => {
                        editor.textarea.insert_str(text);
                        editor.discard_armed = false;
                    }
                    Some(Modal::Prompt(prompt)) => {
                        prompt.textarea.insert_str(text.replace(['\n', '\r'], " "));
                    }
                    _ => {}
                }
                self.prompt_changed();
            }
            Msg::Resize => self.dirty = true,
            Msg::Conn(state) => {
                self.dirty = true;
                // Connected counts from the `welcome` that follows: sending before the outbox is
                // sent again could overtake older unconfirmed commands.
                if state != ConnState::Connected {
                    self.conn = state;
                }
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
        if let Some(offer) = &self.offer
            && self.now > offer.deadline + OFFER_GRACE_MS
        {
            self.offer = None;
            self.close_offer_prompt();
            self.dirty = true;
        }
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

    fn note(&mut self, level: Level, text: impl Into<String>) {
        let extra = if level == Level::Error { 4_000 } else { 0 };
        self.notice = Some(Notice {
            text: text.into(),
            level,
            until: self.now + NOTICE_MS + extra,
        });
    }

    /// Queue a command: give it an id, keep it in the outbox, send it if connected.
    fn send(&mut self, command: WorkerCommand, out: &mut Vec<Command>) -> String {
        let id = self.ids.next_id();
        let frame = WorkerFrame {
            id: id.clone(),
            command,
        };
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

    // -----------------------------------------------------------------------------------------
    // Frames from the hub
    // -----------------------------------------------------------------------------------------

    fn hub(&mut self, event: WorkerEvent, out: &mut Vec<Command>) {
        match event {
            WorkerEvent::Welcome {
                protocol,
                resumed,
                worker,
                status,
                stats,
                limits,
                server_time,
                ..
            } => {
                if protocol != PROTOCOL_VERSION {
                    self.note(
                        Level::Warn,
                        format!(
                            "the hub speaks protocol {protocol}; this console {PROTOCOL_VERSION}"
                        ),
                    );
                }
                self.skew_ms = server_time as i64 - self.now as i64;
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
                if self.logged_in_once {
                    self.note(Level::Good, "Reconnected");
                }
                self.logged_in_once = true;
                for frame in self.outbox.frames() {
                    out.push(Command::Send(frame.clone()));
                }
                if self.is_supervisor() {
                    // The hub forgets subscriptions with the connection: ask again each time.
                    // The figures also give names to owners and hand-back targets.
                    self.board.me = self.me.as_ref().map(|m| m.id.clone()).unwrap_or_default();
                    self.send(WorkerCommand::Wallboard, out);
                }
            }
            WorkerEvent::Ack { id, .. } => self.ack(&id, out),
            WorkerEvent::Error { id, code, message } => self.error(id, code, message, out),
            WorkerEvent::Pong { .. } => {}
            WorkerEvent::Status {
                status,
                since,
                stats,
            } => self.set_status(status, Some(since), stats),
            WorkerEvent::Offer {
                conversation,
                language,
                intent,
                why,
                customer,
                preview,
                waited_ms,
                deadline,
                timeout_ms,
                because,
                language_fallback,
            } => {
                let deadline = self.to_local(deadline);
                let full = self
                    .limits
                    .as_ref()
                    .map(|l| l.offer_timeout_ms)
                    .unwrap_or(timeout_ms)
                    .max(timeout_ms);
                let desktop = self.options.notify.then(|| {
                    let body = if self.options.notify_text {
                        format!(
                            "{customer} ({language}): {}",
                            shiftdesk_protocol::redact::mask(&preview)
                        )
                    } else {
                        format!(
                            "{} conversation waiting ({language})",
                            intent.replace('_', " ")
                        )
                    };
                    ("shiftdesk: new offer".to_string(), body)
                });
                if self.options.bell || desktop.is_some() {
                    out.push(Command::Notify(Notification {
                        bell: self.options.bell,
                        desktop,
                    }));
                }
                self.offer = Some(OfferState {
                    conversation,
                    language,
                    intent,
                    why,
                    customer,
                    preview,
                    waited_ms,
                    received_at: self.now,
                    deadline,
                    timeout_ms: full,
                    because,
                    language_fallback,
                    answer: OfferAnswer::None,
                });
            }
            WorkerEvent::OfferWithdrawn {
                conversation,
                reason,
            } => {
                if self
                    .offer
                    .as_ref()
                    .is_some_and(|o| o.conversation == conversation)
                {
                    self.offer = None;
                    self.close_offer_prompt();
                    let (level, text) = match reason.as_str() {
                        "declined" => (Level::Info, "Offer declined. No penalty.".to_string()),
                        "expired" => (
                            Level::Warn,
                            "Offer expired: it went to the next worker.".to_string(),
                        ),
                        "abandoned" => {
                            (Level::Info, "The customer left before you answered.".into())
                        }
                        "taken" => (Level::Info, "A supervisor took that conversation.".into()),
                        "status" => (Level::Info, "Offer withdrawn: you changed status.".into()),
                        "disconnected" => (
                            Level::Warn,
                            "Offer withdrawn: your connection dropped.".into(),
                        ),
                        other => (Level::Info, format!("Offer withdrawn ({other}).")),
                    };
                    self.note(level, text);
                }
            }
            WorkerEvent::Conversation { conversation } => self.conversation(conversation),
            WorkerEvent::Message {
                conversation,
                message,
            } => self.message(&conversation, message),
            WorkerEvent::Draft {
                conversation,
                draft,
            } => {
                if let Some(c) = self.find_mut(&conversation) {
                    c.log_draft(&draft);
                    c.writing = None;
                    c.draft = Some(DraftState {
                        draft,
                        status: DraftStatus::Proposed,
                    });
                }
            }
            WorkerEvent::DraftPartial {
                conversation,
                for_message,
                text,
            } => {
                if let Some(c) = self.find_mut(&conversation)
                    && c.draft
                        .as_ref()
                        .is_none_or(|d| d.draft.for_message < for_message || !d.actionable())
                {
                    c.writing = Some((for_message, text));
                }
            }
            WorkerEvent::DraftDone {
                conversation,
                draft,
                outcome,
                reason,
            } => {
                if let Some(c) = self.find_mut(&conversation)
                    && let Some(log) = c.drafts.iter_mut().find(|d| d.draft.id == draft)
                {
                    log.outcome = Some((outcome, reason));
                }
                if let Some(c) = self.find_mut(&conversation)
                    && let Some(d) = &mut c.draft
                    && d.draft.id == draft
                    && !matches!(d.status, DraftStatus::Pending { .. })
                {
                    let doing = match outcome {
                        DraftOutcome::Accepted | DraftOutcome::Pending => DraftDoing::Accept,
                        DraftOutcome::Edited => DraftDoing::Edit,
                        DraftOutcome::Rejected => {
                            DraftDoing::Reject(reason.unwrap_or(RejectReason::Other))
                        }
                        DraftOutcome::Regenerated => DraftDoing::Regenerate,
                    };
                    d.status = DraftStatus::Sent { doing };
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
            WorkerEvent::Wallboard { wallboard } => {
                self.board.set_data(wallboard, self.now);
                self.follow_owners();
            }
        }
    }

    /// The owner's display name, for a view that just arrived (its `owner` is the freshest).
    fn owner_name_of(&self, view: &ConversationView) -> Option<String> {
        let owner = view.owner.as_deref()?;
        if self.me.as_ref().is_some_and(|m| m.id == owner) {
            return self.me.as_ref().map(|m| m.name.clone());
        }
        self.board
            .name_of(owner)
            .or_else(|| {
                self.board
                    .live_entry(&view.id)
                    .and_then(|c| c.owner.as_deref())
            })
            .map(str::to_string)
    }

    /// The hub tells a shadowing supervisor about new lines, not about a new owner (a waiting
    /// conversation accepted, a transfer, a hand-back by someone else): the wallboard's live
    /// list does, each second. Conversations the supervisor owns are left alone.
    fn follow_owners(&mut self) {
        let updates: Vec<Option<(Option<String>, Option<String>)>> = self
            .conversations
            .iter()
            .map(|c| {
                if c.closed.is_some() || self.owns(c) {
                    return None;
                }
                let live = self.board.live_entry(&c.view.id)?;
                let name = live.owner.clone();
                let id = match &name {
                    None => None,
                    Some(n) => Some(
                        self.board
                            .id_of(n)
                            .map(str::to_string)
                            .or_else(|| c.view.owner.clone())?,
                    ),
                };
                Some((id, name))
            })
            .collect();
        for (c, update) in self.conversations.iter_mut().zip(updates) {
            if let Some((id, name)) = update {
                c.view.owner = id;
                c.owner_name = name;
            }
        }
    }

    fn find_mut(&mut self, id: &str) -> Option<&mut ConvState> {
        self.conversations.iter_mut().find(|c| c.view.id == id)
    }

    fn set_status(&mut self, status: WorkerStatus, since: Option<Millis>, stats: WorkerStats) {
        let was = self.shift.status;
        self.shift.since = since.map(|s| self.to_local(s)).unwrap_or(self.now);
        self.shift.stats = stats;
        self.shift.status = status;
        if status != WorkerStatus::Offline && self.shift.started_at.is_none() {
            // A console started mid-shift counts from when the status began.
            self.shift.started_at = Some(self.shift.since.min(self.now));
            self.shift.ended_at = None;
        }
        if status == WorkerStatus::Offline
            && was != WorkerStatus::Offline
            && let Some(start) = self.shift.started_at
        {
            self.shift.ended_at = Some(self.now.max(start));
            if self.modal.is_none() {
                self.modal = Some(Modal::Summary);
            }
        }
        if status != WorkerStatus::Offline && was == WorkerStatus::Offline {
            if self.shift.ended_at.is_some() {
                // A new shift after a summary.
                self.shift.started_at = Some(self.now);
                self.shift.ended_at = None;
            }
            if matches!(self.modal, Some(Modal::Summary)) {
                self.modal = None;
            }
        }
    }

    fn conversation(&mut self, view: ConversationView) {
        let id = view.id.clone();
        let owner_name = self.owner_name_of(&view);
        let open =
            view.state != ConversationState::Resolved && view.state != ConversationState::Abandoned;
        if let Some(existing) = self.find_mut(&id) {
            let keep_status = existing.draft.clone();
            let mut fresh = ConvState::new(view);
            if let (Some(new), Some(old)) = (&mut fresh.draft, keep_status)
                && new.draft.id == old.draft.id
            {
                new.status = old.status;
            }
            fresh.unread = existing.unread;
            fresh.scroll = existing.scroll;
            fresh.pending = std::mem::take(&mut existing.pending);
            let mut drafts = std::mem::take(&mut existing.drafts);
            for d in fresh.drafts.drain(..) {
                if !drafts.iter().any(|old| old.draft.id == d.draft.id) {
                    drafts.push(d);
                }
            }
            fresh.drafts = drafts;
            fresh.owner_name = owner_name;
            if !open {
                fresh.closed = Some(format!("{:?}", fresh.view.state).to_lowercase());
            }
            *existing = fresh;
        } else if open {
            let mut fresh = ConvState::new(view);
            fresh.owner_name = owner_name;
            fresh.unread = fresh
                .view
                .messages
                .iter()
                .filter(|m| m.from == Author::Customer)
                .count()
                .min(1) as u32;
            self.conversations.push(fresh);
            let index = self.conversations.len() - 1;
            if self.select_on_arrival.as_deref() == Some(id.as_str())
                || self.conversations.len() == 1
            {
                self.select(index);
                self.select_on_arrival = None;
            }
        }
    }

    fn message(&mut self, conversation: &str, message: Message) {
        let selected = self.selected_conversation().map(|c| c.view.id.clone());
        let Some(c) = self.find_mut(conversation) else {
            return;
        };
        if c.view.messages.iter().any(|m| m.n == message.n) {
            return;
        }
        let from = message.from;
        c.view.messages.push(message);
        c.view.messages.sort_by_key(|m| m.n);
        if selected.as_deref() != Some(conversation) && from == Author::Customer {
            c.unread += 1;
        }
        if selected.as_deref() == Some(conversation) {
            // New lines bring the view back down.
            c.scroll = 0;
        }
    }

    fn closed(&mut self, conversation: &str, reason: String) {
        let Some(index) = self
            .conversations
            .iter()
            .position(|c| c.view.id == conversation)
        else {
            return;
        };
        let name = self.conversations[index].view.customer.name.clone();
        let text = match reason.as_str() {
            "resolved" => format!("Conversation with {name} resolved."),
            "abandoned" => format!("{name} left the conversation."),
            "transferred" => format!("Conversation with {name} went back to the queue."),
            other => format!("Conversation with {name} closed: {other}."),
        };
        self.note(Level::Info, text);
        if index == self.selected {
            self.conversations[index].closed = Some(reason);
        } else {
            self.conversations.remove(index);
            if index < self.selected {
                self.selected -= 1;
            }
        }
    }

    fn select(&mut self, index: usize) {
        let target = self.conversations.get(index).map(|c| c.view.id.clone());
        // Closed conversations go once the worker moves on from them.
        self.conversations
            .retain(|c| c.closed.is_none() || Some(&c.view.id) == target.as_ref());
        self.selected = target
            .and_then(|t| self.conversations.iter().position(|c| c.view.id == t))
            .unwrap_or(0);
        if let Some(c) = self.conversations.get_mut(self.selected) {
            c.unread = 0;
        }
    }

    fn ack(&mut self, id: &str, out: &mut Vec<Command>) {
        let Some(pending) = self.outbox.take(id) else {
            return;
        };
        out.push(Command::SaveOutbox(self.outbox.entries().to_vec()));
        match pending.frame.command {
            WorkerCommand::AcceptOffer { conversation } => {
                if self
                    .offer
                    .as_ref()
                    .is_some_and(|o| o.conversation == conversation)
                {
                    self.offer = None;
                }
                if let Some(index) = self
                    .conversations
                    .iter()
                    .position(|c| c.view.id == conversation)
                {
                    self.select(index);
                    let name = self.conversations[self.selected].view.customer.name.clone();
                    self.note(
                        Level::Good,
                        format!("Accepted: you are now talking with {name}."),
                    );
                } else {
                    self.select_on_arrival = Some(conversation);
                    self.note(Level::Good, "Offer accepted.");
                }
            }
            WorkerCommand::DeclineOffer { conversation, .. }
                if self
                    .offer
                    .as_ref()
                    .is_some_and(|o| o.conversation == conversation) =>
            {
                self.offer = None;
                self.note(Level::Info, "Offer declined. No penalty.");
            }
            WorkerCommand::Draft { conversation, .. } => {
                if let Some(c) = self.find_mut(&conversation)
                    && let Some(d) = &mut c.draft
                    && let DraftStatus::Pending {
                        id: pending_id,
                        doing,
                    } = &d.status
                    && pending_id == id
                {
                    d.status = DraftStatus::Sent { doing: *doing };
                }
            }
            WorkerCommand::Reply { conversation, .. }
            | WorkerCommand::Note { conversation, .. }
            | WorkerCommand::Whisper { conversation, .. } => {
                if let Some(c) = self.find_mut(&conversation) {
                    c.pending.retain(|p| p.id != id);
                }
            }
            WorkerCommand::Wallboard => {}
            WorkerCommand::TakeOver { .. } => {
                self.note(Level::Good, "You took the conversation over.")
            }
            WorkerCommand::HandBack { .. } => self.note(Level::Good, "Handed back."),
            _ => {}
        }
    }

    fn error(
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
                if self
                    .offer
                    .as_ref()
                    .is_some_and(|o| o.conversation == conversation)
                {
                    self.offer = None;
                }
                let text = if code == ErrorCode::Conflict {
                    "Offer expired: it is no longer open to you.".to_string()
                } else {
                    format!("Could not accept the offer: {message}")
                };
                self.note(Level::Error, text);
            }
            WorkerCommand::DeclineOffer { conversation, .. } => {
                if self
                    .offer
                    .as_ref()
                    .is_some_and(|o| o.conversation == conversation)
                {
                    self.offer = None;
                }
                if code != ErrorCode::Conflict {
                    self.note(Level::Error, format!("Decline failed: {message}"));
                }
            }
            WorkerCommand::Draft { conversation, .. } => {
                if let Some(c) = self.find_mut(&conversation)
                    && let Some(d) = &mut c.draft
                {
                    d.status = DraftStatus::Failed {
                        message: message.clone(),
                    };
                }
                self.note(Level::Error, format!("Draft not sent: {message}"));
            }
            WorkerCommand::Reply { conversation, .. }
            | WorkerCommand::Note { conversation, .. }
            | WorkerCommand::Whisper { conversation, .. } => {
                if let Some(c) = self.find_mut(&conversation)
                    && let Some(line) = c.pending.iter_mut().find(|p| p.id == id)
                {
                    line.failed = Some(message.clone());
                }
                self.note(Level::Error, format!("Not sent: {message}"));
            }
            WorkerCommand::SetStatus { status } => {
                self.note(
                    Level::Error,
                    format!("Could not change status to {}: {message}", status.label()),
                );
            }
            other => {
                self.note(Level::Error, format!("{} refused: {message}", other.name()));
            }
        }
    }

    fn close_offer_prompt(&mut self) {
        if matches!(
            &self.modal,
            Some(Modal::Prompt(PromptState {
                purpose: PromptPurpose::Decline { .. },
                ..
            }))
        ) {
            self.modal = None;
        }
    }

    // -----------------------------------------------------------------------------------------
    // Keys
    // -----------------------------------------------------------------------------------------

    fn key(&mut self, key: KeyPress, out: &mut Vec<Command>) {
        let (contexts, text) = self.contexts();
        if text && self.pending_keys.is_empty() && key.is_printable() {
            self.type_key(key);
            return;
        }
        self.pending_keys.push(key);
        match self.keymap.lookup(&contexts, &self.pending_keys) {
            Lookup::Action(action) => {
                self.pending_keys.clear();
                self.action(action, out);
            }
            Lookup::Prefix => {}
            Lookup::None => {
                let keys = std::mem::take(&mut self.pending_keys);
                if text && keys.len() == 1 {
                    self.type_key(key);
                } else if keys.len() > 1 {
                    let typed: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
                    self.note(Level::Info, format!("`{}` is not bound", typed.join(" ")));
                }
            }
        }
    }

    fn type_key(&mut self, key: KeyPress) {
        let input = to_textarea_input(key);
        match &mut self.modal {
            Some(Modal::Editor(editor)) => {
                editor.textarea.input(input);
                editor.discard_armed = false;
            }
            // One line: Enter is the keymap's business, never a newline.
            Some(Modal::Prompt(prompt)) if input.key != TaKey::Enter => {
                prompt.textarea.input(input);
            }
            _ => {}
        }
        self.prompt_changed();
    }

    fn arm(&mut self, action: Action) -> bool {
        if self
            .armed
            .is_some_and(|a| a.action == action && a.until > self.now)
        {
            self.armed = None;
            return true;
        }
        self.armed = Some(Armed {
            action,
            until: self.now + CONFIRM_MS,
        });
        false
    }

    fn action(&mut self, action: Action, out: &mut Vec<Command>) {
        if !matches!(
            action,
            Action::Quit | Action::ShiftOffline | Action::SupervisorTakeover
        ) {
            self.armed = None;
        }
        match action {
            Action::Quit => self.quit(out),
            Action::Help => {
                self.help = match self.help {
                    Some(_) => None,
                    None => Some(0),
                };
            }
            Action::Summary => {
                self.modal = match self.modal.take() {
                    Some(Modal::Summary) => None,
                    Some(other @ (Modal::Editor(_) | Modal::Prompt(_))) => Some(other),
                    _ => Some(Modal::Summary),
                };
            }
            Action::Cancel => self.cancel(),
            Action::ShiftAvailable => self.change_status(WorkerStatus::Available, out),
            Action::ShiftBreak => self.change_status(WorkerStatus::Break, out),
            Action::ShiftDrain => self.change_status(WorkerStatus::Draining, out),
            Action::ShiftOffline => {
                let open = self.open_count();
                if open > 0
                    && self.shift.status != WorkerStatus::Offline
                    && !self.arm(Action::ShiftOffline)
                {
                    let again = self.key_hint(Action::ShiftOffline);
                    let drain = self.key_hint(Action::ShiftDrain);
                    self.note(
                        Level::Warn,
                        format!(
                            "{open} open conversation(s) would go back to the queue. Press {again} again to go offline, or {drain} to finish them first."
                        ),
                    );
                    return;
                }
                self.change_status(WorkerStatus::Offline, out);
            }
            Action::OfferAccept => {
                let Some(offer) = &mut self.offer else {
                    return;
                };
                if offer.answer != OfferAnswer::None {
                    return;
                }
                offer.answer = OfferAnswer::Accepting;
                let conversation = offer.conversation.clone();
                self.select_on_arrival = Some(conversation.clone());
                self.send(WorkerCommand::AcceptOffer { conversation }, out);
            }
            Action::OfferDecline => {
                let Some(offer) = &self.offer else {
                    return;
                };
                if offer.answer != OfferAnswer::None {
                    return;
                }
                let conversation = offer.conversation.clone();
                self.modal = Some(Modal::Prompt(PromptState {
                    purpose: PromptPurpose::Decline { conversation },
                    textarea: one_line("optional: why not? (enter to decline)"),
                }));
            }
            Action::ConversationNext | Action::ConversationPrev => {
                if self.conversations.is_empty() {
                    return;
                }
                let n = self.conversations.len();
                let next = if action == Action::ConversationNext {
                    (self.selected + 1) % n
                } else {
                    (self.selected + n - 1) % n
                };
                self.select(next);
            }
            Action::ConversationResolve => {
                let Some(conversation) = self.workable() else {
                    return;
                };
                self.send(WorkerCommand::Resolve { conversation }, out);
                self.note(Level::Info, "Resolving…");
            }
            Action::ConversationTransfer => {
                let Some(conversation) = self.workable() else {
                    return;
                };
                self.modal = Some(Modal::Prompt(PromptState {
                    purpose: PromptPurpose::Transfer { conversation },
                    textarea: one_line("optional: why? (enter to give it back to the queue)"),
                }));
            }
            Action::ScrollUp | Action::ScrollDown if self.board.open => {
                let step = PAGE as isize;
                self.board.move_selection(if action == Action::ScrollUp {
                    -step
                } else {
                    step
                });
            }
            Action::ScrollUp => {
                if let Some(c) = self.selected_conversation_mut() {
                    c.scroll = c.scroll.saturating_add(SCROLL_STEP);
                }
            }
            Action::ScrollDown => {
                if let Some(c) = self.selected_conversation_mut() {
                    c.scroll = c.scroll.saturating_sub(SCROLL_STEP);
                }
            }
            Action::DraftAccept => self.draft_action(DraftAction::Accept, out),
            Action::DraftRegenerate => self.draft_action(DraftAction::Regenerate, out),
            Action::DraftEdit => {
                let Some((conversation, draft)) = self.workable_draft() else {
                    return;
                };
                let text = draft.proposal.text.clone();
                let purpose = EditorPurpose::EditDraft {
                    conversation,
                    draft: draft.id,
                    original: text.clone(),
                };
                self.open_editor(purpose, &text);
            }
            Action::DraftReject => {
                let Some((conversation, draft)) = self.workable_draft() else {
                    return;
                };
                self.modal = Some(Modal::Picker(PickerState {
                    purpose: PickerPurpose::RejectReason {
                        conversation,
                        draft: draft.id,
                    },
                    selected: 0,
                }));
            }
            Action::ReplyCompose | Action::NoteCompose => {
                let Some(conversation) = self.workable() else {
                    return;
                };
                let purpose = if action == Action::ReplyCompose {
                    EditorPurpose::Reply { conversation }
                } else {
                    EditorPurpose::Note { conversation }
                };
                self.open_editor(purpose, "");
            }
            Action::ReplySend => self.send_editor(out),
            Action::PickerUp | Action::PickerDown => {
                let down = action == Action::PickerDown;
                if let Some(scroll) = &mut self.help {
                    *scroll = if down {
                        scroll.saturating_add(1)
                    } else {
                        scroll.saturating_sub(1)
                    };
                    return;
                }
                match &mut self.modal {
                    Some(Modal::Picker(p)) => {
                        let n = p.len().max(1);
                        p.selected = if down {
                            (p.selected + 1) % n
                        } else {
                            (p.selected + n - 1) % n
                        };
                    }
                    None if self.board.open => self.board.move_selection(if down { 1 } else { -1 }),
                    _ => {}
                }
            }
            Action::PickerSelect => self.pick(out),
            Action::SupervisorWallboard => {
                if !self.is_supervisor() {
                    self.note(Level::Info, "The wallboard is for supervisors.");
                    return;
                }
                if self.board.open {
                    self.board.close();
                } else {
                    self.board.open = true;
                    if self.board.data.is_none() && self.conn == ConnState::Connected {
                        // Normally subscribed at login; ask again if nothing came yet.
                        if !self.outbox.has(|c| *c == WorkerCommand::Wallboard) {
                            self.send(WorkerCommand::Wallboard, out);
                        }
                    }
                }
            }
            Action::WallboardSort if self.board.open => self.board.cycle_sort(),
            Action::WallboardFocus if self.board.open => self.board.toggle_focus(),
            Action::WallboardFilter if self.board.open => {
                let previous = self.board.filter.text.clone();
                let mut textarea = one_line("a name, or status:break (empty shows everyone)");
                textarea.insert_str(&previous);
                self.modal = Some(Modal::Prompt(PromptState {
                    purpose: PromptPurpose::WallboardFilter { previous },
                    textarea,
                }));
            }
            Action::WallboardSort | Action::WallboardFocus | Action::WallboardFilter => {}
            Action::SupervisorShadow => {
                if !self.is_supervisor() {
                    return;
                }
                if self.board.open {
                    self.shadow_from_wallboard(out);
                } else if let Some(c) = self.selected_conversation()
                    && !self.owns(c)
                    && c.closed.is_none()
                {
                    let conversation = c.view.id.clone();
                    if let Some(c) = self.selected_conversation_mut() {
                        c.closed = Some("no longer shadowed".into());
                    }
                    self.send(WorkerCommand::Unshadow { conversation }, out);
                }
            }
            Action::SupervisorWhisper => {
                if !self.is_supervisor() {
                    return;
                }
                let Some(c) = self.selected_conversation() else {
                    return;
                };
                if c.closed.is_some() {
                    self.note(Level::Info, "This conversation has ended.");
                } else if self.owns(c) {
                    self.note(
                        Level::Info,
                        "You own this conversation: write to the customer instead.",
                    );
                } else if c.view.owner.is_none() {
                    self.note(
                        Level::Info,
                        "Nobody has this conversation yet to whisper to.",
                    );
                } else {
                    let conversation = c.view.id.clone();
                    self.open_editor(EditorPurpose::Whisper { conversation }, "");
                }
            }
            Action::SupervisorTakeover => {
                if !self.is_supervisor() {
                    return;
                }
                let Some(c) = self.selected_conversation() else {
                    return;
                };
                if self.owns(c) || c.closed.is_some() {
                    return;
                }
                let conversation = c.view.id.clone();
                let from = self.owner_label(c);
                if from.is_some() && !self.arm(Action::SupervisorTakeover) {
                    let again = self.key_hint(Action::SupervisorTakeover);
                    let from = from.unwrap_or_default();
                    self.note(
                        Level::Warn,
                        format!(
                            "Take this conversation from {from}? They are told and lose it. Press {again} again."
                        ),
                    );
                    return;
                }
                self.send(WorkerCommand::TakeOver { conversation }, out);
                self.note(Level::Info, "Taking over…");
            }
            Action::SupervisorHandback => {
                if !self.is_supervisor() {
                    return;
                }
                let Some(c) = self
                    .selected_conversation()
                    .filter(|c| self.owns(c) && c.closed.is_none())
                else {
                    self.note(
                        Level::Info,
                        "Only a conversation you took over can be handed back.",
                    );
                    return;
                };
                let target = HandBackTarget {
                    conversation: c.view.id.clone(),
                    customer: c.view.customer.name.clone(),
                };
                self.board.start_hand_back(target);
            }
        }
    }

    /// Shadow what is selected on the wallboard: a live conversation, or every conversation of
    /// the selected worker.
    fn shadow_from_wallboard(&mut self, out: &mut Vec<Command>) {
        if self.board.hand_back.is_some() {
            let choose = self.key_hint(Action::PickerSelect);
            self.note(
                Level::Info,
                format!("Choose a worker with {choose}, or cancel."),
            );
            return;
        }
        let (targets, who): (Vec<ConversationId>, Option<String>) = match self.board.focus {
            BoardFocus::Live => match self.board.selected_live() {
                Some(c) => (vec![c.id.clone()], None),
                None => (Vec::new(), None),
            },
            BoardFocus::Workers => match self.board.selected_worker() {
                Some(w) => (
                    self.board
                        .live_of(&w.name)
                        .into_iter()
                        .map(|c| c.id.clone())
                        .collect(),
                    Some(w.name.clone()),
                ),
                None => (Vec::new(), None),
            },
        };
        if targets.is_empty() {
            let text = match who {
                Some(name) => format!("{name} has no open conversation to shadow."),
                None => "No conversation selected.".to_string(),
            };
            self.note(Level::Info, text);
            return;
        }
        self.board.close();
        let showing = |app: &App, id: &str| {
            app.conversations
                .iter()
                .position(|c| c.view.id == id && c.closed.is_none())
        };
        for conversation in &targets {
            // Already shadowing (or owning) it: nothing to ask.
            if showing(self, conversation).is_none() {
                self.send(
                    WorkerCommand::Shadow {
                        conversation: conversation.clone(),
                    },
                    out,
                );
            }
        }
        match showing(self, &targets[0]) {
            Some(index) => self.select(index),
            None => self.select_on_arrival = Some(targets[0].clone()),
        }
        let text = match (who, targets.len()) {
            (Some(name), n) if n > 1 => {
                format!(
                    "Shadowing {name}'s {n} conversations (read-only); switch between them with the conversation keys."
                )
            }
            (Some(name), _) => format!("Shadowing {name} (read-only)."),
            (None, _) => "Shadowing (read-only).".to_string(),
        };
        self.note(Level::Info, text);
    }

    /// Hand the taken-over conversation to the worker selected on the wallboard.
    fn hand_back_to_selected(&mut self, out: &mut Vec<Command>) {
        let Some(target) = self.board.hand_back.clone() else {
            return;
        };
        let Some(worker) = self.board.selected_worker().cloned() else {
            self.note(
                Level::Info,
                "Nobody can take it now: no connected worker has free capacity.",
            );
            return;
        };
        self.board.close();
        self.send(
            WorkerCommand::HandBack {
                conversation: target.conversation,
                worker: worker.id,
            },
            out,
        );
        self.note(
            Level::Info,
            format!("Handing {} back to {}…", target.customer, worker.name),
        );
    }

    /// The wallboard filter follows the prompt as it is typed.
    fn prompt_changed(&mut self) {
        if let Some(Modal::Prompt(prompt)) = &self.modal
            && matches!(prompt.purpose, PromptPurpose::WallboardFilter { .. })
        {
            let text = prompt.text();
            self.board.set_filter(&text);
        }
    }

    /// The selected conversation's id, if the worker owns it and it is open; else say why not.
    fn workable(&mut self) -> Option<ConversationId> {
        let (id, closed, owned) = match self.selected_conversation() {
            Some(c) => (c.view.id.clone(), c.closed.is_some(), self.owns(c)),
            None => {
                self.note(Level::Info, "No conversation is open.");
                return None;
            }
        };
        if closed {
            self.note(Level::Info, "This conversation has ended.");
            return None;
        }
        if !owned {
            self.note(
                Level::Info,
                "You are shadowing this conversation (read-only).",
            );
            return None;
        }
        Some(id)
    }

    /// The selected conversation and its draft, if the worker can act on the draft now.
    fn workable_draft(&mut self) -> Option<(ConversationId, Draft)> {
        let id = self.workable()?;
        let draft = self.selected_conversation().and_then(|c| c.draft.clone());
        match draft {
            Some(d) if d.actionable() => Some((id, d.draft)),
            Some(d) => {
                let text = match d.status {
                    DraftStatus::Pending { .. } => "Already sent; waiting for the hub.",
                    _ => "This draft is done; wait for the next one.",
                };
                self.note(Level::Info, text);
                None
            }
            None => {
                self.note(Level::Info, "No draft is waiting.");
                None
            }
        }
    }

    pub fn key_hint(&self, action: Action) -> String {
        let (contexts, _) = self.contexts();
        self.keymap
            .key_for(&contexts, action)
            .or_else(|| self.keymap.key_for(&crate::keymap::Context::ALL, action))
            .unwrap_or_else(|| action.name().to_string())
    }

    fn quit(&mut self, out: &mut Vec<Command>) {
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

    fn change_status(&mut self, status: WorkerStatus, out: &mut Vec<Command>) {
        if self.shift.status == status {
            self.note(Level::Info, format!("You are already {}.", status.label()));
            return;
        }
        let command = WorkerCommand::SetStatus { status };
        self.send(command, out);
        if self
            .modal
            .as_ref()
            .is_some_and(|m| matches!(m, Modal::Summary))
            && status != WorkerStatus::Offline
        {
            self.modal = None;
        }
    }

    fn cancel(&mut self) {
        if self.help.take().is_some() {
            return;
        }
        match self.modal.take() {
            Some(Modal::Editor(mut editor)) => {
                if editor.changed() && !editor.discard_armed {
                    editor.discard_armed = true;
                    self.modal = Some(Modal::Editor(editor));
                    self.note(Level::Warn, "Press cancel again to discard the text.");
                }
            }
            Some(Modal::Prompt(PromptState {
                purpose: PromptPurpose::WallboardFilter { previous },
                ..
            })) => self.board.set_filter(&previous),
            Some(_) => {}
            None => {
                if self.board.open {
                    self.board.close();
                }
            }
        }
    }

    fn open_editor(&mut self, purpose: EditorPurpose, text: &str) {
        let mut textarea = if text.is_empty() {
            TextArea::default()
        } else {
            TextArea::new(text.lines().map(str::to_string).collect())
        };
        textarea.set_wrap_mode(WrapMode::WordOrGlyph);
        textarea.set_cursor_line_style(ratatui::style::Style::default());
        textarea.set_placeholder_text(match &purpose {
            EditorPurpose::Reply { .. } => "Write to the customer…",
            EditorPurpose::Note { .. } => "A private note (the customer never sees it)…",
            EditorPurpose::EditDraft { .. } => "",
            EditorPurpose::Whisper { .. } => "A private line to the worker…",
        });
        textarea.move_cursor(ratatui_textarea::CursorMove::Bottom);
        textarea.move_cursor(ratatui_textarea::CursorMove::End);
        self.modal = Some(Modal::Editor(EditorState {
            purpose,
            textarea,
            discard_armed: false,
        }));
    }

    fn send_editor(&mut self, out: &mut Vec<Command>) {
        let Some(Modal::Editor(editor)) = &self.modal else {
            return;
        };
        let text = editor.text().trim_end().to_string();
        if text.trim().is_empty() {
            self.note(Level::Info, "Nothing to send.");
            return;
        }
        let chars = text.chars().count();
        let limit = self.max_text_chars();
        if chars > limit {
            self.note(
                Level::Error,
                format!("Too long: {chars} characters; the limit is {limit}."),
            );
            return;
        }
        let purpose = editor.purpose.clone();
        self.modal = None;
        match purpose {
            EditorPurpose::EditDraft {
                conversation,
                draft,
                original,
            } => {
                let action = if text == original.trim_end() {
                    DraftAction::Accept
                } else {
                    DraftAction::Edit { text }
                };
                self.draft_command(conversation, draft, action, out);
            }
            EditorPurpose::Reply { conversation } => {
                let id = self.send(
                    WorkerCommand::Reply {
                        conversation: conversation.clone(),
                        text: text.clone(),
                    },
                    out,
                );
                self.pending_line(&conversation, id, Author::Worker, text);
            }
            EditorPurpose::Note { conversation } => {
                let id = self.send(
                    WorkerCommand::Note {
                        conversation: conversation.clone(),
                        text: text.clone(),
                    },
                    out,
                );
                self.pending_line(&conversation, id, Author::Note, text);
            }
            EditorPurpose::Whisper { conversation } => {
                let id = self.send(
                    WorkerCommand::Whisper {
                        conversation: conversation.clone(),
                        text: text.clone(),
                    },
                    out,
                );
                self.pending_line(&conversation, id, Author::Whisper, text);
            }
        }
    }

    fn pending_line(&mut self, conversation: &str, id: String, from: Author, text: String) {
        if let Some(c) = self.find_mut(conversation) {
            c.scroll = 0;
            c.pending.push(PendingLine {
                id,
                from,
                text,
                failed: None,
            });
        }
    }

    fn draft_action(&mut self, action: DraftAction, out: &mut Vec<Command>) {
        if let Some((conversation, draft)) = self.workable_draft() {
            self.draft_command(conversation, draft.id, action, out);
        }
    }

    fn draft_command(
        &mut self,
        conversation: ConversationId,
        draft: String,
        action: DraftAction,
        out: &mut Vec<Command>,
    ) {
        let doing = DraftDoing::of(&action);
        let id = self.send(
            WorkerCommand::Draft {
                conversation: conversation.clone(),
                draft: draft.clone(),
                action,
            },
            out,
        );
        if let Some(c) = self.find_mut(&conversation)
            && let Some(d) = &mut c.draft
            && d.draft.id == draft
        {
            d.status = DraftStatus::Pending { id, doing };
            c.scroll = 0;
        }
    }

    fn pick(&mut self, out: &mut Vec<Command>) {
        if self.help.take().is_some() {
            return;
        }
        match self.modal.take() {
            Some(Modal::Picker(picker)) => match picker.purpose {
                PickerPurpose::RejectReason {
                    conversation,
                    draft,
                } => {
                    let reason = RejectReason::ALL
                        .get(picker.selected)
                        .copied()
                        .unwrap_or(RejectReason::Other);
                    self.draft_command(conversation, draft, DraftAction::Reject { reason }, out);
                }
            },
            Some(Modal::Prompt(PromptState {
                purpose: PromptPurpose::WallboardFilter { .. },
                textarea,
            })) => {
                let text = textarea.lines().join(" ");
                self.board.set_filter(&text);
                if let Some(problem) = self.board.filter.problem.clone() {
                    self.note(Level::Warn, format!("Filter: {problem}."));
                }
            }
            Some(Modal::Prompt(prompt)) => {
                let text = prompt.text().trim().chars().take(200).collect::<String>();
                let reason = (!text.is_empty()).then_some(text);
                match prompt.purpose {
                    PromptPurpose::Decline { conversation } => {
                        if let Some(offer) = &mut self.offer
                            && offer.conversation == conversation
                        {
                            offer.answer = OfferAnswer::Declining;
                            self.send(
                                WorkerCommand::DeclineOffer {
                                    conversation,
                                    reason,
                                },
                                out,
                            );
                        } else {
                            self.note(Level::Info, "That offer is gone already.");
                        }
                    }
                    PromptPurpose::Transfer { conversation } => {
                        self.send(
                            WorkerCommand::Transfer {
                                conversation,
                                reason,
                            },
                            out,
                        );
                        self.note(Level::Info, "Giving it back to the queue…");
                    }
                    PromptPurpose::WallboardFilter { .. } => {}
                }
            }
            Some(Modal::Summary) => {}
            Some(other) => self.modal = Some(other),
            None if self.board.open => {
                if self.board.hand_back.is_some() {
                    self.hand_back_to_selected(out);
                } else {
                    self.action(Action::SupervisorShadow, out);
                }
            }
            None => {}
        }
    }
}

fn one_line(placeholder: &str) -> TextArea<'static> {
    let mut textarea = TextArea::default();
    textarea.set_placeholder_text(placeholder);
    textarea.set_cursor_line_style(ratatui::style::Style::default());
    textarea
}

/// Our key press as the text area's input.
pub fn to_textarea_input(key: KeyPress) -> Input {
    let k = match key.key {
        Key::Char(c) => TaKey::Char(c),
        Key::Enter => TaKey::Enter,
        Key::Esc => TaKey::Esc,
        Key::Tab => TaKey::Tab,
        Key::BackTab => TaKey::Tab,
        Key::Backspace => TaKey::Backspace,
        Key::Delete => TaKey::Delete,
        Key::Insert => TaKey::Null,
        Key::Up => TaKey::Up,
        Key::Down => TaKey::Down,
        Key::Left => TaKey::Left,
        Key::Right => TaKey::Right,
        Key::Home => TaKey::Home,
        Key::End => TaKey::End,
        Key::PageUp => TaKey::PageUp,
        Key::PageDown => TaKey::PageDown,
        Key::F(n) => TaKey::F(n),
    };
    Input {
        key: k,
        ctrl: key.ctrl,
        alt: key.alt,
        shift: key.shift,
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use shiftdesk_protocol::CustomerContext;
    use shiftdesk_protocol::DraftProposal;
    use shiftdesk_protocol::Lang;

    pub const T0: Millis = 1_700_000_000_000;

    pub fn worker(role: Role) -> WorkerInfo {
        WorkerInfo {
            id: "ana".into(),
            name: "Ana".into(),
            role,
            languages: vec![Lang::En, Lang::It],
            skills: vec![],
            capacity: 2,
        }
    }

    pub fn limits() -> Limits {
        Limits {
            max_frame_bytes: 65536,
            max_text_chars: 4000,
            max_id_bytes: 64,
            resume_window: 2048,
            offer_timeout_ms: 30_000,
            grace_ms: 60_000,
        }
    }

    pub fn welcome(resumed: bool, status: WorkerStatus, server_time: Millis) -> WorkerEvent {
        WorkerEvent::Welcome {
            protocol: PROTOCOL_VERSION,
            stream: "e1-ana".into(),
            resumed,
            worker: worker(Role::Worker),
            status,
            stats: WorkerStats::default(),
            limits: limits(),
            server_time,
        }
    }

    pub fn offer(conversation: &str, deadline: Millis) -> WorkerEvent {
        WorkerEvent::Offer {
            conversation: conversation.into(),
            language: Lang::It,
            intent: "refund_status".into(),
            why: "asked for a person".into(),
            customer: "Maria Rossi".into(),
            preview: "Ho pagato due volte, carta 4111 1111 1111 1234".into(),
            waited_ms: 42_000,
            deadline,
            timeout_ms: 30_000,
            because: "idle longest (4m) of 2 eligible: speaks it, 0/2 open".into(),
            language_fallback: false,
        }
    }

    pub fn draft(id: &str, for_message: u32) -> Draft {
        Draft {
            id: id.into(),
            for_message,
            proposal: DraftProposal {
                text: "Ciao Maria, il rimborso arriva in 3-5 giorni lavorativi.".into(),
                confidence: 0.82,
                intent: "refund_status".into(),
                language: Lang::It,
                sources: vec!["refunds-1".into()],
                drafter: "kb".into(),
                model: None,
                latency_ms: None,
            },
        }
    }

    pub fn message(n: u32, from: Author, text: &str, by: Option<&str>) -> Message {
        Message {
            n,
            from,
            text: text.into(),
            at: T0,
            by: by.map(str::to_string),
        }
    }

    pub fn conversation(id: &str, name: &str, with_draft: bool) -> ConversationView {
        ConversationView {
            id: id.into(),
            state: ConversationState::Assigned,
            customer: CustomerContext {
                name: name.into(),
                language: Some(Lang::It),
                facts: vec![
                    ("plan".into(), "Premium".into()),
                    ("card".into(), "4111 1111 1111 4242".into()),
                ],
            },
            language: Lang::It,
            intent: "refund_status".into(),
            why: "asked for a person".into(),
            messages: vec![
                message(
                    1,
                    Author::Customer,
                    "Ciao, ho pagato due volte il mio ordine.",
                    None,
                ),
                message(2, Author::Bot, "Ti passo a una persona.", None),
                message(3, Author::System, "Ana joined the conversation.", None),
            ],
            draft: with_draft.then(|| draft("d1", 1)),
            owner: Some("ana".into()),
            shadowed_by: vec![],
            opened_at: T0,
            language_fallback: false,
        }
    }

    /// A logged-in, available worker at T0.
    pub fn app() -> App {
        let mut app = App::new(Keymap::default_keymap(), AppOptions::default(), "t", T0);
        app.update(Msg::Conn(ConnState::Connected));
        app.update(Msg::Hub(welcome(false, WorkerStatus::Available, T0)));
        app
    }

    pub fn key(app: &mut App, text: &str) -> Vec<Command> {
        let mut out = Vec::new();
        for k in crate::keymap::KeySeq::parse(text).unwrap().0 {
            out.extend(app.update(Msg::Key(k)));
        }
        out
    }

    pub fn type_text(app: &mut App, text: &str) -> Vec<Command> {
        let mut out = Vec::new();
        for c in text.chars() {
            out.extend(app.update(Msg::Key(KeyPress::char(c))));
        }
        out
    }

    pub fn sent(commands: &[Command]) -> Vec<&WorkerFrame> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::Send(frame) => Some(frame),
                _ => None,
            })
            .collect()
    }

    fn only_sent(commands: &[Command]) -> &WorkerFrame {
        let frames = sent(commands);
        assert_eq!(frames.len(), 1, "expected one frame, got {commands:?}");
        frames[0]
    }

    #[test]
    fn offer_arrives_then_accept_sends_and_ack_confirms() {
        let mut app = app();
        let out = app.update(Msg::Hub(offer("c-1", T0 + 30_000)));
        assert!(out.contains(&Command::Notify(Notification {
            bell: true,
            desktop: None
        })));
        assert!(app.offer.is_some());
        assert!(app.contexts().0.contains(&Context::Offer));

        let out = key(&mut app, "a");
        let frame = only_sent(&out).clone();
        assert_eq!(
            frame.command,
            WorkerCommand::AcceptOffer {
                conversation: "c-1".into()
            }
        );
        assert_eq!(frame.id, "t-1");
        assert_eq!(app.outbox.len(), 1, "pending until the hub answers");
        assert_eq!(
            app.offer.as_ref().map(|o| o.answer.clone()),
            Some(OfferAnswer::Accepting)
        );
        // A second press does not send twice.
        assert!(sent(&key(&mut app, "a")).is_empty());

        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-1", "Maria Rossi", true),
        }));
        app.update(Msg::Hub(WorkerEvent::Ack {
            id: frame.id.clone(),
            duplicate: false,
        }));
        assert!(app.outbox.is_empty());
        assert!(app.offer.is_none());
        assert_eq!(app.selected_conversation().map(|c| c.id()), Some("c-1"));
        assert_eq!(app.open_count(), 1);
    }

    #[test]
    fn an_expired_offer_is_said_plainly() {
        let mut app = app();
        app.update(Msg::Hub(offer("c-1", T0 + 30_000)));
        let out = key(&mut app, "a");
        let id = only_sent(&out).id.clone();
        app.update(Msg::Hub(WorkerEvent::Error {
            id: Some(id),
            code: ErrorCode::Conflict,
            message: "the offer for `c-1` is no longer open to you".into(),
        }));
        assert!(app.offer.is_none());
        assert!(app.outbox.is_empty());
        let notice = app.notice.clone().unwrap();
        assert_eq!(notice.level, Level::Error);
        assert!(notice.text.contains("Offer expired"), "{}", notice.text);
    }

    #[test]
    fn decline_asks_for_an_optional_reason() {
        let mut app = app();
        app.update(Msg::Hub(offer("c-1", T0 + 30_000)));
        assert!(
            sent(&key(&mut app, "d")).is_empty(),
            "nothing sent before the prompt"
        );
        assert!(matches!(app.modal, Some(Modal::Prompt(_))));
        // Letters type into the prompt, even those bound elsewhere (a = accept, q = quit).
        assert!(type_text(&mut app, "aq busy").is_empty());
        let out = key(&mut app, "enter");
        assert_eq!(
            only_sent(&out).command,
            WorkerCommand::DeclineOffer {
                conversation: "c-1".into(),
                reason: Some("aq busy".into())
            }
        );
        assert!(app.modal.is_none());
        app.update(Msg::Hub(WorkerEvent::OfferWithdrawn {
            conversation: "c-1".into(),
            reason: "declined".into(),
        }));
        assert!(app.offer.is_none());
        assert!(app.notice.as_ref().unwrap().text.contains("No penalty"));

        // Esc in the prompt keeps the offer; an empty reason is sent as none.
        app.update(Msg::Hub(offer("c-2", T0 + 30_000)));
        key(&mut app, "d");
        key(&mut app, "esc");
        assert!(app.modal.is_none());
        assert!(app.offer.is_some());
        key(&mut app, "d");
        let out = key(&mut app, "enter");
        assert_eq!(
            only_sent(&out).command,
            WorkerCommand::DeclineOffer {
                conversation: "c-2".into(),
                reason: None
            }
        );
    }

    #[test]
    fn countdown_follows_the_hub_clock_and_drops_a_stale_offer() {
        let mut app = App::new(Keymap::default_keymap(), AppOptions::default(), "t", T0);
        app.update(Msg::Conn(ConnState::Connected));
        // The hub's clock is 5 s ahead of ours.
        app.update(Msg::Hub(welcome(
            false,
            WorkerStatus::Available,
            T0 + 5_000,
        )));
        app.update(Msg::Hub(offer("c-1", T0 + 5_000 + 30_000)));
        let o = app.offer.clone().unwrap();
        assert_eq!(o.remaining_ms(app.now), 30_000);
        assert!((o.ratio(app.now) - 1.0).abs() < 1e-9);
        app.update(Msg::Tick(T0 + 12_000));
        let o = app.offer.clone().unwrap();
        assert_eq!(o.remaining_ms(app.now), 18_000);
        assert!((o.ratio(app.now) - 0.6).abs() < 1e-9);
        app.update(Msg::Tick(T0 + 30_000));
        assert_eq!(app.offer.as_ref().unwrap().remaining_ms(app.now), 0);
        // The hub's withdrawal may be lost with a connection: drop it a little later.
        app.update(Msg::Tick(T0 + 36_000));
        assert!(app.offer.is_none());
    }

    #[test]
    fn draft_accept_is_pending_then_sent() {
        let mut app = app();
        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-1", "Maria", true),
        }));
        assert!(app.contexts().0.contains(&Context::Draft));
        let out = key(&mut app, "enter");
        let frame = only_sent(&out).clone();
        assert_eq!(
            frame.command,
            WorkerCommand::Draft {
                conversation: "c-1".into(),
                draft: "d1".into(),
                action: DraftAction::Accept
            }
        );
        let status = |app: &App| {
            app.selected_conversation()
                .unwrap()
                .draft
                .clone()
                .unwrap()
                .status
        };
        assert_eq!(
            status(&app),
            DraftStatus::Pending {
                id: frame.id.clone(),
                doing: DraftDoing::Accept
            }
        );
        // Pressing again while pending sends nothing.
        assert!(sent(&key(&mut app, "enter")).is_empty());
        app.update(Msg::Hub(WorkerEvent::DraftDone {
            conversation: "c-1".into(),
            draft: "d1".into(),
            outcome: DraftOutcome::Accepted,
            reason: None,
        }));
        app.update(Msg::Hub(WorkerEvent::Ack {
            id: frame.id,
            duplicate: false,
        }));
        assert_eq!(
            status(&app),
            DraftStatus::Sent {
                doing: DraftDoing::Accept
            }
        );
        assert!(!app.contexts().0.contains(&Context::Draft));
        // The next draft is proposed again.
        app.update(Msg::Hub(WorkerEvent::Draft {
            conversation: "c-1".into(),
            draft: draft("d2", 5),
        }));
        assert_eq!(status(&app), DraftStatus::Proposed);
    }

    #[test]
    fn draft_edit_opens_the_editor_and_sends_the_edited_text() {
        let mut app = app();
        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-1", "Maria", true),
        }));
        assert!(sent(&key(&mut app, "e")).is_empty());
        let Some(Modal::Editor(editor)) = &app.modal else {
            panic!("editor not open");
        };
        assert_eq!(editor.text(), draft("d1", 1).proposal.text);
        type_text(&mut app, " Grazie!");
        let out = key(&mut app, "ctrl-s");
        let expected = format!("{} Grazie!", draft("d1", 1).proposal.text);
        assert_eq!(
            only_sent(&out).command,
            WorkerCommand::Draft {
                conversation: "c-1".into(),
                draft: "d1".into(),
                action: DraftAction::Edit { text: expected }
            }
        );
        assert!(app.modal.is_none());
    }

    #[test]
    fn an_unchanged_edit_counts_as_accept() {
        let mut app = app();
        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-1", "Maria", true),
        }));
        key(&mut app, "e");
        let out = key(&mut app, "ctrl-s");
        assert!(matches!(
            only_sent(&out).command,
            WorkerCommand::Draft {
                action: DraftAction::Accept,
                ..
            }
        ));
    }

    #[test]
    fn draft_reject_picks_a_reason() {
        let mut app = app();
        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-1", "Maria", true),
        }));
        assert!(sent(&key(&mut app, "x")).is_empty());
        assert!(matches!(app.modal, Some(Modal::Picker(_))));
        key(&mut app, "down");
        key(&mut app, "j");
        let out = key(&mut app, "enter");
        assert_eq!(
            only_sent(&out).command,
            WorkerCommand::Draft {
                conversation: "c-1".into(),
                draft: "d1".into(),
                action: DraftAction::Reject {
                    reason: RejectReason::ALL[2]
                }
            }
        );
    }

    #[test]
    fn a_refused_draft_is_failed_and_can_be_retried_with_a_new_id() {
        let mut app = app();
        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-1", "Maria", true),
        }));
        let first = only_sent(&key(&mut app, "g")).id.clone();
        app.update(Msg::Hub(WorkerEvent::Error {
            id: Some(first.clone()),
            code: ErrorCode::Conflict,
            message: "no draft is waiting in `c-1`".into(),
        }));
        let d = app.selected_conversation().unwrap().draft.clone().unwrap();
        assert_eq!(
            d.status,
            DraftStatus::Failed {
                message: "no draft is waiting in `c-1`".into()
            }
        );
        let second = only_sent(&key(&mut app, "enter")).id.clone();
        assert_ne!(first, second);
    }

    #[test]
    fn printable_keys_type_in_the_editor_and_never_act() {
        let mut app = app();
        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-1", "Maria", false),
        }));
        app.update(Msg::Hub(offer("c-2", T0 + 30_000)));
        key(&mut app, "r");
        // q would quit, 0 go offline, a accept the offer, R resolve, ? help...
        let out = type_text(&mut app, "q0aR? Tutto ok");
        assert!(sent(&out).is_empty(), "{out:?}");
        assert!(app.quitting.is_none() && app.armed.is_none());
        let out = key(&mut app, "ctrl-s");
        assert_eq!(
            only_sent(&out).command,
            WorkerCommand::Reply {
                conversation: "c-1".into(),
                text: "q0aR? Tutto ok".into()
            }
        );
        // Shown as pending until the hub confirms.
        let pending = app.selected_conversation().unwrap().pending.clone();
        assert_eq!(pending.len(), 1);
        app.update(Msg::Hub(WorkerEvent::Ack {
            id: pending[0].id.clone(),
            duplicate: false,
        }));
        assert!(app.selected_conversation().unwrap().pending.is_empty());
    }

    #[test]
    fn cancel_asks_before_throwing_text_away() {
        let mut app = app();
        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-1", "Maria", false),
        }));
        key(&mut app, "n");
        type_text(&mut app, "check the ledger");
        key(&mut app, "esc");
        assert!(
            matches!(app.modal, Some(Modal::Editor(_))),
            "first esc keeps the text"
        );
        key(&mut app, "esc");
        assert!(app.modal.is_none());
        // An empty editor closes at once.
        key(&mut app, "r");
        key(&mut app, "esc");
        assert!(app.modal.is_none());
    }

    #[test]
    fn unconfirmed_commands_are_resent_with_the_same_id_after_reconnect() {
        let mut app = app();
        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-1", "Maria", false),
        }));
        app.update(Msg::Conn(ConnState::Reconnecting {
            attempt: 1,
            at: T0 + 500,
        }));
        key(&mut app, "r");
        type_text(&mut app, "Sono qui");
        let out = key(&mut app, "ctrl-s");
        assert!(sent(&out).is_empty(), "not sent while disconnected");
        assert!(
            out.iter()
                .any(|c| matches!(c, Command::SaveOutbox(e) if e.len() == 1))
        );
        assert_eq!(app.outbox.len(), 1);
        let id = app.outbox.entries()[0].frame.id.clone();

        app.update(Msg::Conn(ConnState::Connected));
        let out = app.update(Msg::Hub(welcome(true, WorkerStatus::Available, T0)));
        let frame = only_sent(&out);
        assert_eq!(frame.id, id, "same id: the hub applies it once");
        assert!(matches!(frame.command, WorkerCommand::Reply { .. }));
        // Still pending until acked, also across a second reconnect.
        let out = app.update(Msg::Hub(welcome(true, WorkerStatus::Available, T0)));
        assert_eq!(only_sent(&out).id, id);
        app.update(Msg::Hub(WorkerEvent::Ack {
            id,
            duplicate: true,
        }));
        assert!(app.outbox.is_empty());
    }

    #[test]
    fn unavailable_is_retried_later() {
        let mut app = app();
        let out = key(&mut app, "2");
        let id = only_sent(&out).id.clone();
        app.update(Msg::Hub(WorkerEvent::Error {
            id: Some(id.clone()),
            code: ErrorCode::Unavailable,
            message: "retry".into(),
        }));
        assert_eq!(app.outbox.len(), 1);
        assert!(sent(&app.update(Msg::Tick(T0 + 500))).is_empty());
        let out = app.update(Msg::Tick(T0 + 1_000));
        assert_eq!(only_sent(&out).id, id);
    }

    #[test]
    fn a_fresh_login_drops_old_conversations() {
        let mut app = app();
        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-1", "Maria", true),
        }));
        app.update(Msg::Hub(offer("c-2", T0 + 30_000)));
        // Resumed: everything stays.
        app.update(Msg::Hub(welcome(true, WorkerStatus::Available, T0)));
        assert_eq!(app.conversations.len(), 1);
        assert!(app.offer.is_some());
        // Not resumed: a snapshot follows, so the old state goes.
        app.update(Msg::Hub(welcome(false, WorkerStatus::Available, T0)));
        assert!(app.conversations.is_empty());
        assert!(app.offer.is_none());
        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-3", "Jan", false),
        }));
        assert_eq!(app.selected_conversation().map(|c| c.id()), Some("c-3"));
    }

    #[test]
    fn unread_counts_customer_lines_in_other_conversations() {
        let mut app = app();
        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-1", "Maria", false),
        }));
        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-2", "Jan", false),
        }));
        assert_eq!(app.selected_conversation().map(|c| c.id()), Some("c-1"));
        let line = |n| WorkerEvent::Message {
            conversation: "c-2".into(),
            message: message(n, Author::Customer, "hallo?", None),
        };
        app.update(Msg::Hub(line(4)));
        app.update(Msg::Hub(line(5)));
        app.update(Msg::Hub(line(5)));
        assert_eq!(
            app.conversations[1].unread, 3,
            "1 from before + 2 new, duplicate ignored"
        );
        key(&mut app, "tab");
        assert_eq!(
            app.selected_conversation().map(|c| (c.id(), c.unread)),
            Some(("c-2", 0))
        );
        key(&mut app, "shift-tab");
        assert_eq!(app.selected_conversation().map(|c| c.id()), Some("c-1"));
    }

    #[test]
    fn resolve_and_transfer() {
        let mut app = app();
        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-1", "Maria", false),
        }));
        let out = key(&mut app, "R");
        assert_eq!(
            only_sent(&out).command,
            WorkerCommand::Resolve {
                conversation: "c-1".into()
            }
        );
        app.update(Msg::Hub(WorkerEvent::Closed {
            conversation: "c-1".into(),
            reason: "resolved".into(),
        }));
        assert_eq!(app.conversations[0].closed.as_deref(), Some("resolved"));
        assert_eq!(app.open_count(), 0);
        assert!(
            sent(&key(&mut app, "R")).is_empty(),
            "nothing to resolve any more"
        );

        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-2", "Jan", false),
        }));
        key(&mut app, "tab");
        assert_eq!(
            app.conversations.len(),
            1,
            "the closed one went when we moved on"
        );
        key(&mut app, "T");
        type_text(&mut app, "needs German");
        let out = key(&mut app, "enter");
        assert_eq!(
            only_sent(&out).command,
            WorkerCommand::Transfer {
                conversation: "c-2".into(),
                reason: Some("needs German".into())
            }
        );
    }

    #[test]
    fn shift_keys_set_status_and_offline_with_open_chats_asks_first() {
        let mut app = app();
        assert_eq!(
            only_sent(&key(&mut app, "2")).command,
            WorkerCommand::SetStatus {
                status: WorkerStatus::Break
            }
        );
        assert_eq!(
            only_sent(&key(&mut app, "3")).command,
            WorkerCommand::SetStatus {
                status: WorkerStatus::Draining
            }
        );
        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-1", "Maria", false),
        }));
        assert!(sent(&key(&mut app, "0")).is_empty(), "asks first");
        assert!(
            app.notice
                .as_ref()
                .unwrap()
                .text
                .contains("back to the queue")
        );
        assert_eq!(
            only_sent(&key(&mut app, "0")).command,
            WorkerCommand::SetStatus {
                status: WorkerStatus::Offline
            }
        );
    }

    #[test]
    fn going_offline_shows_the_summary_with_figures_from_the_hub() {
        let mut app = app();
        let stats = WorkerStats {
            offers_accepted: 3,
            offers_declined: 1,
            offers_missed: 0,
            handled: 2,
            handle_ms_total: 600_000,
            drafts_accepted: 4,
            drafts_edited: 2,
            drafts_rejected: 1,
            drafts_regenerated: 0,
        };
        app.update(Msg::Tick(T0 + 3_600_000));
        app.update(Msg::Hub(WorkerEvent::Status {
            status: WorkerStatus::Offline,
            since: T0 + 3_600_000,
            stats: stats.clone(),
        }));
        assert!(matches!(app.modal, Some(Modal::Summary)));
        let summary = app.summary();
        assert_eq!(summary.stats, stats);
        assert_eq!(summary.on_shift_ms, 3_600_000);
        assert_eq!(summary.average_handle_ms(), Some(300_000));
        assert_eq!(summary.acceptance_percent(), Some(75));
        let text = summary.to_string();
        assert!(text.contains("Average handle time"), "{text}");
        assert!(text.contains("5m00s"), "{text}");
        assert!(text.contains("4 accepted, 2 edited, 1 rejected"), "{text}");
        // Time stops when the shift ends.
        app.update(Msg::Tick(T0 + 7_200_000));
        assert_eq!(app.summary().on_shift_ms, 3_600_000);
    }

    #[test]
    fn quitting_on_shift_asks_then_goes_offline_and_waits_for_the_ack() {
        let mut app = app();
        let out = key(&mut app, "q");
        assert!(out.is_empty());
        assert!(matches!(app.modal, Some(Modal::Summary)));
        let out = key(&mut app, "q");
        assert!(!out.contains(&Command::Exit), "waits for the hub first");
        assert_eq!(
            only_sent(&out).command,
            WorkerCommand::SetStatus {
                status: WorkerStatus::Offline
            }
        );
        let id = only_sent(&out).id.clone();
        app.update(Msg::Hub(WorkerEvent::Ack {
            id,
            duplicate: false,
        }));
        let out = app.update(Msg::Tick(T0 + 100));
        assert!(out.contains(&Command::Exit));
    }

    #[test]
    fn quitting_when_offline_and_idle_is_immediate_and_a_stuck_outbox_times_out() {
        let mut app = App::new(Keymap::default_keymap(), AppOptions::default(), "t", T0);
        app.update(Msg::Conn(ConnState::Connected));
        app.update(Msg::Hub(welcome(false, WorkerStatus::Offline, T0)));
        assert!(key(&mut app, "q").contains(&Command::Exit));

        let mut app = app_available_with_silent_hub();
        key(&mut app, "q");
        key(&mut app, "q");
        assert!(!app.update(Msg::Tick(T0 + 1_000)).contains(&Command::Exit));
        assert!(
            app.update(Msg::Tick(T0 + QUIT_WAIT_MS))
                .contains(&Command::Exit)
        );
    }

    fn app_available_with_silent_hub() -> App {
        app()
    }

    #[test]
    fn desktop_notifications_leave_out_customer_text_unless_asked() {
        let mut app = App::new(
            Keymap::default_keymap(),
            AppOptions {
                bell: false,
                notify: true,
                notify_text: false,
            },
            "t",
            T0,
        );
        let out = app.update(Msg::Hub(offer("c-1", T0 + 30_000)));
        let Some(Command::Notify(n)) = out.first() else {
            panic!("{out:?}")
        };
        assert!(!n.bell);
        let (_, body) = n.desktop.clone().unwrap();
        assert!(
            !body.contains("Maria") && !body.contains("pagato"),
            "{body}"
        );

        app.options.notify_text = true;
        let out = app.update(Msg::Hub(offer("c-2", T0 + 30_000)));
        let Some(Command::Notify(n)) = out.first() else {
            panic!("{out:?}")
        };
        let (_, body) = n.desktop.clone().unwrap();
        assert!(body.contains("pagato"), "{body}");
        assert!(
            body.contains("1234") && !body.contains("4111"),
            "card masked: {body}"
        );
    }

    #[test]
    fn key_sequences_and_help() {
        let mut app = App::new(
            Keymap::builtin("vim").unwrap().unwrap(),
            AppOptions::default(),
            "t",
            T0,
        );
        app.update(Msg::Conn(ConnState::Connected));
        app.update(Msg::Hub(welcome(false, WorkerStatus::Available, T0)));
        app.update(Msg::Hub(WorkerEvent::Conversation {
            conversation: conversation("c-1", "Maria", true),
        }));
        assert!(key(&mut app, "g").is_empty());
        assert_eq!(app.pending_keys.len(), 1);
        let out = key(&mut app, "r");
        assert!(matches!(
            only_sent(&out).command,
            WorkerCommand::Draft {
                action: DraftAction::Regenerate,
                ..
            }
        ));
        assert!(app.pending_keys.is_empty());
        key(&mut app, "?");
        assert!(app.help.is_some());
        key(&mut app, "esc");
        assert!(app.help.is_none());
        // Help opens over the editor and closing it gives the text back.
        key(&mut app, "i");
        type_text(&mut app, "ciao");
        key(&mut app, "f1");
        assert!(app.help.is_some());
        assert_eq!(app.contexts().0, [Context::Help, Context::Global]);
        key(&mut app, "esc");
        let Some(Modal::Editor(editor)) = &app.modal else {
            panic!("editor closed")
        };
        assert_eq!(editor.text(), "ciao");
    }

    /// A supervisor (Sam) logged in; returns the app and what login sent.
    pub fn supervisor() -> (App, Vec<Command>) {
        let mut app = App::new(Keymap::default_keymap(), AppOptions::default(), "t", T0);
        app.update(Msg::Conn(ConnState::Connected));
        let mut w = welcome(false, WorkerStatus::Offline, T0);
        if let WorkerEvent::Welcome { worker, .. } = &mut w {
            worker.role = Role::Supervisor;
            worker.id = "sam".into();
            worker.name = "Sam".into();
        }
        let out = app.update(Msg::Hub(w));
        (app, out)
    }

    pub fn board_worker(
        id: &str,
        name: &str,
        status: WorkerStatus,
        open: u32,
        since: Millis,
    ) -> shiftdesk_protocol::WallboardWorker {
        shiftdesk_protocol::WallboardWorker {
            role: shiftdesk_protocol::Role::Worker,
            id: id.into(),
            name: name.into(),
            status,
            connected: status != WorkerStatus::Offline,
            since,
            open,
            capacity: 2,
            stats: WorkerStats::default(),
        }
    }

    pub fn live(id: &str, owner: Option<&str>) -> shiftdesk_protocol::LiveConversation {
        shiftdesk_protocol::LiveConversation {
            id: id.into(),
            state: if owner.is_some() {
                ConversationState::Assigned
            } else {
                ConversationState::Queued
            },
            language: Lang::It,
            owner: owner.map(str::to_string),
            intent: "refund_status".into(),
            waiting_ms: 30_000,
        }
    }

    fn small_board() -> WorkerEvent {
        WorkerEvent::Wallboard {
            wallboard: shiftdesk_protocol::Wallboard {
                at: T0,
                workers: vec![
                    board_worker("ana", "Ana", WorkerStatus::Available, 2, T0),
                    board_worker("jan", "Jan", WorkerStatus::Break, 0, T0 - 60_000),
                    board_worker("li", "Li", WorkerStatus::Available, 1, T0),
                    board_worker("sam", "Sam", WorkerStatus::Offline, 0, T0),
                ],
                queues: vec![],
                live: vec![
                    live("c-1", Some("Ana")),
                    live("c-2", Some("Ana")),
                    live("c-3", Some("Li")),
                    live("c-4", None),
                ],
            },
        }
    }

    fn shadowed(id: &str, owner: &str, with_draft: bool) -> WorkerEvent {
        let mut view = conversation(id, "Maria", with_draft);
        view.owner = Some(owner.into());
        view.shadowed_by = vec!["Sam".into()];
        WorkerEvent::Conversation { conversation: view }
    }

    #[test]
    fn a_supervisor_subscribes_to_the_wallboard_at_login_and_a_worker_never_does() {
        let (mut sup, out) = supervisor();
        assert!(
            sent(&out)
                .iter()
                .any(|f| f.command == WorkerCommand::Wallboard)
        );
        assert!(sent(&key(&mut sup, "W")).is_empty(), "already subscribed");
        assert!(sup.wallboard_open());
        assert_eq!(sup.contexts().0, [Context::Wallboard, Context::Global]);
        key(&mut sup, "esc");
        assert!(!sup.wallboard_open());

        let mut worker = app();
        let out = key(&mut worker, "W");
        assert!(sent(&out).is_empty());
        assert!(!worker.wallboard_open());
        for k in ["s", "w", "O", "H"] {
            assert!(sent(&key(&mut worker, k)).is_empty(), "{k}");
        }
    }

    #[test]
    fn a_shadowing_supervisor_is_read_only_but_can_whisper() {
        let (mut app, _) = supervisor();
        key(&mut app, "W");
        app.update(Msg::Hub(small_board()));
        key(&mut app, "tab");
        assert_eq!(app.board.focus, BoardFocus::Live);
        assert_eq!(
            app.board.selected_live().map(|c| c.id.as_str()),
            Some("c-4"),
            "waiting first"
        );
        key(&mut app, "down");
        assert_eq!(
            app.board.selected_live().map(|c| c.id.as_str()),
            Some("c-1")
        );
        let out = key(&mut app, "s");
        assert_eq!(
            only_sent(&out).command,
            WorkerCommand::Shadow {
                conversation: "c-1".into()
            }
        );
        assert!(!app.wallboard_open());
        app.update(Msg::Hub(shadowed("c-1", "ana", true)));
        assert_eq!(app.selected_conversation().map(|c| c.id()), Some("c-1"));
        assert!(app.shadowing(app.selected_conversation().unwrap()));
        assert_eq!(
            app.owner_label(app.selected_conversation().unwrap())
                .as_deref(),
            Some("Ana"),
            "the name, from the wallboard"
        );
        assert!(sent(&key(&mut app, "r")).is_empty(), "read-only");
        assert!(
            sent(&key(&mut app, "enter")).is_empty(),
            "cannot send the worker's draft"
        );
        key(&mut app, "w");
        type_text(&mut app, "offer the refund");
        let out = key(&mut app, "ctrl-s");
        assert_eq!(
            only_sent(&out).command,
            WorkerCommand::Whisper {
                conversation: "c-1".into(),
                text: "offer the refund".into()
            }
        );
        // Stop shadowing.
        let out = key(&mut app, "s");
        assert_eq!(
            only_sent(&out).command,
            WorkerCommand::Unshadow {
                conversation: "c-1".into()
            }
        );
    }

    #[test]
    fn shadowing_a_worker_shadows_each_of_their_conversations() {
        let (mut app, _) = supervisor();
        app.update(Msg::Hub(small_board()));
        key(&mut app, "W");
        assert_eq!(
            app.board.selected_worker().map(|w| w.id.as_str()),
            Some("ana")
        );
        let out = key(&mut app, "enter");
        let asked: Vec<_> = sent(&out).iter().map(|f| f.command.clone()).collect();
        assert_eq!(
            asked,
            [
                WorkerCommand::Shadow {
                    conversation: "c-1".into()
                },
                WorkerCommand::Shadow {
                    conversation: "c-2".into()
                }
            ]
        );
        app.update(Msg::Hub(shadowed("c-1", "ana", false)));
        app.update(Msg::Hub(shadowed("c-2", "ana", false)));
        assert_eq!(app.selected_conversation().map(|c| c.id()), Some("c-1"));
        // Again: already shadowed, nothing to send, just shown.
        key(&mut app, "W");
        assert!(sent(&key(&mut app, "s")).is_empty());
        // Jan has nothing open.
        key(&mut app, "W");
        key(&mut app, "down");
        assert_eq!(
            app.board.selected_worker().map(|w| w.id.as_str()),
            Some("jan")
        );
        assert!(sent(&key(&mut app, "s")).is_empty());
        assert!(
            app.notice
                .as_ref()
                .unwrap()
                .text
                .contains("no open conversation")
        );
    }

    #[test]
    fn the_draft_log_keeps_what_the_worker_did_with_each_draft() {
        let (mut app, _) = supervisor();
        app.update(Msg::Hub(shadowed("c-1", "ana", true)));
        let d2 = Draft {
            id: "d2".into(),
            for_message: 4,
            ..draft("d2", 4)
        };
        app.update(Msg::Hub(WorkerEvent::DraftDone {
            conversation: "c-1".into(),
            draft: "d1".into(),
            outcome: DraftOutcome::Rejected,
            reason: Some(RejectReason::Tone),
        }));
        app.update(Msg::Hub(WorkerEvent::Draft {
            conversation: "c-1".into(),
            draft: d2,
        }));
        // A fresh snapshot (after a reconnect) keeps the log.
        app.update(Msg::Hub(shadowed("c-1", "ana", false)));
        let c = app.selected_conversation().unwrap();
        let log: Vec<_> = c
            .drafts
            .iter()
            .map(|d| (d.draft.id.as_str(), d.outcome))
            .collect();
        assert_eq!(
            log,
            [
                (
                    "d1",
                    Some((DraftOutcome::Rejected, Some(RejectReason::Tone)))
                ),
                ("d2", None)
            ]
        );
    }

    #[test]
    fn a_shadowed_conversation_follows_its_owner_from_the_wallboard() {
        let (mut app, _) = supervisor();
        let mut view = conversation("c-4", "Maria", false);
        view.owner = None;
        view.state = ConversationState::Queued;
        app.update(Msg::Hub(WorkerEvent::Conversation { conversation: view }));
        assert!(sent(&key(&mut app, "w")).is_empty());
        assert!(app.modal.is_none(), "nobody to whisper to yet");
        let mut board = small_board();
        if let WorkerEvent::Wallboard { wallboard } = &mut board {
            wallboard.live[3].owner = Some("Li".into());
            wallboard.live[3].state = ConversationState::Assigned;
        }
        app.update(Msg::Hub(board));
        let c = app.selected_conversation().unwrap();
        assert_eq!(c.view.owner.as_deref(), Some("li"));
        assert_eq!(app.owner_label(c).as_deref(), Some("Li"));
        key(&mut app, "w");
        assert!(matches!(app.modal, Some(Modal::Editor(_))));
        // Back in the queue (a transfer): nobody again.
        app.modal = None;
        app.update(Msg::Hub(small_board()));
        let c = app.selected_conversation().unwrap();
        assert_eq!((c.view.owner.as_deref(), app.owner_label(c)), (None, None));
    }

    #[test]
    fn sort_and_filter_from_the_keyboard() {
        let (mut app, _) = supervisor();
        app.update(Msg::Hub(small_board()));
        key(&mut app, "W");
        key(&mut app, "o");
        assert_eq!(app.board.sort, crate::board::WorkerSort::Status);
        key(&mut app, "/");
        type_text(&mut app, "status:br");
        assert_eq!(app.board.rows.len(), 1, "applied as it is typed");
        key(&mut app, "esc");
        assert_eq!(app.board.rows.len(), 4, "cancel puts the old filter back");
        key(&mut app, "/");
        type_text(&mut app, "a");
        key(&mut app, "enter");
        assert!(app.modal.is_none());
        assert_eq!(app.board.filter.text, "a");
        let ids: Vec<&str> = app
            .board
            .rows
            .iter()
            .map(|&i| app.board.data.as_ref().unwrap().workers[i].id.as_str())
            .collect();
        assert_eq!(ids, ["ana", "jan", "sam"]);
        // Editing the filter starts from the current one.
        key(&mut app, "/");
        key(&mut app, "backspace");
        key(&mut app, "enter");
        assert!(app.board.filter.is_empty());
        assert_eq!(app.board.rows.len(), 4);
        // The sort and filter survive closing and a new frame.
        key(&mut app, "esc");
        app.update(Msg::Hub(small_board()));
        assert_eq!(app.board.sort, crate::board::WorkerSort::Status);
    }

    #[test]
    fn take_over_asks_first_and_hand_back_picks_a_worker_on_the_wallboard() {
        let (mut app, _) = supervisor();
        app.update(Msg::Hub(small_board()));
        app.update(Msg::Hub(shadowed("c-1", "ana", false)));
        assert!(sent(&key(&mut app, "O")).is_empty(), "asks first");
        assert!(app.notice.as_ref().unwrap().text.contains("from Ana"));
        let out = key(&mut app, "O");
        assert_eq!(
            only_sent(&out).command,
            WorkerCommand::TakeOver {
                conversation: "c-1".into()
            }
        );
        let mut mine = conversation("c-1", "Maria", true);
        mine.owner = Some("sam".into());
        app.update(Msg::Hub(WorkerEvent::Conversation { conversation: mine }));
        let c = app.selected_conversation().unwrap();
        assert!(app.owns(c) && !app.shadowing(c));
        assert_eq!(
            app.contexts().0,
            [Context::Draft, Context::Conversation, Context::Global],
            "now a worker's view: drafts and replies are the supervisor's"
        );
        key(&mut app, "H");
        assert!(app.wallboard_open());
        let names: Vec<&str> = app
            .board
            .rows
            .iter()
            .map(|&i| app.board.data.as_ref().unwrap().workers[i].id.as_str())
            .collect();
        assert_eq!(names, ["jan", "li"], "connected, with room, not me");
        key(&mut app, "down");
        let out = key(&mut app, "enter");
        assert_eq!(
            only_sent(&out).command,
            WorkerCommand::HandBack {
                conversation: "c-1".into(),
                worker: "li".into()
            }
        );
        assert!(!app.wallboard_open());
        assert!(app.board.hand_back.is_none());
        assert_eq!(
            app.board.rows.len(),
            4,
            "the wallboard lists everyone again"
        );
    }
}
