//! The Atlassian organization the directory mirrors: its connection (the key is checked with
//! Atlassian, sealed, never shown), a key check, and disconnecting.

use atlassian::{ConnectInput, OrgConnectionView, OrgError};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Admin, Caller};
use crate::error::{ApiError, JsonBody, Problem};

/// The directory's backend, and the organization when one is connected.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryStatus {
    /// `atlassian` or `local`.
    pub backend: String,
    /// Users in the directory.
    pub users: u64,
    pub atlassian: Option<OrgConnectionView>,
}

/// What connecting an organization takes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectOrg {
    /// The organization API key (admin.atlassian.com → Settings → API keys, without scopes).
    pub api_key: String,
    /// The day the key expires (`YYYY-MM-DD`), as Atlassian showed it.
    #[schema(value_type = String, format = Date)]
    pub key_expires: jiff::civil::Date,
    pub key_name: Option<String>,
    /// Needed for a key created with scopes, which lists no organization.
    pub org_id: Option<String>,
    /// Needed only when the organization has several directories.
    pub directory_id: Option<String>,
}

impl From<OrgError> for ApiError {
    fn from(error: OrgError) -> Self {
        match error {
            OrgError::Invalid { field, message } => ApiError::field(field, "", message),
            OrgError::NotConnected => ApiError::NotFound(error.to_string()),
            OrgError::Store(e) => e.into(),
            other => ApiError::Upstream(other.to_string()),
        }
    }
}

/// The directory's backend and the connected organization (never its key).
#[utoipa::path(get, path = "/api/v1/directory/atlassian", tag = "directory", security(("bearer" = [])),
    responses((status = 200, body = DirectoryStatus), (status = 401, body = Problem)))]
pub async fn get_org(State(state): State<AppState>, _caller: Caller) -> Result<Json<DirectoryStatus>, ApiError> {
    let atlassian = state.organization.status().await?;
    Ok(Json(DirectoryStatus {
        backend: if atlassian.is_some() { "atlassian" } else { "local" }.to_owned(),
        users: state.store.count_users().await?,
        atlassian,
    }))
}

/// Connect an Atlassian organization: the key is checked with Atlassian first, then sealed.
/// The directory is read from it at the next sync (`POST /api/v1/directory/sync`).
#[utoipa::path(put, path = "/api/v1/directory/atlassian", tag = "directory", security(("bearer" = [])),
    request_body = ConnectOrg,
    responses((status = 200, body = OrgConnectionView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 502, body = Problem)))]
pub async fn connect_org(
    State(state): State<AppState>,
    admin: Admin,
    JsonBody(input): JsonBody<ConnectOrg>,
) -> Result<Json<OrgConnectionView>, ApiError> {
    let input = ConnectInput {
        api_key: input.api_key,
        key_expires: input.key_expires,
        key_name: input.key_name,
        org_id: input.org_id,
        directory_id: input.directory_id,
    };
    let by = format!("api key {}", admin.key.name);
    Ok(Json(state.organization.connect(&input, &by).await?))
}

/// Check the stored key with Atlassian now.
#[utoipa::path(post, path = "/api/v1/directory/atlassian/check", tag = "directory", security(("bearer" = [])),
    responses((status = 200, body = OrgConnectionView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 502, body = Problem)))]
pub async fn check_org(State(state): State<AppState>, _admin: Admin) -> Result<Json<OrgConnectionView>, ApiError> {
    Ok(Json(state.organization.check_key().await?))
}

/// Disconnect the organization and delete its key; the directory keeps what it last read.
#[utoipa::path(delete, path = "/api/v1/directory/atlassian", tag = "directory", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn disconnect_org(State(state): State<AppState>, admin: Admin) -> Result<StatusCode, ApiError> {
    if !state.organization.disconnect().await? {
        return Err(OrgError::NotConnected.into());
    }
    tracing::info!(by = %admin.key.api_key_id, "Atlassian organization disconnected");
    Ok(StatusCode::NO_CONTENT)
}
