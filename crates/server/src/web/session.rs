//! Signing in and out, and who is signed in.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use model::apikey::{ApiKey, hash_secret, hashes_equal};
use serde::Deserialize;
use store::WebSession;

use super::{Viewer, error_page, page};
use crate::AppState;
use crate::error::ApiError;

/// The cookie that names a session.
const SESSION_COOKIE: &str = "ucm_session";
/// The cookie that pairs a sign-in form with the browser that asked for it.
const SIGN_IN_COOKIE: &str = "ucm_sign_in";
/// How long a session lasts.
const SESSION_HOURS: i64 = 12;
/// How long a sign-in form may be left open.
const SIGN_IN_FORM_SECONDS: i64 = 1800;
/// The longest API key looked at; real keys are 47 characters.
const MAX_KEY_CHARS: usize = 256;

/// The signed-in key of a page request, and the session's CSRF token.
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    pub key: ApiKey,
    pub csrf: String,
    session_hash: String,
}

impl SignedIn {
    /// Whether a form's `csrf` field is this session's token.
    pub fn csrf_matches(&self, given: &str) -> bool {
        hashes_equal(&hash_secret(given), &hash_secret(&self.csrf))
    }

    /// The hash that finds this session's row.
    pub fn session_hash(&self) -> &str {
        &self.session_hash
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // After signing in, the browser comes back with a GET: only a page is worth returning to.
        let next = if parts.method == axum::http::Method::GET {
            parts.uri.path_and_query().map_or("/", |p| p.as_str())
        } else {
            "/"
        };
        let sign_in = || {
            let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
            Redirect::to(&format!("/sign-in?{query}")).into_response()
        };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else { return Err(sign_in()) };
        let session_hash = hash_secret(&token);
        let now = state.clock.now();
        let session = match state.store.web_session(&session_hash, now).await {
            Ok(Some(session)) => session,
            Ok(None) => return Err(sign_in()),
            Err(e) => return Err(unavailable(&e.to_string())),
        };
        let key = match state.store.api_key(&session.api_key_id).await {
            Ok(key) => key,
            Err(store::StoreError::NotFound(_)) => return Err(sign_in()),
            Err(e) => return Err(unavailable(&e.to_string())),
        };
        // The key is checked on every page: revoking or expiring it ends its sessions.
        match crate::auth::admit(state, key).await {
            Ok(key) => {
                // Sessions opened before tokens were derived kept theirs in the database.
                let csrf = if session.csrf_token.is_empty() { csrf_of(&token) } else { session.csrf_token };
                Ok(Self { key, csrf, session_hash })
            }
            Err(ApiError::Unauthorized(_)) => Err(sign_in()),
            Err(ApiError::Forbidden(why)) => Err(error_page(
                StatusCode::FORBIDDEN,
                None,
                "Not allowed",
                &format!("{why}. Sign in with another key."),
            )),
            Err(e) => Err(unavailable(&e.to_string())),
        }
    }
}

/// The CSRF token of the session whose cookie is `token`: derived from it, so the database (which
/// holds only the cookie's hash) holds nothing a form could be forged with.
fn csrf_of(token: &str) -> String {
    hash_secret(&format!("ucm-csrf:{token}"))
}

pub(crate) fn unavailable(why: &str) -> Response {
    tracing::error!(error = why, "a page could not be served");
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        None,
        "Unavailable",
        "ucm could not reach its database. Try again in a moment; the server log says more.",
    )
}

/// The value of cookie `name` in the request.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty() && value.len() <= MAX_KEY_CHARS)
}

/// A `Set-Cookie` value: only for this site's requests, out of scripts' reach, and over https
/// only when the public URL is https.
fn set_cookie(state: &AppState, name: &str, value: &str, max_age_seconds: i64) -> HeaderValue {
    let secure = if state.public_url.starts_with("https://") { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}");
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("ucm_invalid=1"))
}

/// Where to go after signing in: a path of this site, never another site (`//evil`, and what
/// browsers read as it: a backslash, or `/<tab>/evil`, since they drop tabs and newlines).
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace()) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    viewer: Option<Viewer>,
    form_token: &'a str,
    next: &'a str,
    problem: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignInQuery {
    next: Option<String>,
}

/// The sign-in form, paired with this browser by a cookie.
pub(crate) async fn sign_in_page(
    State(state): State<AppState>,
    super::PageQuery(query): super::PageQuery<SignInQuery>,
) -> Response {
    sign_in_form(&state, &local_path(query.next.as_deref()), None, StatusCode::OK)
}

fn sign_in_form(state: &AppState, next: &str, problem: Option<&str>, status: StatusCode) -> Response {
    let form_token = model::random::secret_text(24);
    let mut response =
        (status, page(&SignInPage { viewer: None, form_token: &form_token, next, problem })).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(state, SIGN_IN_COOKIE, &form_token, SIGN_IN_FORM_SECONDS));
    response
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    next: Option<String>,
}

/// Checks the key as the API does and opens a session.
pub(crate) async fn sign_in(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<SignInForm>(&body) else {
        return sign_in_form(&state, "/", Some("The form could not be read; try again."), StatusCode::BAD_REQUEST);
    };
    let next = local_path(form.next.as_deref());
    let paired = cookie(&headers, SIGN_IN_COOKIE).is_some_and(|expected| {
        !form.form_token.is_empty() && hashes_equal(&hash_secret(&expected), &hash_secret(&form.form_token))
    });
    if !paired {
        return sign_in_form(
            &state,
            &next,
            Some("This sign-in form has expired. Enter the key again."),
            StatusCode::FORBIDDEN,
        );
    }
    let secret = form.api_key.trim();
    if secret.is_empty() || secret.len() > MAX_KEY_CHARS {
        return sign_in_form(&state, &next, Some("Enter an API key (it starts with ucm_)."), StatusCode::UNAUTHORIZED);
    }
    let key = match crate::auth::key_of_secret(&state, secret).await {
        Ok(key) => key,
        Err(ApiError::Unauthorized(why) | ApiError::Forbidden(why)) => {
            let why = format!("{why}. Check the key, or ask for a new one (`ucm apikey create`).");
            return sign_in_form(&state, &next, Some(&why), StatusCode::UNAUTHORIZED);
        }
        Err(e) => return unavailable(&e.to_string()),
    };
    let now = state.clock.now();
    let token = model::random::secret_text(32);
    let session = WebSession {
        api_key_id: key.api_key_id.clone(),
        // Derived from the session's cookie, which the database never holds.
        csrf_token: String::new(),
        created_at: now,
        expires_at: now.checked_add(jiff::SignedDuration::from_hours(SESSION_HOURS)).unwrap_or(now),
    };
    if let Err(e) = state.store.insert_web_session(&hash_secret(&token), &session, now).await {
        return unavailable(&e.to_string());
    }
    tracing::info!(api_key = %key.api_key_id, "signed in to the web UI");
    let mut response = Redirect::to(&next).into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, &token, SESSION_HOURS * 3600));
    headers.append(header::SET_COOKIE, set_cookie(&state, SIGN_IN_COOKIE, "", 0));
    response
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Ends the session (its CSRF token is required: a page elsewhere cannot sign you out).
pub(crate) async fn sign_out(State(state): State<AppState>, signed_in: SignedIn, body: Bytes) -> Response {
    let form: CsrfForm = serde_urlencoded::from_bytes(&body).unwrap_or(CsrfForm { csrf: String::new() });
    if !signed_in.csrf_matches(&form.csrf) {
        return error_page(
            StatusCode::FORBIDDEN,
            Some(Viewer::from(&signed_in)),
            "Form expired",
            "This form does not belong to your session. Reload the page and try again.",
        );
    }
    if let Err(e) = state.store.delete_web_session(&signed_in.session_hash).await {
        return unavailable(&e.to_string());
    }
    let mut response = Redirect::to("/sign-in").into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", 0));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_signing_in() {
        assert_eq!(local_path(Some("/outputs?kind=page")), "/outputs?kind=page");
        for elsewhere in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "outputs",
            "/\t/evil.example",
            "/\n/x",
            "/ /x",
        ] {
            assert_eq!(local_path(Some(elsewhere)), "/", "{elsewhere}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; ucm_session=abc; b=2"));
        assert_eq!(cookie(&headers, "ucm_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "ucm"), None);
    }
}
