use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;

/// Whether the server and its database answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: String,
    /// `ok`, or why the database does not answer.
    pub database: String,
    pub version: String,
}

/// Liveness and database reachability. Needs no key.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let (status, database) = match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok".to_owned()),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable".to_owned())
        }
    };
    let label = if status == StatusCode::OK { "ok" } else { "degraded" };
    (status, Json(Health { status: label.to_owned(), database, version: env!("CARGO_PKG_VERSION").to_owned() }))
}

/// Prometheus metrics (text format): the webhook outbox's depth by state (across the
/// installation), and this process's delivery attempts and first-attempt latency. Any API key.
pub async fn metrics(
    State(state): State<AppState>,
    _caller: crate::auth::Caller,
) -> Result<axum::response::Response, crate::error::ApiError> {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "# HELP ucm_webhook_deliveries Webhook deliveries in the outbox, by state.");
    let _ = writeln!(out, "# TYPE ucm_webhook_deliveries gauge");
    let counts = state.store.deliveries_by_state().await?;
    for known in ["pending", "in_flight", "retrying", "succeeded", "dead"] {
        let n = counts.iter().find(|(s, _)| s == known).map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "ucm_webhook_deliveries{{state=\"{known}\"}} {n}");
    }
    state.delivery_metrics.render(&mut out);
    let mut response = axum::response::IntoResponse::into_response(out);
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
