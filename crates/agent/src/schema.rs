//! JSON Schemas (draft 2020-12) of the tools' arguments and answers, made from the same
//! `utoipa` descriptions the OpenAPI document uses: one description per type, so the schema a
//! model or MCP client reads cannot drift from the REST API's.

use serde_json::{Map, Value};
use utoipa::ToSchema;

/// The JSON Schema of `T`: its own schema at the root, the types it refers to under `$defs`.
pub fn json_schema<T: ToSchema>() -> Value {
    let mut referenced = Vec::new();
    T::schemas(&mut referenced);
    let mut root = serde_json::to_value(T::schema()).unwrap_or_default();
    let mut defs = Map::new();
    for (name, schema) in referenced {
        defs.insert(name, serde_json::to_value(schema).unwrap_or_default());
    }
    if let Value::Object(object) = &mut root {
        let mut ordered = Map::new();
        ordered.insert("$schema".to_owned(), Value::from("https://json-schema.org/draft/2020-12/schema"));
        ordered.append(object);
        if !defs.is_empty() {
            ordered.insert("$defs".to_owned(), Value::Object(defs));
        }
        *object = ordered;
    }
    rewrite_refs(&mut root);
    root
}

/// OpenAPI points at `#/components/schemas/X`; a standalone JSON Schema at `#/$defs/X`.
fn rewrite_refs(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for (key, child) in object.iter_mut() {
                if key == "$ref"
                    && let Value::String(target) = child
                    && let Some(name) = target.strip_prefix("#/components/schemas/")
                {
                    *target = format!("#/$defs/{name}");
                } else {
                    rewrite_refs(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}
