//! Markdown → HTML for email bodies and the local page view, with comrak's own renderer in its
//! safe mode: raw HTML in the Markdown is shown as text (escaped), never passed through. Links
//! and images keep their target only when it is a web or mail address or a relative one
//! (`is_safe_url`); any other scheme (`javascript:`, `ms-msdt:`, `search-ms:`, `intent:`, …),
//! autolinks included, leaves the link's text alone.

use comrak::nodes::NodeValue;

/// Converts Markdown to an HTML fragment.
pub fn to_html(markdown: &str) -> String {
    let mut options = crate::options();
    options.render.r#unsafe = false;
    options.render.escape = true;
    let arena = comrak::Arena::new();
    let root = comrak::parse_document(&arena, markdown, &options);
    let unsafe_links: Vec<_> = root
        .descendants()
        .filter(|node| match &node.data().value {
            NodeValue::Link(link) | NodeValue::Image(link) => !crate::is_safe_url(&link.url),
            _ => false,
        })
        .collect();
    for link in unsafe_links {
        // The link's text takes its place.
        while let Some(child) = link.first_child() {
            link.insert_before(child);
        }
        link.detach();
    }
    let mut html = String::new();
    // Writing to a String cannot fail.
    let _ = comrak::format_html(root, &options, &mut html);
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_mail_and_relative_links_stay_links() {
        let html = to_html(
            "[a](ms-msdt:/id%20PCWDiagnostic) [b](search-ms:query=x) [c](ms-officecmd:x) [d](intent://x#Intent;end) \
             [e](javascript:alert(1)) <ms-msdt:x> ![f](ms-msdt:y) [g](https://ok.example/p) [h](mailto:a@b.example) \
             [i](/tasks) https://auto.example/x",
        );
        for gone in ["ms-msdt", "search-ms", "ms-officecmd", "intent:", "javascript"] {
            assert!(!html.contains(&format!("href=\"{gone}")), "{gone}: {html}");
            assert!(!html.contains(&format!("src=\"{gone}")), "{gone}: {html}");
        }
        for text in ["a", "b", "c", "d", "e"] {
            assert!(html.contains(&format!(" {text} ")) || html.contains(&format!(">{text} ")), "{text}: {html}");
        }
        assert!(html.contains("<a href=\"https://ok.example/p\">g</a>"), "{html}");
        assert!(html.contains("<a href=\"mailto:a@b.example\">h</a>"), "{html}");
        assert!(html.contains("<a href=\"/tasks\">i</a>"), "{html}");
        assert!(html.contains("<a href=\"https://auto.example/x\">"), "{html}");
    }
}
