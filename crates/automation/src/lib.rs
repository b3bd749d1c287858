//! The automation engine (AUTOMATION.md). So far: flows, a trigger and ordered steps, saved
//! after every problem of their definition is found at once, with the incoming webhook's URL
//! and secret minted on the first save ([`flows`]); and receiving that webhook: checked, stored
//! as a queued execution, then accepted ([`receive`]). Running flows, the audit log and
//! import/export are not built yet: accepted requests wait in the queue.

pub mod flows;
pub mod receive;

pub use flows::{Flow, FlowError, Flows, WebhookEndpoint};
pub use receive::{Accepted, Incoming, MAX_BODY_BYTES, RateLimit, Refusal};
