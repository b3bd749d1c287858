//! The built-in formats against golden files (`tests/it/golden/`) for runs with 0, 1, 10 and
//! 12 changed users, with failures, with a top-level failure and with names full of markup;
//! every rendering also passes its format's validators. `UPDATE_GOLDEN=1` rewrites the files
//! (read the diff before committing it).

#![allow(clippy::unwrap_used)]

mod llm;
mod tools;

use agent::{Format, render, validate};
use model::run::RunRecord;
use serde_json::{Value, json};

const PROCESS_ID: &str = "0190f2c4-5b6e-7c8d-9e0f-a1b2c3d4e5f6";
const BASE: &str = "https://ucm.example";

fn change(i: usize, name: &str, failed: bool) -> Value {
    let account = format!("5b10ac8d82e05b22cc7d4e{i:02}");
    let mut change = json!({
        "accountId": account,
        "displayName": name,
        "email": format!("user{i}@acme.example"),
        "status": if failed { "partial" } else { "updated" },
        "groupsAdded": [{"groupId": "8f0c2a4e-1111-4a2b-9c3d-000000000001", "name": "deactivated_users"}],
        "groupsRemoved": [{"groupId": "8f0c2a4e-1111-4a2b-9c3d-000000000002", "name": "admins", "currentName": "site-admins"}],
        "appAccessRemoved": [{"appType": "confluence", "appName": "Confluence", "siteId": "a1", "siteName": "acme"}],
        "suspended": i.is_multiple_of(3),
        "restored": false,
        "failures": [],
        "userBrowserUrl": format!("{BASE}/users?accountId={account}"),
    });
    if failed {
        change["failures"] =
            json!([{"actionType": "removeAppAccess", "target": "Jira (acme)", "reason": "the directory answered 503"}]);
    }
    change
}

fn record(outcome: &str, error: Option<&str>, name: &str, changes: Vec<Value>) -> RunRecord {
    let failed = changes.iter().filter(|c| c["status"] == "partial").count();
    let users = changes.len();
    let value = json!({
        "processId": PROCESS_ID,
        "source": "automatedTask",
        "taskId": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "name": name,
        "actionTypes": ["addToGroups", "removeFromGroups", "removeAppAccess", "suspendUsers"],
        "outcome": outcome,
        "error": error,
        "startedAt": "2026-11-29T09:00:00Z",
        "finishedAt": "2026-11-29T09:00:04Z",
        "summary": {
            "usersMatched": users, "usersSkipped": 0, "usersUnchanged": 0,
            "usersUpdated": users - failed, "failedCount": failed, "totalUserChanges": users,
            "groupsAdded": users, "groupsRemoved": users, "appAccessRemoved": users,
            "usersSuspended": changes.iter().filter(|c| c["suspended"] == true).count(), "usersRestored": 0,
        },
        "deepLink": format!("{BASE}/tasks?taskId=7c9e6679-7425-40de-944b-e07fc1f90ae7&processId={PROCESS_ID}"),
        "state": "finished",
        "trigger": "schedule",
        "startedBy": "scheduler",
        "progress": {"done": users, "total": users},
        "userChanges": changes,
        "nextCursor": null,
    });
    serde_json::from_value(value).unwrap()
}

fn cases() -> Vec<(&'static str, RunRecord)> {
    let users = |n: usize, failing: usize| -> Vec<Value> {
        (0..n).map(|i| change(i, &format!("User {i}"), i < failing)).collect()
    };
    vec![
        ("zero", record("success", None, "Weekly cleanup", vec![])),
        ("one", record("success", None, "Weekly cleanup", users(1, 0))),
        ("ten", record("success", None, "Weekly cleanup", users(10, 0))),
        ("twelve-with-failures", record("success", None, "Weekly cleanup", users(12, 2))),
        (
            "top-level-failure",
            record("failure", Some("the saved filter `Contractors` no longer exists"), "Weekly cleanup", vec![]),
        ),
        (
            "markup-in-names",
            record(
                "success",
                None,
                "R&D *cleanup* <ops> | _weekly_",
                vec![
                    change(1, "Ada *Star* Lovelace", false),
                    change(2, "Bob | Pipe <b> & _co_", true),
                    change(3, "[Eve](javascript:x) **s** `c`", false),
                ],
            ),
        ),
    ]
}

fn golden_path(format: Format, case: &str) -> std::path::PathBuf {
    let extension = if format == Format::SlackSummary { "txt" } else { "md" };
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/it/golden/{}-{case}.{extension}", format.name()))
}

#[test]
fn built_in_formats_match_their_golden_files() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut mismatches = Vec::new();
    for (case, record) in cases() {
        for format in Format::ALL {
            let rendered = render(format, &record);
            let path = golden_path(format, case);
            if update {
                std::fs::write(&path, &rendered).unwrap();
                continue;
            }
            let expected = std::fs::read_to_string(&path).unwrap_or_default();
            if rendered != expected {
                mismatches.push(format!("{}:\n{rendered}", path.display()));
            }
        }
    }
    assert!(mismatches.is_empty(), "renderings differ from their golden files:\n{}", mismatches.join("\n\n"));
}

#[test]
fn every_rendering_passes_its_validators() {
    for (case, record) in cases() {
        for format in Format::ALL {
            let rendered = render(format, &record);
            let mut problems = validate::no_raw_ids(&rendered, &[PROCESS_ID]);
            match format {
                Format::SlackSummary => problems.extend(validate::mrkdwn(&rendered)),
                Format::ConfluenceAudit => {
                    let tables: &[usize] = if record.user_changes.is_empty() { &[2] } else { &[2, 6] };
                    problems.extend(validate::markdown_tables(&rendered, Some(tables)));
                }
                Format::JiraIncident => {
                    let tables: &[usize] = if record.user_changes.is_empty() { &[] } else { &[4] };
                    problems.extend(validate::markdown_tables(&rendered, Some(tables)));
                }
            }
            assert!(problems.is_empty(), "{} / {case}: {problems:?}\n{rendered}", format.name());
        }
    }
}

#[test]
fn slack_rules_hold() {
    let all = cases();
    let slack = |case: &str| render(Format::SlackSummary, &all.iter().find(|(c, _)| *c == case).unwrap().1);
    assert!(slack("one").starts_with(":white_check_mark: *Weekly cleanup* - `taskSuccess`"));
    assert!(slack("twelve-with-failures").starts_with(":warning:"));
    assert!(slack("top-level-failure").starts_with(":x:"));
    assert!(slack("zero").ends_with("_No per-user changes._"));
    let twelve = slack("twelve-with-failures");
    assert_eq!(twelve.lines().filter(|l| l.starts_with("- <")).count(), 10, "at most ten users");
    assert!(twelve.ends_with("...and 2 more."));
    assert!(!slack("ten").contains("more."));
    let markup = slack("markup-in-names");
    assert!(
        markup.contains("R&amp;D *cleanup* &lt;ops&gt; | _weekly_ - `taskSuccess`"),
        "no bold around a name with `*`: {markup}"
    );
    assert!(markup.contains("|Bob ¦ Pipe &lt;b&gt; &amp; _co_>"), "{markup}");
    let markdown = render(Format::ConfluenceAudit, &all.iter().find(|(c, _)| *c == "markup-in-names").unwrap().1);
    assert!(markdown.contains(r"[Bob \| Pipe \<b\> \& \_co\_](<https://ucm.example/users?accountId="), "{markdown}");
    assert!(markdown.contains(r"[\[Eve\](javascript:x) \*\*s\*\* \`c\`]"), "a name is text, never a link: {markdown}");
}

#[test]
fn validators_catch_what_they_are_for() {
    assert_eq!(validate::markdown_tables("| a | b |\n| --- | --- |\n| 1 | 2 | 3 |\n", None).len(), 1);
    assert!(validate::markdown_tables("| a \\| b | c |\n| --- | --- |\n| 1 | 2 |\n", None).is_empty(), "escaped pipes");
    assert_eq!(validate::markdown_tables("| a | b |\n| --- | --- |\n", Some(&[6])).len(), 1);
    assert_eq!(validate::markdown_tables("| a | b |\n| 1 | 2 |\n", None).len(), 1, "no delimiter row");
    let bad = "**bold** [t](https://x.test) R&D <b>\n| a | b |\n# heading";
    let problems = validate::mrkdwn(bad);
    assert_eq!(problems.len(), 6, "{problems:#?}");
    assert!(validate::mrkdwn("*ok* <https://x.test|link> <@U1> &amp; &lt;b&gt;\n> quoted").is_empty());
    let ids = validate::no_raw_ids(
        &format!(
            "group 8f0c2a4e-1111-4a2b-9c3d-000000000001 in [x](<{BASE}/u?id=8f0c2a4e-1111-4a2b-9c3d-000000000002>) {PROCESS_ID}"
        ),
        &[PROCESS_ID],
    );
    assert_eq!(ids, ["a raw id `8f0c2a4e-1111-4a2b-9c3d-000000000001` where a name belongs"]);
}
