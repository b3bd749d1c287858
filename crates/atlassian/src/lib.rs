//! The Atlassian Cloud organization backend of the directory (NOTES, `shared/atlassian`): the
//! Admin API client ([`client`]), reading an organization into the local mirror ([`sync`]),
//! and a simulator of the API ([`simulator`]) for tests, benchmarks and trying ucm out.
//!
//! Only the v2 directory APIs are used: the v1 write calls were switched off on 2026-06-30.

pub mod api;
pub mod client;
pub mod simulator;
pub mod sync;

pub use client::{AdminClient, AdminError, CallStats, RateLimiter};
pub use sync::{Fetched, SyncProgress};
pub mod organization;

pub use organization::{
    ConnectInput, OrgConnectionView, OrgDirectory, OrgError, OrgSettings, OrgSyncReport, Organization,
};
