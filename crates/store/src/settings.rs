//! Installation settings, stored as JSON values under names.

use model::access::AccessSettings;

use crate::{Result, Store};

const ACCESS: &str = "access";

impl Store {
    /// The access-control settings (defaults when never set).
    pub async fn access_settings(&self) -> Result<AccessSettings> {
        let value: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(ACCESS)
            .fetch_optional(&self.pool)
            .await?;
        Ok(value.map(|v| serde_json::from_str(&v)).transpose()?.unwrap_or_default())
    }

    /// Replaces the access-control settings.
    pub async fn set_access_settings(&self, settings: &AccessSettings) -> Result<()> {
        sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value")
            .bind(ACCESS)
            .bind(serde_json::to_string(settings)?)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
