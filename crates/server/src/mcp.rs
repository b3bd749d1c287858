//! The agent's read-only tools as an MCP server (the official Rust SDK, `rmcp`): over streamable
//! HTTP at `/mcp` (a bearer API key required, read-only keys welcome) and over stdio
//! (`ucm mcp`, for a client that starts ucm itself). Every tool is annotated read-only; its
//! answer comes as structured content that matches the tool's output schema.

use std::collections::HashMap;
use std::sync::Arc;

use agent::{ToolError, ToolName, Tools};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt as _};
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The MCP side of the agent's tools.
#[derive(Debug, Clone)]
pub struct McpServer {
    tools: Tools,
    descriptions: Arc<Vec<Tool>>,
}

impl McpServer {
    pub fn new(tools: Tools) -> Self {
        Self { tools, descriptions: Arc::new(ToolName::ALL.into_iter().map(describe).collect()) }
    }
}

/// A tool as MCP lists it: schemas, title, and the hints that it only reads, over a closed world.
fn describe(tool: ToolName) -> Tool {
    let mut output = object(tool.output_schema());
    // MCP wants an object schema at the root; an answer with two shapes (a record or a list) is
    // `oneOf` two objects, which is still one.
    output.entry("type").or_insert_with(|| "object".into());
    Tool::new(tool.as_str(), tool.description(), object(tool.input_schema()))
        .with_title(tool.title())
        .with_raw_output_schema(Arc::new(output))
        .with_annotations(
            ToolAnnotations::with_title(tool.title())
                .read_only(true)
                .destructive(false)
                .idempotent(true)
                .open_world(false),
        )
}

fn object(value: serde_json::Value) -> JsonObject {
    match value {
        serde_json::Value::Object(object) => object,
        _ => JsonObject::new(),
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("ucm", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "User Manager's read-only tools: search the directory of users, read the results of \
                 Automated Task runs, count licence seats, and check API keys and webhooks. No tool \
                 changes anything. Every answer carries a deepLink into the web UI.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items((*self.descriptions).clone()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.descriptions.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let tool = match ToolName::parse(&request.name) {
            Ok(tool) => tool,
            Err(unknown) => return Err(ErrorData::invalid_params(unknown.to_string(), None)),
        };
        let arguments = request.arguments.map_or(serde_json::Value::Null, serde_json::Value::Object);
        let result = match self.tools.call(tool, arguments).await {
            Ok(answer) => CallToolResult::structured(answer.to_json()),
            // What the caller can act on (a bad argument, a run that does not exist) is the
            // tool's answer, for the model to read; a broken database is said without detail.
            Err(ToolError::Store(e)) => {
                tracing::error!(error = %e, tool = %tool, "an MCP tool call failed");
                CallToolResult::error(vec![ContentBlock::text("the database cannot be read now; try again later")])
            }
            Err(e) => CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
        };
        Ok(result.into())
    }
}

/// Serves the tools over standard input and output until the client closes them.
pub async fn serve_stdio(tools: Tools) -> std::io::Result<()> {
    let running = McpServer::new(tools)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| std::io::Error::other(format!("the MCP client did not initialize: {e}")))?;
    running.waiting().await.map_err(std::io::Error::other)?;
    Ok(())
}

/// Live sessions hold memory (tens of KB each): at most this many in all…
const MAX_SESSIONS: usize = 256;
/// …and this many per API key.
const MAX_SESSIONS_PER_KEY: usize = 16;
/// A session nobody used for this long is closed.
const SESSION_IDLE: std::time::Duration = std::time::Duration::from_secs(60);

/// The live MCP sessions, and which key opened each.
#[derive(Debug, Clone)]
pub(crate) struct Sessions {
    manager: Arc<LocalSessionManager>,
    /// Session id → the id of the key that opened it. Held while a session opens, so that
    /// concurrent openings cannot pass the bounds together.
    opened_by: Arc<tokio::sync::Mutex<HashMap<String, String>>>,
}

impl Default for Sessions {
    fn default() -> Self {
        let mut manager = LocalSessionManager::default();
        manager.session_config.keep_alive = Some(SESSION_IDLE);
        Self { manager: Arc::new(manager), opened_by: Arc::default() }
    }
}

/// The streamable HTTP endpoint, for `/mcp`. Answers stop when `stop` is cancelled (open
/// event streams would otherwise hold a graceful shutdown forever).
pub(crate) fn http_service(
    state: &AppState,
    sessions: &Sessions,
    stop: CancellationToken,
) -> StreamableHttpService<McpServer, LocalSessionManager> {
    let server = McpServer::new(state.tools.clone());
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    // The installation's own name, as people reach it (DNS-rebinding protection allows only these).
    if let Some(host) = public_host(&state.public_url) {
        hosts.push(host);
    }
    let config = StreamableHttpServerConfig::default().with_allowed_hosts(hosts).with_cancellation_token(stop);
    StreamableHttpService::new(move || Ok(server.clone()), sessions.manager.clone(), config)
}

fn public_host(public_url: &str) -> Option<String> {
    let rest = public_url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = if host.starts_with('[') {
        host.split_once(']').map(|(h, _)| h.trim_start_matches('['))?
    } else {
        host.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_owned())
}

/// `/mcp` needs a valid API key, as every API route does (any role: the tools only read). A
/// request that opens a session is refused with 429 while [`MAX_SESSIONS`] are live, or
/// [`MAX_SESSIONS_PER_KEY`] opened by the same key.
pub(crate) async fn admit(
    State((state, sessions)): State<(AppState, Sessions)>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let caller =
        match <Caller as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, &state).await {
            Ok(caller) => caller,
            Err(rejection) => return rejection.into_response(),
        };
    let request = Request::from_parts(parts, body);
    let opens_session = request.method() == axum::http::Method::POST && !request.headers().contains_key(SESSION_HEADER);
    if !opens_session {
        return next.run(request).await;
    }
    let key = caller.key.api_key_id.to_string();
    let mut opened_by = sessions.opened_by.lock().await;
    {
        let live = sessions.manager.sessions.read().await;
        opened_by.retain(|id, _| live.contains_key(id.as_str()));
        let of_key = opened_by.values().filter(|k| **k == key).count();
        if live.len() >= MAX_SESSIONS || of_key >= MAX_SESSIONS_PER_KEY {
            tracing::warn!(live = live.len(), of_key, key = %key, "an MCP session was refused: too many are open");
            return ApiError::TooManyRequests {
                detail: format!(
                    "too many MCP sessions are open (at most {MAX_SESSIONS_PER_KEY} per API key, {MAX_SESSIONS} in \
                     all): close the ones you no longer use (DELETE /mcp with their Mcp-Session-Id), or wait a \
                     minute for idle ones to close"
                ),
                retry_after_seconds: SESSION_IDLE.as_secs(),
            }
            .into_response();
        }
    }
    let response = next.run(request).await;
    if let Some(id) = response.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
        opened_by.insert(id.to_owned(), key);
    }
    response
}

const SESSION_HEADER: &str = "mcp-session-id";

#[cfg(test)]
mod tests {
    use super::public_host;

    #[test]
    fn the_public_host_is_allowed() {
        assert_eq!(public_host("https://ucm.example.com").as_deref(), Some("ucm.example.com"));
        assert_eq!(public_host("http://10.0.0.5:8080/base").as_deref(), Some("10.0.0.5"));
        assert_eq!(public_host("http://[::1]:8080").as_deref(), Some("::1"));
        assert_eq!(public_host(""), None);
    }
}
