//! Storage for ucm on SQLite (embedded default) and PostgreSQL, through one [`Store`].
//!
//! This is the only crate that contains SQL. Both engines share the query text (numbered
//! `$N` parameters, which SQLite accepts too); where they differ, [`Engine`] says so. Errors
//! never carry driver types: see [`StoreError`]. Instants are stored as Unix milliseconds.

mod api_keys;
mod atlassian;
mod changes;
mod connect;
mod connections;
pub use connect::{create_postgres_schema, drop_postgres_schema, redact_url};
mod directory;
mod error;
mod flows;
mod import;
mod licenses;
mod read_only;
mod runs;
mod saved_filters;
pub mod schema;
mod settings;
mod sql;
mod tasks;
mod web_sessions;
mod webhooks;
pub use web_sessions::WebSession;
pub use webhooks::{AttemptRecord, ClaimedDelivery, NextStep, webhook_limit_reached};

pub use atlassian::{SavedSyncPage, StoredOrgConnection};
pub use connect::{Engine, StoreOptions};
pub use connections::{StoredConnection, StoredOutput};
pub use directory::UserPage;
pub use error::StoreError;
pub use flows::{StoredExecution, StoredFlow};
pub use import::{DirectoryImport, ImportReport};
pub use licenses::{BILLABLE_STATUSES, LicenseCount};
pub use read_only::ReadOnlyStore;
pub use runs::{NewRun, RunEnd, RunQuery, ScheduleClaim, StoredRun};

/// A handle on the database. Cheap to clone (a connection pool inside).
#[derive(Debug, Clone)]
pub struct Store {
    pool: sqlx::AnyPool,
    engine: Engine,
    /// SQLite has one writer at a time. Writers of this process queue here, first come first
    /// served, rather than in SQLite's busy handler, which sleeps and retries and lets a busy
    /// writer starve the others.
    write_gate: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Where it was opened from (for [`Store::read_only`]).
    source: std::sync::Arc<connect::Source>,
}

/// The result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
