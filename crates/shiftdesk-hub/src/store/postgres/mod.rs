//! PostgreSQL event log, command ledger and accounts (`--store postgres://USER@HOST:PORT/DB`),
//! for one hub: the same tables and meaning as [`super::sqlite`], in a database that a team
//! already runs and backs up.
//!
//! **The client.** The store traits are synchronous (the committer and the engine each run on
//! a thread of their own), so each [`PostgresStore`] drives a tokio-postgres connection on a
//! current-thread runtime of its own and blocks on each request. This is what the `postgres`
//! crate does inside, from the same authors; we do it ourselves for one reason: a time limit
//! on everything. The `postgres` crate bounds only the TCP connect, so a server that accepts
//! and then says nothing (stopped, or its disk hung) would hold a hub's start, or its
//! committer, for ever; here connecting (`?connect_timeout=`, 5 s by default) and every
//! request ([`REQUEST_TIMEOUT`]) give up, and the hub reports the failure as it reports a full
//! disk. (Blocking on a runtime inside another runtime panics, so these handles are only used
//! on plain threads: the engine's, the committer's, `spawn_blocking`'s.)
//!
//! **Appends.** One append is one statement, so one round trip and one transaction: the facts
//! go in through `unnest` of arrays (one row each, in order), the command records are upserted
//! the same way (a later record of a command replaces the earlier one, as in SQLite), the
//! clients' stream frames go in as one row per stream (streams outlive the hub on this store;
//! a frame per row made the relay's appends 4 times slower), and the append's random token is
//! written to `last_append`. PostgreSQL answers once the commit is
//! flushed (the session sets `synchronous_commit = on` whatever the server's default).
//! Measured on the 2-core development machine (release build, one appender, a customer line
//! and its command per fact, PostgreSQL 15 on the same disk, other builds running): 2,700
//! appends/s of 1 fact (0.37 ms each; SQLite 5,500), 24,000 facts/s in appends of 16 (SQLite
//! 52,000), 42,000–50,000 in appends of 128 (SQLite 54,000), 77,000 in appends of 512. The
//! command upsert is about 40% of an append of 16 (41,000 facts/s without commands).
//!
//! **Broken connections.** A request that fails because the connection broke (the server
//! restarted, `pg_terminate_backend`, a timeout) drops the connection; the next request
//! connects again. Reads are then simply asked again. An append cannot be, blindly: the
//! commit may have happened before the connection broke. So the writer reconnects, which
//! means taking the *writer lock* (a session advisory lock, held by the one connection that
//! appends) and so waiting until the old session is gone, and reads `last_append`: holding its
//! token, the append is stored; otherwise it certainly is not, and is sent once more. The same
//! lock refuses a second hub on a store that one hub writes to (several hubs need the
//! sequencer of issue 22, not two writers).

mod copy;
mod lease;
mod link;

use lease::Heartbeat;
pub(super) mod schema;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use futures_util::StreamExt;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::choice::{OpenMode, PostgresTarget};
use super::{
    Accounts, AppliedWindow, ClientSequence, CommandLedger, CommandRecord, CommandResult, EventLog,
    EventStore, Principal, RefusedCommand, StoreError, StoredWorker, StreamChanges,
};
use crate::facts::Fact;
use crate::store::{WorkerColumns, worker_text_columns};
use shiftdesk_protocol::{Millis, WorkerInfo};

pub use copy::{Copied, copy_from_sqlite};
use link::{Failure, Link, Purpose, timed};
pub use link::{LEASE, REQUEST_TIMEOUT, WRITER_CHANNEL, describe as describe_error};

const APPEND: &str = "
WITH appended AS (
    INSERT INTO events (at, kind, conversation, body)
    SELECT $1::bigint, f.kind, f.conversation, f.body
    FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS f(kind, conversation, body, n)
    ORDER BY f.n
), remembered AS (
    INSERT INTO commands (principal, id, code, message, at)
    SELECT c.principal, c.id, c.code, c.message, $1::bigint
    FROM unnest($5::bytea[], $6::bytea[], $7::text[], $8::text[]) AS c(principal, id, code, message)
    ON CONFLICT (principal, id) DO UPDATE
        SET code = EXCLUDED.code, message = EXCLUDED.message, at = EXCLUDED.at
), advanced AS (
    INSERT INTO client_sequences (principal, producer, last, applied, refused, at)
    SELECT s.principal, s.producer, s.last, s.applied, s.refused, $1::bigint
    FROM unnest($10::bytea[], $11::bytea[], $12::bigint[], $13::bytea[], $14::text[])
        AS s(principal, producer, last, applied, refused)
    ON CONFLICT (principal, producer) DO UPDATE
        SET last = EXCLUDED.last, applied = EXCLUDED.applied, refused = EXCLUDED.refused,
            at = EXCLUDED.at
), framed AS (
    INSERT INTO stream_frames (stream, first_seq, last_seq, frames)
    SELECT f.stream, f.first_seq, f.last_seq, f.frames
    FROM unnest($15::text[], $16::bigint[], $17::bigint[], $18::text[])
        AS f(stream, first_seq, last_seq, frames)
    ON CONFLICT (stream, first_seq) DO UPDATE
        SET last_seq = EXCLUDED.last_seq, frames = EXCLUDED.frames
), pruned AS (
    DELETE FROM stream_frames s
    USING unnest($19::text[], $20::bigint[]) AS p(stream, below)
    WHERE s.stream = p.stream AND s.last_seq <= p.below
)
UPDATE last_append SET token = $9";

/// How many facts [`EventLog::load_after`] reads a statement, written once for both the count
/// and the statement's text.
macro_rules! load_chunk {
    () => {
        10000
    };
}
const LOAD_CHUNK: usize = load_chunk!();
const LOAD_AFTER: &str = concat!(
    "SELECT seq, body FROM events WHERE seq > $1 ORDER BY seq LIMIT ",
    load_chunk!()
);

const STREAM_HEAD: &str =
    "SELECT last_seq FROM stream_frames WHERE stream = $1 ORDER BY first_seq DESC LIMIT 1";
const STREAM_FRAMES: &str = "SELECT first_seq, frames FROM stream_frames
    WHERE stream = $1 AND last_seq > $2 AND first_seq <= $3 ORDER BY first_seq";

/// How soon a standby that lost PostgreSQL while waiting tries again.
const STANDBY_RETRY: std::time::Duration = std::time::Duration::from_millis(500);

const CLIENT_SEQUENCE: &str =
    "SELECT last, applied, refused FROM client_sequences WHERE principal = $1 AND producer = $2";

const COMMAND_RESULT: &str = "SELECT code, message FROM commands WHERE principal = $1 AND id = $2";
const WORKER_COLUMNS: &str = "id, name, role, languages, skills, capacity, created_at";

/// A store on PostgreSQL; see the module's doc.
pub struct PostgresStore {
    target: PostgresTarget,
    purpose: Purpose,
    /// The connection, made again when it broke. (The traits read through `&self`.)
    link: RefCell<Option<Link>>,
    /// A writer's lease epoch, and what renews it ([`lease`]).
    epoch: Arc<AtomicI64>,
    _heartbeat: Option<Heartbeat>,
}

impl PostgresStore {
    /// Open the store in the database `target` names (which must exist): its tables are
    /// created or brought up to date for [`OpenMode::Create`] and [`OpenMode::Existing`]; a
    /// database without them is refused for the other modes.
    pub fn open(target: &PostgresTarget, mode: OpenMode) -> Result<PostgresStore, StoreError> {
        let purpose = match mode {
            OpenMode::ReadOnly => Purpose::ReadOnly,
            OpenMode::Create | OpenMode::Existing => Purpose::Reader,
        };
        let url = target.redacted();
        let mut link = Link::connect(target, purpose).map_err(|f| f.into_store(url))?;
        let encoding: String = link
            .block(link.client.query_one("SHOW server_encoding", &[]))
            .map_err(|f| f.into_store(url))?
            .get(0);
        if encoding != "UTF8" {
            return Err(StoreError::Invalid(format!(
                "the database at {url} stores text as {encoding}; shiftdesk needs UTF8 \
                 (CREATE DATABASE … ENCODING 'UTF8' TEMPLATE template0)"
            )));
        }
        let version = schema::version(&mut link).map_err(|f| f.into_store(url))?;
        schema::check_not_newer(version, url)?;
        let missing = || {
            StoreError::Invalid(format!(
                "no shiftdesk store in {url} (start `shiftdesk hub --store {url}` once to \
                 create one, or copy one there with `shiftdesk admin migrate-store`)"
            ))
        };
        match mode {
            OpenMode::Create => {
                schema::migrate(&mut link, url)?;
            }
            OpenMode::Existing if version == 0 => return Err(missing()),
            OpenMode::Existing => {
                schema::migrate(&mut link, url)?;
            }
            OpenMode::ReadOnly if version == 0 => return Err(missing()),
            OpenMode::ReadOnly if version < schema::latest() => {
                return Err(StoreError::Invalid(format!(
                    "the store at {url} has schema version {version}; this shiftdesk reads \
                     version {}: start the hub on it once to migrate it",
                    schema::latest()
                )));
            }
            OpenMode::ReadOnly => {}
        }
        Ok(PostgresStore {
            target: target.clone(),
            purpose,
            link: RefCell::new(Some(link)),
            epoch: Arc::new(AtomicI64::new(0)),
            _heartbeat: None,
        })
    }

    /// A connection that appends: it holds the writer lock while it lives, so a second hub on
    /// the same store is refused, or, with [`PostgresTarget::standby`], waits to take over
    /// ([`lease`]), calling `waiting` now and then meanwhile.
    pub fn open_writer(
        target: &PostgresTarget,
        waiting: &mut dyn FnMut(),
    ) -> Result<PostgresStore, StoreError> {
        let url = target.redacted();
        let mut told = false;
        let (link, epoch) = loop {
            match Link::connect_writer(target, None, target.is_standby(), waiting) {
                Ok(pair) => break pair,
                // A standby outlives PostgreSQL's restarts (and its sessions being ended): it
                // waits for the store again, as it would for the hub that writes.
                Err(Failure::Connect(why) | Failure::Lost(why)) if target.is_standby() => {
                    if !told {
                        tracing::warn!(url, %why, "standby: lost PostgreSQL while waiting to take the store over; trying again");
                        told = true;
                    }
                    std::thread::sleep(STANDBY_RETRY);
                    waiting();
                }
                Err(failure) => return Err(failure.into_store(url)),
            }
        };
        tracing::info!(
            url = target.redacted(),
            epoch,
            "this hub writes to the store"
        );
        let epoch = Arc::new(AtomicI64::new(epoch));
        Ok(PostgresStore {
            target: target.clone(),
            purpose: Purpose::Writer,
            link: RefCell::new(Some(link)),
            _heartbeat: Some(Heartbeat::start(target, epoch.clone())),
            epoch,
        })
    }

    /// The database, for messages (password hidden).
    pub fn url(&self) -> &str {
        self.target.redacted()
    }

    /// One try of `request` on the connection, connecting first if there is none; a
    /// connection that broke is dropped (the next try makes a new one).
    fn attempt<T>(
        &self,
        request: &mut dyn FnMut(&mut Link) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let mut slot = self.link.borrow_mut();
        if slot.as_ref().is_none_or(|link| link.client.is_closed()) {
            *slot = None;
            *slot = Some(match self.purpose {
                // Back only if no other hub has written since (see `lease`).
                Purpose::Writer => {
                    let mine = self.epoch.load(Ordering::Acquire);
                    Link::connect_writer(&self.target, Some(mine), false, &mut || {})?.0
                }
                purpose => Link::connect(&self.target, purpose)?,
            });
        }
        let Some(link) = slot.as_mut() else {
            return Err(Failure::Connect("no connection".into()));
        };
        let result = request(link);
        if let Err(Failure::Lost(why)) = &result {
            tracing::warn!(url = self.url(), %why, "the connection to PostgreSQL broke");
            *slot = None;
        }
        result
    }

    /// A request that changes nothing or may be repeated: asked again, once, on a new
    /// connection if the first broke.
    fn retried<T>(
        &self,
        mut request: impl FnMut(&mut Link) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        match self.attempt(&mut request) {
            Err(Failure::Lost(_)) => self.attempt(&mut request),
            other => other,
        }
        .map_err(|f| f.into_store(self.url()))
    }

    /// Check that the database answers (readiness), connecting again if need be.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.retried(|link| link.block(link.client.simple_query("SELECT 1")).map(drop))
    }

    /// One try of an append; see [`EventLog::append`].
    fn try_append(&self, rows: &AppendRows, at: i64, token: i64) -> Result<(), Failure> {
        self.attempt(&mut |link| {
            let statement = link.statement(APPEND)?;
            let params: [&(dyn ToSql + Sync); 20] = [
                &at,
                &rows.kinds,
                &rows.conversations,
                &rows.bodies,
                &rows.principals,
                &rows.ids,
                &rows.codes,
                &rows.messages,
                &token,
                &rows.sequence_principals,
                &rows.producers,
                &rows.lasts,
                &rows.windows,
                &rows.refusals,
                &rows.streams,
                &rows.firsts,
                &rows.lasts_seqs,
                &rows.frames,
                &rows.pruned_streams,
                &rows.pruned_below,
            ];
            link.block(link.client.execute(&statement, &params))
                .map(drop)
        })
    }

    /// After a broken append: whether it was stored. Reconnecting takes the writer lock, so
    /// the session that sent it has ended and its transaction is over either way.
    fn stored(&self, token: i64) -> Result<bool, StoreError> {
        self.retried(|link| {
            let row = link.block(link.client.query_one("SELECT token FROM last_append", &[]))?;
            Ok(row.get::<_, i64>(0) == token)
        })
    }
}

/// No parameters, for `query_raw`.
fn no_params() -> std::iter::Empty<&'static (dyn ToSql + Sync)> {
    std::iter::empty()
}

/// PostgreSQL text cannot hold a NUL: in columns nothing reads back exactly (a fact's
/// conversation, a refusal's message), it becomes U+FFFD.
fn text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// An append's rows as the arrays the statement unnests.
struct AppendRows<'a> {
    kinds: Vec<&'static str>,
    conversations: Vec<Option<Cow<'a, str>>>,
    bodies: Vec<String>,
    principals: Vec<&'a [u8]>,
    ids: Vec<&'a [u8]>,
    codes: Vec<Option<Cow<'a, str>>>,
    messages: Vec<Option<Cow<'a, str>>>,
    sequence_principals: Vec<&'a [u8]>,
    producers: Vec<&'a [u8]>,
    lasts: Vec<i64>,
    windows: Vec<Vec<u8>>,
    refusals: Vec<String>,
    streams: Vec<&'a str>,
    firsts: Vec<i64>,
    lasts_seqs: Vec<i64>,
    frames: Vec<String>,
    pruned_streams: Vec<&'a str>,
    pruned_below: Vec<i64>,
}

impl<'a> AppendRows<'a> {
    fn new(
        facts: &'a [Fact],
        commands: &'a [CommandRecord],
        sequences: &'a [ClientSequence],
        streams: StreamChanges<'a>,
    ) -> Result<Self, StoreError> {
        let frames = streams.frames;
        let mut rows = AppendRows {
            kinds: Vec::with_capacity(facts.len()),
            conversations: Vec::with_capacity(facts.len()),
            bodies: Vec::with_capacity(facts.len()),
            principals: Vec::with_capacity(commands.len()),
            ids: Vec::with_capacity(commands.len()),
            codes: Vec::with_capacity(commands.len()),
            messages: Vec::with_capacity(commands.len()),
            sequence_principals: Vec::with_capacity(sequences.len()),
            producers: Vec::with_capacity(sequences.len()),
            lasts: Vec::with_capacity(sequences.len()),
            windows: Vec::with_capacity(sequences.len()),
            refusals: Vec::with_capacity(sequences.len()),
            streams: Vec::with_capacity(frames.len()),
            firsts: Vec::with_capacity(frames.len()),
            lasts_seqs: Vec::with_capacity(frames.len()),
            frames: Vec::with_capacity(frames.len()),
            pruned_streams: Vec::new(),
            pruned_below: Vec::new(),
        };
        for fact in facts {
            rows.kinds.push(fact.kind());
            rows.conversations.push(fact.conversation().map(text));
            rows.bodies.push(
                serde_json::to_string(fact)
                    .map_err(|e| StoreError::Invalid(format!("cannot encode fact: {e}")))?,
            );
        }
        // One row per command, the last record of it (one statement cannot upsert a key twice).
        let mut last: HashMap<(&str, &str), usize> = HashMap::with_capacity(commands.len());
        for (i, c) in commands.iter().enumerate() {
            last.insert((&c.principal, &c.id), i);
        }
        for (i, c) in commands.iter().enumerate() {
            if last.get(&(c.principal.as_str(), c.id.as_str())) != Some(&i) {
                continue;
            }
            rows.principals.push(c.principal.as_bytes());
            rows.ids.push(c.id.as_bytes());
            match &c.result {
                CommandResult::Ok => {
                    rows.codes.push(None);
                    rows.messages.push(None);
                }
                CommandResult::Refused { code, message } => {
                    rows.codes.push(Some(text(code)));
                    rows.messages.push(Some(text(message)));
                }
            }
        }
        // Likewise one row per client run: the later state of it wins.
        let mut latest: HashMap<(&str, &str), usize> = HashMap::with_capacity(sequences.len());
        for (i, q) in sequences.iter().enumerate() {
            latest.insert((&q.principal, &q.producer), i);
        }
        for (i, q) in sequences.iter().enumerate() {
            if latest.get(&(q.principal.as_str(), q.producer.as_str())) != Some(&i) {
                continue;
            }
            rows.sequence_principals.push(q.principal.as_bytes());
            rows.producers.push(q.producer.as_bytes());
            rows.lasts
                .push(i64::try_from(q.last).map_err(|_| {
                    StoreError::Invalid(format!("cseq {} is out of range", q.last))
                })?);
            rows.windows.push(q.applied.to_bytes());
            rows.refusals.push(
                serde_json::to_string(&q.refused)
                    .map_err(|e| StoreError::Invalid(format!("cannot encode refusals: {e}")))?,
            );
        }
        // One row per stream: the runs of coalesced batches follow each other.
        let mut row_of: HashMap<&str, usize> = HashMap::with_capacity(frames.len());
        for run in frames {
            let first = seq_param(run.first)?;
            let next = seq_param(run.first + run.frames.len() as u64)?;
            let row = row_of.get(run.stream.as_str()).copied();
            let text = match row {
                Some(i) if rows.lasts_seqs[i] + 1 == first => {
                    rows.lasts_seqs[i] = next - 1;
                    &mut rows.frames[i]
                }
                _ => {
                    row_of.insert(&run.stream, rows.streams.len());
                    rows.streams.push(&run.stream);
                    rows.firsts.push(first);
                    rows.lasts_seqs.push(next - 1);
                    rows.frames.push(String::new());
                    rows.frames.last_mut().expect("just pushed")
                }
            };
            for frame in &run.frames {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(frame.as_str());
            }
        }
        // A stream that crossed a multiple of the window drops what is a window behind that.
        let window = shiftdesk_protocol::RESUME_WINDOW as i64;
        for (i, stream) in rows.streams.iter().enumerate() {
            let (first, last) = (rows.firsts[i], rows.lasts_seqs[i]);
            if last / window > (first - 1) / window {
                rows.pruned_streams.push(stream);
                rows.pruned_below.push(last / window * window - window);
            }
        }
        // A stream let go of loses every frame.
        for stream in streams.forgotten {
            rows.pruned_streams.push(stream);
            rows.pruned_below.push(i64::MAX);
        }
        Ok(rows)
    }
}

/// A stream seq as PostgreSQL's bigint.
fn seq_param(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Invalid(format!("stream seq {seq} is out of range")))
}

impl EventLog for PostgresStore {
    fn append(
        &mut self,
        facts: &[Fact],
        commands: &[CommandRecord],
        sequences: &[ClientSequence],
        at: Millis,
    ) -> Result<(), StoreError> {
        self.append_with_frames(facts, commands, sequences, StreamChanges::default(), at)
    }

    /// One statement (one transaction), durable when it returns. A stream that crosses a
    /// multiple of the resume window loses what is a window behind that, and a stream let go
    /// of loses every frame. A connection that breaks on the way is made again, and the append
    /// sent once more only if it is certainly not stored (see the module's doc).
    fn append_with_frames(
        &mut self,
        facts: &[Fact],
        commands: &[CommandRecord],
        sequences: &[ClientSequence],
        streams: StreamChanges<'_>,
        at: Millis,
    ) -> Result<(), StoreError> {
        if facts.is_empty()
            && commands.is_empty()
            && sequences.is_empty()
            && streams.frames.is_empty()
            && streams.forgotten.is_empty()
        {
            return Ok(());
        }
        let rows = AppendRows::new(facts, commands, sequences, streams)?;
        // Nonzero: `last_append` starts at 0.
        let token = rand::random::<i64>() | 1;
        let mut sent = 0;
        loop {
            sent += 1;
            match self.try_append(&rows, at as i64, token) {
                Ok(()) => return Ok(()),
                Err(Failure::Lost(why)) => {
                    if self.stored(token)? {
                        tracing::warn!(
                            url = self.url(),
                            "an append was stored before the connection broke"
                        );
                        return Ok(());
                    }
                    if sent >= 2 {
                        return Err(Failure::Lost(why).into_store(self.url()));
                    }
                    tracing::warn!(
                        url = self.url(),
                        "an append was not stored before the connection broke; sending it again"
                    );
                }
                Err(failure) => return Err(failure.into_store(self.url())),
            }
        }
    }

    /// Read in chunks of [`LOAD_CHUNK`] facts by `seq`. The limit is written into the
    /// statement so that every plan of it, generic ones included, walks the index from
    /// `after`: without it PostgreSQL's generic plan for `seq > $1` (used once a prepared
    /// statement has run a few times) was a parallel scan of the whole table, which a standby
    /// following the log ran a few times a second.
    fn load_after(&self, after: i64) -> Result<Vec<(i64, Fact)>, StoreError> {
        let mut facts = Vec::new();
        let mut last = after;
        loop {
            let before = facts.len();
            self.retried(|link| {
                let statement = link.statement(LOAD_AFTER)?;
                let Link {
                    runtime, client, ..
                } = link;
                runtime.block_on(async {
                    facts.truncate(before);
                    let rows = timed(client.query_raw(&statement, [&last])).await?;
                    let mut rows = pin!(rows);
                    while let Some(row) = timed(async { rows.next().await.transpose() }).await? {
                        let seq: i64 = row.get(0);
                        let body: &str = row.get(1);
                        let fact = serde_json::from_str(body).map_err(|e| {
                            Failure::Failed(StoreError::Corrupt {
                                seq,
                                message: e.to_string(),
                            })
                        })?;
                        facts.push((seq, fact));
                    }
                    Ok(())
                })
            })?;
            let read = facts.len() - before;
            match facts.last() {
                Some((seq, _)) if read == LOAD_CHUNK => last = *seq,
                _ => return Ok(facts),
            }
        }
    }
}

impl CommandLedger for PostgresStore {
    fn command_result(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Option<CommandResult>, StoreError> {
        let row = self.retried(|link| {
            let statement = link.statement(COMMAND_RESULT)?;
            link.block(
                link.client
                    .query_opt(&statement, &[&principal.as_bytes(), &id.as_bytes()]),
            )
        })?;
        Ok(row.map(|row| match row.get::<_, Option<String>>(0) {
            None => CommandResult::Ok,
            Some(code) => CommandResult::Refused {
                code,
                message: row.get::<_, Option<String>>(1).unwrap_or_default(),
            },
        }))
    }

    fn client_sequence(
        &self,
        principal: &Principal,
        producer: &str,
    ) -> Result<Option<ClientSequence>, StoreError> {
        let row = self.retried(|link| {
            let statement = link.statement(CLIENT_SEQUENCE)?;
            link.block(
                link.client
                    .query_opt(&statement, &[&principal.as_bytes(), &producer.as_bytes()]),
            )
        })?;
        let Some(row) = row else {
            return Ok(None);
        };
        let invalid = |what: String| {
            StoreError::Invalid(format!(
                "the stored sequence of {principal}/{producer} is not valid: {what}"
            ))
        };
        let window: &[u8] = row.get(1);
        let applied = AppliedWindow::from_bytes(window)
            .ok_or_else(|| invalid(format!("a window of {} bytes", window.len())))?;
        let refused: Vec<RefusedCommand> =
            serde_json::from_str(row.get::<_, &str>(2)).map_err(|e| invalid(e.to_string()))?;
        Ok(Some(ClientSequence {
            principal: principal.to_string(),
            producer: producer.to_string(),
            last: u64::try_from(row.get::<_, i64>(0)).map_err(|e| invalid(e.to_string()))?,
            applied,
            refused,
        }))
    }

    fn command_keys(&self, each: &mut dyn FnMut(&str, &str)) -> Result<bool, StoreError> {
        // Not retried: `each` may have seen part of the list (asking twice is harmless for a
        // Bloom filter, but a caller need not know that).
        self.attempt(&mut |link| {
            let Link {
                runtime, client, ..
            } = link;
            runtime.block_on(async {
                let rows =
                    timed(client.query_raw("SELECT principal, id FROM commands", no_params()))
                        .await?;
                let mut rows = pin!(rows);
                while let Some(row) = timed(async { rows.next().await.transpose() }).await? {
                    let principal = String::from_utf8_lossy(row.get::<_, &[u8]>(0));
                    let id = String::from_utf8_lossy(row.get::<_, &[u8]>(1));
                    each(&principal, &id);
                }
                Ok(true)
            })
        })
        .map_err(|f| f.into_store(self.url()))
    }
}

/// A row of `workers` (its [`WORKER_COLUMNS`]) as a stored worker.
fn row_to_worker(row: &tokio_postgres::Row) -> Result<StoredWorker, Failure> {
    let capacity = u32::try_from(row.get::<_, i64>(5)).map_err(|_| {
        Failure::Failed(StoreError::Invalid(format!(
            "worker `{}` has a capacity out of range",
            row.get::<_, &str>(0)
        )))
    })?;
    Ok(StoredWorker::from(WorkerColumns {
        id: row.get(0),
        name: row.get(1),
        role: row.get(2),
        languages: row.get(3),
        skills: row.get(4),
        capacity,
        created_at: row.get(6),
    }))
}

impl Accounts for PostgresStore {
    fn add_worker(
        &mut self,
        info: &WorkerInfo,
        token_hash: &str,
        at: Millis,
    ) -> Result<(), StoreError> {
        let (role, languages, skills) = worker_text_columns(info);
        let (capacity, at) = (i64::from(info.capacity), at as i64);
        // Not retried: a worker added just before the connection broke would be refused as a
        // duplicate the second time.
        let added = self.attempt(&mut |link| {
            link.block(link.client.execute(
                "INSERT INTO workers (id, name, role, languages, skills, capacity, token_hash, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[&info.id, &info.name, &role, &languages, &skills, &capacity, &token_hash, &at],
            ))
        });
        match added {
            Ok(_) => Ok(()),
            Err(Failure::Refused {
                code: Some(code),
                constraint,
                ..
            }) if code == SqlState::UNIQUE_VIOLATION
                && constraint.as_deref() == Some("workers_pkey") =>
            {
                Err(StoreError::Invalid(format!(
                    "a worker with id `{}` already exists",
                    info.id
                )))
            }
            Err(f) => Err(f.into_store(self.url())),
        }
    }

    fn set_token(&mut self, worker: &str, token_hash: &str) -> Result<(), StoreError> {
        let changed = self.retried(|link| {
            link.block(link.client.execute(
                "UPDATE workers SET token_hash = $1 WHERE id = $2",
                &[&token_hash, &worker],
            ))
        })?;
        if changed == 0 {
            return Err(StoreError::Invalid(format!("no worker with id `{worker}`")));
        }
        Ok(())
    }

    fn worker_by_token(&self, token_hash: &str) -> Result<Option<StoredWorker>, StoreError> {
        self.retried(|link| {
            let statement = link.statement(
                "SELECT id, name, role, languages, skills, capacity, created_at
                 FROM workers WHERE token_hash = $1",
            )?;
            link.block(link.client.query_opt(&statement, &[&token_hash]))?
                .as_ref()
                .map(row_to_worker)
                .transpose()
        })
    }

    fn workers(&self) -> Result<Vec<StoredWorker>, StoreError> {
        self.retried(|link| {
            let sql = format!("SELECT {WORKER_COLUMNS} FROM workers ORDER BY id");
            link.block(link.client.query(&sql, &[]))?
                .iter()
                .map(row_to_worker)
                .collect()
        })
    }

    fn workers_summary(&self) -> Result<(u64, Millis), StoreError> {
        let row = self.retried(|link| {
            link.block(link.client.query_one(
                "SELECT count(*), coalesce(max(created_at), 0) FROM workers",
                &[],
            ))
        })?;
        let (count, newest): (i64, i64) = (row.get(0), row.get(1));
        Ok((count.max(0) as u64, newest.max(0) as Millis))
    }

    fn workers_added_since(&self, since: Millis) -> Result<Vec<StoredWorker>, StoreError> {
        let since = i64::try_from(since).unwrap_or(i64::MAX);
        self.retried(|link| {
            let sql = format!("SELECT {WORKER_COLUMNS} FROM workers WHERE created_at >= $1");
            link.block(link.client.query(&sql, &[&since]))?
                .iter()
                .map(row_to_worker)
                .collect()
        })
    }
}

impl EventStore for PostgresStore {
    fn appender(&self) -> Result<Box<dyn EventLog>, StoreError> {
        Ok(Box::new(PostgresStore::open_writer(
            &self.target,
            &mut || {},
        )?))
    }

    fn appender_waiting(&self, waiting: &mut dyn FnMut()) -> Result<Box<dyn EventLog>, StoreError> {
        Ok(Box::new(PostgresStore::open_writer(&self.target, waiting)?))
    }

    /// Streams outlive a hub here: another hub takes the store over, and its clients resume.
    fn stream_origin(&self) -> Result<Option<String>, StoreError> {
        let row = self.retried(|link| {
            link.block(link.client.query_one("SELECT streams FROM hub_lease", &[]))
        })?;
        Ok(Some(row.get(0)))
    }

    /// One look in the primary key's index, from its end.
    fn stream_head(&self, stream: &str) -> Result<u64, StoreError> {
        let row = self.retried(|link| {
            let statement = link.statement(STREAM_HEAD)?;
            link.block(link.client.query_opt(&statement, &[&stream]))
        })?;
        Ok(row.map_or(0, |row| row.get::<_, i64>(0).max(0) as u64))
    }

    fn stream_frames(
        &self,
        stream: &str,
        after: u64,
        up_to: u64,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        let bound = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let (from, to) = (bound(after), bound(up_to));
        let rows = self.retried(|link| {
            let statement = link.statement(STREAM_FRAMES)?;
            link.block(link.client.query(&statement, &[&stream, &from, &to]))
        })?;
        let mut frames = Vec::new();
        for row in &rows {
            let first = row.get::<_, i64>(0).max(0) as u64;
            let text: &str = row.get(1);
            frames.extend(
                (first..)
                    .zip(text.split('\n'))
                    .filter(|(seq, _)| *seq > after && *seq <= up_to)
                    .map(|(seq, frame)| (seq, frame.to_string())),
            );
        }
        Ok(frames)
    }
}
