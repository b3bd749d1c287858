//! API keys in Settings: a new key, its secret shown once, and revocation after a confirmation.
//! The API's rules hold: admin keys only, and a key that acts for a user makes and revokes keys
//! of that user only.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use model::apikey::{self, ApiKeyRole};
use model::ids::ApiKeyId;
use serde::Deserialize;

use super::{ConfirmPage, SignedIn, Viewer, error_page, page};
use crate::AppState;
use crate::error::ApiError;

/// A secret shown once, after it was made.
#[derive(Template)]
#[template(path = "secret_once.html")]
pub(crate) struct SecretOncePage {
    pub(crate) viewer: Option<Viewer>,
    pub(crate) title: String,
    pub(crate) what: String,
    /// What ucm keeps instead of the secret.
    pub(crate) kept: &'static str,
    pub(crate) secret: String,
    pub(crate) next_link: String,
    pub(crate) next_label: &'static str,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NewKeyForm {
    csrf: String,
    name: String,
    /// `admin` or `readOnly`.
    role: String,
    /// `90d`, `12h`, `2w`, `1y`.
    expires_in: String,
}

/// Makes a key and shows its secret once.
pub(crate) async fn create(State(state): State<AppState>, signed_in: SignedIn, body: Bytes) -> Response {
    let form: NewKeyForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if let Some(refused) = super::refuse_form(&signed_in, &form.csrf, "API keys") {
        return refused;
    }
    let viewer = Viewer::from(&signed_in);
    // Settings again with the form as typed and what is wrong with it.
    let refused = |problem: String| {
        let typed = super::settings::NewKeyView {
            name: form.name.clone(),
            role: form.role.clone(),
            expires_in: form.expires_in.clone(),
            problem: Some(problem),
        };
        let extras = super::settings::SettingsExtras { new_key: typed, ..super::settings::SettingsExtras::default() };
        super::settings::settings_page(&state, &signed_in, extras)
    };
    let role = match form.role.as_str() {
        "admin" | "" => ApiKeyRole::Admin,
        "readOnly" => ApiKeyRole::ReadOnly,
        other => return refused(format!("role: `{other}` is neither `admin` nor `readOnly`")).await,
    };
    let lifetime = match form.expires_in.trim() {
        "" => "90d",
        text => text,
    };
    let now = state.clock.now();
    let expires_at = match apikey::parse_lifetime(lifetime) {
        Ok(span) => match now.checked_add(span) {
            Ok(at) => at,
            Err(e) => return refused(format!("expires in `{lifetime}`: {e}")).await,
        },
        Err(why) => return refused(format!("expires in `{lifetime}`: {why}")).await,
    };
    // A key that acts for a user makes keys for that same user (as the API insists).
    let principal = signed_in.key.principal.clone();
    match crate::routes::api_keys::issue_api_key(&state, &form.name, role, principal, expires_at).await {
        Ok((key, secret)) => {
            tracing::info!(api_key_id = %key.api_key_id, name = %key.name, by = %signed_in.key.api_key_id, "API key created in the web UI");
            page(&SecretOncePage {
                viewer: Some(viewer),
                title: format!("Key “{}” made", key.name),
                what: format!(
                    "A{} key that expires {}. Give it to whoever needs it now.",
                    if role == ApiKeyRole::Admin { "n admin" } else { " read-only" },
                    super::minute(key.expires_at)
                ),
                kept: "its hash",
                secret: secret.expose().to_owned(),
                next_link: "/settings".into(),
                next_label: "Back to Settings",
            })
        }
        Err(ApiError::BadRequest { errors, .. }) => refused(super::problem_text(&errors)).await,
        Err(e) => super::session_unavailable(&e.to_string()),
    }
}

/// Revokes a key once confirmed: it stops working at once, and its sessions end with it.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let confirmed = match super::confirmed(&signed_in, &body, "API keys") {
        Ok(confirmed) => confirmed,
        Err(refused) => return *refused,
    };
    let viewer = Viewer::from(&signed_in);
    let id = ApiKeyId(id.trim().to_owned());
    let target = match state.store.api_key(&id).await {
        Ok(target) => target,
        Err(store::StoreError::NotFound(_)) => {
            return error_page(
                StatusCode::NOT_FOUND,
                Some(viewer),
                "No such key",
                "Settings lists the keys there are.",
            );
        }
        Err(e) => return super::session_unavailable(&e.to_string()),
    };
    if signed_in.key.principal.is_some() && target.principal != signed_in.key.principal {
        return error_page(
            StatusCode::FORBIDDEN,
            Some(viewer),
            "Not your key to revoke",
            "A key that acts for a user may only revoke that user's keys.",
        );
    }
    let own = target.api_key_id == signed_in.key.api_key_id;
    if !confirmed {
        return page(&ConfirmPage {
            viewer: Some(viewer),
            title: format!("Revoke “{}”?", target.name),
            message: format!(
                "It stops working at once, for the API, the CLI and the web UI.{}",
                if own { " It is the key you are signed in with: you will be signed out." } else { "" }
            ),
            action: format!("/settings/keys/{}/revoke", target.api_key_id),
            button: "Revoke the key",
            back: "/settings".into(),
        });
    }
    if let Err(e) = state.store.revoke_api_key(&id, state.clock.now()).await {
        return super::session_unavailable(&e.to_string());
    }
    tracing::info!(api_key_id = %id, by = %signed_in.key.api_key_id, "API key revoked in the web UI");
    if !own {
        return Redirect::to("/settings").into_response();
    }
    // This session's key: the session goes too (it would be refused from now on anyway).
    if let Err(e) = state.store.delete_web_session(signed_in.session_hash()).await {
        tracing::warn!(error = %e, "the session of a revoked key could not be deleted; it ends with its key");
    }
    Redirect::to("/sign-in").into_response()
}
