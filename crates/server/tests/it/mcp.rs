//! MCP over streamable HTTP with the official SDK's own client: a key is required, the tools
//! are listed read-only with their schemas, and `search-task-results` answers a real run.

use jiff::SignedDuration;
use model::apikey::ApiKeyRole;
use reqwest::{Method, StatusCode};
use rmcp::ServiceExt as _;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::json;
use testkit::{TestDb, backend_tests};

use crate::{App, json_ok};

backend_tests!(an_mcp_client_lists_and_calls_the_tools, mcp_sessions_are_bounded_per_key);

async fn an_mcp_client_lists_and_calls_the_tools(db: TestDb) {
    let app = App::start(db).await;
    // A run to read: a bulk operation that suspends one active user (not an organization admin).
    let users = json_ok(app.get("/api/v1/users?statuses=active&pageSize=50").send().await.unwrap()).await;
    let account = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| !u["roles"].as_array().unwrap().iter().any(|r| r["role"] == "orgAdmin"))
        .unwrap()["accountId"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({"accountIds": [account], "actions": [{"type": "suspendUsers"}]});
    let started = app.send(Method::POST, "/api/v1/bulk-operations", Some(body)).await.unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let started: serde_json::Value = started.json().await.unwrap();
    let process_id = started["processId"].as_str().unwrap().to_owned();
    wait_until_finished(&app, &process_id).await;

    // No key, or a wrong one: refused before MCP begins.
    let url = format!("{}/mcp", app.base);
    let http = testkit::http_client();
    for path in ["/mcp", "/mcp/", "/mcp/x"] {
        let anonymous = http.post(format!("{}{path}", app.base)).json(&json!({})).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
        let anonymous = http.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "GET {path}");
    }
    let wrong = http.post(&url).bearer_auth("ucm_wrong").json(&json!({})).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let config = StreamableHttpClientTransportConfig::with_uri(url.as_str()).auth_header("ucm_wrong");
    let refused = ().serve(StreamableHttpClientTransport::with_client(testkit::http_client(), config)).await;
    assert!(refused.is_err(), "a wrong key must not get a session");

    // A read-only key is enough.
    let reader = app.key("mcp", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24)).await;
    let config = StreamableHttpClientTransportConfig::with_uri(url.as_str()).auth_header(reader);
    let client = ().serve(StreamableHttpClientTransport::with_client(testkit::http_client(), config)).await.unwrap();
    assert_eq!(client.peer_info().unwrap().server_info.as_ref().unwrap().name, "ucm");

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["search-users", "search-task-results", "license-health", "notification-settings"]);
    for tool in &tools {
        let hints = tool.annotations.as_ref().unwrap();
        assert_eq!((hints.read_only_hint, hints.destructive_hint), (Some(true), Some(false)), "{}", tool.name);
        assert_eq!(tool.output_schema.as_ref().unwrap()["type"], "object", "{}", tool.name);
    }

    let arguments = json!({"processId": process_id}).as_object().unwrap().clone();
    let answer =
        client.call_tool(CallToolRequestParams::new("search-task-results").with_arguments(arguments)).await.unwrap();
    assert_eq!(answer.is_error, Some(false));
    let record = answer.structured_content.unwrap();
    let api = json_ok(app.get(&format!("/api/v1/runs/{process_id}")).send().await.unwrap()).await;
    assert_eq!(record, api, "the MCP answer is the REST API's record");
    assert_eq!(record["userChanges"][0]["accountId"], account);

    // A bad argument is the tool's answer (for the model to read), not a protocol failure.
    let arguments = json!({"inactivedays": 3}).as_object().unwrap().clone();
    let answer = client.call_tool(CallToolRequestParams::new("search-users").with_arguments(arguments)).await.unwrap();
    assert_eq!(answer.is_error, Some(true));
    let text = answer.content[0].as_text().unwrap().text.clone();
    assert!(text.contains("inactivedays"), "{text}");
    client.cancel().await.unwrap();
}

async fn wait_until_finished(app: &App, process_id: &str) {
    for _ in 0..200 {
        let run = json_ok(app.get(&format!("/api/v1/runs/{process_id}")).send().await.unwrap()).await;
        if run["state"] == "finished" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("run {process_id} did not finish");
}

/// Each session holds memory until it closes: a key that opens sessions without end is refused
/// with 429 past its share, and other keys are not affected.
async fn mcp_sessions_are_bounded_per_key(db: TestDb) {
    let app = App::start(db).await;
    let url = format!("{}/mcp", app.base);
    let greedy = app.key("greedy", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(1)).await;
    let mut open = Vec::new();
    for _ in 0..16 {
        let config = StreamableHttpClientTransportConfig::with_uri(url.as_str()).auth_header(greedy.clone());
        open.push(().serve(StreamableHttpClientTransport::with_client(testkit::http_client(), config)).await.unwrap());
    }
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}});
    let refused = testkit::http_client()
        .post(&url)
        .bearer_auth(&greedy)
        .header("accept", "application/json, text/event-stream")
        .json(&initialize)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "60");
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("at most 16 per API key"), "{problem}");
    // The open sessions still work; another key still gets one.
    assert_eq!(open[15].list_all_tools().await.unwrap().len(), 4);
    let other = app.key("other", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(1)).await;
    let config = StreamableHttpClientTransportConfig::with_uri(url.as_str()).auth_header(other);
    let client = ().serve(StreamableHttpClientTransport::with_client(testkit::http_client(), config)).await.unwrap();
    assert_eq!(client.list_all_tools().await.unwrap().len(), 4);
}
