//! The Atlassian backend against the simulator on 127.0.0.1, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

mod actions;
mod faults;
mod spec;
mod sync;
mod tasks;

use std::sync::Arc;
use std::time::Duration;

use atlassian::AdminClient;
use atlassian::simulator::{SimOrg, SimSettings, Simulator};

pub const KEY: &str = "ATCTT3xFfGN0-simulated-organization-key";

pub fn now() -> jiff::Timestamp {
    "2026-12-01T09:00:00Z".parse().unwrap()
}

/// A simulator of an organization of `users` people, serving on 127.0.0.1; its base URL.
pub async fn simulator(users: usize) -> (Arc<Simulator>, String) {
    let sim = Simulator::new(SimOrg::generate(users, now(), 7), SimSettings::new(KEY));
    let address = sim.start().await.unwrap();
    (sim, format!("http://{address}"))
}

/// A client of the simulator at `base`, allowed to reach 127.0.0.1, unpaced.
pub fn client(base: &str, key: &str) -> AdminClient {
    let http = webhooks::GuardedClient::new(
        webhooks::AddressPolicy::parse(&["127.0.0.0/8".to_owned()]).unwrap(),
        webhooks::Timeouts::default(),
    )
    .unwrap();
    AdminClient::new(http, base, key, Duration::ZERO)
}
