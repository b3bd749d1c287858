//! One module per command family.

mod agent;
mod apikey;
mod bench;
mod bench_agent;
mod bench_atlassian;
mod bench_automation;
mod bench_delivery;
mod bench_render;
mod bench_tasks;
mod connections;
mod filters;
mod flows;
mod import;
mod organization;
mod render;
mod serve;
mod settings;
mod tasks;
mod template;
mod users;
mod webhooks;

use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, ConfigCommand, WebhooksCommand};
use crate::config::{Config, Overrides};
use crate::context::Context;
use crate::output::outln;

/// Runs the command the user asked for.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let overrides = Overrides { data_dir: cli.data_dir.clone() };
    match cli.command {
        Command::Config(ConfigCommand::Example) => {
            crate::output::write_out(format_args!("{}", crate::config::EXAMPLE));
            return Ok(());
        }
        // Templates, rendering and the test receiver need no configuration and no database.
        Command::Template(command) => return template::run(command),
        Command::Render(args) => return render::run(args),
        Command::Webhooks(WebhooksCommand::Listen { bind, status, fail_first, secret_stdin }) => {
            return webhooks::listen(bind, status, fail_first, secret_stdin).await;
        }
        Command::Simulate(command) => return organization::simulate(command).await,
        _ => {}
    }
    let config = Config::load(cli.config.as_deref(), &overrides)?;
    init_logging(&config, matches!(cli.command, Command::Serve(_)));
    if let Command::Config(ConfigCommand::Check) = cli.command {
        outln!("{}", config.redacted_toml()?.trim_end());
        if config.server.public_url.is_empty() {
            eprintln!(
                "The configuration is valid. Links and flow webhook URLs start with the address `ucm serve` \
                 answers at ({} when started without --bind); set server.public_url to fix it.",
                config.public_url()
            );
        } else {
            eprintln!("The configuration is valid. Links and flow webhook URLs start with {}.", config.public_url());
        }
        return Ok(());
    }
    if let Command::Bench(command) = cli.command {
        // A scratch database of its own: the configured one is not opened.
        return bench::run(&config, command).await;
    }
    if config.database_url.as_deref().is_none_or(str::is_empty) && !may_create_database(&cli.command) {
        let database = config.data_dir.join("ucm.db");
        if !database.exists() {
            anyhow::bail!(
                "there is no ucm database at {}: nothing has been set up here. Point at one with --data-dir \
                 (or UCM_DATA_DIR, or UCM_DATABASE_URL), or start one here with `ucm seed-demo` or `ucm serve --demo`",
                database.display()
            );
        }
    }
    let context = Context::open(config).await?;
    let result = match cli.command {
        Command::Serve(args) => serve::serve(context.clone(), args).await,
        Command::Import(args) => import::import(&context, args).await,
        Command::SeedDemo(args) => import::seed_demo(&context, args).await,
        Command::Users(command) => users::run(&context, command).await,
        Command::Filters(command) => filters::run(&context, command).await,
        Command::Apikey(command) => apikey::run(&context, command).await,
        Command::Settings(command) => settings::run(&context, command).await,
        Command::Tasks(command) => tasks::run(&context, command).await,
        Command::Runs(command) => tasks::runs(&context, command).await,
        Command::Bulk(command) => tasks::bulk(&context, command).await,
        Command::Webhooks(command) => webhooks::run(&context, command).await,
        Command::Connections(command) => connections::run(&context, command).await,
        Command::Directory(command) => organization::run(&context, command).await,
        Command::Flows(command) => flows::run(&context, command).await,
        Command::Agent(command) => agent::run(&context, command).await,
        Command::Mcp => server::mcp::serve_stdio(context.tools(&context.public_url())).await.map_err(Into::into),
        Command::Outputs(command) => connections::outputs(&context, command).await,
        Command::Bench(_) | Command::Config(_) | Command::Template(_) | Command::Render(_) | Command::Simulate(_) => {
            Ok(())
        }
    };
    context.store.close().await;
    result
}

/// Whether a command may start a new database where none is: those that set an installation up
/// or save something in it. Reading commands fail instead, naming where they looked, rather than
/// answering from an empty database made on the spot.
fn may_create_database(command: &Command) -> bool {
    use crate::cli::{ApikeyCommand, ConnectionsCommand, DirectoryCommand, FiltersCommand, FlowsCommand, TasksCommand};
    matches!(
        command,
        Command::Serve(_)
            | Command::Import(_)
            | Command::SeedDemo(_)
            | Command::Apikey(ApikeyCommand::Create { .. })
            | Command::Directory(DirectoryCommand::Connect { .. })
            | Command::Filters(FiltersCommand::Create { .. })
            | Command::Tasks(TasksCommand::Create(_))
            | Command::Webhooks(WebhooksCommand::Create(_))
            | Command::Connections(ConnectionsCommand::Create(_))
            | Command::Flows(FlowsCommand::Create { .. } | FlowsCommand::Import { .. })
            | Command::Settings(_)
    )
}

/// Logs go to standard error. The server logs at the configured level; other commands speak
/// to a person through their output, so they log warnings and errors only, unless `RUST_LOG`
/// says otherwise. Colours only on a terminal.
fn init_logging(config: &Config, server: bool) {
    let level = if server { config.log.level.as_str() } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(format!("{level},sqlx=warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if config.log.format == "json" { builder.json().try_init() } else { builder.try_init() };
}

/// Turns a directory error into a message for people (a filter error lists every problem with
/// suggestions).
pub(crate) fn explain(error: directory::DirectoryError) -> anyhow::Error {
    match error {
        directory::DirectoryError::Filter(e) => list_problems("the criteria cannot be used", &e.0, str::to_owned),
        other => other.into(),
    }
}

/// Every problem on a line of its own under `heading`, each field shown as `name` says (the
/// flag that sets it, say).
pub(crate) fn list_problems(
    heading: &str,
    problems: &[model::filter::FieldProblem],
    name: impl Fn(&str) -> String,
) -> anyhow::Error {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("  {}", model::filter::FieldProblem { field: name(&p.field), ..p.clone() }))
        .collect();
    anyhow::anyhow!("{heading}:\n{}", lines.join("\n"))
}
