use axum::Json;
use axum::extract::State;
use model::access::AccessSettings;

use crate::AppState;
use crate::auth::{Admin, Caller};
use crate::error::{ApiError, JsonBody, Problem};

/// Who besides organization admins may use ucm.
#[utoipa::path(get, path = "/api/v1/settings/access", tag = "settings", security(("bearer" = [])),
    responses((status = 200, body = AccessSettings), (status = 401, body = Problem)))]
pub async fn get_access_settings(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<AccessSettings>, ApiError> {
    Ok(Json(state.store.access_settings().await?))
}

/// Replace the access settings.
#[utoipa::path(put, path = "/api/v1/settings/access", tag = "settings", security(("bearer" = [])),
    request_body = AccessSettings,
    responses((status = 200, body = AccessSettings), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn put_access_settings(
    State(state): State<AppState>,
    admin: Admin,
    JsonBody(settings): JsonBody<AccessSettings>,
) -> Result<Json<AccessSettings>, ApiError> {
    state.store.set_access_settings(&settings).await?;
    tracing::info!(?settings, by = %admin.key.api_key_id, "access settings changed");
    Ok(Json(settings))
}
