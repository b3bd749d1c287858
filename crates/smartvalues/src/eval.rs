//! Rendering: walks the nodes, evaluates expressions, applies methods.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rust_decimal::Decimal;

use crate::parse::{Expr, Node, Template};
use crate::value::{Value, format_number, parse_number};
use crate::{RenderError, dates, math, text};

/// Bounds on the work one render may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes of output.
    pub max_output_bytes: usize,
    /// Most evaluation steps (each node, expression and method counts one).
    pub max_steps: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_output_bytes: 1 << 20, max_steps: 1_000_000 }
    }
}

/// What a render produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    /// Tags whose value was missing (they rendered empty), in order, without repeats.
    pub missing: Vec<String>,
}

impl Template {
    /// Renders against `context` (a JSON object) at instant `now`.
    pub fn render(&self, context: &serde_json::Value, now: Timestamp, limits: &Limits) -> Result<Rendered> {
        self.render_value(&Value::from_json(context), now, limits)
    }

    /// Renders against a context already converted with [`Value::from_json`] (to render many
    /// templates, or one many times, over the same data).
    pub fn render_value(&self, context: &Value, now: Timestamp, limits: &Limits) -> Result<Rendered> {
        let mut renderer =
            Renderer { root: context.clone(), now, scopes: Vec::new(), limits: *limits, steps: 0, missing: Vec::new() };
        let mut out = String::new();
        renderer.nodes(&self.nodes, &mut out)?;
        Ok(Rendered { text: out, missing: renderer.missing })
    }
}

/// One entry of the section stack: the item and its place in its list.
struct Scope {
    item: Value,
    index: usize,
    len: usize,
}

struct Renderer {
    root: Value,
    now: Timestamp,
    scopes: Vec<Scope>,
    limits: Limits,
    steps: u64,
    missing: Vec<String>,
}

type Result<T> = std::result::Result<T, RenderError>;

fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(RenderError(message.into()))
}

impl Renderer {
    fn step(&mut self) -> Result<()> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return fail(format!("the template took more than {} steps; simplify it", self.limits.max_steps));
        }
        Ok(())
    }

    fn push(&self, out: &mut String, text: &str) -> Result<()> {
        if out.len() + text.len() > self.limits.max_output_bytes {
            return fail(format!("the output would exceed {} bytes", self.limits.max_output_bytes));
        }
        out.push_str(text);
        Ok(())
    }

    fn nodes(&mut self, nodes: &[Node], out: &mut String) -> Result<()> {
        for node in nodes {
            self.step()?;
            match node {
                Node::Text(t) => self.push(out, t)?,
                Node::Output { expr, source } => {
                    let value = self.eval(expr)?;
                    if value == Value::Missing && !self.missing.contains(source) {
                        self.missing.push(source.clone());
                    }
                    let text = value.render();
                    self.push(out, &text)?;
                }
                Node::If { cond, inline, body } => {
                    if self.eval(cond)?.truthy() {
                        match inline {
                            Some(text) => {
                                let text = self.eval(text)?.render();
                                self.push(out, &text)?;
                            }
                            None => self.nodes(body, out)?,
                        }
                    }
                }
                Node::Math { body } => {
                    let mut inner = String::new();
                    self.nodes(body, &mut inner)?;
                    let value = math::evaluate(&inner).map_err(RenderError)?;
                    self.push(out, &format_number(value))?;
                }
                Node::Section { expr, inverted, body } => {
                    let value = self.eval(expr)?;
                    if *inverted {
                        if !value.truthy() {
                            self.nodes(body, out)?;
                        }
                        continue;
                    }
                    match value {
                        Value::List(items) => {
                            let len = items.len();
                            for (index, item) in items.iter().cloned().enumerate() {
                                self.scopes.push(Scope { item, index, len });
                                let result = self.nodes(body, out);
                                self.scopes.pop();
                                result?;
                            }
                        }
                        other if other.truthy() => {
                            self.scopes.push(Scope { item: other, index: 0, len: 1 });
                            let result = self.nodes(body, out);
                            self.scopes.pop();
                            result?;
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    fn eval(&mut self, expr: &Expr) -> Result<Value> {
        self.step()?;
        match expr {
            Expr::Text(t) => Ok(Value::Text(t.clone())),
            Expr::Number(n) => Ok(parse_number(n).map_or(Value::Missing, Value::Number)),
            Expr::Current => Ok(self.scopes.last().map_or(Value::Missing, |s| s.item.clone())),
            Expr::Root { name, args } => self.root(name, args.as_deref()),
            Expr::Member { target, name, args } => {
                let target = self.eval(target)?;
                let args = match args {
                    Some(args) => Some(args.iter().map(|a| self.eval(a)).collect::<Result<Vec<_>>>()?),
                    None => None,
                };
                self.member(target, name, args)
            }
        }
    }

    /// A name at the start of a chain: a section variable, a context field, or a function.
    fn root(&mut self, name: &str, args: Option<&[Expr]>) -> Result<Value> {
        if args.is_none() {
            if let Some(scope) = self.scopes.last() {
                match name {
                    "index" => return Ok(Value::Number(Decimal::from(scope.index))),
                    "first" if !matches!(&scope.item, Value::Object(m) if m.contains_key("first")) => {
                        return Ok(Value::Bool(scope.index == 0));
                    }
                    "last" if !matches!(&scope.item, Value::Object(m) if m.contains_key("last")) => {
                        return Ok(Value::Bool(scope.index + 1 == scope.len));
                    }
                    _ => {}
                }
            }
            for scope in self.scopes.iter().rev() {
                if let Value::Object(map) = &scope.item
                    && let Some(v) = map.get(name)
                {
                    return Ok(v.clone());
                }
            }
            if let Value::Object(map) = &self.root
                && let Some(v) = map.get(name)
            {
                return Ok(v.clone());
            }
            if name == "now" {
                return Ok(Value::Date(dates::utc(self.now)));
            }
            return Ok(Value::Missing);
        }
        let args = args.unwrap_or_default();
        match name {
            "now" => Ok(Value::Date(dates::utc(self.now))),
            "if" => {
                arity(name, args.len(), 2, 3)?;
                if self.eval(&args[0])?.truthy() {
                    self.eval(&args[1])
                } else if let Some(otherwise) = args.get(2) {
                    self.eval(otherwise)
                } else {
                    Ok(Value::Missing)
                }
            }
            "equals" => {
                arity(name, args.len(), 2, 2)?;
                let (a, b) = (self.eval(&args[0])?, self.eval(&args[1])?);
                Ok(Value::Bool(a.render() == b.render()))
            }
            "exists" => {
                arity(name, args.len(), 1, 1)?;
                let v = self.eval(&args[0])?;
                Ok(if matches!(v, Value::Missing) { Value::Missing } else { Value::Bool(true) })
            }
            "not" => {
                arity(name, args.len(), 1, 1)?;
                Ok(Value::Bool(!self.eval(&args[0])?.truthy()))
            }
            "and" | "or" => {
                arity(name, args.len(), 2, usize::MAX)?;
                let mut values = Vec::new();
                for a in args {
                    values.push(self.eval(a)?.truthy());
                }
                Ok(Value::Bool(if name == "and" { values.iter().all(|v| *v) } else { values.iter().any(|v| *v) }))
            }
            _ if is_method(name) => {
                fail(format!("`{name}` is a method: write it after a value, as in `{{{{summary.{name}}}}}`"))
            }
            _ => unknown(name, ROOT_FUNCTIONS, "this value"),
        }
    }

    /// `target.name` (a field, a projection over a list, or a method) or `target.name(args)`.
    fn member(&mut self, target: Value, name: &str, args: Option<Vec<Value>>) -> Result<Value> {
        self.step()?;
        if args.is_none() {
            match &target {
                Value::Object(map) => {
                    if let Some(v) = map.get(name) {
                        return Ok(v.clone());
                    }
                }
                Value::List(items) if !is_list_method(name) => {
                    // A property on a list projects it: `users.email`.
                    let projected: Vec<Value> = items
                        .iter()
                        .map(|item| match item {
                            Value::Object(map) => map.get(name).cloned().unwrap_or(Value::Missing),
                            _ => Value::Missing,
                        })
                        .filter(|v| *v != Value::Missing)
                        .collect();
                    if !projected.is_empty() || !is_method(name) {
                        return Ok(Value::list(projected));
                    }
                }
                Value::Missing => return Ok(Value::Missing),
                _ => {}
            }
            if !is_method(name) {
                return Ok(Value::Missing);
            }
        }
        let args = args.unwrap_or_default();
        // A method's work and the value it makes grow with the size of what it is given: both
        // count against the limits, so that no intermediate value outgrows the output.
        let max = self.limits.max_output_bytes;
        let given = size_of(&target) + args.iter().map(size_of).sum::<usize>();
        self.charge(given)?;
        let made = method(target, name, &args, max)?;
        let size = size_of(&made);
        if size > max {
            return Err(too_big(name, max));
        }
        self.charge(size)?;
        Ok(made)
    }

    /// Counts the work of going over `bytes` bytes: a step for every [`BYTES_PER_STEP`].
    fn charge(&mut self, bytes: usize) -> Result<()> {
        self.steps += (bytes / BYTES_PER_STEP) as u64;
        if self.steps > self.limits.max_steps {
            return fail(format!("the template took more than {} steps; simplify it", self.limits.max_steps));
        }
        Ok(())
    }
}

const ROOT_FUNCTIONS: &[&str] = &["now", "if", "equals", "exists", "not", "and", "or"];

const LIST_METHODS: &[&str] = &[
    "join",
    "first",
    "last",
    "get",
    "getFromEnd",
    "size",
    "isEmpty",
    "isNotEmpty",
    "distinct",
    "max",
    "min",
    "sum",
    "average",
    "asJsonStringArray",
    "asJsonArray",
    "asJsonString",
    "jsonStringify",
    "length",
];

fn is_list_method(name: &str) -> bool {
    LIST_METHODS.contains(&name)
}

fn is_method(name: &str) -> bool {
    is_list_method(name)
        || text::METHODS.contains(&name)
        || dates::METHODS.contains(&name)
        || NUMBER_METHODS.contains(&name)
        || dates::is_named_format(name)
        || name.starts_with("plus")
        || name.starts_with("minus")
        || name.starts_with("with")
}

const NUMBER_METHODS: &[&str] =
    &["plus", "minus", "multiply", "divide", "abs", "round", "floor", "ceil", "gt", "gte", "lt", "lte", "eq"];

/// Every function and method name the language knows, sorted: for editors' completion, and for
/// tests that try each one.
pub fn function_names() -> Vec<String> {
    let mut names: Vec<String> = ROOT_FUNCTIONS
        .iter()
        .chain(LIST_METHODS)
        .chain(text::METHODS)
        .chain(dates::METHODS)
        .chain(NUMBER_METHODS)
        .copied()
        .chain(dates::named_formats())
        .map(str::to_owned)
        .collect();
    for unit in dates::SHIFT_UNITS {
        names.push(format!("plus{unit}"));
        names.push(format!("minus{unit}"));
    }
    names.extend(dates::WITH_FIELDS.iter().map(|field| format!("with{field}")));
    names.sort();
    names.dedup();
    names
}

fn arity(name: &str, given: usize, min: usize, max: usize) -> Result<()> {
    if given < min || given > max {
        let expected = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return fail(format!("`{name}` takes {expected} argument(s), not {given}"));
    }
    Ok(())
}

/// The error for `name` where no such function applies: a known function used on the wrong kind
/// of value says so (`target` names that kind), an unknown one suggests the closest names.
fn unknown<T>(name: &str, known: &[&str], target: &str) -> Result<T> {
    if is_method(name) {
        let hint = if dates::METHODS.contains(&name) || dates::is_named_format(name) {
            "; a text becomes a date with `toDate`"
        } else {
            ""
        };
        return fail(format!("`{name}` does not apply to {target}{hint}"));
    }
    let mut all: Vec<&str> = known.to_vec();
    all.extend_from_slice(LIST_METHODS);
    all.extend_from_slice(text::METHODS);
    all.extend_from_slice(dates::METHODS);
    all.extend_from_slice(NUMBER_METHODS);
    let lower = name.to_lowercase();
    let mut scored: Vec<(usize, &str)> = all
        .iter()
        .filter(|k| **k != name)
        .map(|k| (strsim::levenshtein(&lower, &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= 2.max(name.len() / 3))
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    let hint = if scored.is_empty() {
        String::new()
    } else {
        format!(
            "; did you mean {}?",
            scored.iter().take(3).map(|(_, k)| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        )
    };
    fail(format!("unknown function `{name}`{hint}"))
}

/// The error for a method whose value passed the output limit.
fn too_big(name: &str, max: usize) -> RenderError {
    RenderError(format!("`{name}` made a value of more than {max} bytes, the output limit"))
}

/// How many bytes a method may go over for one step of work.
const BYTES_PER_STEP: usize = 64;

/// About how many bytes a value takes as text (its texts, and a few per other value).
fn size_of(value: &Value) -> usize {
    match value {
        Value::Text(text) => text.len(),
        Value::List(items) => items.iter().map(|item| size_of(item) + 1).sum(),
        Value::Object(map) => map.iter().map(|(key, item)| key.len() + size_of(item) + 2).sum(),
        _ => 8,
    }
}

/// Applies a method to a value; texts it makes stay within `max` bytes.
fn method(target: Value, name: &str, args: &[Value], max: usize) -> Result<Value> {
    match target {
        Value::List(items) => list_method(&items, name, args, max),
        Value::Date(date) => {
            dates::method(&date, name, args).unwrap_or_else(|| unknown(name, ROOT_FUNCTIONS, "a date"))
        }
        Value::Number(n) => match number_method(n, name, args) {
            Some(result) => result,
            None => text_or_unknown(&format_number(n), name, args, max),
        },
        Value::Missing => match name {
            "isEmpty" => Ok(Value::Bool(true)),
            "isNotEmpty" => Ok(Value::Bool(false)),
            "size" | "length" => Ok(Value::Number(Decimal::ZERO)),
            _ if is_method(name) => Ok(Value::Missing),
            _ => unknown(name, ROOT_FUNCTIONS, "a missing value"),
        },
        Value::Object(map) => match name {
            "asJsonString" | "jsonStringify" => Ok(Value::Text(Value::Object(map).to_json().to_string())),
            "isEmpty" => Ok(Value::Bool(map.is_empty())),
            "isNotEmpty" => Ok(Value::Bool(!map.is_empty())),
            "size" => Ok(Value::Number(Decimal::from(map.len()))),
            _ => text_or_unknown(&Value::Object(map).render(), name, args, max),
        },
        other => text_or_unknown(&other.render(), name, args, max),
    }
}

fn text_or_unknown(text: &str, name: &str, args: &[Value], max: usize) -> Result<Value> {
    if name == "toDate" {
        return Ok(dates::to_date(text, args.first().map(Value::render).as_deref()).map_or(Value::Missing, Value::Date));
    }
    text::method(text, name, args, max).unwrap_or_else(|| unknown(name, ROOT_FUNCTIONS, "a text"))
}

fn number_arg(name: &str, args: &[Value], i: usize) -> Result<Decimal> {
    args.get(i)
        .and_then(Value::as_number)
        .map_or_else(|| fail(format!("`{name}` needs a number as argument {}", i + 1)), Ok)
}

fn number_method(n: Decimal, name: &str, args: &[Value]) -> Option<Result<Value>> {
    let num = |r: Result<Decimal>| r.map(Value::Number);
    let result = match name {
        "plus" => num(number_arg(name, args, 0).and_then(|x| too_large(name, n.checked_add(x)))),
        "minus" => num(number_arg(name, args, 0).and_then(|x| too_large(name, n.checked_sub(x)))),
        "multiply" => num(number_arg(name, args, 0).and_then(|x| too_large(name, n.checked_mul(x)))),
        "divide" => num(number_arg(name, args, 0).and_then(|x| {
            if x.is_zero() { fail("`divide`: division by zero") } else { too_large(name, n.checked_div(x)) }
        })),
        "abs" => Ok(Value::Number(n.abs())),
        "round" => Ok(Value::Number(n.round())),
        "floor" => Ok(Value::Number(n.floor())),
        "ceil" => Ok(Value::Number(n.ceil())),
        "gt" => number_arg(name, args, 0).map(|x| Value::Bool(n > x)),
        "gte" => number_arg(name, args, 0).map(|x| Value::Bool(n >= x)),
        "lt" => number_arg(name, args, 0).map(|x| Value::Bool(n < x)),
        "lte" => number_arg(name, args, 0).map(|x| Value::Bool(n <= x)),
        "eq" => number_arg(name, args, 0).map(|x| Value::Bool(n == x)),
        "asNumber" => Ok(Value::Number(n)),
        _ => return None,
    };
    Some(result)
}

/// A checked result, or the error that says the number got too large to compute with.
fn too_large(name: &str, result: Option<Decimal>) -> Result<Decimal> {
    result.map_or_else(|| fail(format!("`{name}`: the result is too large (numbers have at most 28 digits)")), Ok)
}

/// The sum of `numbers`, or the error that says it got too large.
fn checked_sum(name: &str, numbers: &[Decimal]) -> Result<Decimal> {
    numbers.iter().try_fold(Decimal::ZERO, |sum, n| too_large(name, sum.checked_add(*n)))
}

fn list_method(items: &[Value], name: &str, args: &[Value], max: usize) -> Result<Value> {
    let index = |i: usize| -> Result<i64> {
        args.get(i)
            .and_then(Value::as_number)
            .and_then(|d| i64::try_from(d.trunc()).ok())
            .map_or_else(|| fail(format!("`{name}` needs a whole number")), Ok)
    };
    let numbers = || items.iter().filter_map(Value::as_number).collect::<Vec<_>>();
    Ok(match name {
        "join" => Value::Text(
            items
                .iter()
                .map(Value::render)
                .collect::<Vec<_>>()
                .join(&args.first().map(Value::render).unwrap_or_default()),
        ),
        "first" => items.first().cloned().unwrap_or(Value::Missing),
        "last" => items.last().cloned().unwrap_or(Value::Missing),
        "get" => {
            let i = index(0)?;
            usize::try_from(i).ok().and_then(|i| items.get(i).cloned()).unwrap_or(Value::Missing)
        }
        "getFromEnd" => {
            let i = index(0)?;
            usize::try_from(i)
                .ok()
                .and_then(|i| items.len().checked_sub(i + 1))
                .and_then(|i| items.get(i).cloned())
                .unwrap_or(Value::Missing)
        }
        "size" | "length" => Value::Number(Decimal::from(items.len())),
        "isEmpty" => Value::Bool(items.is_empty()),
        "isNotEmpty" => Value::Bool(!items.is_empty()),
        "distinct" => {
            // The first of each, in order: a set of keys, not a scan of those kept per item.
            let mut seen = std::collections::HashSet::new();
            Value::list(items.iter().filter(|item| seen.insert(distinct_key(item))).cloned().collect())
        }
        "max" => numbers().into_iter().max().map_or(Value::Missing, Value::Number),
        "min" => numbers().into_iter().min().map_or(Value::Missing, Value::Number),
        "sum" => Value::Number(checked_sum(name, &numbers())?),
        "average" => {
            let ns = numbers();
            if ns.is_empty() {
                Value::Missing
            } else {
                Value::Number(too_large(name, checked_sum(name, &ns)?.checked_div(Decimal::from(ns.len())))?)
            }
        }
        "asJsonStringArray" => Value::Text(
            serde_json::Value::Array(items.iter().map(|v| serde_json::Value::String(v.render())).collect()).to_string(),
        ),
        "asJsonArray" => Value::Text(format!("[{}]", items.iter().map(Value::render).collect::<Vec<_>>().join(","))),
        "asJsonString" | "jsonStringify" => Value::Text(Value::list(items.to_vec()).to_json().to_string()),
        _ => {
            // Text, number and date methods apply to each item and make a list, which list
            // methods then take (`fixVersions.name.right(3).asJsonArray`).
            let mut made = Vec::with_capacity(items.len());
            let mut size = 0;
            for item in items {
                let value = method(item.clone(), name, args, max)?;
                size += size_of(&value) + 1;
                if size > max {
                    return Err(too_big(name, max));
                }
                made.push(value);
            }
            Value::list(made)
        }
    })
}

/// What makes two list items the same for `distinct`: equal numbers (`1` and `1.0`), equal
/// texts, or values with the same JSON.
fn distinct_key(item: &Value) -> String {
    match item {
        Value::Number(n) => format!("n{}", n.normalize()),
        Value::Text(t) => format!("t{t}"),
        other => format!("j{}", other.to_json()),
    }
}

/// Builds an object value (for results such as `diff(d)`).
pub(crate) fn object(fields: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Object(std::sync::Arc::new(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<BTreeMap<_, _>>()))
}
