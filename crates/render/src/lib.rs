//! Markdown into the formats the final actions send (TARGETS.md), and Slack's mrkdwn into HTML
//! for the local Slack-style view. Pure functions: text in, text out, no I/O.
//!
//! Markdown is parsed once with comrak (CommonMark plus GitHub's tables, strikethrough and
//! autolinks); each format walks the tree:
//!
//! - [`to_storage`]: Confluence storage format (XHTML), always well-formed XML;
//! - [`to_adf`]: Atlassian Document Format, valid against Atlassian's published schema;
//! - [`to_html`]: HTML for email bodies and the local page view, raw HTML shown as text;
//! - [`to_mrkdwn`]: Slack mrkdwn;
//! - [`mrkdwn_to_html`]: Slack mrkdwn shown as Slack would.
//!
//! Every converter accepts any input without panicking. Nesting deeper than [`MAX_DEPTH`] is
//! flattened into plain text, so no input can exhaust the stack.

mod adf;
mod html;
mod mrkdwn;
mod slack_html;
mod storage;

use comrak::nodes::{AstNode, NodeValue};

pub use adf::{to_adf, to_adf_json};
pub use html::to_html;
pub use mrkdwn::{escape_mrkdwn, slack_link, to_mrkdwn};
pub use slack_html::mrkdwn_to_html;
pub use storage::to_storage;

/// Nesting (blocks inside blocks, marks inside marks) deeper than this is rendered as plain text.
pub const MAX_DEPTH: usize = 32;

/// The formats Markdown converts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Confluence storage format (XHTML).
    Storage,
    /// Atlassian Document Format (JSON).
    Adf,
    Html,
    /// Slack mrkdwn.
    Mrkdwn,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Storage, Format::Adf, Format::Html, Format::Mrkdwn];

    pub fn name(self) -> &'static str {
        match self {
            Format::Storage => "storage",
            Format::Adf => "adf",
            Format::Html => "html",
            Format::Mrkdwn => "mrkdwn",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Converts Markdown to `format`; ADF comes as compact JSON text.
pub fn convert(markdown: &str, format: Format) -> String {
    match format {
        Format::Storage => to_storage(markdown),
        Format::Adf => to_adf_json(markdown),
        Format::Html => to_html(markdown),
        Format::Mrkdwn => to_mrkdwn(markdown),
    }
}

/// The parser options every converter uses: CommonMark plus GitHub's tables, strikethrough and
/// autolinks. Raw HTML is never passed through (see [`to_html`]).
pub fn options() -> comrak::Options<'static> {
    let mut options = comrak::Options::default();
    options.extension.strikethrough = true;
    options.extension.table = true;
    options.extension.autolink = true;
    options
}

/// Parses `markdown` and hands the document to `render`.
pub(crate) fn with_document<T>(markdown: &str, render: impl for<'a> FnOnce(&'a AstNode<'a>) -> T) -> T {
    let arena = comrak::Arena::new();
    let root = comrak::parse_document(&arena, markdown, &options());
    render(root)
}

/// The text a node shows, without any markup: what deeply nested content flattens to. It walks
/// the tree without recursion.
pub(crate) fn plain_text<'a>(node: &'a AstNode<'a>) -> String {
    let mut text = String::new();
    for descendant in node.descendants() {
        match &descendant.data().value {
            NodeValue::Text(t) => text.push_str(t),
            NodeValue::Code(code) => text.push_str(&code.literal),
            NodeValue::CodeBlock(block) => text.push_str(&block.literal),
            NodeValue::HtmlInline(raw) => text.push_str(raw),
            NodeValue::HtmlBlock(block) => text.push_str(&block.literal),
            NodeValue::SoftBreak | NodeValue::LineBreak => text.push(' '),
            NodeValue::Paragraph | NodeValue::Heading(_) | NodeValue::TableCell | NodeValue::Item(_)
                if !text.is_empty() && !text.ends_with(' ') =>
            {
                text.push(' ');
            }
            _ => {}
        }
    }
    text.trim().to_owned()
}

/// Whether a link target may be rendered as a link: web and mail addresses, and relative ones.
/// `javascript:`, `data:`, `vbscript:`, `file:` and other schemes are shown as text instead.
pub(crate) fn is_safe_url(url: &str) -> bool {
    let url = url.trim();
    match url.find(':') {
        None => true,
        Some(colon) => {
            // A colon after a `/`, `?` or `#` belongs to a relative reference, not a scheme.
            if url[..colon].contains(['/', '?', '#']) {
                return true;
            }
            let scheme = url[..colon].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto")
        }
    }
}

/// An http, https or mailto address (not relative: Slack has no base to resolve it against,
/// and `//host` would be another site).
pub(crate) fn is_absolute_safe_url(url: &str) -> bool {
    let url = url.trim();
    is_safe_url(url) && url.split_once(':').is_some_and(|(scheme, _)| !scheme.contains(['/', '?', '#']))
}

/// The first word of a code block's info string, if it looks like a language name.
pub(crate) fn code_language(info: &str) -> Option<&str> {
    let word = info.split_whitespace().next()?;
    (word.len() <= 30 && word.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '#' | '-' | '_' | '.')))
        .then_some(word)
}

/// A code block's text without the final line ending the parser keeps.
pub(crate) fn code_text(literal: &str) -> &str {
    literal.strip_suffix('\n').unwrap_or(literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_mail_and_relative_links_are_safe() {
        for safe in ["https://x.test/a", "HTTP://x", "mailto:a@b.test", "/tasks?x=1", "#top", "a/b:c"] {
            assert!(is_safe_url(safe), "{safe}");
        }
        for unsafe_ in ["javascript:alert(1)", " JavaScript:x", "data:text/html,x", "vbscript:x", "file:///etc"] {
            assert!(!is_safe_url(unsafe_), "{unsafe_}");
        }
    }

    #[test]
    fn languages_are_single_plain_words() {
        assert_eq!(code_language("rust ignore"), Some("rust"));
        assert_eq!(code_language("c++"), Some("c++"));
        assert_eq!(code_language(""), None);
        assert_eq!(code_language("<script>"), None);
    }

    #[test]
    fn formats_have_names() {
        for format in Format::ALL {
            assert_eq!(Format::from_name(format.name()), Some(format));
        }
        assert_eq!(Format::from_name("pdf"), None);
    }
}
