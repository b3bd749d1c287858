//! Webhook subscriptions and the outbox of deliveries. Deliveries are queued inside the
//! transaction of the event that causes them ([`queue_deliveries`]), never after it.

use jiff::Timestamp;
use model::ids::{ApiKeyId, ProcessId};
use model::webhook::{Attempt, Delivery, OutboundEvent, Subscription, Trigger};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::runs::word;
use crate::sql::ts;
use crate::{Result, Store, StoreError};

/// Queues `event` for every enabled subscription listening to its trigger, in `tx`. Returns how
/// many deliveries were queued.
pub(crate) async fn queue_deliveries(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    event: &OutboundEvent,
    now: Timestamp,
) -> Result<u64> {
    // Triggers are stored as a JSON array of names; the quoted name cannot match another one.
    let pattern = format!("%\"{}\"%", event.trigger.as_str());
    let subscriptions: Vec<String> = sqlx::query_scalar(
        "SELECT subscription_id FROM webhook_subscriptions WHERE enabled = 1 AND triggers LIKE $1 \
         ORDER BY subscription_id",
    )
    .bind(pattern)
    .fetch_all(&mut **tx)
    .await?;
    for subscription in &subscriptions {
        sqlx::query(
            "INSERT INTO webhook_deliveries (delivery_id, subscription_id, event, process_id, api_key_id, body, \
             state, attempts, round_start, next_attempt_at, lease_owner, lease_until, last_status, last_error, \
             created_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, 0, $7, NULL, NULL, NULL, NULL, $7, NULL)",
        )
        .bind(format!("msg_{}", model::ids::new_uuid().replace('-', "")))
        .bind(subscription.clone())
        .bind(event.trigger.as_str())
        .bind(event.process_id.as_ref().map(|p| p.0.clone()))
        .bind(event.api_key_id.as_ref().map(|k| k.0.clone()))
        .bind(event.body.clone())
        .bind(now.as_millisecond())
        .execute(&mut **tx)
        .await?;
    }
    Ok(subscriptions.len() as u64)
}

/// A delivery claimed for an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub delivery_id: String,
    pub subscription_id: String,
    pub url: String,
    /// The subscription's secret, sealed as stored (read with the claim, so an attempt needs
    /// no read of its own).
    pub secret_sealed: String,
    pub body: String,
    /// Attempts made before this one in the current round (a redelivery starts a new round).
    pub attempts: u32,
    /// When the event was queued (its outcome committed).
    pub queued_at: Timestamp,
    /// The run whose outcome the event reports, if any (for logs).
    pub process_id: Option<ProcessId>,
}

/// One attempt's record and what follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub started_at: Timestamp,
    pub duration_ms: u64,
    pub status: Option<u16>,
    pub error_kind: Option<String>,
    pub response_prefix: String,
    pub next: NextStep,
}

/// Where a delivery goes after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    Succeeded,
    /// Try again at this time.
    Retry(Timestamp),
    /// No more attempts.
    Dead,
    /// No more attempts, and the subscription is switched off (the receiver said 410 Gone).
    DeadAndDisable(String),
}

macro_rules! delivery_columns {
    () => {
        "delivery_id, subscription_id, event, process_id, api_key_id, body, state, attempts, next_attempt_at, \
         created_at, last_status, last_error, finished_at"
    };
}

fn delivery(row: &AnyRow) -> Result<Delivery> {
    Ok(Delivery {
        delivery_id: row.try_get(0)?,
        subscription_id: row.try_get(1)?,
        event: word::<Trigger>(row.try_get(2)?)?,
        process_id: row.try_get::<Option<String>, _>(3)?.map(ProcessId),
        api_key_id: row.try_get::<Option<String>, _>(4)?.map(ApiKeyId),
        body: row.try_get(5)?,
        state: row.try_get(6)?,
        attempts: u32::try_from(row.try_get::<i64, _>(7)?).unwrap_or_default(),
        next_attempt_at: ts(row.try_get(8)?),
        created_at: ts(row.try_get(9)?),
        last_status: row.try_get::<Option<i64>, _>(10)?.and_then(|s| u16::try_from(s).ok()),
        last_error: row.try_get(11)?,
        finished_at: row.try_get::<Option<i64>, _>(12)?.map(ts),
    })
}

macro_rules! subscription_columns {
    () => {
        "subscription_id, name, url, triggers, notes, enabled, disabled_reason, created_at, updated_at"
    };
}

fn subscription(row: &AnyRow) -> Result<Subscription> {
    Ok(Subscription {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        url: row.try_get(2)?,
        triggers: serde_json::from_str(&row.try_get::<String, _>(3)?)?,
        notes: row.try_get(4)?,
        enabled: row.try_get::<i64, _>(5)? != 0,
        disabled_reason: row.try_get(6)?,
        created_at: ts(row.try_get(7)?),
        updated_at: ts(row.try_get(8)?),
    })
}

/// Why a webhook cannot be added: `existing` of `max` are there already (`to_other_systems` when
/// this installation's own flows are not counted).
pub fn webhook_limit_reached(existing: usize, max: u64, to_other_systems: bool) -> String {
    let to = if to_other_systems { " to other systems" } else { "" };
    format!(
        "this installation already has {existing} webhooks{to} and its limit (webhooks.max_subscriptions) is {max}; \
         delete one or raise the limit"
    )
}

impl Store {
    /// Queues an event that no other write causes (a "send test") in a transaction of its own.
    pub async fn queue_event(&self, event: &OutboundEvent, now: Timestamp) -> Result<u64> {
        // It reads the subscriptions before it writes: take SQLite's write lock first.
        let mut tx = self.begin_write().await?;
        let queued = queue_deliveries(&mut tx, event, now).await?;
        tx.commit().await?;
        Ok(queued)
    }

    /// Claims up to `limit` deliveries due at `now` (new, to retry, or whose claim lapsed) for
    /// `owner` until `lease_until`, oldest due first. Two processes never claim the same one:
    /// PostgreSQL skips rows another claimer has locked, SQLite claims under its write lock.
    pub async fn claim_deliveries(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>> {
        let lock = match self.engine {
            crate::Engine::Postgres => " FOR UPDATE OF d SKIP LOCKED",
            crate::Engine::Sqlite => "",
        };
        let mut tx = self.begin_write().await?;
        // Lapsed claims first (they are overdue), then waiting deliveries in due order; each
        // half walks its own partial index and stops after `limit` rows.
        let mut ids: Vec<String> = Vec::new();
        for (condition, order) in [
            ("d.state = 'in_flight' AND d.lease_until < $1", "d.lease_until"),
            ("d.state IN ('pending', 'retrying') AND d.next_attempt_at <= $1", "d.next_attempt_at, d.delivery_id"),
        ] {
            let room = i64::from(limit) - ids.len() as i64;
            if room <= 0 {
                break;
            }
            let sql = format!(
                "SELECT d.delivery_id FROM webhook_deliveries d \
                 JOIN webhook_subscriptions s ON s.subscription_id = d.subscription_id \
                 WHERE {condition} AND s.enabled = 1 ORDER BY {order} LIMIT $2{lock}"
            );
            let found: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(now.as_millisecond())
                .bind(room)
                .fetch_all(&mut **tx)
                .await?;
            ids.extend(found);
        }
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let placeholders = (3..ids.len() + 3).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "UPDATE webhook_deliveries SET state = 'in_flight', lease_owner = $1, lease_until = $2 \
             WHERE delivery_id IN ({placeholders}) \
             RETURNING delivery_id, subscription_id, body, attempts - round_start, created_at, process_id"
        );
        let mut update =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner.to_owned()).bind(lease_until.as_millisecond());
        for id in ids {
            update = update.bind(id);
        }
        let rows = update.fetch_all(&mut **tx).await?;
        let mut claimed = Vec::with_capacity(rows.len());
        // Subscriptions are few (a configured maximum): read them all once rather than per row.
        let targets: std::collections::HashMap<String, (String, String)> =
            sqlx::query("SELECT subscription_id, url, secret_sealed FROM webhook_subscriptions")
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|row| Ok((row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?))))
                .collect::<Result<_>>()?;
        for row in &rows {
            let subscription_id: String = row.try_get(1)?;
            let (url, secret_sealed) = targets
                .get(&subscription_id)
                .cloned()
                .ok_or_else(|| StoreError::NotFound(format!("webhook `{subscription_id}`")))?;
            claimed.push(ClaimedDelivery {
                delivery_id: row.try_get(0)?,
                subscription_id,
                url,
                secret_sealed,
                body: row.try_get(2)?,
                attempts: u32::try_from(row.try_get::<i64, _>(3)?).unwrap_or_default(),
                queued_at: ts(row.try_get(4)?),
                process_id: row.try_get::<Option<String>, _>(5)?.map(ProcessId),
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records attempts of deliveries `owner` holds and moves each delivery on, all in one
    /// transaction (the dispatcher gathers the attempts that end together). For each, in order:
    /// false when `owner` no longer holds it (its claim lapsed and another took it).
    pub async fn record_attempts(&self, owner: &str, attempts: &[(String, AttemptRecord)]) -> Result<Vec<bool>> {
        let mut recorded = Vec::with_capacity(attempts.len());
        if attempts.is_empty() {
            return Ok(recorded);
        }
        let mut tx = self.begin_write().await?;
        for (delivery_id, attempt) in attempts {
            recorded.push(record_attempt(&mut tx, owner, delivery_id, attempt).await?);
        }
        tx.commit().await?;
        Ok(recorded)
    }

    /// Stores a subscription with its sealed secret, unless `max` subscriptions exist already.
    /// Subscriptions whose URL starts with `uncounted` (this installation's own flows) neither
    /// count nor are limited. Names are unique, ignoring case.
    pub async fn insert_webhook_subscription(
        &self,
        s: &Subscription,
        secret_sealed: &str,
        max: u64,
        uncounted: Option<&str>,
    ) -> Result<()> {
        let counts = |url: &str| uncounted.is_none_or(|prefix| !url.starts_with(prefix));
        let mut tx = self.begin_write().await?;
        let urls: Vec<String> =
            sqlx::query_scalar("SELECT url FROM webhook_subscriptions").fetch_all(&mut **tx).await?;
        let existing = urls.iter().filter(|url| counts(url)).count();
        if counts(&s.url) && u64::try_from(existing).unwrap_or(u64::MAX) >= max {
            return Err(StoreError::Conflict(webhook_limit_reached(existing, max, uncounted.is_some())));
        }
        sqlx::query(
            "INSERT INTO webhook_subscriptions (subscription_id, name, name_key, url, secret_sealed, triggers, notes, \
             enabled, disabled_reason, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(s.id.clone())
        .bind(s.name.clone())
        .bind(s.name.to_lowercase())
        .bind(s.url.clone())
        .bind(secret_sealed.to_owned())
        .bind(serde_json::to_string(&s.triggers)?)
        .bind(s.notes.clone())
        .bind(i64::from(s.enabled))
        .bind(s.disabled_reason.clone())
        .bind(s.created_at.as_millisecond())
        .bind(s.updated_at.as_millisecond())
        .execute(&mut **tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!("a webhook called `{}` already exists", s.name)),
            other => other,
        })?;
        tx.commit().await?;
        Ok(())
    }

    /// One subscription.
    pub async fn webhook_subscription(&self, id: &str) -> Result<Subscription> {
        let row = sqlx::query(concat!(
            "SELECT ",
            subscription_columns!(),
            " FROM webhook_subscriptions WHERE subscription_id = $1"
        ))
        .bind(id.to_owned())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("webhook `{id}`")))?;
        subscription(&row)
    }

    /// Replaces a subscription's settings; its secret too when `secret_sealed` is given.
    pub async fn update_webhook_subscription(&self, s: &Subscription, secret_sealed: Option<&str>) -> Result<()> {
        let done = sqlx::query(
            "UPDATE webhook_subscriptions SET name = $1, name_key = $2, url = $3, \
             secret_sealed = COALESCE($4, secret_sealed), triggers = $5, notes = $6, enabled = $7, \
             disabled_reason = $8, updated_at = $9 WHERE subscription_id = $10",
        )
        .bind(s.name.clone())
        .bind(s.name.to_lowercase())
        .bind(s.url.clone())
        .bind(secret_sealed.map(str::to_owned))
        .bind(serde_json::to_string(&s.triggers)?)
        .bind(s.notes.clone())
        .bind(i64::from(s.enabled))
        .bind(s.disabled_reason.clone())
        .bind(s.updated_at.as_millisecond())
        .bind(s.id.clone())
        .execute(&self.pool)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!("a webhook called `{}` already exists", s.name)),
            other => other,
        })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("webhook `{}`", s.id)));
        }
        Ok(())
    }

    /// Deletes a subscription and its delivery log.
    pub async fn delete_webhook_subscription(&self, id: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM webhook_subscriptions WHERE subscription_id = $1")
            .bind(id.to_owned())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("webhook `{id}`")));
        }
        Ok(())
    }

    /// The sealed secret of a subscription.
    pub async fn webhook_secret_sealed(&self, id: &str) -> Result<String> {
        sqlx::query_scalar("SELECT secret_sealed FROM webhook_subscriptions WHERE subscription_id = $1")
            .bind(id.to_owned())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("webhook `{id}`")))
    }

    /// Every subscription, by name.
    pub async fn webhook_subscriptions(&self) -> Result<Vec<Subscription>> {
        sqlx::query(concat!("SELECT ", subscription_columns!(), " FROM webhook_subscriptions ORDER BY name_key"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(subscription)
            .collect()
    }

    /// Task runs that ended (success or failure) with no delivery queued. A consistency check:
    /// while a subscription listens to both task triggers it is always 0, because a run's
    /// outcome and its deliveries are written in one transaction.
    pub async fn count_task_outcomes_without_deliveries(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM runs r WHERE r.source = 'automatedTask' AND r.state = 'finished' \
             AND r.outcome IN ('success', 'failure') \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.process_id = r.process_id)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// The deliveries an event of this run queued, oldest first.
    pub async fn deliveries_of_run(&self, process_id: &ProcessId) -> Result<Vec<Delivery>> {
        sqlx::query(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM webhook_deliveries WHERE process_id = $1 ORDER BY created_at, delivery_id"
        ))
        .bind(process_id.0.clone())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(delivery)
        .collect()
    }

    /// A subscription's deliveries, newest first, of one state if given.
    pub async fn deliveries_of_subscription(
        &self,
        subscription_id: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        sqlx::query(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM webhook_deliveries WHERE subscription_id = $1 AND ($2 = '' OR state = $2) \
             ORDER BY created_at DESC, delivery_id DESC LIMIT $3"
        ))
        .bind(subscription_id.to_owned())
        .bind(state.unwrap_or_default().to_owned())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(delivery)
        .collect()
    }

    /// One delivery and every attempt of it.
    pub async fn delivery(&self, delivery_id: &str) -> Result<(Delivery, Vec<Attempt>)> {
        let row =
            sqlx::query(concat!("SELECT ", delivery_columns!(), " FROM webhook_deliveries WHERE delivery_id = $1"))
                .bind(delivery_id.to_owned())
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("delivery `{delivery_id}`")))?;
        let attempts = sqlx::query(
            "SELECT attempt, started_at, duration_ms, status, error_kind, response_prefix FROM webhook_attempts \
             WHERE delivery_id = $1 ORDER BY attempt",
        )
        .bind(delivery_id.to_owned())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Attempt {
                attempt: u32::try_from(r.try_get::<i64, _>(0)?).unwrap_or_default(),
                started_at: ts(r.try_get(1)?),
                duration_ms: u64::try_from(r.try_get::<i64, _>(2)?).unwrap_or_default(),
                status: r.try_get::<Option<i64>, _>(3)?.and_then(|s| u16::try_from(s).ok()),
                error: r.try_get(4)?,
                response: r.try_get(5)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok((delivery(&row)?, attempts))
    }

    /// Sends deliveries again from now, each with a new round of 1 attempt + retries: the given
    /// ones, or every dead one of a subscription. Deliveries in flight are left alone. Returns
    /// how many were queued again.
    pub async fn redeliver(&self, ids: &[String], dead_of_subscription: Option<&str>, now: Timestamp) -> Result<u64> {
        let mut total = 0;
        for chunk in ids.chunks(500) {
            let mut q = crate::sql::SqlBuilder::new(
                self.engine,
                "UPDATE webhook_deliveries SET state = 'pending', round_start = attempts, next_attempt_at = ",
            );
            q.bind(now)
                .push(", finished_at = NULL WHERE state IN ('dead', 'succeeded', 'retrying', 'pending') AND delivery_id IN ")
                .bind_list(chunk);
            total += q.query().execute(&self.pool).await?.rows_affected();
        }
        if let Some(subscription) = dead_of_subscription {
            total += sqlx::query(
                "UPDATE webhook_deliveries SET state = 'pending', round_start = attempts, next_attempt_at = $1, \
                 finished_at = NULL WHERE state = 'dead' AND subscription_id = $2",
            )
            .bind(now.as_millisecond())
            .bind(subscription.to_owned())
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(total)
    }

    /// The daily API key expiry check (PRODUCT §7): every key that is not revoked and expires
    /// after `now` but by `horizon` fires one `orgKeyExpiry` per expiry date. The notice and its
    /// deliveries are written in one transaction, so two processes checking at once notice a
    /// key once. A key whose expiry moves (renewed) is noticed again. The connected Atlassian
    /// organization's key counts too, under its connection's id. Returns the keys noticed.
    pub async fn notice_key_expiries(
        &self,
        now: Timestamp,
        horizon: Timestamp,
        public_url: &str,
    ) -> Result<Vec<ApiKeyId>> {
        let mut tx = self.begin_write().await?;
        let due = sqlx::query(
            "SELECT api_key_id, name, expires_at FROM api_keys WHERE revoked_at IS NULL \
             AND expires_at > $1 AND expires_at <= $2 ORDER BY expires_at, api_key_id",
        )
        .bind(now.as_millisecond())
        .bind(horizon.as_millisecond())
        .fetch_all(&mut **tx)
        .await?;
        // The connected Atlassian organization's key too, under the connection's id.
        let org_key = sqlx::query(
            "SELECT connection_id, key_name, key_expires_at FROM atlassian_connection \
             WHERE key_expires_at > $1 AND key_expires_at <= $2",
        )
        .bind(now.as_millisecond())
        .bind(horizon.as_millisecond())
        .fetch_all(&mut **tx)
        .await?;
        let mut noticed = Vec::new();
        for (row, org) in due.iter().map(|r| (r, false)).chain(org_key.iter().map(|r| (r, true))) {
            let id = ApiKeyId(row.try_get(0)?);
            let expires_at = ts(row.try_get(2)?);
            let first = sqlx::query(
                "INSERT INTO key_expiry_notices (api_key_id, expires_at, noticed_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (api_key_id, expires_at) DO NOTHING",
            )
            .bind(id.0.clone())
            .bind(expires_at.as_millisecond())
            .bind(now.as_millisecond())
            .execute(&mut **tx)
            .await?
            .rows_affected()
                == 1;
            if first {
                let event = if org {
                    model::webhook::KeyExpiryEvent::for_org_key(id.clone(), row.try_get(1)?, expires_at, public_url)
                } else {
                    model::webhook::KeyExpiryEvent::new(id.clone(), row.try_get(1)?, expires_at, public_url)
                };
                let out = OutboundEvent {
                    trigger: Trigger::OrgKeyExpiry,
                    body: event.body(),
                    process_id: None,
                    api_key_id: Some(id.clone()),
                };
                queue_deliveries(&mut tx, &out, now).await?;
                noticed.push(id);
            }
        }
        tx.commit().await?;
        Ok(noticed)
    }

    /// The deliveries queued for one API key's expiry notices.
    pub async fn deliveries_of_key(&self, api_key_id: &ApiKeyId) -> Result<Vec<Delivery>> {
        sqlx::query(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM webhook_deliveries WHERE api_key_id = $1 ORDER BY created_at, delivery_id"
        ))
        .bind(api_key_id.0.clone())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(delivery)
        .collect()
    }

    /// For every delivery queued at or after `queued_since` and attempted at least once:
    /// milliseconds from its event's commit to its first attempt (benchmarks).
    pub async fn first_attempt_latencies(&self, queued_since: Timestamp) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT a.started_at - d.created_at FROM webhook_deliveries d \
             JOIN webhook_attempts a ON a.delivery_id = d.delivery_id AND a.attempt = 1 \
             WHERE d.created_at >= $1 ORDER BY 1",
        )
        .bind(queued_since.as_millisecond())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Refreshes the planner's statistics of the outbox, as autovacuum (PostgreSQL) would
    /// shortly after a burst. Benchmarks call it after filling a new outbox: without it the
    /// first claims sort every waiting delivery instead of reading the due index in order.
    pub async fn analyze_outbox(&self) -> Result<()> {
        sqlx::query("ANALYZE webhook_deliveries").execute(&self.pool).await?;
        Ok(())
    }

    /// Deliveries by state, across the installation (the outbox's depth, for `/metrics`).
    pub async fn deliveries_by_state(&self) -> Result<Vec<(String, u64)>> {
        sqlx::query("SELECT state, COUNT(*) FROM webhook_deliveries GROUP BY state ORDER BY state")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, u64::try_from(r.try_get::<i64, _>(1)?).unwrap_or_default())))
            .collect()
    }

    /// Queues a test event for one subscription; returns the delivery id.
    pub async fn queue_test(&self, subscription_id: &str, event: &OutboundEvent, now: Timestamp) -> Result<String> {
        let id = format!("msg_{}", model::ids::new_uuid().replace('-', ""));
        sqlx::query(
            "INSERT INTO webhook_deliveries (delivery_id, subscription_id, event, process_id, api_key_id, body, \
             state, attempts, round_start, next_attempt_at, lease_owner, lease_until, last_status, last_error, \
             created_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, 0, $7, NULL, NULL, NULL, NULL, $7, NULL)",
        )
        .bind(id.clone())
        .bind(subscription_id.to_owned())
        .bind(event.trigger.as_str())
        .bind(event.process_id.as_ref().map(|p| p.0.clone()))
        .bind(event.api_key_id.as_ref().map(|k| k.0.clone()))
        .bind(event.body.clone())
        .bind(now.as_millisecond())
        .execute(&self.pool)
        .await?;
        Ok(id)
    }
}

/// Records one attempt of a delivery `owner` holds and moves the delivery on, in `tx`. False
/// when `owner` no longer holds it.
async fn record_attempt(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    owner: &str,
    delivery_id: &str,
    attempt: &AttemptRecord,
) -> Result<bool> {
    let (state, next_at, finished) = match &attempt.next {
        NextStep::Succeeded => ("succeeded", attempt.started_at, Some(attempt.started_at)),
        NextStep::Retry(at) => ("retrying", *at, None),
        NextStep::Dead | NextStep::DeadAndDisable(_) => ("dead", attempt.started_at, Some(attempt.started_at)),
    };
    let row = sqlx::query(
        "UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, next_attempt_at = $2, \
         lease_owner = NULL, lease_until = NULL, last_status = $3, last_error = $4, finished_at = $5 \
         WHERE delivery_id = $6 AND lease_owner = $7 AND state = 'in_flight' RETURNING attempts, subscription_id",
    )
    .bind(state)
    .bind(next_at.as_millisecond())
    .bind(attempt.status.map(i64::from))
    .bind(attempt.error_kind.clone())
    .bind(finished.map(|f| f.as_millisecond()))
    .bind(delivery_id.to_owned())
    .bind(owner.to_owned())
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(false) };
    let number: i64 = row.try_get(0)?;
    let subscription_id: String = row.try_get(1)?;
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status, error_kind, \
         response_prefix) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(delivery_id.to_owned())
    .bind(number)
    .bind(attempt.started_at.as_millisecond())
    .bind(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX))
    .bind(attempt.status.map(i64::from))
    .bind(attempt.error_kind.clone())
    .bind(attempt.response_prefix.clone())
    .execute(&mut **tx)
    .await?;
    if let NextStep::DeadAndDisable(reason) = &attempt.next {
        sqlx::query(
            "UPDATE webhook_subscriptions SET enabled = 0, disabled_reason = $1, updated_at = $2 \
             WHERE subscription_id = $3",
        )
        .bind(reason.clone())
        .bind(attempt.started_at.as_millisecond())
        .bind(subscription_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(true)
}
