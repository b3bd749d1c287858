//! Identifiers. Directory ids are opaque strings chosen by the directory (Atlassian account ids,
//! group ids, site ids); ids we mint ourselves are UUIDs (v7, so they sort by creation time).

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String)]
        pub struct $name(pub String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }
    };
}

string_id!(
    /// A user's account id in the directory.
    AccountId
);
string_id!(
    /// A group's id in the directory.
    GroupId
);
string_id!(
    /// A site's id in the directory.
    SiteId
);
string_id!(
    /// An app type's key, such as `jira-servicedesk`. App types are data, not a closed enum.
    AppKey
);
string_id!(
    /// The id of a saved filter (a UUID we mint).
    FilterId
);
string_id!(
    /// The id of an API key (a UUID we mint; safe to show, unlike the secret).
    ApiKeyId
);

string_id!(
    /// The id of an Automated Task (a UUID we mint).
    TaskId
);
string_id!(
    /// The id of one run (process) of a task or bulk operation (a UUID we mint).
    ProcessId
);

/// The longest id ucm accepts from outside (Atlassian ids are far shorter).
pub const MAX_ID_CHARS: usize = 256;

/// Whether text could be an id at all: not empty, at most [`MAX_ID_CHARS`], no control
/// characters (PostgreSQL refuses NUL in text, so such input must stop before any query).
pub fn plausible_id(text: &str) -> bool {
    !text.is_empty() && text.chars().count() <= MAX_ID_CHARS && !text.chars().any(char::is_control)
}

/// Mints a new time-ordered UUID (v7) as text. All ids ucm creates come from here.
pub fn new_uuid() -> String {
    uuid::Uuid::now_v7().to_string()
}
