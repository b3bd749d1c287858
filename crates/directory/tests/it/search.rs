use std::collections::BTreeSet;
use std::sync::Arc;

use directory::demo::{self, DemoRng};
use directory::{Directory, DirectoryError, LocalDirectory};
use model::clock::ManualClock;
use model::directory::{Catalog, Role, User, UserStatus};
use model::filter::{PageRequest, UserFilter};
use testkit::{TestDb, backend_tests};

use crate::now;

backend_tests!(sql_selects_exactly_what_the_reference_semantics_accept, unknown_names_fail_with_suggestions);

/// A random filter over the demo catalog: each criterion present with some probability.
fn random_filter(rng: &mut DemoRng, catalog: &Catalog) -> UserFilter {
    let mut f = UserFilter::default();
    let apps: Vec<String> = catalog.apps.iter().map(|a| a.display_name.clone()).collect();
    let groups: Vec<String> = catalog.groups.iter().map(|g| g.name.clone()).collect();
    let pick_some = |rng: &mut DemoRng, from: &[String]| -> Vec<String> {
        (0..1 + rng.below(2)).map(|_| rng.pick(from).clone()).collect()
    };
    if rng.chance(40) {
        f.apps = pick_some(rng, &apps);
    }
    if rng.chance(15) {
        f.not_apps = pick_some(rng, &apps);
    }
    if rng.chance(35) {
        f.inactive_days = Some(*rng.pick(&[0, 3, 7, 14, 21, 30, 90, 180, 365]));
    }
    if rng.chance(30) {
        f.groups = pick_some(rng, &groups);
    }
    if rng.chance(15) {
        f.exclude_groups = pick_some(rng, &groups);
    }
    if rng.chance(20) {
        f.site = Some(rng.pick(&catalog.sites).name.clone());
    }
    if rng.chance(20) {
        f.statuses = (0..1 + rng.below(2)).map(|_| rng.pick(&UserStatus::ALL).as_str().to_owned()).collect();
    }
    if rng.chance(10) {
        f.roles = vec![rng.pick(&Role::ALL).as_str().to_owned()];
    }
    if rng.chance(15) {
        f.email_domains = vec![(*rng.pick(&["acme.com", "acme.eu", "partners.example.com", "nowhere.org"])).to_owned()];
    }
    if rng.chance(10) {
        f.q = Some((*rng.pick(&["ada", "LOVE", "hopper", "ing", "zz"])).to_owned());
    }
    f
}

/// The SQL filter and `ResolvedFilter::matches` agree on 300 random filters over 400 demo
/// users, on both engines.
async fn sql_selects_exactly_what_the_reference_semantics_accept(db: TestDb) {
    let org = demo::organization(400, now(), 7);
    db.store.import_directory(&org, &|_| {}).await.unwrap();
    let directory = LocalDirectory::new(db.store.clone(), Arc::new(ManualClock::new(now())));
    let catalog = directory.catalog().await.unwrap();
    let ids: Vec<_> = org.users.iter().map(|u| u.account_id.clone()).collect();
    let users: Vec<User> = db.store.users_by_id(&ids).await.unwrap();
    assert_eq!(users.len(), 400);

    let mut rng = DemoRng::new(42);
    let mut non_trivial = 0;
    for round in 0..300 {
        let filter = random_filter(&mut rng, &catalog);
        let resolved = filter.resolve(&catalog).unwrap();
        let expected: BTreeSet<String> =
            users.iter().filter(|u| resolved.matches(u, now())).map(|u| u.account_id.0.clone()).collect();
        let actual: BTreeSet<String> =
            directory.matching_account_ids(&filter).await.unwrap().into_iter().map(|a| a.0).collect();
        assert_eq!(actual, expected, "round {round}: {filter:?}");
        let page = directory.search_users(&filter, &PageRequest::default()).await.unwrap();
        assert_eq!(page.total, expected.len() as u64, "round {round}: total");
        if !expected.is_empty() && expected.len() < users.len() {
            non_trivial += 1;
        }
    }
    assert!(non_trivial > 100, "the filters discriminate: {non_trivial} of 300 selected some but not all");
}

async fn unknown_names_fail_with_suggestions(db: TestDb) {
    db.store.import_directory(&demo::organization(20, now(), 1), &|_| {}).await.unwrap();
    let directory = LocalDirectory::new(db.store.clone(), Arc::new(ManualClock::new(now())));
    let filter = UserFilter { apps: vec!["JMS".into()], groups: vec!["enginering".into()], ..Default::default() };
    let Err(DirectoryError::Filter(err)) = directory.search_users(&filter, &PageRequest::default()).await else {
        panic!("expected a filter error")
    };
    assert_eq!(err.0[0].field, "apps");
    assert!(err.0[0].suggestions.iter().any(|s| s == "JSM"), "{:?}", err.0[0]);
    assert_eq!(err.0[1].suggestions, ["engineering"]);

    let bad_page = PageRequest { page_size: 25, ..PageRequest::default() };
    assert!(matches!(
        directory.search_users(&UserFilter::default(), &bad_page).await,
        Err(DirectoryError::Filter(e)) if e.0[0].field == "pageSize"
    ));
}
