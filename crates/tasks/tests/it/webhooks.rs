use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use model::run::RunOutcome;
use model::task::{Action, ExecutionLimit, Schedule};
use model::webhook::{Subscription, TaskEvent, Trigger};
use tasks::{BulkInput, RunStart, Scheduler};
use testkit::{TestDb, backend_tests};

use crate::{Fixture, PUBLIC_URL, at, three_actions};

backend_tests!(
    task_outcomes_queue_their_webhooks_and_bulk_operations_never_do,
    there_is_no_moment_between_outcome_and_outbox,
    api_keys_expiring_within_a_week_fire_once_per_expiry_date,
);

async fn subscribe(f: &Fixture, id: &str, triggers: Vec<Trigger>, enabled: bool) {
    let now = at("2026-11-28T12:00:00Z");
    let subscription = Subscription {
        id: id.to_owned(),
        name: id.to_owned(),
        url: "http://127.0.0.1:9/hook".to_owned(),
        triggers,
        notes: String::new(),
        enabled,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
    };
    f.db.store.insert_webhook_subscription(&subscription, "sealed", 10, None).await.unwrap();
}

fn by_hand() -> RunStart {
    RunStart { started_by: "test".into(), confirm: true }
}

async fn task_outcomes_queue_their_webhooks_and_bulk_operations_never_do(db: TestDb) {
    let f = Fixture::new(db).await;
    subscribe(&f, "automation", vec![Trigger::TaskSuccess, Trigger::TaskFailure], true).await;
    subscribe(&f, "keys-only", vec![Trigger::OrgKeyExpiry], true).await;
    subscribe(&f, "switched-off", vec![Trigger::TaskSuccess], false).await;

    let task = f.service.create_task(&f.input("Offboard", three_actions(), Schedule::default()), "t").await.unwrap();
    let run = f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    assert_eq!(f.service.execute(&run, &|_| {}).await, RunOutcome::Success);
    let deliveries = f.db.store.deliveries_of_run(&run.process_id).await.unwrap();
    assert_eq!(deliveries.len(), 1, "only the enabled subscription to taskSuccess");
    let delivery = &deliveries[0];
    assert_eq!(
        (delivery.subscription_id.as_str(), delivery.event, delivery.state.as_str()),
        ("automation", Trigger::TaskSuccess, "pending")
    );
    assert!(delivery.delivery_id.starts_with("msg_"));
    let expected = TaskEvent {
        trigger: Trigger::TaskSuccess,
        process_id: run.process_id.clone(),
        name: "Offboard".into(),
        action_types: vec![
            model::task::ActionType::AddToGroups,
            model::task::ActionType::RemoveAppAccess,
            model::task::ActionType::SuspendUsers,
        ],
        deep_link: format!("{PUBLIC_URL}/tasks?taskId={}&processId={}", task.task_id, run.process_id),
    };
    assert_eq!(delivery.body, expected.body(), "the exact flat payload");

    // A bulk operation fires nothing.
    let bulk = BulkInput {
        name: None,
        actions: vec![Action::SuspendUsers],
        account_ids: Some(vec!["ada".into()]),
        filter: None,
        confirm: true,
    };
    let run = f.service.start_bulk(&bulk, "t").await.unwrap();
    f.service.execute(&run, &|_| {}).await;
    assert!(f.db.store.deliveries_of_run(&run.process_id).await.unwrap().is_empty());

    // A run that dies is closed as interrupted and fires taskFailure.
    let dead = f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    f.clock.advance(jiff::SignedDuration::from_secs(61));
    f.service.close_interrupted().await.unwrap();
    let deliveries = f.db.store.deliveries_of_run(&dead.process_id).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert!(deliveries[0].body.starts_with("{\"trigger\":\"taskFailure\""), "{}", deliveries[0].body);

    // A quarantined run fires nothing, and neither does its rejection.
    f.db.store.set_execution_limit(&ExecutionLimit { max_users: Some(0), max_percent: None }).await.unwrap();
    f.db.store.import_directory(&crate::organization(), &|_| {}).await.unwrap();
    let daily = Schedule { kind: model::task::ScheduleKind::Daily { time: "05:00".into() }, time_zone: "UTC".into() };
    f.service.create_task(&f.input("Nightly", three_actions(), daily), "t").await.unwrap();
    f.clock.set(at("2026-11-29T05:00:00Z"));
    let started = Scheduler::new(f.service.clone(), None).tick().await.unwrap().started;
    assert_eq!(f.service.execute(&started[0], &|_| {}).await, RunOutcome::Quarantined);
    f.service.reject(&started[0].process_id, "ops").await.unwrap();
    assert!(f.db.store.deliveries_of_run(&started[0].process_id).await.unwrap().is_empty());
}

/// DELIVERY.md: "There is no moment where the event is stored but its delivery is not." A
/// reader watching while runs finish never sees an outcome without its delivery.
async fn there_is_no_moment_between_outcome_and_outbox(db: TestDb) {
    let f = Fixture::new(db).await;
    subscribe(&f, "automation", vec![Trigger::TaskSuccess, Trigger::TaskFailure], true).await;
    let task =
        f.service.create_task(&f.input("T", vec![Action::SuspendUsers], Schedule::default()), "t").await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (looks, seen_missing) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let reader = {
        let (store, stop, looks, seen_missing) =
            (f.db.store.clone(), stop.clone(), looks.clone(), seen_missing.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let missing = store.count_task_outcomes_without_deliveries().await.unwrap();
                seen_missing.fetch_max(missing, Ordering::SeqCst);
                looks.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    for _ in 0..20 {
        let run = f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
        f.service.execute(&run, &|_| {}).await;
        tokio::task::yield_now().await;
    }
    stop.store(true, Ordering::SeqCst);
    reader.await.unwrap();
    assert!(looks.load(Ordering::SeqCst) > 0);
    assert_eq!(seen_missing.load(Ordering::SeqCst), 0);
    assert_eq!(f.db.store.count_task_outcomes_without_deliveries().await.unwrap(), 0);
}

async fn api_keys_expiring_within_a_week_fire_once_per_expiry_date(db: TestDb) {
    use model::apikey::{ApiKey, ApiKeyRole};
    let f = Fixture::new(db).await;
    subscribe(&f, "keys", vec![Trigger::OrgKeyExpiry], true).await;
    subscribe(&f, "tasks-only", vec![Trigger::TaskSuccess], true).await;
    let now = at("2026-11-29T12:00:00Z");
    f.clock.set(now);
    let key = |name: &str, days: i64| {
        let (key, secret) = ApiKey::mint(
            name.to_owned(),
            ApiKeyRole::Admin,
            None,
            now,
            now + jiff::SignedDuration::from_hours(24 * days),
        );
        (key, secret.hash())
    };
    let mut ids = Vec::new();
    for (name, days) in [("soon", 3), ("later", 10), ("revoked", 2)] {
        let (k, hash) = key(name, days);
        f.db.store.insert_api_key(&k, &hash).await.unwrap();
        ids.push(k.api_key_id);
    }
    f.db.store.revoke_api_key(&ids[2], now).await.unwrap();

    let scheduler = Scheduler::new(f.service.clone(), None);
    assert_eq!(scheduler.tick().await.unwrap().keys_noticed, vec![ids[0].clone()], "at start");
    let deliveries = f.db.store.deliveries_of_key(&ids[0]).await.unwrap();
    assert_eq!(deliveries.len(), 1, "to the subscription listening to orgKeyExpiry only");
    assert_eq!(
        deliveries[0].body,
        format!(
            "{{\"trigger\":\"orgKeyExpiry\",\"apiKeyId\":\"{}\",\"name\":\"soon\",\"expiresAt\":\"2026-12-02T12:00:00Z\",\
             \"settingsUrl\":\"{PUBLIC_URL}/settings/api-keys\"}}",
            ids[0]
        )
    );
    // Again, here or in another process: one notice per key and expiry date.
    assert!(scheduler.tick().await.unwrap().keys_noticed.is_empty());
    let elsewhere = Scheduler::new(f.second_process().await, None);
    assert!(elsewhere.tick().await.unwrap().keys_noticed.is_empty());
    // Four days on, the daily check finds the next one.
    f.clock.advance(jiff::SignedDuration::from_hours(24 * 4));
    assert_eq!(scheduler.tick().await.unwrap().keys_noticed, vec![ids[1].clone()]);
    assert_eq!(f.db.store.deliveries_of_key(&ids[0]).await.unwrap().len(), 1);
    assert!(f.db.store.deliveries_of_key(&ids[2]).await.unwrap().is_empty(), "revoked keys are not announced");
}
