//! Seats per app and site (the agent's `license-health` tool and the dashboard).

use jiff::Timestamp;
use model::ids::{AppKey, SiteId};
use sqlx::Row as _;

use crate::{Result, Store};

/// The statuses whose access is billed: an account that can sign in, or has been invited to.
/// Suspended, deactivated and closed accounts keep their group memberships but are not billed.
pub const BILLABLE_STATUSES: [&str; 2] = ["active", "invited"];

/// Seats of one app on one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseCount {
    pub app_type: AppKey,
    pub site_id: SiteId,
    /// Billable users with access.
    pub billable: u64,
    /// Of those, users whose last activity in this app (their creation when they never used
    /// it) is at or before the cutoff.
    pub inactive: u64,
}

impl Store {
    /// Billable and inactive seats per app and site, ordered by app and site. A seat is a user
    /// of the site with access to the app there (the User Browser's `apps` with `site`).
    /// Inactive means no activity in that app after `inactive_cutoff`, the same rule as the User
    /// Browser's `inactiveDays` with `apps`.
    pub async fn license_counts(&self, inactive_cutoff: Timestamp) -> Result<Vec<LicenseCount>> {
        sqlx::query(
            "SELECT a.app_type, a.site_id, COUNT(*), \
                    COALESCE(SUM(CASE WHEN a.activity_at <= $1 THEN 1 ELSE 0 END), 0) \
             FROM user_app_access a JOIN users u ON u.account_id = a.account_id \
             WHERE u.status IN ($2, $3) \
               AND EXISTS (SELECT 1 FROM user_sites s WHERE s.account_id = a.account_id AND s.site_id = a.site_id) \
             GROUP BY a.app_type, a.site_id ORDER BY a.app_type, a.site_id",
        )
        .bind(inactive_cutoff.as_millisecond())
        .bind(BILLABLE_STATUSES[0])
        .bind(BILLABLE_STATUSES[1])
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| -> Result<LicenseCount> {
            Ok(LicenseCount {
                app_type: AppKey(r.try_get(0)?),
                site_id: SiteId(r.try_get(1)?),
                billable: u64::try_from(r.try_get::<i64, _>(2)?).unwrap_or_default(),
                inactive: u64::try_from(r.try_get::<i64, _>(3)?).unwrap_or_default(),
            })
        })
        .collect()
    }
}
