use testkit::{TestDb, backend_tests};

use crate::{file, run, ucm};

backend_tests!(
    import_is_all_or_nothing_with_lines_and_fields,
    users_list_searches_and_explains_unknown_names,
    saved_filters_from_the_cli
);

const ORG: &str = r#"{
  "sites": [{"siteId": "s1", "name": "acme", "url": "https://acme.atlassian.net"}],
  "groups": [{"groupId": "g1", "name": "jsm-agents", "grants": [{"app": "JSM", "site": "acme"}]}],
  "users": [
    {"accountId": "u1", "displayName": "Ada Lovelace", "email": "ada@example.com", "groups": ["jsm-agents"],
     "createdAt": "2025-01-01", "appAccess": [{"app": "JSM", "site": "acme", "lastActive": "2025-06-01"}]}
  ]
}"#;

fn total(db: &TestDb) -> u64 {
    let (ok, out, err) = run(ucm(db.dir(), Some(db)).args(["users", "list", "--json"]));
    assert!(ok, "{err}");
    serde_json::from_str::<serde_json::Value>(&out).unwrap()["total"].as_u64().unwrap()
}

async fn import_is_all_or_nothing_with_lines_and_fields(db: TestDb) {
    let dir = db.dir().to_owned();
    let (ok, out, err) = run(ucm(&dir, Some(&db)).arg("import").arg(file(&dir, "org.json", ORG)));
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "Imported 1 site(s), 1 group(s) and 1 user(s) (1 new, 0 updated).");

    let csv = "accountId,displayName,email,status,groups\nu2,Alan,alan@example.com,active,jsm-agents\nu3,Grace,grace@example,actve,jsm-agnets\n";
    let (ok, out, err) = run(ucm(&dir, Some(&db)).arg("import").arg(file(&dir, "bad.csv", csv)));
    assert!(!ok, "{out}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(err.contains("line 3, row 2 (u3), field `status`: `actve` is not a valid status"), "{err}");
    assert!(
        err.contains(
            "line 3, row 2 (u3), field `groups[0]`: no group is called `jsm-agnets` (did you mean: jsm-agents?)"
        ),
        "{err}"
    );
    assert_eq!(total(&db), 1, "the valid row u2 was not imported either");

    let (ok, _, err) = run(ucm(&dir, Some(&db)).arg("import").arg(file(
        &dir,
        "broken.json",
        "{\"users\": [\n  {\"accountId\": 1}\n]}",
    )));
    assert!(!ok);
    assert!(err.contains("line 2, users[0], field `accountId`: invalid type"), "{err}");
    let (ok, _, err) = run(ucm(&dir, Some(&db)).arg("import").arg(file(&dir, "org.txt", ORG)));
    assert!(!ok && err.contains("--format json"), "{err}");
    let (ok, _, err) = run(ucm(&dir, Some(&db)).args(["import", "missing.json"]));
    assert!(!ok && err.contains("cannot read missing.json"), "{err}");
    assert_eq!(total(&db), 1);

    let good_csv =
        "accountId,displayName,email,groups,appAccess\nu2,Alan,alan@example.com,jsm-agents,JSM@acme=2026-11-01\n";
    let (ok, out, err) = run(ucm(&dir, Some(&db)).arg("import").arg(file(&dir, "good.csv", good_csv)));
    assert!(ok, "{err}");
    assert!(out.contains("(1 new, 0 updated)"));
    assert_eq!(total(&db), 2);
}

async fn users_list_searches_and_explains_unknown_names(db: TestDb) {
    let dir = db.dir().to_owned();
    let (ok, _, err) = run(ucm(&dir, Some(&db)).args(["seed-demo", "--users", "80"]));
    assert!(ok, "{err}");
    let (ok, _, err) = run(ucm(&dir, Some(&db)).args(["seed-demo", "--users", "80"]));
    assert!(!ok && err.contains("already holds 80 users; add --force"), "{err}");

    let (ok, out, err) = run(ucm(&dir, Some(&db)).args([
        "users",
        "list",
        "--apps",
        "JSM",
        "--inactive-days",
        "30",
        "--page-size",
        "10",
    ]));
    assert!(ok, "{err}");
    assert!(out.starts_with("NAME"), "{out}");
    assert!(out.contains("Jira Service Management"), "{out}");
    assert!(out.lines().last().unwrap().contains("users (page 1 of"), "{out}");

    let (ok, out, err) = run(ucm(&dir, Some(&db)).args(["users", "list", "--groups", "enginering", "--apps", "JMS"]));
    assert!(!ok, "{out}");
    assert!(err.contains("groups: no group is called `enginering` (did you mean: engineering?)"), "{err}");
    assert!(err.contains("apps: no app is called `JMS` (did you mean: JSM?)"), "{err}");

    let (ok, _, err) = run(ucm(&dir, Some(&db)).args(["users", "list", "--page-size", "15"]));
    assert!(!ok && err.contains("pageSize: the page size must be one of 10, 20, 50, 100, 200"), "{err}");

    let (ok, out, _) = run(ucm(&dir, Some(&db)).args(["users", "list", "--roles", "orgAdmin", "--json"]));
    assert!(ok);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["total"], 2);
    let id = list["users"][0]["accountId"].as_str().unwrap();
    let (ok, out, err) = run(ucm(&dir, Some(&db)).args(["users", "show", id]));
    assert!(ok, "{err}");
    assert!(out.contains("roles:") && out.contains("orgAdmin"), "{out}");
    let (ok, _, err) = run(ucm(&dir, Some(&db)).args(["users", "show", "nobody"]));
    assert!(!ok && err.contains("user `nobody` not found"), "{err}");
}

async fn saved_filters_from_the_cli(db: TestDb) {
    let dir = db.dir().to_owned();
    run(ucm(&dir, Some(&db)).args(["seed-demo", "--users", "20"]));
    let (ok, out, err) = run(ucm(&dir, Some(&db)).args([
        "filters",
        "create",
        "--name",
        "Idle JSM",
        "--apps",
        "JSM",
        "--inactive-days",
        "30",
    ]));
    assert!(ok, "{err}");
    assert!(out.starts_with("Saved filter `Idle JSM`"), "{out}");
    let (ok, _, err) = run(ucm(&dir, Some(&db)).args(["filters", "create", "--name", "idle jsm"]));
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, out, _) = run(ucm(&dir, Some(&db)).args(["filters", "list"]));
    assert!(ok && out.contains("apps=Jira Service Management inactiveDays=30"), "{out}");
    let (_, out, _) = run(ucm(&dir, Some(&db)).args(["filters", "list", "--json"]));
    let filters: serde_json::Value = serde_json::from_str(&out).unwrap();
    let by_name = |name: &str| {
        filters.as_array().unwrap().iter().find(|f| f["name"] == name).unwrap()["filterId"].as_str().unwrap().to_owned()
    };
    let id = by_name("Idle JSM");
    // Named as listed (any case), as everywhere people type names.
    let (ok, out, err) =
        run(ucm(&dir, Some(&db)).args(["filters", "update", "idle jsm", "--name", "Idle JSM users", "--apps", "JSM"]));
    assert!(ok && out.contains(&id), "{out}{err}");
    let (ok, out, err) = run(ucm(&dir, Some(&db)).args(["filters", "delete", "Idle JSM users"]));
    assert!(ok && out.contains(&id), "{out}{err}");
    let (ok, _, err) = run(ucm(&dir, Some(&db)).args(["filters", "delete", &id]));
    assert!(!ok && err.contains("no saved filter has the id or name"), "{err}");
    // A filter a task uses stays (here: one of the demo's example tasks).
    let used = by_name("Inactive for 90 days");
    let (ok, _, err) = run(ucm(&dir, Some(&db)).args(["filters", "delete", &used]));
    assert!(!ok && err.contains("used by the task(s) `Deactivate inactive users`"), "{err}");
}

/// A reading command where nothing was set up says where it looked, and creates nothing; a
/// command that sets up or saves starts the database.
#[test]
fn reading_commands_do_not_make_a_database_where_there_is_none() {
    let dir = testkit::temp_dir();
    for args in [vec!["users", "list"], vec!["tasks", "list"], vec!["runs", "list"], vec!["flows", "list"]] {
        let (ok, out, err) = run(ucm(&dir, None).args(&args));
        assert!(
            !ok && err.contains("there is no ucm database at") && err.contains("ucm-data/ucm.db"),
            "{args:?}: {out}{err}"
        );
    }
    assert!(!dir.join("ucm-data").exists(), "nothing was created");
    let (ok, _, err) = run(ucm(&dir, None).args(["filters", "create", "--name", "Everyone"]));
    assert!(ok, "{err}");
    let (ok, out, err) = run(ucm(&dir, None).args(["filters", "list"]));
    assert!(ok && out.contains("Everyone"), "{out}{err}");
}

/// The data directory and the SQLite files hold personal data, webhook bodies and the sealing
/// key: only their owner may read them, and a database file found open to others is closed.
#[cfg(unix)]
#[test]
fn the_data_directory_and_database_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = testkit::temp_dir();
    let data = dir.join("fresh").join("data");
    let data_flag = data.display().to_string();
    let (ok, _, err) = run(ucm(&dir, None).args(["--data-dir", &data_flag, "apikey", "create", "--name", "first"]));
    assert!(ok, "{err}");
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    let database = data.join("ucm.db");
    assert_eq!(mode(&database), 0o600);
    for sibling in ["ucm.db-wal", "ucm.db-shm"] {
        if data.join(sibling).exists() {
            assert_eq!(mode(&data.join(sibling)), 0o600, "{sibling}");
        }
    }
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, _, err) = run(ucm(&dir, None).args(["--data-dir", &data_flag, "apikey", "list"]));
    assert!(ok, "{err}");
    assert_eq!(mode(&database), 0o600, "closed again to others");
}

#[test]
fn api_keys_print_their_secret_once_on_stdout() {
    let dir = testkit::temp_dir();
    let (ok, out, err) =
        run(ucm(&dir, None).args(["apikey", "create", "--name", "ci", "--expires-in", "30d", "--role", "read-only"]));
    assert!(ok, "{err}");
    let secret = out.trim();
    assert!(secret.starts_with("ucm_") && !secret.contains(' '), "stdout is the secret alone: {out}");
    assert!(err.contains("Created API key `ci`") && err.contains("readOnly"), "{err}");

    let (ok, out, _) = run(ucm(&dir, None).args(["apikey", "list"]));
    assert!(ok && out.contains("ci") && out.contains("readOnly") && !out.contains(secret), "{out}");
    let (_, out, _) = run(ucm(&dir, None).args(["apikey", "list", "--json"]));
    let keys: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(keys[0]["state"], "active");
    let id = keys[0]["apiKeyId"].as_str().unwrap();
    let (ok, out, _) = run(ucm(&dir, None).args(["apikey", "revoke", id]));
    assert!(ok && out.contains("Revoked API key `ci`"), "{out}");
    let (_, out, _) = run(ucm(&dir, None).args(["apikey", "list", "--json"]));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()[0]["state"], "revoked");

    for (flag, message) in [("90", "unknown unit"), ("5y", "at most 730 days")] {
        let (ok, _, err) = run(ucm(&dir, None).args(["apikey", "create", "--name", "x", "--expires-in", flag]));
        assert!(!ok && err.contains(message), "{flag}: {err}");
    }
    let (ok, _, err) = run(ucm(&dir, None).args(["apikey", "create", "--name", "x", "--for", "nobody"]));
    assert!(!ok && err.contains("no user has this account id"), "{err}");
}

#[test]
fn config_check_shows_the_layers_and_redacts_secrets() {
    let dir = testkit::temp_dir();
    let (ok, out, err) = run(ucm(&dir, None).args(["config", "check"]));
    assert!(ok, "{err}");
    assert!(out.contains("data_dir = \"./ucm-data\"") && out.contains("bind = \"127.0.0.1:8080\""), "{out}");
    // Without server.public_url, links follow the server: the check says so, and how to fix them.
    assert!(
        err.contains(
            "start with the address `ucm serve` answers at (http://127.0.0.1:8080 when started without --bind)"
        ) && err.contains("set server.public_url"),
        "{err}"
    );

    let config = file(&dir, "ucm.toml", "[server]\nbind = \"127.0.0.1:9999\"\n");
    let (ok, out, err) = run(ucm(&dir, None)
        .args(["--config", config.to_str().unwrap(), "config", "check"])
        .env("UCM_DATABASE_URL", "postgres://ucm:hunter2@127.0.0.1:5432/ucm")
        .env("UCM_LOG__FORMAT", "json")
        .env("UCM_AGENT__LLM_BASE_URL", "https://models.example.com/v1")
        .env("UCM_AGENT__LLM_MODEL", "m1")
        .env("UCM_AGENT__LLM_API_KEY", "sk-hunter3"));
    assert!(ok, "{err}");
    assert!(out.contains("llm_api_key = \"***\"") && !out.contains("sk-hunter3"), "{out}");
    let (ok, _, err) =
        run(ucm(&dir, None).args(["config", "check"]).env("UCM_AGENT__LLM_BASE_URL", "https://models.example.com/v1"));
    assert!(!ok && err.contains("agent.llm_model must name the model"), "{err}");
    assert!(out.contains("bind = \"127.0.0.1:9999\""), "the file overrides the defaults: {out}");
    assert!(out.contains("database_url = \"postgres://ucm:***@127.0.0.1:5432/ucm\""), "{out}");
    assert!(out.contains("format = \"json\""), "the environment overrides the file: {out}");
    assert!(!out.contains("hunter2") && !err.contains("hunter2"));

    let (ok, out, _) =
        run(ucm(&dir, None).args(["--data-dir", "/srv/ucm", "config", "check"]).env("UCM_DATA_DIR", "/elsewhere"));
    assert!(ok && out.contains("data_dir = \"/srv/ucm\""), "flags win over the environment: {out}");

    let typo = file(&dir, "typo.toml", "[server]\nbnid = \"x\"\n");
    let (ok, _, err) = run(ucm(&dir, None).args(["--config", typo.to_str().unwrap(), "config", "check"]));
    assert!(!ok && err.contains("bnid"), "{err}");
    let (ok, _, err) = run(ucm(&dir, None).args(["config", "check"]).env("UCM_SERVER__BIND", "localhost"));
    assert!(!ok && err.contains("server.bind"), "{err}");
    let not_pem = file(&dir, "ca.pem", "not a certificate");
    let (ok, _, err) = run(ucm(&dir, None).args(["config", "check"]).env("UCM_NETWORK__EXTRA_CA_FILE", &not_pem));
    assert!(!ok && err.contains("network.extra_ca_file") && err.contains("no PEM certificate"), "{err}");
    let (ok, _, err) =
        run(ucm(&dir, None).args(["config", "check"]).env("UCM_NETWORK__EXTRA_CA_FILE", dir.join("missing.pem")));
    assert!(!ok && err.contains("cannot read"), "{err}");

    let (ok, out, _) = run(ucm(&dir, None).args(["config", "example"]));
    assert!(ok && out.starts_with("# ucm configuration."));
}

#[test]
fn every_command_has_help_with_examples() {
    let dir = testkit::temp_dir();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["import", "--help"],
        vec!["seed-demo", "--help"],
        vec!["users", "--help"],
        vec!["users", "list", "--help"],
        vec!["users", "show", "--help"],
        vec!["filters", "--help"],
        vec!["filters", "list", "--help"],
        vec!["filters", "create", "--help"],
        vec!["filters", "update", "--help"],
        vec!["filters", "delete", "--help"],
        vec!["apikey", "--help"],
        vec!["apikey", "create", "--help"],
        vec!["apikey", "list", "--help"],
        vec!["apikey", "revoke", "--help"],
        vec!["settings", "--help"],
        vec!["settings", "access", "--help"],
        vec!["settings", "execution-limit", "--help"],
        vec!["tasks", "--help"],
        vec!["tasks", "list", "--help"],
        vec!["tasks", "show", "--help"],
        vec!["tasks", "create", "--help"],
        vec!["tasks", "update", "--help"],
        vec!["tasks", "delete", "--help"],
        vec!["tasks", "pause", "--help"],
        vec!["tasks", "resume", "--help"],
        vec!["tasks", "preview", "--help"],
        vec!["tasks", "run", "--help"],
        vec!["runs", "--help"],
        vec!["runs", "list", "--help"],
        vec!["runs", "show", "--help"],
        vec!["runs", "export", "--help"],
        vec!["runs", "users", "--help"],
        vec!["runs", "approve", "--help"],
        vec!["runs", "reject", "--help"],
        vec!["runs", "cancel", "--help"],
        vec!["bulk", "--help"],
        vec!["bulk", "run", "--help"],
        vec!["bulk", "preview", "--help"],
        vec!["webhooks", "--help"],
        vec!["webhooks", "list", "--help"],
        vec!["webhooks", "create", "--help"],
        vec!["webhooks", "update", "--help"],
        vec!["webhooks", "delete", "--help"],
        vec!["webhooks", "test", "--help"],
        vec!["webhooks", "deliveries", "--help"],
        vec!["webhooks", "delivery", "--help"],
        vec!["webhooks", "redeliver", "--help"],
        vec!["webhooks", "listen", "--help"],
        vec!["config", "--help"],
        vec!["config", "check", "--help"],
        vec!["config", "example", "--help"],
        vec!["template", "--help"],
        vec!["template", "eval", "--help"],
        vec!["template", "check", "--help"],
        vec!["bench", "--help"],
        vec!["bench", "directory", "--help"],
        vec!["bench", "templates", "--help"],
        vec!["bench", "tasks", "--help"],
        vec!["bench", "agent", "--help"],
        vec!["bench", "automation", "--help"],
        vec!["bench", "delivery", "--help"],
        vec!["bench", "render", "--help"],
        vec!["render", "--help"],
        vec!["agent", "--help"],
        vec!["agent", "format", "--help"],
        vec!["agent", "tools", "--help"],
        vec!["agent", "call", "--help"],
        vec!["mcp", "--help"],
        vec!["flows", "--help"],
        vec!["flows", "list", "--help"],
        vec!["flows", "show", "--help"],
        vec!["flows", "create", "--help"],
        vec!["flows", "update", "--help"],
        vec!["flows", "enable", "--help"],
        vec!["flows", "disable", "--help"],
        vec!["flows", "delete", "--help"],
        vec!["flows", "audit", "--help"],
        vec!["flows", "test", "--help"],
        vec!["flows", "export", "--help"],
        vec!["flows", "import", "--help"],
        vec!["connections", "--help"],
        vec!["connections", "list", "--help"],
        vec!["connections", "create", "--help"],
        vec!["connections", "update", "--help"],
        vec!["connections", "delete", "--help"],
        vec!["connections", "test", "--help"],
        vec!["outputs", "--help"],
        vec!["outputs", "list", "--help"],
        vec!["outputs", "show", "--help"],
    ] {
        let (ok, out, _) = run(ucm(&dir, None).args(&args));
        assert!(ok && out.contains("Example"), "{args:?}: {out}");
    }
}

/// `ucm render` with `input` on standard input.
fn render_stdin(dir: &std::path::Path, to: &str, input: &[u8]) -> (bool, String, String) {
    crate::run_with_input(ucm(dir, None).args(["render", "--to", to]), input)
}

#[test]
fn markdown_renders_for_each_target_from_a_file_or_standard_input() {
    let dir = testkit::temp_dir();
    let markdown = "**3 users** suspended, see [the run](https://ucm.example/tasks) & <more>\n";
    let (ok, out, err) = render_stdin(&dir, "mrkdwn", markdown.as_bytes());
    assert!(ok, "{err}");
    assert_eq!(out, "*3 users* suspended, see <https://ucm.example/tasks|the run> &amp; &lt;more&gt;\n");

    let report = file(&dir, "report.md", "# Run\n\n```\n]]>\n```\n");
    let (ok, out, err) = run(ucm(&dir, None).args(["render", "--to", "storage", report.to_str().unwrap()]));
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "<h1>Run</h1><ac:structured-macro ac:name=\"code\"><ac:plain-text-body><![CDATA[]]]]><![CDATA[>]]>\
         </ac:plain-text-body></ac:structured-macro>\n"
    );
    let (ok, out, _) = run(ucm(&dir, None).args(["render", "--to", "adf", report.to_str().unwrap()]));
    let adf: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(ok && adf["type"] == "doc" && adf["content"][0]["type"] == "heading", "{out}");
    let (ok, out, _) = run(ucm(&dir, None).args(["render", "--to", "html", report.to_str().unwrap()]));
    assert!(ok && out.starts_with("<h1>Run</h1>"), "{out}");

    let (ok, _, err) = render_stdin(&dir, "html", b"caf\xe9");
    assert!(!ok && err.contains("not UTF-8") && err.contains("offset 3"), "{err}");
    let (ok, _, err) = run(ucm(&dir, None).args(["render", "--to", "pdf"]));
    assert!(!ok && err.contains("storage, adf, html, mrkdwn"), "{err}");
    let (ok, _, err) = run(ucm(&dir, None).args(["render", "--to", "html", "missing.md"]));
    assert!(!ok && err.contains("cannot read missing.md"), "{err}");
}

#[test]
fn templates_render_and_check_from_the_command_line() {
    let dir = testkit::temp_dir();
    let context =
        file(&dir, "ctx.json", r#"{"webhookData": {"name": "R&D key", "expiresAt": "2025-07-10T09:00:00Z"}}"#);
    let (ok, out, err) = run(ucm(&dir, None).args([
        "template",
        "eval",
        "--context",
        context.to_str().unwrap(),
        "--now",
        "2020-08-18T02:40:37Z",
        "{{webhookData.name.htmlEncode}} due {{webhookData.expiresAt.toDate.minusDays(2).jiraDate}} ({{now}}){{nope}}",
    ]));
    assert!(ok, "{err}");
    assert_eq!(out, "R&amp;D key due 2025-07-08 (2020-08-18T02:40:37.0+0000)\n");
    assert!(err.contains("missing (rendered empty): nope"), "{err}");

    let (ok, _, err) = run(ucm(&dir, None).args(["template", "check", "Hello\n{{user.name"]));
    assert!(!ok);
    assert!(err.contains("never closed with `}}` at line 2, column 1"), "{err}");
    let (ok, out, _) = run(ucm(&dir, None).args(["template", "check", "{{#if(a)}}x{{/}}"]));
    assert!(ok && out.contains("valid"));
    let (ok, _, err) = run(ucm(&dir, None).args(["template", "eval", "{{a.frobnicate()}}"]));
    assert!(!ok && err.contains("unknown function `frobnicate`"), "{err}");

    // Numbers too large to add are an error that says so, not a crash.
    let huge = file(&dir, "huge.json", r#"{"webhookData": {"amount": 7.9e28, "fee": 7.9e28}}"#);
    let output = ucm(&dir, None)
        .args(["template", "eval", "--context", huge.to_str().unwrap(), "{{webhookData.amount.plus(webhookData.fee)}}"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("`plus`: the result is too large"), "{err}");
}

/// `ucm bench agent` on a tiny organization: it runs and prints its figures as JSON.
#[test]
fn the_agent_benchmark_prints_figures() {
    let dir = testkit::temp_dir();
    let (ok, out, err) = run(ucm(&dir, None).args([
        "bench",
        "agent",
        "--users",
        "40",
        "--reads",
        "3",
        "--render-users",
        "20",
        "--json",
    ]));
    assert!(ok, "{err}");
    let figures: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sqlite = &figures[0];
    assert_eq!(sqlite["engine"], "sqlite");
    assert!(sqlite["userChanges"].as_u64().unwrap() > 20, "{sqlite:#}");
    assert_eq!(sqlite["renderedUsers"], 20);
    let formats: Vec<&str> =
        sqlite["formats"].as_array().unwrap().iter().map(|f| f["format"].as_str().unwrap()).collect();
    assert_eq!(formats, ["confluence-audit", "slack-summary", "jira-incident"]);
}

/// `ucm bench atlassian` on a small simulated organization: it syncs, runs the Bulk Operation
/// and the limited part, and prints its figures as JSON.
#[test]
fn the_atlassian_benchmark_prints_figures() {
    let dir = testkit::temp_dir();
    let (ok, out, err) = run(ucm(&dir, None).args([
        "bench",
        "atlassian",
        "--users",
        "60",
        "--task-users",
        "12",
        "--limit",
        "40",
        "--json",
    ]));
    assert!(ok, "{err}");
    let figures: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sqlite = &figures[0];
    assert_eq!((sqlite["engine"].as_str(), sqlite["users"].as_u64()), (Some("sqlite"), Some(60)));
    assert_eq!(sqlite["taskItemOutcomes"], 24);
    assert_eq!(sqlite["limitedCalls"].as_u64().unwrap() - sqlite["limitedRefused"].as_u64().unwrap(), 12);
    assert!(sqlite["syncUsersPerSecond"].as_f64().unwrap() > 0.0, "{sqlite:#}");
}

/// `ucm bench automation` with a few requests: it runs the Slack recipe end to end and prints
/// its figures as JSON.
#[test]
fn the_automation_benchmark_prints_figures() {
    let dir = testkit::temp_dir();
    let (ok, out, err) = run(ucm(&dir, None).args(["bench", "automation", "--requests", "20", "--json"]));
    assert!(ok, "{err}");
    let figures: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sqlite = &figures[0];
    assert_eq!((sqlite["engine"].as_str(), sqlite["requests"].as_u64()), (Some("sqlite"), Some(20)), "{sqlite:#}");
    for figure in ["acceptedPerSecond", "raw202PerSecond", "completedExecutionsPerSecond"] {
        assert!(sqlite[figure].as_f64().unwrap() > 0.0, "{figure}: {sqlite:#}");
    }
    assert!(
        sqlite["requestToCompletionP99Ms"].as_i64().unwrap() >= sqlite["requestToCompletionP50Ms"].as_i64().unwrap()
    );
    let (ok, _, err) = run(ucm(&dir, None).args(["bench", "automation", "--requests", "0"]));
    assert!(!ok && err.contains("--requests must be from 1 to 10000"), "{err}");
}
