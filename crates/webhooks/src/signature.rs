//! Standard Webhooks signatures (DELIVERY.md, "Headers" and "Verification"): HMAC-SHA256 over
//! `{id}.{timestamp}.{body}`, sent as `webhook-signature: v1,<base64>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

/// How far a `webhook-timestamp` may be from the receiver's clock, in seconds.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// The most signatures one header may carry before it is refused as malformed.
const MAX_SIGNATURES: usize = 16;

/// A signing secret. `whsec_<base64>` signs with the decoded bytes; any other text with its
/// UTF-8 bytes. The bytes never appear in `Debug` output.
#[derive(Clone)]
pub struct SigningSecret(Vec<u8>);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(***)")
    }
}

/// A new signing secret in the Standard Webhooks form (`whsec_` and 32 random bytes in base64),
/// which receivers' libraries take as it is.
pub fn new_secret_text() -> String {
    format!("whsec_{}", STANDARD.encode(model::random::bytes(32)))
}

impl SigningSecret {
    /// Reads a secret as configured. A `whsec_` prefix with invalid base64 after it is an
    /// error, not a silent fallback to the text's bytes.
    pub fn new(text: &str) -> Result<Self, SecretError> {
        match text.strip_prefix("whsec_") {
            Some(encoded) => STANDARD.decode(encoded).map(Self).map_err(|_| SecretError::BadBase64),
            None if text.is_empty() => Err(SecretError::Empty),
            None => Ok(Self(text.as_bytes().to_vec())),
        }
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        // HMAC takes keys of any length; this cannot fail.
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// The `webhook-signature` value for one attempt: `v1,<base64>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }
}

/// A secret that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the secret is empty")]
    Empty,
    #[error("a secret starting with `whsec_` must continue in base64")]
    BadBase64,
}

/// Why a request's signature was refused. The receiving side answers all of them the same way
/// (401 without detail); the reason is for its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the `{0}` header is missing")]
    MissingHeader(&'static str),
    #[error("`webhook-timestamp` is not a Unix time in seconds")]
    BadTimestamp,
    #[error("`webhook-timestamp` is more than five minutes from now")]
    OutsideTolerance,
    #[error("no signature in `webhook-signature` matches")]
    NoMatch,
}

/// The three Standard Webhooks headers of a request, as received (`None`: absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct Headers<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Checks a request: all three headers present, the timestamp within
/// [`TOLERANCE_SECONDS`] of `now` (Unix seconds; `None` skips the check, for fixed test
/// vectors), and one `v1` signature in the list that matches. Signatures are compared by
/// length first, then in constant time; versions other than `v1` are skipped.
pub fn verify(secret: &SigningSecret, headers: Headers<'_>, body: &[u8], now: Option<i64>) -> Result<(), VerifyError> {
    let id = headers.id.ok_or(VerifyError::MissingHeader("webhook-id"))?;
    let timestamp = headers.timestamp.ok_or(VerifyError::MissingHeader("webhook-timestamp"))?;
    let signatures = headers.signature.ok_or(VerifyError::MissingHeader("webhook-signature"))?;
    let timestamp: i64 = timestamp.trim().parse().map_err(|_| VerifyError::BadTimestamp)?;
    if let Some(now) = now
        && now.abs_diff(timestamp) > TOLERANCE_SECONDS.unsigned_abs()
    {
        return Err(VerifyError::OutsideTolerance);
    }
    let expected = secret.mac(id, timestamp, body);
    let mut matched = false;
    for candidate in signatures.split_ascii_whitespace().take(MAX_SIGNATURES) {
        let Some(encoded) = candidate.strip_prefix("v1,") else { continue };
        let Ok(given) = STANDARD.decode(encoded) else { continue };
        // Every candidate is examined, so the time taken does not say which one matched.
        if given.len() == expected.len() && bool::from(given.ct_eq(&expected)) {
            matched = true;
        }
    }
    if matched { Ok(()) } else { Err(VerifyError::NoMatch) }
}
