//! Web request (TARGETS.md): any method, URL, headers and body through the SSRF-guarded
//! client; the answer's status and body are returned for later steps.

use serde::Serialize;
use webhooks::{GuardedClient, Request};

use crate::ConnectorError;

/// The most of an answer's body kept for later steps.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What the request got back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body was longer than [`MAX_BODY_BYTES`] and is cut short.
    pub truncated: bool,
}

/// Sends `request`. Any answer is a result (a 500 too); only no answer is an error.
pub async fn send(client: &GuardedClient, request: &Request) -> Result<WebResponse, ConnectorError> {
    let method = request.method.to_ascii_uppercase();
    if !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].contains(&method.as_str()) {
        return Err(ConnectorError::permanent(format!("`{}` is not a method a web request can use", request.method))
            .on_field("method"));
    }
    let response = client.send(request, MAX_BODY_BYTES).await.map_err(|e| ConnectorError::from(e).on_field("url"))?;
    Ok(WebResponse {
        status: response.status,
        body: response.text(),
        truncated: response.truncated,
        headers: response.headers,
    })
}

/// Header values shown in logs and the audit record: credentials replaced by `***`.
pub fn redacted_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let lower = name.to_ascii_lowercase();
            let secret = ["authorization", "cookie", "proxy-authorization"].contains(&lower.as_str())
                || ["token", "secret", "key", "password", "signature"].iter().any(|word| lower.contains(word));
            (name.clone(), if secret { "***".to_owned() } else { value.clone() })
        })
        .collect()
}
