//! Checks that a rendering keeps its format's rules, whoever wrote it (the built-in formats, or
//! a model's reply that is to be used instead of them). Each returns every problem found.

use crate::formats::Format;

/// Every rule of `format` that `text` breaks; `allowed_ids` are ids the text may show (the
/// run's own process id).
pub fn format(format: Format, text: &str, allowed_ids: &[&str]) -> Vec<String> {
    if text.trim().is_empty() {
        return vec!["the text is empty".to_owned()];
    }
    let mut problems = match format {
        Format::ConfluenceAudit | Format::JiraIncident => markdown_tables(text, None),
        Format::SlackSummary => mrkdwn(text),
    };
    problems.extend(no_raw_ids(text, allowed_ids));
    problems
}

/// Every row of every GFM table has the table's column count; with `columns`, the tables have
/// exactly those counts, in order.
pub fn markdown_tables(markdown: &str, columns: Option<&[usize]>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut found = Vec::new();
    let lines: Vec<&str> = markdown.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let is_row = |line: &str| line.trim_start().starts_with('|');
        if !is_row(lines[i]) {
            i += 1;
            continue;
        }
        let header = cells(lines[i]);
        let delimiter = lines.get(i + 1).map(|l| cells(l));
        match delimiter {
            Some(d) if d.len() == header.len() && d.iter().all(|c| is_delimiter_cell(c)) => {}
            _ => problems.push(format!("line {}: a table header without a matching `| --- |` row", i + 1)),
        }
        found.push(header.len());
        let mut j = i + 2;
        while j < lines.len() && is_row(lines[j]) {
            let n = cells(lines[j]).len();
            if n != header.len() {
                problems.push(format!("line {}: {n} cells in a table of {} columns", j + 1, header.len()));
            }
            j += 1;
        }
        i = j;
    }
    if let Some(expected) = columns
        && expected != found.as_slice()
    {
        problems.push(format!("tables with {found:?} columns where {expected:?} were expected"));
    }
    problems
}

fn is_delimiter_cell(cell: &str) -> bool {
    let cell = cell.trim();
    let inner = cell.trim_start_matches(':').trim_end_matches(':');
    !inner.is_empty() && inner.chars().all(|c| c == '-')
}

/// The cells of a table row: split on `|` that are not escaped, outer pipes dropped.
fn cells(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in line.trim().chars() {
        match c {
            '|' if !escaped => cells.push(std::mem::take(&mut current)),
            '\\' if !escaped => {
                escaped = true;
                current.push(c);
                continue;
            }
            c => current.push(c),
        }
        escaped = false;
    }
    cells.push(current);
    // `| a | b |` splits into "", " a ", " b ", "".
    if cells.first().is_some_and(|c| c.trim().is_empty()) {
        cells.remove(0);
    }
    if cells.last().is_some_and(|c| c.trim().is_empty()) {
        cells.pop();
    }
    cells
}

/// Slack mrkdwn: no `**`, no Markdown links `[t](u)`, no table rows, no heading markers, and
/// `&`, `<`, `>` escaped outside Slack's own `<url|label>` and mention syntax.
pub fn mrkdwn(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut in_code_block = false;
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        if line.trim_start().starts_with("```") {
            in_code_block = !in_code_block;
        }
        // Slack shows link labels as written: only text outside `<…>` can be Markdown.
        let outside = without_angle_segments(line);
        if outside.contains("**") {
            problems.push(format!("line {n}: `**` is Markdown bold; Slack uses single `*`"));
        }
        if let Some(open) = outside.find("](")
            && outside[..open].contains('[')
        {
            problems.push(format!("line {n}: a Markdown link `[text](url)`; Slack uses `<url|text>`"));
        }
        if line.trim_start().starts_with('|') && line.matches('|').count() >= 2 {
            problems.push(format!("line {n}: a table row; Slack shows no tables"));
        }
        if !in_code_block && line.trim_start().starts_with('#') {
            problems.push(format!("line {n}: a Markdown heading; Slack shows it as text"));
        }
        problems.extend(escaping(line).into_iter().map(|p| format!("line {n}: {p}")));
    }
    problems
}

/// `line` with each `<…>` segment replaced by a space.
fn without_angle_segments(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else { break };
        out.push_str(&rest[..open]);
        out.push(' ');
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// `&` not starting `&amp;`, `&lt;` or `&gt;`; `<` not opening a Slack link or mention; `>`
/// not closing one (a quote marker at the start of a line is allowed).
fn escaping(line: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let body = line.strip_prefix('>').unwrap_or(line);
    let mut rest = body;
    let mut offset = 0;
    while let Some(i) = rest.find(['&', '<', '>']) {
        let at = &rest[i..];
        match at.as_bytes()[0] {
            b'&' => {
                if !["&amp;", "&lt;", "&gt;"].iter().any(|e| at.starts_with(e)) {
                    problems.push(format!("a raw `&` at column {}; write `&amp;`", offset + i + 1));
                }
                rest = &at[1..];
                offset += i + 1;
            }
            b'<' => {
                let Some(end) = at.find('>') else {
                    problems.push(format!("a raw `<` at column {}; write `&lt;`", offset + i + 1));
                    rest = &at[1..];
                    offset += i + 1;
                    continue;
                };
                let inside = &at[1..end];
                let target = inside.split('|').next().unwrap_or_default();
                let known = ["http://", "https://", "mailto:", "@", "#", "!"].iter().any(|p| target.starts_with(p));
                if !known || inside.contains('<') || inside.matches('|').count() > 1 {
                    problems.push(format!("`<{inside}>` is neither a Slack link nor a mention; escape `<` and `>`"));
                }
                rest = &at[end + 1..];
                offset += i + end + 1;
            }
            _ => {
                problems.push(format!("a raw `>` at column {}; write `&gt;`", offset + i + 1));
                rest = &at[1..];
                offset += i + 1;
            }
        }
    }
    problems
}

/// UUIDs where names belong: any UUID outside link targets, other than the `allowed` ones (the
/// run's own process id, which the formats show on purpose).
pub fn no_raw_ids(text: &str, allowed: &[&str]) -> Vec<String> {
    let mut visible = text.to_owned();
    // Link targets may carry ids: Markdown `](<…>)` / `](…)`, Slack `<url|label>`.
    for (open, close) in [("](<", ">)"), ("](", ")"), ("<http", "|")] {
        while let Some(start) = visible.find(open) {
            let Some(len) = visible[start + open.len()..].find(close) else { break };
            visible.replace_range(start..start + open.len() + len + close.len(), " ");
        }
    }
    for id in allowed {
        visible = visible.replace(id, " ");
    }
    let chars: Vec<char> = visible.chars().collect();
    let mut problems = Vec::new();
    for start in 0..chars.len().saturating_sub(35) {
        let candidate: String = chars[start..start + 36].iter().collect();
        if is_uuid(&candidate) && (start == 0 || !chars[start - 1].is_ascii_hexdigit()) {
            problems.push(format!("a raw id `{candidate}` where a name belongs"));
        }
    }
    problems
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
}
