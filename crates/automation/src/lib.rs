//! The automation engine (AUTOMATION.md). So far: flows, a trigger and ordered steps, saved
//! after every problem of their definition is found at once, with the incoming webhook's URL
//! and secret minted on the first save ([`flows`]). Receiving webhooks, executing flows, the
//! audit log and import/export are not built yet.

pub mod flows;

pub use flows::{Flow, FlowError, Flows, WebhookEndpoint};
