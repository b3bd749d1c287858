//! Saving tasks: validation with field-level problems, pause and resume, the next run.

use jiff::Timestamp;
use model::filter::{FieldProblem, SavedFilter};
use model::ids::{FilterId, TaskId, new_uuid};
use model::task::{Action, ExecutionLimit, Schedule, ScheduleKind, Task, resolve_actions, validate_task_name};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{TaskError, TaskService};

/// A task as a person writes it. Group, app, site and filter names are accepted and stored as
/// ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskInput {
    pub name: String,
    /// A saved filter's id or name.
    pub filter_id: FilterId,
    pub actions: Vec<Action>,
    #[serde(default)]
    pub schedule: Schedule,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_limit: Option<ExecutionLimit>,
}

fn yes() -> bool {
    true
}

/// A task input with every name resolved.
struct Checked {
    name: String,
    filter_id: FilterId,
    actions: Vec<Action>,
    schedule: Schedule,
    compiled: model::task::CompiledSchedule,
    execution_limit: Option<ExecutionLimit>,
}

impl TaskService {
    /// Every task, by name.
    pub async fn tasks(&self) -> Result<Vec<Task>, TaskError> {
        Ok(self.inner.store.tasks().await?)
    }

    /// One task.
    pub async fn task(&self, id: &TaskId) -> Result<Task, TaskError> {
        Ok(self.inner.store.task(id).await?)
    }

    /// Saves a new task.
    pub async fn create_task(&self, input: &TaskInput, by: &str) -> Result<Task, TaskError> {
        let checked = self.check(input, None).await?;
        let now = self.now();
        let task = Task {
            task_id: TaskId(new_uuid()),
            name: checked.name,
            filter_id: checked.filter_id,
            actions: checked.actions,
            next_run_at: if input.active { checked.compiled.next_after(now, now) } else { None },
            schedule: checked.schedule,
            active: input.active,
            execution_limit: checked.execution_limit,
            updated_by: by.to_owned(),
            created_at: now,
            updated_at: now,
            last_run_at: None,
            last_process_id: None,
            schedule_anchor: now,
        };
        self.inner.store.insert_task(&task).await?;
        Ok(task)
    }

    /// Replaces what a person edits on a task; the next run is computed afresh.
    pub async fn update_task(&self, id: &TaskId, input: &TaskInput, by: &str) -> Result<Task, TaskError> {
        let existing = self.inner.store.task(id).await?;
        let checked = self.check(input, Some(&existing.schedule)).await?;
        let now = self.now();
        // Intervals keep counting from when the schedule was set, unless it changed now.
        let anchor = if checked.schedule == existing.schedule { existing.schedule_anchor } else { now };
        let task = Task {
            schedule_anchor: anchor,
            name: checked.name,
            filter_id: checked.filter_id,
            actions: checked.actions,
            next_run_at: if input.active { checked.compiled.next_after(now, anchor) } else { None },
            schedule: checked.schedule,
            active: input.active,
            execution_limit: checked.execution_limit,
            updated_by: by.to_owned(),
            updated_at: now,
            ..existing
        };
        self.inner.store.update_task(&task).await?;
        Ok(task)
    }

    /// Pauses (`false`) or resumes (`true`) a task. A resumed task's next run is the first
    /// one after now: ticks missed while paused do not run.
    pub async fn set_active(&self, id: &TaskId, active: bool, by: &str) -> Result<Task, TaskError> {
        let existing = self.inner.store.task(id).await?;
        let now = self.now();
        let compiled = existing.schedule.compile().map_err(TaskError::Invalid)?;
        let task = Task {
            active,
            next_run_at: if active { compiled.next_after(now, existing.schedule_anchor) } else { None },
            updated_by: by.to_owned(),
            updated_at: now,
            ..existing
        };
        self.inner.store.update_task(&task).await?;
        Ok(task)
    }

    /// What a task as written, saved or not, would do now (the editor's preview). `saved` is
    /// the schedule stored now when the task exists (see [`Self::check`]).
    pub async fn preview_input(
        &self,
        input: &TaskInput,
        saved: Option<&Schedule>,
        sample: usize,
    ) -> Result<crate::Preview, TaskError> {
        let checked = self.check(input, saved).await?;
        let filter = self
            .find_saved_filter(&checked.filter_id)
            .await?
            .ok_or_else(|| TaskError::Conflict(format!("the saved filter `{}` no longer exists", checked.filter_id)))?;
        let selection = model::run::Selection::SavedFilter { filter_id: filter.filter_id, criteria: filter.criteria };
        self.preview(&selection, &checked.actions, checked.execution_limit, sample).await
    }

    /// Deletes a task; its runs stay readable.
    pub async fn delete_task(&self, id: &TaskId) -> Result<(), TaskError> {
        Ok(self.inner.store.delete_task(id).await?)
    }

    /// A saved filter by id, or by name ignoring case.
    pub(crate) async fn find_saved_filter(&self, input: &FilterId) -> Result<Option<SavedFilter>, TaskError> {
        if !model::ids::plausible_id(input.as_str()) {
            return Ok(None);
        }
        match self.inner.store.saved_filter(input).await {
            Ok(found) => return Ok(Some(found)),
            Err(store::StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let wanted = input.as_str().trim().to_lowercase();
        Ok(self.inner.store.saved_filters().await?.into_iter().find(|f| f.name.to_lowercase() == wanted))
    }

    /// Checks an input. `saved` is the schedule stored now, if any: a one-off in the past is
    /// refused unless it is the one already saved (its run may have happened).
    async fn check(&self, input: &TaskInput, saved: Option<&Schedule>) -> Result<Checked, TaskError> {
        let mut problems: Vec<FieldProblem> = Vec::new();
        let name = validate_task_name(&input.name).map_err(|p| problems.push(p)).ok();
        let filter = self.find_saved_filter(&input.filter_id).await?;
        if filter.is_none() {
            let names: Vec<String> = self.inner.store.saved_filters().await?.into_iter().map(|f| f.name).collect();
            problems.push(FieldProblem {
                suggestions: model::suggest::closest(input.filter_id.as_str(), names.iter().map(String::as_str), 3),
                ..FieldProblem::new(
                    "filterId",
                    input.filter_id.as_str(),
                    format!("there is no saved filter `{}`", input.filter_id),
                )
            });
        }
        let catalog = self.inner.directory.catalog().await?;
        let actions = resolve_actions(&input.actions, &catalog).map_err(|mut p| problems.append(&mut p)).ok();
        let compiled = input.schedule.compile().map_err(|mut p| problems.append(&mut p)).ok();
        if let (Some(compiled), ScheduleKind::Once { at }) = (&compiled, &input.schedule.kind)
            && !saved.is_some_and(|saved| saved.same_as(&input.schedule))
            && compiled.next_after(self.now(), self.now()).is_none()
        {
            problems.push(FieldProblem::new(
                "schedule.at",
                at,
                "this time has passed; a one-off task needs a time to come",
            ));
        }
        if let Some(limit) = &input.execution_limit
            && let Err(p) = limit.validate("executionLimit")
        {
            problems.push(p);
        }
        match (name, filter, actions, compiled) {
            (Some(name), Some(filter), Some(actions), Some(compiled)) if problems.is_empty() => Ok(Checked {
                name,
                filter_id: filter.filter_id,
                actions,
                schedule: input.schedule.clone(),
                compiled,
                execution_limit: input.execution_limit.filter(|l| !l.is_unbounded()),
            }),
            _ => Err(TaskError::Invalid(problems)),
        }
    }
}

/// The next run of `task` after `now`, from its schedule (none when paused or manual).
pub(crate) fn next_run(task: &Task, now: Timestamp) -> Option<Timestamp> {
    if !task.active {
        return None;
    }
    task.schedule.compile().ok()?.next_after(now, task.schedule_anchor)
}
