//! The `shiftdesk` command: hub, console, demo, customer, admin and export.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

mod config;
mod demo;
mod kb;

use shiftdesk_hub::dispatch::DispatchConfig;
use shiftdesk_hub::server::{self, HubConfig};
use shiftdesk_hub::store::{EventStore, OpenMode, StoreChoice, hash_token, new_token};
use shiftdesk_protocol::Lang;
use shiftdesk_protocol::{Role, WorkerInfo};

/// mimalloc instead of the system allocator: the hub allocates and frees a few small buffers
/// for every line it relays, and glibc's malloc spent about a tenth of the hub's CPU on that
/// (`malloc_consolidate`, `unlink_chunk`) under load. Built without transparent huge pages
/// (`no_thp`): mimalloc asks the kernel for them on its arenas, and then a few small buffers
/// touched per connection cost whole 2 MiB pages (the memory ramp's cost per idle worker went
/// from 22.1 to 15.5 KiB without them).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "shiftdesk",
    version,
    about = "Dispatch hub and terminal console for remote customer-support workers"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Try everything in one process: an embedded hub, simulated customers, and the console.
    Demo(crate::demo::DemoArgs),
    /// The worker's terminal console: log in to a hub and work a shift.
    Console(shiftdesk_console::ConsoleArgs),
    /// Run the dispatch hub: triage, offers, durable log, drafts.
    #[command(args_override_self = true)]
    Hub(Box<HubArgs>),
    /// A customer on the command line: each stdin line is a message; replies are printed as JSON lines.
    Customer(CustomerArgs),
    /// Manage workers and supervisors.
    Admin {
        #[command(subcommand)]
        command: AdminCmd,
    },
    /// Benchmark a hub beside a minimal relay (P0) and nats-server (P1); see BENCHMARKS.md.
    Bench(shiftdesk_bench::BenchArgs),
    /// Check a knowledge-base folder, or ask it what the bot would answer.
    Kb {
        #[command(subcommand)]
        command: crate::kb::KbCmd,
    },
    /// Export conversations, drafts or shifts as JSON lines (works while the hub is running).
    Export {
        /// What to export.
        #[arg(value_enum)]
        kind: shiftdesk_hub::export::ExportKind,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(clap::Args)]
struct HubArgs {
    /// Read flags from this TOML file (keys are flag names with underscores: offer_timeout =
    /// 30); flags on the command line override it. See README, "Configuration".
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check the configuration (and the files it names), print what is wrong, and exit.
    #[arg(long)]
    check: bool,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// Directory for the event log (shiftdesk.db). Defaults to the platform data directory.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The store: `sqlite` (shiftdesk.db in --data-dir, the default) or
    /// postgres://USER@HOST:PORT/DB (a password is better given as PGPASSWORD).
    #[arg(long, value_name = "sqlite|URL")]
    store: Option<String>,
    /// With a PostgreSQL --store that another hub writes to: serve at once, forwarding every
    /// client to the writing hub, and take over when that hub stops or has not renewed its
    /// lease for 5 s (without it, such a hub is refused). README, "Running several hubs".
    #[arg(long)]
    standby: bool,
    /// With a PostgreSQL --store: the address the other hubs reach this one at while it writes
    /// (ws://HOST:PORT or wss://…). Defaults to --listen, unless that is every address
    /// (0.0.0.0 or [::]): then say it.
    #[arg(long, value_name = "URL", value_parser = parse_advertise)]
    advertise: Option<String>,
    /// Seconds a worker has to accept an offer.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    offer_timeout: u64,
    /// Seconds a disconnected worker keeps their conversations.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86400))]
    grace: u64,
    /// Seconds a queued conversation waits for a free worker who speaks its language before it
    /// is offered to any eligible worker, marked as a language fallback (0: at once).
    #[arg(long = "language-wait", value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86400))]
    language_wait: u64,
    /// Seconds an ended conversation's stream is kept after its customer left, for them to
    /// resume where they were; after that a returning customer gets the whole transcript. The
    /// hub's memory (and a shared store's stream frames) grows with this, not with history.
    #[arg(long = "keep-ended", value_name = "SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=604800))]
    keep_ended: u64,
    /// Length of a bookable slot of planned shifts, in minutes (30; it must divide a day).
    #[arg(long = "slot-minutes", value_name = "MINUTES", default_value_t = 30, value_parser = parse_slot_minutes)]
    slot_minutes: u64,
    /// Serve wss:// with this certificate chain (PEM); needs --tls-key.
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) for --tls-cert.
    #[arg(long)]
    tls_key: Option<PathBuf>,
    #[command(flatten)]
    drafter: shiftdesk_hub::drafting::DrafterArgs,
    /// Require `Authorization: Bearer TOKEN` on GET /metrics (without it: 401). Better given
    /// in the environment than on the command line, where `ps` shows it.
    #[arg(long, value_name = "TOKEN", env = "SHIFTDESK_METRICS_TOKEN", hide_env_values = true,
          value_parser = shiftdesk_hub::metrics::MetricsToken::new)]
    metrics_token: Option<shiftdesk_hub::metrics::MetricsToken>,
    /// Answer from this folder of Markdown articles (ID.LANG.md) instead of the built-in ones;
    /// reread on SIGHUP. Check it first with `shiftdesk kb check DIR`.
    #[arg(long, value_name = "DIR")]
    kb: Option<PathBuf>,
    #[command(flatten)]
    chat: shiftdesk_hub::chat::ChatArgs,
    /// Log lines on stderr as text, or as JSON objects (one a line) for log shippers.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// The longest a stop may take, from SIGTERM to exit: past it the hub exits anyway. (The
/// README's systemd unit gives it `TimeoutStopSec=15` before systemd would kill it.)
const STOP_DEADLINE: Duration = Duration::from_secs(10);

#[derive(clap::Args)]
struct CustomerArgs {
    /// The hub, e.g. ws://127.0.0.1:7878, or several separated by commas (tried in turn).
    #[arg(long)]
    hub: String,
    /// The customer's name, shown to the worker.
    #[arg(long)]
    name: Option<String>,
    /// The customer's language (en, it, de, nl, sv, ru); detected from the messages if omitted.
    #[arg(long)]
    lang: Option<Lang>,
    /// After stdin closes, wait at most this many seconds for replies.
    #[arg(long, default_value_t = 60)]
    wait: u64,
    /// Context signed by your backend (README, "Customer chat"), shown to the worker as
    /// verified.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SHIFTDESK_SIGNED_CONTEXT",
        hide_env_values = true
    )]
    signed_context: Option<String>,
}

#[derive(Subcommand)]
enum AdminCmd {
    /// Add a worker or supervisor and print their login token (shown once; only its hash is kept).
    AddWorker {
        #[command(flatten)]
        store: StoreArgs,
        /// Display name.
        #[arg(long)]
        name: String,
        /// worker or supervisor.
        #[arg(long, value_enum, default_value = "worker")]
        role: RoleArg,
        /// Languages spoken, comma-separated: en,it,de,nl,sv,ru, or one loaded from --kb.
        #[arg(long, value_delimiter = ',', required = true)]
        langs: Vec<Lang>,
        /// The hub's knowledge-base folder, whose languages/ the worker's languages may come
        /// from (as the hub's --kb).
        #[arg(long, value_name = "DIR")]
        kb: Option<PathBuf>,
        /// Conversations at once.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=20))]
        capacity: u32,
        /// Skills, comma-separated (for example fraud,disputes).
        #[arg(long, value_delimiter = ',')]
        skills: Vec<String>,
        /// Worker id; defaults to one made from the name.
        #[arg(long)]
        id: Option<String>,
    },
    /// Give a worker a new token and print it; the old token stops working.
    RotateToken {
        #[command(flatten)]
        store: StoreArgs,
        /// The worker's id (see list-workers).
        #[arg(long)]
        id: String,
    },
    /// List workers and supervisors.
    ListWorkers {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Copy a SQLite store (events, commands, workers) into an empty PostgreSQL store. Stop
    /// the hub first; start it again with --store and the same URL.
    MigrateStore {
        /// The SQLite store's data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// The PostgreSQL database to copy into: postgres://USER@HOST:PORT/DB (it must exist;
        /// its shiftdesk tables are created, and must be empty).
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

/// Which store a command reads or writes: `--data-dir DIR` (SQLite) or `--store URL`.
#[derive(clap::Args)]
struct StoreArgs {
    /// The hub's data directory (its SQLite store).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The hub's store, if not SQLite: postgres://USER@HOST:PORT/DB (as the hub's --store).
    #[arg(long, value_name = "URL")]
    store: Option<String>,
}

impl StoreArgs {
    fn open(&self, mode: OpenMode) -> anyhow::Result<Box<dyn EventStore>> {
        let choice = store_choice(self.store.as_deref(), self.data_dir.as_deref())?;
        let data_dir = match (&choice, &self.data_dir) {
            (StoreChoice::Postgres(_), _) => PathBuf::new(),
            (StoreChoice::Sqlite, Some(dir)) => dir.clone(),
            (StoreChoice::Sqlite, None) => anyhow::bail!(
                "which store? give --data-dir DIR (SQLite) or --store postgres://USER@HOST:PORT/DB"
            ),
        };
        Ok(choice.open(&data_dir, mode)?)
    }
}

/// `--store` checked against `--data-dir`: a PostgreSQL store has no data directory.
fn store_choice(
    store: Option<&str>,
    data_dir: Option<&std::path::Path>,
) -> anyhow::Result<StoreChoice> {
    let Some(text) = store else {
        return Ok(StoreChoice::Sqlite);
    };
    let choice = StoreChoice::parse(text).map_err(|e| anyhow::anyhow!("--store: {e}"))?;
    if let (StoreChoice::Postgres(target), Some(dir)) = (&choice, data_dir) {
        anyhow::bail!(
            "--data-dir {} and --store {} name two stores: --data-dir is the SQLite store's; \
             leave it out with a PostgreSQL one",
            dir.display(),
            target.redacted()
        );
    }
    Ok(choice)
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Worker,
    Supervisor,
}

fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "shiftdesk")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("shiftdesk-data"))
}

fn slug(name: &str) -> String {
    let s: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    s.split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

fn main() -> ExitCode {
    use clap::CommandFactory;
    let (argv, hub_file) = match config::expand(&Cli::command(), std::env::args_os().collect()) {
        Ok(expanded) => expanded,
        Err(e) => {
            eprintln!("shiftdesk: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cli = Cli::parse_from(argv);
    match run(cli, hub_file.unwrap_or_default()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shiftdesk: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn run(cli: Cli, hub_file: config::HubFile) -> anyhow::Result<()> {
    match cli.command {
        Cmd::Demo(args) => crate::demo::main(args),
        Cmd::Console(args) => shiftdesk_console::main(args),
        Cmd::Hub(args) => {
            let args = *args;
            init_hub_logging(args.log_format);
            let store = match (
                store_choice(args.store.as_deref(), args.data_dir.as_deref())?,
                args.standby,
            ) {
                (StoreChoice::Postgres(target), true) => StoreChoice::Postgres(target.standby()),
                (StoreChoice::Sqlite, true) => anyhow::bail!(
                    "--standby needs --store postgres://…: a SQLite store belongs to one hub"
                ),
                (store, false) => store,
            };
            let store = match (store, args.advertise) {
                (StoreChoice::Postgres(target), advertise @ Some(_)) => {
                    StoreChoice::Postgres(target.advertising(advertise))
                }
                (StoreChoice::Sqlite, Some(_)) => anyhow::bail!(
                    "--advertise needs --store postgres://…: it tells the other hubs of a \
                     shared store where this one is"
                ),
                (store, None) => store,
            };
            let config = HubConfig {
                listen: args.listen,
                data_dir: args.data_dir.unwrap_or_else(default_data_dir),
                store,
                dispatch: DispatchConfig {
                    offer_timeout_ms: args.offer_timeout * 1000,
                    grace_ms: args.grace * 1000,
                    language_wait_ms: args.language_wait * 1000,
                    slot_ms: args.slot_minutes * 60_000,
                    keep_ended_ms: args.keep_ended * 1000,
                    ..DispatchConfig::default()
                },
                tls: match (args.tls_cert, args.tls_key) {
                    (Some(cert), Some(key)) => Some((cert, key)),
                    (None, None) => None,
                    _ => anyhow::bail!("--tls-cert and --tls-key go together"),
                },
                drafter: args.drafter.choice().map_err(anyhow::Error::msg)?,
                rules: hub_file.rules,
                metrics_token: args.metrics_token,
                kb: args.kb,
                chat: args.chat.settings().map_err(anyhow::Error::msg)?,
                rates: hub_file.rates,
            };
            if args.check {
                check_hub(&config)?;
                println!(
                    "{}: ok",
                    args.config
                        .as_deref()
                        .map_or("configuration".into(), |p| p.display().to_string())
                );
                return Ok(());
            }
            let runtime = runtime()?;
            let result = runtime.block_on(run_hub(config));
            // After a clean stop nothing is left running; after the deadline, whatever is
            // stuck (a disk that does not answer) must not hold the exit.
            runtime.shutdown_background();
            result
        }
        Cmd::Customer(args) => runtime()?.block_on(shiftdesk_client::customer_cli::run(
            shiftdesk_client::customer_cli::CustomerOptions {
                hub: args.hub,
                name: args.name,
                lang: args.lang,
                wait: Duration::from_secs(args.wait),
                signed_context: args.signed_context,
            },
        )),
        Cmd::Admin { command } => match command {
            AdminCmd::AddWorker {
                store,
                name,
                role,
                langs,
                capacity,
                skills,
                id,
                kb,
            } => {
                if let Some(dir) = &kb {
                    let loaded = shiftdesk_hub::languages::load_dir(&dir.join("languages"))
                        .map_err(|errors| {
                            let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                            anyhow::anyhow!("{}", lines.join("\n"))
                        })?;
                    shiftdesk_hub::languages::install(loaded);
                }
                if let Some(lang) = langs
                    .iter()
                    .find(|l| !shiftdesk_hub::languages::is_served(**l))
                {
                    let served: Vec<String> = shiftdesk_hub::languages::served()
                        .iter()
                        .map(|l| l.code().to_string())
                        .collect();
                    anyhow::bail!(
                        "--langs: `{lang}` is not a language the hub serves ({}); a language \
                         of your own needs --kb DIR with DIR/languages/{lang}.toml",
                        served.join(", ")
                    );
                }
                let name = name.trim().to_string();
                if name.is_empty() {
                    anyhow::bail!("--name must not be empty");
                }
                let id = id.unwrap_or_else(|| slug(&name));
                if id.is_empty() {
                    anyhow::bail!("cannot make an id from the name `{name}`; pass --id");
                }
                let mut store = store.open(OpenMode::Create)?;
                let token = new_token();
                let info = WorkerInfo {
                    id,
                    name,
                    role: match role {
                        RoleArg::Worker => Role::Worker,
                        RoleArg::Supervisor => Role::Supervisor,
                    },
                    languages: langs,
                    skills,
                    capacity,
                };
                store.add_worker(&info, &hash_token(&token), shiftdesk_hub::engine::now_ms())?;
                println!("{token}");
                Ok(())
            }
            AdminCmd::RotateToken { store, id } => {
                let mut store = store.open(OpenMode::Existing)?;
                let token = new_token();
                store.set_token(&id, &hash_token(&token))?;
                println!("{token}");
                Ok(())
            }
            AdminCmd::ListWorkers { store } => {
                let store = store.open(OpenMode::ReadOnly)?;
                for w in store.workers()? {
                    let langs: Vec<&str> = w.info.languages.iter().map(|l| l.code()).collect();
                    println!(
                        "{}\t{}\t{:?}\t{}\tcapacity {}",
                        w.info.id,
                        w.info.name,
                        w.info.role,
                        langs.join(","),
                        w.info.capacity
                    );
                }
                Ok(())
            }
            AdminCmd::MigrateStore { data_dir, to } => migrate_store(&data_dir, &to),
        },
        Cmd::Bench(args) => shiftdesk_bench::main(args),
        Cmd::Kb { command } => crate::kb::main(command),
        Cmd::Export { kind, store } => {
            let store = store.open(OpenMode::ReadOnly)?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            shiftdesk_hub::export::run_store(kind, store.as_ref(), &mut out)?;
            Ok(())
        }
    }
}

/// What `hub --check` looks at beyond the flags themselves: the files the configuration names
/// can be read, and the data directory can be written.
fn check_hub(config: &HubConfig) -> anyhow::Result<()> {
    if let Some((cert, key)) = &config.tls {
        shiftdesk_hub::tls::server_config(cert, key)?;
    }
    if let Some(dir) = &config.kb {
        let languages =
            shiftdesk_hub::languages::load_dir(&dir.join("languages")).map_err(|errors| {
                let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                anyhow::anyhow!("{}", lines.join("\n"))
            })?;
        shiftdesk_hub::languages::install(languages);
        shiftdesk_hub::drafting::kb::KnowledgeBase::load_dir(dir)?;
    }
    let unserved = config.rules.unserved();
    if !unserved.is_empty() {
        anyhow::bail!(
            "[rules] for languages this hub does not serve: {}",
            unserved.join(", ")
        );
    }
    if config.store.is_postgres() {
        // The URL parsed (or the flags would not have); connecting is the hub's start.
        return Ok(());
    }
    let dir = &config.data_dir;
    if dir.exists() {
        let probe = dir.join(".shiftdesk-check");
        std::fs::write(&probe, b"")
            .map_err(|e| anyhow::anyhow!("data_dir {}: cannot write: {e}", dir.display()))?;
        let _ = std::fs::remove_file(probe);
    } else if let Some(parent) = dir.ancestors().skip(1).find(|p| p.exists())
        && std::fs::metadata(parent).is_ok_and(|m| m.permissions().readonly())
    {
        anyhow::bail!(
            "data_dir {}: {} is read-only",
            dir.display(),
            parent.display()
        );
    }
    Ok(())
}

/// `admin migrate-store`: the SQLite store in `data_dir` copied into the PostgreSQL store at
/// `to`, with progress on stderr and the counts on stdout.
fn migrate_store(data_dir: &std::path::Path, to: &str) -> anyhow::Result<()> {
    let target = match StoreChoice::parse(to) {
        Ok(StoreChoice::Postgres(target)) => target,
        Ok(StoreChoice::Sqlite) => {
            anyhow::bail!("--to: the target is a PostgreSQL URL, postgres://USER@HOST:PORT/DB")
        }
        Err(e) => anyhow::bail!("--to: {e}"),
    };
    let source = shiftdesk_hub::store::SqliteStore::open_existing(data_dir)?;
    let mut stderr = std::io::stderr();
    let copied =
        shiftdesk_hub::store::postgres::copy_from_sqlite(&source, &target, &mut |table, rows| {
            let _ = writeln!(stderr, "{table}: {rows} copied");
        })
        .map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    println!(
        "copied {} events, {} commands, {} client sequences and {} workers from {} to {}",
        copied.events,
        copied.commands,
        copied.sequences,
        copied.workers,
        source.path().display(),
        target.redacted()
    );
    Ok(())
}

/// Log to stderr, as text or JSON lines; `RUST_LOG` filters (default: `shiftdesk=info`).
fn init_hub_logging(format: LogFormat) {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "shiftdesk=info".into()),
        )
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

/// Serve until SIGTERM or SIGINT, then stop cleanly: every connection gets `1011 hub stopped`
/// and what was received is stored ([`server::RunningHub::shutdown`]). A stop that takes longer
/// than [`STOP_DEADLINE`], or a second signal, exits at once with an error.
async fn run_hub(config: HubConfig) -> anyhow::Result<()> {
    let hub = server::start(config.clone()).await?;
    tokio::spawn(crate::kb::reload_on_sighup(hub.knowledge_reloader()));
    // stdout may be a pipe nobody reads any more: never let that stop the hub.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "shiftdesk hub listening on {}", hub.url());
    let _ = stdout.flush();
    tracing::info!(store = %config.store.describe(&config.data_dir), url = %hub.url(), "hub started");
    let signal = tokio::select! {
        signal = shutdown_signal() => signal,
        why = hub.failed() => anyhow::bail!("this hub took the store over but cannot serve: {why}"),
    };
    tracing::info!(
        signal,
        "stopping: closing every connection with 1011 hub stopped"
    );
    tokio::select! {
        () = hub.shutdown() => {
            tracing::info!("hub stopped");
            Ok(())
        }
        () = tokio::time::sleep(STOP_DEADLINE) => {
            tracing::error!(deadline = ?STOP_DEADLINE, "the hub did not stop in time; exiting anyway");
            anyhow::bail!("the hub did not stop within {STOP_DEADLINE:?}; exited anyway")
        }
        signal = shutdown_signal() => {
            tracing::warn!(signal, "second signal while stopping; exiting at once");
            anyhow::bail!("{signal} while stopping: exited before the stop was complete")
        }
    }
}

/// Wait for SIGTERM or SIGINT (Ctrl-C); returns which.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => "SIGINT",
                    _ = term.recv() => "SIGTERM",
                }
            }
            Err(e) => {
                tracing::warn!(%e, "cannot listen for SIGTERM; only Ctrl-C stops the hub cleanly");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// `--advertise`: a websocket address without a path.
fn parse_advertise(s: &str) -> Result<String, String> {
    let url = s.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("wss://"))
        .ok_or_else(|| format!("`{s}` must start with ws:// or wss://"))?;
    if rest.is_empty() || rest.contains('/') {
        return Err(format!(
            "`{s}` must be ws://HOST:PORT (or wss://…), without a path"
        ));
    }
    Ok(url.to_string())
}

/// `--slot-minutes`: from 1 to 240, dividing a day into whole slots.
pub fn parse_slot_minutes(s: &str) -> Result<u64, String> {
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of minutes"))?;
    if !(1..=240).contains(&n) || !1440u64.is_multiple_of(n) {
        return Err(format!(
            "{n}: a slot is 1 to 240 minutes and divides a day (15, 30, 60, …)"
        ));
    }
    Ok(n)
}
