//! Changing users of a connected organization: each call's answer mapped to changed,
//! unchanged or failed; the mirror written at once; organization admins never touched; a
//! sync right after a change does not undo it while Atlassian's reads lag.

use std::sync::Arc;
use std::time::Duration;

use atlassian::simulator::{SYNCED_PREFIX, SimOrg, SimSettings, Simulator};
use atlassian::{ConnectInput, OrgSettings, Organization};
use model::directory::UserStatus;
use model::ids::{AccountId, GroupId};
use model::run::{Applied, Change, Op};
use testkit::{TestDb, backend_tests};

use crate::{KEY, now};

backend_tests!(each_answer_maps_to_an_outcome_and_the_mirror_follows, a_sync_right_after_a_change_keeps_it);

/// An organization connected and synced into `db`.
pub async fn connected(db: &TestDb, users: usize) -> (Arc<Simulator>, Organization) {
    let sim = Simulator::new(SimOrg::generate(users, now(), 21), SimSettings::new(KEY));
    let address = sim.start().await.unwrap();
    let organization = process(db, &format!("http://{address}"));
    let input = ConnectInput {
        api_key: KEY.to_owned(),
        key_expires: "2027-06-30".parse().unwrap(),
        key_name: None,
        org_id: None,
        directory_id: None,
    };
    organization.connect(&input, "test").await.unwrap();
    organization.sync(&|_| {}).await.unwrap();
    (sim, organization)
}

/// The installation as one process sees it, with Atlassian at `base`: each call is another
/// process (its own client, clock and identity) sharing the database and sealing key.
pub fn process(db: &TestDb, base: &str) -> Organization {
    process_paced(db, base, Duration::ZERO)
}

/// [`process`], its calls no closer than `min_interval`.
pub fn process_paced(db: &TestDb, base: &str, min_interval: Duration) -> Organization {
    let http = webhooks::GuardedClient::new(
        webhooks::AddressPolicy::parse(&["127.0.0.0/8".to_owned()]).unwrap(),
        webhooks::Timeouts::default(),
    )
    .unwrap();
    // "0123456789abcdef0123456789abcdef"
    let key = webhooks::SealingKey::from_base64("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap();
    let settings = OrgSettings { api_base: base.to_owned(), min_interval };
    Organization::new(db.store.clone(), http, key, Arc::new(model::clock::ManualClock::new(now())), settings)
}

fn change(account: &str, op: Op) -> Change {
    Change { account_id: AccountId(account.to_owned()), op }
}

async fn each_answer_maps_to_an_outcome_and_the_mirror_follows(db: TestDb) {
    let (sim, organization) = connected(&db, 40).await;
    let (user, admin, member_of, other, synced) = {
        let org = sim.org();
        let user = org.users.values().find(|u| u.status() == "active" && !u.org_admin && u.groups.len() >= 2).unwrap();
        let admin = org.users.values().find(|u| u.org_admin).unwrap();
        let member_of = org.groups.iter().find(|g| g.modifiable && user.groups.contains(&g.id)).unwrap().id.clone();
        let other = org.groups.iter().find(|g| g.modifiable && !user.groups.contains(&g.id)).unwrap().id.clone();
        let synced = org
            .groups
            .iter()
            .find(|g| g.name.starts_with(SYNCED_PREFIX) && !user.groups.contains(&g.id))
            .unwrap()
            .id
            .clone();
        (user.account_id.clone(), admin.account_id.clone(), member_of, other, synced)
    };

    // 204 for each: changed, in Atlassian and in the mirror.
    let answers = organization
        .apply(&[
            change(&user, Op::AddToGroup(GroupId(other.clone()))),
            change(&user, Op::RemoveFromGroup(GroupId(member_of.clone()))),
            change(&user, Op::Suspend),
        ])
        .await
        .unwrap();
    assert_eq!(answers, vec![Applied::Changed; 3]);
    {
        let org = sim.org();
        let sim_user = &org.users[&user];
        assert!(sim_user.groups.contains(&other) && !sim_user.groups.contains(&member_of));
        assert_eq!(sim_user.membership_status, "suspended");
    }
    let mirrored = db.store.user(&AccountId(user.clone())).await.unwrap();
    assert!(
        mirrored.groups.contains(&GroupId(other.clone())) && !mirrored.groups.contains(&GroupId(member_of.clone()))
    );
    assert_eq!(mirrored.status, UserStatus::Suspended);

    // Restored; and where the mirror was behind Atlassian: 409 "already" and 404 are unchanged,
    // and the mirror catches up.
    {
        let mut org = sim.org();
        let sim_user = org.users.get_mut(&user).unwrap();
        sim_user.groups.insert(member_of.clone());
        sim_user.groups.remove(&other);
    }
    let (calls_before, _) = sim.calls();
    let answers = organization
        .apply(&[
            change(&user, Op::Restore),
            change(&user, Op::AddToGroup(GroupId(member_of.clone()))),
            change(&user, Op::RemoveFromGroup(GroupId(other.clone()))),
        ])
        .await
        .unwrap();
    assert_eq!(answers, vec![Applied::Changed, Applied::Unchanged, Applied::Unchanged]);
    assert_eq!(sim.calls().0 - calls_before, 3);
    let mirrored = db.store.user(&AccountId(user.clone())).await.unwrap();
    assert!(mirrored.groups.contains(&GroupId(member_of.clone())) && !mirrored.groups.contains(&GroupId(other)));
    assert_eq!(mirrored.status, UserStatus::Active);

    // What the mirror already shows costs no call.
    let (calls_before, _) = sim.calls();
    let answers = organization.apply(&[change(&user, Op::AddToGroup(GroupId(member_of.clone())))]).await.unwrap();
    assert_eq!((answers, sim.calls().0 - calls_before), (vec![Applied::Unchanged], 0));

    // A group synced from an identity provider: known from the sync, failed without a call.
    let (calls_before, _) = sim.calls();
    let answers = organization.apply(&[change(&user, Op::AddToGroup(GroupId(synced.clone())))]).await.unwrap();
    let [Applied::Failed(why)] = answers.as_slice() else { panic!("{answers:?}") };
    assert!(why.contains("identity provider"), "{why}");
    assert_eq!(sim.calls().0 - calls_before, 0);
    assert!(!db.store.user(&AccountId(user.clone())).await.unwrap().groups.contains(&GroupId(synced)));
    // One that became so since the last sync: Atlassian's 403, failed with its reason.
    let turned = {
        let mut org = sim.org();
        let group = org.groups.iter_mut().find(|g| g.modifiable && g.id != member_of).unwrap();
        group.modifiable = false;
        group.id.clone()
    };
    let answers = organization.apply(&[change(&admin_free(&sim, &turned), Op::AddToGroup(GroupId(turned)))]).await;
    let answers = answers.unwrap();
    let [Applied::Failed(why)] = answers.as_slice() else { panic!("{answers:?}") };
    assert!(why.contains("403") && why.contains("identity provider"), "{why}");

    // A product at its capacity on a site: 409 without "already", failed with the reason; the
    // user stays out of the group in Atlassian and in the mirror.
    let (full_group, newcomer) = {
        let mut org = sim.org();
        let group = org.groups.iter().find(|g| g.modifiable && !g.grants.is_empty()).unwrap().clone();
        let grant = group.grants[0].clone();
        let seats = org.users_of(&grant);
        org.capacity.insert(grant.clone(), seats);
        let newcomer = org
            .users
            .values()
            .find(|u| u.status() == "active" && !u.org_admin && !org.has_access(&u.account_id, &grant))
            .unwrap()
            .account_id
            .clone();
        (group.id, newcomer)
    };
    let answers = organization.apply(&[change(&newcomer, Op::AddToGroup(GroupId(full_group.clone())))]).await.unwrap();
    let [Applied::Failed(why)] = answers.as_slice() else { panic!("{answers:?}") };
    assert!(why.contains("409") && why.contains("License Limit") && why.contains("user limit"), "{why}");
    assert!(!sim.org().users[&newcomer].groups.contains(&full_group));
    assert!(!db.store.user(&AccountId(newcomer)).await.unwrap().groups.contains(&GroupId(full_group)));

    // An organization admin: skipped, and Atlassian never asked.
    let (calls_before, _) = sim.calls();
    let answers = organization.apply(&[change(&admin, Op::Suspend)]).await.unwrap();
    assert!(matches!(answers.as_slice(), [Applied::Skipped(_)]), "{answers:?}");
    assert_eq!(sim.calls().0 - calls_before, 0);
    assert_eq!(sim.org().users[&admin].membership_status, "active");

    // A key Atlassian refuses stops the batch with a message that says what to do.
    sim.settings().key = "rotated".to_owned();
    let error = organization.apply(&[change(&user, Op::Suspend)]).await.unwrap_err().to_string();
    assert!(error.contains("(401)") && error.contains("API keys"), "{error}");
}

async fn a_sync_right_after_a_change_keeps_it(db: TestDb) {
    let (sim, organization) = connected(&db, 30).await;
    sim.settings().lag = Duration::from_secs(60);
    let (user, group) = {
        let org = sim.org();
        let user = org.users.values().find(|u| u.status() == "active" && !u.org_admin && !u.groups.is_empty()).unwrap();
        let group = org.groups.iter().find(|g| g.modifiable && user.groups.contains(&g.id)).unwrap().id.clone();
        (user.account_id.clone(), group)
    };
    let answers = organization
        .apply(&[change(&user, Op::RemoveFromGroup(GroupId(group.clone()))), change(&user, Op::Suspend)])
        .await
        .unwrap();
    assert_eq!(answers, vec![Applied::Changed; 2]);
    // Atlassian's reads still show the old state; the sync does not bring it back.
    organization.sync(&|_| {}).await.unwrap();
    let mirrored = db.store.user(&AccountId(user)).await.unwrap();
    assert!(!mirrored.groups.contains(&GroupId(group)), "the removal stays");
    assert_eq!(mirrored.status, UserStatus::Suspended, "the suspension stays");
}

/// An active user who is neither an organization admin nor in `group`.
fn admin_free(sim: &Simulator, group: &str) -> String {
    let org = sim.org();
    let user = org.users.values().find(|u| u.status() == "active" && !u.org_admin && !u.groups.contains(group));
    user.unwrap().account_id.clone()
}
