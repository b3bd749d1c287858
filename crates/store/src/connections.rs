//! Connections to the final-action targets (their credential sealed by the caller) and the
//! outputs the local connection keeps instead of sending.

use jiff::Timestamp;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::sql::ts;
use crate::{Result, Store, StoreError};

/// A connection as stored: typed settings as JSON, the credential sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredConnection {
    pub id: String,
    pub name: String,
    /// `slackWebhook`, `slackBot`, `confluence`, `jira`, `smtp`, `local`.
    pub kind: String,
    /// The settings that are not secret, as JSON.
    pub settings: String,
    pub secret_sealed: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Something the local connection stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOutput {
    pub id: String,
    /// `page`, `message`, `workItem`, `email`.
    pub kind: String,
    /// `LOCAL-n` for work items.
    pub item_key: Option<String>,
    pub title: String,
    /// The rest, as JSON.
    pub data: String,
    pub created_at: Timestamp,
}

const CONNECTION_COLUMNS: &str = "connection_id, name, kind, settings, secret_sealed, created_at, updated_at";
const OUTPUT_COLUMNS: &str = "output_id, kind, item_key, title, data, created_at";

fn connection(row: &AnyRow) -> Result<StoredConnection> {
    Ok(StoredConnection {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        kind: row.try_get(2)?,
        settings: row.try_get(3)?,
        secret_sealed: row.try_get(4)?,
        created_at: ts(row.try_get(5)?),
        updated_at: ts(row.try_get(6)?),
    })
}

fn output(row: &AnyRow) -> Result<StoredOutput> {
    Ok(StoredOutput {
        id: row.try_get(0)?,
        kind: row.try_get(1)?,
        item_key: row.try_get(2)?,
        title: row.try_get(3)?,
        data: row.try_get(4)?,
        created_at: ts(row.try_get(5)?),
    })
}

fn name_taken(name: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict(format!("a connection called `{name}` already exists")),
        other => other,
    }
}

impl Store {
    /// Stores a new connection. Names are unique, ignoring case.
    pub async fn insert_connection(&self, c: &StoredConnection) -> Result<()> {
        sqlx::query(
            "INSERT INTO connections (connection_id, name, name_key, kind, settings, secret_sealed, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(c.id.clone())
        .bind(c.name.clone())
        .bind(c.name.to_lowercase())
        .bind(c.kind.clone())
        .bind(c.settings.clone())
        .bind(c.secret_sealed.clone())
        .bind(c.created_at.as_millisecond())
        .bind(c.updated_at.as_millisecond())
        .execute(&self.pool)
        .await
        .map_err(name_taken(&c.name))?;
        Ok(())
    }

    /// Replaces a connection's name, kind and settings; its credential only when
    /// `c.secret_sealed` is `Some`.
    pub async fn update_connection(&self, c: &StoredConnection) -> Result<()> {
        let done = sqlx::query(
            "UPDATE connections SET name = $1, name_key = $2, kind = $3, settings = $4, \
             secret_sealed = COALESCE($5, secret_sealed), updated_at = $6 WHERE connection_id = $7",
        )
        .bind(c.name.clone())
        .bind(c.name.to_lowercase())
        .bind(c.kind.clone())
        .bind(c.settings.clone())
        .bind(c.secret_sealed.clone())
        .bind(c.updated_at.as_millisecond())
        .bind(c.id.clone())
        .execute(&self.pool)
        .await
        .map_err(name_taken(&c.name))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("connection `{}`", c.id)));
        }
        Ok(())
    }

    pub async fn delete_connection(&self, id: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM connections WHERE connection_id = $1")
            .bind(id.to_owned())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("connection `{id}`")));
        }
        Ok(())
    }

    /// A connection by id or, failing that, by name (ignoring case).
    pub async fn connection(&self, id_or_name: &str) -> Result<StoredConnection> {
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} FROM connections WHERE connection_id = $1 OR name_key = $2 \
             ORDER BY CASE WHEN connection_id = $1 THEN 0 ELSE 1 END LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_or_name.to_owned())
            .bind(id_or_name.to_lowercase())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("connection `{id_or_name}`")))?;
        connection(&row)
    }

    /// Every connection, by name.
    pub async fn connections(&self) -> Result<Vec<StoredConnection>> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections ORDER BY name_key");
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?.iter().map(connection).collect()
    }

    /// Stores an output of the local connection. A work item gets the next `LOCAL-n` key.
    pub async fn insert_output(&self, kind: &str, title: &str, data: &str, now: Timestamp) -> Result<StoredOutput> {
        // Reads the last key before writing the next: take SQLite's write lock first.
        let mut tx = self.begin_write().await?;
        let item_key = if kind == "workItem" {
            let count: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM outputs WHERE kind = 'workItem'").fetch_one(&mut **tx).await?;
            Some(format!("LOCAL-{}", count + 1))
        } else {
            None
        };
        let stored = StoredOutput {
            id: model::ids::new_uuid(),
            kind: kind.to_owned(),
            item_key,
            // A title comes from a payload; PostgreSQL cannot store NUL, so neither engine does.
            title: title.replace('\0', "\u{FFFD}"),
            data: data.to_owned(),
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO outputs (output_id, kind, item_key, title, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(stored.id.clone())
        .bind(stored.kind.clone())
        .bind(stored.item_key.clone())
        .bind(stored.title.clone())
        .bind(stored.data.clone())
        .bind(now.as_millisecond())
        .execute(&mut **tx)
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Outputs of the local connection, newest first, of one kind or all.
    pub async fn outputs(&self, kind: Option<&str>, limit: u32) -> Result<Vec<StoredOutput>> {
        let sql = format!(
            "SELECT {OUTPUT_COLUMNS} FROM outputs WHERE ($1 = '' OR kind = $1) \
             ORDER BY created_at DESC, output_id DESC LIMIT $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(kind.unwrap_or_default().to_owned())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(output)
            .collect()
    }

    /// One output, by id or work item key.
    pub async fn output(&self, id_or_key: &str) -> Result<StoredOutput> {
        let sql = format!("SELECT {OUTPUT_COLUMNS} FROM outputs WHERE output_id = $1 OR item_key = $1 LIMIT 1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_or_key.to_owned())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("output `{id_or_key}`")))?;
        output(&row)
    }
}
