//! Web UI sessions: the hash of the cookie's value, the API key signed in with, the session's
//! CSRF token and when it ends. The cookie's value itself is never stored.

use jiff::Timestamp;
use model::ids::ApiKeyId;
use sqlx::Row as _;

use crate::sql::ts;
use crate::{Result, Store};

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub api_key_id: ApiKeyId,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Store {
    /// Stores a session under the hash of its cookie value; sessions past their end go.
    pub async fn insert_web_session(&self, session_hash: &str, session: &WebSession, now: Timestamp) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(now.as_millisecond())
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "INSERT INTO web_sessions (session_hash, api_key_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(session_hash.to_owned())
        .bind(session.api_key_id.0.clone())
        .bind(session.csrf_token.clone())
        .bind(session.created_at.as_millisecond())
        .bind(session.expires_at.as_millisecond())
        .execute(&mut **tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session whose cookie value hashes to `session_hash`, if it has not ended by `now`.
    pub async fn web_session(&self, session_hash: &str, now: Timestamp) -> Result<Option<WebSession>> {
        let row = sqlx::query(
            "SELECT api_key_id, csrf_token, created_at, expires_at FROM web_sessions \
             WHERE session_hash = $1 AND expires_at > $2",
        )
        .bind(session_hash.to_owned())
        .bind(now.as_millisecond())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(WebSession {
                api_key_id: ApiKeyId(row.try_get(0)?),
                csrf_token: row.try_get(1)?,
                created_at: ts(row.try_get(2)?),
                expires_at: ts(row.try_get(3)?),
            })
        })
        .transpose()
    }

    /// Ends a session (signing out).
    pub async fn delete_web_session(&self, session_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE session_hash = $1")
            .bind(session_hash.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
