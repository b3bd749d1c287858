//! The task editor: a name, a saved filter, ordered actions, a schedule, an execution limit
//! and whether the task is active. "Preview" shows what the task as written would do now,
//! without saving it; "Save" goes through the same checks as the API, and a problem is listed
//! with the text kept. Names are typed as people know them (group and app names, aliases,
//! site names) and stored as ids; editing shows the names again.

use std::collections::BTreeMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use model::directory::Catalog;
use model::filter::FieldProblem;
use model::ids::{FilterId, TaskId};
use model::task::{Action, AppTarget, ExecutionLimit, Schedule, ScheduleKind, Task, Weekday};
use serde::Deserialize;
use tasks::{TaskError, TaskInput};

use super::{SignedIn, Viewer, page};
use crate::AppState;

/// Users listed in a preview.
const PREVIEW_SAMPLE: usize = 20;
/// Empty action rows offered below the filled ones.
const SPARE_ROWS: usize = 2;
/// Action rows read from a form; rows past this are not looked at.
const MAX_ROWS: usize = model::task::MAX_ACTIONS + SPARE_ROWS;

const WEEKDAYS: [(Weekday, &str, &str); 7] = [
    (Weekday::Mon, "mon", "Mon"),
    (Weekday::Tue, "tue", "Tue"),
    (Weekday::Wed, "wed", "Wed"),
    (Weekday::Thu, "thu", "Thu"),
    (Weekday::Fri, "fri", "Fri"),
    (Weekday::Sat, "sat", "Sat"),
    (Weekday::Sun, "sun", "Sun"),
];

const SCHEDULE_KINDS: [(&str, &str); 6] = [
    ("manual", "Only when started by hand"),
    ("once", "Once"),
    ("daily", "Every day"),
    ("weekly", "On days of the week"),
    ("interval", "Every fixed time"),
    ("cron", "Cron expression"),
];

/// One action row as typed: the action's wire name (empty: no action) and its targets,
/// separated by commas (`app @ site` names an app on one site).
#[derive(Debug, Default, Clone)]
struct ActionRow {
    kind: String,
    targets: String,
    all_apps: bool,
}

impl ActionRow {
    fn is_empty(&self) -> bool {
        self.kind.is_empty() && self.targets.trim().is_empty() && !self.all_apps
    }
}

/// The editor's fields as typed, so that a problem never loses what was written.
#[derive(Debug, Default, Clone)]
struct EditorForm {
    csrf: String,
    /// `preview` or `save`.
    intent: String,
    name: String,
    filter_id: String,
    actions: Vec<ActionRow>,
    schedule_kind: String,
    at: String,
    time: String,
    days: Vec<String>,
    every: String,
    cron: String,
    time_zone: String,
    active: bool,
    max_users: String,
    max_percent: String,
}

impl EditorForm {
    fn blank(filter_id: Option<String>) -> Self {
        Self {
            filter_id: filter_id.unwrap_or_default(),
            schedule_kind: "manual".into(),
            time: "05:00".into(),
            time_zone: "UTC".into(),
            active: true,
            ..Self::default()
        }
        .padded()
    }

    fn parse(body: &[u8]) -> Self {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        let mut form = Self::default();
        let mut rows: BTreeMap<usize, ActionRow> = BTreeMap::new();
        for (key, value) in pairs {
            let row =
                |prefix: &str| key.strip_prefix(prefix).and_then(|i| i.parse::<usize>().ok()).filter(|i| *i < MAX_ROWS);
            match key.as_str() {
                "csrf" => form.csrf = value,
                "intent" => form.intent = value,
                "name" => form.name = value,
                "filterId" => form.filter_id = value,
                "scheduleKind" => form.schedule_kind = value,
                "at" => form.at = value,
                "time" => form.time = value,
                "day" => form.days.push(value),
                "every" => form.every = value,
                "cron" => form.cron = value,
                "timeZone" => form.time_zone = value,
                "active" => form.active = true,
                "maxUsers" => form.max_users = value,
                "maxPercent" => form.max_percent = value,
                _ => {
                    if let Some(i) = row("action") {
                        rows.entry(i).or_default().kind = value;
                    } else if let Some(i) = row("targets") {
                        rows.entry(i).or_default().targets = value;
                    } else if let Some(i) = row("allApps") {
                        rows.entry(i).or_default().all_apps = true;
                    }
                }
            }
        }
        form.actions = rows.into_values().filter(|r| !r.is_empty()).collect();
        form.padded()
    }

    /// A saved task's fields, with ids shown as the names people know where a name says the
    /// same thing.
    fn from_task(task: &Task, catalog: &Catalog) -> Self {
        let (schedule_kind, mut form) = match &task.schedule.kind {
            ScheduleKind::Manual => ("manual", Self::default()),
            ScheduleKind::Once { at } => ("once", Self { at: datetime_local(at), ..Self::default() }),
            ScheduleKind::Daily { time } => ("daily", Self { time: time.clone(), ..Self::default() }),
            ScheduleKind::Weekly { days, time } => (
                "weekly",
                Self {
                    time: time.clone(),
                    days: days.iter().filter_map(|d| WEEKDAYS.iter().find(|w| w.0 == *d)).map(|w| w.1.into()).collect(),
                    ..Self::default()
                },
            ),
            ScheduleKind::Interval { every } => ("interval", Self { every: every.clone(), ..Self::default() }),
            ScheduleKind::Cron { expr } => ("cron", Self { cron: expr.clone(), ..Self::default() }),
        };
        if form.time.is_empty() {
            form.time = "05:00".into();
        }
        let limit = task.execution_limit.unwrap_or_default();
        Self {
            name: task.name.clone(),
            filter_id: task.filter_id.0.clone(),
            actions: task.actions.iter().map(|a| action_row(a, catalog)).collect(),
            schedule_kind: schedule_kind.into(),
            time_zone: task.schedule.time_zone.clone(),
            active: task.active,
            max_users: limit.max_users.map(|n| n.to_string()).unwrap_or_default(),
            max_percent: limit.max_percent.map(|p| p.to_string()).unwrap_or_default(),
            ..form
        }
        .padded()
    }

    /// The filled rows and a few empty ones to add actions in.
    fn padded(mut self) -> Self {
        self.actions.retain(|r| !r.is_empty());
        let rows = (self.actions.len() + SPARE_ROWS).clamp(3, MAX_ROWS);
        self.actions.resize(rows, ActionRow::default());
        self
    }

    /// The task this form describes, or what cannot be read from it (names are checked later,
    /// against the directory).
    fn input(&self) -> Result<TaskInput, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut actions = Vec::new();
        for (i, row) in self.actions.iter().filter(|r| !r.is_empty()).enumerate() {
            if row.kind.is_empty() {
                // Targets without an action are not silently left out of a task that changes users.
                problems.push(FieldProblem::new(
                    &format!("actions[{i}]"),
                    row.targets.trim(),
                    "choose the action these targets are for, or clear them",
                ));
                continue;
            }
            match super::form_action(&row.kind, &row.targets, row.all_apps, &format!("actions[{i}]")) {
                Ok(action) => actions.push(action),
                Err(problem) => problems.push(problem),
            }
        }
        let kind = match self.schedule_kind.as_str() {
            "manual" => ScheduleKind::Manual,
            "once" => ScheduleKind::Once { at: self.at.trim().to_owned() },
            "daily" => ScheduleKind::Daily { time: self.time.trim().to_owned() },
            "weekly" => ScheduleKind::Weekly {
                days: WEEKDAYS.iter().filter(|w| self.days.iter().any(|d| d == w.1)).map(|w| w.0).collect(),
                time: self.time.trim().to_owned(),
            },
            "interval" => ScheduleKind::Interval { every: self.every.trim().to_owned() },
            "cron" => ScheduleKind::Cron { expr: self.cron.trim().to_owned() },
            other => {
                problems.push(FieldProblem::new("schedule", other, "choose how the task is scheduled"));
                ScheduleKind::Manual
            }
        };
        let time_zone = match self.time_zone.trim() {
            "" => "UTC".to_owned(),
            zone => zone.to_owned(),
        };
        let max_users = match self.max_users.trim() {
            "" => None,
            text => text
                .parse::<u64>()
                .map_err(|_| {
                    problems.push(FieldProblem::new(
                        "executionLimit.maxUsers",
                        text,
                        "a whole number of users, or empty for no limit of this task's own",
                    ))
                })
                .ok(),
        };
        let max_percent = match self.max_percent.trim().trim_end_matches('%') {
            "" => None,
            text => text
                .parse::<f64>()
                .map_err(|_| {
                    problems.push(FieldProblem::new(
                        "executionLimit.maxPercent",
                        text,
                        "a share of all users in percent (0–100), or empty",
                    ))
                })
                .ok(),
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(TaskInput {
            name: self.name.clone(),
            filter_id: FilterId(self.filter_id.trim().to_owned()),
            actions,
            schedule: Schedule { kind, time_zone },
            active: self.active,
            execution_limit: (max_users.is_some() || max_percent.is_some())
                .then_some(ExecutionLimit { max_users, max_percent }),
        })
    }
}

/// A one-off's time as a `datetime-local` field takes it (`2026-06-01T09:00`, seconds only when
/// there are some); text that is not a date and time stays as it is.
fn datetime_local(at: &str) -> String {
    match at.parse::<jiff::civil::DateTime>() {
        Ok(at) if at.second() == 0 && at.subsec_nanosecond() == 0 => at.strftime("%Y-%m-%dT%H:%M").to_string(),
        Ok(at) => at.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
        Err(_) => at.to_owned(),
    }
}

/// A stored action as a row: names where they resolve back to the same id (and hold no comma,
/// which separates targets), the ids otherwise.
fn action_row(action: &Action, catalog: &Catalog) -> ActionRow {
    let group = |id: &model::ids::GroupId| match catalog.group_by_id(id) {
        Some(g) if !g.name.contains(',') && catalog.group(&g.name).is_some_and(|same| same.group_id == *id) => {
            g.name.clone()
        }
        _ => id.0.clone(),
    };
    let app = |target: &AppTarget| {
        let name = catalog
            .app(&target.app_type.0)
            .filter(|a| a.app_type == target.app_type && !a.display_name.contains([',', '@']))
            .filter(|a| catalog.app(&a.display_name).is_some_and(|same| same.app_type == a.app_type))
            .map_or_else(|| target.app_type.0.clone(), |a| a.display_name.clone());
        match &target.site_id {
            None => name,
            Some(site) => {
                let site = catalog
                    .site(&site.0)
                    .filter(|s| s.site_id == *site && !s.name.contains([',', '@']))
                    .filter(|s| catalog.site(&s.name).is_some_and(|same| same.site_id == s.site_id))
                    .map_or_else(|| site.0.clone(), |s| s.name.clone());
                format!("{name} @ {site}")
            }
        }
    };
    let kind = action.action_type().as_str().to_owned();
    match action {
        Action::AddToGroups { group_ids } | Action::RemoveFromGroups { group_ids } => {
            ActionRow { kind, targets: group_ids.iter().map(group).collect::<Vec<_>>().join(", "), all_apps: false }
        }
        Action::RemoveAppAccess { apps, all } => {
            ActionRow { kind, targets: apps.iter().map(app).collect::<Vec<_>>().join(", "), all_apps: *all }
        }
        Action::SuspendUsers | Action::RestoreUsers => ActionRow { kind, ..ActionRow::default() },
    }
}

/// A preview in words and numbers.
struct PreviewView {
    matched: u64,
    would_change: u64,
    protected: u64,
    limit: Option<u64>,
    over_limit: bool,
    changes: Vec<super::tasks::ChangeRow>,
}

struct FilterChoice {
    id: String,
    name: String,
}

#[derive(Template)]
#[template(path = "task_editor.html")]
struct EditorPage {
    viewer: Option<Viewer>,
    /// The task being edited; none for a new one.
    task_id: Option<String>,
    form: EditorForm,
    filters: Vec<FilterChoice>,
    actions: &'static [(&'static str, &'static str, &'static str)],
    kinds: &'static [(&'static str, &'static str)],
    weekdays: Vec<(&'static str, &'static str, bool)>,
    problems: Vec<FieldProblem>,
    preview: Option<PreviewView>,
}

async fn editor(
    state: &AppState,
    viewer: Viewer,
    task_id: Option<String>,
    form: EditorForm,
    problems: Vec<FieldProblem>,
    preview: Option<PreviewView>,
) -> Response {
    editor_with_status(state, viewer, task_id, form, problems, preview, None).await
}

/// The editor answered with `status` (default: 200, or 400 when there are problems).
async fn editor_with_status(
    state: &AppState,
    viewer: Viewer,
    task_id: Option<String>,
    form: EditorForm,
    problems: Vec<FieldProblem>,
    preview: Option<PreviewView>,
    status: Option<StatusCode>,
) -> Response {
    let filters = match state.store.saved_filters().await {
        Ok(filters) => filters.into_iter().map(|f| FilterChoice { id: f.filter_id.0, name: f.name }).collect(),
        Err(e) => return super::session_unavailable(&e.to_string()),
    };
    let weekdays =
        WEEKDAYS.iter().map(|(_, value, label)| (*value, *label, form.days.iter().any(|d| d == value))).collect();
    let status = status.unwrap_or(if problems.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST });
    let mut response = page(&EditorPage {
        viewer: Some(viewer),
        task_id,
        form,
        filters,
        actions: &super::users::BULK_ACTIONS,
        kinds: &SCHEDULE_KINDS,
        weekdays,
        problems,
        preview,
    });
    *response.status_mut() = status;
    response
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewQuery {
    /// A saved filter to start from (the User Browser's "save as filter" leads here).
    filter_id: Option<String>,
}

/// A new task's editor.
pub(crate) async fn new(
    State(state): State<AppState>,
    signed_in: SignedIn,
    super::PageQuery(query): super::PageQuery<NewQuery>,
) -> Response {
    if let Some(refused) = super::refuse_reader(&signed_in, "tasks and runs") {
        return refused;
    }
    editor(&state, Viewer::from(&signed_in), None, EditorForm::blank(query.filter_id), Vec::new(), None).await
}

/// A saved task's editor.
pub(crate) async fn edit(State(state): State<AppState>, signed_in: SignedIn, Path(id): Path<String>) -> Response {
    if let Some(refused) = super::refuse_reader(&signed_in, "tasks and runs") {
        return refused;
    }
    let viewer = Viewer::from(&signed_in);
    let task = match state.tasks.task(&TaskId(id.trim().to_owned())).await {
        Ok(task) => task,
        Err(e) => return super::tasks::task_problem(viewer, e),
    };
    let catalog = match state.directory.catalog().await {
        Ok(catalog) => catalog,
        Err(e) => return super::session_unavailable(&e.to_string()),
    };
    let form = EditorForm::from_task(&task, &catalog);
    editor(&state, viewer, Some(task.task_id.0), form, Vec::new(), None).await
}

/// Previews or saves a new task.
pub(crate) async fn create(State(state): State<AppState>, signed_in: SignedIn, body: Bytes) -> Response {
    submit(&state, &signed_in, None, EditorForm::parse(&body)).await
}

/// Previews or saves a task's changes.
pub(crate) async fn update(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    submit(&state, &signed_in, Some(TaskId(id.trim().to_owned())), EditorForm::parse(&body)).await
}

async fn submit(state: &AppState, signed_in: &SignedIn, task_id: Option<TaskId>, form: EditorForm) -> Response {
    if let Some(refused) = super::refuse_form(signed_in, &form.csrf, "tasks") {
        return refused;
    }
    let viewer = Viewer::from(signed_in);
    let shown_id = task_id.as_ref().map(|t| t.0.clone());
    let input = match form.input() {
        Ok(input) => input,
        Err(problems) => return editor(state, viewer, shown_id, form, problems, None).await,
    };
    let saved = match &task_id {
        Some(id) => match state.tasks.task(id).await {
            Ok(task) => Some(task.schedule),
            Err(e) => return super::tasks::task_problem(viewer, e),
        },
        None => None,
    };
    if form.intent == "preview" {
        return match state.tasks.preview_input(&input, saved.as_ref(), PREVIEW_SAMPLE).await {
            Ok(preview) => {
                let view = PreviewView {
                    matched: preview.summary.users_matched,
                    would_change: preview.would_change,
                    protected: preview.summary.users_skipped,
                    limit: preview.limit,
                    over_limit: preview.over_limit,
                    changes: preview.user_changes.into_iter().map(super::tasks::change_row).collect(),
                };
                editor(state, viewer, shown_id, form, Vec::new(), Some(view)).await
            }
            Err(TaskError::Invalid(problems)) => editor(state, viewer, shown_id, form, problems, None).await,
            Err(TaskError::Conflict(why)) => conflict(state, viewer, shown_id, form, why).await,
            Err(e) => super::tasks::task_problem(viewer, e),
        };
    }
    let by = &signed_in.key.name;
    let result = match &task_id {
        Some(id) => state.tasks.update_task(id, &input, by).await,
        None => state.tasks.create_task(&input, by).await,
    };
    match result {
        Ok(task) => {
            tracing::info!(task_id = %task.task_id, by = %signed_in.key.api_key_id, "task saved in the web UI");
            let query = serde_urlencoded::to_string([("saved", task.task_id.0.as_str())]).unwrap_or_default();
            Redirect::to(&format!("/tasks?{query}")).into_response()
        }
        Err(TaskError::Invalid(problems)) => editor(state, viewer, shown_id, form, problems, None).await,
        Err(TaskError::Conflict(why)) => conflict(state, viewer, shown_id, form, why).await,
        Err(e) => super::tasks::task_problem(viewer, e),
    }
}

/// The editor again with what conflicts (a name taken, a filter gone), everything typed kept.
async fn conflict(
    state: &AppState,
    viewer: Viewer,
    task_id: Option<String>,
    form: EditorForm,
    why: String,
) -> Response {
    let problems = vec![FieldProblem::new("", "", why)];
    editor_with_status(state, viewer, task_id, form, problems, None, Some(StatusCode::CONFLICT)).await
}

#[derive(Debug, Deserialize)]
struct ActiveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    active: String,
}

/// Pauses or resumes a task from the list.
pub(crate) async fn set_active(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form: ActiveForm =
        serde_urlencoded::from_bytes(&body).unwrap_or(ActiveForm { csrf: String::new(), active: String::new() });
    if let Some(refused) = super::refuse_form(&signed_in, &form.csrf, "tasks") {
        return refused;
    }
    let active = form.active == "true";
    match state.tasks.set_active(&TaskId(id.trim().to_owned()), active, &signed_in.key.name).await {
        Ok(task) => {
            tracing::info!(task_id = %task.task_id, active, by = %signed_in.key.api_key_id, "task paused or resumed in the web UI");
            Redirect::to("/tasks").into_response()
        }
        Err(e) => super::tasks::task_problem(Viewer::from(&signed_in), e),
    }
}

/// Deletes a task once confirmed; its runs stay readable.
pub(crate) async fn delete(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let confirmed = match super::confirmed(&signed_in, &body, "tasks") {
        Ok(confirmed) => confirmed,
        Err(refused) => return *refused,
    };
    let viewer = Viewer::from(&signed_in);
    let task = match state.tasks.task(&TaskId(id.trim().to_owned())).await {
        Ok(task) => task,
        Err(e) => return super::tasks::task_problem(viewer, e),
    };
    if !confirmed {
        return page(&super::ConfirmPage {
            viewer: Some(viewer),
            title: format!("Delete “{}”?", task.name),
            message: "Its schedule stops, and it cannot be run again. Its runs and their results stay readable.".into(),
            action: format!("/tasks/{}/delete", task.task_id),
            button: "Delete the task",
            back: format!("/tasks/{}/edit", task.task_id),
        });
    }
    match state.tasks.delete_task(&task.task_id).await {
        Ok(()) => {
            tracing::info!(task_id = %task.task_id, by = %signed_in.key.api_key_id, "task deleted in the web UI");
            Redirect::to("/tasks").into_response()
        }
        Err(TaskError::Conflict(why)) => super::error_page(StatusCode::CONFLICT, Some(viewer), "Not deleted", &why),
        Err(e) => super::tasks::task_problem(viewer, e),
    }
}
