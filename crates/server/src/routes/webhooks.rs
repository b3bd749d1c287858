//! Notification Settings: webhook subscriptions (PRODUCT §6). The secret goes in, never out.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use model::webhook::Subscription;
use webhooks::SubscriptionInput;

use crate::AppState;
use crate::auth::{Admin, Caller};
use crate::error::{ApiError, JsonBody, Problem};

fn subscription_id(id: String) -> Result<String, ApiError> {
    crate::path_id(id, "webhook")
}

/// Every webhook subscription, by name (secrets are never shown).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = Vec<Subscription>), (status = 401, body = Problem)))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<Subscription>>, ApiError> {
    Ok(Json(state.webhooks.list().await?))
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

/// One subscription.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Subscription), (status = 404, body = Problem)))]
pub async fn get_webhook(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Subscription>, ApiError> {
    Ok(Json(state.webhooks.get(&subscription_id(id)?).await?))
}

/// Replace a subscription. Without `secret`, the one set before is kept.
#[utoipa::path(put, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = SubscriptionInput,
    responses((status = 200, body = Subscription), (status = 400, body = Problem), (status = 404, body = Problem)))]
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
