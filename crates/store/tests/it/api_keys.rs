use model::access::AccessSettings;
use model::apikey::{ApiKey, ApiKeyRole, ApiKeySecret};
use testkit::{TestDb, backend_tests};

use crate::{NOW, ts};

backend_tests!(api_keys_are_found_by_hash_and_revoked, access_settings_default_closed_and_persist);

async fn api_keys_are_found_by_hash_and_revoked(db: TestDb) {
    let secret = ApiKeySecret::generate();
    let key = ApiKey {
        api_key_id: model::ids::new_uuid().into(),
        name: "ci".into(),
        role: ApiKeyRole::ReadOnly,
        principal: Some("u1".into()),
        secret_prefix: secret.display_prefix(),
        created_at: ts(NOW),
        expires_at: ts("2027-02-26T12:00:00Z"),
        revoked_at: None,
        last_used_at: None,
    };
    db.store.insert_api_key(&key, &secret.hash()).await.unwrap();
    let (found, hash) = db.store.api_key_by_hash(&secret.hash()).await.unwrap().unwrap();
    assert_eq!((found, hash), (key.clone(), secret.hash()));
    assert!(db.store.api_key_by_hash(&ApiKeySecret::generate().hash()).await.unwrap().is_none());

    db.store.touch_api_key(&key.api_key_id, ts(NOW)).await.unwrap();
    db.store.touch_api_key(&key.api_key_id, ts("2026-11-28T12:00:30Z")).await.unwrap();
    assert_eq!(db.store.api_key(&key.api_key_id).await.unwrap().last_used_at, Some(ts(NOW)), "at most once a minute");

    let revoked = db.store.revoke_api_key(&key.api_key_id, ts("2026-11-29T00:00:00Z")).await.unwrap();
    let again = db.store.revoke_api_key(&key.api_key_id, ts("2026-11-30T00:00:00Z")).await.unwrap();
    assert_eq!(revoked.revoked_at, again.revoked_at, "the first revocation time stays");
    assert_eq!(db.store.count_api_keys().await.unwrap(), 1);
}

async fn access_settings_default_closed_and_persist(db: TestDb) {
    assert_eq!(db.store.access_settings().await.unwrap(), AccessSettings::default());
    let open = AccessSettings { product_admins_allowed: true, user_access_admins_allowed: false };
    db.store.set_access_settings(&open).await.unwrap();
    db.store.set_access_settings(&open).await.unwrap();
    assert_eq!(db.store.access_settings().await.unwrap(), open);
}
