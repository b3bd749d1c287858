//! Saving flows: every problem of a definition found at once (smart-value syntax with line and
//! column, the step cap, an explicit issue type, connections that exist and fit the step), and
//! the incoming webhook's URL and secret minted on the first save.

use std::sync::Arc;

use model::clock::Clock;
use model::filter::FieldProblem;
use model::flow::{Branch, FlowDefinition, FlowTrigger, MAX_STEPS, Step, walk};
use serde::{Deserialize, Serialize};
use store::{Store, StoreError, StoredFlow};
use utoipa::ToSchema;
use webhooks::SealingKey;

use crate::transfer::{self, ExportFile, UnknownComponent};

/// The longest flow name.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest template in one field (64 KiB).
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

/// Names a `variable.create` step may not take: the engine's own values.
const RESERVED_NAMES: [&str; 9] = [
    "webhookData",
    "agentResponse",
    "now",
    "issue",
    "createdPage",
    "slackMessage",
    "createdIssue",
    "sentEmail",
    "webResponse",
];

/// Why a flow could not be saved or read.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// Every problem of the definition, each with where it is (`steps[2].summary`).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldProblem>),
    #[error("{0} not found")]
    NotFound(String),
    #[error("the flow's webhook secret cannot be opened with this installation's key")]
    Sealing,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for FlowError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::NotFound(what),
            other => Self::Store(other),
        }
    }
}

/// Where the flow's incoming webhook is, and its secret (shown only to those who may change
/// the flow).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpoint {
    /// `POST` here with `X-Automation-Webhook-Token: <secret>`.
    pub url: String,
    /// `null` when the caller may not see it.
    pub secret: Option<String>,
}

/// A saved flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Flow {
    pub flow_id: String,
    #[serde(flatten)]
    pub definition: FlowDefinition,
    pub webhook: WebhookEndpoint,
    pub created_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
}

/// What is stored as the definition: everything but the name and state, which have columns.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredDefinition {
    #[serde(default)]
    description: String,
    trigger: FlowTrigger,
    steps: Vec<Step>,
}

/// Flows over one store; secrets sealed with the installation's key.
#[derive(Debug, Clone)]
pub struct Flows {
    store: Store,
    key: SealingKey,
    clock: Arc<dyn Clock>,
    public_url: String,
    /// Requests waiting to run, as last counted, plus those this process accepted since.
    pub(crate) queued: Arc<std::sync::Mutex<Option<crate::receive::Queued>>>,
}

fn sealing_context(flow_id: &str) -> String {
    format!("flow:{flow_id}")
}

impl Flows {
    /// The definition as stored: a web request's URL, body or header that carries a credential
    /// (what [`crate::transfer::hide_credentials`] would hide) is sealed with the installation's
    /// key, so that a copy of the database does not give it away.
    fn stored_definition(&self, flow_id: &str, definition: &FlowDefinition) -> String {
        let mut steps = definition.steps.clone();
        let context = step_sealing_context(flow_id);
        let _ = credential_fields(&mut steps, &mut |field, value| {
            let carries_one = match field {
                CredentialField::Header => true,
                CredentialField::Url => crate::transfer::hidden_url(value) != *value,
                CredentialField::Body => crate::transfer::hidden_body(value) != *value,
            };
            if carries_one {
                *value = format!("{SEALED}{}", self.key.seal(value, &context));
            }
            Ok(())
        });
        let stored = StoredDefinition {
            description: definition.description.clone(),
            trigger: definition.trigger.clone(),
            steps,
        };
        // Plain data: serializing it cannot fail.
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// Opens what [`Self::stored_definition`] sealed.
    fn opened_steps(&self, flow_id: &str, mut steps: Vec<Step>) -> Result<Vec<Step>, FlowError> {
        let context = step_sealing_context(flow_id);
        credential_fields(&mut steps, &mut |_, value| {
            if let Some(sealed) = value.strip_prefix(SEALED) {
                *value = self.key.open(sealed, &context).map_err(|_| FlowError::Sealing)?;
            }
            Ok(())
        })?;
        Ok(steps)
    }

    /// Seals the credentials of flows saved before they were sealed at rest; how many flows
    /// changed. Run at start: cheap when there is nothing to do.
    pub async fn seal_stored_credentials(&self) -> Result<usize, FlowError> {
        let mut sealed = 0;
        for mut stored in self.store.flows().await? {
            let flow = self.view(stored.clone(), false)?;
            let again = self.stored_definition(&flow.flow_id, &flow.definition);
            // Sealing is randomized: compare what it would hide, not the text.
            let opened_again: StoredDefinition =
                serde_json::from_str(&again).map_err(|e| FlowError::Store(StoreError::Other(e.to_string())))?;
            let as_stored: StoredDefinition = serde_json::from_str(&stored.definition)
                .map_err(|e| FlowError::Store(StoreError::Other(e.to_string())))?;
            if count_sealed(&opened_again.steps) > count_sealed(&as_stored.steps) {
                stored.definition = again;
                self.store.update_flow(&stored).await?;
                sealed += 1;
            }
        }
        Ok(sealed)
    }

    pub fn new(store: Store, key: SealingKey, clock: Arc<dyn Clock>, public_url: &str) -> Self {
        Self { store, key, clock, public_url: public_url.trim_end_matches('/').to_owned(), queued: Arc::default() }
    }

    /// Every flow, by name, secrets hidden.
    pub async fn list(&self) -> Result<Vec<Flow>, FlowError> {
        self.store.flows().await?.into_iter().map(|f| self.view(f, false)).collect()
    }

    /// One flow; its webhook secret when `reveal_secret`.
    pub async fn get(&self, id: &str, reveal_secret: bool) -> Result<Flow, FlowError> {
        self.view(self.store.flow(id).await?, reveal_secret)
    }

    /// Saves a new flow after checking it, and mints its webhook URL and secret.
    pub async fn create(&self, definition: &FlowDefinition, by: &str) -> Result<Flow, FlowError> {
        self.check(definition).await?;
        self.insert(definition, by).await
    }

    /// Saves a checked definition as a new flow with a fresh id, URL and secret.
    async fn insert(&self, definition: &FlowDefinition, by: &str) -> Result<Flow, FlowError> {
        let now = self.clock.now();
        let id = model::ids::new_uuid();
        let secret = model::random::secret_text(32);
        let stored = StoredFlow {
            secret_sealed: self.key.seal(&secret, &sealing_context(&id)),
            definition: self.stored_definition(&id, definition),
            id,
            name: definition.name.trim().to_owned(),
            enabled: definition.enabled,
            created_by: by.to_owned(),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_flow(&stored).await?;
        self.view(stored, true)
    }

    /// Replaces a flow's definition (its id, URL and secret stay).
    pub async fn update(&self, id: &str, definition: &FlowDefinition) -> Result<Flow, FlowError> {
        let mut stored = self.store.flow(id).await?;
        self.check(definition).await?;
        stored.name = definition.name.trim().to_owned();
        stored.enabled = definition.enabled;
        stored.definition = self.stored_definition(id, definition);
        stored.updated_at = self.clock.now();
        self.store.update_flow(&stored).await?;
        self.view(stored, true)
    }

    /// Enables or disables a flow. Enabling checks it again: a connection may have gone.
    pub async fn set_enabled(&self, id: &str, enabled: bool) -> Result<Flow, FlowError> {
        let mut flow = self.get(id, true).await?;
        flow.definition.enabled = enabled;
        if enabled {
            self.check(&flow.definition).await?;
        }
        let mut stored = self.store.flow(id).await?;
        stored.enabled = enabled;
        stored.updated_at = self.clock.now();
        self.store.update_flow(&stored).await?;
        self.view(stored, true)
    }

    pub async fn delete(&self, id: &str) -> Result<(), FlowError> {
        Ok(self.store.delete_flow(id).await?)
    }

    /// Every problem of `definition`, none when it can be saved.
    pub async fn problems(&self, definition: &FlowDefinition) -> Result<Vec<FieldProblem>, FlowError> {
        let Checked { mut problems, reconnect } = self.checked(definition).await?;
        problems.extend(reconnect);
        Ok(problems)
    }

    /// Flows as an export file (AUTOMATION §7), secrets hidden: `ids`, or every flow when none.
    pub async fn export(&self, ids: &[String]) -> Result<ExportFile, FlowError> {
        let flows = if ids.is_empty() {
            self.list().await?
        } else {
            let mut flows = Vec::with_capacity(ids.len());
            for id in ids {
                flows.push(self.get(id, false).await?);
            }
            flows
        };
        Ok(transfer::export(&flows))
    }

    /// Imports an export file (or one flow in ucm's own shape): every rule is read and checked
    /// first, and nothing is saved unless all can be. Flows are saved disabled with fresh ids,
    /// URLs and secrets; missing connections and secrets exported hidden are listed per flow as
    /// what to reconnect (enabling checks them again), unknown components as left out. A name
    /// already taken gets a number (`Slack alert (2)`).
    pub async fn import(&self, input: &serde_json::Value, by: &str) -> Result<ImportReport, FlowError> {
        let (candidates, mut problems) = transfer::read(input);
        let mut checked = Vec::with_capacity(candidates.len());
        for candidate in candidates {
            let Checked { problems: found, reconnect } = self.checked(&candidate.definition).await?;
            if !found.is_empty() {
                // What was left out may be why (a rule of unknown actions only has no steps).
                problems.extend(candidate.unknown.iter().map(|unknown| {
                    FieldProblem::new(
                        &format!("{}.{}", candidate.at, unknown.at),
                        unknown.kind.as_str(),
                        "ucm has no such step; it is left out",
                    )
                }));
            }
            // Problems say where in the file, which is what has to change.
            problems.extend(
                found.into_iter().map(|problem| FieldProblem { field: candidate.locate(&problem.field), ..problem }),
            );
            checked.push((candidate, reconnect));
        }
        if !problems.is_empty() {
            return Err(FlowError::Invalid(problems));
        }
        // A name already taken (here, or earlier in the file) gets ` (2)`, ` (3)`, … so that
        // every flow can still be named.
        let mut taken: std::collections::HashSet<String> =
            self.store.flows().await?.into_iter().map(|f| f.name.to_lowercase()).collect();
        let mut flows = Vec::with_capacity(checked.len());
        for (mut candidate, reconnect) in checked {
            let name = candidate.definition.name.trim().to_owned();
            let mut unique = name.clone();
            for n in 2.. {
                if !taken.contains(&unique.to_lowercase()) {
                    break;
                }
                unique = format!("{name} ({n})");
            }
            taken.insert(unique.to_lowercase());
            candidate.definition.name = unique;
            let flow = self.insert(&candidate.definition, by).await?;
            flows.push(ImportedFlow { flow, reconnect, unknown_components: candidate.unknown });
        }
        Ok(ImportReport { flows })
    }

    /// The problems of `definition`, apart from those an import leaves to reconnecting.
    async fn checked(&self, definition: &FlowDefinition) -> Result<Checked, FlowError> {
        let mut problems = Vec::new();
        let mut reconnect = Vec::new();
        let name = definition.name.trim();
        if name.is_empty() {
            problems.push(FieldProblem::new("name", "", "a flow needs a name"));
        } else if name.chars().count() > MAX_NAME_CHARS {
            problems.push(FieldProblem::new("name", name, format!("at most {MAX_NAME_CHARS} characters")));
        } else if name.chars().any(char::is_control) {
            problems.push(FieldProblem::new(
                "name",
                name.escape_debug().to_string(),
                "control characters are not allowed",
            ));
        }
        let steps = walk(&definition.steps);
        if steps.is_empty() {
            problems.push(FieldProblem::new("steps", "[]", "a flow needs at least one step"));
        }
        if steps.len() > MAX_STEPS {
            problems.push(FieldProblem::new(
                "steps",
                format!("{} steps", steps.len()),
                format!("at most {MAX_STEPS} steps, nested ones included"),
            ));
        }
        let connections = self.store.connections().await?;
        for (path, step) in &steps {
            check_templates(path, step, &mut problems);
            check_step(path, step, &mut problems);
            if let Some(name) = step.connection() {
                check_connection(path, step, name, &connections, &mut reconnect);
            }
            if let Step::WebRequest { url, headers, .. } = step {
                if url.contains(transfer::HIDDEN) {
                    reconnect.push(FieldProblem::new(
                        &format!("{path}.url"),
                        url.as_str(),
                        "a credential in this URL was exported hidden: enter it again",
                    ));
                }
                for header in headers.iter().filter(|h| h.value == transfer::HIDDEN) {
                    reconnect.push(FieldProblem::new(
                        &format!("{path}.headers.{}", header.name),
                        transfer::HIDDEN,
                        "this value was exported hidden: enter it again",
                    ));
                }
            }
        }
        Ok(Checked { problems, reconnect })
    }

    async fn check(&self, definition: &FlowDefinition) -> Result<(), FlowError> {
        let problems = self.problems(definition).await?;
        if problems.is_empty() { Ok(()) } else { Err(FlowError::Invalid(problems)) }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    /// A stored flow as shown; its webhook secret opened when `reveal_secret`.
    pub(crate) fn view(&self, stored: StoredFlow, reveal_secret: bool) -> Result<Flow, FlowError> {
        let definition: StoredDefinition = serde_json::from_str(&stored.definition)
            .map_err(|e| FlowError::Store(StoreError::Other(format!("flow `{}` is unreadable: {e}", stored.id))))?;
        let secret = if reveal_secret {
            Some(self.key.open(&stored.secret_sealed, &sealing_context(&stored.id)).map_err(|_| FlowError::Sealing)?)
        } else {
            None
        };
        let steps = self.opened_steps(&stored.id, definition.steps)?;
        Ok(Flow {
            webhook: WebhookEndpoint { url: format!("{}/automation/webhooks/{}", self.public_url, stored.id), secret },
            flow_id: stored.id,
            definition: FlowDefinition {
                name: stored.name,
                description: definition.description,
                enabled: stored.enabled,
                trigger: definition.trigger,
                steps,
            },
            created_by: stored.created_by,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
        })
    }
}

/// What checking a definition found.
struct Checked {
    /// Problems to fix before the flow can be saved.
    problems: Vec<FieldProblem>,
    /// Problems an import leaves to be fixed before enabling: a connection that is not here, a
    /// secret exported hidden.
    reconnect: Vec<FieldProblem>,
}

/// What an import saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub flows: Vec<ImportedFlow>,
}

/// A flow saved by an import (disabled, with its new webhook URL and secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportedFlow {
    pub flow: Flow,
    /// What to set before the flow can be enabled: connections that do not exist here, values
    /// exported hidden.
    pub reconnect: Vec<FieldProblem>,
    /// Components of the file that ucm has no step for, left out (also named in the flow's
    /// description).
    pub unknown_components: Vec<UnknownComponent>,
}

/// How many sealed values `steps` hold.
fn count_sealed(steps: &[Step]) -> usize {
    let mut steps = steps.to_vec();
    let mut count = 0;
    let _ = credential_fields(&mut steps, &mut |_, value| {
        count += usize::from(value.starts_with(SEALED));
        Ok(())
    });
    count
}

/// What marks a sealed value in a stored definition.
const SEALED: &str = "ucm-sealed:";

/// What a flow's sealed step values belong to.
fn step_sealing_context(flow_id: &str) -> String {
    format!("flow-step:{flow_id}")
}

/// A value of a web request that can carry a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CredentialField {
    Url,
    Body,
    /// The value of a header named like a credential (`Authorization`, `X-Api-Key`, …).
    Header,
}

type EachField<'a> = dyn FnMut(CredentialField, &mut String) -> Result<(), FlowError> + 'a;

/// Calls `each` on every value of a web request that can carry a credential (in branches too).
fn credential_fields(steps: &mut [Step], each: &mut EachField<'_>) -> Result<(), FlowError> {
    for step in steps {
        match step {
            Step::WebRequest { url, headers, body, .. } => {
                each(CredentialField::Url, url)?;
                each(CredentialField::Body, body)?;
                let pairs: Vec<(String, String)> = headers.iter().map(|h| (h.name.clone(), h.value.clone())).collect();
                let hidden = connectors::web::redacted_headers(&pairs);
                for (header, (_, shown)) in headers.iter_mut().zip(hidden) {
                    if shown != header.value {
                        each(CredentialField::Header, &mut header.value)?;
                    }
                }
            }
            Step::IfElse { branches } => {
                for branch in branches {
                    credential_fields(&mut branch.steps, each)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Each template parses; a syntax error says where, with line and column.
fn check_templates(path: &str, step: &Step, problems: &mut Vec<FieldProblem>) {
    for (field, template) in step.templates() {
        let at = format!("{path}.{field}");
        if template.len() > MAX_TEMPLATE_BYTES {
            problems.push(FieldProblem::new(&at, excerpt(template), format!("at most {MAX_TEMPLATE_BYTES} bytes")));
            continue;
        }
        if let Err(e) = smartvalues::Template::parse(template) {
            problems.push(FieldProblem::new(
                &at,
                excerpt(template),
                format!("{} at line {}, column {}", e.message, e.line, e.column),
            ));
        }
    }
}

fn excerpt(text: &str) -> String {
    let short: String = text.chars().take(80).collect();
    if short.len() < text.len() { format!("{short}…") } else { short }
}

/// The rules of each step type that are not about templates or connections.
fn check_step(path: &str, step: &Step, problems: &mut Vec<FieldProblem>) {
    let mut require = |field: &str, value: &str, what: &str| {
        if value.trim().is_empty() {
            problems.push(FieldProblem::new(&format!("{path}.{field}"), "", format!("{what} is required")));
        }
    };
    match step {
        Step::Condition(comparison) => {
            require("first", &comparison.first, "the value to compare");
            check_regex(path, comparison, problems);
        }
        Step::IfElse { branches } => check_branches(path, branches, problems),
        Step::AgentUse { format, backend, .. } => {
            if agent::Format::from_name(format).is_none() {
                problems.push(FieldProblem {
                    suggestions: agent::Format::ALL.iter().map(|f| f.name().to_owned()).collect(),
                    ..FieldProblem::new(&format!("{path}.format"), format, "not a built-in format")
                });
            }
            if let Some(backend) = backend
                && !["builtIn", "llm"].contains(&backend.as_str())
            {
                problems.push(FieldProblem {
                    suggestions: vec!["builtIn".to_owned(), "llm".to_owned()],
                    ..FieldProblem::new(&format!("{path}.backend"), backend, "the backend is builtIn or llm")
                });
            }
        }
        Step::ConfluencePagePublish { space, title, body, .. } => {
            require("space", space, "a space key");
            require("title", title, "a title");
            require("body", body, "a body");
        }
        Step::SlackMessageSend { message, .. } => require("message", message, "a message"),
        Step::JiraWorkItemCreate { project, issue_type, summary, .. } => {
            require("project", project, "a project key");
            require("summary", summary, "a summary");
            let same = issue_type.trim().to_lowercase().replace(['_', '-'], " ");
            if issue_type.trim().is_empty() || same.starts_with("same") || issue_type.contains("{{issue") {
                problems.push(FieldProblem::new(
                    &format!("{path}.issueType"),
                    issue_type.as_str(),
                    "give an explicit issue type (Task, Incident, …): the webhook trigger carries no work item \
                     whose type could be copied",
                ));
            }
        }
        Step::EmailSend { to, subject, body, .. } => {
            require("to", to, "a recipient");
            require("subject", subject, "a subject");
            require("body", body, "a body");
        }
        Step::WebRequest { method, url, .. } => {
            const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];
            if !METHODS.contains(&method.as_str()) {
                problems.push(FieldProblem {
                    suggestions: METHODS.iter().map(|m| (*m).to_owned()).collect(),
                    ..FieldProblem::new(
                        &format!("{path}.method"),
                        method.as_str(),
                        "not an HTTP method this step sends",
                    )
                });
            }
            let url = url.trim();
            if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with("{{")) {
                problems.push(FieldProblem::new(
                    &format!("{path}.url"),
                    url,
                    "the URL must start with https:// or http://",
                ));
            }
        }
        Step::Log { message } => require("message", message, "a message"),
        Step::VariableCreate { name, .. } => {
            let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                problems.push(FieldProblem::new(
                    &format!("{path}.name"),
                    name.as_str(),
                    "a variable name is letters, digits and `_`, starting with a letter",
                ));
            } else if RESERVED_NAMES.contains(&name.as_str()) {
                problems.push(FieldProblem::new(
                    &format!("{path}.name"),
                    name.as_str(),
                    "this name is the engine's own",
                ));
            }
        }
    }
}

/// A literal regular expression must compile (one with smart values is checked when it runs).
fn check_regex(path: &str, comparison: &model::flow::Comparison, problems: &mut Vec<FieldProblem>) {
    if comparison.operator.takes_regex()
        && !comparison.second.contains("{{")
        && let Err(e) = crate::execute::regex(&comparison.second)
    {
        let message = e.to_string().lines().last().unwrap_or("not a regular expression").trim().to_owned();
        problems.push(FieldProblem::new(&format!("{path}.second"), comparison.second.as_str(), message));
    }
}

fn check_branches(path: &str, branches: &[Branch], problems: &mut Vec<FieldProblem>) {
    if branches.is_empty() {
        problems.push(FieldProblem::new(&format!("{path}.branches"), "[]", "an if/else block needs a branch"));
    }
    for (i, branch) in branches.iter().enumerate() {
        let at = format!("{path}.branches[{i}]");
        if branch.conditions.is_empty() && i + 1 != branches.len() {
            problems.push(FieldProblem::new(&at, "", "only the last branch may have no conditions (the else branch)"));
        }
        for comparison in &branch.conditions {
            check_regex(&at, comparison, problems);
        }
    }
}

/// The connection exists and is of a kind the step sends through.
fn check_connection(
    path: &str,
    step: &Step,
    name: &str,
    connections: &[store::StoredConnection],
    problems: &mut Vec<FieldProblem>,
) {
    let fits: &[&str] = match step {
        Step::ConfluencePagePublish { .. } => &["confluence", "local"],
        Step::SlackMessageSend { .. } => &["slackWebhook", "slackBot", "local"],
        Step::JiraWorkItemCreate { .. } => &["jira", "local"],
        Step::EmailSend { .. } => &["smtp", "local"],
        _ => return,
    };
    let at = format!("{path}.connection");
    let wanted = name.trim();
    match connections.iter().find(|c| c.id == wanted || c.name.to_lowercase() == wanted.to_lowercase()) {
        Some(connection) if fits.contains(&connection.kind.as_str()) => {}
        Some(connection) => problems.push(FieldProblem::new(
            &at,
            name,
            format!(
                "`{}` is a {} connection; {} needs one of: {}",
                connection.name,
                connection.kind,
                step.type_name(),
                fits.join(", ")
            ),
        )),
        None => problems.push(FieldProblem {
            suggestions: model::suggest::closest_or_all(
                wanted,
                connections.iter().filter(|c| fits.contains(&c.kind.as_str())).map(|c| c.name.as_str()),
                3,
            ),
            ..FieldProblem::new(&at, name, "no connection has this name (create it with `ucm connections create`)")
        }),
    }
}
