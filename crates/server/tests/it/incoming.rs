//! A flow's incoming webhook over HTTP (AUTOMATION §1): each way to authenticate, each refusal,
//! deduplication on `webhook-id`, and the request stored before the 202.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::{TestDb, backend_tests};

use crate::{App, json_ok, problem};

backend_tests!(a_flow_webhook_accepts_stores_and_refuses_as_specified);

async fn a_flow_webhook_accepts_stores_and_refuses_as_specified(db: TestDb) {
    let app = App::start(db).await;
    let local = json!({"name": "local", "kind": "local"});
    assert_eq!(app.send(Method::POST, "/api/v1/connections", Some(local)).await.unwrap().status(), StatusCode::CREATED);
    let definition = |work_items: &str| {
        json!({"name": format!("Audit ({work_items})"), "enabled": true,
               "trigger": {"type": "incomingWebhook", "workItems": work_items},
               "steps": [{"type": "log", "message": "run {{webhookData.processId}}"}]})
    };
    let flow: Value =
        app.send(Method::POST, "/api/v1/flows", Some(definition("none"))).await.unwrap().json().await.unwrap();
    let (id, secret) =
        (flow["flowId"].as_str().unwrap().to_owned(), flow["webhook"]["secret"].as_str().unwrap().to_owned());
    let url = format!("{}/automation/webhooks/{id}", app.base);
    let http = testkit::http_client();
    let payload = r#"{"trigger":"taskSuccess","processId":"0190f2c4-0000-7000-8000-000000000001","name":"Weekly"}"#;
    let post = |url: String| http.post(url).header("content-type", "application/json");

    // 202 with the token header; the request is stored by then, body as received.
    let accepted = post(url.clone()).header("x-automation-webhook-token", &secret).body(payload).send().await.unwrap();
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let execution: Value = accepted.json().await.unwrap();
    let execution_id = execution["executionId"].as_str().unwrap().to_owned();
    let stored = app.db.store.execution(&execution_id).await.unwrap();
    assert_eq!((stored.state.as_str(), stored.body.as_str(), stored.auth.as_str()), ("queued", payload, "token"));
    assert_eq!(stored.source, "127.0.0.1");

    // The secret as the last path segment, and a Standard Webhooks signature.
    let by_path = post(format!("{url}/{secret}")).body(payload).send().await.unwrap();
    assert_eq!(by_path.status(), StatusCode::ACCEPTED);
    let signer = webhooks::SigningSecret::new(&secret).unwrap();
    // The server tells time by the test clock.
    let now = crate::now().as_second();
    let signed = |webhook_id: &str| {
        post(url.clone())
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", signer.sign(webhook_id, now, payload.as_bytes()))
            .body(payload)
    };
    let first: Value = signed("msg_1").send().await.unwrap().json().await.unwrap();
    // The same webhook-id again: the same execution, nothing new stored.
    let again = signed("msg_1").send().await.unwrap();
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["executionId"], first["executionId"]);
    assert_eq!(app.db.store.executions_of_flow(&id, 100).await.unwrap().len(), 3);

    // Refusals. 401 says nothing about why.
    for wrong in
        [post(url.clone()).body(payload), post(url.clone()).header("x-automation-webhook-token", "nope").body(payload)]
    {
        let body = problem(wrong.send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
        assert_eq!(body["detail"], "the webhook secret is missing or wrong");
    }
    for wrong_path in [format!("{url}/nope"), format!("{url}/{}", &secret[..secret.len() - 1])] {
        problem(post(wrong_path).body(payload).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    }
    let bad_signature = post(url.clone())
        .header("webhook-id", "msg_2")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", signer.sign("msg_2", now, b"another body"))
        .body(payload);
    problem(bad_signature.send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    let not_json =
        post(url.clone()).header("x-automation-webhook-token", &secret).body("{trigger:").send().await.unwrap();
    let not_json = problem(not_json, StatusCode::BAD_REQUEST).await;
    assert!(not_json["detail"].as_str().unwrap().starts_with("the body is not valid JSON"), "{not_json:#}");
    let huge = format!(r#"{{"pad":"{}"}}"#, "x".repeat(automation::MAX_BODY_BYTES));
    let huge = post(url.clone()).header("x-automation-webhook-token", &secret).body(huge).send().await.unwrap();
    problem(huge, StatusCode::PAYLOAD_TOO_LARGE).await;
    let unknown = post(format!("{}/automation/webhooks/{}", app.base, model::ids::new_uuid())).body(payload);
    problem(unknown.send().await.unwrap(), StatusCode::NOT_FOUND).await;
    json_ok(app.send(Method::POST, &format!("/api/v1/flows/{id}/disable"), None).await.unwrap()).await;
    let disabled = post(url.clone()).header("x-automation-webhook-token", &secret).body(payload).send().await.unwrap();
    problem(disabled, StatusCode::NOT_FOUND).await;
    json_ok(app.send(Method::POST, &format!("/api/v1/flows/{id}/enable"), None).await.unwrap()).await;

    // A trigger that takes work items refuses a body without them, naming the setting.
    let items: Value =
        app.send(Method::POST, "/api/v1/flows", Some(definition("provided"))).await.unwrap().json().await.unwrap();
    let items_url = format!("{}/automation/webhooks/{}", app.base, items["flowId"].as_str().unwrap());
    let items_secret = items["webhook"]["secret"].as_str().unwrap();
    let missing =
        post(items_url.clone()).header("x-automation-webhook-token", items_secret).body(payload).send().await.unwrap();
    let missing = problem(missing, StatusCode::BAD_REQUEST).await;
    assert!(missing["detail"].as_str().unwrap().contains("workItems: provided"), "{missing:#}");
    let with_items = post(items_url)
        .header("x-automation-webhook-token", items_secret)
        .body(r#"{"issues": ["OPS-1", "OPS-2"]}"#)
        .send()
        .await
        .unwrap();
    let with_items: Value = with_items.json().await.unwrap();
    let stored = app.db.store.execution(with_items["executionId"].as_str().unwrap()).await.unwrap();
    assert_eq!(stored.work_items.as_deref(), Some(r#"["OPS-1","OPS-2"]"#));

    // Over the flow's rate: 429 with Retry-After (this flow has had 4 accepted requests).
    let mut limited = None;
    for _ in 0..crate::WEBHOOK_RATE_PER_MINUTE {
        let response =
            post(url.clone()).header("x-automation-webhook-token", &secret).body(payload).send().await.unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let limited = limited.expect("the rate limit must answer 429");
    let wait: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    problem(limited, StatusCode::TOO_MANY_REQUESTS).await;
}
