//! The LLM backend against a local server that speaks the OpenAI chat-completions protocol:
//! a tool-call round trip, replies that break the format or the protocol, a model too slow to
//! wait for, and too many tool calls. Whenever the model's reply cannot be used, the step
//! gives the built-in rendering and says why.

use std::time::Duration;

use agent::Format;
use agent::llm::{LlmBackend, LlmSettings};
use agent::step::{Backend, run_step};
use serde_json::{Value, json};
use testkit::TestDb;
use testkit::model_server::{ModelServer, Reply};

use crate::tools::Fixture;

fn backend(f: &Fixture, server: &ModelServer, timeout: Duration, max_tool_calls: u32) -> LlmBackend {
    let policy = webhooks::AddressPolicy::parse(&["127.0.0.0/8".to_owned()]).unwrap();
    let client = webhooks::GuardedClient::new(policy, webhooks::Timeouts::default()).unwrap();
    let settings = LlmSettings {
        base_url: server.base_url.clone(),
        model: "test-model".into(),
        api_key: "sk-test".into(),
        timeout,
        max_tool_calls,
    };
    LlmBackend::new(client, settings, f.tools.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_calls_a_tool_and_its_valid_reply_is_used() {
    let f = Fixture::new(TestDb::sqlite().await).await;
    let process_id = f.run_task().await;
    let server = ModelServer::start().await;
    let summary = ":white_check_mark: *Stale cleanup*: `4` users updated, `0` failed.";
    server.script([
        Reply::tool_call("call_1", "search-task-results", &json!({"processId": process_id.as_str(), "limit": 10})),
        Reply::text(summary),
    ]);
    let llm = backend(&f, &server, Duration::from_secs(10), 4);
    let prompt = format!("Summarise run {process_id} for #ops.");
    let reply = run_step(&f.tools, Some(&llm), Format::SlackSummary, &prompt, &process_id).await.unwrap();
    assert_eq!((reply.backend, reply.text.as_str(), reply.fallback_reason), (Backend::Llm, summary, None));
    assert_eq!(reply.tool_calls.len(), 1);
    assert_eq!((reply.tool_calls[0].tool.as_str(), reply.tool_calls[0].error.as_ref()), ("search-task-results", None));

    let received = server.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].authorization.as_deref(), Some("Bearer sk-test"));
    let first = &received[0].body;
    assert_eq!(first["model"], "test-model");
    assert_eq!(first["messages"][0]["role"], "system");
    assert_eq!(first["messages"][1], json!({"role": "user", "content": prompt}), "the prompt as written");
    let offered: Vec<&str> =
        first["tools"].as_array().unwrap().iter().map(|t| t["function"]["name"].as_str().unwrap()).collect();
    assert_eq!(offered, ["search-users", "search-task-results", "license-health", "notification-settings"]);
    assert_eq!(first["tools"][1]["function"]["parameters"]["type"], "object");

    // The second request carries the model's call and the tool's answer to it.
    let messages = received[1].body["messages"].as_array().unwrap();
    assert_eq!(messages[2]["role"], "assistant");
    assert_eq!(messages[2]["tool_calls"][0]["id"], "call_1");
    assert_eq!(messages[3]["role"], "tool");
    assert_eq!(messages[3]["tool_call_id"], "call_1");
    let answer: Value = serde_json::from_str(messages[3]["content"].as_str().unwrap()).unwrap();
    assert_eq!(answer["processId"], process_id.as_str());
    assert_eq!(answer["summary"]["totalUserChanges"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_that_cannot_be_used_fall_back_to_the_built_in_rendering() {
    let f = Fixture::new(TestDb::sqlite().await).await;
    let process_id = f.run_task().await;
    let record = f.tools.full_record(&process_id, 1000).await.unwrap();
    let server = ModelServer::start().await;
    let llm = backend(&f, &server, Duration::from_secs(10), 4);
    let cases = [
        // Markdown where mrkdwn belongs.
        (
            Reply::text("| User | Outcome |\n|---|---|\n| **Ada** | [changed](http://x) |"),
            "breaks the slack-summary format",
        ),
        // Not the protocol.
        (Reply::Raw { status: 200, body: "<html>gateway</html>".into() }, "not a chat completion"),
        (Reply::Completion(json!({"choices": []})), "no choices"),
        (Reply::Raw { status: 429, body: r#"{"error": "rate limited"}"#.into() }, "HTTP 429"),
        (Reply::text("   "), "neither text nor tool calls"),
    ];
    for (reply, reason) in cases {
        server.script([reply]);
        let step = run_step(&f.tools, Some(&llm), Format::SlackSummary, "Summarise.", &process_id).await.unwrap();
        assert_eq!(step.backend, Backend::BuiltIn);
        assert_eq!(step.text, agent::render(Format::SlackSummary, &record), "the built-in rendering");
        let why = step.fallback_reason.unwrap_or_default();
        assert!(why.contains(reason), "expected `{reason}` in: {why}");
    }

    // A tool the model made up is answered with an error it can read, and logged.
    server.script([Reply::tool_call("c1", "search-user", &json!({})), Reply::text(":x: *Stale cleanup*")]);
    let step = run_step(&f.tools, Some(&llm), Format::SlackSummary, "Summarise.", &process_id).await.unwrap();
    assert_eq!(step.backend, Backend::Llm);
    assert!(step.tool_calls[0].error.as_deref().unwrap().contains("did you mean: search-users"));
    let answer = server.received().last().unwrap().body["messages"][3]["content"].clone();
    assert!(answer.as_str().unwrap().contains("did you mean"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_model_and_a_chatty_one_are_cut_off() {
    let f = Fixture::new(TestDb::sqlite().await).await;
    let process_id = f.run_task().await;
    let server = ModelServer::start().await;

    let llm = backend(&f, &server, Duration::from_millis(500), 4);
    server.script([Reply::Slow { delay: Duration::from_secs(5), reply: Box::new(Reply::text("late")) }]);
    let step = run_step(&f.tools, Some(&llm), Format::JiraIncident, "Open an incident.", &process_id).await.unwrap();
    assert_eq!(step.backend, Backend::BuiltIn);
    assert_eq!(step.fallback_reason.as_deref(), Some("the model did not finish within 500 ms"));

    let llm = backend(&f, &server, Duration::from_secs(10), 2);
    let call = |id: &str| Reply::tool_call(id, "license-health", &json!({}));
    server.script([call("a"), call("b"), call("c"), Reply::text("never read")]);
    let step = run_step(&f.tools, Some(&llm), Format::ConfluenceAudit, "Audit.", &process_id).await.unwrap();
    assert_eq!(step.backend, Backend::BuiltIn);
    assert_eq!(step.fallback_reason.as_deref(), Some("the model asked for more than 2 tool calls"));
}
