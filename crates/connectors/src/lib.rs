//! The final-action targets (TARGETS.md). Each connector takes a connection's settings and
//! credential, sends through the SSRF-guarded client of the `webhooks` crate, and fails with a
//! [`ConnectorError`] that says whether trying again can help and which field or API error
//! caused it. Each has a "test connection" check. The local connection stores what would have
//! been sent ([`local`]).
//!
//! [`Connections`] keeps the connections themselves: typed settings, the credential sealed at
//! rest and never shown again.

pub mod confluence;
mod connections;
pub mod email;
mod error;
pub mod jira;
pub mod local;
pub mod slack;
pub mod web;

pub use connections::{
    Connection, ConnectionError, ConnectionInput, Connections, SLACK_API, Settings, Target, TestResult,
};
pub use error::ConnectorError;

/// The `Authorization` value of HTTP Basic authentication.
pub(crate) fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// A site's base URL without a trailing slash.
pub(crate) fn base(site: &str) -> &str {
    site.trim_end_matches('/')
}

/// Percent-encodes a query parameter value.
pub(crate) fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
