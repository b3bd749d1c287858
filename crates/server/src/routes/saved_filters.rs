use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use model::filter::{SavedFilter, UserFilter, validate_filter_name};
use model::ids::FilterId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Admin, Caller};
use crate::error::{ApiError, JsonBody, Problem};

/// A saved filter to create or replace.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SavedFilterInput {
    pub name: String,
    /// User Browser criteria; names are resolved now and stored as ids.
    #[serde(default)]
    pub criteria: UserFilter,
}

/// Checks the input and resolves its names (an unknown one is a 400 with suggestions).
pub(crate) async fn canonical(state: &AppState, input: &SavedFilterInput) -> Result<(String, UserFilter), ApiError> {
    let name = validate_filter_name(&input.name)
        .map_err(|p| ApiError::BadRequest { detail: format!("name: {}", p.message), errors: vec![p] })?;
    Ok((name, state.directory.canonical_filter(&input.criteria).await?))
}

/// Every saved filter, by name.
#[utoipa::path(get, path = "/api/v1/saved-filters", tag = "saved filters", security(("bearer" = [])),
    responses((status = 200, body = Vec<SavedFilter>), (status = 401, body = Problem)))]
pub async fn list_saved_filters(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<SavedFilter>>, ApiError> {
    Ok(Json(state.store.saved_filters().await?))
}

/// Save criteria under a name (names are unique, ignoring case).
#[utoipa::path(post, path = "/api/v1/saved-filters", tag = "saved filters", security(("bearer" = [])),
    request_body = SavedFilterInput,
    responses((status = 201, body = SavedFilter), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn create_saved_filter(
    State(state): State<AppState>,
    _admin: Admin,
    JsonBody(input): JsonBody<SavedFilterInput>,
) -> Result<(StatusCode, Json<SavedFilter>), ApiError> {
    let (name, criteria) = canonical(&state, &input).await?;
    let saved = state.store.create_saved_filter(&name, &criteria, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// One saved filter.
#[utoipa::path(get, path = "/api/v1/saved-filters/{filterId}", tag = "saved filters", security(("bearer" = [])),
    params(("filterId" = String, Path)),
    responses((status = 200, body = SavedFilter), (status = 404, body = Problem)))]
pub async fn get_saved_filter(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SavedFilter>, ApiError> {
    Ok(Json(state.store.saved_filter(&FilterId(crate::path_id(id, "saved filter")?)).await?))
}

/// Replace a saved filter's name and criteria.
#[utoipa::path(put, path = "/api/v1/saved-filters/{filterId}", tag = "saved filters", security(("bearer" = [])),
    params(("filterId" = String, Path)), request_body = SavedFilterInput,
    responses((status = 200, body = SavedFilter), (status = 400, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn update_saved_filter(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<SavedFilterInput>,
) -> Result<Json<SavedFilter>, ApiError> {
    let (name, criteria) = canonical(&state, &input).await?;
    let id = FilterId(crate::path_id(id, "saved filter")?);
    Ok(Json(state.store.update_saved_filter(&id, &name, &criteria, state.clock.now()).await?))
}

/// Delete a saved filter.
#[utoipa::path(delete, path = "/api/v1/saved-filters/{filterId}", tag = "saved filters", security(("bearer" = [])),
    params(("filterId" = String, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_saved_filter(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_saved_filter(&FilterId(crate::path_id(id, "saved filter")?)).await?;
    Ok(StatusCode::NO_CONTENT)
}
