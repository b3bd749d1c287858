//! `ucm webhooks`: Notification Settings.

use std::io::Read as _;

use anyhow::{Context as _, bail};
use model::webhook::Trigger;
use webhooks::{SubscriptionError, SubscriptionInput};

use crate::cli::{WebhookArgs, WebhooksCommand};
use crate::context::Context;
use crate::output::{self, outln};

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
            let updated = subscriptions.update(&id, &input(&webhook)?).await.map_err(explain)?;
            outln!("Updated webhook `{}` ({}).", updated.name, updated.id);
            Ok(())
        }
        WebhooksCommand::Delete { id } => {
            subscriptions.delete(&id).await.map_err(explain)?;
            outln!("Deleted webhook {id} and its delivery log.");
            Ok(())
        }
    }
}

fn input(args: &WebhookArgs) -> anyhow::Result<SubscriptionInput> {
    let triggers = args
        .triggers
        .iter()
        .map(|t| {
            serde_json::from_value::<Trigger>(serde_json::Value::String(t.trim().to_owned()))
                .map_err(|_| anyhow::anyhow!("--triggers: `{t}` is not one of taskSuccess, taskFailure, orgKeyExpiry"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let secret = if args.secret_stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read the secret from standard input")?;
        let text = text.trim_end_matches(['\r', '\n']).to_owned();
        if text.is_empty() {
            bail!("--secret-stdin: standard input was empty");
        }
        Some(text)
    } else {
        None
    };
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
            let lines: Vec<String> = problems
                .iter()
                .map(|p| {
                    let flag = match p.field.as_str() {
                        "secret" => "--secret-stdin (secret)".to_owned(),
                        other => format!("--{other} ({other})"),
                    };
                    format!("  {}", model::filter::FieldProblem { field: flag, ..p.clone() })
                })
                .collect();
            anyhow::anyhow!("this cannot be used:\n{}", lines.join("\n"))
        }
        other => other.into(),
    }
}
