//! The OpenAPI document, generated from the handlers and types themselves. A committed snapshot
//! (`crates/server/openapi.json`) is compared with what is served by a test.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    agent, api_keys, catalog, connections, flows, health, incoming, organization, saved_filters, settings, tasks,
    users, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ucm API",
        description = "User Manager: the directory, saved filters, Automated Tasks, runs and their results, \
                       Bulk Operations, API keys and settings. \
                       Authenticate with `Authorization: Bearer <API key>`. Errors are RFC 9457 problem details."
    ),
    paths(
        health::healthz,
        agent::list_tools,
        agent::call_tool,
        flows::list_flows,
        flows::create_flow,
        flows::get_flow,
        flows::update_flow,
        flows::enable_flow,
        flows::disable_flow,
        flows::delete_flow,
        flows::export_flows,
        flows::export_flow,
        flows::import_flows,
        flows::list_executions,
        flows::test_flow,
        flows::get_execution,
        incoming::receive,
        users::list_users,
        users::get_user,
        catalog::list_sites,
        catalog::list_apps,
        catalog::list_groups,
        catalog::sync_directory,
        organization::get_org,
        organization::connect_org,
        organization::check_org,
        organization::disconnect_org,
        saved_filters::list_saved_filters,
        saved_filters::create_saved_filter,
        saved_filters::get_saved_filter,
        saved_filters::update_saved_filter,
        saved_filters::delete_saved_filter,
        api_keys::list_api_keys,
        api_keys::create_api_key,
        api_keys::revoke_api_key,
        settings::get_access_settings,
        settings::put_access_settings,
        tasks::get_execution_limit,
        tasks::put_execution_limit,
        tasks::list_tasks,
        tasks::create_task,
        tasks::get_task,
        tasks::update_task,
        tasks::delete_task,
        tasks::pause_task,
        tasks::resume_task,
        tasks::preview_task,
        tasks::run_task,
        tasks::list_runs,
        tasks::get_run,
        tasks::get_run_users,
        tasks::export_run,
        tasks::cancel_run,
        tasks::approve_run,
        tasks::reject_run,
        tasks::create_bulk_operation,
        tasks::preview_bulk_operation,
        webhooks::list_webhooks,
        webhooks::create_webhook,
        webhooks::get_webhook,
        webhooks::update_webhook,
        webhooks::delete_webhook,
        webhooks::test_webhook,
        webhooks::list_deliveries,
        webhooks::get_delivery,
        webhooks::redeliver,
        connections::list_connections,
        connections::create_connection,
        connections::get_connection,
        connections::update_connection,
        connections::delete_connection,
        connections::test_connection,
        connections::list_outputs,
        connections::get_output,
    ),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("ucm API key").build(),
            ),
        );
    }
}

/// The OpenAPI document as JSON.
pub fn openapi_document() -> serde_json::Value {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    serde_json::to_value(doc).unwrap_or_default()
}

/// Serves the document. Needs no key: it describes the API, it holds no data.
pub(crate) async fn serve_document() -> Json<serde_json::Value> {
    Json(openapi_document())
}
