//! The agent's read-only tools (PRODUCT §8): `search-users`, `search-task-results`,
//! `license-health` and `notification-settings`. Each takes a JSON object and answers one,
//! both described by a JSON Schema ([`ToolName::input_schema`], [`ToolName::output_schema`]),
//! and every answer carries a `deepLink` into the web UI.
//!
//! The tools read through a [`ReadOnlyStore`]: it has no write method, and its database
//! connections refuse writes. Nothing here can change anything, whoever calls it.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use model::apikey::{ApiKeyRole, KeyState};
use model::clock::Clock;
use model::directory::{Catalog, UserView};
use model::filter::{FieldProblem, PageRequest, UserFilter};
use model::ids::{AccountId, ApiKeyId, AppKey, ProcessId, SiteId, TaskId};
use model::run::{RunOutcome, RunOverview, RunRecord};
use model::webhook::Trigger;
use serde::{Deserialize, Serialize};
use store::{ReadOnlyStore, RunQuery, StoreError};
use utoipa::ToSchema;

use crate::schema::json_schema;

/// The most `userChanges` one `search-task-results` answer holds.
pub const MAX_USER_CHANGES: u32 = 1_000;
/// `userChanges` per answer when the caller does not say.
pub const DEFAULT_USER_CHANGES: u32 = 100;
/// The most runs one list holds.
pub const MAX_RUNS: u32 = 500;
/// Runs per list when the caller does not say.
pub const DEFAULT_RUNS: u32 = 20;
/// The inactivity threshold of `license-health` when the caller does not say.
pub const DEFAULT_INACTIVE_DAYS: u32 = 30;
/// The longest inactivity threshold accepted (ten years).
pub const MAX_INACTIVE_DAYS: u32 = 3_650;

/// One of the tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolName {
    SearchUsers,
    SearchTaskResults,
    LicenseHealth,
    NotificationSettings,
}

impl ToolName {
    pub const ALL: [ToolName; 4] =
        [Self::SearchUsers, Self::SearchTaskResults, Self::LicenseHealth, Self::NotificationSettings];

    /// The wire name (`search-users`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SearchUsers => "search-users",
            Self::SearchTaskResults => "search-task-results",
            Self::LicenseHealth => "license-health",
            Self::NotificationSettings => "notification-settings",
        }
    }

    /// The tool called `name`; an unknown name is an error with the closest names.
    pub fn parse(name: &str) -> Result<Self, ToolError> {
        Self::ALL.into_iter().find(|t| t.as_str() == name).ok_or_else(|| ToolError::UnknownTool {
            name: name.to_owned(),
            suggestions: model::suggest::closest_or_all(name, Self::ALL.iter().map(|t| t.as_str()), 3),
        })
    }

    /// A short title for people.
    pub fn title(self) -> &'static str {
        match self {
            Self::SearchUsers => "Search users",
            Self::SearchTaskResults => "Search task results",
            Self::LicenseHealth => "License health",
            Self::NotificationSettings => "Notification settings",
        }
    }

    /// What the tool does, for people and models choosing a tool.
    pub fn description(self) -> &'static str {
        match self {
            Self::SearchUsers => {
                "Find users in the directory with the User Browser's filters. Apps, groups and sites may be \
                 given by name (apps also by alias such as JSM), in any case. Answers one page of users, the \
                 total, the filters as understood, any names that matched nothing (with suggestions; then no \
                 search runs) and a link to the User Browser with the same filters."
            }
            Self::SearchTaskResults => {
                "Read run results. With processId: that run's record (summary, outcome and one page of \
                 per-user changes; pass nextCursor as cursor for the next page). Without: recent runs, newest \
                 first, filtered by task (id or name), user (account id or email: the runs that changed or \
                 failed to change that user), outcome and time range, each with its summary."
            }
            Self::LicenseHealth => {
                "Seats per app and site: billable users with access (active or invited accounts), how many \
                 of them used the app within the inactivity threshold, how many did not, and a User Browser \
                 link to the inactive ones."
            }
            Self::NotificationSettings => {
                "API keys (name, role, expiry, state) and webhook subscriptions (triggers, enabled, last \
                 delivery), with the items that need attention spelled out."
            }
        }
    }

    /// The JSON Schema of the tool's arguments.
    pub fn input_schema(self) -> serde_json::Value {
        match self {
            Self::SearchUsers => json_schema::<SearchUsersInput>(),
            Self::SearchTaskResults => json_schema::<SearchTaskResultsInput>(),
            Self::LicenseHealth => json_schema::<LicenseHealthInput>(),
            Self::NotificationSettings => json_schema::<NotificationSettingsInput>(),
        }
    }

    /// The JSON Schema of the tool's answer.
    pub fn output_schema(self) -> serde_json::Value {
        match self {
            Self::SearchUsers => json_schema::<SearchUsersOutput>(),
            Self::SearchTaskResults => json_schema::<SearchTaskResultsOutput>(),
            Self::LicenseHealth => json_schema::<LicenseHealthOutput>(),
            Self::NotificationSettings => json_schema::<NotificationSettingsOutput>(),
        }
    }
}

impl std::fmt::Display for ToolName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a tool gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("there is no tool `{name}`{}", did_you_mean(suggestions))]
    UnknownTool { name: String, suggestions: Vec<String> },
    /// The arguments are not what the input schema describes; every problem is listed.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldProblem>),
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ToolError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::NotFound(what),
            other => Self::Store(other),
        }
    }
}

fn did_you_mean(suggestions: &[String]) -> String {
    if suggestions.is_empty() { String::new() } else { format!(" (did you mean: {}?)", suggestions.join(", ")) }
}

fn invalid(field: &str, input: impl Into<String>, message: impl Into<String>) -> ToolError {
    ToolError::Invalid(vec![FieldProblem::new(field, input, message)])
}

/// The longest text accepted in a single-valued argument (an id, a name, an instant, a cursor).
pub const MAX_ARGUMENT_CHARS: usize = model::filter::MAX_VALUE_CHARS;

/// Every argument longer than [`MAX_ARGUMENT_CHARS`], as problems.
fn too_long<'a>(arguments: impl IntoIterator<Item = (&'a str, Option<&'a String>)>) -> Vec<FieldProblem> {
    arguments
        .into_iter()
        .filter_map(|(field, value)| {
            let value = value?;
            (value.chars().count() > MAX_ARGUMENT_CHARS).then(|| {
                let shown: String = value.chars().take(40).collect();
                FieldProblem::new(field, format!("{shown}…"), format!("at most {MAX_ARGUMENT_CHARS} characters"))
            })
        })
        .collect()
}

/// Names that match nothing are part of an answer (with suggestions); any other problem with
/// the criteria (too long, too many values) is an error.
fn split_unmatched(error: model::filter::FilterError) -> Result<Vec<FieldProblem>, ToolError> {
    if error.0.iter().all(FieldProblem::is_unknown_name) { Ok(error.0) } else { Err(ToolError::Invalid(error.0)) }
}

// ----- search-users -----

/// `search-users` arguments: the User Browser's criteria (AND between criteria, OR inside a
/// list, exclusions subtract) and a page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchUsersInput {
    /// Substring of the display name or email, ignoring case.
    #[serde(default)]
    pub q: Option<String>,
    /// Not active for at least this many days (with `apps`: in those apps).
    #[serde(default)]
    pub inactive_days: Option<u32>,
    /// Has access to any of these apps (key, display name or alias such as `JSM`).
    #[serde(default)]
    pub apps: Vec<String>,
    /// Has access to none of these apps.
    #[serde(default)]
    pub not_apps: Vec<String>,
    /// Holds any of these roles (`orgAdmin`, `productAdmin`, `userAccessAdmin`, `siteAdmin`, `user`, `guest`, `customer`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Member of any of these groups (id or name).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Member of none of these groups (id or name).
    #[serde(default)]
    pub exclude_groups: Vec<String>,
    /// On this site (id, name or URL); app criteria then look at this site only.
    #[serde(default)]
    pub site: Option<String>,
    /// Email domain is any of these (`example.com`).
    #[serde(default)]
    pub email_domains: Vec<String>,
    /// Status is any of these (`active`, `suspended`, `deactivated`, `invited`, `notInvited`, `closed`).
    #[serde(default)]
    pub statuses: Vec<String>,
    /// 1-based page number (default 1).
    #[serde(default)]
    pub page: Option<u32>,
    /// 10, 20 (default), 50, 100 or 200.
    #[serde(default)]
    #[schema(minimum = 10, maximum = 200)]
    pub page_size: Option<u32>,
}

impl SearchUsersInput {
    fn filter(&self) -> UserFilter {
        UserFilter {
            q: self.q.clone(),
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

/// A user found, with a link to the User Browser filtered to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FoundUser {
    #[serde(flatten)]
    pub user: UserView,
    pub user_browser_url: String,
}

/// `search-users` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchUsersOutput {
    pub users: Vec<FoundUser>,
    /// Users matching in all, across pages.
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
    pub page_count: u64,
    /// The criteria as understood, with names (apps by display name, groups and sites by name).
    pub filter: UserFilter,
    /// Names that matched nothing, with the closest known names. When there are any, no search
    /// ran (`users` is empty): a misspelt group must not silently widen or empty the result.
    pub unmatched: Vec<FieldProblem>,
    /// The User Browser with the same criteria.
    pub deep_link: String,
}

// ----- search-task-results -----

/// `search-task-results` arguments: one run by `processId`, or a list of recent runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchTaskResultsInput {
    /// The run to read. The other filters do not apply with it.
    #[serde(default)]
    pub process_id: Option<String>,
    /// With `processId`: the `nextCursor` of the previous answer.
    #[serde(default)]
    pub cursor: Option<String>,
    /// With `processId`: `userChanges` per answer (default 100, at most 1000). Otherwise: runs
    /// per list (default 20, at most 500).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Runs of this task (id or name, any case).
    #[serde(default)]
    pub task: Option<String>,
    /// Runs that changed, or failed to change, this user (account id or email).
    #[serde(default)]
    pub user: Option<String>,
    /// Runs with this outcome.
    #[serde(default)]
    pub outcome: Option<RunOutcome>,
    /// Runs started at or after this instant (RFC 3339).
    #[serde(default)]
    pub since: Option<String>,
    /// Runs started before this instant (RFC 3339).
    #[serde(default)]
    pub until: Option<String>,
}

/// A list of runs, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunList {
    pub runs: Vec<RunOverview>,
    /// The Automated Tasks view (of the task, when the list is of one task).
    pub deep_link: String,
}

/// `search-task-results` answer: a run's record (PRODUCT §5, the same as the REST API's), or a
/// list of runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SearchTaskResultsOutput {
    Record(Box<RunRecord>),
    Runs(RunList),
}

// ----- license-health -----

/// `license-health` arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LicenseHealthInput {
    /// A seat is inactive when its user has not used the app for at least this many days
    /// (default 30; a user who never used it counts from their creation).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub inactive_days: Option<u32>,
    /// Only these apps (key, display name or alias).
    #[serde(default)]
    pub apps: Vec<String>,
    /// Only this site (id, name or URL).
    #[serde(default)]
    pub site: Option<String>,
}

/// Seats of one app on one site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppSeats {
    #[schema(value_type = String)]
    pub app_type: AppKey,
    pub app_name: String,
    #[schema(value_type = String)]
    pub site_id: SiteId,
    pub site_name: String,
    /// Billable users with access (active or invited accounts).
    pub billable: u64,
    /// Of those, users who used the app within the threshold.
    pub active: u64,
    /// Of those, users who did not.
    pub inactive: u64,
    /// `inactive` as a percentage of `billable`, one decimal.
    pub inactive_percent: f64,
    /// The User Browser showing exactly the inactive users of this app on this site.
    pub inactive_users_url: String,
}

/// Seats summed over the apps and sites listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatTotals {
    pub billable: u64,
    pub active: u64,
    pub inactive: u64,
}

/// `license-health` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseHealthOutput {
    pub inactive_days: u32,
    /// Activity at or before this instant is inactivity.
    #[schema(value_type = String, format = DateTime)]
    pub inactive_since: Timestamp,
    /// One entry per app and site with billable seats, apps in the catalog's order, sites by name.
    pub seats: Vec<AppSeats>,
    pub totals: SeatTotals,
    /// Names that matched nothing, with suggestions; when there are any, nothing was counted.
    pub unmatched: Vec<FieldProblem>,
    /// The dashboard.
    pub deep_link: String,
}

// ----- notification-settings -----

/// `notification-settings` takes no arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettingsInput {}

/// An API key's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyHealth {
    #[schema(value_type = String)]
    pub api_key_id: ApiKeyId,
    pub name: String,
    pub role: ApiKeyRole,
    pub state: KeyState,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// Whole days until expiry (negative once expired).
    pub days_left: i64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
}

/// The latest delivery of a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastDelivery {
    pub event: Trigger,
    /// `pending`, `in_flight`, `retrying`, `succeeded` or `dead`.
    pub state: String,
    pub attempts: u32,
    #[schema(value_type = String, format = DateTime)]
    pub queued_at: Timestamp,
    /// The last attempt's HTTP status, if it got an answer.
    pub last_status: Option<u16>,
    /// The last attempt's error, if it got no answer.
    pub last_error: Option<String>,
}

/// A webhook subscription's health. The URL is shown as its origin only: a receiver's path
/// may hold a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookHealth {
    pub id: String,
    pub name: String,
    /// `https://host[:port]` of the receiver.
    pub origin: String,
    pub triggers: Vec<Trigger>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub last_delivery: Option<LastDelivery>,
    /// Deliveries that gave up (`dead`) among the latest hundred.
    pub dead_deliveries: u32,
    /// The subscription's delivery log in the web UI.
    pub delivery_log_url: String,
}

/// `notification-settings` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationSettingsOutput {
    pub api_keys: Vec<KeyHealth>,
    pub webhooks: Vec<WebhookHealth>,
    /// What needs attention, one sentence each (empty when nothing does).
    pub attention: Vec<String>,
    /// Notification Settings in the web UI.
    pub deep_link: String,
}

/// A tool's answer. It serializes as the answer itself (in its fields' order), as its tool's
/// output schema describes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ToolAnswer {
    SearchUsers(SearchUsersOutput),
    SearchTaskResults(SearchTaskResultsOutput),
    LicenseHealth(LicenseHealthOutput),
    NotificationSettings(NotificationSettingsOutput),
}

impl ToolAnswer {
    /// The answer as a JSON value.
    pub fn to_json(&self) -> serde_json::Value {
        // The answers are plain data (strings, numbers, lists): serializing them cannot fail.
        serde_json::to_value(self).unwrap_or_default()
    }
}

// ----- the tools -----

/// The tools over one database, telling time by one clock, linking to one web UI.
#[derive(Debug, Clone)]
pub struct Tools {
    store: ReadOnlyStore,
    clock: Arc<dyn Clock>,
    public_url: String,
}

impl Tools {
    pub fn new(store: ReadOnlyStore, clock: Arc<dyn Clock>, public_url: &str) -> Self {
        Self { store, clock, public_url: public_url.trim_end_matches('/').to_owned() }
    }

    /// The instant by the tools' clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Calls the tool `name` with JSON `arguments` (an object; `null` means none).
    pub async fn call(&self, name: ToolName, arguments: serde_json::Value) -> Result<ToolAnswer, ToolError> {
        let arguments = if arguments.is_null() { serde_json::json!({}) } else { arguments };
        Ok(match name {
            ToolName::SearchUsers => ToolAnswer::SearchUsers(self.search_users(&parse_input(arguments)?).await?),
            ToolName::SearchTaskResults => {
                ToolAnswer::SearchTaskResults(self.search_task_results(&parse_input(arguments)?).await?)
            }
            ToolName::LicenseHealth => ToolAnswer::LicenseHealth(self.license_health(&parse_input(arguments)?).await?),
            ToolName::NotificationSettings => {
                let _: NotificationSettingsInput = parse_input(arguments)?;
                ToolAnswer::NotificationSettings(self.notification_settings().await?)
            }
        })
    }

    /// `search-users`.
    pub async fn search_users(&self, input: &SearchUsersInput) -> Result<SearchUsersOutput, ToolError> {
        let page = PageRequest {
            page: input.page.unwrap_or(1),
            page_size: input.page_size.unwrap_or(model::filter::DEFAULT_PAGE_SIZE),
            ..PageRequest::default()
        };
        page.validate().map_err(|e| ToolError::Invalid(e.0))?;
        let filter = input.filter();
        let catalog = self.store.catalog().await?;
        let resolved = match filter.resolve(&catalog) {
            Ok(resolved) => resolved,
            Err(error) => {
                let unmatched = split_unmatched(error)?;
                return Ok(SearchUsersOutput {
                    users: vec![],
                    total: 0,
                    page: page.page,
                    page_size: page.page_size,
                    page_count: 0,
                    deep_link: model::webhook::user_browser_filter_url(&self.public_url, &filter),
                    filter,
                    unmatched,
                });
            }
        };
        let found = self.store.query_users(&resolved, &page, self.clock.now()).await?;
        let users = found
            .users
            .iter()
            .map(|user| FoundUser {
                user_browser_url: model::webhook::user_browser_url(&self.public_url, user.account_id.as_str()),
                user: user.view(&catalog),
            })
            .collect();
        Ok(SearchUsersOutput {
            users,
            total: found.total,
            page: page.page,
            page_size: page.page_size,
            page_count: found.total.div_ceil(u64::from(page.page_size)),
            // Ids, not names, in the link: names may hold commas and may be renamed.
            deep_link: model::webhook::user_browser_filter_url(&self.public_url, &resolved.to_canonical()),
            filter: resolved.to_display(&catalog),
            unmatched: vec![],
        })
    }

    /// `search-task-results`.
    pub async fn search_task_results(
        &self,
        input: &SearchTaskResultsInput,
    ) -> Result<SearchTaskResultsOutput, ToolError> {
        let long = too_long([
            ("processId", input.process_id.as_ref()),
            ("cursor", input.cursor.as_ref()),
            ("task", input.task.as_ref()),
            ("user", input.user.as_ref()),
            ("since", input.since.as_ref()),
            ("until", input.until.as_ref()),
        ]);
        if !long.is_empty() {
            return Err(ToolError::Invalid(long));
        }
        let max = if input.process_id.is_some() { MAX_USER_CHANGES } else { MAX_RUNS };
        if let Some(limit) = input.limit
            && !(1..=max).contains(&limit)
        {
            return Err(invalid("limit", limit.to_string(), format!("give a number from 1 to {max}")));
        }
        if let Some(process_id) = &input.process_id {
            let limit = input.limit.unwrap_or(DEFAULT_USER_CHANGES);
            let record =
                self.run_record(&ProcessId(process_id.trim().to_owned()), input.cursor.as_deref(), limit).await?;
            return Ok(SearchTaskResultsOutput::Record(Box::new(record)));
        }
        if input.cursor.is_some() {
            return Err(invalid("cursor", "", "a cursor pages one run's userChanges: give processId too"));
        }
        let mut problems = Vec::new();
        let task_id = match &input.task {
            Some(task) => match self.task_id(task).await? {
                Ok(id) => Some(id),
                Err(problem) => {
                    problems.push(problem);
                    None
                }
            },
            None => None,
        };
        let account_id = match &input.user {
            Some(user) => match self.account_id(user).await? {
                Ok(id) => Some(id),
                Err(problem) => {
                    problems.push(problem);
                    None
                }
            },
            None => None,
        };
        let mut instant = |field: &str, text: &Option<String>| {
            text.as_deref().and_then(|text| match text.trim().parse::<Timestamp>() {
                Ok(at) => Some(at),
                Err(_) => {
                    problems.push(FieldProblem::new(field, text, "not an RFC 3339 instant (2026-11-28T05:10:00Z)"));
                    None
                }
            })
        };
        let since = instant("since", &input.since);
        let until = instant("until", &input.until);
        if !problems.is_empty() {
            return Err(ToolError::Invalid(problems));
        }
        let query = RunQuery {
            task_id: task_id.clone(),
            account_id,
            outcome: input.outcome,
            since,
            until,
            limit: input.limit.unwrap_or(DEFAULT_RUNS),
        };
        let runs = self.store.runs(&query).await?.into_iter().map(|run| run.overview(&self.public_url)).collect();
        let deep_link = match &task_id {
            Some(task) => format!("{}/tasks?taskId={}", self.public_url, task.as_str()),
            None => format!("{}/tasks", self.public_url),
        };
        Ok(SearchTaskResultsOutput::Runs(RunList { runs, deep_link }))
    }

    /// One run's record with one page of `userChanges` (after `cursor`, at most `limit`).
    pub async fn run_record(&self, id: &ProcessId, cursor: Option<&str>, limit: u32) -> Result<RunRecord, ToolError> {
        Ok(self.store.run_record(id, cursor, limit, &self.public_url).await?)
    }

    /// One run's record with every user change up to `max_users` (`nextCursor` says where it
    /// stopped if there are more): what the formats render.
    pub async fn full_record(&self, id: &ProcessId, max_users: usize) -> Result<RunRecord, ToolError> {
        let mut record = self.run_record(id, None, MAX_USER_CHANGES).await?;
        while record.user_changes.len() < max_users
            && let Some(cursor) = record.next_cursor.take()
        {
            let page = self.run_record(id, Some(&cursor), MAX_USER_CHANGES).await?;
            record.user_changes.extend(page.user_changes);
            record.next_cursor = page.next_cursor;
        }
        Ok(record)
    }

    /// The task `input` names (id, or name in any case); a problem with suggestions if none.
    async fn task_id(&self, input: &str) -> Result<Result<TaskId, FieldProblem>, ToolError> {
        let tasks = self.store.tasks().await?;
        let wanted = input.trim();
        if let Some(task) =
            tasks.iter().find(|t| t.task_id.as_str() == wanted || t.name.to_lowercase() == wanted.to_lowercase())
        {
            return Ok(Ok(task.task_id.clone()));
        }
        Ok(Err(FieldProblem {
            suggestions: model::suggest::closest_or_all(wanted, tasks.iter().map(|t| t.name.as_str()), 3),
            ..FieldProblem::new("task", input, "no task has this id or name")
        }))
    }

    /// The account `input` names: an email (any case) of a user in the directory, or else an
    /// account id taken as it is (runs keep results of accounts since removed).
    async fn account_id(&self, input: &str) -> Result<Result<AccountId, FieldProblem>, ToolError> {
        let wanted = input.trim();
        if !wanted.contains('@') {
            return Ok(Ok(AccountId(wanted.to_owned())));
        }
        Ok(self
            .store
            .account_id_by_email(wanted)
            .await?
            .ok_or_else(|| FieldProblem::new("user", input, "no user has this email")))
    }

    /// `license-health`.
    pub async fn license_health(&self, input: &LicenseHealthInput) -> Result<LicenseHealthOutput, ToolError> {
        let days = input.inactive_days.unwrap_or(DEFAULT_INACTIVE_DAYS);
        if !(1..=MAX_INACTIVE_DAYS).contains(&days) {
            return Err(invalid(
                "inactiveDays",
                days.to_string(),
                format!("give a number of days from 1 to {MAX_INACTIVE_DAYS}"),
            ));
        }
        let now = self.clock.now();
        let inactive_since =
            now.checked_sub(SignedDuration::from_hours(24 * i64::from(days))).unwrap_or(Timestamp::MIN);
        let deep_link = format!("{}/", self.public_url);
        let catalog = self.store.catalog().await?;
        let scope = UserFilter { apps: input.apps.clone(), site: input.site.clone(), ..UserFilter::default() };
        let scope = match scope.resolve(&catalog) {
            Ok(scope) => scope,
            Err(error) => {
                let unmatched = split_unmatched(error)?;
                return Ok(LicenseHealthOutput {
                    inactive_days: days,
                    inactive_since,
                    seats: vec![],
                    totals: SeatTotals { billable: 0, active: 0, inactive: 0 },
                    unmatched,
                    deep_link,
                });
            }
        };
        let counts = self.store.license_counts(inactive_since).await?;
        let mut seats: Vec<AppSeats> = counts
            .into_iter()
            .filter(|c| scope.apps.is_empty() || scope.apps.contains(&c.app_type))
            .filter(|c| scope.site.as_ref().is_none_or(|site| *site == c.site_id))
            .map(|c| self.app_seats(&catalog, days, c))
            .collect();
        // The catalog's order of apps (Jira first), then sites by name.
        let position = |key: &AppKey| catalog.apps.iter().position(|a| a.app_type == *key).unwrap_or(usize::MAX);
        seats.sort_by(|a, b| {
            (position(&a.app_type), a.site_name.to_lowercase())
                .cmp(&(position(&b.app_type), b.site_name.to_lowercase()))
        });
        let totals = SeatTotals {
            billable: seats.iter().map(|s| s.billable).sum(),
            active: seats.iter().map(|s| s.active).sum(),
            inactive: seats.iter().map(|s| s.inactive).sum(),
        };
        Ok(LicenseHealthOutput { inactive_days: days, inactive_since, seats, totals, unmatched: vec![], deep_link })
    }

    fn app_seats(&self, catalog: &Catalog, days: u32, count: store::LicenseCount) -> AppSeats {
        let inactive_users = UserFilter {
            apps: vec![count.app_type.0.clone()],
            site: Some(count.site_id.0.clone()),
            inactive_days: Some(days),
            statuses: store::BILLABLE_STATUSES.iter().map(|s| (*s).to_owned()).collect(),
            ..UserFilter::default()
        };
        let inactive_percent = if count.billable == 0 {
            0.0
        } else {
            // Counts of users are far below 2^52: the conversion is exact.
            #[allow(clippy::cast_precision_loss)]
            let share = count.inactive as f64 * 100.0 / count.billable as f64;
            (share * 10.0).round() / 10.0
        };
        AppSeats {
            app_name: catalog
                .app(count.app_type.as_str())
                .map_or_else(|| count.app_type.0.clone(), |a| a.display_name.clone()),
            site_name: catalog.site(count.site_id.as_str()).map_or_else(|| count.site_id.0.clone(), |s| s.name.clone()),
            inactive_users_url: model::webhook::user_browser_filter_url(&self.public_url, &inactive_users),
            active: count.billable - count.inactive,
            billable: count.billable,
            inactive: count.inactive,
            inactive_percent,
            app_type: count.app_type,
            site_id: count.site_id,
        }
    }

    /// `notification-settings`.
    pub async fn notification_settings(&self) -> Result<NotificationSettingsOutput, ToolError> {
        let now = self.clock.now();
        let mut attention = Vec::new();
        let mut api_keys = Vec::new();
        for key in self.store.api_keys().await? {
            let state = key.state(now);
            // Whole days, rounded down: a key that expired a minute ago has -1 left.
            let days_left = key.expires_at.duration_since(now).as_secs().div_euclid(86_400);
            match state {
                KeyState::Expired => {
                    attention.push(format!("API key `{}` expired on {}.", key.name, day(key.expires_at)))
                }
                KeyState::ExpiringSoon => attention.push(format!(
                    "API key `{}` expires on {} ({}).",
                    key.name,
                    day(key.expires_at),
                    in_days(days_left)
                )),
                KeyState::Active | KeyState::Revoked => {}
            }
            api_keys.push(KeyHealth {
                api_key_id: key.api_key_id,
                name: key.name,
                role: key.role,
                state,
                expires_at: key.expires_at,
                days_left,
                last_used_at: key.last_used_at,
            });
        }
        let mut webhooks = Vec::new();
        for subscription in self.store.webhook_subscriptions().await? {
            let latest = self.store.deliveries_of_subscription(&subscription.id, None, 100).await?;
            let dead_deliveries =
                u32::try_from(latest.iter().filter(|d| d.state == "dead").count()).unwrap_or(u32::MAX);
            let last_delivery = latest.first().map(|d| LastDelivery {
                event: d.event,
                state: d.state.clone(),
                attempts: d.attempts,
                queued_at: d.created_at,
                last_status: d.last_status,
                last_error: d.last_error.clone(),
            });
            let name = &subscription.name;
            if !subscription.enabled {
                let why = subscription.disabled_reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
                attention.push(format!("Webhook `{name}` is disabled{why}."));
            }
            match last_delivery.as_ref().map(|d| d.state.as_str()) {
                Some("dead") => attention.push(format!("Webhook `{name}`: the latest delivery gave up.")),
                Some("retrying") => attention.push(format!("Webhook `{name}`: the latest delivery is being retried.")),
                _ if dead_deliveries > 0 => {
                    attention.push(format!("Webhook `{name}`: {dead_deliveries} of the latest deliveries gave up."))
                }
                _ => {}
            }
            webhooks.push(WebhookHealth {
                delivery_log_url: format!("{}/settings/webhooks?subscriptionId={}", self.public_url, subscription.id),
                origin: origin(&subscription.url),
                id: subscription.id,
                name: subscription.name,
                triggers: subscription.triggers,
                enabled: subscription.enabled,
                disabled_reason: subscription.disabled_reason,
                last_delivery,
                dead_deliveries,
            });
        }
        Ok(NotificationSettingsOutput {
            api_keys,
            webhooks,
            attention,
            deep_link: format!("{}/settings", self.public_url),
        })
    }
}

fn parse_input<T: serde::de::DeserializeOwned>(arguments: serde_json::Value) -> Result<T, ToolError> {
    if !arguments.is_object() {
        return Err(invalid("arguments", arguments.to_string(), "the arguments must be a JSON object"));
    }
    serde_path_to_error::deserialize(arguments).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { "arguments".to_owned() } else { field };
        invalid(&field, "", e.inner().to_string())
    })
}

fn day(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d").to_string()
}

fn in_days(days: i64) -> String {
    match days {
        0 => "within a day".to_owned(),
        1 => "in 1 day".to_owned(),
        n => format!("in {n} days"),
    }
}

/// `scheme://host[:port]` of a URL, without user information or path.
pub fn origin(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return String::new() };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_drop_credentials_and_paths() {
        assert_eq!(origin("https://u:p@hooks.example.com:8443/a/secret?x=1"), "https://hooks.example.com:8443");
        assert_eq!(origin("http://127.0.0.1:8080/automation/webhooks/f/s3cret"), "http://127.0.0.1:8080");
        assert_eq!(origin("not a url"), "");
    }

    #[test]
    fn unknown_tools_are_named_with_suggestions() {
        let Err(ToolError::UnknownTool { suggestions, .. }) = ToolName::parse("search-user") else { panic!() };
        assert_eq!(suggestions[0], "search-users");
        for tool in ToolName::ALL {
            assert_eq!(ToolName::parse(tool.as_str()).ok(), Some(tool));
        }
    }
}
