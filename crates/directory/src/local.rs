//! The local backend: the directory lives in our own database.

use std::sync::Arc;

use async_trait::async_trait;
use model::clock::Clock;
use model::directory::{Catalog, User};
use model::filter::{PageRequest, UserFilter};
use model::ids::AccountId;
use model::run::{Applied, Change};
use store::Store;

use crate::{Directory, DirectoryError, SyncReport, UserSearch};

/// The embedded directory, filled by import, the API or the demo generator.
#[derive(Debug, Clone)]
pub struct LocalDirectory {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl LocalDirectory {
    /// A directory over `store`, telling time by `clock`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }
}

#[async_trait]
impl Directory for LocalDirectory {
    fn backend(&self) -> &'static str {
        "local"
    }

    async fn catalog(&self) -> Result<Catalog, DirectoryError> {
        Ok(self.store.catalog().await?)
    }

    async fn search_users(&self, filter: &UserFilter, page: &PageRequest) -> Result<UserSearch, DirectoryError> {
        page.validate()?;
        let resolved = filter.resolve(&self.store.catalog().await?)?;
        let found = self.store.query_users(&resolved, page, self.clock.now()).await?;
        Ok(UserSearch { users: found.users, total: found.total, page: *page, filter: resolved })
    }

    async fn matching_account_ids(&self, filter: &UserFilter) -> Result<Vec<AccountId>, DirectoryError> {
        let resolved = filter.resolve(&self.store.catalog().await?)?;
        Ok(self.store.matching_account_ids(&resolved, self.clock.now()).await?)
    }

    async fn user(&self, account_id: &AccountId) -> Result<User, DirectoryError> {
        Ok(self.store.user(account_id).await?)
    }

    async fn users(&self, account_ids: &[AccountId]) -> Result<Vec<User>, DirectoryError> {
        Ok(self.store.users_by_id(account_ids).await?)
    }

    async fn apply(&self, changes: &[Change]) -> Result<Vec<Applied>, DirectoryError> {
        Ok(self.store.apply_changes(changes).await?)
    }

    /// The database is the directory, and every write keeps derived app access in step in
    /// its own transaction: there is nothing to fetch. A sync only confirms the database answers.
    async fn sync(&self) -> Result<SyncReport, DirectoryError> {
        Ok(SyncReport { users: self.store.count_users().await? })
    }
}
