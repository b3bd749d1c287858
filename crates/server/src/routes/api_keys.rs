use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use model::apikey::{self, ApiKey, ApiKeyRole, ApiKeySecret, KeyState};
use model::ids::{AccountId, ApiKeyId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, JsonBody, Problem};

/// A key as lists show it, with its state now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    #[serde(flatten)]
    pub key: ApiKey,
    pub state: KeyState,
}

/// A key to create.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeyInput {
    pub name: String,
    /// Lifetime such as `90d`, `12h`, `2w`, `1y` (default `90d`). Give this or `expiresAt`.
    #[serde(default)]
    pub expires_in: Option<String>,
    /// Expiry instant (RFC 3339). Give this or `expiresIn`.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// `admin` (default) or `readOnly`.
    #[serde(default)]
    pub role: Option<ApiKeyRole>,
    /// The directory user the key acts for (checked against the access settings on every use).
    #[serde(default)]
    pub principal: Option<AccountId>,
}

/// A created key and its secret. The secret is shown this once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    pub api_key: ApiKey,
    /// Store it now: only its hash is kept.
    pub secret: String,
}

/// Every key, newest first. Secrets are never shown again.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api keys", security(("bearer" = [])),
    responses((status = 200, body = Vec<ApiKeyView>), (status = 403, body = Problem)))]
pub async fn list_api_keys(State(state): State<AppState>, _admin: Admin) -> Result<Json<Vec<ApiKeyView>>, ApiError> {
    let now = state.clock.now();
    let keys = state.store.api_keys().await?;
    Ok(Json(keys.into_iter().map(|key| ApiKeyView { state: key.state(now), key }).collect()))
}

/// Create a key. The answer holds the secret, once.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api keys", security(("bearer" = [])),
    request_body = ApiKeyInput,
    responses((status = 201, body = CreatedApiKey), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn create_api_key(
    State(state): State<AppState>,
    admin: Admin,
    JsonBody(input): JsonBody<ApiKeyInput>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let now = state.clock.now();
    let expires_at = match (&input.expires_in, input.expires_at) {
        (Some(_), Some(_)) => return Err(ApiError::field("expiresIn", "", "give expiresIn or expiresAt, not both")),
        (_, Some(at)) => at,
        (lifetime, None) => {
            let text = lifetime.as_deref().unwrap_or("90d");
            let span = apikey::parse_lifetime(text).map_err(|m| ApiError::field("expiresIn", text, m))?;
            now.checked_add(span).map_err(|e| ApiError::field("expiresIn", text, e.to_string()))?
        }
    };
    if admin.key.principal.is_some() && input.principal != admin.key.principal {
        return Err(ApiError::Forbidden(
            "a key that acts for a user may only create keys for that same user (set `principal` to it)".to_owned(),
        ));
    }
    let (key, secret) =
        issue_api_key(&state, &input.name, input.role.unwrap_or(ApiKeyRole::Admin), input.principal, expires_at)
            .await?;
    tracing::info!(api_key_id = %key.api_key_id, name = %key.name, by = %admin.key.api_key_id, "API key created");
    Ok((StatusCode::CREATED, Json(CreatedApiKey { api_key: key, secret: secret.expose().to_owned() })))
}

/// Creates and stores a key; the caller shows the secret once. Checks the name, the expiry
/// (in the future) and the principal (an existing user).
pub async fn issue_api_key(
    state: &AppState,
    name: &str,
    role: ApiKeyRole,
    principal: Option<AccountId>,
    expires_at: Timestamp,
) -> Result<(ApiKey, ApiKeySecret), ApiError> {
    let name = apikey::validate_name(name).map_err(|m| ApiError::field("name", name, m))?;
    let now = state.clock.now();
    apikey::validate_expiry(now, expires_at).map_err(|m| ApiError::field("expiresAt", expires_at.to_string(), m))?;
    if let Some(principal) = &principal {
        state.directory.user(principal).await.map_err(|e| match e {
            directory::DirectoryError::NotFound(_) => {
                ApiError::field("principal", principal.0.clone(), "no user has this account id")
            }
            other => other.into(),
        })?;
    }
    let (key, secret) = ApiKey::mint(name, role, principal, now, expires_at);
    state.store.insert_api_key(&key, &secret.hash()).await?;
    Ok((key, secret))
}

/// Revoke a key: it stops working at once.
#[utoipa::path(delete, path = "/api/v1/api-keys/{apiKeyId}", tag = "api keys", security(("bearer" = [])),
    params(("apiKeyId" = String, Path)),
    responses((status = 200, body = ApiKeyView), (status = 404, body = Problem)))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<ApiKeyView>, ApiError> {
    let id = ApiKeyId(crate::path_id(id, "API key")?);
    let target = state.store.api_key(&id).await?;
    if admin.key.principal.is_some() && target.principal != admin.key.principal {
        return Err(ApiError::Forbidden("a key that acts for a user may only revoke that user's keys".to_owned()));
    }
    let now = state.clock.now();
    let key = state.store.revoke_api_key(&id, now).await?;
    tracing::info!(api_key_id = %key.api_key_id, name = %key.name, by = %admin.key.api_key_id, "API key revoked");
    Ok(Json(ApiKeyView { state: key.state(now), key }))
}
