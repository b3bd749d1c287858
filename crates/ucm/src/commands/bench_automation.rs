//! `ucm bench automation`: the automation engine receiving and running the Slack recipe
//! (`examples/recipes/2-slack-alert.json`) on the local connection.
//!
//! Figures, never assertions. `--requests` task-run webhooks are POSTed to the flow's incoming
//! webhook over HTTP on 127.0.0.1 by [`CLIENTS`] concurrent clients while the executor runs, as
//! in `ucm serve`: accepted requests per second (each stored before its 202); completed
//! executions per second (first request to last execution finished), each one an agent step
//! summarising a real run and a Slack-style message stored; p50/p99 from a request's arrival to
//! its execution's end. In the same run, the same clients against an endpoint that only answers
//! 202 give the baseline of the ratio.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use model::webhook::TaskEvent;
use serde::Serialize;

use super::bench::on_scratch_stores;
use crate::config::Config;
use crate::context::Context;
use crate::output::outln;

/// Concurrent senders, for the flow's endpoint and the baseline alike.
const CLIENTS: usize = 8;
/// Users of the demo organization whose task run the flow summarises.
const USERS: usize = 500;
const SLACK_RECIPE: &str = include_str!("../../../../examples/recipes/2-slack-alert.json");

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AutomationBench {
    engine: &'static str,
    requests: usize,
    clients: usize,
    accepted_per_second: f64,
    /// An endpoint that only answers 202, the same clients.
    raw_202_per_second: f64,
    /// The raw endpoint's rate divided by ours.
    raw_to_accepted_ratio: f64,
    completed_executions_per_second: f64,
    request_to_completion_p50_ms: i64,
    request_to_completion_p99_ms: i64,
}

pub async fn run(config: &Config, requests: usize, json: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=automation::MAX_QUEUED).contains(&(requests as u64)),
        "--requests must be from 1 to {} (the queue's cap)",
        automation::MAX_QUEUED
    );
    let results = on_scratch_stores(config, async |store| bench(config, store, requests).await).await?;
    if json {
        return crate::output::json(&results);
    }
    for r in &results {
        outln!(
            "{} · {} requests from {} clients · the Slack recipe on the local connection",
            r.engine,
            r.requests,
            r.clients
        );
        outln!(
            "  accepted (stored, then 202): {:.0} requests/s; an endpoint that only answers 202: {:.0}/s ({:.2}×)",
            r.accepted_per_second,
            r.raw_202_per_second,
            r.raw_to_accepted_ratio
        );
        outln!(
            "  completed executions (agent summary + message): {:.0}/s; request → completed p50 {} ms, p99 {} ms",
            r.completed_executions_per_second,
            r.request_to_completion_p50_ms,
            r.request_to_completion_p99_ms
        );
    }
    Ok(())
}

async fn bench(config: &Config, store: &store::Store, requests: usize) -> anyhow::Result<AutomationBench> {
    webhooks::client::install_crypto_provider();
    let client = reqwest::Client::new();

    // The baseline: an endpoint that answers 202 and does nothing else.
    let raw = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let raw_url = format!("http://{}/hook", raw.local_addr()?);
    let app = axum::Router::new().route("/hook", axum::routing::post(|| async { axum::http::StatusCode::ACCEPTED }));
    let raw_server = tokio::spawn(async move { axum::serve(raw, app).await });

    // This installation on the scratch store, with limits that let the whole burst in.
    let mut config = config.clone();
    config.secrets.key = webhooks::SealingKey::generate();
    config.automation.webhook_requests_per_minute = u32::try_from(requests).unwrap_or(u32::MAX).saturating_add(1);
    config.automation.time_budget_per_hour = "1h".to_owned();
    let context = Context::on_store(config, store.clone()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let public_url = format!("http://{}", listener.local_addr()?);
    let state = context.app_state(&public_url)?;

    // A real run for the agent step to summarise, and the flow.
    let now = context.clock.now();
    let org = directory::demo::organization(USERS, now, directory::demo::DEFAULT_SEED);
    store.import_directory(&org, &|_| {}).await?;
    tasks::demo::create_demo_tasks(&state.tasks).await?;
    let task = store.tasks().await?.into_iter().find(|t| t.name == "Onboard contractors").context("demo task")?;
    let start = tasks::RunStart { started_by: "bench".to_owned(), confirm: true };
    let run = state.tasks.start_task_run(&task.task_id, &start).await?;
    state.tasks.execute(&run, &|_| {}).await;
    let body = TaskEvent::new(
        true,
        run.process_id.clone(),
        &task.task_id,
        task.name.clone(),
        model::task::action_types(&task.actions),
        &public_url,
    )
    .body();
    let local =
        connectors::ConnectionInput { name: "local".to_owned(), settings: connectors::Settings::Local, secret: None };
    context.connections()?.create(&local).await?;
    let recipe: serde_json::Value = serde_json::from_str(SLACK_RECIPE)?;
    let imported = state.flows.import(&recipe, "bench").await?;
    let flow_id = imported.flows.first().context("the recipe imports one flow")?.flow.flow_id.clone();
    let flow = state.flows.set_enabled(&flow_id, true).await?;
    let secret = flow.webhook.secret.clone().context("the flow's secret")?;

    // The raw rate first, while nothing else runs.
    let raw_elapsed = send_all(&client, &raw_url, None, requests, &body).await?;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut server_stopped = stopped.clone();
    let server = tokio::spawn(server::serve(listener, state, async move {
        let _ = server_stopped.wait_for(|s| *s).await;
    }));
    let executor = context.executor(&public_url)?;
    let mut executor_stopped = stopped.clone();
    let executor = tokio::spawn(executor.run(super::serve::EXECUTOR_INTERVAL, async move {
        let _ = executor_stopped.wait_for(|s| *s).await;
    }));
    let started = Instant::now();
    let accept_elapsed = send_all(&client, &flow.webhook.url, Some(&secret), requests, &body).await?;
    let deadline = Instant::now() + Duration::from_secs(1800);
    let latencies = loop {
        let (latencies, open) = store.execution_latencies(&flow_id).await?;
        if open == 0 && latencies.len() >= requests {
            break latencies;
        }
        anyhow::ensure!(
            Instant::now() < deadline && !executor.is_finished(),
            "the executions did not finish ({} of {requests} after 30 minutes, or the executor stopped)",
            latencies.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let completed_elapsed = started.elapsed();
    let _ = stop.send(true);
    let _ = executor.await;
    let _ = server.await;
    raw_server.abort();

    // Figures of executions that did their work only.
    let last = store.executions_of_flow(&flow_id, 1).await?;
    let status = last.first().and_then(|e| e.status.clone()).unwrap_or_default();
    anyhow::ensure!(status == "SUCCESS", "the flow's executions did not succeed (the last is {status})");

    let accepted = requests as f64 / accept_elapsed.as_secs_f64();
    let raw_rate = requests as f64 / raw_elapsed.as_secs_f64();
    let at = |q: f64| latencies.get(((latencies.len() - 1) as f64 * q).round() as usize).copied().unwrap_or(0);
    Ok(AutomationBench {
        engine: store.engine().name(),
        requests,
        clients: CLIENTS,
        accepted_per_second: accepted,
        raw_202_per_second: raw_rate,
        raw_to_accepted_ratio: raw_rate / accepted,
        completed_executions_per_second: requests as f64 / completed_elapsed.as_secs_f64(),
        request_to_completion_p50_ms: at(0.5),
        request_to_completion_p99_ms: at(0.99),
    })
}

/// POSTs `body` to `url` `requests` times from [`CLIENTS`] concurrent senders; every answer
/// must be 202. How long it took.
async fn send_all(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    requests: usize,
    body: &str,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let senders: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let count = requests / CLIENTS + usize::from(i < requests % CLIENTS);
            let (client, url, body) = (client.clone(), url.to_owned(), body.to_owned());
            let token = token.map(str::to_owned);
            tokio::spawn(async move {
                for _ in 0..count {
                    let mut request = client.post(&url).header("content-type", "application/json").body(body.clone());
                    if let Some(token) = &token {
                        request = request.header("x-automation-webhook-token", token);
                    }
                    let status = request.send().await?.status();
                    anyhow::ensure!(status == reqwest::StatusCode::ACCEPTED, "{url} answered {status}");
                }
                Ok(())
            })
        })
        .collect();
    for sender in senders {
        sender.await??;
    }
    Ok(started.elapsed())
}
