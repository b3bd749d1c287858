//! Connections to the final-action targets (TARGETS.md) and what the local connection stored.
//! A credential goes in and never comes out.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use connectors::local::{KINDS, Output};
use connectors::{Connection, ConnectionInput, TestResult};

use crate::AppState;
use crate::auth::{Admin, Caller};
use crate::error::{ApiError, JsonBody, Problem};

fn connection_id(id: String) -> Result<String, ApiError> {
    crate::path_id(id, "connection")
}

/// Every connection, by name (credentials are never shown).
#[utoipa::path(get, path = "/api/v1/connections", tag = "connections", security(("bearer" = [])),
    responses((status = 200, body = Vec<Connection>), (status = 401, body = Problem)))]
pub async fn list_connections(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<Connection>>, ApiError> {
    Ok(Json(state.connections.list().await?))
}

/// Save a connection: `name`, `kind` (`slackWebhook`, `slackBot`, `confluence`, `jira`,
/// `local`) with that kind's settings, and `secret` (the webhook URL, bot token or API token),
/// which is sealed and never shown again.
#[utoipa::path(post, path = "/api/v1/connections", tag = "connections", security(("bearer" = [])),
    request_body = ConnectionInput,
    responses((status = 201, body = Connection), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn create_connection(
    State(state): State<AppState>,
    admin: Admin,
    JsonBody(input): JsonBody<ConnectionInput>,
) -> Result<(StatusCode, Json<Connection>), ApiError> {
    let created = state.connections.create(&input).await?;
    tracing::info!(connection = %created.id, kind = created.settings.kind(), by = %admin.key.api_key_id, "connection created");
    Ok((StatusCode::CREATED, Json(created)))
}

/// One connection, by id or name.
#[utoipa::path(get, path = "/api/v1/connections/{id}", tag = "connections", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Connection), (status = 404, body = Problem)))]
pub async fn get_connection(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Connection>, ApiError> {
    Ok(Json(state.connections.get(&connection_id(id)?).await?))
}

/// Replace a connection. Without `secret`, the credential set before is kept (a change of
/// kind needs a new one).
#[utoipa::path(put, path = "/api/v1/connections/{id}", tag = "connections", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ConnectionInput,
    responses((status = 200, body = Connection), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn update_connection(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ConnectionInput>,
) -> Result<Json<Connection>, ApiError> {
    Ok(Json(state.connections.update(&connection_id(id)?, &input).await?))
}

/// Delete a connection.
#[utoipa::path(delete, path = "/api/v1/connections/{id}", tag = "connections", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_connection(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.connections.delete(&connection_id(id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// "Test connection": a harmless call to the target that needs the credential. The answer
/// says what was checked, and on failure whether trying again can help and which field to fix.
#[utoipa::path(post, path = "/api/v1/connections/{id}/test", tag = "connections", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = TestResult), (status = 404, body = Problem)))]
pub async fn test_connection(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<TestResult>, ApiError> {
    Ok(Json(state.connections.test(&connection_id(id)?).await?))
}

/// What the local connection stored, newest first: `kind` is `page`, `message`, `workItem`
/// or `email` (all when left out).
#[utoipa::path(get, path = "/api/v1/outputs", tag = "connections", security(("bearer" = [])),
    params(("kind" = Option<String>, Query), ("limit" = Option<u32>, Query, description = "1 to 500 (default 50)")),
    responses((status = 200, body = Vec<Output>), (status = 400, body = Problem)))]
pub async fn list_outputs(
    State(state): State<AppState>,
    _caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Output>>, ApiError> {
    let query = crate::query::simple_query(raw.as_deref(), &["kind", "limit"])?;
    let kind = query.get("kind").map(String::as_str);
    if let Some(k) = kind
        && !KINDS.contains(&k)
    {
        return Err(ApiError::field("kind", k, "one of page, message, workItem, email"));
    }
    let limit = match query.get("limit") {
        None => 50,
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| ApiError::field("limit", v.clone(), "a number from 1 to 500"))?,
    };
    Ok(Json(connectors::local::list(&state.store, kind, limit).await?))
}

/// One output, by id or work item key (`LOCAL-1`).
#[utoipa::path(get, path = "/api/v1/outputs/{id}", tag = "connections", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Output), (status = 404, body = Problem)))]
pub async fn get_output(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Output>, ApiError> {
    Ok(Json(state.store.output(&crate::path_id(id, "output")?).await?.into()))
}
