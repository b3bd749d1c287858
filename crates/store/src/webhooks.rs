//! Webhook subscriptions and the outbox of deliveries. Deliveries are queued inside the
//! transaction of the event that causes them ([`queue_deliveries`]), never after it.

use jiff::Timestamp;
use model::ids::{ApiKeyId, ProcessId};
use model::webhook::{Delivery, OutboundEvent, Subscription, Trigger};
use sqlx::Row as _;
use sqlx::any::AnyRow;

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
             state, attempts, next_attempt_at, lease_owner, lease_until, last_status, last_error, created_at, \
             finished_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, NULL, NULL, NULL, NULL, $7, NULL)",
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

fn word<T: serde::de::DeserializeOwned>(text: String) -> Result<T> {
    Ok(serde_json::from_value(serde_json::Value::String(text))?)
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

impl Store {
    /// Stores a subscription with its sealed secret, unless `max` subscriptions exist already.
    /// Names are unique, ignoring case.
    pub async fn insert_webhook_subscription(&self, s: &Subscription, secret_sealed: &str, max: u64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let existing: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_subscriptions").fetch_one(&mut *tx).await?;
        if u64::try_from(existing).unwrap_or(u64::MAX) >= max {
            return Err(StoreError::Conflict(format!(
                "this installation already has {existing} webhooks, its limit (webhooks.max_subscriptions); \
                 delete one or raise the limit"
            )));
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
        .execute(&mut *tx)
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
        sqlx::query(
            "SELECT delivery_id, subscription_id, event, process_id, api_key_id, body, state, attempts, \
             next_attempt_at, created_at FROM webhook_deliveries WHERE process_id = $1 \
             ORDER BY created_at, delivery_id",
        )
        .bind(process_id.0.clone())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
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
            })
        })
        .collect()
    }
}
