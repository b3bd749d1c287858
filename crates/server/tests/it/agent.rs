//! The agent's tools over HTTP: any key may call them, read-only keys included; answers are
//! the tools' own (in their fields' order); bad calls are problem+json that name what is wrong.

use jiff::SignedDuration;
use model::apikey::ApiKeyRole;
use reqwest::{Method, StatusCode};
use serde_json::json;
use testkit::{TestDb, backend_tests};

use crate::{App, json_ok, problem};

backend_tests!(read_only_keys_call_the_tools, bad_tool_calls_are_named);

async fn read_only_keys_call_the_tools(db: TestDb) {
    let app = App::start(db).await;
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24 * 30)).await;

    let tools = json_ok(app.request(Method::GET, "/api/v1/agent/tools", Some(&reader)).send().await.unwrap()).await;
    let names: Vec<&str> = tools.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["search-users", "search-task-results", "license-health", "notification-settings"]);
    assert_eq!(tools[0]["inputSchema"]["type"], "object");

    let call = |name: &str, body: serde_json::Value| {
        app.request(Method::POST, &format!("/api/v1/agent/tools/{name}"), Some(&reader)).json(&body).send()
    };
    let found = json_ok(call("search-users", json!({"apps": ["JSM"], "inactiveDays": 30})).await.unwrap()).await;
    let via_browser = json_ok(app.get("/api/v1/users?apps=JSM&inactiveDays=30").send().await.unwrap()).await;
    assert_eq!(found["total"], via_browser["total"], "the tool and the User Browser agree");
    assert_eq!(found["deepLink"], via_browser["userBrowserUrl"]);

    let health = json_ok(call("license-health", json!({"inactiveDays": 90})).await.unwrap()).await;
    let seats = health["seats"].as_array().unwrap();
    assert!(!seats.is_empty(), "{health:#}");
    // Each inactive count is what its User Browser link shows through the REST API.
    for seat in seats {
        let link = seat["inactiveUsersUrl"].as_str().unwrap();
        let query = link.split_once('?').unwrap().1;
        let shown = json_ok(app.get(&format!("/api/v1/users?{query}")).send().await.unwrap()).await;
        assert_eq!(shown["total"], seat["inactive"], "{link}");
    }

    // An empty body means no arguments; the answer keeps its fields' order.
    let response =
        app.request(Method::POST, "/api/v1/agent/tools/notification-settings", Some(&reader)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(text.starts_with(r#"{"apiKeys":["#), "{text}");
    assert!(text.contains(r#""name":"reader""#));

    // Without a key: 401.
    problem(
        app.request(Method::POST, "/api/v1/agent/tools/license-health", None).send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

async fn bad_tool_calls_are_named(db: TestDb) {
    let app = App::start(db).await;
    let unknown = problem(
        app.send(Method::POST, "/api/v1/agent/tools/search-user", Some(json!({}))).await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(unknown["detail"].as_str().unwrap().contains("did you mean: search-users"), "{unknown:#}");

    let typo = problem(
        app.send(Method::POST, "/api/v1/agent/tools/search-users", Some(json!({"inactivedays": 3}))).await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(typo["detail"].as_str().unwrap().contains("inactivedays"), "{typo:#}");

    let not_json = app
        .request(Method::POST, "/api/v1/agent/tools/license-health", Some(&app.admin_key))
        .body("{inactiveDays: 3")
        .send()
        .await
        .unwrap();
    let not_json = problem(not_json, StatusCode::BAD_REQUEST).await;
    assert_eq!(not_json["errors"][0]["field"], "body");

    let missing = problem(
        app.send(Method::POST, "/api/v1/agent/tools/search-task-results", Some(json!({"processId": "nope"})))
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(missing["detail"].as_str().unwrap().contains("nope"), "{missing:#}");
}
