//! Writing the directory in bulk: one transaction for a whole import, so a failure leaves the
//! database as it was.

use std::collections::HashSet;

use model::directory::{Group, Site, User};
use model::ids::GroupId;
use sqlx::Row as _;

use crate::sql::{Param, SqlBuilder};
use crate::{Engine, Result, Store};

/// Sites, groups and users to upsert, every reference already checked (see the `directory`
/// crate's import, which validates files before they reach the store).
#[derive(Debug, Clone, Default)]
pub struct DirectoryImport {
    pub sites: Vec<Site>,
    pub groups: Vec<Group>,
    /// Each user replaces the stored one with the same account id, memberships included.
    /// `app_access` entries carry last activity; access itself follows from the groups.
    pub users: Vec<User>,
}

/// What an import changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub sites: u64,
    pub groups: u64,
    pub users_created: u64,
    pub users_updated: u64,
}

/// Statements stay under both engines' parameter limits (SQLite 32766, PostgreSQL 65535).
const MAX_PARAMS: usize = 30_000;
const MAX_ROWS: usize = 1_000;
/// Imports of at least this many users refresh the planner's statistics.
const ANALYZE_AFTER_USERS: usize = 1_000;

impl Store {
    /// Upserts everything in `batch` in one transaction and brings derived app access up to
    /// date. `progress` is called with the number of users written so far. Ids must be unique
    /// within the batch: a duplicate is refused before anything is written.
    pub async fn import_directory(
        &self,
        batch: &DirectoryImport,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<ImportReport> {
        self.write_directory(batch, &[], None, progress).await
    }

    /// Makes the directory exactly `batch`, in one transaction: what `batch` has is written as
    /// by [`Store::import_directory`], and users, groups and sites it does not have are deleted
    /// (a sync from another backend, which reads the whole directory before it writes any of
    /// it). App types `batch` uses that are not known yet are added from `app_types` (key,
    /// display name); the groups in `managed_externally` are marked as managed by an identity
    /// provider (ucm plans no change to their members), the others as not.
    pub async fn replace_directory(
        &self,
        batch: &DirectoryImport,
        app_types: &[(String, String)],
        managed_externally: &[GroupId],
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<ImportReport> {
        self.write_directory(batch, app_types, Some(managed_externally), progress).await
    }

    /// `replace`: the groups an identity provider manages, and delete what `batch` lacks.
    async fn write_directory(
        &self,
        batch: &DirectoryImport,
        app_types: &[(String, String)],
        replace: Option<&[GroupId]>,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<ImportReport> {
        duplicates(batch.sites.iter().map(|s| s.site_id.as_str()), "site")?;
        duplicates(batch.groups.iter().map(|g| g.group_id.as_str()), "group")?;
        duplicates(batch.users.iter().map(|u| u.account_id.as_str()), "user")?;
        let mut tx = self.pool.begin().await?;
        if !app_types.is_empty() {
            let position: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(MAX(position), 0) AS BIGINT) FROM app_types")
                .fetch_one(&mut *tx)
                .await?;
            insert_rows(
                self.engine,
                &mut tx,
                "INSERT INTO app_types (app_type, display_name, position) VALUES ",
                app_types
                    .iter()
                    .zip(1..)
                    .map(|((key, name), n): (&(String, String), i64)| {
                        vec![key.clone().into(), name.clone().into(), (position + n).into()]
                    })
                    .collect(),
                " ON CONFLICT (app_type) DO NOTHING",
            )
            .await?;
        }
        if replace.is_some() {
            delete_absent(self.engine, &mut tx, batch).await?;
        }
        let mut report = ImportReport {
            sites: batch.sites.len() as u64,
            groups: batch.groups.len() as u64,
            ..ImportReport::default()
        };

        insert_rows(
            self.engine,
            &mut tx,
            "INSERT INTO sites (site_id, name, name_key, url) VALUES ",
            batch.sites.iter().map(|s| {
                vec![s.site_id.0.clone().into(), s.name.clone().into(), s.name.to_lowercase().into(), s.url.clone().into()]
            }).collect(),
            " ON CONFLICT (site_id) DO UPDATE SET name = excluded.name, name_key = excluded.name_key, url = excluded.url",
        )
        .await?;

        insert_rows(
            self.engine,
            &mut tx,
            "INSERT INTO groups (group_id, name, name_key, site_id) VALUES ",
            batch.groups.iter().map(|g| {
                vec![
                    g.group_id.0.clone().into(),
                    g.name.clone().into(),
                    g.name.to_lowercase().into(),
                    g.site_id.as_ref().map(|s| s.0.clone()).into(),
                ]
            }).collect(),
            " ON CONFLICT (group_id) DO UPDATE SET name = excluded.name, name_key = excluded.name_key, site_id = excluded.site_id",
        )
        .await?;
        let group_ids: Vec<String> = batch.groups.iter().map(|g| g.group_id.0.clone()).collect();
        if let Some(external) = replace {
            sqlx::query("UPDATE groups SET managed_externally = 0").execute(&mut *tx).await?;
            let external: Vec<String> = external.iter().map(|g| g.0.clone()).collect();
            delete_where_in(
                self.engine,
                &mut tx,
                "UPDATE groups SET managed_externally = 1 WHERE group_id IN ",
                &external,
            )
            .await?;
        }
        delete_where_in(self.engine, &mut tx, "DELETE FROM group_grants WHERE group_id IN ", &group_ids).await?;
        insert_rows(
            self.engine,
            &mut tx,
            "INSERT INTO group_grants (group_id, app_type, site_id) VALUES ",
            batch
                .groups
                .iter()
                .flat_map(|g| {
                    g.grants.iter().map(|grant| {
                        vec![
                            g.group_id.0.clone().into(),
                            grant.app_type.0.clone().into(),
                            grant.site_id.0.clone().into(),
                        ]
                    })
                })
                .collect(),
            "",
        )
        .await?;

        // In key order, B-tree inserts land next to each other instead of all over the file.
        let mut sorted: Vec<&User> = batch.users.iter().collect();
        sorted.sort_unstable_by(|a, b| a.account_id.cmp(&b.account_id));
        let mut written = 0u64;
        for users in sorted.chunks(MAX_ROWS) {
            let ids: Vec<String> = users.iter().map(|u| u.account_id.0.clone()).collect();
            let mut existing = SqlBuilder::new(self.engine, "SELECT account_id FROM users WHERE account_id IN ");
            existing.bind_list(&ids);
            let known: HashSet<String> =
                existing.query().fetch_all(&mut *tx).await?.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
            report.users_updated += known.len() as u64;
            report.users_created += (ids.len() - known.len()) as u64;

            insert_rows(
                self.engine,
                &mut tx,
                "INSERT INTO users (account_id, display_name, email, name_key, email_key, email_domain, status, \
                 last_active, created_at, activity_at) VALUES ",
                users
                    .iter()
                    .map(|u| {
                        vec![
                            u.account_id.0.clone().into(),
                            u.display_name.clone().into(),
                            u.email.clone().into(),
                            u.display_name.to_lowercase().into(),
                            u.email.to_lowercase().into(),
                            u.email_domain().into(),
                            u.status.as_str().into(),
                            u.last_active.into(),
                            u.created_at.into(),
                            u.effective_last_active().into(),
                        ]
                    })
                    .collect(),
                " ON CONFLICT (account_id) DO UPDATE SET display_name = excluded.display_name, email = excluded.email, \
                 name_key = excluded.name_key, email_key = excluded.email_key, email_domain = excluded.email_domain, \
                 status = excluded.status, last_active = excluded.last_active, created_at = excluded.created_at, \
                 activity_at = excluded.activity_at",
            )
            .await?;
            if !known.is_empty() {
                let known: Vec<String> = known.into_iter().collect();
                for table in ["user_sites", "user_groups", "user_roles", "user_app_access"] {
                    delete_where_in(self.engine, &mut tx, &format!("DELETE FROM {table} WHERE account_id IN "), &known)
                        .await?;
                }
            }
            insert_rows(
                self.engine,
                &mut tx,
                "INSERT INTO user_sites (account_id, site_id) VALUES ",
                users
                    .iter()
                    .flat_map(|u| u.sites.iter().map(|s| vec![u.account_id.0.clone().into(), s.0.clone().into()]))
                    .collect(),
                "",
            )
            .await?;
            insert_rows(
                self.engine,
                &mut tx,
                "INSERT INTO user_groups (account_id, group_id) VALUES ",
                users
                    .iter()
                    .flat_map(|u| u.groups.iter().map(|g| vec![u.account_id.0.clone().into(), g.0.clone().into()]))
                    .collect(),
                "",
            )
            .await?;
            insert_rows(
                self.engine,
                &mut tx,
                "INSERT INTO user_roles (account_id, role, app_type, site_id) VALUES ",
                users
                    .iter()
                    .flat_map(|u| {
                        u.roles.iter().map(|r| {
                            vec![
                                u.account_id.0.clone().into(),
                                r.role.as_str().into(),
                                r.app_type.as_ref().map_or(String::new(), |a| a.0.clone()).into(),
                                r.site_id.as_ref().map_or(String::new(), |s| s.0.clone()).into(),
                            ]
                        })
                    })
                    .collect(),
                "",
            )
            .await?;
            insert_rows(
                self.engine,
                &mut tx,
                "INSERT INTO user_app_access (account_id, app_type, site_id, last_active, activity_at) VALUES ",
                users
                    .iter()
                    .flat_map(|u| {
                        u.app_access.iter().map(|a| {
                            vec![
                                u.account_id.0.clone().into(),
                                a.app_type.0.clone().into(),
                                a.site_id.0.clone().into(),
                                a.last_active.into(),
                                a.last_active.unwrap_or(u.created_at).into(),
                            ]
                        })
                    })
                    .collect(),
                "",
            )
            .await?;
            written += users.len() as u64;
            progress(written);
        }

        refresh_app_access(&mut tx).await?;
        // Whatever was there, an import or a sync makes the directory current again.
        sqlx::query("DELETE FROM settings WHERE name = $1")
            .bind(crate::settings::MIRROR_READ_ONLY)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if batch.users.len() >= ANALYZE_AFTER_USERS
            && let Err(e) = self.refresh_statistics().await
        {
            // The import is committed; stale statistics only make some queries slower.
            tracing::warn!(error = %e, "could not refresh planner statistics after the import");
        }
        Ok(report)
    }

    /// Updates the planner's statistics, so queries after a large import get good plans at once
    /// rather than after the next automatic analysis.
    pub async fn refresh_statistics(&self) -> Result<()> {
        let statement = match self.engine {
            Engine::Sqlite => "ANALYZE",
            Engine::Postgres => "ANALYZE users, user_sites, user_groups, user_app_access, user_roles",
        };
        sqlx::query(statement).execute(&self.pool).await?;
        Ok(())
    }
}

/// Deletes the users, groups and sites the database has and `batch` does not, with what
/// refers to them.
async fn delete_absent(
    engine: Engine,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    batch: &DirectoryImport,
) -> Result<()> {
    async fn absent(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        query: &'static str,
        keep: HashSet<&str>,
    ) -> Result<Vec<String>> {
        let stored: Vec<String> = sqlx::query_scalar(query).fetch_all(&mut **tx).await?;
        Ok(stored.into_iter().filter(|id| !keep.contains(id.as_str())).collect())
    }
    let users =
        absent(tx, "SELECT account_id FROM users", batch.users.iter().map(|u| u.account_id.as_str()).collect()).await?;
    for table in ["user_sites", "user_groups", "user_roles", "user_app_access", "users"] {
        delete_where_in(engine, tx, &format!("DELETE FROM {table} WHERE account_id IN "), &users).await?;
    }
    let groups =
        absent(tx, "SELECT group_id FROM groups", batch.groups.iter().map(|g| g.group_id.as_str()).collect()).await?;
    for table in ["user_groups", "group_grants", "groups"] {
        delete_where_in(engine, tx, &format!("DELETE FROM {table} WHERE group_id IN "), &groups).await?;
    }
    let sites =
        absent(tx, "SELECT site_id FROM sites", batch.sites.iter().map(|s| s.site_id.as_str()).collect()).await?;
    for table in ["user_sites", "user_app_access", "group_grants", "groups", "sites"] {
        delete_where_in(engine, tx, &format!("DELETE FROM {table} WHERE site_id IN "), &sites).await?;
    }
    Ok(())
}

fn duplicates<'a>(ids: impl Iterator<Item = &'a str>, what: &str) -> Result<()> {
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(crate::StoreError::Conflict(format!("{what} `{id}` appears twice in one import")));
        }
    }
    Ok(())
}

/// Brings `user_app_access` in line with memberships and grants: access no group grants any
/// more goes; access a group grants that is missing comes (never used yet).
async fn refresh_app_access(tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> Result<()> {
    sqlx::query(
        "DELETE FROM user_app_access WHERE NOT EXISTS (SELECT 1 FROM user_groups ug \
         JOIN group_grants gg ON gg.group_id = ug.group_id \
         WHERE ug.account_id = user_app_access.account_id AND gg.app_type = user_app_access.app_type \
         AND gg.site_id = user_app_access.site_id)",
    )
    .execute(&mut **tx)
    .await?;
    // `WHERE 1 = 1` keeps SQLite from reading ON CONFLICT as part of the join.
    sqlx::query(
        "INSERT INTO user_app_access (account_id, app_type, site_id, last_active, activity_at) \
         SELECT DISTINCT ug.account_id, gg.app_type, gg.site_id, CAST(NULL AS BIGINT), u.created_at \
         FROM user_groups ug JOIN group_grants gg ON gg.group_id = ug.group_id \
         JOIN users u ON u.account_id = ug.account_id WHERE 1 = 1 \
         ON CONFLICT (account_id, app_type, site_id) DO NOTHING",
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts rows in multi-row statements sized under the parameter limits.
pub(crate) async fn insert_rows(
    engine: Engine,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    head: &str,
    rows: Vec<Vec<Param>>,
    tail: &str,
) -> Result<()> {
    let mut statement: Option<SqlBuilder> = None;
    let mut in_statement = 0usize;
    for row in rows {
        let width = row.len().max(1);
        let q = statement.get_or_insert_with(|| SqlBuilder::new(engine, head));
        if in_statement > 0 {
            q.push(", ");
        }
        q.push("(");
        for (i, value) in row.into_iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.bind(value);
        }
        q.push(")");
        in_statement += 1;
        if in_statement == MAX_ROWS || q.param_count() + width > MAX_PARAMS {
            q.push(tail);
            q.query().execute(&mut **tx).await?;
            statement = None;
            in_statement = 0;
        }
    }
    if let Some(mut q) = statement {
        q.push(tail);
        q.query().execute(&mut **tx).await?;
    }
    Ok(())
}

async fn delete_where_in(
    engine: Engine,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    head: &str,
    ids: &[String],
) -> Result<()> {
    for chunk in ids.chunks(MAX_ROWS) {
        let mut q = SqlBuilder::new(engine, head);
        q.bind_list(chunk);
        q.query().execute(&mut **tx).await?;
    }
    Ok(())
}
