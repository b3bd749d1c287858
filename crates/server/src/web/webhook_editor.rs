//! Notification Settings: adding, editing and deleting webhooks. The secret goes in and never
//! comes out; a secret ucm makes for a new webhook is shown once. Saving goes through
//! `Subscriptions`, so the URL policy, the limit and every check are the API's.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use model::filter::FieldProblem;
use model::webhook::{Subscription, Trigger};
use webhooks::SubscriptionError;
use webhooks::subscriptions::SubscriptionInput;

use super::keys::SecretOncePage;
use super::{ConfirmPage, SignedIn, Viewer, error_page, page};
use crate::AppState;

/// The form as typed (the secret is never shown back, nor logged: no `Debug`).
#[derive(Default)]
struct WebhookForm {
    csrf: String,
    name: String,
    url: String,
    secret: String,
    triggers: Vec<String>,
    notes: String,
    enabled: bool,
    /// Why ucm switched the webhook off, if it did.
    disabled_reason: Option<String>,
}

impl WebhookForm {
    fn parse(body: &[u8]) -> Self {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "csrf" => form.csrf = value,
                "name" => form.name = value,
                "url" => form.url = value,
                "secret" => form.secret = value,
                "trigger" => form.triggers.push(value),
                "notes" => form.notes = value.replace("\r\n", "\n"),
                "enabled" => form.enabled = true,
                _ => {}
            }
        }
        form
    }

    fn from_subscription(subscription: &Subscription) -> Self {
        Self {
            name: subscription.name.clone(),
            url: subscription.url.clone(),
            triggers: subscription.triggers.iter().map(|t| t.as_str().to_owned()).collect(),
            notes: subscription.notes.clone(),
            enabled: subscription.enabled,
            disabled_reason: subscription.disabled_reason.clone(),
            ..Self::default()
        }
    }

    /// The input, and the secret ucm made when a new webhook was given none.
    fn input(&self, creating: bool) -> (SubscriptionInput, Option<String>) {
        let made = (creating && self.secret.is_empty()).then(webhooks::signature::new_secret_text);
        let secret = match (&made, self.secret.is_empty()) {
            (Some(made), _) => Some(made.clone()),
            (None, true) => None,
            (None, false) => Some(self.secret.clone()),
        };
        // In the order given: a test delivery takes the shape of the first.
        let triggers =
            self.triggers.iter().filter_map(|v| Trigger::ALL.into_iter().find(|t| t.as_str() == v)).collect();
        let input = SubscriptionInput {
            name: self.name.clone(),
            url: self.url.clone(),
            secret,
            triggers,
            notes: self.notes.clone(),
            enabled: self.enabled,
        };
        (input, made)
    }
}

#[derive(Template)]
#[template(path = "webhook_editor.html")]
struct EditorPage {
    viewer: Option<Viewer>,
    heading: String,
    action: String,
    creating: bool,
    form: WebhookForm,
    triggers: Vec<(&'static str, bool)>,
    problems: Vec<FieldProblem>,
}

fn editor(
    signed_in: &SignedIn,
    id: Option<&str>,
    form: WebhookForm,
    status: StatusCode,
    problems: Vec<FieldProblem>,
) -> Response {
    let (heading, action) = match id {
        Some(id) => (format!("Edit {}", form.name), format!("/settings/webhooks/{id}/edit")),
        None => ("New webhook".to_owned(), "/settings/webhooks/new".to_owned()),
    };
    let triggers = Trigger::ALL.iter().map(|t| (t.as_str(), form.triggers.iter().any(|v| v == t.as_str()))).collect();
    let mut response = page(&EditorPage {
        viewer: Some(Viewer::from(signed_in)),
        heading,
        action,
        creating: id.is_none(),
        form,
        triggers,
        problems,
    });
    *response.status_mut() = status;
    response
}

fn not_found(signed_in: &SignedIn) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        Some(Viewer::from(signed_in)),
        "No such webhook",
        "There is no webhook with this id; it may have been deleted. Settings lists the webhooks.",
    )
}

/// The form to add a webhook.
pub(crate) async fn new(signed_in: SignedIn) -> Response {
    if let Some(refused) = super::refuse_reader(&signed_in, "webhooks") {
        return refused;
    }
    let form = WebhookForm {
        triggers: vec![Trigger::TaskSuccess.as_str().into(), Trigger::TaskFailure.as_str().into()],
        enabled: true,
        ..WebhookForm::default()
    };
    editor(&signed_in, None, form, StatusCode::OK, vec![])
}

/// The form to change a webhook.
pub(crate) async fn edit(State(state): State<AppState>, signed_in: SignedIn, Path(id): Path<String>) -> Response {
    if let Some(refused) = super::refuse_reader(&signed_in, "webhooks") {
        return refused;
    }
    match state.webhooks.get(id.trim()).await {
        Ok(subscription) => editor(
            &signed_in,
            Some(&subscription.id),
            WebhookForm::from_subscription(&subscription),
            StatusCode::OK,
            vec![],
        ),
        Err(SubscriptionError::NotFound(_)) => not_found(&signed_in),
        Err(e) => super::session_unavailable(&e.to_string()),
    }
}

/// Adds a webhook; a secret ucm made is shown once.
pub(crate) async fn create(State(state): State<AppState>, signed_in: SignedIn, body: Bytes) -> Response {
    save(&state, &signed_in, None, WebhookForm::parse(&body)).await
}

/// Changes a webhook (an empty secret keeps the current one).
pub(crate) async fn update(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    save(&state, &signed_in, Some(id.trim()), WebhookForm::parse(&body)).await
}

async fn save(state: &AppState, signed_in: &SignedIn, id: Option<&str>, mut form: WebhookForm) -> Response {
    if let Some(refused) = super::refuse_form(signed_in, &form.csrf, "webhooks") {
        return refused;
    }
    let (input, made) = form.input(id.is_none());
    let saved = match id {
        Some(id) => state.webhooks.update(id, &input).await,
        None => state.webhooks.create(&input).await,
    };
    // Whatever happens, the secret typed is not sent back to the browser.
    form.secret.clear();
    match saved {
        Ok(subscription) => {
            tracing::info!(webhook_id = %subscription.id, by = %signed_in.key.api_key_id, "webhook saved in the web UI");
            match made {
                Some(secret) => page(&SecretOncePage {
                    viewer: Some(Viewer::from(signed_in)),
                    title: format!("Webhook “{}” added", subscription.name),
                    what: "Its deliveries are signed with this secret (Standard Webhooks). Give it to the receiver so that it can check them.".into(),
                    kept: "a sealed copy, to sign with",
                    secret,
                    next_link: format!("/settings/webhooks/{}", subscription.id),
                    next_label: "Open the webhook",
                }),
                None => Redirect::to(&format!("/settings/webhooks/{}", subscription.id)).into_response(),
            }
        }
        Err(SubscriptionError::Invalid(problems)) => editor(signed_in, id, form, StatusCode::BAD_REQUEST, problems),
        Err(SubscriptionError::Conflict(why)) => {
            editor(signed_in, id, form, StatusCode::CONFLICT, vec![FieldProblem::new("", "", why)])
        }
        Err(SubscriptionError::NotFound(_)) => not_found(signed_in),
        Err(e) => super::session_unavailable(&e.to_string()),
    }
}

/// Deletes a webhook once confirmed.
pub(crate) async fn delete(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let confirmed = match super::confirmed(&signed_in, &body, "webhooks") {
        Ok(confirmed) => confirmed,
        Err(refused) => return *refused,
    };
    let subscription = match state.webhooks.get(id.trim()).await {
        Ok(subscription) => subscription,
        Err(SubscriptionError::NotFound(_)) => return not_found(&signed_in),
        Err(e) => return super::session_unavailable(&e.to_string()),
    };
    if !confirmed {
        return page(&ConfirmPage {
            viewer: Some(Viewer::from(&signed_in)),
            title: format!("Delete “{}”?", subscription.name),
            message: "Runs stop notifying it at once. Its delivery log, and deliveries not sent yet, go with it."
                .into(),
            action: format!("/settings/webhooks/{}/delete", subscription.id),
            button: "Delete the webhook",
            back: format!("/settings/webhooks/{}", subscription.id),
        });
    }
    match state.webhooks.delete(&subscription.id).await {
        Ok(()) => {
            tracing::info!(webhook_id = %subscription.id, by = %signed_in.key.api_key_id, "webhook deleted in the web UI");
            Redirect::to("/settings").into_response()
        }
        Err(SubscriptionError::NotFound(_)) => not_found(&signed_in),
        Err(e) => super::session_unavailable(&e.to_string()),
    }
}
