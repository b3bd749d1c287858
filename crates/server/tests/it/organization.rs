//! The Atlassian organization over HTTP: admins connect it (the key checked with the
//! simulator, then sealed and never shown), anyone with a key reads its status, a sync reads
//! it into the directory, admins disconnect it.

use atlassian::simulator::{SimOrg, SimSettings, Simulator};
use jiff::SignedDuration;
use model::apikey::ApiKeyRole;
use reqwest::{Method, StatusCode};
use serde_json::json;
use testkit::{TestDb, backend_tests};

use crate::{App, json_ok, problem};

backend_tests!(an_organization_is_connected_synced_and_disconnected_over_the_api);

const KEY: &str = "ATCTT3xFfGN0-api-test-key";

async fn an_organization_is_connected_synced_and_disconnected_over_the_api(db: TestDb) {
    let sim = Simulator::new(SimOrg::generate(80, crate::now(), 5), SimSettings::new(KEY));
    let address = sim.start().await.unwrap();
    let app = App::with_atlassian(db, &format!("http://{address}")).await;
    let status = json_ok(app.get("/api/v1/directory/atlassian").send().await.unwrap()).await;
    assert_eq!((status["backend"].as_str(), &status["atlassian"]), (Some("local"), &json!(null)));

    let connect = |key: &str, expires: &str| json!({"apiKey": key, "keyExpires": expires});
    let bad = app.send(Method::PUT, "/api/v1/directory/atlassian", Some(connect("wrong", "2027-03-01"))).await.unwrap();
    let body = problem(bad, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["errors"][0]["field"], "apiKey", "{body:#}");
    let past = app.send(Method::PUT, "/api/v1/directory/atlassian", Some(connect(KEY, "2026-01-01"))).await.unwrap();
    let body = problem(past, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["errors"][0]["field"], "keyExpires", "{body:#}");
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24)).await;
    let refused = app
        .request(Method::PUT, "/api/v1/directory/atlassian", Some(&reader))
        .json(&connect(KEY, "2027-03-01"))
        .send()
        .await
        .unwrap();
    problem(refused, StatusCode::FORBIDDEN).await;

    let connected =
        json_ok(app.send(Method::PUT, "/api/v1/directory/atlassian", Some(connect(KEY, "2027-03-01"))).await.unwrap())
            .await;
    assert_eq!(connected["orgName"], "Acme (simulated)");
    assert_eq!(connected["keyExpiresOn"], "2027-03-01");
    assert!(!connected.to_string().contains(KEY), "the key is never shown");

    let synced = json_ok(app.send(Method::POST, "/api/v1/directory/sync", None).await.unwrap()).await;
    assert_eq!((synced["backend"].as_str(), synced["users"].as_u64()), (Some("atlassian"), Some(80)));
    let seen =
        json_ok(app.request(Method::GET, "/api/v1/directory/atlassian", Some(&reader)).send().await.unwrap()).await;
    assert_eq!(seen["backend"], "atlassian");
    assert_eq!(seen["users"], 80);
    assert_eq!(seen["atlassian"]["lastSync"]["users"], 80);
    let checked = json_ok(app.send(Method::POST, "/api/v1/directory/atlassian/check", None).await.unwrap()).await;
    assert_eq!(checked["orgId"], connected["orgId"]);

    // A key Atlassian no longer takes: the sync fails with Atlassian's reason, nothing lost.
    sim.settings().key = "rotated".to_owned();
    let failed = app.send(Method::POST, "/api/v1/directory/sync", None).await.unwrap();
    let body = problem(failed, StatusCode::BAD_GATEWAY).await;
    assert!(body["detail"].as_str().unwrap().contains("(401)"), "{body:#}");
    let users = json_ok(app.get("/api/v1/users?pageSize=10").send().await.unwrap()).await;
    assert_eq!(users["total"], 80);

    let gone = app.send(Method::DELETE, "/api/v1/directory/atlassian", None).await.unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let again = app.send(Method::DELETE, "/api/v1/directory/atlassian", None).await.unwrap();
    problem(again, StatusCode::NOT_FOUND).await;
}
