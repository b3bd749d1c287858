//! API keys (PRODUCT §7): what a key is, how its secret looks and is stored, and whether it may
//! be used right now.

use std::fmt;
use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::directory::UnknownName;
use crate::ids::{AccountId, ApiKeyId};
use crate::random;

/// Every secret starts with this, so that a leaked key is recognisable (secret scanners, logs).
pub const SECRET_PREFIX: &str = "ucm_";
/// The longest accepted key name.
pub const MAX_NAME_CHARS: usize = 120;
/// The longest lifetime a key may be given.
pub const MAX_LIFETIME_DAYS: i64 = 730;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ApiKeyRole {
    /// Everything its principal may do.
    Admin,
    /// Read views and use the agent tools; change nothing.
    ReadOnly,
}

impl ApiKeyRole {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::ReadOnly => "readOnly",
        }
    }
}

impl fmt::Display for ApiKeyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiKeyRole {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "admin" => Ok(Self::Admin),
            "readonly" => Ok(Self::ReadOnly),
            _ => Err(UnknownName { what: "key role", input: s.to_owned(), expected: vec!["admin", "read-only"] }),
        }
    }
}

/// A stored API key. The secret itself is never stored: only its SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub api_key_id: ApiKeyId,
    pub name: String,
    pub role: ApiKeyRole,
    /// The directory user the key acts for; `None` for an installation key.
    pub principal: Option<AccountId>,
    /// The first characters of the secret, to tell keys apart in lists.
    pub secret_prefix: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
}

/// Why a key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRejection {
    #[error("the API key `{name}` expired at {at}; create a new key (`ucm apikey create`)")]
    Expired { name: String, at: Timestamp },
    #[error("the API key `{name}` was revoked at {at}")]
    Revoked { name: String, at: Timestamp },
}

/// The state of a key at an instant, as lists show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum KeyState {
    Active,
    /// Usable, but expires within 7 days.
    ExpiringSoon,
    Expired,
    Revoked,
}

impl KeyState {
    /// The wire name (`expiringSoon`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::ExpiringSoon => "expiringSoon",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

impl ApiKey {
    /// Whether the key may be used at `now`.
    pub fn check(&self, now: Timestamp) -> Result<(), KeyRejection> {
        if let Some(at) = self.revoked_at {
            return Err(KeyRejection::Revoked { name: self.name.clone(), at });
        }
        if self.expires_at <= now {
            return Err(KeyRejection::Expired { name: self.name.clone(), at: self.expires_at });
        }
        Ok(())
    }

    /// The key's state at `now`.
    pub fn state(&self, now: Timestamp) -> KeyState {
        match self.check(now) {
            Err(KeyRejection::Revoked { .. }) => KeyState::Revoked,
            Err(KeyRejection::Expired { .. }) => KeyState::Expired,
            Ok(()) if self.expires_at <= now.saturating_add(SignedDuration::from_hours(24 * 7)).unwrap_or(now) => {
                KeyState::ExpiringSoon
            }
            Ok(()) => KeyState::Active,
        }
    }
}

impl ApiKey {
    /// A new key and its secret. Store the key with [`ApiKeySecret::hash`]; show the secret once.
    pub fn mint(
        name: String,
        role: ApiKeyRole,
        principal: Option<AccountId>,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> (Self, ApiKeySecret) {
        let secret = ApiKeySecret::generate();
        let key = Self {
            api_key_id: ApiKeyId(crate::ids::new_uuid()),
            name,
            role,
            principal,
            secret_prefix: secret.display_prefix(),
            created_at: now,
            expires_at,
            revoked_at: None,
            last_used_at: None,
        };
        (key, secret)
    }
}

/// A freshly minted secret. Shown once, then only its hash is kept.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeySecret({}…)", self.display_prefix())
    }
}

impl ApiKeySecret {
    /// A new secret: the prefix and 256 bits from the OS random source.
    pub fn generate() -> Self {
        Self(format!("{SECRET_PREFIX}{}", random::secret_text(32)))
    }

    /// The secret text. Show it once; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash that is stored and looked up.
    pub fn hash(&self) -> String {
        hash_secret(&self.0)
    }

    /// The first characters, safe to show in lists.
    pub fn display_prefix(&self) -> String {
        self.0.chars().take(SECRET_PREFIX.len() + 6).collect()
    }
}

/// The stored form of a presented secret: SHA-256, hex. Keys carry 256 random bits, so a fast
/// hash is right (a slow password hash would only slow every request).
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Compares two hashes in constant time.
pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Parses a lifetime such as `90d`, `12h`, `2w` or `1y` (365 days).
pub fn parse_lifetime(input: &str) -> Result<SignedDuration, String> {
    let text = input.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let amount: i64 = digits
        .parse()
        .map_err(|_| format!("`{input}` is not a lifetime; write a number and a unit, such as 90d, 12h, 2w or 1y"))?;
    let hours_per_unit: i64 = match unit.trim() {
        "h" => 1,
        "d" => 24,
        "w" => 24 * 7,
        "y" => 24 * 365,
        _ => {
            return Err(format!("`{input}` has an unknown unit; use h, d, w or y (90d, 12h, 2w, 1y)"));
        }
    };
    // Saturates: an absurd amount is then refused as too long, never wrapped around.
    let hours = amount.saturating_mul(hours_per_unit);
    if hours < 1 {
        return Err("a key must live at least one hour".to_owned());
    }
    if hours > MAX_LIFETIME_DAYS * 24 {
        return Err(format!("a key may live at most {MAX_LIFETIME_DAYS} days"));
    }
    Ok(SignedDuration::from_hours(hours))
}

/// Checks an expiry instant: in the future, and no further than the longest lifetime.
pub fn validate_expiry(now: Timestamp, expires_at: Timestamp) -> Result<(), String> {
    if expires_at <= now {
        return Err("the expiry must be in the future".to_owned());
    }
    if expires_at.duration_since(now) > SignedDuration::from_hours(MAX_LIFETIME_DAYS * 24) {
        return Err(format!("a key may live at most {MAX_LIFETIME_DAYS} days"));
    }
    Ok(())
}

/// Checks a key's name: not blank, not too long, no control characters.
pub fn validate_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("an API key needs a name".to_owned());
    }
    if name.chars().any(char::is_control) {
        return Err("an API key name cannot hold control characters".to_owned());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("an API key name has at most {MAX_NAME_CHARS} characters"));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(expires_at: &str) -> ApiKey {
        ApiKey {
            api_key_id: "k".into(),
            name: "ci".into(),
            role: ApiKeyRole::Admin,
            principal: None,
            secret_prefix: "ucm_abc".into(),
            created_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            expires_at: expires_at.parse().unwrap(),
            revoked_at: None,
            last_used_at: None,
        }
    }

    #[test]
    fn expired_keys_say_when_they_expired() {
        let now: Timestamp = "2026-11-28T00:00:00Z".parse().unwrap();
        let err = key("2026-11-27T12:00:00Z").check(now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the API key `ci` expired at 2026-11-27T12:00:00Z; create a new key (`ucm apikey create`)"
        );
        assert!(key("2026-11-28T00:00:01Z").check(now).is_ok());
        assert_eq!(key("2026-12-01T00:00:00Z").state(now), KeyState::ExpiringSoon);
        assert_eq!(key("2027-12-01T00:00:00Z").state(now), KeyState::Active);
    }

    #[test]
    fn key_states_name_themselves_as_on_the_wire() {
        for state in [KeyState::Active, KeyState::ExpiringSoon, KeyState::Expired, KeyState::Revoked] {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
    }

    #[test]
    fn secrets_are_random_prefixed_and_hashed() {
        let a = ApiKeySecret::generate();
        let b = ApiKeySecret::generate();
        assert_ne!(a, b);
        assert!(a.expose().starts_with("ucm_") && a.expose().len() == 4 + 43);
        assert!(hashes_equal(&a.hash(), &hash_secret(a.expose())));
        assert!(!hashes_equal(&a.hash(), &b.hash()));
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn lifetimes_parse_with_units_and_bounds() {
        assert_eq!(parse_lifetime("90d"), Ok(SignedDuration::from_hours(90 * 24)));
        assert_eq!(parse_lifetime("2w"), Ok(SignedDuration::from_hours(14 * 24)));
        assert!(parse_lifetime("0d").is_err());
        assert!(parse_lifetime("3y").is_err());
        assert!(parse_lifetime("90").unwrap_err().contains("unknown unit"));
        assert!(parse_lifetime("d").is_err());
        assert!(parse_lifetime("2305843009213693953y").unwrap_err().contains("at most"), "no overflow");
        let now: Timestamp = "2026-11-28T00:00:00Z".parse().unwrap();
        assert!(validate_expiry(now, "9999-01-01T00:00:00Z".parse().unwrap()).is_err());
        assert!(validate_expiry(now, "2027-01-01T00:00:00Z".parse().unwrap()).is_ok());
    }
}
