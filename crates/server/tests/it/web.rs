//! The web UI over HTTP: signing in with an API key opens a session cookie (HttpOnly,
//! SameSite=Strict, Secure under an https public URL); forms need the session's CSRF token; a
//! revoked key's session ends; the local connection's outputs are shown as people see them,
//! with what came from flows escaped.

use std::collections::HashMap;

use jiff::SignedDuration;
use model::apikey::ApiKeyRole;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use testkit::{TestDb, backend_tests};

use crate::App;

backend_tests!(
    signing_in_opens_a_session_that_forms_and_revocation_respect,
    outputs_are_shown_as_people_see_them,
    flows_and_their_audit_log_are_shown_and_only_admins_change_them,
    the_user_browser_filters_pages_and_opens_deep_links,
    tasks_run_now_and_their_result_opens_from_its_link,
    the_dashboard_shows_license_health_and_the_latest_runs,
    settings_show_keys_access_and_webhooks_with_their_log,
    flows_are_written_imported_and_exported_in_the_browser,
    bulk_operations_are_reviewed_then_run,
    tasks_are_written_previewed_paused_and_edited_in_the_browser,
    flows_are_written_step_by_step,
    keys_and_webhooks_are_made_and_removed_in_settings,
    quarantined_runs_are_approved_or_rejected_from_their_dialog,
    running_runs_are_stopped_from_their_dialog,
    the_atlassian_organization_is_connected_checked_synced_and_disconnected_in_settings,
    links_ucm_writes_open_pages_and_browsers_get_pages,
);

/// Every address ucm puts in a payload or an email opens a page: Settings' sections by address
/// (`settingsUrl`), a test event's deep link; a browser on an unknown address gets the HTML
/// error page with a way back, the API a problem detail.
async fn links_ucm_writes_open_pages_and_browsers_get_pages(db: TestDb) {
    let app = App::start(db).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key, "/").await;
    let settings_url = model::webhook::KeyExpiryEvent::new(
        "k1".into(),
        "ci".into(),
        "2026-12-03T09:00:00Z".parse().unwrap(),
        &app.base,
    )
    .settings_url;
    for (path, anchor) in [
        (settings_url.trim_start_matches(&app.base).to_owned(), "api-keys"),
        ("/settings/webhooks".to_owned(), "webhooks"),
        ("/settings/access".to_owned(), "access"),
    ] {
        let response = browser.get(&path).await;
        assert_eq!(location(&response), format!("/settings#{anchor}"), "{path}");
        let page = browser.get("/settings").await.text().await.unwrap();
        assert!(page.contains(&format!("id=\"{anchor}\"")), "{anchor}");
    }
    let test_link = browser.get("/tasks?taskId=test&processId=01a2452d-8d1d-7201-b4b9-fed7c6fef61e").await;
    assert_eq!(test_link.status(), StatusCode::OK);
    assert!(test_link.text().await.unwrap().contains("This link came from a test webhook"));

    let http = reqwest::Client::new();
    let page =
        http.get(format!("{}/settings/nothing-here", app.base)).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("Page not found") && html.contains("href=\"/\""), "{html}");
    let api = http.get(format!("{}/api/v1/nothing-here", app.base)).header("accept", "text/html").send().await.unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert!(api.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"));
}

/// A browser: no redirects followed, cookies kept, each with the attributes it was set with.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: HashMap<String, (String, String)>,
}

impl Browser {
    fn new(app: &App) -> Self {
        let _ = testkit::http_client();
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { http, base: app.base.clone(), cookies: HashMap::new() }
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for set in response.headers().get_all(SET_COOKIE) {
            let set = set.to_str().unwrap().to_owned();
            let (pair, attributes) = set.split_once(';').unwrap_or((&set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), (value.to_owned(), attributes.trim().to_owned()));
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(name, (value, _))| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }

    async fn get(&mut self, path: &str) -> reqwest::Response {
        let response =
            self.http.get(format!("{}{path}", self.base)).header(COOKIE, self.cookie_header()).send().await.unwrap();
        self.keep(&response);
        response
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let body = serde_urlencoded::to_string(form).unwrap();
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response
    }

    /// Opens the sign-in form and sends `key` with it.
    async fn sign_in(&mut self, key: &str, next: &str) -> reqwest::Response {
        let form = self.get(&format!("/sign-in?next={}", urlencode(next))).await.text().await.unwrap();
        let token = hidden(&form, "form_token");
        self.post("/sign-in", &[("api_key", key), ("form_token", &token), ("next", next)]).await
    }
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("x", text)]).unwrap().trim_start_matches("x=").to_owned()
}

/// The value of the hidden field `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn location(response: &reqwest::Response) -> &str {
    response.headers().get(LOCATION).unwrap().to_str().unwrap()
}

async fn signing_in_opens_a_session_that_forms_and_revocation_respect(db: TestDb) {
    let app = App::start(db).await;
    let mut browser = Browser::new(&app);

    // Not signed in: to the sign-in form, which comes back here.
    let response = browser.get("/outputs?kind=page").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/sign-in?next=%2Foutputs%3Fkind%3Dpage");
    let form = browser.get("/sign-in?next=/outputs").await;
    assert_eq!(form.status(), StatusCode::OK);
    let policy = form.headers().get(CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap().to_owned();
    assert!(policy.contains("default-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
    let (_, attributes) = &browser.cookies["ucm_sign_in"];
    assert!(attributes.contains("HttpOnly") && attributes.contains("SameSite=Strict") && attributes.contains("Secure"));

    // A wrong key says so and opens nothing; a form not paired with this browser is refused.
    let wrong = browser.sign_in("ucm_not-a-real-key", "/outputs").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("the API key is not valid"));
    assert!(!browser.cookies.contains_key("ucm_session"));
    let mut stranger = Browser::new(&app);
    let forged = stranger
        .post("/sign-in", &[("api_key", app.admin_key.as_str()), ("form_token", "guessed"), ("next", "/")])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(!stranger.cookies.contains_key("ucm_session"));

    // The right key: a session, and back to where we were going.
    let signed_in = browser.sign_in(&app.admin_key, "/outputs").await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_in), "/outputs");
    let (session, attributes) = browser.cookies["ucm_session"].clone();
    assert!(session.len() >= 40, "{session}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/", "Max-Age=43200"] {
        assert!(attributes.contains(attribute), "{attribute} in {attributes}");
    }
    assert!(!browser.cookies.contains_key("ucm_sign_in"), "the form's cookie is done with");
    // The database holds the cookie's hash and no CSRF token: neither is enough to forge a form.
    let stored = {
        use model::clock::Clock as _;
        app.db.store.web_session(&model::apikey::hash_secret(&session), app.clock.now()).await.unwrap().unwrap()
    };
    assert_eq!(stored.csrf_token, "");
    // A form field with a NUL character is refused before any handler (both engines alike).
    let nul = browser.post("/settings/keys", &[("name", "a\0b"), ("role", "admin"), ("expires_in", "1d")]).await;
    assert_eq!(nul.status(), StatusCode::BAD_REQUEST);
    assert!(nul.text().await.unwrap().contains("NUL character"));
    let page = browser.get("/outputs").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign out") && html.contains(">admin <span class=\"role\">admin</span>"), "{html}");
    // The session's value is not in the database, only its hash.
    assert!(app.db.store.web_session(&session, crate::now()).await.unwrap().is_none());

    // Signing out needs the session's CSRF token.
    let refused = browser.post("/sign-out", &[("csrf", "forged")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(browser.get("/outputs").await.status(), StatusCode::OK, "still signed in");
    let out = browser.post("/sign-out", &[("csrf", &hidden(&html, "csrf"))]).await;
    assert_eq!((out.status(), location(&out)), (StatusCode::SEE_OTHER, "/sign-in"));
    assert!(!browser.cookies.contains_key("ucm_session"));
    let mut replay = Browser::new(&app);
    replay.cookies.insert("ucm_session".into(), (session, String::new()));
    assert_eq!(replay.get("/outputs").await.status(), StatusCode::SEE_OTHER, "the old cookie is dead");

    // Only this site's paths are followed after signing in.
    for elsewhere in ["//evil.example/", "/\t/evil.example", "/\\evil.example"] {
        let response = browser.sign_in(&app.admin_key, elsewhere).await;
        assert_eq!(location(&response), "/", "{elsewhere:?}");
    }

    // A revoked key's session ends at its next page.
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24)).await;
    let mut readers = Browser::new(&app);
    assert_eq!(readers.sign_in(&reader, "/outputs").await.status(), StatusCode::SEE_OTHER);
    let html = readers.get("/outputs").await.text().await.unwrap();
    assert!(html.contains("read-only"), "read-only keys may read the views");
    let keys = app.db.store.api_keys().await.unwrap();
    let reader_id = keys.iter().find(|k| k.name == "reader").unwrap().api_key_id.clone();
    app.db.store.revoke_api_key(&reader_id, crate::now()).await.unwrap();
    assert_eq!(readers.get("/outputs").await.status(), StatusCode::SEE_OTHER);
}

async fn outputs_are_shown_as_people_see_them(db: TestDb) {
    let app = App::start(db).await;
    let store = &app.db.store;
    let now = crate::now();
    let page = connectors::local::page(
        store,
        now,
        "ITOPS",
        "Audit <script>alert('title')</script>",
        "# User changes\n\n**3 users** changed.\n\n<script>alert('body')</script>\n\n| user | change |\n|---|---|\n| Ada | +jira |\n",
    )
    .await
    .unwrap();
    let message =
        connectors::local::message(store, now, "#it-ops", "*Onboard contractors* ran: <https://example.com/r|the run>")
            .await
            .unwrap();
    let item = connectors::jira::WorkItem {
        project_key: "ITOPS".into(),
        issue_type: "Incident".into(),
        summary: "Task failed: Onboard contractors".into(),
        markdown: "What went wrong: **nothing yet**".into(),
        due_date: Some("2026-12-02".into()),
        priority: Some("P2".into()),
        labels: vec!["user-manager".into(), "task-failure".into()],
    };
    connectors::local::work_item(store, now, &item).await.unwrap();
    let email = connectors::email::Email {
        to: vec!["it-ops@example.com".into()],
        cc: vec![],
        bcc: vec!["audit@example.com".into()],
        subject: "API key expires soon".into(),
        markdown: "Renew it: [settings](https://ucm.example.com/settings/api-keys)".into(),
    };
    connectors::local::email(store, now, &email).await.unwrap();

    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key, "/").await;
    let list = browser.get("/outputs").await.text().await.unwrap();
    for title in ["Audit &#60;script&#62;", "#it-ops", "Task failed: Onboard contractors", "API key expires soon"] {
        assert!(list.contains(title), "{title} in {list}");
    }
    assert!(!list.contains("<script>alert"), "what flows wrote is escaped");
    let messages = browser.get("/outputs?kind=message").await.text().await.unwrap();
    assert!(messages.contains("#it-ops") && !messages.contains("API key expires soon"));
    assert!(messages.contains("aria-current=\"page\">Messages"), "{messages}");
    let bad = browser.get("/outputs?kind=poems").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("choose one of page, message, workItem, email"));

    let shown = browser.get(&format!("/outputs/{}", page.id)).await.text().await.unwrap();
    assert!(shown.contains("<h1>User changes</h1>") && shown.contains("<strong>3 users</strong>"), "{shown}");
    assert!(shown.contains("<td>Ada</td>"), "tables render: {shown}");
    assert!(!shown.contains("<script>alert"), "raw HTML is shown as text: {shown}");
    let slack = browser.get(&format!("/outputs/{}", message.id)).await.text().await.unwrap();
    assert!(slack.contains("href=\"https://example.com/r\"") && slack.contains(">the run</a>"), "{slack}");
    assert!(slack.contains("Slack mrkdwn as sent"), "{slack}");
    let work_item = browser.get("/outputs/LOCAL-1").await.text().await.unwrap();
    for shown in
        ["LOCAL-1", "Incident", "P2", "2026-12-02", "user-manager, task-failure", "<strong>nothing yet</strong>"]
    {
        assert!(work_item.contains(shown), "{shown} in {work_item}");
    }
    let missing = browser.get("/outputs/nothing-here").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.text().await.unwrap().contains("No such output"));

    // The assets are served from the binary; nothing else is.
    let css = browser.get("/static/app.css").await;
    assert_eq!(css.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
    let htmx = browser.get("/static/htmx-2.0.11.min.js").await;
    assert_eq!(htmx.status(), StatusCode::OK);
    assert!(htmx.text().await.unwrap().starts_with("var htmx="));
    assert_eq!(browser.get("/static/../Cargo.toml").await.status(), StatusCode::NOT_FOUND);
}

async fn flows_and_their_audit_log_are_shown_and_only_admins_change_them(db: TestDb) {
    let app = App::start(db).await;
    let local = serde_json::json!({"name": "local", "kind": "local"});
    assert_eq!(app.send(reqwest::Method::POST, "/api/v1/connections", Some(local)).await.unwrap().status(), 201);
    let flow = serde_json::json!({
        "name": "Alert <b>ops</b>", "trigger": {"type": "incomingWebhook"},
        "steps": [
            {"type": "condition", "first": "{{webhookData.trigger}}", "operator": "EQUALS", "second": "taskFailure"},
            {"type": "slack.message.send", "connection": "local", "channel": "#it-ops", "message": "failed: {{webhookData.name}}"}
        ]
    });
    let created = app.send(reqwest::Method::POST, "/api/v1/flows", Some(flow)).await.unwrap();
    let created: serde_json::Value = created.json().await.unwrap();
    let (id, secret) =
        (created["flowId"].as_str().unwrap().to_owned(), created["webhook"]["secret"].as_str().unwrap().to_owned());
    let sample =
        serde_json::json!({"trigger": "taskFailure", "name": "Nightly <cleanup>", "token": "tok-s3cret-value"});
    let tested = app.send(reqwest::Method::POST, &format!("/api/v1/flows/{id}/test"), Some(sample)).await.unwrap();
    assert_eq!(tested.status(), 200);

    let mut admin = Browser::new(&app);
    admin.sign_in(&app.admin_key, "/automation").await;
    let list = admin.get("/automation").await.text().await.unwrap();
    assert!(list.contains("Alert &#60;b&#62;ops&#60;/b&#62;") && list.contains("disabled"), "{list}");
    let page = admin.get(&format!("/automation/flows/{id}")).await.text().await.unwrap();
    assert!(page.contains(&secret), "admins see the secret");
    assert!(page.contains(&format!("/automation/webhooks/{id}")));
    // The audit log: the rendered inputs, the output, credentials hidden, everything escaped.
    assert!(page.contains("SUCCESS") && page.contains("failed: Nightly &#60;cleanup&#62;"), "{page}");
    assert!(page.contains("slackMessage") && !page.contains("tok-s3cret-value"), "{page}");

    // Enabling needs the session's token.
    let refused = admin.post(&format!("/automation/flows/{id}/enable"), &[("csrf", "forged")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let enabled = admin.post(&format!("/automation/flows/{id}/enable"), &[("csrf", &hidden(&page, "csrf"))]).await;
    assert_eq!(
        (enabled.status(), location(&enabled)),
        (StatusCode::SEE_OTHER, format!("/automation/flows/{id}").as_str())
    );
    assert!(app.db.store.flow(&id).await.unwrap().enabled);

    // A read-only key reads the flow without its secret or the controls, and cannot change it.
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24)).await;
    let mut readers = Browser::new(&app);
    readers.sign_in(&reader, "/").await;
    let page = readers.get(&format!("/automation/flows/{id}")).await.text().await.unwrap();
    assert!(!page.contains(&secret) && !page.contains("/disable"), "{page}");
    let csrf = hidden(&page, "csrf");
    let refused = readers.post(&format!("/automation/flows/{id}/disable"), &[("csrf", &csrf)]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("read-only"));
    assert!(app.db.store.flow(&id).await.unwrap().enabled, "unchanged");
    assert_eq!(readers.get("/automation/flows/no-such-flow").await.status(), StatusCode::NOT_FOUND);
}

async fn the_user_browser_filters_pages_and_opens_deep_links(db: TestDb) {
    let app = App::start(db).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key, "/users").await;
    let all = crate::json_ok(app.get("/api/v1/users?pageSize=10").send().await.unwrap()).await;
    let total = all["total"].as_u64().unwrap();
    let html = browser.get("/users").await.text().await.unwrap();
    assert!(html.contains(&format!("{total} users · page 1 of {}", total.div_ceil(20))), "{html}");
    let html = browser.get("/users?pageSize=10&page=2").await.text().await.unwrap();
    assert!(html.contains(&format!("page 2 of {}", total.div_ceil(10))), "{html}");
    assert!(html.contains("rel=\"prev\"") && html.contains("rel=\"next\""), "{html}");
    assert!(html.contains("<option value=\"10\" selected>"), "the page size is kept");

    // The same criteria as the API, the same answer; the form keeps what was asked.
    let api = crate::json_ok(app.get("/api/v1/users?apps=JSM&inactiveDays=30").send().await.unwrap()).await;
    let html = browser.get("/users?apps=JSM&inactiveDays=30&groups=").await.text().await.unwrap();
    assert!(html.contains(&format!("{} users", api["total"])), "{html}");
    assert!(html.contains("name=\"apps\" type=\"text\" value=\"JSM\""), "{html}");
    // An unknown name: the problem, with suggestions, and a 400.
    let bad = browser.get("/users?apps=Jria").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let html = bad.text().await.unwrap();
    assert!(html.contains("<strong>apps</strong>") && html.contains("did you mean"), "{html}");
    let html = browser.get("/users?q=%3Cscript%3E").await.text().await.unwrap();
    assert!(html.contains("value=\"&#60;script&#62;\"") && !html.contains("<script>"), "escaped");

    // The link the agent's formats and the API give for one user.
    let user = &all["users"][0];
    let link = user["userBrowserUrl"].as_str().unwrap().strip_prefix(crate::PUBLIC_URL).unwrap().to_owned();
    let html = browser.get(&link).await.text().await.unwrap();
    assert!(html.contains("Showing one user") && html.contains(user["email"].as_str().unwrap()), "{html}");
    assert!(html.contains(">1 user<"), "{html}");
    assert_eq!(browser.get("/users?accountId=nobody").await.status(), StatusCode::NOT_FOUND);
}

async fn tasks_run_now_and_their_result_opens_from_its_link(db: TestDb) {
    let app = App::start(db).await;
    let filter = serde_json::json!({"name": "Everyone", "criteria": {}});
    assert_eq!(app.send(reqwest::Method::POST, "/api/v1/saved-filters", Some(filter)).await.unwrap().status(), 201);
    let task = serde_json::json!({"name": "Tag <everyone>", "filterId": "Everyone",
        "actions": [{"type": "addToGroups", "groupIds": ["contractors"]}]});
    let task = app.send(reqwest::Method::POST, "/api/v1/tasks", Some(task)).await.unwrap();
    assert_eq!(task.status(), 201);
    let task: serde_json::Value = task.json().await.unwrap();
    let task_id = task["taskId"].as_str().unwrap().to_owned();

    let mut admin = Browser::new(&app);
    admin.sign_in(&app.admin_key, "/tasks").await;
    let html = admin.get("/tasks").await.text().await.unwrap();
    assert!(html.contains("Tag &#60;everyone&#62;") && html.contains("manual") && html.contains("Run now"), "{html}");

    // Over the execution limit: a confirmation first; then the run, and its result.
    let limit = serde_json::json!({"maxUsers": 1});
    let set = app.send(reqwest::Method::PUT, "/api/v1/settings/execution-limit", Some(limit)).await.unwrap();
    assert_eq!(set.status(), 200);
    let csrf = hidden(&html, "csrf");
    let asked = admin.post(&format!("/tasks/{task_id}/run"), &[("csrf", &csrf)]).await;
    assert_eq!(asked.status(), StatusCode::CONFLICT);
    let html = asked.text().await.unwrap();
    assert!(html.contains("Run it anyway") && html.contains("execution limit of 1"), "{html}");
    let started = admin.post(&format!("/tasks/{task_id}/run"), &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let link = location(&started).to_owned();
    assert!(link.starts_with(&format!("/tasks?taskId={task_id}&processId=")), "{link}");
    let process_id = link.rsplit('=').next().unwrap().to_owned();
    let mut html = String::new();
    for _ in 0..100 {
        html = admin.get(&link).await.text().await.unwrap();
        if html.contains("id=\"run-outcome\">success") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(html.contains("role=\"dialog\"") && html.contains("id=\"run-outcome\">success"), "{html}");
    assert!(html.contains("+contractors") && html.contains("/users?accountId="), "{html}");
    assert!(!html.contains("hx-trigger=\"every 1s\""), "a finished run is not polled");
    // The link the run's webhook carries opens the same dialog.
    let deep_link = crate::json_ok(app.get(&format!("/api/v1/runs/{process_id}")).send().await.unwrap()).await;
    let deep_link = deep_link["deepLink"].as_str().unwrap().strip_prefix(crate::PUBLIC_URL).unwrap().to_owned();
    assert!(admin.get(&deep_link).await.text().await.unwrap().contains("role=\"dialog\""));
    // The JSON download: the whole record.
    let json = admin.get(&format!("/tasks/runs/{process_id}.json")).await;
    assert!(json.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
    let json: serde_json::Value = json.json().await.unwrap();
    assert_eq!(json["processId"], process_id.as_str());
    assert!(
        json["userChanges"].as_array().unwrap().len() as u64 == json["summary"]["totalUserChanges"].as_u64().unwrap()
    );
    // Users who could not join (deactivated ones): the run is a success on the wire, and says
    // how many failed where people read it, as a warning; the users add up to those matched.
    let summary = &json["summary"];
    let failed = summary["failedCount"].as_u64().unwrap();
    assert!(failed > 0, "the fixture has users who cannot join a group: {summary}");
    assert_eq!(json["outcome"], "success");
    assert!(
        html.contains(&format!("class=\"status status-warning\" id=\"run-outcome\">success, {failed} failed")),
        "{html}"
    );
    let shown = |label: &str| -> u64 {
        let at = html.find(&format!("<dt>{label}</dt><dd>")).unwrap_or_else(|| panic!("{label}: {html}"));
        let rest = &html[at + label.len() + 13..];
        rest[..rest.find('<').unwrap()].parse().unwrap()
    };
    let by_result: u64 =
        ["Updated", "Partly updated", "Failed", "Unchanged", "Skipped (admins)"].into_iter().map(shown).sum();
    assert_eq!(by_result, summary["usersMatched"].as_u64().unwrap(), "{html}");
    let dashboard = admin.get("/").await.text().await.unwrap();
    assert!(dashboard.contains(&format!("status-warning\">success, {failed} failed")), "{dashboard}");

    // Read-only keys see results, not the button, and cannot run.
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24)).await;
    let mut readers = Browser::new(&app);
    readers.sign_in(&reader, "/tasks").await;
    let html = readers.get("/tasks").await.text().await.unwrap();
    assert!(!html.contains("Run now"), "{html}");
    let refused = readers.post(&format!("/tasks/{task_id}/run"), &[("csrf", &hidden(&html, "csrf"))]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(readers.get("/tasks?processId=nope").await.status(), StatusCode::NOT_FOUND);
}

async fn the_dashboard_shows_license_health_and_the_latest_runs(db: TestDb) {
    let app = App::start(db).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key, "/").await;
    let html = browser.get("/").await.text().await.unwrap();
    assert!(html.contains("License health") && html.contains("No runs yet"), "{html}");
    // The same figures as the agent's license-health tool.
    let tool = app.send(
        reqwest::Method::POST,
        "/api/v1/agent/tools/license-health",
        Some(serde_json::json!({"inactiveDays": 60})),
    );
    let health = crate::json_ok(tool.await.unwrap()).await;
    let html = browser.get("/?inactiveDays=60").await.text().await.unwrap();
    let totals = &health["totals"];
    assert!(html.contains(&format!("of {} billable seats are", totals["billable"])), "{html}");
    assert!(html.contains(&format!("({} not used for 60 days)", totals["inactive"])), "{html}");
    let first = &health["seats"][0];
    assert!(html.contains(&format!("<td>{}</td>", first["appName"].as_str().unwrap())), "{html}");
    assert!(html.contains("role=\"img\"") && html.contains("<option value=\"60\" selected>"), "{html}");
    assert!(html.contains("href=\"/users?"), "inactive seats link to the User Browser on this site: {html}");
    assert_eq!(browser.get("/?inactiveDays=7").await.status(), StatusCode::BAD_REQUEST);
    // An address that cannot be read is the HTML error page too, not plain text.
    let unreadable = browser.get("/?inactiveDays=x").await;
    assert_eq!(unreadable.status(), StatusCode::BAD_REQUEST);
    assert!(unreadable.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = unreadable.text().await.unwrap();
    assert!(html.contains("This address cannot be read") && html.contains("inactiveDays"), "{html}");

    // A run appears among the latest, linking to its result.
    let bulk = serde_json::json!({"actions": [{"type": "addToGroups", "groupIds": ["contractors"]}],
        "filter": {"emailDomains": ["partners.example.com"]}, "confirm": true});
    let started = app.send(reqwest::Method::POST, "/api/v1/bulk-operations", Some(bulk)).await.unwrap();
    assert_eq!(started.status(), 202);
    let html = browser.get("/").await.text().await.unwrap();
    assert!(html.contains("bulkOperation") && html.contains("href=\"/tasks?processId="), "{html}");
}

async fn settings_show_keys_access_and_webhooks_with_their_log(db: TestDb) {
    let app = App::start(db).await;
    app.key("Reporting <bot>", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24 * 3)).await;
    let hook = serde_json::json!({"name": "Receiver", "url": "http://127.0.0.1:9/hook/s3cret-path",
        "secret": "a-secret-long-enough", "triggers": ["taskSuccess"]});
    let created = app.send(reqwest::Method::POST, "/api/v1/webhooks", Some(hook)).await.unwrap();
    assert_eq!(created.status(), 201);
    let webhook_id = created.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

    let mut admin = Browser::new(&app);
    admin.sign_in(&app.admin_key, "/settings").await;
    let html = admin.get("/settings").await.text().await.unwrap();
    assert!(html.contains("Reporting &#60;bot&#62;") && html.contains("expires within 7 days"), "{html}");
    assert!(html.contains("http://127.0.0.1:9/hook/s3cret-path"), "admins see the whole URL");
    assert!(!html.contains("a-secret-long-enough"), "never the secret");

    // Access control, saved by an admin.
    let csrf = hidden(&html, "csrf");
    let saved = admin.post("/settings/access", &[("csrf", &csrf), ("product_admins", "on")]).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let access = app.db.store.access_settings().await.unwrap();
    assert!(access.product_admins_allowed && !access.user_access_admins_allowed);

    // The sync slot (03:00 in Berlin is 02:00 UTC; the clock says 12:00 UTC), and a sync now.
    assert!(html.contains("03:00–04:00 Europe/Berlin"), "{html}");
    assert!(html.contains("The next slot begins 2026-11-29 03:00 Europe/Berlin (2026-11-29 02:00 UTC)"), "{html}");
    let synced = admin.post("/settings/sync", &[("csrf", &csrf)]).await;
    assert_eq!((synced.status(), location(&synced)), (StatusCode::SEE_OTHER, "/settings?synced=yes#sync"));
    let page = admin.get("/settings?synced=9999").await.text().await.unwrap();
    assert!(page.contains("Synced: the directory holds 60 users."), "{page}");

    // The webhook's log: a test delivery queued from the page.
    let page = admin.get(&format!("/settings/webhooks/{webhook_id}")).await.text().await.unwrap();
    assert!(page.contains("Nothing delivered yet"), "{page}");
    let sent = admin.post(&format!("/settings/webhooks/{webhook_id}/test"), &[("csrf", &csrf)]).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let page = admin.get(location(&sent)).await.text().await.unwrap();
    assert!(
        page.contains("A test delivery is queued") && page.contains("taskSuccess") && page.contains("pending"),
        "{page}"
    );

    // The receiver answered 500 to every attempt: the delivery is dead, and is sent again from
    // its row in the log; another webhook's form cannot touch it.
    let now = app.clock_now();
    let claimed = app.db.store.claim_deliveries("test", now, now + SignedDuration::from_secs(60), 10).await.unwrap();
    let delivery_id = claimed[0].delivery_id.clone();
    let attempt = store::AttemptRecord {
        started_at: now,
        duration_ms: 3,
        status: Some(500),
        error_kind: None,
        response_prefix: "down".into(),
        next: store::NextStep::Dead,
    };
    assert_eq!(app.db.store.record_attempts("test", &[(delivery_id.clone(), attempt)]).await.unwrap(), [true]);
    let page = admin.get(&format!("/settings/webhooks/{webhook_id}")).await.text().await.unwrap();
    assert!(page.contains("delivery-dead") && page.contains("Redeliver 1 dead"), "{page}");
    let one = format!("/settings/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver");
    assert!(page.contains(&one), "each finished delivery has its own button: {page}");
    let wrong =
        admin.post(&format!("/settings/webhooks/other/deliveries/{delivery_id}/redeliver"), &[("csrf", &csrf)]).await;
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    let forged = admin.post(&one, &[("csrf", "forged")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.db.store.delivery(&delivery_id).await.unwrap().0.state, "dead", "neither touched it");
    let again = admin.post(&one, &[("csrf", &csrf)]).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let page = admin.get(location(&again)).await.text().await.unwrap();
    assert!(page.contains("The delivery is queued again"), "{page}");
    assert_eq!(app.db.store.delivery(&delivery_id).await.unwrap().0.state, "pending");

    // Read-only keys: the URL's origin only, no controls, refused if they post.
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24 * 30)).await;
    let mut readers = Browser::new(&app);
    readers.sign_in(&reader, "/settings").await;
    let html = readers.get("/settings").await.text().await.unwrap();
    assert!(html.contains("http://127.0.0.1:9") && !html.contains("s3cret-path"), "{html}");
    assert!(!html.contains("Save access settings") && !html.contains("Sync now"), "{html}");
    let refused = readers.post("/settings/sync", &[("csrf", &hidden(&html, "csrf"))]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = readers.post("/settings/access", &[("csrf", &hidden(&html, "csrf"))]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(app.db.store.access_settings().await.unwrap().product_admins_allowed, "unchanged");
    let page = readers.get(&format!("/settings/webhooks/{webhook_id}")).await.text().await.unwrap();
    assert!(!page.contains("Send test") && !page.contains("s3cret-path"), "{page}");

    // Inside the slot (a new session: the first is older than its 12 hours by then).
    app.clock.set("2026-11-29T02:30:00Z".parse().unwrap());
    let mut later = Browser::new(&app);
    later.sign_in(&app.admin_key, "/settings").await;
    let page = later.get("/settings").await.text().await.unwrap();
    assert!(page.contains("Open now, until 2026-11-29 04:00 Europe/Berlin: no task starts"), "{page}");
}

/// The value of the textarea `id` in a page, unescaped.
fn textarea(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = html.find(&marker).unwrap();
    let open = start + html[start..].find('>').unwrap() + 1;
    let close = open + html[open..].find("</textarea>").unwrap();
    html[open..close]
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
}

async fn flows_are_written_imported_and_exported_in_the_browser(db: TestDb) {
    let app = App::start(db).await;
    let local = serde_json::json!({"name": "local", "kind": "local"});
    assert_eq!(app.send(reqwest::Method::POST, "/api/v1/connections", Some(local)).await.unwrap().status(), 201);
    let mut admin = Browser::new(&app);
    admin.sign_in(&app.admin_key, "/automation").await;
    let editor = admin.get("/automation/new").await.text().await.unwrap();
    let example = textarea(&editor, "text");
    assert!(example.contains("slack.message.send"), "{example}");
    let csrf = hidden(&editor, "csrf");

    // Problems are listed and the text is kept as typed.
    let broken = example.replace("{{agentResponse}}", "{{agentResponse");
    let refused = admin.post("/automation/new", &[("csrf", &csrf), ("text", &broken)]).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Nothing was saved") && html.contains("steps[1].message"), "{html}");
    assert_eq!(textarea(&html, "text"), broken, "nothing lost");
    let typo = admin.post("/automation/new", &[("csrf", &csrf), ("text", "{\"name\": 1}")]).await;
    assert_eq!(typo.status(), StatusCode::BAD_REQUEST);

    // Saved: its page shows the webhook URL and secret minted now.
    let saved = admin.post("/automation/new", &[("csrf", &csrf), ("text", &example)]).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let flow_page = location(&saved).to_owned();
    let id = flow_page.rsplit('/').next().unwrap().to_owned();
    let html = admin.get(&flow_page).await.text().await.unwrap();
    assert!(html.contains("id=\"webhook-secret\""), "{html}");

    // Edited.
    let editor = admin.get(&format!("/automation/flows/{id}/edit")).await.text().await.unwrap();
    let changed = textarea(&editor, "text").replace("Slack alert per task run", "Slack alert (edited)");
    let updated = admin.post(&format!("/automation/flows/{id}/edit"), &[("csrf", &csrf), ("text", &changed)]).await;
    assert_eq!(updated.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.db.store.flow(&id).await.unwrap().name, "Slack alert (edited)");

    // Exported, then imported: a disabled copy and what to do before enabling it.
    let exported = admin.get(&format!("/automation/flows/{id}/export")).await;
    assert!(exported.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let file = exported.text().await.unwrap();
    assert!(file.contains("\"rules\"") && file.contains("\"automationToken\": \"***\""), "{file}");
    let imported = admin.post("/automation/import", &[("csrf", &csrf), ("text", &file)]).await;
    assert_eq!(imported.status(), StatusCode::OK);
    let html = imported.text().await.unwrap();
    assert!(html.contains("Imported 1 flow") && html.contains("Nothing to reconnect"), "{html}");
    assert_eq!(app.db.store.flows().await.unwrap().len(), 2);
    let bad = admin.post("/automation/import", &[("csrf", &csrf), ("text", "{\"rules\": []}")]).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("the file holds no rules"));
    let all = admin.get("/automation/export").await.text().await.unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&all).unwrap()["rules"].as_array().unwrap().len(), 2);

    // Read-only keys may export, not write.
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24)).await;
    let mut readers = Browser::new(&app);
    readers.sign_in(&reader, "/automation").await;
    assert_eq!(readers.get("/automation/new").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(readers.get("/automation/export").await.status(), StatusCode::OK);
    let html = readers.get("/automation").await.text().await.unwrap();
    let refused = readers.post("/automation/import", &[("csrf", &hidden(&html, "csrf")), ("text", &file)]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

/// The text of the element with `id`.
fn element_text(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no #{id} in {html}")) + marker.len();
    html[start..].split('<').next().unwrap().to_owned()
}

async fn bulk_operations_are_reviewed_then_run(db: TestDb) {
    let app = App::start(db).await;
    let mut admin = Browser::new(&app);
    admin.sign_in(&app.admin_key, "/users").await;
    let html = admin.get("/users?emailDomains=partners.example.com").await.text().await.unwrap();
    assert!(html.contains("<legend>Bulk Operation</legend>") && html.contains("name=\"accountId\""), "{html}");
    let csrf = hidden(&html, "csrf");
    let query = hidden(&html, "query");
    assert_eq!(query, "emailDomains=partners.example.com");
    let picked = crate::json_ok(app.get("/api/v1/users?statuses=active&roles=user").send().await.unwrap()).await;
    let ids: Vec<String> = picked["users"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|u| u["accountId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    let outside_security = picked["users"].as_array().unwrap()[..2]
        .iter()
        .filter(|u| !u["groups"].as_array().unwrap().iter().any(|g| g["name"] == "security"))
        .count();
    assert!(outside_security > 0, "the test needs a user to add");

    // Picked users: reviewed, then run; the result is a run like any other.
    let form = |confirm: bool| {
        let mut form = vec![
            ("csrf", csrf.as_str()),
            ("scope", "selected"),
            ("query", query.as_str()),
            ("action", "addToGroups"),
            ("targets", "security"),
            ("accountId", ids[0].as_str()),
            ("accountId", ids[1].as_str()),
        ];
        if confirm {
            form.push(("confirm", "yes"));
        }
        form
    };
    let before = crate::json_ok(app.get(&format!("/api/v1/users/{}", ids[0])).send().await.unwrap()).await;
    let review = admin.post("/users/bulk", &form(false)).await;
    assert_eq!(review.status(), StatusCode::OK);
    assert_eq!(review.headers()["hx-push-url"], "false", "the review keeps the address it came from");
    let html = review.text().await.unwrap();
    assert_eq!(element_text(&html, "would-change"), outside_security.to_string(), "{html}");
    assert_eq!(element_text(&html, "protected"), "0");
    let after_review = crate::json_ok(app.get(&format!("/api/v1/users/{}", ids[0])).send().await.unwrap()).await;
    assert_eq!(before, after_review, "nothing changed before the confirmation");
    let ran = admin.post("/users/bulk", &form(true)).await;
    assert_eq!(ran.status(), StatusCode::SEE_OTHER);
    let link = location(&ran).to_owned();
    assert!(link.starts_with("/tasks?processId="), "{link}");
    let process_id = link.rsplit('=').next().unwrap();
    let mut run = serde_json::Value::Null;
    for _ in 0..100 {
        run = crate::json_ok(app.get(&format!("/api/v1/runs/{process_id}")).send().await.unwrap()).await;
        if run["state"] == "finished" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        (run["source"].as_str(), run["summary"]["groupsAdded"].as_u64()),
        (Some("bulkOperation"), Some(outside_security as u64)),
        "{run:#}"
    );

    // All matching organization admins: none would change, every one is protected.
    let admins = crate::json_ok(app.get("/api/v1/users?roles=orgAdmin").send().await.unwrap()).await;
    let html = admin
        .post(
            "/users/bulk",
            &[
                ("csrf", csrf.as_str()),
                ("scope", "all"),
                ("query", "roles=orgAdmin"),
                ("action", "suspendUsers"),
                ("targets", ""),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(element_text(&html, "would-change"), "0", "{html}");
    assert_eq!(element_text(&html, "protected"), admins["total"].to_string());

    // What cannot be used says so; nothing is picked, nothing runs.
    let none =
        admin.post("/users/bulk", &[("csrf", csrf.as_str()), ("scope", "selected"), ("action", "suspendUsers")]).await;
    assert_eq!(none.status(), StatusCode::BAD_REQUEST);
    assert!(none.text().await.unwrap().contains("pick at least one user"));
    let odd = admin
        .post("/users/bulk", &[("csrf", csrf.as_str()), ("scope", "all"), ("query", ""), ("action", "delete")])
        .await;
    assert_eq!(odd.status(), StatusCode::BAD_REQUEST);

    // Read-only keys see no Bulk Operation and cannot post one.
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24)).await;
    let mut readers = Browser::new(&app);
    readers.sign_in(&reader, "/users").await;
    let html = readers.get("/users").await.text().await.unwrap();
    assert!(!html.contains("Bulk Operation") && !html.contains("name=\"accountId\""), "{html}");
    let refused = readers
        .post("/users/bulk", &[("csrf", hidden(&html, "csrf").as_str()), ("scope", "all"), ("action", "suspendUsers")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

async fn tasks_are_written_previewed_paused_and_edited_in_the_browser(db: TestDb) {
    let app = App::start(db).await;
    let mut admin = Browser::new(&app);
    admin.sign_in(&app.admin_key, "/users").await;

    // The User Browser's criteria saved as a filter lead to a new task on them.
    let html = admin.get("/users?statuses=active").await.text().await.unwrap();
    let csrf = hidden(&html, "csrf");
    assert!(html.contains("Save these criteria as a filter"), "{html}");
    let query = "statuses=active";
    let saved = admin.post("/users/filters", &[("csrf", &csrf), ("name", "Active people"), ("query", query)]).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let editor_link = location(&saved).to_owned();
    let filter_id = editor_link.strip_prefix("/tasks/new?filterId=").unwrap().to_owned();
    let again = admin.post("/users/filters", &[("csrf", &csrf), ("name", "active PEOPLE"), ("query", query)]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT, "names are unique, ignoring case");
    let html = admin.get(&editor_link).await.text().await.unwrap();
    assert!(html.contains(&format!("<option value=\"{filter_id}\" selected>Active people</option>")), "{html}");

    let form = |intent: &'static str, targets: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("intent", intent.to_owned()),
            ("name", "Partners to contractors".to_owned()),
            ("filterId", filter_id.clone()),
            ("action0", "addToGroups".to_owned()),
            ("targets0", targets.to_owned()),
            ("action1", String::new()),
            ("targets1", String::new()),
            ("scheduleKind", "daily".to_owned()),
            ("time", "05:00".to_owned()),
            ("timeZone", "Europe/Berlin".to_owned()),
            ("active", "on".to_owned()),
        ]
    };

    // A preview changes nothing and saves nothing.
    let preview = post_fields(&mut admin, "/tasks/new", &form("preview", "contractors")).await;
    assert_eq!(preview.status(), StatusCode::OK);
    let html = preview.text().await.unwrap();
    assert!(html.contains("Preview: nothing was changed") && html.contains("+contractors"), "{html}");
    assert!(html.contains("value=\"Partners to contractors\""), "what was typed is kept: {html}");
    let tasks = crate::json_ok(app.get("/api/v1/tasks").send().await.unwrap()).await;
    assert_eq!(tasks.as_array().unwrap().len(), 0, "{tasks}");

    // A misspelt group: the problem, with a suggestion, and the text kept.
    let wrong = post_fields(&mut admin, "/tasks/new", &form("save", "contractorz")).await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let html = wrong.text().await.unwrap();
    assert!(html.contains("did you mean contractors") && html.contains("value=\"contractorz\""), "{html}");

    // Targets without an action are a problem, not silently left out.
    let mut orphan = form("save", "contractors");
    orphan.retain(|(k, _)| *k != "targets1");
    orphan.push(("targets1", "security".into()));
    let refused = post_fields(&mut admin, "/tasks/new", &orphan).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("choose the action these targets are for"));

    // Saved: the list names it, with its schedule, and the preview's count is the API's.
    let created = post_fields(&mut admin, "/tasks/new", &form("save", "contractors")).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let task_id = location(&created).strip_prefix("/tasks?saved=").unwrap().to_owned();
    let html = admin.get(location(&created)).await.text().await.unwrap();
    assert!(html.contains("Saved Partners to contractors.") && html.contains("daily at 05:00 Europe/Berlin"), "{html}");
    // The same name again: a conflict shown in the editor, with everything typed kept.
    let taken = post_fields(&mut admin, "/tasks/new", &form("save", "contractors")).await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    let html = taken.text().await.unwrap();
    assert!(html.contains("already exists") && html.contains(r#"value="contractors""#), "{html}");
    let api_preview = app.send(reqwest::Method::POST, &format!("/api/v1/tasks/{task_id}/preview"), None).await.unwrap();
    let would_change = crate::json_ok(api_preview).await["wouldChange"].as_u64().unwrap();
    let preview = post_fields(&mut admin, &format!("/tasks/{task_id}/edit"), &form("preview", "contractors")).await;
    let html = preview.text().await.unwrap();
    assert!(html.contains(&format!("id=\"preview-would-change\">{would_change}<")), "{html}");

    // The editor shows names, not ids.
    let html = admin.get(&format!("/tasks/{task_id}/edit")).await.text().await.unwrap();
    assert!(html.contains("name=\"targets0\" type=\"text\" value=\"contractors\""), "{html}");
    assert!(html.contains("<option value=\"daily\" selected>"), "{html}");

    // Paused from the list, then edited to a weekly schedule.
    let paused = admin.post(&format!("/tasks/{task_id}/active"), &[("csrf", &csrf), ("active", "false")]).await;
    assert_eq!(paused.status(), StatusCode::SEE_OTHER);
    let task = crate::json_ok(app.get(&format!("/api/v1/tasks/{task_id}")).send().await.unwrap()).await;
    assert_eq!((task["active"].as_bool(), task["nextRunAt"].as_str()), (Some(false), None));
    assert!(admin.get("/tasks").await.text().await.unwrap().contains("Resume"));
    let resumed = admin.post(&format!("/tasks/{task_id}/active"), &[("csrf", &csrf), ("active", "true")]).await;
    assert_eq!(resumed.status(), StatusCode::SEE_OTHER);
    let task = crate::json_ok(app.get(&format!("/api/v1/tasks/{task_id}")).send().await.unwrap()).await;
    assert_eq!(task["active"], true);
    let mut weekly = form("save", "contractors");
    weekly.retain(|(k, _)| *k != "scheduleKind" && *k != "active");
    weekly.extend([("scheduleKind", "weekly".into()), ("day", "mon".into()), ("day", "fri".into())]);
    let edited = post_fields(&mut admin, &format!("/tasks/{task_id}/edit"), &weekly).await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);
    let task = crate::json_ok(app.get(&format!("/api/v1/tasks/{task_id}")).send().await.unwrap()).await;
    assert_eq!(task["schedule"]["days"], serde_json::json!(["mon", "fri"]), "{task}");
    assert_eq!(task["active"], false, "an unticked box pauses");

    // A one-off whose time has passed stays savable as it was, however the browser writes it.
    let once = serde_json::json!({"name": "Once", "filterId": filter_id,
        "actions": [{"type": "suspendUsers"}], "schedule": {"type": "once", "at": "2026-11-29T09:00:00", "timeZone": "UTC"}});
    let once = app.send(reqwest::Method::POST, "/api/v1/tasks", Some(once)).await.unwrap();
    assert_eq!(once.status(), 201);
    let once: serde_json::Value = once.json().await.unwrap();
    let once_id = once["taskId"].as_str().unwrap().to_owned();
    app.clock.advance(SignedDuration::from_hours(48));
    let mut admin = Browser::new(&app);
    admin.sign_in(&app.admin_key, "/tasks").await;
    let html = admin.get(&format!("/tasks/{once_id}/edit")).await.text().await.unwrap();
    assert!(html.contains(r#"value="2026-11-29T09:00""#), "{html}");
    let csrf = hidden(&html, "csrf");
    let renamed = [
        ("csrf", csrf.as_str()),
        ("intent", "save"),
        ("name", "Once, renamed"),
        ("filterId", &filter_id),
        ("action0", "suspendUsers"),
        ("targets0", ""),
        ("scheduleKind", "once"),
        ("at", "2026-11-29T09:00"),
        ("timeZone", "UTC"),
    ];
    let saved = admin.post(&format!("/tasks/{once_id}/edit"), &renamed).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER, "{}", saved.text().await.unwrap());
    assert_eq!(task["actions"][0]["groupIds"].as_array().unwrap().len(), 1, "stored as an id: {task}");

    // Read-only keys: no editor, no writes.
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24)).await;
    let mut readers = Browser::new(&app);
    readers.sign_in(&reader, "/tasks").await;
    let html = readers.get("/tasks").await.text().await.unwrap();
    assert!(!html.contains("New task") && !html.contains("Pause"), "{html}");
    assert_eq!(readers.get("/tasks/new").await.status(), StatusCode::FORBIDDEN);
    let reader_csrf = hidden(&html, "csrf");
    let mut reader_form = form("save", "contractors");
    reader_form[0].1 = reader_csrf.clone();
    assert_eq!(post_fields(&mut readers, "/tasks/new", &reader_form).await.status(), StatusCode::FORBIDDEN);
    let refused =
        readers.post(&format!("/tasks/{task_id}/active"), &[("csrf", &reader_csrf), ("active", "true")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = readers.post("/users/filters", &[("csrf", &reader_csrf), ("name", "Mine"), ("query", "")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // Deleted after a confirmation; a reader cannot.
    let refused =
        readers.post(&format!("/tasks/{once_id}/delete"), &[("csrf", &reader_csrf), ("confirm", "yes")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let html = admin.get(&format!("/tasks/{once_id}/edit")).await.text().await.unwrap();
    let csrf = hidden(&html, "csrf");
    let asked = admin.post(&format!("/tasks/{once_id}/delete"), &[("csrf", &csrf)]).await;
    assert!(asked.text().await.unwrap().contains("Delete “Once, renamed”?"));
    let deleted = admin.post(&format!("/tasks/{once_id}/delete"), &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!((deleted.status(), location(&deleted)), (StatusCode::SEE_OTHER, "/tasks"));
    assert_eq!(app.get(&format!("/api/v1/tasks/{once_id}")).send().await.unwrap().status(), 404);
}

/// Posts a form whose values are owned.
async fn post_fields(browser: &mut Browser, path: &str, fields: &[(&str, String)]) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post(path, &pairs).await
}

async fn flows_are_written_step_by_step(db: TestDb) {
    let app = App::start(db).await;
    let local = serde_json::json!({"name": "local", "kind": "local"});
    assert_eq!(app.send(reqwest::Method::POST, "/api/v1/connections", Some(local)).await.unwrap().status(), 201);
    let mut admin = Browser::new(&app);
    admin.sign_in(&app.admin_key, "/automation").await;
    let html = admin.get("/automation/new/steps").await.text().await.unwrap();
    assert!(html.contains(r#"name="step0.type" value="agent.use""#), "the example, as a form: {html}");
    assert!(html.contains(r#"name="step1.type" value="slack.message.send""#), "{html}");
    let csrf = hidden(&html, "csrf");
    let flow = |steps: &[(&'static str, &str)], intent: &str| {
        let mut fields: Vec<(&str, String)> = vec![
            ("csrf", csrf.clone()),
            ("name", "Failures to #alerts".into()),
            ("description", String::new()),
            ("workItems", "none".into()),
            ("enabled", "on".into()),
            ("intent", intent.into()),
        ];
        fields.extend(steps.iter().map(|(k, v)| (*k, (*v).to_owned())));
        fields
    };
    let slack_first = [
        ("step0.type", "slack.message.send"),
        ("step0.connection", "local"),
        ("step0.channel", "#alerts"),
        ("step0.message", "run {{webhookData.processId}} failed"),
    ];

    // Adding a step brings its fields; nothing is saved.
    let mut adding = flow(&slack_first, "add");
    adding.push(("newStep", "condition".into()));
    let added = post_fields(&mut admin, "/automation/new/steps", &adding).await;
    assert_eq!(added.status(), StatusCode::OK);
    let html = added.text().await.unwrap();
    assert!(
        html.contains(r#"name="step1.type" value="condition""#) && html.contains(r#"name="step1.first""#),
        "{html}"
    );
    assert!(app.db.store.flows().await.unwrap().is_empty());

    // Moved up: the condition comes first, and what was typed in the others stays.
    let mut both = slack_first.to_vec();
    both.extend([
        ("step1.type", "condition"),
        ("step1.first", "{{webhookData.trigger}}"),
        ("step1.operator", "EQUALS"),
        ("step1.second", "taskFailure"),
    ]);
    let moved = post_fields(&mut admin, "/automation/new/steps", &flow(&both, "up:1")).await;
    let html = moved.text().await.unwrap();
    assert!(html.contains(r#"name="step0.type" value="condition""#), "{html}");
    assert!(html.contains(r#"id="step0.second" name="step0.second" type="text" value="taskFailure""#), "{html}");
    assert!(html.contains(r#"<option value="EQUALS" selected>"#), "{html}");
    assert!(html.contains(r##"id="step1.channel" name="step1.channel" type="text" value="#alerts""##), "{html}");

    // A connection that does not exist: the problem, with the text kept.
    let in_order = [
        ("step0.type", "condition"),
        ("step0.first", "{{webhookData.trigger}}"),
        ("step0.operator", "EQUALS"),
        ("step0.second", "taskFailure"),
        ("step1.type", "slack.message.send"),
        ("step1.connection", "nowhere"),
        ("step1.channel", "#alerts"),
        ("step1.message", "run {{webhookData.processId}} failed"),
    ];
    let refused = post_fields(&mut admin, "/automation/new/steps", &flow(&in_order, "save")).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Nothing was saved") && html.contains("steps[1].connection"), "{html}");
    assert!(html.contains(r#"value="nowhere""#), "{html}");
    // A header that is not `Name: value`.
    let request = [
        ("step0.type", "web.request"),
        ("step0.method", "POST"),
        ("step0.url", "https://example.com/"),
        ("step0.headers", "no colon here"),
        ("step0.body", ""),
    ];
    let refused = post_fields(&mut admin, "/automation/new/steps", &flow(&request, "save")).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("write each header as"));

    // Saved, as typed.
    let mut fixed = in_order.to_vec();
    fixed[5].1 = "local";
    let saved = post_fields(&mut admin, "/automation/new/steps", &flow(&fixed, "save")).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER, "{}", saved.text().await.unwrap());
    let id = location(&saved).rsplit('/').next().unwrap().to_owned();
    let stored = crate::json_ok(app.get(&format!("/api/v1/flows/{id}")).send().await.unwrap()).await;
    assert_eq!(
        stored["steps"],
        serde_json::json!([
            {"type": "condition", "first": "{{webhookData.trigger}}", "operator": "EQUALS", "second": "taskFailure"},
            {"type": "slack.message.send", "connection": "local", "channel": "#alerts",
             "message": "run {{webhookData.processId}} failed"}
        ]),
        "{stored}"
    );
    assert_eq!(stored["enabled"], true);
    let url = stored["webhook"]["url"].clone();

    // Edited step by step: the condition removed. The URL stays.
    let html = admin.get(&format!("/automation/flows/{id}/steps")).await.text().await.unwrap();
    assert!(html.contains(r#"name="step0.second" type="text" value="taskFailure""#), "{html}");
    let removed = post_fields(&mut admin, &format!("/automation/flows/{id}/steps"), &flow(&fixed, "remove:0")).await;
    let html = removed.text().await.unwrap();
    assert!(html.contains(r#"name="step0.type" value="slack.message.send""#) && !html.contains("step1.type"), "{html}");
    let only_slack: Vec<(&str, &str)> =
        fixed[4..].iter().map(|(k, v)| (k.replacen("step1", "step0", 1).leak() as &str, *v)).collect();
    let saved = post_fields(&mut admin, &format!("/automation/flows/{id}/steps"), &flow(&only_slack, "save")).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let stored = crate::json_ok(app.get(&format!("/api/v1/flows/{id}")).send().await.unwrap()).await;
    assert_eq!(stored["steps"].as_array().unwrap().len(), 1);
    assert_eq!(stored["webhook"]["url"], url);

    // Line breaks come back as stored; a stored value outside the form's choices stays.
    let lines: Vec<(&str, &str)> = vec![
        ("step0.type", "web.request"),
        ("step0.method", "HEAD"),
        ("step0.url", "https://example.com/"),
        ("step0.headers", "X-One: 1\r\nX-Two: 2"),
        ("step0.body", ""),
        ("step1.type", "log"),
        ("step1.message", "line one\r\nline two"),
    ];
    let saved = post_fields(&mut admin, &format!("/automation/flows/{id}/steps"), &flow(&lines, "save")).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER, "{}", saved.text().await.unwrap());
    let stored = crate::json_ok(app.get(&format!("/api/v1/flows/{id}")).send().await.unwrap()).await;
    assert_eq!(stored["steps"][1]["message"], "line one\nline two");
    assert_eq!(stored["steps"][0]["headers"][1], serde_json::json!({"name": "X-Two", "value": "2"}));
    let html = admin.get(&format!("/automation/flows/{id}/steps")).await.text().await.unwrap();
    assert!(html.contains(r#"<option value="HEAD" selected>"#), "{html}");

    // Read-only keys: not theirs.
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24)).await;
    let mut readers = Browser::new(&app);
    readers.sign_in(&reader, "/automation").await;
    assert_eq!(readers.get("/automation/new/steps").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(readers.get(&format!("/automation/flows/{id}/steps")).await.status(), StatusCode::FORBIDDEN);
    let html = readers.get("/automation").await.text().await.unwrap();
    let refused =
        post_fields(&mut readers, "/automation/new/steps", &[("csrf", hidden(&html, "csrf")), ("name", "x".into())])
            .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let page = readers.get(&format!("/automation/flows/{id}")).await.text().await.unwrap();
    assert!(!page.contains(&format!("/automation/flows/{id}/delete")), "no delete button: {page}");
    let delete = [("csrf", hidden(&html, "csrf")), ("confirm", "yes".into())];
    let refused = post_fields(&mut readers, &format!("/automation/flows/{id}/delete"), &delete).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("Read-only key"), "refused for its role, not its token");

    // Deleted after a confirmation: its webhook stops answering.
    let asked = post_fields(&mut admin, &format!("/automation/flows/{id}/delete"), &[("csrf", csrf.clone())]).await;
    assert!(asked.text().await.unwrap().contains("Delete “Failures to #alerts”?"));
    assert!(app.db.store.flow(&id).await.is_ok(), "not before confirming");
    let deleted = post_fields(
        &mut admin,
        &format!("/automation/flows/{id}/delete"),
        &[("csrf", csrf.clone()), ("confirm", "yes".into())],
    )
    .await;
    assert_eq!((deleted.status(), location(&deleted)), (StatusCode::SEE_OTHER, "/automation"));
    assert!(app.db.store.flow(&id).await.is_err());
}

async fn keys_and_webhooks_are_made_and_removed_in_settings(db: TestDb) {
    let app = App::start(db).await;
    let mut admin = Browser::new(&app);
    admin.sign_in(&app.admin_key, "/settings").await;
    let html = admin.get("/settings").await.text().await.unwrap();
    let csrf = hidden(&html, "csrf");

    // A key: its secret shown once, and it works as made (read-only).
    let made = admin
        .post(
            "/settings/keys",
            &[("csrf", &csrf), ("name", "Reporting bot"), ("role", "readOnly"), ("expires_in", "30d")],
        )
        .await;
    assert_eq!(made.status(), StatusCode::OK);
    assert_eq!(made.headers()["cache-control"], "no-store", "a secret is not kept by caches");
    let html = made.text().await.unwrap();
    let secret = element_text(&html, "secret");
    assert!(secret.starts_with("ucm_"), "{html}");
    let as_bot = |method: reqwest::Method, path: &str| app.request(method, path, Some(&secret)).send();
    assert_eq!(as_bot(reqwest::Method::GET, "/api/v1/users").await.unwrap().status(), 200);
    assert_eq!(as_bot(reqwest::Method::POST, "/api/v1/directory/sync").await.unwrap().status(), 403);
    // Problems come back in Settings with the form as typed, the reason kept.
    let never = admin.post("/settings/keys", &[("csrf", &csrf), ("name", "Too long"), ("expires_in", "1000d")]).await;
    assert_eq!(never.status(), StatusCode::BAD_REQUEST);
    let html = never.text().await.unwrap();
    assert!(html.contains("at most 730 days") && html.contains(r#"value="Too long""#), "{html}");
    let odd = admin.post("/settings/keys", &[("csrf", &csrf), ("name", "x"), ("role", "readonly")]).await;
    assert_eq!(odd.status(), StatusCode::BAD_REQUEST, "an unknown role is not an admin key");
    let forged = admin.post("/settings/keys", &[("csrf", "forged"), ("name", "x")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.db.store.api_keys().await.unwrap().len(), 2, "the admin's and the bot's only");

    // Revoked after a confirmation: it stops working at once.
    let keys = app.db.store.api_keys().await.unwrap();
    let bot = keys.iter().find(|k| k.name == "Reporting bot").unwrap().api_key_id.0.clone();
    let asked = admin.post(&format!("/settings/keys/{bot}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(asked.status(), StatusCode::OK);
    assert!(asked.text().await.unwrap().contains("Revoke “Reporting bot”?"));
    assert_eq!(as_bot(reqwest::Method::GET, "/api/v1/users").await.unwrap().status(), 200, "not before confirming");
    let revoked = admin.post(&format!("/settings/keys/{bot}/revoke"), &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!((revoked.status(), location(&revoked)), (StatusCode::SEE_OTHER, "/settings"));
    assert_eq!(as_bot(reqwest::Method::GET, "/api/v1/users").await.unwrap().status(), 401);

    // A webhook with a secret ucm makes, shown once.
    let form = admin.get("/settings/webhooks/new").await.text().await.unwrap();
    assert!(form.contains(r#"value="taskSuccess" checked"#), "{form}");
    let bad = admin
        .post(
            "/settings/webhooks/new",
            &[
                ("csrf", &csrf),
                ("name", "Receiver"),
                ("url", "ftp://elsewhere"),
                ("secret", "typed-secret-1234567"),
                ("trigger", "taskFailure"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let html = bad.text().await.unwrap();
    assert!(html.contains("<strong>url</strong>") && html.contains(r#"value="ftp://elsewhere""#), "{html}");
    assert!(!html.contains("typed-secret-1234567"), "a secret is never sent back");
    let added = admin
        .post(
            "/settings/webhooks/new",
            &[
                ("csrf", &csrf),
                ("name", "Receiver"),
                ("url", "http://127.0.0.1:9/hook"),
                ("secret", ""),
                ("trigger", "taskFailure"),
                ("notes", "on call"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::OK);
    let html = added.text().await.unwrap();
    let made_secret = element_text(&html, "secret");
    assert!(made_secret.starts_with("whsec_") && made_secret.len() >= 40, "{html}");
    let hooks = app.db.store.webhook_subscriptions().await.unwrap();
    assert_eq!(hooks.len(), 1);
    let hook = hooks[0].clone();
    assert_eq!((hook.triggers.len(), hook.notes.as_str(), hook.enabled), (1, "on call", true));

    // Edited with the secret left empty: the secret stays.
    let sealed = app.db.store.webhook_secret_sealed(&hook.id).await.unwrap();
    let edit = format!("/settings/webhooks/{}/edit", hook.id);
    let html = admin.get(&edit).await.text().await.unwrap();
    assert!(html.contains(r#"value="Receiver""#) && !html.contains(&made_secret), "shown once: {html}");
    let html = admin.get(&format!("/settings/webhooks/{}", hook.id)).await.text().await.unwrap();
    assert!(!html.contains(&made_secret), "shown once");
    let saved = admin
        .post(
            &edit,
            &[
                ("csrf", &csrf),
                ("name", "Receiver (on call)"),
                ("url", "http://127.0.0.1:9/hook"),
                ("secret", ""),
                ("trigger", "taskFailure"),
                ("trigger", "taskSuccess"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let changed = app.db.store.webhook_subscription(&hook.id).await.unwrap();
    assert_eq!((changed.name.as_str(), changed.enabled), ("Receiver (on call)", false));
    let order: Vec<&str> = changed.triggers.iter().map(|t| t.as_str()).collect();
    assert_eq!(order, ["taskFailure", "taskSuccess"], "in the order given");
    assert_eq!(app.db.store.webhook_secret_sealed(&hook.id).await.unwrap(), sealed);

    // Deleted after a confirmation.
    let delete = format!("/settings/webhooks/{}/delete", hook.id);
    let asked = admin.post(&delete, &[("csrf", &csrf)]).await;
    assert!(asked.text().await.unwrap().contains("Delete “Receiver (on call)”?"));
    assert_eq!(app.db.store.webhook_subscriptions().await.unwrap().len(), 1);
    let deleted = admin.post(&delete, &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert!(app.db.store.webhook_subscriptions().await.unwrap().is_empty());

    // Read-only keys see their own key only, and change nothing.
    app.key("Other bot", ApiKeyRole::Admin, None, SignedDuration::from_hours(24)).await;
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24)).await;
    let mut readers = Browser::new(&app);
    readers.sign_in(&reader, "/settings").await;
    let html = readers.get("/settings").await.text().await.unwrap();
    assert!(html.contains("(this session)") && !html.contains("Other bot") && !html.contains("Make the key"), "{html}");
    let reader_csrf = hidden(&html, "csrf");
    assert_eq!(readers.get("/settings/webhooks/new").await.status(), StatusCode::FORBIDDEN);
    let refused = readers.post("/settings/keys", &[("csrf", &reader_csrf), ("name", "mine")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let other = app.db.store.api_keys().await.unwrap().into_iter().find(|k| k.name == "Other bot").unwrap();
    let refused = readers
        .post(&format!("/settings/keys/{}/revoke", other.api_key_id.0), &[("csrf", &reader_csrf), ("confirm", "yes")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // A key that acts for a user makes keys for that user, and revokes that user's keys only.
    let person = app.account_with_role("orgAdmin").await;
    let acting = app.key("acting", ApiKeyRole::Admin, Some(&person), SignedDuration::from_hours(24)).await;
    let mut delegate = Browser::new(&app);
    delegate.sign_in(&acting, "/settings").await;
    let html = delegate.get("/settings").await.text().await.unwrap();
    let delegate_csrf = hidden(&html, "csrf");
    assert!(!html.contains(&format!("/settings/keys/{}/revoke", other.api_key_id.0)), "no button for it: {html}");
    let made = delegate.post("/settings/keys", &[("csrf", &delegate_csrf), ("name", "Their bot")]).await;
    assert_eq!(made.status(), StatusCode::OK);
    let theirs = app.db.store.api_keys().await.unwrap().into_iter().find(|k| k.name == "Their bot").unwrap();
    assert_eq!(theirs.principal.map(|p| p.0), Some(person.clone()));
    let refused = delegate
        .post(&format!("/settings/keys/{}/revoke", other.api_key_id.0), &[("csrf", &delegate_csrf), ("confirm", "yes")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // Revoking the key of this session signs it out.
    let own = app.db.store.api_keys().await.unwrap().into_iter().find(|k| k.name == "acting").unwrap();
    let revoke = format!("/settings/keys/{}/revoke", own.api_key_id.0);
    let asked = delegate.post(&revoke, &[("csrf", &delegate_csrf)]).await;
    assert!(asked.text().await.unwrap().contains("you will be signed out"));
    let gone = delegate.post(&revoke, &[("csrf", &delegate_csrf), ("confirm", "yes")]).await;
    assert_eq!((gone.status(), location(&gone)), (StatusCode::SEE_OTHER, "/sign-in"));
    let after = delegate.get("/settings").await;
    assert!(location(&after).starts_with("/sign-in"), "signed out");
}

async fn quarantined_runs_are_approved_or_rejected_from_their_dialog(db: TestDb) {
    let app = App::start(db).await;
    let filter = serde_json::json!({"name": "Everyone", "criteria": {}});
    assert_eq!(app.send(reqwest::Method::POST, "/api/v1/saved-filters", Some(filter)).await.unwrap().status(), 201);
    let task = serde_json::json!({"name": "Tag everyone", "filterId": "Everyone",
        "actions": [{"type": "addToGroups", "groupIds": ["contractors"]}],
        "schedule": {"type": "daily", "time": "05:00", "timeZone": "UTC"}});
    assert_eq!(app.send(reqwest::Method::POST, "/api/v1/tasks", Some(task)).await.unwrap().status(), 201);
    let limit = serde_json::json!({"maxUsers": 1});
    assert_eq!(
        app.send(reqwest::Method::PUT, "/api/v1/settings/execution-limit", Some(limit)).await.unwrap().status(),
        200
    );
    // The scheduled run at 05:00 the next day is over the limit: quarantined.
    let quarantined = |day: &'static str| {
        let app = &app;
        async move {
            app.clock.set(format!("{day}T05:00:00Z").parse().unwrap());
            let started = ::tasks::Scheduler::new(app.tasks.clone(), None).tick().await.unwrap().started;
            assert_eq!(app.tasks.execute(&started[0], &|_| {}).await, model::run::RunOutcome::Quarantined);
            started[0].process_id.0.clone()
        }
    };
    let first = quarantined("2026-11-29").await;

    // Read-only keys see the wait, not the buttons, and cannot decide.
    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24)).await;
    let mut readers = Browser::new(&app);
    readers.sign_in(&reader, "/tasks").await;
    let html = readers.get(&format!("/tasks?processId={first}")).await.text().await.unwrap();
    assert!(html.contains("Waiting for approval") && !html.contains("Approve and run"), "{html}");
    let refused = readers.post(&format!("/tasks/runs/{first}/approve"), &[("csrf", &hidden(&html, "csrf"))]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let mut admin = Browser::new(&app);
    admin.sign_in(&app.admin_key, "/tasks").await;
    let dialog = format!("/tasks?processId={first}");
    let html = admin.get(&dialog).await.text().await.unwrap();
    assert!(html.contains("Waiting for approval") && html.contains("more than the execution limit of 1"), "{html}");
    let csrf = hidden(&html, "csrf");
    let forged = admin.post(&format!("/tasks/runs/{first}/reject"), &[("csrf", "forged")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let rejected = admin.post(&format!("/tasks/runs/{first}/reject"), &[("csrf", &csrf)]).await;
    assert_eq!((rejected.status(), location(&rejected)), (StatusCode::SEE_OTHER, dialog.as_str()));
    let html = admin.get(&dialog).await.text().await.unwrap();
    assert!(html.contains("id=\"run-outcome\">rejected") && !html.contains("Approve and run"), "{html}");
    let again = admin.post(&format!("/tasks/runs/{first}/approve"), &[("csrf", &csrf)]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT, "decided once");

    // The next day's run, approved: it runs, and changes users.
    let second = quarantined("2026-11-30").await;
    let mut admin = Browser::new(&app);
    admin.sign_in(&app.admin_key, "/tasks").await;
    let html = admin.get(&format!("/tasks?processId={second}")).await.text().await.unwrap();
    let csrf = hidden(&html, "csrf");
    let approved = admin.post(&format!("/tasks/runs/{second}/approve"), &[("csrf", &csrf)]).await;
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    let mut html = String::new();
    for _ in 0..100 {
        html = admin.get(&format!("/tasks?processId={second}")).await.text().await.unwrap();
        if html.contains("id=\"run-outcome\">success") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(html.contains("id=\"run-outcome\">success") && html.contains("+contractors"), "{html}");
}

async fn running_runs_are_stopped_from_their_dialog(db: TestDb) {
    let app = App::start(db).await;
    let filter = serde_json::json!({"name": "Everyone", "criteria": {}});
    assert_eq!(app.send(reqwest::Method::POST, "/api/v1/saved-filters", Some(filter)).await.unwrap().status(), 201);
    let task = serde_json::json!({"name": "Tag everyone", "filterId": "Everyone",
        "actions": [{"type": "addToGroups", "groupIds": ["contractors"]}],
        "schedule": {"type": "daily", "time": "05:00", "timeZone": "UTC"}});
    assert_eq!(app.send(reqwest::Method::POST, "/api/v1/tasks", Some(task)).await.unwrap().status(), 201);
    // Started by the scheduler and not executed yet: running, as far as anyone can see.
    app.clock.set("2026-11-29T05:00:00Z".parse().unwrap());
    let started = ::tasks::Scheduler::new(app.tasks.clone(), None).tick().await.unwrap().started;
    let run = started.into_iter().next().unwrap();
    let dialog = format!("/tasks?processId={}", run.process_id.0);

    let reader = app.key("reader", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24)).await;
    let mut readers = Browser::new(&app);
    readers.sign_in(&reader, "/tasks").await;
    let html = readers.get(&dialog).await.text().await.unwrap();
    assert!(html.contains("id=\"run-outcome\">running") && !html.contains("id=\"run-stop\""), "{html}");

    let mut admin = Browser::new(&app);
    admin.sign_in(&app.admin_key, "/tasks").await;
    let html = admin.get(&dialog).await.text().await.unwrap();
    // Not yet started on its users: no "0 of 0 users".
    assert!(html.contains("Finding the users the filter matches") && !html.contains("0 of 0 users"), "{html}");
    // The button is in the part that refreshes itself every second, kept as it is by each
    // refresh (hx-preserve), so the refresh that shows the run finished takes it away.
    let live = html.find("id=\"run-live\"").unwrap();
    let stop = html.find("id=\"run-stop-form\"").unwrap();
    assert!(live < stop && html[live..].contains("hx-trigger=\"every 1s\""), "{html}");
    assert!(html[stop..].split('>').next().unwrap().contains("hx-preserve=\"true\""), "{html}");
    let csrf = hidden(&html, "csrf");
    let stop = format!("/tasks/runs/{}/cancel", run.process_id.0);
    let asked = admin.post(&stop, &[("csrf", &csrf)]).await;
    assert_eq!((asked.status(), location(&asked)), (StatusCode::SEE_OTHER, dialog.as_str()));
    let html = admin.get(&dialog).await.text().await.unwrap();
    assert!(html.contains("Stopping after the users in hand (asked by admin)") && !html.contains("id=\"run-stop\""));
    let twice = admin.post(&stop, &[("csrf", &csrf)]).await;
    assert_eq!((twice.status(), location(&twice)), (StatusCode::SEE_OTHER, dialog.as_str()), "no error page");

    // The run honours it, and the dialog stops refreshing.
    app.tasks.execute(&run, &|_| {}).await;
    let html = admin.get(&dialog).await.text().await.unwrap();
    assert!(html.contains("cancelled by admin") && !html.contains("hx-trigger"), "{html}");
    assert!(!html.contains("run-stop"), "a finished run offers no stop: {html}");
    let users = crate::json_ok(app.get("/api/v1/users?groups=contractors&pageSize=200").send().await.unwrap()).await;
    let before = crate::json_ok(app.get("/api/v1/users?pageSize=10").send().await.unwrap()).await;
    assert!(users["total"].as_u64() < before["total"].as_u64(), "not everyone was added");
}

async fn the_atlassian_organization_is_connected_checked_synced_and_disconnected_in_settings(db: TestDb) {
    use atlassian::simulator::{SimOrg, SimSettings, Simulator};
    const KEY: &str = "ATCTT3xFfGN0-web-test-key";
    let sim = Simulator::new(SimOrg::generate(50, crate::now(), 9), SimSettings::new(KEY));
    let address = sim.start().await.unwrap();
    let app = App::with_atlassian(db, &format!("http://{address}")).await;
    let mut admin = Browser::new(&app);
    admin.sign_in(&app.admin_key, "/settings").await;
    let html = admin.get("/settings").await.text().await.unwrap();
    assert!(html.contains("Connect an organization") && html.contains("id=\"atlassian-organization\""), "{html}");
    let csrf = hidden(&html, "csrf");

    // A wrong key: the form comes back with the reason and what was typed, never the key.
    let form = |key: &str, expires: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("api_key", key.to_owned()),
            ("key_expires", expires.to_owned()),
            ("key_name", "Sync key".to_owned()),
            ("org_id", String::new()),
            ("directory_id", String::new()),
        ]
    };
    let refused = admin.post("/settings/atlassian", &as_refs(&form("not-the-key-at-all", "2027-03-01"))).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let page = refused.text().await.unwrap();
    assert!(page.contains("Not connected:") && page.contains("refused this key"), "{page}");
    assert!(page.contains("value=\"2027-03-01\"") && page.contains("value=\"Sync key\""), "typed values kept");
    assert!(!page.contains("not-the-key-at-all"), "the key is never written back");
    let refused = admin.post("/settings/atlassian", &as_refs(&form(KEY, "next spring"))).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("the day the key expires"));

    // Read-only keys may look, not connect.
    let reader_key = app.key("reader", ApiKeyRole::ReadOnly, None, SignedDuration::from_hours(24)).await;
    let mut reader = Browser::new(&app);
    reader.sign_in(&reader_key, "/settings").await;
    let reader_html = reader.get("/settings").await.text().await.unwrap();
    assert!(!reader_html.contains("Connect an organization"), "no form for read-only keys");
    let right = form(KEY, "2027-03-01");
    let mut theirs: Vec<(&str, String)> = right.clone();
    theirs[0].1 = hidden(&reader_html, "csrf");
    let refused = reader.post("/settings/atlassian", &as_refs(&theirs)).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let connected = admin.post("/settings/atlassian", &as_refs(&right)).await;
    assert_eq!(
        (connected.status(), location(&connected)),
        (StatusCode::SEE_OTHER, "/settings?connected=yes#atlassian-organization")
    );
    let page = admin.get("/settings?connected=yes").await.text().await.unwrap();
    assert!(page.contains("Connected. Sync now") && page.contains("Acme (simulated)"), "{page}");
    assert!(page.contains("Sync key, expires on 2027-03-01") && page.contains("none yet"), "{page}");
    assert!(!page.contains(KEY));

    // An organization's sync runs in the background; the page follows it until it is done.
    sim.settings().requests_per_second = Some(20);
    let synced = admin.post("/settings/sync", &[("csrf", &csrf)]).await;
    assert_eq!(location(&synced), "/settings?syncing=yes#atlassian-organization");
    let page = admin.get("/settings?syncing=yes").await.text().await.unwrap();
    assert!(page.contains("id=\"org-sync-progress\"") && page.contains("hx-trigger=\"every 1s\""), "{page}");
    let page = sync_settled(&mut admin, "3 sites, 29 groups, 50 users").await;
    assert!(!page.contains("hx-trigger=\"every 1s\""), "no more following once done: {page}");
    sim.settings().requests_per_second = None;
    let checked = admin.post("/settings/atlassian/check", &[("csrf", &csrf)]).await;
    assert_eq!(checked.status(), StatusCode::OK);
    assert!(checked.text().await.unwrap().contains("Atlassian accepts the key"));

    // A key Atlassian no longer takes: the sync says why; Settings shows the failure.
    sim.settings().key = "rotated".to_owned();
    let failed = admin.post("/settings/sync", &[("csrf", &csrf)]).await;
    assert_eq!(failed.status(), StatusCode::SEE_OTHER);
    sync_settled(&mut admin, "failed: Atlassian refused the organization API key (401)").await;
    let checked = admin.post("/settings/atlassian/check", &[("csrf", &csrf)]).await;
    assert!(checked.text().await.unwrap().contains("The key does not work"));

    let gone = admin.post("/settings/atlassian/disconnect", &[("csrf", &csrf)]).await;
    assert_eq!(location(&gone), "/settings?disconnected=yes#atlassian-organization");
    let page = admin.get("/settings?disconnected=yes").await.text().await.unwrap();
    assert!(page.contains("Disconnected: the key is deleted") && page.contains("Connect an organization"), "{page}");
}

/// Settings once it says `what` and no organization sync is in progress (at most 20 s).
async fn sync_settled(admin: &mut Browser, what: &str) -> String {
    for _ in 0..200 {
        let page = admin.get("/settings").await.text().await.unwrap();
        if page.contains(what) && !page.contains("id=\"org-sync-progress\"") {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the organization sync did not end");
}

/// A form of owned values as `Browser::post` takes it.
fn as_refs<'a>(form: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    form.iter().map(|(name, value)| (*name, value.as_str())).collect()
}
