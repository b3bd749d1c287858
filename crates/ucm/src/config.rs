//! Configuration: the embedded defaults (`ucm.example.toml`), then `--config FILE`, then
//! `UCM_*` environment variables, then command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The commented example configuration, which is also the defaults.
pub const EXAMPLE: &str = include_str!("../../../ucm.example.toml");

/// Top-level keys: environment variables outside these (such as `UCM_TEST_…`) are not ours.
const TOP_LEVEL_KEYS: [&str; 15] = [
    "data_dir",
    "atlassian",
    "database_url",
    "database",
    "server",
    "tasks",
    "directory",
    "network",
    "webhooks",
    "secrets",
    "log",
    "api_keys",
    "demo",
    "agent",
    "automation",
];

/// The file in the data directory that holds the key sealing secrets at rest, when the
/// configuration gives none.
pub const SECRET_KEY_FILE: &str = "secret-key";

/// The effective configuration. Its `Debug` output redacts the database password.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    pub database: DatabaseConfig,
    pub server: ServerConfig,
    pub tasks: TasksConfig,
    pub directory: DirectoryConfig,
    pub atlassian: AtlassianConfig,
    pub network: NetworkConfig,
    pub webhooks: WebhooksConfig,
    pub secrets: SecretsConfig,
    pub log: LogConfig,
    pub api_keys: ApiKeysConfig,
    pub demo: DemoConfig,
    pub agent: AgentConfig,
    pub automation: AutomationConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub max_connections: u32,
    pub postgres_schema: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: String,
    pub public_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TasksConfig {
    pub scheduler_interval: String,
    pub run_lease: String,
    pub chunk_size: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    pub sync_slot_start: String,
    pub sync_time_zone: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtlassianConfig {
    /// The Admin API's address; paths go under `/admin/...`.
    pub api_base: String,
    /// The most calls per second to the organization (0: only its rate-limit headers pace).
    pub max_requests_per_second: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    #[serde(deserialize_with = "list_or_text")]
    pub allowed_networks: Vec<String>,
    /// A PEM file of certificate authorities trusted for `https://` besides the system's.
    pub extra_ca_file: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    #[serde(deserialize_with = "list_or_text")]
    pub allowed_url_prefixes: Vec<String>,
    pub max_subscriptions: u64,
    pub capacity: usize,
    #[serde(deserialize_with = "list_or_text")]
    pub retry_delays: Vec<String>,
    pub lease: String,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    pub key: String,
}

impl std::fmt::Debug for SecretsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsConfig").field("key", &if self.key.is_empty() { "" } else { "***" }).finish()
    }
}

/// The automation engine.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomationConfig {
    pub webhook_requests_per_minute: u32,
    pub time_budget_per_hour: String,
    pub audit_retention: String,
    pub execution_lease: String,
    pub concurrency: usize,
}

/// The agent's optional LLM backend. Empty `llm_base_url`: only the built-in formats.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub llm_base_url: String,
    pub llm_model: String,
    pub llm_api_key: String,
    pub llm_timeout: String,
    pub llm_max_tool_calls: u32,
    #[serde(deserialize_with = "list_or_text")]
    pub llm_allowed_networks: Vec<String>,
}

impl std::fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentConfig")
            .field("llm_base_url", &self.llm_base_url)
            .field("llm_model", &self.llm_model)
            .field("llm_api_key", &if self.llm_api_key.is_empty() { "" } else { "***" })
            .field("llm_timeout", &self.llm_timeout)
            .field("llm_max_tool_calls", &self.llm_max_tool_calls)
            .field("llm_allowed_networks", &self.llm_allowed_networks)
            .finish()
    }
}

/// A list given as a TOML list, or as text with commas (as environment variables are).
fn list_or_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrText {
        List(Vec<String>),
        Text(String),
    }
    Ok(match ListOrText::deserialize(deserializer)? {
        ListOrText::List(items) => items,
        ListOrText::Text(text) => text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
    })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub level: String,
    pub format: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeysConfig {
    pub initial_key_lifetime: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    pub users: usize,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_deref().map(store::redact_url))
            .field("database", &self.database)
            .field("server", &self.server)
            .field("tasks", &self.tasks)
            .field("directory", &self.directory)
            .field("network", &self.network)
            .field("webhooks", &self.webhooks)
            .field("secrets", &self.secrets)
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

/// Values given on the command line, which win over everything else.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Reads the layers and checks the result.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Toml::string(EXAMPLE));
        if let Some(file) = file {
            if !file.is_file() {
                bail!("the configuration file {} does not exist", file.display());
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment
            .merge(
                Env::prefixed("UCM_")
                    .filter(|key| {
                        // Keys are not lower-cased yet at this point.
                        let key = key.as_str().to_ascii_lowercase();
                        let top = key.split("__").next().unwrap_or_default();
                        TOP_LEVEL_KEYS.contains(&top)
                    })
                    .split("__"),
            )
            .merge(Serialized::defaults(overrides));
        let config: Self = figment.extract().map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.bind_addr()?;
        if let Some(url) = self.database_url.as_deref().filter(|u| !u.is_empty()) {
            store::Engine::from_url(url).context("database_url")?;
        }
        let public_url = &self.server.public_url;
        if !(public_url.is_empty() || public_url.starts_with("http://") || public_url.starts_with("https://")) {
            bail!("server.public_url must start with http:// or https:// (it is `{}`)", self.server.public_url);
        }
        if !["error", "warn", "info", "debug", "trace"].contains(&self.log.level.as_str()) {
            bail!("log.level must be error, warn, info, debug or trace (it is `{}`)", self.log.level);
        }
        if !["text", "json"].contains(&self.log.format.as_str()) {
            bail!("log.format must be text or json (it is `{}`)", self.log.format);
        }
        model::apikey::parse_lifetime(&self.api_keys.initial_key_lifetime)
            .map_err(|e| anyhow::anyhow!("api_keys.initial_key_lifetime: {e}"))?;
        if self.database.max_connections == 0 {
            bail!("database.max_connections must be at least 1");
        }
        self.scheduler_interval()?;
        self.run_lease()?;
        if !(1..=10_000).contains(&self.tasks.chunk_size) {
            bail!("tasks.chunk_size must be from 1 to 10000 (it is {})", self.tasks.chunk_size);
        }
        self.sync_slot()?;
        self.org_settings()?;
        self.address_policy()?;
        self.extra_roots()?;
        self.dispatch_settings()?;
        self.llm_settings()?;
        self.llm_address_policy()?;
        if self.automation.webhook_requests_per_minute == 0 {
            bail!("automation.webhook_requests_per_minute must be at least 1");
        }
        if !(1..=64).contains(&self.automation.concurrency) {
            bail!("automation.concurrency must be from 1 to 64 (it is {})", self.automation.concurrency);
        }
        self.executor_settings()?;
        if !self.secrets.key.is_empty() {
            webhooks::SealingKey::from_base64(&self.secrets.key).map_err(|e| anyhow::anyhow!("secrets.key: {e}"))?;
        }
        Ok(())
    }

    /// How the dispatcher sends deliveries.
    pub fn dispatch_settings(&self) -> anyhow::Result<webhooks::DispatchSettings> {
        if !(1..=256).contains(&self.webhooks.capacity) {
            bail!("webhooks.capacity must be from 1 to 256 (it is {})", self.webhooks.capacity);
        }
        let retry_delays = self
            .webhooks
            .retry_delays
            .iter()
            .map(|d| duration("webhooks.retry_delays", d, 0, 86_400))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if retry_delays.len() > 10 {
            bail!("webhooks.retry_delays: at most 10 retries");
        }
        let lease = duration("webhooks.lease", &self.webhooks.lease, 1, 3600)?;
        Ok(webhooks::DispatchSettings { capacity: self.webhooks.capacity, retry_delays, lease, ..Default::default() })
    }

    /// Where outbound calls may go.
    pub fn address_policy(&self) -> anyhow::Result<webhooks::AddressPolicy> {
        webhooks::AddressPolicy::parse(&self.network.allowed_networks)
            .map_err(|bad| anyhow::anyhow!("network.allowed_networks: {}", bad.join("; ")))
    }

    /// The outbound HTTP client: the address policy, and the system's trusted roots plus
    /// `network.extra_ca_file`.
    /// Where the Atlassian Admin API is and how fast ucm may call it.
    pub fn org_settings(&self) -> anyhow::Result<atlassian::OrgSettings> {
        let api_base = self.atlassian.api_base.trim().trim_end_matches('/').to_owned();
        if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
            bail!("atlassian.api_base must be an http:// or https:// address (it is `{api_base}`)");
        }
        let min_interval = match self.atlassian.max_requests_per_second {
            0 => std::time::Duration::ZERO,
            n => std::time::Duration::from_secs(1) / n,
        };
        Ok(atlassian::OrgSettings { api_base, min_interval })
    }

    pub fn outbound_client(&self) -> anyhow::Result<webhooks::GuardedClient> {
        let roots = self.extra_roots()?;
        Ok(webhooks::GuardedClient::with_roots(self.address_policy()?, webhooks::Timeouts::default(), roots)?)
    }

    fn extra_roots(&self) -> anyhow::Result<webhooks::ExtraRoots> {
        let file = self.network.extra_ca_file.trim();
        if file.is_empty() {
            return Ok(webhooks::ExtraRoots::default());
        }
        let pem = std::fs::read(file).with_context(|| format!("network.extra_ca_file: cannot read {file}"))?;
        webhooks::GuardedClient::parse_roots(&pem).with_context(|| format!("network.extra_ca_file: {file}"))
    }

    /// The key that seals secrets at rest: the configured one, or `<data_dir>/secret-key`,
    /// created (owner-only) when missing.
    pub fn sealing_key(&self) -> anyhow::Result<webhooks::SealingKey> {
        if !self.secrets.key.is_empty() {
            return webhooks::SealingKey::from_base64(&self.secrets.key)
                .map_err(|e| anyhow::anyhow!("secrets.key: {e}"));
        }
        let path = self.data_dir.join(SECRET_KEY_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let text = webhooks::SealingKey::generate();
                crate::files::write_private(&path, &text)?;
                tracing::info!(path = %path.display(), "created the key that seals secrets at rest");
                text
            }
            Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        };
        webhooks::SealingKey::from_base64(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// How often the scheduler looks for work.
    pub fn scheduler_interval(&self) -> anyhow::Result<std::time::Duration> {
        duration("tasks.scheduler_interval", &self.tasks.scheduler_interval, 1, 3600)
    }

    /// How long a run's claim holds without being renewed.
    pub fn run_lease(&self) -> anyhow::Result<std::time::Duration> {
        duration("tasks.run_lease", &self.tasks.run_lease, 2, 86_400)
    }

    /// The daily sync slot.
    pub fn sync_slot(&self) -> anyhow::Result<tasks::SyncSlot> {
        tasks::SyncSlot::new(&self.directory.sync_slot_start, &self.directory.sync_time_zone)
            .map_err(|e| anyhow::anyhow!("directory.sync_slot_start / sync_time_zone: {e}"))
    }

    /// How tasks run, with deep links built from `public_url`.
    pub fn task_settings(&self, public_url: &str) -> anyhow::Result<tasks::TaskSettings> {
        Ok(tasks::TaskSettings {
            public_url: public_url.trim_end_matches('/').to_owned(),
            run_lease: jiff::SignedDuration::try_from(self.run_lease()?)?,
            chunk_size: self.tasks.chunk_size,
        })
    }

    /// The address to listen on.
    pub fn bind_addr(&self) -> anyhow::Result<SocketAddr> {
        self.server.bind.parse().with_context(|| {
            format!("server.bind must be an address and port such as 127.0.0.1:8080 (it is `{}`)", self.server.bind)
        })
    }

    /// The database URL: the configured one, or the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match self.database_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => url.to_owned(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("ucm.db").display()),
        }
    }

    /// Pool settings.
    pub fn store_options(&self) -> store::StoreOptions {
        store::StoreOptions {
            max_connections: self.database.max_connections,
            postgres_schema: Some(self.database.postgres_schema.clone()).filter(|s| !s.is_empty()),
            ..store::StoreOptions::default()
        }
    }

    /// The configuration as TOML, with secrets redacted.
    pub fn redacted_toml(&self) -> anyhow::Result<String> {
        let mut shown = self.clone();
        shown.database_url = shown.database_url.as_deref().map(store::redact_url);
        if !shown.secrets.key.is_empty() {
            shown.secrets.key = "***".to_owned();
        }
        if !shown.agent.llm_api_key.is_empty() {
            shown.agent.llm_api_key = "***".to_owned();
        }
        Ok(toml::to_string_pretty(&shown)?)
    }
}

impl Config {
    /// The address deep links and webhook URLs are built from: `server.public_url`, or
    /// `http://<server.bind>` when it is empty.
    pub fn public_url(&self) -> String {
        if self.server.public_url.is_empty() {
            format!("http://{}", self.server.bind)
        } else {
            self.server.public_url.clone()
        }
    }

    /// How the flow executor runs: the time budget per flow, how long audit records stay and
    /// how long a claim on an execution holds.
    pub fn executor_settings(&self) -> anyhow::Result<automation::ExecutorSettings> {
        let budget = duration("automation.time_budget_per_hour", &self.automation.time_budget_per_hour, 1, 3600)?;
        let retention = model::apikey::parse_lifetime(&self.automation.audit_retention)
            .map_err(|e| anyhow::anyhow!("automation.audit_retention: {e}"))?;
        Ok(automation::ExecutorSettings {
            time_budget_per_hour: budget,
            lease: duration("automation.execution_lease", &self.automation.execution_lease, 1, 86_400)?,
            concurrency: self.automation.concurrency,
            retention: std::time::Duration::try_from(retention)
                .map_err(|_| anyhow::anyhow!("automation.audit_retention must be positive"))?,
            ..automation::ExecutorSettings::default()
        })
    }

    /// The LLM backend's settings, or `None` when no model is configured.
    pub fn llm_settings(&self) -> anyhow::Result<Option<agent::llm::LlmSettings>> {
        let agent = &self.agent;
        let base_url = agent.llm_base_url.trim();
        if base_url.is_empty() {
            return Ok(None);
        }
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            bail!("agent.llm_base_url must start with http:// or https:// (it is `{base_url}`)");
        }
        if agent.llm_model.trim().is_empty() {
            bail!("agent.llm_model must name the model when agent.llm_base_url is set");
        }
        if !(1..=50).contains(&agent.llm_max_tool_calls) {
            bail!("agent.llm_max_tool_calls must be from 1 to 50 (it is {})", agent.llm_max_tool_calls);
        }
        Ok(Some(agent::llm::LlmSettings {
            base_url: base_url.to_owned(),
            model: agent.llm_model.trim().to_owned(),
            api_key: agent.llm_api_key.trim().to_owned(),
            timeout: duration("agent.llm_timeout", &agent.llm_timeout, 1, 600)?,
            max_tool_calls: agent.llm_max_tool_calls,
        }))
    }

    /// The client the LLM backend calls its model with: the address policy of every outbound
    /// call plus `agent.llm_allowed_networks` (a model on this machine, without opening
    /// loopback to webhooks and connectors), and the conversation's whole time per request.
    pub fn llm_client(&self, settings: &agent::llm::LlmSettings) -> anyhow::Result<webhooks::GuardedClient> {
        let timeouts = webhooks::Timeouts { connect: std::time::Duration::from_secs(5), total: settings.timeout };
        Ok(webhooks::GuardedClient::with_roots(self.llm_address_policy()?, timeouts, self.extra_roots()?)?)
    }

    fn llm_address_policy(&self) -> anyhow::Result<webhooks::AddressPolicy> {
        let networks: Vec<String> =
            self.network.allowed_networks.iter().chain(&self.agent.llm_allowed_networks).cloned().collect();
        webhooks::AddressPolicy::parse(&networks)
            .map_err(|bad| anyhow::anyhow!("agent.llm_allowed_networks: {}", bad.join("; ")))
    }
}

/// A duration such as `15s`, `2m` or `1h`, within `[min, max]` seconds.
fn duration(key: &str, text: &str, min: u64, max: u64) -> anyhow::Result<std::time::Duration> {
    let parsed: jiff::SignedDuration = text
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("{key} must be a duration such as 15s, 2m or 1h (it is `{text}`)"))?;
    let seconds = u64::try_from(parsed.as_secs()).unwrap_or(0);
    if !(min..=max).contains(&seconds) {
        bail!("{key} must be from {min} to {max} seconds (it is `{text}`)");
    }
    Ok(std::time::Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_is_a_valid_configuration() {
        let config: Config = Figment::from(Toml::string(EXAMPLE)).extract().unwrap();
        config.validate().unwrap();
        assert_eq!(config.server.bind, "127.0.0.1:8080");
        assert_eq!(config.data_dir, PathBuf::from("./ucm-data"));
        assert!(config.database_url.is_none());
        assert!(config.database_url().starts_with("sqlite://./ucm-data/ucm.db"));
    }
}
