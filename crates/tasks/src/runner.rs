//! Starting and executing runs, previews, the execution limit, approval and cancellation.

use std::collections::BTreeSet;
use std::time::Duration;

use directory::DirectoryError;
use model::filter::{FieldProblem, UserFilter};
use model::ids::{AccountId, ProcessId, TaskId, new_uuid};
use model::run::{
    Change, Progress, Quarantine, RunOutcome, RunSource, RunState, RunTrigger, Selection, Summary, UserChange,
    UserResult, plan_user,
};
use model::task::{Action, ExecutionLimit, effective_limit, resolve_actions, validate_task_name};
use model::webhook::{OutboundEvent, TaskEvent};
use serde::{Deserialize, Serialize};
use store::{NewRun, RunEnd, ScheduleClaim};
use utoipa::ToSchema;

use crate::{TaskError, TaskService};

/// The most account ids one bulk operation may list; larger selections use a filter.
pub const MAX_BULK_ACCOUNT_IDS: usize = 10_000;

/// How a person starts a run.
#[derive(Debug, Clone, Default)]
pub struct RunStart {
    /// Who starts it (an API key's name, or `cli`).
    pub started_by: String,
    /// Run even above the execution limit.
    pub confirm: bool,
}

/// A bulk operation: the actions of a task on users picked in the User Browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkInput {
    /// Shown in the results; defaults to the action types.
    #[serde(default)]
    pub name: Option<String>,
    pub actions: Vec<Action>,
    /// Users picked one by one…
    #[serde(default)]
    pub account_ids: Option<Vec<AccountId>>,
    /// …or every user matching these criteria ("all N matching").
    #[serde(default)]
    pub filter: Option<UserFilter>,
    /// Run even above the execution limit.
    #[serde(default)]
    pub confirm: bool,
}

/// A run that has been recorded as started and is ready to execute.
#[derive(Debug, Clone)]
pub struct StartedRun {
    pub process_id: ProcessId,
    pub name: String,
    pub task_id: Option<TaskId>,
    actions: Vec<Action>,
    selection: Selection,
    /// Scheduled runs check the execution limit and are quarantined above it.
    enforce_limit: bool,
    task_limit: Option<ExecutionLimit>,
}

/// What a run would do, without doing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// The counters the run would produce if every change went through.
    pub summary: Summary,
    /// Users the run would change.
    pub would_change: u64,
    /// The most users a run may change without confirmation (`null`: no limit).
    pub limit: Option<u64>,
    pub over_limit: bool,
    /// The first users with a change or a failure, by account id.
    pub user_changes: Vec<UserChange>,
}

/// Takes a run out of the in-flight set when dropped, whatever ends the run.
struct InFlight(TaskService, ProcessId);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight().remove(&self.1);
    }
}

/// The error of a run that no longer holds its claim.
const LOST_CLAIM: &str = "the run lost its claim: its lease ran out, or another process closed it as interrupted";

/// The error of a run that panicked (the panic is in the server log).
const INTERNAL_ERROR: &str = "internal error: the run stopped unexpectedly; the details are in the server log";

/// Why a selection could not be resolved.
enum SelectionError {
    /// A reason for people (the filter is gone, names no longer resolve).
    Gone(String),
    /// Infrastructure; the detail is for the log.
    Internal(String),
}

/// Why a run stopped before its end.
struct Stopped {
    error: String,
    summary: Summary,
    progress: Progress,
}

enum Ended {
    Done(Summary, Progress),
    Quarantined,
}

impl TaskService {
    /// Starts a task's run by hand. Above the execution limit it needs `confirm`.
    pub async fn start_task_run(&self, id: &TaskId, start: &RunStart) -> Result<StartedRun, TaskError> {
        let task = self.inner.store.task(id).await?;
        let filter = self.find_saved_filter(&task.filter_id).await?.ok_or_else(|| {
            TaskError::Conflict(format!(
                "the task's saved filter `{}` no longer exists; choose another filter first",
                task.filter_id
            ))
        })?;
        let selection = Selection::SavedFilter { filter_id: filter.filter_id.clone(), criteria: filter.criteria };
        if !start.confirm {
            self.check_limit(&selection, &task.actions, task.execution_limit).await?;
        }
        self.start(
            RunSource::AutomatedTask,
            Some(task.task_id.clone()),
            task.name.clone(),
            task.actions.clone(),
            selection,
            RunTrigger::Manual,
            &start.started_by,
            ScheduleClaim::Manual,
            task.execution_limit,
            false,
        )
        .await?
        .ok_or_else(|| TaskError::Conflict("the task changed while the run was starting; try again".to_owned()))
    }

    /// Starts a bulk operation. Above the execution limit it needs `confirm`.
    pub async fn start_bulk(&self, input: &BulkInput, started_by: &str) -> Result<StartedRun, TaskError> {
        let (name, actions, selection) = self.check_bulk(input).await?;
        if !input.confirm {
            self.check_limit(&selection, &actions, None).await?;
        }
        self.start(
            RunSource::BulkOperation,
            None,
            name,
            actions,
            selection,
            RunTrigger::Manual,
            started_by,
            ScheduleClaim::Manual,
            None,
            false,
        )
        .await?
        .ok_or_else(|| TaskError::Conflict("the bulk operation could not start".to_owned()))
    }

    /// What a bulk operation would do.
    pub async fn preview_bulk(&self, input: &BulkInput, sample: usize) -> Result<Preview, TaskError> {
        let (_, actions, selection) = self.check_bulk(input).await?;
        self.preview(&selection, &actions, None, sample).await
    }

    /// What a task's run would do now.
    pub async fn preview_task(&self, id: &TaskId, sample: usize) -> Result<Preview, TaskError> {
        let task = self.inner.store.task(id).await?;
        let filter = self.find_saved_filter(&task.filter_id).await?.ok_or_else(|| {
            TaskError::Conflict(format!("the task's saved filter `{}` no longer exists", task.filter_id))
        })?;
        let selection = Selection::SavedFilter { filter_id: filter.filter_id, criteria: filter.criteria };
        self.preview(&selection, &task.actions, task.execution_limit, sample).await
    }

    /// Starts the run the scheduler found due (`None` when another process claimed it first).
    pub(crate) async fn start_scheduled(
        &self,
        task: &model::task::Task,
        due: jiff::Timestamp,
        next: Option<jiff::Timestamp>,
    ) -> Result<Option<StartedRun>, TaskError> {
        let criteria = match self.inner.store.saved_filter(&task.filter_id).await {
            Ok(f) => f.criteria,
            // Recorded as is: the run fails with the reason when it resolves its users.
            Err(store::StoreError::NotFound(_)) => UserFilter::default(),
            Err(e) => return Err(e.into()),
        };
        let selection = Selection::SavedFilter { filter_id: task.filter_id.clone(), criteria };
        self.start(
            RunSource::AutomatedTask,
            Some(task.task_id.clone()),
            task.name.clone(),
            task.actions.clone(),
            selection,
            RunTrigger::Schedule,
            "scheduler",
            ScheduleClaim::Due { due, next },
            task.execution_limit,
            true,
        )
        .await
    }

    #[allow(clippy::too_many_arguments, reason = "one private constructor behind three public doors")]
    async fn start(
        &self,
        source: RunSource,
        task_id: Option<TaskId>,
        name: String,
        actions: Vec<Action>,
        selection: Selection,
        trigger: RunTrigger,
        started_by: &str,
        claim: ScheduleClaim,
        task_limit: Option<ExecutionLimit>,
        enforce_limit: bool,
    ) -> Result<Option<StartedRun>, TaskError> {
        if let Some(task_id) = &task_id {
            // A run of this task whose process died must not block it, even where no scheduler
            // runs to notice (a killed `ucm tasks run`).
            self.inner.store.close_interrupted_runs(self.now(), &self.inner.settings.public_url, Some(task_id)).await?;
        }
        let run = NewRun {
            process_id: ProcessId(new_uuid()),
            source,
            task_id: task_id.clone(),
            name: name.clone(),
            actions: actions.clone(),
            selection: selection.clone(),
            trigger,
            started_by: started_by.to_owned(),
            started_at: self.now(),
            owner: self.inner.owner.clone(),
            lease_until: self.lease_until(),
        };
        if !self.inner.store.start_run(&run, claim).await? {
            return Ok(None);
        }
        tracing::info!(process_id = %run.process_id, name, source = source.as_str(), "run started");
        Ok(Some(StartedRun {
            process_id: run.process_id,
            name,
            task_id,
            actions,
            selection,
            enforce_limit,
            task_limit,
        }))
    }

    /// Lets a quarantined run proceed; execute the returned run to carry it out.
    pub async fn approve(&self, id: &ProcessId, by: &str) -> Result<StartedRun, TaskError> {
        let stored = self.inner.store.run(id).await?;
        if !self.inner.store.approve_run(id, &self.inner.owner, self.lease_until(), by).await? {
            return Err(TaskError::Conflict(format!("run `{id}` is not waiting for approval")));
        }
        tracing::info!(process_id = %id, by, "quarantined run approved");
        Ok(StartedRun {
            process_id: stored.process_id,
            name: stored.name,
            task_id: stored.task_id,
            actions: stored.actions,
            selection: stored.selection,
            enforce_limit: false,
            task_limit: None,
        })
    }

    /// Closes a quarantined run without changing anything.
    pub async fn reject(&self, id: &ProcessId, by: &str) -> Result<(), TaskError> {
        self.inner.store.run(id).await?;
        let reason = format!("rejected by {by}: the run was over the execution limit and changed nothing");
        if !self.inner.store.reject_run(id, &reason, self.now()).await? {
            return Err(TaskError::Conflict(format!("run `{id}` is not waiting for approval")));
        }
        Ok(())
    }

    /// Asks a running run to stop after the users in hand.
    pub async fn cancel(&self, id: &ProcessId, by: &str) -> Result<(), TaskError> {
        self.inner.store.run(id).await?;
        if !self.inner.store.request_run_cancel(id, by).await? {
            return Err(TaskError::Conflict(format!("run `{id}` is not running (or a cancel is already asked for)")));
        }
        Ok(())
    }

    /// Closes as `failure` ("interrupted") every run whose process stopped without finishing
    /// it (its claim lapsed). The scheduler does this on every pass; the CLI before its work.
    pub async fn close_interrupted(&self) -> Result<Vec<ProcessId>, TaskError> {
        Ok(self.inner.store.close_interrupted_runs(self.now(), &self.inner.settings.public_url, None).await?)
    }

    /// Executes `run` in the background; [`TaskService::shutdown`] waits for it.
    pub async fn spawn(&self, run: StartedRun) {
        let service = self.clone();
        self.in_flight().insert(run.process_id.clone());
        let mut background = self.inner.background.lock().await;
        // Reap what has finished, so the set does not grow with every run.
        while let Some(done) = background.try_join_next() {
            if let Err(e) = done {
                tracing::error!(error = %e, "a run's task ended abnormally; the run will be closed as interrupted");
            }
        }
        background.spawn(async move {
            let _in_flight = InFlight(service.clone(), run.process_id.clone());
            service.execute(&run, &|_| {}).await;
        });
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, BTreeSet<ProcessId>> {
        self.inner.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Lets background runs finish for up to `finish`, then asks the rest to stop after the
    /// users in hand (they end as cancelled, not interrupted) and waits up to `stop` for that.
    /// Whatever still runs after that is dropped and will be closed as interrupted.
    pub async fn shutdown(&self, finish: Duration, stop: Duration) {
        let mut background = self.inner.background.lock().await;
        if background.is_empty() {
            return;
        }
        let running = self.in_flight().len();
        if running > 0 {
            tracing::info!(running, "waiting for runs to finish before stopping");
        }
        let finished = tokio::time::timeout(finish, async { while background.join_next().await.is_some() {} }).await;
        if finished.is_ok() {
            return;
        }
        let ids: Vec<ProcessId> = self.in_flight().iter().cloned().collect();
        for id in &ids {
            if let Err(e) = self.inner.store.request_run_cancel(id, "the server stopping").await {
                tracing::warn!(process_id = %id, error = %e, "could not ask a run to stop");
            }
        }
        if tokio::time::timeout(stop, async { while background.join_next().await.is_some() {} }).await.is_err() {
            tracing::warn!(runs = ids.len(), "runs still going at shutdown; they will be closed as interrupted");
            background.abort_all();
        }
    }

    /// Executes a started run to its end and records the outcome. `progress` hears how far it
    /// has come after every chunk of users. While it runs, a background task renews the run's
    /// claim; if the claim is lost (another process closed the run as interrupted), the run
    /// stops before its next change.
    pub async fn execute(&self, run: &StartedRun, progress: &(dyn Fn(Progress) + Sync)) -> RunOutcome {
        // Renewed until `execute` ends, however it ends: a run whose process no longer works on
        // it must lose its claim and be closed as interrupted.
        let claim = self.keep_claim(&run.process_id);
        let what = format!("run {}", run.process_id);
        // The counts as of the last chunk recorded: what a run that panics reports.
        let recorded = std::sync::Mutex::new((Summary::default(), Progress::default()));
        let ended = worker::isolate(&what, self.execute_steps(run, progress, &claim, &recorded)).await;
        let (outcome, error, summary, done) = match ended {
            Ok(Ok(Ended::Quarantined)) => return RunOutcome::Quarantined,
            Ok(Ok(Ended::Done(summary, done))) => (RunOutcome::Success, None, summary, done),
            Ok(Err(stopped)) => (RunOutcome::Failure, Some(stopped.error), stopped.summary, stopped.progress),
            Err(_) => {
                let (summary, done) = *recorded.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                (RunOutcome::Failure, Some(INTERNAL_ERROR.to_owned()), summary, done)
            }
        };
        // A task's outcome fires taskSuccess / taskFailure (queued with the outcome, in one
        // transaction); a bulk operation never fires webhooks.
        let event = run.task_id.as_ref().map(|task_id| {
            let event = TaskEvent::new(
                outcome == RunOutcome::Success,
                run.process_id.clone(),
                task_id,
                run.name.clone(),
                model::task::action_types(&run.actions),
                &self.inner.settings.public_url,
            );
            OutboundEvent::from(&event)
        });
        // The outcome is worth a few tries: a run left `running` would later be closed as
        // interrupted, which says something false. The claim is kept alive meanwhile.
        let mut wait = Duration::from_millis(200);
        for attempt in 1..=5 {
            let end = RunEnd {
                outcome,
                error: error.clone(),
                summary,
                progress: done,
                finished_at: self.now(),
                event: event.clone(),
            };
            match self.inner.store.finish_run(&run.process_id, &self.inner.owner, &end).await {
                Ok(true) => break,
                Ok(false) => {
                    tracing::warn!(process_id = %run.process_id, "the run was closed by another process");
                    break;
                }
                Err(e) if attempt < 5 => {
                    tracing::warn!(process_id = %run.process_id, error = %e, attempt, "could not record the outcome; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                Err(e) => {
                    tracing::error!(process_id = %run.process_id, error = %e, "could not record the run's outcome")
                }
            }
        }
        tracing::info!(process_id = %run.process_id, outcome = outcome.as_str(), error, "run finished");
        // Post-sync: the outcome is decided; a failure here is only worth a warning.
        if let Err(e) = self.inner.directory.sync().await {
            tracing::warn!(process_id = %run.process_id, error = %e, "post-run directory sync failed");
        }
        outcome
    }

    /// The claim on run `id`, renewed every third of the lease while it is kept.
    fn keep_claim(&self, id: &ProcessId) -> worker::Claim {
        let service = self.clone();
        let id = id.clone();
        let lease = self.inner.settings.run_lease.unsigned_abs();
        worker::Claim::renewed(format!("run {id}"), lease, move || {
            let (service, id) = (service.clone(), id.clone());
            async move { service.inner.store.renew_run_lease(&id, &service.inner.owner, service.lease_until()).await }
        })
    }

    /// A top-level failure caused by infrastructure: the detail goes to the log, the run's
    /// record says what failed in words.
    fn internal(run: &StartedRun, what: &str, error: &dyn std::fmt::Display) -> String {
        tracing::error!(process_id = %run.process_id, error = %error, "{what}");
        format!("{what} (the details are in the server log)")
    }

    /// A directory failure: the backend's own reason when it gave one an admin can act on (a
    /// refused or expired organization key), else [`Self::internal`].
    fn directory_failure(run: &StartedRun, what: &str, error: &DirectoryError) -> String {
        match error {
            DirectoryError::Backend(why) => {
                tracing::warn!(process_id = %run.process_id, error = %why, "{what}");
                format!("{what}: {why}")
            }
            other => Self::internal(run, what, other),
        }
    }

    async fn execute_steps(
        &self,
        run: &StartedRun,
        on_progress: &(dyn Fn(Progress) + Sync),
        claim: &worker::Claim,
        recorded: &std::sync::Mutex<(Summary, Progress)>,
    ) -> Result<Ended, Stopped> {
        let store = &self.inner.store;
        let directory = &self.inner.directory;
        let owner = &self.inner.owner;
        let stop = |error: String| Stopped { error, summary: Summary::default(), progress: Progress::default() };
        let internal = |what: &str, e: &dyn std::fmt::Display| stop(Self::internal(run, what, e));

        directory
            .sync()
            .await
            .map_err(|e| stop(Self::directory_failure(run, "the directory could not be synced before the run", &e)))?;
        let (ids, selection) = match self.resolve_selection(&run.selection).await {
            Ok(found) => found,
            Err(SelectionError::Gone(reason)) => return Err(stop(reason)),
            Err(SelectionError::Internal(e)) => return Err(internal("the run's users could not be found", &e)),
        };
        if selection != run.selection
            && !store
                .set_run_selection(&run.process_id, owner, &selection)
                .await
                .map_err(|e| internal("the run could not be updated", &e))?
        {
            return Err(stop(LOST_CLAIM.to_owned()));
        }
        let catalog = directory.catalog().await.map_err(|e| internal("the directory could not be read", &e))?;
        let mut progress = Progress { done: 0, total: ids.len() as u64 };
        let mut summary = Summary::default();

        // Asked to stop during the sync or the search: stop before deciding anything else.
        let cancel = store
            .heartbeat_run(&run.process_id, owner, progress, &summary, self.lease_until())
            .await
            .map_err(|e| match e {
                store::StoreError::NotFound(_) => stop(LOST_CLAIM.to_owned()),
                other => internal("the run could not be updated", &other),
            })?;
        if let Some(by) = cancel {
            return Err(stop(format!("cancelled by {by} before it changed anything")));
        }

        if run.enforce_limit {
            let total_users = store.count_users().await.map_err(|e| internal("the directory could not be read", &e))?;
            let installation =
                store.execution_limit().await.map_err(|e| internal("the settings could not be read", &e))?;
            let limits: Vec<ExecutionLimit> = std::iter::once(installation).chain(run.task_limit).collect();
            if let Some(limit) = effective_limit(&limits, total_users) {
                let predicted = self
                    .predict(&ids, &run.actions, 0)
                    .await
                    .map_err(|e| internal("the run could not be previewed", &e))?;
                if predicted.would_change > limit {
                    let quarantine = Quarantine { would_change: predicted.would_change, limit };
                    let counted = Summary { users_matched: progress.total, ..Summary::default() };
                    let parked = store
                        .quarantine_run(&run.process_id, owner, quarantine, &counted, progress)
                        .await
                        .map_err(|e| internal("the run could not be quarantined", &e))?;
                    if !parked {
                        return Err(stop(LOST_CLAIM.to_owned()));
                    }
                    tracing::warn!(process_id = %run.process_id, would_change = predicted.would_change, limit,
                        "run quarantined: over the execution limit");
                    return Ok(Ended::Quarantined);
                }
            }
        }

        on_progress(progress);
        for chunk in ids.chunks(self.inner.settings.chunk_size.max(1)) {
            let stopped = |error: String, summary: Summary, progress: Progress| Stopped { error, summary, progress };
            let failed = |what: &str, e: &dyn std::fmt::Display, summary: Summary, progress: Progress| {
                stopped(Self::internal(run, what, e), summary, progress)
            };
            // Before changing anything: still ours, and nobody asked to stop?
            let cancel = store
                .heartbeat_run(&run.process_id, owner, progress, &summary, self.lease_until())
                .await
                .map_err(|e| match e {
                    store::StoreError::NotFound(_) => stopped(LOST_CLAIM.to_owned(), summary, progress),
                    other => failed("the run could not be updated", &other, summary, progress),
                })?;
            if !claim.held() {
                return Err(stopped(LOST_CLAIM.to_owned(), summary, progress));
            }
            if let Some(by) = cancel {
                return Err(stopped(
                    format!("cancelled by {by} after {} of {} users", progress.done, progress.total),
                    summary,
                    progress,
                ));
            }
            let users = directory
                .users(chunk)
                .await
                .map_err(|e| failed("the directory could not be read during the run", &e, summary, progress))?;
            let plans: Vec<_> = users.iter().map(|u| plan_user(u, &run.actions, &catalog)).collect();
            let changes: Vec<Change> = plans
                .iter()
                .flat_map(|p| p.ops.iter().map(|op| Change { account_id: p.account_id.clone(), op: op.clone() }))
                .collect();
            let answers = if changes.is_empty() {
                Vec::new()
            } else {
                directory.apply(&changes).await.map_err(|e| {
                    let why = Self::directory_failure(run, "the directory could not be reached during the run", &e);
                    stopped(why, summary, progress)
                })?
            };
            let mut offset = 0;
            let results: Vec<UserResult> = plans
                .iter()
                .map(|plan| {
                    let end = (offset + plan.ops.len()).min(answers.len());
                    let result = plan.finish(&answers[offset.min(end)..end]);
                    offset += plan.ops.len();
                    result
                })
                .collect();
            self.record_results(run, &results).await.map_err(|e| match e {
                store::StoreError::NotFound(_) => stopped(LOST_CLAIM.to_owned(), summary, progress),
                other => failed("the results could not be stored", &other, summary, progress),
            })?;
            for result in &results {
                summary.add(result);
            }
            progress.done += chunk.len() as u64;
            *recorded.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = (summary, progress);
            on_progress(progress);
        }
        Ok(Ended::Done(summary, progress))
    }

    /// Stores a chunk's results, with a few tries: the changes are made, and a result that
    /// is not written is an audit record lost.
    async fn record_results(&self, run: &StartedRun, results: &[UserResult]) -> Result<(), store::StoreError> {
        let mut wait = Duration::from_millis(100);
        for attempt in 1.. {
            match self
                .inner
                .store
                .record_run_users(&run.process_id, &self.inner.owner, self.lease_until(), results)
                .await
            {
                Err(store::StoreError::Unavailable(e)) if attempt < 4 => {
                    tracing::warn!(process_id = %run.process_id, error = e, attempt, "could not store results; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                other => return other,
            }
        }
        Ok(())
    }

    /// The account ids a selection stands for now, and the selection as resolved (a saved
    /// filter's criteria at run time).
    async fn resolve_selection(&self, selection: &Selection) -> Result<(Vec<AccountId>, Selection), SelectionError> {
        let directory = &self.inner.directory;
        let internal = |e: &dyn std::fmt::Display| SelectionError::Internal(e.to_string());
        match selection {
            Selection::SavedFilter { filter_id, .. } => {
                let filter = match self.inner.store.saved_filter(filter_id).await {
                    Ok(f) => f,
                    Err(store::StoreError::NotFound(_)) => {
                        return Err(SelectionError::Gone(format!(
                            "the task's saved filter `{filter_id}` no longer exists"
                        )));
                    }
                    Err(e) => return Err(internal(&e)),
                };
                let ids = directory.matching_account_ids(&filter.criteria).await.map_err(|e| match e {
                    DirectoryError::Filter(f) => SelectionError::Gone(format!(
                        "the saved filter `{}` no longer matches the directory: {f}",
                        filter.name
                    )),
                    other => internal(&other),
                })?;
                Ok((ids, Selection::SavedFilter { filter_id: filter.filter_id, criteria: filter.criteria }))
            }
            Selection::Criteria { criteria } => {
                let ids = directory.matching_account_ids(criteria).await.map_err(|e| match e {
                    DirectoryError::Filter(f) => {
                        SelectionError::Gone(format!("the criteria no longer match the directory: {f}"))
                    }
                    other => internal(&other),
                })?;
                Ok((ids, selection.clone()))
            }
            Selection::AccountIds { account_ids } => {
                let ids: Vec<AccountId> = account_ids.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
                Ok((ids, selection.clone()))
            }
        }
    }

    /// Fails with [`TaskError::OverLimit`] when a run by hand would change more users than the
    /// stricter of the installation's and the task's limit.
    async fn check_limit(
        &self,
        selection: &Selection,
        actions: &[Action],
        task_limit: Option<ExecutionLimit>,
    ) -> Result<(), TaskError> {
        let preview = self.preview(selection, actions, task_limit, 0).await?;
        match preview.limit {
            Some(limit) if preview.over_limit => {
                Err(TaskError::OverLimit { would_change: preview.would_change, limit })
            }
            _ => Ok(()),
        }
    }

    pub(crate) async fn preview(
        &self,
        selection: &Selection,
        actions: &[Action],
        task_limit: Option<ExecutionLimit>,
        sample: usize,
    ) -> Result<Preview, TaskError> {
        let (ids, _) = self.resolve_selection(selection).await.map_err(|e| match e {
            SelectionError::Gone(reason) => TaskError::Conflict(reason),
            SelectionError::Internal(detail) => TaskError::Store(store::StoreError::Other(detail)),
        })?;
        let mut preview = self.predict(&ids, actions, sample).await?;
        let total_users = self.inner.store.count_users().await?;
        let installation = self.inner.store.execution_limit().await?;
        let limits: Vec<ExecutionLimit> = std::iter::once(installation).chain(task_limit).collect();
        preview.limit = effective_limit(&limits, total_users);
        preview.over_limit = preview.limit.is_some_and(|l| preview.would_change > l);
        Ok(preview)
    }

    /// Plans every user without applying anything.
    async fn predict(&self, ids: &[AccountId], actions: &[Action], sample: usize) -> Result<Preview, TaskError> {
        let catalog = self.inner.directory.catalog().await?;
        let mut preview = Preview {
            summary: Summary::default(),
            would_change: 0,
            limit: None,
            over_limit: false,
            user_changes: vec![],
        };
        for chunk in ids.chunks(self.inner.settings.chunk_size.max(1)) {
            for user in self.inner.directory.users(chunk).await? {
                let plan = plan_user(&user, actions, &catalog);
                preview.would_change += u64::from(plan.would_change());
                let result = plan.predicted();
                preview.summary.add(&result);
                if preview.user_changes.len() < sample && result.status().is_change() {
                    preview.user_changes.push(result.change(self.user_browser_url(&result.account_id)));
                }
            }
        }
        Ok(preview)
    }

    async fn check_bulk(&self, input: &BulkInput) -> Result<(String, Vec<Action>, Selection), TaskError> {
        let mut problems = Vec::new();
        let catalog = self.inner.directory.catalog().await?;
        let actions = resolve_actions(&input.actions, &catalog).map_err(|mut p| problems.append(&mut p)).ok();
        let selection = match (&input.account_ids, &input.filter) {
            (Some(ids), None) if ids.is_empty() => {
                problems.push(FieldProblem::new("accountIds", "[]", "pick at least one user"));
                None
            }
            (Some(ids), None) if ids.len() > MAX_BULK_ACCOUNT_IDS => {
                problems.push(FieldProblem::new(
                    "accountIds",
                    ids.len().to_string(),
                    format!("at most {MAX_BULK_ACCOUNT_IDS} users by id; use `filter` for more"),
                ));
                None
            }
            (Some(ids), None) => {
                let bad: Vec<FieldProblem> = ids
                    .iter()
                    .enumerate()
                    .filter(|(_, id)| !model::ids::plausible_id(id.as_str()))
                    .map(|(i, id)| {
                        FieldProblem::new(
                            &format!("accountIds[{i}]"),
                            id.as_str().chars().filter(|c| !c.is_control()).take(64).collect::<String>(),
                            "not an account id (empty, too long, or with control characters)",
                        )
                    })
                    .collect();
                if bad.is_empty() {
                    // A mistyped id would otherwise be a run that silently matches nobody.
                    let known: std::collections::HashSet<AccountId> =
                        self.inner.directory.users(ids).await?.into_iter().map(|u| u.account_id).collect();
                    let unknown: Vec<FieldProblem> = ids
                        .iter()
                        .enumerate()
                        .filter(|(_, id)| !known.contains(*id))
                        .map(|(i, id)| {
                            FieldProblem::new(&format!("accountIds[{i}]"), id.as_str(), "no user has this account id")
                        })
                        .collect();
                    if unknown.is_empty() {
                        Some(Selection::AccountIds { account_ids: ids.clone() })
                    } else {
                        problems.extend(unknown);
                        None
                    }
                } else {
                    problems.extend(bad);
                    None
                }
            }
            (None, Some(filter)) => match self.inner.directory.canonical_filter(filter).await {
                Ok(criteria) => Some(Selection::Criteria { criteria }),
                Err(DirectoryError::Filter(e)) => {
                    problems
                        .extend(e.0.into_iter().map(|p| FieldProblem { field: format!("filter.{}", p.field), ..p }));
                    None
                }
                Err(e) => return Err(e.into()),
            },
            _ => {
                problems.push(FieldProblem::new(
                    "accountIds",
                    "",
                    "give either `accountIds` (users picked one by one) or `filter` (every user matching), not both",
                ));
                None
            }
        };
        let name = match &input.name {
            Some(name) => validate_task_name(name).map_err(|p| problems.push(p)).ok(),
            None => actions.as_ref().map(|a| {
                let types: Vec<&str> = model::task::action_types(a).iter().map(|t| t.as_str()).collect();
                format!("Bulk operation: {}", types.join(", "))
            }),
        };
        match (name, actions, selection) {
            (Some(name), Some(actions), Some(selection)) if problems.is_empty() => Ok((name, actions, selection)),
            _ => Err(TaskError::Invalid(problems)),
        }
    }

    /// The User Browser link for one user.
    pub fn user_browser_url(&self, account_id: &AccountId) -> String {
        model::webhook::user_browser_url(&self.inner.settings.public_url, account_id.as_str())
    }

    /// The state a run is in now.
    pub async fn run_state(&self, id: &ProcessId) -> Result<RunState, TaskError> {
        Ok(self.inner.store.run(id).await?.state)
    }
}
