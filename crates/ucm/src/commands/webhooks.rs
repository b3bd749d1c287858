//! `ucm webhooks`: Notification Settings.

use std::io::Read as _;

use anyhow::{Context as _, bail};
use model::webhook::Trigger;
use webhooks::{SubscriptionError, SubscriptionInput};

use crate::cli::{WebhookArgs, WebhooksCommand};
use crate::context::Context;
use crate::output::{self, outln};

/// A webhook by id or by name (ignoring case); an unknown one is an error with suggestions.
async fn find(subscriptions: &webhooks::Subscriptions, id_or_name: &str) -> anyhow::Result<String> {
    let all = subscriptions.list().await.map_err(explain)?;
    let wanted = id_or_name.trim();
    if let Some(found) = all.iter().find(|s| s.id == wanted || s.name.to_lowercase() == wanted.to_lowercase()) {
        return Ok(found.id.clone());
    }
    let suggestions = model::suggest::closest_or_all(wanted, all.iter().map(|s| s.name.as_str()), 3);
    if suggestions.is_empty() {
        bail!("there is no webhook `{wanted}` (`ucm webhooks list` shows them)");
    }
    bail!("there is no webhook `{wanted}` (did you mean: {}?)", suggestions.join(", "))
}

pub async fn run(context: &Context, command: WebhooksCommand) -> anyhow::Result<()> {
    let subscriptions = context.subscriptions(&context.public_url())?;
    match command {
        WebhooksCommand::List { json } => {
            let list = subscriptions.list().await.map_err(explain)?;
            if json {
                return output::json(&list);
            }
            if list.is_empty() {
                outln!("No webhooks yet. Create one with `ucm webhooks create` (see --help).");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|s| {
                    let triggers: Vec<&str> = s.triggers.iter().map(|t| t.as_str()).collect();
                    let state = match (&s.enabled, &s.disabled_reason) {
                        (true, _) => "enabled".to_owned(),
                        (false, Some(reason)) => format!("disabled: {reason}"),
                        (false, None) => "disabled".to_owned(),
                    };
                    vec![s.id.clone(), s.name.clone(), s.url.clone(), triggers.join(","), state]
                })
                .collect();
            output::table(&["ID", "NAME", "URL", "TRIGGERS", "STATE"], &rows);
            Ok(())
        }
        WebhooksCommand::Create(args) => {
            let created = subscriptions.create(&input(&args)?).await.map_err(explain)?;
            outln!(
                "Created webhook `{}` ({}); its secret is sealed and will not be shown again.",
                created.name,
                created.id
            );
            Ok(())
        }
        WebhooksCommand::Update { id, webhook } => {
            let updated =
                subscriptions.update(&find(&subscriptions, &id).await?, &input(&webhook)?).await.map_err(explain)?;
            outln!("Updated webhook `{}` ({}).", updated.name, updated.id);
            Ok(())
        }
        WebhooksCommand::Delete { id } => {
            let id = find(&subscriptions, &id).await?;
            subscriptions.delete(&id).await.map_err(explain)?;
            outln!("Deleted webhook {id} and its delivery log.");
            Ok(())
        }
        WebhooksCommand::Test { id } => {
            let delivery = subscriptions
                .send_test(&find(&subscriptions, &id).await?, &context.public_url())
                .await
                .map_err(explain)?;
            outln!(
                "Queued test delivery {delivery}; `ucm serve` sends it. Follow it with `ucm webhooks delivery {delivery}`."
            );
            Ok(())
        }
        WebhooksCommand::Deliveries { id, state, limit, json } => {
            let list = subscriptions
                .deliveries(&find(&subscriptions, &id).await?, state.as_deref(), limit)
                .await
                .map_err(explain)?;
            if json {
                return output::json(&list);
            }
            if list.is_empty() {
                outln!("No deliveries.");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|d| {
                    let last = match (&d.last_status, &d.last_error) {
                        (Some(status), _) => status.to_string(),
                        (None, Some(error)) => error.clone(),
                        (None, None) => "-".to_owned(),
                    };
                    vec![
                        d.delivery_id.clone(),
                        d.event.as_str().to_owned(),
                        d.state.clone(),
                        d.attempts.to_string(),
                        last,
                        output::when(Some(d.created_at)),
                    ]
                })
                .collect();
            output::table(&["DELIVERY", "EVENT", "STATE", "ATTEMPTS", "LAST", "QUEUED"], &rows);
            Ok(())
        }
        WebhooksCommand::Delivery { delivery_id, json } => {
            let (delivery, attempts) = subscriptions.delivery(&delivery_id).await.map_err(explain)?;
            if json {
                return output::json(&serde_json::json!({"delivery": delivery, "attempts": attempts}));
            }
            outln!("Delivery {} · {} · {}", delivery.delivery_id, delivery.event.as_str(), delivery.state);
            outln!("Body:    {}", delivery.body);
            let rows: Vec<Vec<String>> = attempts
                .iter()
                .map(|a| {
                    vec![
                        a.attempt.to_string(),
                        output::when(Some(a.started_at)),
                        format!("{} ms", a.duration_ms),
                        a.status.map_or_else(|| a.error.clone().unwrap_or_default(), |s| s.to_string()),
                        a.response.chars().take(60).collect(),
                    ]
                })
                .collect();
            if rows.is_empty() {
                outln!("No attempt yet.");
            } else {
                outln!();
                output::table(&["#", "STARTED", "TOOK", "STATUS", "ANSWER"], &rows);
            }
            Ok(())
        }
        WebhooksCommand::Redeliver { delivery_ids, dead_of } => {
            if delivery_ids.is_empty() && dead_of.is_none() {
                bail!("name deliveries, or --dead-of WEBHOOK_ID for every dead delivery of a webhook");
            }
            let dead_of = match dead_of {
                Some(webhook) => Some(find(&subscriptions, &webhook).await?),
                None => None,
            };
            let n = subscriptions.redeliver(&delivery_ids, dead_of.as_deref()).await.map_err(explain)?;
            outln!("Queued {n} deliveries again; `ucm serve` sends them.");
            Ok(())
        }
        WebhooksCommand::Listen { .. } => bail!("`ucm webhooks listen` runs without a database"),
    }
}

/// What `ucm webhooks listen` was told to do.
#[derive(Debug)]
struct Listener {
    secret: Option<webhooks::SigningSecret>,
    status: axum::http::StatusCode,
    fail_first: u32,
    /// Requests seen per webhook-id.
    attempts: std::sync::Mutex<std::collections::HashMap<String, u32>>,
}

/// `ucm webhooks listen`: a receiver that prints what arrives, checks signatures, and answers
/// as told, until Ctrl-C.
pub async fn listen(
    bind: std::net::SocketAddr,
    status: u16,
    fail_first: u32,
    secret_stdin: bool,
) -> anyhow::Result<()> {
    let status = axum::http::StatusCode::from_u16(status)
        .ok()
        .filter(|s| (200..=599).contains(&s.as_u16()))
        .ok_or_else(|| anyhow::anyhow!("--status must be an HTTP status from 200 to 599"))?;
    let secret = if secret_stdin {
        let text = read_secret()?;
        Some(webhooks::SigningSecret::new(&text).map_err(|e| anyhow::anyhow!("--secret-stdin: {e}"))?)
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind}"))?;
    let state = std::sync::Arc::new(Listener { secret, status, fail_first, attempts: Default::default() });
    let app = axum::Router::new().fallback(receive).with_state(state.clone());
    outln!("Listening on http://{} (any path; Ctrl-C to stop)", listener.local_addr()?);
    if state.secret.is_none() {
        outln!("Signatures are not checked: give the subscription's secret with --secret-stdin to check them.");
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

async fn receive(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<Listener>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let id = header("webhook-id").unwrap_or("-").to_owned();
    let attempt = {
        let mut attempts = state.attempts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let seen = attempts.entry(id.clone()).or_default();
        *seen += 1;
        *seen
    };
    let signature = match &state.secret {
        None => "not checked".to_owned(),
        Some(secret) => {
            let sent = webhooks::Headers {
                id: header("webhook-id"),
                timestamp: header("webhook-timestamp"),
                signature: header("webhook-signature"),
            };
            match webhooks::verify(secret, sent, &body, Some(jiff::Timestamp::now().as_second())) {
                Ok(()) => "valid".to_owned(),
                Err(e) => format!("INVALID ({e})"),
            }
        }
    };
    let answer = if signature.starts_with("INVALID") {
        axum::http::StatusCode::UNAUTHORIZED
    } else if attempt <= state.fail_first {
        axum::http::StatusCode::INTERNAL_SERVER_ERROR
    } else {
        state.status
    };
    outln!(
        "{} {method} {} webhook-id={id} attempt={attempt} signature {signature} → {}",
        jiff::Timestamp::now().strftime("%H:%M:%S"),
        uri.path(),
        answer.as_u16()
    );
    outln!("  {}", String::from_utf8_lossy(&body));
    answer
}

/// A secret from standard input, without its final line ending.
pub(super) fn read_secret() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("cannot read the secret from standard input")?;
    let text = text.trim_end_matches(['\r', '\n']).to_owned();
    if text.is_empty() {
        bail!("--secret-stdin: standard input was empty");
    }
    Ok(text)
}

fn input(args: &WebhookArgs) -> anyhow::Result<SubscriptionInput> {
    let triggers = args
        .triggers
        .iter()
        .map(|t| {
            model::from_wire::<Trigger>(t.trim()).ok_or_else(|| {
                anyhow::anyhow!("--triggers: `{t}` is not one of taskSuccess, taskFailure, orgKeyExpiry")
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let secret = if args.secret_stdin { Some(read_secret()?) } else { None };
    Ok(SubscriptionInput {
        name: args.name.clone(),
        url: args.url.clone(),
        secret,
        triggers,
        notes: args.notes.clone(),
        enabled: !args.disabled,
    })
}

fn explain(error: SubscriptionError) -> anyhow::Error {
    match error {
        SubscriptionError::Invalid(problems) => {
            super::list_problems("this cannot be used", &problems, |field| match field {
                "secret" => "--secret-stdin (secret)".to_owned(),
                other => format!("--{other} ({other})"),
            })
        }
        other => other.into(),
    }
}
