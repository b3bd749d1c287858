//! Tasks, runs, the scheduler and bulk operations, each on SQLite and PostgreSQL, over a
//! small organization whose every user exercises a different rule.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runs;
mod scheduler;
mod webhooks;

use std::sync::Arc;

use directory::{Directory, DirectoryError, LocalDirectory};
use jiff::Timestamp;
use model::clock::ManualClock;
use model::directory::{AppGrant, Group, Role, RoleAssignment, Site, User, UserStatus};
use model::filter::UserFilter;
use model::ids::{AccountId, FilterId};
use model::task::{Action, AppTarget, Schedule};
use store::{DirectoryImport, Store, StoreOptions};
use tasks::{TaskInput, TaskService, TaskSettings};
use testkit::TestDb;

pub fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

pub const PUBLIC_URL: &str = "http://ucm.test:8080";

/// The organization: one site, three groups, five users.
/// - `ada`: active, in `confluence-users` and `jira-users`
/// - `bob`: suspended, in `confluence-users`
/// - `cid`: deactivated, in no group
/// - `dee`: active organization admin, in `confluence-users`
/// - `eve`: closed
pub fn organization() -> DirectoryImport {
    let site = Site { site_id: "site-1".into(), name: "acme".into(), url: "https://acme.example".into() };
    let grant = |app: &str| AppGrant { app_type: app.into(), site_id: "site-1".into() };
    let groups = vec![
        Group {
            group_id: "g-conf".into(),
            name: "confluence-users".into(),
            site_id: None,
            grants: vec![grant("confluence")],
        },
        Group {
            group_id: "g-jira".into(),
            name: "jira-users".into(),
            site_id: None,
            grants: vec![grant("jira-software")],
        },
        Group { group_id: "g-contractors".into(), name: "Contractors".into(), site_id: None, grants: vec![] },
    ];
    let user = |id: &str, name: &str, status: UserStatus, groups: &[&str]| User {
        account_id: id.into(),
        display_name: name.into(),
        email: format!("{id}@acme.com"),
        status,
        sites: vec!["site-1".into()],
        groups: groups.iter().map(|g| (*g).into()).collect(),
        app_access: vec![],
        roles: vec![],
        last_active: None,
        created_at: at("2026-01-01T00:00:00Z"),
    };
    let mut dee = user("dee", "Dee Admin", UserStatus::Active, &["g-conf"]);
    dee.roles.push(RoleAssignment::plain(Role::OrgAdmin));
    DirectoryImport {
        sites: vec![site],
        groups,
        users: vec![
            user("ada", "Ada Lovelace", UserStatus::Active, &["g-conf", "g-jira"]),
            user("bob", "Bob", UserStatus::Suspended, &["g-conf"]),
            user("cid", "Cid", UserStatus::Deactivated, &[]),
            dee,
            user("eve", "Eve", UserStatus::Closed, &[]),
        ],
    }
}

/// A service over a test database holding [`organization`], with a saved filter `everyone`.
#[allow(missing_debug_implementations, reason = "test fixture")]
pub struct Fixture {
    pub db: TestDb,
    pub clock: ManualClock,
    pub directory: Arc<dyn Directory>,
    pub service: TaskService,
    pub everyone: FilterId,
}

impl Fixture {
    pub async fn new(db: TestDb) -> Self {
        Self::with_settings(db, TaskSettings { public_url: PUBLIC_URL.to_owned(), ..TaskSettings::default() }).await
    }

    pub async fn with_settings(db: TestDb, settings: TaskSettings) -> Self {
        let clock = ManualClock::new(at("2026-11-28T12:00:00Z"));
        db.store.import_directory(&organization(), &|_| {}).await.unwrap();
        let everyone =
            db.store.create_saved_filter("everyone", &UserFilter::default(), clock.now_ts()).await.unwrap().filter_id;
        let directory: Arc<dyn Directory> = Arc::new(LocalDirectory::new(db.store.clone(), Arc::new(clock.clone())));
        let service = TaskService::new(db.store.clone(), directory.clone(), Arc::new(clock.clone()), settings);
        Self { db, clock, directory, service, everyone }
    }

    /// Another process's service over the same database (its own pool and claims).
    pub async fn second_process(&self) -> TaskService {
        let options = StoreOptions { postgres_schema: self.db.schema.clone(), ..StoreOptions::default() };
        let store = Store::open(&self.db.url, &options).await.unwrap();
        let directory: Arc<dyn Directory> = Arc::new(LocalDirectory::new(store.clone(), Arc::new(self.clock.clone())));
        TaskService::new(store, directory, Arc::new(self.clock.clone()), self.service.settings().clone())
    }

    pub fn input(&self, name: &str, actions: Vec<Action>, schedule: Schedule) -> TaskInput {
        TaskInput {
            name: name.to_owned(),
            filter_id: self.everyone.clone(),
            actions,
            schedule,
            active: true,
            execution_limit: None,
        }
    }

    pub async fn user(&self, id: &str) -> User {
        self.directory.user(&AccountId::from(id)).await.unwrap()
    }
}

/// A directory whose `apply` fails as if the backend were down, when `down` is set, takes
/// `delay_ms` when not, and panics when that is `u64::MAX`.
#[derive(Debug)]
pub struct FlakyDirectory {
    pub inner: Arc<dyn Directory>,
    pub down: std::sync::atomic::AtomicBool,
    /// Each `apply` takes this long (a slow remote directory).
    pub delay_ms: std::sync::atomic::AtomicU64,
    /// The next `sync` panics (a bug in a directory client, simulated), once.
    pub sync_panics: std::sync::atomic::AtomicBool,
    /// How many `sync` calls returned.
    pub syncs: std::sync::atomic::AtomicU32,
}

impl FlakyDirectory {
    pub fn new(inner: Arc<dyn Directory>) -> Self {
        Self { inner, down: false.into(), delay_ms: 0.into(), sync_panics: false.into(), syncs: 0.into() }
    }
}

#[async_trait::async_trait]
impl Directory for FlakyDirectory {
    fn backend(&self) -> &'static str {
        "flaky"
    }
    async fn catalog(&self) -> Result<model::directory::Catalog, DirectoryError> {
        self.inner.catalog().await
    }
    async fn search_users(
        &self,
        filter: &UserFilter,
        page: &model::filter::PageRequest,
    ) -> Result<directory::UserSearch, DirectoryError> {
        self.inner.search_users(filter, page).await
    }
    async fn matching_account_ids(&self, filter: &UserFilter) -> Result<Vec<AccountId>, DirectoryError> {
        self.inner.matching_account_ids(filter).await
    }
    async fn user(&self, id: &AccountId) -> Result<User, DirectoryError> {
        self.inner.user(id).await
    }
    async fn users(&self, ids: &[AccountId]) -> Result<Vec<User>, DirectoryError> {
        self.inner.users(ids).await
    }
    async fn apply(&self, changes: &[model::run::Change]) -> Result<Vec<model::run::Applied>, DirectoryError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(DirectoryError::Store(store::StoreError::Unavailable("connection refused".into())));
        }
        if self.delay_ms.load(std::sync::atomic::Ordering::SeqCst) == u64::MAX {
            panic!("the directory client crashed (a bug, simulated)");
        }
        let delay = self.delay_ms.load(std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        self.inner.apply(changes).await
    }
    async fn sync(&self) -> Result<directory::SyncReport, DirectoryError> {
        if self.sync_panics.swap(false, std::sync::atomic::Ordering::SeqCst) {
            panic!("the directory client crashed while syncing (a bug, simulated)");
        }
        let report = self.inner.sync().await;
        self.syncs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        report
    }
}

trait NowTs {
    fn now_ts(&self) -> Timestamp;
}
impl NowTs for ManualClock {
    fn now_ts(&self) -> Timestamp {
        model::clock::Clock::now(self)
    }
}

/// Add to Contractors, remove Confluence access, suspend.
pub fn three_actions() -> Vec<Action> {
    vec![
        Action::AddToGroups { group_ids: vec!["Contractors".into()] },
        Action::RemoveAppAccess { apps: vec![AppTarget { app_type: "Confluence".into(), site_id: None }], all: false },
        Action::SuspendUsers,
    ]
}
