//! Saved filters: User Browser criteria under a name.

use jiff::Timestamp;
use model::filter::{SavedFilter, UserFilter};
use model::ids::FilterId;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::sql::ts;
use crate::{Result, Store, StoreError};

/// The columns [`saved_filter`] reads, in order.
macro_rules! columns {
    () => {
        "filter_id, name, criteria, created_at, updated_at"
    };
}

fn saved_filter(row: &AnyRow) -> Result<SavedFilter> {
    Ok(SavedFilter {
        filter_id: FilterId(row.try_get(0)?),
        name: row.try_get(1)?,
        criteria: serde_json::from_str(&row.try_get::<String, _>(2)?)?,
        created_at: ts(row.try_get(3)?),
        updated_at: ts(row.try_get(4)?),
    })
}

fn name_taken(name: &str) -> StoreError {
    StoreError::Conflict(format!("a saved filter called `{name}` already exists"))
}

impl Store {
    /// Stores a new saved filter. Names are unique, ignoring case.
    pub async fn create_saved_filter(&self, name: &str, criteria: &UserFilter, now: Timestamp) -> Result<SavedFilter> {
        let id = FilterId(model::ids::new_uuid());
        sqlx::query(
            "INSERT INTO saved_filters (filter_id, name, name_key, criteria, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(id.0.clone())
        .bind(name.to_owned())
        .bind(name.to_lowercase())
        .bind(serde_json::to_string(criteria)?)
        .bind(now.as_millisecond())
        .execute(&self.pool)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => name_taken(name),
            other => other,
        })?;
        self.saved_filter(&id).await
    }

    /// Every saved filter, by name.
    pub async fn saved_filters(&self) -> Result<Vec<SavedFilter>> {
        sqlx::query(concat!("SELECT ", columns!(), " FROM saved_filters ORDER BY name_key"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(saved_filter)
            .collect()
    }

    /// One saved filter.
    pub async fn saved_filter(&self, id: &FilterId) -> Result<SavedFilter> {
        let row = sqlx::query(concat!("SELECT ", columns!(), " FROM saved_filters WHERE filter_id = $1"))
            .bind(id.0.clone())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("saved filter `{id}`")))?;
        saved_filter(&row)
    }

    /// Replaces a saved filter's name and criteria.
    pub async fn update_saved_filter(
        &self,
        id: &FilterId,
        name: &str,
        criteria: &UserFilter,
        now: Timestamp,
    ) -> Result<SavedFilter> {
        let done = sqlx::query(
            "UPDATE saved_filters SET name = $1, name_key = $2, criteria = $3, updated_at = $4 WHERE filter_id = $5",
        )
        .bind(name.to_owned())
        .bind(name.to_lowercase())
        .bind(serde_json::to_string(criteria)?)
        .bind(now.as_millisecond())
        .bind(id.0.clone())
        .execute(&self.pool)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => name_taken(name),
            other => other,
        })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("saved filter `{id}`")));
        }
        self.saved_filter(id).await
    }

    /// Deletes a saved filter. Refused while a task uses it (the task would fail at its next
    /// run).
    pub async fn delete_saved_filter(&self, id: &FilterId) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let users: Vec<String> = sqlx::query_scalar("SELECT name FROM tasks WHERE filter_id = $1 ORDER BY name_key")
            .bind(id.0.clone())
            .fetch_all(&mut *tx)
            .await?;
        if !users.is_empty() {
            return Err(StoreError::Conflict(format!(
                "saved filter `{id}` is used by the task(s) {}; give them another filter or delete them first",
                users.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            )));
        }
        let done =
            sqlx::query("DELETE FROM saved_filters WHERE filter_id = $1").bind(id.0.clone()).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("saved filter `{id}`")));
        }
        tx.commit().await?;
        Ok(())
    }
}
