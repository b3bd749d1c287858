//! Automated Tasks (PRODUCT §4): a saved filter, ordered actions and a schedule.
//!
//! Everything here is pure: validation against a [`Catalog`], the next due instant of a
//! schedule in its time zone, and the execution limit.

use jiff::civil::{DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan as _};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::directory::Catalog;
use crate::filter::FieldProblem;
use crate::ids::{AppKey, FilterId, GroupId, SiteId, TaskId};

/// The longest accepted task name.
pub const MAX_TASK_NAME_CHARS: usize = 120;
/// The most actions one task may hold.
pub const MAX_ACTIONS: usize = 20;
/// The most groups or apps one action may name.
pub const MAX_TARGETS: usize = 100;
/// The shortest interval schedule.
pub const MIN_INTERVAL: SignedDuration = SignedDuration::from_mins(1);

/// What an action does; the camelCase names are the wire names (`actionTypes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ActionType {
    AddToGroups,
    RemoveFromGroups,
    RemoveAppAccess,
    SuspendUsers,
    RestoreUsers,
}

impl ActionType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AddToGroups => "addToGroups",
            Self::RemoveFromGroups => "removeFromGroups",
            Self::RemoveAppAccess => "removeAppAccess",
            Self::SuspendUsers => "suspendUsers",
            Self::RestoreUsers => "restoreUsers",
        }
    }
}

impl std::fmt::Display for ActionType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An app access to remove: an app on one site, or on every site when `siteId` is absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppTarget {
    /// App key, display name or alias (`JSM`); stored as the key.
    pub app_type: AppKey,
    /// Site id or name; stored as the id. Absent: every site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<SiteId>,
}

/// One step of a task, applied to each matched user in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum Action {
    /// Add the user to each group.
    #[serde(rename_all = "camelCase")]
    AddToGroups { group_ids: Vec<GroupId> },
    /// Remove the user from each group.
    #[serde(rename_all = "camelCase")]
    RemoveFromGroups { group_ids: Vec<GroupId> },
    /// Leave every group that grants these apps (or any app, with `all`); the account and other
    /// groups stay.
    #[serde(rename_all = "camelCase")]
    RemoveAppAccess {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        apps: Vec<AppTarget>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        all: bool,
    },
    /// Block the user's access everywhere.
    SuspendUsers,
    /// Give a suspended user access back.
    RestoreUsers,
}

impl Action {
    /// The action in words, with the names people know (`add to groups: security,
    /// contractors`); an id the catalog no longer has is shown as it is.
    pub fn describe(&self, catalog: &Catalog) -> String {
        let groups = |ids: &[GroupId]| {
            ids.iter()
                .map(|id| catalog.group_by_id(id).map_or_else(|| id.0.clone(), |g| g.name.clone()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Self::AddToGroups { group_ids } => format!("add to groups: {}", groups(group_ids)),
            Self::RemoveFromGroups { group_ids } => format!("remove from groups: {}", groups(group_ids)),
            Self::RemoveAppAccess { all: true, .. } => "remove access to every app".to_owned(),
            Self::RemoveAppAccess { apps, .. } => {
                let targets: Vec<String> = apps
                    .iter()
                    .map(|target| {
                        let app = catalog
                            .app(target.app_type.as_str())
                            .map_or_else(|| target.app_type.0.clone(), |a| a.display_name.clone());
                        match &target.site_id {
                            Some(site) => {
                                let site =
                                    catalog.site(site.as_str()).map_or_else(|| site.0.clone(), |s| s.name.clone());
                                format!("{app} on {site}")
                            }
                            None => format!("{app} (every site)"),
                        }
                    })
                    .collect();
                format!("remove app access: {}", targets.join(", "))
            }
            Self::SuspendUsers => "suspend".to_owned(),
            Self::RestoreUsers => "restore".to_owned(),
        }
    }

    /// The action's wire name.
    pub fn action_type(&self) -> ActionType {
        match self {
            Self::AddToGroups { .. } => ActionType::AddToGroups,
            Self::RemoveFromGroups { .. } => ActionType::RemoveFromGroups,
            Self::RemoveAppAccess { .. } => ActionType::RemoveAppAccess,
            Self::SuspendUsers => ActionType::SuspendUsers,
            Self::RestoreUsers => ActionType::RestoreUsers,
        }
    }

    /// The action with every group, app and site name resolved to its id or key, or every
    /// problem found (fields named like `actions[0].groupIds[1]`).
    pub fn resolve(&self, index: usize, catalog: &Catalog) -> Result<Action, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let resolved = match self {
            Self::AddToGroups { group_ids } | Self::RemoveFromGroups { group_ids } => {
                let field = if matches!(self, Self::AddToGroups { .. }) { "addToGroups" } else { "removeFromGroups" };
                if group_ids.is_empty() {
                    problems.push(FieldProblem::new(
                        &format!("actions[{index}].groupIds"),
                        "",
                        format!("{field} needs at least one group"),
                    ));
                }
                if group_ids.len() > MAX_TARGETS {
                    problems.push(FieldProblem::new(
                        &format!("actions[{index}].groupIds"),
                        group_ids.len().to_string(),
                        format!("at most {MAX_TARGETS} groups per action"),
                    ));
                }
                let mut ids: Vec<GroupId> = Vec::new();
                for (i, input) in group_ids.iter().enumerate() {
                    match catalog.group(input.as_str()) {
                        Some(group) if !ids.contains(&group.group_id) => ids.push(group.group_id.clone()),
                        Some(_) => {}
                        None => problems.push(unknown(
                            &format!("actions[{index}].groupIds[{i}]"),
                            input.as_str(),
                            "group",
                            catalog.group_names(),
                        )),
                    }
                }
                if matches!(self, Self::AddToGroups { .. }) {
                    Self::AddToGroups { group_ids: ids }
                } else {
                    Self::RemoveFromGroups { group_ids: ids }
                }
            }
            Self::RemoveAppAccess { apps, all } => {
                if *all && !apps.is_empty() {
                    problems.push(FieldProblem::new(
                        &format!("actions[{index}].all"),
                        "true",
                        "give either `all: true` or a list of apps, not both",
                    ));
                }
                if !*all && apps.is_empty() {
                    problems.push(FieldProblem::new(
                        &format!("actions[{index}].apps"),
                        "",
                        "removeAppAccess needs a list of apps, or `all: true`",
                    ));
                }
                if apps.len() > MAX_TARGETS {
                    problems.push(FieldProblem::new(
                        &format!("actions[{index}].apps"),
                        apps.len().to_string(),
                        format!("at most {MAX_TARGETS} apps per action"),
                    ));
                }
                let mut targets: Vec<AppTarget> = Vec::new();
                for (i, target) in apps.iter().enumerate() {
                    let app = catalog.app(target.app_type.as_str());
                    if app.is_none() {
                        problems.push(unknown(
                            &format!("actions[{index}].apps[{i}].appType"),
                            target.app_type.as_str(),
                            "app",
                            catalog.app_names(),
                        ));
                    }
                    let site = match &target.site_id {
                        None => Some(None),
                        Some(input) => match catalog.site(input.as_str()) {
                            Some(site) => Some(Some(site.site_id.clone())),
                            None => {
                                problems.push(FieldProblem {
                                    suggestions: crate::suggest::closest_or_all(
                                        input.as_str(),
                                        catalog.site_names(),
                                        3,
                                    ),
                                    ..FieldProblem::new(
                                        &format!("actions[{index}].apps[{i}].siteId"),
                                        input.as_str(),
                                        format!("there is no site `{input}`"),
                                    )
                                });
                                None
                            }
                        },
                    };
                    if let (Some(app), Some(site_id)) = (app, site) {
                        let target = AppTarget { app_type: app.app_type.clone(), site_id };
                        if !targets.contains(&target) {
                            targets.push(target);
                        }
                    }
                }
                Self::RemoveAppAccess { apps: targets, all: *all }
            }
            Self::SuspendUsers => Self::SuspendUsers,
            Self::RestoreUsers => Self::RestoreUsers,
        };
        if problems.is_empty() { Ok(resolved) } else { Err(problems) }
    }

    /// Whether this action removes access to `app_type` on `site_id`.
    pub fn removes_app(&self, app_type: &AppKey, site_id: &SiteId) -> bool {
        match self {
            Self::RemoveAppAccess { all: true, .. } => true,
            Self::RemoveAppAccess { apps, .. } => {
                apps.iter().any(|t| &t.app_type == app_type && t.site_id.as_ref().is_none_or(|s| s == site_id))
            }
            _ => false,
        }
    }
}

fn unknown<'a>(field: &str, input: &str, what: &str, names: impl Iterator<Item = &'a str>) -> FieldProblem {
    let names: Vec<&str> = names.collect();
    FieldProblem {
        suggestions: crate::suggest::closest(input, names.iter().copied(), 3),
        ..FieldProblem::new(field, input, format!("there is no {what} `{input}`"))
    }
}

/// Checks a whole action list: at least one action, at most [`MAX_ACTIONS`], every name known.
pub fn resolve_actions(actions: &[Action], catalog: &Catalog) -> Result<Vec<Action>, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    if actions.is_empty() {
        problems.push(FieldProblem::new("actions", "[]", "a task needs at least one action"));
    }
    if actions.len() > MAX_ACTIONS {
        problems.push(FieldProblem::new(
            "actions",
            actions.len().to_string(),
            format!("at most {MAX_ACTIONS} actions per task"),
        ));
    }
    let mut resolved = Vec::with_capacity(actions.len());
    for (i, action) in actions.iter().enumerate() {
        match action.resolve(i, catalog) {
            Ok(action) => resolved.push(action),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() { Ok(resolved) } else { Err(problems) }
}

/// The distinct action types of a list, in first-use order (the `actionTypes` of a run).
pub fn action_types(actions: &[Action]) -> Vec<ActionType> {
    let mut types = Vec::new();
    for action in actions {
        let t = action.action_type();
        if !types.contains(&t) {
            types.push(t);
        }
    }
    types
}

/// A day of the week, for weekly schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    fn to_jiff(self) -> jiff::civil::Weekday {
        use jiff::civil::Weekday as W;
        match self {
            Self::Mon => W::Monday,
            Self::Tue => W::Tuesday,
            Self::Wed => W::Wednesday,
            Self::Thu => W::Thursday,
            Self::Fri => W::Friday,
            Self::Sat => W::Saturday,
            Self::Sun => W::Sunday,
        }
    }
}

/// When a task runs (ours). Local times are read in `timeZone` (IANA, default `UTC`); a local
/// time that a DST change skips runs at the first instant after the gap, and one that occurs
/// twice runs at its first occurrence, so a daily task runs once every local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    #[serde(flatten)]
    pub kind: ScheduleKind,
    #[serde(default = "utc")]
    pub time_zone: String,
}

impl Schedule {
    /// Whether two schedules say the same: equal, or one-offs at the same local moment written
    /// differently (`2026-06-01T09:00` and `2026-06-01T09:00:00`, as a browser rewrites it).
    pub fn same_as(&self, other: &Schedule) -> bool {
        if self == other {
            return true;
        }
        match (&self.kind, &other.kind) {
            (ScheduleKind::Once { at: a }, ScheduleKind::Once { at: b }) => {
                self.time_zone == other.time_zone
                    && matches!((a.parse::<DateTime>(), b.parse::<DateTime>()), (Ok(a), Ok(b)) if a == b)
            }
            _ => false,
        }
    }

    /// The schedule in words (`daily at 05:00 Europe/Berlin`, `manual`).
    pub fn describe(&self) -> String {
        let zone = &self.time_zone;
        match &self.kind {
            ScheduleKind::Manual => "manual".into(),
            ScheduleKind::Once { at } => format!("once at {at} {zone}"),
            ScheduleKind::Daily { time } => format!("daily at {time} {zone}"),
            ScheduleKind::Weekly { days, time } => {
                let days: Vec<String> = days
                    .iter()
                    .map(|d| serde_json::to_value(d).unwrap_or_default().as_str().unwrap_or_default().to_owned())
                    .collect();
                format!("weekly {} at {time} {zone}", days.join(","))
            }
            ScheduleKind::Interval { every } => format!("every {every}"),
            ScheduleKind::Cron { expr } => format!("cron `{expr}` {zone}"),
        }
    }
}

/// Read by hand so that an unknown field (`tz` for `timeZone`) is an error, which `flatten`
/// would silently ignore.
impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut map = serde_json::Map::deserialize(deserializer)?;
        let time_zone = match map.remove("timeZone") {
            None => utc(),
            Some(serde_json::Value::String(zone)) => zone,
            Some(_) => return Err(D::Error::custom("timeZone must be text such as `Europe/Berlin`")),
        };
        let kind = ScheduleKind::deserialize(serde_json::Value::Object(map)).map_err(D::Error::custom)?;
        Ok(Self { kind, time_zone })
    }
}

fn utc() -> String {
    "UTC".to_owned()
}

impl Default for Schedule {
    fn default() -> Self {
        Self { kind: ScheduleKind::Manual, time_zone: utc() }
    }
}

/// The schedule's kind and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum ScheduleKind {
    /// Once, at a local date and time (`2026-12-01T09:00`).
    Once { at: String },
    /// Every day at a local time (`05:00`).
    Daily { time: String },
    /// On the given days at a local time.
    Weekly { days: Vec<Weekday>, time: String },
    /// Every fixed duration (`30m`, `6h`, `1d`), counted from when the schedule was set.
    Interval { every: String },
    /// A five-field cron expression (`minute hour day-of-month month day-of-week`).
    Cron { expr: String },
    /// Only when started by hand.
    Manual,
}

/// A schedule whose parameters have been checked, ready to answer "when next?".
#[derive(Debug, Clone)]
pub struct CompiledSchedule {
    tz: TimeZone,
    rule: Rule,
}

#[derive(Debug, Clone)]
enum Rule {
    Once(DateTime),
    Daily(Time),
    Weekly(Vec<jiff::civil::Weekday>, Time),
    Interval(SignedDuration),
    /// The expression in the task's zone, the same read in UTC (for DST gaps), and its text.
    Cron(Box<cronexpr::Crontab>, Box<cronexpr::Crontab>, String),
    Manual,
}

impl Schedule {
    /// Checks every parameter; problems name their field (`schedule.time`, …).
    pub fn compile(&self) -> Result<CompiledSchedule, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let tz = match TimeZone::get(&self.time_zone) {
            Ok(tz) => Some(tz),
            Err(_) => {
                let zones: Vec<String> = jiff::tz::db().available().map(|name| name.to_string()).collect();
                problems.push(FieldProblem {
                    suggestions: crate::suggest::closest(&self.time_zone, zones.iter().map(String::as_str), 3),
                    ..FieldProblem::new(
                        "schedule.timeZone",
                        &self.time_zone,
                        "not a known IANA time zone (for example `Europe/Berlin` or `UTC`)",
                    )
                });
                None
            }
        };
        let rule = match &self.kind {
            ScheduleKind::Once { at } => match at.parse::<DateTime>() {
                // Times end in 9999: a later one can never come.
                Ok(local) if tz.as_ref().is_some_and(|tz| tz.to_ambiguous_timestamp(local).compatible().is_err()) => {
                    problems.push(FieldProblem::new(
                        "schedule.at",
                        at,
                        "too far ahead: the latest time a task can be scheduled for is 9999-12-30 22:00 UTC",
                    ));
                    None
                }
                Ok(at) => Some(Rule::Once(at)),
                Err(_) => {
                    problems.push(FieldProblem::new(
                        "schedule.at",
                        at,
                        "expected a local date and time such as `2026-12-01T09:00`",
                    ));
                    None
                }
            },
            ScheduleKind::Daily { time } => parse_time(time, &mut problems).map(Rule::Daily),
            ScheduleKind::Weekly { days, time } => {
                if days.is_empty() {
                    problems.push(FieldProblem::new("schedule.days", "[]", "a weekly schedule needs at least one day"));
                }
                let time = parse_time(time, &mut problems);
                time.map(|t| Rule::Weekly(days.iter().map(|d| d.to_jiff()).collect(), t))
            }
            ScheduleKind::Interval { every } => match parse_interval(every) {
                Ok(every) => Some(Rule::Interval(every)),
                Err(message) => {
                    problems.push(FieldProblem::new("schedule.every", every, message));
                    None
                }
            },
            ScheduleKind::Cron { expr } => {
                let fields = expr.split_ascii_whitespace().count();
                if fields != 5 {
                    problems.push(FieldProblem::new(
                        "schedule.expr",
                        expr,
                        format!(
                            "expected five fields (minute hour day-of-month month day-of-week), found {fields}; \
                             seconds and years are not supported, and the time zone is given on its own"
                        ),
                    ));
                    None
                } else {
                    match cronexpr::parse_crontab(&format!("{expr} {}", self.time_zone)) {
                        Ok(crontab) => cronexpr::parse_crontab(&format!("{expr} UTC"))
                            .ok()
                            .map(|utc| Rule::Cron(Box::new(crontab), Box::new(utc), expr.clone())),
                        Err(e) if tz.is_some() => {
                            problems.push(FieldProblem::new("schedule.expr", expr, cron_message(&e.to_string(), expr)));
                            None
                        }
                        Err(_) => None,
                    }
                }
            }
            ScheduleKind::Manual => Some(Rule::Manual),
        };
        match (tz, rule) {
            (Some(tz), Some(rule)) if problems.is_empty() => {
                let compiled = CompiledSchedule { tz, rule };
                if let Rule::Cron(..) = compiled.rule
                    // Four years from any start cover every pattern that can match at all.
                    && compiled.next_after(Timestamp::UNIX_EPOCH, Timestamp::UNIX_EPOCH).is_none()
                {
                    return Err(vec![FieldProblem::new(
                        "schedule.expr",
                        self.cron_expr().unwrap_or_default(),
                        "this expression never matches a date",
                    )]);
                }
                Ok(compiled)
            }
            _ => Err(problems),
        }
    }

    fn cron_expr(&self) -> Option<&str> {
        match &self.kind {
            ScheduleKind::Cron { expr } => Some(expr),
            _ => None,
        }
    }

    /// Whether the scheduler ever starts this task by itself.
    pub fn is_manual(&self) -> bool {
        matches!(self.kind, ScheduleKind::Manual)
    }
}

/// Whether the expression matches a wall-clock time inside a DST gap: the `gap` seconds of
/// local time after `at` that never exist, read in the offset before the change (`offset`
/// seconds east of UTC). A wall-clock time in a fixed offset is the UTC reading of the instant
/// shifted by that offset, so `utc` (the expression read in UTC) answers for any offset.
fn gap_matches(utc: &cronexpr::Crontab, offset: i32, at: Timestamp, gap: i32) -> bool {
    let shifted = at.as_millisecond() + i64::from(offset) * 1000;
    let Ok(start) = cronexpr::MakeTimestamp::from_millisecond(shifted - 1) else { return false };
    utc.find_next(start).is_ok_and(|next| next.timestamp().as_millisecond() < shifted + i64::from(gap) * 1000)
}

/// cronexpr's message is three lines: a heading, the expression, and a caret under the fault
/// followed by the reason. Says which field is wrong and why.
fn cron_message(raw: &str, expr: &str) -> String {
    const FIELDS: [&str; 5] = ["minute", "hour", "day of month", "month", "day of week"];
    let lines: Vec<&str> = raw.lines().collect();
    let (Some(shown), Some(caret)) = (lines.get(1), lines.get(2)) else {
        return format!("not a valid cron expression: {}", raw.trim());
    };
    let column = caret.find('^').unwrap_or(0);
    let reason = caret[column..].trim_start_matches('^').trim();
    let index = shown.get(..column).map_or(0, |before| before.matches(' ').count());
    match (FIELDS.get(index), expr.split_ascii_whitespace().nth(index)) {
        (Some(field), Some(value)) => format!("the {field} field `{value}` is not valid: {reason}"),
        _ => format!("not a valid cron expression: {reason}"),
    }
}

fn parse_time(input: &str, problems: &mut Vec<FieldProblem>) -> Option<Time> {
    match input.parse::<Time>() {
        Ok(t) if input.len() <= 8 => Some(t),
        _ => {
            problems.push(FieldProblem::new("schedule.time", input, "expected a local time such as `05:00`"));
            None
        }
    }
}

/// `30m`, `6h`, `1d`, `90s`, or ISO 8601 (`PT6H`); at least one minute.
pub fn parse_interval(input: &str) -> Result<SignedDuration, String> {
    let trimmed = input.trim();
    let parsed = if let Some(days) = trimmed.strip_suffix('d').and_then(|d| d.trim().parse::<i64>().ok()) {
        days.checked_mul(86_400).map(SignedDuration::from_secs)
    } else {
        trimmed.parse::<SignedDuration>().ok()
    };
    match parsed {
        Some(d) if d >= MIN_INTERVAL && d <= SignedDuration::from_hours(24 * 366) => Ok(d),
        Some(_) => Err("an interval must be between 1 minute and 366 days".to_owned()),
        None => Err("expected a duration such as `30m`, `6h` or `1d`".to_owned()),
    }
}

impl CompiledSchedule {
    /// The first due instant strictly after `after`, or `None` when there is none (manual, or a
    /// one-off that has passed). `anchor` is when the schedule was set (intervals count from it).
    pub fn next_after(&self, after: Timestamp, anchor: Timestamp) -> Option<Timestamp> {
        match &self.rule {
            Rule::Manual => None,
            Rule::Once(at) => self.tz.to_ambiguous_timestamp(*at).compatible().ok().filter(|t| *t > after),
            Rule::Daily(time) => self.next_local(after, |_| true, *time),
            Rule::Weekly(days, time) => self.next_local(after, |date| days.contains(&date.weekday()), *time),
            Rule::Interval(every) => {
                let every_ms = every.as_millis();
                let since = after.as_millisecond() - anchor.as_millisecond();
                let steps = if since < 0 { 0 } else { since / every_ms as i64 + 1 };
                let offset = SignedDuration::from_millis((every_ms as i64).checked_mul(steps)?);
                anchor.checked_add(offset).ok()
            }
            Rule::Cron(crontab, utc, expr) => self.next_cron(crontab, utc, expr, after),
        }
    }

    /// Cron on the wall clock. Like classic cron, an expression with fixed hours follows the
    /// daily schedules' DST rule: a matching time that a change skips runs at the first instant
    /// after the gap, and a time that occurs twice runs at its first occurrence only. An
    /// expression whose hour field is a wildcard (`*`, `*/2`) runs by the clock as it goes:
    /// through both copies of a repeated hour, and not in a skipped one.
    fn next_cron(
        &self,
        crontab: &cronexpr::Crontab,
        utc: &cronexpr::Crontab,
        expr: &str,
        after: Timestamp,
    ) -> Option<Timestamp> {
        let cron_after = |t: Timestamp| -> Option<Timestamp> {
            let from = cronexpr::MakeTimestamp::from_millisecond(t.as_millisecond()).ok()?;
            Timestamp::from_millisecond(crontab.find_next(from).ok()?.timestamp().as_millisecond()).ok()
        };
        if expr.split_ascii_whitespace().nth(1).is_some_and(|hours| hours.starts_with('*')) {
            return cron_after(after);
        }
        let mut from = after;
        // Each round skips one second occurrence; a repeated span of two hours (the largest
        // in the database) holds at most 120 minute matches.
        for _ in 0..2_000 {
            let candidate = cron_after(from)?;
            for transition in self.tz.following(after).take_while(|t| t.timestamp() <= candidate) {
                let at = transition.timestamp();
                let before = self.tz.to_offset(at.checked_sub(SignedDuration::from_secs(1)).ok()?);
                let gap = transition.offset().seconds() - before.seconds();
                if gap > 0 && gap_matches(utc, before.seconds(), at, gap) {
                    return Some(at);
                }
            }
            let local = candidate.to_zoned_datetime(self.tz.clone()).datetime();
            if self.tz.to_ambiguous_timestamp(local).compatible().ok() == Some(candidate) {
                return Some(candidate);
            }
            from = candidate;
        }
        None
    }

    /// The first instant after `after` whose local date passes `day` at local `time`.
    fn next_local(&self, after: Timestamp, day: impl Fn(jiff::civil::Date) -> bool, time: Time) -> Option<Timestamp> {
        let local = after.to_zoned_datetime(self.tz.clone());
        let mut date = local.date();
        // Eight days cover any weekly pattern; one more covers a time already passed today.
        for _ in 0..9 {
            if day(date) {
                let at = self.tz.to_ambiguous_timestamp(date.to_datetime(time)).compatible().ok()?;
                if at > after {
                    return Some(at);
                }
            }
            date = date.checked_add(1.day()).ok()?;
        }
        None
    }
}

/// The blast-radius guard (ours): a run that would change more users than this waits for an
/// administrator (scheduled) or asks for confirmation (by hand). Both bounds may be set; either
/// one exceeded is enough.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecutionLimit {
    /// At most this many users changed by one run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_users: Option<u64>,
    /// At most this share of all users in the directory, in percent (0–100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_percent: Option<f64>,
}

impl ExecutionLimit {
    /// Checks the bounds' ranges.
    pub fn validate(&self, field: &str) -> Result<(), FieldProblem> {
        if let Some(p) = self.max_percent
            && !(p.is_finite() && (0.0..=100.0).contains(&p))
        {
            return Err(FieldProblem::new(
                &format!("{field}.maxPercent"),
                p.to_string(),
                "a share of all users, from 0 to 100",
            ));
        }
        Ok(())
    }

    /// The largest number of users a run may change with `total_users` in the directory, or
    /// `None` when unbounded.
    pub fn max_changed(&self, total_users: u64) -> Option<u64> {
        let by_share = self.max_percent.map(|p| (total_users as f64 * p / 100.0).floor() as u64);
        match (self.max_users, by_share) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether neither bound is set.
    pub fn is_unbounded(&self) -> bool {
        self.max_users.is_none() && self.max_percent.is_none()
    }
}

/// The stricter of two limits' bounds for `total_users`.
pub fn effective_limit(limits: &[ExecutionLimit], total_users: u64) -> Option<u64> {
    limits.iter().filter_map(|l| l.max_changed(total_users)).min()
}

/// An Automated Task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub task_id: TaskId,
    pub name: String,
    /// The saved filter whose users the actions apply to.
    pub filter_id: FilterId,
    pub actions: Vec<Action>,
    pub schedule: Schedule,
    /// Paused tasks keep their schedule but are not started by it.
    pub active: bool,
    /// This task's own execution limit (the installation-wide one applies too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_limit: Option<ExecutionLimit>,
    /// Who changed the task last (an API key's name or `cli`).
    pub updated_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_run_at: Option<Timestamp>,
    /// When the scheduler starts it next; `null` for manual, paused or finished one-off tasks.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_run_at: Option<Timestamp>,
    /// The latest run's process id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_process_id: Option<crate::ids::ProcessId>,
    /// When the schedule was last set: interval schedules count from here.
    #[serde(skip)]
    pub schedule_anchor: Timestamp,
}

/// Checks a task name: trimmed, not empty, at most [`MAX_TASK_NAME_CHARS`], no control
/// characters.
pub fn validate_task_name(name: &str) -> Result<String, FieldProblem> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(FieldProblem::new("name", name, "a task needs a name"));
    }
    if trimmed.chars().count() > MAX_TASK_NAME_CHARS {
        return Err(FieldProblem::new("name", name, format!("at most {MAX_TASK_NAME_CHARS} characters")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(FieldProblem::new("name", name, "control characters are not allowed"));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn compiled(kind: ScheduleKind, tz: &str) -> CompiledSchedule {
        Schedule { kind, time_zone: tz.to_owned() }.compile().unwrap()
    }

    #[test]
    fn daily_runs_once_per_local_day_across_dst() {
        let s = compiled(ScheduleKind::Daily { time: "02:30".into() }, "Europe/Berlin");
        // 2026-03-29: clocks jump from 02:00 to 03:00; 02:30 does not exist, so 03:30 CEST.
        let spring = s.next_after(ts("2026-03-28T12:00:00Z"), Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(spring, ts("2026-03-29T01:30:00Z"));
        let after = s.next_after(spring, Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(after, ts("2026-03-30T00:30:00Z"));
        // 2026-10-25: 02:30 happens twice; the first (CEST, UTC+2) only.
        let autumn = s.next_after(ts("2026-10-24T12:00:00Z"), Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(autumn, ts("2026-10-25T00:30:00Z"));
        let next = s.next_after(autumn, Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(next, ts("2026-10-26T01:30:00Z"));
    }

    #[test]
    fn weekly_picks_listed_days() {
        let s = compiled(ScheduleKind::Weekly { days: vec![Weekday::Mon, Weekday::Fri], time: "09:00".into() }, "UTC");
        // 2026-11-28 is a Saturday.
        assert_eq!(
            s.next_after(ts("2026-11-28T10:00:00Z"), ts("2026-01-01T00:00:00Z")),
            Some(ts("2026-11-30T09:00:00Z"))
        );
        assert_eq!(
            s.next_after(ts("2026-11-30T09:00:00Z"), ts("2026-01-01T00:00:00Z")),
            Some(ts("2026-12-04T09:00:00Z"))
        );
    }

    #[test]
    fn interval_counts_from_the_anchor_and_skips_missed_ticks() {
        let s = compiled(ScheduleKind::Interval { every: "6h".into() }, "UTC");
        let anchor = ts("2026-11-28T00:00:00Z");
        assert_eq!(s.next_after(anchor, anchor), Some(ts("2026-11-28T06:00:00Z")));
        // Three days of downtime: the next tick is the first one after now, not a backlog.
        assert_eq!(s.next_after(ts("2026-12-01T07:00:00Z"), anchor), Some(ts("2026-12-01T12:00:00Z")));
        assert!(Schedule { kind: ScheduleKind::Interval { every: "10s".into() }, time_zone: utc() }.compile().is_err());
        assert_eq!(parse_interval("1d"), Ok(SignedDuration::from_hours(24)));
    }

    #[test]
    fn once_and_manual() {
        let s = compiled(ScheduleKind::Once { at: "2026-12-01T09:00".into() }, "Europe/Berlin");
        assert_eq!(s.next_after(ts("2026-11-28T00:00:00Z"), Timestamp::UNIX_EPOCH), Some(ts("2026-12-01T08:00:00Z")));
        assert_eq!(s.next_after(ts("2026-12-01T08:00:00Z"), Timestamp::UNIX_EPOCH), None);
        assert_eq!(
            compiled(ScheduleKind::Manual, "UTC").next_after(ts("2026-11-28T00:00:00Z"), Timestamp::UNIX_EPOCH),
            None
        );
    }

    #[test]
    fn a_one_off_past_the_end_of_time_says_so() {
        let schedule =
            |at: &str, zone: &str| Schedule { kind: ScheduleKind::Once { at: at.into() }, time_zone: zone.into() };
        let problems = schedule("9999-12-31T09:00", "UTC").compile().unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("too far ahead"), "{problems:?}");
        // The same local time where it is still an instant ucm can hold: a time to come.
        let far = schedule("9999-12-31T09:00", "Pacific/Kiritimati").compile().unwrap();
        assert_eq!(far.next_after(ts("2026-12-05T00:00:00Z"), Timestamp::UNIX_EPOCH), Some(ts("9999-12-30T19:00:00Z")));
    }

    #[test]
    fn cron_across_dst_runs_once_per_local_day() {
        let s = compiled(ScheduleKind::Cron { expr: "30 2 * * *".into() }, "Europe/Berlin");
        let runs = |from: &str, n: usize| {
            let mut t = ts(from);
            (0..n)
                .map(|_| {
                    t = s.next_after(t, Timestamp::UNIX_EPOCH).unwrap();
                    t
                })
                .collect::<Vec<_>>()
        };
        // 29 March: 02:30 does not exist; the run comes right after the gap (03:00 CEST).
        assert_eq!(
            runs("2026-03-27T12:00:00Z", 3),
            vec![ts("2026-03-28T01:30:00Z"), ts("2026-03-29T01:00:00Z"), ts("2026-03-30T00:30:00Z")]
        );
        // 25 October: 02:30 happens twice; only the first runs.
        assert_eq!(
            runs("2026-10-23T12:00:00Z", 3),
            vec![ts("2026-10-24T00:30:00Z"), ts("2026-10-25T00:30:00Z"), ts("2026-10-26T01:30:00Z")]
        );
        // A half-hour zone: Adelaide skips 02:00–03:00 on 4 October 2026 (+09:30 → +10:30).
        let adelaide = compiled(ScheduleKind::Cron { expr: "30 2 * * *".into() }, "Australia/Adelaide");
        assert_eq!(
            adelaide.next_after(ts("2026-10-03T12:00:00Z"), Timestamp::UNIX_EPOCH),
            Some(ts("2026-10-03T16:30:00Z")),
            "03:00 ACDT, right after the gap"
        );
        // Every 15 minutes: by the clock, through both copies of the repeated hour.
        let quarter = compiled(ScheduleKind::Cron { expr: "*/15 * * * *".into() }, "Europe/Berlin");
        assert_eq!(
            quarter.next_after(ts("2026-10-25T00:50:00Z"), Timestamp::UNIX_EPOCH),
            Some(ts("2026-10-25T01:00:00Z"))
        );
    }

    #[test]
    fn cron_in_a_time_zone() {
        let s = compiled(ScheduleKind::Cron { expr: "0 5 * * 1-5".into() }, "Europe/Berlin");
        // Saturday 2026-11-28 → Monday 2026-11-30 05:00 CET = 04:00 UTC.
        assert_eq!(s.next_after(ts("2026-11-28T10:00:00Z"), Timestamp::UNIX_EPOCH), Some(ts("2026-11-30T04:00:00Z")));
    }

    #[test]
    fn bad_schedules_name_their_fields() {
        let bad = |kind, tz: &str| Schedule { kind, time_zone: tz.to_owned() }.compile().unwrap_err();
        assert_eq!(bad(ScheduleKind::Manual, "Mars/Olympus")[0].field, "schedule.timeZone");
        assert_eq!(bad(ScheduleKind::Cron { expr: "61 * * * *".into() }, "UTC")[0].field, "schedule.expr");
        assert_eq!(
            bad(ScheduleKind::Cron { expr: "0 25 * * *".into() }, "UTC")[0].message,
            "the hour field `25` is not valid: value must be in range 0..=23; found 25"
        );
        assert_eq!(bad(ScheduleKind::Manual, "Europe/Berln")[0].suggestions[0], "Europe/Berlin");
        assert_eq!(bad(ScheduleKind::Cron { expr: "* * *".into() }, "UTC")[0].field, "schedule.expr");
        assert_eq!(
            bad(ScheduleKind::Cron { expr: "0 0 31 2 *".into() }, "UTC")[0].message,
            "this expression never matches a date"
        );
        assert_eq!(bad(ScheduleKind::Daily { time: "25:00".into() }, "UTC")[0].field, "schedule.time");
        assert_eq!(bad(ScheduleKind::Once { at: "tomorrow".into() }, "UTC")[0].field, "schedule.at");
    }

    #[test]
    fn one_offs_written_differently_are_the_same() {
        let once =
            |at: &str, zone: &str| Schedule { kind: ScheduleKind::Once { at: at.into() }, time_zone: zone.into() };
        assert!(once("2026-06-01T09:00:00", "UTC").same_as(&once("2026-06-01T09:00", "UTC")));
        assert!(!once("2026-06-01T09:00", "UTC").same_as(&once("2026-06-01T09:01", "UTC")));
        assert!(!once("2026-06-01T09:00", "UTC").same_as(&once("2026-06-01T09:00", "Europe/Berlin")));
        let daily = Schedule { kind: ScheduleKind::Daily { time: "05:00".into() }, time_zone: "UTC".into() };
        assert!(daily.same_as(&daily.clone()) && !daily.same_as(&once("2026-06-01T09:00", "UTC")));
    }

    #[test]
    fn schedule_wire_shape() {
        let s: Schedule =
            serde_json::from_str(r#"{"type":"weekly","days":["mon"],"time":"05:00","timeZone":"Europe/Berlin"}"#)
                .unwrap();
        assert_eq!(s.kind, ScheduleKind::Weekly { days: vec![Weekday::Mon], time: "05:00".into() });
        let manual: Schedule = serde_json::from_str(r#"{"type":"manual"}"#).unwrap();
        assert_eq!(serde_json::to_string(&manual).unwrap(), r#"{"type":"manual","timeZone":"UTC"}"#);
        let typo = serde_json::from_str::<Schedule>(r#"{"type":"daily","time":"05:00","tz":"Europe/Berlin"}"#);
        assert!(typo.unwrap_err().to_string().contains("unknown field `tz`"));
        let action = serde_json::from_str::<Action>(r#"{"type":"addToGroups","groupIds":["g"],"group":"x"}"#);
        assert!(action.unwrap_err().to_string().contains("unknown field `group`"));
        let action: Action = serde_json::from_str(r#"{"type":"suspendUsers"}"#).unwrap();
        assert_eq!(action, Action::SuspendUsers);
    }

    #[test]
    fn limits() {
        let l = ExecutionLimit { max_users: Some(50), max_percent: Some(10.0) };
        assert_eq!(l.max_changed(1000), Some(50));
        assert_eq!(l.max_changed(100), Some(10));
        assert_eq!(
            effective_limit(&[ExecutionLimit::default(), ExecutionLimit { max_users: Some(7), max_percent: None }], 10),
            Some(7)
        );
        assert_eq!(effective_limit(&[], 10), None);
    }
}
