//! The LLM backend (optional): an OpenAI-compatible chat-completions endpoint, offered the
//! read-only tools as functions. The step's prompt goes as written (smart values already
//! resolved); the model may call tools, each answer goes back to it; its final reply is the
//! step's text if the format's validator accepts it (see [`crate::step`]).
//!
//! Bounded: at most `max_tool_calls` calls, one deadline for the whole conversation, a cap on
//! each answer's size. Every call goes through the SSRF-guarded client.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use webhooks::{GuardedClient, Request};

use crate::formats::Format;
use crate::tools::{ToolName, Tools};

/// The largest model answer read (bytes).
const MAX_REPLY_BYTES: usize = 4 << 20;
/// The largest tool answer handed to the model (bytes); a larger one is replaced by advice.
pub const MAX_TOOL_ANSWER_BYTES: usize = 100_000;

/// Where the model is and how far it may go.
#[derive(Clone)]
pub struct LlmSettings {
    /// The API root, such as `https://api.openai.com/v1` (`/chat/completions` is appended).
    pub base_url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer …` when not empty.
    pub api_key: String,
    /// The whole conversation, tool calls included.
    pub timeout: Duration,
    /// The most tool calls in one conversation.
    pub max_tool_calls: u32,
}

impl std::fmt::Debug for LlmSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The base URL may carry a token in its path or query: its origin only.
        let origin = crate::tools::origin(&self.base_url);
        f.debug_struct("LlmSettings")
            .field("base_url", &origin)
            .field("model", &self.model)
            .field("api_key", &if self.api_key.is_empty() { "" } else { "***" })
            .field("timeout", &self.timeout)
            .field("max_tool_calls", &self.max_tool_calls)
            .finish()
    }
}

/// Why the model gave no usable reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    #[error("the model did not finish within {}", seconds(.0))]
    Timeout(Duration),
    #[error("the model asked for more than {0} tool calls")]
    TooManyToolCalls(u32),
    #[error("the model endpoint answered HTTP {status}: {excerpt}")]
    Status { status: u16, excerpt: String },
    #[error("the model's answer is not a chat completion: {0}")]
    Malformed(String),
    #[error("the model endpoint could not be called: {0}")]
    Send(String),
}

/// One tool call the model made, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolCallLog {
    pub tool: String,
    pub arguments: String,
    /// `null` when the tool answered; why not, when it did not.
    pub error: Option<String>,
}

/// The model's final text and the tool calls that led to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmReply {
    pub text: String,
    pub tool_calls: Vec<ToolCallLog>,
}

/// An OpenAI-compatible model with the tools.
#[derive(Debug, Clone)]
pub struct LlmBackend {
    client: GuardedClient,
    settings: LlmSettings,
    tools: Tools,
}

#[derive(Debug, Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: AssistantMessage,
}

#[derive(Debug, Deserialize)]
struct AssistantMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ToolCall>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ToolCall {
    id: String,
    function: FunctionCall,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FunctionCall {
    name: String,
    /// JSON text, as the protocol has it.
    #[serde(default)]
    arguments: String,
}

impl LlmBackend {
    pub fn new(client: GuardedClient, settings: LlmSettings, tools: Tools) -> Self {
        Self { client, settings, tools }
    }

    pub fn settings(&self) -> &LlmSettings {
        &self.settings
    }

    /// Asks the model for `format` with `prompt`, answering its tool calls, within the limits.
    pub async fn reply(&self, format: Format, prompt: &str) -> Result<LlmReply, LlmError> {
        let timeout = self.settings.timeout;
        tokio::time::timeout(timeout, self.converse(format, prompt)).await.map_err(|_| LlmError::Timeout(timeout))?
    }

    async fn converse(&self, format: Format, prompt: &str) -> Result<LlmReply, LlmError> {
        let mut messages = vec![
            json!({"role": "system", "content": system_prompt(format)}),
            json!({"role": "user", "content": prompt}),
        ];
        let functions: Vec<Value> = ToolName::ALL
            .into_iter()
            .map(|tool| {
                json!({"type": "function", "function": {
                    "name": tool.as_str(),
                    "description": tool.description(),
                    "parameters": tool.input_schema(),
                }})
            })
            .collect();
        let mut log = Vec::new();
        loop {
            let body = json!({"model": self.settings.model, "messages": messages, "tools": functions});
            let message = self.complete(&body).await?;
            if message.tool_calls.is_empty() {
                let text = message.content.unwrap_or_default();
                if text.trim().is_empty() {
                    return Err(LlmError::Malformed("the reply has neither text nor tool calls".to_owned()));
                }
                return Ok(LlmReply { text, tool_calls: log });
            }
            if log.len() + message.tool_calls.len() > self.settings.max_tool_calls as usize {
                return Err(LlmError::TooManyToolCalls(self.settings.max_tool_calls));
            }
            messages.push(json!({"role": "assistant", "content": message.content, "tool_calls":
                message.tool_calls.iter().map(|c| json!({"id": c.id, "type": "function", "function": c.function})).collect::<Vec<_>>()}));
            for call in message.tool_calls {
                let (content, error) = self.answer(&call.function).await;
                log.push(ToolCallLog { tool: call.function.name, arguments: call.function.arguments, error });
                messages.push(json!({"role": "tool", "tool_call_id": call.id, "content": content}));
            }
        }
    }

    /// One chat completion.
    async fn complete(&self, body: &Value) -> Result<AssistantMessage, LlmError> {
        let url = format!("{}/chat/completions", self.settings.base_url.trim_end_matches('/'));
        let mut request = Request::json("POST", url, body);
        if !self.settings.api_key.is_empty() {
            request = request.header("authorization", format!("Bearer {}", self.settings.api_key));
        }
        let response = self.client.send(&request, MAX_REPLY_BYTES).await.map_err(|e| LlmError::Send(e.to_string()))?;
        if !(200..300).contains(&response.status) {
            let excerpt: String = response.text().chars().take(300).collect();
            return Err(LlmError::Status { status: response.status, excerpt });
        }
        let completion: Completion =
            serde_json::from_slice(&response.body).map_err(|e| LlmError::Malformed(e.to_string()))?;
        completion
            .choices
            .into_iter()
            .next()
            .map(|choice| choice.message)
            .ok_or_else(|| LlmError::Malformed("no choices".to_owned()))
    }

    /// A tool's answer as the model reads it (JSON text), and the error if there was one.
    async fn answer(&self, call: &FunctionCall) -> (String, Option<String>) {
        let outcome = async {
            let tool = ToolName::parse(&call.name).map_err(|e| e.to_string())?;
            let arguments: Value = if call.arguments.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&call.arguments).map_err(|e| format!("the arguments are not JSON: {e}"))?
            };
            let answer = self.tools.call(tool, arguments).await.map_err(|e| e.to_string())?;
            let text = serde_json::to_string(&answer).map_err(|e| e.to_string())?;
            if text.len() > MAX_TOOL_ANSWER_BYTES {
                return Err(format!(
                    "the answer is {} bytes, more than {MAX_TOOL_ANSWER_BYTES}: ask for less (a smaller limit or page size)",
                    text.len()
                ));
            }
            Ok(text)
        }
        .await;
        match outcome {
            Ok(text) => (text, None),
            Err(error) => (json!({"error": error}).to_string(), Some(error)),
        }
    }
}

/// `60 s`, or `500 ms` below a second.
fn seconds(duration: &Duration) -> String {
    if duration.as_secs() == 0 { format!("{} ms", duration.as_millis()) } else { format!("{} s", duration.as_secs()) }
}

/// What the model is told about the format it must write.
pub fn system_prompt(format: Format) -> String {
    let rules = match format {
        Format::ConfluenceAudit => {
            "Write GitHub-flavoured Markdown for a Confluence audit page: a \"Webhook payload\" table \
             (Field | Value) and a \"Per-user changes\" table (User | Email | Groups added | Groups removed | \
             App access removed | Suspended). Every table row has the header's number of cells; write `-` \
             for an empty cell. Use names, never ids (the run's processId excepted); link each user to their \
             userBrowserUrl."
        }
        Format::SlackSummary => {
            "Write Slack mrkdwn, not Markdown: *bold* with single asterisks, links as <url|label>, no tables, \
             no [text](url) links, no ** anywhere. Start with :white_check_mark: (success, no failures), \
             :warning: (success with failures) or :x: (failure). Give the run's counters, then at most 10 \
             bullets of affected users and \"...and N more.\" for the rest; write _No per-user changes._ when \
             there are none. Escape &, < and > in names as &amp;, &lt; and &gt;. Use names, never ids."
        }
        Format::JiraIncident => {
            "Write GitHub-flavoured Markdown for a Jira incident: a title, the processId, a link to the run, \
             an affected-users table (User | Email | Action attempted | Outcome) with failed rows marked, and \
             two or three recommended next steps. Every table row has the header's number of cells. Use \
             names, never ids (the run's processId excepted)."
        }
    };
    format!(
        "You are User Manager's reporting agent. You may only read, through the tools; nothing you do changes \
         anything. Read what you need (search-task-results with the run's processId gives its record), then \
         answer with the finished text only, no preamble. {rules}"
    )
}
