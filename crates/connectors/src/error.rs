//! What a connector says when it fails.

use std::time::Duration;

use webhooks::SendError;

/// A failed call to a target: the reason, whether trying again can help (and when), and the
/// field or the target's own field errors it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConnectorError {
    pub message: String,
    /// Trying again later may succeed (rate limits, timeouts, the target's 5xx).
    pub retryable: bool,
    /// The target asked to wait this long first (`Retry-After`).
    pub retry_after: Option<Duration>,
    /// Our field the error is about (`space`, `channel`, `secret`, …).
    pub field: Option<String>,
    /// The target's errors by field (Jira's `errors`), as it sent them.
    pub field_errors: Vec<(String, String)>,
}

impl ConnectorError {
    /// A failure that trying again will not fix.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: false, retry_after: None, field: None, field_errors: Vec::new() }
    }

    /// A failure that may pass if tried again later.
    pub fn transient(message: impl Into<String>) -> Self {
        Self { retryable: true, ..Self::permanent(message) }
    }

    /// About one of our fields.
    #[must_use]
    pub fn on_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    /// From an answer that is not a success: 429 and 5xx are retryable (429 with its
    /// `Retry-After`), 401/403 point at the credential, anything else is permanent.
    pub(crate) fn from_status(target: &str, response: &webhooks::Response, detail: &str) -> Self {
        let status = response.status;
        let detail = if detail.is_empty() { String::new() } else { format!(": {detail}") };
        match status {
            429 => Self {
                retry_after: response
                    .header("retry-after")
                    .and_then(|v| v.trim().parse().ok())
                    .map(Duration::from_secs),
                ..Self::transient(format!("{target} is rate limiting (429){detail}; try again later"))
            },
            500..=599 | 408 => Self::transient(format!("{target} answered {status}{detail}")),
            401 | 403 => Self::permanent(format!(
                "{target} refused the credentials ({status}){detail}; check the email and API token or token"
            ))
            .on_field("secret"),
            _ => Self::permanent(format!("{target} answered {status}{detail}")),
        }
    }
}

impl From<SendError> for ConnectorError {
    fn from(error: SendError) -> Self {
        if error.is_transient() { Self::transient(error.to_string()) } else { Self::permanent(error.to_string()) }
    }
}
