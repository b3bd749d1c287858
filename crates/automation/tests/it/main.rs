//! Flows on SQLite and PostgreSQL: saved only when every problem is gone (each one listed with
//! where it is), the webhook URL and secret minted on the first save and kept across updates,
//! the secret sealed at rest.

#![allow(clippy::unwrap_used)]

mod execute;

use std::sync::Arc;

use automation::{FlowError, Flows};
use model::clock::ManualClock;
use model::flow::FlowDefinition;
use serde_json::{Value, json};
use store::StoredConnection;
use testkit::{TestDb, backend_tests};

const PUBLIC_URL: &str = "http://ucm.test:8080";

async fn flows(db: &TestDb) -> Flows {
    let now: jiff::Timestamp = "2026-11-29T09:00:00Z".parse().unwrap();
    for (name, kind) in [("local", "local"), ("Ops Slack", "slackWebhook")] {
        let connection = StoredConnection {
            id: model::ids::new_uuid(),
            name: name.into(),
            kind: kind.into(),
            settings: json!({"kind": kind}).to_string(),
            secret_sealed: None,
            created_at: now,
            updated_at: now,
        };
        db.store.insert_connection(&connection).await.unwrap();
    }
    let key = webhooks::SealingKey::from_base64(&webhooks::SealingKey::generate()).unwrap();
    Flows::new(db.store.clone(), key, Arc::new(ManualClock::new(now)), PUBLIC_URL)
}

fn definition(value: Value) -> FlowDefinition {
    serde_json::from_value(value).unwrap()
}

/// Recipe 2's shape: the agent's Slack summary posted to a channel.
fn slack_recipe() -> Value {
    json!({
        "name": "Slack alert per task run",
        "trigger": {"type": "incomingWebhook", "workItems": "none"},
        "steps": [
            {"type": "agent.use", "prompt": "Summarise run {{webhookData.processId}}", "format": "slack-summary"},
            {"type": "slack.message.send", "connection": "Ops Slack", "channel": "#it-ops", "message": "{{agentResponse}}"}
        ]
    })
}

backend_tests!(
    a_flow_gets_its_webhook_on_first_save_and_keeps_it,
    every_problem_of_a_flow_is_listed_and_nothing_is_saved,
    enabling_checks_the_flow_again,
    an_exported_flow_imports_disabled_with_a_new_webhook,
    an_import_names_what_to_reconnect_and_what_it_left_out,
    an_import_with_a_problem_saves_nothing,
);

async fn a_flow_gets_its_webhook_on_first_save_and_keeps_it(db: TestDb) {
    let flows = flows(&db).await;
    let created = flows.create(&definition(slack_recipe()), "admin").await.unwrap();
    assert!(!created.definition.enabled, "new flows start disabled");
    assert_eq!(created.webhook.url, format!("{PUBLIC_URL}/automation/webhooks/{}", created.flow_id));
    let secret = created.webhook.secret.clone().unwrap();
    assert!(secret.len() >= 40, "{secret}");

    // Sealed at rest: the database never holds the secret as text.
    let stored = db.store.flow(&created.flow_id).await.unwrap();
    assert!(!stored.secret_sealed.contains(&secret));
    assert!(!stored.definition.contains(&secret));

    // Lists hide it; a reader who may see it gets the same one after an update.
    assert_eq!(flows.list().await.unwrap()[0].webhook.secret, None);
    let mut changed = slack_recipe();
    changed["name"] = json!("Slack alert (ops)");
    let updated = flows.update(&created.flow_id, &definition(changed)).await.unwrap();
    assert_eq!((updated.webhook.url, updated.webhook.secret), (created.webhook.url, Some(secret)));
    assert_eq!(flows.get(&created.flow_id, false).await.unwrap().definition.name, "Slack alert (ops)");

    flows.delete(&created.flow_id).await.unwrap();
    assert!(matches!(flows.get(&created.flow_id, true).await, Err(FlowError::NotFound(_))));
}

async fn every_problem_of_a_flow_is_listed_and_nothing_is_saved(db: TestDb) {
    let flows = flows(&db).await;
    let broken = definition(json!({
        "name": " ",
        "trigger": {"type": "incomingWebhook"},
        "steps": [
            {"type": "condition", "first": "{{webhookData.trigger", "operator": "REGEX_MATCHES", "second": "task(Success"},
            {"type": "agent.use", "prompt": "hi", "format": "slack-sumary"},
            {"type": "ifElse", "branches": [
                {"steps": [{"type": "log", "message": "else first"}]},
                {"conditions": [{"first": "{{a}}", "operator": "EQUALS", "second": "b"}],
                 "steps": [{"type": "jira.workitem.create", "connection": "local", "project": "OPS",
                            "issueType": "Same as trigger", "summary": "Rotate {{webhookData.name}} key"}]}
            ]},
            {"type": "slack.message.send", "connection": "local slack", "message": "{{#if(x)}}open"},
            {"type": "email.send", "connection": "Ops Slack", "to": "it@example.com", "subject": "s", "body": "b"},
            {"type": "variable.create", "name": "agentResponse", "value": "x"},
            {"type": "web.request", "method": "FETCH", "url": "ftp://x"}
        ]
    }));
    let Err(FlowError::Invalid(problems)) = flows.create(&broken, "admin").await else {
        panic!("a broken flow must not be saved")
    };
    let found: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
    let expect = [
        "name: a flow needs a name",
        "steps[0].first: ",
        "steps[0].second: ",
        "steps[1].format: not a built-in format",
        "steps[2].branches[0]: only the last branch may have no conditions",
        "steps[2].branches[1].steps[0].issueType: give an explicit issue type",
        "steps[3].message: ",
        "steps[3].connection: no connection has this name",
        "steps[4].connection: `Ops Slack` is a slackWebhook connection; email.send needs one of: smtp, local",
        "steps[5].name: this name is the engine's own",
        "steps[6].method: not an HTTP method",
        "steps[6].url: the URL must start with https:// or http://",
    ];
    for wanted in expect {
        assert!(found.iter().any(|f| f.starts_with(wanted)), "missing `{wanted}` in:\n{}", found.join("\n"));
    }
    assert_eq!(found.len(), expect.len(), "{}", found.join("\n"));
    // Syntax errors say where, with line and column.
    let syntax = problems.iter().find(|p| p.field == "steps[0].first").unwrap();
    assert!(syntax.message.contains("line 1, column"), "{}", syntax.message);
    let suggestion = problems.iter().find(|p| p.field == "steps[1].format").unwrap();
    assert!(suggestion.suggestions.contains(&"slack-summary".to_owned()));
    assert!(flows.list().await.unwrap().is_empty(), "nothing was saved");

    // The step cap counts nested steps.
    let many: Vec<Value> = (0..66).map(|i| json!({"type": "log", "message": format!("line {i}")})).collect();
    let too_long = definition(json!({"name": "Chatty", "trigger": {"type": "incomingWebhook"}, "steps": many}));
    let Err(FlowError::Invalid(problems)) = flows.create(&too_long, "admin").await else { panic!() };
    assert_eq!(problems[0].message, "at most 65 steps, nested ones included");
}

async fn enabling_checks_the_flow_again(db: TestDb) {
    let flows = flows(&db).await;
    let created = flows.create(&definition(slack_recipe()), "admin").await.unwrap();
    let enabled = flows.set_enabled(&created.flow_id, true).await.unwrap();
    assert!(enabled.definition.enabled);
    // The connection goes away: the flow can be disabled, not enabled again.
    let slack = db.store.connection("Ops Slack").await.unwrap();
    db.store.delete_connection(&slack.id).await.unwrap();
    assert!(!flows.set_enabled(&created.flow_id, false).await.unwrap().definition.enabled);
    let Err(FlowError::Invalid(problems)) = flows.set_enabled(&created.flow_id, true).await else { panic!() };
    assert_eq!(problems[0].field, "steps[1].connection");
}

async fn an_exported_flow_imports_disabled_with_a_new_webhook(db: TestDb) {
    let flows = flows(&db).await;
    let original = flows.create(&definition(slack_recipe()), "admin").await.unwrap();
    let original = flows.set_enabled(&original.flow_id, true).await.unwrap();
    let file = serde_json::to_value(flows.export(&[]).await.unwrap()).unwrap();
    let secret = original.webhook.secret.clone().unwrap();
    assert!(!file.to_string().contains(&secret), "secrets export as ***");
    assert_eq!(file["cloud"], false);
    assert_eq!(file["rules"][0]["state"], "ENABLED");
    assert_eq!(file["rules"][0]["components"][1]["type"], "ucm.slack.message.send");

    let report = flows.import(&file, "importer").await.unwrap();
    let [imported] = report.flows.as_slice() else { panic!("{report:?}") };
    let copy = &imported.flow;
    assert_ne!(copy.flow_id, original.flow_id, "a fresh id");
    assert_ne!(copy.webhook.url, original.webhook.url, "a fresh URL");
    assert!(copy.webhook.secret.as_ref().is_some_and(|s| s != &secret), "a fresh secret");
    assert!(!copy.definition.enabled, "imported flows start disabled");
    // The name is taken: the copy is numbered, so that each can still be named.
    let renamed = format!("{} (2)", original.definition.name);
    assert_eq!(copy.definition, FlowDefinition { enabled: false, name: renamed, ..original.definition.clone() });
    assert!(imported.reconnect.is_empty() && imported.unknown_components.is_empty(), "{imported:?}");
    assert_eq!(copy.created_by, "importer");
    // The copy is a flow like any other.
    flows.set_enabled(&copy.flow_id, true).await.unwrap();
    assert_eq!(flows.list().await.unwrap().len(), 2);
    // Twice more, in one file: (3) and (4).
    let twice = json!({"cloud": false, "rules": [file["rules"][0].clone(), file["rules"][0].clone()]});
    let report = flows.import(&twice, "importer").await.unwrap();
    let names: Vec<String> = report.flows.iter().map(|f| f.flow.definition.name.clone()).collect();
    assert_eq!(names, [format!("{} (3)", original.definition.name), format!("{} (4)", original.definition.name)]);
}

async fn an_import_names_what_to_reconnect_and_what_it_left_out(db: TestDb) {
    let flows = flows(&db).await;
    let file = json!({"cloud": true, "rules": [{
    "name": "Escalate", "state": "ENABLED", "description": "From another site.",
    "trigger": {"component": "TRIGGER", "schemaVersion": 1, "type": "jira.incoming.webhook",
                "value": {"automationToken": "***"}},
    "components": [
        {"component": "ACTION", "schemaVersion": 1, "type": "jira.issue.outgoing.email",
         "value": {"connection": "Corporate SMTP", "to": "it@example.com", "subject": "s", "body": "b"}},
        {"component": "ACTION", "schemaVersion": 3, "type": "jira.issue.transition", "value": {"status": "Done"}},
        {"component": "ACTION", "schemaVersion": 1, "type": "jira.issue.outgoing.webhook",
         "value": {"method": "POST", "url": "https://example.com/hook",
                   "headers": [{"name": "Authorization", "value": "***"}]}}
    ]}]});
    let report = flows.import(&file, "admin").await.unwrap();
    let imported = &report.flows[0];
    assert!(!imported.flow.definition.enabled);
    let reconnect: Vec<&str> = imported.reconnect.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(reconnect, ["steps[0].connection", "steps[1].headers.Authorization"]);
    assert_eq!(imported.reconnect[0].suggestions, ["local"], "connections that fit are offered");
    assert_eq!(imported.unknown_components.len(), 1);
    assert_eq!(imported.unknown_components[0].kind, "jira.issue.transition");
    assert!(imported.flow.definition.description.starts_with("From another site."));
    assert!(imported.flow.definition.description.contains("`jira.issue.transition`"));
    // Enabling waits for the reconnecting.
    let Err(FlowError::Invalid(problems)) = flows.set_enabled(&imported.flow.flow_id, true).await else { panic!() };
    assert_eq!(problems.len(), 2, "{problems:?}");
}

async fn an_import_with_a_problem_saves_nothing(db: TestDb) {
    let flows = flows(&db).await;
    let file = json!({"rules": [
        {"name": "Fine", "trigger": {"component": "TRIGGER", "type": "jira.incoming.webhook"},
         "components": [{"component": "ACTION", "type": "codebarrel.action.log", "value": {"message": "hi"}}]},
        {"name": "Broken", "trigger": {"component": "TRIGGER", "type": "jira.incoming.webhook"},
         "components": [{"component": "ACTION", "type": "codebarrel.action.log", "value": {"message": "{{oops"}}]},
        {"name": "Scheduled", "trigger": {"component": "TRIGGER", "type": "jira.scheduled.trigger"}, "components": []}
    ]});
    let Err(FlowError::Invalid(problems)) = flows.import(&file, "admin").await else { panic!() };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["rules[2].trigger", "rules[1].components[0].value.message"], "{problems:?}");
    assert!(flows.list().await.unwrap().is_empty(), "nothing was saved");
}
