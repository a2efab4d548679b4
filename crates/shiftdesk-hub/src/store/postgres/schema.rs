//! The PostgreSQL schema, as numbered migrations compiled into the binary.
//!
//! A store records each migration applied in `schema_migrations`. Opening a store for writing
//! applies the missing ones in order, each in its own transaction with the row that records it,
//! so a migration is applied once and whole; an advisory lock held for the transaction keeps two
//! processes starting at once from racing. A store that records a migration this binary does
//! not know was written by a newer shiftdesk, and is refused rather than misread.
//!
//! Hand-rolled rather than with refinery: the whole mechanism is the loop in [`migrate`], one
//! table and a lock, where refinery would bring its own dependency tree (regex, time, url,
//! walkdir, …) and a checksum scheme that an append-only list of SQL strings does not need.
//! Migrations are never edited once released: a change is a new entry at the end.

use super::super::StoreError;
use super::link::{Failure, Link, timed};

/// One step of the schema.
pub(super) struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, oldest first; versions count up from 1 without gaps.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "events, commands, workers",
        sql: "
-- Every fact, in order. `seq` only grows: one writer at a time appends (the writer lock), so
-- the order of `seq` is the order of commits. The body is the fact's JSON as text, byte for
-- byte what SQLite stores (jsonb would reorder keys and cost a parse per fact).
CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    conversation TEXT,
    body TEXT NOT NULL
);
-- Commands applied or refused, so that a retry gets the first answer. A command id is the
-- client's, any string up to 64 bytes: bytea keeps it exact (text cannot hold a NUL).
CREATE TABLE commands (
    principal BYTEA NOT NULL,
    id BYTEA NOT NULL,
    code TEXT,
    message TEXT,
    at BIGINT NOT NULL,
    PRIMARY KEY (principal, id)
);
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    languages TEXT NOT NULL,
    skills TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
-- The token of the last append, written in the same statement as its facts: when the
-- connection breaks before the answer, the writer reconnects and reads it here to learn
-- whether that append was stored.
CREATE TABLE last_append (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    token BIGINT NOT NULL
);
INSERT INTO last_append (token) VALUES (0);
",
    },
    Migration {
        version: 2,
        name: "client sequences",
        sql: "
-- Where each client run is in its command sequence (PROTOCOL.md 3.2): one row per (principal,
-- producer), replaced by each append that moves it. `applied` is the 1,024-bit window of which
-- numbers below `last` were applied; `refused` the refusals among them, as JSON.
CREATE TABLE client_sequences (
    principal BYTEA NOT NULL,
    producer BYTEA NOT NULL,
    last BIGINT NOT NULL,
    applied BYTEA NOT NULL,
    refused TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (principal, producer)
);
",
    },
    Migration {
        version: 3,
        name: "hub lease",
        sql: "
-- The hub that writes: the PostgreSQL session holding the writer lock (`holder`), renewed by
-- that hub every second. `epoch` is raised by each hub that takes the store over, and a writer
-- that reconnects goes on only if it is still the epoch it had: a hub paused past its lease
-- and replaced never writes again (it is fenced).
CREATE TABLE hub_lease (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    holder INTEGER,
    epoch BIGINT NOT NULL,
    renewed_at TIMESTAMPTZ NOT NULL
);
INSERT INTO hub_lease (holder, epoch, renewed_at) VALUES (NULL, 0, clock_timestamp());
",
    },
    Migration {
        version: 4,
        name: "writer address and gateway key",
        sql: "
-- Where the writing hub takes connections from the other hubs (`hub --advertise`, set when a
-- hub takes the store), so that every hub can serve clients and forward them to it; and a key
-- the hubs show each other when they forward a customer's address. Only who can read this
-- database knows the key: two random UUIDs (244 bits from PostgreSQL's strong random source).
ALTER TABLE hub_lease
    ADD COLUMN writer_url TEXT,
    ADD COLUMN gateway_key TEXT NOT NULL
        DEFAULT replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
",
    },
    Migration {
        version: 5,
        name: "clients' streams",
        sql: "
-- The frames each client's stream carried last (PROTOCOL.md, \"Stream frames\"), written in the
-- transaction of the facts that caused them, so that a client resumes its stream on whichever
-- hub writes next. One row per stream per append: its frames numbered `first_seq` to
-- `last_seq`, one JSON text a line (a frame's JSON has no raw line break). Rows a whole window
-- (2048 frames) behind a stream's head are deleted as the stream crosses each multiple of it.
-- The frames are compressed with lz4 where the server has it (PostgreSQL 14 and later, built
-- with lz4, as Debian's is): measured, a row of 20 frames (3.6 kB) went in 3 times faster than
-- uncompressed (which TOAST stores in 2 kB pieces) and 2 times faster than with pglz, at a
-- seventh of the size.
CREATE TABLE stream_frames (
    stream TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    frames TEXT NOT NULL,
    PRIMARY KEY (stream, first_seq)
);
DO $$ BEGIN
    ALTER TABLE stream_frames ALTER COLUMN frames SET COMPRESSION lz4;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'stream_frames.frames keeps the default compression: %', SQLERRM;
END $$;
-- Begins every stream name of this store, so that a name from another store never matches.
ALTER TABLE hub_lease
    ADD COLUMN streams TEXT NOT NULL DEFAULT substr(md5(gen_random_uuid()::text), 1, 16);
",
    },
    Migration {
        version: 6,
        name: "workers by when they were added",
        sql: "
-- A standby hub following the log reads the workers added since it last looked, not every
-- worker, a few times a second.
CREATE INDEX workers_created_at ON workers (created_at);
",
    },
];

/// The version this binary writes: the last migration's.
pub(super) fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Held (for one transaction) while migrations are checked and applied.
const MIGRATION_LOCK: i64 = 0x5344_4d49_4752_4154; // "SDMIGRAT"

const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)";

/// The store's schema version: 0 when the database holds no shiftdesk store.
pub(super) fn version(link: &mut Link) -> Result<i32, Failure> {
    let exists: bool = link
        .block(
            link.client
                .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]),
        )?
        .get(0);
    if !exists {
        return Ok(0);
    }
    link.block(link.client.query_one(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        &[],
    ))
    .map(|row| row.get(0))
}

/// Refuse a store written by a newer shiftdesk.
pub(super) fn check_not_newer(version: i32, url: &str) -> Result<(), StoreError> {
    if version > latest() {
        return Err(StoreError::Invalid(format!(
            "the store at {url} has schema version {version}, newer than this shiftdesk \
             knows ({}): it was written by a newer shiftdesk; run that one (or newer)",
            latest()
        )));
    }
    Ok(())
}

/// Apply every migration the store lacks, each in its own transaction; returns how many.
pub(super) fn migrate(link: &mut Link, url: &str) -> Result<usize, StoreError> {
    let mut applied = 0;
    loop {
        let Link {
            runtime, client, ..
        } = &mut *link;
        let step: Result<Option<&Migration>, Failure> = runtime.block_on(async {
            let tx = timed(client.transaction()).await?;
            timed(tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])).await?;
            timed(tx.batch_execute(VERSION_TABLE)).await?;
            let current: i32 = timed(tx.query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            ))
            .await?
            .get(0);
            check_not_newer(current, url).map_err(Failure::Failed)?;
            let Some(next) = MIGRATIONS.iter().find(|m| m.version == current + 1) else {
                timed(tx.commit()).await?;
                return Ok(None);
            };
            timed(tx.batch_execute(next.sql))
                .await
                .map_err(|failure| match failure {
                    Failure::Refused { message, .. } => {
                        Failure::Failed(StoreError::Invalid(format!(
                            "cannot apply schema migration {} ({}) to {url}: {message}; \
                                 give shiftdesk a database of its own",
                            next.version, next.name
                        )))
                    }
                    other => other,
                })?;
            timed(tx.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                &[&next.version, &next.name],
            ))
            .await?;
            timed(tx.commit()).await?;
            Ok(Some(next))
        });
        let Some(next) = step.map_err(|f| f.into_store(url))? else {
            return Ok(applied);
        };
        tracing::info!(
            version = next.version,
            name = next.name,
            "applied a schema migration to the PostgreSQL store"
        );
        applied += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1, "{}", m.name);
        }
        assert_eq!(latest() as usize, MIGRATIONS.len());
    }
}
