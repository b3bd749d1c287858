//! Changing the local directory: group memberships and account status, in batches.

use std::collections::{BTreeSet, HashMap, HashSet};

use model::directory::{Role, UserStatus};
use model::ids::GroupId;
use model::run::{Applied, Change, Op, Subject, check_op};
use sqlx::Row as _;

use crate::import::insert_rows;
use crate::sql::{Param, SqlBuilder};
use crate::{Engine, Result, Store, StoreError};

/// One user's state while a batch is checked.
struct Member {
    status: UserStatus,
    org_admin: bool,
    groups: HashSet<GroupId>,
    original_status: UserStatus,
}

impl Store {
    /// Applies `changes` in order, each checked against the user's state at that moment by the
    /// rules of [`check_op`] (a deactivated user cannot join a group, a deleted group is a
    /// failure, an organization admin is never changed, …). Returns one answer per change.
    /// All of them commit together, with the derived app access of the users whose groups
    /// changed: on an error nothing was applied. The users' rows are locked while they are
    /// checked, so concurrent runs cannot both change the same thing.
    pub async fn apply_changes(&self, changes: &[Change]) -> Result<Vec<Applied>> {
        self.changes(changes, true).await
    }

    /// What [`Store::apply_changes`] would answer, with nothing written: how a backend that
    /// changes another system (an Atlassian organization) decides which calls to make.
    pub async fn check_changes(&self, changes: &[Change]) -> Result<Vec<Applied>> {
        self.changes(changes, false).await
    }

    async fn changes(&self, changes: &[Change], write: bool) -> Result<Vec<Applied>> {
        let ids: Vec<String> =
            changes.iter().map(|c| c.account_id.0.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        let group_ids: Vec<String> = changes
            .iter()
            .filter_map(|c| match &c.op {
                Op::AddToGroup(g) | Op::RemoveFromGroup(g) => Some(g.0.clone()),
                _ => None,
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut tx = self.begin_write().await?;

        let mut members: HashMap<String, Member> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut q = SqlBuilder::new(self.engine, "SELECT account_id, status FROM users WHERE account_id IN ");
            q.bind_list(chunk).push(" ORDER BY account_id");
            if self.engine == crate::Engine::Postgres {
                q.push(" FOR UPDATE");
            }
            for row in q.query().fetch_all(&mut **tx).await? {
                let id: String = row.try_get(0)?;
                let status: String = row.try_get(1)?;
                let status = status
                    .parse::<UserStatus>()
                    .map_err(|e| StoreError::Other(format!("user `{id}` has an unknown status: {e}")))?;
                members
                    .insert(id, Member { status, org_admin: false, groups: HashSet::new(), original_status: status });
            }
            let mut q = SqlBuilder::new(self.engine, "SELECT account_id FROM user_roles WHERE role = ");
            q.bind(Role::OrgAdmin.as_str()).push(" AND account_id IN ").bind_list(chunk);
            for row in q.query().fetch_all(&mut **tx).await? {
                if let Some(member) = members.get_mut(&row.try_get::<String, _>(0)?) {
                    member.org_admin = true;
                }
            }
            let mut q =
                SqlBuilder::new(self.engine, "SELECT account_id, group_id FROM user_groups WHERE account_id IN ");
            q.bind_list(chunk);
            for row in q.query().fetch_all(&mut **tx).await? {
                if let Some(member) = members.get_mut(&row.try_get::<String, _>(0)?) {
                    member.groups.insert(GroupId(row.try_get(1)?));
                }
            }
        }
        let mut existing_groups: HashSet<String> = HashSet::new();
        let mut external_groups: HashSet<String> = HashSet::new();
        for chunk in group_ids.chunks(500) {
            let mut q =
                SqlBuilder::new(self.engine, "SELECT group_id, managed_externally FROM groups WHERE group_id IN ");
            q.bind_list(chunk);
            for row in q.query().fetch_all(&mut **tx).await? {
                let id: String = row.try_get(0)?;
                if row.try_get::<i64, _>(1)? != 0 {
                    external_groups.insert(id.clone());
                }
                existing_groups.insert(id);
            }
        }

        let mut added: BTreeSet<(String, String)> = BTreeSet::new();
        let mut removed: BTreeSet<(String, String)> = BTreeSet::new();
        let mut answers = Vec::with_capacity(changes.len());
        for change in changes {
            let Some(member) = members.get_mut(change.account_id.as_str()) else {
                answers.push(Applied::Failed("the user no longer exists in the directory".to_owned()));
                continue;
            };
            let (member_of, group_exists, group_managed_externally) = match &change.op {
                Op::AddToGroup(g) | Op::RemoveFromGroup(g) => (
                    member.groups.contains(g),
                    existing_groups.contains(g.as_str()),
                    external_groups.contains(g.as_str()),
                ),
                Op::Suspend | Op::Restore => (false, true, false),
            };
            let subject = Subject {
                status: member.status,
                org_admin: member.org_admin,
                member: member_of,
                group_exists,
                group_managed_externally,
            };
            let answer = check_op(&change.op, subject);
            if answer == Applied::Changed {
                let key = |g: &GroupId| (change.account_id.0.clone(), g.0.clone());
                match &change.op {
                    Op::AddToGroup(g) => {
                        member.groups.insert(g.clone());
                        let key = key(g);
                        removed.remove(&key);
                        added.insert(key);
                    }
                    Op::RemoveFromGroup(g) => {
                        member.groups.remove(g);
                        let key = key(g);
                        added.remove(&key);
                        removed.insert(key);
                    }
                    Op::Suspend => member.status = UserStatus::Suspended,
                    Op::Restore => member.status = UserStatus::Active,
                }
            }
            answers.push(answer);
        }
        if !write {
            return Ok(answers);
        }

        insert_rows(
            self.engine,
            &mut tx,
            "INSERT INTO user_groups (account_id, group_id) VALUES ",
            added.iter().map(|(a, g)| vec![Param::from(a.as_str()), Param::from(g.as_str())]).collect(),
            " ON CONFLICT (account_id, group_id) DO NOTHING",
        )
        .await?;
        delete_pairs(self.engine, &mut tx, &removed.iter().cloned().collect::<Vec<_>>()).await?;
        for status in [UserStatus::Suspended, UserStatus::Active] {
            let ids: Vec<String> = members
                .iter()
                .filter(|(_, m)| m.status == status && m.original_status != status)
                .map(|(id, _)| id.clone())
                .collect();
            for chunk in ids.chunks(500) {
                let mut q = SqlBuilder::new(self.engine, "UPDATE users SET status = ");
                q.bind(status.as_str()).push(" WHERE account_id IN ").bind_list(chunk);
                q.query().execute(&mut **tx).await?;
            }
        }
        let touched: Vec<String> =
            added.iter().chain(&removed).map(|(a, _)| a.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        refresh_app_access_of(self.engine, &mut tx, &touched).await?;
        tx.commit().await?;
        Ok(answers)
    }
}

/// Deletes `(account_id, group_id)` memberships, many per statement.
async fn delete_pairs(
    engine: Engine,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    pairs: &[(String, String)],
) -> Result<()> {
    for chunk in pairs.chunks(500) {
        let mut q = SqlBuilder::new(engine, "DELETE FROM user_groups WHERE ");
        for (i, (account, group)) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(" OR ");
            }
            q.push("(account_id = ").bind(account.as_str()).push(" AND group_id = ").bind(group.as_str()).push(")");
        }
        q.query().execute(&mut **tx).await?;
    }
    Ok(())
}

/// [`crate::import::refresh_app_access`] limited to some users: access no group grants any more
/// goes, access a group grants that is missing comes (never used yet).
async fn refresh_app_access_of(
    engine: Engine,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    account_ids: &[String],
) -> Result<()> {
    for chunk in account_ids.chunks(500) {
        let mut q = SqlBuilder::new(
            engine,
            "DELETE FROM user_app_access WHERE NOT EXISTS (SELECT 1 FROM user_groups ug \
             JOIN group_grants gg ON gg.group_id = ug.group_id \
             WHERE ug.account_id = user_app_access.account_id AND gg.app_type = user_app_access.app_type \
             AND gg.site_id = user_app_access.site_id) AND account_id IN ",
        );
        q.bind_list(chunk);
        q.query().execute(&mut **tx).await?;
        let mut q = SqlBuilder::new(
            engine,
            "INSERT INTO user_app_access (account_id, app_type, site_id, last_active, activity_at) \
             SELECT DISTINCT ug.account_id, gg.app_type, gg.site_id, CAST(NULL AS BIGINT), u.created_at \
             FROM user_groups ug JOIN group_grants gg ON gg.group_id = ug.group_id \
             JOIN users u ON u.account_id = ug.account_id WHERE ug.account_id IN ",
        );
        q.bind_list(chunk).push(" ON CONFLICT (account_id, app_type, site_id) DO NOTHING");
        q.query().execute(&mut **tx).await?;
    }
    Ok(())
}
