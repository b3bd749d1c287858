use std::time::Duration;

use jiff::SignedDuration;
use model::apikey::ApiKeyRole;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::{TestDb, backend_tests};

use crate::{App, PUBLIC_URL, json_ok, problem};

backend_tests!(a_task_over_http_from_save_to_results, bulk_operations_and_the_execution_limit);

/// Polls a run until it has an outcome.
async fn finished(app: &App, process_id: &str) -> Value {
    for _ in 0..200 {
        let run = json_ok(app.get(&format!("/api/v1/runs/{process_id}")).send().await.unwrap()).await;
        if run["state"] != "running" {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("run {process_id} did not finish");
}

async fn a_task_over_http_from_save_to_results(db: TestDb) {
    let app = App::start(db).await;
    let filter = app
        .send(
            Method::POST,
            "/api/v1/saved-filters",
            Some(json!({"name": "Contractors", "criteria": {"groups": ["contractors"]}})),
        )
        .await
        .unwrap();
    assert_eq!(filter.status(), StatusCode::CREATED);

    // Every problem at once, by field.
    let bad = app
        .send(
            Method::POST,
            "/api/v1/tasks",
            Some(json!({"name": "Offboard", "filterId": "Contractrs", "actions": [],
                     "schedule": {"type": "cron", "expr": "0 25 * * *", "timeZone": "Mars/Base"}})),
        )
        .await
        .unwrap();
    let bad = problem(bad, StatusCode::BAD_REQUEST).await;
    let fields: Vec<&str> = bad["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["filterId", "actions", "schedule.timeZone"]);
    assert_eq!(bad["errors"][0]["suggestions"][0], "Contractors");
    let unknown_field = app
        .send(Method::POST, "/api/v1/tasks", Some(json!({"name": "x", "filterId": "x", "actions": [], "colour": 1})))
        .await
        .unwrap();
    problem(unknown_field, StatusCode::BAD_REQUEST).await;

    let created = app
        .send(
            Method::POST,
            "/api/v1/tasks",
            Some(json!({"name": "Offboard contractors", "filterId": "contractors",
                     "actions": [{"type": "removeAppAccess", "all": true}, {"type": "suspendUsers"}],
                     "schedule": {"type": "weekly", "days": ["mon"], "time": "05:00", "timeZone": "Europe/Berlin"}})),
        )
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let task: Value = created.json().await.unwrap();
    let task_id = task["taskId"].as_str().unwrap().to_owned();
    assert_eq!(task["updatedBy"], "admin");
    // 2026-11-28 is a Saturday: Monday 05:00 in Berlin is 04:00 UTC.
    assert_eq!(task["nextRunAt"], "2026-11-30T04:00:00Z");
    assert_eq!(task["active"], true);

    let paused = json_ok(app.send(Method::POST, &format!("/api/v1/tasks/{task_id}/pause"), None).await.unwrap()).await;
    assert_eq!((paused["active"].clone(), paused["nextRunAt"].clone()), (json!(false), Value::Null));
    json_ok(app.send(Method::POST, &format!("/api/v1/tasks/{task_id}/resume"), None).await.unwrap()).await;

    let preview =
        json_ok(app.send(Method::POST, &format!("/api/v1/tasks/{task_id}/preview?sample=2"), None).await.unwrap())
            .await;
    let would_change = preview["wouldChange"].as_u64().unwrap();
    assert!(would_change > 0);
    assert!(preview["userChanges"].as_array().unwrap().len() <= 2);

    // A read-only key may read but not run.
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24)).await;
    let refused =
        app.request(Method::POST, &format!("/api/v1/tasks/{task_id}/run"), Some(&reader)).send().await.unwrap();
    problem(refused, StatusCode::FORBIDDEN).await;
    let nobody = app.request(Method::GET, "/api/v1/runs", None).send().await.unwrap();
    problem(nobody, StatusCode::UNAUTHORIZED).await;

    let started = app.send(Method::POST, &format!("/api/v1/tasks/{task_id}/run"), None).await.unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let started: Value = started.json().await.unwrap();
    let process_id = started["processId"].as_str().unwrap().to_owned();
    assert_eq!(started["run"], format!("/api/v1/runs/{process_id}"));
    assert_eq!(started["deepLink"], format!("{PUBLIC_URL}/tasks?taskId={task_id}&processId={process_id}"));

    let run = finished(&app, &process_id).await;
    assert_eq!(run["outcome"], "success");
    assert_eq!(run["source"], "automatedTask");
    assert_eq!(run["actionTypes"], json!(["removeAppAccess", "suspendUsers"]));
    assert_eq!(run["startedBy"], "admin");
    assert_eq!(run["summary"]["usersUpdated"].as_u64().unwrap(), would_change, "the preview predicted the run");
    assert_eq!(run["progress"]["done"], run["progress"]["total"]);
    let first = &run["userChanges"][0];
    let account = first["accountId"].as_str().unwrap().to_owned();
    assert!(first["userBrowserUrl"].as_str().unwrap().starts_with(&format!("{PUBLIC_URL}/users?accountId=")));

    // The user is suspended now; the run is found by the user it touched.
    let user = json_ok(app.get(&format!("/api/v1/users/{account}")).send().await.unwrap()).await;
    assert_eq!(user["status"], "suspended");
    let runs =
        json_ok(app.get(&format!("/api/v1/runs?accountId={account}&outcome=success")).send().await.unwrap()).await;
    assert_eq!(runs.as_array().unwrap().len(), 1);
    assert_eq!(runs[0]["processId"], process_id.as_str());
    assert!(runs[0].get("userChanges").is_none(), "lists carry summaries only");
    let bad_query = app.get("/api/v1/runs?outcom=success").send().await.unwrap();
    assert_eq!(problem(bad_query, StatusCode::BAD_REQUEST).await["errors"][0]["suggestions"][0], "outcome");

    // Paging and the export.
    let page = json_ok(app.get(&format!("/api/v1/runs/{process_id}?limit=1")).send().await.unwrap()).await;
    assert_eq!(page["userChanges"].as_array().unwrap().len(), 1);
    let cursor = page["nextCursor"].as_str().unwrap();
    let next =
        json_ok(app.get(&format!("/api/v1/runs/{process_id}?limit=1&cursor={cursor}")).send().await.unwrap()).await;
    assert_ne!(next["userChanges"][0]["accountId"], page["userChanges"][0]["accountId"]);
    let export = app.get(&format!("/api/v1/runs/{process_id}/export")).send().await.unwrap();
    assert_eq!(
        export.headers()["content-disposition"].to_str().unwrap(),
        format!("attachment; filename=\"run-{process_id}.json\"")
    );
    let export: Value = export.json().await.unwrap();
    assert_eq!(
        export["userChanges"].as_array().unwrap().len() as u64,
        export["summary"]["totalUserChanges"].as_u64().unwrap()
    );
    let unchanged =
        json_ok(app.get(&format!("/api/v1/runs/{process_id}/users?status=unchanged&limit=5")).send().await.unwrap())
            .await;
    for user in unchanged["users"].as_array().unwrap() {
        assert_eq!(user["status"], "unchanged");
        assert!(user["items"].as_array().unwrap().iter().all(|i| i["outcome"] == "unchanged"), "{user}");
    }
    let bad = app.get(&format!("/api/v1/runs/{process_id}/users?status=gone")).send().await.unwrap();
    problem(bad, StatusCode::BAD_REQUEST).await;
    problem(app.get("/api/v1/runs/nope").send().await.unwrap(), StatusCode::NOT_FOUND).await;
    let done = app.send(Method::POST, &format!("/api/v1/runs/{process_id}/cancel"), None).await.unwrap();
    problem(done, StatusCode::CONFLICT).await;

    let deleted = app.send(Method::DELETE, &format!("/api/v1/tasks/{task_id}"), None).await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    json_ok(app.get(&format!("/api/v1/runs/{process_id}")).send().await.unwrap()).await;
}

async fn bulk_operations_and_the_execution_limit(db: TestDb) {
    let app = App::start(db).await;
    let post = |path: &str, body: Value| app.request(Method::POST, path, Some(&app.admin_key)).json(&body).send();
    let admin_id = app.account_with_role("orgAdmin").await;
    let users = json_ok(app.get("/api/v1/users?statuses=active&pageSize=10").send().await.unwrap()).await;
    let plain = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["accountId"].as_str().unwrap().to_owned())
        .find(|id| *id != admin_id)
        .unwrap();

    let limit = app
        .request(Method::PUT, "/api/v1/settings/execution-limit", Some(&app.admin_key))
        .json(&json!({"maxUsers": 1}))
        .send()
        .await
        .unwrap();
    json_ok(limit).await;
    let body =
        json!({"actions": [{"type": "addToGroups", "groupIds": ["security"]}], "filter": {"statuses": ["active"]}});
    let preview = json_ok(post("/api/v1/bulk-operations/preview", body.clone()).await.unwrap()).await;
    assert_eq!((preview["limit"].clone(), preview["overLimit"].clone()), (json!(1), json!(true)));
    let over = problem(post("/api/v1/bulk-operations", body.clone()).await.unwrap(), StatusCode::CONFLICT).await;
    assert!(over["detail"].as_str().unwrap().contains("more than the execution limit of 1"), "{over}");

    let by_id = json!({"actions": [{"type": "suspendUsers"}], "accountIds": [plain, admin_id]});
    let started = post("/api/v1/bulk-operations", by_id).await.unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let started: Value = started.json().await.unwrap();
    let run = finished(&app, started["processId"].as_str().unwrap()).await;
    assert_eq!(run["source"], "bulkOperation");
    assert_eq!(run["taskId"], Value::Null);
    assert_eq!(
        (run["summary"]["usersSuspended"].clone(), run["summary"]["usersSkipped"].clone()),
        (json!(1), json!(1))
    );
    let admin = json_ok(app.get(&format!("/api/v1/users/{admin_id}")).send().await.unwrap()).await;
    assert_eq!(admin["status"], "active", "organization admins are never changed");

    let confirmed =
        post("/api/v1/bulk-operations", json!({"confirm": true, "actions": body["actions"], "filter": body["filter"]}))
            .await
            .unwrap();
    assert_eq!(confirmed.status(), StatusCode::ACCEPTED);
    let bad = post("/api/v1/bulk-operations", json!({"actions": [{"type": "suspendUsers"}]})).await.unwrap();
    assert_eq!(problem(bad, StatusCode::BAD_REQUEST).await["errors"][0]["field"], "accountIds");
    // NUL and other control characters stop before any query (PostgreSQL refuses them).
    let nul =
        post("/api/v1/bulk-operations", json!({"actions": [{"type": "suspendUsers"}], "accountIds": ["a\u{0}b"]}))
            .await
            .unwrap();
    assert_eq!(problem(nul, StatusCode::BAD_REQUEST).await["errors"][0]["field"], "accountIds[0]");
    let nul = app.get("/api/v1/runs?accountId=%00").send().await.unwrap();
    problem(nul, StatusCode::BAD_REQUEST).await;
    let nul = post("/api/v1/tasks", json!({"name": "n", "filterId": "a\u{0}", "actions": [{"type": "suspendUsers"}]}))
        .await
        .unwrap();
    assert_eq!(problem(nul, StatusCode::BAD_REQUEST).await["errors"][0]["field"], "filterId");
}
