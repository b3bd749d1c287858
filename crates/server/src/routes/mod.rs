//! The routes, one module per resource.

pub mod agent;
pub mod api_keys;
pub(crate) mod catalog;
pub(crate) mod connections;
pub(crate) mod flows;
pub(crate) mod health;
pub(crate) mod incoming;
pub(crate) mod organization;
pub mod saved_filters;
pub(crate) mod settings;
pub mod tasks;
pub mod users;
pub(crate) mod webhooks;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;
use crate::error::ApiError;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .route("/api/openapi.json", get(crate::openapi::serve_document))
        .route("/api/v1/users", get(users::list_users))
        .route("/api/v1/users/{account_id}", get(users::get_user))
        .route("/api/v1/sites", get(catalog::list_sites))
        .route("/api/v1/apps", get(catalog::list_apps))
        .route("/api/v1/groups", get(catalog::list_groups))
        .route("/api/v1/directory/sync", post(catalog::sync_directory))
        .route(
            "/api/v1/directory/atlassian",
            get(organization::get_org).put(organization::connect_org).delete(organization::disconnect_org),
        )
        .route("/api/v1/directory/atlassian/check", post(organization::check_org))
        .route("/api/v1/saved-filters", get(saved_filters::list_saved_filters).post(saved_filters::create_saved_filter))
        .route(
            "/api/v1/saved-filters/{filter_id}",
            get(saved_filters::get_saved_filter)
                .put(saved_filters::update_saved_filter)
                .delete(saved_filters::delete_saved_filter),
        )
        .route("/api/v1/api-keys", get(api_keys::list_api_keys).post(api_keys::create_api_key))
        .route("/api/v1/api-keys/{api_key_id}", axum::routing::delete(api_keys::revoke_api_key))
        .route("/api/v1/settings/access", get(settings::get_access_settings).put(settings::put_access_settings))
        .route("/api/v1/settings/execution-limit", get(tasks::get_execution_limit).put(tasks::put_execution_limit))
        .route("/api/v1/connections", get(connections::list_connections).post(connections::create_connection))
        .route(
            "/api/v1/connections/{id}",
            get(connections::get_connection).put(connections::update_connection).delete(connections::delete_connection),
        )
        .route("/api/v1/connections/{id}/test", post(connections::test_connection))
        .route("/api/v1/outputs", get(connections::list_outputs))
        .route("/api/v1/outputs/{id}", get(connections::get_output))
        .route("/api/v1/webhooks", get(webhooks::list_webhooks).post(webhooks::create_webhook))
        .route(
            "/api/v1/webhooks/{id}",
            get(webhooks::get_webhook).put(webhooks::update_webhook).delete(webhooks::delete_webhook),
        )
        .route("/api/v1/webhooks/{id}/test", post(webhooks::test_webhook))
        .route("/api/v1/webhooks/{id}/deliveries", get(webhooks::list_deliveries))
        .route("/api/v1/deliveries/redeliver", post(webhooks::redeliver))
        .route("/api/v1/deliveries/{delivery_id}", get(webhooks::get_delivery))
        .route("/api/v1/tasks", get(tasks::list_tasks).post(tasks::create_task))
        .route("/api/v1/tasks/{task_id}", get(tasks::get_task).put(tasks::update_task).delete(tasks::delete_task))
        .route("/api/v1/tasks/{task_id}/pause", post(tasks::pause_task))
        .route("/api/v1/tasks/{task_id}/resume", post(tasks::resume_task))
        .route("/api/v1/tasks/{task_id}/preview", post(tasks::preview_task))
        .route("/api/v1/tasks/{task_id}/run", post(tasks::run_task))
        .route("/api/v1/runs", get(tasks::list_runs))
        .route("/api/v1/runs/{process_id}", get(tasks::get_run))
        .route("/api/v1/runs/{process_id}/export", get(tasks::export_run))
        .route("/api/v1/runs/{process_id}/users", get(tasks::get_run_users))
        .route("/api/v1/runs/{process_id}/cancel", post(tasks::cancel_run))
        .route("/api/v1/runs/{process_id}/approve", post(tasks::approve_run))
        .route("/api/v1/runs/{process_id}/reject", post(tasks::reject_run))
        .route("/api/v1/bulk-operations", post(tasks::create_bulk_operation))
        .route("/api/v1/bulk-operations/preview", post(tasks::preview_bulk_operation))
        .route("/api/v1/flows", get(flows::list_flows).post(flows::create_flow))
        .route("/api/v1/flows/{flow_id}", get(flows::get_flow).put(flows::update_flow).delete(flows::delete_flow))
        .route("/api/v1/flows/export", get(flows::export_flows))
        .route("/api/v1/flows/import", post(flows::import_flows))
        .route("/api/v1/flows/{flow_id}/export", get(flows::export_flow))
        .route("/api/v1/flows/{flow_id}/enable", post(flows::enable_flow))
        .route("/api/v1/flows/{flow_id}/disable", post(flows::disable_flow))
        .route("/api/v1/flows/{flow_id}/executions", get(flows::list_executions))
        .route("/api/v1/flows/{flow_id}/test", post(flows::test_flow))
        .route("/api/v1/executions/{execution_id}", get(flows::get_execution))
        .route("/automation/webhooks/{flow_id}", post(incoming::receive))
        .route("/automation/webhooks/{flow_id}/{secret}", post(incoming::receive_with_path_secret))
        .route("/api/v1/agent/tools", get(agent::list_tools))
        .route("/api/v1/agent/tools/{name}", post(agent::call_tool))
        .merge(crate::web::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}

/// Nothing here: a problem detail for the API, the HTML error page for a browser on a page's
/// address.
async fn not_found(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let path = uri.path();
    let api = ["/api/", "/mcp", "/automation/", "/healthz", "/metrics"].iter().any(|p| path.starts_with(p));
    let wants_html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if !api && wants_html {
        return crate::web::error_page(
            axum::http::StatusCode::NOT_FOUND,
            None,
            "Page not found",
            &format!("There is nothing at {path}. The link may be old, or mistyped."),
        );
    }
    ApiError::NotFound(format!("there is nothing at {path}")).into_response()
}
