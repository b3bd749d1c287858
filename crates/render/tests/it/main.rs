//! The converters against their contracts: golden outputs for a document that uses every
//! construct, Atlassian's ADF schema (vendored in testkit) for every ADF output, an XML parser
//! for every storage output, and generated inputs (property tests) for all of them.

#![allow(clippy::unwrap_used)]

mod properties;

use render::{mrkdwn_to_html, to_adf, to_html, to_mrkdwn, to_storage};
use serde_json::{Value, json};

/// Panics with every schema violation when `adf` is not a valid ADF document.
pub fn assert_valid_adf(adf: &Value, input: &str) {
    let errors = testkit::adf_errors(adf);
    assert!(errors.is_empty(), "input {input:?}\nADF {adf}\nerrors: {errors:#?}");
}

/// Panics unless `storage` parses as XML (inside a root that declares Confluence's prefixes).
pub fn assert_well_formed(storage: &str, input: &str) {
    if let Some(e) = testkit::storage_error(storage) {
        panic!("input {input:?}\nstorage {storage}\nis not well-formed: {e}");
    }
}

const EVERYTHING: &str = "\
# Run of *Weekly cleanup*

Users **suspended**: 3, with _one_ ~~error~~ and `code <x>`.
A line\\
broken, and a [link](https://ucm.test/tasks?taskId=1&processId=2).

## Details

- first & foremost
- second
  1. nested
  2. items

> quoted **text**

```rust
let x = \"]]>\";
```

| User | Outcome |
|------|---------|
| Ada <ada@x.test> | added |
| Bob | |

---

<script>alert(1)</script>
[bad](javascript:alert(1))
";

#[test]
fn storage_covers_every_construct_and_is_well_formed() {
    let storage = to_storage(EVERYTHING);
    assert_well_formed(&storage, EVERYTHING);
    let expected = concat!(
        "<h1>Run of <em>Weekly cleanup</em></h1>",
        "<p>Users <strong>suspended</strong>: 3, with <em>one</em> <s>error</s> and <code>code &lt;x&gt;</code>.\n",
        "A line<br />broken, and a <a href=\"https://ucm.test/tasks?taskId=1&amp;processId=2\">link</a>.</p>",
        "<h2>Details</h2>",
        "<ul><li>first &amp; foremost</li><li>second<ol><li>nested</li><li>items</li></ol></li></ul>",
        "<blockquote><p>quoted <strong>text</strong></p></blockquote>",
        "<ac:structured-macro ac:name=\"code\"><ac:parameter ac:name=\"language\">rust</ac:parameter>",
        "<ac:plain-text-body><![CDATA[let x = \"]]]]><![CDATA[>\";]]></ac:plain-text-body></ac:structured-macro>",
        "<table><tbody><tr><th>User</th><th>Outcome</th></tr>",
        "<tr><td>Ada <a href=\"mailto:ada@x.test\">ada@x.test</a></td><td>added</td></tr>",
        "<tr><td>Bob</td><td></td></tr></tbody></table>",
        "<hr />",
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p><p>bad</p>",
    );
    assert_eq!(storage, expected);
}

#[test]
fn adf_covers_every_construct_and_is_valid() {
    let adf = to_adf(EVERYTHING);
    assert_valid_adf(&adf, EVERYTHING);
    assert_eq!(serde_json::from_str::<Value>(&render::to_adf_json(EVERYTHING)).unwrap(), adf, "text and value agree");
    let content = adf["content"].as_array().unwrap();
    let kinds: Vec<&str> = content.iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "heading",
            "paragraph",
            "heading",
            "bulletList",
            "blockquote",
            "codeBlock",
            "table",
            "rule",
            "paragraph",
            "paragraph"
        ]
    );
    assert_eq!(
        content[0],
        json!({"type": "heading", "attrs": {"level": 1}, "content": [
            {"type": "text", "text": "Run of "},
            {"type": "text", "text": "Weekly cleanup", "marks": [{"type": "em"}]},
        ]})
    );
    assert_eq!(
        content[1]["content"],
        json!([
            {"type": "text", "text": "Users "},
            {"type": "text", "text": "suspended", "marks": [{"type": "strong"}]},
            {"type": "text", "text": ": 3, with "},
            {"type": "text", "text": "one", "marks": [{"type": "em"}]},
            {"type": "text", "text": " "},
            {"type": "text", "text": "error", "marks": [{"type": "strike"}]},
            {"type": "text", "text": " and "},
            {"type": "text", "text": "code <x>", "marks": [{"type": "code"}]},
            {"type": "text", "text": ". A line"},
            {"type": "hardBreak"},
            {"type": "text", "text": "broken, and a "},
            {"type": "text", "text": "link", "marks": [{"type": "link", "attrs": {"href": "https://ucm.test/tasks?taskId=1&processId=2"}}]},
            {"type": "text", "text": "."},
        ])
    );
    assert_eq!(
        content[5],
        json!({"type": "codeBlock", "attrs": {"language": "rust"}, "content": [{"type": "text", "text": "let x = \"]]>\";"}]})
    );
    assert_eq!(content[6]["content"][0]["content"][0]["type"], "tableHeader");
    assert_eq!(
        content[6]["content"][2]["content"][1],
        json!({"type": "tableCell", "content": [{"type": "paragraph", "content": []}]})
    );
    // Raw HTML is text; an unsafe link keeps its words and loses its target.
    assert_eq!(content[8]["content"], json!([{"type": "text", "text": "<script>alert(1)</script>"}]));
    assert_eq!(content[9]["content"], json!([{"type": "text", "text": "bad"}]));
}

#[test]
fn adf_keeps_to_what_the_schema_lets_nest() {
    let input = "- # heading in a list\n- > quote in a list\n\n  ---\n\n> # heading in a quote\n> > nested quote\n> \n> | a | b |\n> |---|---|\n> | 1 | 2 |\n\n**`code` in bold**";
    let adf = to_adf(input);
    assert_valid_adf(&adf, input);
    let item = &adf["content"][0]["content"][0]["content"][0];
    assert_eq!(
        item,
        &json!({"type": "paragraph", "content": [{"type": "text", "text": "heading in a list", "marks": [{"type": "strong"}]}]})
    );
    let quote = adf["content"][1]["content"].as_array().unwrap();
    assert_eq!(quote.last().unwrap()["content"][0]["text"], "1 | 2", "a table in a quote is rows of text");
    let bold = &adf["content"][2]["content"];
    assert_eq!(bold[0], json!({"type": "text", "text": "code", "marks": [{"type": "code"}]}), "code carries no strong");
    assert_eq!(bold[1]["marks"], json!([{"type": "strong"}]));
}

#[test]
fn html_shows_raw_html_as_text_and_drops_dangerous_links() {
    let html = to_html(EVERYTHING);
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    assert!(!html.contains("<script") && !html.contains("javascript:"), "{html}");
    assert!(html.contains("<a href=\"https://ucm.test/tasks?taskId=1&amp;processId=2\">link</a>"), "{html}");
    assert!(html.contains("<table>") && html.contains("<th>User</th>"), "{html}");
    assert!(to_html("<img src=x onerror=alert(1)>").contains("&lt;img"), "inline HTML too");
}

#[test]
fn mrkdwn_follows_slack_rules() {
    let mrkdwn = to_mrkdwn(EVERYTHING);
    let expected = "\
*Run of _Weekly cleanup_*

Users *suspended*: 3, with _one_ ~error~ and `code &lt;x&gt;`. A line
broken, and a <https://ucm.test/tasks?taskId=1&amp;processId=2|link>.

*Details*

• first &amp; foremost
• second
    1. nested
    2. items

> quoted *text*

```
let x = \"]]&gt;\";
```

• *User*: Ada <mailto:ada@x.test|ada@x.test>, *Outcome*: added
• *User*: Bob, *Outcome*: -

──────────

&lt;script&gt;alert(1)&lt;/script&gt;

bad";
    assert_eq!(mrkdwn, expected);
    assert!(!mrkdwn.contains("**") && !mrkdwn.contains("]("), "no Markdown left");
}

#[test]
fn mrkdwn_never_nests_the_same_marker_and_hugs_text() {
    assert_eq!(to_mrkdwn("**bold **inner** bold**"), "*bold inner bold*");
    assert_eq!(to_mrkdwn("** spaced **"), "** spaced **", "not emphasis in Markdown either");
    assert_eq!(to_mrkdwn("a [label | x](<https://x.test/a b>)"), "a <https://x.test/a%20b|label ¦ x>");
    assert_eq!(to_mrkdwn("<https://x.test>"), "<https://x.test>");
    // Relative targets are no links in Slack, where `<!here>` and `<@U1>` are mentions.
    assert_eq!(to_mrkdwn("[](!channel) [x](!here) [y](@U123) [z](/tasks)"), " x y z");
}

#[test]
fn mrkdwn_reads_back_as_slack_shows_it() {
    let html = mrkdwn_to_html(&to_mrkdwn(EVERYTHING));
    let expected_parts = [
        "<strong>Run of <em>Weekly cleanup</em></strong>",
        "Users <strong>suspended</strong>: 3, with <em>one</em> <del>error</del> and <code>code &lt;x&gt;</code>.",
        "<a href=\"https://ucm.test/tasks?taskId=1&amp;processId=2\" rel=\"noopener noreferrer\">link</a>",
        "• first &amp; foremost",
        "<blockquote>quoted <strong>text</strong></blockquote>",
        "<pre>let x = &quot;]]&gt;&quot;;</pre>",
        "• <strong>User</strong>: Ada <a href=\"mailto:ada@x.test\" rel=\"noopener noreferrer\">ada@x.test</a>, <strong>Outcome</strong>: added",
        "&lt;script&gt;alert(1)&lt;/script&gt;<br>\n<br>\nbad",
    ];
    for part in expected_parts {
        assert!(html.contains(part), "missing {part:?} in\n{html}");
    }
    assert!(!html.contains("<script"));
}

#[test]
fn slack_links_and_mentions_render_and_unsafe_targets_do_not() {
    assert_eq!(
        mrkdwn_to_html("<@U123> see <#C9|ops> and <!here>: <javascript:alert(1)|click> <https://x.test?a=1&amp;b=2>"),
        "<span class=\"mention\">@U123</span> see <span class=\"mention\">#ops</span> and \
         <span class=\"mention\">@here</span>: click \
         <a href=\"https://x.test?a=1&amp;b=2\" rel=\"noopener noreferrer\">https://x.test?a=1&amp;b=2</a>"
    );
    assert_eq!(mrkdwn_to_html("a \"quote\" 'x'"), "a &quot;quote&quot; &#39;x&#39;");
    assert_eq!(mrkdwn_to_html("```\nunclosed"), "```<br>\nunclosed");
}

#[test]
fn deep_nesting_is_flattened_not_fatal() {
    // Deep enough to exhaust a recursive walk's stack if nothing stopped it.
    let inputs = [
        format!("{}deep", "> ".repeat(20_000)),
        format!("{}deep", "- ".repeat(20_000)),
        format!("{}deep{}", "*a ".repeat(5_000), " a*".repeat(5_000)),
        format!("{}deep{}", "[".repeat(5_000), "](https://x.test)".repeat(5_000)),
        "_*~".repeat(20_000),
    ];
    for input in &inputs {
        let storage = to_storage(input);
        assert_well_formed(&storage, "deep input");
        assert!(storage.contains("deep") || input.starts_with("_*~"));
        assert_valid_adf(&to_adf(input), "deep input");
        let _ = to_html(input);
        let mrkdwn = to_mrkdwn(input);
        let _ = mrkdwn_to_html(&mrkdwn);
        let _ = mrkdwn_to_html(input);
    }
}

#[test]
fn empty_and_odd_input_gives_valid_output() {
    for input in ["", " ", "\n\n", "-", "1.", ">", "```", "|a|\n|-|", "#", "\u{0}\u{1}\u{FFFF}", "&amp; &#0; &#x1;"] {
        let storage = to_storage(input);
        assert_well_formed(&storage, input);
        assert_valid_adf(&to_adf(input), input);
    }
    assert_eq!(to_adf(""), json!({"version": 1, "type": "doc", "content": []}));
}
