//! Text methods, with Java `String` / Apache `StringUtils` semantics (0-based character indexes).

use rust_decimal::Decimal;

use crate::RenderError;
use crate::value::{Value, parse_number};

/// Every text method's name.
pub(crate) const METHODS: &[&str] = &[
    "abbreviate",
    "asNumber",
    "charAt",
    "capitalize",
    "concat",
    "endsWith",
    "equals",
    "equalsIgnoreCase",
    "htmlEncode",
    "indexOf",
    "isAlpha",
    "isAlphanumeric",
    "isEmpty",
    "isNotEmpty",
    "isNumeric",
    "jsonEncode",
    "left",
    "leftPad",
    "length",
    "match",
    "quote",
    "remove",
    "replace",
    "replaceAll",
    "reverse",
    "right",
    "rightPad",
    "split",
    "startsWith",
    "substring",
    "substringAfter",
    "substringAfterLast",
    "substringBefore",
    "substringBeforeLast",
    "substringBetween",
    "toLowerCase",
    "toUpperCase",
    "trim",
    "urlEncode",
    "xmlEncode",
    "asJsonString",
    "jsonStringify",
    "toDate",
    "size",
];

/// The longest regular expression accepted (a guard on work).
const MAX_REGEX_CHARS: usize = 1_000;

type Result = std::result::Result<Value, RenderError>;

fn text(s: impl Into<String>) -> Result {
    Ok(Value::Text(s.into()))
}

fn arg(name: &str, args: &[Value], i: usize) -> std::result::Result<String, RenderError> {
    args.get(i).map(Value::render).ok_or_else(|| RenderError(format!("`{name}` needs argument {}", i + 1)))
}

fn int_arg(name: &str, args: &[Value], i: usize) -> std::result::Result<i64, RenderError> {
    args.get(i)
        .and_then(Value::as_number)
        .and_then(|d| i64::try_from(d.trunc()).ok())
        .ok_or_else(|| RenderError(format!("`{name}` needs a whole number as argument {}", i + 1)))
}

fn clamp(i: i64, len: usize) -> usize {
    usize::try_from(i.max(0)).unwrap_or(usize::MAX).min(len)
}

/// The error of a method whose text would pass `max_bytes`.
fn too_long(name: &str, max_bytes: usize) -> RenderError {
    RenderError(format!("`{name}` would make a text of more than {max_bytes} bytes, the output limit"))
}

/// `s` with each `from` as `to`, failing as soon as it would pass `max_bytes`.
fn replace_within(s: &str, from: &str, to: &str, max_bytes: usize) -> Result {
    let mut out = String::new();
    let mut last = 0;
    for (at, found) in s.match_indices(from) {
        out.push_str(&s[last..at]);
        out.push_str(to);
        last = at + found.len();
        if out.len() > max_bytes {
            return Err(too_long("replace", max_bytes));
        }
    }
    out.push_str(&s[last..]);
    text(out)
}

/// `s` with each match of `pattern` as `with`, read by Java's replacement rules (see
/// [`Replacement`]), failing as soon as it would pass `max_bytes`.
fn replace_all_within(s: &str, pattern: &str, with: &str, max_bytes: usize) -> Result {
    let re = regex(pattern)?;
    let mut replacement = None;
    let mut out = String::new();
    let mut last = 0;
    for caps in re.captures_iter(s) {
        let Some(found) = caps.get(0) else { continue };
        out.push_str(&s[last..found.start()]);
        // Read once, at the first match: like Java, a replacement is only checked when used.
        let pieces = match &replacement {
            Some(pieces) => pieces,
            None => replacement.insert(Replacement::parse(with, &re)?),
        };
        pieces.append(&caps, &mut out);
        last = found.end();
        if out.len() > max_bytes {
            return Err(too_long("replaceAll", max_bytes));
        }
    }
    out.push_str(&s[last..]);
    text(out)
}

/// A `replaceAll` replacement read as Java's `Matcher.appendReplacement` reads it: `\x` is the
/// character x; `$` and digits name a group, taking each further digit only while the number
/// still names one (`$1a` is group 1 then `a`; `$12` is group 1 then `2` when there are fewer
/// than 12 groups); `${name}` names a group by name. Anything else after `$` is an error.
#[derive(Debug)]
struct Replacement(Vec<Piece>);

#[derive(Debug)]
enum Piece {
    Text(String),
    Group(usize),
}

impl Replacement {
    fn parse(with: &str, re: &regex::Regex) -> std::result::Result<Self, RenderError> {
        let groups = re.captures_len() - 1;
        let bad = |why: String| RenderError(format!("`replaceAll` replacement `{with}`: {why}"));
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = with.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => literal.push(chars.next().ok_or_else(|| bad("a `\\` at the end escapes nothing".to_owned()))?),
                '$' => {
                    let group = match chars.next() {
                        Some('{') => {
                            let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                            re.capture_names()
                                .position(|n| n == Some(name.as_str()))
                                .ok_or_else(|| bad(format!("there is no group named `{name}`")))?
                        }
                        Some(digit @ '0'..='9') => {
                            let mut number = digit.to_digit(10).unwrap_or_default() as usize;
                            while let Some(next) = chars.peek().and_then(|c| c.to_digit(10)) {
                                let longer = number * 10 + next as usize;
                                if longer > groups {
                                    break;
                                }
                                number = longer;
                                chars.next();
                            }
                            if number > groups {
                                return Err(bad(format!("there is no group {number} (the expression has {groups})")));
                            }
                            number
                        }
                        _ => {
                            return Err(bad(
                                "`$` must be followed by a group number or `{name}`; write `\\$` for a dollar"
                                    .to_owned(),
                            ));
                        }
                    };
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Group(group));
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Self(pieces))
    }

    /// Appends the replacement for one match; a group that took no part adds nothing.
    fn append(&self, caps: &regex::Captures<'_>, out: &mut String) {
        for piece in &self.0 {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Group(i) => out.push_str(caps.get(*i).map_or("", |m| m.as_str())),
            }
        }
    }
}

/// Java's `Pattern.quote`: `s` between `\Q` and `\E`, each `\E` inside it closed and reopened, so
/// that the result matches `s` literally inside a Java (and this language's) regular expression.
fn java_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    out.push_str("\\Q");
    out.push_str(&s.replace("\\E", "\\E\\\\E\\Q"));
    out.push_str("\\E");
    out
}

/// `pattern` with Java's `\Q…\E` quoting turned into escapes, which the `regex` crate reads.
fn unquote_java(pattern: &str) -> std::borrow::Cow<'_, str> {
    if !pattern.contains("\\Q") {
        return pattern.into();
    }
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escaped = &rest[at..];
        if let Some(quoted) = escaped.strip_prefix("\\Q") {
            let (literal, after) = quoted.find("\\E").map_or((quoted, ""), |end| (&quoted[..end], &quoted[end + 2..]));
            out.push_str(&regex::escape(literal));
            rest = after;
        } else {
            // Any other escape, kept whole (so `\\Q` stays a backslash then `Q`).
            let len = escaped.chars().nth(1).map_or(1, |c| 1 + c.len_utf8());
            out.push_str(&escaped[..len]);
            rest = &escaped[len..];
        }
    }
    out.push_str(rest);
    out.into()
}

/// Applies text method `name`; `None` when there is no such method. Text it makes stays within
/// `max_bytes`. Character indexes are counted as they go: nothing copies `s` into characters.
pub(crate) fn method(s: &str, name: &str, args: &[Value], max_bytes: usize) -> Option<Result> {
    let count = || s.chars().count();
    let byte_at = |i: usize| s.char_indices().nth(i).map_or(s.len(), |(byte, _)| byte);
    let slice = |from: usize, to: usize| s[byte_at(from)..byte_at(to.max(from))].to_owned();
    let result = match name {
        "abbreviate" => int_arg(name, args, 0).and_then(|n| {
            let (len, n) = (count(), usize::try_from(n.max(0)).unwrap_or(usize::MAX));
            if n >= len { text(s) } else { text(format!("{}...", slice(0, n))) }
        }),
        "asNumber" => Ok(parse_number(s).map_or(Value::Missing, Value::Number)),
        "charAt" => int_arg(name, args, 0).map(|i| {
            usize::try_from(i)
                .ok()
                .and_then(|i| s.chars().nth(i))
                .map_or(Value::Missing, |c| Value::Text(c.to_string()))
        }),
        "capitalize" => {
            let mut it = s.chars();
            text(it.next().map_or(String::new(), |c| c.to_uppercase().chain(it).collect()))
        }
        "concat" => arg(name, args, 0).and_then(|x| {
            if s.len() + x.len() > max_bytes { Err(too_long(name, max_bytes)) } else { text(format!("{s}{x}")) }
        }),
        "endsWith" => arg(name, args, 0).map(|x| Value::Bool(s.ends_with(&x))),
        "startsWith" => arg(name, args, 0).map(|x| Value::Bool(s.starts_with(&x))),
        "equals" => arg(name, args, 0).map(|x| Value::Bool(s == x)),
        "equalsIgnoreCase" => arg(name, args, 0).map(|x| Value::Bool(s.to_lowercase() == x.to_lowercase())),
        "htmlEncode" | "xmlEncode" => text(escape_markup(s, name == "xmlEncode")),
        "indexOf" => arg(name, args, 0).map(|x| {
            let index = s.find(&x).map_or(-1, |byte| s[..byte].chars().count() as i64);
            Value::Number(Decimal::from(index))
        }),
        "isAlpha" => Ok(Value::Bool(!s.is_empty() && s.chars().all(char::is_alphabetic))),
        "isAlphanumeric" => Ok(Value::Bool(!s.is_empty() && s.chars().all(char::is_alphanumeric))),
        "isNumeric" => Ok(Value::Bool(!s.is_empty() && s.chars().all(|c| c.is_numeric()))),
        "isEmpty" => Ok(Value::Bool(s.is_empty())),
        "isNotEmpty" => Ok(Value::Bool(!s.is_empty())),
        "jsonEncode" => {
            let quoted = serde_json::Value::String(s.to_owned()).to_string();
            text(&quoted[1..quoted.len() - 1])
        }
        "asJsonString" | "jsonStringify" => text(serde_json::Value::String(s.to_owned()).to_string()),
        "left" => int_arg(name, args, 0).and_then(|n| text(slice(0, clamp(n, count())))),
        "right" => int_arg(name, args, 0).and_then(|n| {
            let len = count();
            text(slice(len - clamp(n, len), len))
        }),
        "leftPad" | "rightPad" => int_arg(name, args, 0).and_then(|n| {
            let pad = args.get(1).map_or_else(|| " ".to_owned(), Value::render);
            let (want, len) = (clamp(n, 100_000), count());
            if want <= len || pad.is_empty() {
                return text(s);
            }
            let fill: String = pad.chars().cycle().take(want - len).collect();
            text(if name == "leftPad" { format!("{fill}{s}") } else { format!("{s}{fill}") })
        }),
        "length" | "size" => Ok(Value::Number(Decimal::from(count()))),
        "match" => arg(name, args, 0).and_then(|pattern| {
            let re = regex(&pattern)?;
            let found: Vec<Value> = re
                .captures_iter(s)
                .map(|c| Value::Text(c.get(1).or_else(|| c.get(0)).map_or("", |m| m.as_str()).to_owned()))
                .collect();
            Ok(match found.len() {
                0 => Value::Missing,
                1 => found.into_iter().next().unwrap_or(Value::Missing),
                _ => Value::list(found),
            })
        }),
        "quote" => text(java_quote(s)),
        "remove" => arg(name, args, 0).and_then(|x| text(if x.is_empty() { s.to_owned() } else { s.replace(&x, "") })),
        "replace" => arg(name, args, 0).and_then(|a| {
            let b = arg(name, args, 1)?;
            if a.is_empty() { text(s) } else { replace_within(s, &a, &b, max_bytes) }
        }),
        "replaceAll" => arg(name, args, 0).and_then(|pattern| {
            let with = arg(name, args, 1)?;
            replace_all_within(s, &pattern, &with, max_bytes)
        }),
        "reverse" => text(s.chars().rev().collect::<String>()),
        "split" => arg(name, args, 0).map(|sep| {
            if sep.is_empty() {
                Value::list(s.chars().map(|c| Value::Text(c.to_string())).collect())
            } else {
                Value::list(
                    s.split(sep.as_str()).filter(|p| !p.is_empty()).map(|p| Value::Text(p.to_owned())).collect(),
                )
            }
        }),
        "substring" => int_arg(name, args, 0).and_then(|from| {
            let len = count();
            let from = clamp(from, len);
            let to = match args.get(1) {
                Some(_) => clamp(int_arg(name, args, 1)?, len),
                None => len,
            };
            text(slice(from, to))
        }),
        "substringAfter" => arg(name, args, 0).and_then(|x| text(s.split_once(x.as_str()).map_or("", |(_, a)| a))),
        "substringAfterLast" => arg(name, args, 0).and_then(|x| text(s.rsplit_once(x.as_str()).map_or("", |(_, a)| a))),
        "substringBefore" => arg(name, args, 0).and_then(|x| text(s.split_once(x.as_str()).map_or(s, |(b, _)| b))),
        "substringBeforeLast" => arg(name, args, 0).and_then(|x| text(s.rsplit_once(x.as_str()).map_or(s, |(b, _)| b))),
        "substringBetween" => arg(name, args, 0).map(|open| {
            let close = args.get(1).map_or_else(|| open.clone(), Value::render);
            s.split_once(open.as_str())
                .and_then(|(_, rest)| rest.split_once(close.as_str()))
                .map_or(Value::Missing, |(between, _)| Value::Text(between.to_owned()))
        }),
        "toLowerCase" => text(s.to_lowercase()),
        "toUpperCase" => text(s.to_uppercase()),
        "trim" => text(s.trim()),
        "urlEncode" => text(url_encode(s)),
        _ => return None,
    };
    Some(result)
}

fn regex(pattern: &str) -> std::result::Result<regex::Regex, RenderError> {
    if pattern.chars().count() > MAX_REGEX_CHARS {
        return Err(RenderError(format!("regular expressions have at most {MAX_REGEX_CHARS} characters")));
    }
    regex::RegexBuilder::new(&unquote_java(pattern))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| RenderError(format!("invalid regular expression `{pattern}`: {e}")))
}

/// `&`, `<`, `>`, `"` and `'` as entities.
fn escape_markup(s: &str, xml: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str(if xml { "&apos;" } else { "&#39;" }),
            other => out.push(other),
        }
    }
    out
}

/// Form encoding, as Java's `URLEncoder`: letters, digits and `.-*_` stay; space is `+`.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => out.push(byte as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}
