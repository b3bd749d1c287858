//! Who is calling: bearer API keys (PRODUCT §7, §10).
//!
//! A missing, unknown, expired or revoked key is 401 (an expired key says when it expired). A
//! key that acts for a directory user is admitted only while that user may administer under the
//! access settings (403 otherwise). Read-only keys may read; [`Admin`] guards every change.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use model::apikey::{ApiKey, ApiKeyRole, hash_secret, hashes_equal};
use store::StoreError;

use crate::AppState;
use crate::error::ApiError;

/// The longest bearer token we look at; real keys are 47 characters.
const MAX_TOKEN_CHARS: usize = 256;

/// An authenticated caller (any role).
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: ApiKey,
}

/// An authenticated caller whose key may change things.
#[derive(Debug, Clone)]
pub struct Admin {
    pub key: ApiKey,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthorized("send an API key as `Authorization: Bearer <key>`".to_owned()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty() && token.len() <= MAX_TOKEN_CHARS)
            .ok_or_else(|| ApiError::Unauthorized("the Authorization header must be `Bearer <key>`".to_owned()))?;
        Ok(Self { key: key_of_secret(state, token).await? })
    }
}

/// The key whose secret is `token`, if it may act now (see [`admit`]).
pub(crate) async fn key_of_secret(state: &AppState, token: &str) -> Result<ApiKey, ApiError> {
    let presented = hash_secret(token);
    let Some((key, stored)) = state.store.api_key_by_hash(&presented).await? else {
        return Err(ApiError::Unauthorized("the API key is not valid".to_owned()));
    };
    if !hashes_equal(&stored, &presented) {
        return Err(ApiError::Unauthorized("the API key is not valid".to_owned()));
    }
    admit(state, key).await
}

/// Whether `key` may act now: not expired or revoked (401), and a key acting for a directory
/// user only while that user may administer (403). Notes the key's use.
pub(crate) async fn admit(state: &AppState, key: ApiKey) -> Result<ApiKey, ApiError> {
    let now = state.clock.now();
    key.check(now).map_err(|rejection| ApiError::Unauthorized(rejection.to_string()))?;
    if let Some(principal) = &key.principal {
        let user = match state.directory.user(principal).await {
            Ok(user) => user,
            Err(directory::DirectoryError::NotFound(_)) => {
                return Err(ApiError::Forbidden(
                    model::access::AccessDenied::UnknownPrincipal(principal.0.clone()).to_string(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let settings = state.store.access_settings().await?;
        settings.admit(&user).map_err(|denied| ApiError::Forbidden(denied.to_string()))?;
    }
    if let Err(e) = state.store.touch_api_key(&key.api_key_id, now).await {
        // Bookkeeping only: never refuse a request because it could not be noted.
        if !matches!(e, StoreError::NotFound(_)) {
            tracing::warn!(error = %e, "could not record API key use");
        }
    }
    Ok(key)
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Caller { key } = Caller::from_request_parts(parts, state).await?;
        match key.role {
            ApiKeyRole::Admin => Ok(Self { key }),
            ApiKeyRole::ReadOnly => {
                Err(ApiError::Forbidden(format!("the API key `{}` is read-only; this needs an admin key", key.name)))
            }
        }
    }
}
