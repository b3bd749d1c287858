//! The dispatcher (DELIVERY.md): claims due deliveries with a lease, sends each signed attempt
//! through the guarded client under a CapacityLimiter (a semaphore with owned permits), records
//! every attempt, and decides what follows: done, a retry with backoff and jitter (or the
//! receiver's `Retry-After`), dead, or dead with the subscription switched off (410).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use model::clock::Clock;
use store::{AttemptRecord, ClaimedDelivery, NextStep, Store};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::client::{GuardedClient, RESPONSE_PREFIX_BYTES, Request, Response, SendError};
use crate::metrics::{AttemptResult, DeliveryMetrics};
use crate::subscriptions::Subscriptions;

/// How deliveries are sent.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// Requests in flight at once, across the process (the CapacityLimiter).
    pub capacity: usize,
    /// The waits before each retry; their number is the number of retries (1 attempt + 3).
    pub retry_delays: Vec<Duration>,
    /// The longest `Retry-After` honoured.
    pub max_retry_after: Duration,
    /// How long a claim on a delivery holds.
    pub lease: Duration,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            capacity: 8,
            retry_delays: vec![Duration::from_secs(10), Duration::from_secs(60), Duration::from_secs(600)],
            max_retry_after: Duration::from_secs(3600),
            lease: Duration::from_secs(60),
        }
    }
}

/// The dispatcher of one process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    store: Store,
    subscriptions: Subscriptions,
    client: GuardedClient,
    settings: Arc<DispatchSettings>,
    limiter: Arc<Semaphore>,
    clock: Arc<dyn Clock>,
    owner: String,
    metrics: Arc<DeliveryMetrics>,
    recorder: Arc<Recorder>,
    own_flows: Option<Arc<OwnFlows>>,
}

/// Where webhooks to this installation's own flows go: its own listener, not the public URL
/// (which may be a proxy this machine cannot reach, or a name for another address).
#[derive(Debug)]
struct OwnFlows {
    /// `{public_url}/automation/webhooks/`, as subscriptions name it.
    public: String,
    /// `http://{listener}/automation/webhooks/`, where it is sent.
    local: String,
}

type Recorded = Result<bool, String>;

/// An attempt waiting to be recorded, with the send's permit and where its result goes.
type Waiting = (String, AttemptRecord, OwnedSemaphorePermit, tokio::sync::oneshot::Sender<Recorded>);

/// Writes attempt records in groups: an attempt that ends while another group is being
/// written waits, and the next writer takes everything waiting in one transaction. A send
/// keeps its permit until its record is written, so the CapacityLimiter bounds both; a group's
/// permits are given back together, so the next claim can take as many deliveries at once.
#[derive(Debug, Default)]
struct Recorder {
    waiting: std::sync::Mutex<Vec<Waiting>>,
    writing: tokio::sync::Mutex<()>,
}

impl Recorder {
    async fn record(
        &self,
        store: &Store,
        owner: &str,
        delivery_id: String,
        attempt: AttemptRecord,
        permit: OwnedSemaphorePermit,
    ) -> Recorded {
        let (done, recorded) = tokio::sync::oneshot::channel();
        self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((
            delivery_id,
            attempt,
            permit,
            done,
        ));
        {
            // Whoever writes next takes ours too, if an earlier writer has not already.
            let _writing = self.writing.lock().await;
            let group = std::mem::take(&mut *self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
            if !group.is_empty() {
                let mut records = Vec::with_capacity(group.len());
                let mut permits = Vec::with_capacity(group.len());
                let mut answers = Vec::with_capacity(group.len());
                for (id, attempt, permit, done) in group {
                    records.push((id, attempt));
                    permits.push(permit);
                    answers.push(done);
                }
                let written = store.record_attempts(owner, &records).await;
                drop(permits);
                match written {
                    Ok(results) => {
                        for (done, result) in answers.into_iter().zip(results) {
                            let _ = done.send(Ok(result));
                        }
                    }
                    Err(e) => {
                        for done in answers {
                            let _ = done.send(Err(e.to_string()));
                        }
                    }
                }
            }
        }
        recorded.await.unwrap_or_else(|_| Err("the attempt's writer stopped".to_owned()))
    }
}

impl Dispatcher {
    pub fn new(
        store: Store,
        subscriptions: Subscriptions,
        client: GuardedClient,
        settings: DispatchSettings,
        clock: Arc<dyn Clock>,
        metrics: Arc<DeliveryMetrics>,
    ) -> Self {
        let limiter = Arc::new(Semaphore::new(settings.capacity.max(1)));
        let owner = format!("ucm-{}", model::ids::new_uuid());
        Self {
            store,
            subscriptions,
            client,
            settings: Arc::new(settings),
            limiter,
            clock,
            owner,
            metrics,
            recorder: Arc::default(),
            own_flows: None,
        }
    }

    /// Sends webhooks for this installation's own flows (`{public_url}/automation/webhooks/…`)
    /// to the listener at `listening` (a wildcard address as loopback), the client allowed to
    /// reach exactly that address for that path. The delivery log keeps the public URL.
    #[must_use]
    pub fn with_own_flows(mut self, public_url: &str, listening: SocketAddr) -> Self {
        let ip = match listening.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let local = SocketAddr::new(ip, listening.port());
        self.client = self.client.with_own_flows_endpoint(local);
        self.own_flows = Some(Arc::new(OwnFlows {
            public: crate::policy::own_flows_prefix(public_url),
            local: crate::policy::own_flows_prefix(&format!("http://{local}")),
        }));
        self
    }

    /// Where a delivery to `url` is sent.
    fn route(&self, url: &str) -> String {
        match &self.own_flows {
            Some(own) if url.starts_with(&own.public) => format!("{}{}", own.local, &url[own.public.len()..]),
            _ => url.to_owned(),
        }
    }

    /// What this dispatcher has done (for `/metrics`).
    pub fn metrics(&self) -> Arc<DeliveryMetrics> {
        self.metrics.clone()
    }

    /// Claims what is due (as many as there are free permits) and sends each in the
    /// background. Returns how many were claimed.
    pub async fn pass(&self) -> Result<usize, store::StoreError> {
        let free = self.limiter.available_permits();
        if free == 0 {
            return Ok(0);
        }
        let now = self.clock.now();
        let until = now
            .checked_add(SignedDuration::try_from(self.settings.lease).unwrap_or(SignedDuration::MAX))
            .unwrap_or(Timestamp::MAX);
        let claimed =
            self.store.claim_deliveries(&self.owner, now, until, u32::try_from(free).unwrap_or(u32::MAX)).await?;
        let count = claimed.len();
        for delivery in claimed {
            // Not renewed: one attempt is shorter than the lease, and none starts after it.
            let claim = worker::Claim::unrenewed(self.settings.lease);
            // Taken before the request starts, given back when it ends (dropped with the task).
            let Ok(permit) = self.limiter.clone().acquire_owned().await else { break };
            let dispatcher = self.clone();
            tokio::spawn(async move { dispatcher.deliver(delivery, &claim, permit).await });
        }
        Ok(count)
    }

    /// Waits until every permit is free again (all sends in flight have ended).
    pub async fn idle(&self) {
        let all = u32::try_from(self.settings.capacity.max(1)).unwrap_or(u32::MAX);
        if let Ok(permits) = self.limiter.acquire_many(all).await {
            drop(permits);
        }
    }

    /// Sends until `shutdown` completes: while there is work, a new pass starts as soon as a
    /// permit is free; when there is none, it looks again every `every`. Errors are logged and
    /// the loop goes on.
    pub async fn run(self, every: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let claimed = match worker::isolate("delivery pass", self.pass()).await {
                Ok(Ok(claimed)) => claimed,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "delivery pass failed; trying again shortly");
                    0
                }
                Err(_) => 0,
            };
            let next = async {
                if claimed == 0 {
                    tokio::time::sleep(every).await;
                } else if let Ok(permit) = self.limiter.acquire().await {
                    // Busy: go on as soon as one send ends.
                    drop(permit);
                }
            };
            tokio::select! {
                () = &mut shutdown => break,
                () = next => {}
            }
        }
    }

    /// Sends one attempt and records it; `permit` is given back once the record is written.
    /// Nothing is sent once the claim has lapsed (another dispatcher may have the delivery); a
    /// panic while preparing or sending is an attempt that failed with an internal error.
    async fn deliver(&self, delivery: ClaimedDelivery, claim: &worker::Claim, permit: OwnedSemaphorePermit) {
        if !claim.held() {
            tracing::warn!(delivery_id = %delivery.delivery_id, "the claim lapsed before the attempt started; not sent");
            return;
        }
        let started_at = self.clock.now();
        if delivery.attempts == 0 {
            let waited = started_at.duration_since(delivery.queued_at);
            self.metrics.first_attempt_after(Duration::try_from(waited).unwrap_or(Duration::ZERO));
        }
        let clock_started = Instant::now();
        let what = format!("delivery {}", delivery.delivery_id);
        let outcome = worker::isolate(&what, self.send(&delivery, started_at)).await.unwrap_or_else(|_| {
            Err(SendError::Other("internal error while sending; the details are in the server log".to_owned()))
        });
        let duration_ms = u64::try_from(clock_started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let attempt = self.decide(&delivery, started_at, duration_ms, outcome);
        tracing::info!(delivery_id = %delivery.delivery_id, subscription = %delivery.subscription_id,
            process_id = delivery.process_id.as_ref().map(|p| p.0.as_str()), dispatcher = %self.owner,
            status = attempt.status, error = attempt.error_kind, next = ?attempt.next, "delivery attempt");
        self.metrics.attempt(match attempt.next {
            NextStep::Succeeded => AttemptResult::Succeeded,
            NextStep::Retry(_) => AttemptResult::Retried,
            NextStep::Dead | NextStep::DeadAndDisable(_) => AttemptResult::Dead,
        });
        match self.recorder.record(&self.store, &self.owner, delivery.delivery_id.clone(), attempt, permit).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(delivery_id = %delivery.delivery_id, "the claim lapsed before the attempt was recorded")
            }
            Err(e) => tracing::error!(delivery_id = %delivery.delivery_id, error = %e, "could not record an attempt"),
        }
    }

    /// Signs and sends one attempt of `delivery`, started at `started_at`.
    async fn send(&self, delivery: &ClaimedDelivery, started_at: Timestamp) -> Result<Response, SendError> {
        match self.subscriptions.open_secret(&delivery.subscription_id, &delivery.secret_sealed) {
            Ok((token, secret)) => {
                let timestamp = started_at.as_second();
                let signature = secret.sign(&delivery.delivery_id, timestamp, delivery.body.as_bytes());
                let request = Request {
                    method: "POST".to_owned(),
                    url: self.route(&delivery.url),
                    headers: vec![
                        ("content-type".into(), "application/json".into()),
                        ("x-automation-webhook-token".into(), token),
                        ("webhook-id".into(), delivery.delivery_id.clone()),
                        ("webhook-timestamp".into(), timestamp.to_string()),
                        ("webhook-signature".into(), signature),
                    ],
                    body: Some(delivery.body.clone().into_bytes()),
                };
                self.client.send(&request, RESPONSE_PREFIX_BYTES).await
            }
            Err(e) => Err(SendError::BadUrl(format!("the webhook's secret is unusable: {e}"))),
        }
    }

    /// DELIVERY.md's rules: 2xx done; 410 dead and the subscription off; 408, 425, 429, 5xx and
    /// transient errors retried (Retry-After honoured within a cap); 3xx and other 4xx dead.
    fn decide(
        &self,
        delivery: &ClaimedDelivery,
        started_at: Timestamp,
        duration_ms: u64,
        outcome: Result<Response, SendError>,
    ) -> AttemptRecord {
        let retries_left = (delivery.attempts as usize) < self.settings.retry_delays.len();
        let retry_at = |retry_after: Option<&str>| -> NextStep {
            if !retries_left {
                return NextStep::Dead;
            }
            let planned = self.settings.retry_delays[delivery.attempts as usize];
            let wait = retry_after
                .and_then(|value| parse_retry_after(value, started_at))
                .map_or_else(|| jitter(planned), |asked| asked.min(self.settings.max_retry_after));
            NextStep::Retry(
                started_at
                    .checked_add(SignedDuration::try_from(wait).unwrap_or(SignedDuration::MAX))
                    .unwrap_or(Timestamp::MAX),
            )
        };
        match outcome {
            Ok(answer) => {
                let next = match answer.status {
                    200..=299 => NextStep::Succeeded,
                    410 => NextStep::DeadAndDisable("the receiver answered 410 Gone".to_owned()),
                    408 | 425 | 429 | 500..=599 => retry_at(answer.header("retry-after")),
                    _ => NextStep::Dead,
                };
                AttemptRecord {
                    started_at,
                    duration_ms,
                    status: Some(answer.status),
                    error_kind: None,
                    response_prefix: answer.text(),
                    next,
                }
            }
            Err(error) => AttemptRecord {
                started_at,
                duration_ms,
                status: None,
                error_kind: Some(error.to_string()),
                response_prefix: String::new(),
                next: if error.is_transient() { retry_at(None) } else { NextStep::Dead },
            },
        }
    }
}

/// ±20 % around `base`.
fn jitter(base: Duration) -> Duration {
    let random = model::random::bytes(2);
    let unit = f64::from(u16::from_le_bytes([random[0], random[1]])) / f64::from(u16::MAX);
    base.mul_f64(0.8 + 0.4 * unit)
}

/// `Retry-After` as seconds, or as an HTTP date (RFC 9110: `Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = date.duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Sun, 29 Nov 2026 12:01:00 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("Sun, 29 Nov 2026 11:00:00 GMT", now), Some(Duration::ZERO), "in the past: now");
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn jitter_stays_within_a_fifth() {
        for _ in 0..1000 {
            let d = jitter(Duration::from_secs(10));
            assert!(d >= Duration::from_secs(8) && d <= Duration::from_secs(12), "{d:?}");
        }
    }
}
