use model::filter::UserFilter;
use store::StoreError;
use testkit::{TestDb, backend_tests};

use crate::{NOW, ts};

backend_tests!(saved_filters_round_trip_and_names_are_unique);

async fn saved_filters_round_trip_and_names_are_unique(db: TestDb) {
    let criteria = UserFilter { apps: vec!["jira-servicedesk".into()], inactive_days: Some(30), ..Default::default() };
    let created = db.store.create_saved_filter("Idle JSM agents", &criteria, ts(NOW)).await.unwrap();
    assert_eq!(created.criteria, criteria);
    assert_eq!(created.created_at, ts(NOW));

    let clash = db.store.create_saved_filter("idle jsm AGENTS", &UserFilter::default(), ts(NOW)).await.unwrap_err();
    assert!(matches!(&clash, StoreError::Conflict(m) if m.contains("already exists")), "{clash:?}");

    let later = ts("2026-11-29T00:00:00Z");
    let updated =
        db.store.update_saved_filter(&created.filter_id, "Idle agents", &UserFilter::default(), later).await.unwrap();
    assert_eq!((updated.name.as_str(), updated.updated_at, updated.created_at), ("Idle agents", later, ts(NOW)));
    assert_eq!(db.store.saved_filters().await.unwrap(), vec![updated.clone()]);

    db.store.delete_saved_filter(&created.filter_id).await.unwrap();
    assert!(matches!(db.store.delete_saved_filter(&created.filter_id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(
        db.store.update_saved_filter(&created.filter_id, "x", &UserFilter::default(), later).await,
        Err(StoreError::NotFound(_))
    ));
}
