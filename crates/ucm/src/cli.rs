//! The command line: every command, its flags and its examples.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// User Manager: audit-aware user-management automation.
///
/// Keep a directory of users, groups and app access; search it like the User Browser; automate
/// changes with tasks and bulk operations; manage the API keys that reach it. Everything runs on
/// an embedded SQLite file by default.
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
  ucm tasks list
  ucm tasks run 0190f2c4-…              run a task now and show its result
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

    /// Create a realistic demo organization (3 sites, 27 groups, users in every status) and
    /// three example tasks that run only by hand.
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

    /// Automated Tasks: a saved filter, ordered actions and a schedule.
    #[command(
        subcommand,
        after_help = "Examples:
  ucm tasks create --name \"Offboard contractors\" --filter Contractors \\
      --action remove-app-access=all --action suspend --schedule weekly:mon@05:00 --time-zone Europe/Berlin
  ucm tasks preview 0190f2c4-…
  ucm tasks run 0190f2c4-…
  ucm runs show 0190f2c5-… --json"
    )]
    Tasks(TasksCommand),

    /// Run results: list, show, export; approve or reject quarantined runs; cancel.
    #[command(
        subcommand,
        after_help = "Examples:
  ucm runs list --task 0190f2c4-…
  ucm runs list --account 712020:5b1f… --outcome success
  ucm runs show 0190f2c5-… --json
  ucm runs export 0190f2c5-… --output run.json"
    )]
    Runs(RunsCommand),

    /// Bulk Operations: a task's actions on users picked by id or by filter (no webhooks).
    #[command(
        subcommand,
        after_help = "Examples:
  ucm bulk run --action suspend --account-id 712020:5b1f…,712020:9c2e…
  ucm bulk preview --action add-to-groups=Contractors --email-domains partners.example.com"
    )]
    Bulk(BulkCommand),

    /// Webhook subscriptions (Notification Settings): who hears of task runs and key expiry.
    #[command(
        subcommand,
        after_help = "Examples:
  printf %s \"$SECRET\" | ucm webhooks create --name Automation --secret-stdin \\
      --url https://api-private.atlassian.com/automation/webhooks/jira/a/b/c --triggers taskSuccess,taskFailure
  ucm webhooks list"
    )]
    Webhooks(WebhooksCommand),

    /// The directory's backend: connect an Atlassian organization, see how it stands, sync it.
    #[command(
        subcommand,
        after_help = "Examples:
  printf %s \"$ATLASSIAN_ADMIN_KEY\" | ucm directory connect atlassian --api-key-stdin --key-expires 2027-06-30
  ucm directory sync
  ucm directory status"
    )]
    Directory(DirectoryCommand),

    /// Simulators of the services ucm connects to, for trying ucm out and for tests.
    #[command(
        subcommand,
        after_help = "Example:
  ucm simulate atlassian --users 500 --bind 127.0.0.1:18200"
    )]
    Simulate(SimulateCommand),

    /// Flows of the automation engine: a trigger and ordered steps. Each is checked when
    /// saved; its webhook URL and secret are minted on the first save.
    #[command(
        subcommand,
        after_help = "Examples:
  ucm flows create --file slack-alert.json
  ucm flows list
  ucm flows show 0190f2c4-… --json
  ucm flows enable 0190f2c4-…"
    )]
    Flows(FlowsCommand),

    /// Connections to the final-action targets: Slack, Confluence, Jira, or local.
    #[command(
        subcommand,
        after_help = "Examples:
  printf %s \"$JIRA_TOKEN\" | ucm connections create --name Jira --kind jira \\
      --site https://acme.atlassian.net --email ada@acme.example --secret-stdin
  ucm connections test Jira"
    )]
    Connections(ConnectionsCommand),

    /// What the local connection stored: pages, messages, work items, emails.
    #[command(
        subcommand,
        after_help = "Examples:
  ucm outputs list --kind workItem
  ucm outputs show LOCAL-1"
    )]
    Outputs(OutputsCommand),

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

    /// The agent: its read-only tools, and the formats the "Use agent" step renders a run in.
    #[command(
        subcommand,
        after_help = "Examples:
  ucm agent tools
  ucm agent call search-users --arg apps=JSM --arg inactiveDays=30
  ucm agent call search-task-results --arg processId=0190f2c4-… --json
  ucm agent format slack-summary --process-id 0190f2c4-…"
    )]
    Agent(AgentCommand),

    /// Serve the agent's read-only tools over MCP on standard input and output, for an MCP
    /// client (Claude Desktop, an IDE, an agent framework) that starts ucm itself. Over the
    /// network, `ucm serve` offers the same tools at /mcp with an API key.
    #[command(after_help = "Example client configuration (the command, its arguments, its environment):
  {\"command\": \"ucm\", \"args\": [\"mcp\"], \"env\": {\"UCM_DATA_DIR\": \"/var/lib/ucm\"}}")]
    Mcp,

    /// Convert Markdown to Confluence storage format, Atlassian Document Format (ADF), HTML or
    /// Slack mrkdwn, as the final actions send it.
    #[command(after_help = "Examples:
  ucm render --to storage report.md
  echo '**3 users** suspended, see [the run](https://ucm.example/tasks)' | ucm render --to mrkdwn")]
    Render(RenderArgs),

    /// Measure performance and print the figures.
    #[command(
        subcommand,
        after_help = "Example:
  ucm bench directory --users 100000"
    )]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Connect an Atlassian organization with an organization API key (created at
    /// admin.atlassian.com → Settings → API keys, without scopes). The key is checked with
    /// Atlassian, sealed, and never shown again; the directory then mirrors the organization.
    #[command(after_help = "Examples:
  printf %s \"$KEY\" | ucm directory connect atlassian --api-key-stdin --key-expires 2027-06-30
  printf %s \"$KEY\" | ucm directory connect atlassian --api-key-stdin --key-expires 2027-06-30 \\
      --org-id 8a130dbc-06bc-1a05-jjk7-9822046115j1")]
    Connect {
        #[arg(value_enum)]
        backend: BackendArg,
        /// Read the organization API key from standard input.
        #[arg(long, required = true)]
        api_key_stdin: bool,
        /// The day the key expires (YYYY-MM-DD), as Atlassian showed it when it was created.
        #[arg(long, value_name = "DATE")]
        key_expires: jiff::civil::Date,
        /// The organization's id: needed for a key created with scopes, which lists none.
        #[arg(long, value_name = "ID")]
        org_id: Option<String>,
        /// The directory's id, when the organization has several.
        #[arg(long, value_name = "ID")]
        directory_id: Option<String>,
        /// A name for the key, as its expiry notices will call it.
        #[arg(long)]
        key_name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The backend, the organization and directory, the key's expiry, and the last sync.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Read the organization into the directory now (the daily sync and every run do too).
    Sync {
        #[arg(long)]
        json: bool,
    },
    /// Forget the organization and its key. The directory keeps what it last read.
    Disconnect,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BackendArg {
    /// An Atlassian Cloud organization, through Atlassian's Admin API.
    Atlassian,
}

#[derive(Debug, Subcommand)]
pub enum SimulateCommand {
    /// Serve a simulated Atlassian Admin API over a generated organization until stopped.
    /// Point ucm at it with UCM_ATLASSIAN__API_BASE and allow its network.
    #[command(after_help = "Example (two terminals):
  ucm simulate atlassian --users 500 --bind 127.0.0.1:18200
  export UCM_ATLASSIAN__API_BASE=http://127.0.0.1:18200 UCM_NETWORK__ALLOWED_NETWORKS=127.0.0.0/8
  printf %s simulated-key | ucm directory connect atlassian --api-key-stdin --key-expires 2027-06-30")]
    Atlassian {
        /// How many users the organization has.
        #[arg(long, default_value_t = 500)]
        users: usize,
        /// The seed: the same seed makes the same organization.
        #[arg(long, default_value_t = directory::demo::DEFAULT_SEED)]
        seed: u64,
        /// Address and port to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:18200")]
        bind: String,
        /// The organization API key it accepts.
        #[arg(long, default_value = "simulated-key")]
        key: String,
        /// Behave like a key created with scopes: GET /v1/orgs lists nothing.
        #[arg(long)]
        scoped: bool,
        /// Allow this many calls per second (past it, 429).
        #[arg(long, value_name = "N")]
        requests_per_second: Option<u32>,
        /// Answer every k-th call with 429.
        #[arg(long, value_name = "K")]
        rate_limit_every: Option<u64>,
        /// Answer every k-th call with 500.
        #[arg(long, value_name = "K")]
        fail_every: Option<u64>,
        /// Reads show a change only this many seconds after it (Atlassian's lag is up to 30).
        #[arg(long, value_name = "S", default_value_t = 0)]
        lag_seconds: u64,
    },
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The format to produce.
    #[arg(long, value_enum)]
    pub to: RenderFormat,
    /// The Markdown file; standard input when left out or `-`.
    pub file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// List the read-only tools; with --json, their JSON Schemas too.
    #[command(after_help = "Examples:
  ucm agent tools
  ucm agent tools --json")]
    Tools {
        #[arg(long)]
        json: bool,
    },

    /// Call a read-only tool and print its answer.
    #[command(after_help = "Arguments are the tool's input fields (see `ucm agent tools --json`). A list field
takes repeated --arg or commas; numbers and booleans are read as such.

Examples:
  ucm agent call search-users --arg apps=JSM,Confluence --arg inactiveDays=30
  ucm agent call search-task-results --arg task='Deactivate Inactive Users' --arg outcome=failure
  ucm agent call search-task-results --arg user=ada@example.com
  ucm agent call license-health --arg inactiveDays=90 --json
  ucm agent call notification-settings
  echo '{\"processId\": \"0190f2c4-…\"}' | ucm agent call search-task-results --arguments - --json")]
    Call {
        /// `search-users`, `search-task-results`, `license-health` or `notification-settings`.
        name: String,
        /// One argument, `KEY=VALUE`; repeat for more.
        #[arg(long = "arg", value_name = "KEY=VALUE")]
        args: Vec<String>,
        /// All arguments as one JSON object (`-` reads it from standard input).
        #[arg(long, value_name = "JSON", conflicts_with = "args")]
        arguments: Option<String>,
        /// Print the answer as JSON (its shape is the tool's output schema).
        #[arg(long)]
        json: bool,
    },

    /// Print a run in one of the agent's built-in formats, or in your own smart-value template,
    /// as the "Use agent" step renders it.
    #[command(after_help = "A template sees `run` (the run's record, every user change), `licenseHealth` and
`notificationSettings` (the tools' answers).

Examples:
  ucm agent format confluence-audit --process-id 0190f2c4-…
  ucm agent format confluence-audit --process-id 0190f2c4-… | ucm render --to storage
  ucm agent format --template summary.txt --process-id 0190f2c4-…
  ucm agent format slack-summary --process-id 0190f2c4-… --llm 'Summarise this run for #it-ops'")]
    Format {
        #[arg(value_enum, required_unless_present = "template")]
        format: Option<AgentFormat>,
        /// The run (`processId`).
        #[arg(long)]
        process_id: Option<String>,
        /// A smart-value template file to render instead of a built-in format.
        #[arg(long, value_name = "FILE", conflicts_with = "format")]
        template: Option<PathBuf>,
        /// Ask the configured model (`[agent] llm_base_url`) with this prompt; its reply is used
        /// if it keeps the format's rules, the built-in rendering otherwise (the reason goes to
        /// standard error).
        #[arg(long, value_name = "PROMPT", conflicts_with = "template")]
        llm: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    /// Every flow with its state and webhook URL.
    #[command(after_help = "Examples:
  ucm flows list
  ucm flows list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// One flow: trigger, steps, webhook URL and secret.
    #[command(after_help = "Example:
  ucm flows show 0190f2c4-… --json")]
    Show {
        /// The flow's id or name.
        flow: String,
        #[arg(long)]
        json: bool,
    },
    /// Save a new flow from a JSON file (`-` for standard input). Every problem is listed and
    /// nothing is saved until there are none. The flow starts disabled unless the file says
    /// `"enabled": true`.
    #[command(after_help = "A file:
  {\"name\": \"Slack alert per task run\",
   \"trigger\": {\"type\": \"incomingWebhook\", \"workItems\": \"none\"},
   \"steps\": [
     {\"type\": \"agent.use\", \"prompt\": \"Summarise run {{webhookData.processId}}\", \"format\": \"slack-summary\"},
     {\"type\": \"slack.message.send\", \"connection\": \"local\", \"channel\": \"#it-ops\", \"message\": \"{{agentResponse}}\"}]}

Example:
  ucm flows create --file slack-alert.json")]
    Create {
        #[arg(long)]
        file: PathBuf,
    },
    /// Replace a flow's definition from a JSON file; its URL and secret stay.
    #[command(after_help = "Example:
  ucm flows update 0190f2c4-… --file slack-alert.json")]
    Update {
        flow: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Enable a flow (it is checked again first).
    #[command(after_help = "Example:
  ucm flows enable 'Slack alert per task run'")]
    Enable { flow: String },
    /// Disable a flow: its webhook answers 404 until it is enabled again.
    #[command(after_help = "Example:
  ucm flows disable 'Slack alert per task run'")]
    Disable { flow: String },
    /// Delete a flow.
    #[command(after_help = "Example:
  ucm flows delete 0190f2c4-…")]
    Delete { flow: String },
    /// Run a flow now with a sample payload as its webhook's body (enabled or not), and print
    /// the audit record. Actions really act: use the `local` connection to try a flow safely.
    #[command(after_help = "Example:
  echo '{\"trigger\": \"taskFailure\", \"processId\": \"0190f2c4-…\", \"name\": \"Weekly cleanup\"}' \\
    | ucm flows test 'Jira incident on failure' --payload -")]
    Test {
        flow: String,
        /// The payload as a JSON file (`-` for standard input).
        #[arg(long)]
        payload: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Write flows as an export file in Atlassian Automation's rule shape (`{"cloud": false,
    /// "rules": [...]}`): the named flows, or all. Secrets are not in it (`***`).
    #[command(after_help = "Examples:
  ucm flows export > flows.json
  ucm flows export 'Slack alert per task run' --out slack-alert.export.json")]
    Export {
        /// Flows by id or name (default: every flow).
        flows: Vec<String>,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Import an export file (or one flow in ucm's own shape; `-` for standard input). Nothing
    /// is saved unless every rule can be. Flows are saved disabled with new webhook URLs and
    /// secrets; what must be reconnected before enabling each is listed, and so is any
    /// component ucm has no step for (left out).
    #[command(after_help = "Examples:
  ucm flows import --file flows.json
  ucm flows import --file examples/recipes/2-slack-alert.json --json")]
    Import {
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// A flow's audit log: its executions, newest first, each step with what its templates
    /// became, what it produced, and what went wrong.
    #[command(after_help = "Examples:
  ucm flows audit 'Slack alert per task run'
  ucm flows audit 0190f2c4-… --limit 5 --json")]
    Audit {
        flow: String,
        /// At most this many executions (default 20).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AgentFormat {
    /// Markdown: the webhook payload and a per-user changes table.
    ConfluenceAudit,
    /// Slack mrkdwn: status, run summary and up to ten affected users.
    SlackSummary,
    /// Markdown: an incident with the affected users and next steps.
    JiraIncident,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RenderFormat {
    /// Confluence storage format (XHTML), as Confluence pages are created with.
    Storage,
    /// Atlassian Document Format (JSON), as Jira descriptions are written in.
    Adf,
    /// HTML, as email bodies are sent.
    Html,
    /// Slack mrkdwn.
    Mrkdwn,
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
  ucm filters update \"Idle JSM users\" --name \"Idle JSM agents\" --apps JSM --inactive-days 60")]
    Update {
        /// The filter's id or name.
        #[arg(value_name = "FILTER")]
        filter_id: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Delete a saved filter.
    #[command(after_help = "Example:
  ucm filters delete \"Idle JSM agents\"")]
    Delete {
        /// The filter's id or name.
        #[arg(value_name = "FILTER")]
        filter_id: String,
    },
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
    /// Show or change the installation-wide execution limit: scheduled runs that would change
    /// more users wait for approval; runs by hand ask for confirmation.
    #[command(
        name = "execution-limit",
        after_help = "Examples:
  ucm settings execution-limit
  ucm settings execution-limit --max-users 100 --max-percent 5
  ucm settings execution-limit --clear"
    )]
    ExecutionLimit {
        #[arg(long, value_name = "N")]
        max_users: Option<u64>,
        #[arg(long, value_name = "PERCENT")]
        max_percent: Option<f64>,
        /// Remove the limit.
        #[arg(long, conflicts_with_all = ["max_users", "max_percent"])]
        clear: bool,
    },
}

/// Actions, in the order given.
pub const ACTION_HELP: &str = "An action, in the order they run (repeat the flag): \
add-to-groups=G1,G2 · remove-from-groups=G1,G2 · remove-app-access=APP[@SITE],… or remove-app-access=all · \
suspend · restore. Group, app and site names or ids.";

/// A task's definition as flags, or as a JSON file in the API's shape.
#[derive(Debug, Clone, Args)]
pub struct TaskArgs {
    /// The task's name.
    #[arg(long, required_unless_present = "file")]
    pub name: Option<String>,
    /// The saved filter (name or id) whose users the actions apply to.
    #[arg(long, value_name = "FILTER", required_unless_present = "file")]
    pub filter: Option<String>,
    #[arg(long = "action", value_name = "ACTION", help = ACTION_HELP, required_unless_present = "file")]
    pub actions: Vec<String>,
    /// manual (default) · daily:HH:MM · weekly:mon,fri@HH:MM · interval:6h · cron:MIN HOUR DOM MON DOW ·
    /// once:YYYY-MM-DDTHH:MM.
    #[arg(long, value_name = "SCHEDULE", default_value = "manual")]
    pub schedule: String,
    /// The schedule's IANA time zone.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub time_zone: String,
    /// Save the task paused.
    #[arg(long)]
    pub paused: bool,
    /// This task's execution limit: at most this many users changed per run.
    #[arg(long, value_name = "N")]
    pub max_users: Option<u64>,
    /// This task's execution limit: at most this share of all users, in percent.
    #[arg(long, value_name = "PERCENT")]
    pub max_percent: Option<f64>,
    /// The whole task as JSON (the API's shape), instead of the flags above.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["name", "filter", "actions", "paused", "max_users", "max_percent"])]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once per process")]
pub enum TasksCommand {
    /// List tasks with their schedule, last and next run.
    #[command(after_help = "Examples:
  ucm tasks list
  ucm tasks list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one task.
    #[command(after_help = "Example:
  ucm tasks show 0190f2c4-… --json")]
    Show {
        task_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Save a new task (names are checked and stored as ids; every problem is listed).
    #[command(after_help = "Examples:
  ucm tasks create --name \"Onboard contractors\" --filter \"Contractors without Jira\" \\
      --action add-to-groups=contractors,jira-users-acme
  ucm tasks create --name Nightly --filter Idle --action remove-app-access=JSM@acme \\
      --schedule daily:02:30 --time-zone Europe/Berlin
  ucm tasks create --file task.json")]
    Create(TaskArgs),
    /// Replace a task's definition.
    #[command(after_help = "Example:
  ucm tasks update 0190f2c4-… --name Nightly --filter Idle --action suspend --schedule daily:02:30")]
    Update {
        task_id: String,
        #[command(flatten)]
        task: TaskArgs,
    },
    /// Delete a task (its runs stay readable).
    #[command(after_help = "Example:
  ucm tasks delete 0190f2c4-…")]
    Delete { task_id: String },
    /// Pause a task: the scheduler stops starting it.
    #[command(after_help = "Example:
  ucm tasks pause 0190f2c4-…")]
    Pause { task_id: String },
    /// Resume a task: its next run is the first one after now.
    #[command(after_help = "Example:
  ucm tasks resume 0190f2c4-…")]
    Resume { task_id: String },
    /// Show what a run would change now, per user, without changing anything.
    #[command(after_help = "Examples:
  ucm tasks preview 0190f2c4-…
  ucm tasks preview 0190f2c4-… --sample 200 --json")]
    Preview {
        task_id: String,
        /// Users to list.
        #[arg(long, default_value_t = 20)]
        sample: usize,
        #[arg(long)]
        json: bool,
    },
    /// Run a task now and wait for its result (Ctrl-C cancels after the users in hand).
    #[command(after_help = "Above the execution limit the run asks for confirmation; --yes gives it.

Examples:
  ucm tasks run 0190f2c4-…
  ucm tasks run 0190f2c4-… --yes --json > result.json")]
    Run {
        task_id: String,
        /// Run even above the execution limit, without asking.
        #[arg(long)]
        yes: bool,
        /// Print the whole result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List runs, newest first, with their summaries.
    #[command(after_help = "Examples:
  ucm runs list --task 0190f2c4-…
  ucm runs list --account ada@acme.com --since 2026-11-01T00:00:00Z")]
    List {
        /// Runs of this task (its id or name).
        #[arg(long, value_name = "TASK")]
        task: Option<String>,
        /// Runs that changed (or failed to change) this user (an account id or an email).
        #[arg(long, value_name = "ACCOUNT")]
        account: Option<String>,
        /// success, failure, quarantined or rejected.
        #[arg(long)]
        outcome: Option<String>,
        /// Started at or after (RFC 3339).
        #[arg(long, value_name = "INSTANT")]
        since: Option<String>,
        /// Started before (RFC 3339).
        #[arg(long, value_name = "INSTANT")]
        until: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Show a run's record: summary and per-user changes.
    #[command(after_help = "Examples:
  ucm runs show 0190f2c5-…
  ucm runs show 0190f2c5-… --json > result.json")]
    Show {
        process_id: String,
        /// Print the record (PRODUCT §5 shape) as JSON: every user change, unless --limit.
        #[arg(long)]
        json: bool,
        /// Start after this account id (the record's `nextCursor`).
        #[arg(long)]
        cursor: Option<String>,
        /// User changes per page.
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Every matched user's result, item by item: also the unchanged and skipped users that
    /// the record's user changes leave out.
    #[command(after_help = "Examples:
  ucm runs users 0190f2c5-… --status skipped
  ucm runs users 0190f2c5-… --json")]
    Users {
        process_id: String,
        /// updated, partial, failed, unchanged or skipped.
        #[arg(long)]
        status: Option<String>,
        /// Start after this account id (the page's `nextCursor`).
        #[arg(long)]
        cursor: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Write a run's whole record to a JSON file.
    #[command(after_help = "Example:
  ucm runs export 0190f2c5-… --output result.json")]
    Export {
        process_id: String,
        /// The file to write; default run-<processId>.json.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Let a quarantined run proceed, and wait for its result.
    #[command(after_help = "Example:
  ucm runs approve 0190f2c5-…")]
    Approve { process_id: String },
    /// Close a quarantined run without changing anything.
    #[command(after_help = "Example:
  ucm runs reject 0190f2c5-…")]
    Reject { process_id: String },
    /// Ask a running run to stop after the users in hand.
    #[command(after_help = "Example:
  ucm runs cancel 0190f2c5-…")]
    Cancel { process_id: String },
}

/// The users and actions of a bulk operation.
#[derive(Debug, Clone, Args)]
pub struct BulkArgs {
    #[arg(long = "action", value_name = "ACTION", help = ACTION_HELP, required = true)]
    pub actions: Vec<String>,
    /// Users picked one by one (repeat or separate with commas).
    #[arg(long = "account-id", value_delimiter = ',', value_name = "ACCOUNT_ID")]
    pub account_ids: Vec<String>,
    /// With no criteria and no account ids: every user in the directory.
    #[arg(long, conflicts_with = "account_ids")]
    pub everyone: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// A name for the results (default: the action types).
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum BulkCommand {
    /// Run the actions now and wait for the result.
    #[command(after_help = "Examples:
  ucm bulk run --action suspend --account-id 712020:5b1f…
  ucm bulk run --action remove-app-access=JSM --apps JSM --inactive-days 90 --yes")]
    Run {
        #[command(flatten)]
        bulk: BulkArgs,
        /// Run even above the execution limit, without asking.
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// Show what the actions would change, without changing anything.
    #[command(after_help = "Example:
  ucm bulk preview --action add-to-groups=Contractors --email-domains partners.example.com")]
    Preview {
        #[command(flatten)]
        bulk: BulkArgs,
        #[arg(long, default_value_t = 20)]
        sample: usize,
        #[arg(long)]
        json: bool,
    },
}

/// A webhook subscription as flags.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// A name to tell it apart.
    #[arg(long)]
    pub name: String,
    /// Where deliveries go; it must start with an allowed prefix (see ucm.example.toml, [webhooks]).
    #[arg(long)]
    pub url: String,
    /// taskSuccess, taskFailure, orgKeyExpiry (separate with commas).
    #[arg(long, value_delimiter = ',', required = true)]
    pub triggers: Vec<String>,
    #[arg(long, default_value = "")]
    pub notes: String,
    /// Save it switched off.
    #[arg(long)]
    pub disabled: bool,
    /// Read the secret from standard input (so it stays out of shell history and process lists).
    #[arg(long)]
    pub secret_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// List subscriptions (secrets are never shown).
    #[command(after_help = "Examples:
  ucm webhooks list
  ucm webhooks list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Subscribe a URL; the secret is sealed and never shown again.
    #[command(after_help = "Example:
  printf %s \"$SECRET\" | ucm webhooks create --name Local --url http://127.0.0.1:9000/hook \\
      --triggers taskSuccess,taskFailure --secret-stdin")]
    Create(WebhookArgs),
    /// Replace a subscription; without --secret-stdin its secret is kept.
    #[command(after_help = "Example:
  ucm webhooks update 0190f2c4-… --name Local --url http://127.0.0.1:9000/hook --triggers taskFailure")]
    Update {
        /// The webhook's id or name.
        id: String,
        #[command(flatten)]
        webhook: WebhookArgs,
    },
    /// Delete a subscription and its delivery log.
    #[command(after_help = "Example:
  ucm webhooks delete 0190f2c4-…")]
    Delete {
        /// The webhook's id or name.
        id: String,
    },
    /// Queue a test delivery ("Test from ucm"); `ucm serve` sends it.
    #[command(after_help = "Example:
  ucm webhooks test 0190f2c4-…")]
    Test {
        /// The webhook's id or name.
        id: String,
    },
    /// A subscription's delivery log, newest first.
    #[command(after_help = "Examples:
  ucm webhooks deliveries 0190f2c4-…
  ucm webhooks deliveries 'Slack alert per task run' --state dead")]
    Deliveries {
        /// The webhook's id or name.
        id: String,
        /// pending, in_flight, retrying, succeeded or dead.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// One delivery with every attempt.
    #[command(after_help = "Example:
  ucm webhooks delivery msg_0190f2c4…")]
    Delivery {
        delivery_id: String,
        #[arg(long)]
        json: bool,
    },
    /// A receiver for trying webhooks out: prints each request it gets, checks its signature,
    /// and answers as told (fail first to watch retries). Needs no database.
    #[command(after_help = "Examples:
  printf %s \"$SECRET\" | ucm webhooks listen --secret-stdin
  printf %s \"$SECRET\" | ucm webhooks listen --secret-stdin --fail-first 2
  ucm webhooks listen --bind 127.0.0.1:9001 --status 410")]
    Listen {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:9000")]
        bind: std::net::SocketAddr,
        /// The status to answer (500 to watch retries, 410 to watch the subscription switch off).
        #[arg(long, default_value_t = 200)]
        status: u16,
        /// Answer 500 to the first N attempts of each delivery (by webhook-id), then --status.
        #[arg(long, default_value_t = 0)]
        fail_first: u32,
        /// Read the subscription's secret from standard input and check every signature
        /// (a request that fails the check is answered 401).
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Send deliveries again by hand, each with a new round of retries.
    #[command(after_help = "Examples:
  ucm webhooks redeliver msg_0190f2c4… msg_0190f2c5…
  ucm webhooks redeliver --dead-of 0190f2c4-…")]
    Redeliver {
        delivery_ids: Vec<String>,
        /// Every dead delivery of this subscription (its id or name).
        #[arg(long, value_name = "WEBHOOK")]
        dead_of: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ConnectionKind {
    /// A Slack incoming webhook; the secret is its URL.
    SlackWebhook,
    /// Slack's Web API; the secret is a bot token (xoxb-…).
    SlackBot,
    /// Confluence Cloud; the secret is an Atlassian API token.
    Confluence,
    /// Jira Cloud; the secret is an Atlassian API token.
    Jira,
    /// An SMTP server; the secret is the password of --username.
    Smtp,
    /// Stores what it is given in ucm's database.
    Local,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SmtpSecurityArg {
    /// STARTTLS on a plain connection (port 587).
    Starttls,
    /// TLS from the start (port 465).
    Tls,
    /// No encryption: only to localhost.
    None,
}

#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// A name to tell it apart (flows name their connection).
    #[arg(long)]
    pub name: String,
    #[arg(long, value_enum)]
    pub kind: ConnectionKind,
    /// Confluence or Jira: the site, https://your-site.atlassian.net.
    #[arg(long, default_value = "")]
    pub site: String,
    /// Confluence or Jira: the Atlassian account the API token belongs to.
    #[arg(long, default_value = "")]
    pub email: String,
    /// Slack bot: the channel used when a step names none.
    #[arg(long, default_value = "")]
    pub default_channel: String,
    /// Slack bot: the Web API's base (Slack's own unless testing).
    #[arg(long, default_value = connectors::SLACK_API)]
    pub api_url: String,
    /// SMTP: the server's name or address.
    #[arg(long, default_value = "")]
    pub host: String,
    /// SMTP: the port.
    #[arg(long, default_value_t = 587)]
    pub port: u16,
    /// SMTP: how the connection is protected.
    #[arg(long, value_enum, default_value = "starttls")]
    pub security: SmtpSecurityArg,
    /// SMTP: the account to sign in as (none: no sign-in).
    #[arg(long, default_value = "")]
    pub username: String,
    /// SMTP: the sender, `Name <address>` or an address.
    #[arg(long, default_value = "")]
    pub from: String,
    /// Read the secret (webhook URL, bot token or API token) from standard input.
    #[arg(long)]
    pub secret_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConnectionsCommand {
    /// List connections (credentials are never shown).
    #[command(after_help = "Example:
  ucm connections list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Save a connection; its secret is sealed and never shown again.
    #[command(after_help = "Examples:
  printf %s \"$SLACK_WEBHOOK_URL\" | ucm connections create --name Alerts --kind slack-webhook --secret-stdin
  printf %s \"$TOKEN\" | ucm connections create --name Wiki --kind confluence \\
      --site https://acme.atlassian.net --email ada@acme.example --secret-stdin
  ucm connections create --name local --kind local")]
    Create(ConnectionArgs),
    /// Replace a connection; without --secret-stdin its secret is kept.
    #[command(after_help = "Example:
  ucm connections update Wiki --name Wiki --kind confluence --site https://acme.atlassian.net --email bob@acme.example")]
    Update {
        /// The connection's id or name.
        connection: String,
        #[command(flatten)]
        args: ConnectionArgs,
    },
    /// Delete a connection.
    #[command(after_help = "Example:
  ucm connections delete Wiki")]
    Delete { connection: String },
    /// Check a connection with a harmless call to its target.
    #[command(after_help = "Example:
  ucm connections test Wiki")]
    Test {
        connection: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutputsCommand {
    /// What the local connection stored, newest first.
    #[command(after_help = "Examples:
  ucm outputs list
  ucm outputs list --kind page --limit 5 --json")]
    List {
        /// page, message, workItem or email.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// One output, by id or work item key, as written.
    #[command(after_help = "Example:
  ucm outputs show LOCAL-1")]
    Show {
        output: String,
        #[arg(long)]
        json: bool,
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
    /// The Atlassian backend against the simulator on 127.0.0.1: a full sync (users per
    /// second, calls, peak memory, against reading alone), a Bulk Operation of two actions
    /// (item outcomes per second), and the share of a per-second limit used with 429s past it.
    /// Scratch databases only.
    #[command(after_help = "Example:
  ucm bench atlassian --users 100000 --task-users 10000")]
    Atlassian {
        #[arg(long, default_value_t = 100_000)]
        users: usize,
        /// Users the Bulk Operation changes.
        #[arg(long, default_value_t = 10_000)]
        task_users: usize,
        /// Calls per second the simulator allows in the limited part.
        #[arg(long, default_value_t = 10)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
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
    /// A task with three actions over every user of a demo organization: item outcomes per
    /// second, run time against a preview of the same task, peak memory, and reading the
    /// result (summary + first page) p50/p99. SQLite and (with UCM_DATABASE_URL) PostgreSQL;
    /// scratch databases only.
    #[command(after_help = "Example:
  ucm bench tasks --users 100000")]
    Tasks {
        #[arg(long, default_value_t = 100_000)]
        users: usize,
        /// Reads of the result to time.
        #[arg(long, default_value_t = 200)]
        reads: usize,
        #[arg(long)]
        json: bool,
    },
    /// Webhook deliveries per second to a receiver on 127.0.0.1, against a plain HTTP client's
    /// rate to the same receiver in the same run, and commit → first attempt p50/p99. SQLite
    /// and (with UCM_DATABASE_URL) PostgreSQL; scratch databases only.
    #[command(after_help = "Example:
  ucm bench delivery --events 20000")]
    Delivery {
        #[arg(long, default_value_t = 20_000)]
        events: usize,
        #[arg(long)]
        json: bool,
    },
    /// The agent on a run with about `--users` user changes: `search-task-results` (summary +
    /// first page, as JSON) p50/p99 against reading the run's header alone, and rendering each
    /// built-in format for `--render-users` user changes against serializing them to JSON.
    /// SQLite and (with UCM_DATABASE_URL) PostgreSQL; scratch databases only.
    #[command(after_help = "Example:
  ucm bench agent --users 100000 --render-users 10000")]
    Agent {
        #[arg(long, default_value_t = 100_000)]
        users: usize,
        /// Calls of search-task-results to time.
        #[arg(long, default_value_t = 200)]
        reads: usize,
        /// User changes in the rendered record.
        #[arg(long, default_value_t = 10_000)]
        render_users: usize,
        #[arg(long)]
        json: bool,
    },
    /// The automation engine on the Slack recipe (local connection): task-run webhooks POSTed
    /// over HTTP by 8 clients while the executor runs. Accepted requests per second against an
    /// endpoint that only answers 202, completed executions per second, and request → completed
    /// execution p50/p99. SQLite and (with UCM_DATABASE_URL) PostgreSQL; scratch databases only.
    #[command(after_help = "Example:
  ucm bench automation --requests 10000")]
    Automation {
        #[arg(long, default_value_t = 10_000)]
        requests: usize,
        #[arg(long)]
        json: bool,
    },
    /// Markdown conversion throughput (MB/s) of a generated document to storage, ADF, HTML
    /// and mrkdwn, against comrak's own HTML rendering of the same document in the same run.
    #[command(after_help = "Example:
  ucm bench render --size-mb 1")]
    Render {
        /// The size of the generated Markdown document.
        #[arg(long, default_value_t = 1)]
        size_mb: usize,
        /// Conversions per format; the median is reported.
        #[arg(long, default_value_t = 7)]
        iterations: usize,
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
