//! Markdown → Slack mrkdwn (TARGETS.md): `**x**` → `*x*`, `_x_`, `~x~`, `` `x` ``, code
//! blocks in triple backticks, `> ` quotes, `[t](u)` → `<u|t>`, headings → bold lines, lists →
//! `• ` / `1. ` lines, tables → one bullet line per row. In text that is not markup exactly
//! `&`, `<` and `>` are escaped; nothing else is entity-encoded.

use comrak::nodes::{AstNode, ListType, NodeValue};

use crate::{MAX_DEPTH, code_text, is_absolute_safe_url, plain_text, with_document};

/// Converts Markdown to Slack mrkdwn.
pub fn to_mrkdwn(markdown: &str) -> String {
    with_document(markdown, |root| {
        let mut blocks = Vec::new();
        children(root, 0, &mut blocks);
        blocks.join("\n\n")
    })
}

/// Escapes text for mrkdwn: `&`, `<` and `>` only.
pub fn escape_mrkdwn(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

fn children<'a>(parent: &'a AstNode<'a>, depth: usize, out: &mut Vec<String>) {
    for child in parent.children() {
        block(child, depth + 1, out);
    }
}

/// Renders `node` as zero or more blocks (blocks are apart by a blank line).
fn block<'a>(node: &'a AstNode<'a>, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        let text = escape_mrkdwn(&plain_text(node));
        if !text.is_empty() {
            out.push(text);
        }
        return;
    }
    let ast = node.data();
    let rendered = match &ast.value {
        NodeValue::Paragraph => inline(node, depth, Style::default()),
        NodeValue::Heading(_) => {
            let text = inline(node, depth, Style { bold: true, ..Style::default() });
            emphasis(&text, '*')
        }
        NodeValue::BlockQuote | NodeValue::MultilineBlockQuote(_) => {
            let mut inner = Vec::new();
            children(node, depth, &mut inner);
            inner
                .join("\n\n")
                .lines()
                .map(|line| if line.is_empty() { ">".to_owned() } else { format!("> {line}") })
                .collect::<Vec<_>>()
                .join("\n")
        }
        NodeValue::List(list) => {
            let mut lines = Vec::new();
            for (i, item) in node.children().enumerate() {
                let marker = if list.list_type == ListType::Ordered {
                    format!("{}. ", list.start + i)
                } else {
                    "• ".to_owned()
                };
                let mut inner = Vec::new();
                children(item, depth + 1, &mut inner);
                let text = inner.join("\n");
                let mut item_lines = text.lines();
                lines.push(format!("{marker}{}", item_lines.next().unwrap_or_default()));
                // Continuation lines (nested lists, later paragraphs) are indented under the text.
                lines.extend(item_lines.map(|line| format!("    {line}")));
            }
            lines.join("\n")
        }
        NodeValue::CodeBlock(code) => format!("```\n{}\n```", escape_mrkdwn(code_text(&code.literal))),
        NodeValue::HtmlBlock(html) => escape_mrkdwn(code_text(&html.literal)),
        NodeValue::ThematicBreak => "──────────".to_owned(),
        NodeValue::Table(_) => table(node, depth),
        _ => {
            children(node, depth, out);
            return;
        }
    };
    if !rendered.trim().is_empty() {
        out.push(rendered);
    }
}

/// A table as bullet lines: `• *Header*: value, *Header*: value` per row.
fn table<'a>(node: &'a AstNode<'a>, depth: usize) -> String {
    let mut headers: Vec<String> = Vec::new();
    let mut lines = Vec::new();
    for row in node.children() {
        let cells: Vec<String> = row.children().map(|cell| inline(cell, depth + 2, Style::default())).collect();
        if matches!(row.data().value, NodeValue::TableRow(true)) {
            headers = cells;
            continue;
        }
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let cell = if cell.trim().is_empty() { "-" } else { cell.as_str() };
                match headers.get(i).filter(|h| !h.trim().is_empty()) {
                    Some(header) => format!("{}: {cell}", emphasis(header, '*')),
                    None => cell.to_owned(),
                }
            })
            .collect();
        lines.push(format!("• {}", parts.join(", ")));
    }
    if lines.is_empty() && !headers.is_empty() {
        lines.push(format!("• {}", headers.join(", ")));
    }
    lines.join("\n")
}

/// Which emphasis is already open (Slack does not nest the same marker).
#[derive(Debug, Clone, Copy, Default)]
struct Style {
    bold: bool,
    italic: bool,
    strike: bool,
}

fn inline<'a>(node: &'a AstNode<'a>, depth: usize, style: Style) -> String {
    let mut out = String::new();
    for child in node.children() {
        inline_node(child, depth + 1, style, &mut out);
    }
    out
}

/// `text` between `marker`s, with surrounding spaces moved outside (Slack needs the markers
/// against the text). Blank text stays as it is.
fn emphasis(text: &str, marker: char) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return text.to_owned();
    }
    let start = text.len() - text.trim_start().len();
    let end = text.trim_end().len();
    format!("{}{marker}{trimmed}{marker}{}", &text[..start], &text[end..])
}

fn inline_node<'a>(node: &'a AstNode<'a>, depth: usize, style: Style, out: &mut String) {
    if depth > MAX_DEPTH {
        push_escaped(out, &plain_text(node));
        return;
    }
    let ast = node.data();
    match &ast.value {
        NodeValue::Text(text) => push_escaped(out, text),
        NodeValue::SoftBreak => out.push(' '),
        NodeValue::LineBreak => out.push('\n'),
        NodeValue::Code(code) if !code.literal.is_empty() => {
            // mrkdwn has no escape for a backtick inside code.
            out.push('`');
            push_escaped(out, &code.literal.replace('`', "'"));
            out.push('`');
        }
        NodeValue::HtmlInline(raw) => push_escaped(out, raw),
        NodeValue::Strong if !style.bold => {
            out.push_str(&emphasis(&inline(node, depth, Style { bold: true, ..style }), '*'));
        }
        NodeValue::Emph if !style.italic => {
            out.push_str(&emphasis(&inline(node, depth, Style { italic: true, ..style }), '_'));
        }
        NodeValue::Strikethrough if !style.strike => {
            out.push_str(&emphasis(&inline(node, depth, Style { strike: true, ..style }), '~'));
        }
        // Absolute web and mail addresses only: Slack reads `<!here>`, `<@U1>`, `<#C1>` as mentions.
        NodeValue::Link(link) | NodeValue::Image(link) if is_absolute_safe_url(&link.url) => {
            out.push_str(&slack_link(link.url.trim(), &plain_text(node)));
        }
        _ => {
            for child in node.children() {
                inline_node(child, depth + 1, style, out);
            }
        }
    }
}

/// A Slack link: `<url|label>`, or `<url>` when the label is empty or the URL itself. The URL holds no `|`,
/// `<`, `>` or space (percent-encoded) and its `&` is escaped; the label holds no `|` (shown as
/// `¦`) and its `&`, `<`, `>` are escaped.
pub fn slack_link(url: &str, label: &str) -> String {
    let mut target = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '&' => target.push_str("&amp;"),
            '|' => target.push_str("%7C"),
            '<' => target.push_str("%3C"),
            '>' => target.push_str("%3E"),
            ' ' => target.push_str("%20"),
            c if c.is_control() => {}
            c => target.push(c),
        }
    }
    let label = label.split_whitespace().collect::<Vec<_>>().join(" ");
    if label.is_empty() || label == url {
        return format!("<{target}>");
    }
    format!("<{target}|{}>", escape_mrkdwn(&label.replace('|', "¦")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emphasis_hugs_the_text() {
        assert_eq!(emphasis(" a b ", '*'), " *a b* ");
        assert_eq!(emphasis("  ", '*'), "  ");
    }

    #[test]
    fn links_keep_their_delimiters_unambiguous() {
        assert_eq!(
            slack_link("https://x.test/a?b=1&c=|>", "A | B > C"),
            "<https://x.test/a?b=1&amp;c=%7C%3E|A ¦ B &gt; C>"
        );
        assert_eq!(slack_link("https://x.test", "https://x.test"), "<https://x.test>");
    }
}
