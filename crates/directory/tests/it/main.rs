//! Directory tests, each on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

mod import;
mod search;

use jiff::Timestamp;

pub fn now() -> Timestamp {
    "2026-11-28T12:00:00Z".parse().unwrap()
}
