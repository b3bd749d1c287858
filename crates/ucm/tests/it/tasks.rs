use serde_json::Value;
use testkit::{TestDb, backend_tests};

use crate::{file, run, ucm};

backend_tests!(a_task_from_the_cli_created_previewed_run_and_read);

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// The README's walk-through: save a filter, create a task, preview it, run it (the execution
/// limit asks for --yes), read the result as JSON, export it.
async fn a_task_from_the_cli_created_previewed_run_and_read(db: TestDb) {
    let dir = db.dir().to_owned();
    let cli = || ucm(&dir, Some(&db));
    let (ok, _, err) = run(cli().args(["seed-demo", "--users", "80"]));
    assert!(ok, "{err}");
    let (ok, _, err) = run(cli().args(["filters", "create", "--name", "Engineers", "--groups", "engineering"]));
    assert!(ok, "{err}");

    // Bad input names every problem and saves nothing.
    let (ok, _, err) = run(cli().args([
        "tasks",
        "create",
        "--name",
        "Lock",
        "--filter",
        "Enginers",
        "--action",
        "add-to-groups=securty",
        "--schedule",
        "cron:61 * * * *",
    ]));
    assert!(!ok);
    assert!(
        err.contains("--filter (filterId): there is no saved filter `Enginers` (did you mean: Engineers?)"),
        "{err}"
    );
    assert!(
        err.contains("--action #1 (actions[0].groupIds[0]): there is no group `securty` (did you mean: security?)"),
        "{err}"
    );
    assert!(err.contains("--schedule (schedule.expr): the minute field `61` is not valid"), "{err}");
    let (ok, _, err) =
        run(cli().args(["tasks", "create", "--name", "x", "--filter", "Engineers", "--action", "suspnd"]));
    assert!(!ok && err.contains("did you mean `suspend`?"), "{err}");

    let (ok, out, err) = run(cli().args([
        "tasks",
        "create",
        "--name",
        "Lock engineering",
        "--filter",
        "Engineers",
        "--action",
        "add-to-groups=security",
        "--action",
        "suspend",
        "--schedule",
        "weekly:mon,fri@05:00",
        "--time-zone",
        "Europe/Berlin",
    ]));
    assert!(ok, "{err}");
    assert!(out.starts_with("Saved task `Lock engineering`"), "{out}");
    let (_, out, _) = run(cli().args(["tasks", "list", "--json"]));
    let tasks = json(&out);
    let names: Vec<&str> = tasks.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    // Next to the demo's examples, which seed-demo creates too.
    assert_eq!(
        names,
        ["Deactivate inactive users", "Lock engineering", "Onboard contractors", "Reclaim idle JSM seats"]
    );
    let task = &tasks[1];
    let task_id = task["taskId"].as_str().unwrap().to_owned();
    assert_eq!(task["schedule"]["type"], "weekly");
    let (ok, out, _) = run(cli().args(["tasks", "list"]));
    assert!(ok && out.contains("weekly mon,fri at 05:00 Europe/Berlin"), "{out}");
    // Shown with the names people know, not ids and JSON.
    let (ok, out, err) = run(cli().args(["tasks", "show", "Lock engineering"]));
    assert!(ok, "{err}");
    assert!(out.contains("Filter:    Engineers (") && out.contains("Action 1:  add to groups: security"), "{out}");
    assert!(out.contains("Action 2:  suspend") && !out.contains("{\""), "{out}");
    // A failure names what it was about.
    let (ok, out, err) = run(cli().args(["bulk", "preview", "--action", "add-to-groups=security", "--everyone"]));
    assert!(ok, "{err}");
    assert!(out.contains("security: a ") && out.contains("user cannot be added to a group"), "{out}");

    let (ok, out, err) = run(cli().args(["tasks", "preview", &task_id, "--json"]));
    assert!(ok, "{err}");
    let would_change = json(&out)["wouldChange"].as_u64().unwrap();
    assert!(would_change > 1, "{out}");
    let (_, out, _) = run(cli().args(["tasks", "preview", &task_id]));
    assert!(out.starts_with(&format!("Would change {would_change} users")), "{out}");

    // Above the execution limit, without a terminal to ask on: nothing runs.
    let (ok, _, err) = run(cli().args(["settings", "execution-limit", "--max-users", "1"]));
    assert!(ok, "{err}");
    let (ok, _, err) = run(cli().args(["tasks", "run", &task_id]));
    assert!(!ok);
    assert!(err.contains(&format!("would change {would_change} users, more than the execution limit of 1")), "{err}");
    assert!(err.contains("add --yes"), "{err}");
    let (_, out, _) = run(cli().args(["runs", "list", "--json"]));
    assert_eq!(json(&out).as_array().unwrap().len(), 0);

    let (ok, out, err) = run(cli().args(["tasks", "run", &task_id, "--yes", "--json"]));
    assert!(ok, "{err}");
    let record = json(&out);
    assert_eq!(record["outcome"], "success");
    assert_eq!(record["startedBy"], "cli");
    assert_eq!(record["summary"]["usersUpdated"].as_u64().unwrap(), would_change);
    assert_eq!(
        record["userChanges"].as_array().unwrap().len() as u64,
        record["summary"]["totalUserChanges"].as_u64().unwrap()
    );
    assert!(record["deepLink"].as_str().unwrap().starts_with("http://127.0.0.1:8080/tasks?taskId="));
    let process_id = record["processId"].as_str().unwrap().to_owned();

    let (_, out, _) = run(cli().args(["runs", "show", &process_id, "--json"]));
    assert_eq!(json(&out), record, "the CLI's JSON is the record");
    let (ok, out, err) = run(cli().args(["agent", "format", "slack-summary", "--process-id", &process_id]));
    let emoji = if record["summary"]["failedCount"] == 0 { ":white_check_mark:" } else { ":warning:" };
    assert!(ok && out.starts_with(&format!("{emoji} *")), "{out}{err}");
    assert!(agent::validate::mrkdwn(&out).is_empty(), "{out}");
    let (ok, out, _) = run(cli().args(["agent", "format", "confluence-audit", "--process-id", &process_id]));
    let users = record["userChanges"].as_array().unwrap().len();
    assert!(ok && out.lines().filter(|l| l.starts_with("| [")).count() == users, "one row per user: {out}");
    assert!(agent::validate::markdown_tables(&out, Some(&[2, 6])).is_empty(), "{out}");
    // The tools: the record by process id is the same JSON; lists and seats read as tables.
    let (ok, out, err) = run(cli().args([
        "agent",
        "call",
        "search-task-results",
        "--arg",
        &format!("processId={process_id}"),
        "--json",
    ]));
    assert!(ok, "{err}");
    let mut answer = json(&out);
    let first_page: Vec<Value> = record["userChanges"].as_array().unwrap().iter().take(100).cloned().collect();
    assert_eq!(answer["userChanges"], Value::Array(first_page), "the first page of the same changes");
    assert_eq!(answer["nextCursor"].is_null(), users <= 100);
    // Apart from the page, the tool's record is the CLI's (and the API's).
    answer["userChanges"] = record["userChanges"].clone();
    answer["nextCursor"] = record["nextCursor"].clone();
    assert_eq!(answer, record);
    let (ok, out, err) = run(cli().args(["agent", "call", "search-task-results", "--arg", &format!("task={task_id}")]));
    assert!(ok && out.contains(&process_id) && out.contains("success"), "{out}{err}");
    let (ok, out, err) =
        run(cli().args(["agent", "call", "search-users", "--arg", "apps=JSM,Confluence", "--arg", "inactiveDays=30"]));
    assert!(ok && out.contains("users match).") && out.contains("/users?inactiveDays=30&apps="), "{out}{err}");
    let (ok, out, err) = run(cli().args(["agent", "call", "search-users", "--arg", "groups=securty"]));
    assert!(ok && out.contains("No search ran") && out.contains("did you mean: security"), "{out}{err}");
    let (ok, out, err) = run(cli().args(["agent", "call", "license-health", "--arg", "inactiveDays=x"]));
    assert!(!ok && err.contains("--arg inactiveDays: `x` is not a whole number"), "{out}{err}");
    let (ok, out, err) = run(cli().args(["agent", "call", "license-health", "--arg", "inactiveDays=90"]));
    assert!(ok && out.starts_with("Seats, inactive after 90 days without use:") && out.contains("Jira"), "{out}{err}");
    let (ok, _, err) = run(cli().args(["agent", "call", "licence-health"]));
    assert!(!ok && err.contains("did you mean: license-health"), "{err}");
    let template = file(&dir, "summary.txt", "{{run.name}}: {{run.summary.usersUpdated}} updated.");
    let (ok, out, err) =
        run(cli().args(["agent", "format", "--template", template.to_str().unwrap(), "--process-id", &process_id]));
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("{}: {would_change} updated.", record["name"].as_str().unwrap()));

    // --llm asks the configured model; a reply that breaks the format gives the built-in one.
    let (ok, _, err) =
        run(cli().args(["agent", "format", "slack-summary", "--process-id", &process_id, "--llm", "Hi"]));
    assert!(!ok && err.contains("no model is configured"), "{err}");
    let model = testkit::model_server::ModelServer::start().await;
    model.script([
        testkit::model_server::Reply::text(":white_check_mark: *Done*"),
        testkit::model_server::Reply::text("**not mrkdwn**"),
    ]);
    let with_model = || {
        let mut command = cli();
        command
            .env("UCM_AGENT__LLM_BASE_URL", &model.base_url)
            .env("UCM_AGENT__LLM_MODEL", "test-model")
            .env("UCM_AGENT__LLM_ALLOWED_NETWORKS", "127.0.0.1/32")
            .args(["agent", "format", "slack-summary", "--process-id", &process_id, "--llm", "Summarise for #ops"]);
        command
    };
    let (ok, out, err) = run(&mut with_model());
    assert!(ok && out.trim() == ":white_check_mark: *Done*" && err.contains("Written by the model"), "{out}{err}");
    let (ok, out, err) = run(&mut with_model());
    assert!(ok && out.starts_with(&format!("{emoji} *")), "{out}");
    assert!(err.contains("The built-in rendering: the model's reply breaks the slack-summary format"), "{err}");
    assert_eq!(model.received()[0].body["messages"][1]["content"], "Summarise for #ops");

    let (ok, _, err) = run(cli().args(["agent", "format", "jira-incident", "--process-id", "nope"]));
    assert!(!ok && err.contains("not found"), "{err}");
    let (ok, out, _) = run(cli().args(["runs", "show", &process_id]));
    assert!(ok && out.contains("Outcome:  success"), "{out}");
    let (ok, out, err) = run(cli().args(["runs", "export", &process_id, "--output", "result.json"]));
    assert!(ok, "{err}");
    assert!(out.contains("result.json"), "{out}");
    assert_eq!(json(&std::fs::read_to_string(dir.join("result.json")).unwrap()), record);
    let (_, out, _) = run(cli().args(["runs", "list", "--task", &task_id, "--json"]));
    assert_eq!(json(&out)[0]["processId"], process_id.as_str());
    let account = record["userChanges"][0]["accountId"].as_str().unwrap().to_owned();
    let (_, out, _) = run(cli().args(["runs", "list", "--account", &account]));
    assert!(out.contains(&process_id), "{out}");
    // People name users by email and tasks by name, as they see them.
    let email = record["userChanges"][0]["email"].as_str().unwrap().to_uppercase();
    let (ok, out, err) = run(cli().args(["runs", "list", "--account", &email, "--task", "lock engineering"]));
    assert!(ok && out.contains(&process_id), "{out}{err}");
    let (ok, _, err) = run(cli().args(["runs", "list", "--account", "nobody@nowhere.example"]));
    assert!(!ok && err.contains("no user has the email"), "{err}");
    let (ok, out, err) = run(cli().args(["runs", "users", &process_id, "--status", "updated", "--limit", "3"]));
    assert!(ok, "{err}");
    assert!(out.contains("addToGroups security: changed; suspendUsers: changed"), "item by item: {out}");
    assert!(out.contains("… more: ucm runs users"), "{out}");
    let (_, out, _) = run(cli().args(["users", "show", &account, "--json"]));
    assert_eq!(json(&out)["status"], "suspended");

    // Tasks may be named instead of given by id.
    let (ok, out, _) = run(cli().args(["tasks", "pause", "lock engineering"]));
    assert!(ok && out.contains("Paused `Lock engineering`"), "{out}");
    let (ok, _, err) = run(cli().args(["tasks", "run", "Lock enginering"]));
    assert!(!ok && err.contains("(did you mean: Lock engineering?)"), "{err}");
    let (ok, _, err) = run(cli().args(["runs", "show", "nope"]));
    assert!(!ok && err.contains("not found"), "{err}");
}
