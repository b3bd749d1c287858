//! A full sync: the mirror holds exactly the simulated organization.

use std::collections::BTreeMap;

use atlassian::simulator::SimOrg;
use model::directory::UserStatus;
use testkit::{TestDb, backend_tests};

use crate::{KEY, client, simulator};

backend_tests!(a_full_sync_mirrors_the_organization, a_second_sync_removes_what_the_organization_no_longer_has);

/// Last activity by (account, product, site).
type Activity = BTreeMap<(String, String, String), Option<jiff::Timestamp>>;

/// What ucm should see of the simulated organization: status by account id, and last activity
/// per (account, product, site).
fn expected(org: &SimOrg) -> (BTreeMap<String, UserStatus>, Activity) {
    let mut statuses = BTreeMap::new();
    let mut activity = BTreeMap::new();
    for user in org.users.values() {
        let status = match (user.account_status, user.membership_status) {
            ("closed", _) => UserStatus::Closed,
            ("inactive", _) => UserStatus::Deactivated,
            (_, "suspended") => UserStatus::Suspended,
            (_, "no_membership") => UserStatus::NotInvited,
            _ => UserStatus::Active,
        };
        statuses.insert(user.account_id.clone(), status);
        for access in org.product_access(user) {
            let (product, site) = atlassian::api::parse_site_ari(&access.id).unwrap();
            let at = access.last_active_timestamp.map(|t| t.parse::<jiff::Timestamp>().unwrap());
            activity.insert((user.account_id.clone(), product.to_owned(), site.to_owned()), at);
        }
    }
    (statuses, activity)
}

async fn a_full_sync_mirrors_the_organization(db: TestDb) {
    let (sim, base) = simulator(300).await;
    let (org_id, directory_id) = {
        let org = sim.org();
        (org.org_id.clone(), org.directory_id.clone())
    };
    let client = client(&base, KEY);
    let seen_progress = std::sync::Mutex::new(Vec::new());
    let progress = |p: atlassian::SyncProgress| seen_progress.lock().unwrap().push(p);
    let fetched = atlassian::sync::fetch(&client, &org_id, &directory_id, &progress).await.unwrap();
    assert_eq!(fetched.unmodifiable_groups.len(), 2, "the two groups synced from an identity provider");
    // Progress after every page; once users are read, of how many Atlassian counted.
    let seen_progress = seen_progress.into_inner().unwrap();
    let users_read: Vec<u64> = seen_progress.iter().filter(|p| p.users_total.is_some()).map(|p| p.users).collect();
    assert_eq!(users_read, [100, 200, 300]);
    assert_eq!(seen_progress.last().unwrap().users_total, Some(300));
    assert_eq!(
        seen_progress.last().unwrap().to_string(),
        format!("{} sites, {} groups, 300 of 300 users read", fetched.import.sites.len(), fetched.import.groups.len())
    );
    db.store
        .replace_directory(&fetched.import, &fetched.app_types, &fetched.unmodifiable_groups, &|_| {})
        .await
        .unwrap();

    let org = sim.org().clone();
    let (statuses, activity) = expected(&org);
    assert_eq!(db.store.count_users().await.unwrap(), 300);
    let ids: Vec<model::ids::AccountId> = statuses.keys().map(|id| id.as_str().into()).collect();
    let users = db.store.users_by_id(&ids).await.unwrap();
    assert_eq!(users.len(), 300);
    let mut seen = BTreeMap::new();
    for user in &users {
        assert_eq!(user.status, statuses[user.account_id.as_str()], "{}", user.account_id);
        let sim_user = &org.users[user.account_id.as_str()];
        assert_eq!((&user.display_name, &user.email), (&sim_user.name, &sim_user.email));
        assert_eq!(user.created_at, sim_user.added_to_org);
        assert_eq!(user.has_role(model::directory::Role::OrgAdmin), sim_user.org_admin);
        let groups: Vec<&str> = user.groups.iter().map(|g| g.as_str()).collect();
        let sim_groups: Vec<&str> = sim_user.groups.iter().map(String::as_str).collect();
        assert_eq!(groups, sim_groups, "{}", user.account_id);
        for access in &user.app_access {
            seen.insert(
                (user.account_id.0.clone(), access.app_type.0.clone(), access.site_id.0.clone()),
                access.last_active,
            );
        }
    }
    assert_eq!(seen.len(), activity.len(), "every product on every site, no more");
    assert_eq!(seen, activity, "last activity per product per site, to the nanosecond stored");
    assert!(activity.values().any(Option::is_none), "some users never used an app they have");

    let catalog = db.store.catalog().await.unwrap();
    assert_eq!(catalog.sites.len(), org.sites.len());
    assert_eq!(catalog.groups.len(), org.groups.len());
    assert!(catalog.sites.iter().any(|s| s.name == "acme" && s.url == "https://acme.atlassian.net"));
    for group in &org.groups {
        assert_eq!(catalog.is_managed_externally(&group.id.as_str().into()), !group.modifiable, "{}", group.name);
    }
}

async fn a_second_sync_removes_what_the_organization_no_longer_has(db: TestDb) {
    let (sim, base) = simulator(60).await;
    let (org_id, directory_id) = {
        let org = sim.org();
        (org.org_id.clone(), org.directory_id.clone())
    };
    let client = client(&base, KEY);
    let fetched = atlassian::sync::fetch(&client, &org_id, &directory_id, &|_| {}).await.unwrap();
    db.store
        .replace_directory(&fetched.import, &fetched.app_types, &fetched.unmodifiable_groups, &|_| {})
        .await
        .unwrap();
    let gone: Vec<String> = {
        let mut org = sim.org();
        let gone: Vec<String> = org.users.keys().take(5).cloned().collect();
        for id in &gone {
            org.users.remove(id);
        }
        let group = org.groups.iter().position(|g| g.name == "finance").unwrap();
        let id = org.groups.remove(group).id;
        for user in org.users.values_mut() {
            user.groups.remove(&id);
        }
        gone
    };
    let fetched = atlassian::sync::fetch(&client, &org_id, &directory_id, &|_| {}).await.unwrap();
    db.store
        .replace_directory(&fetched.import, &fetched.app_types, &fetched.unmodifiable_groups, &|_| {})
        .await
        .unwrap();
    assert_eq!(db.store.count_users().await.unwrap(), 55);
    for id in gone {
        assert!(db.store.user(&id.as_str().into()).await.is_err(), "{id} was removed");
    }
    let catalog = db.store.catalog().await.unwrap();
    assert!(!catalog.groups.iter().any(|g| g.name == "finance"));
}
