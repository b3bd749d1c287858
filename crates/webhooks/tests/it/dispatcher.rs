//! The dispatcher against scripted receivers on 127.0.0.1, on both engines.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use model::clock::SystemClock;
use model::ids::ProcessId;
use model::webhook::{OutboundEvent, Trigger};
use testkit::{TestDb, backend_tests};
use webhooks::{
    AddressPolicy, DispatchSettings, Dispatcher, GuardedClient, Headers, SealingKey, SigningSecret, SubscriptionInput,
    Subscriptions, Timeouts, UrlPolicy, verify,
};

backend_tests!(
    two_failures_then_success_is_three_attempts,
    always_failing_is_four_attempts_then_dead,
    retry_after_is_honoured,
    gone_disables_the_subscription_and_redirects_are_not_followed,
    dead_deliveries_are_redelivered_by_hand_and_tests_are_sent,
    own_flows_are_reached_on_this_listener_and_nothing_else_local,
);

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// What the receiver saw: each request's `webhook-id`, and whether its signature verified.
#[derive(Default)]
struct Seen {
    requests: Vec<(String, bool, String)>,
}

#[derive(Clone)]
struct Script {
    answers: Arc<Mutex<Vec<Response>>>,
    seen: Arc<Mutex<Seen>>,
}

async fn receive(State(script): State<Script>, headers: HeaderMap, body: String) -> Response {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (id, stamp, signature) = (get("webhook-id"), get("webhook-timestamp"), get("webhook-signature"));
    let now = jiff::Timestamp::now().as_second();
    let verified = verify(
        &SigningSecret::new(SECRET).unwrap(),
        Headers { id: id.as_deref(), timestamp: stamp.as_deref(), signature: signature.as_deref() },
        body.as_bytes(),
        Some(now),
    )
    .is_ok()
        && get("x-automation-webhook-token").as_deref() == Some(SECRET);
    script.seen.lock().unwrap().requests.push((id.unwrap_or_default(), verified, body));
    let mut answers = script.answers.lock().unwrap();
    if answers.len() > 1 { answers.remove(0) } else { answers[0].clone_response() }
}

trait CloneResponse {
    fn clone_response(&self) -> Response;
}
impl CloneResponse for Response {
    fn clone_response(&self) -> Response {
        let mut copy = Response::new(axum::body::Body::empty());
        *copy.status_mut() = self.status();
        *copy.headers_mut() = self.headers().clone();
        copy
    }
}

/// A receiver answering `answers` in turn (the last one forever).
async fn receiver(answers: Vec<Response>) -> (String, Arc<Mutex<Seen>>) {
    let script = Script { answers: Arc::new(Mutex::new(answers)), seen: Arc::default() };
    let seen = script.seen.clone();
    let app = Router::new().route("/hook", post(receive)).with_state(script);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

struct Setup {
    dispatcher: Dispatcher,
    subscriptions: Subscriptions,
    db: TestDb,
    process: ProcessId,
}

async fn setup(db: TestDb, url: &str) -> Setup {
    let clock = Arc::new(SystemClock);
    let key = SealingKey::from_base64(&SealingKey::generate()).unwrap();
    let urls = UrlPolicy::new("http://127.0.0.1:8080", &["http://127.0.0.1:".to_owned()]);
    let subscriptions = Subscriptions::new(db.store.clone(), key, urls, 3, clock.clone());
    let input = SubscriptionInput {
        name: "receiver".into(),
        url: url.to_owned(),
        secret: Some(SECRET.into()),
        triggers: vec![Trigger::TaskSuccess],
        notes: String::new(),
        enabled: true,
    };
    subscriptions.create(&input).await.unwrap();
    let client =
        GuardedClient::new(AddressPolicy::parse(&["127.0.0.0/8".to_owned()]).unwrap(), Timeouts::default()).unwrap();
    let settings = DispatchSettings {
        retry_delays: vec![Duration::from_millis(10), Duration::from_millis(10), Duration::from_millis(10)],
        ..DispatchSettings::default()
    };
    let dispatcher = Dispatcher::new(db.store.clone(), subscriptions.clone(), client, settings, clock, Arc::default());
    let process = ProcessId::from(model::ids::new_uuid());
    let event = OutboundEvent {
        trigger: Trigger::TaskSuccess,
        body: "{\"trigger\":\"taskSuccess\"}".into(),
        process_id: Some(process.clone()),
        api_key_id: None,
    };
    assert_eq!(db.store.queue_event(&event, jiff::Timestamp::now()).await.unwrap(), 1);
    Setup { dispatcher, subscriptions, db, process }
}

/// Runs passes until the delivery is done or dead (or `max_wait` passes).
async fn settle(s: &Setup, max_wait: Duration) -> String {
    let deadline = std::time::Instant::now() + max_wait;
    loop {
        s.dispatcher.pass().await.unwrap();
        s.dispatcher.idle().await;
        let state = s.db.store.deliveries_of_run(&s.process).await.unwrap()[0].state.clone();
        if state == "succeeded" || state == "dead" || std::time::Instant::now() > deadline {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

fn status(code: StatusCode) -> Response {
    code.into_response()
}

async fn two_failures_then_success_is_three_attempts(db: TestDb) {
    let (url, seen) = receiver(vec![
        status(StatusCode::INTERNAL_SERVER_ERROR),
        status(StatusCode::SERVICE_UNAVAILABLE),
        status(StatusCode::OK),
    ])
    .await;
    let s = setup(db, &url).await;
    assert_eq!(settle(&s, Duration::from_secs(10)).await, "succeeded");
    let delivery = &s.db.store.deliveries_of_run(&s.process).await.unwrap()[0];
    let seen = std::mem::take(&mut seen.lock().unwrap().requests);
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter().all(|(id, verified, body)| id == &delivery.delivery_id
            && *verified
            && body == "{\"trigger\":\"taskSuccess\"}"),
        "the same webhook-id, signed, the body as stored: {:?}",
        seen
    );
    let (_, attempts) = s.db.store.delivery(&delivery.delivery_id).await.unwrap();
    let statuses: Vec<Option<u16>> = attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(503), Some(200)], "one row per attempt");
    let mut text = String::new();
    s.dispatcher.metrics().render(&mut text);
    assert!(text.contains("ucm_webhook_attempts_total{result=\"retried\"} 2"), "{text}");
    assert!(text.contains("ucm_webhook_attempts_total{result=\"succeeded\"} 1"), "{text}");
    assert!(text.contains("ucm_webhook_first_attempt_latency_seconds_count 1"), "{text}");
}

async fn always_failing_is_four_attempts_then_dead(db: TestDb) {
    let (url, seen) = receiver(vec![status(StatusCode::INTERNAL_SERVER_ERROR)]).await;
    let s = setup(db, &url).await;
    assert_eq!(settle(&s, Duration::from_secs(10)).await, "dead");
    assert_eq!(seen.lock().unwrap().requests.len(), 4, "1 attempt + 3 retries");
    // Nothing more happens to a dead delivery.
    s.dispatcher.pass().await.unwrap();
    s.dispatcher.idle().await;
    assert_eq!(seen.lock().unwrap().requests.len(), 4);
}

async fn retry_after_is_honoured(db: TestDb) {
    let busy = (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")]).into_response();
    let (url, seen) = receiver(vec![busy, status(StatusCode::OK)]).await;
    let s = setup(db, &url).await;
    s.dispatcher.pass().await.unwrap();
    s.dispatcher.idle().await;
    let delivery = &s.db.store.deliveries_of_run(&s.process).await.unwrap()[0];
    assert_eq!(delivery.state, "retrying");
    let wait = delivery.next_attempt_at.duration_since(jiff::Timestamp::now());
    assert!(wait > jiff::SignedDuration::from_millis(500), "the receiver's 1 s, not our 10 ms: {wait:?}");
    assert_eq!(settle(&s, Duration::from_secs(10)).await, "succeeded");
    assert_eq!(seen.lock().unwrap().requests.len(), 2);
}

async fn gone_disables_the_subscription_and_redirects_are_not_followed(db: TestDb) {
    let (url, seen) = receiver(vec![status(StatusCode::GONE)]).await;
    let s = setup(db, &url).await;
    assert_eq!(settle(&s, Duration::from_secs(10)).await, "dead");
    assert_eq!(seen.lock().unwrap().requests.len(), 1, "410 is final");
    let subscription = &s.subscriptions.list().await.unwrap()[0];
    assert!(!subscription.enabled);
    assert_eq!(subscription.disabled_reason.as_deref(), Some("the receiver answered 410 Gone"));

    let (url, seen) = receiver(vec![
        (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "http://127.0.0.1:9/elsewhere")]).into_response(),
    ])
    .await;
    let s = setup(TestDb::sqlite().await, &url).await;
    assert_eq!(settle(&s, Duration::from_secs(10)).await, "dead", "3xx counts as failure, not retried");
    assert_eq!(seen.lock().unwrap().requests.len(), 1);
}

async fn dead_deliveries_are_redelivered_by_hand_and_tests_are_sent(db: TestDb) {
    let failing = || status(StatusCode::INTERNAL_SERVER_ERROR);
    let (url, seen) = receiver(vec![failing(), failing(), failing(), failing(), status(StatusCode::OK)]).await;
    let s = setup(db, &url).await;
    assert_eq!(settle(&s, Duration::from_secs(10)).await, "dead");
    let subscription = s.subscriptions.list().await.unwrap()[0].id.clone();
    let dead = s.subscriptions.deliveries(&subscription, Some("dead"), 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].last_status, dead[0].attempts), (Some(500), 4));

    // By hand: a new round, and this time the receiver takes it.
    assert_eq!(s.subscriptions.redeliver(&[], Some(&subscription)).await.unwrap(), 1);
    assert_eq!(settle(&s, Duration::from_secs(10)).await, "succeeded");
    let (delivery, attempts) = s.subscriptions.delivery(&dead[0].delivery_id).await.unwrap();
    assert_eq!((delivery.state.as_str(), attempts.len()), ("succeeded", 5), "every attempt stays in the log");
    assert_eq!(attempts.last().unwrap().status, Some(200));
    assert_eq!(seen.lock().unwrap().requests.len(), 5);

    // "Send test": a delivery of its own, signed like any other.
    let test = s.subscriptions.send_test(&subscription, "http://127.0.0.1:8080").await.unwrap();
    for _ in 0..200 {
        s.dispatcher.pass().await.unwrap();
        s.dispatcher.idle().await;
        if s.subscriptions.delivery(&test).await.unwrap().0.state == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    let requests = std::mem::take(&mut seen.lock().unwrap().requests);
    let (id, verified, body) = requests.last().unwrap();
    assert_eq!(id, &test);
    assert!(*verified);
    assert!(body.contains("\"name\":\"Test from ucm\"") && body.starts_with("{\"trigger\":\"taskSuccess\""), "{body}");
    assert!(matches!(s.subscriptions.delivery("msg_nope").await, Err(webhooks::SubscriptionError::NotFound(_))));
}

/// Webhooks to this installation's own flows go to its own listener, although the public URL
/// names another host and loopback is not an allowed network; any other loopback URL stays
/// refused.
async fn own_flows_are_reached_on_this_listener_and_nothing_else_local(db: TestDb) {
    let paths: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = paths.clone();
    let app = Router::new().fallback(move |uri: axum::http::Uri| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(uri.path().to_owned());
            StatusCode::ACCEPTED
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let public = "https://ucm.example.com";
    let clock = Arc::new(SystemClock);
    let key = SealingKey::from_base64(&SealingKey::generate()).unwrap();
    let urls = UrlPolicy::new(public, &["http://127.0.0.1:".to_owned()]);
    let subscriptions = Subscriptions::new(db.store.clone(), key, urls, 3, clock.clone());
    for (name, url) in [
        ("own flow", format!("{public}/automation/webhooks/flow-1")),
        ("local", format!("http://127.0.0.1:{port}/hook")),
    ] {
        let input = SubscriptionInput {
            name: name.into(),
            url,
            secret: Some(SECRET.into()),
            triggers: vec![Trigger::TaskSuccess],
            notes: String::new(),
            enabled: true,
        };
        subscriptions.create(&input).await.unwrap();
    }
    // Loopback is not allowed: only the listener's own flow path is.
    let client = GuardedClient::new(AddressPolicy::default(), Timeouts::default()).unwrap();
    let dispatcher =
        Dispatcher::new(db.store.clone(), subscriptions, client, DispatchSettings::default(), clock, Arc::default())
            .with_own_flows(public, format!("0.0.0.0:{port}").parse().unwrap());
    let process = ProcessId::from(model::ids::new_uuid());
    let event = OutboundEvent {
        trigger: Trigger::TaskSuccess,
        body: "{}".into(),
        process_id: Some(process.clone()),
        api_key_id: None,
    };
    assert_eq!(db.store.queue_event(&event, jiff::Timestamp::now()).await.unwrap(), 2);
    dispatcher.pass().await.unwrap();
    dispatcher.idle().await;
    assert_eq!(*paths.lock().unwrap(), ["/automation/webhooks/flow-1"]);
    let mut states: Vec<(String, Option<u16>)> =
        db.store.deliveries_of_run(&process).await.unwrap().into_iter().map(|d| (d.state, d.last_status)).collect();
    states.sort();
    assert_eq!(states, [("dead".to_owned(), None), ("succeeded".to_owned(), Some(202))], "refused, not retried");
}
