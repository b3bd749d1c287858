//! The simulated organization, in Atlassian's terms: users with an account status and a
//! directory membership status, groups (some synced from an identity provider) that grant
//! products on sites, and last activity per product per site.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use model::directory::{Role, UserStatus};

use crate::api;

/// One site (a `cloudId`) and the products it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSite {
    pub cloud_id: String,
    /// The host label (`acme` of `https://acme.atlassian.net`).
    pub name: String,
    pub url: String,
    /// Product keys (`jira-software`, `confluence`, …).
    pub products: Vec<String>,
}

/// A group and what it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimGroup {
    pub id: String,
    pub name: String,
    /// False for a group synced from an identity provider: admins cannot change its members.
    pub modifiable: bool,
    /// (product key, cloud id) pairs its members get (`atlassian/user`).
    pub grants: Vec<(String, String)>,
}

/// A user of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimUser {
    pub account_id: String,
    pub name: String,
    pub email: String,
    /// `active`, `inactive`, `closed`.
    pub account_status: &'static str,
    /// `active`, `suspended`, `no_membership`.
    pub membership_status: &'static str,
    pub added_to_org: Timestamp,
    pub org_admin: bool,
    pub groups: BTreeSet<String>,
    /// Last activity by (product key, cloud id); absent when never used.
    pub last_active: BTreeMap<(String, String), Timestamp>,
}

impl SimUser {
    /// The composite `status` (NOTES §2.3).
    pub fn status(&self) -> &'static str {
        match (self.account_status, self.membership_status) {
            ("closed", _) | ("inactive", _) => "deactivated",
            (_, "suspended") => "suspended",
            (_, "no_membership") => "not_invited",
            _ => "active",
        }
    }
}

/// A whole organization with one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOrg {
    pub org_id: String,
    pub org_name: String,
    pub directory_id: String,
    pub directory_name: String,
    pub sites: Vec<SimSite>,
    pub groups: Vec<SimGroup>,
    pub users: BTreeMap<String, SimUser>,
    /// How many users a product on a site (product key, cloud id) may have: adding a user to a
    /// group past it answers 409. None set: no limit.
    pub capacity: BTreeMap<(String, String), usize>,
}

/// Groups whose names start with this are synced from an identity provider.
pub const SYNCED_PREFIX: &str = "entra-";

impl SimOrg {
    /// An organization of `users` people made by the demo generator (`seed`, activity up to
    /// `now`), in Atlassian's terms, plus two groups synced from an identity provider.
    pub fn generate(users: usize, now: Timestamp, seed: u64) -> Self {
        let demo = directory::demo::organization(users, now, seed);
        let mut products: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for group in &demo.groups {
            for grant in &group.grants {
                products.entry(grant.site_id.0.clone()).or_default().insert(grant.app_type.0.clone());
            }
        }
        let sites = demo
            .sites
            .iter()
            .map(|s| SimSite {
                cloud_id: s.site_id.0.clone(),
                name: s.name.clone(),
                url: s.url.clone(),
                products: products.get(&s.site_id.0).map(|p| p.iter().cloned().collect()).unwrap_or_default(),
            })
            .collect();
        let mut groups: Vec<SimGroup> = demo
            .groups
            .iter()
            .map(|g| SimGroup {
                id: g.group_id.0.clone(),
                name: g.name.clone(),
                modifiable: true,
                grants: g.grants.iter().map(|x| (x.app_type.0.clone(), x.site_id.0.clone())).collect(),
            })
            .collect();
        let mut rng = directory::demo::DemoRng::new(seed ^ 0x5157);
        let synced: Vec<SimGroup> = ["all-staff", "engineering"]
            .iter()
            .map(|name| SimGroup {
                id: format!("{}-{}-4{}-8{}-{}", rng.hex(8), rng.hex(4), rng.hex(3), rng.hex(3), rng.hex(12)),
                name: format!("{SYNCED_PREFIX}{name}"),
                modifiable: false,
                grants: Vec::new(),
            })
            .collect();
        let users = demo
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let (account_status, membership_status) = match u.status {
                    UserStatus::Active | UserStatus::Invited => ("active", "active"),
                    UserStatus::Suspended => ("active", "suspended"),
                    UserStatus::NotInvited => ("active", "no_membership"),
                    UserStatus::Deactivated => ("inactive", "active"),
                    UserStatus::Closed => ("closed", "active"),
                };
                let mut member_of: BTreeSet<String> = u.groups.iter().map(|g| g.0.clone()).collect();
                if i % 3 == 0 {
                    member_of.insert(synced[0].id.clone());
                }
                let last_active = u
                    .app_access
                    .iter()
                    .filter_map(|a| a.last_active.map(|at| ((a.app_type.0.clone(), a.site_id.0.clone()), at)))
                    .collect();
                let user = SimUser {
                    account_id: u.account_id.0.clone(),
                    name: u.display_name.clone(),
                    email: u.email.clone(),
                    account_status,
                    membership_status,
                    added_to_org: u.created_at,
                    org_admin: u.has_role(Role::OrgAdmin),
                    groups: member_of,
                    last_active,
                };
                (user.account_id.clone(), user)
            })
            .collect();
        groups.extend(synced);
        Self {
            org_id: format!("{}-{}-{}-{}-{}", rng.hex(8), rng.hex(4), rng.hex(4), rng.hex(4), rng.hex(12)),
            org_name: "Acme (simulated)".to_owned(),
            directory_id: format!("{}-{}-{}-{}-{}", rng.hex(8), rng.hex(4), rng.hex(4), rng.hex(4), rng.hex(12)),
            directory_name: "Acme directory".to_owned(),
            sites,
            groups,
            users,
            capacity: BTreeMap::new(),
        }
    }

    /// Whether `account_id` has `grant` (product key, cloud id) through any of their groups.
    pub fn has_access(&self, account_id: &str, grant: &(String, String)) -> bool {
        self.users
            .get(account_id)
            .is_some_and(|user| self.groups.iter().any(|g| g.grants.contains(grant) && user.groups.contains(&g.id)))
    }

    /// The users `grant` (product key, cloud id) counts against its capacity.
    pub fn users_of(&self, grant: &(String, String)) -> usize {
        let granting: BTreeSet<&str> =
            self.groups.iter().filter(|g| g.grants.contains(grant)).map(|g| g.id.as_str()).collect();
        self.users.values().filter(|u| u.groups.iter().any(|g| granting.contains(g.as_str()))).count()
    }

    /// A product on a site that adding `account_id` to `group` would take past its capacity.
    pub fn over_capacity<'g>(&self, account_id: &str, group: &'g SimGroup) -> Option<&'g (String, String)> {
        group.grants.iter().find(|grant| {
            self.capacity
                .get(*grant)
                .is_some_and(|capacity| !self.has_access(account_id, grant) && self.users_of(grant) >= *capacity)
        })
    }

    pub fn group(&self, id: &str) -> Option<&SimGroup> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// The site ARI of a product on a site.
    pub fn ari(product: &str, cloud_id: &str) -> String {
        format!("ari:cloud:{product}::site/{cloud_id}")
    }

    /// What a user can use: the (product, site) pairs their groups grant, each with its last
    /// activity. A suspended or deactivated user keeps the grants (they come back on restore).
    pub fn product_access(&self, user: &SimUser) -> Vec<api::ProductAccess> {
        let mut pairs: BTreeSet<(String, String)> = BTreeSet::new();
        for id in &user.groups {
            if let Some(group) = self.group(id) {
                pairs.extend(group.grants.iter().cloned());
            }
        }
        pairs
            .into_iter()
            .map(|(product, cloud_id)| api::ProductAccess {
                key: product.clone(),
                id: Self::ari(&product, &cloud_id),
                last_active_timestamp: user.last_active.get(&(product, cloud_id)).map(|at| nanos(*at)),
            })
            .collect()
    }

    /// A user as `users/search` returns them, with the expands asked for.
    pub fn directory_user(&self, user: &SimUser, expand: &[String]) -> api::DirectoryUser {
        let wants = |name: &str| expand.iter().any(|e| e == name);
        api::DirectoryUser {
            account_id: user.account_id.clone(),
            account_type: Some("atlassian".to_owned()),
            status: user.status().to_owned(),
            account_status: Some(user.account_status.to_owned()),
            membership_status: Some(user.membership_status.to_owned()),
            added_to_org: Some(user.added_to_org.to_string()),
            name: user.name.clone(),
            nickname: Some(user.name.split(' ').next().unwrap_or_default().to_lowercase()),
            email: Some(user.email.clone()),
            claim_status: Some("managed".to_owned()),
            platform_roles: wants("platformRoles")
                .then(|| if user.org_admin { vec!["atlassian/org-admin".to_owned()] } else { Vec::new() }),
            product_access: wants("productAccess").then(|| self.product_access(user)),
            groups: wants("groups").then(|| {
                user.groups
                    .iter()
                    .filter_map(|id| self.group(id))
                    .map(|g| api::UserGroup {
                        id: format!("ari:cloud:identity::group/{}", g.id),
                        name: Some(g.name.clone()),
                    })
                    .collect()
            }),
        }
    }

    /// A group as `groups/search` returns it.
    pub fn directory_group(&self, group: &SimGroup) -> api::DirectoryGroup {
        api::DirectoryGroup {
            id: group.id.clone(),
            name: group.name.clone(),
            description: None,
            directory_id: Some(self.directory_id.clone()),
            management_access: Some(api::ManagementAccess {
                deletable: group.modifiable,
                modifiable: group.modifiable,
                readable: true,
            }),
            external_synced: Some(!group.modifiable),
            managed_by: Some(if group.modifiable { "admins" } else { "external" }.to_owned()),
        }
    }
}

/// An instant with nanoseconds, as `productAccess.lastActiveTimestamp` has them.
fn nanos(at: Timestamp) -> String {
    let text = format!("{at:.9}");
    if text.contains('.') { text } else { text.replace('Z', ".000000000Z") }
}
