//! The Dashboard: license health per app and site (billable seats, how many are inactive, as a
//! chart), the inactive share over all of them, and the latest runs.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{SignedIn, Viewer, error_page, page};
use crate::AppState;

/// The thresholds offered, in days.
const THRESHOLDS: [u32; 4] = [30, 60, 90, 180];

struct SeatRow {
    app_name: String,
    site_name: String,
    billable: u64,
    active: u64,
    inactive: u64,
    inactive_percent: f64,
    /// Widths in the chart, out of 100.
    active_width: f64,
    inactive_width: f64,
    inactive_users: String,
}

struct RunRow {
    name: String,
    outcome: String,
    tone: &'static str,
    started: String,
    link: String,
    source: &'static str,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    viewer: Option<Viewer>,
    days: u32,
    thresholds: Vec<(u32, bool)>,
    seats: Vec<SeatRow>,
    billable: u64,
    inactive: u64,
    inactive_percent: f64,
    runs: Vec<RunRow>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DashboardQuery {
    inactive_days: Option<u32>,
}

/// A link of this installation as a path, so that it works however the page was reached.
fn local(state: &AppState, url: &str) -> String {
    url.strip_prefix(&state.public_url).filter(|path| path.starts_with('/')).unwrap_or(url).to_owned()
}

pub(crate) async fn show(
    State(state): State<AppState>,
    signed_in: SignedIn,
    super::PageQuery(query): super::PageQuery<DashboardQuery>,
) -> Response {
    let viewer = Viewer::from(&signed_in);
    let days = query.inactive_days.unwrap_or(THRESHOLDS[0]);
    if !THRESHOLDS.contains(&days) {
        return error_page(
            StatusCode::BAD_REQUEST,
            Some(viewer),
            "Unknown threshold",
            &format!("Seats can be counted as inactive after {} days.", THRESHOLDS.map(|d| d.to_string()).join(", ")),
        );
    }
    let input = agent::tools::LicenseHealthInput { inactive_days: Some(days), apps: vec![], site: None };
    let health = match state.tools.license_health(&input).await {
        Ok(health) => health,
        Err(e) => return super::session_unavailable(&e.to_string()),
    };
    let widest = health.seats.iter().map(|s| s.billable).max().unwrap_or(1).max(1) as f64;
    let seats = health
        .seats
        .iter()
        .map(|s| SeatRow {
            app_name: s.app_name.clone(),
            site_name: s.site_name.clone(),
            billable: s.billable,
            active: s.active,
            inactive: s.inactive,
            inactive_percent: s.inactive_percent,
            active_width: 100.0 * s.active as f64 / widest,
            inactive_width: 100.0 * s.inactive as f64 / widest,
            inactive_users: local(&state, &s.inactive_users_url),
        })
        .collect();
    let totals = health.totals;
    let inactive_percent = if totals.billable == 0 {
        0.0
    } else {
        (1000.0 * totals.inactive as f64 / totals.billable as f64).round() / 10.0
    };
    let filter = tasks::RunFilter { limit: Some(10), ..tasks::RunFilter::default() };
    let runs = match state.tasks.runs(&filter).await {
        Ok(runs) => runs,
        Err(e) => return super::session_unavailable(&e.to_string()),
    };
    let runs = runs
        .into_iter()
        .map(|r| RunRow {
            outcome: r.outcome_text(),
            tone: r.outcome_tone(),
            started: super::minute(r.started_at),
            link: local(&state, &r.deep_link),
            source: r.source.as_str(),
            name: r.name,
        })
        .collect();
    page(&DashboardPage {
        viewer: Some(viewer),
        days,
        thresholds: THRESHOLDS.iter().map(|d| (*d, *d == days)).collect(),
        seats,
        billable: totals.billable,
        inactive: totals.inactive,
        inactive_percent,
        runs,
    })
}
