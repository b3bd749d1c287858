//! A local simulator of the Admin API subset ucm uses (NOTES §7), over a generated
//! organization: `ucm simulate atlassian`, and the tests' and benchmarks' peer.
//!
//! It checks the bearer key, pages with bare cursors on v2 and URLs on v1, enforces the
//! documented limits (`limit` ≤ 100 on users and groups), answers membership changes as the
//! real API does (204; 409 "already"; 409 past a product's capacity on a site; 404 for a
//! missing membership; 403 for a group synced from an identity provider), sends
//! `X-RateLimit-*` headers on every answer, and can refuse calls with 429 (a per-second limit,
//! or every k-th call), fail every k-th call with a 500, or be down (503).

mod org;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use org::{SYNCED_PREFIX, SimGroup, SimOrg, SimSite, SimUser};

use crate::api;

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct SimSettings {
    /// The organization API key it accepts.
    pub key: String,
    /// A key created with scopes: `GET /v1/orgs` lists nothing.
    pub scoped: bool,
    /// Calls allowed per second (a fixed window); past it, 429.
    pub requests_per_second: Option<u32>,
    /// Every k-th call answers 429 (with `X-RateLimit-Reset` a moment ahead).
    pub rate_limit_every: Option<u64>,
    /// Every k-th call answers 500.
    pub fail_every: Option<u64>,
    /// An outage: every call answers 503 (with `Retry-After: 0`) until it is over.
    pub down: bool,
    /// Reads show a write only this long after it (Atlassian's eventual consistency).
    pub lag: std::time::Duration,
}

impl SimSettings {
    /// Accepts `key`, with no limits or faults.
    pub fn new(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            scoped: false,
            requests_per_second: None,
            rate_limit_every: None,
            fail_every: None,
            down: false,
            lag: std::time::Duration::ZERO,
        }
    }
}

/// The simulator's state: the organization, and what was asked of it.
#[derive(Debug)]
pub struct Simulator {
    org: Mutex<SimOrg>,
    /// While writes are not yet visible: the organization as reads still show it, and until when.
    stale: Mutex<Option<(SimOrg, std::time::Instant)>>,
    settings: Mutex<SimSettings>,
    calls: AtomicU64,
    refused: AtomicU64,
    /// The current one-second window: when it started and how many calls it has had.
    window: Mutex<(Timestamp, u32)>,
}

impl Simulator {
    pub fn new(org: SimOrg, settings: SimSettings) -> Arc<Self> {
        Arc::new(Self {
            org: Mutex::new(org),
            stale: Mutex::new(None),
            settings: Mutex::new(settings),
            calls: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            window: Mutex::new((Timestamp::UNIX_EPOCH, 0)),
        })
    }

    /// The organization as it is now (tests compare it with what ucm synced).
    pub fn org(&self) -> MutexGuard<'_, SimOrg> {
        self.org.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The organization as reads show it: before recent writes while they lag.
    fn read(&self) -> Reading<'_> {
        let mut stale = self.stale.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((org, until)) = stale.as_ref() {
            if std::time::Instant::now() < *until {
                return Reading::Stale(Box::new(org.clone()));
            }
            *stale = None;
        }
        drop(stale);
        Reading::Live(self.org())
    }

    /// The organization to change: reads keep showing it as it was for `lag`.
    fn write(&self) -> MutexGuard<'_, SimOrg> {
        let lag = self.settings().lag;
        let org = self.org();
        if !lag.is_zero() {
            let mut stale = self.stale.lock().unwrap_or_else(PoisonError::into_inner);
            if stale.as_ref().is_none_or(|(_, until)| std::time::Instant::now() >= *until) {
                *stale = Some((org.clone(), std::time::Instant::now() + lag));
            }
        }
        org
    }

    /// Changes how it behaves from the next call on.
    pub fn settings(&self) -> MutexGuard<'_, SimSettings> {
        self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Calls received, and how many of them were refused with 429.
    pub fn calls(&self) -> (u64, u64) {
        (self.calls.load(Ordering::SeqCst), self.refused.load(Ordering::SeqCst))
    }

    /// The routes under `/admin`.
    pub fn router(self: &Arc<Self>) -> Router {
        let org = "/admin/v2/orgs/{org_id}";
        let dir = "/admin/v2/orgs/{org_id}/directories/{directory_id}";
        Router::new()
            .route("/admin/v1/orgs", get(orgs))
            .route("/admin/v1/orgs/{org_id}", get(org_by_id))
            .route(&format!("{org}/directories"), get(directories))
            .route(&format!("{org}/workspaces"), post(workspaces))
            .route(&format!("{dir}/users/search"), post(search_users))
            .route(&format!("{dir}/users/count"), get(count_users))
            .route(&format!("{dir}/users/{{account_id}}/suspend"), post(suspend))
            .route(&format!("{dir}/users/{{account_id}}/restore"), post(restore))
            .route(&format!("{dir}/groups/search"), post(search_groups))
            .route(&format!("{dir}/groups/{{group_id}}/role-assignments"), get(group_roles))
            .route(&format!("{dir}/groups/{{group_id}}/memberships"), post(add_member))
            .route(&format!("{dir}/groups/{{group_id}}/memberships/{{account_id}}"), delete(remove_member))
            .fallback(|| async { errors(StatusCode::NOT_FOUND, "NOT_FOUND", "Request failed to match any route") })
            .layer(axum::middleware::from_fn_with_state(self.clone(), gate))
            .with_state(self.clone())
    }

    /// Serves on `listener` until the process ends.
    pub async fn serve(self: &Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// Serves on a free port of 127.0.0.1 in the background; the address.
    pub async fn start(self: &Arc<Self>) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let simulator = self.clone();
        tokio::spawn(async move { simulator.serve(listener).await });
        Ok(address)
    }
}

/// The organization a read sees.
enum Reading<'a> {
    Live(MutexGuard<'a, SimOrg>),
    Stale(Box<SimOrg>),
}

impl std::ops::Deref for Reading<'_> {
    type Target = SimOrg;

    fn deref(&self) -> &SimOrg {
        match self {
            Self::Live(org) => org,
            Self::Stale(org) => org,
        }
    }
}

type Sim = State<Arc<Simulator>>;

/// Every call: counted, the key checked, limits and faults applied, rate headers added.
async fn gate(State(sim): Sim, request: Request, next: Next) -> Response {
    let n = sim.calls.fetch_add(1, Ordering::SeqCst) + 1;
    let settings = sim.settings().clone();
    let now = Timestamp::now();
    let (limit, remaining, reset, over) = {
        let mut window = sim.window.lock().unwrap_or_else(PoisonError::into_inner);
        if now.duration_since(window.0) >= SignedDuration::from_secs(1) {
            *window = (now, 0);
        }
        window.1 += 1;
        let limit = settings.requests_per_second.unwrap_or(1000);
        let over = settings.requests_per_second.is_some() && window.1 > limit;
        (limit, limit.saturating_sub(window.1), window.0 + SignedDuration::from_secs(1), over)
    };
    let authorized = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|key| key == settings.key);
    let mut response = if !authorized {
        proxy_error(StatusCode::UNAUTHORIZED, "Unauthorized")
    } else if over || settings.rate_limit_every.is_some_and(|k| k > 0 && n % k == 0) {
        sim.refused.fetch_add(1, Ordering::SeqCst);
        let mut refused = proxy_error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded");
        if settings.requests_per_second.is_none() {
            // Injected: come back in a moment.
            let at = now + SignedDuration::from_millis(200);
            set(&mut refused, "x-ratelimit-reset", &at.to_string());
        }
        refused
    } else if settings.down {
        let mut down = errors(StatusCode::SERVICE_UNAVAILABLE, "ADMIN-503", "Service unavailable (simulated outage)");
        set(&mut down, "retry-after", "0");
        down
    } else if settings.fail_every.is_some_and(|k| k > 0 && n % k == 0) {
        errors(StatusCode::INTERNAL_SERVER_ERROR, "ADMIN-500-1", "Internal error (simulated)")
    } else {
        next.run(request).await
    };
    set(&mut response, "x-ratelimit-limit", &limit.to_string());
    set(&mut response, "x-ratelimit-remaining", &remaining.to_string());
    if response.headers().get("x-ratelimit-reset").is_none() {
        set(&mut response, "x-ratelimit-reset", &reset.to_string());
    }
    response
}

fn set(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// The `Errors` body of the v2 calls.
fn errors(status: StatusCode, code: &str, detail: &str) -> Response {
    let body = api::Errors {
        errors: vec![api::ErrorItem {
            id: Some(model::ids::new_uuid()),
            status: Some(status.as_u16().to_string()),
            code: Some(code.to_owned()),
            title: Some(status.canonical_reason().unwrap_or_default().to_owned()),
            detail: Some(detail.to_owned()),
        }],
    };
    (status, axum::Json(body)).into_response()
}

/// The gateway's body (401, 429).
fn proxy_error(status: StatusCode, message: &str) -> Response {
    let body = api::ProxyError { code: Some(f64::from(status.as_u16())), message: Some(message.to_owned()) };
    (status, axum::Json(body)).into_response()
}

fn bad_request(detail: &str) -> Response {
    errors(StatusCode::BAD_REQUEST, "INVALID_PARAM", detail)
}

/// A JSON body, or the type's default when there is none (the search bodies are optional).
fn body<T: DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| format!("Invalid request body: {e}"))
}

/// Opaque bare cursors: an offset, disguised.
fn cursor(offset: usize) -> String {
    format!("sim{:x}q", offset ^ 0x5a5a)
}

/// The offset a cursor stands for (none: the start); `None` for a cursor that is not one.
fn offset(cursor: Option<&str>) -> Option<usize> {
    let Some(cursor) = cursor else { return Some(0) };
    cursor
        .strip_prefix("sim")
        .and_then(|c| c.strip_suffix('q'))
        .and_then(|hex| usize::from_str_radix(hex, 16).ok())
        .map(|n| n ^ 0x5a5a)
}

/// One page of `items` from `cursor`, `limit` at most `max` (default `default`).
fn page<T: serde::Serialize>(
    items: Vec<T>,
    cursor_text: Option<&str>,
    limit: Option<u32>,
    default: u32,
    max: u32,
) -> Response {
    page_of(items, cursor_text, limit, default, max, |item| item)
}

/// One page of `items`, each shown by `show` (only the page's items are shown: a page of a
/// large organization costs the page, not the organization).
fn page_of<I, T: serde::Serialize>(
    items: Vec<I>,
    cursor_text: Option<&str>,
    limit: Option<u32>,
    default: u32,
    max: u32,
    show: impl Fn(I) -> T,
) -> Response {
    let limit = limit.unwrap_or(default);
    if limit == 0 || limit > max {
        return bad_request(&format!("limit must be between 1 and {max}"));
    }
    let Some(start) = offset(cursor_text) else { return bad_request("Invalid cursor") };
    let start = start.min(items.len());
    let end = (start + limit as usize).min(items.len());
    let next = (end < items.len()).then(|| cursor(end));
    let data: Vec<T> = items.into_iter().skip(start).take(end - start).map(show).collect();
    let links = api::Links { this: Some(cursor(start)), prev: None, next };
    axum::Json(api::Page { data, links }).into_response()
}

fn wrong_org(sim: &Simulator, org_id: &str) -> Option<Response> {
    (sim.org().org_id != org_id)
        .then(|| errors(StatusCode::NOT_FOUND, "ADMIN-404-2", "We couldn't find the organization."))
}

fn wrong_directory(sim: &Simulator, org_id: &str, directory_id: &str) -> Option<Response> {
    wrong_org(sim, org_id).or_else(|| {
        (directory_id != "-" && sim.org().directory_id != directory_id)
            .then(|| errors(StatusCode::NOT_FOUND, "NOT_FOUND", "We couldn't find the organization or directory."))
    })
}

fn org_model(org: &SimOrg) -> api::Org {
    let base = format!("https://api.atlassian.com/admin/v1/orgs/{}", org.org_id);
    api::Org {
        id: org.org_id.clone(),
        kind: "orgs".to_owned(),
        attributes: api::OrgAttributes { name: org.org_name.clone() },
        relationships: Some(serde_json::json!({
            "domains": {"links": {"related": format!("{base}/domains")}},
            "users": {"links": {"related": format!("{base}/users")}},
        })),
        links: Some(api::Links { this: Some(base), prev: None, next: None }),
    }
}

async fn orgs(State(sim): Sim) -> Response {
    let data = if sim.settings().scoped { Vec::new() } else { vec![org_model(&sim.org())] };
    axum::Json(api::Page { data, links: api::Links::default() }).into_response()
}

async fn org_by_id(State(sim): Sim, Path(org_id): Path<String>) -> Response {
    if let Some(refused) = wrong_org(&sim, &org_id) {
        return refused;
    }
    axum::Json(api::One { data: org_model(&sim.org()) }).into_response()
}

#[derive(Debug, Default, Deserialize)]
struct Paging {
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn directories(State(sim): Sim, Path(org_id): Path<String>, Query(paging): Query<Paging>) -> Response {
    if let Some(refused) = wrong_org(&sim, &org_id) {
        return refused;
    }
    let org = sim.org();
    let data = vec![api::UserDirectory {
        directory_id: org.directory_id.clone(),
        name: org.directory_name.clone(),
        icon: None,
    }];
    page(data, paging.cursor.as_deref(), paging.limit, 20, 100)
}

async fn workspaces(State(sim): Sim, Path(org_id): Path<String>, bytes: Bytes) -> Response {
    if let Some(refused) = wrong_org(&sim, &org_id) {
        return refused;
    }
    let search: api::WorkspaceSearch = match body(&bytes) {
        Ok(search) => search,
        Err(why) => return bad_request(&why),
    };
    let org = sim.read();
    let data: Vec<api::Workspace> = org
        .sites
        .iter()
        .flat_map(|site| {
            site.products.iter().map(|product| api::Workspace {
                id: SimOrg::ari(product, &site.cloud_id),
                kind: Some("workspace".to_owned()),
                attributes: api::WorkspaceAttributes {
                    name: Some(site.name.clone()),
                    type_key: Some(product.clone()),
                    kind: Some(product.clone()),
                    status: Some("online".to_owned()),
                    host_url: Some(site.url.clone()),
                    capacity: None,
                },
            })
        })
        .collect();
    page(data, search.cursor.as_deref(), search.limit, 20, 1000)
}

/// `GET …/users/count`: the directory's users (the filters are not simulated).
async fn count_users(State(sim): Sim, Path((org_id, directory_id)): Path<(String, String)>) -> Response {
    if let Some(refused) = wrong_directory(&sim, &org_id, &directory_id) {
        return refused;
    }
    let count = sim.read().users.len();
    axum::Json(api::Count { count: count as u64 }).into_response()
}

async fn search_users(State(sim): Sim, Path((org_id, directory_id)): Path<(String, String)>, bytes: Bytes) -> Response {
    if let Some(refused) = wrong_directory(&sim, &org_id, &directory_id) {
        return refused;
    }
    let search: api::UserSearch = match body(&bytes) {
        Ok(search) => search,
        Err(why) => return bad_request(&why),
    };
    if search.search_term.is_some() && search.emails.is_some() {
        return bad_request("searchTerm and emails are mutually exclusive");
    }
    if search.account_ids.as_ref().is_some_and(|ids| ids.is_empty() || ids.len() > 10)
        || search.group_ids.as_ref().is_some_and(|ids| ids.is_empty() || ids.len() > 10)
    {
        return bad_request("accountIds and groupIds take 1 to 10 items");
    }
    let org = sim.read();
    let term = search.search_term.as_deref().map(str::to_lowercase);
    let matching: Vec<&SimUser> = org
        .users
        .values()
        .filter(|u| search.account_ids.as_ref().is_none_or(|ids| ids.contains(&u.account_id)))
        .filter(|u| search.group_ids.as_ref().is_none_or(|ids| ids.iter().any(|g| u.groups.contains(g))))
        .filter(|u| search.emails.as_ref().is_none_or(|emails| emails.iter().any(|e| e.eq_ignore_ascii_case(&u.email))))
        .filter(|u| {
            term.as_ref().is_none_or(|t| u.name.to_lowercase().contains(t) || u.email.to_lowercase().contains(t))
        })
        .collect();
    page_of(matching, search.cursor.as_deref(), search.limit, 50, 100, |u| org.directory_user(u, &search.expand))
}

async fn search_groups(
    State(sim): Sim,
    Path((org_id, directory_id)): Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    if let Some(refused) = wrong_directory(&sim, &org_id, &directory_id) {
        return refused;
    }
    let search: api::GroupSearch = match body(&bytes) {
        Ok(search) => search,
        Err(why) => return bad_request(&why),
    };
    let org = sim.read();
    let mut groups: Vec<&SimGroup> = org.groups.iter().collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    let data: Vec<api::DirectoryGroup> = groups.into_iter().map(|g| org.directory_group(g)).collect();
    page(data, search.cursor.as_deref(), search.limit, 20, 100)
}

async fn group_roles(
    State(sim): Sim,
    Path((org_id, directory_id, group_id)): Path<(String, String, String)>,
    Query(paging): Query<Paging>,
) -> Response {
    if let Some(refused) = wrong_directory(&sim, &org_id, &directory_id) {
        return refused;
    }
    let org = sim.read();
    let Some(group) = org.group(&group_id) else {
        return errors(StatusCode::NOT_FOUND, "ADMIN-404-10", "We couldn't find the group.");
    };
    let data: Vec<api::GroupRoleAssignment> = group
        .grants
        .iter()
        .map(|(product, cloud_id)| api::GroupRoleAssignment {
            resource_id: SimOrg::ari(product, cloud_id),
            resource_owner: Some(product.clone()),
            default_role: Some("atlassian/user".to_owned()),
            roles: vec!["atlassian/user".to_owned()],
        })
        .collect();
    page(data, paging.cursor.as_deref(), paging.limit, 20, 100)
}

fn not_found_member() -> Response {
    errors(StatusCode::NOT_FOUND, "NOT_FOUND", "We couldn't find the organization, directory, group, or user.")
}

async fn add_member(
    State(sim): Sim,
    Path((org_id, directory_id, group_id)): Path<(String, String, String)>,
    bytes: Bytes,
) -> Response {
    if let Some(refused) = wrong_directory(&sim, &org_id, &directory_id) {
        return refused;
    }
    let input: api::MembershipInput = match serde_json::from_slice(&bytes) {
        Ok(input) => input,
        Err(e) => return bad_request(&format!("Invalid request body: {e}")),
    };
    let mut org = sim.write();
    let Some(group) = org.group(&group_id).cloned() else { return not_found_member() };
    let over = org.over_capacity(&input.account_id, &group).is_some();
    let Some(user) = org.users.get_mut(&input.account_id) else { return not_found_member() };
    if !group.modifiable {
        return errors(
            StatusCode::FORBIDDEN,
            "ADMIN-403-5",
            "You can't add a user to a group synced from an identity provider.",
        );
    }
    if user.groups.contains(&group_id) {
        return errors(StatusCode::CONFLICT, "ADMIN-409-28", "The user is already in the group.");
    }
    if over {
        return errors(StatusCode::CONFLICT, "ADMIN-409-3", "Product License Limit Exceeded");
    }
    user.groups.insert(group_id);
    StatusCode::NO_CONTENT.into_response()
}

async fn remove_member(
    State(sim): Sim,
    Path((org_id, directory_id, group_id, account_id)): Path<(String, String, String, String)>,
) -> Response {
    if let Some(refused) = wrong_directory(&sim, &org_id, &directory_id) {
        return refused;
    }
    let mut org = sim.write();
    let Some(group) = org.group(&group_id).cloned() else { return not_found_member() };
    let Some(user) = org.users.get_mut(&account_id) else { return not_found_member() };
    if !group.modifiable {
        return errors(
            StatusCode::FORBIDDEN,
            "ADMIN-403-5",
            "You can't remove a user from a group synced from an identity provider.",
        );
    }
    if !user.groups.remove(&group_id) {
        return not_found_member();
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn set_membership(
    sim: &Simulator,
    org_id: &str,
    directory_id: &str,
    account_id: &str,
    to: &'static str,
) -> Response {
    if let Some(refused) = wrong_directory(sim, org_id, directory_id) {
        return refused;
    }
    let mut org = sim.write();
    let Some(user) = org.users.get_mut(account_id) else { return not_found_member() };
    if user.membership_status != "no_membership" {
        user.membership_status = to;
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn suspend(
    State(sim): Sim,
    Path((org_id, directory_id, account_id)): Path<(String, String, String)>,
) -> Response {
    set_membership(&sim, &org_id, &directory_id, &account_id, "suspended").await
}

async fn restore(
    State(sim): Sim,
    Path((org_id, directory_id, account_id)): Path<(String, String, String)>,
) -> Response {
    set_membership(&sim, &org_id, &directory_id, &account_id, "active").await
}
