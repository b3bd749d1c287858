use model::filter::{PageRequest, SortKey, SortOrder, UserFilter};
use model::ids::AccountId;
use store::{DirectoryImport, ImportReport, StoreError};
use testkit::{TestDb, backend_tests};

use crate::{NOW, small_org, ts};

backend_tests!(
    import_writes_everything_and_derives_app_access,
    every_criterion_selects_what_it_says,
    pages_never_overlap_and_sorts_are_stable,
    a_failed_import_changes_nothing,
    reimport_replaces_memberships,
    like_wildcards_in_search_text_are_literal,
    many_pages_in_case_insensitive_order,
    duplicate_ids_in_one_batch_are_refused,
);

async fn many_pages_in_case_insensitive_order(db: TestDb) {
    let template = small_org().users.remove(0);
    let names = ["bob", "Alice", "alan", "Bea", "carl", "Cid", "dora", "Dan", "eve", "Ed", "fay", "Finn"];
    let users: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, name)| model::directory::User {
            account_id: format!("x{i:02}").into(),
            display_name: (*name).to_owned(),
            email: format!("{}@example.com", name.to_lowercase()),
            groups: vec![],
            app_access: vec![],
            sites: vec![],
            ..template.clone()
        })
        .collect();
    db.store.import_directory(&DirectoryImport { users, ..Default::default() }, &|_| {}).await.unwrap();
    let resolved = UserFilter::default().resolve(&db.store.catalog().await.unwrap()).unwrap();
    let mut seen = Vec::new();
    for page in 1..=3 {
        let request = PageRequest { page, page_size: 5, ..PageRequest::default() };
        let found = db.store.query_users(&resolved, &request, ts(NOW)).await.unwrap();
        assert_eq!(found.total, 12);
        assert!(found.users.len() <= 5);
        seen.extend(found.users.into_iter().map(|u| u.display_name));
    }
    let mut expected: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    expected.sort_by_key(|n| n.to_lowercase());
    assert_eq!(seen, expected, "every user once, in case-insensitive order, across pages of 5");
}

async fn duplicate_ids_in_one_batch_are_refused(db: TestDb) {
    let mut batch = small_org();
    let again = batch.users[0].clone();
    batch.users.push(again);
    let err = db.store.import_directory(&batch, &|_| {}).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("`u1` appears twice")), "{err:?}");
    assert_eq!(db.store.count_users().await.unwrap(), 0);
}

async fn ids(db: &TestDb, filter: UserFilter) -> Vec<String> {
    let catalog = db.store.catalog().await.unwrap();
    let resolved = filter.resolve(&catalog).unwrap();
    let mut ids: Vec<String> =
        db.store.matching_account_ids(&resolved, ts(NOW)).await.unwrap().into_iter().map(|a| a.0).collect();
    ids.sort();
    ids
}

async fn import_writes_everything_and_derives_app_access(db: TestDb) {
    let report = db.store.import_directory(&small_org(), &|_| {}).await.unwrap();
    assert_eq!(report, ImportReport { sites: 2, groups: 3, users_created: 4, users_updated: 0 });
    assert_eq!(db.store.count_users().await.unwrap(), 4);

    let alan = db.store.user(&"u2".into()).await.unwrap();
    let access: Vec<(&str, &str, bool)> =
        alan.app_access.iter().map(|a| (a.app_type.as_str(), a.site_id.as_str(), a.last_active.is_some())).collect();
    assert_eq!(access, [("confluence", "s1", false), ("confluence", "s2", false)], "granted by confluence-users");
    assert_eq!(alan.last_active, None);

    let ada = db.store.user(&"u1".into()).await.unwrap();
    assert_eq!(ada.app_access[0].last_active, Some(ts("2026-09-01T00:00:00Z")), "activity kept");
    assert_eq!(ada.groups.len(), 2);

    let catalog = db.store.catalog().await.unwrap();
    assert_eq!(catalog.group("JSM-AGENTS").unwrap().grants.len(), 1);
    assert_eq!(catalog.site("acme-eu").unwrap().site_id.as_str(), "s2");
    assert!(matches!(db.store.user(&"nobody".into()).await, Err(StoreError::NotFound(_))));
}

async fn every_criterion_selects_what_it_says(db: TestDb) {
    db.store.import_directory(&small_org(), &|_| {}).await.unwrap();
    let f = UserFilter::default;
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(ids(&db, f()).await, ["u1", "u2", "u3", "u4"]);
    assert_eq!(ids(&db, UserFilter { q: Some("HOPPER".into()), ..f() }).await, ["u3"]);
    assert_eq!(ids(&db, UserFilter { q: Some("navy".into()), ..f() }).await, ["u3"]);
    assert_eq!(ids(&db, UserFilter { apps: strings(&["JSM"]), ..f() }).await, ["u1", "u3"]);
    assert_eq!(ids(&db, UserFilter { apps: strings(&["JSM", "confluence"]), ..f() }).await, ["u1", "u2", "u3"]);
    assert_eq!(ids(&db, UserFilter { not_apps: strings(&["JSM"]), ..f() }).await, ["u2", "u4"]);
    assert_eq!(ids(&db, UserFilter { groups: strings(&["engineering"]), ..f() }).await, ["u1"]);
    assert_eq!(ids(&db, UserFilter { exclude_groups: strings(&["jsm-agents"]), ..f() }).await, ["u2", "u4"]);
    assert_eq!(ids(&db, UserFilter { roles: strings(&["orgAdmin"]), ..f() }).await, ["u3"]);
    assert_eq!(ids(&db, UserFilter { statuses: strings(&["suspended", "invited"]), ..f() }).await, ["u2", "u4"]);
    assert_eq!(ids(&db, UserFilter { email_domains: strings(&["NAVY.example"]), ..f() }).await, ["u3"]);
    assert_eq!(ids(&db, UserFilter { site: Some("acme-eu".into()), ..f() }).await, ["u3"]);
    // Never signed in: counts from creation (2025), so inactive for 30 days.
    assert_eq!(ids(&db, UserFilter { inactive_days: Some(30), ..f() }).await, ["u2"]);
    // In JSM: Ada last used it in September; Grace never did (created 2025).
    assert_eq!(ids(&db, UserFilter { apps: strings(&["JSM"]), inactive_days: Some(30), ..f() }).await, ["u1", "u3"]);
    assert_eq!(ids(&db, UserFilter { apps: strings(&["JSM"]), inactive_days: Some(100), ..f() }).await, ["u3"]);
    // Site scopes app criteria: Confluence on acme-eu only through Alan's group, but Alan is not on acme-eu.
    assert_eq!(
        ids(&db, UserFilter { site: Some("acme-eu".into()), apps: strings(&["confluence"]), ..f() }).await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(
            &db,
            UserFilter {
                apps: strings(&["jsm"]),
                statuses: strings(&["active"]),
                email_domains: strings(&["example.com"]),
                ..f()
            }
        )
        .await,
        ["u1"]
    );
}

async fn pages_never_overlap_and_sorts_are_stable(db: TestDb) {
    db.store.import_directory(&small_org(), &|_| {}).await.unwrap();
    let resolved = UserFilter::default().resolve(&db.store.catalog().await.unwrap()).unwrap();
    let mut seen: Vec<AccountId> = Vec::new();
    for page in 1..=3 {
        let request = PageRequest { page, page_size: 10, sort: SortKey::Status, order: SortOrder::Desc };
        let found = db.store.query_users(&resolved, &request, ts(NOW)).await.unwrap();
        assert_eq!(found.total, 4);
        seen.extend(found.users.into_iter().map(|u| u.account_id));
    }
    assert_eq!(
        seen.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        ["u2", "u4", "u3", "u1"],
        "suspended, invited, active×2 (id desc)"
    );

    let by_name = PageRequest { sort: SortKey::DisplayName, ..PageRequest::default() };
    let names: Vec<String> = db
        .store
        .query_users(&resolved, &by_name, ts(NOW))
        .await
        .unwrap()
        .users
        .into_iter()
        .map(|u| u.display_name)
        .collect();
    assert_eq!(
        names,
        ["Ada Lovelace", "Alan Turing", "Grace Hopper", "linus 100%_sure"],
        "case-insensitive, same on both engines"
    );

    let last_active = PageRequest { sort: SortKey::LastActive, order: SortOrder::Asc, ..PageRequest::default() };
    let first = db.store.query_users(&resolved, &last_active, ts(NOW)).await.unwrap().users[0].account_id.clone();
    assert_eq!(first.as_str(), "u2", "never signed in counts as active at creation");
}

async fn a_failed_import_changes_nothing(db: TestDb) {
    let mut batch = small_org();
    // The last user names a group that exists nowhere: the database refuses it at the end.
    batch.users[3].groups.push("no-such-group".into());
    let err = db.store.import_directory(&batch, &|_| {}).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(db.store.count_users().await.unwrap(), 0);
    assert!(db.store.catalog().await.unwrap().sites.is_empty(), "sites rolled back too");
}

async fn reimport_replaces_memberships(db: TestDb) {
    db.store.import_directory(&small_org(), &|_| {}).await.unwrap();
    let mut ada = small_org().users.remove(0);
    ada.groups = vec!["g-eng".into()];
    ada.app_access.clear();
    ada.display_name = "Ada King".into();
    let report =
        db.store.import_directory(&DirectoryImport { users: vec![ada], ..Default::default() }, &|_| {}).await.unwrap();
    assert_eq!((report.users_created, report.users_updated), (0, 1));
    let ada = db.store.user(&"u1".into()).await.unwrap();
    assert_eq!(ada.display_name, "Ada King");
    assert!(ada.app_access.is_empty(), "leaving jsm-agents removed JSM access");
    assert_eq!(db.store.count_users().await.unwrap(), 4, "other users untouched");
}

async fn like_wildcards_in_search_text_are_literal(db: TestDb) {
    db.store.import_directory(&small_org(), &|_| {}).await.unwrap();
    assert_eq!(ids(&db, UserFilter { q: Some("100%_".into()), ..Default::default() }).await, ["u4"]);
    assert!(ids(&db, UserFilter { q: Some("%".into()), ..Default::default() }).await.len() == 1);
    assert!(ids(&db, UserFilter { q: Some("a_a".into()), ..Default::default() }).await.is_empty());
}
