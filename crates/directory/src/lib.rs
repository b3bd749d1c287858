//! The directory behind one trait, [`Directory`]: the local backend (the directory lives in our
//! database), or an Atlassian organization mirrored into the same tables (the `atlassian`
//! crate). Callers (the API, the CLI, tasks) never know which backend runs.
//!
//! Also here: reading import files ([`import`]) and making a demo organization ([`demo`]).

pub mod demo;
pub mod import;
mod local;

use async_trait::async_trait;
use model::directory::{Catalog, User};
use model::filter::{FilterError, PageRequest, ResolvedFilter, UserFilter};
use model::ids::AccountId;
use model::run::{Applied, Change};
use store::StoreError;

pub use local::LocalDirectory;

/// A failure of a directory operation.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The criteria could not be understood (unknown names, bad values); nothing was searched.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// The user (or other thing) does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
    /// The backend (an Atlassian organization) could not be read or changed; says why, in
    /// words an admin can act on.
    #[error("{0}")]
    Backend(String),
}

impl From<StoreError> for DirectoryError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => Self::NotFound(what),
            other => Self::Store(other),
        }
    }
}

/// One page of a User Browser search.
#[derive(Debug, Clone)]
pub struct UserSearch {
    pub users: Vec<User>,
    /// Users matching in all (not just this page).
    pub total: u64,
    pub page: PageRequest,
    /// The criteria as understood, names resolved.
    pub filter: ResolvedFilter,
}

/// What a sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncReport {
    /// Users in the directory after the sync.
    pub users: u64,
}

/// A directory of users, groups, sites and apps.
#[async_trait]
pub trait Directory: Send + Sync + std::fmt::Debug {
    /// The backend's name (`local`).
    fn backend(&self) -> &'static str;

    /// Sites, app types and groups: everything a filter can name.
    async fn catalog(&self) -> Result<Catalog, DirectoryError>;

    /// The User Browser: resolve the criteria (an unknown name is an error with suggestions),
    /// then one page of matching users and the total.
    async fn search_users(&self, filter: &UserFilter, page: &PageRequest) -> Result<UserSearch, DirectoryError>;

    /// Every account id matching the criteria ("all N matching").
    async fn matching_account_ids(&self, filter: &UserFilter) -> Result<Vec<AccountId>, DirectoryError>;

    /// One user.
    async fn user(&self, account_id: &AccountId) -> Result<User, DirectoryError>;

    /// Users by id, in the order given; ids the directory does not know are left out.
    async fn users(&self, account_ids: &[AccountId]) -> Result<Vec<User>, DirectoryError>;

    /// Applies changes in order, each checked against the user's state at that moment (a
    /// deactivated user cannot join a group; a deleted group is a failure). One answer per
    /// change, with a reason a person understands for each failure. An `Err` means the
    /// directory itself could not be reached: no answer is known.
    async fn apply(&self, changes: &[Change]) -> Result<Vec<Applied>, DirectoryError>;

    /// Refreshes our mirror from the backend (daily, on demand, and around every run).
    async fn sync(&self) -> Result<SyncReport, DirectoryError>;

    /// The criteria with every name resolved to its id or key: how saved filters are stored,
    /// so that renaming a group or site does not break them. Unknown names are an error.
    async fn canonical_filter(&self, filter: &UserFilter) -> Result<UserFilter, DirectoryError> {
        Ok(filter.resolve(&self.catalog().await?)?.to_canonical())
    }
}
