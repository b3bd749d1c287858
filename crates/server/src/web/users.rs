//! The User Browser: every filter of the API as a form, paging from 10 to 200, and
//! `/users?accountId=…` (where the agent's and the API's links land) showing that one user.
//! Users can be picked one by one or as "all N matching" for a Bulk Operation (the five
//! actions), reviewed first: how many users it changes and how many organization admins it
//! leaves alone.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use model::directory::UserView;
use model::filter::{FieldProblem, PAGE_SIZES, PageRequest};
use serde::Deserialize;

use super::{SignedIn, Viewer, error_page, page};
use crate::AppState;
use crate::error::ApiError;

/// The criteria the form offers: (query parameter, label, hint).
const CRITERIA: [(&str, &str, &str); 10] = [
    ("q", "Name or email", "part of a name or an email address"),
    ("apps", "Apps", "e.g. JSM, Confluence"),
    ("notApps", "Without apps", "e.g. Jira"),
    ("inactiveDays", "Inactive for (days)", "e.g. 30"),
    ("groups", "Groups", "names or ids"),
    ("excludeGroups", "Not in groups", "names or ids"),
    ("site", "Site", "name or URL"),
    ("statuses", "Statuses", "active, suspended, deactivated, invited…"),
    ("roles", "Roles", "orgAdmin, productAdmin, user…"),
    ("emailDomains", "Email domains", "e.g. partners.example.com"),
];

/// One field of the filter form, with what was asked.
struct Criterion {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    value: String,
}

struct UserRow {
    user: UserView,
    apps: String,
    groups: String,
    last_active: String,
}

struct PageLink {
    href: String,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    viewer: Option<Viewer>,
    criteria: Vec<Criterion>,
    page_sizes: Vec<(u32, bool)>,
    problems: Vec<FieldProblem>,
    rows: Vec<UserRow>,
    total: u64,
    page: u32,
    page_count: u64,
    previous: Option<PageLink>,
    next: Option<PageLink>,
    /// Showing one user from a link (`?accountId=`).
    one_user: Option<String>,
    /// May run Bulk Operations.
    admin: bool,
    /// The criteria shown, as a query string (for "all N matching").
    query: String,
    actions: &'static [(&'static str, &'static str, &'static str)],
}

fn row(user: UserView) -> UserRow {
    let apps =
        user.app_access.iter().map(|a| format!("{} ({})", a.app_name, a.site_name)).collect::<Vec<_>>().join(", ");
    let groups = user.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(", ");
    let last_active = user.last_active.map_or_else(|| "never".to_owned(), |t| t.strftime("%Y-%m-%d").to_string());
    UserRow { user, apps, groups, last_active }
}

/// The User Browser page.
pub(crate) async fn browse(State(state): State<AppState>, signed_in: SignedIn, RawQuery(raw): RawQuery) -> Response {
    let viewer = Viewer::from(&signed_in);
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or_default()).unwrap_or_default();
    let asked =
        |name: &str| pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(", ");
    let criteria: Vec<Criterion> =
        CRITERIA.iter().map(|(name, label, hint)| Criterion { name, label, hint, value: asked(name) }).collect();
    // Empty fields of the form are not criteria.
    let given: Vec<(String, String)> =
        pairs.iter().filter(|(k, v)| k != "accountId" && !v.trim().is_empty()).cloned().collect();
    let query = serde_urlencoded::to_string(&given).unwrap_or_default();
    let mut view = UsersPage {
        viewer: Some(viewer.clone()),
        criteria,
        page_sizes: vec![],
        problems: vec![],
        rows: vec![],
        total: 0,
        page: 1,
        page_count: 0,
        previous: None,
        next: None,
        one_user: None,
        admin: signed_in.key.role == model::apikey::ApiKeyRole::Admin,
        query: serde_urlencoded::to_string(
            given.iter().filter(|(k, _)| k != "page" && k != "pageSize").collect::<Vec<_>>(),
        )
        .unwrap_or_default(),
        actions: &BULK_ACTIONS,
    };
    let (filter, paging) = match crate::query::user_query(Some(&query)) {
        Ok(parsed) => parsed,
        Err(ApiError::BadRequest { errors, .. }) => {
            view.problems = errors;
            (model::filter::UserFilter::default(), PageRequest::default())
        }
        Err(e) => return super::session_unavailable(&e.to_string()),
    };
    view.page_sizes = PAGE_SIZES.iter().map(|size| (*size, *size == paging.page_size)).collect();
    if let Some((_, account_id)) = pairs.iter().find(|(k, _)| k == "accountId") {
        match crate::routes::users::user_detail(&state, &model::ids::AccountId(account_id.clone())).await {
            Ok(item) => {
                view.total = 1;
                view.page_count = 1;
                view.rows = vec![row(item.user)];
                view.one_user = Some(account_id.clone());
            }
            Err(directory::DirectoryError::NotFound(_)) => {
                return error_page(
                    StatusCode::NOT_FOUND,
                    Some(viewer),
                    "No such user",
                    "No user of the directory has this account id; the link may be from before a sync removed them.",
                );
            }
            Err(e) => return super::session_unavailable(&e.to_string()),
        }
        return page(&view);
    }
    if view.problems.is_empty() {
        match crate::routes::users::user_list(&state, &filter, &paging).await {
            Ok(list) => {
                view.total = list.total;
                view.page = list.page;
                view.page_count = list.page_count;
                view.rows = list.users.into_iter().map(|item| row(item.user)).collect();
                let link = |page: u32| {
                    let mut pairs: Vec<(String, String)> = given.iter().filter(|(k, _)| k != "page").cloned().collect();
                    pairs.push(("page".to_owned(), page.to_string()));
                    format!("/users?{}", serde_urlencoded::to_string(&pairs).unwrap_or_default())
                };
                if list.page > 1 {
                    view.previous = Some(PageLink { href: link(list.page - 1), label: "Previous page" });
                }
                if u64::from(list.page) < list.page_count {
                    view.next = Some(PageLink { href: link(list.page + 1), label: "Next page" });
                }
            }
            Err(directory::DirectoryError::Filter(e)) => view.problems = e.0,
            Err(e) => return super::session_unavailable(&e.to_string()),
        }
    }
    let status = if view.problems.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let mut response = page(&view);
    *response.status_mut() = status;
    response
}

/// The five actions of a Bulk Operation: (wire name, label, whether it names groups or apps).
pub(crate) const BULK_ACTIONS: [(&str, &str, &str); 5] = [
    ("addToGroups", "Add to groups", "groups"),
    ("removeFromGroups", "Remove from groups", "groups"),
    ("removeAppAccess", "Remove app access", "apps"),
    ("suspendUsers", "Suspend", ""),
    ("restoreUsers", "Restore", ""),
];

/// The Bulk Operations form, as posted (to review, then to run).
#[derive(Debug, Default, Clone)]
struct BulkForm {
    csrf: String,
    /// `selected` or `all`.
    scope: String,
    account_ids: Vec<String>,
    /// The User Browser's query, for "all N matching".
    query: String,
    action: String,
    targets: String,
    confirm: bool,
}

impl BulkForm {
    fn parse(body: &[u8]) -> Self {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "csrf" => form.csrf = value,
                "scope" => form.scope = value,
                "accountId" => form.account_ids.push(value),
                "query" => form.query = value,
                "action" => form.action = value,
                "targets" => form.targets = value,
                "confirm" => form.confirm = true,
                _ => {}
            }
        }
        form
    }

    /// The operation this form asks for, or what is wrong with it.
    fn input(&self) -> Result<tasks::BulkInput, Vec<FieldProblem>> {
        let action = super::form_action(&self.action, &self.targets, false, "action").map_err(|p| vec![p])?;
        let (account_ids, filter) = if self.scope == "all" {
            let (filter, _) = crate::query::user_query(Some(&self.query)).map_err(|e| match e {
                crate::error::ApiError::BadRequest { errors, .. } => errors,
                other => vec![FieldProblem::new("query", "", other.to_string())],
            })?;
            (None, Some(filter))
        } else {
            (Some(self.account_ids.iter().cloned().map(model::ids::AccountId).collect()), None)
        };
        Ok(tasks::BulkInput { name: None, actions: vec![action], account_ids, filter, confirm: self.confirm })
    }
}

#[derive(Template)]
#[template(path = "bulk_confirm.html")]
struct BulkConfirmPage {
    viewer: Option<Viewer>,
    action_label: &'static str,
    targets: String,
    scope: String,
    account_ids: Vec<String>,
    query: String,
    action: String,
    would_change: u64,
    protected: u64,
    matched: u64,
    limit: Option<u64>,
    over_limit: bool,
}

fn bulk_problems(viewer: Viewer, problems: &[FieldProblem]) -> Response {
    let what = super::problem_text(problems);
    error_page(
        StatusCode::BAD_REQUEST,
        Some(viewer),
        "The bulk operation cannot be used",
        &format!("{what}. Go back and change it."),
    )
}

/// Reviews a Bulk Operation (how many users it changes, how many organization admins it leaves
/// alone), then runs it once confirmed.
pub(crate) async fn bulk(State(state): State<AppState>, signed_in: SignedIn, body: axum::body::Bytes) -> Response {
    let viewer = Viewer::from(&signed_in);
    let form = BulkForm::parse(&body);
    if let Some(refused) = super::refuse_form(&signed_in, &form.csrf, "users") {
        return refused;
    }
    let input = match form.input() {
        Ok(input) => input,
        Err(problems) => return bulk_problems(viewer, &problems),
    };
    if form.confirm {
        return match state.tasks.start_bulk(&input, &signed_in.key.name).await {
            Ok(run) => {
                let link = format!("/tasks?processId={}", run.process_id.0);
                state.tasks.spawn(run).await;
                axum::response::IntoResponse::into_response(axum::response::Redirect::to(&link))
            }
            Err(tasks::TaskError::Invalid(problems)) => bulk_problems(viewer, &problems),
            Err(e) => super::session_unavailable(&e.to_string()),
        };
    }
    let preview = match state.tasks.preview_bulk(&input, 0).await {
        Ok(preview) => preview,
        Err(tasks::TaskError::Invalid(problems)) => return bulk_problems(viewer, &problems),
        Err(e) => return super::session_unavailable(&e.to_string()),
    };
    let action_label = BULK_ACTIONS.iter().find(|(name, _, _)| *name == form.action).map_or("", |(_, label, _)| label);
    page(&BulkConfirmPage {
        viewer: Some(viewer),
        action_label,
        targets: form.targets.clone(),
        scope: form.scope.clone(),
        account_ids: form.account_ids.clone(),
        query: form.query.clone(),
        action: form.action.clone(),
        would_change: preview.would_change,
        protected: preview.summary.users_skipped,
        matched: preview.summary.users_matched,
        limit: preview.limit,
        over_limit: preview.over_limit,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SaveFilterForm {
    csrf: String,
    name: String,
    /// The User Browser's criteria, as a query string.
    query: String,
}

/// Saves the User Browser's criteria under a name, then opens a new task on them.
pub(crate) async fn save_filter(
    State(state): State<AppState>,
    signed_in: SignedIn,
    body: axum::body::Bytes,
) -> Response {
    let form: SaveFilterForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if let Some(refused) = super::refuse_form(&signed_in, &form.csrf, "users and filters") {
        return refused;
    }
    let viewer = Viewer::from(&signed_in);
    let saved = async {
        let (criteria, _) = crate::query::user_query(Some(&form.query))?;
        let input = crate::routes::saved_filters::SavedFilterInput { name: form.name.clone(), criteria };
        let (name, criteria) = crate::routes::saved_filters::canonical(&state, &input).await?;
        Ok::<_, ApiError>(state.store.create_saved_filter(&name, &criteria, state.clock.now()).await?)
    };
    match saved.await {
        Ok(saved) => {
            tracing::info!(filter_id = %saved.filter_id, by = %signed_in.key.api_key_id, "filter saved in the web UI");
            let query = serde_urlencoded::to_string([("filterId", saved.filter_id.0.as_str())]).unwrap_or_default();
            axum::response::IntoResponse::into_response(axum::response::Redirect::to(&format!("/tasks/new?{query}")))
        }
        Err(ApiError::BadRequest { errors, .. }) => {
            let what = super::problem_text(&errors);
            error_page(
                StatusCode::BAD_REQUEST,
                Some(viewer),
                "The filter cannot be saved",
                &format!("{what}. Go back and change it."),
            )
        }
        Err(ApiError::Conflict(why)) => error_page(
            StatusCode::CONFLICT,
            Some(viewer),
            "The filter cannot be saved",
            &format!("{why}. Go back and choose another name."),
        ),
        Err(e) => super::session_unavailable(&e.to_string()),
    }
}
