//! Markdown → Atlassian Document Format, valid against Atlassian's published schema
//! (`@atlaskit/adf-schema`, `json-schema/v1/full.json`). The schema decides what may nest:
//! a heading inside a list item or a quote becomes a bold paragraph, a quote inside a quote or a
//! list item gives its content to its parent, a rule there is dropped, and a table anywhere but
//! at the top becomes one paragraph per row. Text nodes are never empty, adjacent text with the
//! same marks is one node, and `code` carries no other mark but a link (the schema's rule).

use comrak::nodes::{AstNode, ListType, NodeValue};
use serde::Serialize;

use crate::{MAX_DEPTH, code_language, code_text, is_safe_url, plain_text, with_document};

/// Converts Markdown to an ADF document (`{"type": "doc", "version": 1, "content": [...]}`).
pub fn to_adf(markdown: &str) -> serde_json::Value {
    serde_json::to_value(document(markdown)).unwrap_or_default()
}

/// Converts Markdown to an ADF document as JSON text (faster than [`to_adf`] when the document
/// is only to be sent).
pub fn to_adf_json(markdown: &str) -> String {
    serde_json::to_string(&document(markdown)).unwrap_or_default()
}

fn document(markdown: &str) -> Node {
    with_document(markdown, |root| {
        let mut content = Vec::new();
        blocks(root, Container::Doc, 0, &mut content);
        Node::Doc { version: 1, content }
    })
}

/// The ADF nodes this writer makes, serialized as the schema names them.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Node {
    Doc {
        version: u8,
        content: Vec<Node>,
    },
    Paragraph {
        content: Vec<Node>,
    },
    Heading {
        attrs: HeadingAttrs,
        content: Vec<Node>,
    },
    Blockquote {
        content: Vec<Node>,
    },
    BulletList {
        content: Vec<Node>,
    },
    OrderedList {
        attrs: OrderAttrs,
        content: Vec<Node>,
    },
    ListItem {
        content: Vec<Node>,
    },
    CodeBlock {
        #[serde(skip_serializing_if = "Option::is_none")]
        attrs: Option<LanguageAttrs>,
        content: Vec<Node>,
    },
    Rule,
    Table {
        content: Vec<Node>,
    },
    TableRow {
        content: Vec<Node>,
    },
    TableHeader {
        content: Vec<Node>,
    },
    TableCell {
        content: Vec<Node>,
    },
    Text {
        text: String,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        marks: Vec<Mark>,
    },
    HardBreak,
}

#[derive(Debug, Serialize)]
struct HeadingAttrs {
    level: u8,
}

#[derive(Debug, Serialize)]
struct OrderAttrs {
    order: usize,
}

#[derive(Debug, Serialize)]
struct LanguageAttrs {
    language: String,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Mark {
    Strong,
    Em,
    Strike,
    Code,
    Link { attrs: LinkAttrs },
}

#[derive(Debug, Serialize)]
struct LinkAttrs {
    href: String,
}

/// Where blocks are being placed; each allows different children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Doc,
    ListItem,
    Quote,
}

impl Container {
    /// Headings, rules and quotes are allowed at the top only (and in table cells, which
    /// Markdown fills with inline content).
    fn allows_headings_rules_quotes(self) -> bool {
        self == Container::Doc
    }
}

fn blocks<'a>(parent: &'a AstNode<'a>, container: Container, depth: usize, out: &mut Vec<Node>) {
    for child in parent.children() {
        block(child, container, depth + 1, out);
    }
}

fn paragraph(content: Vec<Node>) -> Node {
    Node::Paragraph { content }
}

fn block<'a>(node: &'a AstNode<'a>, container: Container, depth: usize, out: &mut Vec<Node>) {
    let ast = node.data();
    if depth > MAX_DEPTH {
        let mut inline = Inlines::default();
        inline.text(&plain_text(node), &Marks::default());
        out.push(paragraph(inline.finish()));
        return;
    }
    match &ast.value {
        NodeValue::Paragraph => out.push(paragraph(inlines(node, Marks::default(), depth))),
        NodeValue::Heading(heading) if container.allows_headings_rules_quotes() => out.push(Node::Heading {
            attrs: HeadingAttrs { level: heading.level.clamp(1, 6) },
            content: inlines(node, Marks::default(), depth),
        }),
        NodeValue::Heading(_) => out.push(paragraph(inlines(node, Marks { strong: true, ..Marks::default() }, depth))),
        NodeValue::BlockQuote | NodeValue::MultilineBlockQuote(_) if container.allows_headings_rules_quotes() => {
            let mut content = Vec::new();
            blocks(node, Container::Quote, depth, &mut content);
            if content.is_empty() {
                content.push(paragraph(Vec::new()));
            }
            out.push(Node::Blockquote { content });
        }
        NodeValue::BlockQuote | NodeValue::MultilineBlockQuote(_) => blocks(node, container, depth, out),
        NodeValue::List(list) => {
            let items: Vec<Node> = node
                .children()
                .map(|item| {
                    let mut content = Vec::new();
                    blocks(item, Container::ListItem, depth + 1, &mut content);
                    if content.is_empty() {
                        content.push(paragraph(Vec::new()));
                    }
                    Node::ListItem { content }
                })
                .collect();
            if items.is_empty() {
                return;
            }
            out.push(if list.list_type == ListType::Ordered {
                Node::OrderedList { attrs: OrderAttrs { order: list.start }, content: items }
            } else {
                Node::BulletList { content: items }
            });
        }
        NodeValue::CodeBlock(code) => {
            let attrs = code_language(&code.info).map(|language| LanguageAttrs { language: language.to_owned() });
            let text = code_text(&code.literal);
            let content = if text.is_empty() {
                Vec::new()
            } else {
                vec![Node::Text { text: text.to_owned(), marks: Vec::new() }]
            };
            out.push(Node::CodeBlock { attrs, content });
        }
        NodeValue::HtmlBlock(html) => {
            let mut inline = Inlines::default();
            inline.text(code_text(&html.literal), &Marks::default());
            out.push(paragraph(inline.finish()));
        }
        NodeValue::ThematicBreak if container.allows_headings_rules_quotes() => out.push(Node::Rule),
        NodeValue::ThematicBreak => {}
        NodeValue::Table(_) if container == Container::Doc => {
            let rows: Vec<Node> = node
                .children()
                .map(|row| {
                    let header = matches!(row.data().value, NodeValue::TableRow(true));
                    let cells: Vec<Node> = row
                        .children()
                        .map(|cell| {
                            let content = vec![paragraph(inlines(cell, Marks::default(), depth + 2))];
                            if header { Node::TableHeader { content } } else { Node::TableCell { content } }
                        })
                        .collect();
                    Node::TableRow { content: cells }
                })
                .collect();
            out.push(Node::Table { content: rows });
        }
        NodeValue::Table(_) => {
            // Not allowed here: each row as a paragraph, cells apart by " | ".
            for row in node.children() {
                let mut inline = Inlines::default();
                for (i, cell) in row.children().enumerate() {
                    if i > 0 {
                        inline.text(" | ", &Marks::default());
                    }
                    inline.children(cell, &Marks::default(), depth + 2);
                }
                out.push(paragraph(inline.finish()));
            }
        }
        _ => blocks(node, container, depth, out),
    }
}

/// The marks in force on a run of text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Marks {
    strong: bool,
    em: bool,
    strike: bool,
    code: bool,
    link: Option<String>,
}

impl Marks {
    fn to_marks(&self) -> Vec<Mark> {
        let mut marks = Vec::new();
        if self.code {
            marks.push(Mark::Code);
        } else {
            // The schema allows a code mark with a link only.
            for (on, mark) in [(self.strong, Mark::Strong), (self.em, Mark::Em), (self.strike, Mark::Strike)] {
                if on {
                    marks.push(mark);
                }
            }
        }
        if let Some(href) = &self.link {
            marks.push(Mark::Link { attrs: LinkAttrs { href: href.clone() } });
        }
        marks
    }
}

fn inlines<'a>(node: &'a AstNode<'a>, marks: Marks, depth: usize) -> Vec<Node> {
    let mut inline = Inlines::default();
    inline.children(node, &marks, depth);
    inline.finish()
}

/// Builds inline content, joining adjacent text with the same marks.
#[derive(Debug, Default)]
struct Inlines {
    out: Vec<Node>,
    pending: Option<(String, Marks)>,
}

impl Inlines {
    fn text(&mut self, text: &str, marks: &Marks) {
        if text.is_empty() {
            return;
        }
        match &mut self.pending {
            Some((pending, same)) if same == marks => pending.push_str(text),
            _ => {
                self.flush();
                self.pending = Some((text.to_owned(), marks.clone()));
            }
        }
    }

    fn flush(&mut self) {
        if let Some((text, marks)) = self.pending.take() {
            self.out.push(Node::Text { text, marks: marks.to_marks() });
        }
    }

    fn finish(mut self) -> Vec<Node> {
        self.flush();
        self.out
    }

    fn children<'a>(&mut self, node: &'a AstNode<'a>, marks: &Marks, depth: usize) {
        for child in node.children() {
            self.node(child, marks, depth + 1);
        }
    }

    fn node<'a>(&mut self, node: &'a AstNode<'a>, marks: &Marks, depth: usize) {
        if depth > MAX_DEPTH {
            self.text(&plain_text(node), marks);
            return;
        }
        let ast = node.data();
        match &ast.value {
            NodeValue::Text(text) => self.text(text, marks),
            NodeValue::SoftBreak => self.text(" ", marks),
            NodeValue::LineBreak => {
                self.flush();
                self.out.push(Node::HardBreak);
            }
            NodeValue::Code(code) => self.text(&code.literal, &Marks { code: true, ..marks.clone() }),
            NodeValue::HtmlInline(raw) => self.text(raw, marks),
            NodeValue::Emph => self.children(node, &Marks { em: true, ..marks.clone() }, depth),
            NodeValue::Strong => self.children(node, &Marks { strong: true, ..marks.clone() }, depth),
            NodeValue::Strikethrough => self.children(node, &Marks { strike: true, ..marks.clone() }, depth),
            NodeValue::Link(link) if is_safe_url(&link.url) => {
                self.children(node, &Marks { link: Some(link.url.trim().to_owned()), ..marks.clone() }, depth);
            }
            NodeValue::Image(link) => {
                let alt = plain_text(node);
                let shown = if alt.is_empty() { link.url.clone() } else { alt };
                let link = is_safe_url(&link.url).then(|| link.url.trim().to_owned());
                self.text(&shown, &Marks { link: link.or_else(|| marks.link.clone()), ..marks.clone() });
            }
            _ => self.children(node, marks, depth),
        }
    }
}
