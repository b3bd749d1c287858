//! The outputs of the local connection, shown as people see them: a Confluence-style page, a
//! Slack-style message, a Jira-style work item, an email.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use connectors::local::{KINDS, Output};
use serde::Deserialize;
use serde_json::Value;

use super::{SignedIn, Viewer, error_page, page};
use crate::AppState;

/// The most outputs one list shows.
const LIST_LIMIT: u32 = 200;

/// A kind as people call it.
fn kind_label(kind: &str) -> &'static str {
    match kind {
        "page" => "Page",
        "message" => "Message",
        "workItem" => "Work item",
        "email" => "Email",
        _ => "Output",
    }
}

/// One row of the list.
struct Row {
    id: String,
    key: Option<String>,
    kind: &'static str,
    title: String,
    created: String,
}

/// A filter tab: the kind (`None`: all), its label, whether it is the one shown.
struct Tab {
    href: String,
    label: &'static str,
    current: bool,
}

#[derive(Template)]
#[template(path = "outputs.html")]
struct ListPage {
    viewer: Option<Viewer>,
    tabs: Vec<Tab>,
    rows: Vec<Row>,
    kind_shown: Option<&'static str>,
    limit: u32,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    kind: Option<String>,
}

/// Outputs newest first, all or of one kind.
pub(crate) async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    super::PageQuery(query): super::PageQuery<ListQuery>,
) -> Response {
    let viewer = Viewer::from(&signed_in);
    let kind = match query.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(kind) => match KINDS.iter().find(|k| **k == kind) {
            Some(kind) => Some(*kind),
            None => {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    Some(viewer),
                    "Unknown kind",
                    &format!("There is no kind of output called `{kind}`: choose one of {}.", KINDS.join(", ")),
                );
            }
        },
    };
    let outputs = match connectors::local::list(&state.store, kind, LIST_LIMIT).await {
        Ok(outputs) => outputs,
        Err(e) => return super::session_unavailable(&e.to_string()),
    };
    let mut tabs = vec![Tab { href: "/outputs".to_owned(), label: "All", current: kind.is_none() }];
    tabs.extend(KINDS.iter().map(|k| Tab {
        href: format!("/outputs?kind={k}"),
        label: match *k {
            "page" => "Pages",
            "message" => "Messages",
            "workItem" => "Work items",
            _ => "Emails",
        },
        current: kind == Some(*k),
    }));
    let rows = outputs
        .into_iter()
        .map(|o| Row {
            kind: kind_label(&o.kind),
            created: super::minute(o.created_at),
            id: o.id,
            key: o.key,
            title: o.title,
        })
        .collect();
    page(&ListPage { viewer: Some(viewer), tabs, rows, kind_shown: kind.map(kind_label), limit: LIST_LIMIT })
}

/// A label and value shown above an output's body.
struct Field {
    label: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "output.html")]
struct OutputPage {
    viewer: Option<Viewer>,
    kind: String,
    kind_label: &'static str,
    key: Option<String>,
    title: String,
    created: String,
    fields: Vec<Field>,
    /// Made by `render` in its safe modes (raw HTML escaped, unsafe links dropped).
    body_html: String,
    /// What the flow sent: Markdown, or mrkdwn for a message.
    source: String,
    source_label: &'static str,
}

/// One output, by id or work item key.
pub(crate) async fn show(State(state): State<AppState>, signed_in: SignedIn, Path(id): Path<String>) -> Response {
    let viewer = Viewer::from(&signed_in);
    let output: Output = match state.store.output(id.trim()).await {
        Ok(output) => output.into(),
        Err(store::StoreError::NotFound(_)) => {
            return error_page(
                StatusCode::NOT_FOUND,
                Some(viewer),
                "No such output",
                "Nothing the local connection keeps has this id or key. The list shows what there is.",
            );
        }
        Err(e) => return super::session_unavailable(&e.to_string()),
    };
    let text = |name: &str| match &output.data[name] {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let list = |name: &str| match &output.data[name] {
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
        other => other.as_str().unwrap_or_default().to_owned(),
    };
    let mut fields = Vec::new();
    let mut push = |label: &'static str, value: String| {
        if !value.is_empty() {
            fields.push(Field { label, value });
        }
    };
    let (source, source_label) = match output.kind.as_str() {
        "page" => {
            push("Space", text("space"));
            (text("markdown"), "Markdown")
        }
        "message" => {
            push("Channel", text("channel"));
            (text("mrkdwn"), "Slack mrkdwn")
        }
        "workItem" => {
            push("Project", text("project"));
            push("Type", text("issueType"));
            push("Priority", text("priority"));
            push("Due", text("dueDate"));
            push("Labels", list("labels"));
            (text("markdown"), "Markdown")
        }
        _ => {
            push("To", list("to"));
            push("Cc", list("cc"));
            push("Bcc", list("bcc"));
            (text("text"), "Text part")
        }
    };
    page(&OutputPage {
        viewer: Some(viewer),
        kind_label: kind_label(&output.kind),
        kind: output.kind.clone(),
        key: output.key.clone(),
        title: output.title.clone(),
        created: super::minute(output.created_at),
        fields,
        body_html: text("html"),
        source,
        source_label,
    })
}
