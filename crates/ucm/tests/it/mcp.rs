//! `ucm mcp`: the official SDK's client starts the binary, as Claude Desktop or an IDE would,
//! and speaks MCP over its standard input and output.

use rmcp::ServiceExt as _;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use testkit::{TestDb, backend_tests};

use crate::{run, ucm};

backend_tests!(an_mcp_client_starts_ucm_and_reads_a_run);

async fn an_mcp_client_starts_ucm_and_reads_a_run(db: TestDb) {
    let dir = db.dir().to_owned();
    let cli = || ucm(&dir, Some(&db));
    let (ok, _, err) = run(cli().args(["seed-demo", "--users", "60"]));
    assert!(ok, "{err}");
    let (_, out, _) = run(cli().args(["tasks", "list", "--json"]));
    let tasks: Value = serde_json::from_str(&out).unwrap();
    let task_id = tasks[0]["taskId"].as_str().unwrap().to_owned();
    let (ok, out, err) = run(cli().args(["tasks", "run", &task_id, "--yes", "--json"]));
    assert!(ok, "{err}");
    let record: Value = serde_json::from_str(&out).unwrap();
    let process_id = record["processId"].as_str().unwrap().to_owned();

    let mut command = cli();
    command.arg("mcp");
    let transport = TokioChildProcess::new(tokio::process::Command::from(command)).unwrap();
    let client = ().serve(transport).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["search-users", "search-task-results", "license-health", "notification-settings"]);
    assert!(tools.iter().all(|t| t.annotations.as_ref().unwrap().read_only_hint == Some(true)));

    let arguments = json!({"processId": process_id, "limit": 1000}).as_object().unwrap().clone();
    let answer =
        client.call_tool(CallToolRequestParams::new("search-task-results").with_arguments(arguments)).await.unwrap();
    assert_eq!(answer.structured_content.unwrap(), record, "the MCP answer is the CLI's record");

    let arguments = json!({"task": "no such task"}).as_object().unwrap().clone();
    let answer =
        client.call_tool(CallToolRequestParams::new("search-task-results").with_arguments(arguments)).await.unwrap();
    assert_eq!(answer.is_error, Some(true));
    assert!(answer.content[0].as_text().unwrap().text.contains("no task has this id or name"));
    client.cancel().await.unwrap();
}
