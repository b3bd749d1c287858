//! Notification Settings: webhook subscriptions (PRODUCT §6). The secret goes in, never out.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use model::apikey::ApiKeyRole;
use model::webhook::{Attempt, Delivery, Subscription};
use webhooks::SubscriptionInput;

use crate::AppState;
use crate::auth::{Admin, Caller};
use crate::error::{ApiError, JsonBody, Problem};

fn subscription_id(id: String) -> Result<String, ApiError> {
    crate::path_id(id, "webhook")
}

/// A subscription as `caller` may see it: a URL can hold a credential (a flow's path secret,
/// a token in the query), so read-only keys see its origin only, as in the web UI.
fn shown_to(caller: &Caller, mut subscription: Subscription) -> Subscription {
    if caller.key.role != ApiKeyRole::Admin {
        subscription.url = agent::tools::origin(&subscription.url);
    }
    subscription
}

/// Every webhook subscription, by name (secrets are never shown; read-only keys see each URL's
/// origin only).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = Vec<Subscription>), (status = 401, body = Problem)))]
pub async fn list_webhooks(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Subscription>>, ApiError> {
    let subscriptions = state.webhooks.list().await?;
    Ok(Json(subscriptions.into_iter().map(|s| shown_to(&caller, s)).collect()))
}

/// Subscribe a URL to events. The URL must start with an allowed prefix (Atlassian
/// Automation's endpoint, this installation's `/automation/webhooks/`, or a configured one);
/// the secret is sealed and never shown again.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = SubscriptionInput,
    responses((status = 201, body = Subscription), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn create_webhook(
    State(state): State<AppState>,
    admin: Admin,
    JsonBody(input): JsonBody<SubscriptionInput>,
) -> Result<(StatusCode, Json<Subscription>), ApiError> {
    let created = state.webhooks.create(&input).await?;
    tracing::info!(subscription = %created.id, by = %admin.key.api_key_id, "webhook created");
    Ok((StatusCode::CREATED, Json(created)))
}

/// One subscription (read-only keys see its URL's origin only).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Subscription), (status = 404, body = Problem)))]
pub async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Subscription>, ApiError> {
    Ok(Json(shown_to(&caller, state.webhooks.get(&subscription_id(id)?).await?)))
}

/// Replace a subscription. Without `secret`, the one set before is kept.
#[utoipa::path(put, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = SubscriptionInput,
    responses((status = 200, body = Subscription), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn update_webhook(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<SubscriptionInput>,
) -> Result<Json<Subscription>, ApiError> {
    Ok(Json(state.webhooks.update(&subscription_id(id)?, &input).await?))
}

/// Delete a subscription and its delivery log.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.webhooks.delete(&subscription_id(id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A queued test delivery.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestQueued {
    pub delivery_id: String,
}

/// Send a test: a delivery of the shape of the subscription's first trigger, named
/// "Test from ucm", signed like any other. Follow it in the delivery log.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 202, body = TestQueued), (status = 404, body = Problem)))]
pub async fn test_webhook(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<TestQueued>), ApiError> {
    let delivery_id = state.webhooks.send_test(&subscription_id(id)?, &state.public_url).await?;
    Ok((StatusCode::ACCEPTED, Json(TestQueued { delivery_id })))
}

/// The delivery log of a subscription, newest first (`state`: pending, in_flight, retrying,
/// succeeded or dead).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path), ("state" = Option<String>, Query), ("limit" = Option<u32>, Query, description = "at most 500 (default 50)")),
    responses((status = 200, body = Vec<Delivery>), (status = 404, body = Problem)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Delivery>>, ApiError> {
    let query = crate::query::simple_query(raw.as_deref(), &["state", "limit"])?;
    let wanted = query.get("state").map(String::as_str);
    if let Some(s) = wanted
        && !["pending", "in_flight", "retrying", "succeeded", "dead"].contains(&s)
    {
        return Err(ApiError::field("state", s, "one of pending, in_flight, retrying, succeeded, dead"));
    }
    let limit = match query.get("limit") {
        None => 50,
        Some(v) => v.parse().map_err(|_| ApiError::field("limit", v.clone(), "a number from 1 to 500"))?,
    };
    Ok(Json(state.webhooks.deliveries(&subscription_id(id)?, wanted, limit).await?))
}

/// A delivery with every attempt.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDetail {
    pub delivery: Delivery,
    pub attempts: Vec<Attempt>,
}

/// One delivery and its attempts (time, duration, status or error, the first bytes of the answer).
#[utoipa::path(get, path = "/api/v1/deliveries/{deliveryId}", tag = "webhooks", security(("bearer" = [])),
    params(("deliveryId" = String, Path)), responses((status = 200, body = DeliveryDetail), (status = 404, body = Problem)))]
pub async fn get_delivery(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryDetail>, ApiError> {
    let (delivery, attempts) = state.webhooks.delivery(&crate::path_id(id, "delivery")?).await?;
    Ok(Json(DeliveryDetail { delivery, attempts }))
}

/// Which deliveries to send again.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedeliverRequest {
    /// These deliveries (at most 1000)…
    #[serde(default)]
    pub delivery_ids: Vec<String>,
    /// …and/or every dead delivery of this subscription.
    #[serde(default)]
    pub dead_of_webhook: Option<String>,
}

/// How many deliveries were queued again.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Redelivered {
    pub redelivered: u64,
}

/// Send deliveries again by hand, each with a new round of 1 attempt + retries.
#[utoipa::path(post, path = "/api/v1/deliveries/redeliver", tag = "webhooks", security(("bearer" = [])),
    request_body = RedeliverRequest,
    responses((status = 200, body = Redelivered), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn redeliver(
    State(state): State<AppState>,
    _admin: Admin,
    JsonBody(request): JsonBody<RedeliverRequest>,
) -> Result<Json<Redelivered>, ApiError> {
    if request.delivery_ids.is_empty() && request.dead_of_webhook.is_none() {
        return Err(ApiError::field(
            "deliveryIds",
            "",
            "name deliveries, or a webhook whose dead deliveries to send again",
        ));
    }
    let redelivered = state.webhooks.redeliver(&request.delivery_ids, request.dead_of_webhook.as_deref()).await?;
    Ok(Json(Redelivered { redelivered }))
}
