//! `ucm users`: the User Browser on the command line.

use model::filter::{PageRequest, SortKey, SortOrder};
use model::ids::AccountId;

use crate::cli::{OrderArg, SortArg, UsersCommand, UsersListArgs};
use crate::commands::explain;
use crate::context::Context;
use crate::output;
use crate::output::outln;

pub async fn run(context: &Context, command: UsersCommand) -> anyhow::Result<()> {
    let state = context.app_state(&context.public_url())?;
    match command {
        UsersCommand::List(args) => list(&state, args).await,
        UsersCommand::Show { account_id, json } => {
            let item = server::user_detail(&state, &AccountId(account_id)).await.map_err(explain)?;
            if json {
                return output::json(&item);
            }
            let user = &item.user;
            outln!("{} <{}>", user.display_name, user.email);
            outln!("  account id:   {}", user.account_id);
            outln!("  status:       {}", user.status);
            outln!("  last active:  {}", output::when(user.last_active));
            outln!("  created:      {}", output::when(Some(user.created_at)));
            outln!("  sites:        {}", join(user.sites.iter().map(|s| s.name.as_str())));
            outln!("  groups:       {}", join(user.groups.iter().map(|g| g.name.as_str())));
            outln!("  roles:        {}", join(user.roles.iter().map(|r| r.role.as_str())));
            outln!("  app access:");
            for access in &user.app_access {
                outln!(
                    "    {} on {} (last active {})",
                    access.app_name,
                    access.site_name,
                    output::when(access.last_active)
                );
            }
            outln!("  {}", item.user_browser_url);
            Ok(())
        }
    }
}

async fn list(state: &server::AppState, args: UsersListArgs) -> anyhow::Result<()> {
    let page = PageRequest {
        page: args.page,
        page_size: args.page_size,
        sort: match args.sort {
            SortArg::DisplayName => SortKey::DisplayName,
            SortArg::Email => SortKey::Email,
            SortArg::Status => SortKey::Status,
            SortArg::LastActive => SortKey::LastActive,
            SortArg::CreatedAt => SortKey::CreatedAt,
        },
        order: match args.order {
            OrderArg::Asc => SortOrder::Asc,
            OrderArg::Desc => SortOrder::Desc,
        },
    };
    let list = server::user_list(state, &args.filter.to_filter(), &page).await.map_err(explain)?;
    if args.json {
        return output::json(&list);
    }
    let rows: Vec<Vec<String>> = list
        .users
        .iter()
        .map(|item| {
            let u = &item.user;
            vec![
                u.display_name.clone(),
                u.email.clone(),
                u.status.to_string(),
                output::when(u.last_active),
                join(u.app_access.iter().map(|a| a.app_name.as_str())),
            ]
        })
        .collect();
    output::table(&["NAME", "EMAIL", "STATUS", "LAST ACTIVE", "APPS"], &rows);
    let first = u64::from(page.page - 1) * u64::from(page.page_size) + 1;
    let last = first + list.users.len() as u64 - 1;
    if list.users.is_empty() {
        outln!("\nNo user matches (page {} of {}; {} in all).", page.page, list.page_count.max(1), list.total);
    } else {
        outln!("\n{first}–{last} of {} users (page {} of {}).", list.total, page.page, list.page_count);
    }
    Ok(())
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    if seen.is_empty() { "-".to_owned() } else { seen.join(", ") }
}
