//! `ucm bench delivery`: webhook deliveries per second to a receiver on 127.0.0.1, against the
//! same receiver's rate from a plain HTTP client with the same concurrency in the same run (the
//! ratio is our overhead: the outbox, claims, signing, attempt records), and the latency from an
//! event's commit to its first attempt while events keep coming.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use model::clock::SystemClock;
use model::webhook::{OutboundEvent, Trigger};
use serde::Serialize;
use webhooks::{
    AddressPolicy, DispatchSettings, Dispatcher, GuardedClient, SealingKey, SubscriptionInput, Subscriptions, Timeouts,
    UrlPolicy,
};

use super::bench::on_scratch_stores;
use crate::config::Config;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryBench {
    engine: &'static str,
    events: usize,
    concurrency: usize,
    deliveries_per_second: f64,
    plain_client_requests_per_second: f64,
    /// The plain client's rate divided by ours.
    overhead_ratio: f64,
    /// Events queued one commit each while the dispatcher runs (the latency phase).
    arriving_events: usize,
    first_attempt_p50_ms: i64,
    first_attempt_p99_ms: i64,
}

pub async fn run(config: &Config, events: usize, json: bool) -> anyhow::Result<()> {
    anyhow::ensure!(events > 0, "--events must be at least 1");
    let (url, hits) = receiver().await?;
    let results = on_scratch_stores(config, async |store| bench(store, &url, &hits, events).await).await?;
    if json {
        return crate::output::json(&results);
    }
    for r in &results {
        crate::output::outln!(
            "{}: {} deliveries at concurrency {}: {:.0}/s; a plain client to the same receiver: {:.0}/s ({:.2}× ours)",
            r.engine,
            r.events,
            r.concurrency,
            r.deliveries_per_second,
            r.plain_client_requests_per_second,
            r.overhead_ratio
        );
        crate::output::outln!(
            "  commit → first attempt: p50 {} ms, p99 {} ms ({} more events queued one commit each while deliveries go)",
            r.first_attempt_p50_ms,
            r.first_attempt_p99_ms,
            r.arriving_events
        );
    }
    Ok(())
}

/// A receiver on 127.0.0.1 that answers 200 at once and counts requests.
async fn receiver() -> anyhow::Result<(String, Arc<AtomicU64>)> {
    let hits = Arc::new(AtomicU64::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, hits))
}

async fn bench(store: &store::Store, url: &str, hits: &AtomicU64, events: usize) -> anyhow::Result<DeliveryBench> {
    let concurrency = DispatchSettings::default().capacity;
    let body = r#"{"trigger":"taskSuccess","processId":"p","name":"Bench","actionTypes":[],"deepLink":"http://h/t"}"#;

    // Baseline: the same receiver, a plain client, the same concurrency.
    webhooks::client::install_crypto_provider();
    let plain = reqwest::Client::new();
    let started = Instant::now();
    let per_worker = events / concurrency + 1;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (plain, url) = (plain.clone(), url.to_owned());
            tokio::spawn(async move {
                for _ in 0..per_worker {
                    let _ = plain.post(&url).body(body).send().await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await?;
    }
    let plain_rate = (per_worker * concurrency) as f64 / started.elapsed().as_secs_f64();

    let clock = Arc::new(SystemClock);
    let key = SealingKey::from_base64(&SealingKey::generate()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let subscriptions = Subscriptions::new(
        store.clone(),
        key,
        UrlPolicy::new("http://127.0.0.1", &["http://127.0.0.1:".to_owned()]),
        3,
        clock.clone(),
    );
    let input = SubscriptionInput {
        name: "bench".into(),
        url: url.to_owned(),
        secret: Some("a-bench-secret-long-enough".into()),
        triggers: vec![Trigger::TaskSuccess],
        notes: String::new(),
        enabled: true,
    };
    subscriptions.create(&input).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let client =
        GuardedClient::new(AddressPolicy::parse(&["127.0.0.0/8".to_owned()]).unwrap_or_default(), Timeouts::default())?;
    let dispatcher =
        Dispatcher::new(store.clone(), subscriptions, client, DispatchSettings::default(), clock, Arc::default());

    let event =
        OutboundEvent { trigger: Trigger::TaskSuccess, body: body.to_owned(), process_id: None, api_key_id: None };

    // Drain: the outbox already holds `events` deliveries when the dispatcher starts; the rate
    // is the dispatcher's own (claim, open the secret, sign, post, record).
    for _ in 0..events {
        store.queue_event(&event, jiff::Timestamp::now()).await?;
    }
    store.analyze_outbox().await?;
    let started = Instant::now();
    let delivered = deliver_while(&dispatcher, hits, events, async { Ok(()) }).await?;
    let ours = delivered.max(1) as f64 / started.elapsed().as_secs_f64();

    // Arrival: a quarter as many events keep coming, each committed on its own as run outcomes
    // are, while deliveries go: commit → first attempt.
    let arriving = (events / 4).max(1);
    let since = jiff::Timestamp::now();
    deliver_while(&dispatcher, hits, arriving, async {
        for _ in 0..arriving {
            store.queue_event(&event, jiff::Timestamp::now()).await?;
        }
        Ok(())
    })
    .await?;

    let latencies = store.first_attempt_latencies(since).await?;
    let at = |q: f64| latencies.get(((latencies.len().max(1) - 1) as f64 * q).round() as usize).copied().unwrap_or(0);
    Ok(DeliveryBench {
        engine: store.engine().name(),
        events,
        concurrency,
        deliveries_per_second: ours,
        plain_client_requests_per_second: plain_rate,
        overhead_ratio: plain_rate / ours,
        arriving_events: arriving,
        first_attempt_p50_ms: at(0.5),
        first_attempt_p99_ms: at(0.99),
    })
}

/// Runs the dispatcher while `produce` runs and until the receiver has `count` more requests.
/// Returns how many arrived.
async fn deliver_while(
    dispatcher: &Dispatcher,
    hits: &AtomicU64,
    count: usize,
    produce: impl Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<u64> {
    let before = hits.load(Ordering::Relaxed);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut stopped_rx = stopped.clone();
    let running = tokio::spawn(dispatcher.clone().run(Duration::from_millis(5), async move {
        let _ = stopped_rx.wait_for(|s| *s).await;
    }));
    produce.await?;
    while hits.load(Ordering::Relaxed) - before < count as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = stop.send(true);
    let _ = running.await;
    dispatcher.idle().await;
    Ok(hits.load(Ordering::Relaxed) - before)
}
