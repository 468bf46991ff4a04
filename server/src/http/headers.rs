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

/// A year: what browsers and proxies may keep an asset whose name carries its hash.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// An asset named without its hash may change under the same name: revalidate every time.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");

/// nosniff, no framing, no referrer to other sites (URLs carry user and IP filters; `no-referrer`
/// would make browsers send `Origin: null` on our own form posts), no caching of anything but
/// the built assets (pages, API answers and exports hold audit data), and HSTS over TLS.
pub async fn security_headers(
    State(origin): State<PublicUrl>,
    request: Request,
    next: Next,
) -> Response {
    let asset = (request.uri().path().strip_prefix("/pkg/")).map(is_hashed_name);
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
    match asset {
        Some(hashed) => {
            let cache = if hashed { IMMUTABLE } else { REVALIDATE };
            headers.insert(header::CACHE_CONTROL, cache);
            // The body depends on Accept-Encoding (brotli, gzip or plain): caches must key on it.
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        None => {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    if origin.is_https() {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    response
}

/// `vigil.<hash>.wasm`: cargo-leptos's content hash is an MD5 in unpadded URL-safe base64, 22
/// characters, between the name and the extension.
fn is_hashed_name(file: &str) -> bool {
    let mut parts = file.split('.');
    let (Some(_name), Some(hash), Some(_ext)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    hash.len() == 22 && (hash.bytes()).all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::is_hashed_name;

    #[test]
    fn only_names_with_a_content_hash_are_immutable() {
        assert!(is_hashed_name("vigil.Xy3_-aBcDeFgHiJkLmNoPq.wasm"));
        assert!(is_hashed_name("vigil.Xy3_-aBcDeFgHiJkLmNoPq.wasm.br"));
        assert!(!is_hashed_name("vigil.wasm"));
        assert!(!is_hashed_name("vigil.css"));
        assert!(!is_hashed_name("vigil_bg.wasm"));
        assert!(!is_hashed_name("vigil.short.js"));
        assert!(!is_hashed_name("vigil.Xy3_-aBcDeFgHiJkLmNo/q.js"));
    }
}
