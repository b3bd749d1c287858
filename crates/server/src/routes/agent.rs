//! The agent's read-only tools (PRODUCT §8) over HTTP. Any valid key may call them, read-only
//! keys included: no tool changes anything.

use agent::{ToolError, ToolName};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};

/// A tool: its name, what it does, and the JSON Schemas of its arguments and answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolDescription {
    pub name: String,
    pub title: String,
    pub description: String,
    /// JSON Schema (draft 2020-12) of the arguments.
    #[schema(value_type = Object)]
    pub input_schema: serde_json::Value,
    /// JSON Schema (draft 2020-12) of the answer.
    #[schema(value_type = Object)]
    pub output_schema: serde_json::Value,
}

impl ToolDescription {
    pub fn of(tool: ToolName) -> Self {
        Self {
            name: tool.as_str().to_owned(),
            title: tool.title().to_owned(),
            description: tool.description().to_owned(),
            input_schema: tool.input_schema(),
            output_schema: tool.output_schema(),
        }
    }
}

/// The agent's tools, with the JSON Schemas of their arguments and answers.
#[utoipa::path(get, path = "/api/v1/agent/tools", tag = "agent", security(("bearer" = [])),
    responses((status = 200, body = Vec<ToolDescription>), (status = 401, body = Problem)))]
pub async fn list_tools(_caller: Caller) -> Json<Vec<ToolDescription>> {
    Json(ToolName::ALL.into_iter().map(ToolDescription::of).collect())
}

/// Calls a read-only tool (`search-users`, `search-task-results`, `license-health`,
/// `notification-settings`) with a JSON object of arguments (an empty body means none). The
/// answer's shape is the tool's output schema (`GET /api/v1/agent/tools`).
#[utoipa::path(post, path = "/api/v1/agent/tools/{name}", tag = "agent",
    params(("name" = String, Path, description = "The tool's name")),
    request_body(content = Object, description = "The tool's arguments", content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, body = Object, description = "The tool's answer"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn call_tool(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<agent::tools::ToolAnswer>, ApiError> {
    let tool = ToolName::parse(&name)?;
    let arguments = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::field("body", "", format!("the arguments are not valid JSON: {e}")))?
    };
    Ok(Json(state.tools.call(tool, arguments).await?))
}

impl From<ToolError> for ApiError {
    fn from(error: ToolError) -> Self {
        match error {
            unknown @ ToolError::UnknownTool { .. } => Self::NotFound(unknown.to_string()),
            ToolError::Invalid(errors) => Self::BadRequest {
                detail: errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
                errors,
            },
            ToolError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            ToolError::Store(e) => e.into(),
        }
    }
}
