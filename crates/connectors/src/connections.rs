//! Connections: a name, a kind with its typed settings, and a credential sealed with the
//! installation's key. The credential goes in and is never shown again; outputs say only
//! whether there is one.

use std::sync::Arc;

use model::clock::Clock;
use model::filter::FieldProblem;
use serde::{Deserialize, Serialize};
use store::{Store, StoreError, StoredConnection};
use utoipa::ToSchema;
use webhooks::{GuardedClient, SealingKey};

use crate::ConnectorError;

/// The default base of Slack's Web API.
pub const SLACK_API: &str = "https://slack.com/api";

fn slack_api() -> String {
    SLACK_API.to_owned()
}

/// What a connection connects to, and its settings that are not secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Settings {
    /// A Slack incoming webhook. The credential is the webhook URL.
    SlackWebhook,
    /// Slack's Web API with a bot token (`xoxb-…`) as the credential.
    SlackBot {
        /// The Web API's base; Slack's own unless testing.
        #[serde(default = "slack_api")]
        api_url: String,
        /// The channel messages go to when a step names none.
        #[serde(default)]
        default_channel: String,
    },
    /// Confluence Cloud (REST v2). The credential is an API token.
    Confluence {
        /// `https://your-site.atlassian.net`.
        site: String,
        /// The Atlassian account the token belongs to.
        email: String,
    },
    /// Jira Cloud (REST v3). The credential is an API token.
    Jira { site: String, email: String },
    /// An SMTP server. The credential is the password of `username` (none without a username).
    Smtp {
        host: String,
        /// 587 for STARTTLS, 465 for TLS.
        port: u16,
        security: crate::email::SmtpSecurity,
        #[serde(default)]
        username: String,
        /// The sender, `Name <address>` or an address.
        from: String,
    },
    /// Stores pages, messages, work items and emails in ucm's database instead of sending.
    Local,
}

impl Settings {
    /// The wire name of the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Settings::SlackWebhook => "slackWebhook",
            Settings::SlackBot { .. } => "slackBot",
            Settings::Confluence { .. } => "confluence",
            Settings::Jira { .. } => "jira",
            Settings::Smtp { .. } => "smtp",
            Settings::Local => "local",
        }
    }

    /// Where the credential is sent and as whom: what may not change without it.
    fn destination(&self) -> (&'static str, Vec<String>) {
        let parts = match self {
            Settings::SlackWebhook | Settings::Local => Vec::new(),
            Settings::SlackBot { api_url, .. } => vec![api_url.trim().to_owned()],
            Settings::Confluence { site, email } | Settings::Jira { site, email } => {
                vec![crate::base(site.trim()).to_owned(), email.trim().to_owned()]
            }
            Settings::Smtp { host, port, security, username, .. } => {
                vec![host.trim().to_owned(), port.to_string(), format!("{security:?}"), username.trim().to_owned()]
            }
        };
        (self.kind(), parts)
    }

    fn needs_secret(&self) -> bool {
        match self {
            Settings::Local => false,
            Settings::Smtp { username, .. } => !username.is_empty(),
            _ => true,
        }
    }
}

/// A connection to save: name, settings, and (when new or changed) the credential.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInput {
    pub name: String,
    #[serde(flatten)]
    pub settings: Settings,
    /// The credential; on update, leave it out to keep the current one.
    #[serde(default)]
    pub secret: Option<String>,
}

// Debug hides the credential.
impl std::fmt::Debug for ConnectionInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionInput")
            .field("name", &self.name)
            .field("settings", &self.settings)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish()
    }
}

/// A connection as shown: never its credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub id: String,
    pub name: String,
    #[serde(flatten)]
    pub settings: Settings,
    /// Whether a credential is stored (it is never shown).
    pub has_secret: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
}

/// A connection opened for use: its settings and credential. `Debug` hides the credential.
#[derive(Clone)]
pub struct Target {
    pub settings: Settings,
    pub secret: Option<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("settings", &self.settings).field("secret", &"***").finish()
    }
}

impl Target {
    /// The credential, or an error naming the field.
    pub(crate) fn secret(&self) -> Result<&str, ConnectorError> {
        self.secret.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| {
            ConnectorError::permanent("the connection has no credential; set its secret").on_field("secret")
        })
    }
}

/// What "test connection" found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    pub ok: bool,
    /// What was checked and what came back, in words.
    pub message: String,
    /// When not ok: whether trying again later may help.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    /// When not ok: the field the problem is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Why a connection could not be saved or found.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldProblem>),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ConnectionError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Conflict(what) => Self::Conflict(what),
            other => Self::Store(other),
        }
    }
}

const MAX_NAME_CHARS: usize = 100;
const MAX_SECRET_CHARS: usize = 4096;

/// Saved connections. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Connections {
    store: Store,
    key: SealingKey,
    client: GuardedClient,
    clock: Arc<dyn Clock>,
}

/// What a sealed credential belongs to.
fn context(id: &str) -> String {
    format!("connection:{id}")
}

impl Connections {
    pub fn new(store: Store, key: SealingKey, client: GuardedClient, clock: Arc<dyn Clock>) -> Self {
        Self { store, key, client, clock }
    }

    /// The outbound client connectors send through.
    pub fn client(&self) -> &GuardedClient {
        &self.client
    }

    pub async fn create(&self, input: &ConnectionInput) -> Result<Connection, ConnectionError> {
        check(input, true)?;
        let id = model::ids::new_uuid();
        let now = self.clock.now();
        let stored = StoredConnection {
            id: id.clone(),
            name: input.name.trim().to_owned(),
            kind: input.settings.kind().to_owned(),
            settings: settings_json(&input.settings),
            secret_sealed: input.secret.as_deref().map(|s| self.key.seal(s, &context(&id))),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_connection(&stored).await?;
        shown(&stored)
    }

    /// Replaces a connection's name and settings; its credential only when one is given. A
    /// change of kind needs a new credential.
    pub async fn update(&self, id_or_name: &str, input: &ConnectionInput) -> Result<Connection, ConnectionError> {
        let current = self.store.connection(id_or_name).await?;
        // The stored credential goes only where it went before: a new destination or account
        // needs the credential again (else an admin could send it to a server of their own).
        let moves = serde_json::from_str::<Settings>(&current.settings)
            .map_or(true, |before| before.destination() != input.settings.destination());
        check(input, moves || current.secret_sealed.is_none())?;
        let stored = StoredConnection {
            name: input.name.trim().to_owned(),
            kind: input.settings.kind().to_owned(),
            settings: settings_json(&input.settings),
            secret_sealed: input.secret.as_deref().map(|s| self.key.seal(s, &context(&current.id))),
            updated_at: self.clock.now(),
            ..current
        };
        self.store.update_connection(&stored).await?;
        shown(&self.store.connection(&stored.id).await?)
    }

    pub async fn delete(&self, id_or_name: &str) -> Result<(), ConnectionError> {
        let current = self.store.connection(id_or_name).await?;
        Ok(self.store.delete_connection(&current.id).await?)
    }

    pub async fn list(&self) -> Result<Vec<Connection>, ConnectionError> {
        self.store.connections().await?.iter().map(shown).collect()
    }

    pub async fn get(&self, id_or_name: &str) -> Result<Connection, ConnectionError> {
        shown(&self.store.connection(id_or_name).await?)
    }

    /// The connection opened for use, credential included.
    pub async fn open(&self, id_or_name: &str) -> Result<(Connection, Target), ConnectionError> {
        let stored = self.store.connection(id_or_name).await?;
        let secret = match &stored.secret_sealed {
            None => None,
            Some(sealed) => Some(self.key.open(sealed, &context(&stored.id)).map_err(|e| {
                ConnectionError::Conflict(format!(
                    "the credential of connection `{}` cannot be opened ({e}); was the installation's key changed? \
                     set the secret again",
                    stored.name
                ))
            })?),
        };
        let connection = shown(&stored)?;
        let target = Target { settings: connection.settings.clone(), secret };
        Ok((connection, target))
    }

    /// "Test connection": a harmless call that needs the credential to succeed.
    pub async fn test(&self, id_or_name: &str) -> Result<TestResult, ConnectionError> {
        let (_, target) = self.open(id_or_name).await?;
        let outcome = match &target.settings {
            Settings::SlackWebhook | Settings::SlackBot { .. } => crate::slack::test(&self.client, &target).await,
            Settings::Confluence { .. } => crate::confluence::test(&self.client, &target).await,
            Settings::Jira { .. } => crate::jira::test(&self.client, &target).await,
            Settings::Smtp { .. } => crate::email::test(&self.client, &target).await,
            Settings::Local => Ok("the local connection stores what it is given in ucm's database".to_owned()),
        };
        Ok(match outcome {
            Ok(message) => TestResult { ok: true, message, retryable: None, field: None },
            Err(e) => TestResult { ok: false, message: e.message, retryable: Some(e.retryable), field: e.field },
        })
    }
}

fn settings_json(settings: &Settings) -> String {
    serde_json::to_string(settings).unwrap_or_default()
}

fn shown(stored: &StoredConnection) -> Result<Connection, ConnectionError> {
    let settings: Settings = serde_json::from_str(&stored.settings)
        .map_err(|e| ConnectionError::Store(StoreError::Other(format!("connection `{}`: {e}", stored.name))))?;
    Ok(Connection {
        id: stored.id.clone(),
        name: stored.name.clone(),
        settings,
        has_secret: stored.secret_sealed.is_some(),
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    })
}

/// Every problem with an input, each on its field.
fn check(input: &ConnectionInput, secret_required: bool) -> Result<(), ConnectionError> {
    let mut problems = Vec::new();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        problems.push(FieldProblem::new(
            "name",
            &input.name,
            format!("a name of 1 to {MAX_NAME_CHARS} characters, without control characters"),
        ));
    }
    let url = |field: &str, value: &str, problems: &mut Vec<FieldProblem>| {
        if !(value.starts_with("https://") || value.starts_with("http://")) || value.contains(char::is_whitespace) {
            problems.push(FieldProblem::new(field, value, "an http:// or https:// address"));
        }
    };
    match &input.settings {
        Settings::SlackWebhook | Settings::Local => {}
        Settings::SlackBot { api_url, default_channel } => {
            url("apiUrl", api_url, &mut problems);
            if default_channel.contains(char::is_whitespace) {
                problems.push(FieldProblem::new("defaultChannel", default_channel, "a channel id or #name"));
            }
        }
        Settings::Smtp { host, port, security, username: _, from } => {
            if host.trim().is_empty() || host.contains(char::is_whitespace) || host.contains('/') {
                problems.push(FieldProblem::new("host", host, "the SMTP server's name or address"));
            }
            if *port == 0 {
                problems.push(FieldProblem::new("port", port.to_string(), "587 (STARTTLS), 465 (TLS) or 25"));
            }
            if *security == crate::email::SmtpSecurity::None && !crate::email::is_local_host(host) {
                problems.push(FieldProblem::new(
                    "security",
                    "none",
                    "plain SMTP only to localhost; use starttls or tls",
                ));
            }
            if from.parse::<lettre::message::Mailbox>().is_err() {
                problems.push(FieldProblem::new("from", from, "the sender: `Name <address>` or an address"));
            }
        }
        Settings::Confluence { site, email } | Settings::Jira { site, email } => {
            url("site", site, &mut problems);
            // API tokens travel in every request: over TLS, except to this machine (tests).
            let host = site.trim().trim_start_matches("http://").split(['/', ':']).next().unwrap_or_default();
            if site.trim().starts_with("http://") && !crate::email::is_local_host(host) {
                problems.push(FieldProblem::new(
                    "site",
                    site,
                    "an https:// address (the API token must not travel in clear)",
                ));
            }
            if !email.contains('@') || email.contains(char::is_whitespace) {
                problems.push(FieldProblem::new("email", email, "the email address of the Atlassian account"));
            }
        }
    }
    match &input.secret {
        None if secret_required && input.settings.needs_secret() => {
            problems.push(FieldProblem::new(
                "secret",
                "",
                format!("a {} connection needs its credential", input.settings.kind()),
            ));
        }
        Some(secret)
            if secret.is_empty()
                || secret.chars().count() > MAX_SECRET_CHARS
                || secret.chars().any(char::is_control) =>
        {
            problems.push(FieldProblem::new(
                "secret",
                "***",
                format!("1 to {MAX_SECRET_CHARS} characters, without control characters"),
            ));
        }
        Some(secret)
            if matches!(input.settings, Settings::SlackWebhook)
                && !secret.starts_with("https://")
                && !secret.starts_with("http://") =>
        {
            problems.push(FieldProblem::new(
                "secret",
                "***",
                "the incoming webhook's URL (https://hooks.slack.com/services/…)",
            ));
        }
        _ => {}
    }
    if problems.is_empty() { Ok(()) } else { Err(ConnectionError::Invalid(problems)) }
}
