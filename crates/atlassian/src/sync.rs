//! Reading a whole organization into the shape of the local mirror (NOTES §0.5): sites and
//! their products from workspaces, groups and what they grant from group role assignments,
//! users with status, email, org-admin role, memberships and last activity per product per
//! site from one paged users search. Nothing is written to the mirror until everything is read;
//! each page read is kept (a [`Journal`]) so that a sync which failed midway resumes.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use model::directory::{AppAccess, AppGrant, Group, Role, RoleAssignment, Site, User, UserStatus};
use model::ids::{AccountId, AppKey, GroupId, SiteId};
use serde::{Deserialize, Serialize};
use store::DirectoryImport;

use crate::api::{self, bare_id, cursor_of, parse_site_ari};
use crate::client::{AdminClient, AdminError};
use crate::organization::OrgError;

/// Users and groups are read 100 at a time, the most the API gives.
const PAGE: u32 = 100;

/// Roles a group grants that give use of a product (not `user-access-admin`, which does not).
const ACCESS_ROLES: [&str; 8] = [
    "atlassian/user",
    "atlassian/admin",
    "atlassian/guest",
    "atlassian/customer",
    "atlassian/contributor",
    "atlassian/basic",
    "atlassian/stakeholder",
    "atlassian/viewer",
];

/// Display names of the product keys ucm does not seed (the seeded ones keep theirs).
const PRODUCT_NAMES: [(&str, &str); 8] = [
    ("jira-core", "Jira Work Management"),
    ("jira-admin", "Jira administration"),
    ("opsgenie", "Opsgenie"),
    ("statuspage", "Statuspage"),
    ("trello", "Trello"),
    ("loom", "Loom"),
    ("townsquare", "Atlassian Home"),
    ("avp", "Atlassian Analytics"),
];

/// Where a sync stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncProgress {
    pub sites: u64,
    pub groups: u64,
    pub users: u64,
    /// How many users the directory has, as Atlassian counted them when reading users began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_total: Option<u64>,
}

impl std::fmt::Display for SyncProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} sites, {} groups, {} ", self.sites, self.groups, self.users)?;
        match self.users_total {
            Some(total) => write!(f, "of {total} users read"),
            None => write!(f, "users read"),
        }
    }
}

/// An organization as read, ready to become the mirror.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub import: DirectoryImport,
    /// Product keys met that may be new to the mirror: (key, display name).
    pub app_types: Vec<(String, String)>,
    /// Groups synced from an identity provider: their members cannot be changed.
    pub unmodifiable_groups: Vec<GroupId>,
}

/// What a sync reads, in this order: sites (workspaces), then groups, then users.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    #[default]
    Sites,
    Groups,
    Users,
}

impl Phase {
    fn following(self) -> Option<Phase> {
        match self {
            Phase::Sites => Some(Phase::Groups),
            Phase::Groups => Some(Phase::Users),
            Phase::Users => None,
        }
    }
}

/// One page as read and mapped: what it added to the organization read so far, and where the
/// next page of its phase is. A sync keeps each in a [`Journal`]; replaying them in order
/// gives back the state the sync was in, so a sync that failed midway resumes after its last
/// kept page instead of starting over.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadPage {
    pub phase: Phase,
    /// The cursor of the phase's next page; none when this was its last.
    pub next: Option<String>,
    /// Sites first met on this page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<Site>,
    /// Product keys first met on this page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmodifiable_groups: Vec<GroupId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<User>,
    /// On the first page of users: how many Atlassian counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_total: Option<u64>,
}

/// Where the pages of a sync are kept while it reads.
#[async_trait::async_trait]
pub trait Journal: Send {
    /// Keeps `page` (with the counts so far) before the next one is asked for; an error stops
    /// the sync.
    async fn keep(&mut self, page: &ReadPage, counts: SyncProgress) -> Result<(), OrgError>;
}

/// Keeping nothing: a sync that fails starts over.
#[async_trait::async_trait]
impl Journal for () {
    async fn keep(&mut self, _: &ReadPage, _: SyncProgress) -> Result<(), OrgError> {
        Ok(())
    }
}

/// Reads the organization's directory from the start, keeping nothing.
pub async fn fetch(
    client: &AdminClient,
    org_id: &str,
    directory_id: &str,
    progress: &(dyn Fn(SyncProgress) + Sync),
) -> Result<Fetched, OrgError> {
    fetch_resuming(client, org_id, directory_id, Vec::new(), &mut (), progress).await
}

/// Reads the organization's directory: first replays `kept` (the pages an earlier attempt
/// read, in order), then reads on from where they end, keeping each new page in `journal`.
pub async fn fetch_resuming(
    client: &AdminClient,
    org_id: &str,
    directory_id: &str,
    kept: Vec<ReadPage>,
    journal: &mut dyn Journal,
    progress: &(dyn Fn(SyncProgress) + Sync),
) -> Result<Fetched, OrgError> {
    let mut reading = Reading::default();
    let mut at = Some((Phase::Sites, None));
    for page in kept {
        at = match &page.next {
            Some(cursor) => Some((page.phase, Some(cursor.clone()))),
            None => page.phase.following().map(|phase| (phase, None)),
        };
        reading.replay(page);
    }
    progress(reading.counts());
    let dir = format!("/v2/orgs/{org_id}/directories/{directory_id}");
    while let Some((phase, cursor)) = at {
        let next = match phase {
            Phase::Sites => reading.sites_page(client, org_id, cursor).await?,
            Phase::Groups => reading.groups_page(client, &dir, cursor).await?,
            Phase::Users => reading.users_page(client, &dir, cursor).await?,
        };
        let page = std::mem::take(&mut reading.page);
        journal.keep(&ReadPage { phase, next: next.clone(), ..page }, reading.counts()).await?;
        progress(reading.counts());
        at = match next {
            Some(cursor) => Some((phase, Some(cursor))),
            None => phase.following().map(|phase| (phase, None)),
        };
    }
    Ok(reading.into_fetched())
}

/// An organization being read.
#[derive(Debug, Default)]
struct Reading {
    sites: BTreeMap<String, Site>,
    products: BTreeSet<String>,
    groups: Vec<Group>,
    unmodifiable_groups: Vec<GroupId>,
    users: Vec<User>,
    users_total: Option<u64>,
    /// The ids of `groups`, once they are all read.
    known_groups: Option<BTreeSet<String>>,
    /// What the page being read adds.
    page: ReadPage,
}

impl Reading {
    fn counts(&self) -> SyncProgress {
        SyncProgress {
            sites: self.sites.len() as u64,
            groups: self.groups.len() as u64,
            users: self.users.len() as u64,
            users_total: self.users_total,
        }
    }

    fn replay(&mut self, page: ReadPage) {
        for site in page.sites {
            self.sites.entry(site.site_id.0.clone()).or_insert(site);
        }
        self.products.extend(page.products);
        self.groups.extend(page.groups);
        self.unmodifiable_groups.extend(page.unmodifiable_groups);
        self.users.extend(page.users);
        self.users_total = page.users_total.or(self.users_total);
    }

    /// Notes the site `cloud_id`, named from `attributes` if it is new.
    fn site(&mut self, cloud_id: &str, attributes: &api::WorkspaceAttributes) {
        if !self.sites.contains_key(cloud_id) {
            let found = site(cloud_id, attributes);
            self.page.sites.push(found.clone());
            self.sites.insert(cloud_id.to_owned(), found);
        }
    }

    /// Notes the product `key`.
    fn product(&mut self, key: &str) {
        if self.products.insert(key.to_owned()) {
            self.page.products.push(key.to_owned());
        }
    }

    /// Reads a page of workspaces (sites and their products); the next page's cursor.
    async fn sites_page(
        &mut self,
        client: &AdminClient,
        org_id: &str,
        cursor: Option<String>,
    ) -> Result<Option<String>, AdminError> {
        let search = match cursor {
            // A cursor goes alone in the body.
            Some(cursor) => api::WorkspaceSearch { limit: None, cursor: Some(cursor) },
            None => api::WorkspaceSearch { limit: Some(PAGE), cursor: None },
        };
        let page: api::Page<api::Workspace> = client.post(&format!("/v2/orgs/{org_id}/workspaces"), &search).await?;
        for workspace in &page.data {
            let Some((product, cloud_id)) = parse_site_ari(&workspace.id) else { continue };
            self.product(&product_key(product));
            self.site(cloud_id, &workspace.attributes);
        }
        Ok(cursor_of(page.links.next.as_deref()))
    }

    /// Reads a page of groups with what each grants; the next page's cursor.
    async fn groups_page(
        &mut self,
        client: &AdminClient,
        dir: &str,
        cursor: Option<String>,
    ) -> Result<Option<String>, AdminError> {
        let search = api::GroupSearch { limit: Some(PAGE), cursor };
        let page: api::Page<api::DirectoryGroup> = client.post(&format!("{dir}/groups/search"), &search).await?;
        for group in &page.data {
            let grants = self.group_grants(client, dir, &group.id).await?;
            let group_id = GroupId(bare_id(&group.id).to_owned());
            if !group.modifiable() {
                self.unmodifiable_groups.push(group_id.clone());
                self.page.unmodifiable_groups.push(group_id.clone());
            }
            let group = Group { group_id, name: group.name.clone(), site_id: None, grants };
            self.page.groups.push(group.clone());
            self.groups.push(group);
        }
        Ok(cursor_of(page.links.next.as_deref()))
    }

    /// Reads a page of users; the next page's cursor.
    async fn users_page(
        &mut self,
        client: &AdminClient,
        dir: &str,
        cursor: Option<String>,
    ) -> Result<Option<String>, AdminError> {
        if cursor.is_none() {
            // Only for progress: a count that fails does not stop the sync.
            let counted: Result<api::Count, _> = client.get(&format!("{dir}/users/count")).await;
            match counted {
                Ok(counted) => {
                    self.users_total = Some(counted.count);
                    self.page.users_total = Some(counted.count);
                }
                Err(AdminError::Unauthorized) => return Err(AdminError::Unauthorized),
                Err(e) => tracing::debug!(error = %e, "the directory's users could not be counted"),
            }
        }
        let search = api::UserSearch {
            cursor,
            limit: Some(PAGE),
            expand: ["platformRoles", "productAccess", "groups"].map(str::to_owned).to_vec(),
            ..api::UserSearch::default()
        };
        let page: api::Page<api::DirectoryUser> = client.post(&format!("{dir}/users/search"), &search).await?;
        if self.known_groups.is_none() {
            self.known_groups = Some(self.groups.iter().map(|g| g.group_id.0.clone()).collect());
        }
        for found in &page.data {
            let user = self.user(found);
            self.page.users.push(user.clone());
            self.users.push(user);
        }
        Ok(cursor_of(page.links.next.as_deref()))
    }

    /// The products a group grants, by site.
    async fn group_grants(
        &mut self,
        client: &AdminClient,
        dir: &str,
        group_id: &str,
    ) -> Result<Vec<AppGrant>, AdminError> {
        let mut grants = BTreeSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                // With a cursor, other parameters are ignored.
                Some(cursor) => format!("{dir}/groups/{}/role-assignments?cursor={cursor}", bare_id(group_id)),
                None => format!("{dir}/groups/{}/role-assignments?limit={PAGE}", bare_id(group_id)),
            };
            let page: api::Page<api::GroupRoleAssignment> = client.get(&path).await?;
            for assignment in &page.data {
                if !assignment.roles.iter().chain(&assignment.default_role).any(|r| ACCESS_ROLES.contains(&r.as_str()))
                {
                    continue;
                }
                if let Some((product, cloud_id)) = parse_site_ari(&assignment.resource_id) {
                    let key = product_key(product);
                    self.product(&key);
                    self.site(cloud_id, &api::WorkspaceAttributes::default());
                    grants.insert(AppGrant { app_type: AppKey(key), site_id: SiteId(cloud_id.to_owned()) });
                }
            }
            match cursor_of(page.links.next.as_deref()) {
                Some(next) => cursor = Some(next),
                None => return Ok(grants.into_iter().collect()),
            }
        }
    }

    /// A user in the mirror's shape. Sites are where they have a product; groups unknown to the
    /// group list (another directory's) are left out.
    fn user(&mut self, found: &api::DirectoryUser) -> User {
        let mut app_access = Vec::new();
        let mut user_sites = BTreeSet::new();
        for access in found.product_access.iter().flatten() {
            let Some((product, cloud_id)) = parse_site_ari(&access.id) else { continue };
            let key = product_key(product);
            self.product(&key);
            self.site(cloud_id, &api::WorkspaceAttributes::default());
            user_sites.insert(SiteId(cloud_id.to_owned()));
            app_access.push(AppAccess {
                app_type: AppKey(key),
                site_id: SiteId(cloud_id.to_owned()),
                last_active: instant(access.last_active_timestamp.as_deref()),
            });
        }
        let groups: Vec<GroupId> = found
            .groups
            .iter()
            .flatten()
            .map(|g| bare_id(&g.id))
            .filter(|id| self.known_groups.as_ref().is_some_and(|known| known.contains(*id)))
            .map(|id| GroupId(id.to_owned()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut roles = Vec::new();
        for role in found.platform_roles.iter().flatten() {
            match role.as_str() {
                "atlassian/org-admin" => roles.push(RoleAssignment::plain(Role::OrgAdmin)),
                "atlassian/site-admin" => roles.push(RoleAssignment::plain(Role::SiteAdmin)),
                "atlassian/user-access-admin" => roles.push(RoleAssignment::plain(Role::UserAccessAdmin)),
                _ => {}
            }
        }
        let last_active = app_access.iter().filter_map(|a| a.last_active).max();
        // A user with no join date counts from their first activity, else from the epoch.
        let created_at = instant(found.added_to_org.as_deref())
            .or(app_access.iter().filter_map(|a| a.last_active).min())
            .unwrap_or(Timestamp::UNIX_EPOCH);
        User {
            account_id: AccountId(found.account_id.clone()),
            display_name: found.name.clone(),
            email: found.email.clone().unwrap_or_default(),
            status: status(found),
            sites: user_sites.into_iter().collect(),
            groups,
            app_access,
            roles,
            last_active,
            created_at,
        }
    }

    fn into_fetched(self) -> Fetched {
        let app_types = self
            .products
            .into_iter()
            .map(|key| {
                let name =
                    PRODUCT_NAMES.iter().find(|(k, _)| *k == key).map_or_else(|| key.clone(), |(_, n)| (*n).to_owned());
                (key, name)
            })
            .collect();
        let import =
            DirectoryImport { sites: self.sites.into_values().collect(), groups: self.groups, users: self.users };
        Fetched { import, app_types, unmodifiable_groups: self.unmodifiable_groups }
    }
}

/// The product key as ucm names app types (`jira-service-desk` of v1 is `jira-servicedesk`).
fn product_key(product: &str) -> String {
    match product {
        "jira-service-desk" => "jira-servicedesk".to_owned(),
        other => other.to_owned(),
    }
}

/// A site from a workspace: named by its host label, else the workspace's name, else its id.
fn site(cloud_id: &str, attributes: &api::WorkspaceAttributes) -> Site {
    let url = attributes.host_url.clone().unwrap_or_default();
    let host = url.split("://").nth(1).unwrap_or(&url).split(['.', '/']).next().unwrap_or_default();
    let name = if !host.is_empty() {
        host.to_owned()
    } else {
        attributes.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| cloud_id.to_owned())
    };
    Site { site_id: SiteId(cloud_id.to_owned()), name, url }
}

/// ucm's status from Atlassian's (NOTES §2.3): a closed account is closed whatever its
/// membership; `for_deletion` is deactivated.
fn status(user: &api::DirectoryUser) -> UserStatus {
    if user.account_status.as_deref() == Some("closed") {
        return UserStatus::Closed;
    }
    match user.status.as_str() {
        "suspended" => UserStatus::Suspended,
        "not_invited" => UserStatus::NotInvited,
        "deactivated" | "for_deletion" => UserStatus::Deactivated,
        _ => UserStatus::Active,
    }
}

fn instant(text: Option<&str>) -> Option<Timestamp> {
    text.and_then(|t| t.trim().parse::<Timestamp>().ok())
}
