//! The agent's read-only tools as an MCP server (the official Rust SDK, `rmcp`): over streamable
//! HTTP at `/mcp` (a bearer API key required, read-only keys welcome) and over stdio
//! (`ucm mcp`, for a client that starts ucm itself). Every tool is annotated read-only; its
//! answer comes as structured content that matches the tool's output schema.

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

/// The streamable HTTP endpoint, for `/mcp`. Answers stop when `stop` is cancelled (open
/// event streams would otherwise hold a graceful shutdown forever).
pub(crate) fn http_service(
    state: &AppState,
    stop: CancellationToken,
) -> StreamableHttpService<McpServer, LocalSessionManager> {
    let server = McpServer::new(state.tools.clone());
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    // The installation's own name, as people reach it (DNS-rebinding protection allows only these).
    if let Some(host) = public_host(&state.public_url) {
        hosts.push(host);
    }
    let config = StreamableHttpServerConfig::default().with_allowed_hosts(hosts).with_cancellation_token(stop);
    StreamableHttpService::new(move || Ok(server.clone()), Arc::default(), config)
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

/// `/mcp` needs a valid API key, as every API route does (any role: the tools only read).
pub(crate) async fn require_key(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    if let Err(rejection) =
        <Caller as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, &state).await
    {
        return rejection.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

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
