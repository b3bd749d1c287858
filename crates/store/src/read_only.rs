//! Read access and nothing else: what the agent's tools (PRODUCT §8) are given.

use jiff::Timestamp;
use model::apikey::ApiKey;
use model::directory::{Catalog, User};
use model::filter::{PageRequest, ResolvedFilter};
use model::ids::{AccountId, ProcessId};
use model::run::{ChangeStatus, UserResult};
use model::webhook::{Delivery, Subscription};

use crate::{LicenseCount, Result, RunQuery, Store, StoredRun, UserPage};

/// The database, read only. Two guarantees, either of which would do alone:
///
/// - the type has read methods only, so code holding a `ReadOnlyStore` cannot ask for a change;
/// - its connections refuse writes (SQLite `PRAGMA query_only`, PostgreSQL
///   `default_transaction_read_only`), so not even a bug in this crate could make one.
///
/// Made by [`Store::read_only`]. A read method compiles:
///
/// ```no_run
/// # async fn f(store: store::Store) -> store::Result<()> {
/// let reader = store.read_only().await?;
/// let keys = reader.api_keys().await?;
/// # Ok(()) }
/// ```
///
/// and a write method does not exist:
///
/// ```compile_fail,E0599
/// # async fn f(store: store::Store, key: &model::apikey::ApiKey) -> store::Result<()> {
/// let reader = store.read_only().await?;
/// reader.insert_api_key(key, "hash").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ReadOnlyStore {
    store: Store,
}

impl ReadOnlyStore {
    pub(crate) fn new(store: Store) -> Self {
        Self { store }
    }

    /// The engine behind this store.
    pub fn engine(&self) -> crate::Engine {
        self.store.engine
    }

    /// See [`Store::catalog`].
    pub async fn catalog(&self) -> Result<Catalog> {
        self.store.catalog().await
    }

    /// See [`Store::count_users`].
    pub async fn count_users(&self) -> Result<u64> {
        self.store.count_users().await
    }

    /// See [`Store::query_users`].
    pub async fn query_users(&self, filter: &ResolvedFilter, page: &PageRequest, now: Timestamp) -> Result<UserPage> {
        self.store.query_users(filter, page, now).await
    }

    /// See [`Store::user`].
    pub async fn user(&self, account_id: &AccountId) -> Result<User> {
        self.store.user(account_id).await
    }

    /// See [`Store::tasks`].
    pub async fn tasks(&self) -> Result<Vec<model::task::Task>> {
        self.store.tasks().await
    }

    /// See [`Store::run`].
    pub async fn run(&self, id: &ProcessId) -> Result<StoredRun> {
        self.store.run(id).await
    }

    /// See [`Store::runs`].
    pub async fn runs(&self, query: &RunQuery) -> Result<Vec<StoredRun>> {
        self.store.runs(query).await
    }

    /// See [`Store::run_users`].
    pub async fn run_users(
        &self,
        id: &ProcessId,
        after: Option<&str>,
        limit: u32,
        statuses: &[ChangeStatus],
    ) -> Result<Vec<UserResult>> {
        self.store.run_users(id, after, limit, statuses).await
    }

    /// See [`Store::license_counts`].
    pub async fn license_counts(&self, inactive_cutoff: Timestamp) -> Result<Vec<LicenseCount>> {
        self.store.license_counts(inactive_cutoff).await
    }

    /// See [`Store::api_keys`].
    pub async fn api_keys(&self) -> Result<Vec<ApiKey>> {
        self.store.api_keys().await
    }

    /// See [`Store::webhook_subscriptions`].
    pub async fn webhook_subscriptions(&self) -> Result<Vec<Subscription>> {
        self.store.webhook_subscriptions().await
    }

    /// See [`Store::deliveries_of_subscription`].
    pub async fn deliveries_of_subscription(
        &self,
        subscription_id: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        self.store.deliveries_of_subscription(subscription_id, state, limit).await
    }

    /// Tries to write through this store's connections, to show that the database refuses:
    /// the test of the second guarantee above calls it. Always an error.
    #[doc(hidden)]
    pub async fn attempt_write_for_test(&self) -> Result<()> {
        let mut tx = self.store.pool.begin().await?;
        sqlx::query("INSERT INTO settings (name, value) VALUES ('read-only-probe', '')").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}
