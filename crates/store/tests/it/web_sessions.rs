//! Web UI sessions: found by the hash of the cookie's value until they end, are deleted, or
//! their key is deleted.

use jiff::SignedDuration;
use store::WebSession;
use testkit::{TestDb, backend_tests};

use crate::{NOW, ts};

backend_tests!(a_session_lives_until_it_ends_or_is_deleted);

async fn a_session_lives_until_it_ends_or_is_deleted(db: TestDb) {
    let store = &db.store;
    let now = ts(NOW);
    let (key, secret) = model::apikey::ApiKey::mint(
        "k".into(),
        model::apikey::ApiKeyRole::Admin,
        None,
        now,
        now.checked_add(SignedDuration::from_hours(24)).unwrap(),
    );
    store.insert_api_key(&key, &secret.hash()).await.unwrap();
    let session = WebSession {
        api_key_id: key.api_key_id.clone(),
        csrf_token: "csrf".into(),
        created_at: now,
        expires_at: now.checked_add(SignedDuration::from_hours(12)).unwrap(),
    };
    store.insert_web_session("hash", &session, now).await.unwrap();
    assert_eq!(store.web_session("hash", now).await.unwrap(), Some(session.clone()));
    assert_eq!(store.web_session("other", now).await.unwrap(), None);
    let later = now.checked_add(SignedDuration::from_hours(13)).unwrap();
    assert_eq!(store.web_session("hash", later).await.unwrap(), None, "ended");
    store.delete_web_session("hash").await.unwrap();
    assert_eq!(store.web_session("hash", now).await.unwrap(), None, "signed out");
    // A new sign-in clears the sessions that ended.
    store.insert_web_session("old", &session, now).await.unwrap();
    store.insert_web_session("new", &session, later).await.unwrap();
    assert_eq!(store.web_session("old", now).await.unwrap(), None, "deleted when it had ended");
}
