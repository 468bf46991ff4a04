//! Headers every response carries. Pages set their own Content-Security-Policy (it holds the
//! render's nonce, see `vigil_app::shell`); everything else gets one that allows nothing.

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::PublicUrl;

/// For responses that are not pages (JSON, CSV, errors): nothing in them may load or be framed.
const NOTHING_POLICY: HeaderValue =
    HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'");
/// A year, the usual HSTS lifetime; only sent when the public URL is `https`.
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");

/// nosniff, no framing, no referrer to other sites (URLs carry user and IP filters; `no-referrer`
/// would make browsers send `Origin: null` on our own form posts), no caching of anything but
/// the built assets (pages, API answers and exports hold audit data), and HSTS over TLS.
pub async fn security_headers(
    State(origin): State<PublicUrl>,
    request: Request,
    next: Next,
) -> Response {
    let asset = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &'static str); 3] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, NOTHING_POLICY);
    }
    if !asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if origin.is_https() {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    response
}
