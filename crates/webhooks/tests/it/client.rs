//! The guarded client against real receivers on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use testkit::tls::TestCa;
use webhooks::client::RESPONSE_PREFIX_BYTES;
use webhooks::{AddressPolicy, GuardedClient, Request, SendError, Timeouts};

/// A receiver on 127.0.0.1:0; returns its base URL and how many requests reached it.
async fn receiver() -> (String, Arc<AtomicUsize>) {
    let (app, hits) = receiver_app();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, hits)
}

/// The receiver's routes, and how many requests reached them.
fn receiver_app() -> (Router, Arc<AtomicUsize>) {
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
    (app, hits)
}

/// Accepts TLS connections for axum; a handshake the client gives up on is skipped.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    tls: tokio_rustls::TlsAcceptor,
    handshakes_failed: Arc<AtomicUsize>,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, address)) = self.tcp.accept().await else { continue };
            match self.tls.accept(tcp).await {
                Ok(stream) => return (stream, address),
                Err(_) => {
                    self.handshakes_failed.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// The receiver over TLS with `ca`'s certificate: its port, requests served, failed handshakes.
async fn tls_receiver(ca: &TestCa) -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (app, hits) = receiver_app();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let handshakes_failed = Arc::new(AtomicUsize::new(0));
    let listener = TlsListener { tcp, tls: ca.acceptor(), handshakes_failed: handshakes_failed.clone() };
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, hits, handshakes_failed)
}

fn loopback_allowed() -> AddressPolicy {
    AddressPolicy::parse(&["127.0.0.0/8".to_owned()]).unwrap()
}

fn request(url: String) -> Request {
    Request {
        method: "POST".into(),
        url,
        headers: vec![("x-token".into(), "secret".into())],
        body: Some(b"{\"a\":1}".to_vec()),
    }
}

#[tokio::test]
async fn allowed_calls_go_through_with_headers_and_body() {
    let (base, hits) = receiver().await;
    let client = GuardedClient::new(loopback_allowed(), Timeouts::default()).unwrap();
    let answer = client.send(&request(format!("{base}/ok")), RESPONSE_PREFIX_BYTES).await.unwrap();
    assert_eq!(answer.status, 200);
    let body = String::from_utf8(answer.body).unwrap();
    assert!(body.starts_with("ucm/") && body.ends_with("|secret|{\"a\":1}"), "{body}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn loopback_is_refused_unless_allowed_and_nothing_is_sent() {
    let (base, hits) = receiver().await;
    let strict = GuardedClient::new(AddressPolicy::default(), Timeouts::default()).unwrap();
    let literal = strict.send(&request(format!("{base}/ok")), RESPONSE_PREFIX_BYTES).await.unwrap_err();
    assert!(matches!(literal, SendError::Refused(_)), "{literal}");
    // By name too: `localhost` resolves to loopback, and the resolver refuses it.
    let port = base.rsplit(':').next().unwrap();
    let named = strict.send(&request(format!("http://localhost:{port}/ok")), RESPONSE_PREFIX_BYTES).await.unwrap_err();
    assert!(matches!(named, SendError::Refused(ref m) if m.contains("localhost")), "{named}");
    assert!(!named.is_transient());
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached the receiver");
    let allowed = GuardedClient::new(loopback_allowed(), Timeouts::default()).unwrap();
    assert_eq!(
        allowed.send(&request(format!("http://localhost:{port}/ok")), RESPONSE_PREFIX_BYTES).await.unwrap().status,
        200
    );
}

#[tokio::test]
async fn redirects_are_answers_not_followed() {
    let (base, hits) = receiver().await;
    let client = GuardedClient::new(loopback_allowed(), Timeouts::default()).unwrap();
    let answer = client.send(&request(format!("{base}/moved")), RESPONSE_PREFIX_BYTES).await.unwrap();
    assert_eq!(answer.status, 301);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the Location was not visited");
}

#[tokio::test]
async fn a_hanging_receiver_times_out() {
    let (base, _) = receiver().await;
    let timeouts = Timeouts { connect: Duration::from_secs(5), total: Duration::from_millis(300) };
    let client = GuardedClient::new(loopback_allowed(), timeouts).unwrap();
    let error = client.send(&request(format!("{base}/slow")), RESPONSE_PREFIX_BYTES).await.unwrap_err();
    assert_eq!(error, SendError::Timeout);
    assert!(error.is_transient());
}

#[tokio::test]
async fn retry_after_is_read_and_bodies_are_cut_short() {
    let (base, _) = receiver().await;
    let client = GuardedClient::new(loopback_allowed(), Timeouts::default()).unwrap();
    let answer = client.send(&request(format!("{base}/busy")), RESPONSE_PREFIX_BYTES).await.unwrap();
    assert_eq!((answer.status, answer.header("retry-after")), (429, Some("7")));
    assert_eq!(answer.body.len(), RESPONSE_PREFIX_BYTES);
}

#[tokio::test]
async fn https_receivers_are_verified_against_trusted_roots() {
    let ca = TestCa::new();
    let (port, hits, handshakes_failed) = tls_receiver(&ca).await;
    let roots = GuardedClient::parse_roots(ca.ca_pem.as_bytes()).unwrap();
    let trusting = GuardedClient::with_roots(loopback_allowed(), Timeouts::default(), roots).unwrap();
    let answer = trusting.send(&request(format!("https://localhost:{port}/ok")), RESPONSE_PREFIX_BYTES).await.unwrap();
    assert_eq!(answer.status, 200);
    assert!(String::from_utf8(answer.body).unwrap().ends_with("|secret|{\"a\":1}"));
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // The system's roots alone do not know this CA: nothing is sent, and trying again may help
    // (the receiver may fix its certificate).
    let system_only = GuardedClient::new(loopback_allowed(), Timeouts::default()).unwrap();
    let untrusted =
        system_only.send(&request(format!("https://localhost:{port}/ok")), RESPONSE_PREFIX_BYTES).await.unwrap_err();
    assert!(matches!(untrusted, SendError::Connect(ref m) if m.contains("certificate")), "{untrusted}");
    assert!(untrusted.is_transient());
    // A certificate for `localhost` does not cover 127.0.0.1.
    let wrong_name =
        trusting.send(&request(format!("https://127.0.0.1:{port}/ok")), RESPONSE_PREFIX_BYTES).await.unwrap_err();
    assert!(matches!(wrong_name, SendError::Connect(ref m) if m.contains("certificate")), "{wrong_name}");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "no request went over an unverified connection");
    // The receiver sees the refused handshakes end a moment after the client gives up.
    for _ in 0..100 {
        if handshakes_failed.load(Ordering::SeqCst) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(handshakes_failed.load(Ordering::SeqCst), 2);

    // The address policy holds for https as for http.
    let strict = GuardedClient::new(AddressPolicy::default(), Timeouts::default()).unwrap();
    let refused =
        strict.send(&request(format!("https://localhost:{port}/ok")), RESPONSE_PREFIX_BYTES).await.unwrap_err();
    assert!(matches!(refused, SendError::Refused(_)), "{refused}");
}

#[test]
fn extra_roots_must_hold_a_certificate() {
    let error = GuardedClient::parse_roots(b"not a certificate").unwrap_err();
    assert!(error.to_string().contains("no PEM certificate"), "{error}");
    assert!(GuardedClient::parse_roots(TestCa::new().ca_pem.as_bytes()).is_ok());
}

#[tokio::test]
async fn unusable_urls_say_why() {
    let client = GuardedClient::new(loopback_allowed(), Timeouts::default()).unwrap();
    let ftp = client.send(&request("ftp://127.0.0.1:1/x".into()), RESPONSE_PREFIX_BYTES).await.unwrap_err();
    assert!(matches!(ftp, SendError::BadUrl(ref m) if m.contains("only http:// and https://")), "{ftp}");
    assert!(matches!(client.send(&request("nonsense".into()), RESPONSE_PREFIX_BYTES).await, Err(SendError::BadUrl(_))));
    // A port where nobody listens: a connection error, worth retrying.
    let closed = client.send(&request("http://127.0.0.1:9/x".into()), RESPONSE_PREFIX_BYTES).await.unwrap_err();
    assert!(matches!(closed, SendError::Connect(_)), "{closed}");
    assert!(closed.is_transient());
}
