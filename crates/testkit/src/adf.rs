//! Atlassian's published ADF schema, `json-schema/v1/full.json` of the npm package
//! `@atlaskit/adf-schema` 57.7.22 (Apache-2.0), vendored in `crates/testkit/data/`.

use std::sync::LazyLock;

use serde_json::Value;

static ADF_SCHEMA: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(include_str!("../data/adf-full.json")).unwrap();
    jsonschema::options().with_draft(jsonschema::Draft::Draft4).build(&schema).unwrap()
});

/// What makes `document` invalid ADF (at most five problems); empty when it is valid.
pub fn adf_errors(document: &Value) -> Vec<String> {
    ADF_SCHEMA.iter_errors(document).map(|e| format!("{} at {}", e, e.instance_path())).take(5).collect()
}

/// Whether `storage` (Confluence storage format) is well-formed XML, with Confluence's `ac:`
/// and `ri:` prefixes declared around it.
pub fn storage_error(storage: &str) -> Option<String> {
    let document = format!(
        "<root xmlns:ac=\"http://atlassian.com/content\" xmlns:ri=\"http://atlassian.com/resource/identifier\">{storage}</root>"
    );
    roxmltree::Document::parse(&document).err().map(|e| e.to_string())
}
