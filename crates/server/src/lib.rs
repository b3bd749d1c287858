//! The HTTP side of ucm: the REST API under `/api/v1` (problem+json errors, bearer API keys),
//! its OpenAPI document at `/api/openapi.json`, the agent's tools over MCP at `/mcp`, and
//! `/healthz`.
//!
//! Handlers are thin: they parse, check access, call the directory or the store, and shape the
//! answer. Every answer carries an `x-request-id`; error bodies repeat it.

mod auth;
mod error;
pub mod mcp;
mod openapi;
mod query;
mod request;
mod routes;
mod web;

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
    /// The Atlassian organization the directory mirrors, when one is connected.
    pub organization: atlassian::Organization,
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
    /// Flows of the automation engine.
    pub flows: automation::Flows,
    /// Runs flows (test runs from the API; `ucm serve` also runs its loop).
    pub executor: automation::Executor,
    /// Requests per flow per minute to the incoming webhooks, in this process.
    pub webhook_rate: Arc<automation::RateLimit>,
    /// The daily one-hour directory sync slot the scheduler keeps (none: no daily sync).
    pub sync_slot: Option<tasks::SyncSlot>,
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

/// The whole HTTP application. Open MCP event streams end when `stop` is cancelled.
pub fn router(state: AppState, stop: tokio_util::sync::CancellationToken) -> Router {
    let sessions = mcp::Sessions::default();
    let mcp = Router::new()
        .nest_service("/mcp", mcp::http_service(&state, &sessions, stop))
        .layer(axum::middleware::from_fn_with_state((state.clone(), sessions), mcp::admit));
    routes::router().with_state(state).merge(mcp).layer(axum::middleware::from_fn(request::track))
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then finishes the requests
/// in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stop = tokio_util::sync::CancellationToken::new();
    let app = router(state, stop.clone());
    // The peer's address goes into each incoming webhook's audit record.
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            stop.cancel();
        })
        .await
}
