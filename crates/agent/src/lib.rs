//! The agent (PRODUCT §8). So far: the built-in formats the "Use agent" step renders from a
//! run's record, deterministically ([`formats`]), and the validators that hold any rendering of
//! those formats (a model's included) to their rules ([`validate`]). The read-only tools, the
//! LLM backend and the MCP server are not built yet.

pub mod formats;
pub mod validate;

pub use formats::{Format, render};
