//! Settings: API keys with their expiry state, who besides organization admins may use ucm,
//! the directory's daily sync slot (and "sync now"), and Notification Settings (webhooks, each
//! with its delivery log, "send test" and redelivery). Making and revoking keys is in `keys`,
//! adding and editing webhooks in `webhook_editor`; the sync slot is set in the configuration
//! file.

use agent::tools::origin;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use model::access::AccessSettings;
use model::apikey::{ApiKeyRole, KeyState};
use model::webhook::Delivery;
use serde::Deserialize;
use webhooks::SubscriptionError;

use super::{SignedIn, Viewer, error_page, page};
use crate::AppState;

/// Deliveries shown in a webhook's log.
const DELIVERY_LOG: u32 = 50;

fn when(at: Option<jiff::Timestamp>) -> String {
    at.map_or_else(|| "never".to_owned(), super::minute)
}

struct KeyRow {
    id: String,
    /// Not revoked or expired: it can be revoked.
    usable: bool,
    /// The key this session signed in with.
    own: bool,
    name: String,
    role: &'static str,
    prefix: String,
    state: &'static str,
    state_class: &'static str,
    expires: String,
    last_used: String,
}

struct WebhookRow {
    id: String,
    name: String,
    /// The whole URL for admin keys (it may hold a credential); its origin for read-only keys.
    url: String,
    triggers: String,
    state: String,
}

/// The directory sync: the backend, the daily slot and whether it is open now.
struct SyncView {
    backend: &'static str,
    /// `03:00–04:00 Europe/Berlin`; none when no daily sync is set.
    slot: Option<String>,
    /// Open now, or when it next opens, in words.
    state: String,
    /// After "sync now": the users the directory holds.
    synced: Option<u64>,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    viewer: Option<Viewer>,
    admin: bool,
    keys: Vec<KeyRow>,
    access: AccessSettings,
    sync: SyncView,
    webhooks: Vec<WebhookRow>,
    new_key: NewKeyView,
    /// The connected Atlassian organization.
    org: Option<super::organization::OrgRow>,
    connect: super::organization::ConnectFormView,
    org_notice: Option<String>,
}

fn sync_view(state: &AppState, now: jiff::Timestamp, synced: Option<u64>) -> SyncView {
    let slot_state = |slot: &tasks::SyncSlot| {
        let local = |at: jiff::Timestamp| {
            let zone = slot.time_zone();
            format!("{} {}", zone.to_datetime(at).strftime("%Y-%m-%d %H:%M"), zone.iana_name().unwrap_or("UTC"))
        };
        match slot.current_or_next(now) {
            Some((begin, end)) if begin <= now => format!(
                "Open now, until {}: no task starts; tasks that fall due meanwhile start when it ends.",
                local(end)
            ),
            Some((begin, _)) => format!("The next slot begins {} ({}).", local(begin), super::minute(begin)),
            None => "The slot's next beginning cannot be computed.".to_owned(),
        }
    };
    SyncView {
        backend: state.directory.backend(),
        slot: state.sync_slot.as_ref().map(tasks::SyncSlot::describe),
        state: state.sync_slot.as_ref().map_or_else(|| "No daily sync is set.".to_owned(), slot_state),
        synced,
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SettingsQuery {
    /// Set after "sync now" (its value is not read: the count shown is the directory's own).
    synced: Option<String>,
    /// Set after connecting or disconnecting the Atlassian organization.
    connected: Option<String>,
    disconnected: Option<String>,
    /// Set after "sync now" started an organization sync in the background.
    syncing: Option<String>,
}

fn webhook_state(enabled: bool, reason: Option<&str>) -> String {
    match (enabled, reason) {
        (true, _) => "enabled".to_owned(),
        (false, Some(reason)) => format!("disabled: {reason}"),
        (false, None) => "disabled".to_owned(),
    }
}

fn unavailable(e: &dyn std::fmt::Display) -> Response {
    super::session_unavailable(&e.to_string())
}

pub(crate) async fn show(
    State(state): State<AppState>,
    signed_in: SignedIn,
    super::PageQuery(query): super::PageQuery<SettingsQuery>,
) -> Response {
    // After "sync now", the count is read again rather than taken from the address.
    let synced = match query.synced {
        Some(_) => match state.store.count_users().await {
            Ok(users) => Some(users),
            Err(e) => return unavailable(&e),
        },
        None => None,
    };
    let org_notice = if query.connected.is_some() {
        Some("Connected. Sync now to read the organization into the directory.".to_owned())
    } else if query.disconnected.is_some() {
        Some("Disconnected: the key is deleted; the directory keeps what it last read.".to_owned())
    } else {
        None
    };
    let sync_started = query.syncing.is_some();
    let extras = SettingsExtras { synced, org_notice, sync_started, ..SettingsExtras::default() };
    settings_page(&state, &signed_in, extras).await
}

/// What a Settings page shows besides the stored settings: a form as typed with its problem,
/// or what an action just did.
#[derive(Debug, Default)]
pub(crate) struct SettingsExtras {
    /// After "sync now": the users the directory holds.
    pub(crate) synced: Option<u64>,
    pub(crate) new_key: NewKeyView,
    pub(crate) connect: super::organization::ConnectFormView,
    pub(crate) org_notice: Option<String>,
    /// "Sync now" just started an organization sync (it may not have claimed the sync yet).
    pub(crate) sync_started: bool,
}

/// The new-key form as typed, and what was wrong with it.
#[derive(Debug)]
pub(crate) struct NewKeyView {
    pub(crate) name: String,
    /// `admin` or `readOnly`.
    pub(crate) role: String,
    pub(crate) expires_in: String,
    pub(crate) problem: Option<String>,
}

impl Default for NewKeyView {
    fn default() -> Self {
        Self { name: String::new(), role: "admin".into(), expires_in: "90d".into(), problem: None }
    }
}

/// The Settings page; a form in `extras` with a problem makes it a 400.
pub(crate) async fn settings_page(state: &AppState, signed_in: &SignedIn, extras: SettingsExtras) -> Response {
    let SettingsExtras { synced, new_key, connect, org_notice, sync_started } = extras;
    let viewer = Viewer::from(signed_in);
    let admin = signed_in.key.role == ApiKeyRole::Admin;
    let now = state.clock.now();
    let keys = match state.store.api_keys().await {
        Ok(keys) => keys,
        Err(e) => return unavailable(&e),
    };
    // As in the API, only admin keys list the keys; a read-only key sees itself.
    let keys = keys
        .into_iter()
        .filter(|k| admin || k.api_key_id == signed_in.key.api_key_id)
        .map(|k| KeyRow {
            role: match k.role {
                ApiKeyRole::Admin => "admin",
                ApiKeyRole::ReadOnly => "read-only",
            },
            state: match k.state(now) {
                KeyState::Active => "active",
                KeyState::ExpiringSoon => "expires within 7 days",
                KeyState::Expired => "expired",
                KeyState::Revoked => "revoked",
            },
            state_class: k.state(now).as_str(),
            // A key that acts for a user may revoke that user's keys only (as the API says).
            usable: matches!(k.state(now), KeyState::Active | KeyState::ExpiringSoon)
                && (signed_in.key.principal.is_none() || k.principal == signed_in.key.principal),
            own: k.api_key_id == signed_in.key.api_key_id,
            id: k.api_key_id.0.clone(),
            expires: when(Some(k.expires_at)),
            last_used: when(k.last_used_at),
            prefix: k.secret_prefix,
            name: k.name,
        })
        .collect();
    let access = match state.store.access_settings().await {
        Ok(access) => access,
        Err(e) => return unavailable(&e),
    };
    let webhooks = match state.webhooks.list().await {
        Ok(list) => list,
        Err(e) => return unavailable(&e),
    };
    let webhooks = webhooks
        .into_iter()
        .map(|w| WebhookRow {
            url: if admin { w.url.clone() } else { origin(&w.url) },
            triggers: w.triggers.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "),
            state: webhook_state(w.enabled, w.disabled_reason.as_deref()),
            id: w.id,
            name: w.name,
        })
        .collect();
    let sync = sync_view(state, now, synced);
    let org = match state.organization.status().await {
        Ok(org) => org.map(|c| super::organization::OrgRow::new(c, sync_started)),
        Err(e) => return unavailable(&e),
    };
    let status =
        if new_key.problem.is_some() || connect.problem.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let mut response = page(&SettingsPage {
        viewer: Some(viewer),
        admin,
        keys,
        access,
        sync,
        webhooks,
        new_key,
        org,
        connect,
        org_notice,
    });
    *response.status_mut() = status;
    response
}

struct DeliveryRow {
    delivery: Delivery,
    queued: String,
    next: String,
    /// Finished (dead or delivered): it can be sent again. Waiting ones are on their way.
    redeliverable: bool,
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct WebhookPage {
    viewer: Option<Viewer>,
    admin: bool,
    webhook: WebhookRow,
    deliveries: Vec<DeliveryRow>,
    dead: usize,
    notice: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NoticeQuery {
    notice: Option<String>,
}

fn subscription_problem(viewer: Viewer, error: SubscriptionError) -> Response {
    match error {
        SubscriptionError::NotFound(_) => error_page(
            StatusCode::NOT_FOUND,
            Some(viewer),
            "No such webhook",
            "There is no webhook with this id; it may have been deleted. Settings lists the webhooks.",
        ),
        other => unavailable(&other),
    }
}

/// A webhook and its delivery log.
pub(crate) async fn webhook(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    super::PageQuery(query): super::PageQuery<NoticeQuery>,
) -> Response {
    let viewer = Viewer::from(&signed_in);
    let admin = signed_in.key.role == ApiKeyRole::Admin;
    let subscription = match state.webhooks.get(id.trim()).await {
        Ok(subscription) => subscription,
        Err(e) => return subscription_problem(viewer, e),
    };
    let deliveries = match state.webhooks.deliveries(&subscription.id, None, DELIVERY_LOG).await {
        Ok(deliveries) => deliveries,
        Err(e) => return subscription_problem(viewer, e),
    };
    let dead = deliveries.iter().filter(|d| d.state == "dead").count();
    let deliveries = deliveries
        .into_iter()
        .map(|d| DeliveryRow {
            queued: when(Some(d.created_at)),
            next: if matches!(d.state.as_str(), "pending" | "retrying") {
                when(Some(d.next_attempt_at))
            } else {
                String::new()
            },
            redeliverable: matches!(d.state.as_str(), "dead" | "succeeded"),
            delivery: d,
        })
        .collect();
    let notice = match query.notice.as_deref() {
        Some("test") => Some("A test delivery is queued; `ucm serve` sends it within a second or two.".to_owned()),
        Some("redelivered") => {
            Some("The dead deliveries are queued again, each with a new round of retries.".to_owned())
        }
        Some("redeliveredOne") => {
            Some("The delivery is queued again, with a new round of retries and the same body.".to_owned())
        }
        _ => None,
    };
    let webhook = WebhookRow {
        url: if admin { subscription.url.clone() } else { origin(&subscription.url) },
        triggers: subscription.triggers.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "),
        state: webhook_state(subscription.enabled, subscription.disabled_reason.as_deref()),
        id: subscription.id,
        name: subscription.name,
    };
    page(&WebhookPage { viewer: Some(viewer), admin, webhook, deliveries, dead, notice })
}

#[derive(Debug, Deserialize)]
struct AdminForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    product_admins: Option<String>,
    #[serde(default)]
    user_access_admins: Option<String>,
}

/// The form's CSRF token and the key's role, checked; the form when both hold.
fn admin_form(signed_in: &SignedIn, body: &Bytes) -> Result<AdminForm, Box<Response>> {
    let form: AdminForm = serde_urlencoded::from_bytes(body).unwrap_or(AdminForm {
        csrf: String::new(),
        product_admins: None,
        user_access_admins: None,
    });
    if let Some(refused) = super::refuse_form(signed_in, &form.csrf, "settings") {
        return Err(Box::new(refused));
    }
    Ok(form)
}

/// Who besides organization admins may use ucm.
pub(crate) async fn set_access(State(state): State<AppState>, signed_in: SignedIn, body: Bytes) -> Response {
    let form = match admin_form(&signed_in, &body) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let settings = AccessSettings {
        product_admins_allowed: form.product_admins.is_some(),
        user_access_admins_allowed: form.user_access_admins.is_some(),
    };
    if let Err(e) = state.store.set_access_settings(&settings).await {
        return unavailable(&e);
    }
    tracing::info!(?settings, by = %signed_in.key.api_key_id, "access settings changed in the web UI");
    Redirect::to("/settings").into_response()
}

/// Syncs the directory now (as the daily sync and every run do). An organization's sync can
/// take minutes: it runs in the background and the page follows its progress.
pub(crate) async fn sync_now(State(state): State<AppState>, signed_in: SignedIn, body: Bytes) -> Response {
    if let Err(refused) = admin_form(&signed_in, &body) {
        return *refused;
    }
    if state.directory.backend() == "atlassian" {
        let organization = state.organization.clone();
        tracing::info!(by = %signed_in.key.api_key_id, "organization sync started from the web UI");
        tokio::spawn(async move {
            // How it went is logged and recorded on the connection by the sync itself.
            if let Err(panicked) = worker::isolate("organization sync", organization.sync(&|_| {})).await {
                tracing::error!(error = %panicked, "the organization sync stopped");
            }
        });
        return Redirect::to("/settings?syncing=yes#atlassian-organization").into_response();
    }
    match state.directory.sync().await {
        Ok(report) => {
            tracing::info!(users = report.users, by = %signed_in.key.api_key_id, "directory synced from the web UI");
            Redirect::to("/settings?synced=yes#sync").into_response()
        }
        Err(e) => error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(Viewer::from(&signed_in)),
            "The directory could not be synced",
            &format!("{e}. Nothing was changed; try again in a moment."),
        ),
    }
}

/// Queues a test delivery to a webhook.
pub(crate) async fn send_test(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(refused) = admin_form(&signed_in, &body) {
        return *refused;
    }
    match state.webhooks.send_test(id.trim(), &state.public_url).await {
        Ok(_) => Redirect::to(&format!("/settings/webhooks/{}?notice=test", id.trim())).into_response(),
        Err(e) => subscription_problem(Viewer::from(&signed_in), e),
    }
}

/// Queues every dead delivery of a webhook again.
pub(crate) async fn redeliver(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(refused) = admin_form(&signed_in, &body) {
        return *refused;
    }
    match state.webhooks.redeliver(&[], Some(id.trim())).await {
        Ok(_) => Redirect::to(&format!("/settings/webhooks/{}?notice=redelivered", id.trim())).into_response(),
        Err(e) => subscription_problem(Viewer::from(&signed_in), e),
    }
}

/// Queues one delivery of a webhook again (a dead one, or a delivered one to send once more).
pub(crate) async fn redeliver_one(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path((id, delivery_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Err(refused) = admin_form(&signed_in, &body) {
        return *refused;
    }
    let viewer = Viewer::from(&signed_in);
    let (id, delivery_id) = (id.trim(), delivery_id.trim());
    // The delivery must be this webhook's: a form for one webhook never touches another's.
    match state.webhooks.delivery(delivery_id).await {
        Ok((delivery, _)) if delivery.subscription_id == id => {}
        Ok(_) | Err(SubscriptionError::NotFound(_)) => {
            return error_page(
                StatusCode::NOT_FOUND,
                Some(viewer),
                "No such delivery",
                "This webhook has no delivery with this id. Its delivery log lists the ones it has.",
            );
        }
        Err(e) => return unavailable(&e),
    }
    match state.webhooks.redeliver(&[delivery_id.to_owned()], None).await {
        Ok(0) => error_page(
            StatusCode::CONFLICT,
            Some(viewer),
            "Being sent now",
            "This delivery is being sent at this moment. Reload its webhook's log to see how it went.",
        ),
        Ok(_) => Redirect::to(&format!("/settings/webhooks/{id}?notice=redeliveredOne")).into_response(),
        Err(e) => subscription_problem(viewer, e),
    }
}
