//! What the shiftdesk tests share (a dev-dependency only, never shipped):
//!
//! - [`fake_hub`]: a scripted hub on 127.0.0.1 that a test drives frame by frame, to check a
//!   client's session (login, resume, pings, close codes) against exact frames;
//! - [`hub`]: the real hub, in-process ([`hub::hub`]) or as a `shiftdesk hub` process
//!   ([`hub::HubProcess`]), and workers in its store;
//! - [`client`]: a JSON websocket client for tests that speak the protocol by hand;
//! - [`pty`]: a program (the real console) in a pseudo-terminal, its screen read through a
//!   terminal emulator, and the keys of the default keymap;
//! - [`postgres`]: a database of its own for each test on the machine's PostgreSQL
//!   ([`postgres::TestDb`]), or a skip when there is none.
//!
//! Helpers here may panic: a failed step fails the test that called it, with a message.

// Test helpers fail tests by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod client;
pub mod fake_hub;
pub mod hub;
pub mod postgres;
pub mod pty;

pub use client::{
    Client, FRAME_TIMEOUT, accepted_draft, an_ended_conversation_is_let_go, available, bot_says,
    conversation_with_a_person, customer, gauge, resume_customer, worker,
};
pub use fake_hub::{FakeConn, FakeHub};
pub use hub::{
    HubProcess, add_worker, add_worker_cli, export, hub, hub_config, spawn_hub, start_hub,
};
pub use pty::{PtyApp, PtyCommand, Screen};
