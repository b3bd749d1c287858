//! Receiving a flow's incoming webhook (AUTOMATION §1): the flow exists and is enabled, the
//! body is within the cap, the sender knows the secret (header, path or Standard Webhooks signature, compared in constant
//! time), the body is JSON that fits the trigger's work-item criteria, and the sender stays
//! under the flow's rate; then the request is stored, and only then accepted.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use model::flow::{FlowTrigger, WorkItemCriteria};
use store::{StoreError, StoredExecution};
use subtle::ConstantTimeEq as _;
use webhooks::{Headers, SigningSecret};

use crate::flows::{FlowError, Flows};

/// The largest body accepted (AUTOMATION §6: 1 MiB).
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// The longest `webhook-id` kept for deduplication.
const MAX_WEBHOOK_ID_CHARS: usize = 256;

/// A request as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub flow_id: &'a str,
    /// The secret as the last path segment (`…/{flowId}/{secret}`).
    pub path_secret: Option<&'a str>,
    /// `X-Automation-Webhook-Token`.
    pub token: Option<&'a str>,
    /// The Standard Webhooks headers; `webhook-id` also deduplicates.
    pub signature: Headers<'a>,
    pub body: &'a [u8],
    /// The peer's address, for the audit log.
    pub source: &'a str,
    /// `X-Automation-Depth`: how many flows led to this request (0 from outside).
    pub depth: u32,
}

/// A chain of flows triggering each other stops at this depth, with `LOOP` (AUTOMATION §6).
pub const MAX_CHAIN_DEPTH: u32 = 10;

/// Requests waiting to run, across every flow, past which new ones are refused (429) until
/// the executor catches up (AUTOMATION §6: a global queue cap).
pub const MAX_QUEUED: u64 = 10_000;

/// Why a request was refused; each is one HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// 404: no such flow, or it is disabled.
    #[error("no enabled flow has this webhook")]
    NotFound,
    /// 401, without saying what was wrong.
    #[error("the webhook secret is missing or wrong")]
    Unauthorized,
    /// 413.
    #[error("the body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 429 with `Retry-After`.
    #[error("this flow receives at most {limit} requests a minute; try again in {} s", retry_after.as_secs())]
    RateLimited { limit: u32, retry_after: Duration },
    /// 429 with `Retry-After`: too many requests wait to run, across every flow.
    #[error("{MAX_QUEUED} requests are waiting to run; try again in a minute")]
    QueueFull,
    /// 5xx: the request could not be stored, so it was not accepted.
    #[error(transparent)]
    Store(StoreError),
}

/// An accepted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub execution_id: String,
    /// False when the same `webhook-id` was received before (nothing new was stored).
    pub new: bool,
}

/// Requests per flow per minute, in this process.
#[derive(Debug)]
pub struct RateLimit {
    per_minute: u32,
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimit {
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute, windows: Mutex::new(HashMap::new()) }
    }

    /// Counts a request to `flow_id` at `now_ms`; `Err(wait)` once the minute's budget is spent.
    fn admit(&self, flow_id: &str, now_ms: i64) -> Result<(), Duration> {
        let minute = now_ms.div_euclid(60_000);
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Old minutes are of no use: forget them so the map stays as small as the active flows.
        windows.retain(|_, (window, _)| *window == minute);
        let (_, count) = windows.entry(flow_id.to_owned()).or_insert((minute, 0));
        if *count >= self.per_minute {
            let wait_ms = (minute + 1) * 60_000 - now_ms;
            return Err(Duration::from_millis(u64::try_from(wait_ms).unwrap_or(1_000).max(1_000)));
        }
        *count += 1;
        Ok(())
    }
}

/// Requests waiting to run, counted at `counted_at`, plus those accepted here since.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Queued {
    counted_at: std::time::Instant,
    waiting: u64,
}

/// How long a count of the queue is used: counting reads every waiting request, too much to do
/// for each one that arrives. The cap may be passed by what other processes accept meanwhile.
const QUEUED_FRESH: Duration = Duration::from_millis(250);

impl Flows {
    fn queued(&self) -> std::sync::MutexGuard<'_, Option<Queued>> {
        self.queued.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Requests waiting to run, across every flow: counted at most once every [`QUEUED_FRESH`],
    /// those this process accepted in between added.
    async fn queued_estimate(&self) -> Result<u64, StoreError> {
        if let Some(queued) = self.queued().filter(|q| q.counted_at.elapsed() < QUEUED_FRESH) {
            return Ok(queued.waiting);
        }
        let waiting = self.store().count_queued_executions().await?;
        *self.queued() = Some(Queued { counted_at: std::time::Instant::now(), waiting });
        Ok(waiting)
    }

    /// Checks `request` and stores it as a queued execution of its flow.
    pub async fn receive(&self, request: Incoming<'_>, limit: &RateLimit) -> Result<Accepted, Refusal> {
        let stored = match self.store().flow(request.flow_id).await {
            Ok(flow) if flow.enabled => flow,
            Ok(_) | Err(StoreError::NotFound(_)) => return Err(Refusal::NotFound),
            Err(e) => return Err(Refusal::Store(e)),
        };
        let flow = self.view(stored, true).map_err(|e| match e {
            FlowError::Store(e) => Refusal::Store(e),
            _ => Refusal::Store(StoreError::Other(format!("flow `{}` cannot be read", request.flow_id))),
        })?;
        // A body over the cap cannot be checked against a signature: refused for its size first.
        if request.body.len() > MAX_BODY_BYTES {
            return Err(Refusal::TooLarge);
        }
        let secret = flow.webhook.secret.unwrap_or_default();
        let auth = authenticate(&request, &secret, self.now().as_second()).ok_or(Refusal::Unauthorized)?;
        let body: serde_json::Value = serde_json::from_slice(request.body)
            .map_err(|e| Refusal::BadRequest(format!("the body is not valid JSON: {e}")))?;
        let FlowTrigger::IncomingWebhook { work_items } = flow.definition.trigger;
        let work_items = work_items_of(&body, work_items)?;
        let webhook_id = request.signature.id.map(str::trim).filter(|id| !id.is_empty());
        if webhook_id.is_some_and(|id| id.chars().count() > MAX_WEBHOOK_ID_CHARS) {
            return Err(Refusal::BadRequest(format!("`webhook-id` is longer than {MAX_WEBHOOK_ID_CHARS} characters")));
        }
        let now = self.now();
        limit
            .admit(request.flow_id, now.as_millisecond())
            .map_err(|retry_after| Refusal::RateLimited { limit: limit.per_minute, retry_after })?;
        if self.queued_estimate().await.map_err(Refusal::Store)? >= MAX_QUEUED {
            return Err(Refusal::QueueFull);
        }
        let execution = StoredExecution {
            id: model::ids::new_uuid(),
            flow_id: request.flow_id.to_owned(),
            state: "queued".to_owned(),
            status: None,
            webhook_id: webhook_id.map(str::to_owned),
            body: String::from_utf8_lossy(request.body).into_owned(),
            work_items: work_items.map(|items| serde_json::Value::from(items).to_string()),
            source: request.source.to_owned(),
            auth: auth.to_owned(),
            received_at: now,
            started_at: None,
            finished_at: None,
            steps: None,
            duration_ms: None,
            depth: request.depth,
            owner: None,
            lease_until: None,
            claims: 0,
        };
        // A chain too deep is recorded, not run.
        let execution = if request.depth >= MAX_CHAIN_DEPTH {
            let record = crate::execute::note_record(&format!(
                "{} flows in a row triggered each other; the chain stops here",
                request.depth
            ));
            StoredExecution {
                state: "finished".to_owned(),
                status: Some(crate::ExecutionStatus::Loop.as_str().to_owned()),
                finished_at: Some(now),
                steps: Some(serde_json::to_string(&[record]).unwrap_or_default()),
                ..execution
            }
        } else {
            execution
        };
        let (stored, new) = self.store().insert_execution(&execution).await.map_err(Refusal::Store)?;
        if new && let Some(queued) = self.queued().as_mut() {
            queued.waiting += 1;
        }
        Ok(Accepted { execution_id: stored.id, new })
    }
}

/// How the sender proved it knows the secret, if it did: `token`, `path` or `signature`.
fn authenticate(request: &Incoming<'_>, secret: &str, now: i64) -> Option<&'static str> {
    let matches = |given: &str| !secret.is_empty() && bool::from(given.trim().as_bytes().ct_eq(secret.as_bytes()));
    if request.token.is_some_and(matches) {
        return Some("token");
    }
    if request.path_secret.is_some_and(matches) {
        return Some("path");
    }
    let signing = SigningSecret::new(secret).ok()?;
    webhooks::verify(&signing, request.signature, request.body, Some(now)).ok().map(|()| "signature")
}

/// The work items a body carries, as the trigger's criteria ask.
pub(crate) fn work_items_of(
    body: &serde_json::Value,
    criteria: WorkItemCriteria,
) -> Result<Option<Vec<String>>, Refusal> {
    match criteria {
        WorkItemCriteria::None => Ok(None),
        WorkItemCriteria::Provided => {
            let items = body.get("issues").and_then(serde_json::Value::as_array).filter(|items| !items.is_empty());
            let keys: Option<Vec<String>> =
                items.and_then(|items| items.iter().map(|i| i.as_str().map(str::to_owned)).collect());
            keys.map(Some).ok_or_else(|| {
                Refusal::BadRequest(
                    "this flow's trigger takes work items (workItems: provided): the body must carry \
                     \"issues\": [\"KEY-1\", …]"
                        .to_owned(),
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_limit_counts_per_flow_per_minute() {
        let limit = RateLimit::new(2);
        let t = 1_800_000_000_000;
        assert!(limit.admit("a", t).is_ok() && limit.admit("a", t + 1).is_ok());
        let wait = limit.admit("a", t + 2).unwrap_err();
        assert!(wait.as_secs() <= 60 && wait.as_secs() >= 1, "{wait:?}");
        assert!(limit.admit("b", t + 3).is_ok(), "another flow has its own budget");
        assert!(limit.admit("a", t + 60_000).is_ok(), "a new minute");
    }
}
