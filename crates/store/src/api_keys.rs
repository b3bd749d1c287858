//! API keys: stored by the hash of their secret, never the secret.

use jiff::Timestamp;
use model::apikey::{ApiKey, ApiKeyRole};
use model::ids::{AccountId, ApiKeyId};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::sql::ts;
use crate::{Result, Store, StoreError};

/// The columns [`api_key`] reads, in order (a macro so queries stay `&'static str`).
macro_rules! columns {
    () => {
        "api_key_id, name, role, principal, secret_prefix, created_at, expires_at, revoked_at, last_used_at"
    };
}

fn api_key(row: &AnyRow) -> Result<ApiKey> {
    let role: String = row.try_get(2)?;
    Ok(ApiKey {
        api_key_id: ApiKeyId(row.try_get(0)?),
        name: row.try_get(1)?,
        role: role.parse::<ApiKeyRole>().map_err(|e| StoreError::Other(e.to_string()))?,
        principal: row.try_get::<Option<String>, _>(3)?.map(AccountId),
        secret_prefix: row.try_get(4)?,
        created_at: ts(row.try_get(5)?),
        expires_at: ts(row.try_get(6)?),
        revoked_at: row.try_get::<Option<i64>, _>(7)?.map(ts),
        last_used_at: row.try_get::<Option<i64>, _>(8)?.map(ts),
    })
}

impl Store {
    /// Stores a key with the hash of its secret.
    pub async fn insert_api_key(&self, key: &ApiKey, secret_hash: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (api_key_id, name, role, principal, secret_hash, secret_prefix, created_at, \
             expires_at, revoked_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(key.api_key_id.0.clone())
        .bind(key.name.clone())
        .bind(key.role.as_str())
        .bind(key.principal.as_ref().map(|p| p.0.clone()))
        .bind(secret_hash.to_owned())
        .bind(key.secret_prefix.clone())
        .bind(key.created_at.as_millisecond())
        .bind(key.expires_at.as_millisecond())
        .bind(key.revoked_at.map(|t| t.as_millisecond()))
        .bind(key.last_used_at.map(|t| t.as_millisecond()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every key, newest first.
    pub async fn api_keys(&self) -> Result<Vec<ApiKey>> {
        sqlx::query(concat!("SELECT ", columns!(), " FROM api_keys ORDER BY created_at DESC, api_key_id DESC"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(api_key)
            .collect()
    }

    /// One key by id.
    pub async fn api_key(&self, id: &ApiKeyId) -> Result<ApiKey> {
        let row = sqlx::query(concat!("SELECT ", columns!(), " FROM api_keys WHERE api_key_id = $1"))
            .bind(id.0.clone())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("API key `{id}`")))?;
        api_key(&row)
    }

    /// The key whose secret hashes to `secret_hash`, with that stored hash (for a
    /// constant-time comparison by the caller).
    pub async fn api_key_by_hash(&self, secret_hash: &str) -> Result<Option<(ApiKey, String)>> {
        let row = sqlx::query(concat!("SELECT ", columns!(), ", secret_hash FROM api_keys WHERE secret_hash = $1"))
            .bind(secret_hash.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((api_key(&r)?, r.try_get::<String, _>(9)?))).transpose()
    }

    /// How many keys exist (revoked and expired ones included).
    pub async fn count_api_keys(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys").fetch_one(&self.pool).await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// Revokes a key; revoking a revoked key keeps the first revocation time.
    pub async fn revoke_api_key(&self, id: &ApiKeyId, now: Timestamp) -> Result<ApiKey> {
        sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE api_key_id = $2")
            .bind(now.as_millisecond())
            .bind(id.0.clone())
            .execute(&self.pool)
            .await?;
        self.api_key(id).await
    }

    /// Records that a key was used (at most once a minute, to spare writes).
    pub async fn touch_api_key(&self, id: &ApiKeyId, now: Timestamp) -> Result<()> {
        let at = now.as_millisecond();
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $1 WHERE api_key_id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(at)
        .bind(id.0.clone())
        .bind(at - 60_000)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
