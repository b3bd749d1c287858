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

/// Candidates a claim reads beyond what it wants: claimers racing for the head of the queue
/// each find one the others did not take.
const CLAIM_SPARE: i64 = 16;

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

/// A request to a flow's webhook, as stored before it is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredExecution {
    pub id: String,
    pub flow_id: String,
    /// `queued`, `running`, `finished`.
    pub state: String,
    pub status: Option<String>,
    pub webhook_id: Option<String>,
    pub body: String,
    /// The work items of a `provided` trigger, as a JSON list.
    pub work_items: Option<String>,
    pub source: String,
    /// `token`, `path`, `signature` or `test`.
    pub auth: String,
    /// How many flows led to this request (`X-Automation-Depth`).
    pub depth: u32,
    /// The process running it, and until when its claim holds.
    pub owner: Option<String>,
    pub lease_until: Option<Timestamp>,
    /// How many times it was claimed to run (a test run counts none).
    pub claims: u32,
    pub received_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// The steps' audit records, as JSON, once finished.
    pub steps: Option<String>,
    pub duration_ms: Option<i64>,
}

const EXECUTION_COLUMNS: &str = "execution_id, flow_id, state, status, webhook_id, body, work_items, source, auth, \
                                 received_at, started_at, finished_at, steps, duration_ms, depth, owner, lease_until, claims";

fn execution(row: &AnyRow) -> Result<StoredExecution> {
    Ok(StoredExecution {
        id: row.try_get(0)?,
        flow_id: row.try_get(1)?,
        state: row.try_get(2)?,
        status: row.try_get(3)?,
        webhook_id: row.try_get(4)?,
        body: row.try_get(5)?,
        work_items: row.try_get(6)?,
        source: row.try_get(7)?,
        auth: row.try_get(8)?,
        received_at: ts(row.try_get(9)?),
        started_at: row.try_get::<Option<i64>, _>(10)?.map(ts),
        finished_at: row.try_get::<Option<i64>, _>(11)?.map(ts),
        steps: row.try_get(12)?,
        duration_ms: row.try_get(13)?,
        depth: u32::try_from(row.try_get::<i64, _>(14)?).unwrap_or(u32::MAX),
        owner: row.try_get(15)?,
        lease_until: row.try_get::<Option<i64>, _>(16)?.map(ts),
        claims: u32::try_from(row.try_get::<i64, _>(17)?).unwrap_or(u32::MAX),
    })
}

impl Store {
    /// Stores a request as a queued execution. A request whose `webhook_id` this flow already
    /// received is not stored again: the earlier execution is returned, with `false`.
    pub async fn insert_execution(&self, e: &StoredExecution) -> Result<(StoredExecution, bool)> {
        let inserted = sqlx::query(
            "INSERT INTO flow_executions (execution_id, flow_id, state, status, webhook_id, body, work_items, source, \
             auth, received_at, depth, finished_at, steps, started_at, owner, lease_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT (flow_id, webhook_id) DO NOTHING",
        )
        .bind(e.id.clone())
        .bind(e.flow_id.clone())
        .bind(e.state.clone())
        .bind(e.status.clone())
        .bind(e.webhook_id.clone())
        .bind(e.body.clone())
        .bind(e.work_items.clone())
        .bind(e.source.clone())
        .bind(e.auth.clone())
        .bind(e.received_at.as_millisecond())
        .bind(i64::from(e.depth))
        .bind(e.finished_at.map(|t| t.as_millisecond()))
        .bind(e.steps.clone())
        .bind(e.started_at.map(|t| t.as_millisecond()))
        .bind(e.owner.clone())
        .bind(e.lease_until.map(|t| t.as_millisecond()))
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            return Ok((e.clone(), true));
        }
        let sql = format!("SELECT {EXECUTION_COLUMNS} FROM flow_executions WHERE flow_id = $1 AND webhook_id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(e.flow_id.clone())
            .bind(e.webhook_id.clone())
            .fetch_one(&self.pool)
            .await?;
        Ok((execution(&row)?, false))
    }

    /// Claims up to `limit` executions to run: queued ones, oldest first, and running ones
    /// whose lease lapsed before `now` (their process stopped). Each is taken with a
    /// compare-and-set, so two claimers never hold the same execution; one that loses a race
    /// goes on to the next candidate rather than coming back empty.
    pub async fn claim_executions(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<StoredExecution>> {
        // Those whose process stopped (their lease lapsed) first, then the queue in arrival order:
        // two queries on the (state, received_at) index, where one with an OR of both would read
        // every finished execution too.
        let candidates = i64::from(limit) + CLAIM_SPARE;
        let mut ids: Vec<String> = sqlx::query_scalar(
            "SELECT execution_id FROM flow_executions WHERE state = 'running' AND lease_until < $1 \
             ORDER BY received_at, execution_id LIMIT $2",
        )
        .bind(now.as_millisecond())
        .bind(candidates)
        .fetch_all(&self.pool)
        .await?;
        let wanted = candidates - i64::try_from(ids.len()).unwrap_or(i64::MAX);
        if wanted > 0 {
            let queued: Vec<String> = sqlx::query_scalar(
                "SELECT execution_id FROM flow_executions WHERE state = 'queued' \
                 ORDER BY received_at, execution_id LIMIT $1",
            )
            .bind(wanted)
            .fetch_all(&self.pool)
            .await?;
            ids.extend(queued);
        }
        let mut claimed = Vec::new();
        for id in ids {
            if claimed.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
                break;
            }
            let taken = sqlx::query(
                "UPDATE flow_executions SET state = 'running', owner = $1, lease_until = $2, \
                 started_at = COALESCE(started_at, $3), claims = claims + 1 \
                 WHERE execution_id = $4 AND (state = 'queued' OR (state = 'running' AND lease_until < $3))",
            )
            .bind(owner.to_owned())
            .bind(lease_until.as_millisecond())
            .bind(now.as_millisecond())
            .bind(id.clone())
            .execute(&self.pool)
            .await?
            .rows_affected()
                == 1;
            if taken {
                claimed.push(self.execution(&id).await?);
            }
        }
        Ok(claimed)
    }

    /// Extends the lease of an execution `owner` holds, while it runs; false when it no longer
    /// holds it.
    pub async fn renew_execution_lease(&self, id: &str, owner: &str, lease_until: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE flow_executions SET lease_until = $1 WHERE execution_id = $2 AND owner = $3 AND state = 'running'",
        )
        .bind(lease_until.as_millisecond())
        .bind(id.to_owned())
        .bind(owner.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Closes an execution `owner` holds: its status, the steps' audit records and how long it
    /// took. False when `owner` no longer holds it (its lease lapsed and another took it).
    pub async fn finish_execution(
        &self,
        id: &str,
        owner: &str,
        status: &str,
        steps: &str,
        finished_at: Timestamp,
        duration_ms: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE flow_executions SET state = 'finished', status = $1, steps = $2, finished_at = $3, \
             duration_ms = $4, owner = NULL, lease_until = NULL \
             WHERE execution_id = $5 AND owner = $6 AND state = 'running'",
        )
        .bind(status.to_owned())
        .bind(steps.to_owned())
        .bind(finished_at.as_millisecond())
        .bind(duration_ms)
        .bind(id.to_owned())
        .bind(owner.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Executions waiting to run, across every flow.
    pub async fn count_queued_executions(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM flow_executions WHERE state = 'queued'")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// How long a flow's executions finished after `since` took, in all (ms).
    pub async fn execution_time_since(&self, flow_id: &str, since: Timestamp) -> Result<i64> {
        let total: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(SUM(duration_ms) AS BIGINT) FROM flow_executions WHERE flow_id = $1 AND finished_at > $2",
        )
        .bind(flow_id.to_owned())
        .bind(since.as_millisecond())
        .fetch_one(&self.pool)
        .await?;
        Ok(total.unwrap_or(0))
    }

    /// How long each finished execution of a flow took from its request's arrival to its end
    /// (ms), shortest first; with how many are not finished yet. For benchmarks.
    pub async fn execution_latencies(&self, flow_id: &str) -> Result<(Vec<i64>, u64)> {
        let latencies: Vec<i64> = sqlx::query_scalar(
            "SELECT finished_at - received_at FROM flow_executions \
             WHERE flow_id = $1 AND state = 'finished' ORDER BY 1",
        )
        .bind(flow_id.to_owned())
        .fetch_all(&self.pool)
        .await?;
        let open: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM flow_executions WHERE flow_id = $1 AND state <> 'finished'")
                .bind(flow_id.to_owned())
                .fetch_one(&self.pool)
                .await?;
        Ok((latencies, u64::try_from(open).unwrap_or(0)))
    }

    /// Deletes executions that finished before `before`; how many.
    pub async fn delete_executions_before(&self, before: Timestamp) -> Result<u64> {
        let done = sqlx::query("DELETE FROM flow_executions WHERE state = 'finished' AND finished_at < $1")
            .bind(before.as_millisecond())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// One execution.
    pub async fn execution(&self, id: &str) -> Result<StoredExecution> {
        let sql = format!("SELECT {EXECUTION_COLUMNS} FROM flow_executions WHERE execution_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_owned())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("execution `{id}`")))?;
        execution(&row)
    }

    /// A flow's executions, newest first.
    pub async fn executions_of_flow(&self, flow_id: &str, limit: u32) -> Result<Vec<StoredExecution>> {
        let sql = format!(
            "SELECT {EXECUTION_COLUMNS} FROM flow_executions WHERE flow_id = $1 \
             ORDER BY received_at DESC, execution_id DESC LIMIT $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(flow_id.to_owned())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(execution)
            .collect()
    }
}
