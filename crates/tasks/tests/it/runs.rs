use std::collections::BTreeSet;

use model::directory::UserStatus;
use model::ids::{AccountId, ProcessId};
use model::run::{ChangeStatus, RunOutcome, RunSource, RunState, Summary};
use model::task::{Action, ExecutionLimit, Schedule, ScheduleKind};
use tasks::{BulkInput, RunFilter, RunStart, TaskError, TaskSettings};
use testkit::{TestDb, backend_tests};

use crate::{Fixture, PUBLIC_URL, three_actions};

backend_tests!(
    every_action_outcome_and_the_exact_record,
    restore_and_remove_from_groups,
    a_gone_filter_is_a_top_level_failure,
    an_unreachable_directory_is_a_top_level_failure,
    never_two_runs_of_one_task,
    preview_changes_nothing,
    over_the_limit_by_hand_needs_confirmation,
    bulk_operations_by_id_and_by_filter,
    user_changes_page_with_a_cursor,
    a_run_can_be_cancelled,
    validation_lists_every_problem,
    a_dead_run_does_not_block_its_task,
    concurrent_runs_on_the_same_users_both_finish,
    editing_a_task_keeps_its_interval_grid,
    the_streamed_export_is_the_whole_record,
    a_shutdown_lets_runs_finish_or_cancels_them,
    a_run_that_panics_ends_as_an_internal_error,
);

fn by_hand() -> RunStart {
    RunStart { started_by: "test".to_owned(), confirm: false }
}

async fn every_action_outcome_and_the_exact_record(db: TestDb) {
    let f = Fixture::new(db).await;
    let task = f.service.create_task(&f.input("Offboard", three_actions(), Schedule::default()), "test").await.unwrap();
    // Names were resolved to ids when saved.
    assert_eq!(
        task.actions[0],
        Action::AddToGroups { group_ids: vec!["g-contractors".into()] },
        "group names are stored as ids"
    );
    let run = f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    assert_eq!(f.service.execute(&run, &|_| {}).await, RunOutcome::Success);

    let record = f.service.run_record(&run.process_id, None, 100).await.unwrap();
    assert_eq!(record.run.outcome, Some(RunOutcome::Success), "failed items do not fail the run");
    assert_eq!(record.run.state, RunState::Finished);
    assert_eq!(
        record.run.summary,
        Summary {
            users_matched: 5,
            users_skipped: 1,
            users_unchanged: 0,
            users_updated: 2,
            failed_count: 2,
            total_user_changes: 4,
            groups_added: 2,
            groups_removed: 0,
            app_access_removed: 2,
            users_suspended: 1,
            users_restored: 0,
        }
    );
    let ids: Vec<&str> = record.user_changes.iter().map(|c| c.account_id.as_str()).collect();
    assert_eq!(ids, vec!["ada", "bob", "cid", "eve"], "the org admin is skipped, not listed");

    let ada = &record.user_changes[0];
    assert_eq!(ada.groups_added[0].name, "Contractors");
    assert_eq!(ada.app_access_removed[0].app_name, "Confluence");
    assert_eq!(ada.app_access_removed[0].site_name, "acme");
    assert!(ada.suspended);
    assert_eq!(ada.user_browser_url, format!("{PUBLIC_URL}/users?accountId=ada"));
    let bob = &record.user_changes[1];
    assert!(!bob.suspended, "already suspended: unchanged");
    let cid = &record.user_changes[2];
    let reasons: Vec<&str> = cid.failures.iter().map(|f| f.reason.as_str()).collect();
    assert!(reasons[0].contains("deactivated user cannot be added to a group"), "{reasons:?}");
    assert!(reasons[1].contains("only an active user can be suspended"), "{reasons:?}");
    assert_eq!(cid.failures[0].target.as_deref(), Some("Contractors"));

    // The directory changed as recorded; the org admin did not.
    let ada = f.user("ada").await;
    assert_eq!(ada.status, UserStatus::Suspended);
    let mut groups: Vec<&str> = ada.groups.iter().map(|g| g.as_str()).collect();
    groups.sort_unstable();
    assert_eq!(groups, vec!["g-contractors", "g-jira"]);
    let apps: Vec<&str> = ada.app_access.iter().map(|a| a.app_type.as_str()).collect();
    assert_eq!(apps, vec!["jira-software"], "derived app access follows the groups");
    let dee = f.user("dee").await;
    assert_eq!((dee.status, dee.groups.len()), (UserStatus::Active, 1));

    // The exact shape (PRODUCT §5), field by field.
    let json = serde_json::to_value(&record).unwrap();
    let keys: BTreeSet<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "processId",
            "source",
            "taskId",
            "name",
            "actionTypes",
            "outcome",
            "error",
            "startedAt",
            "finishedAt",
            "summary",
            "userChanges",
            "deepLink",
            "state",
            "trigger",
            "startedBy",
            "progress",
            "nextCursor"
        ])
    );
    assert_eq!(json["source"], "automatedTask");
    assert_eq!(json["actionTypes"], serde_json::json!(["addToGroups", "removeAppAccess", "suspendUsers"]));
    assert_eq!(
        json["deepLink"],
        format!("{PUBLIC_URL}/tasks?taskId={}&processId={}", task.task_id, run.process_id).as_str()
    );
    let summary_keys: BTreeSet<&str> = json["summary"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        summary_keys,
        BTreeSet::from([
            "usersMatched",
            "usersSkipped",
            "usersUnchanged",
            "usersUpdated",
            "failedCount",
            "totalUserChanges",
            "groupsAdded",
            "groupsRemoved",
            "appAccessRemoved",
            "usersSuspended",
            "usersRestored"
        ])
    );
    assert_eq!(
        json["userChanges"][0],
        serde_json::json!({
            "accountId": "ada", "displayName": "Ada Lovelace", "email": "ada@acme.com", "status": "updated",
            "groupsAdded": [{"groupId": "g-contractors", "name": "Contractors"}], "groupsRemoved": [],
            "appAccessRemoved": [{"appType": "confluence", "appName": "Confluence", "siteId": "site-1", "siteName": "acme"}],
            "suspended": true, "restored": false, "failures": [],
            "userBrowserUrl": format!("{PUBLIC_URL}/users?accountId=ada"),
        })
    );
    assert!(json["startedAt"].as_str().unwrap().ends_with('Z'));

    // The run is found by the users it touched, not by those it skipped.
    let touched =
        f.service.runs(&RunFilter { account_id: Some(AccountId::from("ada")), ..RunFilter::default() }).await.unwrap();
    assert_eq!(touched.len(), 1);
    let skipped =
        f.service.runs(&RunFilter { account_id: Some(AccountId::from("dee")), ..RunFilter::default() }).await.unwrap();
    assert!(skipped.is_empty());
    let task = f.service.task(&task.task_id).await.unwrap();
    assert_eq!(task.last_process_id, Some(run.process_id.clone()));

    // The users `userChanges` leaves out are there too, item by item.
    let skipped = f.service.run_users(&run.process_id, Some(ChangeStatus::Skipped), None, 10).await.unwrap();
    assert_eq!(skipped.users.len(), 1);
    let dee = &skipped.users[0];
    assert_eq!((dee.result.account_id.as_str(), dee.status), ("dee", ChangeStatus::Skipped));
    assert_eq!(dee.result.items.len(), 3, "one item per action");
    assert!(dee.result.items.iter().all(|i| i.outcome == model::run::ItemOutcome::Skipped
        && i.reason.as_deref() == Some(model::run::ORG_ADMIN_SKIP_REASON)));
    let all = f.service.run_users(&run.process_id, None, None, 2).await.unwrap();
    assert_eq!(all.users.len(), 2);
    let rest = f.service.run_users(&run.process_id, None, all.next_cursor.as_deref(), 10).await.unwrap();
    assert_eq!(rest.users.len(), 3);
    assert_eq!(rest.next_cursor, None);

    // Renamed since: the record keeps the name of its time and adds the current one.
    let mut renamed = crate::organization();
    renamed.users.clear();
    renamed.groups.retain(|g| g.group_id.as_str() == "g-contractors");
    renamed.groups[0].name = "External staff".into();
    f.db.store.import_directory(&renamed, &|_| {}).await.unwrap();
    let record = f.service.run_record(&run.process_id, None, 1).await.unwrap();
    let added = serde_json::to_value(&record.user_changes[0].groups_added).unwrap();
    assert_eq!(
        added,
        serde_json::json!([{"groupId": "g-contractors", "name": "Contractors", "currentName": "External staff"}])
    );
}

async fn restore_and_remove_from_groups(db: TestDb) {
    let f = Fixture::new(db).await;
    let actions = vec![
        Action::RestoreUsers,
        Action::RemoveFromGroups { group_ids: vec!["confluence-users".into(), "g-jira".into()] },
    ];
    let task = f.service.create_task(&f.input("Restore", actions, Schedule::default()), "test").await.unwrap();
    let run = f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    f.service.execute(&run, &|_| {}).await;
    let record = f.service.run_record(&run.process_id, None, 100).await.unwrap();
    let bob = record.user_changes.iter().find(|c| c.account_id.as_str() == "bob").unwrap();
    assert!(bob.restored);
    assert_eq!(bob.groups_removed.len(), 1);
    assert_eq!(record.run.summary.users_restored, 1);
    assert_eq!(record.run.summary.groups_removed, 3, "ada leaves two groups, bob one");
    assert_eq!(f.user("bob").await.status, UserStatus::Active);
    assert!(f.user("ada").await.app_access.is_empty());
    // Restore: Ada was active (unchanged), Cid is deactivated (failed, with the reason).
    let ada = record.user_changes.iter().find(|c| c.account_id.as_str() == "ada").unwrap();
    assert!(!ada.restored && ada.failures.is_empty());
    let cid = record.user_changes.iter().find(|c| c.account_id.as_str() == "cid").unwrap();
    assert_eq!(cid.failures[0].reason, "only a suspended user can be restored; the user's account is deactivated");
    assert_eq!(record.run.summary.users_skipped, 1, "the org admin");
}

async fn a_gone_filter_is_a_top_level_failure(db: TestDb) {
    let f = Fixture::new(db).await;
    let task = f.service.create_task(&f.input("T", three_actions(), Schedule::default()), "test").await.unwrap();
    // A filter in use cannot be deleted…
    let refused = f.db.store.delete_saved_filter(&f.everyone).await.unwrap_err();
    assert!(refused.to_string().contains("used by the task(s) `T`"), "{refused}");
    // …but a run can still find it gone (say the task was pointed at one that went since).
    let run = f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    let mut pointed = f.service.task(&task.task_id).await.unwrap();
    pointed.filter_id = "deleted-meanwhile".into();
    f.db.store.update_task(&pointed).await.unwrap();
    f.db.store.delete_saved_filter(&f.everyone).await.unwrap();
    assert_eq!(f.service.execute(&run, &|_| {}).await, RunOutcome::Failure);
    let record = f.service.run_record(&run.process_id, None, 10).await.unwrap();
    assert_eq!(record.run.outcome, Some(RunOutcome::Failure));
    assert!(record.run.error.as_deref().unwrap().contains("no longer exists"), "{:?}", record.run.error);
    assert_eq!(f.user("ada").await.status, UserStatus::Active, "nothing changed");
    // Starting another now is refused with the reason.
    let again = f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap_err();
    assert!(matches!(again, TaskError::Conflict(ref m) if m.contains("no longer exists")), "{again}");
}

async fn an_unreachable_directory_is_a_top_level_failure(db: TestDb) {
    let f = Fixture::new(db).await;
    let flaky = std::sync::Arc::new(crate::FlakyDirectory {
        down: true.into(),
        delay_ms: 0.into(),
        ..crate::FlakyDirectory::new(f.directory.clone())
    });
    let service = tasks::TaskService::new(
        f.db.store.clone(),
        flaky,
        std::sync::Arc::new(f.clock.clone()),
        TaskSettings { public_url: PUBLIC_URL.into(), ..TaskSettings::default() },
    );
    let task = service.create_task(&f.input("T", three_actions(), Schedule::default()), "test").await.unwrap();
    let run = service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    assert_eq!(service.execute(&run, &|_| {}).await, RunOutcome::Failure);
    let record = service.run_record(&run.process_id, None, 10).await.unwrap();
    assert_eq!(
        record.run.error.as_deref(),
        Some("the directory could not be reached during the run (the details are in the server log)")
    );
    assert!(record.user_changes.is_empty(), "no answer, no result");
    assert_eq!(f.user("ada").await.status, UserStatus::Active);
}

async fn never_two_runs_of_one_task(db: TestDb) {
    let f = Fixture::new(db).await;
    let task = f.service.create_task(&f.input("T", three_actions(), Schedule::default()), "test").await.unwrap();
    let first = f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    let second = f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap_err();
    assert!(matches!(second, TaskError::Conflict(ref m) if m.contains("only one runs at a time")), "{second}");
    // Another process is refused by the database too.
    let other = f.second_process().await;
    assert!(matches!(other.start_task_run(&task.task_id, &by_hand()).await, Err(TaskError::Conflict(_))));
    f.service.execute(&first, &|_| {}).await;
    f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
}

async fn preview_changes_nothing(db: TestDb) {
    let f = Fixture::new(db).await;
    let task = f.service.create_task(&f.input("T", three_actions(), Schedule::default()), "test").await.unwrap();
    let preview = f.service.preview_task(&task.task_id, 10).await.unwrap();
    assert_eq!(preview.would_change, 2);
    assert_eq!(preview.summary.users_suspended, 1);
    assert_eq!(preview.user_changes.len(), 4);
    assert_eq!(preview.limit, None);
    assert_eq!(f.user("ada").await.status, UserStatus::Active);
    assert!(f.service.runs(&RunFilter::default()).await.unwrap().is_empty(), "a preview is not a run");
}

async fn over_the_limit_by_hand_needs_confirmation(db: TestDb) {
    let f = Fixture::new(db).await;
    let mut input = f.input("T", three_actions(), Schedule::default());
    input.execution_limit = Some(ExecutionLimit { max_users: Some(1), max_percent: None });
    let task = f.service.create_task(&input, "test").await.unwrap();
    let refused = f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap_err();
    assert!(matches!(refused, TaskError::OverLimit { would_change: 2, limit: 1 }), "{refused}");
    assert!(f.service.runs(&RunFilter::default()).await.unwrap().is_empty());
    let run =
        f.service.start_task_run(&task.task_id, &RunStart { started_by: "test".into(), confirm: true }).await.unwrap();
    assert_eq!(f.service.execute(&run, &|_| {}).await, RunOutcome::Success);
    // The installation-wide limit applies too (as a share: 20 % of 5 users is 1).
    f.db.store.set_execution_limit(&ExecutionLimit { max_users: None, max_percent: Some(20.0) }).await.unwrap();
    let bulk = BulkInput {
        name: None,
        // Ada and Bob joined Contractors above: two users would change.
        actions: vec![Action::RemoveFromGroups { group_ids: vec!["g-contractors".into()] }],
        account_ids: None,
        filter: Some(Default::default()),
        confirm: false,
    };
    assert!(matches!(f.service.start_bulk(&bulk, "test").await, Err(TaskError::OverLimit { limit: 1, .. })));
}

async fn bulk_operations_by_id_and_by_filter(db: TestDb) {
    let f = Fixture::new(db).await;
    let input = BulkInput {
        name: None,
        actions: vec![Action::SuspendUsers],
        account_ids: Some(vec!["ada".into(), "dee".into(), "ada".into()]),
        filter: None,
        confirm: false,
    };
    let run = f.service.start_bulk(&input, "test").await.unwrap();
    assert_eq!(f.service.execute(&run, &|_| {}).await, RunOutcome::Success);
    let record = f.service.run_record(&run.process_id, None, 10).await.unwrap();
    assert_eq!(record.run.source, RunSource::BulkOperation);
    assert_eq!(record.run.task_id, None);
    assert_eq!(record.run.name, "Bulk operation: suspendUsers");
    assert_eq!(
        (record.run.summary.users_matched, record.run.summary.users_skipped, record.run.summary.users_suspended),
        (2, 1, 1)
    );
    assert_eq!(f.user("dee").await.status, UserStatus::Active, "org admins are protected in bulk too");
    assert_eq!(record.run.deep_link, format!("{PUBLIC_URL}/tasks?processId={}", run.process_id));

    let by_filter = BulkInput {
        name: Some("Join Jira".into()),
        actions: vec![Action::AddToGroups { group_ids: vec!["jira-users".into()] }],
        account_ids: None,
        filter: Some(model::filter::UserFilter { statuses: vec!["suspended".into()], ..Default::default() }),
        confirm: false,
    };
    let run = f.service.start_bulk(&by_filter, "test").await.unwrap();
    f.service.execute(&run, &|_| {}).await;
    let record = f.service.run_record(&run.process_id, None, 10).await.unwrap();
    let ids: Vec<&str> = record.user_changes.iter().map(|c| c.account_id.as_str()).collect();
    // Ada (suspended above) matches too, but is in the group already: unchanged.
    assert_eq!(ids, vec!["bob"]);
    assert_eq!((record.run.summary.users_matched, record.run.summary.users_unchanged), (2, 1));

    let bad = BulkInput {
        filter: Some(model::filter::UserFilter { groups: vec!["Contractrs".into()], ..Default::default() }),
        ..by_filter.clone()
    };
    let TaskError::Invalid(problems) = f.service.start_bulk(&bad, "test").await.unwrap_err() else { panic!() };
    assert_eq!(problems[0].field, "filter.groups");
    assert_eq!(problems[0].suggestions, vec!["Contractors"]);
    let typo = BulkInput { account_ids: Some(vec!["ada".into(), "adaa".into()]), filter: None, ..by_filter.clone() };
    let TaskError::Invalid(problems) = f.service.start_bulk(&typo, "test").await.unwrap_err() else { panic!() };
    assert_eq!(
        (problems[0].field.as_str(), problems[0].message.as_str()),
        ("accountIds[1]", "no user has this account id")
    );
    let both = BulkInput { account_ids: Some(vec!["ada".into()]), ..by_filter };
    assert!(matches!(f.service.start_bulk(&both, "test").await, Err(TaskError::Invalid(_))));
}

async fn user_changes_page_with_a_cursor(db: TestDb) {
    let f = Fixture::new(db).await;
    let task = f.service.create_task(&f.input("T", three_actions(), Schedule::default()), "test").await.unwrap();
    let run = f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    f.service.execute(&run, &|_| {}).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = f.service.run_record(&run.process_id, cursor.as_deref(), 3).await.unwrap();
        assert_eq!(page.run.summary.total_user_changes, 4, "the summary stays whole on every page");
        seen.extend(page.user_changes.iter().map(|c| c.account_id.0.clone()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, vec!["ada", "bob", "cid", "eve"]);
    let export = streamed_export(&f.service, &run.process_id).await;
    assert_eq!(export["userChanges"].as_array().unwrap().len(), 4);
    assert_eq!(export["nextCursor"], serde_json::Value::Null);
    let missing = f.service.run_record(&ProcessId::from("nope"), None, 10).await.unwrap_err();
    assert!(matches!(missing, TaskError::NotFound(_)));
}

async fn a_run_can_be_cancelled(db: TestDb) {
    let settings = TaskSettings { public_url: PUBLIC_URL.into(), chunk_size: 1, ..TaskSettings::default() };
    let f = Fixture::with_settings(db, settings).await;
    let task = f.service.create_task(&f.input("T", three_actions(), Schedule::default()), "test").await.unwrap();
    let run = f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    f.service.cancel(&run.process_id, "ops@acme.com").await.unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    assert_eq!(f.service.execute(&run, &|p| seen.lock().unwrap().push(p.done)).await, RunOutcome::Failure);
    let record = f.service.run_record(&run.process_id, None, 10).await.unwrap();
    // Asked before it began: it stops before its first change.
    assert_eq!(record.run.error.as_deref(), Some("cancelled by ops@acme.com before it changed anything"));
    assert_eq!(f.user("ada").await.status, UserStatus::Active);
    assert!(seen.lock().unwrap().is_empty());

    // Asked while it runs (from the progress callback, after the first user): what was done
    // before the cancel is recorded.
    let run = f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    let (store, id) = (f.db.store.clone(), run.process_id.clone());
    let handle = tokio::runtime::Handle::current();
    let cancel_once = std::sync::Once::new();
    let outcome = f
        .service
        .execute(&run, &|p| {
            if p.done == 1 {
                cancel_once.call_once(|| {
                    let (store, id) = (store.clone(), id.clone());
                    tokio::task::block_in_place(|| {
                        handle.block_on(async move { store.request_run_cancel(&id, "ops@acme.com").await.unwrap() })
                    });
                });
            }
        })
        .await;
    assert_eq!(outcome, RunOutcome::Failure);
    let record = f.service.run_record(&run.process_id, None, 10).await.unwrap();
    assert_eq!(record.run.error.as_deref(), Some("cancelled by ops@acme.com after 1 of 5 users"));
    assert_eq!((record.run.progress.done, record.run.summary.users_matched), (1, 1));
    assert_eq!(f.user("ada").await.status, UserStatus::Suspended, "the first user (ada) was done");
    assert_eq!(f.user("bob").await.groups.len(), 1, "the second was not");
    assert!(matches!(f.service.cancel(&run.process_id, "x").await, Err(TaskError::Conflict(_))));
}

async fn validation_lists_every_problem(db: TestDb) {
    let f = Fixture::new(db).await;
    let mut input = f.input(
        "  ",
        vec![],
        Schedule { kind: ScheduleKind::Cron { expr: "99 * * * *".into() }, time_zone: "Europe/Berln".into() },
    );
    input.filter_id = "everyon".into();
    let TaskError::Invalid(problems) = f.service.create_task(&input, "test").await.unwrap_err() else { panic!() };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, vec!["name", "filterId", "actions", "schedule.timeZone"]);
    assert_eq!(problems[1].suggestions, vec!["everyone"]);

    let input = f.input(
        "T",
        vec![
            Action::AddToGroups { group_ids: vec!["contractor".into()] },
            Action::RemoveAppAccess { apps: vec![], all: false },
        ],
        Schedule { kind: ScheduleKind::Cron { expr: "99 * * * *".into() }, time_zone: "UTC".into() },
    );
    let TaskError::Invalid(problems) = f.service.create_task(&input, "test").await.unwrap_err() else { panic!() };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, vec!["actions[0].groupIds[0]", "actions[1].apps", "schedule.expr"]);
    assert_eq!(problems[0].suggestions, vec!["Contractors"]);
}

async fn a_dead_run_does_not_block_its_task(db: TestDb) {
    let f = Fixture::new(db).await;
    let task = f.service.create_task(&f.input("T", three_actions(), Schedule::default()), "test").await.unwrap();
    // Started by a process that then died (a killed `ucm tasks run`), with no scheduler about.
    let dead = f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    assert!(matches!(f.service.start_task_run(&task.task_id, &by_hand()).await, Err(TaskError::Conflict(_))));
    f.clock.advance(jiff::SignedDuration::from_secs(61));
    let next = f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    let record = f.service.run_record(&dead.process_id, None, 10).await.unwrap();
    assert_eq!(record.run.outcome, Some(RunOutcome::Failure));
    assert!(record.run.error.unwrap().starts_with("interrupted"));
    assert_eq!(f.service.execute(&next, &|_| {}).await, RunOutcome::Success);
}

async fn concurrent_runs_on_the_same_users_both_finish(db: TestDb) {
    let settings = TaskSettings { public_url: PUBLIC_URL.into(), chunk_size: 1, ..TaskSettings::default() };
    let f = Fixture::with_settings(db, settings).await;
    let task = f.service.create_task(&f.input("T", three_actions(), Schedule::default()), "test").await.unwrap();
    let other = f.second_process().await;
    let bulk = BulkInput {
        name: None,
        actions: vec![Action::RemoveFromGroups { group_ids: vec!["g-jira".into()] }, Action::SuspendUsers],
        account_ids: Some(vec!["ada".into(), "bob".into(), "eve".into()]),
        filter: None,
        confirm: true,
    };
    let a = f.service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    let b = other.start_bulk(&bulk, "test").await.unwrap();
    // Two runs writing to the same users at once, from two pools: neither fails on a lock.
    let (x, y) = tokio::join!(f.service.execute(&a, &|_| {}), other.execute(&b, &|_| {}));
    assert_eq!((x, y), (RunOutcome::Success, RunOutcome::Success));
    let first = f.service.run_record(&a.process_id, None, 10).await.unwrap();
    let second = f.service.run_record(&b.process_id, None, 10).await.unwrap();
    // Ada is suspended once: by exactly one of the two runs.
    assert_eq!(first.run.summary.users_suspended + second.run.summary.users_suspended, 1);
    assert_eq!(f.user("ada").await.status, UserStatus::Suspended);
}

async fn editing_a_task_keeps_its_interval_grid(db: TestDb) {
    let f = Fixture::new(db).await;
    let every_6h = Schedule { kind: ScheduleKind::Interval { every: "6h".into() }, time_zone: "UTC".into() };
    let task = f.service.create_task(&f.input("T", three_actions(), every_6h.clone()), "test").await.unwrap();
    assert_eq!(task.next_run_at, Some(crate::at("2026-11-28T18:00:00Z")));
    f.clock.advance(jiff::SignedDuration::from_hours(1));
    let renamed =
        f.service.update_task(&task.task_id, &f.input("Renamed", three_actions(), every_6h), "test").await.unwrap();
    assert_eq!(renamed.next_run_at, task.next_run_at, "a rename does not move the schedule");
    let every_2h = Schedule { kind: ScheduleKind::Interval { every: "2h".into() }, time_zone: "UTC".into() };
    let changed =
        f.service.update_task(&task.task_id, &f.input("Renamed", three_actions(), every_2h), "test").await.unwrap();
    assert_eq!(changed.next_run_at, Some(crate::at("2026-11-28T15:00:00Z")), "a new schedule counts from now");
    // A one-off in the past is refused, by field.
    let past = Schedule { kind: ScheduleKind::Once { at: "2026-11-01T09:00".into() }, time_zone: "UTC".into() };
    let TaskError::Invalid(problems) =
        f.service.create_task(&f.input("Old", three_actions(), past), "test").await.unwrap_err()
    else {
        panic!()
    };
    assert_eq!(problems[0].field, "schedule.at");
}

async fn the_streamed_export_is_the_whole_record(db: TestDb) {
    let org = directory::demo::organization(2_500, crate::at("2026-11-28T12:00:00Z"), 1);
    db.store.import_directory(&org, &|_| {}).await.unwrap();
    let clock = model::clock::ManualClock::new(crate::at("2026-11-28T12:00:00Z"));
    let directory =
        std::sync::Arc::new(directory::LocalDirectory::new(db.store.clone(), std::sync::Arc::new(clock.clone())));
    let settings = TaskSettings { public_url: PUBLIC_URL.into(), ..TaskSettings::default() };
    let service = tasks::TaskService::new(db.store.clone(), directory, std::sync::Arc::new(clock), settings);
    let bulk = BulkInput {
        name: None,
        actions: vec![Action::SuspendUsers],
        account_ids: None,
        filter: Some(model::filter::UserFilter { statuses: vec!["active".into()], ..Default::default() }),
        confirm: true,
    };
    let run = service.start_bulk(&bulk, "test").await.unwrap();
    service.execute(&run, &|_| {}).await;
    // The reference: the record read page by page, every userChanges entry gathered.
    let mut whole = service.run_record(&run.process_id, None, tasks::MAX_PAGE).await.unwrap();
    let mut cursor = whole.next_cursor.take();
    while let Some(after) = cursor {
        let mut page = service.run_record(&run.process_id, Some(&after), tasks::MAX_PAGE).await.unwrap();
        whole.user_changes.append(&mut page.user_changes);
        cursor = page.next_cursor;
    }
    assert!(whole.user_changes.len() > tasks::MAX_PAGE as usize, "more than one page: {}", whole.user_changes.len());
    let mut export = service.export(&run.process_id).await.unwrap();
    let mut text = Vec::new();
    let mut pieces = 0;
    while let Some(chunk) = export.next_chunk().await.unwrap() {
        text.extend(chunk);
        pieces += 1;
    }
    assert!(pieces >= 4, "head, two pages, tail: {pieces}");
    let streamed: serde_json::Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(streamed, serde_json::to_value(&whole).unwrap());
}

/// A run's export, parsed.
async fn streamed_export(service: &tasks::TaskService, id: &ProcessId) -> serde_json::Value {
    let mut export = service.export(id).await.unwrap();
    let mut text = Vec::new();
    while let Some(chunk) = export.next_chunk().await.unwrap() {
        text.extend(chunk);
    }
    serde_json::from_slice(&text).unwrap()
}

async fn a_shutdown_lets_runs_finish_or_cancels_them(db: TestDb) {
    let f = Fixture::new(db).await;
    let slow = std::sync::Arc::new(crate::FlakyDirectory {
        down: false.into(),
        delay_ms: 400.into(),
        ..crate::FlakyDirectory::new(f.directory.clone())
    });
    let settings = TaskSettings { public_url: PUBLIC_URL.into(), chunk_size: 1, ..TaskSettings::default() };
    let service = tasks::TaskService::new(f.db.store.clone(), slow, std::sync::Arc::new(f.clock.clone()), settings);
    let task = service.create_task(&f.input("T", three_actions(), Schedule::default()), "test").await.unwrap();
    let run = service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    let id = run.process_id.clone();
    service.spawn(run).await;
    // Too short for the run (two slow users): it is asked to stop, and ends as cancelled.
    service.shutdown(std::time::Duration::from_millis(100), std::time::Duration::from_secs(30)).await;
    let record = service.run_record(&id, None, 10).await.unwrap();
    assert_eq!(record.run.state, RunState::Finished);
    assert!(
        record.run.error.as_deref().unwrap().starts_with("cancelled by the server stopping after"),
        "{:?}",
        record.run.error
    );

    // With time enough, a run simply finishes.
    let fast = tasks::TaskService::new(
        f.db.store.clone(),
        f.directory.clone(),
        std::sync::Arc::new(f.clock.clone()),
        TaskSettings::default(),
    );
    let run = fast.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    let id = run.process_id.clone();
    fast.spawn(run).await;
    fast.shutdown(std::time::Duration::from_secs(30), std::time::Duration::from_secs(30)).await;
    assert_eq!(fast.run_record(&id, None, 10).await.unwrap().run.outcome, Some(RunOutcome::Success));
}

/// A panic inside a run (a bug in a directory client, say) ends that run as a failure with an
/// internal error, its outcome recorded and its webhook queued; the service runs the next one.
async fn a_run_that_panics_ends_as_an_internal_error(db: TestDb) {
    let f = Fixture::new(db).await;
    let crashing = std::sync::Arc::new(crate::FlakyDirectory {
        down: false.into(),
        delay_ms: u64::MAX.into(),
        ..crate::FlakyDirectory::new(f.directory.clone())
    });
    let settings = TaskSettings {
        public_url: PUBLIC_URL.into(),
        run_lease: jiff::SignedDuration::from_millis(300),
        ..TaskSettings::default()
    };
    let service =
        tasks::TaskService::new(f.db.store.clone(), crashing.clone(), std::sync::Arc::new(f.clock.clone()), settings);
    let task = service.create_task(&f.input("T", three_actions(), Schedule::default()), "test").await.unwrap();
    let run = service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    let id = run.process_id.clone();
    service.spawn(run).await;
    service.shutdown(std::time::Duration::from_secs(30), std::time::Duration::from_secs(30)).await;
    let record = service.run_record(&id, None, 10).await.unwrap();
    assert_eq!((record.run.state, record.run.outcome), (RunState::Finished, Some(RunOutcome::Failure)));
    let error = record.run.error.unwrap();
    assert!(error.starts_with("internal error"), "{error}");
    assert!(!error.contains("crashed"), "the panic's message stays in the log: {error}");
    assert!(service.close_interrupted().await.unwrap().is_empty(), "the run was closed, not left to lapse");

    crashing.delay_ms.store(0, std::sync::atomic::Ordering::SeqCst);
    let run = service.start_task_run(&task.task_id, &by_hand()).await.unwrap();
    let next = run.process_id.clone();
    service.spawn(run).await;
    service.shutdown(std::time::Duration::from_secs(30), std::time::Duration::from_secs(30)).await;
    assert_eq!(service.run_record(&next, None, 10).await.unwrap().run.outcome, Some(RunOutcome::Success));
}
