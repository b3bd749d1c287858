//! Reading the directory: the catalog (sites, apps, groups) and User Browser queries.

use std::collections::HashMap;

use jiff::Timestamp;
use model::directory::{AppAccess, AppGrant, AppType, Catalog, Group, RoleAssignment, Site, User, UserStatus};
use model::filter::{PageRequest, ResolvedFilter, SortKey, SortOrder};
use model::ids::{AccountId, AppKey, GroupId, SiteId};
use sqlx::Row as _;

use crate::sql::{SqlBuilder, like_escape, ts};
use crate::{Result, Store, StoreError};

/// One page of users and the number of users matching in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    pub users: Vec<User>,
    pub total: u64,
}

/// The widest `IN (…)` list we send in one statement when loading users by id.
const ID_CHUNK: usize = 500;

impl Store {
    /// Sites, app types (with aliases) and groups (with grants).
    pub async fn catalog(&self) -> Result<Catalog> {
        let sites = sqlx::query("SELECT site_id, name, url FROM sites ORDER BY name_key")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| -> Result<Site> {
                Ok(Site { site_id: SiteId(r.try_get(0)?), name: r.try_get(1)?, url: r.try_get(2)? })
            })
            .collect::<Result<Vec<_>>>()?;

        let mut aliases: HashMap<String, Vec<String>> = HashMap::new();
        for row in
            sqlx::query("SELECT app_type, alias FROM app_type_aliases ORDER BY alias_key").fetch_all(&self.pool).await?
        {
            aliases.entry(row.try_get(0)?).or_default().push(row.try_get(1)?);
        }
        let apps = sqlx::query("SELECT app_type, display_name FROM app_types ORDER BY position, app_type")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| -> Result<AppType> {
                let key: String = r.try_get(0)?;
                Ok(AppType {
                    aliases: aliases.remove(&key).unwrap_or_default(),
                    app_type: AppKey(key),
                    display_name: r.try_get(1)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;

        let mut grants: HashMap<String, Vec<AppGrant>> = HashMap::new();
        for row in
            sqlx::query("SELECT group_id, app_type, site_id FROM group_grants ORDER BY group_id, app_type, site_id")
                .fetch_all(&self.pool)
                .await?
        {
            grants
                .entry(row.try_get(0)?)
                .or_default()
                .push(AppGrant { app_type: AppKey(row.try_get(1)?), site_id: SiteId(row.try_get(2)?) });
        }
        let mut external = Vec::new();
        let groups = sqlx::query("SELECT group_id, name, site_id, managed_externally FROM groups ORDER BY name_key")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| -> Result<Group> {
                let id: String = r.try_get(0)?;
                if r.try_get::<i64, _>(3)? != 0 {
                    external.push(GroupId(id.clone()));
                }
                Ok(Group {
                    grants: grants.remove(&id).unwrap_or_default(),
                    group_id: GroupId(id),
                    name: r.try_get(1)?,
                    site_id: r.try_get::<Option<String>, _>(2)?.map(SiteId),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Catalog::new(sites, apps, groups).with_managed_externally(external))
    }

    /// The account whose email is `email` (any case), if there is one.
    pub async fn account_id_by_email(&self, email: &str) -> Result<Option<AccountId>> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT account_id FROM users WHERE email_key = $1 ORDER BY account_id LIMIT 1")
                .bind(email.trim().to_lowercase())
                .fetch_optional(&self.pool)
                .await?;
        Ok(id.map(AccountId))
    }

    /// How many users the directory holds.
    pub async fn count_users(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// The users matching `filter` at instant `now`: one page in the requested order, and the
    /// total. Ties in the sort key are broken by account id, so pages never overlap.
    pub async fn query_users(&self, filter: &ResolvedFilter, page: &PageRequest, now: Timestamp) -> Result<UserPage> {
        let mut count = SqlBuilder::new(self.engine, "SELECT COUNT(*) FROM users u WHERE ");
        push_conditions(&mut count, filter, now);
        let total: i64 = count.query().fetch_one(&self.pool).await?.try_get(0)?;

        let mut select = SqlBuilder::new(self.engine, "SELECT u.account_id FROM users u WHERE ");
        push_conditions(&mut select, filter, now);
        let column = match page.sort {
            SortKey::DisplayName => "u.name_key",
            SortKey::Email => "u.email_key",
            SortKey::Status => "u.status",
            SortKey::LastActive => "u.activity_at",
            SortKey::CreatedAt => "u.created_at",
        };
        let direction = match page.order {
            SortOrder::Asc => "ASC",
            SortOrder::Desc => "DESC",
        };
        // Literal numbers (validated integers), so the planner can use an index for the order.
        select.push(&format!(
            " ORDER BY {column} {direction}, u.account_id {direction} LIMIT {} OFFSET {}",
            page.page_size,
            page.offset()
        ));
        let ids = select
            .query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0).map(AccountId))
            .collect::<Result<Vec<_>, _>>()?;
        let users = self.users_by_id(&ids).await?;
        Ok(UserPage { users, total: u64::try_from(total).unwrap_or_default() })
    }

    /// Every account id matching `filter` (for selections such as "all N matching").
    pub async fn matching_account_ids(&self, filter: &ResolvedFilter, now: Timestamp) -> Result<Vec<AccountId>> {
        let mut select = SqlBuilder::new(self.engine, "SELECT u.account_id FROM users u WHERE ");
        push_conditions(&mut select, filter, now);
        select.push(" ORDER BY u.account_id");
        Ok(select
            .query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0).map(AccountId))
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// The stored creation time of each of these users that exists.
    pub async fn created_at_of(&self, ids: &[AccountId]) -> Result<HashMap<AccountId, Timestamp>> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(ID_CHUNK) {
            let keys: Vec<String> = chunk.iter().map(|id| id.0.clone()).collect();
            let mut q = SqlBuilder::new(self.engine, "SELECT account_id, created_at FROM users WHERE account_id IN ");
            q.bind_list(&keys);
            for row in q.query().fetch_all(&self.pool).await? {
                out.insert(AccountId(row.try_get(0)?), ts(row.try_get(1)?));
            }
        }
        Ok(out)
    }

    /// One user, with sites, groups, app access and roles.
    pub async fn user(&self, account_id: &AccountId) -> Result<User> {
        self.users_by_id(std::slice::from_ref(account_id))
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("user `{account_id}`")))
    }

    /// Users by id, in the order given; ids that do not exist are left out.
    pub async fn users_by_id(&self, ids: &[AccountId]) -> Result<Vec<User>> {
        let mut by_id: HashMap<String, User> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(ID_CHUNK) {
            let keys: Vec<String> = chunk.iter().map(|id| id.0.clone()).collect();
            let mut q = SqlBuilder::new(
                self.engine,
                "SELECT account_id, display_name, email, status, last_active, created_at FROM users WHERE account_id IN ",
            );
            q.bind_list(&keys);
            for row in q.query().fetch_all(&self.pool).await? {
                let id: String = row.try_get(0)?;
                let status: String = row.try_get(3)?;
                let user = User {
                    account_id: AccountId(id.clone()),
                    display_name: row.try_get(1)?,
                    email: row.try_get(2)?,
                    status: status
                        .parse::<UserStatus>()
                        .map_err(|e| StoreError::Other(format!("user `{id}` has an unknown status: {e}")))?,
                    sites: vec![],
                    groups: vec![],
                    app_access: vec![],
                    roles: vec![],
                    last_active: row.try_get::<Option<i64>, _>(4)?.map(ts),
                    created_at: ts(row.try_get(5)?),
                };
                by_id.insert(id, user);
            }

            let mut q = SqlBuilder::new(self.engine, "SELECT account_id, site_id FROM user_sites WHERE account_id IN ");
            q.bind_list(&keys).push(" ORDER BY account_id, site_id");
            for row in q.query().fetch_all(&self.pool).await? {
                if let Some(user) = by_id.get_mut(&row.try_get::<String, _>(0)?) {
                    user.sites.push(SiteId(row.try_get(1)?));
                }
            }
            let mut q =
                SqlBuilder::new(self.engine, "SELECT account_id, group_id FROM user_groups WHERE account_id IN ");
            q.bind_list(&keys).push(" ORDER BY account_id, group_id");
            for row in q.query().fetch_all(&self.pool).await? {
                if let Some(user) = by_id.get_mut(&row.try_get::<String, _>(0)?) {
                    user.groups.push(GroupId(row.try_get(1)?));
                }
            }
            let mut q = SqlBuilder::new(
                self.engine,
                "SELECT account_id, app_type, site_id, last_active FROM user_app_access WHERE account_id IN ",
            );
            q.bind_list(&keys).push(" ORDER BY account_id, app_type, site_id");
            for row in q.query().fetch_all(&self.pool).await? {
                if let Some(user) = by_id.get_mut(&row.try_get::<String, _>(0)?) {
                    user.app_access.push(AppAccess {
                        app_type: AppKey(row.try_get(1)?),
                        site_id: SiteId(row.try_get(2)?),
                        last_active: row.try_get::<Option<i64>, _>(3)?.map(ts),
                    });
                }
            }
            let mut q = SqlBuilder::new(
                self.engine,
                "SELECT account_id, role, app_type, site_id FROM user_roles WHERE account_id IN ",
            );
            q.bind_list(&keys).push(" ORDER BY account_id, role, app_type, site_id");
            for row in q.query().fetch_all(&self.pool).await? {
                let id: String = row.try_get(0)?;
                let role: String = row.try_get(1)?;
                let app: String = row.try_get(2)?;
                let site: String = row.try_get(3)?;
                if let Some(user) = by_id.get_mut(&id) {
                    user.roles.push(RoleAssignment {
                        role: role
                            .parse()
                            .map_err(|e| StoreError::Other(format!("user `{id}` has an unknown role: {e}")))?,
                        app_type: (!app.is_empty()).then_some(AppKey(app)),
                        site_id: (!site.is_empty()).then_some(SiteId(site)),
                    });
                }
            }
        }
        Ok(ids.iter().filter_map(|id| by_id.remove(&id.0)).collect())
    }
}

/// Appends the WHERE conditions of `filter` (always at least `1 = 1`). Mirrors
/// [`ResolvedFilter::matches`] criterion by criterion. Set criteria are `account_id IN
/// (subquery)` over indexed tables, so the database can start from the smallest set.
fn push_conditions(q: &mut SqlBuilder, filter: &ResolvedFilter, now: Timestamp) {
    q.push("1 = 1");
    if let Some(text) = &filter.q {
        let pattern = format!("%{}%", like_escape(text));
        q.push(" AND (u.name_key LIKE ").bind(pattern.clone()).push(" ESCAPE '\\' OR u.email_key LIKE ");
        q.bind(pattern).push(" ESCAPE '\\')");
    }
    if let Some(site) = &filter.site {
        q.push(" AND u.account_id IN (SELECT s.account_id FROM user_sites s WHERE s.site_id = ");
        q.bind(site.0.clone()).push(")");
    }
    let app_access = |q: &mut SqlBuilder, apps: &[AppKey]| {
        let keys: Vec<String> = apps.iter().map(|a| a.0.clone()).collect();
        q.push("SELECT a.account_id FROM user_app_access a WHERE a.app_type IN ");
        q.bind_list(&keys);
        if let Some(site) = &filter.site {
            q.push(" AND a.site_id = ").bind(site.0.clone());
        }
    };
    let cutoff = filter.inactive_cutoff(now);
    if !filter.apps.is_empty() {
        q.push(" AND u.account_id IN (");
        app_access(q, &filter.apps);
        if let Some(cutoff) = cutoff {
            // Inactive in the named apps: the latest activity among them is at or before the cutoff.
            q.push(" GROUP BY a.account_id HAVING MAX(a.activity_at) <= ").bind(cutoff);
        }
        q.push(")");
    } else if let Some(cutoff) = cutoff {
        q.push(" AND u.activity_at <= ").bind(cutoff);
    }
    if !filter.not_apps.is_empty() {
        q.push(" AND u.account_id NOT IN (");
        app_access(q, &filter.not_apps);
        q.push(")");
    }
    if !filter.roles.is_empty() {
        let roles: Vec<String> = filter.roles.iter().map(|r| r.as_str().to_owned()).collect();
        q.push(" AND u.account_id IN (SELECT r.account_id FROM user_roles r WHERE r.role IN ");
        q.bind_list(&roles).push(")");
    }
    if !filter.groups.is_empty() {
        let ids: Vec<String> = filter.groups.iter().map(|g| g.0.clone()).collect();
        q.push(" AND u.account_id IN (SELECT g.account_id FROM user_groups g WHERE g.group_id IN ");
        q.bind_list(&ids).push(")");
    }
    if !filter.exclude_groups.is_empty() {
        let ids: Vec<String> = filter.exclude_groups.iter().map(|g| g.0.clone()).collect();
        q.push(" AND u.account_id NOT IN (SELECT g.account_id FROM user_groups g WHERE g.group_id IN ");
        q.bind_list(&ids).push(")");
    }
    if !filter.email_domains.is_empty() {
        q.push(" AND u.email_domain IN ").bind_list(&filter.email_domains);
    }
    if !filter.statuses.is_empty() {
        let statuses: Vec<String> = filter.statuses.iter().map(|s| s.as_str().to_owned()).collect();
        q.push(" AND u.status IN ").bind_list(&statuses);
    }
}
