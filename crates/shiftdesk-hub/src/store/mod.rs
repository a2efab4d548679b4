//! The durable event log, the command ledger and the accounts, behind traits.
//!
//! The hub appends every [`Fact`] before anything it caused leaves the process, in one
//! transaction per batch together with what identifies the batch's commands (so a retried
//! command is recognised after a restart too): each client's command sequence
//! ([`ClientSequence`], one row per client run, rewritten in place) or, for clients that send
//! only ids, the ids themselves. SQLite in WAL mode is the default; PostgreSQL implements the
//! same traits ([`postgres`]); `--store` chooses ([`StoreChoice`]).

pub mod choice;
pub mod postgres;
pub mod sqlite;

use crate::conn::Frame;
use crate::facts::Fact;
pub use crate::sequences::{AppliedWindow, ClientSequence, RefusedCommand};
use shiftdesk_protocol::{Millis, WorkerInfo};

pub use choice::{OpenMode, PostgresTarget, StoreChoice};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Why the store could not do something. Not tied to one database: a backend turns its own
/// errors into [`StoreError::Db`] (the SQLite one does, for `?`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the log entry {seq} is not a valid fact: {message}")]
    Corrupt { seq: i64, message: String },
    #[error("{0}")]
    Invalid(String),
    /// Another hub has taken the store over: this one must not write again.
    #[error("fenced: {0}")]
    Fenced(String),
}

/// A worker's login, as stored. The token itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredWorker {
    pub info: WorkerInfo,
    pub created_at: Millis,
}

/// The columns both stores keep a worker in (`WORKER_COLUMNS`): the role as `worker` or
/// `supervisor`, languages and skills comma-separated.
pub(crate) struct WorkerColumns<'a> {
    pub id: String,
    pub name: String,
    pub role: &'a str,
    pub languages: &'a str,
    pub skills: &'a str,
    pub capacity: u32,
    pub created_at: i64,
}

/// A worker's role, languages and skills as both stores write them (read back through
/// [`WorkerColumns`]).
pub(crate) fn worker_text_columns(info: &WorkerInfo) -> (&'static str, String, String) {
    let role = match info.role {
        shiftdesk_protocol::Role::Worker => "worker",
        shiftdesk_protocol::Role::Supervisor => "supervisor",
    };
    let languages: Vec<&str> = info.languages.iter().map(|l| l.code()).collect();
    (role, languages.join(","), info.skills.join(","))
}

impl From<WorkerColumns<'_>> for StoredWorker {
    fn from(c: WorkerColumns<'_>) -> StoredWorker {
        StoredWorker {
            info: WorkerInfo {
                id: c.id,
                name: c.name,
                role: if c.role == "supervisor" {
                    shiftdesk_protocol::Role::Supervisor
                } else {
                    shiftdesk_protocol::Role::Worker
                },
                languages: c
                    .languages
                    .split(',')
                    .filter_map(crate::lang::Lang::from_code)
                    .collect(),
                skills: c
                    .skills
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                capacity: c.capacity,
            },
            created_at: c.created_at as Millis,
        }
    }
}

/// The outcome of a command, kept so a retry gets the same answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandResult {
    Ok,
    Refused { code: String, message: String },
}

/// Who sent a command: a worker id, or a conversation id for a customer.
pub type Principal = str;

/// A command the hub applied (or refused), remembered so a retry gets the same answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRecord {
    pub principal: String,
    pub id: String,
    pub result: CommandResult,
}

/// The event log: every fact, in order, appended with the commands that caused them.
pub trait EventLog: Send {
    /// Append facts (possibly none) and remember the commands that caused them, atomically and
    /// durably: one transaction, so the hub can commit a whole batch of inputs at once (group
    /// commit) and either all of it is in the log or none of it. The commands (by id) and the
    /// client sequences (each replacing its earlier state; a later one in the slice wins) go
    /// to the [`CommandLedger`] in the same transaction.
    fn append(
        &mut self,
        facts: &[Fact],
        commands: &[CommandRecord],
        sequences: &[ClientSequence],
        at: Millis,
    ) -> Result<(), StoreError>;
    /// [`EventLog::append`], with the frames the batch put on clients' streams, in the same
    /// transaction: for a store whose streams outlive the hub ([`EventStore::stream_origin`]).
    /// The engine gives frames to no other store, and such a store refuses them.
    fn append_with_frames(
        &mut self,
        facts: &[Fact],
        commands: &[CommandRecord],
        sequences: &[ClientSequence],
        streams: StreamChanges<'_>,
        at: Millis,
    ) -> Result<(), StoreError> {
        if !streams.frames.is_empty() {
            return Err(StoreError::Invalid(
                "this store keeps no stream frames".to_string(),
            ));
        }
        self.append(facts, commands, sequences, at)
    }
    /// Every fact, oldest first.
    fn load(&self) -> Result<Vec<Fact>, StoreError> {
        Ok(self.load_after(0)?.into_iter().map(|(_, f)| f).collect())
    }
    /// The facts after the one numbered `after` (0: all), oldest first, each with its number
    /// in the log. One writer appends at a time, so the numbers only grow in commit order: a
    /// reader that goes on from the last number it saw misses nothing.
    fn load_after(&self, after: i64) -> Result<Vec<(i64, Fact)>, StoreError>;
}

/// What a batch changed on the streams a store keeps: frames to add, and streams let go of (whose
/// frames are deleted).
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamChanges<'a> {
    pub frames: &'a [StreamFrames],
    pub forgotten: &'a [String],
}

/// Frames a batch put on one client's stream (PROTOCOL.md, "Stream frames"): consecutive, the
/// first numbered `first`. Kept by a store whose streams outlive the hub, so that a client
/// resumes on whichever hub writes next.
#[derive(Debug, Clone)]
pub struct StreamFrames {
    pub stream: String,
    pub first: u64,
    pub frames: Vec<Frame>,
}

/// The commands applied (or refused), so a retry gets the first answer, after a restart too.
pub trait CommandLedger: Send {
    /// The result of a command already applied, if any.
    fn command_result(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Option<CommandResult>, StoreError>;
    /// Where a client run's command sequence stands, if it sent any command.
    fn client_sequence(
        &self,
        principal: &Principal,
        producer: &str,
    ) -> Result<Option<ClientSequence>, StoreError>;
    /// Call `each` with the principal and id of every command in the log, and say whether it
    /// could (a store that cannot list them returns `false`: then it is asked about every
    /// command, see [`crate::seen`]).
    fn command_keys(&self, each: &mut dyn FnMut(&str, &str)) -> Result<bool, StoreError> {
        let _ = each;
        Ok(false)
    }
}

/// Workers' and supervisors' accounts: profiles and token hashes.
pub trait Accounts: Send {
    /// Add a worker or supervisor; returns nothing: the caller made the token.
    fn add_worker(
        &mut self,
        info: &WorkerInfo,
        token_hash: &str,
        at: Millis,
    ) -> Result<(), StoreError>;
    /// Give a worker a new token (the old one stops working).
    fn set_token(&mut self, worker: &str, token_hash: &str) -> Result<(), StoreError>;
    /// The worker whose token hashes to `token_hash`.
    fn worker_by_token(&self, token_hash: &str) -> Result<Option<StoredWorker>, StoreError>;
    fn workers(&self) -> Result<Vec<StoredWorker>, StoreError>;
    /// How many workers there are and when the newest was added (0: none): a follower reads
    /// the accounts again only when this changes.
    fn workers_summary(&self) -> Result<(u64, Millis), StoreError> {
        let workers = self.workers()?;
        let newest = workers.iter().map(|w| w.created_at).max().unwrap_or(0);
        Ok((workers.len() as u64, newest))
    }
    /// The workers added at `since` or later (by `created_at`), for a hub that follows the log
    /// and knows the others.
    fn workers_added_since(&self, since: Millis) -> Result<Vec<StoredWorker>, StoreError> {
        let mut workers = self.workers()?;
        workers.retain(|w| w.created_at >= since);
        Ok(workers)
    }
}

/// Everything the hub keeps: one backend (SQLite or PostgreSQL) implements all three.
pub trait EventStore: EventLog + CommandLedger + Accounts {
    /// Another handle on the same log, for a thread that appends while this one reads (the
    /// hub's committer).
    fn appender(&self) -> Result<Box<dyn EventLog>, StoreError>;
    /// [`EventStore::appender`], calling `waiting` now and then while it waits for the store
    /// (a standby hub on a shared store, until the writing hub stops): the engine keeps up
    /// with the log meanwhile.
    fn appender_waiting(&self, waiting: &mut dyn FnMut()) -> Result<Box<dyn EventLog>, StoreError> {
        let _ = waiting;
        self.appender()
    }
    /// What begins every stream name of a store whose streams outlive the hub (a shared
    /// PostgreSQL store: another hub takes its clients' streams over); `None` for a store whose
    /// streams live in one hub process (SQLite: a restart starts new streams).
    fn stream_origin(&self) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
    /// The last seq stored of `stream` (0: none).
    fn stream_head(&self, stream: &str) -> Result<u64, StoreError> {
        let _ = stream;
        Ok(0)
    }
    /// The stored frames of `stream` numbered `after + 1 ..= up_to`, oldest first, as far as the
    /// store still has them (it keeps the last [`shiftdesk_protocol::RESUME_WINDOW`]).
    fn stream_frames(
        &self,
        stream: &str,
        after: u64,
        up_to: u64,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        let _ = (stream, after, up_to);
        Ok(Vec::new())
    }
}

/// SHA-256 of a token, hex: what the store keeps.
pub fn hash_token(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random token: 32 bytes, hex, prefixed so it is recognisable in a config file.
pub fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("sd_{}", hex::encode(bytes))
}
