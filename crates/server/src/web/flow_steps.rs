//! The step-by-step flow editor: a flow's name and trigger, then each step as a form of its
//! own fields (a text box per smart-value template, a choice where the values are fixed).
//! Steps are added, removed and moved without JavaScript: each button posts the whole form,
//! which comes back with the change and nothing saved. If/else blocks, which nest steps, are
//! edited as JSON in their own box. Saving goes through the same checks as the JSON editor
//! and the API; every problem is listed with what was typed kept.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use model::filter::FieldProblem;
use model::flow::{FlowDefinition, WorkItemCriteria};
use serde_json::{Map, Value};

use super::automation::{EXAMPLE_FLOW, MAX_FORM_BYTES, flow_problem};
use super::{SignedIn, Viewer, page};
use crate::AppState;
use automation::FlowError;

/// How a field is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One line of text.
    Line,
    /// Several lines (messages, bodies, prompts).
    Text,
    /// One of fixed values.
    Choice(&'static [&'static str]),
    /// Values separated by commas (labels).
    List,
    /// `Name: value`, one per line (request headers).
    Headers,
}

#[derive(Debug)]
struct Field {
    name: &'static str,
    label: &'static str,
    kind: Kind,
}

const fn field(name: &'static str, label: &'static str, kind: Kind) -> Field {
    Field { name, label, kind }
}

const OPERATORS: &[&str] = &[
    "EQUALS",
    "NOT_EQUALS",
    "CONTAINS",
    "NOT_CONTAINS",
    "STARTS_WITH",
    "ENDS_WITH",
    "REGEX_MATCHES",
    "REGEX_CONTAINS",
    "REGEX_NOT_MATCHES",
    "GREATER_THAN",
    "LESS_THAN",
    "ONE_OF",
    "NOT_ONE_OF",
];

/// The step types with a form of their own: wire name, label, fields.
const STEP_TYPES: &[(&str, &str, &[Field])] = &[
    (
        "condition",
        "Condition",
        &[
            field("first", "Value", Kind::Line),
            field("operator", "Comparison", Kind::Choice(OPERATORS)),
            field("second", "Compared with", Kind::Line),
        ],
    ),
    (
        "agent.use",
        "Use agent",
        &[
            field("agent", "Agent name", Kind::Line),
            field("prompt", "Prompt", Kind::Text),
            field("format", "Format", Kind::Choice(&["confluence-audit", "slack-summary", "jira-incident"])),
            field("backend", "Backend", Kind::Choice(&["", "builtIn", "llm"])),
        ],
    ),
    (
        "confluence.page.publish",
        "Publish a Confluence page",
        &[
            field("connection", "Connection", Kind::Line),
            field("space", "Space", Kind::Line),
            field("parentPage", "Parent page", Kind::Line),
            field("title", "Title", Kind::Line),
            field("body", "Body (Markdown)", Kind::Text),
        ],
    ),
    (
        "slack.message.send",
        "Send a Slack message",
        &[
            field("connection", "Connection", Kind::Line),
            field("channel", "Channel", Kind::Line),
            field("message", "Message (mrkdwn)", Kind::Text),
        ],
    ),
    (
        "jira.workitem.create",
        "Create a Jira work item",
        &[
            field("connection", "Connection", Kind::Line),
            field("project", "Project", Kind::Line),
            field("issueType", "Work type", Kind::Line),
            field("summary", "Summary", Kind::Line),
            field("description", "Description (Markdown)", Kind::Text),
            field("dueDate", "Due date", Kind::Line),
            field("priority", "Priority", Kind::Line),
            field("labels", "Labels (separated by commas)", Kind::List),
        ],
    ),
    (
        "email.send",
        "Send an email",
        &[
            field("connection", "Connection", Kind::Line),
            field("to", "To", Kind::Line),
            field("cc", "Cc", Kind::Line),
            field("bcc", "Bcc", Kind::Line),
            field("subject", "Subject", Kind::Line),
            field("body", "Body (Markdown)", Kind::Text),
        ],
    ),
    (
        "web.request",
        "Send a web request",
        &[
            field("method", "Method", Kind::Choice(&["POST", "GET", "PUT", "PATCH", "DELETE", "HEAD"])),
            field("url", "URL", Kind::Line),
            field("headers", "Headers (Name: value, one per line)", Kind::Headers),
            field("body", "Body", Kind::Text),
        ],
    ),
    ("log", "Log a message", &[field("message", "Message", Kind::Text)]),
    ("variable.create", "Create a variable", &[field("name", "Name", Kind::Line), field("value", "Value", Kind::Text)]),
];

/// An if/else block to start from: edited as JSON, since it holds steps of its own.
const IF_ELSE: &str = r#"{
  "type": "ifElse",
  "branches": [
    {"conditions": [{"first": "{{webhookData.trigger}}", "operator": "EQUALS", "second": "taskFailure"}],
     "steps": [{"type": "log", "message": "the run failed"}]},
    {"steps": [{"type": "log", "message": "the run succeeded"}]}
  ]
}"#;

/// The most steps the form reads (the flow's own limit is checked when saving).
const MAX_FORM_STEPS: usize = model::flow::MAX_STEPS;

/// One field of a step: what its type says of it, and its value. Its form key is
/// `step{index}.{name}`, numbered where the page is drawn, so moving steps renumbers nothing.
struct FieldView {
    spec: &'static Field,
    value: String,
}

impl FieldView {
    fn name(&self) -> &'static str {
        self.spec.name
    }

    fn label(&self) -> &'static str {
        self.spec.label
    }

    /// Several lines; a line that holds a line break is shown whole too.
    fn multiline(&self) -> bool {
        matches!(self.spec.kind, Kind::Text | Kind::Headers) || self.value.contains('\n')
    }

    fn choices(&self) -> Option<&'static [&'static str]> {
        match self.spec.kind {
            Kind::Choice(choices) => Some(choices),
            _ => None,
        }
    }

    /// A stored value that is not one of the choices, offered as it is (never changed silently).
    fn unlisted(&self) -> bool {
        self.choices().is_some_and(|c| !c.contains(&self.value.as_str()))
    }
}

/// One step, as shown and as typed.
struct StepView {
    /// The wire name (`slack.message.send`).
    kind: String,
    label: String,
    fields: Vec<FieldView>,
    /// The whole step as JSON, for steps without a form (if/else blocks, unknown types).
    json: Option<String>,
}

impl StepView {
    fn blank(kind: &str) -> Self {
        match STEP_TYPES.iter().find(|(name, _, _)| *name == kind) {
            Some(_) => Self::from_value(&Value::Object(Map::from_iter([("type".to_owned(), kind.into())]))),
            None => Self {
                kind: "ifElse".into(),
                label: "If/else block (JSON)".into(),
                fields: vec![],
                json: Some(IF_ELSE.into()),
            },
        }
    }

    /// A step of a stored definition (or a blank one), its fields filled in.
    fn from_value(step: &Value) -> Self {
        let kind = step.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
        let Some((_, label, fields)) = STEP_TYPES.iter().find(|(name, _, _)| *name == kind) else {
            return Self {
                label: format!("{kind} (JSON)"),
                kind,
                fields: vec![],
                json: Some(serde_json::to_string_pretty(step).unwrap_or_default()),
            };
        };
        let fields = fields
            .iter()
            .map(|f| {
                let value = step.get(f.name);
                let text = match (f.kind, value) {
                    (_, None | Some(Value::Null)) => String::new(),
                    (Kind::List, Some(Value::Array(items))) => {
                        items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
                    }
                    (Kind::Headers, Some(Value::Array(items))) => items
                        .iter()
                        .map(|h| {
                            let part = |k: &str| h.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
                            format!("{}: {}", part("name"), part("value"))
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                    (_, Some(Value::String(text))) => text.clone(),
                    (_, Some(other)) => other.to_string(),
                };
                FieldView { spec: f, value: text }
            })
            .collect();
        Self { kind, label: (*label).to_owned(), fields, json: None }
    }

    /// The step as the flow's JSON, or why it is not one.
    fn to_value(&self, index: usize) -> Result<Value, FieldProblem> {
        if let Some(json) = &self.json {
            return serde_json::from_str(json).map_err(|e| {
                FieldProblem::new(&format!("steps[{index}]"), "", format!("this step's JSON cannot be read: {e}"))
            });
        }
        let mut step = Map::from_iter([("type".to_owned(), Value::from(self.kind.clone()))]);
        for field in &self.fields {
            let value = match field.spec.kind {
                Kind::List => Value::from(
                    field
                        .value
                        .split(',')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(Value::from)
                        .collect::<Vec<_>>(),
                ),
                Kind::Headers => {
                    let mut headers = Vec::new();
                    for line in field.value.lines().map(str::trim).filter(|l| !l.is_empty()) {
                        let Some((name, value)) = line.split_once(':') else {
                            return Err(FieldProblem::new(
                                &format!("steps[{index}].headers"),
                                line,
                                "write each header as `Name: value`",
                            ));
                        };
                        headers.push(serde_json::json!({"name": name.trim(), "value": value.trim()}));
                    }
                    Value::from(headers)
                }
                // An empty choice is "the default" (the agent's backend).
                Kind::Choice(_) if field.value.is_empty() => continue,
                _ => Value::from(field.value.clone()),
            };
            step.insert(field.name().to_owned(), value);
        }
        Ok(Value::Object(step))
    }
}

/// The whole form: the flow's own fields and its steps.
struct FlowForm {
    intent: String,
    new_step: String,
    name: String,
    description: String,
    enabled: bool,
    work_items: String,
    steps: Vec<StepView>,
}

impl FlowForm {
    fn from_definition(definition: &FlowDefinition) -> Self {
        let value = serde_json::to_value(definition).unwrap_or_default();
        let steps = value.get("steps").and_then(Value::as_array).cloned().unwrap_or_default();
        let model::flow::FlowTrigger::IncomingWebhook { work_items } = definition.trigger;
        Self {
            intent: String::new(),
            new_step: String::new(),
            name: definition.name.clone(),
            description: definition.description.clone(),
            enabled: definition.enabled,
            work_items: match work_items {
                WorkItemCriteria::None => "none".into(),
                WorkItemCriteria::Provided => "provided".into(),
            },
            steps: steps.iter().map(StepView::from_value).collect(),
        }
    }

    /// The form as posted. Each step's fields are read by the form of its type; line breaks
    /// come back as the `\n` they were stored as (browsers send `\r\n`).
    fn parse(fields: &HashMap<String, String>) -> Self {
        let get = |key: &str| fields.get(key).map(|v| v.replace("\r\n", "\n"));
        let mut steps = Vec::new();
        for i in 0..MAX_FORM_STEPS {
            let Some(kind) = get(&format!("step{i}.type")) else { break };
            let mut step = match get(&format!("step{i}.json")) {
                Some(json) => StepView { json: Some(json), ..StepView::blank("ifElse") },
                None => StepView::blank(&kind),
            };
            step.kind = kind;
            for field in &mut step.fields {
                field.value = get(&format!("step{i}.{}", field.name())).unwrap_or_default();
            }
            steps.push(step);
        }
        Self {
            intent: get("intent").unwrap_or_default(),
            new_step: get("newStep").unwrap_or_default(),
            name: get("name").unwrap_or_default(),
            description: get("description").unwrap_or_default(),
            enabled: get("enabled").is_some(),
            work_items: get("workItems").unwrap_or_else(|| "none".into()),
            steps,
        }
    }

    /// Applies "add", "remove" or "move up"; whether the intent was one of them.
    fn rearrange(&mut self) -> bool {
        let at = |prefix: &str| self.intent.strip_prefix(prefix).and_then(|i| i.parse::<usize>().ok());
        if self.intent == "add" {
            if self.steps.len() < MAX_FORM_STEPS {
                self.steps.push(StepView::blank(&self.new_step));
            }
        } else if let Some(i) = at("remove:").filter(|i| *i < self.steps.len()) {
            self.steps.remove(i);
        } else if let Some(i) = at("up:").filter(|i| *i > 0 && *i < self.steps.len()) {
            self.steps.swap(i - 1, i);
        } else {
            return false;
        }
        true
    }

    /// The definition this form describes, or every problem found in reading it.
    fn definition(&self) -> Result<FlowDefinition, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut steps = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            match step.to_value(i) {
                Ok(value) => steps.push(value),
                Err(problem) => problems.push(problem),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let value = serde_json::json!({
            "name": self.name,
            "description": self.description,
            "enabled": self.enabled,
            "trigger": {"type": "incomingWebhook", "workItems": self.work_items},
            "steps": steps,
        });
        serde_path_to_error::deserialize(value)
            .map_err(|e| vec![FieldProblem::new(&e.path().to_string(), "", e.inner().to_string())])
    }
}

#[derive(Template)]
#[template(path = "flow_steps.html")]
struct StepsPage {
    viewer: Option<Viewer>,
    heading: String,
    /// Where the form posts.
    action: String,
    /// The same flow in the JSON editor.
    json_link: String,
    form: FlowForm,
    step_types: Vec<(&'static str, &'static str)>,
    problems: Vec<FieldProblem>,
}

fn steps_page(signed_in: &SignedIn, flow_id: Option<&str>, form: FlowForm, problems: Vec<FieldProblem>) -> Response {
    let (heading, action, json_link) = match flow_id {
        Some(id) => (
            format!("Edit {}", form.name),
            format!("/automation/flows/{id}/steps"),
            format!("/automation/flows/{id}/edit"),
        ),
        None => ("New flow".to_owned(), "/automation/new/steps".to_owned(), "/automation/new".to_owned()),
    };
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let mut step_types: Vec<_> = STEP_TYPES.iter().map(|(name, label, _)| (*name, *label)).collect();
    step_types.push(("ifElse", "If/else block (JSON)"));
    let mut response = page(&StepsPage {
        viewer: Some(Viewer::from(signed_in)),
        heading,
        action,
        json_link,
        form,
        step_types,
        problems,
    });
    *response.status_mut() = status;
    response
}

/// A new flow, step by step, starting from the example.
pub(crate) async fn new_page(signed_in: SignedIn) -> Response {
    if let Some(refused) = super::refuse_reader(&signed_in, "flows") {
        return refused;
    }
    let example: FlowDefinition = serde_json::from_str(EXAMPLE_FLOW).unwrap_or_else(|_| FlowDefinition {
        name: String::new(),
        description: String::new(),
        enabled: false,
        trigger: model::flow::FlowTrigger::IncomingWebhook { work_items: WorkItemCriteria::None },
        steps: vec![],
    });
    steps_page(&signed_in, None, FlowForm::from_definition(&example), vec![])
}

/// A saved flow, step by step.
pub(crate) async fn edit_page(State(state): State<AppState>, signed_in: SignedIn, Path(id): Path<String>) -> Response {
    if let Some(refused) = super::refuse_reader(&signed_in, "flows") {
        return refused;
    }
    let viewer = Viewer::from(&signed_in);
    match state.flows.get(id.trim(), false).await {
        Ok(flow) => steps_page(&signed_in, Some(&flow.flow_id), FlowForm::from_definition(&flow.definition), vec![]),
        Err(e) => flow_problem(viewer, e),
    }
}

/// Rearranges the steps, or saves a new flow.
pub(crate) async fn create(State(state): State<AppState>, signed_in: SignedIn, body: Bytes) -> Response {
    submit(&state, &signed_in, None, &body).await
}

/// Rearranges the steps, or saves a flow's changes (its URL and secret stay).
pub(crate) async fn update(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    submit(&state, &signed_in, Some(id.trim()), &body).await
}

async fn submit(state: &AppState, signed_in: &SignedIn, flow_id: Option<&str>, body: &Bytes) -> Response {
    let viewer = Viewer::from(signed_in);
    if body.len() > MAX_FORM_BYTES + 4096 {
        return super::error_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some(viewer),
            "Too large",
            "A flow may be at most 1 MiB.",
        );
    }
    // One pass over the body; the token and the key's role are checked before anything else.
    let fields: HashMap<String, String> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    if let Some(refused) = super::refuse_form(signed_in, fields.get("csrf").map_or("", String::as_str), "flows") {
        return refused;
    }
    let mut form = FlowForm::parse(&fields);
    if form.rearrange() {
        return steps_page(signed_in, flow_id, form, vec![]);
    }
    let definition = match form.definition() {
        Ok(definition) => definition,
        Err(problems) => return steps_page(signed_in, flow_id, form, problems),
    };
    let saved = match flow_id {
        Some(id) => state.flows.update(id, &definition).await,
        None => state.flows.create(&definition, &signed_in.key.name).await,
    };
    match saved {
        Ok(flow) => Redirect::to(&format!("/automation/flows/{}", flow.flow_id)).into_response(),
        Err(FlowError::Invalid(problems)) => steps_page(signed_in, flow_id, form, problems),
        Err(e) => flow_problem(viewer, e),
    }
}

/// Deletes a flow once confirmed: its webhook stops answering at once.
pub(crate) async fn delete(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let confirmed = match super::confirmed(&signed_in, &body, "flows") {
        Ok(confirmed) => confirmed,
        Err(refused) => return *refused,
    };
    let viewer = Viewer::from(&signed_in);
    let flow = match state.flows.get(id.trim(), false).await {
        Ok(flow) => flow,
        Err(e) => return flow_problem(viewer, e),
    };
    if !confirmed {
        return page(&super::ConfirmPage {
            viewer: Some(viewer),
            title: format!("Delete “{}”?", flow.definition.name),
            message: "Its webhook URL stops answering at once: requests to it are refused, and webhooks \
                      that point at it fail until they are changed."
                .into(),
            action: format!("/automation/flows/{}/delete", flow.flow_id),
            button: "Delete the flow",
            back: format!("/automation/flows/{}", flow.flow_id),
        });
    }
    match state.flows.delete(&flow.flow_id).await {
        Ok(()) => {
            tracing::info!(flow_id = %flow.flow_id, by = %signed_in.key.api_key_id, "flow deleted in the web UI");
            Redirect::to("/automation").into_response()
        }
        Err(e) => flow_problem(viewer, e),
    }
}
