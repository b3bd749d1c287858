//! A user's own format (PRODUCT §8): a smart-value template rendered over the tools' answers.
//!
//! The context holds, by name, what the template asks for:
//! - `run`: the run's record (PRODUCT §5, every user change), when a run is given;
//! - `licenseHealth`: the `license-health` answer with the default threshold;
//! - `notificationSettings`: the `notification-settings` answer;
//! - and whatever the caller adds (the "Use agent" step adds `webhookData`).
//!
//! A tool is only asked when the template names its key.

use model::ids::ProcessId;
use smartvalues::{Limits, Rendered, Template};

use crate::tools::{LicenseHealthInput, ToolError, Tools};

/// The most user changes a template sees in `run.userChanges`.
pub const MAX_TEMPLATE_USERS: usize = 10_000;

/// Why a template gave no text.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("the template is not valid: {0}")]
    Syntax(#[from] smartvalues::SyntaxError),
    #[error("the template could not be rendered: {0}")]
    Render(#[from] smartvalues::RenderError),
    #[error(transparent)]
    Tool(#[from] ToolError),
}

/// Renders `template` over the tools' answers about `process_id`, with `extra`'s keys (a JSON
/// object) added to the context.
pub async fn render_template(
    tools: &Tools,
    template: &str,
    process_id: Option<&ProcessId>,
    extra: serde_json::Value,
) -> Result<Rendered, TemplateError> {
    let parsed = Template::parse(template)?;
    let mut context = match extra {
        serde_json::Value::Object(object) => object,
        _ => serde_json::Map::new(),
    };
    if let Some(id) = process_id
        && template.contains("run")
    {
        let record = tools.full_record(id, MAX_TEMPLATE_USERS).await?;
        context.insert("run".to_owned(), serde_json::to_value(record).unwrap_or_default());
    }
    if template.contains("licenseHealth") {
        let answer = tools.license_health(&LicenseHealthInput::default()).await?;
        context.insert("licenseHealth".to_owned(), serde_json::to_value(answer).unwrap_or_default());
    }
    if template.contains("notificationSettings") {
        let answer = tools.notification_settings().await?;
        context.insert("notificationSettings".to_owned(), serde_json::to_value(answer).unwrap_or_default());
    }
    Ok(parsed.render(&serde_json::Value::Object(context), tools.now(), &Limits::default())?)
}
