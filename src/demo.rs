//! `shiftdesk demo`: everything in one process on loopback. An embedded hub with its default
//! store and drafter, simulated customers in several languages, and the console logged in as a
//! demo worker. Nothing else to install or start.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;

use shiftdesk_client::sim::{self, Pace};
use shiftdesk_console::{ResolvedOptions, keymap::Keymap};
use shiftdesk_hub::dispatch::DispatchConfig;
use shiftdesk_hub::engine::now_ms;
use shiftdesk_hub::server::{self, HubConfig};
use shiftdesk_hub::store::{Accounts, SqliteStore, hash_token, new_token};
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{Role, WorkerInfo};

#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Keep the hub's data here (default: a temporary directory removed on exit).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Keymap: default, vim, emacs, or a path to a TOML file.
    #[arg(long)]
    pub keymap: Option<String>,
    /// Seconds the demo worker has to accept an offer.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(5..=600))]
    pub offer_timeout: u64,
    /// Seconds a queued conversation waits for a worker who speaks its language before it is
    /// offered to anyone, marked as a language fallback (0: at once).
    #[arg(long = "language-wait", value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86400))]
    pub language_wait: u64,
    /// Seconds between simulated customers arriving (after the first two), as MIN-MAX.
    /// Default: 20-40 for a worker, 6-15 for a supervisor (a busier floor).
    #[arg(long, value_parser = parse_range)]
    pub arrivals: Option<(u64, u64)>,
    /// No terminal bell on offers.
    #[arg(long)]
    pub no_bell: bool,
    /// Colours: default, high-contrast, or monochrome (also what NO_COLOR gives).
    #[arg(long, value_enum)]
    pub theme: Option<shiftdesk_console::ui::theme::Theme>,
    /// Length of a bookable slot of planned shifts, in minutes (try 1 or 2 to see a slot
    /// start and end while you watch).
    #[arg(long = "slot-minutes", value_name = "MINUTES", default_value_t = 30, value_parser = crate::parse_slot_minutes)]
    pub slot_minutes: u64,
    /// Start in standby: off shift, with a bell and a desktop notification when two or more
    /// customers wait (at most once a minute), as `console --standby` does.
    #[arg(long)]
    pub standby: bool,
    /// Minutes on shift without a break before the console reminds you (0: never).
    #[arg(long, value_name = "MINUTES", default_value_t = 90)]
    pub break_reminder: u64,
    /// Open the console as a worker (you take the conversations) or as a supervisor (simulated
    /// workers take them; you watch the wallboard, shadow, whisper and take over).
    #[arg(long, value_enum, default_value = "worker")]
    pub role: DemoRole,
    #[command(flatten)]
    pub drafter: shiftdesk_hub::drafting::DrafterArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoRole {
    Worker,
    Supervisor,
}

/// The simulated team of the supervisor demo: name, languages.
const TEAM: &[(&str, &str, &[Lang])] = &[
    ("marta", "Marta Ricci", &[Lang::It, Lang::En]),
    ("lukas", "Lukas Braun", &[Lang::De, Lang::En]),
    ("sanne", "Sanne Bakker", &[Lang::Nl, Lang::En, Lang::De]),
    ("ingrid", "Ingrid Holm", &[Lang::Sv, Lang::En]),
    ("dmitri", "Dmitri Orlov", &[Lang::Ru, Lang::En]),
    ("priya", "Priya Shah", &[Lang::En, Lang::It]),
];

fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let (lo, hi) = s
        .split_once('-')
        .ok_or_else(|| format!("`{s}` is not MIN-MAX (for example 20-40)"))?;
    let lo: u64 = lo
        .trim()
        .parse()
        .map_err(|_| format!("`{lo}` is not a number of seconds"))?;
    let hi: u64 = hi
        .trim()
        .parse()
        .map_err(|_| format!("`{hi}` is not a number of seconds"))?;
    if lo == 0 || hi < lo {
        return Err(format!("`{s}`: need 0 < MIN <= MAX"));
    }
    Ok((lo, hi))
}

/// The demo's rate card, so a person sees earnings in the status bar and the summary.
fn demo_rates() -> shiftdesk_hub::dispatch::RateCard {
    shiftdesk_hub::dispatch::RateCard {
        currency: "EUR".into(),
        per_engaged_hour: 14.0,
        per_conversation: 0.5,
        language_premium: [("ru".to_string(), 0.25), ("sv".to_string(), 0.25)]
            .into_iter()
            .collect(),
        night_premium: 0.4,
        night_hours: [22, 6],
    }
}

/// Create a login, or give it a fresh token if the data dir is being reused.
fn login(store: &mut SqliteStore, info: WorkerInfo) -> anyhow::Result<String> {
    let token = new_token();
    if store.workers()?.iter().any(|w| w.info.id == info.id) {
        store.set_token(&info.id, &hash_token(&token))?;
    } else {
        store.add_worker(&info, &hash_token(&token), now_ms())?;
    }
    Ok(token)
}

/// The person at the keyboard: speaks every language, two conversations at once.
fn you(role: DemoRole) -> WorkerInfo {
    let (id, name, role) = match role {
        DemoRole::Worker => ("demo", "Alex (demo)", Role::Worker),
        DemoRole::Supervisor => ("demo-supervisor", "Sam Okafor", Role::Supervisor),
    };
    WorkerInfo {
        id: id.into(),
        name: name.into(),
        role,
        languages: Lang::ALL.to_vec(),
        skills: vec![],
        capacity: 2,
    }
}

pub fn main(args: DemoArgs) -> anyhow::Result<()> {
    let keymap = match &args.keymap {
        Some(spec) => Keymap::load(spec).map_err(|e| anyhow::anyhow!("keymap: {e}"))?,
        None => Keymap::default_keymap(),
    };
    let drafter = args.drafter.choice().map_err(anyhow::Error::msg)?;
    let (data_dir, temporary) = match &args.data_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let dir =
                std::env::temp_dir().join(format!("shiftdesk-demo-{:x}", rand::random::<u32>()));
            (dir.clone(), Some(dir))
        }
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let _log = init_log(&data_dir);
    let (token, team) = {
        let mut store = SqliteStore::open(&data_dir)?;
        let token = login(&mut store, you(args.role))?;
        let mut team = Vec::new();
        if args.role == DemoRole::Supervisor {
            for (id, name, languages) in TEAM {
                let info = WorkerInfo {
                    id: (*id).into(),
                    name: (*name).into(),
                    role: Role::Worker,
                    languages: languages.to_vec(),
                    skills: vec![],
                    capacity: 2,
                };
                team.push(login(&mut store, info)?);
            }
        }
        (token, team)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let hub = server::start(HubConfig {
            listen: "127.0.0.1:0".parse()?,
            data_dir: data_dir.clone(),
            store: Default::default(),
            dispatch: DispatchConfig {
                offer_timeout_ms: args.offer_timeout * 1000,
                language_wait_ms: args.language_wait * 1000,
                slot_ms: args.slot_minutes * 60_000,
                ..DispatchConfig::default()
            },
            tls: None,
            drafter: drafter.clone(),
            rules: Default::default(),
            metrics_token: None,
            kb: None,
            chat: Default::default(),
            rates: Some(demo_rates()),
        })
        .await?;
        tracing::info!(url = %hub.url(), data_dir = %data_dir.display(), "demo hub started");
        // A person can be a customer too, in a browser, beside the simulated ones.
        println!("customer chat: http://{}/chat", hub.addr);
        let (stop_tx, stop_rx) = watch::channel(false);
        let arrivals = args.arrivals.unwrap_or(match args.role {
            DemoRole::Worker => (20, 40),
            DemoRole::Supervisor => (6, 15),
        });
        let pace = Pace {
            arrival_ms: (arrivals.0 * 1000, arrivals.1 * 1000),
            ..Pace::human()
        };
        let customers = tokio::spawn(sim::run_arrivals(
            hub.url(),
            sim::builtin(),
            pace,
            stop_rx.clone(),
        ));
        for token in team {
            let (url, stop) = (hub.url(), stop_rx.clone());
            tokio::spawn(async move {
                if let Err(e) =
                    sim::workers::run_worker(&url, &token, sim::workers::Habits::human(), stop)
                        .await
                {
                    tracing::warn!(%e, "simulated worker stopped");
                }
            });
        }
        let mut options = ResolvedOptions::new(hub.url(), token);
        options.keymap = keymap;
        options.app.bell = !args.no_bell;
        options.app.theme = shiftdesk_console::ui::theme::Theme::choose(
            args.theme,
            None,
            shiftdesk_console::ui::theme::Theme::no_color_env(),
        );
        options.app.break_reminder_ms = args.break_reminder.saturating_mul(60_000);
        options.app.standby = args.standby.then_some(shiftdesk_console::app::Standby {
            waiting: 2,
            every_ms: 60_000,
        });
        let summary = shiftdesk_console::run_console(options).await;
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(1), customers).await;
        hub.shutdown().await;
        summary
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    if let Some(dir) = temporary {
        let _ = std::fs::remove_dir_all(dir);
    } else {
        println!("demo data kept in {}", data_dir.display());
    }
    print!("{}", result?);
    Ok(())
}

fn init_log(dir: &std::path::Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let appender = tracing_appender::rolling::never(dir, "demo.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("SHIFTDESK_LOG")
        .unwrap_or_else(|_| "shiftdesk=info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()
        .map(|()| guard)
}
