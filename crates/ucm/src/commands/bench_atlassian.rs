//! `ucm bench atlassian`: the Atlassian backend against the simulator on 127.0.0.1.
//!
//! Figures, never assertions:
//! - a full sync of `--users` users: users per second, calls, 429s, and peak resident memory
//!   (the simulator runs in the same process: its organization is in the figure, measured
//!   before as the baseline); against reading the organization alone (no database writes) in
//!   the same run;
//! - a Bulk Operation of two actions (join a group, suspend) over `--task-users` users: item
//!   outcomes per second (the run's own sync of the whole organization included, as every run
//!   does);
//! - the same kind of work under a limit of `--limit` calls per second that answers 429 past
//!   it: the share of the limit used, and how many calls were refused.

use std::sync::Arc;
use std::time::{Duration, Instant};

use atlassian::simulator::{SimOrg, SimSettings, Simulator};
use atlassian::{ConnectInput, OrgDirectory, OrgSettings, Organization};
use directory::{Directory, LocalDirectory};
use model::clock::SystemClock;
use model::ids::AccountId;
use model::run::RunOutcome;
use model::task::Action;
use serde::Serialize;
use store::Store;
use tasks::{BulkInput, TaskService, TaskSettings};

use super::bench::on_scratch_stores;
use super::bench_tasks::memory;
use crate::config::Config;
use crate::output::outln;

const KEY: &str = "bench-key";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AtlassianBench {
    engine: &'static str,
    users: usize,
    sync_seconds: f64,
    sync_users_per_second: f64,
    sync_calls: u64,
    /// Reading the organization alone, without writing the mirror.
    fetch_seconds: f64,
    sync_to_fetch_ratio: f64,
    rss_before_sync_mib: f64,
    peak_rss_during_sync_mib: f64,
    task_users: usize,
    task_item_outcomes: u64,
    task_seconds: f64,
    task_item_outcomes_per_second: f64,
    limit_per_second: u32,
    limited_calls: u64,
    limited_refused: u64,
    limited_seconds: f64,
    /// Calls per second achieved divided by the limit.
    share_of_limit_used: f64,
}

pub async fn run(config: &Config, users: usize, task_users: usize, limit: u32, json: bool) -> anyhow::Result<()> {
    anyhow::ensure!(users >= 5 && task_users >= 1 && limit >= 1, "--users ≥ 5, --task-users ≥ 1, --limit ≥ 1");
    let results = on_scratch_stores(config, async |store| bench(store, users, task_users, limit).await).await?;
    if json {
        return crate::output::json(&results);
    }
    for r in &results {
        outln!("{} · an organization of {} users on the simulator", r.engine, r.users);
        outln!(
            "  sync:    {:.2} s = {:.0} users/s, {} calls; reading alone {:.2} s ({:.2}× for writing the mirror)",
            r.sync_seconds,
            r.sync_users_per_second,
            r.sync_calls,
            r.fetch_seconds,
            r.sync_to_fetch_ratio
        );
        outln!(
            "  memory:  {:.0} MiB before (simulator included), peak {:.0} MiB during the sync",
            r.rss_before_sync_mib,
            r.peak_rss_during_sync_mib
        );
        outln!(
            "  task:    {} users × 2 actions = {} item outcomes in {:.2} s = {:.0} per second (with the run's sync)",
            r.task_users,
            r.task_item_outcomes,
            r.task_seconds,
            r.task_item_outcomes_per_second
        );
        outln!(
            "  limited: {} calls in {:.2} s under {} calls/s = {:.0} % of the limit used, {} refused with 429",
            r.limited_calls,
            r.limited_seconds,
            r.limit_per_second,
            r.share_of_limit_used * 100.0,
            r.limited_refused
        );
        outln!();
    }
    Ok(())
}

async fn bench(store: &Store, users: usize, task_users: usize, limit: u32) -> anyhow::Result<AtlassianBench> {
    let rss_before_simulator = memory::reset_peak();
    let sim = Simulator::new(SimOrg::generate(users, jiff::Timestamp::now(), 1), SimSettings::new(KEY));
    let address = sim.start().await?;
    let http = webhooks::GuardedClient::new(
        webhooks::AddressPolicy::parse(&["127.0.0.0/8".to_owned()]).map_err(|e| anyhow::anyhow!("{e:?}"))?,
        webhooks::Timeouts::default(),
    )?;
    let settings = OrgSettings { api_base: format!("http://{address}"), min_interval: Duration::ZERO };
    let clock = Arc::new(SystemClock);
    let key = webhooks::SealingKey::from_base64(&webhooks::SealingKey::generate())?;
    let organization = Organization::new(store.clone(), http.clone(), key, clock.clone(), settings.clone());
    let expires = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        .checked_add(jiff::Span::new().days(300))?;
    let input =
        ConnectInput { api_key: KEY.into(), key_expires: expires, key_name: None, org_id: None, directory_id: None };
    organization.connect(&input, "bench").await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let _ = rss_before_simulator;

    // Reading alone: the same calls, nothing written.
    let (org_id, directory_id) = {
        let org = sim.org();
        (org.org_id.clone(), org.directory_id.clone())
    };
    let reader = atlassian::AdminClient::new(http, &settings.api_base, KEY, Duration::ZERO);
    let started = Instant::now();
    atlassian::sync::fetch(&reader, &org_id, &directory_id, &|_| {}).await?;
    let fetch_seconds = started.elapsed().as_secs_f64();

    let rss_before_sync = memory::reset_peak();
    let started = Instant::now();
    let report = organization.sync(&|_| {}).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let sync_seconds = started.elapsed().as_secs_f64();
    let peak = memory::peak();

    // A Bulk Operation over `task_users` active users who are not organization admins.
    let picked = |n: usize| -> Vec<AccountId> {
        let org = sim.org();
        org.users
            .values()
            .filter(|u| u.status() == "active" && !u.org_admin)
            .take(n)
            .map(|u| AccountId(u.account_id.clone()))
            .collect()
    };
    let security = sim.org().groups.iter().find(|g| g.name == "security").map(|g| g.id.clone());
    let security = security.ok_or_else(|| anyhow::anyhow!("the simulated organization has no security group"))?;
    let local = LocalDirectory::new(store.clone(), clock.clone());
    let directory: Arc<dyn Directory> =
        Arc::new(OrgDirectory::new(local, organization.clone()).await.map_err(|e| anyhow::anyhow!("{e}"))?);
    let service = TaskService::new(store.clone(), directory, clock, TaskSettings::default());
    let actions = vec![Action::AddToGroups { group_ids: vec![security.as_str().into()] }, Action::SuspendUsers];
    let targets = picked(task_users);
    let bulk = BulkInput {
        name: None,
        actions: actions.clone(),
        account_ids: Some(targets.clone()),
        filter: None,
        confirm: true,
    };
    let run = service.start_bulk(&bulk, "bench").await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = Instant::now();
    let outcome = service.execute(&run, &|_| {}).await;
    let task_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(outcome == RunOutcome::Success, "the benchmark run ended with {}", outcome.as_str());
    let task_item_outcomes = (targets.len() * actions.len()) as u64;

    // Under a limit: restore the users suspended above (one call each) at `limit` calls/s.
    sim.settings().requests_per_second = Some(limit);
    let restore = targets.iter().take((limit as usize * 20).min(targets.len())).cloned().collect::<Vec<_>>();
    let changes: Vec<model::run::Change> =
        restore.iter().map(|id| model::run::Change { account_id: id.clone(), op: model::run::Op::Restore }).collect();
    let (calls_before, refused_before) = sim.calls();
    // Start on a fresh window, as a caller that has been idle would.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let started = Instant::now();
    organization.apply(&changes).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let limited_seconds = started.elapsed().as_secs_f64();
    let (calls_after, refused_after) = sim.calls();
    let limited_calls = calls_after - calls_before;
    let accepted = limited_calls - (refused_after - refused_before);
    Ok(AtlassianBench {
        engine: store.engine().name(),
        users,
        sync_seconds,
        sync_users_per_second: report.users as f64 / sync_seconds,
        sync_calls: report.calls,
        fetch_seconds,
        sync_to_fetch_ratio: sync_seconds / fetch_seconds,
        rss_before_sync_mib: rss_before_sync,
        peak_rss_during_sync_mib: peak,
        task_users: targets.len(),
        task_item_outcomes,
        task_seconds,
        task_item_outcomes_per_second: task_item_outcomes as f64 / task_seconds,
        limit_per_second: limit,
        limited_calls,
        limited_refused: refused_after - refused_before,
        limited_seconds,
        share_of_limit_used: accepted as f64 / limited_seconds / f64::from(limit),
    })
}
