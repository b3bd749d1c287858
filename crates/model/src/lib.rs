//! The vocabulary of ucm: the directory (sites, app types, groups, users), User Browser
//! filters, saved filters, API keys, access settings, Automated Tasks and their runs, webhook
//! events.
//!
//! This crate does no IO and has no async code. Its only contact with the outside world is
//! [`clock::SystemClock`] (reading the time) and [`random`] (the OS random source), each in one
//! module so that everything else can be tested with fixed inputs.

pub mod access;
pub mod apikey;
pub mod clock;
pub mod directory;
pub mod filter;
pub mod flow;
pub mod ids;
pub mod random;
pub mod run;
pub mod suggest;
pub mod task;
pub mod webhook;

/// An enum from its wire name (`automatedTask`, `dead`, `mon`), by its serde names: the one
/// way text from people, query strings and the database becomes a closed set of values.
pub fn from_wire<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

pub use jiff::Timestamp;
