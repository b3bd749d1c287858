//! Notification Settings: webhook subscriptions, checked against the URL policy, with secrets
//! sealed at rest and never shown again after they are set.

use std::sync::Arc;

use model::clock::Clock;
use model::filter::FieldProblem;
use model::webhook::{Attempt, Delivery, KeyExpiryEvent, OutboundEvent, Subscription, TaskEvent, Trigger};
use serde::{Deserialize, Serialize};
use store::{Store, StoreError};
use utoipa::ToSchema;

use crate::policy::UrlPolicy;
use crate::sealing::SealingKey;
use crate::signature::SigningSecret;

/// The longest name and notes accepted.
pub const MAX_NAME_CHARS: usize = 120;
pub const MAX_NOTES_CHARS: usize = 2_000;
/// The shortest secret accepted: a guessable secret would let anyone sign.
pub const MIN_SECRET_CHARS: usize = 16;
pub const MAX_SECRET_CHARS: usize = 512;

/// A subscription as a person writes it (PRODUCT §6 names). `secret` is required when creating
/// and optional when replacing (absent: keep the one set before).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionInput {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub secret: Option<String>,
    pub triggers: Vec<Trigger>,
    #[serde(default)]
    pub notes: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// A failure of a subscription operation.
#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldProblem>),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for SubscriptionError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Conflict(what) => Self::Conflict(what),
            other => Self::Store(other),
        }
    }
}

/// Subscriptions over one store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Subscriptions {
    store: Store,
    key: SealingKey,
    urls: Arc<UrlPolicy>,
    max: u64,
    clock: Arc<dyn Clock>,
}

/// What a sealed secret belongs to.
fn context(id: &str) -> String {
    format!("webhook:{id}")
}

impl Subscriptions {
    pub fn new(store: Store, key: SealingKey, urls: UrlPolicy, max: u64, clock: Arc<dyn Clock>) -> Self {
        Self { store, key, urls: Arc::new(urls), max, clock }
    }

    pub fn url_policy(&self) -> &UrlPolicy {
        &self.urls
    }

    pub async fn list(&self) -> Result<Vec<Subscription>, SubscriptionError> {
        Ok(self.store.webhook_subscriptions().await?)
    }

    pub async fn get(&self, id: &str) -> Result<Subscription, SubscriptionError> {
        Ok(self.store.webhook_subscription(id).await?)
    }

    pub async fn create(&self, input: &SubscriptionInput) -> Result<Subscription, SubscriptionError> {
        self.check(input, true)?;
        let now = self.clock.now();
        let subscription = Subscription {
            id: model::ids::new_uuid(),
            name: input.name.trim().to_owned(),
            url: input.url.trim().to_owned(),
            triggers: distinct(&input.triggers),
            notes: input.notes.clone(),
            enabled: input.enabled,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
        };
        let secret = input.secret.as_deref().unwrap_or_default();
        let sealed = self.key.seal(secret, &context(&subscription.id));
        // Subscriptions to this installation's own flows stay on this machine: the limit is for
        // the outside world.
        self.store.insert_webhook_subscription(&subscription, &sealed, self.max, Some(self.urls.own_flows())).await?;
        Ok(subscription)
    }

    pub async fn update(&self, id: &str, input: &SubscriptionInput) -> Result<Subscription, SubscriptionError> {
        let existing = self.store.webhook_subscription(id).await?;
        self.check(input, false)?;
        let own = self.urls.own_flows();
        if existing.url.starts_with(own) && !input.url.trim().starts_with(own) {
            // Moving out of this installation: it now counts towards the limit.
            let counted = self.store.webhook_subscriptions().await?.iter().filter(|s| !s.url.starts_with(own)).count();
            if u64::try_from(counted).unwrap_or(u64::MAX) >= self.max {
                return Err(SubscriptionError::Conflict(store::webhook_limit_reached(counted, self.max, true)));
            }
        }
        let subscription = Subscription {
            name: input.name.trim().to_owned(),
            url: input.url.trim().to_owned(),
            triggers: distinct(&input.triggers),
            notes: input.notes.clone(),
            enabled: input.enabled,
            // Switching it on again clears why ucm had switched it off.
            disabled_reason: if input.enabled { None } else { existing.disabled_reason.clone() },
            updated_at: self.clock.now(),
            ..existing
        };
        let sealed = input.secret.as_deref().map(|s| self.key.seal(s, &context(id)));
        self.store.update_webhook_subscription(&subscription, sealed.as_deref()).await?;
        Ok(subscription)
    }

    pub async fn delete(&self, id: &str) -> Result<(), SubscriptionError> {
        Ok(self.store.delete_webhook_subscription(id).await?)
    }

    /// Queues a test delivery to one subscription (whether or not it is enabled it is sent
    /// only when enabled): a payload of the shape of its first trigger, marked as a test by its
    /// name. Returns the delivery id.
    pub async fn send_test(&self, id: &str, public_url: &str) -> Result<String, SubscriptionError> {
        let subscription = self.store.webhook_subscription(id).await?;
        let now = self.clock.now();
        let event = match subscription.triggers.first().copied().unwrap_or(Trigger::TaskSuccess) {
            Trigger::OrgKeyExpiry => {
                let event = KeyExpiryEvent::new(
                    model::ids::ApiKeyId(model::ids::new_uuid()),
                    "Test from ucm".to_owned(),
                    now,
                    public_url,
                );
                OutboundEvent { trigger: Trigger::OrgKeyExpiry, body: event.body(), process_id: None, api_key_id: None }
            }
            trigger => {
                let event = TaskEvent::new(
                    trigger == Trigger::TaskSuccess,
                    model::ids::ProcessId(model::ids::new_uuid()),
                    &model::ids::TaskId("test".to_owned()),
                    "Test from ucm".to_owned(),
                    vec![],
                    public_url,
                );
                OutboundEvent { process_id: None, ..OutboundEvent::from(&event) }
            }
        };
        Ok(self.store.queue_test(id, &event, now).await?)
    }

    /// A subscription's delivery log, newest first.
    pub async fn deliveries(
        &self,
        id: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Delivery>, SubscriptionError> {
        self.store.webhook_subscription(id).await?;
        Ok(self.store.deliveries_of_subscription(id, state, limit.clamp(1, 500)).await?)
    }

    /// One delivery with every attempt.
    pub async fn delivery(&self, delivery_id: &str) -> Result<(Delivery, Vec<Attempt>), SubscriptionError> {
        Ok(self.store.delivery(delivery_id).await?)
    }

    /// Sends deliveries again by hand (the given ones, or every dead one of a subscription).
    pub async fn redeliver(&self, ids: &[String], dead_of: Option<&str>) -> Result<u64, SubscriptionError> {
        if let Some(id) = dead_of {
            self.store.webhook_subscription(id).await?;
        }
        if ids.len() > 1_000 {
            return Err(SubscriptionError::Invalid(vec![FieldProblem::new(
                "deliveryIds",
                ids.len().to_string(),
                "at most 1000 at once",
            )]));
        }
        Ok(self.store.redeliver(ids, dead_of, self.clock.now()).await?)
    }

    /// The signing secret of a subscription, opened (for the dispatcher only).
    pub async fn signing_secret(&self, id: &str) -> Result<(String, SigningSecret), SubscriptionError> {
        let sealed = self.store.webhook_secret_sealed(id).await?;
        self.open_secret(id, &sealed)
    }

    /// Opens the sealed secret of webhook `id` (as read with a claim): the token and the
    /// signing secret.
    pub fn open_secret(&self, id: &str, sealed: &str) -> Result<(String, SigningSecret), SubscriptionError> {
        let text = self.key.open(sealed, &context(id)).map_err(|e| {
            SubscriptionError::Conflict(format!(
                "the secret of webhook `{id}` cannot be opened ({e}); was the installation's key changed? set the secret again"
            ))
        })?;
        let secret = SigningSecret::new(&text).map_err(|e| SubscriptionError::Conflict(e.to_string()))?;
        Ok((text, secret))
    }

    fn check(&self, input: &SubscriptionInput, creating: bool) -> Result<(), SubscriptionError> {
        let mut problems = Vec::new();
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            problems.push(FieldProblem::new(
                "name",
                &input.name,
                format!("a name of 1 to {MAX_NAME_CHARS} characters, without control characters"),
            ));
        }
        if let Err(refused) = self.urls.check(input.url.trim()) {
            problems.push(FieldProblem::new("url", &input.url, refused.to_string()));
        }
        match (&input.secret, creating) {
            (None, true) => problems.push(FieldProblem::new("secret", "", "a new webhook needs a secret")),
            (Some(secret), _) => {
                let n = secret.chars().count();
                if !(MIN_SECRET_CHARS..=MAX_SECRET_CHARS).contains(&n) || secret.chars().any(char::is_control) {
                    problems.push(FieldProblem::new(
                        "secret",
                        "***",
                        format!("from {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters, without control characters"),
                    ));
                } else if let Err(e) = SigningSecret::new(secret) {
                    problems.push(FieldProblem::new("secret", "***", e.to_string()));
                }
            }
            (None, false) => {}
        }
        if input.triggers.is_empty() {
            problems.push(FieldProblem {
                suggestions: Trigger::ALL.iter().map(|t| t.as_str().to_owned()).collect(),
                ..FieldProblem::new("triggers", "[]", "choose at least one trigger")
            });
        }
        if input.notes.chars().count() > MAX_NOTES_CHARS {
            problems.push(FieldProblem::new("notes", "", format!("at most {MAX_NOTES_CHARS} characters")));
        }
        if problems.is_empty() { Ok(()) } else { Err(SubscriptionError::Invalid(problems)) }
    }
}

fn distinct(triggers: &[Trigger]) -> Vec<Trigger> {
    let mut out: Vec<Trigger> = Vec::new();
    for t in triggers {
        if !out.contains(t) {
            out.push(*t);
        }
    }
    out
}
