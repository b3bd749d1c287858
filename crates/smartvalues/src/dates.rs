//! Dates: parsing (`toDate`), Java `DateTimeFormatter` patterns (US English), the named formats,
//! arithmetic and time zones (the IANA database is bundled).

use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp, Unit, ZonedDateTime};
use rust_decimal::Decimal;

use crate::RenderError;
use crate::eval::object;
use crate::value::Value;

/// Date method names (besides the named formats and `plus…`/`minus…`/`with…`).
pub(crate) const METHODS: &[&str] = &[
    "format",
    "toDate",
    "startOfMonth",
    "endOfMonth",
    "isAfter",
    "isBefore",
    "isEquals",
    "compareTo",
    "diff",
    "convertToTimeZone",
];

/// The units of `plus…` and `minus…` (`plusDays`).
pub(crate) const SHIFT_UNITS: &[&str] =
    &["Millis", "Seconds", "Minutes", "Hours", "Days", "Weeks", "Months", "Years", "BusinessDays"];

/// The fields of `with…` (`withDayOfMonth`).
pub(crate) const WITH_FIELDS: &[&str] = &["DayOfMonth", "Month", "Year", "Hour", "Minute", "Second"];

/// Every named format's name.
pub(crate) fn named_formats() -> impl Iterator<Item = &'static str> {
    NAMED.iter().map(|(name, _)| *name)
}

/// The named formats, as Atlassian's table of them prints its example (Thursday, November 1,
/// 1979 6:23:12 AM): `jiraDateTime` with one fraction digit like the default rendering, a comma
/// after the year in `longDateTime` and `fullDateTime`, and `fullTime` with the short zone name.
const NAMED: &[(&str, &str)] = &[
    ("jiraDate", "yyyy-MM-dd"),
    ("jiraDateTime", "yyyy-MM-dd'T'HH:mm:ss.SZ"),
    ("jqlDate", "yyyy-MM-dd"),
    ("jqlDateTime", "yyyy-MM-dd HH:mm"),
    ("shortDate", "M/d/yy"),
    ("shortTime", "h:mm a"),
    ("shortDateTime", "M/d/yy h:mm a"),
    ("mediumDate", "MMM d, yyyy"),
    ("mediumTime", "h:mm:ss a"),
    ("mediumDateTime", "MMM d, yyyy h:mm:ss a"),
    ("longDate", "MMMM d, yyyy"),
    ("longTime", "h:mm:ss a z"),
    ("longDateTime", "MMMM d, yyyy, h:mm:ss a z"),
    ("fullDate", "EEEE, MMMM d, yyyy"),
    ("fullTime", "h:mm:ss a z"),
    ("fullDateTime", "EEEE, MMMM d, yyyy, h:mm:ss a zzzz"),
];

/// Java's long (`zzzz`) name of a zone abbreviation, for the zones people mostly meet; others
/// print their abbreviation.
fn long_zone_name(abbreviation: &str) -> Option<&'static str> {
    Some(match abbreviation {
        "UTC" => "Coordinated Universal Time",
        "GMT" => "Greenwich Mean Time",
        "BST" => "British Summer Time",
        "CET" => "Central European Standard Time",
        "CEST" => "Central European Summer Time",
        "EET" => "Eastern European Standard Time",
        "EEST" => "Eastern European Summer Time",
        "EST" => "Eastern Standard Time",
        "EDT" => "Eastern Daylight Time",
        "CST" => "Central Standard Time",
        "CDT" => "Central Daylight Time",
        "MST" => "Mountain Standard Time",
        "MDT" => "Mountain Daylight Time",
        "PST" => "Pacific Standard Time",
        "PDT" => "Pacific Daylight Time",
        "AEST" => "Australian Eastern Standard Time",
        "AEDT" => "Australian Eastern Daylight Time",
        "JST" => "Japan Standard Time",
        _ => return None,
    })
}

/// Whether `name` is a named format such as `jiraDate`.
pub(crate) fn is_named_format(name: &str) -> bool {
    NAMED.iter().any(|(n, _)| *n == name)
}

/// An instant in UTC.
pub(crate) fn utc(at: Timestamp) -> ZonedDateTime {
    at.to_zoned_datetime(TimeZone::UTC)
}

/// The default rendering: `yyyy-MM-dd'T'HH:mm:ss.SZ` in UTC (`2020-08-18T02:40:37.0+0000`).
pub(crate) fn default_format(date: &ZonedDateTime) -> String {
    java_format(&utc(date.timestamp()), "yyyy-MM-dd'T'HH:mm:ss.SZ")
}

/// Reads a date: RFC 3339 / ISO 8601 (with an offset), a plain date (midnight UTC), our default
/// rendering, or text in a Java pattern when one is given.
pub(crate) fn to_date(text: &str, pattern: Option<&str>) -> Option<ZonedDateTime> {
    let text = text.trim();
    if let Some(pattern) = pattern {
        let format = java_to_strptime(pattern);
        if let Ok(parsed) = jiff::fmt::strtime::parse(&format, text) {
            if let Ok(ts) = parsed.to_timestamp() {
                return Some(utc(ts));
            }
            if let Ok(dt) = parsed.to_datetime() {
                return dt.to_zoned_datetime(TimeZone::UTC).ok();
            }
            if let Ok(date) = parsed.to_date() {
                return date.to_zoned_datetime(TimeZone::UTC).ok();
            }
        }
        return None;
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(utc(ts));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(ts) = jiff::fmt::strtime::parse(format, text).and_then(|p| p.to_timestamp()) {
            return Some(utc(ts));
        }
    }
    if let Ok(dt) = text.parse::<jiff::civil::DateTime>() {
        return dt.to_zoned_datetime(TimeZone::UTC).ok();
    }
    text.parse::<jiff::civil::Date>().ok().and_then(|d| d.to_zoned_datetime(TimeZone::UTC).ok())
}

fn date_arg(name: &str, args: &[Value]) -> Result<ZonedDateTime, RenderError> {
    match args.first() {
        Some(Value::Date(d)) => Ok(d.clone()),
        Some(other) => to_date(&other.render(), None)
            .ok_or_else(|| RenderError(format!("`{name}` needs a date, not `{}`", other.render()))),
        None => Err(RenderError(format!("`{name}` needs a date"))),
    }
}

fn int_arg(name: &str, args: &[Value]) -> Result<i64, RenderError> {
    args.first()
        .and_then(Value::as_number)
        .and_then(|d| i64::try_from(d.trunc()).ok())
        .ok_or_else(|| RenderError(format!("`{name}` needs a whole number")))
}

fn failed(name: &str, e: jiff::Error) -> RenderError {
    RenderError(format!("`{name}`: {e}"))
}

/// Applies date method `name`; `None` when there is no such method.
pub(crate) fn method(date: &ZonedDateTime, name: &str, args: &[Value]) -> Option<Result<Value, RenderError>> {
    if let Some((_, pattern)) = NAMED.iter().find(|(n, _)| *n == name) {
        return Some(Ok(Value::Text(java_format(date, pattern))));
    }
    if let Some(unit) = name.strip_prefix("plus") {
        return Some(int_arg(name, args).and_then(|n| shift(date, unit, n, name)).map(Value::Date));
    }
    if let Some(unit) = name.strip_prefix("minus") {
        return Some(
            int_arg(name, args)
                .and_then(|n| n.checked_neg().ok_or_else(|| RenderError(format!("`{name}`: {n} is out of range"))))
                .and_then(|n| shift(date, unit, n, name))
                .map(Value::Date),
        );
    }
    if let Some(field) = name.strip_prefix("with") {
        return Some(int_arg(name, args).and_then(|n| with(date, field, n, name)).map(Value::Date));
    }
    let result = match name {
        "toDate" => Ok(Value::Date(date.clone())),
        "format" => match args.first() {
            Some(pattern) => Ok(Value::Text(java_format(date, &pattern.render()))),
            None => Err(RenderError("`format` needs a pattern such as \"yyyy-MM-dd\"".to_owned())),
        },
        "startOfMonth" => date.first_of_month().map(Value::Date).map_err(|e| failed(name, e)),
        "endOfMonth" => date.last_of_month().map(Value::Date).map_err(|e| failed(name, e)),
        "isAfter" => date_arg(name, args).map(|d| Value::Bool(date.timestamp() > d.timestamp())),
        "isBefore" => date_arg(name, args).map(|d| Value::Bool(date.timestamp() < d.timestamp())),
        "isEquals" => date_arg(name, args).map(|d| Value::Bool(date.timestamp() == d.timestamp())),
        "compareTo" => date_arg(name, args).map(|d| {
            Value::Number(Decimal::from(match date.timestamp().cmp(&d.timestamp()) {
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
                std::cmp::Ordering::Greater => 1,
            }))
        }),
        "diff" => date_arg(name, args).and_then(|other| diff(date, &other)),
        "convertToTimeZone" => match args.first().map(Value::render) {
            Some(zone) => TimeZone::get(&zone).map(|tz| Value::Date(date.with_time_zone(tz))).map_err(|_| {
                RenderError(format!("unknown time zone `{zone}` (use an IANA name such as Europe/Berlin)"))
            }),
            None => Err(RenderError("`convertToTimeZone` needs a time zone such as \"Europe/Berlin\"".to_owned())),
        },
        _ => return None,
    };
    Some(result)
}

fn shift(date: &ZonedDateTime, unit: &str, n: i64, name: &str) -> Result<ZonedDateTime, RenderError> {
    let span = match unit {
        "Millis" => Span::new().try_milliseconds(n),
        "Seconds" => Span::new().try_seconds(n),
        "Minutes" => Span::new().try_minutes(n),
        "Hours" => Span::new().try_hours(n),
        "Days" => Span::new().try_days(n),
        "Weeks" => Span::new().try_weeks(n),
        "Months" => Span::new().try_months(n),
        "Years" => Span::new().try_years(n),
        "BusinessDays" => return business_days(date, n, name),
        _ => return Err(RenderError(format!("unknown function `{name}`"))),
    }
    .map_err(|e| failed(name, e))?;
    date.checked_add(span).map_err(|e| failed(name, e))
}

fn business_days(date: &ZonedDateTime, n: i64, name: &str) -> Result<ZonedDateTime, RenderError> {
    if n.unsigned_abs() > 100_000 {
        return Err(RenderError(format!("`{name}`: at most 100000 business days")));
    }
    let step = if n < 0 { -1 } else { 1 };
    let mut current = date.clone();
    let mut left = n.abs();
    while left > 0 {
        current = current.checked_add(Span::new().days(step)).map_err(|e| failed(name, e))?;
        if !matches!(current.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    Ok(current)
}

fn with(date: &ZonedDateTime, field: &str, n: i64, name: &str) -> Result<ZonedDateTime, RenderError> {
    let small = |max: i64| -> Result<i8, RenderError> {
        i8::try_from(n)
            .ok()
            .filter(|v| i64::from(*v) <= max && *v >= 0)
            .ok_or_else(|| RenderError(format!("`{name}`: {n} is out of range")))
    };
    let builder = date.with();
    let built = match field {
        "DayOfMonth" => builder.day(small(31)?),
        "Month" => builder.month(small(12)?),
        "Year" => builder.year(i16::try_from(n).map_err(|_| RenderError(format!("`{name}`: {n} is out of range")))?),
        "Hour" => builder.hour(small(23)?),
        "Minute" => builder.minute(small(59)?),
        "Second" => builder.second(small(59)?),
        _ => return Err(RenderError(format!("unknown function `{name}`"))),
    };
    built.build().map_err(|e| failed(name, e))
}

fn diff(from: &ZonedDateTime, to: &ZonedDateTime) -> Result<Value, RenderError> {
    let duration: SignedDuration = to.timestamp().duration_since(from.timestamp());
    let secs = duration.as_secs();
    let num = |n: i64| Value::Number(Decimal::from(n));
    let months = from.until((Unit::Month, to)).map(|s| s.get_months()).unwrap_or_default();
    let years = from.until((Unit::Year, to)).map(|s| s.get_years()).unwrap_or_default();
    Ok(object([
        ("millis", num(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))),
        ("seconds", num(secs)),
        ("minutes", num(secs / 60)),
        ("hours", num(secs / 3600)),
        ("days", num(secs / 86_400)),
        ("weeks", num(secs / (86_400 * 7))),
        ("months", num(i64::from(months))),
        ("years", num(i64::from(years))),
    ]))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// A piece of a Java date pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PatternPiece {
    /// Text printed as it is (quoted `'text'`, `''` for a quote, or a non-letter).
    Literal(String),
    /// A run of one pattern letter: `yyyy` is `('y', 4)`.
    Field(char, usize),
}

/// Splits a Java `DateTimeFormatter` pattern into literals and letter runs.
fn pattern_pieces(pattern: &str) -> Vec<PatternPiece> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                literal.push('\'');
                i += 2;
                continue;
            }
            // 'text' is literal; '' inside it is a quote.
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        literal.push('\'');
                        i += 2;
                        continue;
                    }
                    break;
                }
                literal.push(chars[i]);
                i += 1;
            }
            i += 1;
        } else if c.is_ascii_alphabetic() {
            let mut n = 1;
            while chars.get(i + n) == Some(&c) {
                n += 1;
            }
            if !literal.is_empty() {
                pieces.push(PatternPiece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(PatternPiece::Field(c, n));
            i += n;
        } else {
            literal.push(c);
            i += 1;
        }
    }
    if !literal.is_empty() {
        pieces.push(PatternPiece::Literal(literal));
    }
    pieces
}

/// Formats with a Java `DateTimeFormatter` pattern (US English names).
pub(crate) fn java_format(date: &ZonedDateTime, pattern: &str) -> String {
    let mut out = String::new();
    for piece in pattern_pieces(pattern) {
        match piece {
            PatternPiece::Literal(text) => out.push_str(&text),
            PatternPiece::Field(letter, n) => field(&mut out, date, letter, n),
        }
    }
    out
}

fn pad(out: &mut String, value: i64, width: usize) {
    if value < 0 {
        out.push('-');
    }
    out.push_str(&format!("{:0width$}", value.abs()));
}

fn offset_text(seconds: i32, colon: bool, z_for_zero: bool, minutes_always: bool) -> String {
    if seconds == 0 && z_for_zero {
        return "Z".to_owned();
    }
    let sign = if seconds < 0 { '-' } else { '+' };
    let abs = seconds.abs();
    let (h, m) = (abs / 3600, (abs % 3600) / 60);
    match (colon, minutes_always || m != 0) {
        (_, false) => format!("{sign}{h:02}"),
        (true, true) => format!("{sign}{h:02}:{m:02}"),
        (false, true) => format!("{sign}{h:02}{m:02}"),
    }
}

fn field(out: &mut String, date: &ZonedDateTime, letter: char, n: usize) {
    let hour = i64::from(date.hour());
    let offset = date.offset().seconds();
    match letter {
        'G' => out.push_str(if date.year() > 0 { "AD" } else { "BC" }),
        'y' | 'u' | 'Y' => {
            let year = i64::from(date.year());
            if n == 2 { pad(out, year.rem_euclid(100), 2) } else { pad(out, year, n) }
        }
        'M' | 'L' => {
            let month = date.month();
            let name = MONTHS[usize::try_from(month - 1).unwrap_or(0)];
            match n {
                1 | 2 => pad(out, i64::from(month), n),
                3 => out.push_str(&name[..3]),
                4 => out.push_str(name),
                _ => out.push_str(&name[..1]),
            }
        }
        'd' => pad(out, i64::from(date.day()), n),
        'D' => pad(out, i64::from(date.day_of_year()), n),
        'E' => {
            let name = WEEKDAYS[usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0)];
            match n {
                1..=3 => out.push_str(&name[..3]),
                4 => out.push_str(name),
                _ => out.push_str(&name[..1]),
            }
        }
        'e' | 'c' => pad(out, i64::from(date.weekday().to_sunday_one_offset()), n),
        'Q' | 'q' => pad(out, i64::from((date.month() - 1) / 3 + 1), n),
        'w' => pad(out, i64::from(date.date().iso_week_date().week()), n),
        'a' => out.push_str(if hour < 12 { "AM" } else { "PM" }),
        'H' => pad(out, hour, n),
        'k' => pad(out, if hour == 0 { 24 } else { hour }, n),
        'K' => pad(out, hour % 12, n),
        'h' => pad(out, if hour % 12 == 0 { 12 } else { hour % 12 }, n),
        'm' => pad(out, i64::from(date.minute()), n),
        's' => pad(out, i64::from(date.second()), n),
        'S' => {
            let nanos = format!("{:09}", date.subsec_nanosecond());
            let digits = n.min(9);
            out.push_str(&nanos[..digits]);
            out.push_str(&"0".repeat(n - digits));
        }
        'n' => pad(out, i64::from(date.subsec_nanosecond()), n),
        'A' => pad(
            out,
            (hour * 3600 + i64::from(date.minute()) * 60 + i64::from(date.second())) * 1000
                + i64::from(date.millisecond()),
            n,
        ),
        'V' => out.push_str(date.time_zone().iana_name().unwrap_or("UTC")),
        'z' => {
            let info = date.time_zone().to_offset_info(date.timestamp());
            let abbreviation = info.abbreviation();
            let short = if abbreviation.is_empty() { "UTC" } else { abbreviation };
            out.push_str(if n >= 4 { long_zone_name(short).unwrap_or(short) } else { short });
        }
        'Z' => match n {
            1..=3 => out.push_str(&offset_text(offset, false, false, true)),
            4 => out.push_str(&format!(
                "GMT{}",
                if offset == 0 { String::new() } else { offset_text(offset, true, false, true) }
            )),
            _ => out.push_str(&offset_text(offset, true, true, true)),
        },
        'X' => out.push_str(&offset_text(offset, n >= 3, true, n >= 2)),
        'x' => out.push_str(&offset_text(offset, n >= 3, false, n >= 2)),
        'O' => out.push_str(&format!(
            "GMT{}",
            if offset == 0 { String::new() } else { offset_text(offset, true, false, false) }
        )),
        other => {
            for _ in 0..n {
                out.push(other);
            }
        }
    }
}

/// A Java pattern as a `strptime` format, for parsing (`toDate("dd/MM/yyyy")`).
fn java_to_strptime(pattern: &str) -> String {
    let mut out = String::new();
    for piece in pattern_pieces(pattern) {
        let (c, n) = match piece {
            PatternPiece::Literal(text) => {
                out.push_str(&text.replace('%', "%%"));
                continue;
            }
            PatternPiece::Field(c, n) => (c, n),
        };
        out.push_str(match (c, n) {
            ('y' | 'u', 2) => "%y",
            ('y' | 'u', _) => "%Y",
            ('M', 1 | 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', _) => "%d",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            ('H', _) => "%H",
            ('h', _) => "%I",
            ('m', _) => "%M",
            ('s', _) => "%S",
            ('S', _) => "%f",
            ('a', _) => "%p",
            ('Z' | 'X' | 'x', _) => "%z",
            _ => "",
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_quote_literals_and_escape_quotes() {
        let date = utc("2026-11-28T05:04:03.25Z".parse().unwrap());
        assert_eq!(java_format(&date, "yyyy-MM-dd'T'HH:mm:ss.SSS"), "2026-11-28T05:04:03.250");
        assert_eq!(java_format(&date, "h 'o''clock' a, EEEE ''yy"), "5 o'clock AM, Saturday '26");
        assert_eq!(java_format(&date, "MMM d, yyyy XXX Z"), "Nov 28, 2026 Z +0000");
        assert_eq!(java_to_strptime("dd/MM/yyyy 'at' HH:mm 100%"), "%d/%m/%Y at %H:%M 100%%");
    }
}
