//! Webhook events (PRODUCT §6): the exact, flat payloads receivers match on, and the deep links
//! they carry. The bytes made here are the bytes stored in the outbox and signed as stored.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{ApiKeyId, ProcessId, TaskId};
use crate::task::ActionType;

/// What a subscription can listen to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Trigger {
    TaskSuccess,
    TaskFailure,
    OrgKeyExpiry,
}

impl Trigger {
    pub const ALL: [Trigger; 3] = [Self::TaskSuccess, Self::TaskFailure, Self::OrgKeyExpiry];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TaskSuccess => "taskSuccess",
            Self::TaskFailure => "taskFailure",
            Self::OrgKeyExpiry => "orgKeyExpiry",
        }
    }
}

/// A webhook subscription (Notification Settings). The secret is not part of it: it is stored
/// sealed and never shown again after it is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    #[schema(value_type = String)]
    pub id: String,
    pub name: String,
    pub url: String,
    pub triggers: Vec<Trigger>,
    pub notes: String,
    pub enabled: bool,
    /// Why ucm switched it off (the receiver answered 410 Gone), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// A delivery in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Stable across retries; sent as `webhook-id`.
    pub delivery_id: String,
    pub subscription_id: String,
    pub event: Trigger,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_id: Option<ProcessId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<ApiKeyId>,
    /// The exact body sent.
    pub body: String,
    /// `pending`, `in_flight`, `retrying`, `succeeded` or `dead`.
    pub state: String,
    pub attempts: u32,
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// The last attempt's HTTP status, if it got an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
    /// The last attempt's error, if it got no answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
}

/// One attempt of a delivery (the delivery log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub attempt: u32,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    pub duration_ms: u64,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// Why there was no answer (timeout, refused, …).
    pub error: Option<String>,
    /// The first bytes of the answer.
    pub response: String,
}

/// An event to queue for every enabled subscription that listens to its trigger, written in
/// the same transaction as what caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundEvent {
    pub trigger: Trigger,
    pub body: String,
    pub process_id: Option<ProcessId>,
    pub api_key_id: Option<ApiKeyId>,
}

impl From<&TaskEvent> for OutboundEvent {
    fn from(event: &TaskEvent) -> Self {
        Self {
            trigger: event.trigger,
            body: event.body(),
            process_id: Some(event.process_id.clone()),
            api_key_id: None,
        }
    }
}

/// `taskSuccess` / `taskFailure`: exactly these fields, in this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskEvent {
    pub trigger: Trigger,
    pub process_id: ProcessId,
    /// The task's name.
    pub name: String,
    /// The task's configured action types, in order, no duplicates.
    pub action_types: Vec<ActionType>,
    /// The task view with this run's result open.
    pub deep_link: String,
}

/// `orgKeyExpiry`: exactly these fields, in this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyExpiryEvent {
    pub trigger: Trigger,
    pub api_key_id: ApiKeyId,
    /// The key's name.
    pub name: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
    /// The API key settings page.
    pub settings_url: String,
}

impl TaskEvent {
    /// The event of a task run that ended with `success` (true) or `failure`.
    pub fn new(
        success: bool,
        process_id: ProcessId,
        task_id: &TaskId,
        name: String,
        action_types: Vec<ActionType>,
        public_url: &str,
    ) -> Self {
        let deep_link = run_deep_link(public_url, Some(task_id), &process_id);
        Self {
            trigger: if success { Trigger::TaskSuccess } else { Trigger::TaskFailure },
            process_id,
            name,
            action_types,
            deep_link,
        }
    }

    /// The body as sent (compact JSON).
    pub fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl KeyExpiryEvent {
    pub fn new(api_key_id: ApiKeyId, name: String, expires_at: Timestamp, public_url: &str) -> Self {
        Self {
            trigger: Trigger::OrgKeyExpiry,
            api_key_id,
            name,
            expires_at: expires_at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            settings_url: format!("{}/settings/api-keys", public_url.trim_end_matches('/')),
        }
    }

    /// The event of the connected Atlassian organization's API key (`api_key_id` is the
    /// connection's id), whose settings are the "Atlassian organization" section.
    pub fn for_org_key(connection_id: ApiKeyId, name: String, expires_at: Timestamp, public_url: &str) -> Self {
        Self {
            settings_url: format!("{}/settings#atlassian-organization", public_url.trim_end_matches('/')),
            ..Self::new(connection_id, name, expires_at, public_url)
        }
    }

    /// The body as sent (compact JSON).
    pub fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The web UI link that opens a run's result: `{public_url}/tasks?taskId=…&processId=…`
/// (no `taskId` for a bulk operation).
pub fn run_deep_link(public_url: &str, task_id: Option<&TaskId>, process_id: &ProcessId) -> String {
    let mut query = String::new();
    if let Some(task) = task_id {
        query.push_str("taskId=");
        query.push_str(&encode_component(task.as_str()));
        query.push('&');
    }
    query.push_str("processId=");
    query.push_str(&encode_component(process_id.as_str()));
    format!("{}/tasks?{query}", public_url.trim_end_matches('/'))
}

/// The User Browser link for one user: `{public_url}/users?accountId=…`.
pub fn user_browser_url(public_url: &str, account_id: &str) -> String {
    format!("{}/users?accountId={}", public_url.trim_end_matches('/'), encode_component(account_id))
}

/// The User Browser showing the users `filter` selects.
pub fn user_browser_filter_url(public_url: &str, filter: &crate::filter::UserFilter) -> String {
    let query = filter.query_string();
    let base = public_url.trim_end_matches('/');
    if query.is_empty() { format!("{base}/users") } else { format!("{base}/users?{query}") }
}

/// Form-encodes a query value (`application/x-www-form-urlencoded`, as browsers do).
pub(crate) fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(byte as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_events_are_flat_and_exact() {
        let event = TaskEvent::new(
            false,
            ProcessId::from("0190f2c4-aaaa"),
            &TaskId::from("0190f2c3-bbbb"),
            "Deactivate Inactive Users".to_owned(),
            vec![ActionType::RemoveAppAccess, ActionType::SuspendUsers],
            "http://127.0.0.1:8080/",
        );
        assert_eq!(
            event.body(),
            r#"{"trigger":"taskFailure","processId":"0190f2c4-aaaa","name":"Deactivate Inactive Users","actionTypes":["removeAppAccess","suspendUsers"],"deepLink":"http://127.0.0.1:8080/tasks?taskId=0190f2c3-bbbb&processId=0190f2c4-aaaa"}"#
        );
    }

    #[test]
    fn key_expiry_events_are_flat_and_exact() {
        let at: Timestamp = "2026-12-03T09:00:00Z".parse().unwrap();
        let event = KeyExpiryEvent::new(ApiKeyId::from("k1"), "ci".to_owned(), at, "https://ucm.example.com");
        assert_eq!(
            event.body(),
            r#"{"trigger":"orgKeyExpiry","apiKeyId":"k1","name":"ci","expiresAt":"2026-12-03T09:00:00Z","settingsUrl":"https://ucm.example.com/settings/api-keys"}"#
        );
    }

    #[test]
    fn links_encode_their_values() {
        assert_eq!(user_browser_url("http://h", "712020:5b1f a&b"), "http://h/users?accountId=712020%3A5b1f+a%26b");
        assert_eq!(run_deep_link("http://h/", None, &ProcessId::from("p")), "http://h/tasks?processId=p");
    }
}
