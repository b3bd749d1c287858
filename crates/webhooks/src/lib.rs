//! Webhooks (DELIVERY.md, PRODUCT §6): Standard Webhooks signing and the receiving side's
//! verification, the URL policy for subscriptions, and the address policy every outbound call
//! obeys (no loopback, private or link-local addresses unless configured).
//!
//! [`GuardedClient`] makes the outbound calls under those policies. What exists so far is this
//! foundation: subscriptions, the outbox and the dispatcher are not built yet (issue 4), and the
//! client speaks plain HTTP only (no TLS in this build yet).

pub mod client;
pub mod dispatcher;
pub mod metrics;
pub mod policy;
pub mod sealing;
pub mod signature;
pub mod subscriptions;

pub use client::{BadRoots, ExtraRoots, GuardedClient, Request, Response, SendError, Timeouts};
pub use dispatcher::{DispatchSettings, Dispatcher};
pub use metrics::DeliveryMetrics;
pub use policy::{AddressPolicy, Network, UrlPolicy, UrlRefused, is_global};
pub use sealing::{SealError, SealingKey};
pub use signature::{Headers, SecretError, SigningSecret, TOLERANCE_SECONDS, VerifyError, verify};
pub use subscriptions::{SubscriptionError, SubscriptionInput, Subscriptions};
