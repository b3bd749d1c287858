//! The connected organization: connecting with a key (checked against Atlassian first),
//! its status, disconnecting, and the directory of an installation, which is the local mirror
//! kept from the organization and acting on it when one is connected ([`OrgDirectory`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use directory::{Directory, DirectoryError, LocalDirectory, SyncReport, UserSearch};
use jiff::Timestamp;
use jiff::civil::Date;
use model::clock::Clock;
use model::directory::{Catalog, User, UserStatus};
use model::filter::{PageRequest, UserFilter};
use model::ids::AccountId;
use model::run::{Applied, Change, Op};
use serde::{Deserialize, Serialize};
use store::{Store, StoreError, StoredOrgConnection};
use webhooks::{GuardedClient, SealingKey};

use crate::api;
use crate::client::{AdminClient, AdminError};
use crate::sync::{self, SyncProgress};

/// The name a connection's key has unless the admin gives one (`orgKeyExpiry` names it).
pub const DEFAULT_KEY_NAME: &str = "Atlassian organization API key";

/// Where the Admin API is and how fast to call it.
#[derive(Debug, Clone)]
pub struct OrgSettings {
    /// `https://api.atlassian.com` (paths go under `/admin/...`).
    pub api_base: String,
    /// The least time between two calls (the headers may ask for more).
    pub min_interval: Duration,
}

impl Default for OrgSettings {
    fn default() -> Self {
        Self { api_base: "https://api.atlassian.com".to_owned(), min_interval: Duration::from_millis(100) }
    }
}

/// What connecting takes.
#[derive(Debug, Clone)]
pub struct ConnectInput {
    /// The organization API key (created without scopes, or with an org id given).
    pub api_key: String,
    /// The day the key expires, as shown when it was created (at most a year ahead).
    pub key_expires: Date,
    pub key_name: Option<String>,
    /// Needed for a key created with scopes, which lists no organization; or to choose one.
    pub org_id: Option<String>,
    /// Needed only when the organization has several directories.
    pub directory_id: Option<String>,
}

/// Why the organization could not be connected, read or changed.
#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    /// The input cannot be used (an expiry in the past, an empty key).
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// No organization is connected.
    #[error("no Atlassian organization is connected (`ucm directory connect atlassian`)")]
    NotConnected,
    /// The key is past the expiry date it was connected with.
    #[error(
        "the organization API key expired on {0}; create a new one at admin.atlassian.com → Settings → API keys \
         and connect it again (Settings → Atlassian organization)"
    )]
    KeyExpired(Date),
    /// Atlassian refused or failed.
    #[error(transparent)]
    Atlassian(#[from] AdminError),
    /// This process stopped holding the sync (its claim lapsed and another process took it).
    #[error("another process took this sync over")]
    SyncTakenOver,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<OrgError> for DirectoryError {
    fn from(error: OrgError) -> Self {
        match error {
            OrgError::Store(e) => DirectoryError::Store(e),
            other => DirectoryError::Backend(other.to_string()),
        }
    }
}

/// How the last sync went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgSyncReport {
    pub sites: u64,
    pub groups: u64,
    pub users: u64,
    /// Calls made to Atlassian, how many were answered 429, and how many were made again.
    pub calls: u64,
    pub rate_limited: u64,
    pub retried: u64,
    pub duration_ms: u64,
}

impl std::fmt::Display for OrgSyncReport {
    /// The report in words, as the CLI and Settings show it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} sites, {} groups, {} users in {:.1} s ({} calls to Atlassian, {} answered 429)",
            self.sites,
            self.groups,
            self.users,
            self.duration_ms as f64 / 1000.0,
            self.calls,
            self.rate_limited
        )
    }
}

/// The connection as the API, the CLI and Settings show it (never the key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgConnectionView {
    /// Its id: the `apiKeyId` of the key's `orgKeyExpiry` events.
    pub connection_id: String,
    pub org_id: String,
    pub org_name: String,
    pub directory_id: String,
    pub directory_name: String,
    pub key_name: String,
    /// The last day the key works (UTC).
    #[schema(value_type = String, format = Date)]
    pub key_expires_on: Date,
    pub key_expired: bool,
    #[schema(value_type = String, format = DateTime)]
    pub connected_at: Timestamp,
    pub connected_by: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_sync_started_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_sync_finished_at: Option<Timestamp>,
    /// Why the last sync failed (none: it succeeded, or none ran).
    pub last_sync_error: Option<String>,
    pub last_sync: Option<OrgSyncReport>,
    /// While a sync runs (in any process): how far it got.
    pub sync_in_progress: Option<SyncProgress>,
}

/// The installation's connection to an Atlassian organization. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Organization {
    store: Store,
    http: GuardedClient,
    key: SealingKey,
    clock: Arc<dyn Clock>,
    settings: OrgSettings,
    /// Whether an organization was connected when this process last looked.
    connected: Arc<std::sync::atomic::AtomicBool>,
    /// Changes this process made lately: Atlassian's reads lag its writes (up to 30 s), so a
    /// sync lays these over what it read rather than undo them in the mirror.
    recent: Arc<std::sync::Mutex<Vec<(Instant, Change)>>>,
    /// Who this process is when it claims a sync.
    owner: String,
    /// One sync at a time in this process (the claim in the database does it across processes).
    one_sync: Arc<tokio::sync::Mutex<()>>,
    /// The pace of every call this process makes to the organization: syncs and actions alike.
    limiter: crate::client::RateLimiter,
}

/// How long a change is laid over what a sync reads.
const READS_LAG: Duration = Duration::from_secs(90);

/// How long a sync's claim lasts unless its holder renews it (every third of it).
const SYNC_LEASE: Duration = Duration::from_secs(60);

/// How often a sync waiting for another process's sync looks again.
const SYNC_WAIT: Duration = Duration::from_millis(500);

/// How old the pages of a failed sync may be for the next sync to resume from them rather than
/// read the organization again from the start.
const RESUME_WITHIN: Duration = Duration::from_secs(3600);

/// What a sealed key belongs to.
fn seal_context(connection_id: &str) -> String {
    format!("atlassian-key:{connection_id}")
}

impl Organization {
    pub fn new(
        store: Store,
        http: GuardedClient,
        key: SealingKey,
        clock: Arc<dyn Clock>,
        settings: OrgSettings,
    ) -> Self {
        let limiter = crate::client::RateLimiter::new(settings.min_interval);
        Self {
            store,
            http,
            key,
            clock,
            settings,
            connected: Arc::default(),
            recent: Arc::default(),
            owner: format!("ucm-{}", model::ids::new_uuid()),
            one_sync: Arc::default(),
            limiter,
        }
    }

    /// Whether an organization is connected, as the database says now.
    pub async fn is_connected(&self) -> Result<bool, OrgError> {
        let connected = self.store.org_connection().await?.is_some();
        self.note_connected(connected);
        Ok(connected)
    }

    /// Whether an organization was connected when this process last looked (no IO).
    pub fn was_connected(&self) -> bool {
        self.connected.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn note_connected(&self, connected: bool) {
        self.connected.store(connected, std::sync::atomic::Ordering::Relaxed);
    }

    fn client(&self, api_key: &str) -> AdminClient {
        AdminClient::with_limiter(self.http.clone(), &self.settings.api_base, api_key, &self.limiter)
    }

    /// Checks the key with Atlassian (`GET /v1/orgs`, or `/v1/orgs/{orgId}` for a key that
    /// lists none), finds the directory, and stores the connection with the key sealed. The
    /// mirror is not touched until the first sync.
    pub async fn connect(&self, input: &ConnectInput, by: &str) -> Result<OrgConnectionView, OrgError> {
        let api_key = input.api_key.trim();
        if api_key.is_empty() || api_key.chars().any(char::is_whitespace) {
            return Err(OrgError::Invalid {
                field: "apiKey",
                message: "the API key is empty or has spaces in it".into(),
            });
        }
        let today = self.clock.now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
        if input.key_expires < today {
            return Err(OrgError::Invalid {
                field: "keyExpires",
                message: format!("{} has passed: the key has expired", input.key_expires),
            });
        }
        if input.key_expires > today.checked_add(jiff::Span::new().days(366)).unwrap_or(Date::MAX) {
            return Err(OrgError::Invalid {
                field: "keyExpires",
                message: format!("{}: Atlassian's keys last at most a year", input.key_expires),
            });
        }
        // A person waits: one more try at most, then the failure.
        let client = self.client(api_key).with_attempts(2);
        let org = self.find_org(&client, input.org_id.as_deref()).await.map_err(|e| match e {
            OrgError::Atlassian(AdminError::Unauthorized) => OrgError::Invalid {
                field: "apiKey",
                message: "Atlassian refused this key (401): give an organization API key from admin.atlassian.com → \
                          Settings → API keys (not a personal API token), one that has not expired or been revoked"
                    .into(),
            },
            other => other,
        })?;
        let directories: api::Page<api::UserDirectory> =
            client.get(&format!("/v2/orgs/{}/directories?limit=100", org.id)).await?;
        let directory = match &input.directory_id {
            Some(wanted) => directories.data.iter().find(|d| &d.directory_id == wanted).cloned().ok_or_else(|| {
                OrgError::Invalid {
                    field: "directoryId",
                    message: format!("the organization has no directory `{wanted}` ({})", list(&directories.data)),
                }
            })?,
            None => match directories.data.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(OrgError::Invalid {
                        field: "directoryId",
                        message: "the organization has no directory this key may manage".into(),
                    });
                }
                several => {
                    return Err(OrgError::Invalid {
                        field: "directoryId",
                        message: format!("the organization has several directories; choose one: {}", list(several)),
                    });
                }
            },
        };
        let connection_id = model::ids::new_uuid();
        let stored = StoredOrgConnection {
            key_sealed: self.key.seal(api_key, &seal_context(&connection_id)),
            connection_id,
            org_id: org.id,
            org_name: org.attributes.name,
            directory_id: directory.directory_id,
            directory_name: directory.name,
            key_name: input
                .key_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_KEY_NAME.into()),
            key_expires_at: end_of(input.key_expires),
            connected_at: self.clock.now(),
            connected_by: by.to_owned(),
            last_sync_started_at: None,
            last_sync_finished_at: None,
            last_sync_error: None,
            last_sync_report: None,
            sync_claimed_until: None,
            sync_progress: None,
        };
        self.store.set_org_connection(&stored).await?;
        self.note_connected(true);
        tracing::info!(org = %stored.org_id, directory = %stored.directory_id, by, "Atlassian organization connected");
        Ok(self.view(stored))
    }

    async fn find_org(&self, client: &AdminClient, org_id: Option<&str>) -> Result<api::Org, OrgError> {
        if let Some(org_id) = org_id {
            let one: api::One<api::Org> = client.get(&format!("/v1/orgs/{org_id}")).await.map_err(|e| match e {
                AdminError::NotFound(_) => OrgError::Invalid {
                    field: "orgId",
                    message: format!("no organization `{org_id}` is reachable with this key"),
                },
                other => other.into(),
            })?;
            return Ok(one.data);
        }
        let orgs: api::Page<api::Org> = client.get("/v1/orgs").await?;
        match orgs.data.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(OrgError::Invalid {
                field: "orgId",
                message:
                    "the key lists no organization (a key created with scopes does not): give the organization id, \
                          the part after /o/ in admin.atlassian.com's address"
                        .into(),
            }),
            several => Err(OrgError::Invalid {
                field: "orgId",
                message: format!(
                    "the key reaches several organizations; choose one: {}",
                    several.iter().map(|o| format!("{} ({})", o.id, o.attributes.name)).collect::<Vec<_>>().join(", ")
                ),
            }),
        }
    }

    /// The connection, if any.
    pub async fn status(&self) -> Result<Option<OrgConnectionView>, OrgError> {
        let stored = self.store.org_connection().await?;
        self.note_connected(stored.is_some());
        Ok(stored.map(|c| self.view(c)))
    }

    /// Checks the stored key with Atlassian now.
    pub async fn check_key(&self) -> Result<OrgConnectionView, OrgError> {
        let (stored, client) = self.open().await?;
        let client = client.with_attempts(2);
        let _: api::One<api::Org> = client.get(&format!("/v1/orgs/{}", stored.org_id)).await?;
        Ok(self.view(stored))
    }

    /// Forgets the connection (the mirror stays as it is); whether there was one.
    /// The directory keeps what it last read, read-only until an import or a new connection's
    /// sync replaces it: changes made to it would no longer reach anyone.
    pub async fn disconnect(&self) -> Result<bool, OrgError> {
        let removed = self.store.delete_org_connection().await?;
        if removed {
            self.store.set_mirror_read_only(true).await?;
        }
        self.note_connected(false);
        Ok(removed)
    }

    /// The connection and a client with its key; refused once the key has expired.
    async fn open(&self) -> Result<(StoredOrgConnection, AdminClient), OrgError> {
        let stored = self.store.org_connection().await?.ok_or(OrgError::NotConnected)?;
        if self.clock.now() > stored.key_expires_at {
            return Err(OrgError::KeyExpired(date_of(stored.key_expires_at)));
        }
        let api_key = self.key.open(&stored.key_sealed, &seal_context(&stored.connection_id)).map_err(|e| {
            OrgError::Invalid { field: "apiKey", message: format!("the stored key cannot be opened: {e}") }
        })?;
        let client = self.client(&api_key);
        Ok((stored, client))
    }

    /// Reads the whole organization and makes the mirror exactly that, in one transaction: a
    /// sync that fails leaves the mirror as it was. One sync runs at a time (across processes
    /// too); a sync asked for while another runs waits for it, and is that one when it started
    /// after it was asked for. Each page read is kept, so a sync that failed midway (Atlassian
    /// unreachable, a crash) resumes after its last page; the outcome is recorded on the
    /// connection.
    pub async fn sync(&self, progress: &(dyn Fn(SyncProgress) + Sync)) -> Result<OrgSyncReport, OrgError> {
        let asked = self.clock.now();
        let _one_here = self.one_sync.lock().await;
        let (mut stored, client) = self.open().await?;
        loop {
            if let Some(report) = synced_since(&stored, asked) {
                return Ok(report);
            }
            let now = self.clock.now();
            if self.store.claim_org_sync(&stored.connection_id, &self.owner, now + SYNC_LEASE, now).await? {
                break;
            }
            tokio::time::sleep(SYNC_WAIT).await;
            stored = self.store.org_connection().await?.ok_or(OrgError::NotConnected)?;
        }
        let claim = self.keep_sync_claim(&stored.connection_id);
        let started = Instant::now();
        self.store.org_sync_started(&stored.connection_id, self.clock.now()).await?;
        let outcome = self.read_and_replace(&stored, &client, &claim, progress).await;
        let counts = outcome.as_ref().map(|counts| *counts).unwrap_or_default();
        let stats = client.stats();
        let report = OrgSyncReport {
            sites: counts.sites,
            groups: counts.groups,
            users: counts.users,
            calls: stats.calls,
            rate_limited: stats.rate_limited,
            retried: stats.retried,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        let error = outcome.as_ref().err().map(ToString::to_string);
        let text = serde_json::to_string(&report).unwrap_or_default();
        self.store
            .org_sync_finished(&stored.connection_id, &self.owner, self.clock.now(), &text, error.as_deref())
            .await?;
        match outcome {
            Ok(_) => {
                tracing::info!(
                    users = report.users,
                    calls = report.calls,
                    rate_limited = report.rate_limited,
                    duration_ms = report.duration_ms,
                    "Atlassian organization synced"
                );
                Ok(report)
            }
            Err(e) => {
                tracing::warn!(error = %e, "Atlassian organization sync failed; the mirror is unchanged");
                Err(e)
            }
        }
    }

    /// The claim on the sync of `connection_id`, renewed while it is kept.
    fn keep_sync_claim(&self, connection_id: &str) -> worker::Claim {
        let (store, clock, owner, id) =
            (self.store.clone(), self.clock.clone(), self.owner.clone(), connection_id.to_owned());
        worker::Claim::renewed("Atlassian organization sync", SYNC_LEASE, move || {
            let (store, clock, owner, id) = (store.clone(), clock.clone(), owner.clone(), id.clone());
            async move {
                let now = clock.now();
                store.claim_org_sync(&id, &owner, now + SYNC_LEASE, now).await
            }
        })
    }

    /// Reads the organization (resuming from the kept pages of a sync that failed, unless they
    /// are too old or their cursor no longer works) and makes the mirror what was read.
    async fn read_and_replace(
        &self,
        stored: &StoredOrgConnection,
        client: &AdminClient,
        claim: &worker::Claim,
        progress: &(dyn Fn(SyncProgress) + Sync),
    ) -> Result<SyncProgress, OrgError> {
        let mut kept = self.kept_pages(stored).await?;
        let mut fetched = loop {
            let resumed_after = i64::try_from(kept.len()).unwrap_or(i64::MAX);
            let mut journal = StoredJournal {
                store: &self.store,
                clock: self.clock.as_ref(),
                connection_id: &stored.connection_id,
                owner: &self.owner,
                seq: resumed_after,
            };
            let pages = std::mem::take(&mut kept);
            let read =
                sync::fetch_resuming(client, &stored.org_id, &stored.directory_id, pages, &mut journal, progress).await;
            match read {
                // Atlassian no longer takes the cursor an earlier attempt kept: read from the start.
                Err(OrgError::Atlassian(AdminError::Status { status: 400, .. }))
                    if resumed_after > 0 && journal.seq == resumed_after =>
                {
                    tracing::info!("the last sync's cursor has expired; reading the organization from the start");
                    self.store.clear_org_sync_pages().await?;
                }
                other => break other?,
            }
        };
        self.overlay_recent(&mut fetched.import);
        if !claim.held() {
            return Err(OrgError::SyncTakenOver);
        }
        let counts = SyncProgress {
            sites: fetched.import.sites.len() as u64,
            groups: fetched.import.groups.len() as u64,
            users: fetched.import.users.len() as u64,
            users_total: None,
        };
        self.store
            .replace_directory(&fetched.import, &fetched.app_types, &fetched.unmodifiable_groups, &|_| {})
            .await?;
        Ok(counts)
    }

    /// The pages an earlier sync of this connection read and kept, if recent enough to go on
    /// from; older ones are forgotten.
    async fn kept_pages(&self, stored: &StoredOrgConnection) -> Result<Vec<sync::ReadPage>, OrgError> {
        let saved = self.store.org_sync_pages(&stored.connection_id).await?;
        let Some(first) = saved.first() else { return Ok(Vec::new()) };
        let recent = self.clock.now().duration_since(first.saved_at).unsigned_abs() < RESUME_WITHIN;
        let pages: Option<Vec<sync::ReadPage>> =
            saved.iter().map(|saved| serde_json::from_str(&saved.page).ok()).collect();
        match pages {
            Some(pages) if recent && saved.iter().zip(1..).all(|(page, seq)| page.seq == seq) => {
                tracing::info!(pages = pages.len(), "resuming the organization sync that stopped midway");
                Ok(pages)
            }
            _ => {
                self.store.clear_org_sync_pages().await?;
                Ok(Vec::new())
            }
        }
    }

    /// Makes each change through Atlassian's v2 calls (NOTES §0.4), after checking it against
    /// the mirror by the same rules as the local directory (organization admins are never
    /// changed, a deactivated user joins no group, …). What Atlassian did is written to the
    /// mirror at once. Per change: 204 is changed; 409 "already" on adding, or 404 on removing,
    /// is unchanged; 409 otherwise (an app's user limit), 403 (a group synced from an identity
    /// provider) and any final failure are failed, with Atlassian's reason. A key Atlassian
    /// refuses stops the whole batch.
    pub async fn apply(&self, changes: &[Change]) -> Result<Vec<Applied>, OrgError> {
        let (stored, client) = self.open().await?;
        let planned = self.store.check_changes(changes).await?;
        let dir = format!("/v2/orgs/{}/directories/{}", stored.org_id, stored.directory_id);
        let mut answers = Vec::with_capacity(changes.len());
        let mut done = Vec::new();
        for (change, planned) in changes.iter().zip(planned) {
            if planned != Applied::Changed {
                answers.push(planned);
                continue;
            }
            let account = &change.account_id.0;
            let called = match &change.op {
                Op::AddToGroup(group) => {
                    let body = serde_json::json!({ "accountId": account });
                    client.send("POST", &format!("{dir}/groups/{}/memberships", group.0), Some(&body)).await
                }
                Op::RemoveFromGroup(group) => {
                    client.send("DELETE", &format!("{dir}/groups/{}/memberships/{account}", group.0), None).await
                }
                Op::Suspend => client.send("POST", &format!("{dir}/users/{account}/suspend"), None).await,
                Op::Restore => client.send("POST", &format!("{dir}/users/{account}/restore"), None).await,
            };
            let answer = match (&change.op, called) {
                (_, Ok(())) => Applied::Changed,
                (_, Err(AdminError::Unauthorized)) => {
                    // What was done stays done, in the mirror too.
                    self.record(&done).await?;
                    return Err(AdminError::Unauthorized.into());
                }
                (Op::AddToGroup(_), Err(AdminError::Conflict(why))) if why.to_lowercase().contains("already") => {
                    Applied::Unchanged
                }
                (Op::AddToGroup(_), Err(AdminError::Conflict(why))) => Applied::Failed(format!(
                    "Atlassian refused (409): {why}; an app this group grants may have reached its user limit"
                )),
                (Op::RemoveFromGroup(_), Err(AdminError::NotFound(_))) => Applied::Unchanged,
                (_, Err(AdminError::Forbidden(why))) => Applied::Failed(format!(
                    "Atlassian refused (403): {why}; a group synced from an identity provider is changed there"
                )),
                (_, Err(AdminError::NotFound(why))) => {
                    Applied::Failed(format!("Atlassian does not know this user or group (404): {why}"))
                }
                (_, Err(other)) => Applied::Failed(other.to_string()),
            };
            // Already so in Atlassian: the mirror catches up as well.
            if matches!(answer, Applied::Changed | Applied::Unchanged) {
                done.push(change.clone());
            }
            answers.push(answer);
        }
        self.record(&done).await?;
        Ok(answers)
    }

    /// Writes changes Atlassian made to the mirror, and remembers them for the next syncs.
    async fn record(&self, done: &[Change]) -> Result<(), OrgError> {
        if done.is_empty() {
            return Ok(());
        }
        self.store.apply_changes(done).await?;
        // Pages a failed sync kept predate these changes: a resumed sync would undo them.
        self.store.clear_org_sync_pages().await?;
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        recent.retain(|(at, _)| now.duration_since(*at) < READS_LAG);
        recent.extend(done.iter().map(|change| (now, change.clone())));
        Ok(())
    }

    /// Lays the changes of the last [`READS_LAG`] over what a sync read.
    fn overlay_recent(&self, import: &mut store::DirectoryImport) {
        let recent: Vec<Change> = {
            let mut recent = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            recent.retain(|(at, _)| at.elapsed() < READS_LAG);
            recent.iter().map(|(_, change)| change.clone()).collect()
        };
        if recent.is_empty() {
            return;
        }
        let groups: std::collections::HashSet<&str> = import.groups.iter().map(|g| g.group_id.as_str()).collect();
        let index: std::collections::HashMap<String, usize> =
            import.users.iter().enumerate().map(|(i, u)| (u.account_id.0.clone(), i)).collect();
        for change in &recent {
            let Some(user) = index.get(change.account_id.as_str()).map(|i| &mut import.users[*i]) else { continue };
            match &change.op {
                Op::AddToGroup(g) if groups.contains(g.as_str()) && !user.groups.contains(g) => {
                    user.groups.push(g.clone());
                }
                Op::RemoveFromGroup(g) => user.groups.retain(|x| x != g),
                Op::Suspend if user.status == UserStatus::Active => user.status = UserStatus::Suspended,
                Op::Restore if user.status == UserStatus::Suspended => user.status = UserStatus::Active,
                _ => {}
            }
        }
    }

    fn view(&self, c: StoredOrgConnection) -> OrgConnectionView {
        OrgConnectionView {
            key_expired: self.clock.now() > c.key_expires_at,
            key_expires_on: date_of(c.key_expires_at),
            last_sync: c.last_sync_report.as_deref().and_then(|r| serde_json::from_str(r).ok()),
            sync_in_progress: c
                .sync_claimed_until
                .filter(|until| *until > self.clock.now())
                .map(|_| c.sync_progress.as_deref().and_then(|p| serde_json::from_str(p).ok()).unwrap_or_default()),
            connection_id: c.connection_id,
            org_id: c.org_id,
            org_name: c.org_name,
            directory_id: c.directory_id,
            directory_name: c.directory_name,
            key_name: c.key_name,
            connected_at: c.connected_at,
            connected_by: c.connected_by,
            last_sync_started_at: c.last_sync_started_at,
            last_sync_finished_at: c.last_sync_finished_at,
            last_sync_error: c.last_sync_error,
        }
    }
}

/// The report of a sync that started after `asked` and succeeded: a sync asked for while
/// another waited can be that one.
fn synced_since(stored: &StoredOrgConnection, asked: Timestamp) -> Option<OrgSyncReport> {
    let (Some(started), Some(finished)) = (stored.last_sync_started_at, stored.last_sync_finished_at) else {
        return None;
    };
    if started <= asked || finished < started || stored.last_sync_error.is_some() {
        return None;
    }
    stored.last_sync_report.as_deref().and_then(|report| serde_json::from_str(report).ok())
}

/// Keeps a sync's pages in the database, as long as this process holds the sync.
struct StoredJournal<'a> {
    store: &'a Store,
    clock: &'a dyn Clock,
    connection_id: &'a str,
    owner: &'a str,
    /// The last page's number.
    seq: i64,
}

#[async_trait]
impl sync::Journal for StoredJournal<'_> {
    async fn keep(&mut self, page: &sync::ReadPage, counts: SyncProgress) -> Result<(), OrgError> {
        let saved = store::SavedSyncPage {
            seq: self.seq + 1,
            saved_at: self.clock.now(),
            page: serde_json::to_string(page).map_err(|e| OrgError::Store(StoreError::Other(e.to_string())))?,
        };
        let counts = serde_json::to_string(&counts).unwrap_or_default();
        if !self.store.save_org_sync_page(self.connection_id, self.owner, &saved, &counts).await? {
            return Err(OrgError::SyncTakenOver);
        }
        self.seq = saved.seq;
        Ok(())
    }
}

fn list(directories: &[api::UserDirectory]) -> String {
    directories.iter().map(|d| format!("{} ({})", d.directory_id, d.name)).collect::<Vec<_>>().join(", ")
}

/// The last instant of `day` in UTC: a key "expiring on" a day works through it.
fn end_of(day: Date) -> Timestamp {
    day.checked_add(jiff::Span::new().days(1))
        .ok()
        .and_then(|next| next.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok())
        .map_or(Timestamp::MAX, |z| z.timestamp() - jiff::SignedDuration::from_millis(1))
}

fn date_of(at: Timestamp) -> Date {
    at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()
}

/// The installation's directory: the local mirror, which every read uses; when an Atlassian
/// organization is connected, syncs read it into the mirror.
#[derive(Debug, Clone)]
pub struct OrgDirectory {
    local: LocalDirectory,
    organization: Organization,
}

impl OrgDirectory {
    /// The directory over `local`'s tables; asks the database whether an organization is
    /// connected, so that `backend` is right from the start.
    pub async fn new(local: LocalDirectory, organization: Organization) -> Result<Self, OrgError> {
        organization.is_connected().await?;
        Ok(Self { local, organization })
    }

    async fn connected(&self) -> Result<bool, DirectoryError> {
        Ok(self.organization.is_connected().await?)
    }
}

#[async_trait]
impl Directory for OrgDirectory {
    /// `atlassian` while an organization is connected (as this process last saw), else `local`.
    fn backend(&self) -> &'static str {
        if self.organization.was_connected() { "atlassian" } else { "local" }
    }

    async fn catalog(&self) -> Result<Catalog, DirectoryError> {
        self.local.catalog().await
    }

    async fn search_users(&self, filter: &UserFilter, page: &PageRequest) -> Result<UserSearch, DirectoryError> {
        self.local.search_users(filter, page).await
    }

    async fn matching_account_ids(&self, filter: &UserFilter) -> Result<Vec<AccountId>, DirectoryError> {
        self.local.matching_account_ids(filter).await
    }

    async fn user(&self, account_id: &AccountId) -> Result<User, DirectoryError> {
        self.local.user(account_id).await
    }

    async fn users(&self, account_ids: &[AccountId]) -> Result<Vec<User>, DirectoryError> {
        self.local.users(account_ids).await
    }

    async fn apply(&self, changes: &[Change]) -> Result<Vec<Applied>, DirectoryError> {
        if self.connected().await? {
            return Ok(self.organization.apply(changes).await?);
        }
        if self.organization.store.mirror_read_only().await? {
            return Err(DirectoryError::Backend(
                "the directory is a copy of the Atlassian organization that was disconnected, kept read-only: \
                 connect an organization again, or import a directory, before changing users"
                    .to_owned(),
            ));
        }
        self.local.apply(changes).await
    }

    async fn sync(&self) -> Result<SyncReport, DirectoryError> {
        if !self.connected().await? {
            return self.local.sync().await;
        }
        let report = self.organization.sync(&|_| {}).await?;
        Ok(SyncReport { users: report.users })
    }
}
