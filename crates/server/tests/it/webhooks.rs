use model::apikey::ApiKeyRole;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::{TestDb, backend_tests};

use crate::{App, json_ok, problem};

backend_tests!(webhook_subscriptions_over_http);

async fn webhook_subscriptions_over_http(db: TestDb) {
    let app = App::start(db).await;
    let send = |method: Method, path: &str, body: Option<Value>| {
        let request = app.request(method, path, Some(&app.admin_key));
        match body {
            Some(body) => request.json(&body).send(),
            None => request.send(),
        }
    };
    let secret = "a-secret-of-some-length";
    let created = send(
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({"name": "Local receiver", "url": "http://127.0.0.1:9000/hook", "secret": secret,
                     "triggers": ["taskSuccess", "taskFailure"], "notes": "tests"})),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let text = created.text().await.unwrap();
    assert!(!text.contains(secret) && !text.contains("\"secret\""), "the secret never comes back: {text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["enabled"], true);
    assert_eq!(created["triggers"], json!(["taskSuccess", "taskFailure"]));

    let refused = send(
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({"name": "Elsewhere", "url": "http://10.0.0.5/hook", "secret": secret, "triggers": ["nope"]})),
    )
    .await
    .unwrap();
    problem(refused, StatusCode::BAD_REQUEST).await;
    let refused = send(
        Method::POST,
        "/api/v1/webhooks",
        Some(
            json!({"name": "Elsewhere", "url": "http://10.0.0.5/hook", "secret": secret, "triggers": ["orgKeyExpiry"]}),
        ),
    )
    .await
    .unwrap();
    let body = problem(refused, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["errors"][0]["field"], "url");

    let list = json_ok(app.get("/api/v1/webhooks").send().await.unwrap()).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let updated = send(
        Method::PUT,
        &format!("/api/v1/webhooks/{id}"),
        Some(json!({"name": "Local receiver", "url": "http://127.0.0.1:9000/hook", "triggers": ["orgKeyExpiry"], "enabled": false})),
    )
    .await
    .unwrap();
    let updated = json_ok(updated).await;
    assert_eq!((updated["enabled"].clone(), updated["triggers"].clone()), (json!(false), json!(["orgKeyExpiry"])));

    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, jiff::SignedDuration::from_hours(1)).await;
    let forbidden = app.request(Method::DELETE, &format!("/api/v1/webhooks/{id}"), Some(&reader)).send().await.unwrap();
    problem(forbidden, StatusCode::FORBIDDEN).await;
    let deleted = send(Method::DELETE, &format!("/api/v1/webhooks/{id}"), None).await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    problem(app.get(&format!("/api/v1/webhooks/{id}")).send().await.unwrap(), StatusCode::NOT_FOUND).await;
}
