//! Store tests: every test runs on SQLite and on PostgreSQL (`NAME::sqlite`, `NAME::postgres`).

#![allow(clippy::unwrap_used)]

mod api_keys;
mod changes;
mod directory;
mod saved_filters;
mod schema;
mod web_sessions;

use jiff::Timestamp;
use model::directory::{AppAccess, AppGrant, Group, Role, RoleAssignment, Site, User, UserStatus};
use store::DirectoryImport;

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub const NOW: &str = "2026-11-28T12:00:00Z";

/// Two sites, three groups (two grant apps), four users.
pub fn small_org() -> DirectoryImport {
    let site = |id: &str, name: &str| Site {
        site_id: id.into(),
        name: name.into(),
        url: format!("https://{name}.atlassian.net"),
    };
    let grant = |app: &str, site: &str| AppGrant { app_type: app.into(), site_id: site.into() };
    let user = |id: &str, name: &str, email: &str, status: UserStatus, groups: &[&str]| User {
        account_id: id.into(),
        display_name: name.into(),
        email: email.into(),
        status,
        sites: vec!["s1".into()],
        groups: groups.iter().map(|g| (*g).into()).collect(),
        app_access: vec![],
        roles: vec![RoleAssignment::plain(Role::User)],
        last_active: Some(ts("2026-11-27T00:00:00Z")),
        created_at: ts("2025-01-01T00:00:00Z"),
    };
    let mut ada = user("u1", "Ada Lovelace", "ada@example.com", UserStatus::Active, &["g-jsm", "g-eng"]);
    ada.app_access = vec![AppAccess {
        app_type: "jira-servicedesk".into(),
        site_id: "s1".into(),
        last_active: Some(ts("2026-09-01T00:00:00Z")),
    }];
    let mut alan = user("u2", "Alan Turing", "alan@example.com", UserStatus::Suspended, &["g-conf"]);
    alan.last_active = None;
    let mut grace = user("u3", "Grace Hopper", "grace@navy.example", UserStatus::Active, &["g-jsm"]);
    grace.roles.push(RoleAssignment::plain(Role::OrgAdmin));
    grace.sites.push("s2".into());
    let linus = user("u4", "linus 100%_sure", "linus@example.com", UserStatus::Invited, &[]);
    DirectoryImport {
        sites: vec![site("s1", "acme"), site("s2", "acme-eu")],
        groups: vec![
            Group {
                group_id: "g-jsm".into(),
                name: "jsm-agents".into(),
                site_id: Some("s1".into()),
                grants: vec![grant("jira-servicedesk", "s1")],
            },
            Group {
                group_id: "g-conf".into(),
                name: "confluence-users".into(),
                site_id: None,
                grants: vec![grant("confluence", "s1"), grant("confluence", "s2")],
            },
            Group { group_id: "g-eng".into(), name: "Engineering".into(), site_id: None, grants: vec![] },
        ],
        users: vec![ada, alan, grace, linus],
    }
}
