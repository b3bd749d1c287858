//! Runtime values.

use std::collections::BTreeMap;
use std::str::FromStr as _;
use std::sync::Arc;

use jiff::ZonedDateTime;
use rust_decimal::Decimal;

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Absent (or JSON `null`): renders as the empty string, is falsy.
    Missing,
    Bool(bool),
    Number(Decimal),
    Text(String),
    /// Shared: handing a list or object along (a lookup, a section) never copies it.
    List(Arc<Vec<Value>>),
    Object(Arc<BTreeMap<String, Value>>),
    Date(ZonedDateTime),
}

impl Value {
    /// Converts JSON (numbers become exact decimals where they fit).
    pub fn from_json(json: &serde_json::Value) -> Self {
        match json {
            serde_json::Value::Null => Self::Missing,
            serde_json::Value::Bool(b) => Self::Bool(*b),
            serde_json::Value::Number(n) => Decimal::from_str(&n.to_string())
                .or_else(|_| Decimal::from_scientific(&n.to_string()))
                .map_or_else(|_| Self::Text(n.to_string()), Self::Number),
            serde_json::Value::String(s) => Self::Text(s.clone()),
            serde_json::Value::Array(items) => Self::list(items.iter().map(Self::from_json).collect()),
            serde_json::Value::Object(map) => {
                Self::Object(Arc::new(map.iter().map(|(k, v)| (k.clone(), Self::from_json(v))).collect()))
            }
        }
    }

    /// A list value.
    pub fn list(items: Vec<Value>) -> Self {
        Self::List(Arc::new(items))
    }

    /// The value as JSON (dates as their default rendering).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Missing => serde_json::Value::Null,
            Self::Bool(b) => serde_json::Value::Bool(*b),
            Self::Number(n) => serde_json::from_str(&format_number(*n)).unwrap_or(serde_json::Value::Null),
            Self::Text(s) => serde_json::Value::String(s.clone()),
            Self::List(items) => serde_json::Value::Array(items.iter().map(Self::to_json).collect()),
            Self::Object(map) => serde_json::Value::Object(map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Self::Date(d) => serde_json::Value::String(crate::dates::default_format(d)),
        }
    }

    /// Truthy: `true`, non-empty text, a non-empty list, any number, object or date.
    pub fn truthy(&self) -> bool {
        match self {
            Self::Missing => false,
            Self::Bool(b) => *b,
            Self::Text(s) => !s.is_empty() && s != "false",
            Self::List(items) => !items.is_empty(),
            Self::Number(_) | Self::Object(_) | Self::Date(_) => true,
        }
    }

    /// How the value prints in a template.
    pub fn render(&self) -> String {
        match self {
            Self::Missing => String::new(),
            Self::Bool(b) => b.to_string(),
            Self::Number(n) => format_number(*n),
            Self::Text(s) => s.clone(),
            Self::List(items) => items.iter().map(Self::render).collect::<Vec<_>>().join(", "),
            Self::Object(_) => self.to_json().to_string(),
            Self::Date(d) => crate::dates::default_format(d),
        }
    }

    /// The value as a number, when it is one or is text that reads as one.
    pub fn as_number(&self) -> Option<Decimal> {
        match self {
            Self::Number(n) => Some(*n),
            Self::Text(s) => parse_number(s),
            Self::Bool(b) => Some(Decimal::from(u8::from(*b))),
            _ => None,
        }
    }
}

/// Reads a decimal number (`-1.5`, `3`, `1e3`).
pub fn parse_number(text: &str) -> Option<Decimal> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    Decimal::from_str(t).ok().or_else(|| Decimal::from_scientific(t).ok())
}

/// Integral numbers print without a fraction; others without trailing zeros.
pub fn format_number(n: Decimal) -> String {
    n.normalize().to_string()
}
