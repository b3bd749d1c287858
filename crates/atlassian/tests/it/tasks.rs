//! A task run against a connected organization, end to end: synced before it runs, its
//! changes made in the organization and recorded per user; an expired key stops the next run
//! with a message that says what to do, and the key's expiry fires `orgKeyExpiry` once per date.

use std::sync::Arc;
use std::time::Duration;

use atlassian::simulator::{SimOrg, SimSettings, Simulator};
use atlassian::{ConnectInput, OrgDirectory, OrgSettings, Organization};
use directory::{Directory, LocalDirectory};
use model::clock::{Clock, ManualClock};
use model::filter::UserFilter;
use model::run::RunOutcome;
use model::task::{Action, AppTarget, Schedule};
use tasks::{RunStart, TaskInput, TaskService, TaskSettings};
use testkit::{TestDb, backend_tests};

use crate::{KEY, now};

backend_tests!(a_task_changes_the_organization_and_an_expired_key_stops_it);

async fn a_task_changes_the_organization_and_an_expired_key_stops_it(db: TestDb) {
    let sim = Simulator::new(SimOrg::generate(60, now(), 33), SimSettings::new(KEY));
    let address = sim.start().await.unwrap();
    let clock = ManualClock::new(now());
    let http = webhooks::GuardedClient::new(
        webhooks::AddressPolicy::parse(&["127.0.0.0/8".to_owned()]).unwrap(),
        webhooks::Timeouts::default(),
    )
    .unwrap();
    let organization = Organization::new(
        db.store.clone(),
        http,
        webhooks::SealingKey::from_base64(&webhooks::SealingKey::generate()).unwrap(),
        Arc::new(clock.clone()),
        OrgSettings { api_base: format!("http://{address}"), min_interval: Duration::ZERO },
    );
    let connect = |expires: &str| ConnectInput {
        api_key: KEY.to_owned(),
        key_expires: expires.parse().unwrap(),
        key_name: Some("ucm sync key".to_owned()),
        org_id: None,
        directory_id: None,
    };
    let connection = organization.connect(&connect("2026-12-05"), "test").await.unwrap();
    let local = LocalDirectory::new(db.store.clone(), Arc::new(clock.clone()));
    let directory: Arc<dyn Directory> = Arc::new(OrgDirectory::new(local, organization.clone()).await.unwrap());
    assert_eq!(directory.backend(), "atlassian");
    let service = TaskService::new(
        db.store.clone(),
        directory.clone(),
        Arc::new(clock.clone()),
        TaskSettings { public_url: "http://ucm.test".to_owned(), ..TaskSettings::default() },
    );

    directory.sync().await.unwrap();
    let filter = UserFilter { apps: vec!["Confluence".to_owned()], ..UserFilter::default() };
    let filter = db.store.create_saved_filter("Confluence users", &filter, clock.now()).await.unwrap();
    let input = TaskInput {
        name: "Remove Confluence".to_owned(),
        filter_id: filter.filter_id,
        actions: vec![Action::RemoveAppAccess {
            apps: vec![AppTarget { app_type: "confluence".into(), site_id: None }],
            all: false,
        }],
        schedule: Schedule::default(),
        active: true,
        execution_limit: None,
    };
    let task = service.create_task(&input, "test").await.unwrap();
    // Someone joins the organization and a Confluence group after the sync: the run's own sync,
    // before it plans, sees them.
    let joined = {
        let mut org = sim.org();
        let groups: Vec<String> = org
            .groups
            .iter()
            .filter(|g| g.modifiable && g.grants.iter().any(|(product, _)| product == "confluence"))
            .map(|g| g.id.clone())
            .collect();
        let user = atlassian::simulator::SimUser {
            account_id: "712020:new-joiner".to_owned(),
            name: "New Joiner".to_owned(),
            email: "new.joiner@acme.com".to_owned(),
            account_status: "active",
            membership_status: "active",
            added_to_org: now(),
            org_admin: false,
            groups: [groups[0].clone()].into(),
            last_active: Default::default(),
        };
        org.users.insert(user.account_id.clone(), user);
        "712020:new-joiner".to_owned()
    };
    let start = RunStart { started_by: "test".to_owned(), confirm: true };
    let run = service.start_task_run(&task.task_id, &start).await.unwrap();
    assert_eq!(service.execute(&run, &|_| {}).await, RunOutcome::Success);
    let record = service.run_record(&run.process_id, None, 500).await.unwrap();
    assert!(record.user_changes.iter().any(|c| c.account_id.as_str() == joined), "planned from fresh data");
    let admins = sim.org().users.values().filter(|u| u.org_admin).count() as u64;
    assert!(record.run.summary.users_updated > 0, "{:?}", record.run.summary);
    {
        let org = sim.org();
        let confluence_groups: Vec<&str> = org
            .groups
            .iter()
            .filter(|g| g.grants.iter().any(|(product, _)| product == "confluence"))
            .map(|g| g.id.as_str())
            .collect();
        let still: Vec<&str> = org
            .users
            .values()
            .filter(|u| u.groups.iter().any(|g| confluence_groups.contains(&g.as_str())))
            .map(|u| u.account_id.as_str())
            .collect();
        assert!(still.len() as u64 <= admins, "only organization admins keep Confluence: {still:?}");
    }
    let confluence = UserFilter { apps: vec!["Confluence".into()], ..UserFilter::default() };
    let left = directory.matching_account_ids(&confluence).await.unwrap();
    assert!(left.len() as u64 <= admins, "the mirror agrees at once");

    // The key expires within a week: orgKeyExpiry once for that date, again once renewed.
    let week = clock.now().checked_add(jiff::SignedDuration::from_hours(24 * 7)).unwrap();
    let noticed = db.store.notice_key_expiries(clock.now(), week, "http://ucm.test").await.unwrap();
    assert_eq!(noticed, vec![model::ids::ApiKeyId(connection.connection_id.clone())]);
    assert!(db.store.notice_key_expiries(clock.now(), week, "http://ucm.test").await.unwrap().is_empty());

    // Past the expiry date: the next run stops before it changes anything, and says why.
    clock.advance(jiff::SignedDuration::from_hours(24 * 8));
    let run = service.start_task_run(&task.task_id, &start).await.unwrap();
    assert_eq!(service.execute(&run, &|_| {}).await, RunOutcome::Failure);
    let error = service.run_record(&run.process_id, None, 10).await.unwrap().run.error.unwrap();
    assert!(error.contains("expired on 2026-12-05") && error.contains("API keys"), "{error}");

    let renewed = organization.connect(&connect("2026-12-12"), "test").await.unwrap();
    let week = clock.now().checked_add(jiff::SignedDuration::from_hours(24 * 7)).unwrap();
    let noticed = db.store.notice_key_expiries(clock.now(), week, "http://ucm.test").await.unwrap();
    assert_eq!(noticed, vec![model::ids::ApiKeyId(renewed.connection_id)], "a renewed key fires again");
}
