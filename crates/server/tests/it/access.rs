use jiff::SignedDuration;
use model::apikey::ApiKeyRole;
use reqwest::{Method, StatusCode};
use serde_json::json;
use testkit::{TestDb, backend_tests};

use crate::{App, json_ok, problem};

backend_tests!(
    missing_wrong_expired_and_revoked_keys_get_401,
    read_only_keys_read_but_change_nothing,
    principals_are_admitted_by_role_and_settings,
    keys_acting_for_a_user_cannot_mint_or_revoke_wider_keys,
    answers_are_not_sniffed_nor_cached_and_oversized_bodies_are_413,
);

/// Every answer is `nosniff` and, unless it says otherwise, `no-store` (API answers carry
/// personal data; a created key's secret is shown once). A body over the cap is 413.
async fn answers_are_not_sniffed_nor_cached_and_oversized_bodies_are_413(db: TestDb) {
    let app = App::start(db).await;
    let created = app
        .send(Method::POST, "/api/v1/api-keys", Some(json!({"name": "once", "role": "readOnly", "expiresIn": "1d"})))
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    for response in [created, app.get("/api/v1/users").send().await.unwrap(), app.get("/nowhere").send().await.unwrap()]
    {
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{}", response.url());
        assert_eq!(response.headers()["cache-control"], "no-store", "{}", response.url());
    }
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let refused = app
        .request(Method::POST, "/api/v1/saved-filters", Some(&app.admin_key))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    let body = problem(refused, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(body["type"], "urn:ucm:problem:too-large", "{body}");
}

/// A product admin admitted by the settings must not escape them: no installation key, no key
/// for somebody else, no revoking other people's keys.
async fn keys_acting_for_a_user_cannot_mint_or_revoke_wider_keys(db: TestDb) {
    let app = App::start(db).await;
    let open = json!({"productAdminsAllowed": true, "userAccessAdminsAllowed": false});
    json_ok(
        app.request(Method::PUT, "/api/v1/settings/access", Some(&app.admin_key)).json(&open).send().await.unwrap(),
    )
    .await;
    let product_admin = app.account_with_role("productAdmin").await;
    let org_admin = app.account_with_role("orgAdmin").await;
    let key = app.key("pa", ApiKeyRole::Admin, Some(&product_admin), DAY).await;
    let create = |body: serde_json::Value| app.request(Method::POST, "/api/v1/api-keys", Some(&key)).json(&body).send();

    problem(create(json!({"name": "unbound"})).await.unwrap(), StatusCode::FORBIDDEN).await;
    problem(create(json!({"name": "as org admin", "principal": org_admin})).await.unwrap(), StatusCode::FORBIDDEN)
        .await;
    let own = create(json!({"name": "mine", "principal": product_admin})).await.unwrap();
    assert_eq!(own.status(), StatusCode::CREATED);

    let keys = json_ok(app.get("/api/v1/api-keys").send().await.unwrap()).await;
    let installation = keys.as_array().unwrap().iter().find(|k| k["name"] == "admin").unwrap()["apiKeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoke =
        app.request(Method::DELETE, &format!("/api/v1/api-keys/{installation}"), Some(&key)).send().await.unwrap();
    problem(revoke, StatusCode::FORBIDDEN).await;
    json_ok(app.get("/api/v1/sites").send().await.unwrap()).await;
}

const DAY: SignedDuration = SignedDuration::from_hours(24);

async fn missing_wrong_expired_and_revoked_keys_get_401(db: TestDb) {
    let app = App::start(db).await;
    let users = "/api/v1/users";
    let missing = app.request(Method::GET, users, None).send().await.unwrap();
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    problem(missing, StatusCode::UNAUTHORIZED).await;
    let wrong =
        problem(app.request(Method::GET, users, Some("ucm_not-a-key")).send().await.unwrap(), StatusCode::UNAUTHORIZED)
            .await;
    assert_eq!(wrong["detail"], "the API key is not valid");
    let basic =
        app.request(Method::GET, users, None).header("authorization", "Basic dXNlcjpwdw==").send().await.unwrap();
    problem(basic, StatusCode::UNAUTHORIZED).await;
    let huge = "x".repeat(10_000);
    problem(app.request(Method::GET, users, Some(&huge)).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;

    let short = app.key("short-lived", ApiKeyRole::Admin, None, DAY).await;
    json_ok(app.request(Method::GET, users, Some(&short)).send().await.unwrap()).await;
    app.clock.advance(DAY * 2);
    let expired =
        problem(app.request(Method::GET, users, Some(&short)).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        expired["detail"],
        "the API key `short-lived` expired at 2026-11-29T12:00:00Z; create a new key (`ucm apikey create`)"
    );

    let keys = json_ok(app.get("/api/v1/api-keys").send().await.unwrap()).await;
    let id = keys.as_array().unwrap().iter().find(|k| k["name"] == "short-lived").unwrap();
    assert_eq!(id["state"], "expired");
    let victim = app.key("victim", ApiKeyRole::Admin, None, DAY * 30).await;
    let keys = json_ok(app.get("/api/v1/api-keys").send().await.unwrap()).await;
    let victim_id = keys.as_array().unwrap().iter().find(|k| k["name"] == "victim").unwrap()["apiKeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = json_ok(
        app.request(Method::DELETE, &format!("/api/v1/api-keys/{victim_id}"), Some(&app.admin_key))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(revoked["state"], "revoked");
    let refused =
        problem(app.request(Method::GET, users, Some(&victim)).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    assert!(refused["detail"].as_str().unwrap().contains("was revoked"), "{refused:#}");
}

async fn read_only_keys_read_but_change_nothing(db: TestDb) {
    let app = App::start(db).await;
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, DAY).await;
    let created = app
        .request(Method::POST, "/api/v1/saved-filters", Some(&app.admin_key))
        .json(&json!({"name": "kept", "criteria": {}}))
        .send()
        .await
        .unwrap();
    let filter_id = created.json::<serde_json::Value>().await.unwrap()["filterId"].as_str().unwrap().to_owned();
    let keys = json_ok(app.get("/api/v1/api-keys").send().await.unwrap()).await;
    let key_id = keys[0]["apiKeyId"].as_str().unwrap().to_owned();
    for (method, path, body) in [
        (Method::PUT, format!("/api/v1/saved-filters/{filter_id}"), Some(json!({"name": "x", "criteria": {}}))),
        (Method::DELETE, format!("/api/v1/saved-filters/{filter_id}"), None),
        (Method::POST, "/api/v1/api-keys".to_owned(), Some(json!({"name": "x"}))),
        (Method::DELETE, format!("/api/v1/api-keys/{key_id}"), None),
    ] {
        let mut request = app.request(method.clone(), &path, Some(&reader));
        if let Some(body) = body {
            request = request.json(&body);
        }
        problem(request.send().await.unwrap(), StatusCode::FORBIDDEN).await;
    }
    let filters = json_ok(app.get("/api/v1/saved-filters").send().await.unwrap()).await;
    assert_eq!(filters[0]["name"], "kept");
    json_ok(app.get("/api/v1/users").send().await.unwrap()).await;
    json_ok(app.request(Method::GET, "/api/v1/users", Some(&reader)).send().await.unwrap()).await;
    json_ok(app.request(Method::GET, "/api/v1/saved-filters", Some(&reader)).send().await.unwrap()).await;
    let create = app
        .request(Method::POST, "/api/v1/saved-filters", Some(&reader))
        .json(&json!({"name": "x", "criteria": {}}))
        .send()
        .await
        .unwrap();
    let body = problem(create, StatusCode::FORBIDDEN).await;
    assert!(body["detail"].as_str().unwrap().contains("read-only"));
    problem(app.request(Method::GET, "/api/v1/api-keys", Some(&reader)).send().await.unwrap(), StatusCode::FORBIDDEN)
        .await;
    let put = app
        .request(Method::PUT, "/api/v1/settings/access", Some(&reader))
        .json(&json!({"productAdminsAllowed": true, "userAccessAdminsAllowed": true}))
        .send()
        .await
        .unwrap();
    problem(put, StatusCode::FORBIDDEN).await;
    assert_eq!(json_ok(app.get("/api/v1/saved-filters").send().await.unwrap()).await.as_array().unwrap().len(), 1);
}

async fn principals_are_admitted_by_role_and_settings(db: TestDb) {
    let app = App::start(db).await;
    let org_admin = app.account_with_role("orgAdmin").await;
    let product_admin = app.account_with_role("productAdmin").await;
    let plain_user = {
        let body = json_ok(
            app.get("/api/v1/users?roles=user&excludeGroups=it-operations&statuses=active").send().await.unwrap(),
        )
        .await;
        body["users"][0]["accountId"].as_str().unwrap().to_owned()
    };
    let as_org_admin = app.key("org", ApiKeyRole::Admin, Some(&org_admin), DAY).await;
    let as_product_admin = app.key("product", ApiKeyRole::Admin, Some(&product_admin), DAY).await;
    let as_user = app.key("user", ApiKeyRole::Admin, Some(&plain_user), DAY).await;
    let get = |key: &str| app.request(Method::GET, "/api/v1/sites", Some(key)).send();

    json_ok(get(&as_org_admin).await.unwrap()).await;
    let denied = problem(get(&as_product_admin).await.unwrap(), StatusCode::FORBIDDEN).await;
    assert!(denied["detail"].as_str().unwrap().contains("not an organization admin"), "{denied:#}");
    problem(get(&as_user).await.unwrap(), StatusCode::FORBIDDEN).await;

    let open = json!({"productAdminsAllowed": true, "userAccessAdminsAllowed": false});
    let put =
        app.request(Method::PUT, "/api/v1/settings/access", Some(&app.admin_key)).json(&open).send().await.unwrap();
    assert_eq!(json_ok(put).await, open);
    json_ok(get(&as_product_admin).await.unwrap()).await;
    problem(get(&as_user).await.unwrap(), StatusCode::FORBIDDEN).await;

    let bad = app
        .request(Method::PUT, "/api/v1/settings/access", Some(&app.admin_key))
        .json(&json!({"productAdminsAllowed": "yes"}))
        .send()
        .await
        .unwrap();
    let body = problem(bad, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["errors"][0]["field"], "productAdminsAllowed");
}
