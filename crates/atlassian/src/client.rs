//! The Admin API client: every call through the guarded outbound client, with the key as a
//! bearer token, paced by one limiter per organization, and retried where that is safe.
//!
//! Pacing (NOTES §3): each answer's `X-RateLimit-Remaining` and `X-RateLimit-Reset` spread the
//! calls left in the period over the time left; a 429 pauses every caller until `Retry-After`,
//! else `X-RateLimit-Reset`, else an exponential back-off with jitter. A 429 is never an answer:
//! the call is made again, up to a patient limit, and only then is it a failure.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use webhooks::{GuardedClient, Request, Response, SendError};

use crate::api;

/// The largest answer read (a page of 100 users with every expand is ~150 KB).
const MAX_ANSWER_BYTES: usize = 16 << 20;
/// Calls after a 429, a 5xx or a connection failure before giving up.
const MAX_ATTEMPTS: u32 = 8;
/// The longest single wait after a 429 or a fault.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// A call that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    #[error(
        "Atlassian refused the organization API key (401): it has expired or was revoked. Create a new key at \
         admin.atlassian.com → Settings → API keys and connect it again (Settings → Atlassian organization, or \
         `ucm directory connect atlassian`)"
    )]
    Unauthorized,
    #[error("not allowed (403): {0}")]
    Forbidden(String),
    #[error("not found (404): {0}")]
    NotFound(String),
    #[error("conflict (409): {0}")]
    Conflict(String),
    #[error("Atlassian answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("Atlassian kept answering 429 (too many requests) after {0} tries; try again later")]
    RateLimited(u32),
    #[error("cannot reach Atlassian: {0}")]
    Transport(String),
    #[error("Atlassian's answer could not be read: {0}")]
    BadAnswer(String),
}

/// What the calls of one client have met, for sync reports and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallStats {
    pub calls: u64,
    pub rate_limited: u64,
    pub retried: u64,
}

/// Paces the calls to one organization: shared by every client made with it (the sync and the
/// actions of one process), so that all of them keep to the organization's limit together.
#[derive(Debug, Clone)]
pub struct RateLimiter(Arc<Pacer>);

impl RateLimiter {
    /// A limiter that lets calls go no closer than `min_interval`, and as the headers say.
    pub fn new(min_interval: Duration) -> Self {
        Self(Arc::new(Pacer {
            state: Mutex::new(Pace { next_at: Instant::now(), interval: Duration::ZERO }),
            min_interval,
        }))
    }
}

#[derive(Debug)]
struct Pacer {
    state: Mutex<Pace>,
    min_interval: Duration,
}

#[derive(Debug)]
struct Pace {
    /// The earliest a call may start.
    next_at: Instant,
    /// The spacing the last answer's headers asked for.
    interval: Duration,
}

impl Pacer {
    /// The instant this call may start; reserves its slot.
    fn reserve(&self) -> Instant {
        let mut pace = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let at = pace.next_at.max(Instant::now());
        pace.next_at = at + pace.interval.max(self.min_interval);
        at
    }

    /// Reads `X-RateLimit-Remaining` / `X-RateLimit-Reset`: the calls left are spread over the
    /// time left; none left waits for the reset.
    fn observe(&self, answer: &Response, now: Timestamp) {
        let remaining = answer.header("x-ratelimit-remaining").and_then(|v| v.trim().parse::<u64>().ok());
        let reset = answer.header("x-ratelimit-reset").and_then(|v| until(v, now));
        let mut pace = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match (remaining, reset) {
            (Some(0), Some(left)) => {
                pace.next_at = pace.next_at.max(Instant::now() + left);
            }
            (Some(n), Some(left)) => pace.interval = (left / u32::try_from(n).unwrap_or(u32::MAX)).min(MAX_WAIT),
            _ => {}
        }
    }

    /// Every caller waits until `at`.
    fn pause_until(&self, at: Instant) {
        let mut pace = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        pace.next_at = pace.next_at.max(at);
    }
}

/// The time from `now` to an ISO 8601 instant (`X-RateLimit-Reset`); zero when it has passed.
fn until(value: &str, now: Timestamp) -> Option<Duration> {
    let at: Timestamp = value.trim().parse().ok()?;
    Some(Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO))
}

/// A client of one organization's Admin API.
#[derive(Clone)]
pub struct AdminClient {
    http: GuardedClient,
    /// `https://api.atlassian.com/admin`, no trailing slash.
    base: String,
    key: Arc<str>,
    pacer: Arc<Pacer>,
    stats: Arc<Mutex<CallStats>>,
    /// Calls made for one request before a 429, 5xx or connection failure is final.
    attempts: u32,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient").field("base", &self.base).field("key", &"***").finish_non_exhaustive()
    }
}

impl AdminClient {
    /// A client of the API under `api_base` (`https://api.atlassian.com`; paths go under
    /// `/admin/...`), calling no more often than every `min_interval`.
    pub fn new(http: GuardedClient, api_base: &str, key: &str, min_interval: Duration) -> Self {
        Self::with_limiter(http, api_base, key, &RateLimiter::new(min_interval))
    }

    /// A client whose calls are paced by `limiter`, with every other client made with it.
    pub fn with_limiter(http: GuardedClient, api_base: &str, key: &str, limiter: &RateLimiter) -> Self {
        Self {
            http,
            base: format!("{}/admin", api_base.trim_end_matches('/')),
            key: Arc::from(key.trim()),
            pacer: limiter.0.clone(),
            stats: Arc::default(),
            attempts: MAX_ATTEMPTS,
        }
    }

    /// The same client, trying each call at most `attempts` times: for a person waiting on
    /// the answer (connecting, checking a key), who should hear of a failure at once.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// What the calls so far have met.
    pub fn stats(&self) -> CallStats {
        *self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn count(&self, change: impl FnOnce(&mut CallStats)) {
        change(&mut self.stats.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// `GET path` read as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, AdminError> {
        let answer = self.call("GET", path, None).await?;
        read(&answer)
    }

    /// `POST path` with a JSON body, read as `T`.
    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, AdminError> {
        let answer = self.call("POST", path, Some(json(body)?)).await?;
        read(&answer)
    }

    /// A call whose answer has no body to read (`204`).
    pub async fn send(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> Result<(), AdminError> {
        let body = body.map(json).transpose()?;
        self.call(method, path, body).await.map(|_| ())
    }

    /// Makes the call, waiting its turn, again after a 429, a 5xx or a failed connection (every
    /// call ucm makes may be repeated: reads, and writes whose repeat answers 409 "already" or
    /// 404, which the caller reads as unchanged). Other answers are final.
    async fn call(&self, method: &str, path: &str, body: Option<Vec<u8>>) -> Result<Response, AdminError> {
        let mut request = Request {
            method: method.to_owned(),
            url: format!("{}{path}", self.base),
            headers: vec![
                ("authorization".to_owned(), format!("Bearer {}", self.key)),
                ("accept".to_owned(), "application/json".to_owned()),
            ],
            body: None,
        };
        if let Some(body) = body {
            request.headers.push(("content-type".to_owned(), "application/json".to_owned()));
            request.body = Some(body);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            tokio::time::sleep_until(self.pacer.reserve()).await;
            self.count(|s| s.calls += 1);
            let outcome = self.http.send(&request, MAX_ANSWER_BYTES).await;
            let now = Timestamp::now();
            let wait = match outcome {
                Ok(answer) => {
                    self.pacer.observe(&answer, now);
                    match answer.status {
                        200..=299 if answer.truncated => {
                            return Err(AdminError::BadAnswer(format!("more than {MAX_ANSWER_BYTES} bytes")));
                        }
                        200..=299 => return Ok(answer),
                        429 => {
                            self.count(|s| s.rate_limited += 1);
                            if attempt >= self.attempts {
                                return Err(AdminError::RateLimited(attempt));
                            }
                            let asked = answer
                                .header("retry-after")
                                .and_then(|v| webhooks::dispatcher::parse_retry_after(v, now))
                                .or_else(|| answer.header("x-ratelimit-reset").and_then(|v| until(v, now)));
                            let wait = asked.unwrap_or_else(|| backoff(attempt)).min(MAX_WAIT);
                            // Everyone waits: the limit is the organization's, not this call's.
                            self.pacer.pause_until(Instant::now() + wait);
                            wait
                        }
                        // An outage may say when to come back (503 with Retry-After).
                        500..=599 if attempt < self.attempts => answer
                            .header("retry-after")
                            .and_then(|v| webhooks::dispatcher::parse_retry_after(v, now))
                            .unwrap_or_else(|| backoff(attempt))
                            .min(MAX_WAIT),
                        status => return Err(refusal(status, &answer.body)),
                    }
                }
                Err(SendError::Timeout | SendError::Connect(_) | SendError::Other(_)) if attempt < self.attempts => {
                    backoff(attempt)
                }
                Err(e) => return Err(AdminError::Transport(e.to_string())),
            };
            self.count(|s| s.retried += 1);
            tracing::debug!(method, path, attempt, wait_ms = wait.as_millis() as u64, "Atlassian call retried");
            tokio::time::sleep(wait).await;
        }
    }
}

fn json(body: &impl Serialize) -> Result<Vec<u8>, AdminError> {
    serde_json::to_vec(body).map_err(|e| AdminError::BadAnswer(e.to_string()))
}

fn read<T: DeserializeOwned>(answer: &Response) -> Result<T, AdminError> {
    serde_json::from_slice(&answer.body).map_err(|e| AdminError::BadAnswer(e.to_string()))
}

/// A final answer other than success, as an error that says what Atlassian said.
fn refusal(status: u16, body: &[u8]) -> AdminError {
    let message = api::error_text(body);
    match status {
        401 => AdminError::Unauthorized,
        403 => AdminError::Forbidden(message),
        404 => AdminError::NotFound(message),
        409 => AdminError::Conflict(message),
        status => AdminError::Status { status, message },
    }
}

/// 1 s, 2 s, 4 s … up to 30 s, each within ±20 %.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_secs(1 << attempt.saturating_sub(1).min(5)).min(Duration::from_secs(30));
    let random = model::random::bytes(2);
    let unit = f64::from(u16::from_le_bytes([random[0], random[1]])) / f64::from(u16::MAX);
    base.mul_f64(0.8 + 0.4 * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reset_header_is_read_as_an_instant() {
        let now: Timestamp = "2026-12-04T12:00:00Z".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(until("2026-12-04T12:00:02.5Z", now), Some(Duration::from_millis(2500)));
        assert_eq!(until("2026-12-04T11:00:00Z", now), Some(Duration::ZERO));
        assert_eq!(until("soon", now), None);
        for attempt in 1..20 {
            assert!(backoff(attempt) <= Duration::from_secs(36));
        }
    }
}
