//! Settings → Atlassian organization: connect one with its API key and expiry date (the key is
//! checked with Atlassian, then sealed and never shown), check the key, disconnect. "Sync now"
//! is the directory sync's own form (for an organization it runs in the background); the sync
//! in progress and the last sync's report are shown here, the page following them.

use atlassian::{ConnectInput, OrgConnectionView, OrgError};
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::SignedIn;
use super::settings::{SettingsExtras, settings_page};
use crate::AppState;

/// The connected organization, in words.
pub(crate) struct OrgRow {
    pub(crate) org: String,
    pub(crate) directory: String,
    pub(crate) key: String,
    pub(crate) key_expired: bool,
    pub(crate) connected: String,
    pub(crate) last_sync: String,
    pub(crate) last_sync_failed: bool,
    /// How far the sync in progress got: in words, and users read of how many when counted.
    pub(crate) syncing: Option<String>,
    pub(crate) sync_bar: Option<(u64, u64)>,
    /// Whether the page follows a sync (one runs, or was just started).
    pub(crate) follow_sync: bool,
}

impl OrgRow {
    /// The connection `c`; `sync_started`: "Sync now" was just pressed.
    pub(crate) fn new(c: OrgConnectionView, sync_started: bool) -> Self {
        let last_sync = match (&c.last_sync_finished_at, &c.last_sync_error, &c.last_sync) {
            (None, ..) => "none yet: sync now to read the organization".to_owned(),
            (Some(at), Some(error), _) => format!("{} failed: {error}", super::minute(*at)),
            (Some(at), None, Some(report)) => format!("{}: {report}", super::minute(*at)),
            (Some(at), None, None) => super::minute(*at),
        };
        Self {
            org: format!("{} ({})", c.org_name, c.org_id),
            directory: format!("{} ({})", c.directory_name, c.directory_id),
            key: format!("{}, expires on {}", c.key_name, c.key_expires_on),
            key_expired: c.key_expired,
            connected: format!("{} by {}", super::minute(c.connected_at), c.connected_by),
            last_sync_failed: c.last_sync_error.is_some(),
            last_sync,
            follow_sync: sync_started || c.sync_in_progress.is_some(),
            syncing: c.sync_in_progress.map(|p| p.to_string()),
            sync_bar: c.sync_in_progress.and_then(|p| p.users_total.map(|total| (p.users.min(total), total))),
        }
    }
}

/// The connect form as typed (never the key), and what was wrong with it.
#[derive(Debug, Default)]
pub(crate) struct ConnectFormView {
    pub(crate) key_expires: String,
    pub(crate) org_id: String,
    pub(crate) directory_id: String,
    pub(crate) key_name: String,
    pub(crate) problem: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ConnectForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    key_expires: String,
    #[serde(default)]
    org_id: String,
    #[serde(default)]
    directory_id: String,
    #[serde(default)]
    key_name: String,
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

async fn with_notice(state: &AppState, signed_in: &SignedIn, notice: String) -> Response {
    settings_page(state, signed_in, SettingsExtras { org_notice: Some(notice), ..SettingsExtras::default() }).await
}

/// Connects an organization; Settings again with the form as typed when it cannot.
pub(crate) async fn connect(State(state): State<AppState>, signed_in: SignedIn, body: Bytes) -> Response {
    let form: ConnectForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if let Some(refused) = super::refuse_form(&signed_in, &form.csrf, "the organization's connection") {
        return refused;
    }
    let refused = |problem: String| {
        let typed = ConnectFormView {
            key_expires: form.key_expires.clone(),
            org_id: form.org_id.clone(),
            directory_id: form.directory_id.clone(),
            key_name: form.key_name.clone(),
            problem: Some(problem),
        };
        settings_page(&state, &signed_in, SettingsExtras { connect: typed, ..SettingsExtras::default() })
    };
    let Ok(key_expires) = form.key_expires.trim().parse::<jiff::civil::Date>() else {
        return refused("give the day the key expires, as Atlassian showed it when it was created".to_owned()).await;
    };
    let input = ConnectInput {
        api_key: form.api_key.clone(),
        key_expires,
        key_name: optional(&form.key_name),
        org_id: optional(&form.org_id),
        directory_id: optional(&form.directory_id),
    };
    let by = format!("api key {}", signed_in.key.name);
    match state.organization.connect(&input, &by).await {
        Ok(connected) => {
            tracing::info!(org = %connected.org_id, by = %signed_in.key.api_key_id, "organization connected in the web UI");
            Redirect::to("/settings?connected=yes#atlassian-organization").into_response()
        }
        Err(OrgError::Store(e)) => super::session_unavailable(&e.to_string()),
        Err(e) => refused(e.to_string()).await,
    }
}

#[derive(Debug, Default, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Checks the stored key with Atlassian and says how it went.
pub(crate) async fn check(State(state): State<AppState>, signed_in: SignedIn, body: Bytes) -> Response {
    let form: CsrfForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if let Some(refused) = super::refuse_form(&signed_in, &form.csrf, "the organization's connection") {
        return refused;
    }
    let notice = match state.organization.check_key().await {
        Ok(c) => format!("Atlassian accepts the key: it reaches {} ({}).", c.org_name, c.org_id),
        Err(OrgError::Store(e)) => return super::session_unavailable(&e.to_string()),
        Err(e) => format!("The key does not work: {e}"),
    };
    with_notice(&state, &signed_in, notice).await
}

/// Forgets the organization and its key; the directory keeps what it last read.
pub(crate) async fn disconnect(State(state): State<AppState>, signed_in: SignedIn, body: Bytes) -> Response {
    let form: CsrfForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if let Some(refused) = super::refuse_form(&signed_in, &form.csrf, "the organization's connection") {
        return refused;
    }
    match state.organization.disconnect().await {
        Ok(_) => {
            tracing::info!(by = %signed_in.key.api_key_id, "organization disconnected in the web UI");
            Redirect::to("/settings?disconnected=yes#atlassian-organization").into_response()
        }
        Err(e) => super::session_unavailable(&e.to_string()),
    }
}
