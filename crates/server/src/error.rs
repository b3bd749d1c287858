//! Errors as RFC 9457 problem details. Clients get a clear title and detail, never internal
//! text; the log keeps the internal cause with the request id.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use directory::DirectoryError;
use model::filter::{FieldProblem, FilterError};
use serde::{Deserialize, Serialize};
use store::StoreError;
use utoipa::ToSchema;

/// A problem details document (`application/problem+json`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// A URI naming the kind of problem, `urn:ucm:problem:<kind>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The id of the request, as in the `x-request-id` header and the server log.
    pub request_id: String,
    /// Field-level problems, with suggestions where a near miss was typed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// Everything a handler can fail with.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the input cannot be used; `errors` says field by field.
    BadRequest { detail: String, errors: Vec<FieldProblem> },
    /// 401: no key, or a key that is not valid (expired, revoked, unknown).
    Unauthorized(String),
    /// 403: a valid key that may not do this.
    Forbidden(String),
    /// 404
    NotFound(String),
    /// 405
    MethodNotAllowed(String),
    /// 409: conflicts with what exists.
    Conflict(String),
    /// 413: the body is over the cap.
    TooLarge(String),
    /// 429: too many requests; try again after `retry_after_seconds`.
    TooManyRequests { detail: String, retry_after_seconds: u64 },
    /// 502: the directory's backend (the Atlassian organization) refused or failed; its
    /// answer is shown, it is not ours.
    Upstream(String),
    /// 503: the database is unavailable; retry later.
    Unavailable(String),
    /// 500: a bug or an unexpected state; details go to the log only.
    Internal(String),
}

impl ApiError {
    /// A 400 for one field.
    pub fn field(field: &str, input: impl Into<String>, message: impl Into<String>) -> Self {
        let problem = FieldProblem::new(field, input, message);
        Self::BadRequest { detail: format!("{}: {}", problem.field, problem.message), errors: vec![problem] }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::BadRequest { .. } => (StatusCode::BAD_REQUEST, "bad-request", "The request cannot be used"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Authentication required"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Self::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            Self::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Request too large"),
            Self::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "too-many-requests", "Too many requests"),
            Self::Upstream(_) => (StatusCode::BAD_GATEWAY, "upstream", "The directory's backend failed"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Temporarily unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        }
    }
}

impl std::fmt::Display for ApiError {
    /// The message a person reads (field problems listed with suggestions).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadRequest { detail, .. } => f.write_str(detail),
            Self::Unauthorized(d)
            | Self::Forbidden(d)
            | Self::NotFound(d)
            | Self::MethodNotAllowed(d)
            | Self::Conflict(d)
            | Self::TooLarge(d)
            | Self::TooManyRequests { detail: d, .. }
            | Self::Upstream(d) => f.write_str(d),
            Self::Unavailable(d) => write!(f, "the database is unavailable: {d}"),
            Self::Internal(d) => write!(f, "internal error: {d}"),
        }
    }
}

impl std::error::Error for ApiError {}

impl From<FilterError> for ApiError {
    fn from(error: FilterError) -> Self {
        Self::BadRequest { detail: error.to_string(), errors: error.0 }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            StoreError::Conflict(what) => Self::Conflict(what),
            StoreError::Unavailable(what) => Self::Unavailable(what),
            StoreError::Other(what) => Self::Internal(what),
        }
    }
}

impl From<DirectoryError> for ApiError {
    fn from(error: DirectoryError) -> Self {
        match error {
            DirectoryError::Filter(e) => e.into(),
            DirectoryError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            DirectoryError::Store(e) => e.into(),
            DirectoryError::Backend(why) => Self::Upstream(why),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, title) = self.parts();
        let request_id = crate::request::current_id();
        let retry_after = match &self {
            Self::TooManyRequests { retry_after_seconds, .. } => Some(*retry_after_seconds),
            _ => None,
        };
        let (detail, errors) = match self {
            Self::BadRequest { detail, errors } => (detail, errors),
            Self::Unauthorized(d)
            | Self::Forbidden(d)
            | Self::NotFound(d)
            | Self::MethodNotAllowed(d)
            | Self::Conflict(d)
            | Self::TooLarge(d)
            | Self::TooManyRequests { detail: d, .. }
            | Self::Upstream(d) => (d, vec![]),
            Self::Unavailable(internal) => {
                tracing::warn!(request_id, error = %internal, "database unavailable");
                ("The database is unavailable; try again shortly.".to_owned(), vec![])
            }
            Self::Internal(internal) => {
                tracing::error!(request_id, error = %internal, "internal error");
                (format!("Something went wrong on our side. Quote request id {request_id} when reporting it."), vec![])
            }
        };
        let problem = Problem {
            kind: format!("urn:ucm:problem:{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            request_id,
            errors,
        };
        let mut response = (status, Json(problem)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A JSON body extractor whose rejections are problem+json with the field at fault.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::field("Content-Type", "", "send the body as application/json"));
        }
        let bytes = axum::body::Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(format!("the body is larger than the API takes: {e}"))
            } else {
                ApiError::field("body", "", format!("the body could not be read: {e}"))
            }
        })?;
        if holds_nul(&bytes) {
            let field = serde_json::from_slice::<serde_json::Value>(&bytes).ok().and_then(|v| nul_path(&v, ""));
            let field = field.filter(|f| !f.is_empty()).unwrap_or_else(|| "body".to_owned());
            return Err(ApiError::field(&field, "", "text may not contain NUL characters (\\u0000)"));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut deserializer).map(JsonBody).map_err(|e| {
            let path = e.path().to_string();
            let message = e.inner().to_string();
            // serde_json appends " at line L column C"; the field name says more.
            let message = message.rfind(" at line ").map_or(message.as_str(), |i| &message[..i]).to_owned();
            ApiError::field(if path == "." { "body" } else { &path }, "", message)
        })
    }
}

/// Whether a JSON text has a NUL character in a string: a `\u0000` escape whose backslash is not
/// itself escaped (raw control characters are not valid JSON). PostgreSQL cannot store one, so
/// both engines refuse it at the door.
fn holds_nul(json: &[u8]) -> bool {
    const ESCAPE: &[u8] = b"u0000";
    json.iter().enumerate().any(|(i, byte)| {
        *byte == b'\\'
            && json.get(i + 1..i + 1 + ESCAPE.len()).is_some_and(|next| next.eq_ignore_ascii_case(ESCAPE))
            && json[..i].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 0
    })
}

/// Where in `value` the first text with a NUL character is (`name`, `steps[1].url`).
fn nul_path(value: &serde_json::Value, at: &str) -> Option<String> {
    match value {
        serde_json::Value::String(text) if text.contains('\0') => Some(at.to_owned()),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| nul_path(item, &format!("{at}[{i}]")))
        }
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let here = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
            if key.contains('\0') { Some(here) } else { nul_path(item, &here) }
        }),
        _ => None,
    }
}

/// An optional JSON body: a request without `Content-Type` has none.
impl<S, T> axum::extract::OptionalFromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        if !request.headers().contains_key(header::CONTENT_TYPE) {
            return Ok(None);
        }
        <Self as axum::extract::FromRequest<S>>::from_request(request, state).await.map(Some)
    }
}

impl From<tasks::TaskError> for ApiError {
    fn from(error: tasks::TaskError) -> Self {
        use tasks::TaskError;
        match error {
            TaskError::Invalid(errors) => Self::BadRequest {
                detail: errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
                errors,
            },
            TaskError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            TaskError::Conflict(what) => Self::Conflict(what),
            TaskError::OverLimit { would_change, limit } => Self::Conflict(format!(
                "this run would change {would_change} users, more than the execution limit of {limit}; \
                 send {{\"confirm\": true}} to run it anyway"
            )),
            TaskError::Directory(e) => e.into(),
            TaskError::Store(e) => e.into(),
        }
    }
}

impl From<connectors::ConnectionError> for ApiError {
    fn from(error: connectors::ConnectionError) -> Self {
        use connectors::ConnectionError;
        match error {
            ConnectionError::Invalid(errors) => Self::BadRequest {
                detail: errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
                errors,
            },
            ConnectionError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            ConnectionError::Conflict(what) => Self::Conflict(what),
            ConnectionError::Store(e) => e.into(),
        }
    }
}

impl From<webhooks::SubscriptionError> for ApiError {
    fn from(error: webhooks::SubscriptionError) -> Self {
        use webhooks::SubscriptionError;
        match error {
            SubscriptionError::Invalid(errors) => Self::BadRequest {
                detail: errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
                errors,
            },
            SubscriptionError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            SubscriptionError::Conflict(what) => Self::Conflict(what),
            SubscriptionError::Store(e) => e.into(),
        }
    }
}
