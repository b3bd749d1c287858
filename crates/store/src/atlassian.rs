//! The Atlassian organization connection (at most one).

use jiff::Timestamp;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Result, Store};

/// The connection as stored; the key stays sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOrgConnection {
    pub connection_id: String,
    pub org_id: String,
    pub org_name: String,
    pub directory_id: String,
    pub directory_name: String,
    pub key_sealed: String,
    pub key_name: String,
    pub key_expires_at: Timestamp,
    pub connected_at: Timestamp,
    pub connected_by: String,
    pub last_sync_started_at: Option<Timestamp>,
    pub last_sync_finished_at: Option<Timestamp>,
    pub last_sync_error: Option<String>,
    pub last_sync_report: Option<String>,
}

const COLUMNS: &str = "connection_id, org_id, org_name, directory_id, directory_name, key_sealed, key_name, \
                       key_expires_at, connected_at, connected_by, last_sync_started_at, last_sync_finished_at, \
                       last_sync_error, last_sync_report";

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn connection(row: &AnyRow) -> Result<StoredOrgConnection> {
    Ok(StoredOrgConnection {
        connection_id: row.try_get(0)?,
        org_id: row.try_get(1)?,
        org_name: row.try_get(2)?,
        directory_id: row.try_get(3)?,
        directory_name: row.try_get(4)?,
        key_sealed: row.try_get(5)?,
        key_name: row.try_get(6)?,
        key_expires_at: ts(row.try_get(7)?),
        connected_at: ts(row.try_get(8)?),
        connected_by: row.try_get(9)?,
        last_sync_started_at: row.try_get::<Option<i64>, _>(10)?.map(ts),
        last_sync_finished_at: row.try_get::<Option<i64>, _>(11)?.map(ts),
        last_sync_error: row.try_get(12)?,
        last_sync_report: row.try_get(13)?,
    })
}

impl Store {
    /// The connected organization, if any.
    pub async fn org_connection(&self) -> Result<Option<StoredOrgConnection>> {
        let sql = format!("SELECT {COLUMNS} FROM atlassian_connection ORDER BY connected_at DESC LIMIT 1");
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_optional(&self.pool).await?.as_ref().map(connection).transpose()
    }

    /// Makes `c` the one connection, replacing any other.
    pub async fn set_org_connection(&self, c: &StoredOrgConnection) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM atlassian_connection").execute(&mut **tx).await?;
        sqlx::query(
            "INSERT INTO atlassian_connection (connection_id, org_id, org_name, directory_id, directory_name, \
             key_sealed, key_name, key_expires_at, connected_at, connected_by, last_sync_started_at, \
             last_sync_finished_at, last_sync_error, last_sync_report) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(c.connection_id.clone())
        .bind(c.org_id.clone())
        .bind(c.org_name.clone())
        .bind(c.directory_id.clone())
        .bind(c.directory_name.clone())
        .bind(c.key_sealed.clone())
        .bind(c.key_name.clone())
        .bind(c.key_expires_at.as_millisecond())
        .bind(c.connected_at.as_millisecond())
        .bind(c.connected_by.clone())
        .bind(c.last_sync_started_at.map(|t| t.as_millisecond()))
        .bind(c.last_sync_finished_at.map(|t| t.as_millisecond()))
        .bind(c.last_sync_error.clone())
        .bind(c.last_sync_report.clone())
        .execute(&mut **tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes the connection; whether there was one.
    pub async fn delete_org_connection(&self) -> Result<bool> {
        let done = sqlx::query("DELETE FROM atlassian_connection").execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Notes that a sync of connection `id` started at `at`.
    pub async fn org_sync_started(&self, id: &str, at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE atlassian_connection SET last_sync_started_at = $1 WHERE connection_id = $2")
            .bind(at.as_millisecond())
            .bind(id.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Notes how a sync of connection `id` ended: its report, and why it failed if it did.
    pub async fn org_sync_finished(&self, id: &str, at: Timestamp, report: &str, error: Option<&str>) -> Result<()> {
        sqlx::query(
            "UPDATE atlassian_connection SET last_sync_finished_at = $1, last_sync_report = $2, last_sync_error = $3 \
             WHERE connection_id = $4",
        )
        .bind(at.as_millisecond())
        .bind(report.to_owned())
        .bind(error.map(str::to_owned))
        .bind(id.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
