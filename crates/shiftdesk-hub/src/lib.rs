//! The shiftdesk hub: triage, dispatch, the durable log, drafts and the websocket server.
//!
//! - [`dispatch`]: the pure core (no sockets, clock or database): inputs in, facts and effects out;
//! - [`triage`], [`lang`], [`drafting`], [`notices`]: what the bot decides and says, also pure
//!   except for the model drafter's HTTP calls, which the engine makes off the core;
//! - [`engine`], [`committer`], [`conn`], [`draft_pool`], [`seen`], [`sequences`]: the shell
//!   around the core: batching, group commit, streams and resume, retries recognised, the
//!   bounded inbox and connection queues;
//! - [`server`], [`listeners`], [`tls`], [`metrics`]: the axum routes, ws:// and wss://, and
//!   what `/metrics` shows;
//! - [`web`], [`chat`]: the customer chat page and widget; signed context and rate limits;
//! - [`store`]: the event log, command ledger and accounts, behind traits; SQLite by default;
//! - [`export`]: conversations and drafts as JSON lines;
//! - [`kb_eval`]: measuring triage against a labelled set of customer messages.

pub mod chat;
pub mod committer;
pub mod conn;
pub mod dispatch;
pub mod draft_pool;
pub mod drafting;
pub mod engine;
pub mod export;
pub mod facts;
pub mod gateway;
pub mod kb_eval;
pub mod lang;
pub mod languages;
pub mod listeners;
pub mod metrics;
pub mod notices;
pub mod readiness;
pub mod rules;
pub mod seen;
pub mod sequences;
pub mod server;
pub mod store;
pub mod tls;
pub mod triage;
pub mod web;
