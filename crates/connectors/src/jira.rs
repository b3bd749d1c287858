//! Jira Cloud, REST v3 (TARGETS.md): work items created with an explicit issue type, an ADF
//! description converted from Markdown, due date, priority and labels. A 400 answer's errors
//! are kept field by field.

use serde::Serialize;
use serde_json::{Value, json};
use webhooks::{GuardedClient, Request, Response};

use crate::connections::Settings;
use crate::{ConnectorError, Target, base, basic_auth};

const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// A work item to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    pub project_key: String,
    /// Always named, never guessed (`Task`, `Bug`, `Incident`, …).
    pub issue_type: String,
    pub summary: String,
    pub markdown: String,
    /// `YYYY-MM-DD`.
    pub due_date: Option<String>,
    pub priority: Option<String>,
    pub labels: Vec<String>,
}

/// The work item Jira created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWorkItem {
    pub id: String,
    pub key: String,
    pub url: String,
}

fn site_and_auth(target: &Target) -> Result<(&str, String), ConnectorError> {
    match &target.settings {
        Settings::Jira { site, email } => Ok((base(site), basic_auth(email, target.secret()?))),
        other => Err(ConnectorError::permanent(format!("a {} connection is not a Jira connection", other.kind()))),
    }
}

/// Checks what Jira would refuse anyway, before sending.
fn check(item: &WorkItem) -> Result<(), ConnectorError> {
    let mut problems = Vec::new();
    if item.project_key.trim().is_empty() {
        problems.push(("project".to_owned(), "a project key is needed".to_owned()));
    }
    if item.issue_type.trim().is_empty() {
        problems.push(("issuetype".to_owned(), "name the issue type explicitly (Task, Bug, …)".to_owned()));
    }
    if item.summary.trim().is_empty() {
        problems.push(("summary".to_owned(), "a summary is needed".to_owned()));
    }
    if item.summary.chars().count() > 255 {
        problems.push(("summary".to_owned(), "at most 255 characters".to_owned()));
    }
    if let Some(due) = &item.due_date
        && due.parse::<jiff::civil::Date>().is_err()
    {
        problems.push(("duedate".to_owned(), format!("`{due}` is not a date (YYYY-MM-DD)")));
    }
    if let Some(label) = item.labels.iter().find(|l| l.is_empty() || l.contains(char::is_whitespace)) {
        problems.push(("labels".to_owned(), format!("`{label}`: labels cannot be empty or contain spaces")));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(ConnectorError {
        message: problems.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "),
        field: Some(problems[0].0.clone()),
        field_errors: problems,
        ..ConnectorError::permanent("")
    })
}

/// Creates `item`.
pub async fn create(
    client: &GuardedClient,
    target: &Target,
    item: &WorkItem,
) -> Result<CreatedWorkItem, ConnectorError> {
    let (site, auth) = site_and_auth(target)?;
    check(item)?;
    let mut fields = json!({
        "project": {"key": item.project_key.trim()},
        "issuetype": {"name": item.issue_type.trim()},
        "summary": item.summary.trim(),
        "description": render::to_adf(&item.markdown),
    });
    if let Some(due) = item.due_date.as_deref().and_then(|d| d.parse::<jiff::civil::Date>().ok()) {
        // As parsed: Jira wants exactly YYYY-MM-DD.
        fields["duedate"] = json!(due.to_string());
    }
    if let Some(priority) = item.priority.as_deref().filter(|p| !p.trim().is_empty()) {
        fields["priority"] = json!({"name": priority.trim()});
    }
    if !item.labels.is_empty() {
        fields["labels"] = json!(item.labels);
    }
    let request = Request::json("POST", format!("{site}/rest/api/3/issue"), &json!({"fields": fields}))
        .header("authorization", auth);
    let response = client.send(&request, MAX_ANSWER_BYTES).await?;
    if response.status != 201 {
        return Err(failure(&response));
    }
    let created: Value = response.json().unwrap_or_default();
    let key = created["key"].as_str().unwrap_or_default().to_owned();
    Ok(CreatedWorkItem {
        id: created["id"].as_str().unwrap_or_default().to_owned(),
        url: format!("{site}/browse/{key}"),
        key,
    })
}

/// "Test connection": who the credential belongs to.
pub async fn test(client: &GuardedClient, target: &Target) -> Result<String, ConnectorError> {
    let (site, auth) = site_and_auth(target)?;
    let request = Request::get(format!("{site}/rest/api/3/myself")).header("authorization", auth);
    let response = client.send(&request, MAX_ANSWER_BYTES).await?;
    if response.status != 200 {
        return Err(failure(&response));
    }
    let me: Value = response.json().unwrap_or_default();
    Ok(format!("signed in to Jira at {site} as {}", me["displayName"].as_str().unwrap_or("the account")))
}

/// Jira's errors: `{"errorMessages": [...], "errors": {field: message}}`.
fn failure(response: &Response) -> ConnectorError {
    let answer: Value = response.json().unwrap_or_default();
    let mut field_errors: Vec<(String, String)> = answer["errors"]
        .as_object()
        .map(|errors| {
            errors
                .iter()
                .map(|(field, message)| (field.clone(), message.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    field_errors.sort();
    let mut parts: Vec<String> = answer["errorMessages"]
        .as_array()
        .map(|messages| messages.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    parts.extend(field_errors.iter().map(|(field, message)| format!("{field}: {message}")));
    let detail = if parts.is_empty() { response.text().chars().take(300).collect() } else { parts.join("; ") };
    let mut error = ConnectorError::from_status("Jira", response, detail.trim());
    if error.field.is_none() {
        error.field = field_errors.first().map(|(field, _)| field.clone());
    }
    error.field_errors = field_errors;
    error
}
