//! `ucm bench agent`: the agent's read side on a run with (about) `--users` user changes.
//!
//! Figures, never assertions: `search-task-results` by process id (summary and the first page
//! of 100 `userChanges`, serialized to JSON as the API and MCP send it) p50/p99, against reading
//! the run's header alone in the same process; and rendering each built-in format for the
//! first `--render-users` user changes, against serializing the same record to JSON.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agent::{Format, ToolName, Tools};
use directory::{Directory, LocalDirectory};
use model::clock::ManualClock;
use model::filter::UserFilter;
use model::task::{Action, Schedule};
use serde::Serialize;
use tasks::{RunStart, TaskInput, TaskService, TaskSettings};

use super::bench::on_scratch_stores;
use crate::config::Config;
use crate::output::outln;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AgentBench {
    engine: &'static str,
    user_changes: u64,
    search_p50_ms: f64,
    search_p99_ms: f64,
    /// The tool's p50 divided by reading the run's header alone.
    search_to_header_ratio: f64,
    rendered_users: usize,
    /// Reading the record with `rendered_users` user changes, once.
    record_read_ms: f64,
    /// Serializing that record to JSON (median): the baseline of the renderings.
    json_ms: f64,
    formats: Vec<FormatFigures>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FormatFigures {
    format: &'static str,
    median_ms: f64,
    output_kib: f64,
    /// The median divided by serializing the record to JSON.
    ratio_to_json: f64,
}

pub async fn run(config: &Config, users: usize, reads: usize, render_users: usize, json: bool) -> anyhow::Result<()> {
    anyhow::ensure!(users >= 5 && reads > 0 && render_users > 0, "--users ≥ 5, --reads ≥ 1, --render-users ≥ 1");
    let results = on_scratch_stores(config, async |store| bench(store, users, reads, render_users).await).await?;
    if json {
        return crate::output::json(&results);
    }
    for r in &results {
        outln!("{} · a run with {} user changes", r.engine, r.user_changes);
        outln!(
            "  search-task-results (summary + first 100, as JSON): p50 {:.2} ms, p99 {:.2} ms ({:.2}× reading the header alone)",
            r.search_p50_ms,
            r.search_p99_ms,
            r.search_to_header_ratio
        );
        outln!(
            "  rendering {} user changes (record read once in {:.0} ms; JSON of it {:.1} ms):",
            r.rendered_users,
            r.record_read_ms,
            r.json_ms
        );
        for f in &r.formats {
            outln!(
                "    {:<17} {:>9.3} ms  {:>8.0} KiB  {:.3}× the JSON",
                f.format,
                f.median_ms,
                f.output_kib,
                f.ratio_to_json
            );
        }
    }
    Ok(())
}

async fn bench(store: &store::Store, users: usize, reads: usize, render_users: usize) -> anyhow::Result<AgentBench> {
    let now = jiff::Timestamp::now();
    store.import_directory(&directory::demo::organization(users, now, directory::demo::DEFAULT_SEED), &|_| {}).await?;
    let clock = Arc::new(ManualClock::new(now));
    let directory: Arc<dyn Directory> = Arc::new(LocalDirectory::new(store.clone(), clock.clone()));
    let settings = TaskSettings { run_lease: jiff::SignedDuration::from_secs(3600), ..TaskSettings::default() };
    let public_url = settings.public_url.clone();
    let service = TaskService::new(store.clone(), directory, clock.clone(), settings);
    // One change (or a failure: deactivated users cannot join) for every user but the admins.
    let filter = store.create_saved_filter("everyone", &UserFilter::default(), now).await?;
    let input = TaskInput {
        name: "Bench: everyone joins security".to_owned(),
        filter_id: filter.filter_id,
        actions: vec![Action::AddToGroups { group_ids: vec!["security".into()] }],
        schedule: Schedule::default(),
        active: true,
        execution_limit: None,
    };
    let task = service.create_task(&input, "bench").await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let run = service
        .start_task_run(&task.task_id, &RunStart { started_by: "bench".into(), confirm: true })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    service.execute(&run, &|_| {}).await;

    let tools = Tools::new(store.read_only().await?, clock, &public_url);
    let arguments = serde_json::json!({"processId": run.process_id.as_str()});
    let mut search_times = Vec::with_capacity(reads);
    let mut header_times = Vec::with_capacity(reads);
    let mut user_changes = 0;
    for _ in 0..reads {
        let t = Instant::now();
        let answer = tools.call(ToolName::SearchTaskResults, arguments.clone()).await?;
        let text = serde_json::to_string(&answer)?;
        search_times.push(t.elapsed());
        std::hint::black_box(text);
        if let agent::tools::ToolAnswer::SearchTaskResults(agent::tools::SearchTaskResultsOutput::Record(record)) =
            answer
        {
            user_changes = record.run.summary.total_user_changes;
        }
        let t = Instant::now();
        store.run(&run.process_id).await?;
        header_times.push(t.elapsed());
    }
    let search_p50 = percentile(&mut search_times, 0.5);

    let t = Instant::now();
    let mut record = tools.full_record(&run.process_id, render_users).await?;
    record.user_changes.truncate(render_users);
    let record_read_ms = t.elapsed().as_secs_f64() * 1000.0;
    let iterations = 7;
    let json_ms = median_ms(iterations, || serde_json::to_string(&record).unwrap_or_default().len());
    let formats = Format::ALL
        .into_iter()
        .map(|format| {
            let mut bytes = 0;
            let median = median_ms(iterations, || {
                bytes = agent::render(format, &record).len();
                bytes
            });
            FormatFigures {
                format: format.name(),
                median_ms: median,
                output_kib: bytes as f64 / 1024.0,
                ratio_to_json: median / json_ms,
            }
        })
        .collect();
    Ok(AgentBench {
        engine: store.engine().name(),
        user_changes,
        search_p50_ms: search_p50,
        search_p99_ms: percentile(&mut search_times, 0.99),
        search_to_header_ratio: search_p50 / percentile(&mut header_times, 0.5),
        rendered_users: record.user_changes.len(),
        record_read_ms,
        json_ms,
        formats,
    })
}

fn percentile(times: &mut [Duration], q: f64) -> f64 {
    times.sort();
    times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0
}

/// The median time of `iterations` calls of `work`, in ms (its result kept from the optimizer).
fn median_ms(iterations: usize, mut work: impl FnMut() -> usize) -> f64 {
    let mut times: Vec<Duration> = (0..iterations)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(work());
            t.elapsed()
        })
        .collect();
    percentile(&mut times, 0.5)
}
