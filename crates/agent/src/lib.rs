//! The agent (PRODUCT §8): read-only tools over the directory, run results, seats and
//! notification settings ([`tools`], with JSON Schemas from [`schema`]); the built-in formats
//! the "Use agent" step renders from a run's record ([`formats`]) and a user's own template
//! ([`template`]); and the validators that hold any rendering of a format, a model's included,
//! to its rules ([`validate`]); the LLM backend ([`llm`]) and the "Use agent" step that uses
//! a model's reply only when it validates ([`step`]).

pub mod formats;
pub mod llm;
pub mod schema;
pub mod step;
pub mod template;
pub mod tools;
pub mod validate;

pub use formats::{Format, render};
pub use tools::{ToolError, ToolName, Tools};
