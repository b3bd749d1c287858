//! Automated Tasks and Bulk Operations (PRODUCT §4–§5): saving tasks, previewing them, running
//! them (by hand, by the [`scheduler`], or as a bulk operation), and reading run results.
//!
//! A run goes: pre-sync → resolve the users → (execution limit) → for each chunk of users,
//! plan every action ([`model::run::plan_user`]), let the directory apply the planned ops,
//! store the per-user results → outcome → post-sync. Runs are claimed by one process at a time
//! with a lease that the runner renews as it goes; a run whose lease lapses was interrupted
//! and is closed as `failure` by whichever process notices first.

pub mod demo;
mod results;
mod runner;
pub mod scheduler;
mod service;

use std::sync::Arc;

use directory::{Directory, DirectoryError};
use jiff::SignedDuration;
use model::clock::Clock;
use model::filter::FieldProblem;
use store::{Store, StoreError};

pub use results::{MAX_PAGE, MAX_RUNS, RunExport, RunFilter, UserResultView, UserResultsPage};
pub use runner::{BulkInput, MAX_BULK_ACCOUNT_IDS, Preview, RunStart, StartedRun};
pub use scheduler::{Scheduler, SyncSlot, TickReport};
pub use service::TaskInput;

/// How tasks run.
#[derive(Debug, Clone)]
pub struct TaskSettings {
    /// The address people use to reach this installation (deep links), without a trailing `/`.
    pub public_url: String,
    /// How long a run's claim holds without being renewed; a run not heard of for this long
    /// was interrupted.
    pub run_lease: SignedDuration,
    /// Users handled per step (one directory call and one write of results per step).
    pub chunk_size: usize,
}

impl Default for TaskSettings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".to_owned(),
            run_lease: SignedDuration::from_secs(60),
            chunk_size: 500,
        }
    }
}

/// A failure of a task operation, in terms the API and the CLI can show.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The input cannot be used; every problem is listed.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldProblem>),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A run started by hand would change more users than the execution limit allows; it
    /// needs an explicit confirmation.
    #[error(
        "this run would change {would_change} users, more than the execution limit of {limit}; confirm to run it anyway"
    )]
    OverLimit { would_change: u64, limit: u64 },
    #[error(transparent)]
    Directory(DirectoryError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for TaskError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Conflict(what) => Self::Conflict(what),
            other => Self::Store(other),
        }
    }
}

impl From<DirectoryError> for TaskError {
    fn from(error: DirectoryError) -> Self {
        match error {
            DirectoryError::Filter(e) => Self::Invalid(e.0),
            DirectoryError::NotFound(what) => Self::NotFound(what),
            other => Self::Directory(other),
        }
    }
}

/// Tasks, runs and bulk operations over one store and directory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TaskService {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    directory: Arc<dyn Directory>,
    clock: Arc<dyn Clock>,
    settings: TaskSettings,
    /// This process's name in run claims.
    owner: String,
    /// Runs executing in the background, for a graceful shutdown.
    background: tokio::sync::Mutex<tokio::task::JoinSet<()>>,
    in_flight: std::sync::Mutex<std::collections::BTreeSet<model::ids::ProcessId>>,
}

impl TaskService {
    /// A service over `store` and `directory`, telling time by `clock`.
    pub fn new(store: Store, directory: Arc<dyn Directory>, clock: Arc<dyn Clock>, settings: TaskSettings) -> Self {
        let owner = format!("ucm-{}", model::ids::new_uuid());
        Self {
            inner: Arc::new(Inner {
                store,
                directory,
                clock,
                settings,
                owner,
                background: tokio::sync::Mutex::new(tokio::task::JoinSet::new()),
                in_flight: std::sync::Mutex::new(std::collections::BTreeSet::new()),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn settings(&self) -> &TaskSettings {
        &self.inner.settings
    }

    fn now(&self) -> jiff::Timestamp {
        self.inner.clock.now()
    }

    fn lease_until(&self) -> jiff::Timestamp {
        self.now().checked_add(self.inner.settings.run_lease).unwrap_or(jiff::Timestamp::MAX)
    }
}
