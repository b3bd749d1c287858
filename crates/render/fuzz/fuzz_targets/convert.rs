//! Any text converts to every format without a panic; storage output is well-formed XML and
//! ADF output has no empty text node; mrkdwn reads back as HTML without a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn no_empty_text(node: &Value) -> bool {
    if node["type"] == "text" && node["text"].as_str().is_none_or(str::is_empty) {
        return false;
    }
    node["content"].as_array().is_none_or(|children| children.iter().all(no_empty_text))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let storage = render::to_storage(text);
    let document = format!("<r xmlns:ac=\"urn:ac\" xmlns:ri=\"urn:ri\">{storage}</r>");
    assert!(roxmltree::Document::parse(&document).is_ok(), "not well-formed: {storage}");
    assert!(no_empty_text(&render::to_adf(text)));
    let _ = render::to_html(text);
    let _ = render::mrkdwn_to_html(&render::to_mrkdwn(text));
    let _ = render::mrkdwn_to_html(text);
});
