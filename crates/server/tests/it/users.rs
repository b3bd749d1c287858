use reqwest::StatusCode;
use testkit::{TestDb, backend_tests};

use crate::{App, json_ok, problem};

backend_tests!(
    users_are_filtered_paged_and_counted,
    human_names_work_and_unknown_ones_get_suggestions,
    bad_paging_and_unknown_parameters_are_refused,
    one_user_and_the_catalog,
    health_and_unknown_routes,
);

async fn users_are_filtered_paged_and_counted(db: TestDb) {
    let app = App::start(db).await;
    let all = json_ok(app.get("/api/v1/users?pageSize=10").send().await.unwrap()).await;
    assert_eq!(all["total"], 60);
    assert_eq!(all["pageCount"], 6);
    assert_eq!(all["users"].as_array().unwrap().len(), 10);

    let idle = json_ok(app.get("/api/v1/users?apps=JSM&inactiveDays=30&pageSize=200").send().await.unwrap()).await;
    let total = idle["total"].as_u64().unwrap();
    assert!(total > 0 && total < 60, "{total}");
    assert_eq!(idle["users"].as_array().unwrap().len() as u64, total);
    let cutoff = crate::now() - jiff::SignedDuration::from_hours(24 * 30);
    for user in idle["users"].as_array().unwrap() {
        let created: jiff::Timestamp = user["createdAt"].as_str().unwrap().parse().unwrap();
        let jsm: Vec<&serde_json::Value> =
            user["appAccess"].as_array().unwrap().iter().filter(|a| a["appType"] == "jira-servicedesk").collect();
        assert!(!jsm.is_empty(), "{user:#}");
        for access in jsm {
            let last = access["lastActive"].as_str().map_or(created, |t| t.parse().unwrap());
            assert!(last <= cutoff, "JSM used within 30 days: {user:#}");
        }
        assert!(user["userBrowserUrl"].as_str().unwrap().starts_with("https://ucm.example.com/users?accountId="));
    }
    assert_eq!(idle["filter"]["apps"][0], "Jira Service Management", "the filter as understood, with names");
    assert_eq!(
        idle["userBrowserUrl"], "https://ucm.example.com/users?inactiveDays=30&apps=jira-servicedesk",
        "links carry ids, which survive renames and commas in names"
    );

    // Lists: repeated keys and commas mean the same; values of a list are ORed.
    let a = json_ok(app.get("/api/v1/users?statuses=suspended&statuses=invited").send().await.unwrap()).await;
    let b = json_ok(app.get("/api/v1/users?statuses=suspended,invited").send().await.unwrap()).await;
    let suspended = json_ok(app.get("/api/v1/users?statuses=suspended").send().await.unwrap()).await;
    assert_eq!(a["total"], b["total"]);
    assert!(a["total"].as_u64().unwrap() > suspended["total"].as_u64().unwrap());

    // Pages follow one another without overlap.
    let mut seen = std::collections::HashSet::new();
    for page in 1..=6 {
        let body = json_ok(
            app.get(&format!("/api/v1/users?pageSize=10&page={page}&sort=lastActive&order=desc")).send().await.unwrap(),
        )
        .await;
        for user in body["users"].as_array().unwrap() {
            assert!(seen.insert(user["accountId"].as_str().unwrap().to_owned()));
        }
    }
    assert_eq!(seen.len(), 60);
}

async fn human_names_work_and_unknown_ones_get_suggestions(db: TestDb) {
    let app = App::start(db).await;
    let by_name = json_ok(app.get("/api/v1/users?groups=ENGINEERING&site=Acme").send().await.unwrap()).await;
    assert!(by_name["total"].as_u64().unwrap() > 0);

    let body = problem(
        app.get("/api/v1/users?apps=JMS&groups=enginering&site=acme-us").send().await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors[0]["field"], "apps");
    assert_eq!(errors[0]["suggestions"][0], "JSM");
    assert_eq!(errors[1]["suggestions"][0], "engineering");
    assert_eq!(errors[2]["field"], "site");
    assert!(body["detail"].as_str().unwrap().contains("did you mean: JSM?"), "{body:#}");
}

async fn bad_paging_and_unknown_parameters_are_refused(db: TestDb) {
    let app = App::start(db).await;
    for (query, field) in [
        ("pageSize=25", "pageSize"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("inactiveDays=soon", "inactiveDays"),
        ("inactivedays=30", "inactivedays"),
        ("sort=age", "sort"),
        ("order=up", "order"),
        ("emailDomains=a@b", "emailDomains"),
        ("q=%00", "q"),
        ("groups=a%07b", "groups"),
    ] {
        let body =
            problem(app.get(&format!("/api/v1/users?{query}")).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body:#}");
    }
}

async fn one_user_and_the_catalog(db: TestDb) {
    let app = App::start(db).await;
    let admin = app.account_with_role("orgAdmin").await;
    let user = json_ok(app.get(&format!("/api/v1/users/{admin}")).send().await.unwrap()).await;
    assert_eq!(user["accountId"], admin.as_str());
    assert!(user["roles"].as_array().unwrap().iter().any(|r| r["role"] == "orgAdmin"));
    problem(app.get("/api/v1/users/nobody").send().await.unwrap(), StatusCode::NOT_FOUND).await;
    problem(app.get("/api/v1/users/a%00b").send().await.unwrap(), StatusCode::NOT_FOUND).await;

    let sites = json_ok(app.get("/api/v1/sites").send().await.unwrap()).await;
    assert_eq!(sites.as_array().unwrap().len(), 3);
    let apps = json_ok(app.get("/api/v1/apps").send().await.unwrap()).await;
    assert_eq!(apps[1]["appType"], "jira-servicedesk");
    assert_eq!(apps[1]["aliases"][0], "JSM");
    let groups = json_ok(app.get("/api/v1/groups").send().await.unwrap()).await;
    assert!(groups.as_array().unwrap().len() >= 25);

    // A sync on demand: admins only.
    let synced = app.request(reqwest::Method::POST, "/api/v1/directory/sync", Some(&app.admin_key));
    let synced = json_ok(synced.send().await.unwrap()).await;
    assert_eq!((synced["backend"].as_str(), synced["users"].as_u64()), (Some("local"), Some(60)));
    assert_eq!(synced["dailySlot"], "03:00–04:00 Europe/Berlin");
    let reader =
        app.key("reader", model::apikey::ApiKeyRole::ReadOnly, None, jiff::SignedDuration::from_hours(1)).await;
    let refused = app.request(reqwest::Method::POST, "/api/v1/directory/sync", Some(&reader)).send().await.unwrap();
    problem(refused, StatusCode::FORBIDDEN).await;
}

async fn health_and_unknown_routes(db: TestDb) {
    let app = App::start(db).await;
    let health = json_ok(app.request(reqwest::Method::GET, "/healthz", None).send().await.unwrap()).await;
    assert_eq!((health["status"].as_str(), health["database"].as_str()), (Some("ok"), Some("ok")));
    problem(app.get("/api/v1/nothing-here").send().await.unwrap(), StatusCode::NOT_FOUND).await;
    let wrong_method = app.request(reqwest::Method::POST, "/api/v1/users", Some(&app.admin_key)).send().await.unwrap();
    problem(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await;
}
