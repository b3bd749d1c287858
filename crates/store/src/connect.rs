//! Opening the database: URL → engine, pool settings, pragmas, migrations.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AssertSqlSafe, Executor as _, migrate::Migrator};

use crate::{Result, Store, StoreError};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The database engine behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine a database URL names.
    pub fn from_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::Other(format!(
                "unsupported database URL `{}`: use sqlite:// or postgres://",
                redact_url(url)
            )))
        }
    }

    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// How to open a [`Store`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long to wait for a free connection before failing with `Unavailable`.
    pub acquire_timeout: Duration,
    /// PostgreSQL only: work inside this schema (it must exist). Lets several installations or
    /// test runs share one database.
    pub postgres_schema: Option<String>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_connections: 10, acquire_timeout: Duration::from_secs(10), postgres_schema: None }
    }
}

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`) and applies the
    /// engine's migrations.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self> {
        let engine = Engine::from_url(url)?;
        if engine == Engine::Sqlite {
            keep_private(url)?;
        }
        if let (Engine::Postgres, Some(schema)) = (engine, &options.postgres_schema) {
            ensure_postgres_schema(url, schema).await?;
        }
        let pool = connect_pool(url, options, engine, Access::ReadWrite).await?;
        let migrator = match engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await?;
        tracing::debug!(engine = engine.name(), "database ready");
        Ok(Self {
            pool,
            engine,
            write_gate: std::sync::Arc::default(),
            source: std::sync::Arc::new(Source { url: url.to_owned(), options: options.clone() }),
        })
    }

    /// A second handle on the same database whose connections refuse to write (SQLite
    /// `query_only`, PostgreSQL `default_transaction_read_only`), wrapped in a type that has
    /// read methods only: see [`crate::ReadOnlyStore`]. Its connections are opened when it is
    /// first used.
    pub async fn read_only(&self) -> Result<crate::ReadOnlyStore> {
        let pool = connect_pool(&self.source.url, &self.source.options, self.engine, Access::ReadOnly).await?;
        Ok(crate::ReadOnlyStore::new(Self {
            pool,
            engine: self.engine,
            write_gate: std::sync::Arc::default(),
            source: self.source.clone(),
        }))
    }

    /// The engine behind this store.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Closes every connection; waits for checked-out ones to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A transaction that will write after reading. SQLite takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that read first would fail with
    /// SQLITE_BUSY_SNAPSHOT if another connection committed in between, whatever the busy
    /// timeout. PostgreSQL callers lock the rows they read (`FOR UPDATE`).
    ///
    /// On SQLite the transaction also holds this process's write gate (see [`Store`]) until it
    /// ends, so writers take turns in order.
    pub(crate) async fn begin_write(&self) -> Result<WriteTransaction> {
        Ok(match self.engine {
            Engine::Sqlite => {
                let gate = self.write_gate.clone().lock_owned().await;
                WriteTransaction { tx: self.pool.begin_with("BEGIN IMMEDIATE").await?, _gate: Some(gate) }
            }
            Engine::Postgres => WriteTransaction { tx: self.pool.begin().await?, _gate: None },
        })
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Whether a pool's connections may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    ReadWrite,
    ReadOnly,
}

/// Where a store was opened from, to open a second pool on the same database. The URL may
/// hold a password: it never appears in `Debug`.
pub(crate) struct Source {
    url: String,
    options: StoreOptions,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").field("url", &redact_url(&self.url)).field("options", &self.options).finish()
    }
}

async fn connect_pool(url: &str, options: &StoreOptions, engine: Engine, access: Access) -> Result<sqlx::AnyPool> {
    sqlx::any::install_default_drivers();
    let schema = options.postgres_schema.clone();
    if let Some(schema) = &schema
        && !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(StoreError::Other(format!("invalid PostgreSQL schema name `{schema}`")));
    }
    let max_connections = match (engine, access) {
        // One writer at a time anyway; a few readers alongside in WAL mode. Each connection
        // keeps a 32 MiB page cache (large imports otherwise spill to the WAL as they go).
        (Engine::Sqlite, _) => options.max_connections.min(4),
        // The read-only pool serves the agent's tools: a few connections are plenty.
        (Engine::Postgres, Access::ReadOnly) => options.max_connections.min(4),
        (Engine::Postgres, Access::ReadWrite) => options.max_connections,
    };
    let options = AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(options.acquire_timeout)
        .after_connect(move |conn, _meta| {
            let schema = schema.clone();
            Box::pin(async move {
                match engine {
                    Engine::Sqlite => {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                             PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
                             PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;",
                        )
                        .await?;
                        if access == Access::ReadOnly {
                            conn.execute("PRAGMA query_only = ON").await?;
                        }
                    }
                    Engine::Postgres => {
                        if let Some(schema) = schema {
                            conn.execute(AssertSqlSafe(format!("SET search_path TO \"{schema}\""))).await?;
                        }
                        if access == Access::ReadOnly {
                            conn.execute("SET default_transaction_read_only = on").await?;
                        }
                    }
                }
                Ok(())
            })
        });
    let cannot_open = |e: sqlx::Error| StoreError::Unavailable(format!("cannot open {}: {e}", redact_url(url)));
    match access {
        Access::ReadWrite => options.connect(url).await.map_err(cannot_open),
        // Opened when first used: most commands never ask the agent's tools anything, and the
        // main pool has just shown that the database answers.
        Access::ReadOnly => options.connect_lazy(url).map_err(cannot_open),
    }
}

/// Creates a PostgreSQL schema (for a scratch or test database that must not touch others).
pub async fn create_postgres_schema(url: &str, schema: &str) -> Result<()> {
    run_admin_statement(url, schema, "CREATE SCHEMA").await
}

/// Creates the PostgreSQL schema an installation is configured to use when it does not exist
/// yet; says what to run when it cannot.
async fn ensure_postgres_schema(url: &str, schema: &str) -> Result<()> {
    use sqlx::Connection as _;
    if schema.is_empty() || !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::Other(format!("invalid PostgreSQL schema name `{schema}`")));
    }
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", redact_url(url))))?;
    let found: i64 =
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM pg_namespace WHERE nspname = '{schema}'")))
            .fetch_one(&mut conn)
            .await?;
    if found == 0 {
        conn.execute(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))).await.map_err(|e| {
            StoreError::Other(format!(
                "the PostgreSQL schema `{schema}` does not exist and could not be created ({e}); create it with \
                 CREATE SCHEMA \"{schema}\" or choose another in database.postgres_schema"
            ))
        })?;
        tracing::info!(schema, "created the PostgreSQL schema");
    }
    let _ = conn.close().await;
    Ok(())
}

/// Drops a PostgreSQL schema and everything in it.
pub async fn drop_postgres_schema(url: &str, schema: &str) -> Result<()> {
    run_admin_statement(url, schema, "DROP SCHEMA IF EXISTS").await?;
    Ok(())
}

async fn run_admin_statement(url: &str, schema: &str, verb: &str) -> Result<()> {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    if Engine::from_url(url)? != Engine::Postgres {
        return Err(StoreError::Other("schemas exist on PostgreSQL only".to_owned()));
    }
    if schema.is_empty() || !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::Other(format!("invalid PostgreSQL schema name `{schema}`")));
    }
    let cascade = if verb.starts_with("DROP") { " CASCADE" } else { "" };
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", redact_url(url))))?;
    conn.execute(AssertSqlSafe(format!("{verb} \"{schema}\"{cascade}"))).await?;
    let _ = conn.close().await;
    Ok(())
}

/// The URL with any password replaced by `***`, safe to print. The user information is
/// everything before the last `@` (a password may hold `/`, `?`, `#` or `@`), and a
/// `password=` query parameter is redacted too.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let rest = match rest.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => rest.to_owned(),
    };
    let rest = match rest.split_once('?') {
        Some((head, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{head}?{}", query.join("&"))
        }
        None => rest,
    };
    format!("{scheme}://{rest}")
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_leave_redact_url() {
        assert_eq!(redact_url("postgres://ucm:s3cret@db:5432/ucm"), "postgres://ucm:***@db:5432/ucm");
        assert_eq!(redact_url("postgres://ucm@db/ucm"), "postgres://ucm@db/ucm");
        assert_eq!(redact_url("sqlite:///tmp/x.db?mode=rwc"), "sqlite:///tmp/x.db?mode=rwc");
        assert_eq!(redact_url("postgres://u:p@ss@db/x"), "postgres://u:***@db/x");
        assert_eq!(redact_url("postgres://u:p/w?d#x@db:5432/ucm"), "postgres://u:***@db:5432/ucm");
        assert_eq!(
            redact_url("postgres://db/ucm?user=u&password=hunter2&sslmode=require"),
            "postgres://db/ucm?user=u&password=***&sslmode=require"
        );
    }
}

/// A write transaction (see [`Store::begin_write`]). It derefs to the transaction; `&mut **tx`
/// is the connection to run statements on.
#[derive(Debug)]
pub(crate) struct WriteTransaction {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTransaction {
    pub(crate) async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl std::ops::Deref for WriteTransaction {
    type Target = sqlx::Transaction<'static, sqlx::Any>;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTransaction {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// The file of a SQLite URL (`sqlite://path?mode=rwc`); none for an in-memory database.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    (!path.is_empty() && path != ":memory:" && !query.contains("mode=memory")).then(|| path.into())
}

/// A SQLite database holds personal data, webhook bodies and sealed secrets: its file is created
/// readable by its owner only (SQLite gives the `-wal` and `-shm` files the database file's
/// mode), and files found open to others are closed to them.
fn keep_private(url: &str) -> Result<()> {
    #[cfg(unix)]
    if let Some(path) = sqlite_file(url) {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let created = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path);
        match created {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            // Let SQLite say what is wrong with the place (a missing directory, a read-only one).
            Err(_) => return Ok(()),
        }
        let mut files = vec![path.clone()];
        for suffix in ["-wal", "-shm"] {
            let mut name = path.clone().into_os_string();
            name.push(suffix);
            files.push(name.into());
        }
        for file in files {
            if let Ok(meta) = std::fs::metadata(&file)
                && meta.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
                    crate::StoreError::Unavailable(format!("cannot make {} private: {e}", file.display()))
                })?;
                tracing::info!(file = %file.display(), "the database file was readable by others; now by its owner only");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = url;
    Ok(())
}

#[cfg(test)]
mod private_files {
    use super::sqlite_file;

    #[test]
    fn the_file_of_a_sqlite_url() {
        assert_eq!(sqlite_file("sqlite:///var/lib/ucm/ucm.db?mode=rwc"), Some("/var/lib/ucm/ucm.db".into()));
        assert_eq!(sqlite_file("sqlite:ucm.db"), Some("ucm.db".into()));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://x?mode=memory"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
    }
}
