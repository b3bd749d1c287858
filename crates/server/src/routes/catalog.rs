use axum::Json;
use axum::extract::State;
use model::directory::{AppType, Group, Site};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};

/// The organization's sites.
#[utoipa::path(get, path = "/api/v1/sites", tag = "directory", security(("bearer" = [])),
    responses((status = 200, body = Vec<Site>), (status = 401, body = Problem)))]
pub async fn list_sites(State(state): State<AppState>, _caller: Caller) -> Result<Json<Vec<Site>>, ApiError> {
    Ok(Json(state.directory.catalog().await?.sites))
}

/// The app types, with display names and aliases.
#[utoipa::path(get, path = "/api/v1/apps", tag = "directory", security(("bearer" = [])),
    responses((status = 200, body = Vec<AppType>), (status = 401, body = Problem)))]
pub async fn list_apps(State(state): State<AppState>, _caller: Caller) -> Result<Json<Vec<AppType>>, ApiError> {
    Ok(Json(state.directory.catalog().await?.apps))
}

/// The groups, with the app accesses their membership grants.
#[utoipa::path(get, path = "/api/v1/groups", tag = "directory", security(("bearer" = [])),
    responses((status = 200, body = Vec<Group>), (status = 401, body = Problem)))]
pub async fn list_groups(State(state): State<AppState>, _caller: Caller) -> Result<Json<Vec<Group>>, ApiError> {
    Ok(Json(state.directory.catalog().await?.groups))
}
