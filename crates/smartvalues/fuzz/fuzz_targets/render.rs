//! Any text either fails to parse with a syntax error or renders (or fails) within the limits:
//! never a panic, never unbounded work.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(template) = smartvalues::Template::parse(text) else { return };
    let context = serde_json::json!({
        "webhookData": {"name": "R&D <key>", "expiresAt": "2025-07-10T09:00:00Z", "n": 5, "items": ["a", "b"]},
        "users": [{"name": "Ada", "email": "ada@example.com"}, {"name": "Alan"}],
    });
    let limits = smartvalues::Limits { max_output_bytes: 1 << 16, max_steps: 100_000 };
    let _ = template.render(&context, jiff::Timestamp::UNIX_EPOCH, &limits);
});
