use std::sync::Arc;

use model::clock::ManualClock;
use model::webhook::Trigger;
use testkit::{TestDb, backend_tests};
use webhooks::{SealingKey, SubscriptionError, SubscriptionInput, Subscriptions, UrlPolicy};

backend_tests!(subscriptions_are_checked_limited_and_keep_their_secret_sealed);

fn input(name: &str, url: &str, secret: Option<&str>) -> SubscriptionInput {
    SubscriptionInput {
        name: name.to_owned(),
        url: url.to_owned(),
        secret: secret.map(str::to_owned),
        triggers: vec![Trigger::TaskSuccess, Trigger::TaskFailure, Trigger::TaskSuccess],
        notes: "the Slack summary flow".to_owned(),
        enabled: true,
    }
}

async fn subscriptions_are_checked_limited_and_keep_their_secret_sealed(db: TestDb) {
    let clock = ManualClock::new("2026-11-29T12:00:00Z".parse().unwrap());
    let key = SealingKey::from_base64(&SealingKey::generate()).unwrap();
    let urls = UrlPolicy::new("http://127.0.0.1:8080", &["http://127.0.0.1:".to_owned()]);
    let subscriptions = Subscriptions::new(db.store.clone(), key.clone(), urls, 3, Arc::new(clock));
    let atlassian = "https://api-private.atlassian.com/automation/webhooks/jira/a/b/c";
    let secret = "a-long-enough-secret-1";

    let created = subscriptions.create(&input("Automation", atlassian, Some(secret))).await.unwrap();
    assert_eq!(created.triggers, vec![Trigger::TaskSuccess, Trigger::TaskFailure], "duplicates dropped");
    let listed = serde_json::to_string(&subscriptions.list().await.unwrap()).unwrap();
    assert!(!listed.contains(secret) && !listed.contains("secret"), "never shown again: {listed}");
    assert_eq!(subscriptions.signing_secret(&created.id).await.unwrap().0, secret);

    // Every problem at once.
    let SubscriptionError::Invalid(problems) = subscriptions
        .create(&SubscriptionInput { triggers: vec![], ..input(" ", "https://evil.example/", Some("short")) })
        .await
        .unwrap_err()
    else {
        panic!()
    };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["name", "url", "secret", "triggers"]);
    assert!(problems[1].message.contains("https://api-private.atlassian.com/automation/webhooks/"));
    assert!(problems.iter().all(|p| !p.input.contains("short")), "the secret is not echoed");
    let missing = subscriptions.create(&input("No secret", atlassian, None)).await.unwrap_err();
    assert!(matches!(missing, SubscriptionError::Invalid(ref p) if p[0].field == "secret"));
    let clash = subscriptions.create(&input("automation", atlassian, Some(secret))).await.unwrap_err();
    assert!(matches!(clash, SubscriptionError::Conflict(_)), "{clash}");

    // The installation's limit counts webhooks to other systems; those to its own flows stay on
    // this machine and do not count.
    subscriptions.create(&input("Local", "http://127.0.0.1:9000/hook", Some(secret))).await.unwrap();
    let own = "http://127.0.0.1:8080/automation/webhooks/";
    let mut own_ids = Vec::new();
    for flow in ["x", "y", "z", "w"] {
        let created = subscriptions.create(&input(&format!("Own {flow}"), &format!("{own}{flow}"), Some(secret))).await;
        own_ids.push(created.unwrap().id);
    }
    subscriptions.create(&input("Third", "http://127.0.0.1:9001/hook", Some(secret))).await.unwrap();
    let over = subscriptions.create(&input("Fourth", atlassian, Some(secret))).await.unwrap_err();
    assert!(matches!(over, SubscriptionError::Conflict(ref m) if m.contains("limit")), "{over}");
    // Pointing an own one elsewhere makes it count.
    let moved = subscriptions.update(&own_ids[0], &input("Own x", "http://127.0.0.1:9002/hook", None)).await;
    assert!(matches!(moved, Err(SubscriptionError::Conflict(ref m)) if m.contains("limit")), "{moved:?}");
    for id in &own_ids {
        subscriptions.delete(id).await.unwrap();
    }
    let third = subscriptions.list().await.unwrap().into_iter().find(|s| s.name == "Third").unwrap();
    subscriptions.delete(&third.id).await.unwrap();

    // Replacing without a secret keeps it; with one, changes it.
    let updated = subscriptions
        .update(&created.id, &SubscriptionInput { enabled: false, ..input("Automation (paused)", atlassian, None) })
        .await
        .unwrap();
    assert!(!updated.enabled);
    assert_eq!(subscriptions.signing_secret(&created.id).await.unwrap().0, secret);
    subscriptions
        .update(&created.id, &input("Automation", atlassian, Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")))
        .await
        .unwrap();
    assert_eq!(subscriptions.signing_secret(&created.id).await.unwrap().0, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");

    // Another installation key cannot open it, and says what to do.
    let other = Subscriptions::new(
        db.store.clone(),
        SealingKey::from_base64(&SealingKey::generate()).unwrap(),
        UrlPolicy::new("http://127.0.0.1:8080", &[]),
        3,
        Arc::new(ManualClock::new("2026-11-29T12:00:00Z".parse().unwrap())),
    );
    let refused = other.signing_secret(&created.id).await.unwrap_err();
    assert!(refused.to_string().contains("set the secret again"), "{refused}");

    subscriptions.delete(&created.id).await.unwrap();
    assert!(matches!(subscriptions.get(&created.id).await, Err(SubscriptionError::NotFound(_))));
}
