//! The web UI (PRODUCT §9): pages rendered on the server (askama templates in `templates/`),
//! htmx and one stylesheet served from the binary (`static/`), nothing loaded from elsewhere.
//!
//! Signing in with an API key opens a session: a random cookie (HttpOnly, SameSite=Strict,
//! Secure when the public URL is https) whose hash finds the session in the database; the key
//! is checked again on every page, so a revoked or expired key ends its sessions. Every form
//! carries the session's CSRF token, compared in constant time. Built so far: signing in and
//! out, the Dashboard, the User Browser's filters and paging,
//! the Automated Tasks list with run now and a run's result, the Automation view (flows, their webhook, enabling, the audit log), Settings (API keys, access
//! control, webhooks with their delivery log, send test, redelivery), and the outputs of the
//! local connection.

mod assets;
mod automation;
mod dashboard;
mod flow_steps;
mod keys;
mod organization;
mod outputs;
mod session;
mod settings;
mod task_editor;
mod tasks;
mod users;
mod webhook_editor;

use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub(crate) use session::{SignedIn, unavailable as session_unavailable};

use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::show))
        .route("/sign-in", get(session::sign_in_page).post(session::sign_in))
        .route("/sign-out", post(session::sign_out))
        .route("/automation", get(automation::list))
        .route("/automation/new", get(automation::new_page).post(automation::create))
        .route("/automation/new/steps", get(flow_steps::new_page).post(flow_steps::create))
        .route("/automation/flows/{id}/steps", get(flow_steps::edit_page).post(flow_steps::update))
        .route("/automation/flows/{id}/delete", post(flow_steps::delete))
        .route("/automation/import", get(automation::import_page).post(automation::import))
        .route("/automation/export", get(automation::export_all))
        .route("/automation/flows/{id}", get(automation::show))
        .route("/automation/flows/{id}/edit", get(automation::edit_page).post(automation::update))
        .route("/automation/flows/{id}/export", get(automation::export_one))
        .route("/automation/flows/{id}/enable", post(automation::enable))
        .route("/automation/flows/{id}/disable", post(automation::disable))
        .route("/users", get(users::browse))
        .route("/users/bulk", post(users::bulk))
        .route("/users/filters", post(users::save_filter))
        .route("/tasks", get(tasks::list))
        .route("/tasks/{id}/run", post(tasks::run_now))
        .route("/tasks/new", get(task_editor::new).post(task_editor::create))
        .route("/tasks/{id}/edit", get(task_editor::edit).post(task_editor::update))
        .route("/tasks/{id}/active", post(task_editor::set_active))
        .route("/tasks/{id}/delete", post(task_editor::delete))
        .route("/tasks/runs/{file}", get(tasks::run_json))
        .route("/tasks/runs/{id}/approve", post(tasks::approve))
        .route("/tasks/runs/{id}/reject", post(tasks::reject))
        .route("/tasks/runs/{id}/cancel", post(tasks::cancel))
        .route("/settings", get(settings::show))
        .route("/settings/access", get(|| async { Redirect::to("/settings#access") }).post(settings::set_access))
        .route("/settings/sync", post(settings::sync_now))
        .route("/settings/atlassian", post(organization::connect))
        .route("/settings/atlassian/check", post(organization::check))
        .route("/settings/atlassian/disconnect", post(organization::disconnect))
        // Each section of Settings has an address of its own (links in payloads and emails).
        .route("/settings/api-keys", get(|| async { Redirect::to("/settings#api-keys") }))
        .route("/settings/webhooks", get(|| async { Redirect::to("/settings#webhooks") }))
        .route("/settings/keys", post(keys::create))
        .route("/settings/keys/{id}/revoke", post(keys::revoke))
        .route("/settings/webhooks/new", get(webhook_editor::new).post(webhook_editor::create))
        .route("/settings/webhooks/{id}/edit", get(webhook_editor::edit).post(webhook_editor::update))
        .route("/settings/webhooks/{id}/delete", post(webhook_editor::delete))
        .route("/settings/webhooks/{id}", get(settings::webhook))
        .route("/settings/webhooks/{id}/test", post(settings::send_test))
        .route("/settings/webhooks/{id}/redeliver", post(settings::redeliver))
        .route("/settings/webhooks/{id}/deliveries/{delivery_id}/redeliver", post(settings::redeliver_one))
        .route("/outputs", get(outputs::list))
        .route("/outputs/{id}", get(outputs::show))
        .route("/static/{file}", get(assets::serve))
        .layer(axum::middleware::from_fn(refuse_nul))
        .layer(axum::middleware::from_fn(security_headers))
}

/// The most a form may send (the forms are small; a flow's JSON is the largest).
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// A form with a NUL character in a field is refused before any handler sees it: PostgreSQL
/// cannot store one, and no field of ours has a use for it (both engines answer the same).
async fn refuse_nul(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if request.method() != axum::http::Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
                "Form too large",
                "The form sent more than 2 MB. Send less, or use the API or the CLI for large imports.",
            );
        }
    };
    if bytes.contains(&0) || bytes.windows(3).any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0') {
        return error_page(
            StatusCode::BAD_REQUEST,
            None,
            "A field holds a NUL character",
            "Text may not contain NUL characters (U+0000). Remove it and send the form again.",
        );
    }
    next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

/// What every page shows about who is signed in.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub name: String,
    pub role: &'static str,
    pub csrf: String,
}

impl From<&SignedIn> for Viewer {
    fn from(signed_in: &SignedIn) -> Self {
        Self {
            name: signed_in.key.name.clone(),
            role: match signed_in.key.role {
                model::apikey::ApiKeyRole::Admin => "admin",
                model::apikey::ApiKeyRole::ReadOnly => "read-only",
            },
            csrf: signed_in.csrf.clone(),
        }
    }
}

/// A page that says what went wrong and what to do.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    viewer: Option<Viewer>,
    title: &'a str,
    message: &'a str,
}

/// An error as a page with `status`.
pub(crate) fn error_page(status: StatusCode, viewer: Option<Viewer>, title: &str, message: &str) -> Response {
    (status, page(&ErrorPage { viewer, title, message })).into_response()
}

/// A page's query string. One that cannot be read (`?inactiveDays=x`) answers the HTML error
/// page, as every other page problem does, not axum's plain text.
pub(crate) struct PageQuery<T>(pub(crate) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S> for PageQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Response> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(query)) => Ok(Self(query)),
            Err(rejection) => Err(error_page(
                StatusCode::BAD_REQUEST,
                None,
                "This address cannot be read",
                &format!("{}. Go back and follow a link or use the page's form instead.", rejection.body_text()),
            )),
        }
    }
}

/// An instant as pages show it, to the minute.
pub(crate) fn minute(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// An action as a form names it: its wire name and its targets separated by commas (group
/// names for the group actions; app names for removing app access, each `app @ site` to name
/// one site). Names are resolved later, against the directory.
pub(crate) fn form_action(
    kind: &str,
    targets: &str,
    all_apps: bool,
    field: &str,
) -> Result<model::task::Action, model::filter::FieldProblem> {
    use model::task::{Action, AppTarget};
    let names = targets.split(',').map(str::trim).filter(|t| !t.is_empty());
    Ok(match kind {
        "addToGroups" => Action::AddToGroups { group_ids: names.map(Into::into).collect() },
        "removeFromGroups" => Action::RemoveFromGroups { group_ids: names.map(Into::into).collect() },
        "removeAppAccess" => Action::RemoveAppAccess {
            apps: names
                .map(|entry| match entry.split_once('@') {
                    Some((app, site)) => AppTarget { app_type: app.trim().into(), site_id: Some(site.trim().into()) },
                    None => AppTarget { app_type: entry.into(), site_id: None },
                })
                .collect(),
            all: all_apps,
        },
        "suspendUsers" => Action::SuspendUsers,
        "restoreUsers" => Action::RestoreUsers,
        other => {
            return Err(model::filter::FieldProblem {
                suggestions: users::BULK_ACTIONS.iter().map(|(name, _, _)| (*name).to_owned()).collect(),
                ..model::filter::FieldProblem::new(field, other, "choose one of the five actions")
            });
        }
    })
}

/// A page that asks before something that cannot be undone; posts `confirm=yes` to `action`.
#[derive(Template)]
#[template(path = "confirm.html")]
pub(crate) struct ConfirmPage {
    pub(crate) viewer: Option<Viewer>,
    pub(crate) title: String,
    pub(crate) message: String,
    pub(crate) action: String,
    pub(crate) button: &'static str,
    pub(crate) back: String,
}

/// A form whose only field besides the token is `confirm`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ConfirmForm {
    csrf: String,
    confirm: Option<String>,
}

/// A posted confirmation form, checked like any other (`refuse_form`): whether it confirms
/// (`false`: ask first, with a `ConfirmPage`), or why it is refused.
pub(crate) fn confirmed(signed_in: &SignedIn, body: &[u8], what: &str) -> Result<bool, Box<Response>> {
    let form: ConfirmForm = serde_urlencoded::from_bytes(body).unwrap_or_default();
    match refuse_form(signed_in, &form.csrf, what) {
        Some(refused) => Err(Box::new(refused)),
        None => Ok(form.confirm.is_some()),
    }
}

/// Why a posted form is refused, if it is: its CSRF token is not the session's (a page
/// elsewhere, or an old one), or the key is read-only and the form changes `what`.
pub(crate) fn refuse_form(signed_in: &SignedIn, csrf: &str, what: &str) -> Option<Response> {
    let viewer = Viewer::from(signed_in);
    if !signed_in.csrf_matches(csrf) {
        return Some(error_page(
            StatusCode::FORBIDDEN,
            Some(viewer),
            "Form expired",
            "This form does not belong to your session. Reload the page and try again.",
        ));
    }
    refuse_reader(signed_in, what)
}

/// Read-only keys may look at `what`, not change them: editors and forms are not theirs.
pub(crate) fn refuse_reader(signed_in: &SignedIn, what: &str) -> Option<Response> {
    (signed_in.key.role != model::apikey::ApiKeyRole::Admin).then(|| {
        error_page(
            StatusCode::FORBIDDEN,
            Some(Viewer::from(signed_in)),
            "Read-only key",
            &format!("Your key is read-only: it may look at {what}, not change them. Sign in with an admin key."),
        )
    })
}

/// Problems in one line, for an error page.
pub(crate) fn problem_text(problems: &[model::filter::FieldProblem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// A template rendered, or a plain error if it cannot be (it always can: templates are
/// checked when compiled; only a formatting failure is left).
pub(crate) fn page(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page could not be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
        }
    }
}

/// Pages may use only what this server serves, are never framed, and are not cached; a page
/// answering a form keeps the address bar where it was.
async fn security_headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let posted = request.method() == axum::http::Method::POST;
    let mut response = next.run(request).await;
    let rendered_in_place = !response.status().is_redirection();
    let headers = response.headers_mut();
    if posted && rendered_in_place {
        // A page answering a form (a review, problems): htmx keeps the address the person was
        // at, since the form's own address cannot be opened again.
        headers.insert("hx-push-url", HeaderValue::from_static("false"));
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
