use axum::Json;
use axum::extract::State;
use model::directory::{AppType, Group, Site};

use crate::AppState;
use crate::auth::{Admin, Caller};
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

/// What an on-demand sync did.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncResult {
    /// The directory's backend (`local`).
    pub backend: String,
    /// Users in the directory after the sync.
    pub users: u64,
    #[schema(value_type = String, format = DateTime)]
    pub synced_at: jiff::Timestamp,
    /// The daily slot in which the scheduler syncs and starts no task (`03:00–04:00 UTC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_slot: Option<String>,
}

/// Sync the directory now, as the daily sync and every run do.
#[utoipa::path(post, path = "/api/v1/directory/sync", tag = "directory", security(("bearer" = [])),
    responses((status = 200, body = SyncResult), (status = 403, body = Problem), (status = 503, body = Problem)))]
pub async fn sync_directory(State(state): State<AppState>, admin: Admin) -> Result<Json<SyncResult>, ApiError> {
    let report = state.directory.sync().await?;
    tracing::info!(users = report.users, by = %admin.key.api_key_id, "directory synced on demand");
    Ok(Json(SyncResult {
        backend: state.directory.backend().to_owned(),
        users: report.users,
        synced_at: state.clock.now(),
        daily_slot: state.sync_slot.as_ref().map(tasks::SyncSlot::describe),
    }))
}
