//! Webhooks (DELIVERY.md, PRODUCT §6): Standard Webhooks signing and the receiving side's
//! verification, the URL policy for subscriptions, and the address policy every outbound call
//! obeys (no loopback, private or link-local addresses unless configured).
//!
//! What exists so far is this foundation. Subscriptions, the outbox, the dispatcher and the
//! guarded HTTP client are not built yet (issue 4).

pub mod policy;
pub mod signature;

pub use policy::{AddressPolicy, Network, UrlPolicy, UrlRefused, is_global};
pub use signature::{Headers, SecretError, SigningSecret, TOLERANCE_SECONDS, VerifyError, verify};
