use reqwest::{Method, StatusCode};
use serde_json::json;
use testkit::{TestDb, backend_tests};

use crate::{App, json_ok, problem};

backend_tests!(created_keys_show_their_secret_once_and_work, key_input_is_checked);

async fn created_keys_show_their_secret_once_and_work(db: TestDb) {
    let app = App::start(db).await;
    let created = app
        .request(Method::POST, "/api/v1/api-keys", Some(&app.admin_key))
        .json(&json!({"name": "reporting", "expiresIn": "30d", "role": "readOnly"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: serde_json::Value = created.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("ucm_"));
    assert_eq!(created["apiKey"]["expiresAt"], "2026-12-28T12:00:00Z");
    assert_eq!(created["apiKey"]["role"], "readOnly");

    json_ok(app.request(Method::GET, "/api/v1/users", Some(&secret)).send().await.unwrap()).await;
    let listed = app.get("/api/v1/api-keys").send().await.unwrap().text().await.unwrap();
    assert!(!listed.contains(&secret), "secrets are never listed");
    assert!(listed.contains(&secret[..10]), "but their prefix is");
    let keys: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let mine = keys.as_array().unwrap().iter().find(|k| k["name"] == "reporting").unwrap();
    assert!(mine["lastUsedAt"].is_string(), "use is recorded");
}

async fn key_input_is_checked(db: TestDb) {
    let app = App::start(db).await;
    for (body, field) in [
        (json!({"name": "", "expiresIn": "30d"}), "name"),
        (json!({"name": "x", "expiresIn": "30 days"}), "expiresIn"),
        (json!({"name": "x", "expiresIn": "9y"}), "expiresIn"),
        (json!({"name": "x", "expiresAt": "2020-01-01T00:00:00Z"}), "expiresAt"),
        (json!({"name": "x", "expiresAt": "9999-01-01T00:00:00Z"}), "expiresAt"),
        (json!({"name": "x", "expiresIn": "2305843009213693953y"}), "expiresIn"),
        (json!({"name": "a\u{0}b"}), "name"),
        (json!({"name": "x", "principal": "nobody"}), "principal"),
        (json!({"name": "x", "role": "root"}), "role"),
        (json!({"name": "x", "colour": "red"}), "colour"),
    ] {
        let response =
            app.request(Method::POST, "/api/v1/api-keys", Some(&app.admin_key)).json(&body).send().await.unwrap();
        let problem = problem(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem:#}");
    }
    let not_json = app
        .request(Method::POST, "/api/v1/api-keys", Some(&app.admin_key))
        .header("content-type", "application/json")
        .body("{name: x")
        .send()
        .await
        .unwrap();
    problem(not_json, StatusCode::BAD_REQUEST).await;
    let keys = json_ok(app.get("/api/v1/api-keys").send().await.unwrap()).await;
    assert_eq!(keys.as_array().unwrap().len(), 1, "nothing was created");
    problem(
        app.request(Method::DELETE, "/api/v1/api-keys/nope", Some(&app.admin_key)).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
}
