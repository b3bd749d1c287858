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
const TOP_LEVEL_KEYS: [&str; 9] =
    ["data_dir", "database_url", "database", "server", "tasks", "directory", "log", "api_keys", "demo"];

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
    pub log: LogConfig,
    pub api_keys: ApiKeysConfig,
    pub demo: DemoConfig,
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
        Ok(())
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
        Ok(toml::to_string_pretty(&shown)?)
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
