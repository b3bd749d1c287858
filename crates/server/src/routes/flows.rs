//! Flows of the automation engine (AUTOMATION.md). The incoming webhook's secret is shown to
//! admin keys only; read-only keys see flows without it.

use automation::{ExecutionView, ExportFile, Flow, FlowError, ImportReport};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use model::apikey::ApiKeyRole;
use model::flow::FlowDefinition;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::{Admin, Caller};
use crate::error::{ApiError, JsonBody, Problem};

fn flow_id(id: String) -> Result<String, ApiError> {
    crate::path_id(id, "flow")
}

/// Every flow, by name (webhook secrets not shown).
#[utoipa::path(get, path = "/api/v1/flows", tag = "automation", security(("bearer" = [])),
    responses((status = 200, body = Vec<Flow>), (status = 401, body = Problem)))]
pub async fn list_flows(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Flow>>, ApiError> {
    let flows = state.flows.list().await?;
    Ok(Json(flows.into_iter().map(|flow| shown_to(&caller, flow)).collect()))
}

/// A flow as `caller` may see it: read-only keys see its web requests' credentials (headers,
/// query parameters, body fields named like credentials) as `***`.
fn shown_to(caller: &Caller, mut flow: Flow) -> Flow {
    if caller.key.role != ApiKeyRole::Admin {
        automation::transfer::hide_credentials(&mut flow.definition);
    }
    flow
}

/// Save a flow: a trigger and steps, checked first (every problem listed: smart-value syntax
/// with line and column, the 65-step cap, an explicit issue type, connections that exist). The
/// answer carries the flow's webhook URL and secret, minted now. New flows start disabled
/// unless `enabled` says otherwise.
#[utoipa::path(post, path = "/api/v1/flows", tag = "automation", security(("bearer" = [])),
    request_body = FlowDefinition,
    responses((status = 201, body = Flow), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn create_flow(
    State(state): State<AppState>,
    admin: Admin,
    JsonBody(definition): JsonBody<FlowDefinition>,
) -> Result<(StatusCode, Json<Flow>), ApiError> {
    let created = state.flows.create(&definition, &admin.key.name).await?;
    tracing::info!(flow = %created.flow_id, by = %admin.key.api_key_id, "flow created");
    Ok((StatusCode::CREATED, Json(created)))
}

/// One flow; its webhook secret for admin keys.
#[utoipa::path(get, path = "/api/v1/flows/{flowId}", tag = "automation", security(("bearer" = [])),
    params(("flowId" = String, Path)), responses((status = 200, body = Flow), (status = 404, body = Problem)))]
pub async fn get_flow(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Flow>, ApiError> {
    let reveal = caller.key.role == ApiKeyRole::Admin;
    Ok(Json(shown_to(&caller, state.flows.get(&flow_id(id)?, reveal).await?)))
}

/// Replace a flow's definition, checked as on creation. Its id, URL and secret stay.
#[utoipa::path(put, path = "/api/v1/flows/{flowId}", tag = "automation", security(("bearer" = [])),
    params(("flowId" = String, Path)), request_body = FlowDefinition,
    responses((status = 200, body = Flow), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn update_flow(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
    JsonBody(definition): JsonBody<FlowDefinition>,
) -> Result<Json<Flow>, ApiError> {
    Ok(Json(state.flows.update(&flow_id(id)?, &definition).await?))
}

/// Enable a flow (it is checked again: a connection may have gone).
#[utoipa::path(post, path = "/api/v1/flows/{flowId}/enable", tag = "automation", security(("bearer" = [])),
    params(("flowId" = String, Path)),
    responses((status = 200, body = Flow), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn enable_flow(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<Flow>, ApiError> {
    Ok(Json(state.flows.set_enabled(&flow_id(id)?, true).await?))
}

/// Disable a flow: its webhook then answers 404.
#[utoipa::path(post, path = "/api/v1/flows/{flowId}/disable", tag = "automation", security(("bearer" = [])),
    params(("flowId" = String, Path)), responses((status = 200, body = Flow), (status = 404, body = Problem)))]
pub async fn disable_flow(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<Flow>, ApiError> {
    Ok(Json(state.flows.set_enabled(&flow_id(id)?, false).await?))
}

/// Delete a flow.
#[utoipa::path(delete, path = "/api/v1/flows/{flowId}", tag = "automation", security(("bearer" = [])),
    params(("flowId" = String, Path)), responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_flow(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.flows.delete(&flow_id(id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every flow as an export file in Atlassian Automation's rule shape (AUTOMATION §7). Secrets
/// are not in it: the webhook token and credential headers are `***`.
#[utoipa::path(get, path = "/api/v1/flows/export", tag = "automation", security(("bearer" = [])),
    responses((status = 200, body = ExportFile), (status = 401, body = Problem)))]
pub async fn export_flows(State(state): State<AppState>, _caller: Caller) -> Result<Json<ExportFile>, ApiError> {
    Ok(Json(state.flows.export(&[]).await?))
}

/// One flow as an export file.
#[utoipa::path(get, path = "/api/v1/flows/{flowId}/export", tag = "automation", security(("bearer" = [])),
    params(("flowId" = String, Path)), responses((status = 200, body = ExportFile), (status = 404, body = Problem)))]
pub async fn export_flow(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ExportFile>, ApiError> {
    Ok(Json(state.flows.export(&[flow_id(id)?]).await?))
}

/// Import an export file (`{"cloud": …, "rules": […]}`) or one flow in ucm's own shape. Every
/// rule is checked first and nothing is saved unless all can be. Flows are saved **disabled**
/// with fresh ids, webhook URLs and secrets; the answer lists per flow what to reconnect before
/// enabling it (connections that do not exist here, values exported as `***`) and the
/// components ucm has no step for, which were left out.
#[utoipa::path(post, path = "/api/v1/flows/import", tag = "automation", security(("bearer" = [])),
    request_body(content = ExportFile, description = "An export file, or one flow", content_type = "application/json"),
    responses((status = 201, body = ImportReport), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn import_flows(
    State(state): State<AppState>,
    admin: Admin,
    JsonBody(file): JsonBody<serde_json::Value>,
) -> Result<(StatusCode, Json<ImportReport>), ApiError> {
    let report = state.flows.import(&file, &admin.key.name).await?;
    tracing::info!(flows = report.flows.len(), by = %admin.key.api_key_id, "flows imported");
    Ok((StatusCode::CREATED, Json(report)))
}

/// How many executions to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExecutionsQuery {
    /// At most this many, newest first (default 50, at most 500).
    limit: Option<u32>,
}

/// Test a flow: the body is the sample payload (`{{webhookData}}`), run now whether the flow is
/// enabled or not; the answer is its audit record (also kept in the flow's audit log). Actions
/// really act: point the flow at the `local` connection to try it without side effects.
#[utoipa::path(post, path = "/api/v1/flows/{flowId}/test", tag = "automation", security(("bearer" = [])),
    params(("flowId" = String, Path)),
    request_body(content = Object, description = "The sample payload", content_type = "application/json"),
    responses((status = 200, body = ExecutionView), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn test_flow(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
    JsonBody(payload): JsonBody<serde_json::Value>,
) -> Result<Json<ExecutionView>, ApiError> {
    Ok(Json(state.executor.test_run(&flow_id(id)?, &payload).await?))
}

/// A flow's audit log: its executions, newest first, each with the request and every step's
/// rendered inputs, outputs and messages.
#[utoipa::path(get, path = "/api/v1/flows/{flowId}/executions", tag = "automation", security(("bearer" = [])),
    params(("flowId" = String, Path), ExecutionsQuery),
    responses((status = 200, body = Vec<ExecutionView>), (status = 404, body = Problem)))]
pub async fn list_executions(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<ExecutionView>>, ApiError> {
    let query: ExecutionsQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::field("limit", raw.as_deref().unwrap_or_default(), format!("cannot be read: {e}")))?;
    Ok(Json(state.flows.executions(&flow_id(id)?, query.limit.unwrap_or(50)).await?))
}

/// One execution of a flow.
#[utoipa::path(get, path = "/api/v1/executions/{executionId}", tag = "automation", security(("bearer" = [])),
    params(("executionId" = String, Path)), responses((status = 200, body = ExecutionView), (status = 404, body = Problem)))]
pub async fn get_execution(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ExecutionView>, ApiError> {
    Ok(Json(state.flows.execution(&crate::path_id(id, "execution")?).await?))
}

impl From<FlowError> for ApiError {
    fn from(error: FlowError) -> Self {
        match error {
            FlowError::Invalid(errors) => Self::BadRequest {
                detail: errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
                errors,
            },
            FlowError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            FlowError::Sealing => Self::Internal("a flow secret cannot be opened with this installation's key".into()),
            FlowError::Store(e) => e.into(),
        }
    }
}
