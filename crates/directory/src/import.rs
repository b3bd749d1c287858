//! Reading a directory import file (JSON or CSV) into a checked [`DirectoryImport`].
//!
//! Nothing is written unless the whole file is valid: every problem is reported with its line,
//! record and field, and the store writes the result in one transaction.
//! The format is documented in `docs/import-format.md`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use jiff::Timestamp;
use model::directory::{AppAccess, AppGrant, Catalog, Group, RoleAssignment, Site, User, UserStatus, email_domain};
use model::ids::{AccountId, GroupId, SiteId};
use model::suggest;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use store::{DirectoryImport, ImportReport, Store, StoreError};

/// How many problems are listed before the rest are only counted.
pub const MAX_PROBLEMS: usize = 100;
const MAX_ID_CHARS: usize = 128;
const MAX_NAME_CHARS: usize = 256;
const MAX_EMAIL_CHARS: usize = 320;

/// The format of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

impl Format {
    /// The format a file name implies (`.json`, `.csv`).
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// One thing wrong with an import file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportProblem {
    /// 1-based line where the record (or the error) is.
    pub line: u64,
    /// Which record: `users[3]` in JSON, `row 4` in CSV; with its id when known.
    pub record: String,
    /// The field at fault (`groups`, `appAccess[0].site`), empty for the file as a whole.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if !self.record.is_empty() {
            write!(f, ", {}", self.record)?;
        }
        if !self.field.is_empty() {
            write!(f, ", field `{}`", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why an import did not happen. Either way, nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file has {} problem(s); nothing was imported:\n{}", .total, list(.problems, *.total))]
    Invalid { problems: Vec<ImportProblem>, total: usize },
    #[error("nothing was imported: {0}")]
    Store(#[from] StoreError),
}

fn list(problems: &[ImportProblem], total: usize) -> String {
    let mut out: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
    if total > problems.len() {
        out.push(format!("  …and {} more", total - problems.len()));
    }
    out.join("\n")
}

/// Parses and checks `text` against what `store` holds, then writes it in one transaction.
/// `progress` is called with the number of users written so far.
pub async fn import_text(
    store: &Store,
    text: &str,
    format: Format,
    now: Timestamp,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportReport, ImportError> {
    let batch = prepare(store, text, format, now).await?;
    Ok(store.import_directory(&batch, progress).await?)
}

/// Parses and checks `text` against what `store` holds, ready for
/// [`Store::import_directory`]. A user without `createdAt` keeps the creation time already
/// stored for them (re-importing must not make old accounts look new); a new one gets `now`.
pub async fn prepare(
    store: &Store,
    text: &str,
    format: Format,
    now: Timestamp,
) -> Result<DirectoryImport, ImportError> {
    let catalog = store.catalog().await?;
    let (mut batch, defaulted) = parse_inner(text, format, &catalog, now)?;
    if !defaulted.is_empty() {
        let stored = store.created_at_of(&defaulted).await?;
        for user in &mut batch.users {
            if let Some(at) = stored.get(&user.account_id) {
                user.created_at = *at;
            }
        }
    }
    Ok(batch)
}

/// Parses and checks an import file. `existing` is what the directory holds now (the file may
/// refer to its sites and groups); `now` stands in for a missing `createdAt` (see [`prepare`]).
pub fn parse(text: &str, format: Format, existing: &Catalog, now: Timestamp) -> Result<DirectoryImport, ImportError> {
    parse_inner(text, format, existing, now).map(|(batch, _)| batch)
}

/// The batch, and the users whose `createdAt` was not given.
fn parse_inner(
    text: &str,
    format: Format,
    existing: &Catalog,
    now: Timestamp,
) -> Result<(DirectoryImport, Vec<AccountId>), ImportError> {
    let mut checker = Checker::default();
    let records = match format {
        Format::Json => read_json(text, &mut checker),
        Format::Csv => read_csv(text, &mut checker),
    };
    let batch = records.map(|records| checker.check(records, existing, now));
    match (batch, checker.problems.is_empty()) {
        (Some(batch), true) => Ok((batch, checker.created_at_defaulted)),
        _ => Err(ImportError::Invalid { total: checker.total, problems: checker.problems }),
    }
}

// ---- records as written in files ------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SiteRecord {
    site_id: String,
    name: String,
    url: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GroupRecord {
    group_id: String,
    name: String,
    #[serde(default, alias = "siteId")]
    site: Option<String>,
    #[serde(default)]
    grants: Vec<GrantRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantRecord {
    #[serde(alias = "appType")]
    app: String,
    #[serde(alias = "siteId")]
    site: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UserRecord {
    account_id: String,
    display_name: String,
    email: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    sites: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    roles: Vec<RoleRecord>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    last_active: Option<String>,
    #[serde(default)]
    app_access: Vec<ActivityRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RoleRecord {
    Plain(String),
    Scoped(ScopedRole),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopedRole {
    role: String,
    #[serde(default, alias = "appType")]
    app: Option<String>,
    #[serde(default, alias = "siteId")]
    site: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ActivityRecord {
    #[serde(alias = "appType")]
    app: String,
    #[serde(alias = "siteId")]
    site: String,
    #[serde(default)]
    last_active: Option<String>,
}

/// A record and where it came from.
#[derive(Debug)]
struct Located<T> {
    line: u64,
    record: String,
    value: T,
}

#[derive(Debug, Default)]
struct Records {
    sites: Vec<Located<SiteRecord>>,
    groups: Vec<Located<GroupRecord>>,
    users: Vec<Located<UserRecord>>,
}

// ---- JSON -----------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonFile<'a> {
    #[serde(borrow, default)]
    sites: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    groups: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    users: Vec<&'a RawValue>,
}

fn read_json(text: &str, checker: &mut Checker) -> Option<Records> {
    let file: JsonFile = if text.trim_start().starts_with('[') {
        match serde_json::from_str::<Vec<&RawValue>>(text) {
            Ok(users) => JsonFile { sites: vec![], groups: vec![], users },
            Err(e) => return checker.json_syntax(&e),
        }
    } else {
        match serde_json::from_str::<JsonFile>(text) {
            Ok(file) => file,
            Err(e) => return checker.json_syntax(&e),
        }
    };
    let lines = LineIndex::new(text);
    let mut records = Records::default();
    let locate = |raw: &RawValue| lines.line_of(raw.get().as_ptr() as usize - text.as_ptr() as usize);
    for (i, raw) in file.sites.iter().enumerate() {
        records.sites.extend(checker.json_record(raw, locate(raw), format!("sites[{i}]")));
    }
    for (i, raw) in file.groups.iter().enumerate() {
        records.groups.extend(checker.json_record(raw, locate(raw), format!("groups[{i}]")));
    }
    for (i, raw) in file.users.iter().enumerate() {
        records.users.extend(checker.json_record(raw, locate(raw), format!("users[{i}]")));
    }
    Some(records)
}

/// Byte offset → 1-based line number.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> Self {
        Self(text.match_indices('\n').map(|(i, _)| i).collect())
    }

    fn line_of(&self, offset: usize) -> u64 {
        self.0.partition_point(|&newline| newline < offset) as u64 + 1
    }
}

/// serde_json's message without its " at line L column C" suffix (we say where ourselves).
fn bare_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

// ---- CSV ------------------------------------------------------------------------------------

const CSV_COLUMNS: [&str; 10] =
    ["accountId", "displayName", "email", "status", "sites", "groups", "roles", "createdAt", "lastActive", "appAccess"];

fn read_csv(text: &str, checker: &mut Checker) -> Option<Records> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            checker.report(1, "header", "", format!("unreadable CSV header: {e}"));
            return None;
        }
    };
    let mut column: HashMap<&str, usize> = HashMap::new();
    for (i, name) in headers.iter().enumerate() {
        match CSV_COLUMNS.iter().find(|c| c.eq_ignore_ascii_case(name)) {
            Some(known) if column.insert(known, i).is_some() => {
                checker.report(1, "header", name, "this column appears twice".to_owned());
            }
            Some(_) => {}
            None => checker.report(
                1,
                "header",
                name,
                format!("unknown column; the columns are: {}", CSV_COLUMNS.join(", ")),
            ),
        }
    }
    for required in ["accountId", "displayName", "email"] {
        if !column.contains_key(required) {
            checker.report(1, "header", required, "this column is required".to_owned());
        }
    }
    if !checker.problems.is_empty() {
        return None;
    }

    let mut records = Records::default();
    for (row, result) in reader.records().enumerate() {
        let row = row + 1;
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                checker.report(line, &format!("row {row}"), "", format!("unreadable CSV row: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let cell = |name: &str| column.get(name).and_then(|&i| record.get(i)).unwrap_or_default().to_owned();
        let list = |name: &str| split_list(&cell(name));
        let optional = |name: &str| Some(cell(name)).filter(|v| !v.is_empty());
        let label = format!("row {row}");
        let roles = list("roles").into_iter().map(|r| parse_csv_role(&r)).collect();
        let app_access = list("appAccess").into_iter().map(|a| parse_csv_activity(&a)).collect();
        records.users.push(Located {
            line,
            record: label,
            value: UserRecord {
                account_id: cell("accountId"),
                display_name: cell("displayName"),
                email: cell("email"),
                status: optional("status"),
                sites: list("sites"),
                groups: list("groups"),
                roles,
                created_at: optional("createdAt"),
                last_active: optional("lastActive"),
                app_access,
            },
        });
    }
    Some(records)
}

fn split_list(cell: &str) -> Vec<String> {
    cell.split(';').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect()
}

/// `productAdmin:Jira@acme` → role, app, site.
fn parse_csv_role(text: &str) -> RoleRecord {
    let (rest, site) = match text.split_once('@') {
        Some((rest, site)) => (rest, Some(site.trim().to_owned())),
        None => (text, None),
    };
    match rest.split_once(':') {
        Some((role, app)) => {
            RoleRecord::Scoped(ScopedRole { role: role.trim().to_owned(), app: Some(app.trim().to_owned()), site })
        }
        None if site.is_some() => RoleRecord::Scoped(ScopedRole { role: rest.trim().to_owned(), app: None, site }),
        None => RoleRecord::Plain(rest.trim().to_owned()),
    }
}

/// `JSM@acme=2026-10-01T00:00:00Z` → app, site, last activity.
fn parse_csv_activity(text: &str) -> ActivityRecord {
    let (access, last_active) = match text.split_once('=') {
        Some((access, at)) => (access, Some(at.trim().to_owned())),
        None => (text, None),
    };
    let (app, site) = access.split_once('@').unwrap_or((access, ""));
    ActivityRecord { app: app.trim().to_owned(), site: site.trim().to_owned(), last_active }
}

// ---- checking -------------------------------------------------------------------------------

/// The ids and names of one kind of record (sites or groups) seen so far, with those that exist.
/// Lookups ignore case, so ids must differ by more than case and names must be unique.
struct Identities {
    kind: &'static str,
    id_field: &'static str,
    /// Lower-cased ids in the file so far.
    ids: HashSet<String>,
    /// Existing ids, by their lower-cased form.
    existing_ids: HashMap<String, String>,
    /// Lower-cased name → id of its owner (existing or earlier in the file).
    names: HashMap<String, String>,
}

impl Identities {
    fn new<'a>(kind: &'static str, id_field: &'static str, existing: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut existing_ids = HashMap::new();
        let mut names = HashMap::new();
        for (id, name) in existing {
            existing_ids.insert(id.to_lowercase(), id.to_owned());
            names.insert(name.to_lowercase(), id.to_owned());
        }
        Self { kind, id_field, ids: HashSet::new(), existing_ids, names }
    }

    /// Checks one record's id and name, reporting every problem; true when both are usable.
    fn check(&mut self, checker: &mut Checker, line: u64, record: &str, id: &str, name: &str) -> bool {
        let (kind, field) = (self.kind, self.id_field);
        let mut ok = checker.id_ok(line, record, field, id) && checker.name_ok(line, record, "name", name);
        let key = id.to_lowercase();
        if !self.ids.insert(key.clone()) {
            checker.report(line, record, field, format!("{kind} `{id}` appears twice in the file (ids ignore case)"));
            ok = false;
        } else if let Some(other) = self.existing_ids.get(&key).filter(|other| *other != id) {
            checker.report(
                line,
                record,
                field,
                format!("`{id}` differs only in case from the existing {kind} `{other}`; ids ignore case"),
            );
            ok = false;
        }
        let name = name.trim();
        match self.names.get(&name.to_lowercase()) {
            Some(owner) if owner != id => {
                checker.report(line, record, "name", format!("the name `{name}` is already used by {kind} `{owner}`"));
                ok = false;
            }
            _ => {
                self.names.insert(name.to_lowercase(), id.to_owned());
            }
        }
        ok
    }
}

#[derive(Debug, Default)]
struct Checker {
    problems: Vec<ImportProblem>,
    total: usize,
    created_at_defaulted: Vec<AccountId>,
}

impl Checker {
    fn report(&mut self, line: u64, record: &str, field: &str, message: String) {
        self.total += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(ImportProblem { line, record: record.to_owned(), field: field.to_owned(), message });
        }
    }

    fn json_syntax<T>(&mut self, error: &serde_json::Error) -> Option<T> {
        self.report(error.line() as u64, "", "", bare_message(error));
        None
    }

    fn json_record<T: DeserializeOwned>(&mut self, raw: &RawValue, line: u64, record: String) -> Option<Located<T>> {
        let mut de = serde_json::Deserializer::from_str(raw.get());
        match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Ok(value) => Some(Located { line, record, value }),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.inner();
                let at = line + (inner.line() as u64).saturating_sub(1);
                self.report(at, &record, if path == "." { "" } else { &path }, bare_message(inner));
                None
            }
        }
    }

    fn check(&mut self, records: Records, existing: &Catalog, now: Timestamp) -> DirectoryImport {
        let sites = self.check_sites(&records.sites, existing);
        let mut all_sites: Vec<Site> =
            existing.sites.iter().filter(|s| !sites.iter().any(|n| n.site_id == s.site_id)).cloned().collect();
        all_sites.extend(sites.iter().cloned());
        let with_sites = Catalog::new(all_sites.clone(), existing.apps.clone(), existing.groups.clone());

        let groups = self.check_groups(&records.groups, existing, &with_sites);
        let mut all_groups: Vec<Group> =
            existing.groups.iter().filter(|g| !groups.iter().any(|n| n.group_id == g.group_id)).cloned().collect();
        all_groups.extend(groups.iter().cloned());
        let catalog = Catalog::new(all_sites, existing.apps.clone(), all_groups);

        let users = self.check_users(&records.users, &catalog, now);
        DirectoryImport { sites, groups, users }
    }

    fn check_sites(&mut self, records: &[Located<SiteRecord>], existing: &Catalog) -> Vec<Site> {
        let mut seen =
            Identities::new("site", "siteId", existing.sites.iter().map(|s| (s.site_id.as_str(), s.name.as_str())));
        let mut out = Vec::new();
        for Located { line, record, value } in records {
            let (line, id) = (*line, value.site_id.trim());
            let record = format!("{record} ({id})");
            let mut ok = seen.check(self, line, &record, id, &value.name);
            let url = value.url.trim();
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || url.len() > 2048
                || url.chars().any(|c| c.is_control() || c.is_whitespace())
            {
                self.report(line, &record, "url", format!("`{url}` is not an http(s) URL"));
                ok = false;
            }
            if ok {
                out.push(Site {
                    site_id: SiteId(id.to_owned()),
                    name: value.name.trim().to_owned(),
                    url: url.to_owned(),
                });
            }
        }
        out
    }

    fn check_groups(&mut self, records: &[Located<GroupRecord>], existing: &Catalog, catalog: &Catalog) -> Vec<Group> {
        let mut seen =
            Identities::new("group", "groupId", existing.groups.iter().map(|g| (g.group_id.as_str(), g.name.as_str())));
        let mut out = Vec::new();
        for Located { line, record, value } in records {
            let (line, id) = (*line, value.group_id.trim());
            let record = format!("{record} ({id})");
            let mut ok = seen.check(self, line, &record, id, &value.name);
            let site_id = match value.site.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => None,
                Some(site) => {
                    let found = self.site(line, &record, "site", site, catalog);
                    ok &= found.is_some();
                    found
                }
            };
            let mut grants = Vec::new();
            for (i, grant) in value.grants.iter().enumerate() {
                let app = self.app(line, &record, &format!("grants[{i}].app"), &grant.app, catalog);
                let site = self.site(line, &record, &format!("grants[{i}].site"), &grant.site, catalog);
                match (app, site) {
                    (Some(app_type), Some(site_id)) => {
                        let grant = AppGrant { app_type, site_id };
                        if !grants.contains(&grant) {
                            grants.push(grant);
                        }
                    }
                    _ => ok = false,
                }
            }
            if ok {
                out.push(Group {
                    group_id: GroupId(id.to_owned()),
                    name: value.name.trim().to_owned(),
                    site_id,
                    grants,
                });
            }
        }
        out
    }

    fn check_users(&mut self, records: &[Located<UserRecord>], catalog: &Catalog, now: Timestamp) -> Vec<User> {
        let mut ids = HashSet::new();
        let mut out = Vec::with_capacity(records.len());
        for Located { line, record, value } in records {
            let (line, id) = (*line, value.account_id.trim());
            let record = format!("{record} ({id})");
            let mut ok = self.id_ok(line, &record, "accountId", id);
            if !ids.insert(id.to_owned()) {
                self.report(line, &record, "accountId", format!("account `{id}` appears twice in the file"));
                ok = false;
            }
            ok &= self.name_ok(line, &record, "displayName", &value.display_name);
            let email = value.email.trim();
            if email.len() > MAX_EMAIL_CHARS
                || !email.contains('@')
                || email_domain(email).is_empty()
                || email.starts_with('@')
            {
                self.report(line, &record, "email", format!("`{email}` is not an email address"));
                ok = false;
            }
            let status = match value.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => UserStatus::Active,
                Some(text) => match text.parse::<UserStatus>() {
                    Ok(status) => status,
                    Err(e) => {
                        self.report(line, &record, "status", e.to_string());
                        ok = false;
                        UserStatus::Active
                    }
                },
            };
            let mut sites = Vec::new();
            for (i, site) in value.sites.iter().enumerate() {
                match self.site(line, &record, &format!("sites[{i}]"), site, catalog) {
                    Some(id) if !sites.contains(&id) => sites.push(id),
                    Some(_) => {}
                    None => ok = false,
                }
            }
            let mut groups: Vec<GroupId> = Vec::new();
            for (i, name) in value.groups.iter().enumerate() {
                match catalog.group(name) {
                    Some(group) if !groups.contains(&group.group_id) => groups.push(group.group_id.clone()),
                    Some(_) => {}
                    None => {
                        self.unknown(line, &record, &format!("groups[{i}]"), "group", name, catalog.group_names());
                        ok = false;
                    }
                }
            }
            let mut roles = Vec::new();
            for (i, role) in value.roles.iter().enumerate() {
                let field = format!("roles[{i}]");
                let (name, app, site) = match role {
                    RoleRecord::Plain(name) => (name.as_str(), None, None),
                    RoleRecord::Scoped(s) => (s.role.as_str(), s.app.as_deref(), s.site.as_deref()),
                };
                let role = match name.parse::<model::directory::Role>() {
                    Ok(role) => Some(role),
                    Err(e) => {
                        self.report(line, &record, &field, e.to_string());
                        None
                    }
                };
                let app_type = app.map(|a| self.app(line, &record, &format!("{field}.app"), a, catalog));
                let site_id = site.map(|s| self.site(line, &record, &format!("{field}.site"), s, catalog));
                match (role, app_type, site_id) {
                    (None, ..) | (_, Some(None), _) | (_, _, Some(None)) => ok = false,
                    (Some(role), app_type, site_id) => {
                        let assignment =
                            RoleAssignment { role, app_type: app_type.flatten(), site_id: site_id.flatten() };
                        if !roles.contains(&assignment) {
                            roles.push(assignment);
                        }
                    }
                }
            }
            let created_at = match value.created_at.as_deref() {
                None => {
                    self.created_at_defaulted.push(AccountId(id.to_owned()));
                    Some(now)
                }
                Some(text) => self.instant(line, &record, "createdAt", text),
            };
            let last_active = match value.last_active.as_deref() {
                None => Some(None),
                Some(text) => self.instant(line, &record, "lastActive", text).map(Some),
            };
            let granted: HashSet<&AppGrant> =
                groups.iter().filter_map(|g| catalog.group(g.as_str())).flat_map(|g| g.grants.iter()).collect();
            let mut app_access: Vec<AppAccess> = Vec::new();
            for (i, activity) in value.app_access.iter().enumerate() {
                let field = format!("appAccess[{i}]");
                let app = self.app(line, &record, &format!("{field}.app"), &activity.app, catalog);
                let site = self.site(line, &record, &format!("{field}.site"), &activity.site, catalog);
                let at = match activity.last_active.as_deref() {
                    None => Some(None),
                    Some(text) => self.instant(line, &record, &format!("{field}.lastActive"), text).map(Some),
                };
                let (Some(app_type), Some(site_id), Some(last_active)) = (app, site, at) else {
                    ok = false;
                    continue;
                };
                let grant = AppGrant { app_type, site_id };
                if !granted.contains(&grant) {
                    let app_name =
                        catalog.app(grant.app_type.as_str()).map_or(grant.app_type.as_str(), |a| &a.display_name);
                    let site_name = catalog.site(grant.site_id.as_str()).map_or(grant.site_id.as_str(), |s| &s.name);
                    self.report(
                        line,
                        &record,
                        &field,
                        format!(
                            "none of this user's groups grants {app_name} on {site_name}; add a group that grants it \
                             (app access follows group membership)"
                        ),
                    );
                    ok = false;
                    continue;
                }
                if app_access.iter().any(|a| a.app_type == grant.app_type && a.site_id == grant.site_id) {
                    self.report(line, &record, &field, format!("{} on this site is listed twice", activity.app.trim()));
                    ok = false;
                    continue;
                }
                app_access.push(AppAccess { app_type: grant.app_type, site_id: grant.site_id, last_active });
            }
            if let (true, Some(created_at), Some(last_active)) = (ok, created_at, last_active) {
                out.push(User {
                    account_id: AccountId(id.to_owned()),
                    display_name: value.display_name.trim().to_owned(),
                    email: email.to_owned(),
                    status,
                    sites,
                    groups,
                    app_access,
                    roles,
                    last_active,
                    created_at,
                });
            }
        }
        out
    }

    fn id_ok(&mut self, line: u64, record: &str, field: &str, id: &str) -> bool {
        if id.is_empty() || id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
            self.report(line, record, field, format!("an id is 1 to {MAX_ID_CHARS} printable characters"));
            return false;
        }
        true
    }

    fn name_ok(&mut self, line: u64, record: &str, field: &str, name: &str) -> bool {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            self.report(line, record, field, format!("a name is 1 to {MAX_NAME_CHARS} printable characters"));
            return false;
        }
        true
    }

    fn site(&mut self, line: u64, record: &str, field: &str, input: &str, catalog: &Catalog) -> Option<SiteId> {
        let found = catalog.site(input).map(|s| s.site_id.clone());
        if found.is_none() {
            self.unknown(line, record, field, "site", input, catalog.site_names());
        }
        found
    }

    fn app(
        &mut self,
        line: u64,
        record: &str,
        field: &str,
        input: &str,
        catalog: &Catalog,
    ) -> Option<model::ids::AppKey> {
        let found = catalog.app(input).map(|a| a.app_type.clone());
        if found.is_none() {
            self.unknown(line, record, field, "app", input, catalog.app_names());
        }
        found
    }

    fn unknown<'a>(
        &mut self,
        line: u64,
        record: &str,
        field: &str,
        what: &str,
        input: &str,
        names: impl Iterator<Item = &'a str>,
    ) {
        let suggestions = suggest::closest(input, names, 3);
        let hint = if suggestions.is_empty() {
            String::new()
        } else {
            format!(" (did you mean: {}?)", suggestions.join(", "))
        };
        self.report(line, record, field, format!("no {what} is called `{}`{hint}", input.trim()));
    }

    fn instant(&mut self, line: u64, record: &str, field: &str, text: &str) -> Option<Timestamp> {
        let text = text.trim();
        if let Ok(at) = text.parse::<Timestamp>() {
            return Some(at);
        }
        if let Ok(date) = text.parse::<jiff::civil::Date>()
            && let Ok(at) = jiff::tz::Offset::UTC.to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        {
            return Some(at);
        }
        self.report(
            line,
            record,
            field,
            format!("`{text}` is not a date and time; use RFC 3339 (2026-11-28T09:30:00Z) or a date (2026-11-28)"),
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::directory::AppType;

    fn existing() -> Catalog {
        Catalog::new(
            vec![Site { site_id: "s1".into(), name: "acme".into(), url: "https://acme.atlassian.net".into() }],
            vec![AppType {
                app_type: "jira-servicedesk".into(),
                display_name: "Jira Service Management".into(),
                aliases: vec!["JSM".into()],
            }],
            vec![Group {
                group_id: "g1".into(),
                name: "jsm-agents".into(),
                site_id: None,
                grants: vec![AppGrant { app_type: "jira-servicedesk".into(), site_id: "s1".into() }],
            }],
        )
    }

    fn now() -> Timestamp {
        "2026-11-28T00:00:00Z".parse().unwrap()
    }

    fn problems(text: &str, format: Format) -> Vec<ImportProblem> {
        match parse(text, format, &existing(), now()) {
            Err(ImportError::Invalid { problems, .. }) => problems,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_line_record_and_field() {
        let text = "{\n  \"users\": [\n    {\"accountId\": \"a\", \"displayName\": \"A\", \"email\": \"a@x.com\"},\n    {\"accountId\": \"b\", \"displayName\": \"B\",\n     \"email\": \"b@x.com\", \"groups\": [\"jsm-agnts\"]}\n  ]\n}";
        let found = problems(text, Format::Json);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].line, 4);
        assert_eq!(found[0].record, "users[1] (b)");
        assert_eq!(found[0].field, "groups[0]");
        assert!(found[0].message.contains("did you mean: jsm-agents?"), "{}", found[0].message);
    }

    #[test]
    fn json_type_errors_point_inside_the_record() {
        let text = "{\"users\": [\n {\"accountId\": \"a\",\n  \"displayName\": \"A\",\n  \"email\": \"a@x.com\",\n  \"emial\": 3}\n]}";
        let found = problems(text, Format::Json);
        assert_eq!((found[0].line, found[0].field.as_str()), (5, "emial"), "{found:?}");
        assert!(found[0].message.contains("unknown field `emial`"), "{}", found[0].message);
    }

    #[test]
    fn json_syntax_errors_have_a_line() {
        let found = problems("{\"users\": [\n  {\"accountId\": \"a\",,}\n]}", Format::Json);
        assert_eq!(found[0].line, 2);
    }

    #[test]
    fn csv_rows_parse_lists_roles_and_activity() {
        let text = "accountId,displayName,email,status,sites,groups,roles,createdAt,lastActive,appAccess\n\
                    u1,Ada,ada@x.com,active,acme,jsm-agents,orgAdmin;productAdmin:JSM@acme,2025-01-01,2026-11-01T00:00:00Z,JSM@acme=2026-10-01\n";
        let batch = parse(text, Format::Csv, &existing(), now()).unwrap();
        let user = &batch.users[0];
        assert_eq!(user.roles.len(), 2);
        assert_eq!(user.roles[1].app_type.as_ref().map(|a| a.as_str()), Some("jira-servicedesk"));
        assert_eq!(user.app_access[0].last_active, Some("2026-10-01T00:00:00Z".parse().unwrap()));
    }

    #[test]
    fn csv_errors_name_the_row_line_and_field() {
        let text = "accountId,displayName,email,status\nu1,Ada,ada@x.com,active\nu2,Bob,bob-at-x,actve\n";
        let found = problems(text, Format::Csv);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!((found[0].line, found[0].field.as_str()), (3, "email"));
        assert_eq!((found[1].line, found[1].field.as_str()), (3, "status"));
        assert_eq!(found[1].record, "row 2 (u2)");
    }

    #[test]
    fn activity_needs_a_granting_group() {
        let text = r#"[{"accountId": "a", "displayName": "A", "email": "a@x.com", "appAccess": [{"app": "JSM", "site": "acme"}]}]"#;
        let found = problems(text, Format::Json);
        assert!(
            found[0].message.contains("none of this user's groups grants Jira Service Management on acme"),
            "{found:?}"
        );
    }

    #[test]
    fn ids_that_differ_only_in_case_are_refused() {
        let text = r#"{"groups": [{"groupId": "G1", "name": "other"}, {"groupId": "x", "name": "x"}, {"groupId": "X", "name": "y"}]}"#;
        let found = problems(text, Format::Json);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].message.contains("differs only in case from the existing group `g1`"), "{found:?}");
        assert!(found[1].message.contains("appears twice"), "{found:?}");
    }

    #[test]
    fn unknown_csv_columns_are_refused() {
        let found = problems("accountId,displayName,email,nickname\n", Format::Csv);
        assert_eq!(found[0].field, "nickname");
    }
}
