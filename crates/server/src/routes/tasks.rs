//! Automated Tasks, their runs, and Bulk Operations (PRODUCT §4–§5).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use model::ids::{AccountId, ProcessId, TaskId};
use model::run::{ChangeStatus, RunOutcome, RunOverview, RunRecord};
use model::task::{ExecutionLimit, Task};
use serde::{Deserialize, Serialize};
use tasks::{BulkInput, Preview, RunFilter, RunStart, StartedRun, TaskInput, UserResultsPage};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Admin, Caller};
use crate::error::{ApiError, JsonBody, Problem};
use crate::query::simple_query;

/// The first users a preview lists, unless `sample` says otherwise.
const DEFAULT_SAMPLE: usize = 50;

/// How to start a run by hand.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunRequest {
    /// Run even when it would change more users than the execution limit allows.
    #[serde(default)]
    pub confirm: bool,
}

/// A run that has started; follow it at `run`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunStarted {
    pub process_id: ProcessId,
    pub name: String,
    /// The API path of the run's record (progress, then results).
    pub run: String,
    /// Where people open the result.
    pub deep_link: String,
}

async fn started(state: &AppState, run: StartedRun) -> (StatusCode, Json<RunStarted>) {
    let body = RunStarted {
        run: format!("/api/v1/runs/{}", run.process_id),
        deep_link: state.tasks.deep_link(run.task_id.as_ref(), &run.process_id),
        process_id: run.process_id.clone(),
        name: run.name.clone(),
    };
    state.tasks.spawn(run).await;
    (StatusCode::ACCEPTED, Json(body))
}

fn task_id(id: String) -> Result<TaskId, ApiError> {
    Ok(TaskId(crate::path_id(id, "task")?))
}

fn process_id(id: String) -> Result<ProcessId, ApiError> {
    Ok(ProcessId(crate::path_id(id, "run")?))
}

/// Every task, by name.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", security(("bearer" = [])),
    responses((status = 200, body = Vec<Task>), (status = 401, body = Problem)))]
pub async fn list_tasks(State(state): State<AppState>, _caller: Caller) -> Result<Json<Vec<Task>>, ApiError> {
    Ok(Json(state.tasks.tasks().await?))
}

/// Save a task. Group, app, site and saved-filter names are accepted and stored as ids; every
/// problem is listed with its field.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", security(("bearer" = [])), request_body = TaskInput,
    responses((status = 201, body = Task), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn create_task(
    State(state): State<AppState>,
    admin: Admin,
    JsonBody(input): JsonBody<TaskInput>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.tasks.create_task(&input, &admin.key.name).await?)))
}

/// One task.
#[utoipa::path(get, path = "/api/v1/tasks/{taskId}", tag = "tasks", security(("bearer" = [])),
    params(("taskId" = String, Path)), responses((status = 200, body = Task), (status = 404, body = Problem)))]
pub async fn get_task(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.tasks.task(&task_id(id)?).await?))
}

/// Replace a task (its next run is computed afresh).
#[utoipa::path(put, path = "/api/v1/tasks/{taskId}", tag = "tasks", security(("bearer" = [])),
    params(("taskId" = String, Path)), request_body = TaskInput,
    responses((status = 200, body = Task), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn update_task(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<TaskInput>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.tasks.update_task(&task_id(id)?, &input, &admin.key.name).await?))
}

/// Delete a task; its runs stay readable.
#[utoipa::path(delete, path = "/api/v1/tasks/{taskId}", tag = "tasks", security(("bearer" = [])),
    params(("taskId" = String, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_task(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.tasks.delete_task(&task_id(id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pause a task: the scheduler no longer starts it.
#[utoipa::path(post, path = "/api/v1/tasks/{taskId}/pause", tag = "tasks", security(("bearer" = [])),
    params(("taskId" = String, Path)), responses((status = 200, body = Task), (status = 404, body = Problem)))]
pub async fn pause_task(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.tasks.set_active(&task_id(id)?, false, &admin.key.name).await?))
}

/// Resume a task: its next run is the first one after now.
#[utoipa::path(post, path = "/api/v1/tasks/{taskId}/resume", tag = "tasks", security(("bearer" = [])),
    params(("taskId" = String, Path)), responses((status = 200, body = Task), (status = 404, body = Problem)))]
pub async fn resume_task(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.tasks.set_active(&task_id(id)?, true, &admin.key.name).await?))
}

fn sample(raw: Option<&str>) -> Result<usize, ApiError> {
    let query = simple_query(raw, &["sample"])?;
    match query.get("sample") {
        None => Ok(DEFAULT_SAMPLE),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= 1000)
            .ok_or_else(|| ApiError::field("sample", v.clone(), "a number of users from 0 to 1000")),
    }
}

/// What a run of the task would change now, per user; nothing is changed.
#[utoipa::path(post, path = "/api/v1/tasks/{taskId}/preview", tag = "tasks", security(("bearer" = [])),
    params(("taskId" = String, Path), ("sample" = Option<u32>, Query, description = "users listed (default 50, at most 1000)")),
    responses((status = 200, body = Preview), (status = 404, body = Problem)))]
pub async fn preview_task(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Preview>, ApiError> {
    let sample = sample(raw.as_deref())?;
    Ok(Json(state.tasks.preview_task(&task_id(id)?, sample).await?))
}

/// Start a run now. Above the execution limit the answer is 409 with the count; send
/// `{"confirm": true}` to run anyway. Answers 202 with the new run's `processId`.
#[utoipa::path(post, path = "/api/v1/tasks/{taskId}/run", tag = "tasks", security(("bearer" = [])),
    params(("taskId" = String, Path)), request_body(content = Option<RunRequest>),
    responses((status = 202, body = RunStarted), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn run_task(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Option<JsonBody<RunRequest>>,
) -> Result<(StatusCode, Json<RunStarted>), ApiError> {
    let request = body.map(|JsonBody(r)| r).unwrap_or_default();
    let start = RunStart { started_by: admin.key.name.clone(), confirm: request.confirm };
    let run = state.tasks.start_task_run(&task_id(id)?, &start).await?;
    Ok(started(&state, run).await)
}

/// Run actions on users picked one by one or on every user matching a filter. The run has
/// `source: bulkOperation` and never fires webhooks. Above the execution limit: 409 unless
/// `confirm` is true.
#[utoipa::path(post, path = "/api/v1/bulk-operations", tag = "bulk operations", security(("bearer" = [])),
    request_body = BulkInput,
    responses((status = 202, body = RunStarted), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn create_bulk_operation(
    State(state): State<AppState>,
    admin: Admin,
    JsonBody(input): JsonBody<BulkInput>,
) -> Result<(StatusCode, Json<RunStarted>), ApiError> {
    let run = state.tasks.start_bulk(&input, &admin.key.name).await?;
    Ok(started(&state, run).await)
}

/// What a bulk operation would change; nothing is changed.
#[utoipa::path(post, path = "/api/v1/bulk-operations/preview", tag = "bulk operations", security(("bearer" = [])),
    request_body = BulkInput, params(("sample" = Option<u32>, Query)),
    responses((status = 200, body = Preview), (status = 400, body = Problem)))]
pub async fn preview_bulk_operation(
    State(state): State<AppState>,
    _admin: Admin,
    RawQuery(raw): RawQuery,
    JsonBody(input): JsonBody<BulkInput>,
) -> Result<Json<Preview>, ApiError> {
    let sample = sample(raw.as_deref())?;
    Ok(Json(state.tasks.preview_bulk(&input, sample).await?))
}

const RUN_LIST_PARAMS: [&str; 6] = ["taskId", "accountId", "outcome", "since", "until", "limit"];

/// Runs, newest first, with their summaries: of one task, that touched one user, with one
/// outcome, or started in a time range.
#[utoipa::path(get, path = "/api/v1/runs", tag = "runs", security(("bearer" = [])),
    params(
        ("taskId" = Option<String>, Query), ("accountId" = Option<String>, Query, description = "runs that changed or failed to change this user"),
        ("outcome" = Option<String>, Query, description = "success, failure, quarantined or rejected"),
        ("since" = Option<String>, Query, description = "RFC 3339"), ("until" = Option<String>, Query, description = "RFC 3339"),
        ("limit" = Option<u32>, Query, description = "at most 500 (default 50)")),
    responses((status = 200, body = Vec<RunOverview>), (status = 400, body = Problem)))]
pub async fn list_runs(
    State(state): State<AppState>,
    _caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<RunOverview>>, ApiError> {
    let query = simple_query(raw.as_deref(), &RUN_LIST_PARAMS)?;
    let instant = |key: &str| -> Result<Option<jiff::Timestamp>, ApiError> {
        query
            .get(key)
            .map(|v| v.parse().map_err(|_| ApiError::field(key, v.clone(), "expected an RFC 3339 instant")))
            .transpose()
    };
    let filter = RunFilter {
        task_id: query.get("taskId").cloned().map(TaskId),
        account_id: query.get("accountId").cloned().map(AccountId),
        outcome: query
            .get("outcome")
            .map(|v| {
                model::from_wire::<RunOutcome>(v).ok_or_else(|| {
                    ApiError::field("outcome", v.clone(), "one of success, failure, quarantined, rejected")
                })
            })
            .transpose()?,
        since: instant("since")?,
        until: instant("until")?,
        limit: query
            .get("limit")
            .map(|v| v.parse::<u32>().map_err(|_| ApiError::field("limit", v.clone(), "a whole number up to 500")))
            .transpose()?,
    };
    Ok(Json(state.tasks.runs(&filter).await?))
}

/// One run's record (PRODUCT §5). `userChanges` come in pages: pass `nextCursor` back as
/// `cursor`; `summary` is always whole.
#[utoipa::path(get, path = "/api/v1/runs/{processId}", tag = "runs", security(("bearer" = [])),
    params(("processId" = String, Path), ("cursor" = Option<String>, Query), ("limit" = Option<u32>, Query, description = "userChanges per page, at most 1000 (default 100)")),
    responses((status = 200, body = RunRecord), (status = 404, body = Problem)))]
pub async fn get_run(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<RunRecord>, ApiError> {
    let query = simple_query(raw.as_deref(), &["cursor", "limit"])?;
    let limit = page_limit(query.get("limit"))?;
    Ok(Json(state.tasks.run_record(&process_id(id)?, query.get("cursor").map(String::as_str), limit).await?))
}

/// Every matched user's result with each (action, target) item and its outcome, in pages,
/// optionally of one status: what `userChanges` leaves out (`unchanged` and `skipped` users,
/// unchanged items).
#[utoipa::path(get, path = "/api/v1/runs/{processId}/users", tag = "runs", security(("bearer" = [])),
    params(("processId" = String, Path),
        ("status" = Option<String>, Query, description = "updated, partial, failed, unchanged or skipped"),
        ("cursor" = Option<String>, Query), ("limit" = Option<u32>, Query, description = "at most 1000 (default 100)")),
    responses((status = 200, body = UserResultsPage), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn get_run_users(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<UserResultsPage>, ApiError> {
    let query = simple_query(raw.as_deref(), &["status", "cursor", "limit"])?;
    let status = query
        .get("status")
        .map(|v| {
            model::from_wire::<ChangeStatus>(v).ok_or_else(|| {
                ApiError::field("status", v.clone(), "one of updated, partial, failed, unchanged, skipped")
            })
        })
        .transpose()?;
    let limit = page_limit(query.get("limit"))?;
    let page = state.tasks.run_users(&process_id(id)?, status, query.get("cursor").map(String::as_str), limit).await?;
    Ok(Json(page))
}

/// `limit` for pages of users: 1 to 1000, default 100.
fn page_limit(value: Option<&String>) -> Result<u32, ApiError> {
    match value {
        None => Ok(100),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=tasks::MAX_PAGE).contains(n))
            .ok_or_else(|| ApiError::field("limit", v.clone(), "a number from 1 to 1000")),
    }
}

/// The whole record as a file to download (every `userChanges` entry).
#[utoipa::path(get, path = "/api/v1/runs/{processId}/export", tag = "runs", security(("bearer" = [])),
    params(("processId" = String, Path)),
    responses((status = 200, body = RunRecord), (status = 404, body = Problem)))]
pub async fn export_run(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = process_id(id)?;
    let export = state.tasks.export(&id).await?;
    // Page by page: the body is never whole in memory, whatever the run's size.
    let chunks = futures_util::stream::unfold(Some(export), |export| async move {
        let mut export = export?;
        match export.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(axum::body::Bytes::from(chunk)), Some(export))),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "the export stopped part way");
                Some((Err(std::io::Error::other("the export stopped part way")), None))
            }
        }
    });
    let mut response = Response::new(axum::body::Body::from_stream(chunks));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let disposition = format!("attachment; filename=\"run-{}.json\"", id.as_str().replace(['"', '\\'], ""));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Ask a running run to stop after the users in hand (outcome `failure`, "cancelled by …").
#[utoipa::path(post, path = "/api/v1/runs/{processId}/cancel", tag = "runs", security(("bearer" = [])),
    params(("processId" = String, Path)),
    responses((status = 202), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn cancel_run(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.tasks.cancel(&process_id(id)?, &admin.key.name).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Let a quarantined run (over the execution limit) proceed.
#[utoipa::path(post, path = "/api/v1/runs/{processId}/approve", tag = "runs", security(("bearer" = [])),
    params(("processId" = String, Path)),
    responses((status = 202, body = RunStarted), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn approve_run(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RunStarted>), ApiError> {
    let run = state.tasks.approve(&process_id(id)?, &admin.key.name).await?;
    Ok(started(&state, run).await)
}

/// Close a quarantined run without changing anything (outcome `rejected`).
#[utoipa::path(post, path = "/api/v1/runs/{processId}/reject", tag = "runs", security(("bearer" = [])),
    params(("processId" = String, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn reject_run(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.tasks.reject(&process_id(id)?, &admin.key.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The installation-wide execution limit (ours): scheduled runs that would change more users
/// are quarantined; runs by hand need confirmation.
#[utoipa::path(get, path = "/api/v1/settings/execution-limit", tag = "settings", security(("bearer" = [])),
    responses((status = 200, body = ExecutionLimit)))]
pub async fn get_execution_limit(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<ExecutionLimit>, ApiError> {
    Ok(Json(state.store.execution_limit().await?))
}

/// Replace the installation-wide execution limit (`{}` removes it).
#[utoipa::path(put, path = "/api/v1/settings/execution-limit", tag = "settings", security(("bearer" = [])),
    request_body = ExecutionLimit,
    responses((status = 200, body = ExecutionLimit), (status = 400, body = Problem)))]
pub async fn put_execution_limit(
    State(state): State<AppState>,
    admin: Admin,
    JsonBody(limit): JsonBody<ExecutionLimit>,
) -> Result<Json<ExecutionLimit>, ApiError> {
    limit.validate("executionLimit").map_err(|p| ApiError::BadRequest { detail: p.to_string(), errors: vec![p] })?;
    state.store.set_execution_limit(&limit).await?;
    tracing::info!(?limit, by = %admin.key.api_key_id, "execution limit changed");
    Ok(Json(limit))
}
