//! Keymaps are data: one TOML table per context, keys written `"ctrl-c"`, `"shift-tab"`, `"g g"`,
//! values an action name or `{ action = "...", desc = "..." }`.
//!
//! The default keymap (`keymaps/default.toml`) is compiled in, as are `vim` and `emacs`. A
//! keymap file given by path is layered over the default one, key by key, and the user's
//! `keymap.toml` in the config directory is layered over whichever was chosen. Every mistake is
//! reported as `file:line: what is wrong` and the console refuses to start.
//!
//! This module knows nothing about terminals: [`KeyPress`] is our own value, built from a
//! crossterm event by the driver, so `update` and its tests never touch crossterm.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// A key without modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Char(char),
    Enter,
    Esc,
    Tab,
    /// Shift-Tab, as terminals report it.
    BackTab,
    Backspace,
    Delete,
    Insert,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    F(u8),
}

/// One key press: a key and its modifiers. For characters, shift is folded into the character
/// (`A`, `?`), so `shift-a` and `A` are the same key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyPress {
    pub key: Key,
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
}

impl KeyPress {
    pub const fn plain(key: Key) -> KeyPress {
        KeyPress {
            key,
            ctrl: false,
            alt: false,
            shift: false,
        }
    }

    pub const fn char(c: char) -> KeyPress {
        KeyPress::plain(Key::Char(c))
    }

    pub const fn ctrl(c: char) -> KeyPress {
        KeyPress {
            key: Key::Char(c),
            ctrl: true,
            alt: false,
            shift: false,
        }
    }

    /// The same key press in its one canonical form.
    pub fn normalized(self) -> KeyPress {
        let mut k = self;
        match k.key {
            Key::Char(c) => {
                if k.ctrl || k.alt {
                    // ctrl-A and ctrl-a are one key for terminals.
                    if k.ctrl {
                        k.key = Key::Char(c.to_ascii_lowercase());
                    }
                } else if k.shift && c.is_ascii_lowercase() {
                    k.key = Key::Char(c.to_ascii_uppercase());
                }
                k.shift = false;
            }
            Key::BackTab => k.shift = false,
            Key::Tab if k.shift => {
                k.key = Key::BackTab;
                k.shift = false;
            }
            _ => {}
        }
        k
    }

    /// A key that types a character when a text field has focus.
    pub fn is_printable(self) -> bool {
        matches!(self.key, Key::Char(_)) && !self.ctrl && !self.alt
    }

    /// Parse one key: `a`, `A`, `?`, `ctrl-c`, `alt-enter`, `shift-tab`, `f1`, `space`.
    pub fn parse(text: &str) -> Result<KeyPress, String> {
        if text.is_empty() {
            return Err("empty key".into());
        }
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = text;
        // Modifiers are `name-`; a lone `-` is the minus key.
        loop {
            let lower = rest.to_ascii_lowercase();
            let (consumed, flag) = if lower.starts_with("ctrl-") && rest.len() > 5 {
                (5, &mut ctrl)
            } else if lower.starts_with("alt-") && rest.len() > 4 {
                (4, &mut alt)
            } else if lower.starts_with("shift-") && rest.len() > 6 {
                (6, &mut shift)
            } else {
                break;
            };
            if *flag {
                return Err(format!("`{text}` repeats a modifier"));
            }
            *flag = true;
            rest = &rest[consumed..];
        }
        let mut chars = rest.chars();
        let key = match (chars.next(), chars.next()) {
            (Some(c), None) => {
                if c.is_control() {
                    return Err(format!(
                        "`{text}` is a control character; write e.g. `ctrl-a`"
                    ));
                }
                Key::Char(c)
            }
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => Key::Enter,
                "esc" | "escape" => Key::Esc,
                "tab" => Key::Tab,
                "backtab" => Key::BackTab,
                "backspace" | "bs" => Key::Backspace,
                "delete" | "del" => Key::Delete,
                "insert" | "ins" => Key::Insert,
                "up" => Key::Up,
                "down" => Key::Down,
                "left" => Key::Left,
                "right" => Key::Right,
                "home" => Key::Home,
                "end" => Key::End,
                "pageup" | "pgup" => Key::PageUp,
                "pagedown" | "pgdn" => Key::PageDown,
                "space" => Key::Char(' '),
                "minus" => Key::Char('-'),
                f if f.starts_with('f') && f.len() > 1 => match f[1..].parse::<u8>() {
                    Ok(n) if (1..=24).contains(&n) => Key::F(n),
                    _ => return Err(format!("unknown key `{rest}` in `{text}`")),
                },
                _ => return Err(format!("unknown key `{rest}` in `{text}`")),
            },
        };
        if shift && matches!(key, Key::Char(c) if !c.is_ascii_alphabetic()) && !ctrl && !alt {
            return Err(format!(
                "`{text}`: write the shifted character itself (e.g. `?`, not `shift-/`)"
            ));
        }
        Ok(KeyPress {
            key,
            ctrl,
            alt,
            shift,
        }
        .normalized())
    }
}

impl fmt::Display for KeyPress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        if self.shift {
            f.write_str("shift-")?;
        }
        match self.key {
            Key::Char(' ') => f.write_str("space"),
            Key::Char(c) => write!(f, "{c}"),
            Key::Enter => f.write_str("enter"),
            Key::Esc => f.write_str("esc"),
            Key::Tab => f.write_str("tab"),
            Key::BackTab => f.write_str("shift-tab"),
            Key::Backspace => f.write_str("backspace"),
            Key::Delete => f.write_str("delete"),
            Key::Insert => f.write_str("insert"),
            Key::Up => f.write_str("up"),
            Key::Down => f.write_str("down"),
            Key::Left => f.write_str("left"),
            Key::Right => f.write_str("right"),
            Key::Home => f.write_str("home"),
            Key::End => f.write_str("end"),
            Key::PageUp => f.write_str("pageup"),
            Key::PageDown => f.write_str("pagedown"),
            Key::F(n) => write!(f, "f{n}"),
        }
    }
}

/// A key or a sequence of keys (`"g g"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeySeq(pub Vec<KeyPress>);

impl KeySeq {
    pub fn parse(text: &str) -> Result<KeySeq, String> {
        let keys = text
            .split(' ')
            .filter(|part| !part.is_empty())
            .map(KeyPress::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err("empty key".into());
        }
        Ok(KeySeq(keys))
    }
}

impl fmt::Display for KeySeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, k) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{k}")?;
        }
        Ok(())
    }
}

macro_rules! actions {
    ($($variant:ident = $name:literal : $desc:literal,)*) => {
        /// Everything a key can do. The names are a contract: tests outside the crate read
        /// `keymaps/default.toml` to find keys by these names.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The name used in keymap files.
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// What it does, for the help overlay when the keymap gives no `desc`.
            pub fn describe(self) -> &'static str {
                match self {
                    $(Action::$variant => $desc,)*
                }
            }

            pub fn from_name(name: &str) -> Option<Action> {
                match name {
                    $($name => Some(Action::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

actions! {
    Quit = "quit": "go offline and quit (asks first)",
    Help = "help": "show or hide this help",
    Cancel = "cancel": "close / cancel",
    Summary = "summary": "show the shift summary",
    ShiftAvailable = "shift.available": "go available for offers",
    ShiftBreak = "shift.break": "take a break (no new offers)",
    ShiftDrain = "shift.drain": "finish my chats, then stop",
    ShiftOffline = "shift.offline": "go offline (open chats go back to the queue)",
    OfferAccept = "offer.accept": "accept the offer",
    OfferDecline = "offer.decline": "decline the offer (no penalty)",
    ConversationNext = "conversation.next": "next conversation",
    ConversationPrev = "conversation.prev": "previous conversation",
    ConversationResolve = "conversation.resolve": "resolve the conversation",
    ConversationTransfer = "conversation.transfer": "give it back to the queue",
    ScrollUp = "scroll.up": "scroll the transcript up",
    ScrollDown = "scroll.down": "scroll the transcript down",
    DraftAccept = "draft.accept": "send the draft as it is",
    DraftEdit = "draft.edit": "edit the draft, then send",
    DraftReject = "draft.reject": "reject the draft (pick a reason)",
    DraftRegenerate = "draft.regenerate": "ask for another draft",
    ReplyCompose = "reply.compose": "write a reply",
    ReplySend = "reply.send": "send",
    NoteCompose = "note.compose": "write a private note",
    PickerUp = "picker.up": "previous choice",
    PickerDown = "picker.down": "next choice",
    PickerSelect = "picker.select": "choose",
    SupervisorWallboard = "supervisor.wallboard": "wallboard of workers and queues",
    SupervisorShadow = "supervisor.shadow": "shadow the selected conversation",
    SupervisorWhisper = "supervisor.whisper": "whisper to the worker",
    SupervisorTakeover = "supervisor.takeover": "take the conversation over",
    SupervisorHandback = "supervisor.handback": "hand the conversation back",
    WallboardSort = "wallboard.sort": "sort the workers by the next column",
    WallboardFilter = "wallboard.filter": "filter the workers (name, or status:break)",
    WallboardFocus = "wallboard.focus": "switch between workers and live conversations",
    Explain = "explain": "why? the decisions behind this offer or conversation",
    AboutDispatch = "about.dispatch": "how dispatch decides, and what is monitored",
    EarningsToggle = "earnings.toggle": "show or hide the earnings estimate in the status bar",
    ShiftHistory = "shift.history": "your last 30 shifts: time, conversations, earnings",
    ScheduleOpen = "schedule.open": "planned shifts: the week of slots and the demand expected",
    SlotBook = "slot.book": "book the selected slot",
    SlotRelease = "slot.release": "release the selected slot",
}

/// Where keys are looked up. The app activates several at once, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Global,
    Offer,
    Conversation,
    Draft,
    /// A multi-line text editor has focus: printable keys type.
    Editor,
    /// A one-line text prompt (decline or transfer reason): printable keys type.
    Prompt,
    /// A list to choose from (reject reasons).
    Picker,
    Help,
    Summary,
    Wallboard,
    /// The week of slots of planned shifts.
    Schedule,
}

impl Context {
    pub const ALL: [Context; 11] = [
        Context::Global,
        Context::Offer,
        Context::Conversation,
        Context::Draft,
        Context::Editor,
        Context::Prompt,
        Context::Picker,
        Context::Help,
        Context::Summary,
        Context::Wallboard,
        Context::Schedule,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Offer => "offer",
            Context::Conversation => "conversation",
            Context::Draft => "draft",
            Context::Editor => "editor",
            Context::Prompt => "prompt",
            Context::Picker => "picker",
            Context::Help => "help",
            Context::Summary => "summary",
            Context::Wallboard => "wallboard",
            Context::Schedule => "schedule",
        }
    }

    pub fn from_name(name: &str) -> Option<Context> {
        Context::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Contexts where printable keys type text.
    pub fn is_text(self) -> bool {
        matches!(self, Context::Editor | Context::Prompt)
    }
}

/// What a key sequence is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub action: Action,
    /// From the keymap's `desc`, or the action's own description.
    pub desc: String,
    /// Position in its file, to list bindings in the order they were written.
    order: usize,
}

/// The result of looking up the keys typed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Action(Action),
    /// The keys so far start a longer sequence: wait for the next key.
    Prefix,
    None,
}

/// A loaded keymap: per context, key sequence -> binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    /// Where it came from, for the help overlay (`default`, `vim + ~/.config/.../keymap.toml`).
    pub source: String,
    tables: BTreeMap<Context, BTreeMap<KeySeq, Binding>>,
    /// Keys bound to `none` in this file: an overlay removes them from the keymap below it.
    removed: Vec<(Context, KeySeq)>,
}

/// A keymap error: `file:line: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymapError {
    pub file: String,
    /// 1-based; 0 when the problem is the whole file (it cannot be read).
    pub line: usize,
    pub message: String,
}

impl fmt::Display for KeymapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for KeymapError {}

pub const DEFAULT_TOML: &str = include_str!("../../../keymaps/default.toml");
pub const VIM_TOML: &str = include_str!("../../../keymaps/vim.toml");
pub const EMACS_TOML: &str = include_str!("../../../keymaps/emacs.toml");

impl Keymap {
    /// The compiled-in default keymap.
    pub fn default_keymap() -> Keymap {
        // The built-in files are checked by tests; should one ever fail to load, an empty
        // keymap would leave the user stuck, so fall back to nothing rather than panic: the
        // test suite is what guards this.
        Keymap::parse("default", DEFAULT_TOML).unwrap_or_else(|e| {
            tracing::error!(%e, "built-in keymap is broken");
            Keymap {
                source: "default".into(),
                tables: BTreeMap::new(),
                removed: Vec::new(),
            }
        })
    }

    /// A built-in keymap by name: `default`, `vim` or `emacs`.
    pub fn builtin(name: &str) -> Option<Result<Keymap, KeymapError>> {
        let (file, text) = match name {
            "default" => ("keymaps/default.toml", DEFAULT_TOML),
            "vim" => ("keymaps/vim.toml", VIM_TOML),
            "emacs" => ("keymaps/emacs.toml", EMACS_TOML),
            _ => return None,
        };
        Some(Keymap::parse(file, text).map(|mut k| {
            k.source = name.to_string();
            k
        }))
    }

    /// `default`, `vim`, `emacs`, or a path to a TOML file layered over the default keymap.
    pub fn load(spec: &str) -> Result<Keymap, KeymapError> {
        if let Some(builtin) = Keymap::builtin(spec) {
            return builtin;
        }
        let path = Path::new(spec);
        let mut keymap =
            Keymap::builtin("default").unwrap_or_else(|| Ok(Keymap::default_keymap()))?;
        keymap.overlay_file(path)?;
        keymap.source = path.display().to_string();
        Ok(keymap)
    }

    /// Layer the file at `path` over this keymap, key by key.
    pub fn overlay_file(&mut self, path: &Path) -> Result<(), KeymapError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| KeymapError {
            file: file.clone(),
            line: 0,
            message: format!("cannot read: {e}"),
        })?;
        let overlay = Keymap::parse(&file, &text)?;
        self.overlay(overlay);
        self.source = format!("{} + {file}", self.source);
        Ok(())
    }

    /// Layer `other` over this keymap: each of its keys replaces the same key here; a key bound
    /// to `none` in `other` was removed when it was parsed and is removed here too.
    pub fn overlay(&mut self, other: Keymap) {
        for (context, table) in other.tables {
            let mine = self.tables.entry(context).or_default();
            for (keys, binding) in table {
                // A new binding replaces any sequence it would shadow or be shadowed by.
                mine.retain(|existing, _| {
                    !is_prefix(existing, &keys) && !is_prefix(&keys, existing)
                });
                mine.insert(keys, binding);
            }
        }
        for (context, keys) in other.removed {
            if let Some(table) = self.tables.get_mut(&context) {
                table.remove(&keys);
            }
        }
    }

    /// Look up the keys typed so far in `contexts`, most specific first. The first context
    /// that knows the keys (as a binding or as the start of one) decides.
    pub fn lookup(&self, contexts: &[Context], keys: &[KeyPress]) -> Lookup {
        for context in contexts {
            let Some(table) = self.tables.get(context) else {
                continue;
            };
            let mut prefix = false;
            for (seq, binding) in table {
                if seq.0 == keys {
                    return Lookup::Action(binding.action);
                }
                if seq.0.len() > keys.len() && seq.0.starts_with(keys) {
                    prefix = true;
                }
            }
            if prefix {
                return Lookup::Prefix;
            }
        }
        Lookup::None
    }

    /// The bindings of one context, in the order they were written.
    pub fn bindings(&self, context: Context) -> Vec<(&KeySeq, &Binding)> {
        let mut list: Vec<(&KeySeq, &Binding)> = self
            .tables
            .get(&context)
            .map(|t| t.iter().collect())
            .unwrap_or_default();
        list.sort_by_key(|(keys, b)| (b.order, (*keys).clone()));
        list
    }

    /// The first key (in file order) bound to `action` in any of `contexts`, for hints.
    pub fn key_for(&self, contexts: &[Context], action: Action) -> Option<String> {
        // Asked for every hint on every frame: pick the first binding without sorting all.
        contexts.iter().find_map(|context| {
            self.tables
                .get(context)?
                .iter()
                .filter(|(_, b)| b.action == action)
                .min_by(|(ka, a), (kb, b)| (a.order, *ka).cmp(&(b.order, *kb)))
                .map(|(keys, _)| keys.to_string())
        })
    }

    /// Every (context, keys, action), for checks and tests.
    pub fn all(&self) -> impl Iterator<Item = (Context, &KeySeq, &Binding)> {
        self.tables
            .iter()
            .flat_map(|(c, t)| t.iter().map(move |(k, b)| (*c, k, b)))
    }

    /// Parse a keymap file's text. `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Keymap, KeymapError> {
        let err = |span_start: usize, message: String| KeymapError {
            file: file.to_string(),
            line: line_of(text, span_start),
            message,
        };
        let doc = toml::de::DeTable::parse(text).map_err(|e| {
            let start = e.span().map(|s| s.start).unwrap_or(0);
            err(start, e.message().trim().to_string())
        })?;
        let mut tables: BTreeMap<Context, BTreeMap<KeySeq, Binding>> = BTreeMap::new();
        let mut unbind: Vec<(Context, KeySeq)> = Vec::new();
        // Walk the file in the order it was written, so errors point at the later of two lines.
        let mut contexts: Vec<_> = doc.get_ref().iter().collect();
        contexts.sort_by_key(|(k, _)| k.span().start);
        for (context_name, value) in contexts {
            let context_start = context_name.span().start;
            let Some(context) = Context::from_name(context_name.get_ref()) else {
                return Err(err(
                    context_start,
                    format!(
                        "unknown context `[{}]`; known: {}",
                        context_name.get_ref(),
                        Context::ALL.map(|c| c.name()).join(", ")
                    ),
                ));
            };
            let toml::de::DeValue::Table(entries) = value.get_ref() else {
                return Err(err(
                    context_start,
                    format!(
                        "`{}` must be a table of key = action",
                        context_name.get_ref()
                    ),
                ));
            };
            let table = tables.entry(context).or_default();
            let mut entries: Vec<_> = entries.iter().collect();
            entries.sort_by_key(|(k, _)| k.span().start);
            for (key_text, value) in entries {
                let key_start = key_text.span().start;
                let keys = KeySeq::parse(key_text.get_ref()).map_err(|m| {
                    err(key_start, format!("bad key `{}`: {m}", key_text.get_ref()))
                })?;
                if context.is_text()
                    && let Some(first) = keys.0.first()
                    && first.is_printable()
                {
                    return Err(err(
                        key_start,
                        format!(
                            "`{}` types text in [{}]; bind ctrl-, alt-, function or special keys there",
                            key_text.get_ref(),
                            context.name()
                        ),
                    ));
                }
                let value_start = value.span().start;
                let (action_name, desc) = match value.get_ref() {
                    toml::de::DeValue::String(s) => (s.to_string(), None),
                    toml::de::DeValue::Table(t) => {
                        let mut action = None;
                        let mut desc = None;
                        for (k, v) in t.iter() {
                            match (k.get_ref().as_ref(), v.get_ref()) {
                                ("action", toml::de::DeValue::String(s)) => {
                                    action = Some(s.to_string())
                                }
                                ("desc", toml::de::DeValue::String(s)) => {
                                    desc = Some(s.to_string())
                                }
                                ("action" | "desc", _) => {
                                    return Err(err(
                                        v.span().start,
                                        format!("`{}` must be a string", k.get_ref()),
                                    ));
                                }
                                (other, _) => {
                                    return Err(err(
                                        k.span().start,
                                        format!(
                                            "unknown field `{other}`; expected `action` and optionally `desc`"
                                        ),
                                    ));
                                }
                            }
                        }
                        let Some(action) = action else {
                            return Err(err(value_start, "missing `action`".into()));
                        };
                        (action, desc)
                    }
                    _ => {
                        return Err(err(
                            value_start,
                            format!(
                                "the value for `{}` must be a string (an action name) or {{ action = \"...\", desc = \"...\" }}",
                                key_text.get_ref()
                            ),
                        ));
                    }
                };
                if action_name == "none" {
                    unbind.push((context, keys));
                    continue;
                }
                let Some(action) = Action::from_name(&action_name) else {
                    return Err(err(
                        value_start,
                        format!("unknown action `{action_name}`{}", suggestion(&action_name)),
                    ));
                };
                if let Some((existing, _)) = table.iter().find(|(existing, _)| {
                    **existing == keys || is_prefix(existing, &keys) || is_prefix(&keys, existing)
                }) {
                    let message = if *existing == keys {
                        format!(
                            "duplicate key `{keys}` in [{}] (written differently earlier as the same key)",
                            context.name()
                        )
                    } else {
                        format!(
                            "`{keys}` clashes with `{existing}` in [{}]: one starts the other",
                            context.name()
                        )
                    };
                    return Err(err(key_start, message));
                }
                table.insert(
                    keys,
                    Binding {
                        action,
                        desc: desc.unwrap_or_else(|| action.describe().to_string()),
                        order: key_start,
                    },
                );
            }
        }
        Ok(Keymap {
            source: file.to_string(),
            tables,
            removed: unbind,
        })
    }
}

fn is_prefix(short: &KeySeq, long: &KeySeq) -> bool {
    short.0.len() < long.0.len() && long.0.starts_with(&short.0)
}

fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn suggestion(name: &str) -> String {
    let best = Action::ALL
        .iter()
        .map(|a| (strsim::levenshtein(a.name(), name), a.name()))
        .min();
    match best {
        Some((d, n)) if d <= 3 => format!("; did you mean `{n}`?"),
        _ => "; see the list of actions in keymaps/default.toml".to_string(),
    }
}
