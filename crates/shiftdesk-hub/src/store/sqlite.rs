//! SQLite event log: one file in the data dir, WAL mode, so exports can read while the hub
//! writes. `synchronous=FULL` makes an acknowledged fact survive a crash of the process and of
//! the machine.
//!
//! The WAL is checkpointed into the database by a thread of its own ([`Checkpointer`]), not by
//! the commit that happens to fill it: a checkpoint copies megabytes and syncs the database
//! file, and done inside a commit it held up every frame waiting on that commit (the relay
//! benchmark's p99 at half load was a checkpoint).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::{
    Accounts, AppliedWindow, ClientSequence, CommandLedger, CommandRecord, CommandResult, EventLog,
    EventStore, Principal, RefusedCommand, StoreError, StoredWorker,
};
use crate::facts::Fact;
use crate::store::{WorkerColumns, worker_text_columns};
use shiftdesk_protocol::{Millis, WorkerInfo};

pub const DB_FILE: &str = "shiftdesk.db";

pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// Set for a store opened for writing.
    _checkpointer: Option<Checkpointer>,
    /// Set by the checkpointer when the WAL has grown too long: the next append finishes a
    /// checkpoint itself (see [`REWIND_AT_FRAMES`]). Shared with the appenders.
    rewind: Arc<AtomicBool>,
    /// Rows in `command_log` (see [`INDEX_COMMANDS_AT`]), as this connection last counted them.
    unindexed: usize,
}

/// Command ids are appended to `command_log`, which has no index, and moved into the indexed
/// `commands` table in bulk, sorted, once this many have gathered, inside the append that
/// reaches it. Indexed one by one as they came, each dirtied a page of the index (it is keyed
/// by client, so a group commit of 30 lines from 30 clients wrote 30 pages of it). In bulk, a
/// page takes all its new keys at once, so a commit writes fewer WAL pages; the CPU the
/// inserts take stays (leaving the commands out altogether, as an experiment, raised the
/// relay's maximum from about 40,000 to 55,000 lines/s; this design measured within the
/// noise of the old one). A lookup reads both tables; the log part is a scan of at most this
/// many rows, and the engine asks only for ids its Bloom filter may have seen (retries, and
/// fewer than two new ids in ten thousand).
const INDEX_COMMANDS_AT: usize = 4096;

/// How often the WAL is copied into the database. Each checkpoint ends with a flush of the
/// database file, and on this benchmark machine's disk a commit's flush waits behind it, so
/// small, frequent checkpoints hold commits up least: in the relay benchmark at half load, the
/// hub's p99 was 21–49 ms with a checkpoint every 0.5–2 s and 8–10 ms with one every 100 ms.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// How long the WAL may grow (in 4 KiB pages) before the writer finishes a checkpoint itself.
///
/// The checkpointer copies the WAL into the database in the background, but under steady load
/// a commit always lands while it works, so the WAL never starts over: it grew by a gigabyte in
/// a minute of the relay benchmark, and every flush had to extend the file. Only a checkpoint
/// with no commit under way can copy the last frames and let the next commit start the WAL
/// again from its beginning; so when the WAL is this long, the writer runs one between two
/// commits (little is left to copy by then).
const REWIND_AT_FRAMES: i64 = 16 * 1024;

/// Checkpoints the WAL from its own connection and thread until dropped. A passive checkpoint
/// never blocks the writer; what it cannot copy yet waits for the next one.
struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path, rewind: Arc<AtomicBool>) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    match passive_checkpoint(&conn) {
                        Ok(frames) if frames >= REWIND_AT_FRAMES => {
                            rewind.store(true, Ordering::Release);
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!("WAL checkpoint failed (retried shortly): {e}"),
                    }
                }
                // A last one on the way out, so a stopped hub leaves a small WAL behind.
                let _ = passive_checkpoint(&conn);
            })
            .map_err(|e| StoreError::Invalid(format!("cannot start the WAL checkpointer: {e}")))?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

const SCHEMA: &str = "
-- `seq` is the rowid: one more than the largest, and no event is ever deleted. (Stores made
-- before 2026-12-07 declare it AUTOINCREMENT, which numbers the same here but also rewrites a
-- page of `sqlite_sequence` in every commit: a third of a one-line commit's WAL.)
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    conversation TEXT,
    body TEXT NOT NULL
);
-- Stores before 2026-11-30 indexed events by conversation; nothing reads by it, and keeping it
-- up cost every append a write in a random place.
DROP INDEX IF EXISTS events_conversation;
CREATE TABLE IF NOT EXISTS commands (
    principal TEXT NOT NULL,
    id TEXT NOT NULL,
    code TEXT,
    message TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (principal, id)
);
-- Commands not yet in `commands`: appended without an index, moved over in bulk.
CREATE TABLE IF NOT EXISTS command_log (
    principal TEXT NOT NULL,
    id TEXT NOT NULL,
    code TEXT,
    message TEXT,
    at INTEGER NOT NULL
);
-- Where each client run is in its command sequence: one row per (principal, producer),
-- replaced in place by each commit that moves it (PROTOCOL.md 3.2): the highest number
-- applied, which of the 1,024 below it were (a bitmap), and the refusals among them (JSON).
CREATE TABLE IF NOT EXISTS client_sequences (
    principal TEXT NOT NULL,
    producer TEXT NOT NULL,
    last INTEGER NOT NULL,
    applied BLOB NOT NULL,
    refused TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (principal, producer)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    languages TEXT NOT NULL,
    skills TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
";

impl SqliteStore {
    /// Open (creating if needed) the store in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Invalid(format!(
                "cannot create data dir {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(DB_FILE);
        let conn = writing_connection(&path)?;
        conn.execute_batch(SCHEMA)?;
        let rewind = Arc::new(AtomicBool::new(false));
        let checkpointer = Checkpointer::start(&path, rewind.clone())?;
        let unindexed = unindexed(&conn)?;
        Ok(SqliteStore {
            conn,
            path,
            _checkpointer: Some(checkpointer),
            rewind,
            unindexed,
        })
    }

    /// A second connection to this store for appending from another thread (the first keeps
    /// reading; WAL lets both go on at once). It does not checkpoint: this store's
    /// checkpointer does.
    pub fn open_appender(&self) -> Result<SqliteStore, StoreError> {
        let conn = writing_connection(&self.path)?;
        let unindexed = unindexed(&conn)?;
        Ok(SqliteStore {
            conn,
            path: self.path.clone(),
            _checkpointer: None,
            rewind: self.rewind.clone(),
            unindexed,
        })
    }

    /// Open an existing store for writing; unlike [`SqliteStore::open`] it never creates one.
    pub fn open_existing(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        if !data_dir.join(DB_FILE).exists() {
            return Err(StoreError::Invalid(format!(
                "no shiftdesk store at {} (is --data-dir right?)",
                data_dir.join(DB_FILE).display()
            )));
        }
        SqliteStore::open(data_dir)
    }

    /// Open an existing store read-only (exports while the hub runs).
    pub fn open_read_only(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        let path = data_dir.join(DB_FILE);
        if !path.exists() {
            return Err(StoreError::Invalid(format!(
                "no shiftdesk store at {} (is --data-dir right?)",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(SqliteStore {
            conn,
            path,
            _checkpointer: None,
            rewind: Arc::new(AtomicBool::new(false)),
            unindexed: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for copying the store elsewhere (`admin migrate-store`).
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Copy what the WAL holds into the database as far as no reader or writer is in the way;
/// returns how many frames the WAL has.
fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<i64> {
    // (busy, frames in the WAL, frames copied)
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
}

/// How many commands wait in `command_log` to be indexed.
fn unindexed(conn: &Connection) -> rusqlite::Result<usize> {
    conn.query_row("SELECT count(*) FROM command_log", [], |row| row.get(0))
}

/// A connection that writes durably: WAL, a flush on every commit, no checkpoints of its own.
fn writing_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Checkpoints are the checkpointer's job, never a commit's.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // When the WAL starts over, a file grown past this under load is cut back.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    // 32 MB of pages in memory (the default is 2 MB): the commands index is written all over
    // (in bulk, but still a page per client), and a page not held here is read back from the
    // OS whenever a commit touches it.
    conn.pragma_update(None, "cache_size", -32 * 1024)?;
    Ok(conn)
}

fn row_to_worker(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredWorker> {
    let role: String = row.get(2)?;
    let languages: String = row.get(3)?;
    let skills: String = row.get(4)?;
    Ok(StoredWorker::from(WorkerColumns {
        id: row.get(0)?,
        name: row.get(1)?,
        role: &role,
        languages: &languages,
        skills: &skills,
        capacity: row.get(5)?,
        created_at: row.get(6)?,
    }))
}

const WORKER_COLUMNS: &str = "id, name, role, languages, skills, capacity, created_at";

impl EventLog for SqliteStore {
    fn append(
        &mut self,
        facts: &[Fact],
        commands: &[CommandRecord],
        sequences: &[ClientSequence],
        at: Millis,
    ) -> Result<(), StoreError> {
        if facts.is_empty() && commands.is_empty() && sequences.is_empty() {
            return Ok(());
        }
        let unindexed = self.unindexed + commands.len();
        let index_now = unindexed >= INDEX_COMMANDS_AT;
        let tx = Transaction::begin(&self.conn)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (at, kind, conversation, body) VALUES (?1, ?2, ?3, ?4)",
            )?;
            // One buffer for the whole batch: SQLite copies the text when it binds it.
            let mut body = Vec::new();
            for fact in facts {
                body.clear();
                serde_json::to_writer(&mut body, fact)
                    .map_err(|e| StoreError::Invalid(format!("cannot encode fact: {e}")))?;
                let body = std::str::from_utf8(&body)
                    .map_err(|e| StoreError::Invalid(format!("cannot encode fact: {e}")))?;
                insert.execute(params![at as i64, fact.kind(), fact.conversation(), body])?;
            }
            let mut remember = tx.prepare_cached(
                "INSERT INTO command_log (principal, id, code, message, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for CommandRecord {
                principal,
                id,
                result,
            } in commands
            {
                let (code, message) = match result {
                    CommandResult::Ok => (None, None),
                    CommandResult::Refused { code, message } => {
                        (Some(code.as_str()), Some(message.as_str()))
                    }
                };
                remember.execute(params![principal, id, code, message, at as i64])?;
            }
            let mut advance = tx.prepare_cached(
                "INSERT OR REPLACE INTO client_sequences
                     (principal, producer, last, applied, refused, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for sequence in sequences {
                let refused = if sequence.refused.is_empty() {
                    "[]".to_string()
                } else {
                    serde_json::to_string(&sequence.refused)
                        .map_err(|e| StoreError::Invalid(format!("cannot encode refusals: {e}")))?
                };
                advance.execute(params![
                    sequence.principal,
                    sequence.producer,
                    sequence.last as i64,
                    sequence.applied.to_bytes(),
                    refused,
                    at as i64
                ])?;
            }
            if index_now {
                // Sorted, so each page of the index is written once for all its new keys; by
                // rowid within a key, so the later of two records of one command wins.
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO commands (principal, id, code, message, at)
                     SELECT principal, id, code, message, at FROM command_log
                     ORDER BY principal, id, rowid",
                )?
                .execute([])?;
                tx.prepare_cached("DELETE FROM command_log")?.execute([])?;
            }
        }
        tx.commit()?;
        // Counted only once the transaction is in: a failed one changed nothing.
        self.unindexed = if index_now { 0 } else { unindexed };
        if self.rewind.swap(false, Ordering::AcqRel) {
            // Not an error for this append, which is stored: the next one tries again.
            if let Err(e) = passive_checkpoint(&self.conn) {
                tracing::warn!("WAL checkpoint failed (retried shortly): {e}");
            }
        }
        Ok(())
    }

    fn load_after(&self, after: i64) -> Result<Vec<(i64, Fact)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, body FROM events WHERE seq > ?1 ORDER BY seq")?;
        let rows = stmt.query_map([after], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut facts = Vec::new();
        for row in rows {
            let (seq, body) = row?;
            let fact = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                seq,
                message: e.to_string(),
            })?;
            facts.push((seq, fact));
        }
        Ok(facts)
    }
}

impl CommandLedger for SqliteStore {
    fn command_result(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Option<CommandResult>, StoreError> {
        // Prepared once, not parsed each time. The log part scans the few commands not yet
        // indexed (see `INDEX_COMMANDS_AT`); the later record of one command wins.
        let row = self
            .conn
            .prepare_cached(
                "SELECT code, message FROM (
                     SELECT code, message, 1 AS later, rowid AS n FROM command_log
                         WHERE principal = ?1 AND id = ?2
                     UNION ALL
                     SELECT code, message, 0, 0 FROM commands WHERE principal = ?1 AND id = ?2)
                 ORDER BY later DESC, n DESC LIMIT 1",
            )?
            .query_row(params![principal, id], |row| {
                Ok((
                    row.get::<_, Option<String>>(0)?,
                    row.get::<_, Option<String>>(1)?,
                ))
            })
            .optional()?;
        Ok(row.map(|(code, message)| match code {
            None => CommandResult::Ok,
            Some(code) => CommandResult::Refused {
                code,
                message: message.unwrap_or_default(),
            },
        }))
    }

    fn client_sequence(
        &self,
        principal: &Principal,
        producer: &str,
    ) -> Result<Option<ClientSequence>, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT last, applied, refused FROM client_sequences
                 WHERE principal = ?1 AND producer = ?2",
            )?
            .query_row(params![principal, producer], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, Vec<u8>>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .optional()?;
        let Some((last, applied, refused)) = row else {
            return Ok(None);
        };
        let invalid = |what: String| {
            StoreError::Invalid(format!(
                "the stored sequence of {principal}/{producer} is not valid: {what}"
            ))
        };
        let applied = AppliedWindow::from_bytes(&applied)
            .ok_or_else(|| invalid(format!("a window of {} bytes", applied.len())))?;
        let refused: Vec<RefusedCommand> =
            serde_json::from_str(&refused).map_err(|e| invalid(e.to_string()))?;
        Ok(Some(ClientSequence {
            principal: principal.to_string(),
            producer: producer.to_string(),
            last: last as u64,
            applied,
            refused,
        }))
    }

    fn command_keys(&self, each: &mut dyn FnMut(&str, &str)) -> Result<bool, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT principal, id FROM commands UNION ALL SELECT principal, id FROM command_log",
        )?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let principal: &str = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
            let id: &str = row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
            each(principal, id);
        }
        Ok(true)
    }
}

impl Accounts for SqliteStore {
    fn add_worker(
        &mut self,
        info: &WorkerInfo,
        token_hash: &str,
        at: Millis,
    ) -> Result<(), StoreError> {
        let (role, languages, skills) = worker_text_columns(info);
        self.conn
            .execute(
                "INSERT INTO workers (id, name, role, languages, skills, capacity, token_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    info.id,
                    info.name,
                    role,
                    languages,
                    skills,
                    info.capacity,
                    token_hash,
                    at as i64
                ],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StoreError::Invalid(format!("a worker with id `{}` already exists", info.id))
                }
                e => StoreError::from(e),
            })?;
        Ok(())
    }

    fn set_token(&mut self, worker: &str, token_hash: &str) -> Result<(), StoreError> {
        let changed = self.conn.execute(
            "UPDATE workers SET token_hash = ?1 WHERE id = ?2",
            params![token_hash, worker],
        )?;
        if changed == 0 {
            return Err(StoreError::Invalid(format!("no worker with id `{worker}`")));
        }
        Ok(())
    }

    fn worker_by_token(&self, token_hash: &str) -> Result<Option<StoredWorker>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {WORKER_COLUMNS} FROM workers WHERE token_hash = ?1"
            ))?
            .query_row(params![token_hash], row_to_worker)
            .optional()?)
    }

    fn workers(&self) -> Result<Vec<StoredWorker>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {WORKER_COLUMNS} FROM workers ORDER BY id"))?;
        let rows = stmt.query_map([], row_to_worker)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl EventStore for SqliteStore {
    fn appender(&self) -> Result<Box<dyn EventLog>, StoreError> {
        Ok(Box::new(self.open_appender()?))
    }
}

/// A write transaction whose BEGIN and COMMIT are prepared once. rusqlite's own
/// (`Connection::transaction`) parses both from text in every append: callgrind counted about
/// 7,000 instructions a relayed line for it, when most commits hold one line. Dropped without
/// [`Transaction::commit`], it rolls back.
struct Transaction<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> Transaction<'c> {
    fn begin(conn: &'c Connection) -> rusqlite::Result<Transaction<'c>> {
        conn.prepare_cached("BEGIN")?.execute([])?;
        Ok(Transaction { conn, open: true })
    }

    fn commit(mut self) -> rusqlite::Result<()> {
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for Transaction<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        // Not committed (an error on the way, or a failed COMMIT): nothing of it stays. If
        // SQLite already ended the transaction itself, the ROLLBACK fails, harmlessly.
        if self.open
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
            && !self.conn.is_autocommit()
        {
            tracing::warn!("could not roll back a failed append: {e}");
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Db(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiftdesk_protocol::WorkerStatus;

    /// With automatic checkpoints off, the checkpointer thread copies the log into the
    /// database while the store is open; a closed store leaves no WAL behind, and reopening
    /// finds every fact.
    #[test]
    fn the_checkpointer_folds_the_wal_into_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let facts: Vec<Fact> = (0..2_000)
            .map(|i| Fact::StatusChanged {
                worker: format!("w{i}"),
                status: WorkerStatus::Available,
                at: i,
            })
            .collect();
        {
            let mut store = SqliteStore::open(dir.path()).unwrap();
            for batch in facts.chunks(100) {
                store.append(batch, &[], &[], 1).unwrap();
            }
            let wal = std::fs::metadata(dir.path().join(format!("{DB_FILE}-wal"))).unwrap();
            assert!(wal.len() > 0, "commits go to the WAL first");
            // The database file holds the facts only once a checkpoint has copied them.
            let db_size = || std::fs::metadata(dir.path().join(DB_FILE)).unwrap().len();
            let before = db_size();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while db_size() <= before {
                assert!(
                    std::time::Instant::now() < deadline,
                    "no checkpoint while the store was open"
                );
                std::thread::sleep(CHECKPOINT_EVERY / 5);
            }
        }
        let wal = dir.path().join(format!("{DB_FILE}-wal"));
        assert!(
            std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
            "a closed store leaves its WAL checkpointed and removed"
        );
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.load().unwrap(), facts);
    }

    /// A transaction dropped before its COMMIT leaves nothing behind, and the next append goes
    /// through; a new store numbers its events from 1 without `sqlite_sequence`.
    #[test]
    fn an_append_that_does_not_commit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path()).unwrap();
        let fact = |i: u64| Fact::StatusChanged {
            worker: format!("w{i}"),
            status: WorkerStatus::Available,
            at: i,
        };
        {
            let tx = Transaction::begin(&store.conn).unwrap();
            tx.execute(
                "INSERT INTO events (at, kind, conversation, body) VALUES (1, 'x', NULL, '{}')",
                [],
            )
            .unwrap();
        }
        assert!(store.conn.is_autocommit(), "rolled back");
        store.append(&[fact(1), fact(2)], &[], &[], 1).unwrap();
        assert_eq!(store.load().unwrap(), vec![fact(1), fact(2)]);
        let seqs: Vec<i64> = store
            .conn
            .prepare("SELECT seq FROM events ORDER BY seq")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(seqs, vec![1, 2]);
        let autoincrement: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(autoincrement, 0, "no page of sqlite_sequence to rewrite");
    }

    /// Command ids go to an unindexed log first and into the index in bulk once enough have
    /// gathered; a lookup finds them either way, the later record of one command wins, and a
    /// reopened store lists every id for its Bloom filter.
    #[test]
    fn commands_are_found_before_and_after_they_are_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let record = |i: usize, result: CommandResult| CommandRecord {
            principal: format!("c:{}", i % 7),
            id: format!("m{i}"),
            result,
        };
        let refused = || CommandResult::Refused {
            code: "conflict".into(),
            message: "already taken".into(),
        };
        {
            let store = SqliteStore::open(dir.path()).unwrap();
            let mut appender = store.open_appender().unwrap();
            let first: Vec<_> = (0..INDEX_COMMANDS_AT - 1)
                .map(|i| record(i, CommandResult::Ok))
                .collect();
            for chunk in first.chunks(100) {
                appender.append(&[], chunk, &[], 1).unwrap();
            }
            assert_eq!(unindexed(&store.conn).unwrap(), INDEX_COMMANDS_AT - 1);
            assert_eq!(
                store.command_result("c:3", "m3").unwrap(),
                Some(CommandResult::Ok)
            );
            assert_eq!(store.command_result("c:3", "m4").unwrap(), None);
            // The append that reaches the mark moves the log into the index; its own later
            // record of m3 replaces the first.
            appender
                .append(&[], &[record(3, refused())], &[], 2)
                .unwrap();
            assert_eq!(unindexed(&store.conn).unwrap(), 0);
            assert_eq!(store.command_result("c:3", "m3").unwrap(), Some(refused()));
            assert_eq!(
                store.command_result("c:5", "m5").unwrap(),
                Some(CommandResult::Ok)
            );
            // A later record in the log wins over the indexed one.
            appender
                .append(&[], &[record(5, refused())], &[], 3)
                .unwrap();
            assert_eq!(unindexed(&store.conn).unwrap(), 1);
            assert_eq!(store.command_result("c:5", "m5").unwrap(), Some(refused()));
            let fresh = record(INDEX_COMMANDS_AT + 10, CommandResult::Ok);
            appender
                .append(&[], std::slice::from_ref(&fresh), &[], 4)
                .unwrap();
            assert_eq!(
                store.command_result(&fresh.principal, &fresh.id).unwrap(),
                Some(CommandResult::Ok)
            );
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        let mut keys = std::collections::HashSet::new();
        assert!(
            store
                .command_keys(&mut |p, id| {
                    keys.insert((p.to_string(), id.to_string()));
                })
                .unwrap()
        );
        // Every id once, and m5 twice (indexed, and its later record in the log).
        assert_eq!(keys.len(), INDEX_COMMANDS_AT);
        assert_eq!(store.command_result("c:5", "m5").unwrap(), Some(refused()));
    }

    /// Told by the checkpointer that the WAL is long, the writer copies it all into the
    /// database between two commits (so the next commit starts the WAL over). Shown with no
    /// checkpointer at all: the database file alone then holds every fact appended so far.
    #[test]
    fn a_writer_told_the_wal_is_long_checkpoints_it_between_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        let conn = writing_connection(&path).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        // The tables (not yet any fact) in the database file itself.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        let mut writer = SqliteStore {
            conn,
            path: path.clone(),
            _checkpointer: None,
            rewind: Arc::new(AtomicBool::new(false)),
            unindexed: 0,
        };
        let fact = |i: u64| Fact::StatusChanged {
            worker: format!("w{i}"),
            status: WorkerStatus::Available,
            at: i,
        };
        // What the database file holds without its WAL.
        let in_database_file = || {
            let copy = dir.path().join("copy");
            std::fs::create_dir_all(&copy).unwrap();
            std::fs::copy(&path, copy.join(DB_FILE)).unwrap();
            let read = SqliteStore::open_read_only(&copy).unwrap().load().unwrap();
            std::fs::remove_dir_all(&copy).unwrap();
            read.len()
        };
        for i in 0..20 {
            writer.append(&[fact(i)], &[], &[], i).unwrap();
        }
        assert_eq!(in_database_file(), 0, "commits go to the WAL first");
        writer.rewind.store(true, Ordering::Release);
        writer.append(&[fact(20)], &[], &[], 20).unwrap();
        assert_eq!(in_database_file(), 21);
        assert!(
            !writer.rewind.load(Ordering::Acquire),
            "the request is taken"
        );
        writer.append(&[fact(21)], &[], &[], 21).unwrap();
        assert_eq!(in_database_file(), 21, "once per request");
        assert_eq!(writer.load().unwrap().len(), 22);
    }
}
