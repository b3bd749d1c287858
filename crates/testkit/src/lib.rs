//! Test support: a fresh database per test on SQLite or PostgreSQL, and a macro that runs one
//! test body on both engines.
//!
//! PostgreSQL tests use `UCM_TEST_DATABASE_URL` (for example
//! `postgres://postgres@127.0.0.1:5432/test`); each test gets a schema of its own, dropped
//! afterwards. Without the variable the PostgreSQL half is skipped with a note, unless
//! `UCM_TEST_REQUIRE_POSTGRES=1`, which makes it fail instead (CI sets it).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod adf;
pub mod model_server;
pub mod simulators;
pub mod smtp;
pub mod tls;

pub use adf::{adf_errors, storage_error};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use store::{Engine, Store, StoreOptions};

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_VAR: &str = "UCM_TEST_DATABASE_URL";
/// Set to `1` to fail, rather than skip, PostgreSQL tests when no server is configured.
pub const REQUIRE_POSTGRES_VAR: &str = "UCM_TEST_REQUIRE_POSTGRES";

/// An HTTP client for tests to call servers on 127.0.0.1 with. reqwest is built without a
/// default TLS crypto provider (see `webhooks::client`), so one is installed first.
pub fn http_client() -> reqwest::Client {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::new()
}

/// A store of its own for one test, removed when dropped.
#[derive(Debug)]
pub struct TestDb {
    pub store: Store,
    /// The URL the store was opened with (another process can open the same database).
    pub url: String,
    /// PostgreSQL: the schema the test works in.
    pub schema: Option<String>,
    dir: PathBuf,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    format!(
        "t{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        model::random::secret_text(6).to_ascii_lowercase().replace(['-', '_'], "x")
    )
}

/// A fresh, empty temporary directory under the system's temp folder.
pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ucm-test-{}", unique_name()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl TestDb {
    /// A fresh SQLite file in a temporary directory.
    pub async fn sqlite() -> Self {
        let dir = temp_dir();
        let url = format!("sqlite://{}?mode=rwc", dir.join("ucm.db").display());
        let store = Store::open(&url, &StoreOptions::default()).await.unwrap();
        Self { store, url, schema: None, dir }
    }

    /// A fresh schema on the configured PostgreSQL server; `None` (after saying so) when none
    /// is configured and it is not required.
    pub async fn postgres() -> Option<Self> {
        let Some(base) = postgres_url() else {
            println!("skipped: PostgreSQL half (set {POSTGRES_URL_VAR} to run it)");
            return None;
        };
        let schema = unique_name();
        store::create_postgres_schema(&base, &schema).await.unwrap();
        let options = StoreOptions { postgres_schema: Some(schema.clone()), ..StoreOptions::default() };
        let store = Store::open(&base, &options).await.unwrap();
        Some(Self { store, url: base, schema: Some(schema), dir: temp_dir() })
    }

    /// The engine under test.
    pub fn engine(&self) -> Engine {
        self.store.engine()
    }

    /// A directory that lives as long as this database (for files a test writes).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Environment variables that point a `ucm` child process at this same database.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![("UCM_DATABASE_URL".to_owned(), self.url.clone())];
        if let Some(schema) = &self.schema {
            env.push(("UCM_DATABASE__POSTGRES_SCHEMA".to_owned(), schema.clone()));
        }
        env
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let (Some(schema), Some(base)) = (self.schema.take(), postgres_url()) {
            // Drop runs inside the test's runtime: clean up from a thread with its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                let _ = runtime.block_on(store::drop_postgres_schema(&base, &schema));
            })
            .join();
        }
    }
}

/// The PostgreSQL URL for tests, if any; panics when PostgreSQL is required but not configured.
pub fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v == "1") => {
            panic!("{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set: the PostgreSQL half cannot be skipped")
        }
        _ => None,
    }
}

/// Runs each named `async fn(TestDb)` on SQLite and on PostgreSQL, as `NAME::sqlite` and
/// `NAME::postgres`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::TestDb::sqlite().await).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(db) = $crate::TestDb::postgres().await {
                        super::$name(db).await
                    }
                }
            }
        )*
    };
}
