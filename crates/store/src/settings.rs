//! Installation settings, stored as JSON values under names.

use model::access::AccessSettings;
use model::task::ExecutionLimit;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Result, Store};

const ACCESS: &str = "access";
const EXECUTION_LIMIT: &str = "execution_limit";
/// Set when an Atlassian organization is disconnected: the directory is a copy of it, not to
/// be changed until something replaces it (an import, a new connection).
pub(crate) const MIRROR_READ_ONLY: &str = "mirror_read_only";
/// The address the last `ucm serve` on this database answered at.
const SERVED_URL: &str = "served_url";

impl Store {
    /// The access-control settings (defaults when never set).
    pub async fn access_settings(&self) -> Result<AccessSettings> {
        self.setting(ACCESS).await
    }

    /// Replaces the access-control settings.
    pub async fn set_access_settings(&self, settings: &AccessSettings) -> Result<()> {
        self.set_setting(ACCESS, settings).await
    }

    /// The installation-wide execution limit (unbounded when never set).
    pub async fn execution_limit(&self) -> Result<ExecutionLimit> {
        self.setting(EXECUTION_LIMIT).await
    }

    /// Replaces the installation-wide execution limit.
    pub async fn set_execution_limit(&self, limit: &ExecutionLimit) -> Result<()> {
        self.set_setting(EXECUTION_LIMIT, limit).await
    }

    /// Whether the directory is the read-only copy of an organization that was disconnected.
    pub async fn mirror_read_only(&self) -> Result<bool> {
        self.setting(MIRROR_READ_ONLY).await
    }

    /// Marks the directory as the read-only copy of a disconnected organization, or not.
    pub async fn set_mirror_read_only(&self, read_only: bool) -> Result<()> {
        self.set_setting(MIRROR_READ_ONLY, &read_only).await
    }

    /// The address the last `ucm serve` on this database answered at, if one ever ran: what
    /// commands build links from when `server.public_url` is not configured.
    pub async fn served_url(&self) -> Result<Option<String>> {
        self.setting(SERVED_URL).await
    }

    /// Records the address a starting `ucm serve` answers at.
    pub async fn set_served_url(&self, url: &str) -> Result<()> {
        self.set_setting(SERVED_URL, &url).await
    }

    async fn setting<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T> {
        let value: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        Ok(value.map(|v| serde_json::from_str(&v)).transpose()?.unwrap_or_default())
    }

    async fn set_setting<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value")
            .bind(name.to_owned())
            .bind(serde_json::to_string(value)?)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
