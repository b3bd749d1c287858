//! Flows' incoming webhooks (AUTOMATION §1): `POST /automation/webhooks/{flowId}` (and
//! `…/{flowId}/{secret}`), no API key: the flow's own secret. The request is stored before the
//! 202 is sent.

use std::net::SocketAddr;

use automation::{Incoming, MAX_BODY_BYTES, Refusal};
use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use webhooks::Headers;

use crate::AppState;
use crate::error::{ApiError, Problem};

/// The answer to an accepted request.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionAccepted {
    /// The execution this request became (the same one again for a repeated `webhook-id`).
    pub execution_id: String,
}

/// Send a JSON body to a flow. Authenticate with `X-Automation-Webhook-Token: <secret>`, a
/// Standard Webhooks signature made with the secret, or the `…/{secret}` path. 202 once the
/// request is stored; 400 for a body that is not JSON or does not fit the trigger's work-item
/// criteria; 401 without detail; 404 for an unknown or disabled flow; 413 over 1 MiB; 429 with
/// `Retry-After` over the flow's rate.
#[utoipa::path(post, path = "/automation/webhooks/{flowId}", tag = "automation",
    params(("flowId" = String, Path)),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 202, body = ExecutionAccepted), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 413, body = Problem), (status = 429, body = Problem)))]
pub async fn receive(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(flow_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<ExecutionAccepted>), ApiError> {
    accept(&state, peer, &flow_id, None, &headers, body).await
}

/// The same, with the secret as the last path segment (for senders that cannot set headers).
pub async fn receive_with_path_secret(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((flow_id, secret)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<ExecutionAccepted>), ApiError> {
    accept(&state, peer, &flow_id, Some(&secret), &headers, body).await
}

async fn accept(
    state: &AppState,
    peer: SocketAddr,
    flow_id: &str,
    path_secret: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<ExecutionAccepted>), ApiError> {
    if !model::ids::plausible_id(flow_id) {
        return Err(refused(Refusal::NotFound));
    }
    // One byte over the cap is enough to know it is over.
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES + 1).await.map_err(|_| refused(Refusal::TooLarge))?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let request = Incoming {
        flow_id,
        path_secret,
        token: header("x-automation-webhook-token"),
        signature: Headers {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
        },
        body: &body,
        source: &peer.ip().to_string(),
        // Set by our own web request steps; anything unreadable counts as the start of a chain.
        depth: header("x-automation-depth").and_then(|d| d.trim().parse().ok()).unwrap_or(0),
    };
    let accepted = state.flows.receive(request, &state.webhook_rate).await.map_err(refused)?;
    Ok((StatusCode::ACCEPTED, Json(ExecutionAccepted { execution_id: accepted.execution_id })))
}

fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::NotFound => ApiError::NotFound("no enabled flow has this webhook".to_owned()),
        // No detail: whether the secret was missing, wrong or badly signed is not said.
        Refusal::Unauthorized => ApiError::Unauthorized("the webhook secret is missing or wrong".to_owned()),
        too_large @ Refusal::TooLarge => ApiError::TooLarge(too_large.to_string()),
        Refusal::BadRequest(detail) => ApiError::BadRequest { detail, errors: vec![] },
        limited @ Refusal::RateLimited { retry_after, .. } => {
            ApiError::TooManyRequests { detail: limited.to_string(), retry_after_seconds: retry_after.as_secs() }
        }
        full @ Refusal::QueueFull => ApiError::TooManyRequests { detail: full.to_string(), retry_after_seconds: 60 },
        Refusal::Store(e) => e.into(),
    }
}
