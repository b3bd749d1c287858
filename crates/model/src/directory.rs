//! The directory: sites, app types, groups and users (PRODUCT §2).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{AccountId, AppKey, GroupId, SiteId};

/// A site of the organization (one Atlassian cloud instance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Site {
    pub site_id: SiteId,
    pub name: String,
    pub url: String,
}

/// A product a user can have access to. App types are data: the defaults are seeded, more can
/// be added without a code change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppType {
    pub app_type: AppKey,
    pub display_name: String,
    /// Other names people use for this app, such as `JSM`.
    pub aliases: Vec<String>,
}

/// The access to one app on one site.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppGrant {
    pub app_type: AppKey,
    pub site_id: SiteId,
}

/// A group, and the app accesses its membership grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub group_id: GroupId,
    pub name: String,
    /// Set for a site-local group.
    pub site_id: Option<SiteId>,
    pub grants: Vec<AppGrant>,
}

/// A user's account status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum UserStatus {
    Active,
    Suspended,
    Deactivated,
    Invited,
    NotInvited,
    Closed,
}

impl UserStatus {
    /// Every status, in the order the product lists them.
    pub const ALL: [UserStatus; 6] =
        [Self::Active, Self::Suspended, Self::Deactivated, Self::Invited, Self::NotInvited, Self::Closed];

    /// The wire name (`notInvited`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deactivated => "deactivated",
            Self::Invited => "invited",
            Self::NotInvited => "notInvited",
            Self::Closed => "closed",
        }
    }
}

impl fmt::Display for UserStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl UserStatus {
    /// What a sentence says of a user with this status (`the user's account is closed`).
    pub fn of_the_user(self) -> &'static str {
        match self {
            Self::Active => "the user is active",
            Self::Suspended => "the user is suspended",
            Self::Deactivated => "the user's account is deactivated",
            Self::Invited => "the user is invited and has not joined yet",
            Self::NotInvited => "the user has no membership in the directory (not invited)",
            Self::Closed => "the user's account is closed",
        }
    }
}

/// A value that is not one of a closed set of names; says which names are valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a valid {what}; expected one of: {}", expected.join(", "))]
pub struct UnknownName {
    pub what: &'static str,
    pub input: String,
    pub expected: Vec<&'static str>,
}

impl FromStr for UserStatus {
    type Err = UnknownName;

    /// Parses a status, ignoring case and `-`/`_`/spaces (`not invited` is `notInvited`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = normalize_word(s);
        Self::ALL.into_iter().find(|status| normalize_word(status.as_str()) == wanted).ok_or_else(|| UnknownName {
            what: "status",
            input: s.to_owned(),
            expected: Self::ALL.iter().map(|s| s.as_str()).collect(),
        })
    }
}

/// A role a user holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    OrgAdmin,
    ProductAdmin,
    UserAccessAdmin,
    SiteAdmin,
    User,
    Guest,
    Customer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 7] = [
        Self::OrgAdmin,
        Self::ProductAdmin,
        Self::UserAccessAdmin,
        Self::SiteAdmin,
        Self::User,
        Self::Guest,
        Self::Customer,
    ];

    /// The wire name (`orgAdmin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrgAdmin => "orgAdmin",
            Self::ProductAdmin => "productAdmin",
            Self::UserAccessAdmin => "userAccessAdmin",
            Self::SiteAdmin => "siteAdmin",
            Self::User => "user",
            Self::Guest => "guest",
            Self::Customer => "customer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = normalize_word(s);
        Self::ALL.into_iter().find(|role| normalize_word(role.as_str()) == wanted).ok_or_else(|| UnknownName {
            what: "role",
            input: s.to_owned(),
            expected: Self::ALL.iter().map(|r| r.as_str()).collect(),
        })
    }
}

fn normalize_word(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, '-' | '_' | ' ')).flat_map(char::to_lowercase).collect()
}

/// A role held by a user, scoped to an app and/or site where the role is scoped
/// (a product admin of Jira on one site).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_type: Option<AppKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<SiteId>,
}

impl RoleAssignment {
    /// An unscoped role.
    pub fn plain(role: Role) -> Self {
        Self { role, app_type: None, site_id: None }
    }
}

/// A user's access to one app on one site, and when they last used it (`None`: never).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppAccess {
    pub app_type: AppKey,
    pub site_id: SiteId,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_active: Option<Timestamp>,
}

/// A user of the directory.
///
/// App access is not assigned directly: it is what the user's groups grant. `app_access` lists
/// those grants with the user's last activity in each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub account_id: AccountId,
    pub display_name: String,
    pub email: String,
    pub status: UserStatus,
    pub sites: Vec<SiteId>,
    pub groups: Vec<GroupId>,
    pub app_access: Vec<AppAccess>,
    pub roles: Vec<RoleAssignment>,
    /// Last sign-in anywhere; `None` when the user never signed in.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_active: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl User {
    /// When the user was last active: a user who never signed in counts as active at creation.
    pub fn effective_last_active(&self) -> Timestamp {
        self.last_active.unwrap_or(self.created_at)
    }

    /// Whether the user holds `role` (in any scope).
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.iter().any(|r| r.role == role)
    }

    /// The part of the email after the last `@`, lower-cased.
    pub fn email_domain(&self) -> String {
        email_domain(&self.email)
    }
}

/// The domain of an email address, lower-cased (`""` when there is no `@`).
pub fn email_domain(email: &str) -> String {
    email.rsplit_once('@').map(|(_, d)| d.trim().to_lowercase()).unwrap_or_default()
}

/// Everything a person can name in a filter: sites, app types and groups, with lookups by id or
/// by name, ignoring case.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub sites: Vec<Site>,
    pub apps: Vec<AppType>,
    pub groups: Vec<Group>,
    site_index: HashMap<String, usize>,
    app_index: HashMap<String, usize>,
    group_index: HashMap<String, usize>,
    /// Groups whose members an identity provider manages (changed there, not by ucm).
    managed_externally: std::collections::HashSet<GroupId>,
}

impl Catalog {
    /// Builds the lookups. Ids win over names when a name equals another entry's id.
    pub fn new(sites: Vec<Site>, apps: Vec<AppType>, groups: Vec<Group>) -> Self {
        let mut site_index = HashMap::new();
        for (i, site) in sites.iter().enumerate() {
            site_index.entry(site.name.to_lowercase()).or_insert(i);
            site_index.entry(host_of(&site.url)).or_insert(i);
        }
        for (i, site) in sites.iter().enumerate() {
            site_index.insert(site.site_id.0.to_lowercase(), i);
        }
        let mut app_index = HashMap::new();
        for (i, app) in apps.iter().enumerate() {
            app_index.entry(app.display_name.to_lowercase()).or_insert(i);
            for alias in &app.aliases {
                app_index.entry(alias.to_lowercase()).or_insert(i);
            }
        }
        for (i, app) in apps.iter().enumerate() {
            app_index.insert(app.app_type.0.to_lowercase(), i);
        }
        let mut group_index = HashMap::new();
        for (i, group) in groups.iter().enumerate() {
            group_index.entry(group.name.to_lowercase()).or_insert(i);
        }
        for (i, group) in groups.iter().enumerate() {
            group_index.insert(group.group_id.0.to_lowercase(), i);
        }
        Self { sites, apps, groups, site_index, app_index, group_index, managed_externally: Default::default() }
    }

    /// The same catalog, knowing which groups an identity provider manages.
    pub fn with_managed_externally(mut self, groups: impl IntoIterator<Item = GroupId>) -> Self {
        self.managed_externally = groups.into_iter().collect();
        self
    }

    /// Whether an identity provider manages the group's members (ucm may not change them).
    pub fn is_managed_externally(&self, id: &GroupId) -> bool {
        self.managed_externally.contains(id)
    }

    /// A site by id, name or URL host, ignoring case.
    pub fn site(&self, input: &str) -> Option<&Site> {
        let key = input.trim().to_lowercase();
        self.site_index.get(&key).or_else(|| self.site_index.get(&host_of(&key))).map(|&i| &self.sites[i])
    }

    /// An app type by key, display name or alias, ignoring case.
    pub fn app(&self, input: &str) -> Option<&AppType> {
        self.app_index.get(&input.trim().to_lowercase()).map(|&i| &self.apps[i])
    }

    /// A group by id or name, ignoring case.
    pub fn group(&self, input: &str) -> Option<&Group> {
        self.group_index.get(&input.trim().to_lowercase()).map(|&i| &self.groups[i])
    }

    /// A group by its exact id (not its name).
    pub fn group_by_id(&self, id: &GroupId) -> Option<&Group> {
        self.group_index.get(&id.0.to_lowercase()).map(|&i| &self.groups[i]).filter(|g| &g.group_id == id)
    }

    /// Every name a person could use for a site (for suggestions).
    pub fn site_names(&self) -> impl Iterator<Item = &str> {
        self.sites.iter().map(|s| s.name.as_str())
    }

    /// Every name a person could use for an app (for suggestions).
    pub fn app_names(&self) -> impl Iterator<Item = &str> {
        self.apps.iter().flat_map(|a| {
            std::iter::once(a.display_name.as_str())
                .chain(std::iter::once(a.app_type.as_str()))
                .chain(a.aliases.iter().map(String::as_str))
        })
    }

    /// Every group name (for suggestions).
    pub fn group_names(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().map(|g| g.name.as_str())
    }
}

/// `https://acme.atlassian.net/` → `acme.atlassian.net`.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or_default().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::new(
            vec![Site { site_id: "s1".into(), name: "acme".into(), url: "https://acme.atlassian.net".into() }],
            vec![AppType {
                app_type: "jira-servicedesk".into(),
                display_name: "Jira Service Management".into(),
                aliases: vec!["JSM".into(), "service desk".into()],
            }],
            vec![Group { group_id: "g1".into(), name: "Engineering".into(), site_id: None, grants: vec![] }],
        )
    }

    #[test]
    fn apps_resolve_by_key_display_name_and_alias_ignoring_case() {
        let c = catalog();
        for input in ["jira-servicedesk", "Jira Service Management", "jsm", "JSM", "Service Desk"] {
            assert_eq!(c.app(input).map(|a| a.app_type.as_str()), Some("jira-servicedesk"), "{input}");
        }
        assert!(c.app("jira").is_none());
    }

    #[test]
    fn sites_resolve_by_id_name_and_url() {
        let c = catalog();
        for input in ["s1", "ACME", "acme.atlassian.net", "https://acme.atlassian.net/"] {
            assert_eq!(c.site(input).map(|s| s.site_id.as_str()), Some("s1"), "{input}");
        }
    }

    #[test]
    fn statuses_and_roles_parse_leniently_and_explain_failures() {
        assert_eq!("not invited".parse::<UserStatus>(), Ok(UserStatus::NotInvited));
        assert_eq!("ORG_ADMIN".parse::<Role>(), Ok(Role::OrgAdmin));
        let err = "actve".parse::<UserStatus>().unwrap_err();
        assert!(err.to_string().contains("active, suspended"), "{err}");
    }
}

/// A named reference to a site or group, for views people read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SiteRef {
    pub site_id: SiteId,
    pub name: String,
}

/// A group membership, with the group's current name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupRef {
    pub group_id: GroupId,
    pub name: String,
}

/// An app access with the app's and site's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppAccessView {
    pub app_type: AppKey,
    pub app_name: String,
    pub site_id: SiteId,
    pub site_name: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_active: Option<Timestamp>,
}

/// A user as the API and CLI show it: ids kept, names alongside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub account_id: AccountId,
    pub display_name: String,
    pub email: String,
    pub status: UserStatus,
    pub sites: Vec<SiteRef>,
    pub groups: Vec<GroupRef>,
    pub app_access: Vec<AppAccessView>,
    pub roles: Vec<RoleAssignment>,
    /// Last sign-in; `null` when the user never signed in.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_active: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl User {
    /// The user with names from `catalog` (an id the catalog does not know shows as itself).
    pub fn view(&self, catalog: &Catalog) -> UserView {
        let site_name = |id: &SiteId| catalog.site(id.as_str()).map_or_else(|| id.0.clone(), |s| s.name.clone());
        UserView {
            account_id: self.account_id.clone(),
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            status: self.status,
            sites: self.sites.iter().map(|id| SiteRef { site_id: id.clone(), name: site_name(id) }).collect(),
            groups: self
                .groups
                .iter()
                .map(|id| GroupRef {
                    group_id: id.clone(),
                    name: catalog.group(id.as_str()).map_or_else(|| id.0.clone(), |g| g.name.clone()),
                })
                .collect(),
            app_access: self
                .app_access
                .iter()
                .map(|a| AppAccessView {
                    app_type: a.app_type.clone(),
                    app_name: catalog
                        .app(a.app_type.as_str())
                        .map_or_else(|| a.app_type.0.clone(), |x| x.display_name.clone()),
                    site_id: a.site_id.clone(),
                    site_name: site_name(&a.site_id),
                    last_active: a.last_active,
                })
                .collect(),
            roles: self.roles.clone(),
            last_active: self.last_active,
            created_at: self.created_at,
        }
    }
}
