use jiff::SignedDuration;
use model::directory::UserStatus;
use model::run::{RunOutcome, RunState};
use model::task::{Action, ExecutionLimit, Schedule, ScheduleKind};
use tasks::{RunFilter, RunStart, Scheduler, SyncSlot, TaskSettings};
use testkit::{TestDb, backend_tests};

use crate::{Fixture, PUBLIC_URL, at, three_actions};

backend_tests!(
    daily_in_berlin_across_dst_with_one_catch_up_run,
    nothing_starts_inside_the_sync_slot,
    two_processes_never_start_the_same_run,
    paused_tasks_do_not_run,
    interrupted_runs_are_closed_as_failures,
    over_the_limit_a_scheduled_run_waits_for_approval,
    a_panic_in_a_pass_does_not_stop_the_scheduler,
);

fn daily(time: &str, tz: &str) -> Schedule {
    Schedule { kind: ScheduleKind::Daily { time: time.into() }, time_zone: tz.into() }
}

fn suspend() -> Vec<Action> {
    vec![Action::SuspendUsers]
}

async fn daily_in_berlin_across_dst_with_one_catch_up_run(db: TestDb) {
    let f = Fixture::new(db).await;
    f.clock.set(at("2026-03-27T12:00:00Z"));
    let task =
        f.service.create_task(&f.input("Nightly", suspend(), daily("02:30", "Europe/Berlin")), "t").await.unwrap();
    // 02:30 CET is 01:30 UTC.
    assert_eq!(task.next_run_at, Some(at("2026-03-28T01:30:00Z")));
    let scheduler = Scheduler::new(f.service.clone(), None);

    f.clock.set(at("2026-03-28T01:29:59Z"));
    assert!(scheduler.tick().await.unwrap().started.is_empty(), "not due yet");
    f.clock.set(at("2026-03-28T01:30:00Z"));
    let started = scheduler.tick().await.unwrap().started;
    assert_eq!(started.len(), 1);
    assert_eq!(f.service.execute(&started[0], &|_| {}).await, RunOutcome::Success);
    // On 29 March 02:30 does not exist in Berlin: the run is at 03:30 CEST, 01:30 UTC.
    assert_eq!(f.service.task(&task.task_id).await.unwrap().next_run_at, Some(at("2026-03-29T01:30:00Z")));

    // Four days down: one catch-up run, then the next one is tomorrow at 02:30 CEST.
    f.clock.set(at("2026-04-02T12:00:00Z"));
    let started = scheduler.tick().await.unwrap().started;
    assert_eq!(started.len(), 1, "one run for all the missed days");
    f.service.execute(&started[0], &|_| {}).await;
    assert!(scheduler.tick().await.unwrap().started.is_empty());
    let task = f.service.task(&task.task_id).await.unwrap();
    assert_eq!(task.next_run_at, Some(at("2026-04-03T00:30:00Z")));
    assert_eq!(task.last_run_at, Some(at("2026-04-02T12:00:00Z")));
    let runs = f.service.runs(&RunFilter { task_id: Some(task.task_id), ..RunFilter::default() }).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.trigger == model::run::RunTrigger::Schedule && r.started_by == "scheduler"));
}

async fn nothing_starts_inside_the_sync_slot(db: TestDb) {
    let f = Fixture::new(db).await;
    f.clock.set(at("2026-11-28T00:00:00Z"));
    let task = f.service.create_task(&f.input("T", suspend(), daily("03:10", "UTC")), "t").await.unwrap();
    let scheduler = Scheduler::new(f.service.clone(), Some(SyncSlot::new("03:00", "UTC").unwrap()));
    f.clock.set(at("2026-11-28T03:15:00Z"));
    let report = scheduler.tick().await.unwrap();
    assert!(report.in_sync_slot && report.synced && report.started.is_empty());
    f.clock.set(at("2026-11-28T03:59:59Z"));
    let report = scheduler.tick().await.unwrap();
    assert!(report.in_sync_slot && !report.synced, "one sync per slot");
    f.clock.set(at("2026-11-28T04:00:00Z"));
    let report = scheduler.tick().await.unwrap();
    assert!(!report.in_sync_slot);
    assert_eq!(report.started.len(), 1, "deferred to the end of the slot");
    assert_eq!(report.started[0].task_id.as_ref(), Some(&task.task_id));
    // Another process in the same slot on another day syncs only once between them.
    let other = Scheduler::new(f.second_process().await, Some(SyncSlot::new("03:00", "UTC").unwrap()));
    f.clock.set(at("2026-11-29T03:01:00Z"));
    let (a, b) = tokio::join!(scheduler.tick(), other.tick());
    assert_eq!(u8::from(a.unwrap().synced) + u8::from(b.unwrap().synced), 1);
}

async fn two_processes_never_start_the_same_run(db: TestDb) {
    let f = Fixture::new(db).await;
    f.clock.set(at("2026-11-28T00:00:00Z"));
    for i in 0..5 {
        f.service.create_task(&f.input(&format!("T{i}"), suspend(), daily("05:00", "UTC")), "t").await.unwrap();
    }
    let here = Scheduler::new(f.service.clone(), None);
    let there = Scheduler::new(f.second_process().await, None);
    f.clock.set(at("2026-11-28T05:00:00Z"));
    let (a, b) = tokio::join!(here.tick(), there.tick());
    let (a, b) = (a.unwrap().started, b.unwrap().started);
    assert_eq!(a.len() + b.len(), 5, "every due task started exactly once: {} + {}", a.len(), b.len());
    let runs = f.service.runs(&RunFilter::default()).await.unwrap();
    assert_eq!(runs.len(), 5);
}

async fn paused_tasks_do_not_run(db: TestDb) {
    let f = Fixture::new(db).await;
    f.clock.set(at("2026-11-28T00:00:00Z"));
    let task = f.service.create_task(&f.input("T", suspend(), daily("05:00", "UTC")), "t").await.unwrap();
    let paused = f.service.set_active(&task.task_id, false, "ops").await.unwrap();
    assert_eq!((paused.active, paused.next_run_at, paused.updated_by.as_str()), (false, None, "ops"));
    let scheduler = Scheduler::new(f.service.clone(), None);
    f.clock.set(at("2026-11-30T12:00:00Z"));
    assert!(scheduler.tick().await.unwrap().started.is_empty());
    // Resumed: the next run is the first after now; days missed while paused do not run.
    let resumed = f.service.set_active(&task.task_id, true, "ops").await.unwrap();
    assert_eq!(resumed.next_run_at, Some(at("2026-12-01T05:00:00Z")));
    assert!(scheduler.tick().await.unwrap().started.is_empty());
    // A paused task can still be run by hand.
    f.service.set_active(&task.task_id, false, "ops").await.unwrap();
    let run = f.service.start_task_run(&task.task_id, &RunStart { started_by: "ops".into(), confirm: false }).await;
    assert!(run.is_ok());
}

async fn interrupted_runs_are_closed_as_failures(db: TestDb) {
    let settings = TaskSettings {
        public_url: PUBLIC_URL.into(),
        run_lease: SignedDuration::from_secs(30),
        ..TaskSettings::default()
    };
    let f = Fixture::with_settings(db, settings).await;
    let task = f.service.create_task(&f.input("T", suspend(), Schedule::default()), "t").await.unwrap();
    // Started, then the process "dies": nobody executes or renews it.
    let run =
        f.service.start_task_run(&task.task_id, &RunStart { started_by: "t".into(), confirm: false }).await.unwrap();
    let next_start = Scheduler::new(f.second_process().await, None);
    f.clock.advance(SignedDuration::from_secs(29));
    assert!(next_start.tick().await.unwrap().closed_interrupted.is_empty(), "its claim still holds");
    f.clock.advance(SignedDuration::from_secs(2));
    assert_eq!(next_start.tick().await.unwrap().closed_interrupted, vec![run.process_id.clone()]);
    let record = f.service.run_record(&run.process_id, None, 10).await.unwrap();
    assert_eq!(record.run.outcome, Some(RunOutcome::Failure));
    assert!(record.run.error.as_deref().unwrap().starts_with("interrupted"));
    assert!(record.run.finished_at.is_some());
    // The original process, if it comes back, cannot overwrite that.
    assert_eq!(f.service.execute(&run, &|_| {}).await, RunOutcome::Failure);
    assert_eq!(f.user("ada").await.status, UserStatus::Active);
    // And the task can run again.
    assert!(
        f.service.start_task_run(&task.task_id, &RunStart { started_by: "t".into(), confirm: false }).await.is_ok()
    );
}

async fn over_the_limit_a_scheduled_run_waits_for_approval(db: TestDb) {
    let f = Fixture::new(db).await;
    f.db.store.set_execution_limit(&ExecutionLimit { max_users: Some(1), max_percent: None }).await.unwrap();
    f.clock.set(at("2026-11-28T00:00:00Z"));
    f.service.create_task(&f.input("T", three_actions(), daily("05:00", "UTC")), "t").await.unwrap();
    let scheduler = Scheduler::new(f.service.clone(), None);
    f.clock.set(at("2026-11-28T05:00:00Z"));
    let started = scheduler.tick().await.unwrap().started;
    assert_eq!(f.service.execute(&started[0], &|_| {}).await, RunOutcome::Quarantined);
    let record = f.service.run_record(&started[0].process_id, None, 10).await.unwrap();
    assert_eq!((record.run.state, record.run.outcome), (RunState::Quarantined, Some(RunOutcome::Quarantined)));
    let quarantine = record.run.quarantine.unwrap();
    assert_eq!((quarantine.would_change, quarantine.limit), (2, 1));
    assert_eq!(record.run.summary.users_matched, 5);
    assert!(record.user_changes.is_empty());
    assert_eq!(f.user("ada").await.status, UserStatus::Active, "nothing changed before approval");
    // While it waits, the next day's tick does not pile up another run.
    f.clock.set(at("2026-11-29T05:00:00Z"));
    assert!(scheduler.tick().await.unwrap().started.is_empty());

    let approved = f.service.approve(&started[0].process_id, "ops").await.unwrap();
    assert_eq!(f.service.execute(&approved, &|_| {}).await, RunOutcome::Success);
    assert_eq!(f.user("ada").await.status, UserStatus::Suspended);
    assert!(f.service.approve(&started[0].process_id, "ops").await.is_err(), "only once");

    // The next scheduled run (over the original directory again) is quarantined, and this time
    // rejected.
    f.db.store.import_directory(&crate::organization(), &|_| {}).await.unwrap();
    let started = scheduler.tick().await.unwrap().started;
    assert_eq!(f.service.execute(&started[0], &|_| {}).await, RunOutcome::Quarantined);
    f.service.reject(&started[0].process_id, "ops").await.unwrap();
    let record = f.service.run_record(&started[0].process_id, None, 10).await.unwrap();
    assert_eq!((record.run.state, record.run.outcome), (RunState::Finished, Some(RunOutcome::Rejected)));
    assert!(record.run.error.unwrap().contains("rejected by ops"));
}

/// A pass that panics (here in the daily sync) is logged; the loop goes on with the next tick.
async fn a_panic_in_a_pass_does_not_stop_the_scheduler(db: TestDb) {
    let f = Fixture::new(db).await;
    let crashing = std::sync::Arc::new(crate::FlakyDirectory {
        sync_panics: true.into(),
        ..crate::FlakyDirectory::new(f.directory.clone())
    });
    let service = tasks::TaskService::new(
        f.db.store.clone(),
        crashing.clone(),
        std::sync::Arc::new(f.clock.clone()),
        f.service.settings().clone(),
    );
    f.clock.set(at("2026-11-28T23:45:00Z"));
    let slot = SyncSlot::new("23:30", "UTC").unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let scheduler =
        tokio::spawn(Scheduler::new(service, Some(slot)).run(std::time::Duration::from_millis(20), async {
            let _ = stopped.await;
        }));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while crashing.syncs.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(std::time::Instant::now() < deadline, "the scheduler never synced after the panic");
        assert!(!scheduler.is_finished(), "the scheduler's loop ended");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!crashing.sync_panics.load(std::sync::atomic::Ordering::SeqCst), "the first sync panicked");
    let _ = stop.send(());
    scheduler.await.unwrap();
}
