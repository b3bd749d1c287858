use model::apikey::ApiKeyRole;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::simulators::{ATLASSIAN_EMAIL, ATLASSIAN_TOKEN, Simulator};
use testkit::{TestDb, backend_tests};

use crate::{App, json_ok, problem};

backend_tests!(connections_and_outputs_over_http);

async fn connections_and_outputs_over_http(db: TestDb) {
    let app = App::start(db).await;
    let jira = Simulator::jira().await;
    let body =
        json!({"name": "Jira", "kind": "jira", "site": jira.base, "email": ATLASSIAN_EMAIL, "secret": ATLASSIAN_TOKEN});
    let created = app.send(Method::POST, "/api/v1/connections", Some(body.clone())).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let text = created.text().await.unwrap();
    assert!(!text.contains(ATLASSIAN_TOKEN) && !text.contains("\"secret\""), "the credential never comes back: {text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((created["kind"].as_str(), created["hasSecret"].as_bool()), (Some("jira"), Some(true)));

    let tested = json_ok(app.send(Method::POST, "/api/v1/connections/Jira/test", None).await.unwrap()).await;
    assert_eq!(tested["ok"], true, "{tested}");
    assert!(tested["message"].as_str().unwrap().contains("Ada Lovelace"));

    // Replaced without a secret: the credential stays; with a wrong one, the test names the field.
    let renamed =
        json!({"name": "Jira", "kind": "jira", "site": jira.base, "email": ATLASSIAN_EMAIL, "secret": "wrong"});
    json_ok(
        app.send(Method::PUT, &format!("/api/v1/connections/{}", created["id"].as_str().unwrap()), Some(renamed))
            .await
            .unwrap(),
    )
    .await;
    let tested = json_ok(app.send(Method::POST, "/api/v1/connections/Jira/test", None).await.unwrap()).await;
    assert_eq!(
        (tested["ok"].as_bool(), tested["field"].as_str(), tested["retryable"].as_bool()),
        (Some(false), Some("secret"), Some(false))
    );

    let invalid = app
        .send(
            Method::POST,
            "/api/v1/connections",
            Some(json!({"name": "", "kind": "confluence", "site": "x", "email": "y"})),
        )
        .await
        .unwrap();
    let invalid = problem(invalid, StatusCode::BAD_REQUEST).await;
    let fields: Vec<&str> =
        invalid["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "site", "email", "secret"]);
    let unknown_kind =
        app.send(Method::POST, "/api/v1/connections", Some(json!({"name": "x", "kind": "teams"}))).await.unwrap();
    problem(unknown_kind, StatusCode::BAD_REQUEST).await;
    problem(app.send(Method::POST, "/api/v1/connections", Some(body)).await.unwrap(), StatusCode::CONFLICT).await;

    // Read-only keys read, never write or test.
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, jiff::SignedDuration::from_hours(1)).await;
    let listed = app.request(Method::GET, "/api/v1/connections", Some(&reader)).send().await.unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    assert!(!listed.text().await.unwrap().contains(ATLASSIAN_TOKEN));
    let test = app.request(Method::POST, "/api/v1/connections/Jira/test", Some(&reader)).send().await.unwrap();
    problem(test, StatusCode::FORBIDDEN).await;

    // Outputs of the local connection, newest first, by kind.
    let now = jiff::Timestamp::now();
    connectors::local::message(&app.db.store, now, "#ops", "*done*").await.unwrap();
    let item = connectors::jira::WorkItem {
        project_key: "OPS".into(),
        issue_type: "Task".into(),
        summary: "Rotate the key".into(),
        markdown: "Due **soon**".into(),
        due_date: Some("2026-12-01".into()),
        priority: Some("P2".into()),
        labels: vec![],
    };
    connectors::local::work_item(&app.db.store, now, &item).await.unwrap();
    let items =
        json_ok(app.request(Method::GET, "/api/v1/outputs?kind=workItem", Some(&reader)).send().await.unwrap()).await;
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!((items[0]["key"].as_str(), items[0]["title"].as_str()), (Some("LOCAL-1"), Some("Rotate the key")));
    let one = json_ok(app.get("/api/v1/outputs/LOCAL-1").send().await.unwrap()).await;
    assert_eq!(one["data"]["priority"], "P2");
    let all = json_ok(app.get("/api/v1/outputs").send().await.unwrap()).await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    problem(app.get("/api/v1/outputs?kind=fax").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
    problem(app.get("/api/v1/outputs?colour=red").send().await.unwrap(), StatusCode::BAD_REQUEST).await;

    assert_eq!(
        app.send(Method::DELETE, "/api/v1/connections/Jira", None).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    problem(app.get("/api/v1/connections/Jira").send().await.unwrap(), StatusCode::NOT_FOUND).await;
}
