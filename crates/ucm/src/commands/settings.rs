//! `ucm settings`: installation settings.

use model::task::ExecutionLimit;

use crate::cli::SettingsCommand;
use crate::context::Context;
use crate::output::outln;

pub async fn run(context: &Context, command: SettingsCommand) -> anyhow::Result<()> {
    match command {
        SettingsCommand::Access { product_admins, user_access_admins } => {
            let mut settings = context.store.access_settings().await?;
            if product_admins.is_some() || user_access_admins.is_some() {
                settings.product_admins_allowed = product_admins.unwrap_or(settings.product_admins_allowed);
                settings.user_access_admins_allowed = user_access_admins.unwrap_or(settings.user_access_admins_allowed);
                context.store.set_access_settings(&settings).await?;
            }
            let yes_no = |b: bool| if b { "allowed" } else { "not allowed" };
            outln!("organization admins: always allowed");
            outln!("product admins:      {}", yes_no(settings.product_admins_allowed));
            outln!("user access admins:  {}", yes_no(settings.user_access_admins_allowed));
            Ok(())
        }
        SettingsCommand::ExecutionLimit { max_users, max_percent, clear } => {
            let mut limit = context.store.execution_limit().await?;
            if clear {
                limit = ExecutionLimit::default();
            }
            limit.max_users = max_users.or(limit.max_users);
            limit.max_percent = max_percent.or(limit.max_percent);
            if clear || max_users.is_some() || max_percent.is_some() {
                limit.validate("--max-percent").map_err(|p| anyhow::anyhow!("{}", p.message))?;
                context.store.set_execution_limit(&limit).await?;
            }
            let total = context.store.count_users().await?;
            match limit.max_changed(total) {
                None => outln!("No execution limit: runs may change any number of users."),
                Some(n) => {
                    let parts: Vec<String> = [
                        limit.max_users.map(|u| format!("{u} users")),
                        limit.max_percent.map(|p| format!("{p} % of all users")),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    outln!(
                        "Execution limit: {} (with {total} users now: at most {n} changed per run).",
                        parts.join(" and ")
                    );
                    outln!("Scheduled runs over it wait for approval; runs by hand ask for confirmation.");
                }
            }
            Ok(())
        }
    }
}
