//! The Automation view: flows with their state and webhook, one flow's steps, its webhook URL
//! and (for admins) secret, enabling and disabling it, and its audit log with what each step's
//! templates became and what it produced.

use askama::Template;
use automation::{ExecutionView, Flow, FlowError};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use model::apikey::ApiKeyRole;
use serde_json::Value;

use super::{SignedIn, Viewer, error_page, page};
use crate::AppState;

/// Executions shown in a flow's audit log.
const AUDIT_LIMIT: u32 = 25;

struct FlowRow {
    id: String,
    name: String,
    enabled: bool,
    steps: usize,
    url: String,
}

#[derive(Template)]
#[template(path = "automation.html")]
struct FlowsPage {
    viewer: Option<Viewer>,
    flows: Vec<FlowRow>,
}

fn flow_problem(viewer: Viewer, error: FlowError) -> Response {
    match error {
        FlowError::NotFound(_) => error_page(
            StatusCode::NOT_FOUND,
            Some(viewer),
            "No such flow",
            "There is no flow with this id; it may have been deleted. The Automation view lists the flows.",
        ),
        FlowError::Invalid(problems) => {
            let what = problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
            error_page(StatusCode::BAD_REQUEST, Some(viewer), "The flow cannot be enabled", &what)
        }
        other => super::session_unavailable(&other.to_string()),
    }
}

/// Every flow.
pub(crate) async fn list(State(state): State<AppState>, signed_in: SignedIn) -> Response {
    let viewer = Viewer::from(&signed_in);
    let flows = match state.flows.list().await {
        Ok(flows) => flows,
        Err(e) => return flow_problem(viewer, e),
    };
    let flows = flows
        .into_iter()
        .map(|f| FlowRow {
            steps: model::flow::walk(&f.definition.steps).len(),
            id: f.flow_id,
            name: f.definition.name,
            enabled: f.definition.enabled,
            url: f.webhook.url,
        })
        .collect();
    page(&FlowsPage { viewer: Some(viewer), flows })
}

/// One step of a flow, indented by how deeply it is nested.
struct StepLine {
    depth: usize,
    step_type: &'static str,
    connection: Option<String>,
}

/// A name and a value, the value as text (JSON for what is not text).
struct Pair {
    name: String,
    value: String,
}

fn pairs(map: &serde_json::Map<String, Value>) -> Vec<Pair> {
    map.iter().map(|(name, value)| Pair { name: name.clone(), value: text(value) }).collect()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

struct StepRun {
    path: String,
    step_type: String,
    status: String,
    duration_ms: u64,
    inputs: Vec<Pair>,
    outputs: Vec<Pair>,
    messages: Vec<String>,
}

struct ExecutionRow {
    id: String,
    status: String,
    received: String,
    duration: String,
    source: String,
    auth: String,
    request: String,
    steps: Vec<StepRun>,
}

impl From<ExecutionView> for ExecutionRow {
    fn from(e: ExecutionView) -> Self {
        Self {
            status: e.status.unwrap_or_else(|| e.state.to_uppercase()),
            received: e.received_at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
            duration: e.duration_ms.map_or_else(String::new, |ms| format!("{ms} ms")),
            source: e.source,
            auth: e.auth,
            request: serde_json::to_string_pretty(&e.request).unwrap_or_default(),
            steps: e
                .steps
                .into_iter()
                .map(|s| StepRun {
                    status: serde_json::to_value(s.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    path: s.path,
                    step_type: s.step_type,
                    duration_ms: s.duration_ms,
                    inputs: pairs(&s.inputs),
                    outputs: pairs(&s.outputs),
                    messages: s.messages,
                })
                .collect(),
            id: e.execution_id,
        }
    }
}

#[derive(Template)]
#[template(path = "flow.html")]
struct FlowPage {
    viewer: Option<Viewer>,
    admin: bool,
    flow: Flow,
    steps: Vec<StepLine>,
    executions: Vec<ExecutionRow>,
    audit_limit: u32,
}

/// One flow: its steps, webhook, state and audit log.
pub(crate) async fn show(State(state): State<AppState>, signed_in: SignedIn, Path(id): Path<String>) -> Response {
    let viewer = Viewer::from(&signed_in);
    let admin = signed_in.key.role == ApiKeyRole::Admin;
    let flow = match state.flows.get(id.trim(), admin).await {
        Ok(flow) => flow,
        Err(e) => return flow_problem(viewer, e),
    };
    let executions = match state.flows.executions(&flow.flow_id, AUDIT_LIMIT).await {
        Ok(executions) => executions.into_iter().map(ExecutionRow::from).collect(),
        Err(e) => return flow_problem(viewer, e),
    };
    let steps = model::flow::walk(&flow.definition.steps)
        .into_iter()
        .map(|(path, step)| StepLine {
            depth: path.matches("steps[").count() - 1,
            step_type: step.type_name(),
            connection: step.connection().map(str::to_owned),
        })
        .collect();
    page(&FlowPage { viewer: Some(viewer), admin, flow, steps, executions, audit_limit: AUDIT_LIMIT })
}

#[derive(Debug, serde::Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Enables or disables a flow (admins; the form's CSRF token must be the session's).
async fn set_enabled(state: AppState, signed_in: SignedIn, id: &str, body: &Bytes, enabled: bool) -> Response {
    let viewer = Viewer::from(&signed_in);
    let form: CsrfForm = serde_urlencoded::from_bytes(body).unwrap_or(CsrfForm { csrf: String::new() });
    if !signed_in.csrf_matches(&form.csrf) {
        return error_page(
            StatusCode::FORBIDDEN,
            Some(viewer),
            "Form expired",
            "This form does not belong to your session. Reload the page and try again.",
        );
    }
    if signed_in.key.role != ApiKeyRole::Admin {
        return error_page(
            StatusCode::FORBIDDEN,
            Some(viewer),
            "Read-only key",
            "Your key is read-only: it may look at flows, not change them. Sign in with an admin key.",
        );
    }
    match state.flows.set_enabled(id.trim(), enabled).await {
        Ok(flow) => Redirect::to(&format!("/automation/flows/{}", flow.flow_id)).into_response(),
        Err(e) => flow_problem(viewer, e),
    }
}

pub(crate) async fn enable(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    set_enabled(state, signed_in, &id, &body, true).await
}

pub(crate) async fn disable(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    set_enabled(state, signed_in, &id, &body, false).await
}
