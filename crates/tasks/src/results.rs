//! Reading run results: the PRODUCT §5 record (paged `userChanges`), the full export, and
//! lists of runs.

use jiff::Timestamp;
use model::directory::Catalog;
use model::ids::{AccountId, ProcessId, TaskId};
use model::run::{ChangeStatus, RunOutcome, RunOverview, RunRecord, UserResult};
use serde::{Deserialize, Serialize};
use store::{RunQuery, StoredRun};
use utoipa::ToSchema;

use crate::{TaskError, TaskService};

/// The most `userChanges` one page holds.
pub const MAX_PAGE: u32 = 1_000;
/// The most runs one list holds.
pub const MAX_RUNS: u32 = 500;

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub task_id: Option<TaskId>,
    /// Runs that changed (or failed to change) this user.
    pub account_id: Option<AccountId>,
    pub outcome: Option<RunOutcome>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub limit: Option<u32>,
}

/// One user's result with every item, as `GET /api/v1/runs/{processId}/users` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResultView {
    pub status: ChangeStatus,
    #[serde(flatten)]
    pub result: UserResult,
}

/// A page of per-user results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResultsPage {
    pub users: Vec<UserResultView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// A run's record as JSON in pieces: see [`TaskService::export`].
#[derive(Debug)]
pub struct RunExport {
    service: TaskService,
    catalog: Catalog,
    id: ProcessId,
    head: Option<String>,
    tail: Option<String>,
    after: Option<String>,
    first: bool,
    pages_done: bool,
}

impl RunExport {
    /// The next piece of the JSON text, or `None` at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, TaskError> {
        if let Some(head) = self.head.take() {
            return Ok(Some(head.into_bytes()));
        }
        if !self.pages_done {
            let page = self
                .service
                .inner
                .store
                .run_users(&self.id, self.after.as_deref(), MAX_PAGE, &ChangeStatus::CHANGES)
                .await;
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    // Nothing sensible can follow half a document.
                    self.pages_done = true;
                    self.tail = None;
                    return Err(e.into());
                }
            };
            self.pages_done = page.len() < MAX_PAGE as usize;
            self.after = page.last().map(|r| r.account_id.0.clone());
            let mut out = Vec::with_capacity(page.len() * 400);
            for result in &page {
                if !std::mem::take(&mut self.first) {
                    out.push(b',');
                }
                let mut change = result.change(self.service.user_browser_url(&result.account_id));
                change.add_current_names(&self.catalog);
                serde_json::to_writer(&mut out, &change)
                    .map_err(|e| TaskError::Store(store::StoreError::Other(e.to_string())))?;
            }
            if !out.is_empty() || !self.pages_done {
                return Ok(Some(out));
            }
        }
        Ok(self.tail.take().map(String::into_bytes))
    }
}

impl TaskService {
    /// The link that opens a run's result in the web UI.
    pub fn deep_link(&self, task_id: Option<&TaskId>, process_id: &ProcessId) -> String {
        model::webhook::run_deep_link(&self.inner.settings.public_url, task_id, process_id)
    }

    /// One run's record with one page of `userChanges` (after `cursor`, at most `limit`).
    pub async fn run_record(&self, id: &ProcessId, cursor: Option<&str>, limit: u32) -> Result<RunRecord, TaskError> {
        let limit = limit.clamp(1, MAX_PAGE);
        Ok(self.inner.store.run_record(id, cursor, limit, &self.inner.settings.public_url).await?)
    }

    /// Per-user results of a run with every (action, target) item and its outcome, one page
    /// after `cursor` (an account id), of users with `status` (all when `None`): what
    /// `userChanges` leaves out (unchanged and skipped users, unchanged items).
    pub async fn run_users(
        &self,
        id: &ProcessId,
        status: Option<ChangeStatus>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<UserResultsPage, TaskError> {
        let limit = limit.clamp(1, MAX_PAGE);
        self.inner.store.run(id).await?;
        let statuses: Vec<ChangeStatus> = status.into_iter().collect();
        let mut users = self.inner.store.run_users(id, cursor, limit + 1, &statuses).await?;
        let next_cursor = if users.len() > limit as usize {
            users.truncate(limit as usize);
            users.last().map(|r| r.account_id.0.clone())
        } else {
            None
        };
        let users = users.into_iter().map(|result| UserResultView { status: result.status(), result }).collect();
        Ok(UserResultsPage { users, next_cursor })
    }

    /// One run's whole record as JSON, produced in pieces (the record's header, then a page
    /// of `userChanges` at a time): an export of any size never sits in memory whole.
    pub async fn export(&self, id: &ProcessId) -> Result<RunExport, TaskError> {
        let stored = self.inner.store.run(id).await?;
        let header = serde_json::to_string(&self.record(stored, &[], None, &Catalog::default()))
            .map_err(|e| TaskError::Store(store::StoreError::Other(e.to_string())))?;
        const EMPTY: &str = "\"userChanges\":[]";
        let split = header
            .find(EMPTY)
            .ok_or_else(|| TaskError::Store(store::StoreError::Other("the record has no userChanges".into())))?;
        let head = header[..split + EMPTY.len() - 1].to_owned();
        let tail = header[split + EMPTY.len() - 1..].to_owned();
        Ok(RunExport {
            catalog: self.inner.store.catalog().await?,
            service: self.clone(),
            id: id.clone(),
            head: Some(head),
            tail: Some(tail),
            after: None,
            first: true,
            pages_done: false,
        })
    }

    /// Runs matching `filter`, newest first.
    pub async fn runs(&self, filter: &RunFilter) -> Result<Vec<RunOverview>, TaskError> {
        let query = RunQuery {
            task_id: filter.task_id.clone(),
            account_id: filter.account_id.clone(),
            outcome: filter.outcome,
            since: filter.since,
            until: filter.until,
            limit: filter.limit.unwrap_or(50).clamp(1, MAX_RUNS),
        };
        Ok(self.inner.store.runs(&query).await?.into_iter().map(|run| self.overview(run)).collect())
    }

    fn overview(&self, run: StoredRun) -> RunOverview {
        run.overview(&self.inner.settings.public_url)
    }

    fn record(
        &self,
        run: StoredRun,
        results: &[UserResult],
        next_cursor: Option<String>,
        catalog: &Catalog,
    ) -> RunRecord {
        run.record(results, next_cursor, catalog, &self.inner.settings.public_url)
    }
}
