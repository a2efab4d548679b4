//! Which store a command uses: `--store sqlite` (the default: one file in `--data-dir`) or
//! `--store postgres://USER@HOST:PORT/DB`.
//!
//! The flag's value is taken as text and checked here rather than by clap, whose error would
//! repeat the value as typed, password included: every message about a PostgreSQL URL shows it
//! with the password replaced by `***` ([`PostgresTarget::redacted`]).

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use super::postgres::PostgresStore;
use super::{EventStore, SqliteStore, StoreError};

/// How long a connection attempt to PostgreSQL may take when the URL does not say
/// (`?connect_timeout=SECS`): a hub whose database does not answer exits with an error instead
/// of waiting for it.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The store the hub, `admin` and `export` use.
#[derive(Debug, Clone, Default)]
pub enum StoreChoice {
    /// `shiftdesk.db` in the data directory.
    #[default]
    Sqlite,
    Postgres(PostgresTarget),
}

/// How a command opens its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the store if it is not there (for PostgreSQL: its tables, in a database that
    /// exists), and bring its schema up to date.
    Create,
    /// Write to a store that must exist already.
    Existing,
    /// Read a store that must exist, changing nothing (exports while the hub runs).
    ReadOnly,
}

impl StoreChoice {
    /// `sqlite`, or a `postgres://` / `postgresql://` URL. The error says what was wrong
    /// without the password; the caller names the flag.
    pub fn parse(text: &str) -> Result<StoreChoice, String> {
        let text = text.trim();
        if text == "sqlite" {
            return Ok(StoreChoice::Sqlite);
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return PostgresTarget::parse(text).map(StoreChoice::Postgres);
        }
        Err(format!(
            "`{}` is not a store: write `sqlite` (the data directory's file) or \
             postgres://USER@HOST:PORT/DB",
            redact(text)
        ))
    }

    /// Where the store is, for messages: the SQLite file, or the URL without its password.
    pub fn describe(&self, data_dir: &Path) -> String {
        match self {
            StoreChoice::Sqlite => data_dir.join(super::sqlite::DB_FILE).display().to_string(),
            StoreChoice::Postgres(target) => target.redacted().to_string(),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, StoreChoice::Postgres(_))
    }

    /// Open the store (SQLite in `data_dir`, or PostgreSQL; its errors name `--store` and the
    /// URL). Blocks: not to be called on an async runtime's thread (the PostgreSQL client
    /// runs a runtime of its own).
    pub fn open(&self, data_dir: &Path, mode: OpenMode) -> Result<Box<dyn EventStore>, StoreError> {
        Ok(match (self, mode) {
            (StoreChoice::Sqlite, OpenMode::Create) => Box::new(SqliteStore::open(data_dir)?),
            (StoreChoice::Sqlite, OpenMode::Existing) => {
                Box::new(SqliteStore::open_existing(data_dir)?)
            }
            (StoreChoice::Sqlite, OpenMode::ReadOnly) => {
                Box::new(SqliteStore::open_read_only(data_dir)?)
            }
            (StoreChoice::Postgres(target), mode) => {
                Box::new(PostgresStore::open(target, mode).map_err(|e| match e {
                    StoreError::Invalid(why) => StoreError::Invalid(format!("--store: {why}")),
                    e => e,
                })?)
            }
        })
    }
}

/// A PostgreSQL database named by a URL, checked: `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`
/// with libpq's query parameters (`?connect_timeout=10`, `?application_name=…`).
#[derive(Clone)]
pub struct PostgresTarget {
    config: Arc<tokio_postgres::Config>,
    redacted: String,
    /// A hub's writer waits for the store instead of being refused (`hub --standby`).
    standby: bool,
    /// Where the other hubs reach this one, recorded when it takes the store (`--advertise`).
    advertise: Option<Arc<str>>,
}

impl std::fmt::Debug for PostgresTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PostgresTarget")
            .field(&self.redacted)
            .finish()
    }
}

impl PostgresTarget {
    pub fn parse(url: &str) -> Result<PostgresTarget, String> {
        let redacted = redact(url);
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| format!("{redacted} is not a PostgreSQL URL: {e}"))?;
        if config.get_hosts().is_empty() {
            return Err(format!(
                "{redacted}: no host (write postgres://USER@HOST:PORT/DB)"
            ));
        }
        if config.get_dbname().is_none_or(str::is_empty) {
            return Err(format!(
                "{redacted}: no database (write postgres://USER@HOST:PORT/DB)"
            ));
        }
        if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
            return Err(format!(
                "{redacted}: sslmode=require is not supported yet (the hub speaks plain \
                 TCP to PostgreSQL: keep it on a private network or a local socket)"
            ));
        }
        // libpq's variable, so that the password need not be in the URL (where `ps` shows it).
        if config.get_password().is_none()
            && let Some(password) = std::env::var_os("PGPASSWORD")
        {
            config.password(password.as_encoded_bytes());
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("shiftdesk");
        }
        // A database that vanishes without closing the connection (its machine lost, a cable
        // pulled) is noticed in about half a minute instead of the system's two hours.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(15))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3);
        Ok(PostgresTarget {
            config: Arc::new(config),
            redacted,
            standby: false,
            advertise: None,
        })
    }

    /// The same store, for a hub that waits while another writes to it and takes over when
    /// that one stops or its lease runs out (`hub --standby`).
    pub fn standby(self) -> PostgresTarget {
        PostgresTarget {
            standby: true,
            ..self
        }
    }

    pub fn is_standby(&self) -> bool {
        self.standby
    }

    /// The same store, for a hub that the other hubs reach at `url` (its websocket address):
    /// recorded in the lease when this hub takes the store, so they forward clients to it.
    pub fn advertising(self, url: Option<String>) -> PostgresTarget {
        PostgresTarget {
            advertise: url.map(Into::into),
            ..self
        }
    }

    /// Where the other hubs reach this one, if it said.
    pub fn advertised(&self) -> Option<&str> {
        self.advertise.as_deref()
    }

    /// The URL with its password replaced by `***`: what messages and logs show.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The connection settings, for a client of one's own (the tests' database setup).
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// How long connecting may take (the URL's `connect_timeout`, or [`CONNECT_TIMEOUT`]).
    pub(crate) fn connect_timeout(&self) -> Duration {
        self.config
            .get_connect_timeout()
            .copied()
            .unwrap_or(CONNECT_TIMEOUT)
    }

    /// The same server and credentials, another database (tests and `migrate-store` name
    /// databases beside the one given).
    pub fn with_database(&self, name: &str) -> PostgresTarget {
        let mut config = (*self.config).clone();
        config.dbname(name);
        let config = Arc::new(config);
        let redacted = match self.redacted.rfind('/') {
            Some(slash) if slash > self.redacted.find("://").map_or(0, |s| s + 2) => {
                let query = self.redacted[slash..]
                    .find('?')
                    .map_or("", |q| &self.redacted[slash + q..]);
                format!("{}/{name}{query}", &self.redacted[..slash])
            }
            _ => format!("{} (database {name})", self.redacted),
        };
        PostgresTarget {
            config,
            redacted,
            standby: self.standby,
            advertise: self.advertise.clone(),
        }
    }
}

/// `text` with the password of a URL (`scheme://user:PASSWORD@host`) and any `password=`
/// parameter replaced by `***`.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    let mut from = 0;
    while let Some(found) = out[from..].find("password=") {
        let start = from + found + "password=".len();
        let end = out[start..]
            .find(['&', ' '])
            .map_or(out.len(), |i| start + i);
        out.replace_range(start..end, "***");
        from = start + 3;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://ana:s3cret@db.example:5432/shiftdesk"),
            "postgres://ana:***@db.example:5432/shiftdesk"
        );
        assert_eq!(
            redact("postgres://ana@db/x?password=s3cret&connect_timeout=2"),
            "postgres://ana@db/x?password=***&connect_timeout=2"
        );
        assert_eq!(
            redact("postgres://ana@db:5432/x"),
            "postgres://ana@db:5432/x"
        );
        // An @ in the password itself.
        assert_eq!(
            redact("postgres://ana:p@ss@db/x"),
            "postgres://ana:***@db/x"
        );
        let err = StoreChoice::parse("postgres://ana:s3cret@db:notaport/x").unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
        assert!(err.contains("postgres://ana:***@db:notaport/x"), "{err}");
        let err = StoreChoice::parse("mysql://ana:s3cret@db/x").unwrap_err();
        assert!(!err.contains("s3cret") && err.contains("sqlite"), "{err}");
    }

    #[test]
    fn a_url_needs_a_host_and_a_database() {
        assert!(matches!(
            StoreChoice::parse("sqlite"),
            Ok(StoreChoice::Sqlite)
        ));
        let Ok(StoreChoice::Postgres(target)) =
            StoreChoice::parse("postgresql://postgres@127.0.0.1:5432/test")
        else {
            panic!("a good URL")
        };
        assert_eq!(
            target.redacted(),
            "postgresql://postgres@127.0.0.1:5432/test"
        );
        assert_eq!(
            target.config().get_connect_timeout(),
            Some(&CONNECT_TIMEOUT)
        );
        let other = target.with_database("other");
        assert_eq!(
            other.redacted(),
            "postgresql://postgres@127.0.0.1:5432/other"
        );
        assert_eq!(other.config().get_dbname(), Some("other"));
        for bad in [
            "postgres://",
            "postgres://ana@db",
            "postgres://ana@db:5432/",
        ] {
            assert!(StoreChoice::parse(bad).is_err(), "{bad}");
        }
        let timeout = StoreChoice::parse("postgres://a@h/d?connect_timeout=9");
        let Ok(StoreChoice::Postgres(t)) = timeout else {
            panic!("a good URL")
        };
        assert_eq!(
            t.config().get_connect_timeout(),
            Some(&Duration::from_secs(9))
        );
    }
}
