use axum::Json;
use axum::extract::{Path, RawQuery, State};
use directory::DirectoryError;
use model::directory::{Catalog, User, UserView};
use model::filter::{PageRequest, UserFilter};
use model::ids::AccountId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::query;

/// A user in a list, with a link to the User Browser filtered to them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserListItem {
    #[serde(flatten)]
    pub user: UserView,
    pub user_browser_url: String,
}

/// One page of the User Browser.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserList {
    pub users: Vec<UserListItem>,
    /// Users matching in all, across pages.
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
    pub page_count: u64,
    /// The criteria as understood, with names (apps by display name, groups and sites by name).
    pub filter: UserFilter,
    /// The User Browser with the same criteria.
    pub user_browser_url: String,
}

/// The User Browser's query parameters. Lists accept repeated keys or commas. Names are
/// matched ignoring case; apps also by alias (`JSM`). An unknown name is a 400 with suggestions.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct UserQuery {
    /// Substring of the display name or email, ignoring case.
    q: Option<String>,
    /// Not active for at least this many days (with `apps`: in those apps).
    inactive_days: Option<u32>,
    /// Has access to any of these apps (key, display name or alias).
    apps: Option<Vec<String>>,
    /// Has access to none of these apps.
    not_apps: Option<Vec<String>>,
    /// Holds any of these roles (`orgAdmin`, `productAdmin`, `userAccessAdmin`, `siteAdmin`, `user`, `guest`, `customer`).
    roles: Option<Vec<String>>,
    /// Member of any of these groups (id or name).
    groups: Option<Vec<String>>,
    /// Member of none of these groups.
    exclude_groups: Option<Vec<String>>,
    /// On this site (id, name or URL); app criteria then apply to this site only.
    site: Option<String>,
    /// Email domain is any of these.
    email_domains: Option<Vec<String>>,
    /// Status is any of these (`active`, `suspended`, `deactivated`, `invited`, `notInvited`, `closed`).
    statuses: Option<Vec<String>>,
    /// 1-based page number (default 1).
    page: Option<u32>,
    /// 10, 20 (default), 50, 100 or 200.
    page_size: Option<u32>,
    /// `displayName` (default), `email`, `status`, `lastActive` or `createdAt`.
    sort: Option<String>,
    /// `asc` (default) or `desc`.
    order: Option<String>,
}

/// Search the directory (the User Browser).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery),
    security(("bearer" = [])),
    responses((status = 200, body = UserList), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list_users(
    State(state): State<AppState>,
    _caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<UserList>, ApiError> {
    let (filter, page) = query::user_query(raw.as_deref())?;
    Ok(Json(user_list(&state, &filter, &page).await?))
}

/// One page of the User Browser in the API's shape (also what `ucm users list --json` prints).
pub async fn user_list(state: &AppState, filter: &UserFilter, page: &PageRequest) -> Result<UserList, DirectoryError> {
    let found = state.directory.search_users(filter, page).await?;
    let catalog = state.directory.catalog().await?;
    let display = found.filter.to_display(&catalog);
    let users = found.users.iter().map(|u| user_item(state, u, &catalog)).collect();
    Ok(UserList {
        users,
        total: found.total,
        page: page.page,
        page_size: page.page_size,
        page_count: found.total.div_ceil(u64::from(page.page_size)),
        // Ids, not names, in the link: names may hold commas and may be renamed.
        user_browser_url: model::webhook::user_browser_filter_url(&state.public_url, &found.filter.to_canonical()),
        filter: display,
    })
}

/// One user in the API's shape.
pub async fn user_detail(state: &AppState, account_id: &AccountId) -> Result<UserListItem, DirectoryError> {
    let user = state.directory.user(account_id).await?;
    let catalog = state.directory.catalog().await?;
    Ok(user_item(state, &user, &catalog))
}

fn user_item(state: &AppState, user: &User, catalog: &Catalog) -> UserListItem {
    UserListItem { user_browser_url: state.user_browser_url(user.account_id.as_str()), user: user.view(catalog) }
}

/// One user, with names for their sites, groups and apps.
#[utoipa::path(get, path = "/api/v1/users/{accountId}", tag = "users",
    params(("accountId" = String, Path, description = "The user's account id")),
    security(("bearer" = [])),
    responses((status = 200, body = UserListItem), (status = 404, body = Problem)))]
pub async fn get_user(
    State(state): State<AppState>,
    _caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<UserListItem>, ApiError> {
    let account_id = AccountId(crate::path_id(account_id, "user")?);
    Ok(Json(user_detail(&state, &account_id).await?))
}
