//! `ucm agent`: the agent's read-only tools, its built-in formats of a run, user templates.

use std::io::Read as _;

use agent::tools::{
    LicenseHealthOutput, NotificationSettingsOutput, SearchTaskResultsOutput, SearchUsersOutput, ToolAnswer,
};
use agent::{ToolError, ToolName};
use anyhow::{Context as _, bail};
use model::ids::ProcessId;
use serde_json::{Map, Value};

use crate::cli::{AgentCommand, AgentFormat};
use crate::context::Context;
use crate::output::{self, outln, table};

pub async fn run(context: &Context, command: AgentCommand) -> anyhow::Result<()> {
    let tools = context.tools(&context.public_url());
    match command {
        AgentCommand::Tools { json } => {
            if json {
                let tools: Vec<server::ToolDescription> =
                    ToolName::ALL.into_iter().map(server::ToolDescription::of).collect();
                return output::json(&tools);
            }
            for tool in ToolName::ALL {
                outln!("{}\n  {}\n", tool, tool.description());
            }
            Ok(())
        }
        AgentCommand::Call { name, args, arguments, json } => {
            let tool = ToolName::parse(&name).map_err(explain)?;
            let arguments = match arguments {
                Some(text) => read_arguments(&text)?,
                None => parse_args(tool, &args)?,
            };
            let answer = tools.call(tool, arguments).await.map_err(explain)?;
            if json {
                return output::json(&answer);
            }
            print_answer(answer);
            Ok(())
        }
        AgentCommand::Format { format, process_id, template, llm } => {
            let process_id = process_id.map(ProcessId);
            if let Some(path) = template {
                let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
                let rendered =
                    agent::template::render_template(&tools, &text, process_id.as_ref(), Value::Null).await?;
                outln!("{}", rendered.text.trim_end());
                if !rendered.missing.is_empty() {
                    eprintln!("missing (rendered empty): {}", rendered.missing.join(", "));
                }
                return Ok(());
            }
            let Some(process_id) = process_id else { bail!("give the run: --process-id ID") };
            let format = match format {
                Some(AgentFormat::ConfluenceAudit) | None => agent::Format::ConfluenceAudit,
                Some(AgentFormat::SlackSummary) => agent::Format::SlackSummary,
                Some(AgentFormat::JiraIncident) => agent::Format::JiraIncident,
            };
            let backend = match &llm {
                Some(_) => Some(context.llm(&context.public_url())?.ok_or_else(|| {
                    anyhow::anyhow!(
                        "no model is configured: set [agent] llm_base_url and llm_model (see ucm config example)"
                    )
                })?),
                None => None,
            };
            let prompt = llm.unwrap_or_default();
            let reply =
                agent::step::run_step(&tools, backend.as_ref(), format, &prompt, &process_id).await.map_err(explain)?;
            outln!("{}", reply.text.trim_end());
            if backend.is_some() {
                match &reply.fallback_reason {
                    None => eprintln!("Written by the model ({} tool calls).", reply.tool_calls.len()),
                    Some(reason) => eprintln!("The built-in rendering: {reason}."),
                }
            }
            Ok(())
        }
    }
}

fn explain(error: ToolError) -> anyhow::Error {
    match error {
        ToolError::Invalid(problems) => {
            super::list_problems("the arguments cannot be used", &problems, |field| format!("--arg {field}"))
        }
        other => other.into(),
    }
}

/// `--arguments`: a JSON object, or `-` for standard input.
fn read_arguments(text: &str) -> anyhow::Result<Value> {
    let text = if text == "-" {
        let mut input = String::new();
        std::io::stdin().read_to_string(&mut input).context("cannot read standard input")?;
        input
    } else {
        text.to_owned()
    };
    let value: Value = serde_json::from_str(&text).context("--arguments is not valid JSON")?;
    if !value.is_object() {
        bail!("--arguments must be a JSON object, such as {{\"inactiveDays\": 30}}");
    }
    Ok(value)
}

/// `--arg KEY=VALUE`s as the tool's arguments, each value read as its input schema types the
/// field: lists take repeats and commas, numbers and booleans are parsed.
fn parse_args(tool: ToolName, args: &[String]) -> anyhow::Result<Value> {
    let schema = tool.input_schema();
    let mut object = Map::new();
    for arg in args {
        let Some((key, value)) = arg.split_once('=') else {
            bail!("--arg `{arg}` is not KEY=VALUE");
        };
        let types = field_types(&schema, key);
        let value = value.trim();
        if types.contains(&"array") {
            let list = object.entry(key).or_insert_with(|| Value::Array(vec![]));
            if let Value::Array(items) = list {
                items.extend(value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(Value::from));
            }
            continue;
        }
        let parsed = if types.contains(&"integer") || types.contains(&"number") {
            Value::from(value.parse::<i64>().with_context(|| format!("--arg {key}: `{value}` is not a whole number"))?)
        } else if types.contains(&"boolean") {
            Value::from(value.parse::<bool>().with_context(|| format!("--arg {key}: give true or false"))?)
        } else {
            Value::from(value)
        };
        if object.insert(key.to_owned(), parsed).is_some() {
            bail!("--arg {key} is given twice; it takes one value");
        }
    }
    Ok(Value::Object(object))
}

/// The JSON types a field of an input schema allows (`string`, `array`, …); empty when the
/// schema does not name the field (the tool then says it is unknown).
fn field_types<'a>(schema: &'a Value, key: &str) -> Vec<&'a str> {
    let field = &schema["properties"][key];
    let mut types: Vec<&str> = match &field["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    // An enum or a reference (such as `outcome`) is a string on the command line.
    if types.is_empty() && (field.get("$ref").is_some() || field.get("oneOf").is_some()) {
        types.push("string");
    }
    types
}

fn print_answer(answer: ToolAnswer) {
    match answer {
        ToolAnswer::SearchUsers(found) => print_users(found),
        ToolAnswer::SearchTaskResults(runs) => print_runs(runs),
        ToolAnswer::LicenseHealth(health) => print_seats(health),
        ToolAnswer::NotificationSettings(settings) => print_settings(settings),
    }
}

fn print_users(found: SearchUsersOutput) {
    if !found.unmatched.is_empty() {
        outln!("No search ran: these names matched nothing.");
        for problem in &found.unmatched {
            outln!("  {problem}");
        }
        return;
    }
    let rows: Vec<Vec<String>> = found
        .users
        .iter()
        .map(|u| {
            vec![
                u.user.display_name.clone(),
                u.user.email.clone(),
                u.user.status.to_string(),
                output::when(u.user.last_active),
            ]
        })
        .collect();
    table(&["NAME", "EMAIL", "STATUS", "LAST ACTIVE"], &rows);
    outln!("\nPage {} of {} ({} users match). {}", found.page, found.page_count.max(1), found.total, found.deep_link);
}

fn print_runs(answer: SearchTaskResultsOutput) {
    match answer {
        SearchTaskResultsOutput::Record(record) => {
            let run = &record.run;
            let s = &run.summary;
            outln!("{} ({})", run.name, run.process_id);
            outln!(
                "  outcome:  {}{}",
                run.outcome_text(),
                run.error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
            );
            outln!("  started:  {}   finished: {}", output::when(Some(run.started_at)), output::when(run.finished_at));
            outln!("  users:    {}", s.users_by_result());
            let rows: Vec<Vec<String>> = record
                .user_changes
                .iter()
                .map(|c| {
                    vec![
                        c.display_name.clone(),
                        c.email.clone(),
                        c.status.as_str().to_owned(),
                        c.failures.len().to_string(),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                outln!();
                table(&["USER", "EMAIL", "STATUS", "FAILURES"], &rows);
            }
            if let Some(cursor) = &record.next_cursor {
                outln!("\nMore users: --arg processId={} --arg cursor={cursor}", run.process_id);
            }
            outln!("\n{}", run.deep_link);
        }
        SearchTaskResultsOutput::Runs(list) => {
            let rows: Vec<Vec<String>> = list
                .runs
                .iter()
                .map(|r| {
                    vec![
                        output::when(Some(r.started_at)),
                        r.name.clone(),
                        r.outcome_text(),
                        r.summary.users_by_result().to_string(),
                        r.process_id.to_string(),
                    ]
                })
                .collect();
            if rows.is_empty() {
                outln!("No runs match.");
            } else {
                table(&["STARTED", "NAME", "OUTCOME", "USERS", "PROCESS ID"], &rows);
            }
            outln!("\n{}", list.deep_link);
        }
    }
}

fn print_seats(health: LicenseHealthOutput) {
    if !health.unmatched.is_empty() {
        outln!("Nothing counted: these names matched nothing.");
        for problem in &health.unmatched {
            outln!("  {problem}");
        }
        return;
    }
    let rows: Vec<Vec<String>> = health
        .seats
        .iter()
        .map(|s| {
            vec![
                s.app_name.clone(),
                s.site_name.clone(),
                s.billable.to_string(),
                s.active.to_string(),
                s.inactive.to_string(),
                format!("{:.1}%", s.inactive_percent),
            ]
        })
        .collect();
    outln!("Seats, inactive after {} days without use:\n", health.inactive_days);
    table(&["APP", "SITE", "BILLABLE", "ACTIVE", "INACTIVE", "INACTIVE %"], &rows);
    outln!(
        "\nIn all: {} billable, {} active, {} inactive. {}",
        health.totals.billable,
        health.totals.active,
        health.totals.inactive,
        health.deep_link
    );
}

fn print_settings(settings: NotificationSettingsOutput) {
    let keys: Vec<Vec<String>> = settings
        .api_keys
        .iter()
        .map(|k| {
            vec![
                k.name.clone(),
                k.role.as_str().to_owned(),
                k.state.as_str().to_owned(),
                output::when(Some(k.expires_at)),
            ]
        })
        .collect();
    outln!("API keys:");
    if keys.is_empty() {
        outln!("  none");
    } else {
        table(&["NAME", "ROLE", "STATE", "EXPIRES"], &keys);
    }
    let hooks: Vec<Vec<String>> = settings
        .webhooks
        .iter()
        .map(|w| {
            vec![
                w.name.clone(),
                w.origin.clone(),
                if w.enabled { "enabled" } else { "disabled" }.to_owned(),
                w.last_delivery.as_ref().map_or_else(|| "none".to_owned(), |d| d.state.clone()),
            ]
        })
        .collect();
    outln!("\nWebhooks:");
    if hooks.is_empty() {
        outln!("  none");
    } else {
        table(&["NAME", "RECEIVER", "STATE", "LAST DELIVERY"], &hooks);
    }
    if settings.attention.is_empty() {
        outln!("\nNothing needs attention.");
    } else {
        outln!("\nNeeds attention:");
        for line in &settings.attention {
            outln!("  - {line}");
        }
    }
    outln!("\n{}", settings.deep_link);
}
