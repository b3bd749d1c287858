//! Parsing templates: text and tags into nodes, tag contents into expressions.

use crate::SyntaxError;

/// The largest template accepted (bytes).
pub const MAX_TEMPLATE_BYTES: usize = 1 << 20;
/// The deepest nesting of sections and calls accepted.
const MAX_DEPTH: usize = 64;

/// A parsed template, ready to render many times.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub(crate) nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Text(String),
    /// `{{expr}}`; `source` is the tag's text (for missing-value reports).
    Output {
        expr: Expr,
        source: String,
    },
    /// `{{#expr}}…{{/}}` (or `{{^expr}}…{{/}}` when `inverted`).
    Section {
        expr: Expr,
        inverted: bool,
        body: Vec<Node>,
    },
    /// `{{#if(cond)}}…{{/}}`, or `{{#if(cond, "text")}}` with `inline` set and no body.
    If {
        cond: Expr,
        inline: Option<Expr>,
        body: Vec<Node>,
    },
    /// `{{#=}}…{{/}}`: the body renders to text, which is then computed.
    Math {
        body: Vec<Node>,
    },
}

/// An expression inside a tag.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Text(String),
    Number(String),
    /// `.`: the current item of a section.
    Current,
    /// A name at the start of a chain, possibly a call (`now()`, `equals(a, b)`).
    Root {
        name: String,
        args: Option<Vec<Expr>>,
    },
    /// `target.name` or `target.name(args)`.
    Member {
        target: Box<Expr>,
        name: String,
        args: Option<Vec<Expr>>,
    },
}

impl Template {
    /// Parses a template. Every syntax error names its line and column.
    pub fn parse(source: &str) -> Result<Self, SyntaxError> {
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(error_at(source, 0, format!("the template is over {MAX_TEMPLATE_BYTES} bytes")));
        }
        let mut parser = Parser { source, pos: 0 };
        let (nodes, closed) = parser.nodes(0)?;
        if let Some(at) = closed {
            return Err(error_at(source, at, "`{{/}}` closes nothing".to_owned()));
        }
        Ok(Self { nodes })
    }
}

struct Parser<'a> {
    source: &'a str,
    pos: usize,
}

impl Parser<'_> {
    /// Nodes until the end or a closing tag; returns the closing tag's offset if one ended it.
    fn nodes(&mut self, depth: usize) -> Result<(Vec<Node>, Option<usize>), SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(error_at(self.source, self.pos, format!("sections nest deeper than {MAX_DEPTH}")));
        }
        let mut nodes = Vec::new();
        loop {
            let rest = &self.source[self.pos..];
            let Some(open) = rest.find("{{") else {
                if !rest.is_empty() {
                    nodes.push(Node::Text(rest.to_owned()));
                }
                self.pos = self.source.len();
                return Ok((nodes, None));
            };
            if open > 0 {
                nodes.push(Node::Text(rest[..open].to_owned()));
            }
            let tag_start = self.pos + open;
            let inner_start = tag_start + 2;
            let Some(close) = self.source[inner_start..].find("}}") else {
                return Err(error_at(self.source, tag_start, "`{{` is never closed with `}}`".to_owned()));
            };
            let inner_end = inner_start + close;
            let raw = &self.source[inner_start..inner_end];
            self.pos = inner_end + 2;
            let inner = raw.trim();
            let lead = inner_start + (raw.len() - raw.trim_start().len());
            if inner.starts_with('/') {
                return Ok((nodes, Some(tag_start)));
            }
            if inner == "#=" {
                let body = self.body(depth, tag_start)?;
                nodes.push(Node::Math { body });
            } else if let Some(rest) = inner.strip_prefix("#if(").map(|_| &inner[1..]) {
                let expr = parse_expr(self.source, rest, lead + 1)?;
                let Expr::Root { args: Some(mut args), .. } = expr else {
                    return Err(error_at(
                        self.source,
                        lead,
                        "`#if` needs a condition: `{{#if(condition)}}`".to_owned(),
                    ));
                };
                match args.len() {
                    1 => {
                        let cond = args.remove(0);
                        let body = self.body(depth, tag_start)?;
                        nodes.push(Node::If { cond, inline: None, body });
                    }
                    2 => {
                        let text = args.remove(1);
                        let cond = args.remove(0);
                        nodes.push(Node::If { cond, inline: Some(text), body: vec![] });
                    }
                    _ => {
                        return Err(error_at(
                            self.source,
                            lead,
                            "`#if` takes a condition and, optionally, a text".to_owned(),
                        ));
                    }
                }
            } else if let Some(rest) = inner.strip_prefix('#') {
                let expr = parse_expr(self.source, rest, lead + 1)?;
                let body = self.body(depth, tag_start)?;
                nodes.push(Node::Section { expr, inverted: false, body });
            } else if let Some(rest) = inner.strip_prefix('^') {
                let expr = parse_expr(self.source, rest, lead + 1)?;
                let body = self.body(depth, tag_start)?;
                nodes.push(Node::Section { expr, inverted: true, body });
            } else if inner.is_empty() {
                return Err(error_at(self.source, tag_start, "empty tag `{{}}`".to_owned()));
            } else {
                let expr = parse_expr(self.source, inner, lead)?;
                nodes.push(Node::Output { expr, source: inner.to_owned() });
            }
        }
    }

    /// The body of a section opened at `opened`, up to its closing tag.
    fn body(&mut self, depth: usize, opened: usize) -> Result<Vec<Node>, SyntaxError> {
        let (body, closed) = self.nodes(depth + 1)?;
        if closed.is_none() {
            return Err(error_at(self.source, opened, "this section is never closed with `{{/}}`".to_owned()));
        }
        Ok(body)
    }
}

/// Parses a whole expression; `offset` is where `text` starts in the template.
fn parse_expr(source: &str, text: &str, offset: usize) -> Result<Expr, SyntaxError> {
    let mut p = ExprParser { source, text, pos: 0, offset, depth: 0 };
    let expr = p.chain()?;
    p.skip_space();
    if p.pos < text.len() {
        return Err(p.error(format!("unexpected `{}`", p.rest().chars().next().unwrap_or(' '))));
    }
    Ok(expr)
}

struct ExprParser<'a> {
    source: &'a str,
    text: &'a str,
    pos: usize,
    offset: usize,
    depth: usize,
}

impl ExprParser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn error(&self, message: String) -> SyntaxError {
        error_at(self.source, self.offset + self.pos, message)
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn chain(&mut self) -> Result<Expr, SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("expressions nest deeper than {MAX_DEPTH}")));
        }
        let mut expr = self.primary()?;
        loop {
            self.skip_space();
            if !self.rest().starts_with('.') {
                break;
            }
            self.pos += 1;
            let name = self.name()?;
            let args = self.args()?;
            expr = Expr::Member { target: Box::new(expr), name, args };
        }
        self.depth -= 1;
        Ok(expr)
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        self.skip_space();
        let rest = self.rest();
        if rest.starts_with('"') {
            return self.string().map(Expr::Text);
        }
        if rest.starts_with('.') && !rest[1..].starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            self.pos += 1;
            return Ok(Expr::Current);
        }
        let number_len = rest
            .char_indices()
            .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '-') || (*c == '.' && *i > 0))
            .count();
        if number_len > 0 && rest[..number_len].chars().any(|c| c.is_ascii_digit()) {
            // `1.5` is a number; `1.first` would be a chain on 1.
            let candidate = rest[..number_len].trim_end_matches('.').to_owned();
            if crate::value::parse_number(&candidate).is_some() {
                self.pos += candidate.len();
                return Ok(Expr::Number(candidate));
            }
        }
        let name = self.name()?;
        let args = self.args()?;
        Ok(Expr::Root { name, args })
    }

    /// A name: anything up to `.`, `(`, `)`, `,` (names may contain spaces: `Sydney Attractions`).
    fn name(&mut self) -> Result<String, SyntaxError> {
        let rest = self.rest();
        let len = rest.find(['.', '(', ')', ',', '"']).unwrap_or(rest.len());
        let name = rest[..len].trim();
        if name.is_empty() {
            return Err(self.error("a name is missing here".to_owned()));
        }
        let name = name.to_owned();
        self.pos += len;
        Ok(name)
    }

    fn args(&mut self) -> Result<Option<Vec<Expr>>, SyntaxError> {
        self.skip_space();
        if !self.rest().starts_with('(') {
            return Ok(None);
        }
        let open = self.pos;
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_space();
        if self.rest().starts_with(')') {
            self.pos += 1;
            return Ok(Some(args));
        }
        loop {
            args.push(self.chain()?);
            self.skip_space();
            if self.rest().starts_with(',') {
                self.pos += 1;
            } else if self.rest().starts_with(')') {
                self.pos += 1;
                return Ok(Some(args));
            } else if self.rest().is_empty() {
                return Err(error_at(self.source, self.offset + open, "`(` is never closed".to_owned()));
            } else {
                return Err(self.error("expected `,` or `)`".to_owned()));
            }
        }
    }

    /// A double-quoted string: `\"` is a quote, every other backslash is kept.
    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                // As in Atlassian's templates, a backslash is kept for what reads the text next
                // (`"\d+"` is a regular expression's digit class, `"\$"` a replacement's dollar);
                // only `\"` stands for a quote inside the text.
                '\\' => match chars.next() {
                    Some((_, '"')) => out.push('"'),
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => break,
                },
                other => out.push(other),
            }
        }
        Err(error_at(self.source, self.offset + start, "this text is never closed with `\"`".to_owned()))
    }
}

/// A syntax error at byte `offset` of `source`, with line, column and a caret excerpt.
pub(crate) fn error_at(source: &str, offset: usize, message: String) -> SyntaxError {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let line_text = source[line_start..].split('\n').next().unwrap_or_default();
    let excerpt = format!("{line_text}\n{}^", " ".repeat(column - 1));
    SyntaxError { message, line, column, excerpt }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_point_at_line_and_column() {
        let err = Template::parse("Hello\n  {{issue.summary.left(5}}").unwrap_err();
        assert_eq!((err.line, err.column), (2, 23), "{err}");
        assert!(err.excerpt.ends_with("^"));
        let err = Template::parse("{{#if(x)}}never closed").unwrap_err();
        assert_eq!((err.line, err.column), (1, 1));
        let err = Template::parse("a {{/}}").unwrap_err();
        assert!(err.message.contains("closes nothing"));
        let err = Template::parse("{{ \"open }}").unwrap_err();
        assert!(err.message.contains("never closed"));
    }

    #[test]
    fn names_may_hold_spaces_and_numbers_are_literals() {
        let t = Template::parse("{{issue.Sydney Attractions.value}}{{x.get(1)}}").unwrap();
        assert_eq!(t.nodes.len(), 2);
    }
}
