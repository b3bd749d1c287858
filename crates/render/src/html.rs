//! Markdown → HTML for email bodies and the local page view, with comrak's own renderer in its
//! safe mode: raw HTML in the Markdown is shown as text (escaped), never passed through, and
//! links or images to `javascript:`, `vbscript:`, `file:` and non-image `data:` URLs lose
//! their target.

/// Converts Markdown to an HTML fragment.
pub fn to_html(markdown: &str) -> String {
    let mut options = crate::options();
    options.render.r#unsafe = false;
    options.render.escape = true;
    comrak::markdown_to_html(markdown, &options)
}
