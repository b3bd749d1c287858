//! Runs and their results (PRODUCT §4–§5): what each action would do to a user (the plan),
//! the rules a directory applies, and the record of what happened.
//!
//! A run plans each user's actions against the user as the directory shows them
//! ([`plan_user`]), hands the planned [`Op`]s to the directory, and turns the directory's
//! answers into a [`UserResult`] ([`UserPlan::finish`]). A preview stops after planning.

use std::collections::{BTreeSet, HashSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::directory::{Catalog, Role, User, UserStatus};
use crate::ids::{AccountId, AppKey, GroupId, ProcessId, SiteId, TaskId};
use crate::task::{Action, ActionType};

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum RunSource {
    AutomatedTask,
    BulkOperation,
}

impl RunSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AutomatedTask => "automatedTask",
            Self::BulkOperation => "bulkOperation",
        }
    }
}

/// Who started a run: the scheduler, or a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum RunTrigger {
    Schedule,
    Manual,
}

impl RunTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Manual => "manual",
        }
    }
}

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum RunState {
    /// Changing users now.
    Running,
    /// Stopped before changing anything: over the execution limit, waiting for an administrator.
    Quarantined,
    /// Done: `outcome` says how.
    Finished,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Quarantined => "quarantined",
            Self::Finished => "finished",
        }
    }
}

/// How a run ended (PRODUCT §4). `success` allows failed items; `failure` means the run itself
/// broke. `quarantined` waits for approval; `rejected` is a quarantined run an administrator
/// turned down (nothing changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum RunOutcome {
    Success,
    Failure,
    Quarantined,
    Rejected,
}

impl RunOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Quarantined => "quarantined",
            Self::Rejected => "rejected",
        }
    }
}

/// The outcome of one (user, action, target) item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ItemOutcome {
    Changed,
    /// Already so: nothing to do.
    Unchanged,
    Failed,
    /// Not attempted (organization admins).
    Skipped,
}

/// What an item acted on, with names as they were at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Target {
    #[serde(rename_all = "camelCase")]
    Group { group_id: GroupId, name: String },
    #[serde(rename_all = "camelCase")]
    App { app_type: AppKey, app_name: String, site_id: SiteId, site_name: String },
    /// `removeAppAccess` with `all: true` for a user with no app access at all.
    AllApps,
}

impl Target {
    /// The name a person reads.
    pub fn label(&self) -> String {
        match self {
            Self::Group { name, .. } => name.clone(),
            Self::App { app_name, site_name, .. } => format!("{app_name} on {site_name}"),
            Self::AllApps => "all apps".to_owned(),
        }
    }
}

/// One (user, action, target) outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub action_type: ActionType,
    /// `null` for actions on the user as a whole (suspend, restore, skipped).
    pub target: Option<Target>,
    pub outcome: ItemOutcome,
    /// Why it failed or was skipped, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Everything one run did to one user: the stored truth from which [`UserChange`] is derived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResult {
    pub account_id: AccountId,
    pub display_name: String,
    pub email: String,
    pub items: Vec<Item>,
}

/// A user's overall status in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ChangeStatus {
    /// At least one change, no failure.
    Updated,
    /// Changes and failures.
    Partial,
    /// Failures and no change.
    Failed,
    /// Nothing to do.
    Unchanged,
    /// Protected (organization admin): nothing attempted.
    Skipped,
}

impl ChangeStatus {
    /// The statuses of users listed in `userChanges`: a change or a failure.
    pub const CHANGES: [ChangeStatus; 3] = [Self::Updated, Self::Partial, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Updated => "updated",
            Self::Partial => "partial",
            Self::Failed => "failed",
            Self::Unchanged => "unchanged",
            Self::Skipped => "skipped",
        }
    }

    /// Whether the user appears in `userChanges` (a change or a failure).
    pub fn is_change(self) -> bool {
        matches!(self, Self::Updated | Self::Partial | Self::Failed)
    }
}

impl UserResult {
    /// The user's status, from their items.
    pub fn status(&self) -> ChangeStatus {
        let any = |o: ItemOutcome| self.items.iter().any(|i| i.outcome == o);
        match (any(ItemOutcome::Skipped), any(ItemOutcome::Changed), any(ItemOutcome::Failed)) {
            (true, _, _) => ChangeStatus::Skipped,
            (_, true, true) => ChangeStatus::Partial,
            (_, true, false) => ChangeStatus::Updated,
            (_, false, true) => ChangeStatus::Failed,
            _ => ChangeStatus::Unchanged,
        }
    }

    /// The PRODUCT §5 view of this user.
    pub fn change(&self, user_browser_url: String) -> UserChange {
        let changed =
            |t: ActionType| self.items.iter().filter(move |i| i.action_type == t && i.outcome == ItemOutcome::Changed);
        let groups = |t: ActionType| {
            changed(t)
                .filter_map(|i| match &i.target {
                    Some(Target::Group { group_id, name }) => {
                        Some(ChangedGroup { group_id: group_id.clone(), name: name.clone(), current_name: None })
                    }
                    _ => None,
                })
                .collect()
        };
        UserChange {
            account_id: self.account_id.clone(),
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            status: self.status(),
            groups_added: groups(ActionType::AddToGroups),
            groups_removed: groups(ActionType::RemoveFromGroups),
            app_access_removed: changed(ActionType::RemoveAppAccess)
                .filter_map(|i| match &i.target {
                    Some(Target::App { app_type, app_name, site_id, site_name }) => Some(AppAccessRef {
                        app_type: app_type.clone(),
                        app_name: app_name.clone(),
                        site_id: site_id.clone(),
                        site_name: site_name.clone(),
                        current_app_name: None,
                        current_site_name: None,
                    }),
                    _ => None,
                })
                .collect(),
            suspended: changed(ActionType::SuspendUsers).next().is_some(),
            restored: changed(ActionType::RestoreUsers).next().is_some(),
            failures: self
                .items
                .iter()
                .filter(|i| i.outcome == ItemOutcome::Failed)
                .map(|i| Failure {
                    action_type: i.action_type,
                    target: i.target.as_ref().map(Target::label),
                    reason: i.reason.clone().unwrap_or_default(),
                })
                .collect(),
            user_browser_url,
        }
    }
}

/// An app access removed, with names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppAccessRef {
    pub app_type: AppKey,
    /// The names as they were when the run happened.
    pub app_name: String,
    pub site_id: SiteId,
    pub site_name: String,
    /// The app's name now, when it differs from the snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_app_name: Option<String>,
    /// The site's name now, when it differs from the snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_site_name: Option<String>,
}

/// A group a run added the user to or removed them from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangedGroup {
    pub group_id: GroupId,
    /// The group's name when the run happened.
    pub name: String,
    /// Its name now, when it differs (renamed since); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_name: Option<String>,
}

/// A failed item, as people read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub action_type: ActionType,
    /// The group or app the action was about (its name), if any.
    pub target: Option<String>,
    pub reason: String,
}

/// One entry of `userChanges` (PRODUCT §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserChange {
    pub account_id: AccountId,
    pub display_name: String,
    pub email: String,
    pub status: ChangeStatus,
    pub groups_added: Vec<ChangedGroup>,
    pub groups_removed: Vec<ChangedGroup>,
    pub app_access_removed: Vec<AppAccessRef>,
    pub suspended: bool,
    pub restored: bool,
    pub failures: Vec<Failure>,
    pub user_browser_url: String,
}

impl UserChange {
    /// Adds the current names of groups, apps and sites that were renamed since the run (the
    /// record keeps the names of its time; PRODUCT §5 asks for both).
    pub fn add_current_names(&mut self, catalog: &Catalog) {
        let renamed = |then: &str, now: Option<&str>| now.filter(|n| *n != then).map(str::to_owned);
        for group in self.groups_added.iter_mut().chain(self.groups_removed.iter_mut()) {
            group.current_name = renamed(&group.name, catalog.group_by_id(&group.group_id).map(|g| g.name.as_str()));
        }
        for access in &mut self.app_access_removed {
            access.current_app_name =
                renamed(&access.app_name, catalog.app(access.app_type.as_str()).map(|a| a.display_name.as_str()));
            access.current_site_name = renamed(
                &access.site_name,
                catalog.sites.iter().find(|s| s.site_id == access.site_id).map(|s| s.name.as_str()),
            );
        }
    }
}

/// A run's counters (PRODUCT §5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub users_matched: u64,
    pub users_skipped: u64,
    pub users_unchanged: u64,
    /// Users with at least one `changed` item.
    pub users_updated: u64,
    /// Users with at least one `failed` item.
    pub failed_count: u64,
    /// Entries in `userChanges`: users with a change or a failure.
    pub total_user_changes: u64,
    pub groups_added: u64,
    pub groups_removed: u64,
    pub app_access_removed: u64,
    pub users_suspended: u64,
    pub users_restored: u64,
}

impl Summary {
    /// Counts one user's result.
    pub fn add(&mut self, result: &UserResult) {
        self.users_matched += 1;
        let status = result.status();
        match status {
            ChangeStatus::Skipped => self.users_skipped += 1,
            ChangeStatus::Unchanged => self.users_unchanged += 1,
            _ => {}
        }
        if matches!(status, ChangeStatus::Updated | ChangeStatus::Partial) {
            self.users_updated += 1;
        }
        if matches!(status, ChangeStatus::Partial | ChangeStatus::Failed) {
            self.failed_count += 1;
        }
        if status.is_change() {
            self.total_user_changes += 1;
        }
        let mut suspended = false;
        let mut restored = false;
        for item in result.items.iter().filter(|i| i.outcome == ItemOutcome::Changed) {
            match item.action_type {
                ActionType::AddToGroups => self.groups_added += 1,
                ActionType::RemoveFromGroups => self.groups_removed += 1,
                ActionType::RemoveAppAccess => self.app_access_removed += 1,
                ActionType::SuspendUsers => suspended = true,
                ActionType::RestoreUsers => restored = true,
            }
        }
        self.users_suspended += u64::from(suspended);
        self.users_restored += u64::from(restored);
    }
}

/// A run's users, each counted once by its result: they add up to `users_matched`. The wire
/// counters (§5) overlap on purpose (a partial user is in both `usersUpdated` and
/// `failedCount`); this is what people read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsersByResult {
    /// Every change applied.
    pub updated: u64,
    /// Some changes applied, some failed.
    pub partial: u64,
    /// Nothing applied, at least one failure.
    pub failed: u64,
    pub unchanged: u64,
    /// Organization admins, never changed.
    pub skipped: u64,
}

impl Summary {
    /// The users each counted once (see [`UsersByResult`]).
    pub fn users_by_result(&self) -> UsersByResult {
        let partial = (self.users_updated + self.failed_count).saturating_sub(self.total_user_changes);
        UsersByResult {
            updated: self.users_updated.saturating_sub(partial),
            partial,
            failed: self.failed_count.saturating_sub(partial),
            unchanged: self.users_unchanged,
            skipped: self.users_skipped,
        }
    }
}

impl std::fmt::Display for UsersByResult {
    /// "139 users: 97 updated · 28 partly updated · 0 failed · 11 unchanged · 3 skipped".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = self.updated + self.partial + self.failed + self.unchanged + self.skipped;
        write!(
            f,
            "{total} users: {} updated · {} partly updated · {} failed · {} unchanged · {} skipped",
            self.updated, self.partial, self.failed, self.unchanged, self.skipped
        )
    }
}

impl RunOverview {
    /// The outcome as people read it: the wire outcome (the state while it runs), and for a
    /// successful run in which users failed, how many ("success, 28 failed").
    pub fn outcome_text(&self) -> String {
        match self.outcome {
            None => self.state.as_str().to_owned(),
            Some(RunOutcome::Success) if self.summary.failed_count > 0 => {
                format!("success, {} failed", self.summary.failed_count)
            }
            Some(outcome) => outcome.as_str().to_owned(),
        }
    }

    /// How the outcome is shown: `success`, `warning` (a success with failures, or a run that
    /// waits), `failure`, or `running`.
    pub fn outcome_tone(&self) -> &'static str {
        match self.outcome {
            None => "running",
            Some(RunOutcome::Success) if self.summary.failed_count > 0 => "warning",
            Some(RunOutcome::Success) => "success",
            Some(RunOutcome::Quarantined) => "warning",
            Some(RunOutcome::Failure | RunOutcome::Rejected) => "failure",
        }
    }
}

/// The users a run acts on, as recorded when it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Selection {
    /// A task's saved filter, with its criteria as they were when the run started.
    #[serde(rename_all = "camelCase")]
    SavedFilter { filter_id: crate::ids::FilterId, criteria: crate::filter::UserFilter },
    /// Every user matching criteria (a bulk operation's "all N matching").
    #[serde(rename_all = "camelCase")]
    Criteria { criteria: crate::filter::UserFilter },
    /// Users picked one by one.
    #[serde(rename_all = "camelCase")]
    AccountIds { account_ids: Vec<AccountId> },
}

/// How far a running run has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Users handled so far.
    pub done: u64,
    /// Users matched.
    pub total: u64,
}

/// Why a run waits for an administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Quarantine {
    /// Users the run would change.
    pub would_change: u64,
    /// The most it may change without approval.
    pub limit: u64,
}

/// A run without its per-user changes: what lists of runs show, and the head of its record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunOverview {
    pub process_id: ProcessId,
    pub source: RunSource,
    pub task_id: Option<TaskId>,
    pub name: String,
    pub action_types: Vec<ActionType>,
    /// `null` while the run is going.
    pub outcome: Option<RunOutcome>,
    pub error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
    pub summary: Summary,
    pub deep_link: String,
    pub state: RunState,
    pub trigger: RunTrigger,
    pub started_by: String,
    pub progress: Progress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<Quarantine>,
    /// Who asked the run to stop after the users in hand, if anyone did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_requested_by: Option<String>,
}

/// One run's record (PRODUCT §5): identical in the API, the CLI's `--json`, the JSON export and
/// the agent tool. §5's fields, plus ours: `state`, `trigger`, `startedBy`, `progress`,
/// `quarantine`, `cancelRequestedBy` and `nextCursor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    #[serde(flatten)]
    pub run: RunOverview,
    pub user_changes: Vec<UserChange>,
    /// Pass as `cursor` for the next page of `userChanges`; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A change the directory is asked to make.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Op {
    AddToGroup(GroupId),
    RemoveFromGroup(GroupId),
    Suspend,
    Restore,
}

/// One change for one user, as handed to the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub account_id: AccountId,
    pub op: Op,
}

/// What the directory did with a [`Change`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Changed,
    Unchanged,
    Failed(String),
    /// Not attempted: the user is protected (an organization admin).
    Skipped(String),
}

/// What [`check_op`] needs to know about the user and the group an operation names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    pub status: UserStatus,
    pub org_admin: bool,
    /// Whether the user is in the operation's group (group operations only).
    pub member: bool,
    /// Whether the operation's group exists (group operations only).
    pub group_exists: bool,
    /// Whether an identity provider manages the group's members (group operations only).
    pub group_managed_externally: bool,
}

impl Subject {
    /// A user in `status`, not an admin; for group operations, `member` of a group that
    /// exists and ucm may change.
    pub fn new(status: UserStatus, member: bool) -> Self {
        Self { status, org_admin: false, member, group_exists: true, group_managed_externally: false }
    }
}

/// Whether an operation can apply to a user in a given state: the one rule set both the plan
/// and the local directory follow.
pub fn check_op(op: &Op, subject: Subject) -> Applied {
    let Subject { status, org_admin, member, group_exists, group_managed_externally } = subject;
    if org_admin {
        return Applied::Skipped(ORG_ADMIN_SKIP_REASON.to_owned());
    }
    let group_id = match op {
        Op::AddToGroup(g) | Op::RemoveFromGroup(g) => Some(g),
        Op::Suspend | Op::Restore => None,
    };
    let gone = || {
        Applied::Failed(format!(
            "the group `{}` no longer exists (it was deleted after the action was saved)",
            group_id.map_or("", |g| g.as_str())
        ))
    };
    let external = || {
        Applied::Failed(format!(
            "the group `{}` is synced from an identity provider: change its members there",
            group_id.map_or("", |g| g.as_str())
        ))
    };
    match op {
        Op::AddToGroup(_) | Op::RemoveFromGroup(_) if group_exists && group_managed_externally => external(),
        Op::AddToGroup(_) if !group_exists => gone(),
        Op::AddToGroup(_) if matches!(status, UserStatus::Deactivated | UserStatus::Closed) => Applied::Failed(
            format!("a {status} user cannot be added to a group; restore or reactivate the account first"),
        ),
        Op::AddToGroup(_) if member => Applied::Unchanged,
        Op::AddToGroup(_) => Applied::Changed,
        Op::RemoveFromGroup(_) if !group_exists => gone(),
        Op::RemoveFromGroup(_) if !member => Applied::Unchanged,
        Op::RemoveFromGroup(_) => Applied::Changed,
        Op::Suspend => match status {
            UserStatus::Active => Applied::Changed,
            UserStatus::Suspended => Applied::Unchanged,
            other => Applied::Failed(format!("only an active user can be suspended; {}", other.of_the_user())),
        },
        Op::Restore => match status {
            UserStatus::Suspended => Applied::Changed,
            UserStatus::Active => Applied::Unchanged,
            other => Applied::Failed(format!("only a suspended user can be restored; {}", other.of_the_user())),
        },
    }
}

/// The reason recorded for a protected user.
pub const ORG_ADMIN_SKIP_REASON: &str = "organization admins are never changed by tasks or bulk operations";

/// A planned item: the ops it needs (indexes into [`UserPlan::ops`]) or an outcome known already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedItem {
    pub action_type: ActionType,
    pub target: Option<Target>,
    pub plan: Planned,
}

/// What planning decided for an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// Needs these ops; changed when they all change.
    Apply(Vec<usize>),
    Unchanged,
    Failed(String),
    Skipped(String),
}

/// One user's planned items and the distinct ops they need, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPlan {
    pub account_id: AccountId,
    pub display_name: String,
    pub email: String,
    pub items: Vec<PlannedItem>,
    pub ops: Vec<Op>,
}

impl UserPlan {
    /// Whether applying the plan would change anything.
    pub fn would_change(&self) -> bool {
        !self.ops.is_empty()
    }

    /// The result, given the directory's answer for each op (same order as `ops`).
    pub fn finish(&self, applied: &[Applied]) -> UserResult {
        let items = self
            .items
            .iter()
            .map(|item| {
                let (outcome, reason) = match &item.plan {
                    Planned::Unchanged => (ItemOutcome::Unchanged, None),
                    Planned::Failed(r) => (ItemOutcome::Failed, Some(r.clone())),
                    Planned::Skipped(r) => (ItemOutcome::Skipped, Some(r.clone())),
                    Planned::Apply(ops) => {
                        let answers = ops.iter().map(|&i| applied.get(i).unwrap_or(&Applied::Unchanged));
                        let mut outcome = (ItemOutcome::Unchanged, None);
                        for answer in answers {
                            match answer {
                                Applied::Failed(r) => {
                                    outcome = (ItemOutcome::Failed, Some(r.clone()));
                                    break;
                                }
                                Applied::Skipped(r) => {
                                    outcome = (ItemOutcome::Skipped, Some(r.clone()));
                                    break;
                                }
                                Applied::Changed => outcome = (ItemOutcome::Changed, None),
                                Applied::Unchanged => {}
                            }
                        }
                        outcome
                    }
                };
                Item { action_type: item.action_type, target: item.target.clone(), outcome, reason }
            })
            .collect();
        UserResult {
            account_id: self.account_id.clone(),
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            items,
        }
    }

    /// The result if every op changes what it is meant to: what a preview shows.
    pub fn predicted(&self) -> UserResult {
        self.finish(&vec![Applied::Changed; self.ops.len()])
    }
}

/// Plans `actions` for `user`, in order, each action seeing the effect of the ones before it.
/// Organization admins get one `skipped` item per action and no ops.
pub fn plan_user(user: &User, actions: &[Action], catalog: &Catalog) -> UserPlan {
    let mut plan = UserPlan {
        account_id: user.account_id.clone(),
        display_name: user.display_name.clone(),
        email: user.email.clone(),
        items: Vec::new(),
        ops: Vec::new(),
    };
    if user.has_role(Role::OrgAdmin) {
        plan.items = actions
            .iter()
            .map(|a| PlannedItem {
                action_type: a.action_type(),
                target: None,
                plan: Planned::Skipped(ORG_ADMIN_SKIP_REASON.to_owned()),
            })
            .collect();
        return plan;
    }
    let mut status = user.status;
    let subject = |status, member, group: Option<&GroupId>| Subject {
        status,
        org_admin: false,
        member,
        group_exists: group.is_none_or(|id| catalog.group_by_id(id).is_some()),
        group_managed_externally: group.is_some_and(|id| catalog.is_managed_externally(id)),
    };
    let mut groups: BTreeSet<GroupId> = user.groups.iter().cloned().collect();
    let group_target = |id: &GroupId| {
        Some(Target::Group {
            group_id: id.clone(),
            name: catalog.group_by_id(id).map_or_else(|| id.0.clone(), |g| g.name.clone()),
        })
    };
    for action in actions {
        let action_type = action.action_type();
        let push = |plan: &mut UserPlan, target: Option<Target>, op: Op, check: Applied| {
            let planned = match check {
                Applied::Changed => {
                    plan.ops.push(op);
                    Planned::Apply(vec![plan.ops.len() - 1])
                }
                Applied::Unchanged => Planned::Unchanged,
                Applied::Failed(reason) => Planned::Failed(reason),
                Applied::Skipped(reason) => Planned::Skipped(reason),
            };
            plan.items.push(PlannedItem { action_type, target, plan: planned });
        };
        match action {
            Action::AddToGroups { group_ids } => {
                for id in group_ids {
                    let op = Op::AddToGroup(id.clone());
                    let check = check_op(&op, subject(status, groups.contains(id), Some(id)));
                    if check == Applied::Changed {
                        groups.insert(id.clone());
                    }
                    push(&mut plan, group_target(id), op, check);
                }
            }
            Action::RemoveFromGroups { group_ids } => {
                for id in group_ids {
                    let op = Op::RemoveFromGroup(id.clone());
                    let check = check_op(&op, subject(status, groups.contains(id), Some(id)));
                    if check == Applied::Changed {
                        groups.remove(id);
                    }
                    push(&mut plan, group_target(id), op, check);
                }
            }
            Action::RemoveAppAccess { apps, all } => {
                let before = access_of(&groups, catalog);
                let targeted: Vec<&(AppKey, SiteId)> =
                    before.iter().filter(|(app, site)| action.removes_app(app, site)).collect();
                // Every group granting a targeted access goes; the access that no remaining
                // group grants is what the user loses (possibly more than was asked for).
                // Groups an identity provider manages cannot be left here: what they grant stays.
                let (external, leave): (Vec<GroupId>, Vec<GroupId>) = groups
                    .iter()
                    .filter(|g| {
                        catalog.group_by_id(g).is_some_and(|group| {
                            group
                                .grants
                                .iter()
                                .any(|grant| targeted.iter().any(|(a, s)| a == &grant.app_type && s == &grant.site_id))
                        })
                    })
                    .cloned()
                    .partition(|g| catalog.is_managed_externally(g));
                let mut op_indexes = Vec::new();
                for id in &leave {
                    groups.remove(id);
                    plan.ops.push(Op::RemoveFromGroup(id.clone()));
                    op_indexes.push(plan.ops.len() - 1);
                }
                let after = access_of(&groups, catalog);
                for (app, site) in before.iter().filter(|a| !after.contains(a)) {
                    let granting: Vec<usize> = leave
                        .iter()
                        .zip(&op_indexes)
                        .filter(|(g, _)| {
                            catalog.group_by_id(g).is_some_and(|group| {
                                group.grants.iter().any(|grant| &grant.app_type == app && &grant.site_id == site)
                            })
                        })
                        .map(|(_, &i)| i)
                        .collect();
                    plan.items.push(PlannedItem {
                        action_type,
                        target: Some(app_target(app, site, catalog)),
                        plan: Planned::Apply(granting),
                    });
                }
                for (app, site) in targeted.iter().filter(|a| after.contains(a)) {
                    let by: Vec<String> = external
                        .iter()
                        .filter_map(|g| catalog.group_by_id(g))
                        .filter(|group| {
                            group.grants.iter().any(|grant| &grant.app_type == app && &grant.site_id == site)
                        })
                        .map(|group| format!("`{}`", group.name))
                        .collect();
                    plan.items.push(PlannedItem {
                        action_type,
                        target: Some(app_target(app, site, catalog)),
                        plan: Planned::Failed(format!(
                            "still granted by {}, synced from an identity provider: change its members there",
                            by.join(", ")
                        )),
                    });
                }
                // Asked for, but the user never had it: unchanged.
                if *all {
                    if before.is_empty() {
                        plan.items.push(PlannedItem {
                            action_type,
                            target: Some(Target::AllApps),
                            plan: Planned::Unchanged,
                        });
                    }
                } else {
                    for wanted in apps {
                        let held = before
                            .iter()
                            .any(|(a, s)| a == &wanted.app_type && wanted.site_id.as_ref().is_none_or(|w| w == s));
                        if !held {
                            let target = match &wanted.site_id {
                                Some(site) => app_target(&wanted.app_type, site, catalog),
                                None => Target::App {
                                    app_type: wanted.app_type.clone(),
                                    app_name: app_name(&wanted.app_type, catalog),
                                    site_id: SiteId(String::new()),
                                    site_name: "every site".to_owned(),
                                },
                            };
                            plan.items.push(PlannedItem {
                                action_type,
                                target: Some(target),
                                plan: Planned::Unchanged,
                            });
                        }
                    }
                }
            }
            Action::SuspendUsers => {
                let check = check_op(&Op::Suspend, subject(status, false, None));
                if check == Applied::Changed {
                    status = UserStatus::Suspended;
                }
                push(&mut plan, None, Op::Suspend, check);
            }
            Action::RestoreUsers => {
                let check = check_op(&Op::Restore, subject(status, false, None));
                if check == Applied::Changed {
                    status = UserStatus::Active;
                }
                push(&mut plan, None, Op::Restore, check);
            }
        }
    }
    plan
}

/// The app access a set of groups grants.
fn access_of(groups: &BTreeSet<GroupId>, catalog: &Catalog) -> Vec<(AppKey, SiteId)> {
    let mut seen = HashSet::new();
    let mut access = Vec::new();
    for group in groups.iter().filter_map(|g| catalog.group_by_id(g)) {
        for grant in &group.grants {
            let key = (grant.app_type.clone(), grant.site_id.clone());
            if seen.insert(key.clone()) {
                access.push(key);
            }
        }
    }
    access.sort();
    access
}

fn app_name(app: &AppKey, catalog: &Catalog) -> String {
    catalog.app(app.as_str()).map_or_else(|| app.0.clone(), |a| a.display_name.clone())
}

fn app_target(app: &AppKey, site: &SiteId, catalog: &Catalog) -> Target {
    Target::App {
        app_type: app.clone(),
        app_name: app_name(app, catalog),
        site_id: site.clone(),
        site_name: catalog.site(site.as_str()).map_or_else(|| site.0.clone(), |s| s.name.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{AppGrant, AppType, Group, RoleAssignment, Site};
    use crate::task::AppTarget;

    #[test]
    fn every_refusal_reads_right_for_every_status() {
        let expected = [
            (UserStatus::Deactivated, "the user's account is deactivated"),
            (UserStatus::Invited, "the user is invited and has not joined yet"),
            (UserStatus::NotInvited, "the user has no membership in the directory (not invited)"),
            (UserStatus::Closed, "the user's account is closed"),
        ];
        for (status, words) in expected {
            let suspend = check_op(&Op::Suspend, Subject::new(status, false));
            assert_eq!(suspend, Applied::Failed(format!("only an active user can be suspended; {words}")));
            let restore = check_op(&Op::Restore, Subject::new(status, false));
            assert_eq!(restore, Applied::Failed(format!("only a suspended user can be restored; {words}")));
        }
        for status in UserStatus::ALL {
            for op in [Op::Suspend, Op::Restore] {
                if let Applied::Failed(reason) = check_op(&op, Subject::new(status, false)) {
                    assert!(!reason.contains("is notInvited") && !reason.contains("is not invited"), "{reason}");
                }
            }
        }
    }

    fn catalog() -> Catalog {
        let site = Site { site_id: "s1".into(), name: "acme".into(), url: "https://acme.example".into() };
        let apps = vec![
            AppType { app_type: "confluence".into(), display_name: "Confluence".into(), aliases: vec![] },
            AppType { app_type: "jira-software".into(), display_name: "Jira".into(), aliases: vec![] },
        ];
        let grant = |app: &str| AppGrant { app_type: app.into(), site_id: "s1".into() };
        let groups = vec![
            Group {
                group_id: "g-conf".into(),
                name: "confluence-users".into(),
                site_id: None,
                grants: vec![grant("confluence")],
            },
            Group {
                group_id: "g-both".into(),
                name: "everyone".into(),
                site_id: None,
                grants: vec![grant("confluence"), grant("jira-software")],
            },
            Group { group_id: "g-plain".into(), name: "plain".into(), site_id: None, grants: vec![] },
        ];
        Catalog::new(vec![site], apps, groups)
    }

    fn user(status: UserStatus, groups: &[&str]) -> User {
        User {
            account_id: "u1".into(),
            display_name: "Ada".into(),
            email: "ada@example.com".into(),
            status,
            sites: vec!["s1".into()],
            groups: groups.iter().map(|g| GroupId::from(*g)).collect(),
            app_access: vec![],
            roles: vec![],
            last_active: None,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn outcomes(result: &UserResult) -> Vec<(ActionType, ItemOutcome)> {
        result.items.iter().map(|i| (i.action_type, i.outcome)).collect()
    }

    #[test]
    fn later_actions_see_earlier_ones() {
        let actions = vec![
            Action::AddToGroups { group_ids: vec!["g-plain".into(), "g-plain".into()] },
            Action::SuspendUsers,
            Action::RestoreUsers,
        ];
        let plan = plan_user(&user(UserStatus::Active, &[]), &actions, &catalog());
        assert_eq!(plan.ops, vec![Op::AddToGroup("g-plain".into()), Op::Suspend, Op::Restore]);
        let result = plan.predicted();
        assert_eq!(result.items[1].outcome, ItemOutcome::Unchanged, "the second add finds the user a member");
        assert_eq!(result.status(), ChangeStatus::Updated);
    }

    #[test]
    fn deactivated_users_fail_with_reasons_and_later_actions_continue() {
        let actions = vec![
            Action::AddToGroups { group_ids: vec!["g-plain".into(), "g-deleted".into()] },
            Action::RemoveFromGroups { group_ids: vec!["g-conf".into()] },
        ];
        let plan = plan_user(&user(UserStatus::Deactivated, &["g-conf"]), &actions, &catalog());
        let result = plan.predicted();
        assert_eq!(
            outcomes(&result),
            vec![
                (ActionType::AddToGroups, ItemOutcome::Failed),
                (ActionType::AddToGroups, ItemOutcome::Failed),
                (ActionType::RemoveFromGroups, ItemOutcome::Changed)
            ]
        );
        assert!(result.items[0].reason.as_deref().unwrap().contains("deactivated user cannot be added"));
        assert!(result.items[1].reason.as_deref().unwrap().contains("no longer exists"));
        assert_eq!(result.status(), ChangeStatus::Partial);
        let change = result.change("u".into());
        assert_eq!(change.failures.len(), 2);
        assert_eq!(change.groups_removed[0].name, "confluence-users");
    }

    #[test]
    fn removing_app_access_leaves_every_granting_group_and_records_what_was_lost() {
        let actions = vec![Action::RemoveAppAccess {
            apps: vec![AppTarget { app_type: "confluence".into(), site_id: None }],
            all: false,
        }];
        let plan = plan_user(&user(UserStatus::Active, &["g-conf", "g-both", "g-plain"]), &actions, &catalog());
        assert_eq!(plan.ops, vec![Op::RemoveFromGroup("g-both".into()), Op::RemoveFromGroup("g-conf".into())]);
        let result = plan.predicted();
        let change = result.change(String::new());
        let lost: Vec<&str> = change.app_access_removed.iter().map(|a| a.app_name.as_str()).collect();
        // Leaving `everyone` also takes Jira: the record says so.
        assert_eq!(lost, vec!["Confluence", "Jira"]);
        // A failed group removal fails the access items that needed it.
        let partial = plan.finish(&[Applied::Failed("directory said no".into()), Applied::Changed]);
        assert!(partial.items.iter().all(|i| i.outcome == ItemOutcome::Failed));
    }

    #[test]
    fn groups_an_identity_provider_manages_are_not_changed() {
        let catalog = catalog().with_managed_externally([GroupId::from("g-conf")]);
        let joining = vec![Action::AddToGroups { group_ids: vec!["g-conf".into()] }];
        let plan = plan_user(&user(UserStatus::Active, &[]), &joining, &catalog);
        assert!(plan.ops.is_empty());
        let result = plan.predicted();
        assert!(result.items[0].reason.as_deref().unwrap().contains("synced from an identity provider"));
        // Removing Confluence: the other granting group is left; the access stays through the
        // managed one, and the item says which.
        let actions = vec![Action::RemoveAppAccess {
            apps: vec![AppTarget { app_type: "confluence".into(), site_id: None }],
            all: false,
        }];
        let plan = plan_user(&user(UserStatus::Active, &["g-conf", "g-both"]), &actions, &catalog);
        assert_eq!(plan.ops, vec![Op::RemoveFromGroup("g-both".into())]);
        let result = plan.predicted();
        let failed: Vec<&str> = result.items.iter().filter_map(|i| i.reason.as_deref()).collect();
        assert_eq!(failed.len(), 1, "{:?}", result.items);
        assert!(failed[0].contains("still granted by `confluence-users`"), "{}", failed[0]);
        let external = Subject { group_managed_externally: true, ..Subject::new(UserStatus::Active, true) };
        assert!(matches!(check_op(&Op::RemoveFromGroup("g-conf".into()), external), Applied::Failed(_)));
    }

    #[test]
    fn remove_all_app_access_without_any_is_unchanged() {
        let actions = vec![Action::RemoveAppAccess { apps: vec![], all: true }];
        let result = plan_user(&user(UserStatus::Active, &["g-plain"]), &actions, &catalog()).predicted();
        assert_eq!(outcomes(&result), vec![(ActionType::RemoveAppAccess, ItemOutcome::Unchanged)]);
        assert_eq!(result.items[0].target, Some(Target::AllApps));
    }

    #[test]
    fn org_admins_are_skipped() {
        let mut admin = user(UserStatus::Active, &[]);
        admin.roles.push(RoleAssignment::plain(Role::OrgAdmin));
        let plan = plan_user(&admin, &[Action::SuspendUsers, Action::RestoreUsers], &catalog());
        assert!(plan.ops.is_empty());
        let result = plan.predicted();
        assert_eq!(result.status(), ChangeStatus::Skipped);
        let mut summary = Summary::default();
        summary.add(&result);
        assert_eq!((summary.users_matched, summary.users_skipped, summary.total_user_changes), (1, 1, 0));
    }

    #[test]
    fn suspend_and_restore_rules() {
        let user = |status| Subject::new(status, false);
        assert_eq!(check_op(&Op::Suspend, user(UserStatus::Suspended)), Applied::Unchanged);
        assert!(matches!(check_op(&Op::Suspend, user(UserStatus::Closed)), Applied::Failed(_)));
        assert_eq!(check_op(&Op::Restore, user(UserStatus::Suspended)), Applied::Changed);
        assert!(matches!(check_op(&Op::Restore, user(UserStatus::Deactivated)), Applied::Failed(_)));
        let admin = Subject { org_admin: true, ..user(UserStatus::Active) };
        assert!(matches!(check_op(&Op::Suspend, admin), Applied::Skipped(_)), "the directory protects admins too");
    }

    #[test]
    fn summary_counts_users_and_items() {
        let actions = vec![Action::AddToGroups { group_ids: vec!["g-plain".into()] }, Action::SuspendUsers];
        let mut summary = Summary::default();
        summary.add(&plan_user(&user(UserStatus::Active, &[]), &actions, &catalog()).predicted());
        summary.add(&plan_user(&user(UserStatus::Closed, &[]), &actions, &catalog()).predicted());
        summary.add(&plan_user(&user(UserStatus::Suspended, &["g-plain"]), &actions, &catalog()).predicted());
        assert_eq!(
            summary,
            Summary {
                users_matched: 3,
                users_skipped: 0,
                users_unchanged: 1,
                users_updated: 1,
                failed_count: 1,
                total_user_changes: 2,
                groups_added: 1,
                groups_removed: 0,
                app_access_removed: 0,
                users_suspended: 1,
                users_restored: 0,
            }
        );
    }

    /// 139 users, 28 of them partly updated: the wire counters overlap (125 updated, 28
    /// failed); what people read counts each user once, and a success with failures says so.
    #[test]
    fn people_read_each_user_once_and_a_success_with_failures() {
        let summary = Summary {
            users_matched: 139,
            users_skipped: 3,
            users_unchanged: 11,
            users_updated: 125,
            failed_count: 28,
            total_user_changes: 125,
            ..Summary::default()
        };
        let users = summary.users_by_result();
        assert_eq!(users, UsersByResult { updated: 97, partial: 28, failed: 0, unchanged: 11, skipped: 3 });
        assert_eq!(
            users.to_string(),
            "139 users: 97 updated · 28 partly updated · 0 failed · 11 unchanged · 3 skipped"
        );
        let run = RunOverview {
            process_id: ProcessId("p".into()),
            source: RunSource::AutomatedTask,
            task_id: None,
            name: "n".into(),
            action_types: vec![],
            outcome: Some(RunOutcome::Success),
            error: None,
            started_at: Timestamp::UNIX_EPOCH,
            finished_at: Some(Timestamp::UNIX_EPOCH),
            summary,
            deep_link: String::new(),
            state: RunState::Finished,
            trigger: RunTrigger::Manual,
            started_by: "cli".into(),
            progress: Progress::default(),
            quarantine: None,
            cancel_requested_by: None,
        };
        assert_eq!((run.outcome_text().as_str(), run.outcome_tone()), ("success, 28 failed", "warning"));
        let clean = RunOverview { summary: Summary { failed_count: 0, ..summary }, ..run.clone() };
        assert_eq!((clean.outcome_text().as_str(), clean.outcome_tone()), ("success", "success"));
        let running = RunOverview { outcome: None, state: RunState::Running, ..run };
        assert_eq!((running.outcome_text().as_str(), running.outcome_tone()), ("running", "running"));
    }
}
