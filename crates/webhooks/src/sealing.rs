//! Secrets at rest: webhook secrets (and later connector credentials) are stored sealed with
//! the installation's key (XChaCha20-Poly1305, a random nonce per seal). The sealed text names
//! what it belongs to (`context`, authenticated but not stored), so a sealed value copied onto
//! another row does not open there.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// The prefix of sealed text, naming the scheme so it can change later.
const SCHEME: &str = "v1.";
const NONCE_BYTES: usize = 24;

/// The installation's key for secrets at rest. Never shown in `Debug` output.
#[derive(Clone)]
pub struct SealingKey(XChaCha20Poly1305);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(***)")
    }
}

/// Why sealed text could not be opened (or a key not read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the key must be 32 bytes in base64")]
    BadKey,
    #[error("the sealed value is damaged, or was sealed with another key or for something else")]
    CannotOpen,
}

impl SealingKey {
    /// A key from its base64 text (32 bytes).
    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| SealError::BadKey)?;
        if bytes.len() != 32 {
            return Err(SealError::BadKey);
        }
        XChaCha20Poly1305::new_from_slice(&bytes).map(Self).map_err(|_| SealError::BadKey)
    }

    /// A new random key, as base64 text (for a key file or the configuration).
    pub fn generate() -> String {
        STANDARD.encode(model::random::bytes(32))
    }

    /// Seals `secret` for `context` (such as `webhook:<subscription id>`).
    pub fn seal(&self, secret: &str, context: &str) -> String {
        let nonce_bytes = model::random::bytes(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce_bytes.as_slice()).unwrap_or_default();
        // Encryption fails only for inputs of many gigabytes.
        let sealed =
            self.0.encrypt(&nonce, Payload { msg: secret.as_bytes(), aad: context.as_bytes() }).unwrap_or_default();
        let mut out = nonce_bytes;
        out.extend_from_slice(&sealed);
        format!("{SCHEME}{}", STANDARD.encode(out))
    }

    /// Opens what [`SealingKey::seal`] made for the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String, SealError> {
        let bytes = sealed
            .strip_prefix(SCHEME)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > NONCE_BYTES)
            .ok_or(SealError::CannotOpen)?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).map_err(|_| SealError::CannotOpen)?;
        let plain = self
            .0
            .decrypt(&nonce, Payload { msg: ciphertext, aad: context.as_bytes() })
            .map_err(|_| SealError::CannotOpen)?;
        String::from_utf8(plain).map_err(|_| SealError::CannotOpen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_context() {
        let key = SealingKey::from_base64(&SealingKey::generate()).unwrap();
        let sealed = key.seal("whsec_abc", "webhook:1");
        assert!(sealed.starts_with("v1.") && !sealed.contains("whsec_abc"));
        assert_ne!(sealed, key.seal("whsec_abc", "webhook:1"), "a fresh nonce every time");
        assert_eq!(key.open(&sealed, "webhook:1").unwrap(), "whsec_abc");
        assert_eq!(key.open(&sealed, "webhook:2"), Err(SealError::CannotOpen), "bound to its row");
        let other = SealingKey::from_base64(&SealingKey::generate()).unwrap();
        assert_eq!(other.open(&sealed, "webhook:1"), Err(SealError::CannotOpen));
        let mut damaged = sealed.clone();
        damaged.pop();
        damaged.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(key.open(&damaged, "webhook:1"), Err(SealError::CannotOpen));
        assert_eq!(SealingKey::from_base64("c2hvcnQ=").unwrap_err(), SealError::BadKey);
        assert_eq!(format!("{key:?}"), "SealingKey(***)");
    }
}
