//! A realistic demo organization: three sites, about 25 groups (an access group for every app,
//! team groups), users in every status, admins of each kind, and activity spread over the last
//! year. The same seed always gives the same organization.

use jiff::{SignedDuration, Timestamp};
use model::directory::{AppAccess, AppGrant, Group, Role, RoleAssignment, Site, User, UserStatus};
use model::ids::{AccountId, AppKey, GroupId, SiteId};
use store::DirectoryImport;

/// The seed used by `ucm seed-demo` and `ucm serve --demo` unless told otherwise.
pub const DEFAULT_SEED: u64 = 0x00c0_ffee;

/// A small, fast, seedable generator (SplitMix64). Demo data needs repeatability, not secrecy.
#[derive(Debug, Clone)]
pub struct DemoRng(u64);

impl DemoRng {
    /// A generator starting at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Hex digits, for ids that look like real ones.
    pub fn hex(&mut self, digits: usize) -> String {
        let mut out = String::with_capacity(digits);
        while out.len() < digits {
            out.push_str(&format!("{:016x}", self.next_u64()));
        }
        out.truncate(digits);
        out
    }
}

const FIRST_NAMES: [&str; 48] = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Donald",
    "Hedy",
    "Tim",
    "Katherine",
    "John",
    "Sophie",
    "Niklaus",
    "Mary",
    "Bjarne",
    "Anita",
    "Guido",
    "Shafi",
    "James",
    "Joan",
    "Leslie",
    "Karen",
    "Yukihiro",
    "Lynn",
    "Brian",
    "Jean",
    "Whitfield",
    "Adele",
    "Rob",
    "Carol",
    "Larry",
    "Evelyn",
    "Vint",
    "Annie",
    "Robin",
    "Ida",
    "Niels",
    "Amara",
    "Kofi",
    "Priya",
    "Mateo",
    "Ingrid",
    "Wei",
];
const LAST_NAMES: [&str; 48] = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Knuth",
    "Lamarr",
    "Berners-Lee",
    "Johnson",
    "McCarthy",
    "Wilson",
    "Wirth",
    "Keller",
    "Stroustrup",
    "Borg",
    "van Rossum",
    "Goldwasser",
    "Gosling",
    "Clarke",
    "Lamport",
    "Spärck Jones",
    "Matsumoto",
    "Conway",
    "Kernighan",
    "Sammet",
    "Diffie",
    "Goldberg",
    "Pike",
    "Shaw",
    "Page",
    "Berezin",
    "Cerf",
    "Easley",
    "Milner",
    "Rhodes",
    "Bohr",
    "Okafor",
    "Mensah",
    "Raman",
    "García",
    "Larsen",
    "Zhang",
];

/// (key, name, url) of the three demo sites.
const SITES: [(&str, &str); 3] = [
    ("acme", "https://acme.atlassian.net"),
    ("acme-eu", "https://acme-eu.atlassian.net"),
    ("acme-labs", "https://acme-labs.atlassian.net"),
];

/// Access groups: (group name, app, site index). Every app has at least one.
const ACCESS_GROUPS: [(&str, &str, usize); 14] = [
    ("jira-users-acme", "jira-software", 0),
    ("jsm-agents-acme", "jira-servicedesk", 0),
    ("confluence-users-acme", "confluence", 0),
    ("assets-users-acme", "cmdb", 0),
    ("csm-agents-acme", "customer-service-management", 0),
    ("jpd-creators-acme", "jira-product-discovery", 0),
    ("bitbucket-users-acme", "bitbucket", 0),
    ("compass-users-acme", "compass", 0),
    ("jira-users-acme-eu", "jira-software", 1),
    ("jsm-agents-acme-eu", "jira-servicedesk", 1),
    ("confluence-users-acme-eu", "confluence", 1),
    ("jira-users-acme-labs", "jira-software", 2),
    ("confluence-users-acme-labs", "confluence", 2),
    ("compass-users-acme-labs", "compass", 2),
];

/// Teams: (group name, share of users in %, access groups on the main site, extra grants).
const TEAMS: [(&str, u64, &[&str]); 9] = [
    ("engineering", 30, &["jira-users-acme", "confluence-users-acme", "bitbucket-users-acme", "compass-users-acme"]),
    ("product", 8, &["jira-users-acme", "confluence-users-acme", "jpd-creators-acme"]),
    ("design", 5, &["jira-users-acme", "confluence-users-acme", "jpd-creators-acme"]),
    ("support", 17, &["jsm-agents-acme", "confluence-users-acme", "csm-agents-acme", "assets-users-acme"]),
    ("it-operations", 6, &["jsm-agents-acme", "assets-users-acme", "jira-users-acme", "confluence-users-acme"]),
    ("sales", 12, &["confluence-users-acme", "csm-agents-acme"]),
    ("marketing", 9, &["confluence-users-acme", "jira-users-acme"]),
    ("finance", 6, &["confluence-users-acme"]),
    ("people-ops", 7, &["confluence-users-acme", "jsm-agents-acme"]),
];

/// Other groups: contractors, security, administrators, a leavers group.
const OTHER_GROUPS: [&str; 4] = ["contractors", "security", "site-admins", "former-employees"];

/// Makes an organization of `users` users (at least 5, so every kind of admin exists), with
/// activity up to `now`.
pub fn organization(users: usize, now: Timestamp, seed: u64) -> DirectoryImport {
    let mut rng = DemoRng::new(seed);
    let sites: Vec<Site> = SITES
        .iter()
        .map(|(name, url)| Site {
            site_id: SiteId(uuid_like(&mut rng)),
            name: (*name).to_owned(),
            url: (*url).to_owned(),
        })
        .collect();
    let mut groups: Vec<Group> = ACCESS_GROUPS
        .iter()
        .map(|(name, app, site)| Group {
            group_id: GroupId(uuid_like(&mut rng)),
            name: (*name).to_owned(),
            site_id: Some(sites[*site].site_id.clone()),
            grants: vec![AppGrant { app_type: AppKey((*app).to_owned()), site_id: sites[*site].site_id.clone() }],
        })
        .collect();
    for (name, ..) in TEAMS {
        groups.push(Group {
            group_id: GroupId(uuid_like(&mut rng)),
            name: name.to_owned(),
            site_id: None,
            grants: vec![],
        });
    }
    for name in OTHER_GROUPS {
        groups.push(Group {
            group_id: GroupId(uuid_like(&mut rng)),
            name: name.to_owned(),
            site_id: None,
            grants: vec![],
        });
    }
    let group_id = |name: &str| groups.iter().find(|g| g.name == name).map(|g| g.group_id.clone());
    let grants_of = |ids: &[GroupId]| -> Vec<AppGrant> {
        let mut grants: Vec<AppGrant> =
            groups.iter().filter(|g| ids.contains(&g.group_id)).flat_map(|g| g.grants.clone()).collect();
        grants.sort();
        grants.dedup();
        grants
    };

    let users = users.max(5);
    let day = SignedDuration::from_hours(24);
    let mut out = Vec::with_capacity(users);
    let mut emails = std::collections::HashSet::with_capacity(users);
    for i in 0..users {
        let first = *rng.pick(&FIRST_NAMES);
        let last = *rng.pick(&LAST_NAMES);
        let contractor = rng.chance(6);
        let eu = !contractor && rng.chance(25);
        let domain = if contractor {
            "partners.example.com"
        } else if eu {
            "acme.eu"
        } else {
            "acme.com"
        };
        let local = format!("{}.{}", first, last).to_lowercase().replace([' ', 'ä'], "").replace('í', "i");
        let mut email = format!("{local}@{domain}");
        if !emails.insert(email.clone()) {
            email = format!("{local}.{i}@{domain}");
            emails.insert(email.clone());
        }

        // The first users are the organization's administrators.
        let status = if i < 5 {
            UserStatus::Active
        } else {
            match rng.below(100) {
                0..=77 => UserStatus::Active,
                78..=83 => UserStatus::Suspended,
                84..=88 => UserStatus::Deactivated,
                89..=92 => UserStatus::Invited,
                93..=95 => UserStatus::NotInvited,
                _ => UserStatus::Closed,
            }
        };
        let created_at = now - SignedDuration::from_hours(24 * (30 + rng.below(3 * 365) as i64));
        let never_signed_in = matches!(status, UserStatus::Invited | UserStatus::NotInvited) || rng.chance(2);
        let last_active = (!never_signed_in).then(|| {
            let since_created = (now - created_at).as_hours().max(24) / 24;
            // Most people were active recently; a long tail has not been for months.
            let days_ago = match rng.below(100) {
                0..=54 => rng.below(7),
                55..=74 => 7 + rng.below(23),
                75..=89 => 30 + rng.below(150),
                _ => 180 + rng.below(185),
            } as i64;
            let minutes = rng.below(24 * 60) as i64;
            (now - SignedDuration::from_hours(24 * days_ago.min(since_created)) - SignedDuration::from_mins(minutes))
                .max(created_at)
        });

        let mut member_of: Vec<GroupId> = Vec::new();
        let team = pick_team(&mut rng, i);
        member_of.extend(group_id(team.0));
        member_of.extend(team.2.iter().filter_map(|g| group_id(g)));
        let mut sites_of = vec![sites[0].site_id.clone()];
        if eu {
            sites_of.push(sites[1].site_id.clone());
            member_of.extend(["jira-users-acme-eu", "confluence-users-acme-eu"].iter().filter_map(|g| group_id(g)));
            if team.0 == "support" {
                member_of.extend(group_id("jsm-agents-acme-eu"));
            }
        }
        if team.0 == "engineering" && rng.chance(40) {
            sites_of.push(sites[2].site_id.clone());
            member_of.extend(
                ["jira-users-acme-labs", "confluence-users-acme-labs", "compass-users-acme-labs"]
                    .iter()
                    .filter_map(|g| group_id(g)),
            );
        }
        if contractor {
            member_of.extend(group_id("contractors"));
        }
        if team.0 == "engineering" && rng.chance(8) {
            member_of.extend(group_id("security"));
        }
        if matches!(status, UserStatus::Deactivated | UserStatus::Closed) && rng.chance(50) {
            member_of.extend(group_id("former-employees"));
        }

        let mut roles = vec![RoleAssignment::plain(if contractor { Role::Guest } else { Role::User })];
        match i {
            0 | 1 => roles.push(RoleAssignment::plain(Role::OrgAdmin)),
            2 => roles.push(RoleAssignment {
                role: Role::ProductAdmin,
                app_type: Some(AppKey("jira-software".into())),
                site_id: Some(sites[0].site_id.clone()),
            }),
            3 => roles.push(RoleAssignment::plain(Role::UserAccessAdmin)),
            4 => {
                roles.push(RoleAssignment {
                    role: Role::SiteAdmin,
                    app_type: None,
                    site_id: Some(sites[0].site_id.clone()),
                });
                member_of.extend(group_id("site-admins"));
            }
            _ if rng.chance(1) => roles.push(RoleAssignment {
                role: Role::ProductAdmin,
                app_type: Some(AppKey((*rng.pick(&["jira-software", "confluence", "jira-servicedesk"])).to_owned())),
                site_id: Some(sites[0].site_id.clone()),
            }),
            _ if rng.chance(1) => roles.push(RoleAssignment::plain(Role::UserAccessAdmin)),
            _ => {}
        }
        member_of.sort();
        member_of.dedup();
        sites_of.sort();

        let app_access = grants_of(&member_of)
            .into_iter()
            .map(|grant| {
                // Activity in each app is at or before the last sign-in; some apps never used.
                let used = last_active.filter(|_| !rng.chance(15)).map(|at| {
                    let lag = rng.below(1 + ((at - created_at).as_hours().max(0) as u64 / 24).min(200)) as i64;
                    if rng.chance(50) { at } else { at - day * lag as i32 }
                });
                AppAccess { app_type: grant.app_type, site_id: grant.site_id, last_active: used }
            })
            .collect();

        out.push(User {
            account_id: AccountId(format!("712020:{}", uuid_like(&mut rng))),
            display_name: format!("{first} {last}"),
            email,
            status,
            sites: sites_of,
            groups: member_of,
            app_access,
            roles,
            last_active,
            created_at,
        });
    }
    DirectoryImport { sites, groups, users: out }
}

fn pick_team(rng: &mut DemoRng, i: usize) -> (&'static str, u64, &'static [&'static str]) {
    if i < 5 {
        return TEAMS[4]; // administrators sit in IT operations
    }
    let mut roll = rng.below(100);
    for team in TEAMS {
        if roll < team.1 {
            return team;
        }
        roll -= team.1;
    }
    TEAMS[0]
}

fn uuid_like(rng: &mut DemoRng) -> String {
    let h = rng.hex(32);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_demo_organization_has_everything_a_demo_needs() {
        let now: Timestamp = "2026-11-28T00:00:00Z".parse().unwrap();
        let org = organization(500, now, DEFAULT_SEED);
        assert_eq!(org.sites.len(), 3);
        assert!((23..=28).contains(&org.groups.len()), "{} groups", org.groups.len());
        let apps: HashSet<_> = org.groups.iter().flat_map(|g| g.grants.iter().map(|x| x.app_type.as_str())).collect();
        assert_eq!(apps.len(), 8, "an access group for every app");
        let statuses: HashSet<_> = org.users.iter().map(|u| u.status).collect();
        assert_eq!(statuses.len(), UserStatus::ALL.len(), "every status");
        for role in [Role::OrgAdmin, Role::ProductAdmin, Role::UserAccessAdmin] {
            assert!(org.users.iter().any(|u| u.has_role(role)), "{role}");
        }
        let ids: HashSet<_> = org.users.iter().map(|u| &u.account_id).collect();
        assert_eq!(ids.len(), 500);
        let emails: HashSet<_> = org.users.iter().map(|u| &u.email).collect();
        assert_eq!(emails.len(), 500, "emails are unique");
        let year_ago = now - SignedDuration::from_hours(24 * 365);
        assert!(org.users.iter().all(|u| { u.last_active.is_none_or(|at| at <= now && at >= u.created_at) }));
        assert!(
            org.users
                .iter()
                .any(|u| { u.last_active.is_some_and(|at| at < year_ago + SignedDuration::from_hours(24 * 60)) })
        );
        assert_eq!(organization(500, now, DEFAULT_SEED).users, org.users, "same seed, same organization");
    }
}
