//! Per-request bookkeeping: a request id on every answer and log line, and an access log.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled (empty outside a request).
pub(crate) fn current_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Gives the request an id (or keeps a sane one the client sent), logs the outcome, and marks
/// every answer `nosniff` and, unless it says otherwise, `no-store`.
pub(crate) async fn track(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let method = request.method().clone();
    let path = loggable_path(request.uri().path());
    let started = Instant::now();
    // A handler that panics answers 500 like any internal error (the panic is logged with the
    // request id), rather than dropping the connection.
    let mut response = REQUEST_ID
        .scope(id.clone(), async {
            match worker::isolate("request", next.run(request)).await {
                Ok(response) => response,
                Err(panicked) => crate::error::ApiError::Internal(panicked.to_string()).into_response(),
            }
        })
        .await;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert("x-request-id", value);
    }
    // No answer is to be read as another type than it says, nor kept by a cache unless it says
    // so (the API's answers carry personal data, and some carry a secret shown once).
    headers.insert(axum::http::header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !headers.contains_key(axum::http::header::CACHE_CONTROL) {
        headers.insert(axum::http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    tracing::info!(
        request_id = %id,
        %method,
        path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

/// The path as the access log shows it: a flow webhook's secret path segment as `***`.
fn loggable_path(path: &str) -> String {
    match path.strip_prefix("/automation/webhooks/").and_then(|rest| rest.split_once('/')) {
        Some((flow, _secret)) => format!("/automation/webhooks/{flow}/***"),
        None => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn webhook_secrets_in_paths_are_not_logged() {
        assert_eq!(loggable_path("/automation/webhooks/f1/s3cret"), "/automation/webhooks/f1/***");
        assert_eq!(loggable_path("/automation/webhooks/f1"), "/automation/webhooks/f1");
        assert_eq!(loggable_path("/api/v1/users"), "/api/v1/users");
    }
}
