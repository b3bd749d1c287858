//! Flows over HTTP: admins save them (every problem listed), see the webhook secret; read-only
//! keys read flows without it and cannot change them.

use jiff::SignedDuration;
use model::apikey::ApiKeyRole;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::{TestDb, backend_tests};

use crate::{App, json_ok, problem};

backend_tests!(
    flows_are_saved_checked_and_their_secret_kept_for_admins,
    a_test_run_with_numbers_that_overflow_answers,
    web_request_credentials_are_hidden_from_readers_and_the_audit_log
);

fn flow() -> Value {
    json!({
        "name": "Jira incident on failure",
        "trigger": {"type": "incomingWebhook"},
        "steps": [
            {"type": "condition", "first": "{{webhookData.trigger}}", "operator": "EQUALS", "second": "taskFailure"},
            {"type": "agent.use", "prompt": "Open an incident for {{webhookData.processId}}", "format": "jira-incident"},
            {"type": "jira.workitem.create", "connection": "local", "project": "OPS", "issueType": "Incident",
             "summary": "{{webhookData.name}} failed", "description": "{{agentResponse}}", "priority": "P2"}
        ]
    })
}

async fn flows_are_saved_checked_and_their_secret_kept_for_admins(db: TestDb) {
    let app = App::start(db).await;
    let local = json!({"name": "local", "kind": "local"});
    assert_eq!(app.send(Method::POST, "/api/v1/connections", Some(local)).await.unwrap().status(), StatusCode::CREATED);

    let created = app.send(Method::POST, "/api/v1/flows", Some(flow())).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let id = created["flowId"].as_str().unwrap().to_owned();
    assert_eq!(created["enabled"], false);
    assert_eq!(created["webhook"]["url"], format!("{}/automation/webhooks/{id}", crate::PUBLIC_URL));
    let secret = created["webhook"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(created["steps"][2]["issueType"], "Incident");

    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24)).await;
    let seen =
        json_ok(app.request(Method::GET, &format!("/api/v1/flows/{id}"), Some(&reader)).send().await.unwrap()).await;
    assert_eq!(seen["webhook"]["secret"], Value::Null, "read-only keys do not see the secret");
    let listed = json_ok(app.request(Method::GET, "/api/v1/flows", Some(&reader)).send().await.unwrap()).await;
    assert!(!listed.to_string().contains(&secret));
    let refused = app.request(Method::POST, "/api/v1/flows", Some(&reader)).json(&flow()).send().await.unwrap();
    problem(refused, StatusCode::FORBIDDEN).await;
    let admin_view = json_ok(app.get(&format!("/api/v1/flows/{id}")).send().await.unwrap()).await;
    assert_eq!(admin_view["webhook"]["secret"], secret.as_str());

    let enabled = json_ok(app.send(Method::POST, &format!("/api/v1/flows/{id}/enable"), None).await.unwrap()).await;
    assert_eq!(enabled["enabled"], true);

    // A test run with a sample payload: its audit record comes back, and stays in the log.
    let sample = json!({"trigger": "taskSuccess", "processId": "0190f2c4-0000-7000-8000-000000000009"});
    let tested =
        json_ok(app.send(Method::POST, &format!("/api/v1/flows/{id}/test"), Some(sample.clone())).await.unwrap()).await;
    assert_eq!(
        (tested["status"].as_str(), tested["auth"].as_str()),
        (Some("NO_ACTIONS_PERFORMED"), Some("test")),
        "{tested:#}"
    );
    assert_eq!(tested["steps"][0]["inputs"]["first"], "taskSuccess");
    assert_eq!(tested["steps"][0]["status"], "CONDITION_NOT_MET");
    let log = json_ok(app.get(&format!("/api/v1/flows/{id}/executions")).send().await.unwrap()).await;
    assert_eq!(log[0]["executionId"], tested["executionId"]);
    let one = json_ok(
        app.get(&format!("/api/v1/executions/{}", tested["executionId"].as_str().unwrap())).send().await.unwrap(),
    )
    .await;
    assert_eq!(one, tested);
    let refused = app
        .request(Method::POST, &format!("/api/v1/flows/{id}/test"), Some(&reader))
        .json(&sample)
        .send()
        .await
        .unwrap();
    problem(refused, StatusCode::FORBIDDEN).await;

    // Every problem at once, each with where it is.
    let mut broken = flow();
    broken["steps"][2]["issueType"] = json!("");
    broken["steps"][1]["prompt"] = json!("{{webhookData.processId");
    broken["steps"][2]["connection"] = json!("jira");
    let bad = problem(
        app.send(Method::PUT, &format!("/api/v1/flows/{id}"), Some(broken)).await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    let fields: Vec<&str> = bad["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["steps[1].prompt", "steps[2].issueType", "steps[2].connection"], "{bad:#}");
    let unknown =
        app.send(Method::POST, "/api/v1/flows", Some(json!({"name": "x", "trigger": {"type": "cron"}, "steps": []})));
    problem(unknown.await.unwrap(), StatusCode::BAD_REQUEST).await;

    // Export, then import: a disabled copy with a new webhook; readers may export, not import.
    let file =
        json_ok(app.request(Method::GET, &format!("/api/v1/flows/{id}/export"), Some(&reader)).send().await.unwrap())
            .await;
    assert!(!file.to_string().contains(&secret), "secrets export as ***");
    assert_eq!(file["rules"][0]["components"][2]["type"], "jira.issue.create");
    let all = json_ok(app.get("/api/v1/flows/export").send().await.unwrap()).await;
    assert_eq!(all, file, "one flow: the whole export is the same file");
    let refused = app.request(Method::POST, "/api/v1/flows/import", Some(&reader)).json(&file).send().await.unwrap();
    problem(refused, StatusCode::FORBIDDEN).await;
    let imported = app.send(Method::POST, "/api/v1/flows/import", Some(file.clone())).await.unwrap();
    assert_eq!(imported.status(), StatusCode::CREATED);
    let imported: Value = imported.json().await.unwrap();
    let copy = &imported["flows"][0]["flow"];
    assert_ne!(copy["flowId"], id.as_str());
    let numbered = Some("Jira incident on failure (2)");
    assert_eq!((copy["enabled"].as_bool(), copy["name"].as_str()), (Some(false), numbered), "the name was taken");
    assert!(copy["webhook"]["secret"].as_str().is_some_and(|s| s != secret));
    assert_eq!(imported["flows"][0]["reconnect"], json!([]));
    let mut garbled = file;
    garbled["rules"][0]["components"][0]["value"] = json!(7);
    let bad =
        problem(app.send(Method::POST, "/api/v1/flows/import", Some(garbled)).await.unwrap(), StatusCode::BAD_REQUEST)
            .await;
    assert_eq!(bad["errors"][0]["field"], "rules[0].components[0].value", "{bad:#}");

    assert_eq!(
        app.send(Method::DELETE, &format!("/api/v1/flows/{id}"), None).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    problem(app.get(&format!("/api/v1/flows/{id}")).send().await.unwrap(), StatusCode::NOT_FOUND).await;
}

/// A test run whose payload overflows a template's arithmetic answers with the failed step and
/// why (it used to drop the connection), and the server goes on answering.
async fn a_test_run_with_numbers_that_overflow_answers(db: TestDb) {
    let app = App::start(db).await;
    let sum = json!({"name": "Sum", "trigger": {"type": "incomingWebhook"},
        "steps": [{"type": "log", "message": "{{webhookData.amount.plus(webhookData.fee)}}"}]});
    let created: Value = app.send(Method::POST, "/api/v1/flows", Some(sum)).await.unwrap().json().await.unwrap();
    let id = created["flowId"].as_str().unwrap();
    let payload = json!({"amount": 7.9e28, "fee": 7.9e28});
    let tested =
        json_ok(app.send(Method::POST, &format!("/api/v1/flows/{id}/test"), Some(payload)).await.unwrap()).await;
    assert_eq!(tested["status"], "FAILURE", "{tested:#}");
    assert_eq!(tested["steps"][0]["status"], "FAILURE");
    let message = tested["steps"][0]["messages"][0].as_str().unwrap();
    assert!(message.contains("`plus`: the result is too large"), "{message}");
    json_ok(app.get(&format!("/api/v1/flows/{id}")).send().await.unwrap()).await;
}

/// A web request step's credentials (a header, a query parameter, a body field) are shown to
/// admin keys only, and never written to the audit log.
async fn web_request_credentials_are_hidden_from_readers_and_the_audit_log(db: TestDb) {
    let app = App::start(db).await;
    let call = json!({"name": "Call out", "trigger": {"type": "incomingWebhook"}, "steps": [{
        "type": "web.request", "method": "POST",
        "url": "http://127.0.0.1:9/hook?token=query-credential&page=2",
        "headers": [{"name": "Authorization", "value": "Bearer header-credential"},
                    {"name": "X-Api-Key", "value": "key-credential"}, {"name": "Accept", "value": "text/plain"}],
        "body": "{\"user\": \"{{webhookData.user}}\", \"password\": \"body-credential\"}"}]});
    let created = app.send(Method::POST, "/api/v1/flows", Some(call)).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let id = created["flowId"].as_str().unwrap();
    let credentials = ["query-credential", "header-credential", "key-credential", "body-credential"];

    let admin = app.get(&format!("/api/v1/flows/{id}")).send().await.unwrap().text().await.unwrap();
    assert!(credentials.iter().all(|c| admin.contains(c)), "admins see the flow as written: {admin}");
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, jiff::SignedDuration::from_hours(1)).await;
    for path in [format!("/api/v1/flows/{id}"), "/api/v1/flows".to_owned()] {
        let seen = app.request(Method::GET, &path, Some(&reader)).send().await.unwrap().text().await.unwrap();
        for credential in credentials {
            assert!(!seen.contains(credential), "{path} shows {credential}: {seen}");
        }
        assert!(seen.contains("page=2") && seen.contains("text/plain") && seen.contains("webhookData.user"), "{seen}");
    }

    let tested = app.send(Method::POST, &format!("/api/v1/flows/{id}/test"), Some(json!({"user": "ada"}))).await;
    let audit = tested.unwrap().text().await.unwrap();
    for credential in credentials {
        assert!(!audit.contains(credential), "the audit log shows {credential}: {audit}");
    }
    assert!(audit.contains("\\\"user\\\": \\\"ada\\\"") && audit.contains("page=2"), "{audit}");
}
