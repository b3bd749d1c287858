//! Reading a whole organization into the shape of the local mirror (NOTES §0.5): sites and
//! their products from workspaces, groups and what they grant from group role assignments,
//! users with status, email, org-admin role, memberships and last activity per product per
//! site from one paged users search. Nothing is written until everything is read.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use model::directory::{AppAccess, AppGrant, Group, Role, RoleAssignment, Site, User, UserStatus};
use model::ids::{AccountId, AppKey, GroupId, SiteId};
use serde::Serialize;
use store::DirectoryImport;

use crate::api::{self, bare_id, cursor_of, parse_site_ari};
use crate::client::{AdminClient, AdminError};

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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncProgress {
    pub sites: u64,
    pub groups: u64,
    pub users: u64,
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

/// Reads the organization's directory.
pub async fn fetch(
    client: &AdminClient,
    org_id: &str,
    directory_id: &str,
    progress: &(dyn Fn(SyncProgress) + Sync),
) -> Result<Fetched, AdminError> {
    let mut counts = SyncProgress::default();
    let mut sites: BTreeMap<String, Site> = BTreeMap::new();
    let mut products: BTreeSet<String> = BTreeSet::new();

    let mut search = api::WorkspaceSearch { limit: Some(PAGE), cursor: None };
    loop {
        let page: api::Page<api::Workspace> = client.post(&format!("/v2/orgs/{org_id}/workspaces"), &search).await?;
        for workspace in &page.data {
            let Some((product, cloud_id)) = parse_site_ari(&workspace.id) else { continue };
            products.insert(product_key(product));
            sites.entry(cloud_id.to_owned()).or_insert_with(|| site(cloud_id, &workspace.attributes));
        }
        counts.sites = sites.len() as u64;
        progress(counts);
        match cursor_of(page.links.next.as_deref()) {
            // A cursor goes alone in the body.
            Some(cursor) => search = api::WorkspaceSearch { limit: None, cursor: Some(cursor) },
            None => break,
        }
    }

    let dir = format!("/v2/orgs/{org_id}/directories/{directory_id}");
    let mut groups = Vec::new();
    let mut unmodifiable_groups = Vec::new();
    let mut search = api::GroupSearch { limit: Some(PAGE), cursor: None };
    loop {
        let page: api::Page<api::DirectoryGroup> = client.post(&format!("{dir}/groups/search"), &search).await?;
        for group in &page.data {
            let grants = group_grants(client, &dir, &group.id, &mut sites, &mut products).await?;
            let group_id = GroupId(bare_id(&group.id).to_owned());
            if !group.modifiable() {
                unmodifiable_groups.push(group_id.clone());
            }
            groups.push(Group { group_id, name: group.name.clone(), site_id: None, grants });
            counts.groups += 1;
        }
        progress(counts);
        match cursor_of(page.links.next.as_deref()) {
            Some(cursor) => search = api::GroupSearch { limit: Some(PAGE), cursor: Some(cursor) },
            None => break,
        }
    }
    let known_groups: BTreeSet<&str> = groups.iter().map(|g| g.group_id.as_str()).collect();

    let mut users = Vec::new();
    let expand = ["platformRoles", "productAccess", "groups"].map(str::to_owned).to_vec();
    let mut search = api::UserSearch { limit: Some(PAGE), expand: expand.clone(), ..api::UserSearch::default() };
    loop {
        let page: api::Page<api::DirectoryUser> = client.post(&format!("{dir}/users/search"), &search).await?;
        for found in &page.data {
            users.push(user(found, &known_groups, &mut sites, &mut products));
        }
        counts.users = users.len() as u64;
        progress(counts);
        match cursor_of(page.links.next.as_deref()) {
            Some(cursor) => {
                search = api::UserSearch {
                    cursor: Some(cursor),
                    limit: Some(PAGE),
                    expand: expand.clone(),
                    ..api::UserSearch::default()
                }
            }
            None => break,
        }
    }

    let app_types = products
        .into_iter()
        .map(|key| {
            let name =
                PRODUCT_NAMES.iter().find(|(k, _)| *k == key).map_or_else(|| key.clone(), |(_, n)| (*n).to_owned());
            (key, name)
        })
        .collect();
    let import = DirectoryImport { sites: sites.into_values().collect(), groups, users };
    Ok(Fetched { import, app_types, unmodifiable_groups })
}

/// The products a group grants, by site.
async fn group_grants(
    client: &AdminClient,
    dir: &str,
    group_id: &str,
    sites: &mut BTreeMap<String, Site>,
    products: &mut BTreeSet<String>,
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
            if !assignment.roles.iter().chain(&assignment.default_role).any(|r| ACCESS_ROLES.contains(&r.as_str())) {
                continue;
            }
            if let Some((product, cloud_id)) = parse_site_ari(&assignment.resource_id) {
                let key = product_key(product);
                products.insert(key.clone());
                sites
                    .entry(cloud_id.to_owned())
                    .or_insert_with(|| site(cloud_id, &api::WorkspaceAttributes::default()));
                grants.insert(AppGrant { app_type: AppKey(key), site_id: SiteId(cloud_id.to_owned()) });
            }
        }
        match cursor_of(page.links.next.as_deref()) {
            Some(next) => cursor = Some(next),
            None => return Ok(grants.into_iter().collect()),
        }
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

/// A user in the mirror's shape. Sites are where they have a product; groups unknown to the
/// group list (another directory's) are left out.
fn user(
    found: &api::DirectoryUser,
    known_groups: &BTreeSet<&str>,
    sites: &mut BTreeMap<String, Site>,
    products: &mut BTreeSet<String>,
) -> User {
    let mut app_access = Vec::new();
    let mut user_sites = BTreeSet::new();
    for access in found.product_access.iter().flatten() {
        let Some((product, cloud_id)) = parse_site_ari(&access.id) else { continue };
        let key = product_key(product);
        products.insert(key.clone());
        sites.entry(cloud_id.to_owned()).or_insert_with(|| site(cloud_id, &api::WorkspaceAttributes::default()));
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
        .filter(|id| known_groups.contains(id))
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
