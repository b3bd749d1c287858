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
    let mut document = serde_json::to_value(doc).unwrap_or_default();
    document_problems(&mut document);
    merge_strict_parts(&mut document);
    document
}

/// A schema made of parts (`allOf`, from `#[serde(flatten)]` or a tagged enum's variant) where
/// a part allows no other properties (a type that refuses unknown fields, such as
/// `FlowDefinition` in `Flow` or `Comparison` in a condition step) can never be met: wherever it
/// is in the document, it becomes one object with every part's properties.
fn merge_strict_parts(document: &mut serde_json::Value) {
    use serde_json::Value;
    let Some(schemas) = document.pointer("/components/schemas").and_then(Value::as_object).cloned() else { return };
    if let Some(targets) = document.pointer_mut("/components/schemas") {
        merge_within(targets, &schemas);
    }
}

fn merge_within(value: &mut serde_json::Value, schemas: &serde_json::Map<String, serde_json::Value>) {
    use serde_json::{Map, Value};
    let resolve = |part: &Value| -> Value {
        match part.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/")) {
            Some(name) => schemas.get(name).cloned().unwrap_or(Value::Null),
            None => part.clone(),
        }
    };
    match value {
        Value::Object(object) => {
            if let Some(parts) = object.get("allOf").and_then(Value::as_array) {
                let parts: Vec<Value> = parts.iter().map(resolve).collect();
                if parts.iter().any(|p| p.get("additionalProperties") == Some(&Value::Bool(false))) {
                    let mut properties = Map::new();
                    let mut required = Vec::new();
                    for part in &parts {
                        if let Some(p) = part.get("properties").and_then(Value::as_object) {
                            properties.extend(p.clone());
                        }
                        if let Some(r) = part.get("required").and_then(Value::as_array) {
                            required.extend(r.iter().cloned());
                        }
                    }
                    object.remove("allOf");
                    object.insert("type".to_owned(), Value::from("object"));
                    object.insert("properties".to_owned(), Value::Object(properties));
                    object.insert("required".to_owned(), Value::Array(required));
                }
            }
            object.values_mut().for_each(|child| merge_within(child, schemas));
        }
        Value::Array(items) => items.iter_mut().for_each(|child| merge_within(child, schemas)),
        _ => {}
    }
}

/// Says what every operation can answer besides what its handler lists, as the server does:
/// errors are `application/problem+json`; a key can be missing or wrong (401) or not allowed
/// (403); a body can be unreadable (400) or too large (413); a path id can be malformed (400) or
/// unknown (404); a change can conflict with what is stored (409); the database can be
/// unavailable (503).
fn document_problems(document: &mut serde_json::Value) {
    use serde_json::{Value, json};
    let problem = || json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}});
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, operation) in item.iter_mut() {
            let Some(operation) = operation.as_object_mut() else { continue };
            let secured = operation.get("security").is_some();
            let has_body = operation.get("requestBody").is_some();
            let has_path_ids = path.contains('{');
            let has_query = operation
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) else { continue };
            for (status, response) in responses.iter_mut() {
                if status.parse::<u16>().is_ok_and(|status| status >= 400)
                    && let Some(response) = response.as_object_mut()
                {
                    let schema = response
                        .get("content")
                        .and_then(|c| c.as_object())
                        .and_then(|c| c.values().next())
                        .and_then(|c| c.get("schema"))
                        .cloned();
                    let content = match schema {
                        Some(schema) => json!({"application/problem+json": {"schema": schema}}),
                        None => problem(),
                    };
                    response.insert("content".to_owned(), content);
                }
            }
            let mut add = |status: &str, description: &str| {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| json!({"description": description, "content": problem()}));
            };
            if secured {
                add("401", "The API key is missing, wrong, revoked or expired.");
                add("403", "The key may not do this (a read-only key, or the access settings).");
            }
            if has_body || has_query || has_path_ids {
                add("400", "The request cannot be used; `errors` names each field.");
            }
            if has_body {
                add("413", "The body is larger than the API takes.");
            }
            if has_path_ids {
                add("404", "Nothing has this id.");
            }
            let only_reads = ["/preview", "/test", "/check"].iter().any(|end| path.ends_with(end))
                || path.starts_with("/api/v1/agent/");
            if ["put", "post", "delete"].contains(&method.as_str()) && !only_reads {
                add("409", "The change conflicts with what is stored (a name already taken, a thing in use).");
            }
            add("503", "The database is unavailable; try again.");
        }
    }
}

/// Serves the document. Needs no key: it describes the API, it holds no data.
pub(crate) async fn serve_document() -> Json<serde_json::Value> {
    Json(openapi_document())
}
