//! Smart values: the template language of ucm's automation engine (AUTOMATION.md §2).
//!
//! Mustache-style tags with method chains: `{{webhookData.name.toUpperCase}}`, sections
//! (`{{#list}}{{.}}{{^last}}, {{/}}{{/}}`), conditionals (`{{#if(cond)}}…{{/}}`), math blocks
//! (`{{#=}}1 + 2{{/}}`), dates with Java `DateTimeFormatter` patterns, JSON helpers.
//!
//! Pure: no IO, no async. A template is parsed once ([`Template::parse`], syntax errors carry
//! line and column) and rendered any number of times against a JSON context and an instant
//! ([`Template::render`]). Work is bounded ([`Limits`]); a missing value renders empty and is
//! reported in [`Rendered::missing`].

mod dates;
mod eval;
mod math;
mod parse;
mod text;
mod value;

pub use eval::{Limits, Rendered, function_names};
pub use parse::Template;
pub use value::Value;

/// A template that cannot be parsed, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {line}, column {column}\n{excerpt}")]
pub struct SyntaxError {
    pub message: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// The line, and a caret under the column.
    pub excerpt: String,
}

/// A failure while rendering (an unknown function, a bad argument, a limit reached).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RenderError(pub String);

/// Parses and renders in one go.
pub fn render(template: &str, context: &serde_json::Value, now: jiff::Timestamp) -> Result<String, Error> {
    let template = Template::parse(template)?;
    Ok(template.render(context, now, &Limits::default())?.text)
}

/// Either failure of [`render`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    #[error(transparent)]
    Render(#[from] RenderError),
}
