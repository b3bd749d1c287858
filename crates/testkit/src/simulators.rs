//! Slack, Confluence and Jira on 127.0.0.1, checking each request as the real APIs would (path,
//! auth, body: ADF against Atlassian's schema, storage format parsed as XML) and answering as
//! they do, errors and 429 included. Each records what it received and can be told to answer
//! the next requests with a given status (`fail_next`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The Slack incoming webhook path the simulator knows.
pub const SLACK_WEBHOOK_PATH: &str = "/services/T0001/B0001/XXXXSECRET";
/// The bot token it accepts.
pub const SLACK_BOT_TOKEN: &str = "xoxb-test-token";
/// The Atlassian account and API token Confluence and Jira accept.
pub const ATLASSIAN_EMAIL: &str = "ada@example.com";
pub const ATLASSIAN_TOKEN: &str = "atlassian-api-token";

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// An answer given instead of the simulated one: status, headers, body.
type Scripted = (u16, Vec<(&'static str, String)>, String);

#[derive(Debug, Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    /// Answers to give before any checking: status, headers, body.
    scripted: Mutex<VecDeque<Scripted>>,
    /// Confluence pages: (space id, title).
    pages: Mutex<Vec<(String, String)>>,
    /// Jira work items created so far.
    issues: Mutex<u32>,
}

/// A running simulator.
#[derive(Debug, Clone)]
pub struct Simulator {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    shared: Arc<Shared>,
}

impl Simulator {
    /// Everything received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// The next request is answered with `status`, `headers` and `body`, unchecked.
    pub fn fail_next(&self, status: u16, headers: &[(&'static str, &str)], body: &str) {
        let headers = headers.iter().map(|(n, v)| (*n, (*v).to_owned())).collect();
        self.shared.scripted.lock().unwrap().push_back((status, headers, body.to_owned()));
    }

    /// Adds an existing Confluence page (to make a title clash).
    pub fn add_page(&self, space_id: &str, title: &str) {
        self.shared.pages.lock().unwrap().push((space_id.to_owned(), title.to_owned()));
    }

    async fn start(handler: Handler) -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new().fallback(receive).with_state((shared.clone(), handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, shared }
    }

    /// Slack: an incoming webhook at [`SLACK_WEBHOOK_PATH`] and the Web API under `/api`.
    pub async fn slack() -> Self {
        Self::start(slack).await
    }

    /// Confluence Cloud REST v2 with one space, `OPS` (id `98304`).
    pub async fn confluence() -> Self {
        Self::start(confluence).await
    }

    /// Jira Cloud REST v3 with one project, `OPS`.
    pub async fn jira() -> Self {
        Self::start(jira).await
    }
}

type Handler = fn(&Shared, &Received) -> Response;

async fn receive(
    State((shared, handler)): State<(Arc<Shared>, Handler)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = Received {
        method: method.to_string(),
        target: uri.path_and_query().map(ToString::to_string).unwrap_or_default(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    shared.received.lock().unwrap().push(received.clone());
    let scripted = shared.scripted.lock().unwrap().pop_front();
    if let Some((status, headers, body)) = scripted {
        let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
        for (name, value) in headers {
            response.headers_mut().insert(name, value.parse().unwrap());
        }
        return response;
    }
    handler(&shared, &received)
}

fn json_answer(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

fn header<'a>(received: &'a Received, name: &str) -> &'a str {
    received.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

fn slack(_: &Shared, r: &Received) -> Response {
    let path = r.target.split('?').next().unwrap_or_default();
    if path.starts_with("/services/") {
        if r.method != "POST" || path != SLACK_WEBHOOK_PATH {
            return (StatusCode::NOT_FOUND, "no_service").into_response();
        }
        let Ok(body) = serde_json::from_str::<Value>(&r.body) else {
            return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
        };
        return match body["text"].as_str() {
            None | Some("") => (StatusCode::BAD_REQUEST, "no_text").into_response(),
            Some(text) if text.chars().count() > 40_000 => (StatusCode::BAD_REQUEST, "msg_too_long").into_response(),
            Some(_) => (StatusCode::OK, "ok").into_response(),
        };
    }
    // The Web API answers 200 whatever happens, with `ok` saying how it went.
    let fail = |error: &str| json_answer(200, json!({"ok": false, "error": error}));
    if header(r, "authorization") != format!("Bearer {SLACK_BOT_TOKEN}") {
        return fail(if header(r, "authorization").is_empty() { "not_authed" } else { "invalid_auth" });
    }
    let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    match path {
        "/api/auth.test" => json_answer(200, json!({"ok": true, "user": "ucm-bot", "team": "Acme"})),
        "/api/chat.postMessage" => {
            let channel = body["channel"].as_str().unwrap_or_default();
            match body["text"].as_str() {
                _ if channel.is_empty() => fail("channel_not_found"),
                _ if !["C0001", "#general", "#ops"].contains(&channel) => fail("channel_not_found"),
                None | Some("") => fail("no_text"),
                Some(text) if text.chars().count() > 40_000 => fail("msg_too_long"),
                Some(_) => json_answer(200, json!({"ok": true, "channel": "C0001", "ts": "1700000000.000100"})),
            }
        }
        _ => fail("unknown_method"),
    }
}

fn atlassian_auth_ok(r: &Received) -> bool {
    header(r, "authorization") == crate_basic_auth(ATLASSIAN_EMAIL, ATLASSIAN_TOKEN)
}

fn crate_basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// The value of query parameter `name`, percent-decoded.
fn query(r: &Received, name: &str) -> Option<String> {
    let query = r.target.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| percent_decode(value))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) =
                (bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b)))
        {
            out.push(u8::try_from(high * 16 + low).unwrap());
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn confluence(shared: &Shared, r: &Received) -> Response {
    if !atlassian_auth_ok(r) {
        return json_answer(401, json!({"errors": [{"status": 401, "code": "UNAUTHORIZED", "title": "Unauthorized"}]}));
    }
    let path = r.target.split('?').next().unwrap_or_default();
    let bad =
        |title: &str| json_answer(400, json!({"errors": [{"status": 400, "code": "BAD_REQUEST", "title": title}]}));
    match (r.method.as_str(), path) {
        ("GET", "/wiki/api/v2/spaces") => match query(r, "keys") {
            Some(key) if key == "OPS" => json_answer(200, json!({"results": [{"id": "98304", "key": "OPS"}]})),
            Some(_) => json_answer(200, json!({"results": []})),
            None => json_answer(200, json!({"results": [{"id": "98304", "key": "OPS"}]})),
        },
        ("GET", "/wiki/api/v2/pages") => {
            let space = query(r, "space-id").unwrap_or_default();
            let title = query(r, "title").unwrap_or_default();
            let pages = shared.pages.lock().unwrap();
            let found: Vec<Value> = pages
                .iter()
                .enumerate()
                .filter(|(_, (s, t))| *s == space && *t == title)
                .map(|(i, (_, t))| json!({"id": (i + 1).to_string(), "title": t}))
                .collect();
            json_answer(200, json!({"results": found}))
        }
        ("POST", "/wiki/api/v2/pages") => {
            let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            if header(r, "content-type") != "application/json" {
                return json_answer(415, json!({"errors": [{"title": "Unsupported Media Type"}]}));
            }
            let space = body["spaceId"].as_str().unwrap_or_default().to_owned();
            let title = body["title"].as_str().unwrap_or_default().to_owned();
            if space != "98304" {
                return bad("Space not found");
            }
            if body["status"] != "current" {
                return bad("status must be current or draft");
            }
            if title.trim().is_empty() {
                return bad("Title cannot be empty");
            }
            if body["body"]["representation"] != "storage" {
                return bad("body representation must be storage");
            }
            if let Some(error) = crate::storage_error(body["body"]["value"].as_str().unwrap_or_default()) {
                return bad(&format!("Error parsing xhtml: {error}"));
            }
            let mut pages = shared.pages.lock().unwrap();
            if pages.iter().any(|(s, t)| *s == space && *t == title) {
                return bad(
                    "A page with this title already exists: A page already exists with the same TITLE in this space",
                );
            }
            pages.push((space, title.clone()));
            let id = pages.len().to_string();
            json_answer(200, json!({"id": id, "title": title, "_links": {"webui": format!("/spaces/OPS/pages/{id}")}}))
        }
        _ => json_answer(404, json!({"errors": [{"title": "Not Found"}]})),
    }
}

fn jira(shared: &Shared, r: &Received) -> Response {
    if !atlassian_auth_ok(r) {
        return json_answer(401, json!({"errorMessages": ["You are not authenticated."], "errors": {}}));
    }
    let path = r.target.split('?').next().unwrap_or_default();
    match (r.method.as_str(), path) {
        ("GET", "/rest/api/3/myself") => json_answer(200, json!({"displayName": "Ada Lovelace", "active": true})),
        ("POST", "/rest/api/3/issue") => {
            let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            let fields = &body["fields"];
            let mut errors = serde_json::Map::new();
            if fields["project"]["key"] != "OPS" {
                errors.insert("project".into(), "valid project is required".into());
            }
            if !["Task", "Bug", "Incident"].contains(&fields["issuetype"]["name"].as_str().unwrap_or_default()) {
                errors.insert("issuetype".into(), "The issue type selected is invalid.".into());
            }
            if fields["summary"].as_str().is_none_or(|s| s.trim().is_empty()) {
                errors.insert("summary".into(), "You must specify a summary of the issue.".into());
            }
            if !fields["description"].is_null() && !crate::adf_errors(&fields["description"]).is_empty() {
                errors.insert(
                    "description".into(),
                    "Operation value must be an Atlassian Document (see the Atlassian Document Format)".into(),
                );
            }
            if let Some(due) = fields.get("duedate")
                && due.as_str().is_none_or(|d| d.len() != 10 || d.parse::<jiff::civil::Date>().is_err())
            {
                errors.insert("duedate".into(), "Error parsing date string.".into());
            }
            if let Some(priority) = fields.get("priority")
                && !["P1", "P2", "P3", "P4", "Highest", "High", "Medium", "Low"]
                    .contains(&priority["name"].as_str().unwrap_or_default())
            {
                errors.insert("priority".into(), "Specify a valid 'id' or 'name' for Priority".into());
            }
            if let Some(labels) = fields.get("labels")
                && labels.as_array().is_none_or(|l| l.iter().any(|x| x.as_str().is_none_or(|s| s.contains(' '))))
            {
                errors.insert("labels".into(), "The label must not contain spaces.".into());
            }
            if !errors.is_empty() {
                return json_answer(400, json!({"errorMessages": [], "errors": errors}));
            }
            let mut issues = shared.issues.lock().unwrap();
            *issues += 1;
            let n = *issues;
            json_answer(
                201,
                json!({"id": (10_000 + n).to_string(), "key": format!("OPS-{n}"), "self": format!("/rest/api/3/issue/{}", 10_000 + n)}),
            )
        }
        _ => json_answer(404, json!({"errorMessages": ["Not found"], "errors": {}})),
    }
}
