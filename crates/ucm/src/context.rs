//! What a command needs: the configuration, the store, the directory, a clock.

use std::sync::Arc;

use anyhow::Context as _;
use directory::{Directory, LocalDirectory};
use model::clock::{Clock, SystemClock};
use store::Store;

use crate::config::Config;

/// An opened installation.
#[derive(Debug, Clone)]
pub struct Context {
    pub config: Config,
    pub store: Store,
    /// The same database, read only: what the agent's tools are given.
    pub reader: store::ReadOnlyStore,
    pub directory: Arc<dyn Directory>,
    /// The Atlassian organization the directory mirrors, when one is connected.
    pub organization: atlassian::Organization,
    pub clock: Arc<dyn Clock>,
    /// Where links point: `server.public_url`, else the address the last `ucm serve` on this
    /// database answered at, else one made from `server.bind`.
    public_url: String,
}

impl Context {
    /// Opens the database the configuration names (creating the data directory for SQLite)
    /// and applies migrations.
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        if config.database_url.as_deref().is_none_or(str::is_empty) {
            // Created for its owner only: it holds the database and the sealing key.
            let mut dir = std::fs::DirBuilder::new();
            dir.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
            dir.create(&config.data_dir)
                .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
        }
        let url = config.database_url();
        let store = Store::open(&url, &config.store_options()).await?;
        Self::on_store(config, store).await
    }

    /// An installation over a store that is already open (benchmarks on scratch stores).
    pub async fn on_store(config: Config, store: Store) -> anyhow::Result<Self> {
        let reader = store.read_only().await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let organization = atlassian::Organization::new(
            store.clone(),
            config.outbound_client()?,
            config.sealing_key()?,
            clock.clone(),
            config.org_settings()?,
        );
        let local = LocalDirectory::new(store.clone(), clock.clone());
        let directory = Arc::new(atlassian::OrgDirectory::new(local, organization.clone()).await?);
        let public_url = if config.server.public_url.is_empty() {
            store.served_url().await?.unwrap_or_else(|| config.public_url())
        } else {
            config.server.public_url.clone()
        };
        Ok(Self { config, store, reader, directory, organization, clock, public_url })
    }

    /// The state the server's handlers (and the CLI's JSON output, which shares their shapes) use.
    pub fn app_state(&self, public_url: &str) -> anyhow::Result<server::AppState> {
        Ok(server::AppState {
            store: self.store.clone(),
            directory: self.directory.clone(),
            organization: self.organization.clone(),
            clock: self.clock.clone(),
            public_url: public_url.trim_end_matches('/').to_owned(),
            tasks: self.task_service(public_url)?,
            webhooks: self.subscriptions(public_url)?,
            delivery_metrics: std::sync::Arc::default(),
            connections: self.connections()?,
            tools: self.tools(public_url),
            flows: self.flows(public_url)?,
            executor: self.executor(public_url)?,
            webhook_rate: Arc::new(automation::RateLimit::new(self.config.automation.webhook_requests_per_minute)),
            sync_slot: Some(self.config.sync_slot()?),
        })
    }

    /// Connections to the final-action targets, credentials sealed with this installation's key.
    pub fn connections(&self) -> anyhow::Result<connectors::Connections> {
        Ok(connectors::Connections::new(
            self.store.clone(),
            self.config.sealing_key()?,
            self.config.outbound_client()?,
            self.clock.clone(),
        ))
    }

    /// The dispatcher of webhook deliveries.
    pub fn dispatcher(
        &self,
        subscriptions: webhooks::Subscriptions,
        metrics: Arc<webhooks::DeliveryMetrics>,
    ) -> anyhow::Result<webhooks::Dispatcher> {
        let client = self.config.outbound_client()?;
        Ok(webhooks::Dispatcher::new(
            self.store.clone(),
            subscriptions,
            client,
            self.config.dispatch_settings()?,
            self.clock.clone(),
            metrics,
        ))
    }

    /// Webhook subscriptions, with the URL policy of this installation.
    pub fn subscriptions(&self, public_url: &str) -> anyhow::Result<webhooks::Subscriptions> {
        let urls = webhooks::UrlPolicy::new(public_url, &self.config.webhooks.allowed_url_prefixes);
        Ok(webhooks::Subscriptions::new(
            self.store.clone(),
            self.config.sealing_key()?,
            urls,
            self.config.webhooks.max_subscriptions,
            self.clock.clone(),
        ))
    }

    /// Tasks, runs and bulk operations, with deep links built from `public_url`.
    pub fn task_service(&self, public_url: &str) -> anyhow::Result<tasks::TaskService> {
        Ok(tasks::TaskService::new(
            self.store.clone(),
            self.directory.clone(),
            self.clock.clone(),
            self.config.task_settings(public_url)?,
        ))
    }

    /// Flows of the automation engine, webhook URLs built from `public_url`.
    pub fn flows(&self, public_url: &str) -> anyhow::Result<automation::Flows> {
        Ok(automation::Flows::new(self.store.clone(), self.config.sealing_key()?, self.clock.clone(), public_url))
    }

    /// The executor of flows (run by `ucm serve`).
    pub fn executor(&self, public_url: &str) -> anyhow::Result<automation::Executor> {
        Ok(automation::Executor::new(
            self.flows(public_url)?,
            self.store.clone(),
            self.tools(public_url),
            self.llm(public_url)?,
            self.connections()?,
            self.clock.clone(),
            public_url,
            self.config.executor_settings()?,
        ))
    }

    /// The agent's read-only tools, with deep links built from `public_url`.
    pub fn tools(&self, public_url: &str) -> agent::Tools {
        agent::Tools::new(self.reader.clone(), self.clock.clone(), public_url)
    }

    /// The agent's LLM backend, when a model is configured (`[agent] llm_base_url`).
    pub fn llm(&self, public_url: &str) -> anyhow::Result<Option<agent::llm::LlmBackend>> {
        let Some(settings) = self.config.llm_settings()? else { return Ok(None) };
        let client = self.config.llm_client(&settings)?;
        Ok(Some(agent::llm::LlmBackend::new(client, settings, self.tools(public_url))))
    }

    /// Where the links a command writes point: `server.public_url` when configured, else the
    /// server that last ran on this database (so a CLI call beside `ucm serve --bind …:18100`
    /// links to port 18100), else the configured bind address.
    pub fn public_url(&self) -> String {
        self.public_url.clone()
    }
}
