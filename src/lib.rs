//! shiftdesk: a terminal console for remote customer-support workers, and the dispatch hub it
//! talks to. See README.md for what it does and PROTOCOL.md for the wire contract.

pub mod bench;
pub mod client;
pub mod console;
pub mod customer;
pub mod demo;
pub mod drafting;
pub mod export;
pub mod hub;
pub mod lang;
pub mod protocol;
pub mod sim;
