//! Confluence Cloud, REST v2 (TARGETS.md): pages are created in a space looked up by key, in
//! storage format converted from Markdown, with a title made unique the way Atlassian's own
//! action does (` (2)`, ` (3)`, …).

use serde::Serialize;
use serde_json::{Value, json};
use webhooks::{GuardedClient, Request, Response};

use crate::connections::Settings;
use crate::{ConnectorError, Target, base, basic_auth, query_value};

const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// How many numbered titles are tried before giving up.
const MAX_TITLE_SUFFIX: u32 = 50;

/// A page to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub space_key: String,
    /// The parent page's id; the space's top level when empty.
    pub parent_id: String,
    pub title: String,
    pub markdown: String,
}

/// The page Confluence created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedPage {
    pub id: String,
    /// The title it got (with a number when the one asked for was taken).
    pub title: String,
    pub url: String,
}

fn site_and_auth(target: &Target) -> Result<(&str, String), ConnectorError> {
    match &target.settings {
        Settings::Confluence { site, email } => Ok((base(site), basic_auth(email, target.secret()?))),
        other => {
            Err(ConnectorError::permanent(format!("a {} connection is not a Confluence connection", other.kind())))
        }
    }
}

/// Creates `page`.
pub async fn create_page(client: &GuardedClient, target: &Target, page: &Page) -> Result<CreatedPage, ConnectorError> {
    let (site, auth) = site_and_auth(target)?;
    if page.title.trim().is_empty() {
        return Err(ConnectorError::permanent("a page needs a title").on_field("title"));
    }
    let space_id = space_id(client, site, &auth, page.space_key.trim()).await?;
    let title = free_title(client, site, &auth, &space_id, page.title.trim()).await?;
    let mut body = json!({
        "spaceId": space_id,
        "status": "current",
        "title": title,
        "body": {"representation": "storage", "value": render::to_storage(&page.markdown)},
    });
    if !page.parent_id.trim().is_empty() {
        body["parentId"] = json!(page.parent_id.trim());
    }
    let request = Request::json("POST", format!("{site}/wiki/api/v2/pages"), &body).header("authorization", auth);
    let response = client.send(&request, MAX_ANSWER_BYTES).await?;
    if response.status != 200 {
        return Err(failure(&response));
    }
    let created: Value = response.json().unwrap_or_default();
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let webui = created["_links"]["webui"].as_str().unwrap_or_default();
    let url = if webui.is_empty() { format!("{site}/wiki/pages/{id}") } else { format!("{site}/wiki{webui}") };
    Ok(CreatedPage { id, title, url })
}

/// "Test connection": reads one space.
pub async fn test(client: &GuardedClient, target: &Target) -> Result<String, ConnectorError> {
    let (site, auth) = site_and_auth(target)?;
    let request = Request::get(format!("{site}/wiki/api/v2/spaces?limit=1")).header("authorization", auth);
    let response = client.send(&request, MAX_ANSWER_BYTES).await?;
    if response.status != 200 {
        return Err(failure(&response));
    }
    Ok(format!("signed in to Confluence at {site}"))
}

async fn space_id(client: &GuardedClient, site: &str, auth: &str, key: &str) -> Result<String, ConnectorError> {
    if key.is_empty() {
        return Err(ConnectorError::permanent("a page needs a space key").on_field("space"));
    }
    let request = Request::get(format!("{site}/wiki/api/v2/spaces?keys={}", query_value(key)))
        .header("authorization", auth.to_owned());
    let response = client.send(&request, MAX_ANSWER_BYTES).await?;
    if response.status != 200 {
        return Err(failure(&response));
    }
    let answer: Value = response.json().unwrap_or_default();
    answer["results"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| answer["results"][0]["id"].as_u64().map(|id| id.to_string()))
        .ok_or_else(|| {
            ConnectorError::permanent(format!(
                "Confluence has no space with the key `{key}` (or the account cannot see it)"
            ))
            .on_field("space")
        })
}

/// `title`, or the first of `title (2)`, `title (3)`, … that no page in the space has.
async fn free_title(
    client: &GuardedClient,
    site: &str,
    auth: &str,
    space_id: &str,
    title: &str,
) -> Result<String, ConnectorError> {
    for n in 1..=MAX_TITLE_SUFFIX {
        let candidate = if n == 1 { title.to_owned() } else { format!("{title} ({n})") };
        let request = Request::get(format!(
            "{site}/wiki/api/v2/pages?space-id={}&title={}&limit=1",
            query_value(space_id),
            query_value(&candidate)
        ))
        .header("authorization", auth.to_owned());
        let response = client.send(&request, MAX_ANSWER_BYTES).await?;
        if response.status != 200 {
            return Err(failure(&response));
        }
        let answer: Value = response.json().unwrap_or_default();
        if answer["results"].as_array().is_none_or(Vec::is_empty) {
            return Ok(candidate);
        }
    }
    Err(ConnectorError::permanent(format!("pages titled `{title}` up to ({MAX_TITLE_SUFFIX}) exist already"))
        .on_field("title"))
}

/// Confluence's errors: `{"errors": [{"title": …, "detail": …}]}`.
fn failure(response: &Response) -> ConnectorError {
    let answer: Value = response.json().unwrap_or_default();
    let details: Vec<String> = answer["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["title"].as_str().or(e["detail"].as_str()).or(e["message"].as_str()))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let detail = if details.is_empty() {
        answer["message"].as_str().map(str::to_owned).unwrap_or_else(|| response.text().chars().take(300).collect())
    } else {
        details.join("; ")
    };
    ConnectorError::from_status("Confluence", response, detail.trim())
}
