//! `ucm bench tasks`: one task with three actions over every user of a demo organization.
//!
//! Figures, never assertions: item outcomes per second; the run's time against a preview of the
//! same task in the same process (the preview plans every user and changes nothing, so the
//! ratio is what applying and recording cost on top of planning); the peak resident memory
//! while the run goes, against the process's size before it; and reading the result (summary
//! plus the first page of `userChanges`, what `GET /api/v1/runs/{processId}` does) p50/p99
//! against reading the run's header alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use directory::{Directory, LocalDirectory};
use model::clock::ManualClock;
use model::filter::UserFilter;
use model::run::RunOutcome;
use model::task::{Action, AppTarget, Schedule};
use serde::Serialize;
use tasks::{RunStart, TaskInput, TaskService, TaskSettings};

use super::bench::on_scratch_stores;
use crate::config::Config;
use crate::output::outln;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TasksBench {
    engine: &'static str,
    users: usize,
    users_matched: u64,
    item_outcomes: u64,
    run_seconds: f64,
    item_outcomes_per_second: f64,
    preview_seconds: f64,
    /// The run's time divided by the preview's.
    run_to_preview_ratio: f64,
    /// Resident memory before the run, and its peak while the run went (Linux; 0 elsewhere).
    rss_before_mib: f64,
    peak_rss_during_run_mib: f64,
    record_p50_ms: f64,
    record_p99_ms: f64,
    /// The record's p50 divided by reading the run's header alone.
    record_to_header_ratio: f64,
}

pub async fn run(config: &Config, users: usize, reads: usize, json: bool) -> anyhow::Result<()> {
    anyhow::ensure!(users >= 5 && reads > 0, "--users must be at least 5 and --reads at least 1");
    let results = on_scratch_stores(config, async |store| bench(store, users, reads).await).await?;
    if json {
        return crate::output::json(&results);
    }
    for r in &results {
        outln!(
            "{} · {} users matched · three actions (add to group, remove Confluence, suspend)",
            r.engine,
            r.users_matched
        );
        outln!(
            "  run:     {:.2} s, {} item outcomes = {:.0} per second; {:.2}× the preview's {:.2} s",
            r.run_seconds,
            r.item_outcomes,
            r.item_outcomes_per_second,
            r.run_to_preview_ratio,
            r.preview_seconds
        );
        outln!(
            "  memory:  {:.0} MiB before, peak {:.0} MiB during the run",
            r.rss_before_mib,
            r.peak_rss_during_run_mib
        );
        outln!(
            "  result:  summary + first page p50 {:.2} ms, p99 {:.2} ms ({:.2}× reading the header alone)",
            r.record_p50_ms,
            r.record_p99_ms,
            r.record_to_header_ratio
        );
    }
    Ok(())
}

async fn bench(store: &store::Store, users: usize, reads: usize) -> anyhow::Result<TasksBench> {
    let now = jiff::Timestamp::now();
    store.import_directory(&directory::demo::organization(users, now, directory::demo::DEFAULT_SEED), &|_| {}).await?;
    let clock = Arc::new(ManualClock::new(now));
    let directory: Arc<dyn Directory> = Arc::new(LocalDirectory::new(store.clone(), clock.clone()));
    let service = TaskService::new(
        store.clone(),
        directory,
        clock,
        TaskSettings { run_lease: jiff::SignedDuration::from_secs(3600), ..TaskSettings::default() },
    );
    let filter = store.create_saved_filter("everyone", &UserFilter::default(), now).await?;
    let input = TaskInput {
        name: "Bench: lock everyone".to_owned(),
        filter_id: filter.filter_id,
        actions: vec![
            Action::AddToGroups { group_ids: vec!["security".into()] },
            Action::RemoveAppAccess {
                apps: vec![AppTarget { app_type: "confluence".into(), site_id: None }],
                all: false,
            },
            Action::SuspendUsers,
        ],
        schedule: Schedule::default(),
        active: true,
        execution_limit: None,
    };
    let task = service.create_task(&input, "bench").await.map_err(|e| anyhow::anyhow!("{e}"))?;

    let started = Instant::now();
    service.preview_task(&task.task_id, 0).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let preview_seconds = started.elapsed().as_secs_f64();

    let rss_before = memory::reset_peak();
    let run = service
        .start_task_run(&task.task_id, &RunStart { started_by: "bench".into(), confirm: true })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = Instant::now();
    let outcome = service.execute(&run, &|_| {}).await;
    let run_seconds = started.elapsed().as_secs_f64();
    let peak = memory::peak();
    anyhow::ensure!(outcome == RunOutcome::Success, "the benchmark run ended with {}", outcome.as_str());

    // Counted after the clock stopped: every stored (user, action, target) outcome.
    let mut item_outcomes = 0u64;
    let mut after: Option<String> = None;
    loop {
        let page = store.run_users(&run.process_id, after.as_deref(), 1000, &[]).await?;
        item_outcomes += page.iter().map(|u| u.items.len() as u64).sum::<u64>();
        match page.last() {
            Some(last) if page.len() == 1000 => after = Some(last.account_id.0.clone()),
            _ => break,
        }
    }

    let time = |times: &mut Vec<Duration>, q: f64| {
        times.sort();
        times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0
    };
    let mut record_times = Vec::with_capacity(reads);
    let mut header_times = Vec::with_capacity(reads);
    let mut matched = 0;
    for _ in 0..reads {
        let t = Instant::now();
        let record = service.run_record(&run.process_id, None, 100).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        record_times.push(t.elapsed());
        matched = record.run.summary.users_matched;
        let t = Instant::now();
        store.run(&run.process_id).await?;
        header_times.push(t.elapsed());
    }
    let (record_p50, record_p99) = (time(&mut record_times, 0.5), time(&mut record_times, 0.99));
    let header_p50 = time(&mut header_times, 0.5);
    Ok(TasksBench {
        engine: store.engine().name(),
        users,
        users_matched: matched,
        item_outcomes,
        run_seconds,
        item_outcomes_per_second: item_outcomes as f64 / run_seconds,
        preview_seconds,
        run_to_preview_ratio: run_seconds / preview_seconds,
        rss_before_mib: rss_before,
        peak_rss_during_run_mib: peak,
        record_p50_ms: record_p50,
        record_p99_ms: record_p99,
        record_to_header_ratio: record_p50 / header_p50,
    })
}

/// Resident memory from `/proc/self` (Linux); 0 where it cannot be read.
pub(crate) mod memory {
    /// Resets the peak to the current size (Linux `clear_refs` 5) and returns that size in MiB.
    pub fn reset_peak() -> f64 {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        field("VmRSS:")
    }

    /// The peak resident size since the last reset, in MiB.
    pub fn peak() -> f64 {
        field("VmHWM:")
    }

    fn field(name: &str) -> f64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|l| l.starts_with(name))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kib| kib.parse::<f64>().ok())
            })
            .map_or(0.0, |kib| kib / 1024.0)
    }
}
