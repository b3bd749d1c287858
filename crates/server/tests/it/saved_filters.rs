use reqwest::{Method, StatusCode};
use serde_json::json;
use testkit::{TestDb, backend_tests};

use crate::{App, json_ok, problem};

backend_tests!(saved_filters_store_ids_and_refuse_unknown_names);

async fn saved_filters_store_ids_and_refuse_unknown_names(db: TestDb) {
    let app = App::start(db).await;
    let post = |body: serde_json::Value| {
        app.request(Method::POST, "/api/v1/saved-filters", Some(&app.admin_key)).json(&body).send()
    };

    let created = post(
        json!({"name": "Idle JSM agents", "criteria": {"apps": ["JSM"], "inactiveDays": 30, "groups": ["Support"]}}),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: serde_json::Value = created.json().await.unwrap();
    assert_eq!(created["criteria"]["apps"][0], "jira-servicedesk", "stored by key");
    let group_id = created["criteria"]["groups"][0].as_str().unwrap();
    assert_ne!(group_id, "Support", "stored by id");
    let id = created["filterId"].as_str().unwrap().to_owned();

    let clash = post(json!({"name": "idle jsm agents"})).await.unwrap();
    problem(clash, StatusCode::CONFLICT).await;
    let unknown =
        problem(post(json!({"name": "x", "criteria": {"groups": ["suport"]}})).await.unwrap(), StatusCode::BAD_REQUEST)
            .await;
    assert_eq!(unknown["errors"][0]["suggestions"][0], "support");
    let nul = problem(post(json!({"name": "a\u{0}", "criteria": {}})).await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert_eq!(nul["errors"][0]["field"], "name");
    let typo =
        problem(post(json!({"name": "x", "criteria": {"inactivedays": 3}})).await.unwrap(), StatusCode::BAD_REQUEST)
            .await;
    assert!(typo["errors"][0]["message"].as_str().unwrap().contains("unknown field"), "{typo:#}");

    let path = format!("/api/v1/saved-filters/{id}");
    let updated = app
        .request(Method::PUT, &path, Some(&app.admin_key))
        .json(&json!({"name": "Idle agents", "criteria": {"statuses": ["active"]}}))
        .send()
        .await
        .unwrap();
    let updated = json_ok(updated).await;
    assert_eq!(updated["name"], "Idle agents");
    assert_eq!(json_ok(app.get(&path).send().await.unwrap()).await, updated);
    assert_eq!(json_ok(app.get("/api/v1/saved-filters").send().await.unwrap()).await.as_array().unwrap().len(), 1);

    let deleted = app.request(Method::DELETE, &path, Some(&app.admin_key)).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    problem(app.get(&path).send().await.unwrap(), StatusCode::NOT_FOUND).await;
}
