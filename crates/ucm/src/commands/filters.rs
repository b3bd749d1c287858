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
            let filter_id = named(context, &filter_id).await?;
            let (name, criteria) = checked(context, &name, &filter).await?;
            let saved = context.store.update_saved_filter(&filter_id, &name, &criteria, now).await?;
            outln!("Updated saved filter `{}` ({}).", saved.name, saved.filter_id);
            Ok(())
        }
        FiltersCommand::Delete { filter_id } => {
            let filter_id = named(context, &filter_id).await?;
            context.store.delete_saved_filter(&filter_id).await?;
            outln!("Deleted saved filter {filter_id}.");
            Ok(())
        }
    }
}

/// The saved filter people name by its id or its name (any case).
async fn named(context: &Context, id_or_name: &str) -> anyhow::Result<FilterId> {
    let wanted = id_or_name.trim();
    let filters = context.store.saved_filters().await?;
    if let Some(f) = filters.iter().find(|f| f.filter_id.as_str() == wanted) {
        return Ok(f.filter_id.clone());
    }
    let by_name: Vec<_> = filters.iter().filter(|f| f.name.eq_ignore_ascii_case(wanted)).collect();
    match by_name.as_slice() {
        [one] => Ok(one.filter_id.clone()),
        [] => {
            let names: Vec<&str> = filters.iter().map(|f| f.name.as_str()).collect();
            let close = model::suggest::closest(wanted, names.iter().copied(), 3);
            let hint =
                if close.is_empty() { String::new() } else { format!("; did you mean `{}`?", close.join("`, `")) };
            anyhow::bail!("no saved filter has the id or name `{wanted}`{hint} (`ucm filters list` shows them)")
        }
        several => anyhow::bail!(
            "{} saved filters are called `{wanted}`: give the id ({})",
            several.len(),
            several.iter().map(|f| f.filter_id.to_string()).collect::<Vec<_>>().join(", ")
        ),
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
