//! The HTTP side of ucm: the REST API under `/api/v1` (problem+json errors, bearer API keys),
//! its OpenAPI document at `/api/openapi.json`, and `/healthz`.
//!
//! Handlers are thin: they parse, check access, call the directory or the store, and shape the
//! answer. Every answer carries an `x-request-id`; error bodies repeat it.

mod auth;
mod error;
mod openapi;
mod query;
mod request;
mod routes;

use std::sync::Arc;

use axum::Router;
use directory::Directory;
use model::clock::Clock;
use store::Store;

pub use error::{ApiError, Problem};
pub use openapi::openapi_document;
pub use routes::agent::ToolDescription;
pub use routes::api_keys::{ApiKeyView, issue_api_key};
pub use routes::saved_filters::SavedFilterInput;
pub use routes::tasks::{RunRequest, RunStarted};
pub use routes::users::{UserList, UserListItem, user_detail, user_list};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub directory: Arc<dyn Directory>,
    pub clock: Arc<dyn Clock>,
    /// The address people use to reach this installation (deep links), without a trailing `/`.
    pub public_url: String,
    /// Tasks, runs and bulk operations.
    pub tasks: tasks::TaskService,
    /// Webhook subscriptions (Notification Settings).
    pub webhooks: webhooks::Subscriptions,
    /// What this process's delivery dispatcher has done (for `/metrics`).
    pub delivery_metrics: Arc<webhooks::DeliveryMetrics>,
    /// Connections to the final-action targets.
    pub connections: connectors::Connections,
    /// The agent's read-only tools.
    pub tools: agent::Tools,
}

impl AppState {
    /// The User Browser link for one user (the same link run records carry).
    pub fn user_browser_url(&self, account_id: &str) -> String {
        model::webhook::user_browser_url(&self.public_url, account_id)
    }
}

/// An id from a URL path. Ids never hold control characters (PostgreSQL refuses NUL in text),
/// so such a path names nothing: 404.
pub(crate) fn path_id(id: String, what: &str) -> Result<String, ApiError> {
    if !model::ids::plausible_id(&id) {
        return Err(ApiError::NotFound(format!("{what} not found")));
    }
    Ok(id)
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    routes::router().layer(axum::middleware::from_fn(request::track)).with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then finishes the requests
/// in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
