//! The "Use agent" step (PRODUCT §8): a run rendered in a built-in format, by the built-in
//! backend (deterministic, the default) or by a model (the LLM backend), whose reply is used
//! only when the format's validator accepts it; otherwise the built-in rendering is, and the
//! reason is kept.

use model::ids::ProcessId;
use serde::{Deserialize, Serialize};

use crate::formats::{Format, render};
use crate::llm::{LlmBackend, ToolCallLog};
use crate::tools::{ToolError, Tools};
use crate::validate;

/// The most user changes a rendering lists (the Slack summary shows ten; tables show them all).
pub const MAX_RENDERED_USERS: usize = 100_000;

/// Which backend wrote the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Backend {
    BuiltIn,
    Llm,
}

/// What the step produced, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReply {
    /// `{{agentResponse}}`.
    pub text: String,
    pub backend: Backend,
    /// Why the model's reply was not used (the built-in rendering was), when it was asked.
    pub fallback_reason: Option<String>,
    /// The tools the model called.
    pub tool_calls: Vec<ToolCallLog>,
}

/// Renders run `process_id` in `format`: with `llm`, asks the model with `prompt` first.
pub async fn run_step(
    tools: &Tools,
    llm: Option<&LlmBackend>,
    format: Format,
    prompt: &str,
    process_id: &ProcessId,
) -> Result<StepReply, ToolError> {
    let record = tools.full_record(process_id, MAX_RENDERED_USERS).await?;
    let built_in = |fallback_reason: Option<String>, tool_calls: Vec<ToolCallLog>| StepReply {
        text: render(format, &record),
        backend: Backend::BuiltIn,
        fallback_reason,
        tool_calls,
    };
    let Some(llm) = llm else { return Ok(built_in(None, vec![])) };
    Ok(match llm.reply(format, prompt).await {
        Ok(reply) => {
            let problems = validate::format(format, &reply.text, &[process_id.as_str()]);
            if problems.is_empty() {
                StepReply {
                    text: reply.text,
                    backend: Backend::Llm,
                    fallback_reason: None,
                    tool_calls: reply.tool_calls,
                }
            } else {
                let reason = format!("the model's reply breaks the {} format: {}", format.name(), problems.join("; "));
                tracing::warn!(%reason, "using the built-in rendering");
                built_in(Some(reason), reply.tool_calls)
            }
        }
        Err(e) => {
            tracing::warn!(reason = %e, "using the built-in rendering");
            built_in(Some(e.to_string()), vec![])
        }
    })
}
