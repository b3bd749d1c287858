//! `ucm apikey`: create, list, revoke.

use anyhow::Context as _;
use model::apikey::ApiKeyRole;
use model::ids::{AccountId, ApiKeyId};

use crate::cli::{ApikeyCommand, RoleArg};
use crate::context::Context;
use crate::output;
use crate::output::outln;

pub async fn run(context: &Context, command: ApikeyCommand) -> anyhow::Result<()> {
    let now = context.clock.now();
    match command {
        ApikeyCommand::Create { name, expires_in, role, principal } => {
            let lifetime =
                model::apikey::parse_lifetime(&expires_in).map_err(|e| anyhow::anyhow!("--expires-in: {e}"))?;
            let role = match role {
                RoleArg::Admin => ApiKeyRole::Admin,
                RoleArg::ReadOnly => ApiKeyRole::ReadOnly,
            };
            let state = context.app_state(&context.public_url())?;
            let (key, secret) =
                server::issue_api_key(&state, &name, role, principal.map(AccountId), now.checked_add(lifetime)?)
                    .await?;
            eprintln!(
                "Created API key `{}` ({}, {}), expires {}. The secret is shown only now:",
                key.name,
                key.api_key_id,
                key.role,
                output::when(Some(key.expires_at))
            );
            outln!("{}", secret.expose());
            Ok(())
        }
        ApikeyCommand::List { json } => {
            let keys = context.store.api_keys().await?;
            if json {
                let views: Vec<server::ApiKeyView> =
                    keys.into_iter().map(|key| server::ApiKeyView { state: key.state(now), key }).collect();
                return output::json(&views);
            }
            let rows: Vec<Vec<String>> = keys
                .iter()
                .map(|k| {
                    vec![
                        k.api_key_id.to_string(),
                        k.name.clone(),
                        k.role.to_string(),
                        k.state(now).as_str().to_owned(),
                        output::when(Some(k.expires_at)),
                        output::when(k.last_used_at),
                        k.principal.as_ref().map_or_else(|| "-".to_owned(), ToString::to_string),
                    ]
                })
                .collect();
            output::table(&["ID", "NAME", "ROLE", "STATE", "EXPIRES", "LAST USED", "ACTS FOR"], &rows);
            Ok(())
        }
        ApikeyCommand::Revoke { api_key_id } => {
            let key = context
                .store
                .revoke_api_key(&ApiKeyId(api_key_id.clone()), now)
                .await
                .with_context(|| format!("cannot revoke `{api_key_id}`"))?;
            outln!("Revoked API key `{}` ({}).", key.name, key.api_key_id);
            Ok(())
        }
    }
}
