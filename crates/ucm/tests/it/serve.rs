use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use testkit::{TestDb, backend_tests};

use crate::{run, run_with_input, ucm};

backend_tests!(
    the_demo_loop_runs_all_four_recipes,
    an_accepted_request_survives_a_killed_server,
    serve_demo_answers_the_readme_request,
    a_run_killed_with_its_server_is_closed_on_restart,
    a_task_run_reaches_a_subscribed_receiver_signed,
    deliveries_survive_a_killed_server,
    serve_demo_after_seed_demo_sets_up_the_loop,
    the_cli_beside_a_server_links_to_its_port
);

/// The README's walkthrough on a port other than 8080: commands run beside `ucm serve` build
/// their links on the port it answers at, so the demo's own-flow webhooks are recognised as its
/// own (not counted toward `webhooks.max_subscriptions`) and every printed link opens a page.
async fn the_cli_beside_a_server_links_to_its_port(db: TestDb) {
    let server = start(&db);
    assert!(!server.base.ends_with(":8080"), "the test needs a port other than the default");
    let cli = || {
        let mut command = ucm(db.dir(), Some(&db));
        command.env("UCM_WEBHOOKS__ALLOWED_URL_PREFIXES", "http://127.0.0.1:");
        command
    };
    let (ok, _, err) = run_with_input(
        cli().args(["webhooks", "create", "--name", "Local", "--url", "http://127.0.0.1:9000/hook"]).args([
            "--triggers",
            "taskSuccess,taskFailure",
            "--secret-stdin",
        ]),
        "a-local-secret-of-some-length\n",
    );
    assert!(ok, "the demo's 4 own-flow webhooks leave room: {err}");

    let (ok, out, err) = run(cli().args(["tasks", "run", "Onboard contractors", "--yes"]));
    assert!(ok, "{err}");
    let link = out.lines().find_map(|l| l.strip_prefix("Link:")).expect("a link line").trim().to_owned();
    assert!(link.starts_with(&format!("{}/tasks?taskId=", server.base)), "{out}");
    let http = testkit::http_client();
    let opened = http.get(&link).header("accept", "text/html").send().await.unwrap();
    assert!(opened.status().is_success(), "{link}: {}", opened.status());

    let (ok, out, err) = run(cli().args(["flows", "list", "--json"]));
    assert!(ok, "{err}");
    let flows: serde_json::Value = serde_json::from_str(&out).unwrap();
    for flow in flows.as_array().unwrap() {
        let url = flow["webhook"]["url"].as_str().unwrap_or_else(|| panic!("{flow}"));
        assert!(url.starts_with(&format!("{}/automation/webhooks/", server.base)), "{url}");
    }
}

/// `ucm seed-demo` first, then `ucm serve --demo`: the directory is kept and the automation
/// loop (the local connection, the four recipes and their webhooks) is still set up.
async fn serve_demo_after_seed_demo_sets_up_the_loop(db: TestDb) {
    let (ok, _, err) = run(ucm(db.dir(), Some(&db)).args(["seed-demo", "--users", "40"]));
    assert!(ok, "{err}");
    let server = start(&db);
    let key = std::fs::read_to_string(db.dir().join("ucm-data/admin-api-key")).unwrap().trim().to_owned();
    let http = testkit::http_client();
    let get = |path: &str| http.get(format!("{}{path}", server.base)).bearer_auth(&key).send();
    let users: serde_json::Value = get("/api/v1/users").await.unwrap().json().await.unwrap();
    assert_eq!(users["total"], 40, "the seeded directory is kept");
    let flows: serde_json::Value = get("/api/v1/flows").await.unwrap().json().await.unwrap();
    assert_eq!(flows.as_array().unwrap().len(), 4, "{flows}");
    let webhooks: serde_json::Value = get("/api/v1/webhooks").await.unwrap().json().await.unwrap();
    assert_eq!(webhooks.as_array().unwrap().len(), 4, "{webhooks}");
}

/// GETs `url` with `key` every 50 ms until its JSON says `"state": "finished"`, at most `tries`
/// times: the last answer, for the caller's assertions.
async fn until_finished(http: &reqwest::Client, url: &str, key: &str, tries: usize) -> serde_json::Value {
    let mut answer = serde_json::Value::Null;
    for _ in 0..tries {
        answer = http.get(url).bearer_auth(key).send().await.unwrap().json().await.unwrap();
        if answer["state"] == "finished" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    answer
}

/// A running `ucm serve`, stopped when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The admin key `ucm serve` wrote on first start.
pub(crate) fn admin_key(db: &TestDb) -> String {
    std::fs::read_to_string(db.dir().join("ucm-data/admin-api-key")).unwrap().trim().to_owned()
}

fn start(db: &TestDb) -> Server {
    start_with(db, &[])
}

pub(crate) fn start_with(db: &TestDb, env: &[(&str, &str)]) -> Server {
    let mut child = ucm(db.dir(), Some(db))
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("ucm is listening on ") {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
            }
        }
    });
    let base = rx.recv_timeout(Duration::from_secs(60)).expect("ucm serve did not start");
    Server { child, base }
}

/// The README's promise: `ucm serve --demo`, then the admin key from the data directory gets
/// the users inactive for 30 days in JSM, with a total.
async fn serve_demo_answers_the_readme_request(db: TestDb) {
    let server = start(&db);
    let key_file = db.dir().join("ucm-data/admin-api-key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let key = std::fs::read_to_string(&key_file).unwrap().trim().to_owned();
    let http = testkit::http_client();
    let response = http
        .get(format!("{}/api/v1/users?apps=JSM&inactiveDays=30", server.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let total = body["total"].as_u64().unwrap();
    assert!(total > 0 && total < 500, "{total} of the 500 demo users");
    let wrong = http.get(format!("{}/api/v1/users", server.base)).bearer_auth("ucm_wrong").send().await.unwrap();
    assert_eq!(wrong.status(), 401);

    // The demo's example tasks are manual: nothing changed until one is run.
    let tasks: serde_json::Value =
        http.get(format!("{}/api/v1/tasks", server.base)).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> = tasks.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Deactivate inactive users", "Onboard contractors", "Reclaim idle JSM seats"]);
    assert!(tasks.as_array().unwrap().iter().all(|t| t["schedule"]["type"] == "manual" && t["lastRunAt"].is_null()));
    let onboard = tasks[1]["taskId"].as_str().unwrap();
    let started =
        http.post(format!("{}/api/v1/tasks/{onboard}/run", server.base)).bearer_auth(&key).send().await.unwrap();
    assert_eq!(started.status(), 202);
    let started: serde_json::Value = started.json().await.unwrap();
    let record =
        until_finished(&http, &format!("{}{}", server.base, started["run"].as_str().unwrap()), &key, 200).await;
    assert_eq!(record["outcome"], "success", "{record}");
    assert!(record["summary"]["groupsAdded"].as_u64().unwrap() > 0, "{record}");
    assert!(
        record["deepLink"].as_str().unwrap().starts_with(&format!("{}/tasks?taskId={onboard}&processId=", server.base))
    );
    drop(server);

    // A second start keeps the data and the key: no new demo organization, no new key.
    let server = start(&db);
    let again = http.get(format!("{}/api/v1/users", server.base)).bearer_auth(&key).send().await.unwrap();
    let body: serde_json::Value = again.json().await.unwrap();
    assert_eq!(body["total"], 500);
    let tasks: serde_json::Value =
        http.get(format!("{}/api/v1/tasks", server.base)).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
    assert_eq!(tasks.as_array().unwrap().len(), 3, "the example tasks are not created twice");
    let flows: serde_json::Value =
        http.get(format!("{}/api/v1/flows", server.base)).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
    assert_eq!(flows.as_array().unwrap().len(), 4, "the demo's flows are not imported twice");
    drop(server);
    let (_, out, _) = run(ucm(db.dir(), Some(&db)).args(["apikey", "list", "--json"]));
    let keys: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut names: Vec<&str> = keys.as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Demo reporting integration (example)", "initial admin key"], "no new admin key");
}

/// PRODUCT §4: a run interrupted by a crash is found on restart and closed as `failure`.
async fn a_run_killed_with_its_server_is_closed_on_restart(db: TestDb) {
    // Small steps and a short lease, so the run is long and its death is noticed soon.
    let env = [
        ("UCM_DEMO__USERS", "3000"),
        ("UCM_TASKS__CHUNK_SIZE", "1"),
        ("UCM_TASKS__RUN_LEASE", "2s"),
        ("UCM_TASKS__SCHEDULER_INTERVAL", "1s"),
    ];
    let mut server = start_with(&db, &env);
    let key = admin_key(&db);
    let http = testkit::http_client();
    let started: serde_json::Value = http
        .post(format!("{}/api/v1/bulk-operations", server.base))
        .bearer_auth(&key)
        .json(&serde_json::json!({"actions": [{"type": "addToGroups", "groupIds": ["security"]}], "filter": {}, "confirm": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run_url = format!("{}{}", server.base, started["run"].as_str().unwrap());
    // Kill it (SIGKILL: no chance to clean up) once some users are done.
    let mut done = 0;
    for _ in 0..500 {
        let run: serde_json::Value = http.get(&run_url).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(run["state"], "running", "the run ended before the test could kill it: {run}");
        done = run["progress"]["done"].as_u64().unwrap();
        if done > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(done > 0);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);

    let server = start_with(&db, &env);
    let path = started["run"].as_str().unwrap();
    let record = until_finished(&http, &format!("{}{path}", server.base), &key, 200).await;
    assert_eq!(record["outcome"], "failure", "{record}");
    assert!(record["error"].as_str().unwrap().starts_with("interrupted"), "{record}");
    assert!(record["summary"]["usersMatched"].as_u64().unwrap() >= done, "what it did before the crash stays recorded");
}

/// The loop so far: a webhook subscribed to a receiver on 127.0.0.1, a demo task run by hand,
/// and the receiver gets the run's taskSuccess, signed, with the exact PRODUCT §6 body.
async fn a_task_run_reaches_a_subscribed_receiver_signed(db: TestDb) {
    use axum::http::HeaderMap;
    let received: std::sync::Arc<std::sync::Mutex<Vec<(HeaderMap, String)>>> = std::sync::Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let env =
        [("UCM_NETWORK__ALLOWED_NETWORKS", "127.0.0.0/8"), ("UCM_WEBHOOKS__ALLOWED_URL_PREFIXES", "http://127.0.0.1:")];
    let server = start_with(&db, &env);
    let key = admin_key(&db);
    let http = testkit::http_client();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let created = http
        .post(format!("{}/api/v1/webhooks", server.base))
        .bearer_auth(&key)
        .json(&serde_json::json!({"name": "Receiver", "url": hook, "secret": secret, "triggers": ["taskSuccess", "taskFailure"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let tasks: serde_json::Value =
        http.get(format!("{}/api/v1/tasks", server.base)).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
    let onboard = tasks.as_array().unwrap().iter().find(|t| t["name"] == "Onboard contractors").unwrap();
    let task_id = onboard["taskId"].as_str().unwrap();
    let started: serde_json::Value = http
        .post(format!("{}/api/v1/tasks/{task_id}/run", server.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let process_id = started["processId"].as_str().unwrap();

    let mut delivered = None;
    for _ in 0..200 {
        if let Some(first) = received.lock().unwrap().first().cloned() {
            delivered = Some(first);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (headers, body) = delivered.expect("the receiver got the run's webhook");
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let signature_ok = webhooks::verify(
        &webhooks::SigningSecret::new(secret).unwrap(),
        webhooks::Headers {
            id: header("webhook-id").as_deref(),
            timestamp: header("webhook-timestamp").as_deref(),
            signature: header("webhook-signature").as_deref(),
        },
        body.as_bytes(),
        Some(jiff::Timestamp::now().as_second()),
    );
    assert_eq!(signature_ok, Ok(()));
    assert_eq!(header("x-automation-webhook-token").as_deref(), Some(secret));
    let expected = format!(
        "{{\"trigger\":\"taskSuccess\",\"processId\":\"{process_id}\",\"name\":\"Onboard contractors\",\
         \"actionTypes\":[\"addToGroups\"],\"deepLink\":\"{}/tasks?taskId={task_id}&processId={process_id}\"}}",
        server.base
    );
    assert_eq!(body, expected);
}

/// DELIVERY.md's kill test: SIGKILL while thousands of deliveries are queued and in flight;
/// after a restart every one arrives at least once (the receiver records `webhook-id`s).
async fn deliveries_survive_a_killed_server(db: TestDb) {
    use std::collections::HashSet;
    const DELIVERIES: usize = 5_000;
    let seen: std::sync::Arc<std::sync::Mutex<(HashSet<String>, usize)>> = std::sync::Arc::default();
    let sink = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let sink = sink.clone();
            async move {
                // A little work per request keeps deliveries in flight when the kill comes.
                tokio::time::sleep(Duration::from_millis(2)).await;
                let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                let mut seen = sink.lock().unwrap();
                seen.0.insert(id);
                seen.1 += 1;
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let env = [
        ("UCM_DEMO__USERS", "20"),
        ("UCM_NETWORK__ALLOWED_NETWORKS", "127.0.0.0/8"),
        ("UCM_WEBHOOKS__ALLOWED_URL_PREFIXES", "http://127.0.0.1:"),
        ("UCM_WEBHOOKS__LEASE", "2s"),
    ];
    let mut server = start_with(&db, &env);
    let key = admin_key(&db);
    let http = testkit::http_client();
    let created: serde_json::Value = http
        .post(format!("{}/api/v1/webhooks", server.base))
        .bearer_auth(&key)
        .json(&serde_json::json!({"name": "Receiver", "url": hook, "secret": "a-secret-long-enough", "triggers": ["taskSuccess"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let webhook = created["id"].as_str().unwrap().to_owned();
    // Queue them through the API, 16 at a time.
    let mut queued: Vec<String> = Vec::with_capacity(DELIVERIES);
    let url = format!("{}/api/v1/webhooks/{webhook}/test", server.base);
    for _ in 0..DELIVERIES / 16 + 1 {
        let batch = (0..16).map(|_| {
            let (http, url, key) = (http.clone(), url.clone(), key.clone());
            async move {
                let answer: serde_json::Value =
                    http.post(url).bearer_auth(key).send().await.unwrap().json().await.unwrap();
                answer["deliveryId"].as_str().unwrap().to_owned()
            }
        });
        let mut ids = Vec::new();
        for f in batch {
            ids.push(tokio::spawn(f));
        }
        for id in ids {
            queued.push(id.await.unwrap());
        }
        if queued.len() >= DELIVERIES {
            break;
        }
    }
    queued.truncate(DELIVERIES);
    // Kill it part way.
    for _ in 0..2_000 {
        if seen.lock().unwrap().1 >= 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);
    let before_restart = seen.lock().unwrap().0.len();
    assert!(before_restart < DELIVERIES, "the kill came before everything was sent ({before_restart})");

    let _server = start_with(&db, &env);
    for _ in 0..1_800 {
        if queued.iter().all(|id| seen.lock().unwrap().0.contains(id)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (received, requests) = {
        let seen = seen.lock().unwrap();
        (seen.0.clone(), seen.1)
    };
    let missing: Vec<&String> = queued.iter().filter(|id| !received.contains(*id)).collect();
    assert!(missing.is_empty(), "{} of {DELIVERIES} never arrived, e.g. {:?}", missing.len(), missing.first());
    // At least once: a few may arrive twice (those in flight at the kill), none is lost.
    assert!(requests >= DELIVERIES);
}

/// The loop out of the box, over real HTTP on 127.0.0.1 with loopback not an allowed network:
/// `serve --demo` sets up the four recipes and their subscriptions; the example key's expiry
/// becomes an email and a work item; a task run that succeeds becomes a Confluence-style page and
/// a Slack-style message; one that fails also opens an incident. The audit log shows each step.
async fn the_demo_loop_runs_all_four_recipes(db: TestDb) {
    // Many users in small steps: the failing run is still running when it is cancelled.
    let server = start_with(&db, &[("UCM_DEMO__USERS", "3000"), ("UCM_TASKS__CHUNK_SIZE", "1")]);
    let key = admin_key(&db);
    let http = testkit::http_client();
    let api = |path: &str| format!("{}{path}", server.base);
    let get = |path: &str| {
        let request = http.get(api(path)).bearer_auth(&key);
        async move { request.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let flows = get("/api/v1/flows").await;
    let flows = flows.as_array().unwrap();
    assert_eq!(flows.len(), 4, "{flows:#?}");
    assert!(flows.iter().all(|f| f["enabled"] == true), "{flows:#?}");
    let webhooks = get("/api/v1/webhooks").await;
    assert_eq!(webhooks.as_array().unwrap().len(), 4, "{webhooks:#}");
    let flow_id = |name: &str| flows.iter().find(|f| f["name"] == name).unwrap()["flowId"].as_str().unwrap().to_owned();

    // Outputs of the local connection: waits until `count` of `kind` satisfy `wanted`.
    let outputs = |kind: &'static str, count: usize, wanted: &'static (dyn Fn(&serde_json::Value) -> bool + Sync)| {
        let get = &get;
        async move {
            let mut found = Vec::new();
            for _ in 0..600 {
                let all = get(&format!("/api/v1/outputs?kind={kind}&limit=500")).await;
                found = all.as_array().unwrap().iter().filter(|o| wanted(o)).cloned().collect::<Vec<_>>();
                if found.len() >= count {
                    return found;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("waited for {count} {kind} outputs, found {found:#?}");
        }
    };

    // Recipe 4: the example key expires within the week; the expiry check at start fires.
    let emails = outputs("email", 1, &|o| o["title"].as_str().unwrap().contains("Demo reporting integration")).await;
    let email = serde_json::to_string(&emails[0]).unwrap();
    assert!(email.contains("/settings") && email.contains("it-ops@example.com"), "{email}");
    let rotate =
        outputs("workItem", 1, &|o| o["title"].as_str().unwrap().starts_with("Rotate User Manager API key")).await;
    assert_eq!(rotate[0]["data"]["priority"], "P2", "{:#}", rotate[0]);
    assert!(rotate[0]["data"]["dueDate"].as_str().is_some_and(|d| d.len() == 10), "{:#}", rotate[0]);

    // A run that succeeds: recipes 1 and 2.
    let tasks = get("/api/v1/tasks").await;
    let task_id = |name: &str| {
        tasks.as_array().unwrap().iter().find(|t| t["name"] == name).unwrap()["taskId"].as_str().unwrap().to_owned()
    };
    let run = http.post(api(&format!("/api/v1/tasks/{}/run", task_id("Onboard contractors")))).bearer_auth(&key);
    assert_eq!(run.json(&serde_json::json!({"confirm": true})).send().await.unwrap().status(), 202);
    let messages =
        outputs("message", 1, &|o| o["data"]["mrkdwn"].as_str().unwrap().contains("*Onboard contractors*")).await;
    let mrkdwn = messages[0]["data"]["mrkdwn"].as_str().unwrap();
    assert_eq!(messages[0]["title"], "#it-ops");
    assert!(agent::validate::mrkdwn(mrkdwn).is_empty(), "{mrkdwn}");
    outputs("page", 1, &|o| o["title"].as_str().unwrap().ends_with(": Onboard contractors")).await;

    // A run that fails (cancelled while running): recipe 3 opens an incident, 1 and 2 report it.
    let run = http.post(api(&format!("/api/v1/tasks/{}/run", task_id("Deactivate inactive users")))).bearer_auth(&key);
    let started: serde_json::Value =
        run.json(&serde_json::json!({"confirm": true})).send().await.unwrap().json().await.unwrap();
    let cancel = http.post(api(&format!("/api/v1/runs/{}/cancel", started["processId"].as_str().unwrap())));
    assert!(cancel.bearer_auth(&key).send().await.unwrap().status().is_success());
    let incidents = outputs("workItem", 1, &|o| {
        o["title"].as_str().unwrap() == "User Manager task failed: Deactivate inactive users"
    })
    .await;
    assert_eq!(incidents[0]["data"]["issueType"], "Incident", "{:#}", incidents[0]);
    outputs("message", 1, &|o| {
        let text = o["data"]["mrkdwn"].as_str().unwrap();
        text.contains("*Deactivate inactive users*") && text.contains("taskFailure")
    })
    .await;
    outputs("page", 1, &|o| o["title"].as_str().unwrap().ends_with(": Deactivate inactive users")).await;

    // The audit log: the incident flow ran its steps for the failure and stopped at the
    // condition for the success; the deliveries went over HTTP with the flow's token.
    let audit = get(&format!("/api/v1/flows/{}/executions", flow_id("Jira incident on task failure"))).await;
    let statuses: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["SUCCESS"], "only failures are subscribed: {audit:#}");
    assert_eq!(audit[0]["auth"], "token");
    assert_eq!(audit[0]["steps"][2]["outputs"]["createdIssue"]["key"], incidents[0]["key"], "{audit:#}");
    assert_eq!(audit[0]["steps"][2]["inputs"]["labels"], serde_json::json!(["user-manager", "task-failure"]));
}

/// AUTOMATION §1: the request is stored before the 202, and a request accepted by a server that
/// is then killed mid-execution runs to its end once the lease lapses after a restart.
async fn an_accepted_request_survives_a_killed_server(db: TestDb) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // The flow calls this endpoint: the first call never gets an answer (the server is killed
    // meanwhile), the next is answered.
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    // And this one takes longer than the lease, every time.
    let long_calls = Arc::new(AtomicUsize::new(0));
    let long_counted = long_calls.clone();
    let app = axum::Router::new()
        .route(
            "/slow",
            axum::routing::post(move || {
                let counted = counted.clone();
                async move {
                    if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                        tokio::time::sleep(Duration::from_secs(600)).await;
                    }
                    "done"
                }
            }),
        )
        .route(
            "/long",
            axum::routing::post(move || {
                let counted = long_counted.clone();
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "done"
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow = format!("http://{}/slow", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let env = [("UCM_NETWORK__ALLOWED_NETWORKS", "127.0.0.0/8"), ("UCM_AUTOMATION__EXECUTION_LEASE", "2s")];
    let mut server = start_with(&db, &env);
    let key = admin_key(&db);
    let http = testkit::http_client();
    let flow = serde_json::json!({
        "name": "Slow call", "enabled": true, "trigger": {"type": "incomingWebhook"},
        "steps": [
            {"type": "web.request", "method": "POST", "url": slow, "body": "{{webhookData.n}}"},
            {"type": "log", "message": "answered {{webResponse.status}}"}
        ]
    });
    let flow: serde_json::Value = http
        .post(format!("{}/api/v1/flows", server.base))
        .bearer_auth(&key)
        .json(&flow)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (url, secret) = (flow["webhook"]["url"].as_str().unwrap(), flow["webhook"]["secret"].as_str().unwrap());
    let accepted = http
        .post(url)
        .header("X-Automation-Webhook-Token", secret)
        .json(&serde_json::json!({"n": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let execution_id = accepted.json::<serde_json::Value>().await.unwrap()["executionId"].as_str().unwrap().to_owned();
    for _ in 0..400 {
        if calls.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the execution started");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);

    let server = start_with(&db, &env);
    let execution =
        until_finished(&http, &format!("{}/api/v1/executions/{execution_id}", server.base), &key, 400).await;
    assert_eq!(execution["status"], "SUCCESS", "{execution:#}");
    assert_eq!(execution["request"]["n"], 7);
    assert_eq!(execution["steps"][1]["inputs"]["message"], "answered 200", "{execution:#}");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "run again once the lease lapsed: at least once");

    // An execution that outlives its 2-second lease while its server lives keeps its claim:
    // no other worker runs it a second time.
    let flow = serde_json::json!({
        "name": "Long call", "enabled": true, "trigger": {"type": "incomingWebhook"},
        "steps": [{"type": "web.request", "method": "POST", "url": slow.replace("/slow", "/long")}]
    });
    let flow: serde_json::Value = http
        .post(format!("{}/api/v1/flows", server.base))
        .bearer_auth(&key)
        .json(&flow)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (url, secret) = (flow["webhook"]["url"].as_str().unwrap(), flow["webhook"]["secret"].as_str().unwrap());
    let accepted = http.post(url).header("X-Automation-Webhook-Token", secret).json(&serde_json::json!({})).send();
    let execution_id =
        accepted.await.unwrap().json::<serde_json::Value>().await.unwrap()["executionId"].as_str().unwrap().to_owned();
    let execution =
        until_finished(&http, &format!("{}/api/v1/executions/{execution_id}", server.base), &key, 400).await;
    assert_eq!(execution["status"], "SUCCESS", "{execution:#}");
    assert_eq!(long_calls.load(Ordering::SeqCst), 1, "run once: the claim was renewed while it ran");
}
