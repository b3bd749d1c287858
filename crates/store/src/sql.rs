//! Building statements whose shape depends on input (filters, multi-row inserts) with numbered
//! `$N` parameters, which both engines accept.

use jiff::Timestamp;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use crate::Engine;
use sqlx::{Any, AssertSqlSafe};

/// A parameter value.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
    NullInt,
    NullText,
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<String> for Param {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<Timestamp> for Param {
    fn from(v: Timestamp) -> Self {
        Self::Int(v.as_millisecond())
    }
}
impl From<Option<Timestamp>> for Param {
    fn from(v: Option<Timestamp>) -> Self {
        v.map_or(Self::NullInt, Self::from)
    }
}
impl From<Option<String>> for Param {
    fn from(v: Option<String>) -> Self {
        v.map_or(Self::NullText, Self::Text)
    }
}

/// SQL text plus its parameters, in the order they are pushed.
///
/// PostgreSQL gets numbered `$N` placeholders. SQLite gets plain `?`: it accepts `$N` too, but
/// sqlx then looks up every parameter's name, and SQLite answers each lookup with a scan of
/// the statement's names, which makes binding a 10,000-parameter insert quadratic.
#[derive(Debug)]
pub(crate) struct SqlBuilder {
    sql: String,
    params: Vec<Param>,
    engine: Engine,
}

impl SqlBuilder {
    pub(crate) fn new(engine: Engine, sql: &str) -> Self {
        Self { sql: sql.to_owned(), params: Vec::new(), engine }
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder for `value`.
    pub(crate) fn bind(&mut self, value: impl Into<Param>) -> &mut Self {
        self.params.push(value.into());
        match self.engine {
            Engine::Sqlite => self.sql.push('?'),
            Engine::Postgres => {
                self.sql.push('$');
                self.sql.push_str(&self.params.len().to_string());
            }
        }
        self
    }

    /// Appends `(p1, p2, …)` for an `IN` list. The list must not be empty.
    pub(crate) fn bind_list<T: Into<Param> + Clone>(&mut self, values: &[T]) -> &mut Self {
        self.sql.push('(');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.bind(value.clone());
        }
        self.sql.push(')');
        self
    }

    pub(crate) fn param_count(&self) -> usize {
        self.params.len()
    }

    /// The statement, ready to execute. The text is ours: fragments from this crate, with every
    /// value bound as a parameter, so it is safe to send.
    pub(crate) fn query(&self) -> Query<'static, Any, AnyArguments> {
        bind_all(sqlx::query(AssertSqlSafe(self.sql.clone())), &self.params)
    }
}

fn bind_all<'q>(mut query: Query<'q, Any, AnyArguments>, params: &[Param]) -> Query<'q, Any, AnyArguments> {
    for param in params {
        query = match param {
            Param::Int(v) => query.bind(*v),
            Param::Text(v) => query.bind(v.clone()),
            Param::NullInt => query.bind(None::<i64>),
            Param::NullText => query.bind(None::<String>),
        };
    }
    query
}

/// Milliseconds → instant (clamped into jiff's range; the store only writes valid values).
pub(crate) fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

/// Escapes `\`, `%` and `_` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
