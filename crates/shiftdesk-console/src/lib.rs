//! The worker's terminal console.
//!
//! - [`app`]: the pure core, `update(msg) -> Vec<Command>` (The Elm Architecture);
//! - [`board`]: the supervisor wallboard's state (sort, filter, selection), also pure;
//! - [`ui`]: `view(&App, &mut Frame)`, one file per panel, no state changes;
//! - [`keymap`]: keymaps as data; [`config`]: directories and remembered settings;
//! - this file: the driver loop, which owns the terminal and the app, `select!`s over terminal
//!   events, the hub session's events and a 250 ms tick, drains what is waiting, runs `update`,
//!   and draws at most every 16 ms and only when something changed.
//!
//! The connection (log in, resume, ping, backoff) is `shiftdesk_client`'s worker session, and
//! the outbox file is written by its [`OutboxWriter`] thread, never on this task.

pub mod app;
pub mod board;
pub mod config;
pub mod keymap;
pub mod ui;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use futures_util::StreamExt;
use ratatui::crossterm::event::{
    DisableBracketedPaste, EnableBracketedPaste, Event, EventStream, KeyCode, KeyEvent,
    KeyEventKind, KeyModifiers,
};

pub use app::{App, AppOptions, ShiftSummary};
use app::{Command, Msg, Notification};
use keymap::{Key, KeyPress, Keymap};

use shiftdesk_client::outbox_file::{self, OutboxWriter};
use shiftdesk_client::worker::{self, LoginHook, WorkerConfig, WorkerEvents, WorkerSession};
use shiftdesk_client::{Endpoint, SessionEvent};
pub use shiftdesk_client::{now_ms, random_prefix};

/// `shiftdesk console`: log in to a hub and work a shift.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ConsoleArgs {
    /// Hub URL (ws:// or wss://), or several separated by commas (hubs sharing a store: tried
    /// in turn); remembered in the config dir after a successful login.
    #[arg(long)]
    pub hub: Option<String>,
    /// Login token; remembered in the config dir in a file readable by the user only (0600).
    #[arg(long, env = "SHIFTDESK_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// PEM file of a private CA for wss://.
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
    /// Keymap: default, vim, emacs, or a path to a TOML file (layered over the default).
    #[arg(long)]
    pub keymap: Option<String>,
    /// Directory for logs (and the outbox); defaults to the platform data dir.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Also write OSC 9 / OSC 777 desktop notifications on offers (without customer text).
    #[arg(long)]
    pub notify: bool,
    /// Include the customer's (masked) words in desktop notifications; implies --notify.
    #[arg(long)]
    pub notify_text: bool,
    /// Do not ring the terminal bell on a new offer.
    #[arg(long)]
    pub no_bell: bool,
    /// Colours: default, high-contrast, or monochrome (also what NO_COLOR gives).
    #[arg(long, value_enum)]
    pub theme: Option<ui::theme::Theme>,
    /// Minutes on shift without a break before the console reminds you (0: never; default 90).
    #[arg(long, value_name = "MINUTES")]
    pub break_reminder: Option<u64>,
    /// Sit quietly while off shift and ring (bell, OSC 9 / OSC 777) when a queue you could
    /// serve is long.
    #[arg(long)]
    pub standby: bool,
    /// With --standby: how many waiting in one of your languages is "long" (default 3).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub demand_waiting: Option<u32>,
    /// With --standby: at most one notification per this many minutes (default 10).
    #[arg(long, value_name = "MINUTES", value_parser = clap::value_parser!(u64).range(1..=1440))]
    pub demand_every: Option<u64>,
}

/// Everything the console needs to run, checked before the terminal is touched.
#[derive(Debug, Clone)]
pub struct ResolvedOptions {
    /// The hub as given (`ws://host:port`, `wss://host`, `host:port`).
    pub hub: String,
    pub token: String,
    pub ca_cert: Option<PathBuf>,
    pub keymap: Keymap,
    /// Where `console.log` and `outbox.json` go; `None` keeps no outbox file.
    pub data_dir: Option<PathBuf>,
    /// Remember hub and token here after a successful login; `None` remembers nothing.
    pub remember_in: Option<PathBuf>,
    pub app: AppOptions,
}

impl ResolvedOptions {
    /// Options for a console embedded in another command (the demo): the default keymap, bell
    /// on, no files written.
    pub fn new(hub: impl Into<String>, token: impl Into<String>) -> ResolvedOptions {
        ResolvedOptions {
            hub: hub.into(),
            token: token.into(),
            ca_cert: None,
            keymap: Keymap::default_keymap(),
            data_dir: None,
            remember_in: None,
            app: AppOptions::default(),
        }
    }

    /// Resolve flags, environment, `console.toml`, `login.toml` and keymaps. Every problem is
    /// an error naming the flag or the file.
    pub fn from_args(args: ConsoleArgs) -> anyhow::Result<ResolvedOptions> {
        let dirs = config::Dirs::locate()?;
        ResolvedOptions::from_args_in(args, &dirs)
    }

    /// As [`ResolvedOptions::from_args`], with the directories given.
    pub fn from_args_in(args: ConsoleArgs, dirs: &config::Dirs) -> anyhow::Result<ResolvedOptions> {
        let settings = config::Settings::load(&dirs.config.join(config::SETTINGS_FILE))?;
        let login_path = dirs.config.join(config::LOGIN_FILE);
        let saved = config::Login::load(&login_path)?;

        let hub = match args.hub.as_deref().map(str::trim) {
            Some("") => anyhow::bail!("--hub is empty"),
            Some(hub) => hub.to_string(),
            None => saved.hub.clone().context(
                "no hub: pass --hub ws://HOST:PORT (it is remembered after the first successful login)",
            )?,
        };
        shiftdesk_client::session::hub_urls(&hub, "/ws/worker")
            .with_context(|| format!("--hub {hub}"))?;

        let token = match args.token.as_deref().map(str::trim) {
            Some("") => anyhow::bail!("--token (or SHIFTDESK_TOKEN) is empty"),
            Some(token) => token.to_string(),
            None if saved.hub.as_deref() == Some(hub.as_str()) => {
                saved.token.clone().with_context(|| {
                    format!(
                        "{}: has no token; pass --token or set SHIFTDESK_TOKEN",
                        login_path.display()
                    )
                })?
            }
            None => anyhow::bail!(
                "no token for {hub}: pass --token or set SHIFTDESK_TOKEN (it is remembered after the first successful login)"
            ),
        };
        if token.chars().any(char::is_whitespace) {
            anyhow::bail!("the token must not contain spaces");
        }

        if let Some(ca) = &args.ca_cert {
            shiftdesk_client::tls_config(Some(ca))
                .with_context(|| format!("--ca-cert {}", ca.display()))?;
        }

        let spec = args
            .keymap
            .clone()
            .or(settings.keymap.clone())
            .unwrap_or_else(|| "default".into());
        let mut keymap = Keymap::load(&spec).map_err(|e| anyhow::anyhow!("keymap: {e}"))?;
        let user_keymap = dirs.config.join(config::KEYMAP_FILE);
        if user_keymap.exists() {
            keymap
                .overlay_file(&user_keymap)
                .map_err(|e| anyhow::anyhow!("keymap: {e}"))?;
        }

        let notify_text = args.notify_text || settings.notify_text.unwrap_or(false);
        Ok(ResolvedOptions {
            hub,
            token,
            ca_cert: args.ca_cert,
            keymap,
            data_dir: Some(args.data_dir.unwrap_or_else(|| dirs.data.clone())),
            remember_in: Some(dirs.config.clone()),
            app: AppOptions {
                bell: !args.no_bell && settings.bell.unwrap_or(true),
                notify: args.notify || notify_text || settings.notify.unwrap_or(false),
                notify_text,
                theme: ui::theme::Theme::choose(
                    args.theme,
                    settings.theme,
                    ui::theme::Theme::no_color_env(),
                ),
                break_reminder_ms: args
                    .break_reminder
                    .or(settings.break_reminder)
                    .unwrap_or(app::BREAK_REMINDER_DEFAULT_MIN)
                    .saturating_mul(60_000),
                standby: args.standby.then(|| app::Standby {
                    waiting: args.demand_waiting.or(settings.demand_waiting).unwrap_or(3),
                    every_ms: args
                        .demand_every
                        .or(settings.demand_every)
                        .unwrap_or(10)
                        .saturating_mul(60_000),
                }),
            },
        })
    }
}

/// Run the console as `shiftdesk console`: its own runtime, tracing to a file in the data
/// directory, the terminal restored on exit and on panic, and the shift summary printed after.
pub fn main(args: ConsoleArgs) -> anyhow::Result<()> {
    let options = ResolvedOptions::from_args(args)?;
    let _log = init_tracing(options.data_dir.as_deref());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let summary = runtime.block_on(run_console(options));
    runtime.shutdown_timeout(Duration::from_secs(1));
    let summary = summary?;
    if !summary.worker.is_empty() {
        print!("{summary}");
    }
    std::io::stdout().flush()?;
    Ok(())
}

fn init_tracing(
    data_dir: Option<&std::path::Path>,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let dir = data_dir?;
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!(
            "shiftdesk: cannot create {}: {e}; logging is off",
            dir.display()
        );
        return None;
    }
    let appender = tracing_appender::rolling::never(dir, config::LOG_FILE);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("SHIFTDESK_LOG")
        .unwrap_or_else(|_| "shiftdesk=info".into());
    let result = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init();
    result.ok().map(|()| guard)
}

/// Run the console inside an existing runtime (the demo): takes over the terminal until the
/// worker quits, then restores it and returns the shift summary.
pub async fn run_console(options: ResolvedOptions) -> anyhow::Result<ShiftSummary> {
    let urls = shiftdesk_client::session::hub_urls(&options.hub, "/ws/worker")?;
    let tls = if urls.iter().any(|url| url.starts_with("wss://")) {
        Some(shiftdesk_client::tls_config(options.ca_cert.as_deref())?)
    } else {
        None
    };
    let mut app = App::new(
        options.keymap.clone(),
        options.app.clone(),
        random_prefix(),
        now_ms(),
    );
    let outbox_path = options
        .data_dir
        .as_ref()
        .map(|d| d.join(config::OUTBOX_FILE));
    let mut outbox = None;
    if let Some(path) = &outbox_path {
        match outbox_file::load(path, &options.hub) {
            Ok(entries) if !entries.is_empty() => {
                tracing::info!(count = entries.len(), "restoring unconfirmed commands");
                app.restore_outbox(entries);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "outbox file ignored"),
        }
        outbox = Some(OutboxWriter::start(path.clone(), options.hub.clone())?);
    }

    let (session, mut from_hub) = worker::spawn(WorkerConfig {
        endpoint: Endpoint {
            hub: options.hub.clone(),
            tls,
        },
        token: options.token.clone(),
        on_first_login: options
            .remember_in
            .clone()
            .map(|dir| remember_login(dir, options.hub.clone(), options.token.clone())),
        features: if options.app.standby.is_some() {
            vec![
                shiftdesk_protocol::FEATURE_DECISIONS.into(),
                shiftdesk_protocol::FEATURE_DEMAND.into(),
            ]
        } else {
            vec![shiftdesk_protocol::FEATURE_DECISIONS.into()]
        },
    });

    let mut terminal = ratatui::try_init().context("the console needs a terminal")?;
    let _ = ratatui::crossterm::execute!(std::io::stdout(), EnableBracketedPaste);
    let result = drive(
        &mut terminal,
        &mut app,
        &mut from_hub,
        &session,
        outbox.as_ref(),
    )
    .await;
    let _ = ratatui::crossterm::execute!(std::io::stdout(), DisableBracketedPaste);
    ratatui::restore();

    let _ = tokio::time::timeout(Duration::from_secs(2), session.stop()).await;
    if let Some(outbox) = outbox {
        // The last state of the outbox reaches the disk before the console exits.
        match tokio::task::spawn_blocking(move || outbox.finish()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %format!("{e:#}"), "could not save the outbox"),
            Err(e) => tracing::warn!(%e, "the outbox writer failed"),
        }
    }
    result?;
    if app.me.is_none()
        && let app::ConnState::Offline { reason } = &app.conn
    {
        // Never logged in, and the hub said why: that is the outcome, not a summary.
        anyhow::bail!("{reason}");
    }
    Ok(app.summary())
}

/// Remember hub and token in `dir` once the hub has accepted them. Errors are for the log: the
/// console runs on without it.
pub fn remember_login(dir: PathBuf, hub: String, token: String) -> LoginHook {
    std::sync::Arc::new(move || {
        if let Err(e) = config::remember_login(&dir, &hub, &token) {
            tracing::warn!(error = %format!("{e:#}"), "could not remember the login");
        }
    })
}

/// A session event as a message for the app (`None`: nothing for the app).
fn hub_msg(event: SessionEvent<shiftdesk_protocol::WorkerEvent>) -> Option<Msg> {
    match event {
        SessionEvent::Conn(state) => Some(Msg::Conn(state)),
        SessionEvent::Frame(event) => Some(Msg::Hub(event)),
        SessionEvent::Lost(why) => {
            tracing::info!(%why, "connection lost");
            None
        }
    }
}

const FRAME_MIN: Duration = Duration::from_millis(16);
const TICK: Duration = Duration::from_millis(250);

async fn drive(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    from_hub: &mut WorkerEvents,
    session: &WorkerSession,
    outbox: Option<&OutboxWriter>,
) -> anyhow::Result<()> {
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_draw: Option<tokio::time::Instant> = None;
    let mut exit = false;
    let apply = |app: &mut App, msg: Msg, exit: &mut bool| {
        for command in app.update(msg) {
            match command {
                Command::Send(frame) => {
                    session.send(frame);
                }
                Command::Notify(notification) => notify(&notification),
                Command::SaveOutbox(entries) => {
                    // Handed over, not written here: the writer thread coalesces and fsyncs.
                    if let Some(outbox) = outbox {
                        outbox.save(entries);
                    }
                }
                Command::Exit => *exit = true,
            }
        }
    };
    loop {
        let draw_at = match (app.is_dirty(), last_draw) {
            (false, _) => None,
            (true, None) => Some(tokio::time::Instant::now()),
            (true, Some(at)) => Some(at + FRAME_MIN),
        };
        let mut batch: Vec<Msg> = Vec::new();
        let mut keys: Vec<Msg> = Vec::new();
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => keys.extend(terminal_msg(event)),
                Some(Err(e)) => {
                    tracing::error!(%e, "terminal input failed");
                    return Err(e).context("reading the terminal");
                }
                None => return Ok(()),
            },
            event = from_hub.recv() => match event {
                Some(event) => batch.extend(hub_msg(event)),
                None => tracing::warn!("network task ended"),
            },
            _ = tick.tick() => {}
            _ = sleep_until_opt(draw_at) => {}
        }
        // What the hub said first, then the keys: a key acts on the newest state we know.
        while let Ok(event) = from_hub.try_recv() {
            batch.extend(hub_msg(event));
        }
        batch.append(&mut keys);
        apply(app, Msg::Tick(now_ms()), &mut exit);
        for msg in batch {
            apply(app, msg, &mut exit);
        }
        if exit {
            terminal.draw(|frame| ui::view(app, frame))?;
            return Ok(());
        }
        let due = last_draw.is_none_or(|at| at.elapsed() >= FRAME_MIN);
        if due && app.take_dirty() {
            terminal.draw(|frame| ui::view(app, frame))?;
            last_draw = Some(tokio::time::Instant::now());
        }
    }
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn terminal_msg(event: Event) -> Option<Msg> {
    match event {
        Event::Key(key) => key_press(key).map(Msg::Key),
        Event::Paste(text) => Some(Msg::Paste(text)),
        Event::Resize(..) => Some(Msg::Resize),
        Event::FocusGained => Some(Msg::Resize),
        _ => None,
    }
}

/// A crossterm key event as our own key press (releases are dropped).
pub fn key_press(event: KeyEvent) -> Option<KeyPress> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    let key = match event.code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Delete => Key::Delete,
        KeyCode::Insert => Key::Insert,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::F(n) => Key::F(n),
        _ => return None,
    };
    Some(
        KeyPress {
            key,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
            shift: event.modifiers.contains(KeyModifiers::SHIFT),
        }
        .normalized(),
    )
}

/// Ring the bell and write OSC 9 / OSC 777 notifications, with nothing that could end the
/// escape sequence early.
fn notify(notification: &Notification) {
    let text = notification_bytes(notification);
    let mut out = std::io::stdout();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

pub fn notification_bytes(notification: &Notification) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_control())
            .map(|c| if c == ';' { ',' } else { c })
            .take(200)
            .collect()
    };
    let mut text = String::new();
    if notification.bell {
        text.push('\x07');
    }
    if let Some((title, body)) = &notification.desktop {
        let (title, body) = (clean(title), clean(body));
        text.push_str(&format!("\x1b]9;{title}: {body}\x07"));
        text.push_str(&format!("\x1b]777;notify;{title};{body}\x07"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_hook_remembers_hub_and_token() {
        let dir = tempfile::tempdir().unwrap();
        let hook = remember_login(
            dir.path().to_path_buf(),
            "ws://127.0.0.1:9".into(),
            "secret".into(),
        );
        hook();
        let login = std::fs::read_to_string(dir.path().join(config::LOGIN_FILE)).unwrap();
        assert!(
            login.contains("ws://127.0.0.1:9") && login.contains("secret"),
            "{login}"
        );
    }
}
