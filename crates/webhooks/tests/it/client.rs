//! The guarded client against real receivers on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use webhooks::{AddressPolicy, GuardedClient, Outbound, SendError, Timeouts};

/// A receiver on 127.0.0.1:0; returns its base URL and how many requests reached it.
async fn receiver() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let count = |hits: Arc<AtomicUsize>| move || hits.fetch_add(1, Ordering::SeqCst);
    let (ok, moved, slow, big) = (count(hits.clone()), count(hits.clone()), count(hits.clone()), count(hits.clone()));
    let app = Router::new()
        .route(
            "/ok",
            post(move |headers: HeaderMap, body: String| async move {
                ok();
                let agent =
                    headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                let token = headers.get("x-token").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                (StatusCode::OK, format!("{agent}|{token}|{body}"))
            }),
        )
        .route(
            "/moved",
            post(move || async move {
                moved();
                (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "/ok")]).into_response()
            }),
        )
        .route(
            "/slow",
            post(move || async move {
                slow();
                tokio::time::sleep(Duration::from_secs(30)).await;
                StatusCode::OK
            }),
        )
        .route(
            "/busy",
            post(move || async move {
                big();
                (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "7")], "x".repeat(10_000)).into_response()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, hits)
}

fn loopback_allowed() -> AddressPolicy {
    AddressPolicy::parse(&["127.0.0.0/8".to_owned()]).unwrap()
}

fn request(url: String) -> Outbound {
    Outbound { url, headers: vec![("x-token".into(), "secret".into())], body: b"{\"a\":1}".to_vec() }
}

#[tokio::test]
async fn allowed_calls_go_through_with_headers_and_body() {
    let (base, hits) = receiver().await;
    let client = GuardedClient::new(loopback_allowed(), Timeouts::default()).unwrap();
    let answer = client.post(&request(format!("{base}/ok"))).await.unwrap();
    assert_eq!(answer.status, 200);
    let body = String::from_utf8(answer.body_prefix).unwrap();
    assert!(body.starts_with("ucm/") && body.ends_with("|secret|{\"a\":1}"), "{body}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn loopback_is_refused_unless_allowed_and_nothing_is_sent() {
    let (base, hits) = receiver().await;
    let strict = GuardedClient::new(AddressPolicy::default(), Timeouts::default()).unwrap();
    let literal = strict.post(&request(format!("{base}/ok"))).await.unwrap_err();
    assert!(matches!(literal, SendError::Refused(_)), "{literal}");
    // By name too: `localhost` resolves to loopback, and the resolver refuses it.
    let port = base.rsplit(':').next().unwrap();
    let named = strict.post(&request(format!("http://localhost:{port}/ok"))).await.unwrap_err();
    assert!(matches!(named, SendError::Refused(ref m) if m.contains("localhost")), "{named}");
    assert!(!named.is_transient());
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached the receiver");
    let allowed = GuardedClient::new(loopback_allowed(), Timeouts::default()).unwrap();
    assert_eq!(allowed.post(&request(format!("http://localhost:{port}/ok"))).await.unwrap().status, 200);
}

#[tokio::test]
async fn redirects_are_answers_not_followed() {
    let (base, hits) = receiver().await;
    let client = GuardedClient::new(loopback_allowed(), Timeouts::default()).unwrap();
    let answer = client.post(&request(format!("{base}/moved"))).await.unwrap();
    assert_eq!(answer.status, 301);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the Location was not visited");
}

#[tokio::test]
async fn a_hanging_receiver_times_out() {
    let (base, _) = receiver().await;
    let timeouts = Timeouts { connect: Duration::from_secs(5), total: Duration::from_millis(300) };
    let client = GuardedClient::new(loopback_allowed(), timeouts).unwrap();
    let error = client.post(&request(format!("{base}/slow"))).await.unwrap_err();
    assert_eq!(error, SendError::Timeout);
    assert!(error.is_transient());
}

#[tokio::test]
async fn retry_after_is_read_and_bodies_are_cut_short() {
    let (base, _) = receiver().await;
    let client = GuardedClient::new(loopback_allowed(), Timeouts::default()).unwrap();
    let answer = client.post(&request(format!("{base}/busy"))).await.unwrap();
    assert_eq!((answer.status, answer.retry_after.as_deref()), (429, Some("7")));
    assert_eq!(answer.body_prefix.len(), webhooks::client::RESPONSE_PREFIX_BYTES);
}

#[tokio::test]
async fn unusable_urls_say_why() {
    let client = GuardedClient::new(loopback_allowed(), Timeouts::default()).unwrap();
    let https = client.post(&request("https://127.0.0.1:1/x".into())).await.unwrap_err();
    assert!(matches!(https, SendError::BadUrl(ref m) if m.contains("TLS")), "{https}");
    assert!(matches!(client.post(&request("nonsense".into())).await, Err(SendError::BadUrl(_))));
    // A port where nobody listens: a connection error, worth retrying.
    let closed = client.post(&request("http://127.0.0.1:9/x".into())).await.unwrap_err();
    assert!(matches!(closed, SendError::Connect(_)), "{closed}");
    assert!(closed.is_transient());
}
