//! The shared Standard Webhooks vectors, signed and verified; the guarded client on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod dispatcher;
mod subscriptions;

use serde_json::Value;
use webhooks::{Headers, SigningSecret, VerifyError, verify};

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/standard-webhooks.json")).unwrap()
}

fn field<'a>(case: &'a Value, name: &str) -> &'a str {
    case[name].as_str().unwrap()
}

#[test]
fn valid_vectors_sign_and_verify() {
    let vectors = vectors();
    for case in vectors["valid"].as_array().unwrap() {
        let secret = SigningSecret::new(field(case, "secret")).unwrap();
        let timestamp = case["timestamp"].as_i64().unwrap();
        let body = field(case, "body").as_bytes();
        assert_eq!(secret.sign(field(case, "id"), timestamp, body), field(case, "signature"));
        let stamp = timestamp.to_string();
        let headers =
            Headers { id: Some(field(case, "id")), timestamp: Some(&stamp), signature: Some(field(case, "signature")) };
        // The vectors are old: check at their own time, and with the tolerance off.
        assert_eq!(verify(&secret, headers, body, Some(timestamp)), Ok(()));
        assert_eq!(verify(&secret, headers, body, None), Ok(()));
    }
}

#[test]
fn every_case_is_decided_as_the_vectors_say() {
    let vectors = vectors();
    let cases = vectors["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let base = &vectors["valid"][case["base"].as_u64().unwrap() as usize];
        let secret = SigningSecret::new(field(base, "secret")).unwrap();
        let stamp = base["timestamp"].as_i64().unwrap().to_string();
        let headers =
            Headers { id: Some(field(base, "id")), timestamp: Some(&stamp), signature: Some(field(case, "signature")) };
        let result = verify(&secret, headers, field(base, "body").as_bytes(), None);
        assert_eq!(result.is_ok(), case["valid"].as_bool().unwrap(), "{}: {result:?}", field(case, "case"));
    }
}

#[test]
fn headers_time_and_body_are_all_checked() {
    let vectors = vectors();
    let base = &vectors["valid"][0];
    let secret = SigningSecret::new(field(base, "secret")).unwrap();
    let timestamp = base["timestamp"].as_i64().unwrap();
    let stamp = timestamp.to_string();
    let body = field(base, "body").as_bytes();
    let good =
        Headers { id: Some(field(base, "id")), timestamp: Some(&stamp), signature: Some(field(base, "signature")) };
    assert_eq!(
        verify(&secret, Headers { id: None, ..good }, body, None),
        Err(VerifyError::MissingHeader("webhook-id"))
    );
    assert_eq!(
        verify(&secret, Headers { timestamp: None, ..good }, body, None),
        Err(VerifyError::MissingHeader("webhook-timestamp"))
    );
    assert_eq!(
        verify(&secret, Headers { signature: None, ..good }, body, None),
        Err(VerifyError::MissingHeader("webhook-signature"))
    );
    assert_eq!(
        verify(&secret, Headers { timestamp: Some("soon"), ..good }, body, None),
        Err(VerifyError::BadTimestamp)
    );
    // ±5 minutes around the receiver's clock.
    assert_eq!(verify(&secret, good, body, Some(timestamp + 300)), Ok(()));
    assert_eq!(verify(&secret, good, body, Some(timestamp - 300)), Ok(()));
    assert_eq!(verify(&secret, good, body, Some(timestamp + 301)), Err(VerifyError::OutsideTolerance));
    assert_eq!(verify(&secret, good, body, Some(timestamp - 301)), Err(VerifyError::OutsideTolerance));
    // The id, the timestamp and every byte of the body are signed.
    assert_eq!(verify(&secret, good, b"{\"test\": 2432232315}", None), Err(VerifyError::NoMatch));
    assert_eq!(verify(&secret, Headers { id: Some("msg_other"), ..good }, body, None), Err(VerifyError::NoMatch));
    let other = SigningSecret::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
    assert_eq!(verify(&other, good, body, None), Err(VerifyError::NoMatch));
}

#[test]
fn secrets_are_read_as_the_spec_says_and_never_shown() {
    // Plain text signs with its UTF-8 bytes: a different key than the same text after whsec_.
    let plain = SigningSecret::new("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let prefixed = SigningSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    assert_ne!(plain.sign("id", 1, b"x"), prefixed.sign("id", 1, b"x"));
    assert!(SigningSecret::new("whsec_not base64!").is_err());
    assert!(SigningSecret::new("").is_err());
    assert_eq!(format!("{plain:?}"), "SigningSecret(***)");
}
