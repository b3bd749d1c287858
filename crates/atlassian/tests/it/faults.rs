//! Rate limits and faults: 429s (every few calls, or a per-second limit) and 500s are waited
//! out and tried again; nothing is lost or failed because of a refusal that later cleared.

use std::collections::BTreeSet;
use std::time::Duration;

use model::run::{Applied, Change, Op};
use testkit::{TestDb, backend_tests};

use crate::{KEY, client, simulator};

backend_tests!(
    a_sync_through_429s_and_500s_reads_everything,
    actions_through_a_rate_limit_all_succeed,
    a_sync_cut_off_midway_resumes_where_it_stopped,
    syncs_of_two_processes_take_turns,
    a_sync_and_actions_at_once_share_one_limit
);

async fn a_sync_through_429s_and_500s_reads_everything(db: TestDb) {
    let (sim, base) = simulator(250).await;
    {
        let mut settings = sim.settings();
        settings.rate_limit_every = Some(4);
        settings.fail_every = Some(7);
    }
    let (org_id, directory_id) = {
        let org = sim.org();
        (org.org_id.clone(), org.directory_id.clone())
    };
    let client = client(&base, KEY);
    let fetched = atlassian::sync::fetch(&client, &org_id, &directory_id, &|_| {}).await.unwrap();
    let stats = client.stats();
    assert!(stats.rate_limited > 0 && stats.retried > stats.rate_limited, "{stats:?}");
    db.store
        .replace_directory(&fetched.import, &fetched.app_types, &fetched.unmodifiable_groups, &|_| {})
        .await
        .unwrap();
    assert_eq!(db.store.count_users().await.unwrap(), 250, "no page lost");
    let synced: BTreeSet<String> = fetched.import.users.iter().map(|u| u.account_id.0.clone()).collect();
    let expected: BTreeSet<String> = sim.org().users.keys().cloned().collect();
    assert_eq!(synced, expected);
}

async fn actions_through_a_rate_limit_all_succeed(db: TestDb) {
    let (sim, organization) = crate::actions::connected(&db, 40).await;
    // Five calls a second; the client paces itself by the headers and waits out what slips.
    sim.settings().requests_per_second = Some(5);
    let changes: Vec<Change> = {
        let org = sim.org();
        org.users
            .values()
            .filter(|u| u.status() == "active" && !u.org_admin)
            .take(12)
            .map(|u| Change { account_id: u.account_id.as_str().into(), op: Op::Suspend })
            .collect()
    };
    let started = std::time::Instant::now();
    let answers = organization.apply(&changes).await.unwrap();
    assert_eq!(answers, vec![Applied::Changed; changes.len()]);
    assert!(started.elapsed() >= Duration::from_secs(1), "paced, not all at once");
    let org = sim.org();
    assert!(changes.iter().all(|c| org.users[c.account_id.as_str()].membership_status == "suspended"));
}

/// An outage in the middle of the users: the sync fails and says so, the mirror stays as the
/// last sync left it (no user deleted because a page failed), and the next sync goes on from
/// the last page read instead of reading everything again.
async fn a_sync_cut_off_midway_resumes_where_it_stopped(db: TestDb) {
    let (sim, organization) = crate::actions::connected(&db, 450).await;
    let full = organization.status().await.unwrap().unwrap().last_sync.unwrap();
    let before = db.store.count_users().await.unwrap();
    assert_eq!(before, 450);
    // Some people leave; a sync that fails must not drop anyone, the next one drops them.
    sim.org().users.retain(|_, u| !u.account_id.ends_with('7') || u.org_admin);
    let cut = {
        let sim = sim.clone();
        move |progress: atlassian::SyncProgress| {
            if progress.users >= 200 {
                sim.settings().down = true;
            }
        }
    };
    let error = organization.sync(&cut).await.unwrap_err().to_string();
    assert!(error.contains("503"), "{error}");
    assert_eq!(db.store.count_users().await.unwrap(), before, "the mirror is as the last sync left it");
    let status = organization.status().await.unwrap().unwrap();
    assert!(status.last_sync_error.as_deref().is_some_and(|e| e.contains("503")), "{status:?}");

    sim.settings().down = false;
    let resumed = organization.sync(&|_| {}).await.unwrap();
    let expected: BTreeSet<String> = sim.org().users.keys().cloned().collect();
    assert_eq!(resumed.users, expected.len() as u64);
    assert!(resumed.calls < full.calls / 2, "went on from page 3 of users: {resumed:?} against {full:?}");
    let ids: Vec<model::ids::AccountId> = expected.iter().map(|id| id.as_str().into()).collect();
    assert_eq!(db.store.users_by_id(&ids).await.unwrap().len(), expected.len());
    assert_eq!(db.store.count_users().await.unwrap(), expected.len() as u64, "the mirror is the organization now");
    assert_eq!(organization.status().await.unwrap().unwrap().last_sync_error, None);
    // Nothing is kept once a sync succeeded: the next one reads from the start.
    let again = organization.sync(&|_| {}).await.unwrap();
    assert!(again.calls >= full.calls - 1, "{again:?} against {full:?}");
}

/// Two processes syncing at once: one waits for the other instead of both writing the mirror
/// and the kept pages at the same time.
async fn syncs_of_two_processes_take_turns(db: TestDb) {
    let (sim, base) = simulator(250).await;
    let (here, elsewhere) = (crate::actions::process(&db, &base), crate::actions::process(&db, &base));
    let input = atlassian::ConnectInput {
        api_key: KEY.to_owned(),
        key_expires: "2027-06-30".parse().unwrap(),
        key_name: None,
        org_id: None,
        directory_id: None,
    };
    here.connect(&input, "test").await.unwrap();
    let calls_before = sim.calls().0;
    let (a, b) = tokio::join!(here.sync(&|_| {}), elsewhere.sync(&|_| {}));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.users, b.users), (250, 250));
    assert_eq!(sim.calls().0 - calls_before, a.calls + b.calls, "each read the organization once, in turn");
    assert_eq!(db.store.count_users().await.unwrap(), 250);
}

/// A sync and a batch of actions at the same time keep to the organization's limit together:
/// one limiter per organization in a process, not one per caller.
async fn a_sync_and_actions_at_once_share_one_limit(db: TestDb) {
    let (sim, base) = simulator(30).await;
    let organization = crate::actions::process_paced(&db, &base, Duration::from_millis(250));
    let input = atlassian::ConnectInput {
        api_key: KEY.to_owned(),
        key_expires: "2027-06-30".parse().unwrap(),
        key_name: None,
        org_id: None,
        directory_id: None,
    };
    organization.connect(&input, "test").await.unwrap();
    organization.sync(&|_| {}).await.unwrap();
    let changes: Vec<Change> = {
        let org = sim.org();
        org.users
            .values()
            .filter(|u| u.status() == "active" && !u.org_admin)
            .take(6)
            .map(|u| Change { account_id: u.account_id.as_str().into(), op: Op::Suspend })
            .collect()
    };
    // Four calls a second for the two together fit under five; two limiters would make eight.
    sim.settings().requests_per_second = Some(5);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let refused_before = sim.calls().1;
    let (synced, applied) = tokio::join!(organization.sync(&|_| {}), organization.apply(&changes));
    synced.unwrap();
    assert_eq!(applied.unwrap(), vec![Applied::Changed; changes.len()]);
    assert_eq!(sim.calls().1 - refused_before, 0, "no call went over the limit");
}
