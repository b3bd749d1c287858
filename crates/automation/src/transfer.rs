//! Export and import (AUTOMATION §7) in Atlassian Automation's rule shape:
//! `{"cloud": false, "rules": [{name, state, description, trigger, components[]}]}`, each
//! component `{component, schemaVersion, type, value, children[], conditions[]}`.
//!
//! Steps with an Atlassian counterpart export under its type string (`jira.issue.create`,
//! `codebarrel.action.log`, …); the others under ours with a `ucm.` prefix. An if/else block is
//! Atlassian's container of if-blocks. Secrets (the webhook token, credential headers) export as
//! `***`. Import reads such a file, or one flow in ucm's own shape, and maps every type it
//! knows; an unknown one is named in the report and in the flow's description, never dropped
//! silently.

use model::filter::FieldProblem;
use model::flow::{Branch, FlowDefinition, FlowTrigger, Match, Step, WorkItemCriteria};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::flows::Flow;

/// How secrets appear in an export.
pub const HIDDEN: &str = "***";

/// An export file: rules in Atlassian Automation's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExportFile {
    /// Always `false`: these rules come from a self-hosted installation.
    #[serde(default)]
    pub cloud: bool,
    pub rules: Vec<Rule>,
}

/// One flow as an Atlassian rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub name: String,
    /// `ENABLED` or `DISABLED` (imported flows start disabled whatever this says).
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub description: String,
    pub trigger: Component,
    #[serde(default)]
    pub components: Vec<Component>,
}

/// A trigger, condition or action of a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    /// `TRIGGER`, `CONDITION`, `CONDITION_BLOCK` or `ACTION`.
    pub component: String,
    #[serde(default = "first_schema_version")]
    pub schema_version: u32,
    /// The component's type string (`jira.issue.create`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The component's settings (null for a block that only holds others).
    #[serde(default)]
    pub value: Value,
    /// Nested components (an if/else block's branches, a branch's actions).
    #[serde(default)]
    #[schema(no_recursion)]
    pub children: Vec<Component>,
    /// A branch's conditions.
    #[serde(default)]
    #[schema(no_recursion)]
    pub conditions: Vec<Component>,
}

fn first_schema_version() -> u32 {
    1
}

const TRIGGER: &str = "jira.incoming.webhook";
const IF_BLOCK: &str = "jira.condition.if.block";

/// Each step type: ours, its type string in an export, and its component kind.
const TYPES: [(&str, &str, &str); 10] = [
    ("condition", "jira.comparator.condition", "CONDITION"),
    ("ifElse", "jira.condition.container.block", "CONDITION"),
    ("agent.use", "ucm.agent.use", "ACTION"),
    ("confluence.page.publish", "ucm.confluence.page.publish", "ACTION"),
    ("slack.message.send", "ucm.slack.message.send", "ACTION"),
    ("jira.workitem.create", "jira.issue.create", "ACTION"),
    ("email.send", "jira.issue.outgoing.email", "ACTION"),
    ("web.request", "jira.issue.outgoing.webhook", "ACTION"),
    ("log", "codebarrel.action.log", "ACTION"),
    ("variable.create", "jira.create.variable", "ACTION"),
];

/// The step types that send through a connection.
const WITH_CONNECTION: [&str; 4] =
    ["confluence.page.publish", "slack.message.send", "jira.workitem.create", "email.send"];

fn exported_type(ours: &str) -> (&'static str, &'static str) {
    TYPES.iter().find(|(o, _, _)| *o == ours).map_or(("", "ACTION"), |(_, exported, kind)| (*exported, *kind))
}

/// Our step type for a type string of an export file (or our own name).
fn our_type(kind: &str) -> Option<&'static str> {
    TYPES.iter().find(|(ours, exported, _)| *exported == kind || *ours == kind).map(|(ours, _, _)| *ours)
}

/// Flows as an export file. Secrets are not in it: the webhook token and credential headers
/// are `***`.
pub fn export(flows: &[Flow]) -> ExportFile {
    ExportFile { cloud: false, rules: flows.iter().map(rule).collect() }
}

fn rule(flow: &Flow) -> Rule {
    let definition = &flow.definition;
    let FlowTrigger::IncomingWebhook { work_items } = definition.trigger;
    Rule {
        name: definition.name.clone(),
        state: if definition.enabled { "ENABLED" } else { "DISABLED" }.to_owned(),
        description: definition.description.clone(),
        trigger: Component {
            component: "TRIGGER".to_owned(),
            schema_version: 1,
            kind: TRIGGER.to_owned(),
            value: json!({"workItems": work_items, "automationToken": HIDDEN}),
            children: vec![],
            conditions: vec![],
        },
        components: definition.steps.iter().map(component).collect(),
    }
}

fn component(step: &Step) -> Component {
    let (kind, component_kind) = exported_type(step.type_name());
    let mut exported = Component {
        component: component_kind.to_owned(),
        schema_version: 1,
        kind: kind.to_owned(),
        value: Value::Null,
        children: vec![],
        conditions: vec![],
    };
    match step {
        Step::IfElse { branches } => exported.children = branches.iter().map(if_block).collect(),
        Step::WebRequest { headers, .. } => {
            let pairs: Vec<(String, String)> = headers.iter().map(|h| (h.name.clone(), h.value.clone())).collect();
            let mut value = fields_of(step);
            if let Step::WebRequest { url, body, .. } = step {
                value.insert("url".to_owned(), json!(hidden_url(url)));
                value.insert("body".to_owned(), json!(hidden_body(body)));
            }
            value.insert(
                "headers".to_owned(),
                connectors::web::redacted_headers(&pairs)
                    .into_iter()
                    .map(|(name, value)| json!({"name": name, "value": value}))
                    .collect(),
            );
            exported.value = Value::Object(value);
        }
        _ => exported.value = Value::Object(fields_of(step)),
    }
    exported
}

fn if_block(branch: &Branch) -> Component {
    Component {
        component: "CONDITION_BLOCK".to_owned(),
        schema_version: 1,
        kind: IF_BLOCK.to_owned(),
        value: json!({"conditionMatchType": branch.matches}),
        children: branch.steps.iter().map(component).collect(),
        conditions: branch.conditions.iter().map(|c| component(&Step::Condition(c.clone()))).collect(),
    }
}

/// Words in a query parameter's name that say its value is a credential.
const CREDENTIAL_PARAMETERS: [&str; 8] = ["token", "secret", "key", "password", "signature", "sig", "auth", "code"];

/// `url` with the credentials it may carry as `***`: a user's password, and the values of query
/// parameters named like credentials. (A secret path, as Slack's webhook URLs have, belongs in a
/// connection, not a web request step.)
pub fn hidden_url(url: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(base, query)| (base, Some(query)));
    let mut hidden = match base.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
                    format!("{scheme}://{user}:{HIDDEN}@{host}{path}")
                }
                None => base.to_owned(),
            }
        }
        None => base.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if CREDENTIAL_PARAMETERS.iter().any(|w| name.to_ascii_lowercase().contains(w)) => {
                    format!("{name}={HIDDEN}")
                }
                _ => pair.to_owned(),
            })
            .collect();
        hidden.push('?');
        hidden.push_str(&pairs.join("&"));
    }
    hidden
}

/// `body` (a web request's, a template or as rendered) with the values of fields named like
/// credentials as `***`: `"password": "…"` in JSON and `password=…` in a form.
pub fn hidden_body(body: &str) -> String {
    static JSON_FIELD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#""((?:[^"\\]|\\.)*)"(\s*:\s*)"(?:[^"\\]|\\.)*""#).unwrap_or_else(|_| unreachable!())
    });
    static FORM_FIELD: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"(^|&)([^=&\s]+)=([^&]*)").unwrap_or_else(|_| unreachable!()));
    let hidden = JSON_FIELD.replace_all(body, |c: &regex::Captures<'_>| {
        if crate::execute::is_credential(&c[1]) {
            format!("\"{}\"{}\"{HIDDEN}\"", &c[1], &c[2])
        } else {
            c[0].to_owned()
        }
    });
    if body.trim_start().starts_with(['{', '[']) {
        return hidden.into_owned();
    }
    FORM_FIELD
        .replace_all(&hidden, |c: &regex::Captures<'_>| {
            if crate::execute::is_credential(&c[2]) { format!("{}{}={HIDDEN}", &c[1], &c[2]) } else { c[0].to_owned() }
        })
        .into_owned()
}

/// `definition` with what its web requests may carry as credentials hidden: headers named like
/// credentials, credential query parameters and a URL's password, and credential fields of
/// bodies. What read-only keys see of a flow.
pub fn hide_credentials(definition: &mut FlowDefinition) {
    fn hide(steps: &mut [Step]) {
        for step in steps {
            match step {
                Step::WebRequest { url, headers, body, .. } => {
                    *url = hidden_url(url);
                    *body = hidden_body(body);
                    let pairs: Vec<(String, String)> =
                        headers.iter().map(|h| (h.name.clone(), h.value.clone())).collect();
                    for (header, (_, value)) in headers.iter_mut().zip(connectors::web::redacted_headers(&pairs)) {
                        header.value = value;
                    }
                }
                Step::IfElse { branches } => branches.iter_mut().for_each(|b| hide(&mut b.steps)),
                _ => {}
            }
        }
    }
    hide(&mut definition.steps);
}

/// A step's fields as written in ucm's own shape, without its `type`.
fn fields_of(step: &Step) -> Map<String, Value> {
    match serde_json::to_value(step) {
        Ok(Value::Object(mut fields)) => {
            fields.remove("type");
            fields
        }
        _ => Map::new(),
    }
}

/// A flow read from an import file, not yet saved.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Where it is in the file (`rules[2]`), for problems.
    pub at: String,
    /// Disabled, and its description naming any component left out.
    pub definition: FlowDefinition,
    /// Components of a type ucm does not have, left out.
    pub unknown: Vec<UnknownComponent>,
    /// Where each step and branch of the flow came from in the file: (its path in the flow,
    /// its path in the file, whether its fields are under `value`).
    places: Vec<(String, String, bool)>,
}

impl Candidate {
    /// A place in the flow (`steps[1].branches[0].steps[0].message`) as the place in the file
    /// it came from (`rules[0].components[1].children[0].children[0].value.message`).
    pub fn locate(&self, field: &str) -> String {
        let within = |key: &str| field == key || field.strip_prefix(key).is_some_and(|rest| rest.starts_with('.'));
        let mapped = match self.places.iter().filter(|(key, _, _)| within(key)).max_by_key(|(key, _, _)| key.len()) {
            Some((key, file, under_value)) => {
                let rest = &field[key.len()..];
                if *under_value && !rest.is_empty() { format!("{file}.value{rest}") } else { format!("{file}{rest}") }
            }
            None => field.to_owned(),
        };
        [self.at.as_str(), mapped.as_str()].into_iter().filter(|part| !part.is_empty()).collect::<Vec<_>>().join(".")
    }
}

/// A component of the file that ucm has no step for: named in the report, left out of the flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnknownComponent {
    /// Where it was in the rule (`components[2].children[0]`).
    pub at: String,
    /// Its type string.
    #[serde(rename = "type")]
    pub kind: String,
}

/// Reads an import file: an export file (`{"rules": […]}`) or one flow in ucm's own shape.
/// Returns the rules that could be read, and the problems of those that could not (all of them).
pub fn read(input: &Value) -> (Vec<Candidate>, Vec<FieldProblem>) {
    match read_rules(input) {
        Ok(read) => read,
        Err(problem) => (vec![], vec![problem]),
    }
}

fn read_rules(input: &Value) -> Result<(Vec<Candidate>, Vec<FieldProblem>), FieldProblem> {
    let Some(object) = input.as_object() else {
        return Err(FieldProblem::new("", excerpt(input), "an import file is a JSON object"));
    };
    if !object.contains_key("rules") {
        let definition: FlowDefinition = serde_json::from_value(input.clone()).map_err(|e| {
            FieldProblem::new("", "", format!("neither an export file (`{{\"rules\": [...]}}`) nor a flow: {e}"))
        })?;
        let definition = FlowDefinition { enabled: false, ..definition };
        return Ok((vec![Candidate { at: String::new(), definition, unknown: vec![], places: vec![] }], vec![]));
    }
    let file: ExportFile = serde_json::from_value(input.clone())
        .map_err(|e| FieldProblem::new("rules", "", format!("not an export file: {e}")))?;
    if file.rules.is_empty() {
        return Err(FieldProblem::new("rules", "[]", "the file holds no rules"));
    }
    let mut problems = Vec::new();
    let mut candidates = Vec::new();
    for (i, rule) in file.rules.iter().enumerate() {
        let at = format!("rules[{i}]");
        let mut reading = Reading::default();
        let trigger = reading.trigger(&format!("{at}.trigger"), &rule.trigger);
        let steps = reading.steps(&at, "components", "", &rule.components);
        problems.append(&mut reading.problems);
        let Some(trigger) = trigger else { continue };
        let mut description = rule.description.clone();
        if !reading.unknown.is_empty() {
            let left_out: Vec<String> = reading.unknown.iter().map(|u| format!("`{}` ({})", u.kind, u.at)).collect();
            if !description.is_empty() {
                description.push_str("\n\n");
            }
            description.push_str(&format!("Imported without: {}.", left_out.join(", ")));
        }
        let definition = FlowDefinition { name: rule.name.clone(), description, enabled: false, trigger, steps };
        candidates.push(Candidate { at, definition, unknown: reading.unknown, places: reading.places });
    }
    Ok((candidates, problems))
}

fn excerpt(value: &Value) -> String {
    value.to_string().chars().take(80).collect()
}

/// What reading one rule found.
#[derive(Default)]
struct Reading {
    unknown: Vec<UnknownComponent>,
    problems: Vec<FieldProblem>,
    places: Vec<(String, String, bool)>,
}

impl Reading {
    fn trigger(&mut self, at: &str, trigger: &Component) -> Option<FlowTrigger> {
        if trigger.kind != TRIGGER && trigger.kind != "incomingWebhook" {
            self.problems.push(FieldProblem::new(
                at,
                trigger.kind.as_str(),
                format!("ucm flows start from an incoming webhook (`{TRIGGER}`); this trigger is not one ucm has"),
            ));
            return None;
        }
        let value = &trigger.value;
        let work_items = match (value.get("workItems"), value.get("noIssues")) {
            (Some(criteria), _) => match serde_json::from_value::<WorkItemCriteria>(criteria.clone()) {
                Ok(criteria) => criteria,
                Err(_) => {
                    self.problems.push(FieldProblem {
                        suggestions: vec!["none".to_owned(), "provided".to_owned()],
                        ..FieldProblem::new(
                            &format!("{at}.value.workItems"),
                            excerpt(criteria),
                            "not a work item criterion",
                        )
                    });
                    return None;
                }
            },
            (None, Some(Value::Bool(false))) => WorkItemCriteria::Provided,
            _ => WorkItemCriteria::None,
        };
        Some(FlowTrigger::IncomingWebhook { work_items })
    }

    /// The steps of `components` (at `path` in the file), which become the flow's steps at
    /// `flow_prefix` (`""`, `steps[1].branches[0].`).
    fn steps(&mut self, rule_at: &str, path: &str, flow_prefix: &str, components: &[Component]) -> Vec<Step> {
        let mut steps = Vec::new();
        for (i, component) in components.iter().enumerate() {
            let at = format!("{path}[{i}]");
            let flow_path = format!("{flow_prefix}steps[{}]", steps.len());
            if let Some(step) = self.step(rule_at, &at, &flow_path, component) {
                self.places.push((flow_path, at, true));
                steps.push(step);
            }
        }
        steps
    }

    fn step(&mut self, rule_at: &str, at: &str, flow_path: &str, component: &Component) -> Option<Step> {
        let Some(ours) = our_type(&component.kind) else {
            if component.component.starts_with("CONDITION") {
                // Leaving a condition out would run what it guards when it would not hold.
                self.problems.push(FieldProblem::new(
                    &format!("{rule_at}.{at}"),
                    component.kind.as_str(),
                    "a condition ucm does not have; without it the steps it guards would always run",
                ));
            } else {
                self.unknown.push(UnknownComponent { at: at.to_owned(), kind: component.kind.clone() });
            }
            return None;
        };
        if ours == "ifElse" {
            let mut branches = Vec::new();
            for (b, block) in component.children.iter().enumerate() {
                let block_at = format!("{at}.children[{b}]");
                if block.kind != IF_BLOCK && block.kind != "branch" {
                    self.problems.push(FieldProblem::new(
                        &format!("{rule_at}.{block_at}"),
                        block.kind.as_str(),
                        format!("an if/else block holds `{IF_BLOCK}` components only"),
                    ));
                    continue;
                }
                let flow_branch = format!("{flow_path}.branches[{}]", branches.len());
                self.places.push((flow_branch.clone(), block_at.clone(), false));
                let matches = match block.value.get("conditionMatchType").or_else(|| block.value.get("matches")) {
                    Some(Value::String(m)) if m.eq_ignore_ascii_case("any") => Match::Any,
                    _ => Match::All,
                };
                let mut conditions = Vec::new();
                for (c, condition) in block.conditions.iter().enumerate() {
                    let condition_at = format!("{block_at}.conditions[{c}]");
                    if our_type(&condition.kind) != Some("condition") {
                        self.problems.push(FieldProblem::new(
                            &format!("{rule_at}.{condition_at}"),
                            condition.kind.as_str(),
                            "a condition ucm does not have; without it the branch would always be taken",
                        ));
                        continue;
                    }
                    match self.step(rule_at, &condition_at, &flow_branch, condition) {
                        Some(Step::Condition(comparison)) => conditions.push(comparison),
                        Some(other) => self.problems.push(FieldProblem::new(
                            &format!("{rule_at}.{condition_at}"),
                            other.type_name(),
                            "a branch's conditions must be comparisons",
                        )),
                        None => {}
                    }
                }
                let steps =
                    self.steps(rule_at, &format!("{block_at}.children"), &format!("{flow_branch}."), &block.children);
                branches.push(Branch { matches, conditions, steps });
            }
            return Some(Step::IfElse { branches });
        }
        let mut fields = match &component.value {
            Value::Object(fields) => fields.clone(),
            // Atlassian's log action may carry its message alone.
            Value::String(message) if ours == "log" => Map::from_iter([("message".to_owned(), json!(message))]),
            other => {
                self.problems.push(FieldProblem::new(
                    &format!("{rule_at}.{at}.value"),
                    excerpt(other),
                    format!("the settings of a `{}` component are a JSON object", component.kind),
                ));
                return None;
            }
        };
        if WITH_CONNECTION.contains(&ours) {
            // Atlassian's own actions name no connection: choosing one is part of reconnecting.
            fields.entry("connection").or_insert_with(|| json!(""));
        }
        fields.insert("type".to_owned(), json!(ours));
        match serde_json::from_value::<Step>(Value::Object(fields)) {
            Ok(step) => Some(step),
            Err(e) => {
                self.problems.push(FieldProblem::new(
                    &format!("{rule_at}.{at}.value"),
                    component.kind.as_str(),
                    format!("does not fit ucm's `{ours}` step: {e}"),
                ));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(definition: FlowDefinition) -> Flow {
        Flow {
            flow_id: "f".to_owned(),
            definition,
            webhook: crate::WebhookEndpoint {
                url: "http://x/automation/webhooks/f".to_owned(),
                secret: Some("s".into()),
            },
            created_by: "t".to_owned(),
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    fn definition(steps: Value) -> FlowDefinition {
        serde_json::from_value(
            json!({"name": "n", "enabled": true, "trigger": {"type": "incomingWebhook"}, "steps": steps}),
        )
        .unwrap()
    }

    #[test]
    fn every_step_type_survives_export_and_import() {
        let original = definition(json!([
            {"type": "condition", "first": "{{webhookData.trigger}}", "operator": "EQUALS", "second": "taskFailure"},
            {"type": "ifElse", "branches": [
                {"matches": "ANY", "conditions": [{"first": "{{a}}", "operator": "ONE_OF", "second": "x,y"}],
                 "steps": [{"type": "log", "message": "x or y"}]},
                {"steps": [{"type": "variable.create", "name": "v", "value": "else"}]}
            ]},
            {"type": "agent.use", "agent": "A", "prompt": "p", "format": "slack-summary"},
            {"type": "confluence.page.publish", "connection": "c", "space": "OPS", "title": "t", "body": "b"},
            {"type": "slack.message.send", "connection": "s", "channel": "#c", "message": "m"},
            {"type": "jira.workitem.create", "connection": "j", "project": "OPS", "issueType": "Task",
             "summary": "s", "dueDate": "2026-01-01", "priority": "P2", "labels": ["a"]},
            {"type": "email.send", "connection": "e", "to": "a@example.com", "bcc": "b@example.com", "subject": "s", "body": "b"},
            {"type": "web.request", "method": "POST", "url": "https://example.com/x", "body": "{}",
             "headers": [{"name": "Accept", "value": "application/json"}]}
        ]));
        let file = export(&[flow(original.clone())]);
        let text = serde_json::to_value(&file).unwrap();
        let types: Vec<&str> =
            text["rules"][0]["components"].as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "jira.comparator.condition",
                "jira.condition.container.block",
                "ucm.agent.use",
                "ucm.confluence.page.publish",
                "ucm.slack.message.send",
                "jira.issue.create",
                "jira.issue.outgoing.email",
                "jira.issue.outgoing.webhook"
            ]
        );
        assert_eq!(text["rules"][0]["state"], "ENABLED");
        assert_eq!(text["rules"][0]["trigger"]["type"], "jira.incoming.webhook");
        assert_eq!(text["rules"][0]["components"][1]["children"][0]["component"], "CONDITION_BLOCK");
        let (candidates, _) = read(&text);
        assert_eq!(candidates.len(), 1);
        assert_eq!(candidates[0].definition, FlowDefinition { enabled: false, ..original });
        assert!(candidates[0].unknown.is_empty());
    }

    #[test]
    fn secrets_export_hidden_and_are_named_on_import() {
        let original = definition(json!([{"type": "web.request", "method": "POST",
            "url": "https://bot:pa55word@example.com/x?api_key=k3y-value&page=2&sig=s1g",
            "headers": [{"name": "Authorization", "value": "Bearer s3cret-value"}, {"name": "Accept", "value": "*/*"}]}]));
        let file = serde_json::to_value(export(&[flow(original)])).unwrap();
        let text = file.to_string();
        for secret in ["s3cret-value", "pa55word", "k3y-value", "s1g"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(
            file["rules"][0]["components"][0]["value"]["url"],
            "https://bot:***@example.com/x?api_key=***&page=2&sig=***"
        );
        assert_eq!(hidden_url("https://example.com/{{webhookData.path}}"), "https://example.com/{{webhookData.path}}");
        assert_eq!(
            hidden_body(
                r#"{"user": "{{webhookData.user}}", "password": "p\"w", "tokenId": "t1", "apiToken": "{{x}}"}"#
            ),
            r#"{"user": "{{webhookData.user}}", "password": "***", "tokenId": "t1", "apiToken": "***"}"#
        );
        assert_eq!(
            hidden_body("grant_type=password&password=hunter2&client_secret=s&scope=a"),
            "grant_type=password&password=***&client_secret=***&scope=a"
        );
        assert_eq!(hidden_body("plain text with password in it"), "plain text with password in it");
        assert_eq!(file["rules"][0]["trigger"]["value"]["automationToken"], HIDDEN);
        let (candidates, _) = read(&file);
        let Step::WebRequest { headers, .. } = &candidates[0].definition.steps[0] else { panic!() };
        assert_eq!(headers[0].value, HIDDEN, "set again when reconnecting");
    }

    #[test]
    fn unknown_types_are_named_and_kept_out() {
        let file = json!({"cloud": true, "rules": [{"name": "From Atlassian", "state": "ENABLED",
        "trigger": {"component": "TRIGGER", "type": "jira.incoming.webhook", "value": {"noIssues": false}},
        "components": [
            {"component": "ACTION", "type": "codebarrel.action.log", "value": "hello"},
            {"component": "ACTION", "type": "jira.issue.transition", "value": {"to": "Done"}},
            {"component": "ACTION", "type": "jira.issue.create", "value": {"project": "OPS", "issueType": "Task", "summary": "s"}}
        ]}]});
        let (candidates, _) = read(&file);
        let candidate = &candidates[0];
        assert_eq!(
            candidate.unknown,
            [UnknownComponent { at: "components[1]".into(), kind: "jira.issue.transition".into() }]
        );
        assert!(candidate.definition.description.contains("`jira.issue.transition` (components[1])"));
        assert_eq!(
            candidate.definition.trigger,
            FlowTrigger::IncomingWebhook { work_items: WorkItemCriteria::Provided }
        );
        assert!(!candidate.definition.enabled);
        assert_eq!(candidate.definition.steps[0], Step::Log { message: "hello".into() });
        assert_eq!(candidate.definition.steps[1].connection(), Some(""), "a connection is chosen when reconnecting");
    }

    #[test]
    fn rules_that_cannot_be_read_are_all_named() {
        let file = json!({"rules": [
            {"name": "a", "trigger": {"component": "TRIGGER", "type": "jira.issue.event.trigger:created"}, "components": []},
            {"name": "b", "trigger": {"component": "TRIGGER", "type": "jira.incoming.webhook"},
             "components": [{"component": "ACTION", "type": "codebarrel.action.log", "value": {"mesage": "x"}}]}
        ]});
        let (_, problems) = read(&file);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["rules[0].trigger", "rules[1].components[0].value"]);
        assert_eq!(read(&json!([1])).1.len(), 1);
        assert_eq!(read(&json!({"rules": []})).1[0].message, "the file holds no rules");
    }

    #[test]
    fn an_unknown_condition_is_a_problem_not_left_out() {
        let rule = |components: Value| {
            json!({"rules": [{"name": "r", "trigger": {"component": "TRIGGER", "type": "jira.incoming.webhook"},
                "components": components}]})
        };
        let log = json!({"component": "ACTION", "type": "codebarrel.action.log", "value": {"message": "m"}});
        let jql = json!({"component": "CONDITION", "type": "jira.jql.condition", "value": {"jql": "x"}});
        let (_, problems) = read(&rule(json!([jql, log])));
        assert_eq!(problems[0].field, "rules[0].components[0]");
        assert!(problems[0].message.contains("would always run"));
        let block = json!({"component": "CONDITION", "type": "jira.condition.container.block", "children": [
            {"component": "CONDITION_BLOCK", "type": "jira.condition.if.block", "conditions": [jql], "children": [log]}]});
        let (_, problems) = read(&rule(json!([block])));
        assert_eq!(problems[0].field, "rules[0].components[0].children[0].conditions[0]");
    }

    #[test]
    fn places_in_the_flow_are_located_in_the_file() {
        let file = json!({"rules": [{"name": "r", "trigger": {"component": "TRIGGER", "type": "jira.incoming.webhook"},
        "components": [
            {"component": "ACTION", "type": "jira.issue.transition", "value": {}},
            {"component": "CONDITION", "type": "jira.condition.container.block", "children": [
                {"component": "CONDITION_BLOCK", "type": "jira.condition.if.block", "children": [
                    {"component": "ACTION", "type": "codebarrel.action.log", "value": {"message": "m"}}]}]},
            {"component": "ACTION", "type": "codebarrel.action.log", "value": {"message": "n"}}
        ]}]});
        let (candidates, problems) = read(&file);
        assert!(problems.is_empty(), "{problems:?}");
        let candidate = &candidates[0];
        // The unknown first component is left out: the flow's steps[0] is the file's components[1].
        assert_eq!(
            candidate.locate("steps[0].branches[0].steps[0].message"),
            "rules[0].components[1].children[0].children[0].value.message"
        );
        assert_eq!(candidate.locate("steps[0].branches[0]"), "rules[0].components[1].children[0]");
        assert_eq!(candidate.locate("steps[1].message"), "rules[0].components[2].value.message");
        assert_eq!(
            candidate.locate("steps[10].message"),
            "rules[0].steps[10].message",
            "unknown places stay as they are"
        );
        assert_eq!(candidate.locate("name"), "rules[0].name");
    }

    #[test]
    fn a_flow_in_our_own_shape_imports_too() {
        let flow = json!({"name": "mine", "enabled": true, "trigger": {"type": "incomingWebhook"},
            "steps": [{"type": "log", "message": "hi"}]});
        let (candidates, _) = read(&flow);
        assert!(!candidates[0].definition.enabled);
        assert_eq!(candidates[0].definition.name, "mine");
    }
}
