use directory::import::{self, Format, ImportError};
use testkit::{TestDb, backend_tests};

use crate::now;

backend_tests!(
    a_valid_json_file_imports_and_a_bad_one_changes_nothing,
    csv_users_refer_to_existing_groups,
    reimporting_without_created_at_keeps_the_stored_one,
);

/// A re-import that leaves out `createdAt` must not make never-active users look new.
async fn reimporting_without_created_at_keeps_the_stored_one(db: TestDb) {
    import::import_text(&db.store, ORG, Format::Json, now(), &|_| {}).await.unwrap();
    let csv = "accountId,displayName,email,groups\nu1,Ada King,ada@example.com,jsm-agents\n";
    let later = now() + jiff::SignedDuration::from_hours(24 * 100);
    import::import_text(&db.store, csv, Format::Csv, later, &|_| {}).await.unwrap();
    let ada = db.store.user(&"u1".into()).await.unwrap();
    assert_eq!(ada.display_name, "Ada King");
    assert_eq!(ada.created_at, "2025-01-01T00:00:00Z".parse().unwrap(), "creation time kept");
}

const ORG: &str = r#"{
  "sites": [{"siteId": "s1", "name": "acme", "url": "https://acme.atlassian.net"}],
  "groups": [
    {"groupId": "g1", "name": "jsm-agents", "site": "acme", "grants": [{"app": "JSM", "site": "acme"}]},
    {"groupId": "g2", "name": "engineering"}
  ],
  "users": [
    {"accountId": "u1", "displayName": "Ada Lovelace", "email": "ada@example.com", "status": "active",
     "sites": ["acme"], "groups": ["JSM-Agents", "engineering"], "roles": ["orgAdmin"],
     "createdAt": "2025-01-01T00:00:00Z", "lastActive": "2026-11-01T00:00:00Z",
     "appAccess": [{"app": "Jira Service Management", "site": "acme", "lastActive": "2026-10-01"}]}
  ]
}"#;

async fn a_valid_json_file_imports_and_a_bad_one_changes_nothing(db: TestDb) {
    let report = import::import_text(&db.store, ORG, Format::Json, now(), &|_| {}).await.unwrap();
    assert_eq!((report.sites, report.groups, report.users_created), (1, 2, 1));
    let ada = db.store.user(&"u1".into()).await.unwrap();
    assert_eq!(ada.groups.len(), 2);
    assert_eq!(ada.app_access[0].last_active, Some("2026-10-01T00:00:00Z".parse().unwrap()));

    let bad = r#"{"users": [
      {"accountId": "u2", "displayName": "Alan", "email": "alan@example.com"},
      {"accountId": "u3", "displayName": "Grace", "email": "grace@example.com", "groups": ["enginering"]}
    ]}"#;
    let Err(ImportError::Invalid { problems, total }) =
        import::import_text(&db.store, bad, Format::Json, now(), &|_| {}).await
    else {
        panic!("expected problems")
    };
    assert_eq!(total, 1);
    assert_eq!((problems[0].line, problems[0].field.as_str()), (3, "groups[0]"));
    assert!(problems[0].message.contains("engineering"), "{}", problems[0].message);
    assert_eq!(db.store.count_users().await.unwrap(), 1, "u2 was valid but nothing was imported");
}

async fn csv_users_refer_to_existing_groups(db: TestDb) {
    import::import_text(&db.store, ORG, Format::Json, now(), &|_| {}).await.unwrap();
    let csv = "accountId,displayName,email,groups,appAccess\nu9,Linus,linus@example.com,jsm-agents,JSM@acme=2026-11-20T10:00:00Z\n";
    let seen = std::sync::Mutex::new(Vec::new());
    let report =
        import::import_text(&db.store, csv, Format::Csv, now(), &|n| seen.lock().unwrap().push(n)).await.unwrap();
    assert_eq!(report.users_created, 1);
    assert_eq!(*seen.lock().unwrap(), [1], "progress reported");
    let linus = db.store.user(&"u9".into()).await.unwrap();
    assert_eq!(linus.created_at, now(), "a missing createdAt is the import time");
}
