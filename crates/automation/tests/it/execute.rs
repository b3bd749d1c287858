//! Executions end to end, without HTTP: a request received, claimed and run; the agent's
//! rendering reaching the local connection; conditions that stop a flow; failures recorded;
//! an execution whose process stopped run again by another.

use std::sync::Arc;

use automation::{ExecutionStatus, Executor, ExecutorSettings, Flows, Incoming, RateLimit};
use directory::{Directory, LocalDirectory};
use model::clock::{Clock, ManualClock};
use model::filter::UserFilter;
use model::flow::FlowDefinition;
use model::task::{Action, Schedule};
use serde_json::{Value, json};
use tasks::{RunStart, TaskInput, TaskService, TaskSettings};
use testkit::{TestDb, backend_tests};
use webhooks::Headers;

const PUBLIC_URL: &str = "http://ucm.test:8080";

/// The engine's clock: a manual one that, once armed, panics at its next reading (a bug in a
/// step, simulated: every step renders with the time).
#[derive(Debug)]
struct PanickingClock {
    clock: ManualClock,
    armed: Arc<std::sync::atomic::AtomicBool>,
}

impl Clock for PanickingClock {
    fn now(&self) -> jiff::Timestamp {
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            panic!("a step crashed (simulated)");
        }
        self.clock.now()
    }
}

struct Engine {
    db: TestDb,
    clock: ManualClock,
    /// Arms the executor's clock to panic once.
    panic_next: Arc<std::sync::atomic::AtomicBool>,
    flows: Flows,
    executor: Executor,
    rate: RateLimit,
}

impl Engine {
    async fn new(db: TestDb) -> Self {
        Self::with_settings(db, ExecutorSettings::default()).await
    }

    async fn with_settings(db: TestDb, settings: ExecutorSettings) -> Self {
        let clock = ManualClock::new("2026-11-29T09:00:00Z".parse().unwrap());
        let key = webhooks::SealingKey::from_base64(&webhooks::SealingKey::generate()).unwrap();
        let flows = Flows::new(db.store.clone(), key.clone(), Arc::new(clock.clone()), PUBLIC_URL);
        let client = webhooks::GuardedClient::new(
            webhooks::AddressPolicy::parse(&["127.0.0.0/8".to_owned()]).unwrap(),
            webhooks::Timeouts::default(),
        )
        .unwrap();
        let connections = connectors::Connections::new(db.store.clone(), key, client, Arc::new(clock.clone()));
        connections.create(&serde_json::from_value(json!({"name": "local", "kind": "local"})).unwrap()).await.unwrap();
        let tools = agent::Tools::new(db.store.read_only().await.unwrap(), Arc::new(clock.clone()), PUBLIC_URL);
        let panic_next = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let executor_clock = Arc::new(PanickingClock { clock: clock.clone(), armed: panic_next.clone() });
        let executor = Executor::new(
            flows.clone(),
            db.store.clone(),
            tools,
            None,
            connections,
            executor_clock,
            PUBLIC_URL,
            settings,
        );
        Self { db, clock, panic_next, flows, executor, rate: RateLimit::new(1000) }
    }

    /// A demo organization and one finished task run; its process id.
    async fn task_run(&self) -> String {
        let now = self.clock.now();
        self.db.store.import_directory(&directory::demo::organization(30, now, 7), &|_| {}).await.unwrap();
        let directory: Arc<dyn Directory> =
            Arc::new(LocalDirectory::new(self.db.store.clone(), Arc::new(self.clock.clone())));
        let settings = TaskSettings { public_url: PUBLIC_URL.to_owned(), ..TaskSettings::default() };
        let service = TaskService::new(self.db.store.clone(), directory, Arc::new(self.clock.clone()), settings);
        let filter = self.db.store.create_saved_filter("everyone", &UserFilter::default(), now).await.unwrap();
        let input = TaskInput {
            name: "Lock everyone".into(),
            filter_id: filter.filter_id,
            actions: vec![Action::SuspendUsers],
            schedule: Schedule::default(),
            active: true,
            execution_limit: None,
        };
        let task = service.create_task(&input, "test").await.unwrap();
        let run = service
            .start_task_run(&task.task_id, &RunStart { started_by: "test".into(), confirm: true })
            .await
            .unwrap();
        service.execute(&run, &|_| {}).await;
        run.process_id.0
    }

    async fn flow(&self, definition: Value) -> (String, String) {
        let definition: FlowDefinition = serde_json::from_value(definition).unwrap();
        let flow = self.flows.create(&definition, "test").await.unwrap();
        (flow.flow_id, flow.webhook.secret.unwrap())
    }

    async fn send(&self, flow: &(String, String), body: &Value) -> String {
        self.send_at_depth(flow, body, 0).await
    }

    async fn send_at_depth(&self, flow: &(String, String), body: &Value, depth: u32) -> String {
        let body = body.to_string();
        let request = Incoming {
            flow_id: &flow.0,
            path_secret: None,
            token: Some(&flow.1),
            signature: Headers::default(),
            body: body.as_bytes(),
            source: "127.0.0.1",
            depth,
        };
        self.flows.receive(request, &self.rate).await.unwrap().execution_id
    }
}

backend_tests!(
    a_task_run_becomes_a_slack_style_message_through_the_agent,
    conditions_choose_and_stop_and_failures_are_recorded,
    an_execution_whose_process_stopped_runs_again,
    chains_stop_at_depth_ten_and_busy_flows_are_throttled,
    the_recipes_do_what_their_files_say,
    branches_work_items_and_the_audit_log_keep_their_promises,
    a_number_that_overflows_fails_its_step_and_every_other_flow_runs,
    a_panicking_execution_is_a_failure_and_the_worker_goes_on,
    an_execution_started_too_often_is_failed_not_retried_forever,
    an_execution_whose_claim_is_lost_stops_before_its_next_step,
    web_request_credentials_are_sealed_at_rest_and_sent_in_clear,
);

async fn a_task_run_becomes_a_slack_style_message_through_the_agent(db: TestDb) {
    let engine = Engine::new(db).await;
    let process_id = engine.task_run().await;
    let flow = engine
        .flow(json!({
            "name": "Slack alert per task run", "enabled": true,
            "trigger": {"type": "incomingWebhook"},
            "steps": [
                {"type": "condition", "first": "{{webhookData.trigger}}", "operator": "ONE_OF", "second": "taskSuccess,taskFailure"},
                {"type": "agent.use", "prompt": "Summarise run {{webhookData.processId}} for #it-ops", "format": "slack-summary"},
                {"type": "slack.message.send", "connection": "local", "channel": "#it-ops", "message": "{{agentResponse}}"},
                {"type": "log", "message": "posted {{slackMessage.ts}} for {{webhookData.name.toUpperCase}}"}
            ]
        }))
        .await;
    let payload = json!({"trigger": "taskSuccess", "processId": process_id, "name": "Lock everyone",
        "actionTypes": ["suspendUsers"], "deepLink": format!("{PUBLIC_URL}/tasks?processId={process_id}")});
    let execution_id = engine.send(&flow, &payload).await;
    assert_eq!(engine.db.store.execution(&execution_id).await.unwrap().state, "queued");

    assert_eq!(engine.executor.run_once().await.unwrap(), 1);
    assert_eq!(engine.executor.run_once().await.unwrap(), 0, "run once, not again");
    let execution = engine.db.store.execution(&execution_id).await.unwrap();
    assert_eq!((execution.state.as_str(), execution.status.as_deref()), ("finished", Some("SUCCESS")));
    let steps: Vec<Value> = serde_json::from_str(execution.steps.as_deref().unwrap()).unwrap();
    let types: Vec<&str> = steps.iter().map(|s| s["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["condition", "agent.use", "slack.message.send", "log"]);
    assert!(steps.iter().all(|s| s["status"] == "SUCCESS"), "{steps:#?}");
    // The audit log shows what each template became.
    assert_eq!(steps[1]["inputs"]["prompt"], format!("Summarise run {process_id} for #it-ops"));
    let summary = steps[1]["outputs"]["agentResponse"].as_str().unwrap();
    // Deactivated and invited users cannot be suspended: a success with failures.
    assert!(summary.starts_with(":warning: *Lock everyone*"), "{summary}");
    assert_eq!(steps[2]["inputs"]["message"], summary);
    assert!(steps[3]["messages"][0].as_str().unwrap().ends_with("for LOCK EVERYONE"), "{:#}", steps[3]);

    // The message is in the local connection, as Slack would show it.
    let messages = connectors::local::list(&engine.db.store, Some("message"), 10).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].title, "#it-ops");
    assert_eq!(messages[0].data["mrkdwn"], summary);
    assert!(messages[0].data["html"].as_str().unwrap().contains("Lock everyone"));
}

async fn conditions_choose_and_stop_and_failures_are_recorded(db: TestDb) {
    let engine = Engine::new(db).await;
    let flow = engine
        .flow(json!({
            "name": "Key expiry escalation", "enabled": true,
            "trigger": {"type": "incomingWebhook"},
            "steps": [
                {"type": "condition", "first": "{{webhookData.trigger}}", "operator": "EQUALS", "second": "orgKeyExpiry"},
                {"type": "ifElse", "branches": [
                    {"conditions": [{"first": "{{webhookData.name}}", "operator": "STARTS_WITH", "second": "prod"}],
                     "steps": [{"type": "variable.create", "name": "priority", "value": "P1"}]},
                    {"steps": [{"type": "variable.create", "name": "priority", "value": "P2"}]}
                ]},
                {"type": "email.send", "connection": "local", "to": "it-ops@example.com",
                 "subject": "API key {{webhookData.name}} expires {{webhookData.expiresAt.toDate.format(\"yyyy-MM-dd\")}}",
                 "body": "Renew it: [API key settings]({{webhookData.settingsUrl}})"},
                {"type": "jira.workitem.create", "connection": "local", "project": "OPS", "issueType": "Task",
                 "summary": "Rotate {{webhookData.name}} key", "priority": "{{priority}}",
                 "dueDate": "{{webhookData.expiresAt.toDate.minusDays(2).format(\"yyyy-MM-dd\")}}"}
            ]
        }))
        .await;
    let expiry = json!({"trigger": "orgKeyExpiry", "apiKeyId": "k1", "name": "ci-deploy",
        "expiresAt": "2026-12-03T09:00:00Z", "settingsUrl": format!("{PUBLIC_URL}/settings/api-keys")});
    let expiring = engine.send(&flow, &expiry).await;
    let other = engine.send(&flow, &json!({"trigger": "taskSuccess", "processId": "x"})).await;
    assert_eq!(engine.executor.run_once().await.unwrap(), 2);

    let done = engine.db.store.execution(&expiring).await.unwrap();
    assert_eq!(done.status.as_deref(), Some("SUCCESS"));
    let emails = connectors::local::list(&engine.db.store, Some("email"), 10).await.unwrap();
    assert_eq!(emails[0].title, "API key ci-deploy expires 2026-12-03");
    assert!(emails[0].data["html"].as_str().unwrap().contains("/settings/api-keys"));
    let items = connectors::local::list(&engine.db.store, Some("workItem"), 10).await.unwrap();
    assert_eq!(items[0].title, "Rotate ci-deploy key");
    assert_eq!(
        (items[0].data["dueDate"].as_str(), items[0].data["priority"].as_str()),
        (Some("2026-12-01"), Some("P2"))
    );

    let skipped = engine.db.store.execution(&other).await.unwrap();
    assert_eq!(skipped.status.as_deref(), Some(ExecutionStatus::NoActionsPerformed.as_str()));
    let steps: Vec<Value> = serde_json::from_str(skipped.steps.as_deref().unwrap()).unwrap();
    assert_eq!(steps.len(), 1, "the condition stopped the flow");
    assert_eq!(steps[0]["status"], "CONDITION_NOT_MET");

    // The connection goes away after the flow was saved: the actions fail, and say why.
    let local = engine.db.store.connection("local").await.unwrap();
    engine.db.store.delete_connection(&local.id).await.unwrap();
    let failing = engine.send(&flow, &expiry).await;
    engine.executor.run_once().await.unwrap();
    let failed = engine.db.store.execution(&failing).await.unwrap();
    assert_eq!(failed.status.as_deref(), Some("FAILURE"));
    let steps: Vec<Value> = serde_json::from_str(failed.steps.as_deref().unwrap()).unwrap();
    let email = steps.iter().find(|s| s["type"] == "email.send").unwrap();
    assert_eq!(email["status"], "FAILURE");
    assert!(email["messages"][0].as_str().unwrap().contains("local"), "{email:#}");
}

async fn an_execution_whose_process_stopped_runs_again(db: TestDb) {
    let engine = Engine::new(db).await;
    let flow = engine
        .flow(json!({"name": "Log", "enabled": true, "trigger": {"type": "incomingWebhook"},
            "steps": [{"type": "log", "message": "got {{webhookData.n}}"}]}))
        .await;
    let id = engine.send(&flow, &json!({"n": 1})).await;
    // Another process claims it, then stops before finishing.
    let now = engine.clock.now();
    let lease = now.checked_add(jiff::SignedDuration::from_secs(300)).unwrap();
    let taken = engine.db.store.claim_executions("ucm-gone", now, lease, 10).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(engine.executor.run_once().await.unwrap(), 0, "its claim still holds");
    engine.clock.advance(jiff::SignedDuration::from_secs(301));
    assert_eq!(engine.executor.run_once().await.unwrap(), 1, "the lapsed claim is taken over");
    let done = engine.db.store.execution(&id).await.unwrap();
    assert_eq!(done.status.as_deref(), Some("SUCCESS"));
    // The stopped process cannot write its result over it.
    assert!(!engine.db.store.finish_execution(&id, "ucm-gone", "FAILURE", "[]", now, 1).await.unwrap());

    // A request still waiting when its flow is disabled does not run: ABORTED, and says why.
    let waiting = engine.send(&flow, &json!({"n": 2})).await;
    engine.flows.set_enabled(&flow.0, false).await.unwrap();
    assert_eq!(engine.executor.run_once().await.unwrap(), 1);
    let aborted = engine.db.store.execution(&waiting).await.unwrap();
    assert_eq!(aborted.status.as_deref(), Some("ABORTED"));
    assert!(aborted.steps.unwrap().contains("disabled after this request was accepted"));
    // A test run runs the disabled flow all the same.
    let tested = engine.executor.test_run(&flow.0, &json!({"n": 3})).await.unwrap();
    assert_eq!(tested.status.as_deref(), Some("SUCCESS"), "{tested:?}");
}

async fn chains_stop_at_depth_ten_and_busy_flows_are_throttled(db: TestDb) {
    // A receiver that notes the depth header and takes a moment (so executions take time).
    let depths: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let seen = depths.clone();
    let app = axum::Router::new().route(
        "/next",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let seen = seen.clone();
            async move {
                let depth = headers.get("x-automation-depth").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                seen.lock().unwrap().push(depth);
                tokio::time::sleep(std::time::Duration::from_millis(30)).await;
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let next = format!("http://{}/next", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let settings = ExecutorSettings { time_budget_per_hour: std::time::Duration::ZERO, ..ExecutorSettings::default() };
    let engine = Engine::with_settings(db, settings).await;
    let flow = engine
        .flow(json!({"name": "Relay", "enabled": true, "trigger": {"type": "incomingWebhook"},
            "steps": [{"type": "web.request", "method": "POST", "url": next, "body": "{{webhookData}}"}]}))
        .await;

    // Depth 10: recorded as LOOP, never run.
    let looped = engine.send_at_depth(&flow, &json!({"n": 1}), automation::MAX_CHAIN_DEPTH).await;
    let record = engine.db.store.execution(&looped).await.unwrap();
    assert_eq!((record.state.as_str(), record.status.as_deref()), ("finished", Some("LOOP")));
    assert_eq!(engine.executor.run_once().await.unwrap(), 0);

    // Depth 3: runs, and the request it makes says 4.
    let relayed = engine.send_at_depth(&flow, &json!({"n": 2}), 3).await;
    assert_eq!(engine.executor.run_once().await.unwrap(), 1);
    assert_eq!(engine.db.store.execution(&relayed).await.unwrap().status.as_deref(), Some("SUCCESS"));
    assert_eq!(*depths.lock().unwrap(), ["4"]);

    // With no time budget left, the next one is held back.
    let held = engine.send(&flow, &json!({"n": 3})).await;
    engine.executor.run_once().await.unwrap();
    let held = engine.db.store.execution(&held).await.unwrap();
    assert_eq!(held.status.as_deref(), Some(ExecutionStatus::Throttled.as_str()));
    assert!(held.steps.unwrap().contains("over its budget"));
    assert_eq!(depths.lock().unwrap().len(), 1, "a throttled execution sends nothing");

    // Records older than the retention go.
    engine.clock.advance(jiff::SignedDuration::from_hours(24 * 91));
    assert_eq!(engine.executor.delete_expired().await.unwrap(), 3);
    assert!(engine.db.store.executions_of_flow(&flow.0, 10).await.unwrap().is_empty());
}

/// The four recipes in `examples/recipes/`, saved as they are and run with the payloads ucm
/// sends: each leaves what it promises in the local connection.
async fn the_recipes_do_what_their_files_say(db: TestDb) {
    let engine = Engine::new(db).await;
    let process_id = engine.task_run().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/recipes");
    let mut flows = Vec::new();
    for file in
        ["1-confluence-audit-page", "2-slack-alert", "3-jira-incident-on-failure", "4-api-key-expiry-escalation"]
    {
        let text = std::fs::read_to_string(dir.join(format!("{file}.json"))).unwrap();
        flows.push(engine.flow(serde_json::from_str(&text).unwrap()).await);
    }
    let run = json!({"trigger": "taskFailure", "processId": process_id, "name": "Lock everyone",
        "actionTypes": ["suspendUsers"], "deepLink": format!("{PUBLIC_URL}/tasks?processId={process_id}")});
    let expiry = json!({"trigger": "orgKeyExpiry", "apiKeyId": "0190f2c4-aaaa-7000-8000-000000000001", "name": "ci-deploy",
        "expiresAt": "2026-12-03T09:00:00Z", "settingsUrl": format!("{PUBLIC_URL}/settings/api-keys")});
    for (flow, payload) in flows.iter().zip([&run, &run, &run, &expiry]) {
        let view = engine.executor.test_run(&flow.0, payload).await.unwrap();
        assert_eq!(view.status.as_deref(), Some("SUCCESS"), "{view:#?}");
    }
    let store = &engine.db.store;
    let page = &connectors::local::list(store, Some("page"), 10).await.unwrap()[0];
    assert_eq!(page.title, "User changes 2026-11-29 09:00: Lock everyone");
    assert!(page.data["markdown"].as_str().unwrap().contains("Per-user changes"), "{:#}", page.data);
    let message = &connectors::local::list(store, Some("message"), 10).await.unwrap()[0];
    assert!(message.data["mrkdwn"].as_str().unwrap().starts_with(":warning: *Lock everyone*"));
    let items = connectors::local::list(store, Some("workItem"), 10).await.unwrap();
    let incident = items.iter().find(|i| i.data["issueType"] == "Incident").unwrap();
    assert_eq!(incident.title, "User Manager task failed: Lock everyone");
    assert!(incident.data["markdown"].as_str().unwrap().contains(&process_id));
    let rotate = items.iter().find(|i| i.data["issueType"] == "Task").unwrap();
    assert_eq!(rotate.title, "Rotate User Manager API key: ci-deploy");
    assert_eq!((rotate.data["dueDate"].as_str(), rotate.data["priority"].as_str()), (Some("2026-12-01"), Some("P2")));
    let email = &connectors::local::list(store, Some("email"), 10).await.unwrap()[0];
    assert_eq!(email.title, "User Manager API key 'ci-deploy' expires 2026-12-03 09:00 UTC");
    assert!(email.data["html"].as_str().unwrap().contains("/settings/api-keys"));

    // The failure recipe stays quiet on success; the expiry recipe on task runs.
    let success = json!({"trigger": "taskSuccess", "processId": process_id, "name": "Lock everyone"});
    assert_eq!(
        engine.executor.test_run(&flows[2].0, &success).await.unwrap().status.as_deref(),
        Some("NO_ACTIONS_PERFORMED")
    );
    assert_eq!(
        engine.executor.test_run(&flows[3].0, &run).await.unwrap().status.as_deref(),
        Some("NO_ACTIONS_PERFORMED")
    );
}

/// A condition inside a branch stops that branch only; ANY takes one holding condition; a
/// `provided` trigger runs once per work item; credentials never reach the audit log.
async fn branches_work_items_and_the_audit_log_keep_their_promises(db: TestDb) {
    let engine = Engine::new(db).await;
    let flow = engine
        .flow(
            json!({"name": "Per item", "enabled": true, "trigger": {"type": "incomingWebhook", "workItems": "provided"},
            "steps": [
                {"type": "ifElse", "branches": [
                    {"matches": "ANY", "conditions": [
                        {"first": "{{issue.key}}", "operator": "EQUALS", "second": "nope"},
                        {"first": "{{issue.key}}", "operator": "STARTS_WITH", "second": "OPS-"}],
                     "steps": [
                        {"type": "condition", "first": "{{issue.key}}", "operator": "EQUALS", "second": "OPS-1"},
                        {"type": "log", "message": "only OPS-1 gets here"}]}
                ]},
                {"type": "slack.message.send", "connection": "local", "channel": "#ops",
                 "message": "{{issue.key}} with {{webhookData.apiKey}} via {{webhookData.next}}"}
            ]}),
        )
        .await;
    let body = json!({"issues": ["OPS-1", "OPS-2"], "apiKey": "sk-live-123456",
        "next": format!("{PUBLIC_URL}/automation/webhooks/f1/s3cr3t-path")});
    let id = engine.send(&flow, &body).await;
    engine.executor.run_once().await.unwrap();
    let execution = engine.flows.execution(&id).await.unwrap();
    assert_eq!(execution.status.as_deref(), Some("SUCCESS"));
    let paths: Vec<(String, Option<String>)> =
        execution.steps.iter().map(|s| (format!("{} {}", s.path, s.step_type), s.work_item.clone())).collect();
    let item = |k: &str| Some(k.to_owned());
    assert_eq!(
        paths,
        [
            ("steps[0] ifElse".to_owned(), item("OPS-1")),
            ("steps[0].branches[0].steps[0] condition".to_owned(), item("OPS-1")),
            ("steps[0].branches[0].steps[1] log".to_owned(), item("OPS-1")),
            ("steps[1] slack.message.send".to_owned(), item("OPS-1")),
            ("steps[0] ifElse".to_owned(), item("OPS-2")),
            ("steps[0].branches[0].steps[0] condition".to_owned(), item("OPS-2")),
            ("steps[1] slack.message.send".to_owned(), item("OPS-2")),
        ],
        "the condition in the branch stopped the branch, not the flow"
    );
    let messages = connectors::local::list(&engine.db.store, Some("message"), 10).await.unwrap();
    assert_eq!(messages.len(), 2, "one message per work item");
    // The message itself went out as written; the audit log shows neither the key nor the path secret.
    assert!(messages[0].data["mrkdwn"].as_str().unwrap().contains("sk-live-123456"));
    let audit = serde_json::to_string(&execution).unwrap();
    assert!(!audit.contains("sk-live-123456") && !audit.contains("s3cr3t-path"), "{audit}");
    assert!(audit.contains("/automation/webhooks/f1/***"), "{audit}");
    assert_eq!(execution.request["apiKey"], "***");

    // A test run follows the trigger's criteria too.
    let refused = engine.executor.test_run(&flow.0, &json!({"no": "items"})).await;
    assert!(matches!(refused, Err(automation::FlowError::Invalid(_))), "{refused:?}");
}

/// A local receiver for web requests that runs `on_request` (in the request) before it answers.
async fn receiver(on_request: impl Fn() + Clone + Send + Sync + 'static) -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let on_request = on_request.clone();
            async move {
                tokio::task::spawn_blocking(on_request).await.unwrap();
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn local_messages(engine: &Engine) -> usize {
    engine.db.store.outputs(Some("message"), 100).await.unwrap().len()
}

/// Numbers past what a decimal holds, from the payload: the step fails and says so, nothing is
/// posted with a blank field, and the requests to other flows all run.
async fn a_number_that_overflows_fails_its_step_and_every_other_flow_runs(db: TestDb) {
    let engine = Engine::new(db).await;
    let sum = engine
        .flow(json!({"name": "Sum", "enabled": true, "trigger": {"type": "incomingWebhook"},
        "steps": [
            {"type": "log", "message": "total {{webhookData.amount.plus(webhookData.fee)}}"},
            {"type": "slack.message.send", "connection": "local", "channel": "#ops",
             "message": "total {{webhookData.amount.multiply(webhookData.fee)}}"}
        ]}))
        .await;
    let other = engine
        .flow(json!({"name": "Other", "enabled": true, "trigger": {"type": "incomingWebhook"},
            "steps": [{"type": "slack.message.send", "connection": "local", "channel": "#ops", "message": "hi {{webhookData.n}}"}]}))
        .await;
    let mut overflowing = Vec::new();
    for _ in 0..4 {
        overflowing.push(engine.send(&sum, &json!({"amount": 7.9e28, "fee": 7.9e28})).await);
    }
    let fine = engine.send(&other, &json!({"n": 1})).await;
    assert_eq!(engine.executor.run_once().await.unwrap(), 5);
    for id in overflowing {
        let view = engine.flows.execution(&id).await.unwrap();
        assert_eq!(view.status.as_deref(), Some("FAILURE"), "{view:?}");
        assert_eq!(view.steps.len(), 2);
        for step in &view.steps {
            assert_eq!(step.status, automation::StepStatus::Failure);
            assert!(step.messages.iter().any(|m| m.contains("too large")), "{:?}", step.messages);
        }
    }
    assert_eq!(engine.flows.execution(&fine).await.unwrap().status.as_deref(), Some("SUCCESS"));
    assert_eq!(local_messages(&engine).await, 1, "only the other flow posted");
}

/// A panic in a step ends that execution as a failure with an internal error, the steps before
/// it kept in the audit log; the same worker runs the next execution.
async fn a_panicking_execution_is_a_failure_and_the_worker_goes_on(db: TestDb) {
    let engine = Engine::new(db).await;
    let armed = engine.panic_next.clone();
    let url = receiver(move || armed.store(true, std::sync::atomic::Ordering::SeqCst)).await;
    let crashing = engine
        .flow(json!({"name": "Crash", "enabled": true, "trigger": {"type": "incomingWebhook"},
        "steps": [
            {"type": "web.request", "method": "POST", "url": url, "body": "{}"},
            {"type": "slack.message.send", "connection": "local", "channel": "#ops", "message": "after"}
        ]}))
        .await;
    let fine = engine
        .flow(json!({"name": "Fine", "enabled": true, "trigger": {"type": "incomingWebhook"},
            "steps": [{"type": "log", "message": "fine {{webhookData.n}}"}]}))
        .await;
    let crashed = engine.send(&crashing, &json!({})).await;
    let next = engine.send(&fine, &json!({"n": 2})).await;
    assert_eq!(engine.executor.run_once().await.unwrap(), 2);
    let view = engine.flows.execution(&crashed).await.unwrap();
    assert_eq!((view.state.as_str(), view.status.as_deref()), ("finished", Some("FAILURE")), "{view:?}");
    assert_eq!(view.steps[0].step_type, "web.request", "the steps before the panic are kept");
    let last = view.steps.last().unwrap();
    assert!(last.messages[0].starts_with("internal error"), "{last:?}");
    assert!(!format!("{view:?}").contains("simulated"), "the panic's message stays in the log");
    assert_eq!(local_messages(&engine).await, 0);
    assert_eq!(engine.flows.execution(&next).await.unwrap().status.as_deref(), Some("SUCCESS"));
}

/// An execution whose process died every time it ran it (claimed, never finished) is failed
/// once it has been started three times, not taken up again forever.
async fn an_execution_started_too_often_is_failed_not_retried_forever(db: TestDb) {
    let engine = Engine::new(db).await;
    let flow = engine
        .flow(json!({"name": "Post", "enabled": true, "trigger": {"type": "incomingWebhook"},
            "steps": [{"type": "slack.message.send", "connection": "local", "channel": "#ops", "message": "hi"}]}))
        .await;
    let id = engine.send(&flow, &json!({})).await;
    for process in 0..3 {
        // Claimed by a process that dies: its lease lapses.
        let now = engine.clock.now();
        let lease = now.checked_add(jiff::SignedDuration::from_secs(300)).unwrap();
        let taken = engine.db.store.claim_executions(&format!("ucm-dies-{process}"), now, lease, 10).await.unwrap();
        assert_eq!(taken.len(), 1);
        engine.clock.advance(jiff::SignedDuration::from_secs(301));
    }
    assert_eq!(engine.executor.run_once().await.unwrap(), 1);
    let view = engine.flows.execution(&id).await.unwrap();
    assert_eq!(view.status.as_deref(), Some("FAILURE"));
    assert!(view.steps[0].messages[0].contains("started 3 times and never finished"), "{view:?}");
    assert_eq!(local_messages(&engine).await, 0, "not run a fourth time");
}

/// When another process takes an execution over while a step runs (its claim lapsed), this
/// process runs no further step: nothing is posted twice.
async fn an_execution_whose_claim_is_lost_stops_before_its_next_step(db: TestDb) {
    let lease = std::time::Duration::from_millis(300);
    let engine = Engine::with_settings(db, ExecutorSettings { lease, ..ExecutorSettings::default() }).await;
    // While the first step's request is in flight, time passes past the lease and another
    // process claims the execution; the answer comes after the next renewal has noticed.
    let (clock, store) = (engine.clock.clone(), engine.db.store.clone());
    let runtime = tokio::runtime::Handle::current();
    let url = receiver(move || {
        clock.advance(jiff::SignedDuration::from_secs(5));
        let now = clock.now();
        let until = now.checked_add(jiff::SignedDuration::from_secs(300)).unwrap();
        let taken = runtime.block_on(store.claim_executions("ucm-other", now, until, 10)).unwrap();
        assert_eq!(taken.len(), 1, "the other process takes it over");
        std::thread::sleep(lease);
    })
    .await;
    let flow = engine
        .flow(json!({"name": "Slow", "enabled": true, "trigger": {"type": "incomingWebhook"},
        "steps": [
            {"type": "web.request", "method": "POST", "url": url, "body": "{}"},
            {"type": "slack.message.send", "connection": "local", "channel": "#ops", "message": "once"}
        ]}))
        .await;
    let id = engine.send(&flow, &json!({})).await;
    assert_eq!(engine.executor.run_once().await.unwrap(), 0, "its result is not kept");
    assert_eq!(local_messages(&engine).await, 0, "the step after the lost claim did not run");
    assert_eq!(engine.db.store.execution(&id).await.unwrap().owner.as_deref(), Some("ucm-other"));
}

/// A web request's credentials (a header, a query parameter, a body field) are sealed in the
/// database, shown to whoever may read the flow as written, and sent as written.
async fn web_request_credentials_are_sealed_at_rest_and_sent_in_clear(db: TestDb) {
    let engine = Engine::new(db).await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let kept = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, uri: axum::http::Uri, body: String| {
            let kept = kept.clone();
            async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                kept.lock().unwrap().extend([auth, uri.to_string(), body]);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let url = format!("{base}?token=query-credential&page=2");
    let body = r#"{"user": "{{webhookData.user}}", "password": "body-credential"}"#;
    let flow = engine
        .flow(json!({"name": "Call out", "enabled": true, "trigger": {"type": "incomingWebhook"}, "steps": [{
            "type": "web.request", "method": "POST", "url": url, "body": body,
            "headers": [{"name": "Authorization", "value": "Bearer header-credential"},
                        {"name": "Accept", "value": "text/plain"}]}]}))
        .await;
    let stored = engine.db.store.flow(&flow.0).await.unwrap().definition;
    for credential in ["query-credential", "body-credential", "header-credential"] {
        assert!(!stored.contains(credential), "{credential} in {stored}");
    }
    assert!(stored.contains("text/plain"), "what carries no credential stays readable: {stored}");
    // A flow saved before credentials were sealed (its definition as plain JSON) is sealed at
    // the next start; a second pass finds nothing to do.
    let mut old = engine.db.store.flow(&flow.0).await.unwrap();
    let plain = engine.flows.get(&flow.0, false).await.unwrap().definition;
    old.definition =
        json!({"description": plain.description, "trigger": plain.trigger, "steps": plain.steps}).to_string();
    engine.db.store.update_flow(&old).await.unwrap();
    assert!(engine.db.store.flow(&flow.0).await.unwrap().definition.contains("header-credential"));
    assert_eq!(engine.flows.seal_stored_credentials().await.unwrap(), 1);
    assert!(!engine.db.store.flow(&flow.0).await.unwrap().definition.contains("header-credential"));
    assert_eq!(engine.flows.seal_stored_credentials().await.unwrap(), 0);

    let read = engine.flows.get(&flow.0, true).await.unwrap();
    let model::flow::Step::WebRequest { url: read_url, headers, body: read_body, .. } = &read.definition.steps[0]
    else {
        panic!("{read:?}")
    };
    assert_eq!((read_url.as_str(), read_body.as_str()), (url.as_str(), body));
    assert_eq!(headers[0].value, "Bearer header-credential");

    engine.send(&flow, &json!({"user": "ada"})).await;
    assert_eq!(engine.executor.run_once().await.unwrap(), 1);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0], "Bearer header-credential");
    assert!(seen[1].contains("token=query-credential"), "{seen:?}");
    assert_eq!(seen[2], r#"{"user": "ada", "password": "body-credential"}"#);
}
