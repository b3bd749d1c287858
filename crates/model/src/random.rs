//! The one place where secrets get their randomness: the operating system's random source.

use base64::Engine as _;

/// Returns `n` bytes from the operating system's cryptographically secure random source,
/// encoded as unpadded URL-safe base64 (so the text can go in headers, files and URLs).
///
/// # Panics
/// When the operating system has no random source, which leaves no safe way to continue.
pub fn secret_text(n: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes(n))
}

/// `n` bytes from the operating system's cryptographically secure random source (keys, nonces).
///
/// # Panics
/// When the operating system has no random source, which leaves no safe way to continue.
pub fn bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut bytes).expect("the operating system's random source is unavailable");
    bytes
}
