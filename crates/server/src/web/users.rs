//! The User Browser: every filter of the API as a form, paging from 10 to 200, and
//! `/users?accountId=…` (where the agent's and the API's links land) showing that one user.
//! Selection and Bulk Operations are not built yet.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use model::directory::UserView;
use model::filter::{FieldProblem, PAGE_SIZES, PageRequest};

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
