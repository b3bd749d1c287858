//! Runs of tasks and bulk operations, their per-user results, and the claims that keep two
//! processes from executing the same run.

use jiff::Timestamp;
use model::directory::Catalog;
use model::ids::{AccountId, ProcessId, TaskId};
use model::run::{
    ChangeStatus, Progress, Quarantine, RunOutcome, RunOverview, RunRecord, RunSource, RunState, RunTrigger, Selection,
    Summary, UserResult,
};
use model::task::Action;
use model::webhook::{OutboundEvent, TaskEvent};
use serde::de::DeserializeOwned;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::import::insert_rows;
use crate::sql::{Param, SqlBuilder, ts};
use crate::{Result, Store, StoreError};

/// A run about to start.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub process_id: ProcessId,
    pub source: RunSource,
    pub task_id: Option<TaskId>,
    pub name: String,
    pub actions: Vec<Action>,
    pub selection: Selection,
    pub trigger: RunTrigger,
    pub started_by: String,
    pub started_at: Timestamp,
    /// The process that executes it, and until when its claim holds.
    pub owner: String,
    pub lease_until: Timestamp,
}

/// How starting a task's run moves the task's schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleClaim {
    /// The scheduler starts the run that was due at `due`; the task's next run becomes `next`.
    /// Only one process can make this claim for one `due`.
    Due { due: Timestamp, next: Option<Timestamp> },
    /// Started by hand: the schedule is untouched.
    Manual,
}

/// A stored run (without its per-user results).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    pub process_id: ProcessId,
    pub source: RunSource,
    pub task_id: Option<TaskId>,
    pub name: String,
    pub actions: Vec<Action>,
    pub selection: Selection,
    pub trigger: RunTrigger,
    pub started_by: String,
    pub state: RunState,
    pub outcome: Option<RunOutcome>,
    pub error: Option<String>,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub summary: Summary,
    pub progress: Progress,
    pub quarantine: Option<Quarantine>,
    pub cancel_requested_by: Option<String>,
    pub owner: Option<String>,
    pub lease_until: Option<Timestamp>,
}

impl StoredRun {
    /// The run as lists show it, with its link into the web UI at `public_url`.
    pub fn overview(self, public_url: &str) -> RunOverview {
        RunOverview {
            deep_link: model::webhook::run_deep_link(public_url, self.task_id.as_ref(), &self.process_id),
            action_types: model::task::action_types(&self.actions),
            process_id: self.process_id,
            source: self.source,
            task_id: self.task_id,
            name: self.name,
            outcome: self.outcome,
            error: self.error,
            started_at: self.started_at,
            finished_at: self.finished_at,
            summary: self.summary,
            state: self.state,
            trigger: self.trigger,
            started_by: self.started_by,
            progress: self.progress,
            quarantine: self.quarantine,
            cancel_requested_by: self.cancel_requested_by,
        }
    }

    /// The run's record (PRODUCT §5) with `results` as its page of `userChanges`: each user
    /// linked to the User Browser at `public_url`, with the current names from `catalog`.
    pub fn record(
        self,
        results: &[UserResult],
        next_cursor: Option<String>,
        catalog: &Catalog,
        public_url: &str,
    ) -> RunRecord {
        let user_changes = results
            .iter()
            .map(|r| {
                let mut change = r.change(model::webhook::user_browser_url(public_url, r.account_id.as_str()));
                change.add_current_names(catalog);
                change
            })
            .collect();
        RunRecord { run: self.overview(public_url), user_changes, next_cursor }
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunEnd {
    pub outcome: RunOutcome,
    pub error: Option<String>,
    pub summary: Summary,
    pub progress: Progress,
    pub finished_at: Timestamp,
    /// The webhook event this outcome fires (a task's run; never a bulk operation), queued in
    /// the same transaction as the outcome.
    pub event: Option<OutboundEvent>,
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    pub task_id: Option<TaskId>,
    /// Runs in which this user appears with a change or a failure.
    pub account_id: Option<AccountId>,
    pub outcome: Option<RunOutcome>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub limit: u32,
}

/// The error recorded on a run whose process stopped before it finished (SQL literal).
macro_rules! interrupted {
    () => {
        "'interrupted: the process running it stopped before it finished'"
    };
}

macro_rules! columns {
    () => {
        "process_id, source, task_id, name, actions, selection, started_via, started_by, state, outcome, error, \
         started_at, finished_at, summary, progress_done, progress_total, quarantine, cancel_requested_by, owner, \
         lease_until"
    };
}

/// A wire name (`automatedTask`) back into its enum.
pub(crate) fn word<T: DeserializeOwned>(text: String) -> Result<T> {
    model::from_wire(&text).ok_or_else(|| StoreError::Other(format!("`{text}` is not a known value here")))
}

fn json<T: DeserializeOwned>(text: &str) -> Result<T> {
    Ok(serde_json::from_str(text)?)
}

fn stored_run(row: &AnyRow) -> Result<StoredRun> {
    Ok(StoredRun {
        process_id: ProcessId(row.try_get(0)?),
        source: word(row.try_get(1)?)?,
        task_id: row.try_get::<Option<String>, _>(2)?.map(TaskId),
        name: row.try_get(3)?,
        actions: json(&row.try_get::<String, _>(4)?)?,
        selection: json(&row.try_get::<String, _>(5)?)?,
        trigger: word(row.try_get(6)?)?,
        started_by: row.try_get(7)?,
        state: word(row.try_get(8)?)?,
        outcome: row.try_get::<Option<String>, _>(9)?.map(word).transpose()?,
        error: row.try_get(10)?,
        started_at: ts(row.try_get(11)?),
        finished_at: row.try_get::<Option<i64>, _>(12)?.map(ts),
        summary: json(&row.try_get::<String, _>(13)?)?,
        progress: Progress {
            done: u64::try_from(row.try_get::<i64, _>(14)?).unwrap_or_default(),
            total: u64::try_from(row.try_get::<i64, _>(15)?).unwrap_or_default(),
        },
        quarantine: row.try_get::<Option<String>, _>(16)?.map(|q| json(&q)).transpose()?,
        cancel_requested_by: row.try_get(17)?,
        owner: row.try_get(18)?,
        lease_until: row.try_get::<Option<i64>, _>(19)?.map(ts),
    })
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Records a run as started (state `running`, claimed by `run.owner`). For a task's run,
    /// the task's schedule moves in the same transaction: with [`ScheduleClaim::Due`] only
    /// one caller wins a due instant (`Ok(false)` for the others). A task with an open run
    /// (running or quarantined) cannot start another: `Conflict`.
    pub async fn start_run(&self, run: &NewRun, claim: ScheduleClaim) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if let Some(task_id) = &run.task_id {
            let done = match claim {
                ScheduleClaim::Due { due, next } => {
                    sqlx::query(
                        "UPDATE tasks SET next_run_at = $1, last_run_at = $2, last_process_id = $3 \
                         WHERE task_id = $4 AND next_run_at = $5 AND active = 1",
                    )
                    .bind(next.map(|n| n.as_millisecond()))
                    .bind(run.started_at.as_millisecond())
                    .bind(run.process_id.0.clone())
                    .bind(task_id.0.clone())
                    .bind(due.as_millisecond())
                    .execute(&mut *tx)
                    .await?
                }
                ScheduleClaim::Manual => {
                    sqlx::query("UPDATE tasks SET last_run_at = $1, last_process_id = $2 WHERE task_id = $3")
                        .bind(run.started_at.as_millisecond())
                        .bind(run.process_id.0.clone())
                        .bind(task_id.0.clone())
                        .execute(&mut *tx)
                        .await?
                }
            };
            if done.rows_affected() == 0 {
                return match claim {
                    ScheduleClaim::Due { .. } => Ok(false),
                    ScheduleClaim::Manual => Err(StoreError::NotFound(format!("task `{task_id}`"))),
                };
            }
        }
        sqlx::query(
            "INSERT INTO runs (process_id, source, task_id, name, actions, selection, started_via, started_by, state, \
             outcome, error, started_at, finished_at, summary, progress_done, progress_total, quarantine, \
             cancel_requested_by, owner, lease_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'running', NULL, NULL, $9, NULL, $10, 0, 0, NULL, NULL, $11, $12)",
        )
        .bind(run.process_id.0.clone())
        .bind(run.source.as_str())
        .bind(run.task_id.as_ref().map(|t| t.0.clone()))
        .bind(run.name.clone())
        .bind(serde_json::to_string(&run.actions)?)
        .bind(serde_json::to_string(&run.selection)?)
        .bind(run.trigger.as_str())
        .bind(run.started_by.clone())
        .bind(run.started_at.as_millisecond())
        .bind(serde_json::to_string(&Summary::default())?)
        .bind(run.owner.clone())
        .bind(run.lease_until.as_millisecond())
        .execute(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!(
                "`{}` already has a run in progress or waiting for approval; only one runs at a time",
                run.name
            )),
            other => other,
        })?;
        tx.commit().await?;
        Ok(true)
    }

    /// Notes the selection a running run resolved (the filter's criteria at run time), if
    /// `owner` still holds the run.
    pub async fn set_run_selection(&self, id: &ProcessId, owner: &str, selection: &Selection) -> Result<bool> {
        let done =
            sqlx::query("UPDATE runs SET selection = $1 WHERE process_id = $2 AND owner = $3 AND state = 'running'")
                .bind(serde_json::to_string(selection)?)
                .bind(id.0.clone())
                .bind(owner.to_owned())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Renews `owner`'s claim on a running run. False when `owner` no longer holds it.
    pub async fn renew_run_lease(&self, id: &ProcessId, owner: &str, lease_until: Timestamp) -> Result<bool> {
        let done =
            sqlx::query("UPDATE runs SET lease_until = $1 WHERE process_id = $2 AND owner = $3 AND state = 'running'")
                .bind(lease_until.as_millisecond())
                .bind(id.0.clone())
                .bind(owner.to_owned())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores per-user results of a run, in one transaction that first renews `owner`'s claim:
    /// `NotFound` (and nothing written) when `owner` no longer holds the run.
    pub async fn record_run_users(
        &self,
        id: &ProcessId,
        owner: &str,
        lease_until: Timestamp,
        results: &[UserResult],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let held =
            sqlx::query("UPDATE runs SET lease_until = $1 WHERE process_id = $2 AND owner = $3 AND state = 'running'")
                .bind(lease_until.as_millisecond())
                .bind(id.0.clone())
                .bind(owner.to_owned())
                .execute(&mut *tx)
                .await?;
        if held.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("run `{id}` held by this process")));
        }
        let mut rows = Vec::with_capacity(results.len());
        for r in results {
            rows.push(vec![
                Param::from(id.0.as_str()),
                Param::from(r.account_id.0.as_str()),
                Param::from(r.status().as_str()),
                Param::from(serde_json::to_string(r)?),
            ]);
        }
        insert_rows(
            self.engine,
            &mut tx,
            "INSERT INTO run_users (process_id, account_id, status, result) VALUES ",
            rows.into_iter().collect(),
            " ON CONFLICT (process_id, account_id) DO UPDATE SET status = excluded.status, result = excluded.result",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Notes progress and renews `owner`'s claim. Returns who asked to cancel the run, if
    /// anyone; `NotFound` when `owner` no longer holds the run (it was closed meanwhile).
    pub async fn heartbeat_run(
        &self,
        id: &ProcessId,
        owner: &str,
        progress: Progress,
        summary: &Summary,
        lease_until: Timestamp,
    ) -> Result<Option<String>> {
        let row = sqlx::query(
            "UPDATE runs SET progress_done = $1, progress_total = $2, summary = $3, lease_until = $4 \
             WHERE process_id = $5 AND owner = $6 AND state = 'running' RETURNING cancel_requested_by",
        )
        .bind(count(progress.done))
        .bind(count(progress.total))
        .bind(serde_json::to_string(summary)?)
        .bind(lease_until.as_millisecond())
        .bind(id.0.clone())
        .bind(owner.to_owned())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("run `{id}` held by this process")))?;
        Ok(row.try_get(0)?)
    }

    /// Closes a run `owner` holds with its outcome. Returns false when the run was no longer
    /// held by `owner` (already closed).
    pub async fn finish_run(&self, id: &ProcessId, owner: &str, end: &RunEnd) -> Result<bool> {
        let RunEnd { outcome, error, summary, progress, finished_at: now, event } = end;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE runs SET state = 'finished', outcome = $1, error = $2, summary = $3, progress_done = $4, \
             progress_total = $5, finished_at = $6, owner = NULL, lease_until = NULL \
             WHERE process_id = $7 AND owner = $8 AND state = 'running'",
        )
        .bind(outcome.as_str())
        .bind(error.clone())
        .bind(serde_json::to_string(summary)?)
        .bind(count(progress.done))
        .bind(count(progress.total))
        .bind(now.as_millisecond())
        .bind(id.0.clone())
        .bind(owner.to_owned())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        if let Some(event) = event {
            crate::webhooks::queue_deliveries(&mut tx, event, *now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Parks a run `owner` holds before it changed anything: over the execution limit.
    pub async fn quarantine_run(
        &self,
        id: &ProcessId,
        owner: &str,
        quarantine: Quarantine,
        summary: &Summary,
        progress: Progress,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE runs SET state = 'quarantined', outcome = 'quarantined', quarantine = $1, summary = $2, \
             progress_done = $3, progress_total = $4, owner = NULL, lease_until = NULL \
             WHERE process_id = $5 AND owner = $6 AND state = 'running'",
        )
        .bind(serde_json::to_string(&quarantine)?)
        .bind(serde_json::to_string(summary)?)
        .bind(count(progress.done))
        .bind(count(progress.total))
        .bind(id.0.clone())
        .bind(owner.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Lets a quarantined run proceed under `owner`'s claim; `startedBy` notes who approved.
    /// False when it is not quarantined.
    pub async fn approve_run(&self, id: &ProcessId, owner: &str, lease_until: Timestamp, by: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE runs SET state = 'running', outcome = NULL, owner = $1, lease_until = $2, progress_done = 0, \
             summary = $3, started_by = started_by || $5, cancel_requested_by = NULL \
             WHERE process_id = $4 AND state = 'quarantined'",
        )
        .bind(owner.to_owned())
        .bind(lease_until.as_millisecond())
        .bind(serde_json::to_string(&Summary::default())?)
        .bind(id.0.clone())
        .bind(format!(", approved by {by}"))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Closes a quarantined run without changing anything. False when it is not quarantined.
    pub async fn reject_run(&self, id: &ProcessId, reason: &str, now: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE runs SET state = 'finished', outcome = 'rejected', error = $1, finished_at = $2 \
             WHERE process_id = $3 AND state = 'quarantined'",
        )
        .bind(reason.to_owned())
        .bind(now.as_millisecond())
        .bind(id.0.clone())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Asks a running run to stop after the users in hand. False when it is not running.
    pub async fn request_run_cancel(&self, id: &ProcessId, by: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE runs SET cancel_requested_by = $1 WHERE process_id = $2 AND state = 'running' \
             AND cancel_requested_by IS NULL",
        )
        .bind(by.to_owned())
        .bind(id.0.clone())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Closes as `failure` ("interrupted") every running run whose claim lapsed before `now`
    /// (of one task, or of all): its process died. A task's run fires `taskFailure` in the same
    /// transaction, with links built on `public_url`. Returns the runs closed.
    pub async fn close_interrupted_runs(
        &self,
        now: Timestamp,
        public_url: &str,
        task: Option<&TaskId>,
    ) -> Result<Vec<ProcessId>> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(concat!(
            "UPDATE runs SET state = 'finished', outcome = 'failure', error = ",
            interrupted!(),
            ", finished_at = $1, owner = NULL, lease_until = NULL \
             WHERE state = 'running' AND lease_until < $1 AND ($2 = '' OR task_id = $2) \
             RETURNING process_id, source, task_id, name, actions"
        ))
        .bind(now.as_millisecond())
        .bind(task.map_or_else(String::new, |t| t.0.clone()))
        .fetch_all(&mut *tx)
        .await?;
        let mut closed = Vec::with_capacity(rows.len());
        for row in &rows {
            let process_id = ProcessId(row.try_get(0)?);
            let source: RunSource = word(row.try_get(1)?)?;
            if let (RunSource::AutomatedTask, Some(task_id)) = (source, row.try_get::<Option<String>, _>(2)?) {
                let actions: Vec<Action> = json(&row.try_get::<String, _>(4)?)?;
                let event = TaskEvent::new(
                    false,
                    process_id.clone(),
                    &TaskId(task_id),
                    row.try_get(3)?,
                    model::task::action_types(&actions),
                    public_url,
                );
                crate::webhooks::queue_deliveries(&mut tx, &OutboundEvent::from(&event), now).await?;
            }
            closed.push(process_id);
        }
        tx.commit().await?;
        Ok(closed)
    }

    /// One run.
    pub async fn run(&self, id: &ProcessId) -> Result<StoredRun> {
        let row = sqlx::query(concat!("SELECT ", columns!(), " FROM runs WHERE process_id = $1"))
            .bind(id.0.clone())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("run `{id}`")))?;
        stored_run(&row)
    }

    /// One run's record (PRODUCT §5) with one page of `userChanges` (after `cursor`, at most
    /// `limit`), linked to the web UI at `public_url`.
    pub async fn run_record(
        &self,
        id: &ProcessId,
        cursor: Option<&str>,
        limit: u32,
        public_url: &str,
    ) -> Result<RunRecord> {
        let stored = self.run(id).await?;
        // One more than asked tells whether there is a next page.
        let mut results = self.run_users(id, cursor, limit + 1, &ChangeStatus::CHANGES).await?;
        let next_cursor = if results.len() > limit as usize {
            results.truncate(limit as usize);
            results.last().map(|r| r.account_id.0.clone())
        } else {
            None
        };
        Ok(stored.record(&results, next_cursor, &self.catalog().await?, public_url))
    }

    /// Runs matching `query`, newest first.
    pub async fn runs(&self, query: &RunQuery) -> Result<Vec<StoredRun>> {
        let mut q = SqlBuilder::new(self.engine, concat!("SELECT ", columns!(), " FROM runs r WHERE 1 = 1"));
        if let Some(task) = &query.task_id {
            q.push(" AND r.task_id = ").bind(task.0.as_str());
        }
        if let Some(account) = &query.account_id {
            q.push(" AND r.process_id IN (SELECT process_id FROM run_users WHERE account_id = ")
                .bind(account.0.as_str())
                .push(" AND status IN ('updated', 'partial', 'failed'))");
        }
        if let Some(outcome) = query.outcome {
            q.push(" AND r.outcome = ").bind(outcome.as_str());
        }
        if let Some(since) = query.since {
            q.push(" AND r.started_at >= ").bind(since);
        }
        if let Some(until) = query.until {
            q.push(" AND r.started_at < ").bind(until);
        }
        q.push(" ORDER BY r.started_at DESC, r.process_id DESC LIMIT ").bind(i64::from(query.limit));
        q.query().fetch_all(&self.pool).await?.iter().map(stored_run).collect()
    }

    /// Per-user results of a run by account id, after `after`, of users with one of
    /// `statuses` (all users when empty). [`ChangeStatus::CHANGES`] gives the `userChanges` of
    /// PRODUCT §5.
    pub async fn run_users(
        &self,
        id: &ProcessId,
        after: Option<&str>,
        limit: u32,
        statuses: &[ChangeStatus],
    ) -> Result<Vec<UserResult>> {
        let mut q = SqlBuilder::new(self.engine, "SELECT result FROM run_users WHERE process_id = ");
        q.bind(id.0.as_str());
        if let Some(after) = after {
            q.push(" AND account_id > ").bind(after);
        }
        if !statuses.is_empty() {
            let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
            q.push(" AND status IN ").bind_list(&statuses);
        }
        q.push(" ORDER BY account_id LIMIT ").bind(i64::from(limit));
        q.query().fetch_all(&self.pool).await?.iter().map(|r| json(&r.try_get::<String, _>(0)?)).collect()
    }

    /// Takes or renews the lease `name` for `owner` until `until`, if nobody else holds it at
    /// `now`. True when `owner` holds it afterwards.
    pub async fn try_lease(&self, name: &str, owner: &str, now: Timestamp, until: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
             WHERE leases.owner = excluded.owner OR leases.expires_at < $4",
        )
        .bind(name.to_owned())
        .bind(owner.to_owned())
        .bind(until.as_millisecond())
        .bind(now.as_millisecond())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
