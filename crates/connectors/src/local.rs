//! The local connection (TARGETS.md): pages, Slack messages, work items (`LOCAL-n`) and emails
//! kept in ucm's database, with what a person would see rendered next to what was written.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::{Store, StoreError, StoredOutput};
use utoipa::ToSchema;

/// The kinds of output, as named on the wire.
pub const KINDS: [&str; 4] = ["page", "message", "workItem", "email"];

/// One stored output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub id: String,
    /// `page`, `message`, `workItem` or `email`.
    pub kind: String,
    /// `LOCAL-n` for work items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The page title, the channel, the summary or the subject.
    pub title: String,
    /// What was written and how it shows, by kind.
    #[schema(value_type = Object)]
    pub data: Value,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
}

impl From<StoredOutput> for Output {
    fn from(stored: StoredOutput) -> Self {
        Self {
            id: stored.id,
            kind: stored.kind,
            key: stored.item_key,
            title: stored.title,
            data: serde_json::from_str(&stored.data).unwrap_or(Value::Null),
            created_at: stored.created_at,
        }
    }
}

/// Stores a Confluence-style page: the Markdown, and its storage format and HTML.
pub async fn page(
    store: &Store,
    now: jiff::Timestamp,
    space: &str,
    title: &str,
    markdown: &str,
) -> Result<Output, StoreError> {
    let data = json!({
        "space": space,
        "markdown": markdown,
        "storage": render::to_storage(markdown),
        "html": render::to_html(markdown),
    });
    Ok(store.insert_output("page", title, &data.to_string(), now).await?.into())
}

/// Stores a Slack-style message: the mrkdwn and the HTML it shows as.
pub async fn message(store: &Store, now: jiff::Timestamp, channel: &str, mrkdwn: &str) -> Result<Output, StoreError> {
    let data = json!({"channel": channel, "mrkdwn": mrkdwn, "html": render::mrkdwn_to_html(mrkdwn)});
    Ok(store.insert_output("message", channel, &data.to_string(), now).await?.into())
}

/// Stores a Jira-style work item; it gets the next `LOCAL-n` key.
pub async fn work_item(
    store: &Store,
    now: jiff::Timestamp,
    item: &crate::jira::WorkItem,
) -> Result<Output, StoreError> {
    let data = json!({
        "project": item.project_key,
        "issueType": item.issue_type,
        "priority": item.priority,
        "dueDate": item.due_date,
        "labels": item.labels,
        "markdown": item.markdown,
        "adf": render::to_adf(&item.markdown),
        "html": render::to_html(&item.markdown),
    });
    Ok(store.insert_output("workItem", &item.summary, &data.to_string(), now).await?.into())
}

/// Stores an email: its recipients (Bcc kept apart, as a mail server would), subject and both
/// parts (text and HTML made from the Markdown).
pub async fn email(store: &Store, now: jiff::Timestamp, email: &crate::email::Email) -> Result<Output, StoreError> {
    let data = json!({
        "to": email.to, "cc": email.cc, "bcc": email.bcc, "subject": email.subject,
        "text": email.markdown, "html": render::to_html(&email.markdown),
    });
    Ok(store.insert_output("email", &email.subject, &data.to_string(), now).await?.into())
}

/// Outputs newest first, of one kind (see [`KINDS`]) or all.
pub async fn list(store: &Store, kind: Option<&str>, limit: u32) -> Result<Vec<Output>, StoreError> {
    Ok(store.outputs(kind, limit).await?.into_iter().map(Output::from).collect())
}
