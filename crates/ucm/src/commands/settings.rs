//! `ucm settings`: installation settings.

use crate::cli::SettingsCommand;
use crate::context::Context;

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
            println!("organization admins: always allowed");
            println!("product admins:      {}", yes_no(settings.product_admins_allowed));
            println!("user access admins:  {}", yes_no(settings.user_access_admins_allowed));
            Ok(())
        }
    }
}
