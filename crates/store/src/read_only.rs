//! Read access and nothing else: what the agent's tools (PRODUCT §8) are given.

use jiff::Timestamp;
use model::apikey::ApiKey;
use model::directory::{Catalog, User};
use model::filter::{PageRequest, ResolvedFilter};
use model::ids::{AccountId, ProcessId};
use model::webhook::{Delivery, Subscription};

use crate::{LicenseCount, Result, RunQuery, Store, StoredRun, UserPage};

/// The database, read only. Two guarantees, either of which would do alone:
///
/// - the type has read methods only, so code holding a `ReadOnlyStore` cannot ask for a change;
/// - its connections refuse writes (SQLite `PRAGMA query_only`, PostgreSQL
///   `default_transaction_read_only`), so not even a bug in this crate could make one (the unit
///   tests below try, on both engines).
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

    /// See [`Store::account_id_by_email`].
    pub async fn account_id_by_email(&self, email: &str) -> Result<Option<AccountId>> {
        self.store.account_id_by_email(email).await
    }

    /// See [`Store::user`].
    pub async fn user(&self, account_id: &AccountId) -> Result<User> {
        self.store.user(account_id).await
    }

    /// See [`Store::tasks`].
    pub async fn tasks(&self) -> Result<Vec<model::task::Task>> {
        self.store.tasks().await
    }

    /// See [`Store::run_record`].
    pub async fn run_record(
        &self,
        id: &ProcessId,
        cursor: Option<&str>,
        limit: u32,
        public_url: &str,
    ) -> Result<model::run::RunRecord> {
        self.store.run_record(id, cursor, limit, public_url).await
    }

    /// See [`Store::runs`].
    pub async fn runs(&self, query: &RunQuery) -> Result<Vec<StoredRun>> {
        self.store.runs(query).await
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
}

#[cfg(test)]
mod tests {
    use crate::{Store, StoreOptions, create_postgres_schema, drop_postgres_schema};

    /// A write through the read-only pool fails with the database's own refusal, while the
    /// same statement through the ordinary store succeeds, and reads work.
    async fn connections_refuse_writes(url: &str, options: &StoreOptions) {
        let store = Store::open(url, options).await.unwrap();
        let reader = store.read_only().await.unwrap();
        let insert = "INSERT INTO settings (name, value) VALUES ('read-only-probe', '')";
        let refused = sqlx::query(insert).execute(&reader.store.pool).await.unwrap_err().to_string();
        assert!(refused.contains("readonly") || refused.contains("read-only"), "{refused}");
        sqlx::query(insert).execute(&store.pool).await.unwrap();
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM settings WHERE name = 'read-only-probe'")
            .fetch_one(&reader.store.pool)
            .await
            .unwrap();
        assert_eq!(count, 1, "the reader sees the row the writer wrote");
        store.close().await;
        reader.store.close().await;
    }

    #[tokio::test]
    async fn sqlite_read_only_connections_refuse_writes() {
        let dir = std::env::temp_dir().join(format!("ucm-read-only-{}", model::ids::new_uuid()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("ucm.db").display());
        connections_refuse_writes(&url, &StoreOptions::default()).await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn postgres_read_only_connections_refuse_writes() {
        let Some(url) = std::env::var("UCM_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
            assert!(
                std::env::var("UCM_TEST_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "UCM_TEST_REQUIRE_POSTGRES=1 but UCM_TEST_DATABASE_URL is not set"
            );
            return;
        };
        let schema = format!("ro_{}", model::ids::new_uuid().replace('-', ""));
        create_postgres_schema(&url, &schema).await.unwrap();
        let options = StoreOptions { postgres_schema: Some(schema.clone()), ..StoreOptions::default() };
        connections_refuse_writes(&url, &options).await;
        drop_postgres_schema(&url, &schema).await.unwrap();
    }
}
