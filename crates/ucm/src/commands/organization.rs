//! `ucm directory` (connect an Atlassian organization, its status, sync, disconnect) and
//! `ucm simulate atlassian`.

use std::io::IsTerminal as _;

use anyhow::Context as _;
use atlassian::simulator::{SimOrg, SimSettings, Simulator};
use atlassian::{ConnectInput, OrgConnectionView, OrgError, SyncProgress};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{DirectoryCommand, SimulateCommand};
use crate::context::Context;
use crate::output::{self, outln};

pub async fn run(context: &Context, command: DirectoryCommand) -> anyhow::Result<()> {
    let organization = &context.organization;
    match command {
        DirectoryCommand::Connect {
            backend: _,
            api_key_stdin: _,
            key_expires,
            org_id,
            directory_id,
            key_name,
            json,
        } => {
            let api_key = super::webhooks::read_secret().context("--api-key-stdin")?;
            let input = ConnectInput { api_key, key_expires, key_name, org_id, directory_id };
            let connected = organization.connect(&input, "cli").await.map_err(explain)?;
            if json {
                return output::json(&connected);
            }
            outln!(
                "Connected organization \"{}\" ({}), directory \"{}\" ({}). The key is sealed and will not be \
                 shown again; it expires on {}.",
                connected.org_name,
                connected.org_id,
                connected.directory_name,
                connected.directory_id,
                connected.key_expires_on
            );
            outln!("Read the organization into the directory now with `ucm directory sync`.");
            Ok(())
        }
        DirectoryCommand::Status { json } => {
            let status = organization.status().await.map_err(explain)?;
            if json {
                return output::json(&serde_json::json!({
                    "backend": if status.is_some() { "atlassian" } else { "local" },
                    "users": context.store.count_users().await?,
                    "atlassian": status,
                }));
            }
            let users = context.store.count_users().await?;
            match status {
                None => outln!(
                    "Backend: local ({users} users, kept by import and the API). Connect an Atlassian organization \
                     with `ucm directory connect atlassian`."
                ),
                Some(c) => print_status(&c, users),
            }
            Ok(())
        }
        DirectoryCommand::Sync { json } => {
            if organization.status().await.map_err(explain)?.is_none() {
                let report = context.directory.sync().await.map_err(super::explain)?;
                outln!("The local directory needs no sync ({} users).", report.users);
                return Ok(());
            }
            // A spinner while sites and groups are read, a bar once Atlassian has counted the users.
            let bar = std::io::stderr().is_terminal().then(|| {
                let spinner = ProgressBar::new_spinner();
                spinner.enable_steady_tick(std::time::Duration::from_millis(120));
                spinner
            });
            let shown = bar.clone();
            let progress = move |p: SyncProgress| {
                let Some(bar) = &shown else { return };
                match p.users_total {
                    Some(total) if p.users > 0 || total == 0 => {
                        if bar.length() != Some(total) {
                            bar.set_style(
                                ProgressStyle::with_template(
                                    "{spinner} {msg} [{bar:40}] {pos}/{len} users ({per_sec}, {eta} left)",
                                )
                                .unwrap_or_else(|_| ProgressStyle::default_bar())
                                .progress_chars("=> "),
                            );
                            bar.set_length(total);
                        }
                        bar.set_message(format!("{} sites, {} groups;", p.sites, p.groups));
                        // Users who joined while the sync ran can take it past the count.
                        bar.set_position(p.users.min(total));
                    }
                    _ => bar.set_message(p.to_string()),
                }
            };
            let outcome = organization.sync(&progress).await;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            let report = outcome.map_err(explain)?;
            if json {
                return output::json(&report);
            }
            outln!("Synced {report}.");
            Ok(())
        }
        DirectoryCommand::Disconnect => {
            if organization.disconnect().await.map_err(explain)? {
                outln!("Disconnected. The directory keeps the users it last read; the organization's key is deleted.");
            } else {
                outln!("No Atlassian organization was connected.");
            }
            Ok(())
        }
    }
}

fn print_status(c: &OrgConnectionView, users: u64) {
    outln!("Backend:      atlassian ({users} users in the directory)");
    outln!("Organization: {} ({})", c.org_name, c.org_id);
    outln!("Directory:    {} ({})", c.directory_name, c.directory_id);
    let expired = if c.key_expired { " (EXPIRED: connect a new key)" } else { "" };
    outln!("Key:          {}, expires on {}{expired}", c.key_name, c.key_expires_on);
    outln!("Connected:    {} by {}", c.connected_at, c.connected_by);
    match (&c.last_sync_finished_at, &c.last_sync_error, &c.last_sync) {
        (None, ..) => outln!("Last sync:    none yet (`ucm directory sync`)"),
        (Some(at), Some(error), _) => outln!("Last sync:    {at} FAILED: {error}"),
        (Some(at), None, Some(report)) => outln!("Last sync:    {at}: {report}"),
        (Some(at), None, None) => outln!("Last sync:    {at}"),
    }
    if let Some(p) = &c.sync_in_progress {
        outln!("Syncing now:  {p}");
    }
}

fn explain(error: OrgError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}

pub async fn simulate(command: SimulateCommand) -> anyhow::Result<()> {
    let SimulateCommand::Atlassian {
        users,
        seed,
        bind,
        key,
        scoped,
        requests_per_second,
        rate_limit_every,
        fail_every,
        lag_seconds,
    } = command;
    let org = SimOrg::generate(users, jiff::Timestamp::now(), seed);
    let settings = SimSettings {
        key,
        scoped,
        requests_per_second,
        rate_limit_every,
        fail_every,
        lag: std::time::Duration::from_secs(lag_seconds),
        ..SimSettings::new("")
    };
    let listener = tokio::net::TcpListener::bind(&bind).await.with_context(|| format!("cannot listen on {bind}"))?;
    let address = listener.local_addr()?;
    eprintln!(
        "Simulating organization \"{}\" ({}) with {} users at http://{address} (Ctrl-C stops it).",
        org.org_name,
        org.org_id,
        org.users.len()
    );
    eprintln!("Point ucm at it:");
    eprintln!("  export UCM_ATLASSIAN__API_BASE=http://{address} UCM_NETWORK__ALLOWED_NETWORKS=127.0.0.0/8");
    eprintln!(
        "  printf %s {} | ucm directory connect atlassian --api-key-stdin --key-expires {}{}",
        settings.key,
        jiff::Timestamp::now()
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date()
            .checked_add(jiff::Span::new().days(180))
            .unwrap_or(jiff::civil::Date::MAX),
        if settings.scoped { format!(" --org-id {}", org.org_id) } else { String::new() }
    );
    let simulator = Simulator::new(org, settings);
    tokio::select! {
        served = simulator.serve(listener) => served.context("the simulator stopped")?,
        _ = tokio::signal::ctrl_c() => {}
    }
    let (calls, refused) = simulator.calls();
    eprintln!("Stopped after {calls} calls ({refused} answered 429).");
    Ok(())
}
