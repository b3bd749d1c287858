//! The Automated Tasks view: every task with its schedule, state and last and next run; "run
//! now" for admin keys (with the execution limit's confirmation), and a run's result in a
//! dialog opened directly by `/tasks?taskId=…&processId=…` (the link every task webhook
//! carries): its summary, its per-user changes, live progress while it runs, and its JSON.
//! The editor and its preview are in `task_editor`.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use model::apikey::ApiKeyRole;
use model::ids::{ProcessId, TaskId};
use model::run::{RunRecord, RunState, UserChange};
use serde::Deserialize;
use tasks::{RunStart, TaskError};

use super::{SignedIn, Viewer, error_page, page};
use crate::AppState;

/// User changes shown in the dialog; the JSON has them all (in pages, through the API).
const CHANGES_SHOWN: u32 = 100;

fn when(at: Option<jiff::Timestamp>) -> String {
    at.map_or_else(|| "—".to_owned(), super::minute)
}

struct TaskRow {
    id: String,
    name: String,
    schedule: String,
    active: bool,
    last_run: String,
    next_run: String,
    last_process_id: Option<String>,
}

/// A user change in words: what was added, removed, suspended, restored or failed.
pub(crate) struct ChangeRow {
    pub(crate) change: UserChange,
    pub(crate) status: &'static str,
    pub(crate) did: String,
}

pub(crate) fn change_row(change: UserChange) -> ChangeRow {
    let mut did = Vec::new();
    did.extend(change.groups_added.iter().map(|g| format!("+{}", g.name)));
    did.extend(change.groups_removed.iter().map(|g| format!("-{}", g.name)));
    did.extend(change.app_access_removed.iter().map(|a| format!("-{} access ({})", a.app_name, a.site_name)));
    if change.suspended {
        did.push("suspended".to_owned());
    }
    if change.restored {
        did.push("restored".to_owned());
    }
    did.extend(change.failures.iter().map(|f| match &f.target {
        Some(target) => format!("failed ({target}): {}", f.reason),
        None => format!("failed: {}", f.reason),
    }));
    ChangeRow { did: did.join(", "), status: change.status.as_str(), change }
}

/// The run shown in the dialog.
struct RunView {
    record: RunRecord,
    /// "success, 28 failed" for a success in which users failed.
    outcome: String,
    /// `success`, `warning`, `failure` or `running`: the outcome's colour.
    tone: &'static str,
    /// Its users, each counted once.
    users: model::run::UsersByResult,
    running: bool,
    /// Over the execution limit, waiting for an administrator.
    quarantined: bool,
    started: String,
    finished: String,
    changes: Vec<ChangeRow>,
    more_changes: bool,
    self_link: String,
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    viewer: Option<Viewer>,
    admin: bool,
    tasks: Vec<TaskRow>,
    run: Option<RunView>,
    /// The name of a task just saved in the editor.
    saved: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TasksQuery {
    task_id: Option<String>,
    process_id: Option<String>,
    /// A task the editor just saved (its id).
    saved: Option<String>,
}

pub(crate) fn task_problem(viewer: Viewer, error: TaskError) -> Response {
    match error {
        TaskError::NotFound(what) => error_page(
            StatusCode::NOT_FOUND,
            Some(viewer),
            "Not found",
            &format!("{what} does not exist; it may have been deleted. The Tasks view lists what there is."),
        ),
        other => super::session_unavailable(&other.to_string()),
    }
}

/// Every task; with `processId`, that run's result over them.
pub(crate) async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    super::PageQuery(query): super::PageQuery<TasksQuery>,
) -> Response {
    let viewer = Viewer::from(&signed_in);
    let tasks = match state.tasks.tasks().await {
        Ok(tasks) => tasks,
        Err(e) => return task_problem(viewer, e),
    };
    let saved = query.saved.as_deref().and_then(|id| tasks.iter().find(|t| t.task_id.0 == id)).map(|t| t.name.clone());
    let tasks = tasks
        .into_iter()
        .map(|t| TaskRow {
            schedule: t.schedule.describe(),
            last_run: when(t.last_run_at),
            next_run: when(t.next_run_at),
            last_process_id: t.last_process_id.map(|p| p.0),
            id: t.task_id.0,
            name: t.name,
            active: t.active,
        })
        .collect();
    let run = match query.process_id.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(process_id) => {
            match state.tasks.run_record(&ProcessId(process_id.to_owned()), None, CHANGES_SHOWN).await {
                Ok(record) => {
                    let task = query.task_id.clone().unwrap_or_default();
                    Some(RunView {
                        outcome: record.run.outcome_text(),
                        tone: record.run.outcome_tone(),
                        users: record.run.summary.users_by_result(),
                        running: record.run.state == RunState::Running,
                        quarantined: record.run.state == RunState::Quarantined,
                        started: when(Some(record.run.started_at)),
                        finished: when(record.run.finished_at),
                        more_changes: record.next_cursor.is_some(),
                        changes: record.user_changes.clone().into_iter().map(change_row).collect(),
                        self_link: format!(
                            "/tasks?{}",
                            serde_urlencoded::to_string([("taskId", task.as_str()), ("processId", process_id)])
                                .unwrap_or_default()
                        ),
                        record,
                    })
                }
                // A test event's link (`send test` on a webhook) names no real run.
                Err(tasks::TaskError::NotFound(_)) if query.task_id.as_deref() == Some("test") => {
                    return super::error_page(
                        StatusCode::OK,
                        Some(viewer),
                        "A test link",
                        "This link came from a test webhook (\"Send test\" in Settings): no task run stands behind \
                         it. The events of real runs link to their results here.",
                    );
                }
                Err(e) => return task_problem(viewer, e),
            }
        }
    };
    let admin = signed_in.key.role == ApiKeyRole::Admin;
    page(&TasksPage { viewer: Some(viewer), admin, tasks, run, saved })
}

/// A run's whole record as a JSON file (every page of `userChanges`).
pub(crate) async fn run_json(State(state): State<AppState>, signed_in: SignedIn, Path(id): Path<String>) -> Response {
    let viewer = Viewer::from(&signed_in);
    let process_id = ProcessId(id.trim_end_matches(".json").to_owned());
    let record = match state.tasks.run_record(&process_id, None, tasks::MAX_PAGE).await {
        Ok(record) => record,
        Err(e) => return task_problem(viewer, e),
    };
    let mut full = record.clone();
    let mut cursor = record.next_cursor.clone();
    while let Some(next) = cursor {
        match state.tasks.run_record(&process_id, Some(&next), tasks::MAX_PAGE).await {
            Ok(page) => {
                full.user_changes.extend(page.user_changes);
                cursor = page.next_cursor;
            }
            Err(e) => return task_problem(viewer, e),
        }
    }
    full.next_cursor = None;
    let body = serde_json::to_vec_pretty(&full).unwrap_or_default();
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"run-{}.json\"", process_id.0)) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

/// A form that carries only the session's token.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TokenForm {
    csrf: String,
}

/// Starts a task now (admins); above the execution limit, asks for a confirmation first.
pub(crate) async fn run_now(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let viewer = Viewer::from(&signed_in);
    let confirmed = match super::confirmed(&signed_in, &body, "tasks and runs") {
        Ok(confirmed) => confirmed,
        Err(refused) => return *refused,
    };
    let task_id = TaskId(id.trim().to_owned());
    let start = RunStart { started_by: signed_in.key.name.clone(), confirm: confirmed };
    match state.tasks.start_task_run(&task_id, &start).await {
        Ok(run) => {
            let link = format!(
                "/tasks?{}",
                serde_urlencoded::to_string([("taskId", task_id.0.as_str()), ("processId", run.process_id.0.as_str())])
                    .unwrap_or_default()
            );
            state.tasks.spawn(run).await;
            Redirect::to(&link).into_response()
        }
        Err(e @ TaskError::OverLimit { .. }) => {
            let mut response = page(&super::ConfirmPage {
                viewer: Some(viewer),
                title: "Confirm the run".into(),
                message: format!("{e}."),
                action: format!("/tasks/{}/run", task_id.0),
                button: "Run it anyway",
                back: "/tasks".into(),
            });
            *response.status_mut() = StatusCode::CONFLICT;
            response
        }
        Err(TaskError::Conflict(why)) => error_page(StatusCode::CONFLICT, Some(viewer), "Not started", &why),
        Err(e) => task_problem(viewer, e),
    }
}

/// What an administrator decides about a run from its dialog.
#[derive(Debug, Clone, Copy)]
enum Decision {
    Approve,
    Reject,
    Cancel,
}

async fn decide(state: &AppState, signed_in: &SignedIn, id: &str, body: &Bytes, decision: Decision) -> Response {
    let form: TokenForm = serde_urlencoded::from_bytes(body).unwrap_or_default();
    if let Some(refused) = super::refuse_form(signed_in, &form.csrf, "tasks and runs") {
        return refused;
    }
    let viewer = Viewer::from(signed_in);
    let process_id = ProcessId(id.trim().to_owned());
    let by = &signed_in.key.name;
    let decided = match decision {
        Decision::Approve => match state.tasks.approve(&process_id, by).await {
            Ok(run) => {
                state.tasks.spawn(run).await;
                Ok(())
            }
            Err(e) => Err(e),
        },
        Decision::Reject => state.tasks.reject(&process_id, by).await,
        Decision::Cancel => state.tasks.cancel(&process_id, by).await,
    };
    let query = serde_urlencoded::to_string([("processId", process_id.0.as_str())]).unwrap_or_default();
    let dialog = format!("/tasks?{query}");
    match decided {
        Ok(()) => {
            tracing::info!(process_id = %process_id, ?decision, by = %signed_in.key.api_key_id, "run decided in the web UI");
            Redirect::to(&dialog).into_response()
        }
        // A stop asked for twice, or for a run that ended meanwhile: the dialog says where it is.
        Err(TaskError::Conflict(_)) if matches!(decision, Decision::Cancel) => Redirect::to(&dialog).into_response(),
        Err(TaskError::Conflict(why)) => error_page(StatusCode::CONFLICT, Some(viewer), "Already decided", &why),
        Err(e) => task_problem(viewer, e),
    }
}

/// Runs a quarantined run after all.
pub(crate) async fn approve(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    decide(&state, &signed_in, &id, &body, Decision::Approve).await
}

/// Closes a quarantined run without changing anything.
pub(crate) async fn reject(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    decide(&state, &signed_in, &id, &body, Decision::Reject).await
}

/// Asks a running run to stop after the users in hand.
pub(crate) async fn cancel(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    decide(&state, &signed_in, &id, &body, Decision::Cancel).await
}
