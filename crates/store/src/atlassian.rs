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
    /// Until when a sync holds the connection (`None`: none holds it).
    pub sync_claimed_until: Option<Timestamp>,
    /// How far the sync in progress (or the last one) got, as JSON counts.
    pub sync_progress: Option<String>,
}

/// A page a sync read and saved, to resume from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedSyncPage {
    pub seq: i64,
    pub saved_at: Timestamp,
    pub page: String,
}

const COLUMNS: &str = "connection_id, org_id, org_name, directory_id, directory_name, key_sealed, key_name, \
                       key_expires_at, connected_at, connected_by, last_sync_started_at, last_sync_finished_at, \
                       last_sync_error, last_sync_report, sync_claimed_until, sync_progress";

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
        sync_claimed_until: row.try_get::<Option<i64>, _>(14)?.map(ts),
        sync_progress: row.try_get(15)?,
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
        sqlx::query("DELETE FROM atlassian_sync_pages").execute(&mut **tx).await?;
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
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM atlassian_sync_pages").execute(&mut **tx).await?;
        let done = sqlx::query("DELETE FROM atlassian_connection").execute(&mut **tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Notes that a sync of connection `id` started at `at`.
    pub async fn org_sync_started(&self, id: &str, at: Timestamp) -> Result<()> {
        sqlx::query(
            "UPDATE atlassian_connection SET last_sync_started_at = $1, sync_progress = NULL WHERE connection_id = $2",
        )
        .bind(at.as_millisecond())
        .bind(id.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Notes how the sync `owner` held on connection `id` ended: its report, and why it failed
    /// if it did; gives up the claim. A sync that succeeded leaves no pages to resume from.
    pub async fn org_sync_finished(
        &self,
        id: &str,
        owner: &str,
        at: Timestamp,
        report: &str,
        error: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE atlassian_connection SET last_sync_finished_at = $1, last_sync_report = $2, last_sync_error = $3, \
             sync_owner = CASE WHEN sync_owner = $5 THEN NULL ELSE sync_owner END, \
             sync_claimed_until = CASE WHEN sync_owner = $5 THEN NULL ELSE sync_claimed_until END \
             WHERE connection_id = $4",
        )
        .bind(at.as_millisecond())
        .bind(report.to_owned())
        .bind(error.map(str::to_owned))
        .bind(id.to_owned())
        .bind(owner.to_owned())
        .execute(&mut **tx)
        .await?;
        if error.is_none() {
            sqlx::query("DELETE FROM atlassian_sync_pages WHERE connection_id = $1")
                .bind(id.to_owned())
                .execute(&mut **tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Claims the sync of connection `id` for `owner` until `until`, unless another owner holds
    /// it past `now`; whether `owner` holds it now. Renewing is claiming again.
    pub async fn claim_org_sync(&self, id: &str, owner: &str, until: Timestamp, now: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE atlassian_connection SET sync_owner = $1, sync_claimed_until = $2 \
             WHERE connection_id = $3 AND (sync_owner IS NULL OR sync_owner = $1 OR sync_claimed_until IS NULL \
             OR sync_claimed_until < $4)",
        )
        .bind(owner.to_owned())
        .bind(until.as_millisecond())
        .bind(id.to_owned())
        .bind(now.as_millisecond())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Gives up `owner`'s claim on the sync of connection `id`.
    pub async fn release_org_sync(&self, id: &str, owner: &str) -> Result<()> {
        sqlx::query(
            "UPDATE atlassian_connection SET sync_owner = NULL, sync_claimed_until = NULL \
             WHERE connection_id = $1 AND sync_owner = $2",
        )
        .bind(id.to_owned())
        .bind(owner.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The pages the sync of connection `id` saved so far, in order.
    pub async fn org_sync_pages(&self, id: &str) -> Result<Vec<SavedSyncPage>> {
        let rows =
            sqlx::query("SELECT seq, saved_at, page FROM atlassian_sync_pages WHERE connection_id = $1 ORDER BY seq")
                .bind(id.to_owned())
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| Ok(SavedSyncPage { seq: row.try_get(0)?, saved_at: ts(row.try_get(1)?), page: row.try_get(2)? }))
            .collect()
    }

    /// Saves a page of the sync `owner` holds on connection `id`, with the sync's progress;
    /// whether `owner` still held the sync (when not, nothing is saved).
    pub async fn save_org_sync_page(
        &self,
        id: &str,
        owner: &str,
        page: &SavedSyncPage,
        progress: &str,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let held = sqlx::query(
            "UPDATE atlassian_connection SET sync_progress = $1 WHERE connection_id = $2 AND sync_owner = $3",
        )
        .bind(progress.to_owned())
        .bind(id.to_owned())
        .bind(owner.to_owned())
        .execute(&mut **tx)
        .await?
        .rows_affected()
            > 0;
        if !held {
            return Ok(false);
        }
        sqlx::query("INSERT INTO atlassian_sync_pages (connection_id, seq, saved_at, page) VALUES ($1, $2, $3, $4)")
            .bind(id.to_owned())
            .bind(page.seq)
            .bind(page.saved_at.as_millisecond())
            .bind(page.page.clone())
            .execute(&mut **tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Forgets the pages kept for resuming a sync (every connection's).
    pub async fn clear_org_sync_pages(&self) -> Result<()> {
        sqlx::query("DELETE FROM atlassian_sync_pages").execute(&self.pool).await?;
        Ok(())
    }
}
