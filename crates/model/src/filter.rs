//! User Browser filters (PRODUCT §3): what a person types ([`UserFilter`]), what it means once
//! names are resolved ([`ResolvedFilter`]), paging and sorting.
//!
//! Criteria combine with AND; the values inside one list combine with OR; exclusions subtract.
//! [`ResolvedFilter::matches`] is the reference semantics: the SQL in `store` must select
//! exactly the users it accepts (a test checks this on both engines).

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::directory::{Catalog, Role, User, UserStatus};
use crate::ids::{AppKey, GroupId, SiteId};
use crate::suggest;

/// The inactivity presets the User Browser offers (any other whole number of days works too).
pub const INACTIVE_DAYS_PRESETS: [u32; 7] = [3, 7, 14, 21, 30, 180, 365];
/// The largest accepted `inactiveDays` (100 years).
pub const MAX_INACTIVE_DAYS: u32 = 36_500;
/// The page sizes the User Browser offers.
pub const PAGE_SIZES: [u32; 5] = [10, 20, 50, 100, 200];
/// The page size when none is given.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// The most values one list criterion accepts (a guard against unbounded input).
pub const MAX_LIST_VALUES: usize = 100;
/// The longest accepted free-text search.
pub const MAX_QUERY_CHARS: usize = 200;
/// The longest accepted value in a list criterion (a name, a domain).
pub const MAX_VALUE_CHARS: usize = 256;

/// User Browser criteria as a person gives them: app names or aliases, group and site names,
/// in any case. Also the stored form of a saved filter (then with canonical ids).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserFilter {
    /// Substring of the display name or email, ignoring case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Not active for at least this many days. With `apps`, activity in those apps counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_days: Option<u32>,
    /// Has access to any of these apps (key, display name or alias).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<String>,
    /// Has access to none of these apps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_apps: Vec<String>,
    /// Holds any of these roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Member of any of these groups (id or name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Member of none of these groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_groups: Vec<String>,
    /// Belongs to this site (id, name or URL); app criteria then look at this site only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Email domain is any of these (`example.com`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_domains: Vec<String>,
    /// Status is any of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<String>,
}

/// One problem with one criterion, with the closest valid names when there are any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldProblem {
    /// The criterion, by its wire name (`apps`, `groups`, …).
    pub field: String,
    /// What was given.
    pub input: String,
    /// What is wrong, in words.
    pub message: String,
    /// The closest valid values, best first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<String>,
}

impl FieldProblem {
    /// A problem with no suggestions.
    pub fn new(field: &str, input: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.to_owned(), input: input.into(), message: message.into(), suggestions: vec![] }
    }

    /// Whether this is [`UserFilter::resolve`] saying a name matches nothing (an app, group,
    /// site, role or status), rather than that a value breaks a rule (too long, too many).
    pub fn is_unknown_name(&self) -> bool {
        (self.message.starts_with("no ") && self.message.contains(" is called `"))
            || self.message.ends_with("` is not a role")
            || self.message.ends_with("` is not a status")
    }
}

/// Criteria that could not be understood; every problem is listed, none is silently dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe_problems(.0))]
pub struct FilterError(pub Vec<FieldProblem>);

fn describe_problems(problems: &[FieldProblem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl std::fmt::Display for FieldProblem {
    /// `field: message`, then `(did you mean: a, b?)` when there are suggestions.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)?;
        if !self.suggestions.is_empty() {
            write!(f, " (did you mean: {}?)", self.suggestions.join(", "))?;
        }
        Ok(())
    }
}

impl UserFilter {
    /// The list criteria by wire name, in the order problems and links list them.
    fn lists(&self) -> [(&'static str, &Vec<String>); 7] {
        [
            ("apps", &self.apps),
            ("notApps", &self.not_apps),
            ("roles", &self.roles),
            ("groups", &self.groups),
            ("excludeGroups", &self.exclude_groups),
            ("emailDomains", &self.email_domains),
            ("statuses", &self.statuses),
        ]
    }

    /// The query string that reproduces these criteria in a User Browser link (`apps=…&…`).
    pub fn query_string(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(q) = &self.q {
            pairs.push(("q", q.clone()));
        }
        if let Some(days) = self.inactive_days {
            pairs.push(("inactiveDays", days.to_string()));
        }
        for (key, values) in self.lists() {
            pairs.extend(values.iter().map(|v| (key, v.clone())));
        }
        if let Some(site) = &self.site {
            pairs.push(("site", site.clone()));
        }
        let encoded: Vec<String> =
            pairs.iter().map(|(key, value)| format!("{key}={}", crate::webhook::encode_component(value))).collect();
        encoded.join("&")
    }
}

/// Criteria with every name resolved to an id. Built only by [`UserFilter::resolve`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedFilter {
    /// Lower-cased search text.
    pub q: Option<String>,
    pub inactive_days: Option<u32>,
    pub apps: Vec<AppKey>,
    pub not_apps: Vec<AppKey>,
    pub roles: Vec<Role>,
    pub groups: Vec<GroupId>,
    pub exclude_groups: Vec<GroupId>,
    pub site: Option<SiteId>,
    /// Lower-cased, without a leading `@`.
    pub email_domains: Vec<String>,
    pub statuses: Vec<UserStatus>,
}

impl UserFilter {
    /// Resolves every name against the catalog. An unknown name is an error that lists the
    /// closest known names; it never turns into an empty result.
    pub fn resolve(&self, catalog: &Catalog) -> Result<ResolvedFilter, FilterError> {
        let mut problems = Vec::new();
        for (field, values) in self.lists() {
            let len = values.len();
            if len > MAX_LIST_VALUES {
                problems.push(FieldProblem::new(
                    field,
                    format!("{len} values"),
                    format!("at most {MAX_LIST_VALUES} values are accepted"),
                ));
            }
        }
        let singles = [("q", self.q.as_deref()), ("site", self.site.as_deref())];
        let lists = self.lists();
        let values = singles
            .into_iter()
            .filter_map(|(field, value)| value.map(|v| (field, v)))
            .chain(lists.into_iter().flat_map(|(field, values)| values.iter().map(move |v| (field, v.as_str()))));
        for (field, value) in values {
            if value.chars().any(char::is_control) {
                problems.push(FieldProblem::new(
                    field,
                    value.escape_debug().to_string(),
                    "control characters are not allowed",
                ));
            } else if field != "q" && value.chars().count() > MAX_VALUE_CHARS {
                let shown: String = value.chars().take(40).collect();
                problems.push(FieldProblem::new(
                    field,
                    format!("{shown}…"),
                    format!("at most {MAX_VALUE_CHARS} characters"),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(FilterError(problems));
        }

        let q = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_lowercase);
        if let Some(q) = &q
            && q.chars().count() > MAX_QUERY_CHARS
        {
            problems.push(FieldProblem::new("q", q.clone(), format!("at most {MAX_QUERY_CHARS} characters")));
        }
        if let Some(days) = self.inactive_days
            && days > MAX_INACTIVE_DAYS
        {
            problems.push(FieldProblem::new(
                "inactiveDays",
                days.to_string(),
                format!("must be a whole number of days from 0 to {MAX_INACTIVE_DAYS}"),
            ));
        }

        let mut resolve_apps = |field: &str, inputs: &[String]| -> Vec<AppKey> {
            let mut keys = Vec::new();
            for input in non_empty(inputs) {
                match catalog.app(input) {
                    Some(app) => push_unique(&mut keys, app.app_type.clone()),
                    None => problems.push(FieldProblem {
                        suggestions: suggest::closest(input, catalog.app_names(), 3),
                        ..FieldProblem::new(field, input, format!("no app is called `{input}`"))
                    }),
                }
            }
            keys
        };
        let apps = resolve_apps("apps", &self.apps);
        let not_apps = resolve_apps("notApps", &self.not_apps);

        let mut resolve_groups = |field: &str, inputs: &[String]| -> Vec<GroupId> {
            let mut ids = Vec::new();
            for input in non_empty(inputs) {
                match catalog.group(input) {
                    Some(group) => push_unique(&mut ids, group.group_id.clone()),
                    None => problems.push(FieldProblem {
                        suggestions: suggest::closest(input, catalog.group_names(), 3),
                        ..FieldProblem::new(field, input, format!("no group is called `{input}`"))
                    }),
                }
            }
            ids
        };
        let groups = resolve_groups("groups", &self.groups);
        let exclude_groups = resolve_groups("excludeGroups", &self.exclude_groups);

        let site = match self.site.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(input) => match catalog.site(input) {
                Some(site) => Some(site.site_id.clone()),
                None => {
                    problems.push(FieldProblem {
                        suggestions: suggest::closest_or_all(input, catalog.site_names(), 3),
                        ..FieldProblem::new("site", input, format!("no site is called `{input}`"))
                    });
                    None
                }
            },
        };

        let mut roles = Vec::new();
        for input in non_empty(&self.roles) {
            match input.parse::<Role>() {
                Ok(role) => push_unique(&mut roles, role),
                Err(_) => problems.push(FieldProblem {
                    suggestions: suggest::closest(input, Role::ALL.map(Role::as_str), 3),
                    ..FieldProblem::new("roles", input, format!("`{input}` is not a role"))
                }),
            }
        }

        let mut statuses = Vec::new();
        for input in non_empty(&self.statuses) {
            match input.parse::<UserStatus>() {
                Ok(status) => push_unique(&mut statuses, status),
                Err(_) => problems.push(FieldProblem {
                    suggestions: suggest::closest(input, UserStatus::ALL.map(UserStatus::as_str), 3),
                    ..FieldProblem::new("statuses", input, format!("`{input}` is not a status"))
                }),
            }
        }

        let mut email_domains = Vec::new();
        for input in non_empty(&self.email_domains) {
            let domain = input.trim_start_matches('@').to_lowercase();
            if domain.is_empty() || domain.contains('@') || domain.contains(char::is_whitespace) {
                problems.push(FieldProblem::new("emailDomains", input, "an email domain looks like `example.com`"));
            } else {
                push_unique(&mut email_domains, domain);
            }
        }

        if !problems.is_empty() {
            return Err(FilterError(problems));
        }
        Ok(ResolvedFilter {
            q,
            inactive_days: self.inactive_days,
            apps,
            not_apps,
            roles,
            groups,
            exclude_groups,
            site,
            email_domains,
            statuses,
        })
    }
}

fn non_empty(values: &[String]) -> impl Iterator<Item = &str> {
    values.iter().map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn push_unique<T: PartialEq>(values: &mut Vec<T>, value: T) {
    if !values.contains(&value) {
        values.push(value);
    }
}

impl ResolvedFilter {
    /// The instant a user must have been last active at or before to count as inactive.
    pub fn inactive_cutoff(&self, now: Timestamp) -> Option<Timestamp> {
        self.inactive_days
            .map(|days| now.checked_sub(SignedDuration::from_hours(24 * i64::from(days))).unwrap_or(Timestamp::MIN))
    }

    /// Whether `user` meets every criterion at instant `now`. The reference semantics.
    pub fn matches(&self, user: &User, now: Timestamp) -> bool {
        let on_site = |site_id: &SiteId| self.site.as_ref().is_none_or(|s| s == site_id);
        let has_app =
            |apps: &[AppKey]| user.app_access.iter().any(|a| apps.contains(&a.app_type) && on_site(&a.site_id));
        if let Some(q) = &self.q
            && !user.display_name.to_lowercase().contains(q)
            && !user.email.to_lowercase().contains(q)
        {
            return false;
        }
        if let Some(site) = &self.site
            && !user.sites.contains(site)
        {
            return false;
        }
        if !self.apps.is_empty() && !has_app(&self.apps) {
            return false;
        }
        if !self.not_apps.is_empty() && has_app(&self.not_apps) {
            return false;
        }
        if let Some(cutoff) = self.inactive_cutoff(now) {
            let last_active = if self.apps.is_empty() {
                Some(user.effective_last_active())
            } else {
                user.app_access
                    .iter()
                    .filter(|a| self.apps.contains(&a.app_type) && on_site(&a.site_id))
                    .map(|a| a.last_active.unwrap_or(user.created_at))
                    .max()
            };
            if last_active.is_none_or(|at| at > cutoff) {
                return false;
            }
        }
        if !self.roles.is_empty() && !self.roles.iter().any(|r| user.has_role(*r)) {
            return false;
        }
        if !self.groups.is_empty() && !user.groups.iter().any(|g| self.groups.contains(g)) {
            return false;
        }
        if user.groups.iter().any(|g| self.exclude_groups.contains(g)) {
            return false;
        }
        if !self.email_domains.is_empty() && !self.email_domains.contains(&user.email_domain()) {
            return false;
        }
        if !self.statuses.is_empty() && !self.statuses.contains(&user.status) {
            return false;
        }
        true
    }

    /// The criteria with canonical ids and keys: the stored form of a saved filter, which keeps
    /// working when a group or site is renamed.
    pub fn to_canonical(&self) -> UserFilter {
        UserFilter {
            q: self.q.clone(),
            inactive_days: self.inactive_days,
            apps: self.apps.iter().map(|a| a.0.clone()).collect(),
            not_apps: self.not_apps.iter().map(|a| a.0.clone()).collect(),
            roles: self.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            groups: self.groups.iter().map(|g| g.0.clone()).collect(),
            exclude_groups: self.exclude_groups.iter().map(|g| g.0.clone()).collect(),
            site: self.site.as_ref().map(|s| s.0.clone()),
            email_domains: self.email_domains.clone(),
            statuses: self.statuses.iter().map(|s| s.as_str().to_owned()).collect(),
        }
    }

    /// The criteria with display names, for people to read (and for links that people edit).
    pub fn to_display(&self, catalog: &Catalog) -> UserFilter {
        let app_name = |key: &AppKey| catalog.app(key.as_str()).map_or(key.0.clone(), |a| a.display_name.clone());
        let group_name = |id: &GroupId| catalog.group(id.as_str()).map_or(id.0.clone(), |g| g.name.clone());
        UserFilter {
            apps: self.apps.iter().map(app_name).collect(),
            not_apps: self.not_apps.iter().map(app_name).collect(),
            groups: self.groups.iter().map(group_name).collect(),
            exclude_groups: self.exclude_groups.iter().map(group_name).collect(),
            site: self.site.as_ref().map(|s| catalog.site(s.as_str()).map_or(s.0.clone(), |s| s.name.clone())),
            ..self.to_canonical()
        }
    }
}

/// The order of a user list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SortKey {
    #[default]
    DisplayName,
    Email,
    Status,
    LastActive,
    CreatedAt,
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

/// Which page of a user list, in which order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct PageRequest {
    /// 1-based page number.
    pub page: u32,
    /// One of 10, 20, 50, 100, 200.
    pub page_size: u32,
    pub sort: SortKey,
    pub order: SortOrder,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, page_size: DEFAULT_PAGE_SIZE, sort: SortKey::default(), order: SortOrder::default() }
    }
}

impl PageRequest {
    /// Checks the numbers: page from 1, a page size the User Browser offers.
    pub fn validate(&self) -> Result<(), FilterError> {
        let mut problems = Vec::new();
        if self.page == 0 {
            problems.push(FieldProblem::new("page", "0", "pages are numbered from 1"));
        }
        if !PAGE_SIZES.contains(&self.page_size) {
            problems.push(FieldProblem {
                // The nearest allowed size (the message already lists them all).
                suggestions: PAGE_SIZES
                    .iter()
                    .min_by_key(|size| size.abs_diff(self.page_size))
                    .map(u32::to_string)
                    .into_iter()
                    .collect(),
                ..FieldProblem::new(
                    "pageSize",
                    self.page_size.to_string(),
                    "the page size must be one of 10, 20, 50, 100, 200",
                )
            });
        }
        if problems.is_empty() { Ok(()) } else { Err(FilterError(problems)) }
    }

    /// How many rows to skip.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.page_size)
    }
}

/// A saved filter: criteria under a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SavedFilter {
    pub filter_id: crate::ids::FilterId,
    pub name: String,
    /// Stored with canonical ids and keys.
    pub criteria: UserFilter,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// The longest accepted saved-filter name.
pub const MAX_FILTER_NAME_CHARS: usize = 120;

/// Checks a saved filter's name: not blank, not too long, no control characters.
pub fn validate_filter_name(name: &str) -> Result<String, FieldProblem> {
    let name = name.trim();
    if name.is_empty() {
        return Err(FieldProblem::new("name", name, "a saved filter needs a name"));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldProblem::new("name", name.escape_debug().to_string(), "control characters are not allowed"));
    }
    if name.chars().count() > MAX_FILTER_NAME_CHARS {
        return Err(FieldProblem::new("name", name, format!("at most {MAX_FILTER_NAME_CHARS} characters")));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{AppAccess, AppType, Group, RoleAssignment, Site};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn catalog() -> Catalog {
        Catalog::new(
            vec![
                Site { site_id: "s1".into(), name: "acme".into(), url: "https://acme.atlassian.net".into() },
                Site { site_id: "s2".into(), name: "acme-eu".into(), url: "https://acme-eu.atlassian.net".into() },
            ],
            vec![
                AppType { app_type: "jira-software".into(), display_name: "Jira".into(), aliases: vec!["jira".into()] },
                AppType {
                    app_type: "jira-servicedesk".into(),
                    display_name: "Jira Service Management".into(),
                    aliases: vec!["JSM".into()],
                },
            ],
            vec![
                Group { group_id: "g1".into(), name: "engineering".into(), site_id: None, grants: vec![] },
                Group { group_id: "g2".into(), name: "support".into(), site_id: None, grants: vec![] },
            ],
        )
    }

    fn user() -> User {
        User {
            account_id: "u1".into(),
            display_name: "Ada Lovelace".into(),
            email: "ada@Example.com".into(),
            status: UserStatus::Active,
            sites: vec!["s1".into()],
            groups: vec!["g1".into()],
            app_access: vec![
                AppAccess {
                    app_type: "jira-servicedesk".into(),
                    site_id: "s1".into(),
                    last_active: Some(ts("2026-09-01T00:00:00Z")),
                },
                AppAccess {
                    app_type: "jira-software".into(),
                    site_id: "s1".into(),
                    last_active: Some(ts("2026-11-27T00:00:00Z")),
                },
            ],
            roles: vec![RoleAssignment::plain(Role::User)],
            last_active: Some(ts("2026-11-27T00:00:00Z")),
            created_at: ts("2025-01-01T00:00:00Z"),
        }
    }

    const NOW: &str = "2026-11-28T00:00:00Z";

    fn matches(filter: UserFilter) -> bool {
        filter.resolve(&catalog()).unwrap().matches(&user(), ts(NOW))
    }

    #[test]
    fn inactivity_counts_activity_in_the_named_apps() {
        let inactive_in_jsm = UserFilter { apps: vec!["JSM".into()], inactive_days: Some(30), ..Default::default() };
        assert!(matches(inactive_in_jsm), "JSM unused since September");
        let inactive_anywhere = UserFilter { inactive_days: Some(30), ..Default::default() };
        assert!(!matches(inactive_anywhere), "active yesterday overall");
        let inactive_in_either =
            UserFilter { apps: vec!["JSM".into(), "jira".into()], inactive_days: Some(30), ..Default::default() };
        assert!(!matches(inactive_in_either), "the latest activity among the named apps counts");
    }

    #[test]
    fn lists_are_or_and_criteria_are_and() {
        assert!(matches(UserFilter { groups: vec!["support".into(), "ENGINEERING".into()], ..Default::default() }));
        assert!(!matches(UserFilter {
            groups: vec!["engineering".into()],
            statuses: vec!["suspended".into()],
            ..Default::default()
        }));
        assert!(!matches(UserFilter { exclude_groups: vec!["engineering".into()], ..Default::default() }));
        assert!(matches(UserFilter {
            email_domains: vec!["@EXAMPLE.com".into()],
            q: Some("LOVE".into()),
            ..Default::default()
        }));
    }

    #[test]
    fn site_scopes_the_app_criteria() {
        assert!(matches(UserFilter { site: Some("acme".into()), apps: vec!["jira".into()], ..Default::default() }));
        assert!(!matches(UserFilter { site: Some("acme-eu".into()), ..Default::default() }));
    }

    #[test]
    fn unknown_names_are_errors_with_suggestions_never_empty_results() {
        let err = UserFilter {
            apps: vec!["JMS".into()],
            groups: vec!["enginering".into()],
            site: Some("acme-us".into()),
            statuses: vec!["actve".into()],
            ..Default::default()
        }
        .resolve(&catalog())
        .unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["apps", "groups", "site", "statuses"]);
        assert_eq!(err.0[1].suggestions, ["engineering"]);
        assert_eq!(err.0[3].suggestions, ["active"]);
        assert!(err.0[2].suggestions.contains(&"acme".to_owned()), "{:?}", err.0[2]);
    }

    #[test]
    fn control_characters_and_overlong_values_are_refused_before_any_lookup() {
        let err = UserFilter { q: Some("a\0b".into()), email_domains: vec!["x\u{7}.com".into()], ..Default::default() }
            .resolve(&catalog())
            .unwrap_err();
        assert_eq!(err.0.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(), ["q", "emailDomains"]);
        let err =
            UserFilter { groups: vec!["g".repeat(10_000)], ..Default::default() }.resolve(&catalog()).unwrap_err();
        assert!(err.0[0].input.chars().count() < 50, "the echo is short");
    }

    #[test]
    fn paging_accepts_only_the_offered_sizes() {
        assert!(PageRequest { page_size: 50, ..Default::default() }.validate().is_ok());
        let err = PageRequest { page: 0, page_size: 7, ..Default::default() }.validate().unwrap_err();
        assert_eq!(err.0.len(), 2);
    }

    #[test]
    fn unknown_names_are_told_apart_from_broken_rules() {
        let empty = Catalog::new(vec![], vec![], vec![]);
        let names = UserFilter {
            groups: vec!["nope".into()],
            site: Some("nowhere".into()),
            roles: vec!["boss".into()],
            statuses: vec!["gone".into()],
            apps: vec!["Jria".into()],
            ..UserFilter::default()
        };
        let problems = names.resolve(&empty).unwrap_err().0;
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems.iter().all(FieldProblem::is_unknown_name), "{problems:?}");
        for broken in [
            UserFilter { apps: vec!["x".repeat(MAX_VALUE_CHARS + 1)], ..UserFilter::default() },
            UserFilter { q: Some("q".repeat(MAX_QUERY_CHARS + 1)), ..UserFilter::default() },
            UserFilter { groups: vec!["g".into(); MAX_LIST_VALUES + 1], ..UserFilter::default() },
            UserFilter { email_domains: vec!["not a domain".into()], ..UserFilter::default() },
        ] {
            let problems = broken.resolve(&empty).unwrap_err().0;
            assert!(!problems.iter().any(FieldProblem::is_unknown_name), "{problems:?}");
        }
    }
}
