//! `ucm flows`: a flow saved from a file, its problems listed with where they are, its webhook
//! URL and secret shown once saved, enabled, listed and deleted by name.

use serde_json::Value;
use testkit::{TestDb, backend_tests};

use crate::{file, run, ucm};

backend_tests!(a_flow_from_a_file);

const SLACK_ALERT: &str = r##"{
  "name": "Slack alert per task run",
  "trigger": {"type": "incomingWebhook", "workItems": "none"},
  "steps": [
    {"type": "agent.use", "prompt": "Summarise run {{webhookData.processId}}", "format": "slack-summary"},
    {"type": "slack.message.send", "connection": "local", "channel": "#it-ops", "message": "{{agentResponse}}"}
  ]
}"##;

async fn a_flow_from_a_file(db: TestDb) {
    let dir = db.dir().to_owned();
    let cli = || ucm(&dir, Some(&db));
    let (ok, _, err) = run(cli().args(["connections", "create", "--name", "local", "--kind", "local"]));
    assert!(ok, "{err}");

    let broken = file(
        &dir,
        "broken.json",
        &SLACK_ALERT.replace("{{agentResponse}}", "{{agentResponse").replace("\"local\"", "\"lcoal\""),
    );
    let (ok, _, err) = run(cli().args(["flows", "create", "--file", broken.to_str().unwrap()]));
    assert!(!ok);
    assert!(err.contains("the flow cannot be saved:"), "{err}");
    assert!(err.contains("steps[1].message:") && err.contains("line 1, column"), "{err}");
    assert!(
        err.contains("steps[1].connection: no connection has this name") && err.contains("did you mean: local"),
        "{err}"
    );
    let not_a_flow = file(&dir, "typo.json", &SLACK_ALERT.replace("\"prompt\"", "\"promt\""));
    let (ok, _, err) = run(cli().args(["flows", "create", "--file", not_a_flow.to_str().unwrap()]));
    assert!(
        !ok && err.contains("is not a flow") && err.contains("unknown field `promt`") && err.contains("(in steps[0])"),
        "{err}"
    );

    let good = file(&dir, "slack-alert.json", SLACK_ALERT);
    let (ok, out, err) = run(cli().args(["flows", "create", "--file", good.to_str().unwrap()]));
    assert!(ok, "{err}");
    assert!(out.contains("Saved flow `Slack alert per task run`") && out.contains("/automation/webhooks/"), "{out}");
    assert!(out.contains("Secret:") && out.contains("ucm flows enable"), "{out}");

    // A test run (no process id in the payload: the agent step fails, and says why).
    let sample = file(&dir, "sample.json", r#"{"trigger": "taskSuccess", "name": "Weekly"}"#);
    let (ok, out, err) =
        run(cli().args(["flows", "test", "Slack alert per task run", "--payload", sample.to_str().unwrap()]));
    assert!(ok, "{err}");
    // The agent step fails, so the message would be empty: it is not sent, and the run failed.
    assert!(out.contains(" FAILURE ("), "{out}");
    assert!(out.contains("agent.use Failure") && out.contains("no processId"), "{out}");
    assert!(out.contains("message is empty once rendered"), "{out}");
    let (ok, out, _) = run(cli().args(["flows", "audit", "Slack alert per task run"]));
    assert!(ok && out.contains("by test") && out.contains("slack.message.send"), "{out}");

    let (ok, out, err) = run(cli().args(["flows", "enable", "slack alert per task run"]));
    assert!(ok && out.contains("Enabled"), "{out}{err}");
    let (_, out, _) = run(cli().args(["flows", "list", "--json"]));
    let flows: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(flows[0]["enabled"], true);
    assert_eq!(flows[0]["webhook"]["secret"], Value::Null, "lists never show secrets");
    let (ok, out, _) = run(cli().args(["flows", "show", "Slack alert per task run"]));
    assert!(ok && out.contains("slack.message.send via local") && out.contains("Secret:"), "{out}");
    // Export to a file, import it back: a disabled copy with a new webhook.
    let exported = dir.join("flows.export.json");
    let (ok, _, err) =
        run(cli().args(["flows", "export", "Slack alert per task run", "--out", exported.to_str().unwrap()]));
    assert!(ok && err.contains("Wrote 1 flows"), "{err}");
    let file_text = std::fs::read_to_string(&exported).unwrap();
    assert!(file_text.contains("\"rules\"") && file_text.contains("\"automationToken\": \"***\""), "{file_text}");
    let (ok, out, err) = run(cli().args(["flows", "import", "--file", exported.to_str().unwrap()]));
    assert!(ok, "{err}");
    assert!(out.contains("Imported `Slack alert per task run (2)`") && out.contains("disabled"), "{out}");
    assert!(out.contains("Secret:") && out.contains("Enable it with"), "{out}");
    let (_, out, _) = run(cli().args(["flows", "list", "--json"]));
    let flows: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(flows.as_array().unwrap().len(), 2);
    // The copy got a name of its own, so each can be named.
    let (ok, out, err) = run(cli().args(["flows", "delete", "Slack alert per task run (2)"]));
    assert!(ok, "{out}{err}");
    // A file with a problem: nothing imported, the problem named with where it is.
    let broken = file(&dir, "broken.export.json", &file_text.replace("{{agentResponse}}", "{{agentResponse"));
    let (ok, _, err) = run(cli().args(["flows", "import", "--file", broken.to_str().unwrap()]));
    assert!(
        !ok && err.contains("nothing was imported") && err.contains("rules[0].components[1].value.message"),
        "{err}"
    );

    let (ok, _, err) = run(cli().args(["flows", "delete", "Slack alrt"]));
    assert!(!ok && err.contains("did you mean: Slack alert per task run"), "{err}");
    let (ok, _, err) = run(cli().args(["flows", "delete", "Slack alert per task run"]));
    assert!(ok, "{err}");
    let (_, out, _) = run(cli().args(["flows", "list"]));
    assert!(out.contains("No flows yet"), "{out}");
}
