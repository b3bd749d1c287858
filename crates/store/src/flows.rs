//! Flows of the automation engine: the definition as JSON, the webhook secret sealed by the
//! caller.

use jiff::Timestamp;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::sql::ts;
use crate::{Result, Store, StoreError};

/// A flow as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFlow {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    /// Description, trigger and steps, as JSON.
    pub definition: String,
    pub secret_sealed: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLUMNS: &str = "flow_id, name, enabled, definition, secret_sealed, created_by, created_at, updated_at";

fn flow(row: &AnyRow) -> Result<StoredFlow> {
    Ok(StoredFlow {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        enabled: row.try_get::<i64, _>(2)? != 0,
        definition: row.try_get(3)?,
        secret_sealed: row.try_get(4)?,
        created_by: row.try_get(5)?,
        created_at: ts(row.try_get(6)?),
        updated_at: ts(row.try_get(7)?),
    })
}

impl Store {
    /// Stores a new flow.
    pub async fn insert_flow(&self, f: &StoredFlow) -> Result<()> {
        sqlx::query(
            "INSERT INTO flows (flow_id, name, enabled, definition, secret_sealed, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(f.id.clone())
        .bind(f.name.clone())
        .bind(i64::from(f.enabled))
        .bind(f.definition.clone())
        .bind(f.secret_sealed.clone())
        .bind(f.created_by.clone())
        .bind(f.created_at.as_millisecond())
        .bind(f.updated_at.as_millisecond())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Replaces a flow's name, state and definition (its id, secret and creation stay).
    pub async fn update_flow(&self, f: &StoredFlow) -> Result<()> {
        let done = sqlx::query(
            "UPDATE flows SET name = $1, enabled = $2, definition = $3, updated_at = $4 WHERE flow_id = $5",
        )
        .bind(f.name.clone())
        .bind(i64::from(f.enabled))
        .bind(f.definition.clone())
        .bind(f.updated_at.as_millisecond())
        .bind(f.id.clone())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("flow `{}`", f.id)));
        }
        Ok(())
    }

    pub async fn delete_flow(&self, id: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM flows WHERE flow_id = $1").bind(id.to_owned()).execute(&self.pool).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("flow `{id}`")));
        }
        Ok(())
    }

    /// One flow by id.
    pub async fn flow(&self, id: &str) -> Result<StoredFlow> {
        let sql = format!("SELECT {COLUMNS} FROM flows WHERE flow_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_owned())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("flow `{id}`")))?;
        flow(&row)
    }

    /// Every flow, by name.
    pub async fn flows(&self) -> Result<Vec<StoredFlow>> {
        let sql = format!("SELECT {COLUMNS} FROM flows ORDER BY name, flow_id");
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?.iter().map(flow).collect()
    }
}
