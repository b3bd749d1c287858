use model::apikey::ApiKeyRole;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::{TestDb, backend_tests};

use crate::{App, json_ok, problem};

backend_tests!(webhook_subscriptions_over_http);

async fn webhook_subscriptions_over_http(db: TestDb) {
    let app = App::start(db).await;
    let secret = "a-secret-of-some-length";
    let created = app
        .send(
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

    let refused = app
        .send(
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"name": "Elsewhere", "url": "http://10.0.0.5/hook", "secret": secret, "triggers": ["nope"]})),
        )
        .await
        .unwrap();
    problem(refused, StatusCode::BAD_REQUEST).await;
    let refused = app.send(
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

    // A NUL character (PostgreSQL cannot store one) is refused on both engines; the same six
    // characters as text are kept.
    let nul = json!({"name": "Nul", "url": "http://127.0.0.1:9000/nul", "secret": secret,
                     "triggers": ["orgKeyExpiry"], "notes": "a\u{0}b"});
    let body =
        problem(app.send(Method::POST, "/api/v1/webhooks", Some(nul)).await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert_eq!(body["errors"][0]["field"], "notes", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("NUL"), "{body}");
    let text = json!({"name": "Backslash", "url": "http://127.0.0.1:9000/text", "secret": secret,
                      "triggers": ["orgKeyExpiry"], "notes": "a\\u0000b"});
    let kept = app.send(Method::POST, "/api/v1/webhooks", Some(text)).await.unwrap();
    assert_eq!(kept.status(), StatusCode::CREATED);
    let kept: Value = kept.json().await.unwrap();
    assert_eq!(kept["notes"], "a\\u0000b");
    let kept_id = kept["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.send(Method::DELETE, &format!("/api/v1/webhooks/{kept_id}"), None).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );

    let list = json_ok(app.get("/api/v1/webhooks").send().await.unwrap()).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let updated = app.send(
        Method::PUT,
        &format!("/api/v1/webhooks/{id}"),
        Some(json!({"name": "Local receiver", "url": "http://127.0.0.1:9000/hook", "triggers": ["orgKeyExpiry"], "enabled": false})),
    )
    .await
    .unwrap();
    let updated = json_ok(updated).await;
    assert_eq!((updated["enabled"].clone(), updated["triggers"].clone()), (json!(false), json!(["orgKeyExpiry"])));

    // A test is queued for the subscription and shows in its delivery log.
    let queued = app.send(Method::POST, &format!("/api/v1/webhooks/{id}/test"), None).await.unwrap();
    assert_eq!(queued.status(), StatusCode::ACCEPTED);
    let queued: Value = queued.json().await.unwrap();
    let delivery_id = queued["deliveryId"].as_str().unwrap().to_owned();
    let log = json_ok(app.get(&format!("/api/v1/webhooks/{id}/deliveries")).send().await.unwrap()).await;
    assert_eq!(log[0]["deliveryId"], delivery_id.as_str());
    assert_eq!(log[0]["state"], "pending");
    let detail = json_ok(app.get(&format!("/api/v1/deliveries/{delivery_id}")).send().await.unwrap()).await;
    assert_eq!(detail["attempts"], json!([]));
    assert!(detail["delivery"]["body"].as_str().unwrap().contains("Test from ucm"));
    let bad = app.get(&format!("/api/v1/webhooks/{id}/deliveries?state=lost")).send().await.unwrap();
    problem(bad, StatusCode::BAD_REQUEST).await;
    let again = app
        .send(Method::POST, "/api/v1/deliveries/redeliver", Some(json!({"deliveryIds": [delivery_id]})))
        .await
        .unwrap();
    assert_eq!(json_ok(again).await["redelivered"], 1);
    let nothing = app.send(Method::POST, "/api/v1/deliveries/redeliver", Some(json!({}))).await.unwrap();
    problem(nothing, StatusCode::BAD_REQUEST).await;

    // The outbox's depth on /metrics (any key).
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, jiff::SignedDuration::from_hours(1)).await;
    let metrics = app.request(Method::GET, "/metrics", Some(&reader)).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(metrics.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = metrics.text().await.unwrap();
    assert!(text.contains("ucm_webhook_deliveries{state=\"pending\"} 1"), "{text}");
    assert!(text.contains("ucm_webhook_attempts_total{result=\"succeeded\"} 0"), "{text}");
    assert!(text.contains("ucm_webhook_first_attempt_latency_seconds_count 0"), "{text}");
    problem(app.request(Method::GET, "/metrics", None).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;

    // A URL may carry a credential (a path secret, a token): read-only keys see its origin only.
    let secret_url = "http://127.0.0.1:9000/hook/path-secret-0123456789?token=query-secret";
    let updated = app
        .send(
            Method::PUT,
            &format!("/api/v1/webhooks/{id}"),
            Some(json!({"name": "Local receiver", "url": secret_url, "triggers": ["orgKeyExpiry"]})),
        )
        .await
        .unwrap();
    assert_eq!(json_ok(updated).await["url"], secret_url, "admins see the whole URL");
    for path in [format!("/api/v1/webhooks/{id}"), "/api/v1/webhooks".to_owned()] {
        let seen = app.request(Method::GET, &path, Some(&reader)).send().await.unwrap().text().await.unwrap();
        assert!(seen.contains("\"http://127.0.0.1:9000\""), "{seen}");
        assert!(!seen.contains("path-secret") && !seen.contains("query-secret"), "{seen}");
    }
    let admin_view = json_ok(app.get(&format!("/api/v1/webhooks/{id}")).send().await.unwrap()).await;
    assert_eq!(admin_view["url"], secret_url);

    let forbidden = app.request(Method::DELETE, &format!("/api/v1/webhooks/{id}"), Some(&reader)).send().await.unwrap();
    problem(forbidden, StatusCode::FORBIDDEN).await;
    let deleted = app.send(Method::DELETE, &format!("/api/v1/webhooks/{id}"), None).await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    problem(app.get(&format!("/api/v1/webhooks/{id}")).send().await.unwrap(), StatusCode::NOT_FOUND).await;
}
