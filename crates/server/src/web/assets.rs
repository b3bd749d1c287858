//! The vendored assets, compiled into the binary (see `static/README.md`).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The htmx build the pages load; its name carries its version, so it is cached long.
pub(crate) const HTMX: &str = "htmx-2.0.11.min.js";

pub(crate) async fn serve(Path(file): Path<String>) -> Response {
    let (body, content_type, cache): (&'static [u8], &str, &str) = match file.as_str() {
        HTMX => (
            include_bytes!("../../static/htmx-2.0.11.min.js"),
            "text/javascript",
            "public, max-age=31536000, immutable",
        ),
        "app.css" => (include_bytes!("../../static/app.css"), "text/css; charset=utf-8", "public, max-age=300"),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("text/plain")),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_str(cache).unwrap_or(HeaderValue::from_static("no-cache")));
    response
}
