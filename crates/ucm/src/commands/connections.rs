//! `ucm connections` and `ucm outputs`: the final-action targets and what the local connection
//! stored.

use anyhow::bail;
use connectors::{ConnectionError, ConnectionInput, Settings};

use connectors::email::SmtpSecurity;

use crate::cli::{ConnectionArgs, ConnectionKind, ConnectionsCommand, OutputsCommand, SmtpSecurityArg};
use crate::context::Context;
use crate::output::{self, outln};

pub async fn run(context: &Context, command: ConnectionsCommand) -> anyhow::Result<()> {
    let connections = context.connections()?;
    match command {
        ConnectionsCommand::List { json } => {
            let list = connections.list().await.map_err(explain)?;
            if json {
                return output::json(&list);
            }
            if list.is_empty() {
                outln!("No connections yet. Create one with `ucm connections create` (see --help).");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|c| {
                    let target = match &c.settings {
                        Settings::SlackWebhook => "incoming webhook".to_owned(),
                        Settings::SlackBot { default_channel, .. } => format!("bot, default channel {default_channel}"),
                        Settings::Confluence { site, email } | Settings::Jira { site, email } => {
                            format!("{site} as {email}")
                        }
                        Settings::Smtp { host, port, from, .. } => format!("{host}:{port} from {from}"),
                        Settings::Local => "ucm's database".to_owned(),
                    };
                    let secret = if c.has_secret { "set" } else { "-" };
                    vec![c.id.clone(), c.name.clone(), c.settings.kind().to_owned(), target, secret.to_owned()]
                })
                .collect();
            output::table(&["ID", "NAME", "KIND", "TARGET", "SECRET"], &rows);
            Ok(())
        }
        ConnectionsCommand::Create(args) => {
            let created = connections.create(&input(&args)?).await.map_err(explain)?;
            let sealed = if created.has_secret { "; its secret is sealed and will not be shown again" } else { "" };
            outln!(
                "Created connection `{}` ({}){sealed}. Check it with `ucm connections test {}`.",
                created.name,
                created.id,
                created.id
            );
            Ok(())
        }
        ConnectionsCommand::Update { connection, args } => {
            let updated = connections.update(&connection, &input(&args)?).await.map_err(explain)?;
            outln!("Updated connection `{}` ({}).", updated.name, updated.id);
            Ok(())
        }
        ConnectionsCommand::Delete { connection } => {
            connections.delete(&connection).await.map_err(explain)?;
            outln!("Deleted connection `{connection}`.");
            Ok(())
        }
        ConnectionsCommand::Test { connection, json } => {
            let result = connections.test(&connection).await.map_err(explain)?;
            if json {
                return output::json(&result);
            }
            if result.ok {
                outln!("OK: {}", result.message);
                return Ok(());
            }
            let retry = if result.retryable == Some(true) { " (trying again later may help)" } else { "" };
            let field = result.field.map(|f| format!(" [field: {f}]")).unwrap_or_default();
            bail!("the test failed: {}{field}{retry}", result.message)
        }
    }
}

pub async fn outputs(context: &Context, command: OutputsCommand) -> anyhow::Result<()> {
    match command {
        OutputsCommand::List { kind, limit, json } => {
            if let Some(k) = kind.as_deref()
                && !connectors::local::KINDS.contains(&k)
            {
                bail!("--kind: `{k}` is not one of page, message, workItem, email");
            }
            if !(1..=500).contains(&limit) {
                bail!("--limit must be from 1 to 500");
            }
            let list = connectors::local::list(&context.store, kind.as_deref(), limit).await?;
            if json {
                return output::json(&list);
            }
            if list.is_empty() {
                outln!("Nothing stored yet: the local connection keeps what flows send to it.");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|o| {
                    vec![
                        o.key.clone().unwrap_or_else(|| o.id.clone()),
                        o.kind.clone(),
                        o.title.clone(),
                        o.created_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                    ]
                })
                .collect();
            output::table(&["ID", "KIND", "TITLE", "CREATED"], &rows);
            Ok(())
        }
        OutputsCommand::Show { output: id, json } => {
            let shown: connectors::local::Output = context.store.output(&id).await?.into();
            if json {
                return output::json(&shown);
            }
            outln!("{} {}: {}", shown.kind, shown.key.as_deref().unwrap_or(&shown.id), shown.title);
            let text =
                ["markdown", "mrkdwn", "text"].iter().find_map(|field| shown.data[*field].as_str()).unwrap_or_default();
            outln!("\n{text}");
            Ok(())
        }
    }
}

fn input(args: &ConnectionArgs) -> anyhow::Result<ConnectionInput> {
    let settings = match args.kind {
        ConnectionKind::SlackWebhook => Settings::SlackWebhook,
        ConnectionKind::SlackBot => {
            Settings::SlackBot { api_url: args.api_url.clone(), default_channel: args.default_channel.clone() }
        }
        ConnectionKind::Confluence => Settings::Confluence { site: args.site.clone(), email: args.email.clone() },
        ConnectionKind::Jira => Settings::Jira { site: args.site.clone(), email: args.email.clone() },
        ConnectionKind::Smtp => Settings::Smtp {
            host: args.host.clone(),
            port: args.port,
            security: match args.security {
                SmtpSecurityArg::Starttls => SmtpSecurity::Starttls,
                SmtpSecurityArg::Tls => SmtpSecurity::Tls,
                SmtpSecurityArg::None => SmtpSecurity::None,
            },
            username: args.username.clone(),
            from: args.from.clone(),
        },
        ConnectionKind::Local => Settings::Local,
    };
    let secret = if args.secret_stdin { Some(super::webhooks::read_secret()?) } else { None };
    Ok(ConnectionInput { name: args.name.clone(), settings, secret })
}

/// Field problems name the flag to fix.
fn explain(error: ConnectionError) -> anyhow::Error {
    match error {
        ConnectionError::Invalid(problems) => {
            super::list_problems("this cannot be used", &problems, |field| match field {
                "secret" => "--secret-stdin (secret)".to_owned(),
                "apiUrl" => "--api-url (apiUrl)".to_owned(),
                "defaultChannel" => "--default-channel (defaultChannel)".to_owned(),
                other => format!("--{other} ({other})"),
            })
        }
        other => other.into(),
    }
}
