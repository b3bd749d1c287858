//! The REST API over real HTTP on 127.0.0.1, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

mod access;
mod agent;
mod api_keys;
mod connections;
mod flows;
mod incoming;
mod mcp;
mod openapi;
mod organization;
mod saved_filters;
mod tasks;
mod users;
mod web;
mod webhooks;

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use model::apikey::{ApiKey, ApiKeyRole};
use model::clock::ManualClock;
use reqwest::StatusCode;
use serde_json::Value;
use server::AppState;
use testkit::TestDb;

pub const PUBLIC_URL: &str = "https://ucm.example.com";
/// Requests a flow's webhook takes per minute in these tests.
pub const WEBHOOK_RATE_PER_MINUTE: u32 = 20;

pub fn now() -> Timestamp {
    "2026-11-28T12:00:00Z".parse().unwrap()
}

/// A server on 127.0.0.1 over a test database with the demo organization (60 users), an admin
/// key, and a clock the test can move.
#[derive(Debug)]
pub struct App {
    pub base: String,
    pub admin_key: String,
    pub clock: ManualClock,
    pub db: TestDb,
    /// The server's own task service (for a scheduler pass the server does not run itself).
    pub tasks: ::tasks::TaskService,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl App {
    pub async fn start(db: TestDb) -> Self {
        // Nothing listens on port 9: no test reaches an Atlassian API unless it starts one.
        Self::with_atlassian(db, "http://127.0.0.1:9").await
    }

    /// A server whose Atlassian Admin API is at `api_base` (a simulator).
    pub async fn with_atlassian(db: TestDb, api_base: &str) -> Self {
        db.store.import_directory(&directory::demo::organization(60, now(), 3), &|_| {}).await.unwrap();
        let clock = ManualClock::new(now());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let organization = ::atlassian::Organization::new(
            db.store.clone(),
            ::webhooks::GuardedClient::new(
                ::webhooks::AddressPolicy::parse(&["127.0.0.0/8".to_owned()]).unwrap(),
                ::webhooks::Timeouts::default(),
            )
            .unwrap(),
            ::webhooks::SealingKey::from_base64(&::webhooks::SealingKey::generate()).unwrap(),
            Arc::new(clock.clone()),
            ::atlassian::OrgSettings { api_base: api_base.to_owned(), min_interval: std::time::Duration::ZERO },
        );
        let local = directory::LocalDirectory::new(db.store.clone(), Arc::new(clock.clone()));
        let directory: Arc<dyn directory::Directory> =
            Arc::new(::atlassian::OrgDirectory::new(local, organization.clone()).await.unwrap());
        let settings = ::tasks::TaskSettings { public_url: PUBLIC_URL.to_owned(), ..::tasks::TaskSettings::default() };
        let connections = ::connectors::Connections::new(
            db.store.clone(),
            ::webhooks::SealingKey::from_base64(&::webhooks::SealingKey::generate()).unwrap(),
            ::webhooks::GuardedClient::new(
                ::webhooks::AddressPolicy::parse(&["127.0.0.0/8".to_owned()]).unwrap(),
                ::webhooks::Timeouts::default(),
            )
            .unwrap(),
            Arc::new(clock.clone()),
        );
        let tools = ::agent::Tools::new(db.store.read_only().await.unwrap(), Arc::new(clock.clone()), PUBLIC_URL);
        let flows = ::automation::Flows::new(
            db.store.clone(),
            ::webhooks::SealingKey::from_base64(&::webhooks::SealingKey::generate()).unwrap(),
            Arc::new(clock.clone()),
            PUBLIC_URL,
        );
        let tasks = ::tasks::TaskService::new(db.store.clone(), directory.clone(), Arc::new(clock.clone()), settings);
        let state = AppState {
            store: db.store.clone(),
            directory: directory.clone(),
            organization,
            clock: Arc::new(clock.clone()),
            public_url: PUBLIC_URL.to_owned(),
            tasks: tasks.clone(),
            webhooks: ::webhooks::Subscriptions::new(
                db.store.clone(),
                ::webhooks::SealingKey::from_base64(&::webhooks::SealingKey::generate()).unwrap(),
                ::webhooks::UrlPolicy::new(PUBLIC_URL, &["http://127.0.0.1:".to_owned()]),
                3,
                Arc::new(clock.clone()),
            ),
            delivery_metrics: Arc::default(),
            connections: connections.clone(),
            tools: tools.clone(),
            flows: flows.clone(),
            executor: ::automation::Executor::new(
                flows.clone(),
                db.store.clone(),
                tools.clone(),
                None,
                connections.clone(),
                Arc::new(clock.clone()),
                PUBLIC_URL,
                ::automation::ExecutorSettings::default(),
            ),
            webhook_rate: Arc::new(::automation::RateLimit::new(WEBHOOK_RATE_PER_MINUTE)),
            sync_slot: Some(::tasks::SyncSlot::new("03:00", "Europe/Berlin").unwrap()),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel();
        tokio::spawn(server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        let mut app =
            Self { base, admin_key: String::new(), clock, db, tasks, http: testkit::http_client(), stop: Some(stop) };
        app.admin_key = app.key("admin", ApiKeyRole::Admin, None, SignedDuration::from_hours(24 * 90)).await;
        app
    }

    /// Stores a key directly and returns its secret.
    pub async fn key(&self, name: &str, role: ApiKeyRole, principal: Option<&str>, lifetime: SignedDuration) -> String {
        let now = self.clock_now();
        let (key, secret) =
            ApiKey::mint(name.to_owned(), role, principal.map(Into::into), now, now.checked_add(lifetime).unwrap());
        self.db.store.insert_api_key(&key, &secret.hash()).await.unwrap();
        secret.expose().to_owned()
    }

    fn clock_now(&self) -> Timestamp {
        use model::clock::Clock as _;
        self.clock.now()
    }

    /// A request with the admin key.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.admin_key)
    }

    pub fn request(&self, method: reqwest::Method, path: &str, key: Option<&str>) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match key {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        }
    }

    /// A request with the admin key and, if given, a JSON body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Result<reqwest::Response> {
        let request = self.request(method, path, Some(&self.admin_key));
        match body {
            Some(body) => request.json(&body).send().await,
            None => request.send().await,
        }
    }

    /// The first user with `role`, by account id.
    pub async fn account_with_role(&self, role: &str) -> String {
        let body = json_ok(self.get(&format!("/api/v1/users?roles={role}&pageSize=10")).send().await.unwrap()).await;
        body["users"][0]["accountId"].as_str().unwrap().to_owned()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Asserts 200 and returns the JSON body.
pub async fn json_ok(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body:#}");
    body
}

/// Asserts a problem+json answer with `status` and returns it.
pub async fn problem(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json");
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert_eq!(body["requestId"], request_id, "the body names the request");
    body
}
