//! Markdown → Confluence storage format: XHTML with Confluence's macros. The output is always
//! well-formed XML (with the `ac:` and `ri:` prefixes Confluence declares itself): text is
//! escaped, characters XML forbids are replaced, and code blocks are `code` macros whose CDATA
//! body never holds a `]]>`.

use std::fmt::Write as _;

use comrak::nodes::{AstNode, ListType, NodeValue};

use crate::{MAX_DEPTH, code_language, code_text, is_safe_url, plain_text, with_document};

/// Converts Markdown to Confluence storage format.
pub fn to_storage(markdown: &str) -> String {
    with_document(markdown, |root| {
        let mut out = String::with_capacity(markdown.len() + markdown.len() / 4);
        Storage { out: &mut out }.children(root, 0, false);
        out
    })
}

struct Storage<'o> {
    out: &'o mut String,
}

impl Storage<'_> {
    fn children<'a>(&mut self, node: &'a AstNode<'a>, depth: usize, tight: bool) {
        for child in node.children() {
            self.node(child, depth + 1, tight);
        }
    }

    fn wrap<'a>(&mut self, tag: &str, node: &'a AstNode<'a>, depth: usize, tight: bool) {
        let _ = write!(self.out, "<{tag}>");
        self.children(node, depth, tight);
        let _ = write!(self.out, "</{tag}>");
    }

    /// `tight`: inside a tight list item, where paragraphs are not wrapped in `<p>`.
    fn node<'a>(&mut self, node: &'a AstNode<'a>, depth: usize, tight: bool) {
        let ast = node.data();
        if depth > MAX_DEPTH {
            let text = plain_text(node);
            if ast.value.block() {
                self.out.push_str("<p>");
                escape_text(self.out, &text);
                self.out.push_str("</p>");
            } else {
                escape_text(self.out, &text);
            }
            return;
        }
        match &ast.value {
            NodeValue::Document => self.children(node, depth, false),
            NodeValue::Paragraph if tight => self.children(node, depth, tight),
            NodeValue::Paragraph => self.wrap("p", node, depth, tight),
            NodeValue::Heading(heading) => self.wrap(&format!("h{}", heading.level.clamp(1, 6)), node, depth, tight),
            NodeValue::BlockQuote | NodeValue::MultilineBlockQuote(_) => self.wrap("blockquote", node, depth, false),
            NodeValue::List(list) => {
                let tag = if list.list_type == ListType::Ordered { "ol" } else { "ul" };
                if list.list_type == ListType::Ordered && list.start != 1 {
                    let _ = write!(self.out, "<ol start=\"{}\">", list.start);
                } else {
                    let _ = write!(self.out, "<{tag}>");
                }
                for item in node.children() {
                    self.out.push_str("<li>");
                    self.children(item, depth + 1, list.tight);
                    self.out.push_str("</li>");
                }
                let _ = write!(self.out, "</{tag}>");
            }
            NodeValue::Item(_) => self.wrap("li", node, depth, tight),
            NodeValue::CodeBlock(block) => {
                self.out.push_str("<ac:structured-macro ac:name=\"code\">");
                if let Some(language) = code_language(&block.info) {
                    self.out.push_str("<ac:parameter ac:name=\"language\">");
                    escape_text(self.out, language);
                    self.out.push_str("</ac:parameter>");
                }
                self.out.push_str("<ac:plain-text-body>");
                cdata(self.out, code_text(&block.literal));
                self.out.push_str("</ac:plain-text-body></ac:structured-macro>");
            }
            NodeValue::HtmlBlock(block) => {
                self.out.push_str("<p>");
                escape_text(self.out, code_text(&block.literal));
                self.out.push_str("</p>");
            }
            NodeValue::ThematicBreak => self.out.push_str("<hr />"),
            NodeValue::Table(_) => {
                self.out.push_str("<table><tbody>");
                for row in node.children() {
                    let header = matches!(row.data().value, NodeValue::TableRow(true));
                    self.out.push_str("<tr>");
                    for cell in row.children() {
                        self.wrap(if header { "th" } else { "td" }, cell, depth + 2, true);
                    }
                    self.out.push_str("</tr>");
                }
                self.out.push_str("</tbody></table>");
            }
            NodeValue::TableRow(_) => self.wrap("tr", node, depth, true),
            NodeValue::TableCell => self.wrap("td", node, depth, true),
            NodeValue::Text(text) => escape_text(self.out, text),
            NodeValue::SoftBreak => self.out.push('\n'),
            NodeValue::LineBreak => self.out.push_str("<br />"),
            NodeValue::Code(code) => {
                self.out.push_str("<code>");
                escape_text(self.out, &code.literal);
                self.out.push_str("</code>");
            }
            NodeValue::HtmlInline(raw) => escape_text(self.out, raw),
            NodeValue::Emph => self.wrap("em", node, depth, tight),
            NodeValue::Strong => self.wrap("strong", node, depth, tight),
            NodeValue::Strikethrough => self.wrap("s", node, depth, tight),
            NodeValue::Link(link) if is_safe_url(&link.url) => {
                self.out.push_str("<a href=\"");
                escape_attribute(self.out, link.url.trim());
                self.out.push_str("\">");
                self.children(node, depth, tight);
                self.out.push_str("</a>");
            }
            NodeValue::Image(link) if is_safe_url(&link.url) => {
                self.out.push_str("<ac:image ac:alt=\"");
                escape_attribute(self.out, &plain_text(node));
                self.out.push_str("\"><ri:url ri:value=\"");
                escape_attribute(self.out, link.url.trim());
                self.out.push_str("\" /></ac:image>");
            }
            // Unsafe links and anything else: the content, without the markup.
            _ => self.children(node, depth, tight),
        }
    }
}

/// Whether XML 1.0 allows `c` in a document.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Escapes text content; characters XML forbids become U+FFFD.
pub(crate) fn escape_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// Escapes an attribute value written between double quotes.
fn escape_attribute(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            // Attribute values normalise whitespace; keep line breaks as written.
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => escape_text(out, c.encode_utf8(&mut [0; 4])),
        }
    }
}

/// A CDATA section holding `text`; a `]]>` inside is split across two sections.
fn cdata(out: &mut String, text: &str) {
    out.push_str("<![CDATA[");
    let mut clean = String::with_capacity(text.len());
    for c in text.chars() {
        clean.push(if xml_char(c) { c } else { '\u{FFFD}' });
    }
    out.push_str(&clean.replace("]]>", "]]]]><![CDATA[>"));
    out.push_str("]]>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdata_sections_never_end_early() {
        let mut out = String::new();
        cdata(&mut out, "a]]>b\u{1}");
        assert_eq!(out, "<![CDATA[a]]]]><![CDATA[>b\u{FFFD}]]>");
    }
}
