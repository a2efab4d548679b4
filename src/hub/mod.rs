//! The hub: triage, dispatch, durable log and the websocket server.

pub mod committer;
pub mod dispatch;
pub mod draft_pool;
pub mod engine;
pub mod facts;
pub mod mask;
pub mod notices;
pub mod seen;
pub mod server;
pub mod store;
pub mod tls;
pub mod triage;
