//! What the dispatcher of this process has done, for `/metrics` (Prometheus text format).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the latency buckets: outcome committed → first attempt started.
const BUCKETS: [f64; 9] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Counters kept by a [`crate::Dispatcher`].
#[derive(Debug, Default)]
pub struct DeliveryMetrics {
    succeeded: AtomicU64,
    retried: AtomicU64,
    dead: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_millis: AtomicU64,
}

/// What an attempt led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    Succeeded,
    Retried,
    Dead,
}

impl DeliveryMetrics {
    pub fn attempt(&self, result: AttemptResult) {
        let counter = match result {
            AttemptResult::Succeeded => &self.succeeded,
            AttemptResult::Retried => &self.retried,
            AttemptResult::Dead => &self.dead,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Notes how long a delivery waited from its event to its first attempt.
    pub fn first_attempt_after(&self, waited: Duration) {
        let seconds = waited.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_millis.fetch_add(u64::try_from(waited.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The counters in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP ucm_webhook_attempts_total Delivery attempts by what followed them.");
        let _ = writeln!(out, "# TYPE ucm_webhook_attempts_total counter");
        for (result, counter) in [("succeeded", &self.succeeded), ("retried", &self.retried), ("dead", &self.dead)] {
            let _ =
                writeln!(out, "ucm_webhook_attempts_total{{result=\"{result}\"}} {}", counter.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP ucm_webhook_first_attempt_latency_seconds From an event's commit to its delivery's first attempt."
        );
        let _ = writeln!(out, "# TYPE ucm_webhook_first_attempt_latency_seconds histogram");
        for (bound, bucket) in BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(
                out,
                "ucm_webhook_first_attempt_latency_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "ucm_webhook_first_attempt_latency_seconds_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.latency_sum_millis.load(Ordering::Relaxed) as f64 / 1000.0;
        let _ = writeln!(out, "ucm_webhook_first_attempt_latency_seconds_sum {sum}");
        let _ = writeln!(out, "ucm_webhook_first_attempt_latency_seconds_count {count}");
    }
}
