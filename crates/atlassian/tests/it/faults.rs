//! Rate limits and faults: 429s (every few calls, or a per-second limit) and 500s are waited
//! out and tried again; nothing is lost or failed because of a refusal that later cleared.

use std::collections::BTreeSet;
use std::time::Duration;

use model::run::{Applied, Change, Op};
use testkit::{TestDb, backend_tests};

use crate::{KEY, client, simulator};

backend_tests!(a_sync_through_429s_and_500s_reads_everything, actions_through_a_rate_limit_all_succeed);

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
