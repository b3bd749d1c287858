//! Generated Markdown: whatever comes in, storage output is well-formed XML, ADF output is
//! valid against Atlassian's schema, and no converter panics.

use proptest::prelude::*;

use crate::{assert_valid_adf, assert_well_formed};

/// Pieces that Markdown, storage, ADF and mrkdwn give meaning to, and arbitrary characters.
const PIECES: &[&str] = &[
    "*",
    "**",
    "_",
    "__",
    "~",
    "~~",
    "`",
    "```",
    "```rust\n",
    "\n",
    "\n\n",
    "> ",
    "- ",
    "* ",
    "1. ",
    "# ",
    "## ",
    "| a ",
    "|",
    "|---|---|\n",
    "[",
    "]",
    "(",
    ")",
    "](https://x.test/a)",
    "<",
    ">",
    "&",
    "&amp;",
    "]]>",
    "<https://x.test>",
    "javascript:x",
    " ",
    "  ",
    "    ",
    "text",
    "é",
    "\u{1}",
    "\\",
    "!",
    "<b>",
    "</b>",
    "---",
    "<@U1>",
    "<#C1|ops>",
    "\t",
    "\r\n",
];

fn markdown() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(PIECES).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..80).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn storage_is_always_well_formed_xml(input in markdown()) {
        assert_well_formed(&render::to_storage(&input), &input);
    }

    #[test]
    fn adf_is_always_valid(input in markdown()) {
        assert_valid_adf(&render::to_adf(&input), &input);
    }

    #[test]
    fn html_and_mrkdwn_never_panic_and_never_pass_markup_through(input in markdown()) {
        let html = render::to_html(&input);
        prop_assert!(!html.contains("<b>") && !html.contains("href=\"javascript"), "{html}");
        let mrkdwn = render::to_mrkdwn(&input);
        prop_assert!(angle_brackets_are_links_or_quotes(&mrkdwn), "{mrkdwn}");
        let shown = render::mrkdwn_to_html(&mrkdwn);
        prop_assert!(!shown.contains("<b>") && !shown.contains("href=\"javascript"), "{shown}");
        let raw = render::mrkdwn_to_html(&input);
        prop_assert!(!raw.contains("<b>") && !raw.contains("href=\"javascript"), "{raw}");
    }
}

/// In mrkdwn, text escapes `<` and `>`: every raw `<` opens a link `<url|label>` closed on the
/// same line with at most one `|`, and every other raw `>` is a quote marker at a line start.
fn angle_brackets_are_links_or_quotes(mrkdwn: &str) -> bool {
    for line in mrkdwn.lines() {
        // Quote markers may follow list markers and indentation (a quote inside a list item).
        let mut rest = line;
        loop {
            let before = rest;
            rest = rest.trim_start().trim_start_matches("• ").trim_start_matches("> ").trim_start_matches('>');
            rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
            rest = rest.strip_prefix(". ").unwrap_or(rest);
            if rest == before {
                break;
            }
        }
        while let Some(open) = rest.find(['<', '>']) {
            if rest[open..].starts_with('>') {
                return false;
            }
            let after = &rest[open + 1..];
            let Some(close) = after.find('>') else { return false };
            let inside = &after[..close];
            if inside.contains('<') || inside.matches('|').count() > 1 {
                return false;
            }
            rest = &after[close + 1..];
        }
    }
    true
}
