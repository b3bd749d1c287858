//! The Automation view: flows with their state and webhook, one flow's steps, its webhook URL
//! and (for admins) secret, enabling and disabling it, and its audit log with what each step's
//! templates became and what it produced.

use askama::Template;
use automation::{ExecutionView, Flow, FlowError};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use model::apikey::ApiKeyRole;
use serde::Deserialize;
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
    admin: bool,
    flows: Vec<FlowRow>,
}

pub(super) fn flow_problem(viewer: Viewer, error: FlowError) -> Response {
    match error {
        FlowError::NotFound(_) => error_page(
            StatusCode::NOT_FOUND,
            Some(viewer),
            "No such flow",
            "There is no flow with this id; it may have been deleted. The Automation view lists the flows.",
        ),
        FlowError::Invalid(problems) => {
            let what = super::problem_text(&problems);
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
    let admin = signed_in.key.role == ApiKeyRole::Admin;
    page(&FlowsPage { viewer: Some(viewer), admin, flows })
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

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Enables or disables a flow (admins; the form's CSRF token must be the session's).
async fn set_enabled(state: AppState, signed_in: SignedIn, id: &str, body: &Bytes, enabled: bool) -> Response {
    let viewer = Viewer::from(&signed_in);
    let form: CsrfForm = serde_urlencoded::from_bytes(body).unwrap_or(CsrfForm { csrf: String::new() });
    if let Some(refused) = super::refuse_form(&signed_in, &form.csrf, "flows") {
        return refused;
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

/// What a new flow starts from: recipe 2, on the local connection.
pub(super) const EXAMPLE_FLOW: &str = r##"{
  "name": "Slack alert per task run",
  "description": "Every task run posts its outcome to #it-ops.",
  "trigger": {"type": "incomingWebhook", "workItems": "none"},
  "steps": [
    {"type": "agent.use", "prompt": "Summarise run {{webhookData.processId}} for #it-ops", "format": "slack-summary"},
    {"type": "slack.message.send", "connection": "local", "channel": "#it-ops", "message": "{{agentResponse}}"}
  ]
}"##;

/// The longest flow definition or import file the forms take (the API takes the same).
pub(super) const MAX_FORM_BYTES: usize = 1024 * 1024;

/// Where a form posts and what it is for.
#[derive(Template)]
#[template(path = "flow_editor.html")]
struct EditorPage {
    viewer: Option<Viewer>,
    heading: String,
    action: String,
    button: &'static str,
    text: String,
    problems: Vec<model::filter::FieldProblem>,
    hint: &'static str,
}

#[derive(Debug, Deserialize)]
struct TextForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// Checks a posted form: its size, the session's token, an admin key. The text when all hold.
fn admin_text(signed_in: &SignedIn, body: &Bytes) -> Result<String, Box<Response>> {
    let viewer = Viewer::from(signed_in);
    if body.len() > MAX_FORM_BYTES + 4096 {
        return Err(Box::new(error_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some(viewer),
            "Too large",
            "A flow or an import file may be at most 1 MiB.",
        )));
    }
    let form: TextForm =
        serde_urlencoded::from_bytes(body).unwrap_or(TextForm { csrf: String::new(), text: String::new() });
    match super::refuse_form(signed_in, &form.csrf, "flows") {
        Some(refused) => Err(Box::new(refused)),
        None => Ok(form.text),
    }
}

fn editor(signed_in: &SignedIn, heading: String, action: String, button: &'static str, text: String) -> EditorPage {
    EditorPage {
        viewer: Some(Viewer::from(signed_in)),
        heading,
        action,
        button,
        text,
        problems: vec![],
        hint: "A flow as JSON: its name, trigger and steps (see `ucm flows create --help`). Every problem is listed when you save; nothing is saved until there are none.",
    }
}

/// The same page again with the problems, the text kept as it was typed.
fn with_problems(mut editor: EditorPage, problems: Vec<model::filter::FieldProblem>) -> Response {
    editor.problems = problems;
    let mut response = page(&editor);
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
}

/// A definition from the editor, or why it is not one.
fn definition(text: &str) -> Result<model::flow::FlowDefinition, Vec<model::filter::FieldProblem>> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| vec![model::filter::FieldProblem::new(&e.path().to_string(), "", e.inner().to_string())])
}

pub(crate) async fn new_page(signed_in: SignedIn) -> Response {
    if let Some(refused) = super::refuse_reader(&signed_in, "flows") {
        return refused;
    }
    page(&editor(&signed_in, "New flow".into(), "/automation/new".into(), "Save the flow", EXAMPLE_FLOW.into()))
}

/// Saves a new flow; its page then shows the webhook URL and secret minted now.
pub(crate) async fn create(State(state): State<AppState>, signed_in: SignedIn, body: Bytes) -> Response {
    let text = match admin_text(&signed_in, &body) {
        Ok(text) => text,
        Err(refused) => return *refused,
    };
    let form = editor(&signed_in, "New flow".into(), "/automation/new".into(), "Save the flow", text.clone());
    let definition = match definition(&text) {
        Ok(definition) => definition,
        Err(problems) => return with_problems(form, problems),
    };
    match state.flows.create(&definition, &signed_in.key.name).await {
        Ok(flow) => Redirect::to(&format!("/automation/flows/{}", flow.flow_id)).into_response(),
        Err(FlowError::Invalid(problems)) => with_problems(form, problems),
        Err(e) => flow_problem(Viewer::from(&signed_in), e),
    }
}

pub(crate) async fn edit_page(State(state): State<AppState>, signed_in: SignedIn, Path(id): Path<String>) -> Response {
    if let Some(refused) = super::refuse_reader(&signed_in, "flows") {
        return refused;
    }
    let viewer = Viewer::from(&signed_in);
    let flow = match state.flows.get(id.trim(), false).await {
        Ok(flow) => flow,
        Err(e) => return flow_problem(viewer, e),
    };
    let text = serde_json::to_string_pretty(&flow.definition).unwrap_or_default();
    let action = format!("/automation/flows/{}/edit", flow.flow_id);
    page(&editor(&signed_in, format!("Edit {}", flow.definition.name), action, "Save changes", text))
}

/// Replaces a flow's definition; its URL and secret stay.
pub(crate) async fn update(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let text = match admin_text(&signed_in, &body) {
        Ok(text) => text,
        Err(refused) => return *refused,
    };
    let action = format!("/automation/flows/{}/edit", id.trim());
    let form = editor(&signed_in, "Edit the flow".into(), action, "Save changes", text.clone());
    let definition = match definition(&text) {
        Ok(definition) => definition,
        Err(problems) => return with_problems(form, problems),
    };
    match state.flows.update(id.trim(), &definition).await {
        Ok(flow) => Redirect::to(&format!("/automation/flows/{}", flow.flow_id)).into_response(),
        Err(FlowError::Invalid(problems)) => with_problems(form, problems),
        Err(e) => flow_problem(Viewer::from(&signed_in), e),
    }
}

fn import_editor(signed_in: &SignedIn, text: String) -> EditorPage {
    EditorPage {
        hint: "An export file (`{\"cloud\": …, \"rules\": […]}`, from ucm or Atlassian Automation) or one flow. Flows are imported disabled, with new webhook URLs and secrets; nothing is imported unless every rule can be.",
        ..editor(signed_in, "Import flows".into(), "/automation/import".into(), "Import", text)
    }
}

pub(crate) async fn import_page(signed_in: SignedIn) -> Response {
    if let Some(refused) = super::refuse_reader(&signed_in, "flows") {
        return refused;
    }
    page(&import_editor(&signed_in, String::new()))
}

#[derive(Template)]
#[template(path = "import_report.html")]
struct ImportReportPage {
    viewer: Option<Viewer>,
    report: automation::ImportReport,
}

/// Imports an export file and shows what to reconnect before enabling each flow.
pub(crate) async fn import(State(state): State<AppState>, signed_in: SignedIn, body: Bytes) -> Response {
    let text = match admin_text(&signed_in, &body) {
        Ok(text) => text,
        Err(refused) => return *refused,
    };
    let form = import_editor(&signed_in, text.clone());
    let input: Value = match serde_json::from_str(&text) {
        Ok(input) => input,
        Err(e) => return with_problems(form, vec![model::filter::FieldProblem::new("", "", format!("not JSON: {e}"))]),
    };
    match state.flows.import(&input, &signed_in.key.name).await {
        Ok(report) => page(&ImportReportPage { viewer: Some(Viewer::from(&signed_in)), report }),
        Err(FlowError::Invalid(problems)) => with_problems(form, problems),
        Err(e) => flow_problem(Viewer::from(&signed_in), e),
    }
}

/// A flow, or every flow, as an export file to download.
async fn export_file(state: &AppState, signed_in: &SignedIn, ids: &[String], name: &str) -> Response {
    match state.flows.export(ids).await {
        Ok(file) => {
            let mut response = serde_json::to_vec_pretty(&file).unwrap_or_default().into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.json\"")) {
                headers.insert(header::CONTENT_DISPOSITION, disposition);
            }
            response
        }
        Err(e) => flow_problem(Viewer::from(signed_in), e),
    }
}

pub(crate) async fn export_all(State(state): State<AppState>, signed_in: SignedIn) -> Response {
    export_file(&state, &signed_in, &[], "flows").await
}

pub(crate) async fn export_one(State(state): State<AppState>, signed_in: SignedIn, Path(id): Path<String>) -> Response {
    let id = id.trim().to_owned();
    export_file(&state, &signed_in, std::slice::from_ref(&id), &format!("flow-{id}")).await
}
