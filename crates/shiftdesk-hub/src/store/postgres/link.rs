//! One connection to PostgreSQL and the runtime that drives it ([`Link`]), with time limits
//! on connecting and on every request, and what a failed request means ([`Failure`]): nothing
//! done, maybe done (the connection broke), or refused.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Statement};

use super::super::StoreError;
use super::super::choice::PostgresTarget;

/// The longest one request may take before the connection is taken for broken. Reads of the
/// whole log are streamed, and the limit is on each row's arrival, not on the whole read.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The advisory lock that the appending connection holds for as long as it lives.
pub(super) const WRITER_LOCK: i64 = 0x5344_5752_4954_4552; // "SDWRITER"

/// How long a new writer waits for the writer lock: a killed hub's session ends as soon as
/// PostgreSQL reads the closed socket, well within this.
const WRITER_LOCK_WAIT: Duration = Duration::from_secs(10);

/// The channel a hub that takes the store notifies, so the others learn of it at once
/// (`LISTEN` is only a nudge: the lease row is what they read).
pub const WRITER_CHANNEL: &str = "shiftdesk_writer";

/// How long the writing hub's lease lasts unrenewed. Past it, a standby hub (`--standby`) ends
/// the writer's PostgreSQL session, which frees the writer lock, and takes the store over.
pub const LEASE: Duration = Duration::from_secs(5);

/// How often the writing hub renews its lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(1);

/// The session holding the writer lock, if any. `pg_locks` lists every database's locks, and
/// another store on the same server has a writer lock of its own.
const LOCK_HOLDER: &str = "SELECT l.pid FROM pg_locks l
     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND ((l.classid::bigint << 32) | l.objid::bigint) = $1";

/// What a connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// Reads, and the accounts' writes.
    Reader,
    /// Appends; holds the writer lock.
    Writer,
    /// Reads only: every transaction is read-only (exports).
    ReadOnly,
}

/// One connection and the runtime that drives it.
pub(super) struct Link {
    pub(super) runtime: tokio::runtime::Runtime,
    pub(super) client: Client,
    statements: HashMap<&'static str, Statement>,
}

/// Why a request did not succeed.
pub(super) enum Failure {
    /// No connection: nothing was sent.
    Connect(String),
    /// The connection broke or did not answer: what was sent may or may not have been done.
    Lost(String),
    /// PostgreSQL refused the request: nothing was done.
    Refused {
        code: Option<SqlState>,
        constraint: Option<String>,
        message: String,
    },
    /// What PostgreSQL returned is not valid, or the request was not (our own errors).
    Failed(StoreError),
}

impl Failure {
    pub(super) fn into_store(self, url: &str) -> StoreError {
        match self {
            Failure::Connect(why) => StoreError::Invalid(why),
            Failure::Lost(why) => {
                StoreError::Db(format!("PostgreSQL at {url}: the connection broke: {why}").into())
            }
            Failure::Refused { message, .. } => {
                StoreError::Db(format!("PostgreSQL at {url}: {message}").into())
            }
            Failure::Failed(e) => e,
        }
    }
}

/// Run one request, within [`REQUEST_TIMEOUT`].
pub(super) async fn timed<T>(
    request: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(classify(&e)),
        Err(_) => Err(Failure::Lost(format!(
            "no answer within {REQUEST_TIMEOUT:?}"
        ))),
    }
}

/// A broken connection, or an error PostgreSQL answered with.
fn classify(e: &tokio_postgres::Error) -> Failure {
    let lost = e.is_closed()
        || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
        || e.code().is_some_and(|code| {
            // Class 08: connection exception; 57P01-03: the server is shutting down.
            code.code().starts_with("08")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                ]
                .contains(code)
        });
    if lost {
        Failure::Lost(describe(e))
    } else {
        Failure::Refused {
            code: e.code().cloned(),
            constraint: e
                .as_db_error()
                .and_then(|db| db.constraint())
                .map(str::to_string),
            message: describe(e),
        }
    }
}

/// An error with its causes: tokio-postgres's own text is only the kind ("db error").
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        };
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

impl Link {
    pub(super) fn connect(target: &PostgresTarget, purpose: Purpose) -> Result<Link, Failure> {
        let url = target.redacted();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::Connect(format!("cannot start a PostgreSQL client: {e}")))?;
        let wait = target.connect_timeout();
        // (The timer is made inside the runtime: it needs its clock.)
        let connected = runtime
            .block_on(async { tokio::time::timeout(wait, target.config().connect(NoTls)).await });
        let (client, connection) = match connected {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => {
                return Err(Failure::Connect(format!(
                    "cannot connect to PostgreSQL at {url}: {}",
                    describe(&e)
                )));
            }
            Err(_) => {
                return Err(Failure::Connect(format!(
                    "cannot connect to PostgreSQL at {url}: no answer within {wait:?}"
                )));
            }
        };
        // Driven whenever this link blocks on a request.
        runtime.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %describe(&e), "PostgreSQL connection ended");
            }
        });
        let link = Link {
            runtime,
            client,
            statements: HashMap::new(),
        };
        let mut setup = String::from("SET synchronous_commit = on");
        if purpose == Purpose::ReadOnly {
            setup.push_str("; SET default_transaction_read_only = on");
        }
        link.block(link.client.batch_execute(&setup))?;
        Ok(link)
    }

    /// A connection that holds the writer lock, and the lease's epoch it writes in. A writer
    /// that had the store before (`expected`: its epoch) gets it back only if no other hub has
    /// written since ([`StoreError::Fenced`] otherwise); a new one raises the epoch. A
    /// `standby` writer waits as long as it takes, ending the holder's session once its
    /// lease has run out, and calling `waiting` between its tries.
    pub(super) fn connect_writer(
        target: &PostgresTarget,
        expected: Option<i64>,
        standby: bool,
        waiting: &mut dyn FnMut(),
    ) -> Result<(Link, i64), Failure> {
        let link = Link::connect(target, Purpose::Writer)?;
        let wait = target.connect_timeout().max(WRITER_LOCK_WAIT);
        let epoch = link.take_writer_lock(target, wait, expected, standby, waiting)?;
        Ok((link, epoch))
    }

    /// Block on one request.
    pub(super) fn block<T>(
        &self,
        request: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, Failure> {
        self.runtime.block_on(timed(request))
    }

    /// The prepared statement for `sql` (prepared on first use on this connection).
    pub(super) fn statement(&mut self, sql: &'static str) -> Result<Statement, Failure> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.runtime.block_on(timed(self.client.prepare(sql)))?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    fn take_writer_lock(
        &self,
        target: &PostgresTarget,
        wait: Duration,
        expected: Option<i64>,
        standby: bool,
        waiting: &mut dyn FnMut(),
    ) -> Result<i64, Failure> {
        let url = target.redacted();
        let fenced = |epoch: i64, mine: i64| {
            Failure::Failed(StoreError::Fenced(format!(
                "another hub took {url} over (its epoch is {epoch}, this hub's was {mine}): \
                 this hub stops writing"
            )))
        };
        let deadline = Instant::now() + wait;
        let mut told = false;
        loop {
            let epoch: i64 = self
                .block(self.client.query_one("SELECT epoch FROM hub_lease", &[]))?
                .get(0);
            if let Some(mine) = expected
                && epoch != mine
            {
                return Err(fenced(epoch, mine));
            }
            let row = self.block(
                self.client
                    .query_one("SELECT pg_try_advisory_lock($1)", &[&WRITER_LOCK]),
            )?;
            if row.get::<_, bool>(0) {
                // The lock is ours: nobody else changes the lease now.
                let epoch: i64 = self
                    .block(self.client.query_one("SELECT epoch FROM hub_lease", &[]))?
                    .get(0);
                let epoch = match expected {
                    Some(mine) if epoch != mine => return Err(fenced(epoch, mine)),
                    Some(mine) => mine,
                    None => epoch + 1,
                };
                // The other hubs forward their clients to `writer_url`; the notice tells them
                // to read it again now rather than at their next poll.
                self.block(self.client.execute(
                    "UPDATE hub_lease
                     SET holder = pg_backend_pid(), epoch = $1, renewed_at = clock_timestamp(),
                         writer_url = $2",
                    &[&epoch, &target.advertised()],
                ))?;
                self.block(self.client.execute(
                    "SELECT pg_notify($1, $2::bigint::text)",
                    &[&WRITER_CHANNEL, &epoch],
                ))?;
                return Ok(epoch);
            }
            if standby {
                if !told {
                    tracing::info!(
                        url,
                        "standby: another hub writes to the store; taking over when it stops"
                    );
                    told = true;
                }
                self.end_expired_holder(url)?;
                waiting();
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            if Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let holder = self
            .block(self.client.query_opt(
                "SELECT a.pid, coalesce(host(a.client_addr), 'a local socket')
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                   AND ((l.classid::bigint << 32) | l.objid::bigint) = $1",
                &[&WRITER_LOCK],
            ))
            .ok()
            .flatten()
            .map(|row| (row.get::<_, i32>(0), row.get::<_, String>(1)));
        let who = match holder {
            Some((pid, from)) => format!(
                " (PostgreSQL session {pid}, from {from}; if that hub is gone, end the \
                 session with SELECT pg_terminate_backend({pid}))"
            ),
            None => String::new(),
        };
        Err(Failure::Failed(StoreError::Invalid(format!(
            "another shiftdesk hub is writing to {url}{who}; start this one with --standby to \
         wait and take over when that one stops"
        ))))
    }

    /// If the writer's lease has run out (it stopped renewing: killed, paused, cut off), end
    /// its session: that frees the writer lock and aborts whatever it was writing.
    fn end_expired_holder(&self, url: &str) -> Result<(), Failure> {
        let lease = LEASE.as_secs_f64();
        let expired: bool = self
            .block(self.client.query_one(
                "SELECT clock_timestamp() - renewed_at > make_interval(secs => $1) FROM hub_lease",
                &[&lease],
            ))?
            .get(0);
        if !expired {
            return Ok(());
        }
        let holder = self.block(self.client.query_opt(LOCK_HOLDER, &[&WRITER_LOCK]))?;
        if let Some(row) = holder {
            let pid: i32 = row.get(0);
            tracing::warn!(
                url,
                session = pid,
                "the writing hub has not renewed its lease for {lease} s: ending its session \
                 and taking the store over"
            );
            self.block(
                self.client
                    .execute("SELECT pg_terminate_backend($1)", &[&pid]),
            )?;
        }
        Ok(())
    }
}
