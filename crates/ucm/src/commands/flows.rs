//! `ucm flows`: the automation engine's flows on the command line.

use std::path::Path;

use anyhow::{Context as _, bail};
use automation::{Flow, FlowError, Flows};
use model::flow::FlowDefinition;

use crate::cli::FlowsCommand;
use crate::context::Context;
use crate::output::{self, outln, table};

/// Who the CLI acts as, in `createdBy`.
const CLI: &str = "cli";

pub async fn run(context: &Context, command: FlowsCommand) -> anyhow::Result<()> {
    let flows = context.flows(&context.public_url())?;
    match command {
        FlowsCommand::List { json } => {
            let all = flows.list().await.map_err(explain)?;
            if json {
                return output::json(&all);
            }
            if all.is_empty() {
                outln!("No flows yet: save one with `ucm flows create --file FLOW.json`.");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|f| {
                    vec![
                        f.flow_id.clone(),
                        f.definition.name.clone(),
                        if f.definition.enabled { "enabled" } else { "disabled" }.to_owned(),
                        f.definition.steps.len().to_string(),
                        f.webhook.url.clone(),
                    ]
                })
                .collect();
            table(&["ID", "NAME", "STATE", "STEPS", "WEBHOOK"], &rows);
            Ok(())
        }
        FlowsCommand::Show { flow, json } => {
            let flow = flows.get(&find(&flows, &flow).await?, true).await.map_err(explain)?;
            if json {
                return output::json(&flow);
            }
            print_flow(&flow);
            Ok(())
        }
        FlowsCommand::Create { file } => {
            let definition = read_definition(&file)?;
            let flow = flows.create(&definition, CLI).await.map_err(explain)?;
            outln!("Saved flow `{}` ({}).", flow.definition.name, flow.flow_id);
            print_webhook(&flow);
            if !flow.definition.enabled {
                outln!("It is disabled: enable it with `ucm flows enable {}`.", flow.flow_id);
            }
            Ok(())
        }
        FlowsCommand::Update { flow, file } => {
            let definition = read_definition(&file)?;
            let flow = flows.update(&find(&flows, &flow).await?, &definition).await.map_err(explain)?;
            outln!(
                "Updated flow `{}` ({}); its webhook URL and secret are unchanged.",
                flow.definition.name,
                flow.flow_id
            );
            Ok(())
        }
        FlowsCommand::Enable { flow } => {
            let flow = flows.set_enabled(&find(&flows, &flow).await?, true).await.map_err(explain)?;
            outln!("Enabled `{}`: its webhook accepts requests.", flow.definition.name);
            Ok(())
        }
        FlowsCommand::Disable { flow } => {
            let flow = flows.set_enabled(&find(&flows, &flow).await?, false).await.map_err(explain)?;
            outln!("Disabled `{}`: its webhook answers 404 until it is enabled.", flow.definition.name);
            Ok(())
        }
        FlowsCommand::Test { flow, payload, json } => {
            let text = crate::files::read_text(&payload)?;
            let payload: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{} is not JSON", payload.display()))?;
            let executor = context.executor(&context.public_url())?;
            let execution = executor.test_run(&find(&flows, &flow).await?, &payload).await.map_err(explain)?;
            if json {
                return output::json(&execution);
            }
            print_execution(&execution);
            Ok(())
        }
        FlowsCommand::Audit { flow, limit, json } => {
            let executions = flows.executions(&find(&flows, &flow).await?, limit).await.map_err(explain)?;
            if json {
                return output::json(&executions);
            }
            if executions.is_empty() {
                outln!("No executions yet: POST to the flow's webhook (`ucm flows show` prints it).");
            }
            for execution in &executions {
                print_execution(execution);
            }
            Ok(())
        }
        FlowsCommand::Export { flows: wanted, out } => {
            let mut ids = Vec::with_capacity(wanted.len());
            for flow in &wanted {
                ids.push(find(&flows, flow).await?);
            }
            let file = flows.export(&ids).await.map_err(explain)?;
            match out {
                None => output::json(&file),
                Some(path) => {
                    let text = serde_json::to_string_pretty(&file)? + "\n";
                    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("Wrote {} flows to {} (secrets as ***).", file.rules.len(), path.display());
                    Ok(())
                }
            }
        }
        FlowsCommand::Import { file, json } => {
            let text = crate::files::read_text(&file)?;
            let input: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
            let report = flows.import(&input, CLI).await.map_err(|e| match e {
                FlowError::Invalid(problems) => super::list_problems("nothing was imported", &problems, str::to_owned),
                other => other.into(),
            })?;
            if json {
                return output::json(&report);
            }
            for imported in &report.flows {
                let flow = &imported.flow;
                outln!("Imported `{}` ({}), disabled.", flow.definition.name, flow.flow_id);
                print_webhook(flow);
                for left_out in &imported.unknown_components {
                    outln!("  left out: `{}` at {} (ucm has no such step)", left_out.kind, left_out.at);
                }
                if imported.reconnect.is_empty() {
                    outln!("  Enable it with `ucm flows enable {}`.", flow.flow_id);
                } else {
                    outln!("  Before enabling it, reconnect:");
                    for problem in &imported.reconnect {
                        outln!("    {problem}");
                    }
                }
            }
            Ok(())
        }
        FlowsCommand::Delete { flow } => {
            let id = find(&flows, &flow).await?;
            flows.delete(&id).await.map_err(explain)?;
            outln!("Deleted flow {id}.");
            Ok(())
        }
    }
}

/// A flow by id or by name (ignoring case); an unknown one is an error with suggestions.
async fn find(flows: &Flows, id_or_name: &str) -> anyhow::Result<String> {
    let all = flows.list().await.map_err(explain)?;
    let wanted = id_or_name.trim();
    if let Some(flow) = all.iter().find(|f| f.flow_id == wanted) {
        return Ok(flow.flow_id.clone());
    }
    let named: Vec<&Flow> = all.iter().filter(|f| f.definition.name.to_lowercase() == wanted.to_lowercase()).collect();
    match named.as_slice() {
        [flow] => return Ok(flow.flow_id.clone()),
        [] => {}
        several => {
            let ids: Vec<&str> = several.iter().map(|f| f.flow_id.as_str()).collect();
            bail!("{} flows are called `{wanted}`; name one by its id: {}", several.len(), ids.join(", "));
        }
    }
    let suggestions = model::suggest::closest_or_all(wanted, all.iter().map(|f| f.definition.name.as_str()), 3);
    if suggestions.is_empty() {
        bail!("there is no flow `{wanted}` (`ucm flows list` shows them)");
    }
    bail!("there is no flow `{wanted}` (did you mean: {}?)", suggestions.join(", "))
}

fn read_definition(path: &Path) -> anyhow::Result<FlowDefinition> {
    let text = crate::files::read_text(path)?;
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    // serde_json's message says the line and column; the path says which step.
    serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| anyhow::anyhow!("{} is not a flow: {} (in {})", path.display(), e.inner(), e.path()))
}

fn explain(error: FlowError) -> anyhow::Error {
    match error {
        FlowError::Invalid(problems) => super::list_problems("the flow cannot be saved", &problems, str::to_owned),
        other => other.into(),
    }
}

fn print_webhook(flow: &Flow) {
    outln!("Webhook: POST {}", flow.webhook.url);
    if let Some(secret) = &flow.webhook.secret {
        outln!("Secret:  {secret}   (send it as X-Automation-Webhook-Token)");
    }
}

fn print_flow(flow: &Flow) {
    let d = &flow.definition;
    outln!("{} ({})", d.name, flow.flow_id);
    outln!("  state:    {}", if d.enabled { "enabled" } else { "disabled" });
    if !d.description.is_empty() {
        outln!("  about:    {}", d.description);
    }
    outln!("  created:  {} by {}", output::when(Some(flow.created_at)), flow.created_by);
    outln!("  steps:");
    for (path, step) in model::flow::walk(&d.steps) {
        let depth = path.matches("steps[").count();
        let via = step.connection().map(|c| format!(" via {c}")).unwrap_or_default();
        outln!("  {}{}{via}", "  ".repeat(depth), step.type_name());
    }
    print_webhook(flow);
}

fn print_execution(execution: &automation::ExecutionView) {
    let status = execution.status.as_deref().unwrap_or(execution.state.as_str());
    let took = execution.duration_ms.map(|ms| format!(", {ms} ms")).unwrap_or_default();
    outln!(
        "{} {status} ({}{took}) from {} by {}",
        execution.execution_id,
        output::when(Some(execution.received_at)),
        execution.source,
        execution.auth
    );
    for step in &execution.steps {
        outln!("  {} {} {:?} ({} ms)", step.path, step.step_type, step.status, step.duration_ms);
        for (field, value) in &step.inputs {
            outln!("    in  {field}: {}", one_line(value));
        }
        for (field, value) in &step.outputs {
            outln!("    out {field}: {}", one_line(value));
        }
        for message in &step.messages {
            outln!("    note {message}");
        }
    }
}

/// A value on one line, cut at 160 characters.
fn one_line(value: &serde_json::Value) -> String {
    let text = match value {
        serde_json::Value::String(text) => text.replace('\n', " ⏎ "),
        other => other.to_string(),
    };
    let short: String = text.chars().take(160).collect();
    if short.len() < text.len() { format!("{short}…") } else { short }
}
