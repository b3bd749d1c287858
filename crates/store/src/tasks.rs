//! Automated Tasks.

use jiff::Timestamp;
use model::ids::{FilterId, ProcessId, TaskId};
use model::task::Task;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::sql::ts;
use crate::{Result, Store, StoreError};

/// The columns [`task`] reads, in order.
macro_rules! columns {
    () => {
        "task_id, name, filter_id, actions, schedule, active, execution_limit, updated_by, created_at, updated_at, \
         last_run_at, next_run_at, last_process_id, schedule_anchor"
    };
}

fn task(row: &AnyRow) -> Result<Task> {
    Ok(Task {
        task_id: TaskId(row.try_get(0)?),
        name: row.try_get(1)?,
        filter_id: FilterId(row.try_get(2)?),
        actions: serde_json::from_str(&row.try_get::<String, _>(3)?)?,
        schedule: serde_json::from_str(&row.try_get::<String, _>(4)?)?,
        active: row.try_get::<i64, _>(5)? != 0,
        execution_limit: row.try_get::<Option<String>, _>(6)?.map(|l| serde_json::from_str(&l)).transpose()?,
        updated_by: row.try_get(7)?,
        created_at: ts(row.try_get(8)?),
        updated_at: ts(row.try_get(9)?),
        last_run_at: row.try_get::<Option<i64>, _>(10)?.map(ts),
        next_run_at: row.try_get::<Option<i64>, _>(11)?.map(ts),
        last_process_id: row.try_get::<Option<String>, _>(12)?.map(ProcessId),
        schedule_anchor: ts(row.try_get(13)?),
    })
}

fn name_taken(name: &str) -> StoreError {
    StoreError::Conflict(format!("a task called `{name}` already exists"))
}

fn not_found(id: &TaskId) -> StoreError {
    StoreError::NotFound(format!("task `{id}`"))
}

impl Store {
    /// Stores a new task. Names are unique, ignoring case.
    pub async fn insert_task(&self, t: &Task) -> Result<()> {
        sqlx::query(
            "INSERT INTO tasks (task_id, name, name_key, filter_id, actions, schedule, active, execution_limit, \
             updated_by, created_at, updated_at, last_run_at, next_run_at, last_process_id, schedule_anchor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(t.task_id.0.clone())
        .bind(t.name.clone())
        .bind(t.name.to_lowercase())
        .bind(t.filter_id.0.clone())
        .bind(serde_json::to_string(&t.actions)?)
        .bind(serde_json::to_string(&t.schedule)?)
        .bind(i64::from(t.active))
        .bind(t.execution_limit.map(|l| serde_json::to_string(&l)).transpose()?)
        .bind(t.updated_by.clone())
        .bind(t.created_at.as_millisecond())
        .bind(t.updated_at.as_millisecond())
        .bind(t.last_run_at.map(|x| x.as_millisecond()))
        .bind(t.next_run_at.map(|x| x.as_millisecond()))
        .bind(t.last_process_id.as_ref().map(|p| p.0.clone()))
        .bind(t.schedule_anchor.as_millisecond())
        .execute(&self.pool)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => name_taken(&t.name),
            other => other,
        })?;
        Ok(())
    }

    /// Replaces what a person edits on a task (name, filter, actions, schedule, active, limit)
    /// and its next run. Run bookkeeping (`lastRunAt`, `lastProcessId`) is left alone.
    pub async fn update_task(&self, t: &Task) -> Result<()> {
        let done = sqlx::query(
            "UPDATE tasks SET name = $1, name_key = $2, filter_id = $3, actions = $4, schedule = $5, active = $6, \
             execution_limit = $7, updated_by = $8, updated_at = $9, next_run_at = $10, schedule_anchor = $12 \
             WHERE task_id = $11",
        )
        .bind(t.name.clone())
        .bind(t.name.to_lowercase())
        .bind(t.filter_id.0.clone())
        .bind(serde_json::to_string(&t.actions)?)
        .bind(serde_json::to_string(&t.schedule)?)
        .bind(i64::from(t.active))
        .bind(t.execution_limit.map(|l| serde_json::to_string(&l)).transpose()?)
        .bind(t.updated_by.clone())
        .bind(t.updated_at.as_millisecond())
        .bind(t.next_run_at.map(|x| x.as_millisecond()))
        .bind(t.task_id.0.clone())
        .bind(t.schedule_anchor.as_millisecond())
        .execute(&self.pool)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => name_taken(&t.name),
            other => other,
        })?;
        if done.rows_affected() == 0 {
            return Err(not_found(&t.task_id));
        }
        Ok(())
    }

    /// One task.
    pub async fn task(&self, id: &TaskId) -> Result<Task> {
        let row = sqlx::query(concat!("SELECT ", columns!(), " FROM tasks WHERE task_id = $1"))
            .bind(id.0.clone())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| not_found(id))?;
        task(&row)
    }

    /// Every task, by name.
    pub async fn tasks(&self) -> Result<Vec<Task>> {
        sqlx::query(concat!("SELECT ", columns!(), " FROM tasks ORDER BY name_key"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(task)
            .collect()
    }

    /// Active tasks due at `now` with no open run, soonest first.
    pub async fn due_tasks(&self, now: Timestamp) -> Result<Vec<Task>> {
        sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM tasks t WHERE active = 1 AND next_run_at IS NOT NULL AND next_run_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.task_id = t.task_id AND r.state IN ('running', 'quarantined')) \
             ORDER BY next_run_at, task_id"
        ))
        .bind(now.as_millisecond())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(task)
        .collect()
    }

    /// Deletes a task. Its runs stay readable. Refused while one of its runs is open.
    pub async fn delete_task(&self, id: &TaskId) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // Lock the task first: a run starting now updates this row before inserting its run.
        let lock = match self.engine {
            crate::Engine::Postgres => "SELECT task_id FROM tasks WHERE task_id = $1 FOR UPDATE",
            crate::Engine::Sqlite => "SELECT task_id FROM tasks WHERE task_id = $1",
        };
        sqlx::query(lock).bind(id.0.clone()).fetch_optional(&mut **tx).await?;
        let open: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE task_id = $1 AND state IN ('running', 'quarantined')")
                .bind(id.0.clone())
                .fetch_one(&mut **tx)
                .await?;
        if open > 0 {
            return Err(StoreError::Conflict(format!(
                "task `{id}` has a run in progress or waiting for approval; cancel, approve or reject it first"
            )));
        }
        let done = sqlx::query("DELETE FROM tasks WHERE task_id = $1").bind(id.0.clone()).execute(&mut **tx).await?;
        if done.rows_affected() == 0 {
            return Err(not_found(id));
        }
        tx.commit().await?;
        Ok(())
    }
}
