//! The command line: every command, its flags and its examples.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// User Manager: audit-aware user-management automation.
///
/// Keep a directory of users, groups and app access; search it like the User Browser; manage
/// the API keys that reach it. Everything runs on an embedded SQLite file by default.
#[derive(Debug, Parser)]
#[command(name = "ucm", version, propagate_version = true, after_help = EXAMPLES)]
pub struct Cli {
    /// A configuration file (TOML); see ucm.example.toml for every key.
    #[arg(long, global = true, value_name = "FILE", env = "UCM_CONFIG")]
    pub config: Option<PathBuf>,

    /// Where ucm keeps its files (the SQLite database, the initial admin key).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "Examples:
  ucm serve --demo                      start with a demo organization on 127.0.0.1:8080
  ucm users list --apps JSM --inactive-days 30
  ucm import users.csv
  ucm apikey create --name ci --expires-in 30d --role read-only
  ucm config check";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (REST API on /api/v1, /healthz).
    #[command(after_help = "Examples:
  ucm serve --demo
  ucm serve --bind 0.0.0.0:8080
  UCM_DATABASE_URL=postgres://ucm@127.0.0.1/ucm ucm serve")]
    Serve(ServeArgs),

    /// Import users, groups and sites from a JSON or CSV file, all or nothing.
    #[command(after_help = "The format is described in docs/import-format.md.

Examples:
  ucm import org.json
  ucm import users.csv
  ucm import export.txt --format json")]
    Import(ImportArgs),

    /// Create a realistic demo organization (3 sites, ~25 groups, users in every status).
    #[command(
        name = "seed-demo",
        after_help = "Examples:
  ucm seed-demo
  ucm seed-demo --users 5000 --seed 7"
    )]
    SeedDemo(SeedDemoArgs),

    /// Search and show users.
    #[command(
        subcommand,
        after_help = "Examples:
  ucm users list --apps JSM --inactive-days 30
  ucm users show 712020:5b1f…"
    )]
    Users(UsersCommand),

    /// Saved filters: User Browser criteria under a name.
    #[command(
        subcommand,
        after_help = "Examples:
  ucm filters create --name \"Idle JSM agents\" --apps JSM --inactive-days 30
  ucm filters list"
    )]
    Filters(FiltersCommand),

    /// API keys for the REST API.
    #[command(
        subcommand,
        after_help = "Examples:
  ucm apikey create --name ci --expires-in 30d --role read-only
  ucm apikey list
  ucm apikey revoke 0190f2c4-…"
    )]
    Apikey(ApikeyCommand),

    /// Installation settings.
    #[command(
        subcommand,
        after_help = "Example:
  ucm settings access --product-admins true"
    )]
    Settings(SettingsCommand),

    /// Configuration.
    #[command(
        subcommand,
        after_help = "Examples:
  ucm config check
  ucm config example > ucm.toml"
    )]
    Config(ConfigCommand),

    /// Smart-value templates: render one against a JSON context, or check its syntax.
    #[command(
        subcommand,
        after_help = "Examples:
  ucm template eval --context payload.json '{{webhookData.name.toUpperCase}}'
  ucm template check '{{#if(exists(webhookData.processId))}}ok{{/}}'"
    )]
    Template(TemplateCommand),

    /// Measure performance and print the figures.
    #[command(
        subcommand,
        after_help = "Example:
  ucm bench directory --users 100000"
    )]
    Bench(BenchCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// On first start (an empty directory), create a demo organization.
    #[arg(long)]
    pub demo: bool,
    /// Address and port to listen on (default from configuration: 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import (`-` reads standard input; then give --format).
    pub file: PathBuf,
    /// The file's format (default: from the file name's extension).
    #[arg(long, value_enum)]
    pub format: Option<FileFormat>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FileFormat {
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct SeedDemoArgs {
    /// How many users.
    #[arg(long, default_value_t = 500)]
    pub users: usize,
    /// The seed: the same seed makes the same organization.
    #[arg(long, default_value_t = directory::demo::DEFAULT_SEED)]
    pub seed: u64,
    /// Add the demo organization even when the directory already holds users.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once per process")]
pub enum UsersCommand {
    /// Search the directory like the User Browser.
    #[command(after_help = "Criteria combine with AND; values of one list with OR. Names ignore case;
apps may be given by key, display name or alias (JSM).

Examples:
  ucm users list --apps JSM --inactive-days 30
  ucm users list --groups engineering,design --statuses active --sort last-active --order desc
  ucm users list --email-domains partners.example.com --json")]
    List(UsersListArgs),

    /// Show one user.
    #[command(after_help = "Examples:
  ucm users show 712020:5b1f…
  ucm users show 712020:5b1f… --json")]
    Show {
        /// The user's account id.
        account_id: String,
        /// Print JSON (the API's shape) instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// User Browser criteria as flags.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Text in the display name or email.
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Not active for at least N days (with --apps: in those apps).
    #[arg(long, value_name = "N")]
    pub inactive_days: Option<u32>,
    /// Has access to any of these apps.
    #[arg(long, value_delimiter = ',', value_name = "APP")]
    pub apps: Vec<String>,
    /// Has access to none of these apps.
    #[arg(long, value_delimiter = ',', value_name = "APP")]
    pub not_apps: Vec<String>,
    /// Holds any of these roles.
    #[arg(long, value_delimiter = ',', value_name = "ROLE")]
    pub roles: Vec<String>,
    /// Member of any of these groups.
    #[arg(long, value_delimiter = ',', value_name = "GROUP")]
    pub groups: Vec<String>,
    /// Member of none of these groups.
    #[arg(long, value_delimiter = ',', value_name = "GROUP")]
    pub exclude_groups: Vec<String>,
    /// On this site (app criteria then look at this site only).
    #[arg(long, value_name = "SITE")]
    pub site: Option<String>,
    /// Email domain is any of these.
    #[arg(long, value_delimiter = ',', value_name = "DOMAIN")]
    pub email_domains: Vec<String>,
    /// Status is any of these.
    #[arg(long, value_delimiter = ',', value_name = "STATUS")]
    pub statuses: Vec<String>,
}

impl FilterArgs {
    /// The criteria these flags say.
    pub fn to_filter(&self) -> model::filter::UserFilter {
        model::filter::UserFilter {
            q: self.search.clone(),
            inactive_days: self.inactive_days,
            apps: self.apps.clone(),
            not_apps: self.not_apps.clone(),
            roles: self.roles.clone(),
            groups: self.groups.clone(),
            exclude_groups: self.exclude_groups.clone(),
            site: self.site.clone(),
            email_domains: self.email_domains.clone(),
            statuses: self.statuses.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct UsersListArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Page number, from 1.
    #[arg(long, default_value_t = 1)]
    pub page: u32,
    /// 10, 20, 50, 100 or 200.
    #[arg(long, default_value_t = model::filter::DEFAULT_PAGE_SIZE)]
    pub page_size: u32,
    /// Sort by.
    #[arg(long, value_enum, default_value_t = SortArg::DisplayName)]
    pub sort: SortArg,
    /// Sort order.
    #[arg(long, value_enum, default_value_t = OrderArg::Asc)]
    pub order: OrderArg,
    /// Print JSON (the API's shape) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SortArg {
    DisplayName,
    Email,
    Status,
    LastActive,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OrderArg {
    Asc,
    Desc,
}

#[derive(Debug, Subcommand)]
pub enum FiltersCommand {
    /// List saved filters.
    #[command(after_help = "Examples:
  ucm filters list
  ucm filters list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Save criteria under a name.
    #[command(after_help = "Example:
  ucm filters create --name \"Idle JSM agents\" --apps JSM --inactive-days 30")]
    Create {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Replace a saved filter's name and criteria.
    #[command(after_help = "Example:
  ucm filters update 0190f2c4-… --name \"Idle JSM agents\" --apps JSM --inactive-days 60")]
    Update {
        filter_id: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Delete a saved filter.
    #[command(after_help = "Example:
  ucm filters delete 0190f2c4-…")]
    Delete { filter_id: String },
}

#[derive(Debug, Subcommand)]
pub enum ApikeyCommand {
    /// Create a key; its secret is printed once, on standard output.
    #[command(after_help = "Examples:
  ucm apikey create --name ci --expires-in 30d --role read-only > ci.key
  ucm apikey create --name ops --for 712020:5b1f…")]
    Create {
        /// A name to tell the key apart.
        #[arg(long)]
        name: String,
        /// Lifetime: hours, days, weeks or years (12h, 90d, 2w, 1y).
        #[arg(long, default_value = "90d", value_name = "LIFETIME")]
        expires_in: String,
        /// What the key may do.
        #[arg(long, value_enum, default_value_t = RoleArg::Admin)]
        role: RoleArg,
        /// The directory user the key acts for (admitted by the access settings on each use).
        #[arg(long = "for", value_name = "ACCOUNT_ID")]
        principal: Option<String>,
    },
    /// List keys with their state (secrets are never shown again).
    #[command(after_help = "Examples:
  ucm apikey list
  ucm apikey list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key: it stops working at once.
    #[command(after_help = "Example:
  ucm apikey revoke 0190f2c4-…")]
    Revoke { api_key_id: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    ReadOnly,
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Show or change who besides organization admins may use ucm.
    #[command(after_help = "Examples:
  ucm settings access
  ucm settings access --product-admins true --user-access-admins false")]
    Access {
        /// Admit product admins.
        #[arg(long, value_name = "BOOL")]
        product_admins: Option<bool>,
        /// Admit user access admins.
        #[arg(long, value_name = "BOOL")]
        user_access_admins: Option<bool>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (secrets redacted) and check it.
    #[command(after_help = "Examples:
  ucm config check
  ucm --config /etc/ucm.toml config check
  UCM_DATABASE_URL=postgres://ucm@127.0.0.1/ucm ucm config check")]
    Check,
    /// Print the commented example configuration (also the defaults).
    #[command(after_help = "Example:
  ucm config example > ucm.toml")]
    Example,
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Render a template and print the result (missing values are listed on standard error).
    #[command(after_help = "Examples:
  ucm template eval --context payload.json --now 2020-08-18T02:40:37Z '{{now.plusDays(2).jiraDate}}'
  echo '{\"user\": {\"name\": \"Ada\"}}' | ucm template eval --context - 'Hello {{user.name}}'")]
    Eval {
        /// The template text.
        template: String,
        /// A JSON file with the values the template refers to (`-` reads standard input).
        #[arg(long, value_name = "FILE")]
        context: Option<PathBuf>,
        /// The instant `now` stands for (RFC 3339); default: the current time.
        #[arg(long, value_name = "INSTANT")]
        now: Option<String>,
    },
    /// Check a template's syntax; errors show the line, column and a caret.
    #[command(after_help = "Example:
  ucm template check 'Hello {{user.name'")]
    Check {
        /// The template text.
        template: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Import rate and User Browser query latency, on SQLite and (with UCM_DATABASE_URL)
    /// PostgreSQL. Uses a scratch database; your data is not touched.
    #[command(after_help = "Example:
  ucm bench directory --users 100000")]
    Directory {
        #[arg(long, default_value_t = 100_000)]
        users: usize,
        /// Queries per filter.
        #[arg(long, default_value_t = 200)]
        queries: usize,
        #[arg(long)]
        json: bool,
    },
    /// Smart-value renders per second of a Slack-style summary (10 users, conditionals, two date
    /// formats) and parse time, against minijinja rendering the same output in the same run.
    #[command(after_help = "Example:
  ucm bench templates --iterations 20000")]
    Templates {
        #[arg(long, default_value_t = 20_000)]
        iterations: usize,
        #[arg(long)]
        json: bool,
    },
}
