//! `shiftdesk admin migrate-store`: a SQLite store's whole history copied into an empty
//! PostgreSQL store.
//!
//! Events keep their sequence numbers, commands their results (the later record of a command
//! wins, as SQLite reads them), client runs their command sequences, workers their token hashes, so the hub started on PostgreSQL
//! goes on exactly where the SQLite one stopped: same conversations, same logins, retries still
//! recognised. The copy is one PostgreSQL transaction, sent in chunks of [`CHUNK`] rows, read
//! from one SQLite read transaction: either all of it is in PostgreSQL or none of it, and a
//! failed copy can simply be run again. Every fact is decoded on the way, so a damaged log is
//! found before anything is committed. It holds the writer lock, so a hub cannot be writing to
//! the target meanwhile.

use tokio_postgres::Transaction;

use super::super::choice::{OpenMode, PostgresTarget};
use super::super::{SqliteStore, StoreError};
use super::PostgresStore;
use super::link::{Failure, Link, timed};
use crate::facts::Fact;

/// Rows sent in one statement.
const CHUNK: usize = 5_000;

/// What a copy stored, as counted in PostgreSQL afterwards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Copied {
    pub events: i64,
    pub commands: i64,
    pub workers: i64,
    /// Client runs' command sequences (PROTOCOL.md 3.2).
    pub sequences: i64,
}

fn sqlite_failure(e: rusqlite::Error) -> Failure {
    Failure::Failed(StoreError::from(e))
}

/// Copy everything in `source` into the store at `target`, which must hold none yet (its
/// tables are created if need be). `progress` hears each chunk: the table and the rows so far.
pub fn copy_from_sqlite(
    source: &SqliteStore,
    target: &PostgresTarget,
    progress: &mut dyn FnMut(&str, usize),
) -> Result<Copied, StoreError> {
    let url = target.redacted();
    drop(PostgresStore::open(target, OpenMode::Create)?);
    let (mut link, _) =
        Link::connect_writer(target, None, false, &mut || {}).map_err(|f| f.into_store(url))?;
    let sqlite = source.connection();
    // One read transaction: the copy is of one moment of the SQLite store.
    sqlite.execute_batch("BEGIN")?;
    let Link {
        runtime, client, ..
    } = &mut link;
    let copied = runtime.block_on(async {
        let tx = timed(client.transaction()).await?;
        let before = count(&tx).await?;
        if before != Copied::default() {
            return Err(Failure::Failed(StoreError::Invalid(format!(
                "{url} already holds a shiftdesk store ({} events, {} commands, {} workers): \
                 migrate-store copies only into an empty one (a new database, or drop that \
                 one's tables)",
                before.events, before.commands, before.workers
            ))));
        }
        copy_events(sqlite, &tx, progress).await?;
        copy_commands(sqlite, &tx, progress).await?;
        copy_workers(sqlite, &tx).await?;
        copy_sequences(sqlite, &tx).await?;
        let copied = count(&tx).await?;
        timed(tx.commit()).await?;
        Ok(copied)
    });
    let _ = sqlite.execute_batch("COMMIT");
    copied.map_err(|f| f.into_store(url))
}

async fn count(tx: &Transaction<'_>) -> Result<Copied, Failure> {
    let row = timed(tx.query_one(
        "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM commands),
                (SELECT count(*) FROM workers), (SELECT count(*) FROM client_sequences)",
        &[],
    ))
    .await?;
    Ok(Copied {
        events: row.get(0),
        commands: row.get(1),
        workers: row.get(2),
        sequences: row.get(3),
    })
}

#[derive(Default)]
struct Events {
    seqs: Vec<i64>,
    ats: Vec<i64>,
    kinds: Vec<String>,
    conversations: Vec<Option<String>>,
    bodies: Vec<String>,
}

async fn copy_events(
    sqlite: &rusqlite::Connection,
    tx: &Transaction<'_>,
    progress: &mut dyn FnMut(&str, usize),
) -> Result<(), Failure> {
    let insert = timed(tx.prepare(
        "INSERT INTO events (seq, at, kind, conversation, body) OVERRIDING SYSTEM VALUE
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[])",
    ))
    .await?;
    let mut statement = sqlite
        .prepare("SELECT seq, at, kind, conversation, body FROM events ORDER BY seq")
        .map_err(sqlite_failure)?;
    let mut rows = statement.query([]).map_err(sqlite_failure)?;
    let mut chunk = Events::default();
    let mut sent = 0;
    loop {
        let row = rows.next().map_err(sqlite_failure)?;
        if let Some(row) = row {
            let seq: i64 = row.get(0).map_err(sqlite_failure)?;
            let body: String = row.get(4).map_err(sqlite_failure)?;
            serde_json::from_str::<Fact>(&body).map_err(|e| {
                Failure::Failed(StoreError::Corrupt {
                    seq,
                    message: e.to_string(),
                })
            })?;
            chunk.seqs.push(seq);
            chunk.ats.push(row.get(1).map_err(sqlite_failure)?);
            chunk.kinds.push(row.get(2).map_err(sqlite_failure)?);
            let conversation: Option<String> = row.get(3).map_err(sqlite_failure)?;
            chunk
                .conversations
                .push(conversation.map(|c| super::text(&c).into_owned()));
            chunk.bodies.push(body);
            if chunk.seqs.len() < CHUNK {
                continue;
            }
        }
        if !chunk.seqs.is_empty() {
            timed(tx.execute(
                &insert,
                &[
                    &chunk.seqs,
                    &chunk.ats,
                    &chunk.kinds,
                    &chunk.conversations,
                    &chunk.bodies,
                ],
            ))
            .await?;
            sent += chunk.seqs.len();
            progress("events", sent);
            chunk = Events::default();
        }
        if row.is_none() {
            break;
        }
    }
    // New events go on after the last one copied.
    timed(tx.execute(
        "SELECT setval(pg_get_serial_sequence('events', 'seq'), max(seq)) FROM events
         HAVING max(seq) IS NOT NULL",
        &[],
    ))
    .await?;
    Ok(())
}

#[derive(Default)]
struct Commands {
    principals: Vec<Vec<u8>>,
    ids: Vec<Vec<u8>>,
    codes: Vec<Option<String>>,
    messages: Vec<Option<String>>,
    ats: Vec<i64>,
}

async fn copy_commands(
    sqlite: &rusqlite::Connection,
    tx: &Transaction<'_>,
    progress: &mut dyn FnMut(&str, usize),
) -> Result<(), Failure> {
    let upsert = timed(tx.prepare(
        "INSERT INTO commands (principal, id, code, message, at)
         SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::text[], $4::text[], $5::bigint[])
         ON CONFLICT (principal, id) DO UPDATE
             SET code = EXCLUDED.code, message = EXCLUDED.message, at = EXCLUDED.at",
    ))
    .await?;
    // The indexed ones, then the log's in the order written: the later record of one command
    // wins, as in SQLite's own lookup.
    let mut statement = sqlite
        .prepare(
            "SELECT principal, id, code, message, at FROM (
                 SELECT principal, id, code, message, at, 0 AS part, 0 AS n FROM commands
                 UNION ALL
                 SELECT principal, id, code, message, at, 1, rowid FROM command_log)
             ORDER BY part, n",
        )
        .map_err(sqlite_failure)?;
    let mut rows = statement.query([]).map_err(sqlite_failure)?;
    let mut chunk = Commands::default();
    let mut keys: std::collections::HashMap<(Vec<u8>, Vec<u8>), usize> = Default::default();
    let mut sent = 0;
    loop {
        let row = rows.next().map_err(sqlite_failure)?;
        if let Some(row) = row {
            let principal: String = row.get(0).map_err(sqlite_failure)?;
            let id: String = row.get(1).map_err(sqlite_failure)?;
            let code: Option<String> = row.get(2).map_err(sqlite_failure)?;
            let message: Option<String> = row.get(3).map_err(sqlite_failure)?;
            let at: i64 = row.get(4).map_err(sqlite_failure)?;
            let key = (principal.into_bytes(), id.into_bytes());
            // One statement cannot upsert a key twice: a later record replaces the row.
            if let Some(&i) = keys.get(&key) {
                chunk.codes[i] = code.map(|c| super::text(&c).into_owned());
                chunk.messages[i] = message.map(|m| super::text(&m).into_owned());
                chunk.ats[i] = at;
                continue;
            }
            keys.insert(key.clone(), chunk.principals.len());
            chunk.principals.push(key.0);
            chunk.ids.push(key.1);
            chunk.codes.push(code.map(|c| super::text(&c).into_owned()));
            chunk
                .messages
                .push(message.map(|m| super::text(&m).into_owned()));
            chunk.ats.push(at);
            if chunk.principals.len() < CHUNK {
                continue;
            }
        }
        if !chunk.principals.is_empty() {
            timed(tx.execute(
                &upsert,
                &[
                    &chunk.principals,
                    &chunk.ids,
                    &chunk.codes,
                    &chunk.messages,
                    &chunk.ats,
                ],
            ))
            .await?;
            sent += chunk.principals.len();
            progress("commands", sent);
            chunk = Commands::default();
            keys.clear();
        }
        if row.is_none() {
            return Ok(());
        }
    }
}

async fn copy_workers(sqlite: &rusqlite::Connection, tx: &Transaction<'_>) -> Result<(), Failure> {
    let mut statement = sqlite
        .prepare(
            "SELECT id, name, role, languages, skills, capacity, token_hash, created_at
             FROM workers ORDER BY id",
        )
        .map_err(sqlite_failure)?;
    let rows = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, i64>(5)?,
                row.get::<_, String>(6)?,
                row.get::<_, i64>(7)?,
            ))
        })
        .map_err(sqlite_failure)?;
    for row in rows {
        let (id, name, role, languages, skills, capacity, token_hash, created_at) =
            row.map_err(sqlite_failure)?;
        timed(tx.execute(
            "INSERT INTO workers (id, name, role, languages, skills, capacity, token_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &id,
                &name,
                &role,
                &languages,
                &skills,
                &capacity,
                &token_hash,
                &created_at,
            ],
        ))
        .await?;
    }
    Ok(())
}

/// A chunk of `client_sequences` rows, as the arrays the insert unnests.
#[derive(Default)]
struct Sequences {
    principals: Vec<Vec<u8>>,
    producers: Vec<Vec<u8>>,
    lasts: Vec<i64>,
    windows: Vec<Vec<u8>>,
    refusals: Vec<String>,
    ats: Vec<i64>,
}

async fn copy_sequences(
    sqlite: &rusqlite::Connection,
    tx: &Transaction<'_>,
) -> Result<(), Failure> {
    let insert = timed(tx.prepare(
        "INSERT INTO client_sequences (principal, producer, last, applied, refused, at)
         SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bigint[], $4::bytea[], $5::text[],
                              $6::bigint[])",
    ))
    .await?;
    let mut statement = sqlite
        .prepare(
            "SELECT principal, producer, last, applied, refused, at FROM client_sequences
             ORDER BY principal, producer",
        )
        .map_err(sqlite_failure)?;
    let mut rows = statement.query([]).map_err(sqlite_failure)?;
    let mut chunk = Sequences::default();
    loop {
        let row = rows.next().map_err(sqlite_failure)?;
        if let Some(row) = row {
            let text = |i| row.get::<_, String>(i).map(String::into_bytes);
            chunk.principals.push(text(0).map_err(sqlite_failure)?);
            chunk.producers.push(text(1).map_err(sqlite_failure)?);
            chunk.lasts.push(row.get(2).map_err(sqlite_failure)?);
            chunk.windows.push(row.get(3).map_err(sqlite_failure)?);
            chunk.refusals.push(row.get(4).map_err(sqlite_failure)?);
            chunk.ats.push(row.get(5).map_err(sqlite_failure)?);
        }
        if chunk.principals.len() >= CHUNK || (row.is_none() && !chunk.principals.is_empty()) {
            timed(tx.execute(
                &insert,
                &[
                    &chunk.principals,
                    &chunk.producers,
                    &chunk.lasts,
                    &chunk.windows,
                    &chunk.refusals,
                    &chunk.ats,
                ],
            ))
            .await?;
            chunk = Default::default();
        }
        if row.is_none() {
            return Ok(());
        }
    }
}
