//! Flows (AUTOMATION.md): one trigger and an ordered list of steps (conditions, if/else
//! blocks, the agent step, actions). Data only: checking templates and connections, storing and
//! running flows belong to the `automation` crate.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most steps one flow holds, nested ones included (AUTOMATION §6).
pub const MAX_STEPS: usize = 65;

/// A flow as people write it (create, update, import).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlowDefinition {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// New flows start disabled unless this says otherwise.
    #[serde(default)]
    pub enabled: bool,
    pub trigger: FlowTrigger,
    pub steps: Vec<Step>,
}

/// What starts a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum FlowTrigger {
    /// `POST {public_url}/automation/webhooks/{flowId}` with the flow's secret.
    IncomingWebhook {
        #[serde(default)]
        work_items: WorkItemCriteria,
    },
}

/// Which work items an incoming webhook carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum WorkItemCriteria {
    /// "No work items from the webhook": the flow runs once with `{{webhookData}}`.
    #[default]
    None,
    /// The body carries `"issues": ["KEY-1", …]`; the flow runs once per item.
    Provided,
}

/// One step of a flow. Text fields are smart-value templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
// Multi-word fields also say their name one by one: the OpenAPI document does not follow
// `rename_all_fields`.
#[serde(tag = "type", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum Step {
    /// Continue only if the comparison holds.
    #[serde(rename = "condition")]
    Condition(Comparison),
    /// The first branch whose conditions hold runs its steps; a branch without conditions is
    /// the else branch.
    #[serde(rename = "ifElse")]
    IfElse { branches: Vec<Branch> },
    /// The agent step (PRODUCT §8): `{{agentResponse}}`.
    #[serde(rename = "agent.use")]
    AgentUse {
        /// The agent's name (shown in the audit log).
        #[serde(default)]
        agent: String,
        prompt: String,
        /// `confluence-audit`, `slack-summary` or `jira-incident`.
        format: String,
        /// `builtIn` (default) or `llm`.
        #[serde(default)]
        backend: Option<String>,
    },
    /// `{{createdPage.url}}`.
    #[serde(rename = "confluence.page.publish")]
    ConfluencePagePublish {
        connection: String,
        space: String,
        #[serde(default)]
        #[serde(rename = "parentPage")]
        parent_page: String,
        title: String,
        /// Markdown, sent as storage format.
        body: String,
    },
    /// `{{slackMessage.ts}}`.
    #[serde(rename = "slack.message.send")]
    SlackMessageSend {
        connection: String,
        #[serde(default)]
        channel: String,
        /// Slack mrkdwn.
        message: String,
    },
    /// `{{createdIssue.key}}`.
    #[serde(rename = "jira.workitem.create")]
    JiraWorkItemCreate {
        connection: String,
        project: String,
        /// An explicit type (`Task`, `Incident`…): the trigger carries no work item to copy from.
        #[serde(rename = "issueType")]
        issue_type: String,
        summary: String,
        /// Markdown, sent as ADF.
        #[serde(default)]
        description: String,
        /// `yyyy-MM-dd` once rendered.
        #[serde(default)]
        #[serde(rename = "dueDate")]
        due_date: String,
        #[serde(default)]
        priority: String,
        #[serde(default)]
        labels: Vec<String>,
    },
    #[serde(rename = "email.send")]
    EmailSend {
        connection: String,
        to: String,
        #[serde(default)]
        cc: String,
        #[serde(default)]
        bcc: String,
        subject: String,
        /// Markdown, sent as HTML and text.
        body: String,
    },
    /// `{{webResponse.status}}`, `{{webResponse.body}}`.
    #[serde(rename = "web.request")]
    WebRequest {
        method: String,
        url: String,
        #[serde(default)]
        headers: Vec<Header>,
        #[serde(default)]
        body: String,
    },
    /// A line in the audit log.
    #[serde(rename = "log")]
    Log { message: String },
    /// `{{name}}` for later steps.
    #[serde(rename = "variable.create")]
    VariableCreate { name: String, value: String },
}

/// A header of a web request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// Two smart values rendered to text, compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    pub first: String,
    pub operator: Operator,
    #[serde(default)]
    pub second: String,
}

/// How a comparison compares (AUTOMATION §3). Case-sensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operator {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
    /// The whole text matches the regular expression.
    RegexMatches,
    /// The regular expression matches somewhere.
    RegexContains,
    RegexNotMatches,
    /// As numbers when both sides are numbers, else as text.
    GreaterThan,
    LessThan,
    /// `second` is a comma-separated list.
    OneOf,
    NotOneOf,
}

impl Operator {
    /// Whether `second` is a regular expression.
    pub fn takes_regex(self) -> bool {
        matches!(self, Self::RegexMatches | Self::RegexContains | Self::RegexNotMatches)
    }
}

/// One branch of an if/else block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Branch {
    /// Whether all conditions must hold, or any one.
    #[serde(default)]
    pub matches: Match,
    /// None: the else branch.
    #[serde(default)]
    pub conditions: Vec<Comparison>,
    /// Steps are a recursive type: the schema refers back to `Step` rather than expanding it.
    #[schema(no_recursion)]
    pub steps: Vec<Step>,
}

/// `ALL` or `ANY`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Match {
    #[default]
    All,
    Any,
}

impl Step {
    /// The wire name (`slack.message.send`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Condition(_) => "condition",
            Self::IfElse { .. } => "ifElse",
            Self::AgentUse { .. } => "agent.use",
            Self::ConfluencePagePublish { .. } => "confluence.page.publish",
            Self::SlackMessageSend { .. } => "slack.message.send",
            Self::JiraWorkItemCreate { .. } => "jira.workitem.create",
            Self::EmailSend { .. } => "email.send",
            Self::WebRequest { .. } => "web.request",
            Self::Log { .. } => "log",
            Self::VariableCreate { .. } => "variable.create",
        }
    }

    /// The connection an action step sends through, if it is one.
    pub fn connection(&self) -> Option<&str> {
        match self {
            Self::ConfluencePagePublish { connection, .. }
            | Self::SlackMessageSend { connection, .. }
            | Self::JiraWorkItemCreate { connection, .. }
            | Self::EmailSend { connection, .. } => Some(connection),
            _ => None,
        }
    }

    /// Every smart-value template of this step (not of nested steps), by field name.
    pub fn templates(&self) -> Vec<(&'static str, &str)> {
        match self {
            Self::Condition(c) => vec![("first", c.first.as_str()), ("second", c.second.as_str())],
            Self::IfElse { branches } => branches
                .iter()
                .flat_map(|b| &b.conditions)
                .flat_map(|c| [("first", c.first.as_str()), ("second", c.second.as_str())])
                .collect(),
            Self::AgentUse { prompt, .. } => vec![("prompt", prompt)],
            Self::ConfluencePagePublish { space, parent_page, title, body, .. } => {
                vec![("space", space), ("parentPage", parent_page), ("title", title), ("body", body)]
            }
            Self::SlackMessageSend { channel, message, .. } => vec![("channel", channel), ("message", message)],
            Self::JiraWorkItemCreate {
                project, issue_type, summary, description, due_date, priority, labels, ..
            } => {
                let mut fields = vec![
                    ("project", project.as_str()),
                    ("issueType", issue_type.as_str()),
                    ("summary", summary.as_str()),
                    ("description", description.as_str()),
                    ("dueDate", due_date.as_str()),
                    ("priority", priority.as_str()),
                ];
                fields.extend(labels.iter().map(|l| ("labels", l.as_str())));
                fields
            }
            Self::EmailSend { to, cc, bcc, subject, body, .. } => {
                vec![("to", to), ("cc", cc), ("bcc", bcc), ("subject", subject), ("body", body)]
            }
            Self::WebRequest { url, headers, body, .. } => {
                let mut fields = vec![("url", url.as_str()), ("body", body.as_str())];
                fields.extend(headers.iter().map(|h| ("headers", h.value.as_str())));
                fields
            }
            Self::Log { message } => vec![("message", message)],
            Self::VariableCreate { value, .. } => vec![("value", value)],
        }
    }

    /// The steps nested inside this one (an if/else block's branches).
    pub fn children(&self) -> impl Iterator<Item = &Step> {
        let branches: &[Branch] = match self {
            Self::IfElse { branches } => branches,
            _ => &[],
        };
        branches.iter().flat_map(|b| &b.steps)
    }
}

/// Every step of `steps`, nested ones included, depth first, with its path (`steps[2]`,
/// `steps[2].branches[0].steps[1]`).
pub fn walk(steps: &[Step]) -> Vec<(String, &Step)> {
    fn visit<'a>(prefix: &str, steps: &'a [Step], out: &mut Vec<(String, &'a Step)>) {
        for (i, step) in steps.iter().enumerate() {
            let path = format!("{prefix}steps[{i}]");
            out.push((path.clone(), step));
            if let Step::IfElse { branches } = step {
                for (b, branch) in branches.iter().enumerate() {
                    visit(&format!("{path}.branches[{b}]."), &branch.steps, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    visit("", steps, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_as_the_wire_writes_them() {
        let json = serde_json::json!({
            "name": "Key expiry", "trigger": {"type": "incomingWebhook"},
            "steps": [
                {"type": "condition", "first": "{{webhookData.trigger}}", "operator": "EQUALS", "second": "orgKeyExpiry"},
                {"type": "ifElse", "branches": [
                    {"conditions": [{"first": "{{a}}", "operator": "ONE_OF", "second": "x,y"}],
                     "steps": [{"type": "log", "message": "x or y"}]},
                    {"steps": [{"type": "log", "message": "else"}]}
                ]},
                {"type": "jira.workitem.create", "connection": "local", "project": "OPS", "issueType": "Task",
                 "summary": "Rotate {{webhookData.name}} key", "priority": "P2"}
            ]
        });
        let flow: FlowDefinition = serde_json::from_value(json.clone()).unwrap();
        assert!(!flow.enabled);
        assert_eq!(flow.trigger, FlowTrigger::IncomingWebhook { work_items: WorkItemCriteria::None });
        let paths: Vec<String> = walk(&flow.steps).into_iter().map(|(p, s)| format!("{p} {}", s.type_name())).collect();
        assert_eq!(
            paths,
            [
                "steps[0] condition",
                "steps[1] ifElse",
                "steps[1].branches[0].steps[0] log",
                "steps[1].branches[1].steps[0] log",
                "steps[2] jira.workitem.create"
            ]
        );
        let typo = serde_json::json!({"name": "x", "trigger": {"type": "incomingWebhook"},
            "steps": [{"type": "log", "mesage": "hi"}]});
        assert!(serde_json::from_value::<FlowDefinition>(typo).is_err(), "unknown fields are refused");
    }
}
