//! Cross-origin use of the operator's session: a request that speaks with the session cookie
//! (or asks for one) must come from Vigil's own pages. The cookie is `SameSite=Strict`, but
//! another port of the same host, or a sibling subdomain, is "same site" and would still send it.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};
use crate::config::PublicUrl;

/// Why a request is not from Vigil's own origin, if it is not. A missing `Origin` is accepted
/// here (browsers send one with every cross-origin `POST`; scripts send none).
pub fn foreign(own: &PublicUrl, headers: &HeaderMap) -> Option<String> {
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.to_str(), Ok("same-origin" | "none")) {
            return Some("the browser says it comes from another site".to_owned());
        }
    }
    let origin = headers.get(header::ORIGIN)?;
    match origin.to_str() {
        Ok(origin) if own.accepts(origin) => None,
        _ => Some(format!(
            "its Origin is not Vigil's own ({own}; set --public-url to the address browsers use)"
        )),
    }
}

/// For a cookie-authenticated WebSocket: the `Origin` must be there and be Vigil's own, since a
/// page anywhere may open a WebSocket and the browser attaches the cookie.
pub fn require_own(own: &PublicUrl, headers: &HeaderMap) -> Result<(), ApiError> {
    if !headers.contains_key(header::ORIGIN) {
        return Err(ApiError::CrossOrigin(
            "a stream opened with the session cookie must carry an Origin".to_owned(),
        ));
    }
    foreign(own, headers).map_or(Ok(()), |reason| Err(ApiError::CrossOrigin(reason)))
}

/// Refuses, with a 403, state-changing requests that carry the session cookie, and every
/// sign-in or sign-out (which issue or clear it), when they come from another origin.
pub async fn refuse_cross_origin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let speaks_as_operator = request.uri().path().starts_with("/auth/")
        || state.sessions.carries_cookie(request.headers());
    if !safe && speaks_as_operator {
        if let Some(reason) = foreign(&state.origin, request.headers()) {
            return ApiError::CrossOrigin(reason).into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_vigils_own_origin_passes() {
        let own: PublicUrl = "https://vigil.example.com".parse().unwrap();
        assert!(foreign(&own, &headers(&[])).is_none());
        assert!(foreign(&own, &headers(&[("origin", "https://vigil.example.com")])).is_none());
        assert!(foreign(&own, &headers(&[("origin", "https://evil.example")])).is_some());
        assert!(foreign(&own, &headers(&[("origin", "null")])).is_some());
        assert!(foreign(&own, &headers(&[("sec-fetch-site", "cross-site")])).is_some());
        assert!(foreign(&own, &headers(&[("sec-fetch-site", "same-site")])).is_some());
        assert!(foreign(&own, &headers(&[("sec-fetch-site", "same-origin")])).is_none());
        assert!(require_own(&own, &headers(&[])).is_err());
    }
}
