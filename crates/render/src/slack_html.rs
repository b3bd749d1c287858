//! Slack mrkdwn → HTML, for showing a stored Slack message the way Slack shows it: `*bold*`,
//! `_italic_`, `~strike~`, `` `code` ``, triple-backtick blocks, `>` quote lines, links
//! `<url|label>` and `<url>`, mentions `<@U…>`, `<#C…|name>`, `<!here>`; `&amp;`, `&lt;`,
//! `&gt;` read as the characters they stand for. Everything else is text, escaped for HTML.

use crate::is_absolute_safe_url;

/// Emphasis nested deeper than this is shown as text.
const MAX_EMPHASIS_DEPTH: usize = 8;

/// Converts Slack mrkdwn to an HTML fragment.
pub fn mrkdwn_to_html(mrkdwn: &str) -> String {
    let mut out = String::with_capacity(mrkdwn.len() + mrkdwn.len() / 2);
    let mut rest = mrkdwn;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let Some(close) = after.find("```") else { break };
        text_block(&rest[..open], &mut out);
        let code = after[..close].strip_prefix('\n').unwrap_or(&after[..close]);
        let code = code.strip_suffix('\n').unwrap_or(code);
        out.push_str("<pre>");
        escape_html(&decode_entities(code), &mut out);
        out.push_str("</pre>");
        rest = after[close + 3..].strip_prefix('\n').unwrap_or(&after[close + 3..]);
    }
    text_block(rest, &mut out);
    out
}

/// Lines outside code blocks: runs of `>` lines become a quote, other lines end with `<br>`.
fn text_block(text: &str, out: &mut String) {
    if text.is_empty() {
        return;
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].starts_with('>') {
            out.push_str("<blockquote>");
            let mut first = true;
            while i < lines.len() && lines[i].starts_with('>') {
                if !first {
                    out.push_str("<br>");
                }
                first = false;
                let line = &lines[i][1..];
                inline(line.strip_prefix(' ').unwrap_or(line), 0, out);
                i += 1;
            }
            out.push_str("</blockquote>");
        } else {
            inline(lines[i], 0, out);
            i += 1;
            if i < lines.len() {
                out.push_str("<br>\n");
            }
        }
    }
}

fn tag(marker: char) -> &'static str {
    match marker {
        '*' => "strong",
        '_' => "em",
        _ => "del",
    }
}

/// One line of text with inline markup.
fn inline(line: &str, depth: usize, out: &mut String) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut i = 0;
    let mut plain_from = 0;
    // A search for a closing `>`, backtick or emphasis marker that failed from one place fails
    // from every later place too: remember it, so a long line costs linear time.
    let mut no_angle_after = usize::MAX;
    let mut no_tick_after = usize::MAX;
    let mut no_closer_after = [usize::MAX; 3];
    let slot = |c: char| match c {
        '*' => 0,
        '_' => 1,
        _ => 2,
    };
    let flush = |out: &mut String, from: usize, to: usize| {
        let mut text = String::new();
        escape_html(&decode_entities(&line[from..to]), &mut text);
        out.push_str(&emoji(&text));
    };
    while i < chars.len() {
        let (at, c) = chars[i];
        match c {
            '<' if at < no_angle_after => {
                if let Some(end) = line[at..].find('>') {
                    flush(out, plain_from, at);
                    angle(&line[at + 1..at + end], out);
                    let next = at + end + 1;
                    i = chars.partition_point(|&(p, _)| p < next);
                    plain_from = next;
                    continue;
                }
                no_angle_after = at;
            }
            '`' if at < no_tick_after => {
                if let Some(end) = line[at + 1..].find('`').filter(|&end| end > 0) {
                    flush(out, plain_from, at);
                    out.push_str("<code>");
                    escape_html(&decode_entities(&line[at + 1..at + 1 + end]), out);
                    out.push_str("</code>");
                    let next = at + 1 + end + 1;
                    i = chars.partition_point(|&(p, _)| p < next);
                    plain_from = next;
                    continue;
                }
                if !line[at + 1..].contains('`') {
                    no_tick_after = at;
                }
            }
            '*' | '_' | '~' if depth < MAX_EMPHASIS_DEPTH && i < no_closer_after[slot(c)] && opens(&chars, i) => {
                if let Some(close) = closer(&chars, i) {
                    flush(out, plain_from, at);
                    let inner = &line[at + 1..chars[close].0];
                    out.push_str(&format!("<{}>", tag(c)));
                    inline(inner, depth + 1, out);
                    out.push_str(&format!("</{}>", tag(c)));
                    i = close + 1;
                    plain_from = chars.get(i).map_or(line.len(), |&(p, _)| p);
                    continue;
                }
                no_closer_after[slot(c)] = i;
            }
            _ => {}
        }
        i += 1;
    }
    flush(out, plain_from, line.len());
}

/// A marker opens emphasis after a non-word character (or the start) and before a non-space.
fn opens(chars: &[(usize, char)], i: usize) -> bool {
    let before_ok = i == 0 || !chars[i - 1].1.is_alphanumeric();
    let after_ok = chars.get(i + 1).is_some_and(|&(_, c)| !c.is_whitespace() && c != chars[i].1);
    before_ok && after_ok
}

/// The matching marker: after a non-space, before a non-word character (or the end).
fn closer(chars: &[(usize, char)], open: usize) -> Option<usize> {
    let marker = chars[open].1;
    (open + 2..chars.len()).find(|&j| {
        chars[j].1 == marker
            && !chars[j - 1].1.is_whitespace()
            && chars.get(j + 1).is_none_or(|&(_, c)| !c.is_alphanumeric())
    })
}

/// What was between `<` and `>`: a link, a mention, or a special word.
fn angle(inside: &str, out: &mut String) {
    let (target, label) = match inside.split_once('|') {
        Some((target, label)) => (target, Some(label)),
        None => (inside, None),
    };
    if let Some(user) = target.strip_prefix('@') {
        out.push_str("<span class=\"mention\">@");
        escape_html(&decode_entities(label.unwrap_or(user)), out);
        out.push_str("</span>");
    } else if let Some(channel) = target.strip_prefix('#') {
        out.push_str("<span class=\"mention\">#");
        escape_html(&decode_entities(label.unwrap_or(channel)), out);
        out.push_str("</span>");
    } else if let Some(special) = target.strip_prefix('!') {
        out.push_str("<span class=\"mention\">@");
        escape_html(&decode_entities(label.unwrap_or(special)), out);
        out.push_str("</span>");
    } else {
        let url = decode_entities(target);
        let shown = decode_entities(label.unwrap_or(target));
        if is_absolute_safe_url(&url) {
            out.push_str("<a href=\"");
            escape_html(url.trim(), out);
            out.push_str("\" rel=\"noopener noreferrer\">");
            escape_html(&shown, out);
            out.push_str("</a>");
        } else {
            escape_html(&shown, out);
        }
    }
}

/// The three entities mrkdwn uses, read back as characters.
/// Slack's emoji shortcodes that ucm's own messages use, as the emoji Slack shows; others stay
/// as written.
const EMOJI: [(&str, &str); 8] = [
    (":white_check_mark:", "\u{2705}"),
    (":heavy_check_mark:", "\u{2714}\u{fe0f}"),
    (":warning:", "\u{26a0}\u{fe0f}"),
    (":x:", "\u{274c}"),
    (":rotating_light:", "\u{1f6a8}"),
    (":information_source:", "\u{2139}\u{fe0f}"),
    (":tada:", "\u{1f389}"),
    (":key:", "\u{1f511}"),
];

fn emoji(text: &str) -> String {
    if !text.contains(':') {
        return text.to_owned();
    }
    EMOJI.iter().fold(text.to_owned(), |text, (code, shown)| text.replace(code, shown))
}

fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn escape_html(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_emoji_shortcodes_show_as_emoji() {
        assert_eq!(
            mrkdwn_to_html(":warning: *Run* - :x: :unknown:"),
            "\u{26a0}\u{fe0f} <strong>Run</strong> - \u{274c} :unknown:"
        );
        assert_eq!(mrkdwn_to_html("`:warning:`"), "<code>:warning:</code>", "code stays as written");
        assert_eq!(mrkdwn_to_html(":white_check_mark: done"), "\u{2705} done");
    }

    #[test]
    fn markers_inside_words_are_text() {
        assert_eq!(mrkdwn_to_html("snake_case_name and 2*3*4"), "snake_case_name and 2*3*4");
        assert_eq!(mrkdwn_to_html("*bold* _it_ ~gone~"), "<strong>bold</strong> <em>it</em> <del>gone</del>");
    }

    #[test]
    fn only_absolute_web_and_mail_links_are_live() {
        assert_eq!(
            mrkdwn_to_html("<https://ok.example/a|ok>"),
            "<a href=\"https://ok.example/a\" rel=\"noopener noreferrer\">ok</a>"
        );
        // Slack itself would not make these links: the preview shows their text.
        for target in ["//evil.example", "/local", "javascript:alert(1)", "ms-msdt:x", " "] {
            assert_eq!(mrkdwn_to_html(&format!("<{target}|label>")), "label", "{target}");
        }
    }

    #[test]
    fn entities_are_read_once() {
        assert_eq!(mrkdwn_to_html("a &amp;lt; b &lt;c&gt;"), "a &amp;lt; b &lt;c&gt;");
    }
}
