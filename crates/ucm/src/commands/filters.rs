//! `ucm filters`: saved filters.

use model::filter::validate_filter_name;
use model::ids::FilterId;

use crate::cli::{FilterArgs, FiltersCommand};
use crate::commands::explain;
use crate::context::Context;
use crate::output;
use crate::output::outln;

pub async fn run(context: &Context, command: FiltersCommand) -> anyhow::Result<()> {
    let now = context.clock.now();
    match command {
        FiltersCommand::List { json } => {
            let filters = context.store.saved_filters().await?;
            if json {
                return output::json(&filters);
            }
            let catalog = context.store.catalog().await?;
            let rows: Vec<Vec<String>> = filters
                .iter()
                .map(|f| {
                    let criteria = f
                        .criteria
                        .resolve(&catalog)
                        .map(|r| r.to_display(&catalog))
                        .map_or_else(|e| format!("(no longer valid: {e})"), |d| describe(&d));
                    vec![f.filter_id.to_string(), f.name.clone(), criteria]
                })
                .collect();
            output::table(&["ID", "NAME", "CRITERIA"], &rows);
            Ok(())
        }
        FiltersCommand::Create { name, filter } => {
            let (name, criteria) = checked(context, &name, &filter).await?;
            let saved = context.store.create_saved_filter(&name, &criteria, now).await?;
            outln!("Saved filter `{}` ({}).", saved.name, saved.filter_id);
            Ok(())
        }
        FiltersCommand::Update { filter_id, name, filter } => {
            let (name, criteria) = checked(context, &name, &filter).await?;
            let saved = context.store.update_saved_filter(&FilterId(filter_id), &name, &criteria, now).await?;
            outln!("Updated saved filter `{}` ({}).", saved.name, saved.filter_id);
            Ok(())
        }
        FiltersCommand::Delete { filter_id } => {
            context.store.delete_saved_filter(&FilterId(filter_id.clone())).await?;
            outln!("Deleted saved filter {filter_id}.");
            Ok(())
        }
    }
}

async fn checked(
    context: &Context,
    name: &str,
    filter: &FilterArgs,
) -> anyhow::Result<(String, model::filter::UserFilter)> {
    let name = validate_filter_name(name).map_err(|p| anyhow::anyhow!("--name: {}", p.message))?;
    let criteria = context.directory.canonical_filter(&filter.to_filter()).await.map_err(explain)?;
    Ok((name, criteria))
}

fn describe(filter: &model::filter::UserFilter) -> String {
    let value = serde_json::to_value(filter).unwrap_or_default();
    let Some(map) = value.as_object() else { return String::new() };
    if map.is_empty() {
        return "everyone".to_owned();
    }
    map.iter()
        .map(|(k, v)| match v {
            serde_json::Value::Array(items) => {
                format!("{k}={}", items.iter().filter_map(|i| i.as_str()).collect::<Vec<_>>().join(","))
            }
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
