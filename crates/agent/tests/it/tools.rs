//! The read-only tools on both engines, over a small organization and a real run: each answer
//! matches its output schema, names resolve as people type them, counts agree with the User
//! Browser, and the tools' connections cannot write.

use std::sync::Arc;

use agent::template::render_template;
use agent::tools::{LicenseHealthInput, SearchTaskResultsInput, SearchTaskResultsOutput, SearchUsersInput};
use agent::{ToolError, ToolName, Tools};
use directory::{Directory, LocalDirectory};
use jiff::{SignedDuration, Timestamp};
use model::apikey::{ApiKey, ApiKeyRole};
use model::clock::{Clock, ManualClock};
use model::directory::{AppAccess, AppGrant, Group, Role, RoleAssignment, Site, User, UserStatus};
use model::filter::UserFilter;
use model::ids::ProcessId;
use model::task::{Action, AppTarget, Schedule};
use model::webhook::{OutboundEvent, Subscription, Trigger};
use serde_json::{Value, json};
use store::DirectoryImport;
use tasks::{RunStart, TaskInput, TaskService, TaskSettings};
use testkit::{TestDb, backend_tests};

const PUBLIC_URL: &str = "http://ucm.test:8080";

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// One site; Confluence and Jira granted by groups; users active, stale, suspended, invited.
fn organization() -> DirectoryImport {
    let site = Site { site_id: "site-1".into(), name: "acme".into(), url: "https://acme.example".into() };
    let grant = |app: &str| AppGrant { app_type: app.into(), site_id: "site-1".into() };
    let group = |id: &str, name: &str, grants: Vec<AppGrant>| Group {
        group_id: id.into(),
        name: name.into(),
        site_id: None,
        grants,
    };
    let user = |id: &str, name: &str, status: UserStatus, groups: &[&str], last: Option<&str>| User {
        account_id: id.into(),
        display_name: name.into(),
        email: format!("{id}@acme.com"),
        status,
        sites: vec!["site-1".into()],
        groups: groups.iter().map(|g| (*g).into()).collect(),
        app_access: ["confluence", "jira-software"]
            .iter()
            .map(|app| AppAccess { app_type: (*app).into(), site_id: "site-1".into(), last_active: last.map(at) })
            .collect(),
        roles: vec![],
        last_active: last.map(at),
        created_at: at("2026-01-01T00:00:00Z"),
    };
    let mut dee = user("dee", "Dee Admin", UserStatus::Active, &["g-conf"], Some("2026-11-27T00:00:00Z"));
    dee.roles.push(RoleAssignment::plain(Role::OrgAdmin));
    DirectoryImport {
        sites: vec![site],
        groups: vec![
            group("g-conf", "confluence-users", vec![grant("confluence")]),
            group("g-jira", "jira-users", vec![grant("jira-software")]),
            group("g-contractors", "Contractors", vec![]),
        ],
        users: vec![
            // Used both apps yesterday.
            user("ada", "Ada Lovelace", UserStatus::Active, &["g-conf", "g-jira"], Some("2026-11-27T00:00:00Z")),
            // Not seen for months.
            user("bea", "Bea Stale", UserStatus::Active, &["g-conf", "g-jira"], Some("2026-06-01T00:00:00Z")),
            // Never signed in: counts from creation (January), so inactive.
            user("ivy", "Ivy Invited", UserStatus::Invited, &["g-conf"], None),
            // Suspended: keeps the group, is not billed.
            user("sam", "Sam Suspended", UserStatus::Suspended, &["g-conf"], Some("2026-11-27T00:00:00Z")),
            dee,
        ],
    }
}

pub struct Fixture {
    pub db: TestDb,
    pub clock: ManualClock,
    pub tools: Tools,
    pub service: TaskService,
}

impl Fixture {
    pub async fn new(db: TestDb) -> Self {
        let clock = ManualClock::new(at("2026-11-28T12:00:00Z"));
        db.store.import_directory(&organization(), &|_| {}).await.unwrap();
        let directory: Arc<dyn Directory> = Arc::new(LocalDirectory::new(db.store.clone(), Arc::new(clock.clone())));
        let settings = TaskSettings { public_url: PUBLIC_URL.to_owned(), ..TaskSettings::default() };
        let service = TaskService::new(db.store.clone(), directory, Arc::new(clock.clone()), settings);
        let tools = Tools::new(db.store.read_only().await.unwrap(), Arc::new(clock.clone()), PUBLIC_URL);
        Self { db, clock, tools, service }
    }

    /// Runs "Stale cleanup" (everyone with Confluence: join Contractors, lose Confluence, be
    /// suspended) to the end; its process id.
    pub async fn run_task(&self) -> ProcessId {
        let now = self.clock.now();
        let filter = UserFilter { apps: vec!["Confluence".into()], ..UserFilter::default() };
        let filter_id = self.db.store.create_saved_filter("confluence", &filter, now).await.unwrap().filter_id;
        let input = TaskInput {
            name: "Stale cleanup".into(),
            filter_id,
            actions: vec![
                Action::AddToGroups { group_ids: vec!["Contractors".into()] },
                Action::RemoveAppAccess {
                    apps: vec![AppTarget { app_type: "Confluence".into(), site_id: None }],
                    all: false,
                },
                Action::SuspendUsers,
            ],
            schedule: Schedule::default(),
            active: true,
            execution_limit: None,
        };
        let task = self.service.create_task(&input, "test").await.unwrap();
        let start = RunStart { started_by: "test".into(), confirm: true };
        let run = self.service.start_task_run(&task.task_id, &start).await.unwrap();
        self.service.execute(&run, &|_| {}).await;
        run.process_id
    }

    async fn call(&self, tool: ToolName, arguments: Value) -> Value {
        let answer = self.tools.call(tool, arguments.clone()).await.unwrap().to_json();
        let given = if arguments.is_null() { json!({}) } else { arguments };
        check_schema(&tool.input_schema(), &given, &format!("{tool} arguments"));
        check_schema(&tool.output_schema(), &answer, &format!("{tool} answer"));
        answer
    }
}

fn check_schema(schema: &Value, instance: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("{what}: the schema is invalid: {e}"));
    let errors: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{what} does not match its schema:\n{}\n{instance:#}", errors.join("\n"));
}

backend_tests!(
    every_tool_answers_in_its_schema_with_a_deep_link,
    search_users_reads_human_names_and_reports_what_matched_nothing,
    search_task_results_reads_a_run_and_lists_runs,
    license_health_counts_the_users_the_user_browser_shows,
    notification_settings_names_what_needs_attention,
    a_user_template_renders_over_the_tools_answers,
);

async fn every_tool_answers_in_its_schema_with_a_deep_link(db: TestDb) {
    let f = Fixture::new(db).await;
    let process_id = f.run_task().await;
    let calls = [
        (ToolName::SearchUsers, json!({"apps": ["confluence"], "pageSize": 10})),
        (ToolName::SearchUsers, json!({"groups": ["confluence-user"]})),
        (ToolName::SearchTaskResults, json!({"processId": process_id.as_str()})),
        (ToolName::SearchTaskResults, json!({"task": "stale cleanup"})),
        (ToolName::LicenseHealth, json!({})),
        (ToolName::NotificationSettings, Value::Null),
    ];
    for (tool, arguments) in calls {
        let answer = f.call(tool, arguments).await;
        let link = answer["deepLink"].as_str().unwrap_or_default();
        assert!(link.starts_with(PUBLIC_URL), "{tool}: no deep link in {answer:#}");
    }
    // Arguments outside the schema are refused, each named.
    let Err(ToolError::Invalid(problems)) = f.tools.call(ToolName::SearchUsers, json!({"inactivedays": 30})).await
    else {
        panic!("an unknown argument must be refused")
    };
    assert!(problems[0].message.contains("inactivedays"), "{problems:?}");
    let Err(ToolError::Invalid(problems)) = f.tools.call(ToolName::LicenseHealth, json!({"inactiveDays": "x"})).await
    else {
        panic!("a string for a number must be refused")
    };
    assert_eq!(problems[0].field, "inactiveDays");
    assert!(matches!(f.tools.call(ToolName::LicenseHealth, json!([1])).await, Err(ToolError::Invalid(_))));
}

async fn search_users_reads_human_names_and_reports_what_matched_nothing(db: TestDb) {
    let f = Fixture::new(db).await;
    let input = SearchUsersInput { apps: vec!["CONFLUENCE".into()], inactive_days: Some(30), ..Default::default() };
    let found = f.tools.search_users(&input).await.unwrap();
    let names: Vec<&str> = found.users.iter().map(|u| u.user.display_name.as_str()).collect();
    assert_eq!(names, ["Bea Stale", "Ivy Invited"]);
    assert_eq!(found.total, 2);
    assert_eq!(found.filter.apps, ["Confluence"], "the filter as understood, by display name");
    assert_eq!(found.deep_link, format!("{PUBLIC_URL}/users?inactiveDays=30&apps=confluence"));
    assert_eq!(found.users[0].user_browser_url, format!("{PUBLIC_URL}/users?accountId=bea"));

    let typo = SearchUsersInput { groups: vec!["confluence-user".into()], ..Default::default() };
    let found = f.tools.search_users(&typo).await.unwrap();
    assert!(found.users.is_empty() && found.total == 0);
    assert_eq!(found.unmatched.len(), 1);
    assert_eq!(found.unmatched[0].field, "groups");
    assert_eq!(found.unmatched[0].suggestions[0], "confluence-users");

    let too_long = SearchUsersInput { groups: vec!["g".repeat(300)], ..Default::default() };
    let Err(ToolError::Invalid(problems)) = f.tools.search_users(&too_long).await else {
        panic!("a name over the limit is an error, not a name that matched nothing")
    };
    assert!(problems[0].message.contains("at most"), "{problems:?}");
    let bad_page = SearchUsersInput { page_size: Some(7), ..Default::default() };
    assert!(matches!(f.tools.search_users(&bad_page).await, Err(ToolError::Invalid(_))));
}

async fn search_task_results_reads_a_run_and_lists_runs(db: TestDb) {
    let f = Fixture::new(db).await;
    let process_id = f.run_task().await;

    // By process id: the same record as the REST API's, to the byte.
    let input = SearchTaskResultsInput { process_id: Some(process_id.0.clone()), ..Default::default() };
    let SearchTaskResultsOutput::Record(record) = f.tools.search_task_results(&input).await.unwrap() else {
        panic!("a process id answers a record")
    };
    let api = f.service.run_record(&process_id, None, 100).await.unwrap();
    assert_eq!(serde_json::to_value(&record).unwrap(), serde_json::to_value(&api).unwrap());
    let changed: Vec<&str> = record.user_changes.iter().map(|c| c.display_name.as_str()).collect();
    assert_eq!(changed, ["Ada Lovelace", "Bea Stale", "Ivy Invited", "Sam Suspended"], "Dee is protected");
    assert_eq!(record.run.summary.users_skipped, 1);

    // Paged: one user at a time, the cursor carries on.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let input = SearchTaskResultsInput {
            process_id: Some(process_id.0.clone()),
            cursor: cursor.clone(),
            limit: Some(1),
            ..Default::default()
        };
        let SearchTaskResultsOutput::Record(page) = f.tools.search_task_results(&input).await.unwrap() else {
            panic!()
        };
        seen.extend(page.user_changes.into_iter().map(|c| c.display_name));
        assert_eq!(page.run.summary.total_user_changes, 4, "the summary stays whole on every page");
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["Ada Lovelace", "Bea Stale", "Ivy Invited", "Sam Suspended"]);

    // Lists: by task name in any case, by a user's email, by outcome, by time.
    let list = |input: SearchTaskResultsInput| {
        let tools = f.tools.clone();
        async move {
            match tools.search_task_results(&input).await.unwrap() {
                SearchTaskResultsOutput::Runs(list) => list,
                SearchTaskResultsOutput::Record(_) => panic!("no process id answers a list"),
            }
        }
    };
    let by_task = list(SearchTaskResultsInput { task: Some("STALE CLEANUP".into()), ..Default::default() }).await;
    assert_eq!(by_task.runs.len(), 1);
    assert_eq!(by_task.runs[0].process_id, process_id);
    assert!(by_task.deep_link.starts_with(&format!("{PUBLIC_URL}/tasks?taskId=")));
    let touched = list(SearchTaskResultsInput { user: Some("Bea@Acme.com".into()), ..Default::default() }).await;
    assert_eq!(touched.runs.len(), 1, "the run changed Bea");
    let untouched = list(SearchTaskResultsInput { user: Some("dee".into()), ..Default::default() }).await;
    assert!(untouched.runs.is_empty(), "the run skipped Dee, an organization admin");
    let failures =
        list(SearchTaskResultsInput { outcome: Some(model::run::RunOutcome::Failure), ..Default::default() }).await;
    assert!(failures.runs.is_empty());
    let later = list(SearchTaskResultsInput { since: Some("2026-11-29T00:00:00Z".into()), ..Default::default() }).await;
    assert!(later.runs.is_empty());

    // Every bad filter is named at once, with suggestions where there are names to suggest.
    let bad = SearchTaskResultsInput {
        task: Some("stale clean".into()),
        user: Some("nobody@acme.com".into()),
        since: Some("yesterday".into()),
        ..Default::default()
    };
    let Err(ToolError::Invalid(problems)) = f.tools.search_task_results(&bad).await else { panic!() };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["task", "user", "since"]);
    assert_eq!(problems[0].suggestions, ["Stale cleanup"]);
    for (limit, process) in [(0, None), (501, None), (1001, Some(process_id.0.clone()))] {
        let input = SearchTaskResultsInput { limit: Some(limit), process_id: process, ..Default::default() };
        let Err(ToolError::Invalid(problems)) = f.tools.search_task_results(&input).await else { panic!("{limit}") };
        assert_eq!(problems[0].field, "limit");
    }
    let long = SearchTaskResultsInput { task: Some("t".repeat(10_000)), ..Default::default() };
    let Err(ToolError::Invalid(problems)) = f.tools.search_task_results(&long).await else { panic!() };
    assert_eq!((problems[0].field.as_str(), problems[0].message.as_str()), ("task", "at most 256 characters"));
    let missing = SearchTaskResultsInput { process_id: Some("0190f2c4-0000".into()), ..Default::default() };
    assert!(matches!(f.tools.search_task_results(&missing).await, Err(ToolError::NotFound(_))));
}

async fn license_health_counts_the_users_the_user_browser_shows(db: TestDb) {
    let f = Fixture::new(db).await;
    // Zed is in the Confluence group but not a user of the site: no seat there (the User
    // Browser's `site` does not show Zed either).
    let mut org = organization();
    let mut zed = org.users.iter().find(|u| u.account_id.as_str() == "bea").unwrap().clone();
    (zed.account_id, zed.display_name, zed.email) = ("zed".into(), "Zed Elsewhere".into(), "zed@acme.com".into());
    zed.sites.clear();
    org.users = vec![zed];
    f.db.store.import_directory(&org, &|_| {}).await.unwrap();
    let health = f.tools.license_health(&LicenseHealthInput::default()).await.unwrap();
    assert_eq!(health.inactive_days, 30);
    let seats: Vec<(&str, u64, u64, u64)> =
        health.seats.iter().map(|s| (s.app_name.as_str(), s.billable, s.active, s.inactive)).collect();
    // Confluence: Ada, Bea, Ivy, Dee billable (Sam is suspended); Bea and Ivy inactive.
    // Jira: Ada and Bea; Bea inactive.
    assert_eq!(seats, [("Jira", 2, 1, 1), ("Confluence", 4, 2, 2)], "apps in the catalog's order");
    assert_eq!(health.seats[1].inactive_percent, 50.0);
    assert_eq!((health.totals.billable, health.totals.inactive), (6, 3));

    // Each inactive count is exactly what its User Browser link shows.
    for seat in &health.seats {
        let query = seat.inactive_users_url.split_once('?').unwrap().1;
        let mut input = SearchUsersInput::default();
        for (key, value) in query.split('&').map(|pair| pair.split_once('=').unwrap()) {
            match key {
                "inactiveDays" => input.inactive_days = Some(value.parse().unwrap()),
                "apps" => input.apps.push(value.to_owned()),
                "site" => input.site = Some(value.to_owned()),
                "statuses" => input.statuses.push(value.to_owned()),
                other => panic!("unexpected parameter {other}"),
            }
        }
        let found = f.tools.search_users(&input).await.unwrap();
        assert_eq!(found.total, seat.inactive, "{}", seat.inactive_users_url);
    }

    // A threshold of a year makes Bea active; names as people type them narrow the list.
    let year = LicenseHealthInput { inactive_days: Some(365), apps: vec!["jira".into()], site: Some("ACME".into()) };
    let health = f.tools.license_health(&year).await.unwrap();
    let seats: Vec<(&str, u64)> = health.seats.iter().map(|s| (s.app_name.as_str(), s.inactive)).collect();
    assert_eq!(seats, [("Jira", 0)]);
    let typo = LicenseHealthInput { apps: vec!["Confluenc".into()], ..Default::default() };
    let health = f.tools.license_health(&typo).await.unwrap();
    assert!(health.seats.is_empty());
    assert_eq!(health.unmatched[0].suggestions[0], "Confluence");
    let zero = LicenseHealthInput { inactive_days: Some(0), ..Default::default() };
    assert!(matches!(f.tools.license_health(&zero).await, Err(ToolError::Invalid(_))));
}

async fn notification_settings_names_what_needs_attention(db: TestDb) {
    let f = Fixture::new(db).await;
    let now = f.clock.now();
    let days = |n: i64| now.checked_add(SignedDuration::from_hours(24 * n)).unwrap();
    let minutes = |n: i64| now.checked_add(SignedDuration::from_mins(n)).unwrap();
    for (name, expires) in [
        ("ci", days(3)),
        ("reporting", days(90)),
        ("old", days(-2)),
        ("tomorrow", minutes(23 * 60)),
        ("just-expired", minutes(-30)),
    ] {
        let (key, secret) = ApiKey::mint(name.into(), ApiKeyRole::ReadOnly, None, days(-100), expires);
        f.db.store.insert_api_key(&key, &secret.hash()).await.unwrap();
    }
    let subscription = |name: &str, enabled: bool| Subscription {
        id: model::ids::new_uuid(),
        name: name.into(),
        url: "https://hooks.example.com/automation/webhooks/s3cret-path".into(),
        triggers: vec![Trigger::TaskSuccess, Trigger::TaskFailure],
        notes: String::new(),
        enabled,
        disabled_reason: (!enabled).then(|| "the receiver answered 410 Gone".to_owned()),
        created_at: now,
        updated_at: now,
    };
    let live = subscription("Audit pages", true);
    f.db.store.insert_webhook_subscription(&live, "sealed", 3, None).await.unwrap();
    f.db.store.insert_webhook_subscription(&subscription("Old Slack", false), "sealed", 3, None).await.unwrap();
    let event = OutboundEvent {
        trigger: Trigger::TaskSuccess,
        body: r#"{"trigger":"taskSuccess"}"#.into(),
        process_id: None,
        api_key_id: None,
    };
    f.db.store.queue_event(&event, now).await.unwrap();

    let settings = f.tools.notification_settings().await.unwrap();
    let keys: Vec<(&str, &str, i64)> =
        settings.api_keys.iter().map(|k| (k.name.as_str(), k.state.as_str(), k.days_left)).collect();
    assert!(keys.contains(&("ci", "expiringSoon", 3)), "{keys:?}");
    assert!(keys.contains(&("old", "expired", -2)), "{keys:?}");
    assert!(keys.contains(&("reporting", "active", 90)), "{keys:?}");
    assert!(keys.contains(&("tomorrow", "expiringSoon", 0)), "{keys:?}");
    assert!(keys.contains(&("just-expired", "expired", -1)), "{keys:?}");
    let audit = settings.webhooks.iter().find(|w| w.name == "Audit pages").unwrap();
    assert_eq!(audit.origin, "https://hooks.example.com", "the path may hold a token: never shown");
    assert_eq!(audit.last_delivery.as_ref().unwrap().state, "pending");
    let mut attention = settings.attention.clone();
    attention.sort();
    assert_eq!(
        attention,
        [
            "API key `ci` expires on 2026-12-01 (in 3 days).",
            "API key `just-expired` expired on 2026-11-28.",
            "API key `old` expired on 2026-11-26.",
            "API key `tomorrow` expires on 2026-11-29 (within a day).",
            "Webhook `Old Slack` is disabled: the receiver answered 410 Gone.",
        ]
    );
    assert!(!serde_json::to_string(&settings).unwrap().contains("s3cret"));
}

async fn a_user_template_renders_over_the_tools_answers(db: TestDb) {
    let f = Fixture::new(db).await;
    let process_id = f.run_task().await;
    let template = "{{run.name}}: {{run.summary.usersUpdated}} updated.\
        {{#run.userChanges}} {{displayName}}{{/}}\n\
        Inactive Confluence seats: {{licenseHealth.seats.first.inactive}}. Sent by {{webhookData.by}}.";
    let rendered =
        render_template(&f.tools, template, Some(&process_id), json!({"webhookData": {"by": "ops"}})).await.unwrap();
    assert_eq!(
        rendered.text,
        "Stale cleanup: 4 updated. Ada Lovelace Bea Stale Ivy Invited Sam Suspended\nInactive Confluence seats: 0. Sent by ops."
    );
    assert!(rendered.missing.is_empty(), "{:?}", rendered.missing);
    let broken = render_template(&f.tools, "{{run.name", Some(&process_id), Value::Null).await;
    assert!(broken.unwrap_err().to_string().contains("line 1"));
}
