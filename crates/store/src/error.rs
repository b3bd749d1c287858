//! The store's error: what went wrong in terms a caller can act on, never a driver type.

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The change conflicts with what is stored (a name already taken, a key in use).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or is too busy; retrying later may help.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Anything else (a bug, or a database in a state we do not expect).
    #[error("storage error: {0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::RowNotFound => Self::NotFound("row".to_owned()),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                tracing::debug!(error = db.message(), "unique violation");
                Self::Conflict("a name or id is already in use".to_owned())
            }
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                tracing::debug!(error = db.message(), "foreign key violation");
                Self::Conflict("it refers to something that does not exist".to_owned())
            }
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(error.to_string()),
            _ => Self::Other(error.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        Self::Other(format!("migration failed: {error}"))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        Self::Other(format!("stored JSON is unreadable: {error}"))
    }
}
