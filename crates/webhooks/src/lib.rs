//! Webhooks (DELIVERY.md, PRODUCT §6): Standard Webhooks signing and the receiving side's
//! verification, the URL policy for subscriptions, and the address policy every outbound call
//! obeys (no loopback, private or link-local addresses unless configured).
//!
//! [`GuardedClient`] makes every outbound call under those policies, over http and https
//! (rustls with ring; the system's roots plus `network.extra_ca_file`): webhook deliveries, the
//! connectors' calls and the agent's model. [`Subscriptions`] keeps Notification Settings with
//! sealed secrets; the [`Dispatcher`] delivers the outbox, signed, with retries.

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
pub use policy::{AddressPolicy, Network, UrlPolicy, UrlRefused, is_global, own_flows_prefix};
pub use sealing::{SealError, SealingKey};
pub use signature::{Headers, SecretError, SigningSecret, TOLERANCE_SECONDS, VerifyError, verify};
pub use subscriptions::{SubscriptionError, SubscriptionInput, Subscriptions};
