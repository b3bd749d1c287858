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
