//! `POST /auth/login` and `POST /auth/logout` (plain HTML forms, so sign-in works without
//! JavaScript), and the guard that sends signed-out visitors of the dashboard to `/login`.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::json;
use vigil_wire::Severity;

use super::client_ip::ClientIp;
use super::ApiError;
use crate::auth::{Burst, Operator, Sessions, SignInFailure};
use crate::events::{clip, NewEvent, SELF_SOURCE};
use crate::ingest::EventWriter;
use crate::storage::Role;
use crate::telemetry::untrusted;

#[derive(Deserialize)]
pub struct SignInForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// Only paths on this origin: `next` must never send a fresh session elsewhere. Browsers drop
/// tabs and newlines and read `\` as `/`, so `/\t/evil.example` is `//evil.example` to them:
/// any control character or backslash anywhere refuses it.
fn safe_next(next: &str) -> &str {
    let plain = !next.chars().any(|c| c.is_control() || c == '\\');
    if plain && next.starts_with('/') && !next.starts_with("//") {
        next
    } else {
        "/"
    }
}

#[tracing::instrument(skip_all, fields(username = %untrusted(&form.username)))]
pub async fn sign_in(
    State(sessions): State<Sessions>,
    State(writer): State<EventWriter>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, ApiError> {
    let outcome = (sessions.sign_in(client, &form.username, &form.password)).await?;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let (event_type, reason) = match &outcome {
        Ok(_) => ("auth.login.success", None),
        Err(failure) => ("auth.login.failure", Some(failure.reason().to_owned())),
    };
    tracing::info!(
        outcome = reason.as_deref().unwrap_or("signed in"),
        %client,
        user_agent = %user_agent.map(untrusted).unwrap_or_default(),
        "dashboard sign-in"
    );
    match outcome {
        Err(SignInFailure::Throttled(throttled)) => {
            return Ok(too_many(throttled.retry_after.as_secs() + 1));
        }
        Err(SignInFailure::Overloaded) => return Ok(too_many(1)),
        _ => {}
    }
    // Vigil audits itself: brute force against the dashboard shows up in its own failures view.
    let event = NewEvent {
        username: Some(clip("username", &form.username)),
        ip_address: Some(client),
        user_agent: user_agent.map(|ua| clip("user_agent", ua)),
        reason,
        event_data: json!({"target": "dashboard"}),
        ..NewEvent::of_type(event_type, SELF_SOURCE)
    };
    writer.write(vec![event]).await?;
    let next = safe_next(&form.next);
    Ok(match outcome {
        Ok((_, token)) => {
            let mut response = Redirect::to(next).into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, sessions.cookie(&token));
            response
        }
        Err(_) => {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("failed", "1")
                .append_pair("next", next)
                .finish();
            Redirect::to(&format!("/login?{query}")).into_response()
        }
    })
}

/// 429 with `Retry-After`; nothing was looked up or hashed.
fn too_many(retry_after_seconds: u64) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, retry_after_seconds.to_string())],
        format!("Too many sign-in attempts. Try again in {retry_after_seconds} s."),
    )
        .into_response()
}

/// Records each burst of throttled sign-ins as one audit event, once it has gone quiet: the
/// attempts are counted in `event_data`, so a flood costs the database one row per burst.
pub async fn record_throttled_bursts(sessions: Sessions, writer: EventWriter) {
    let mut every = tokio::time::interval(sessions.throttle().burst_check_every());
    loop {
        every.tick().await;
        record_bursts(&sessions, &writer, false).await;
    }
}

/// At shutdown: every burst still waiting for its quiet period, recorded now rather than lost.
pub async fn record_all_bursts(sessions: &Sessions, writer: &EventWriter) {
    record_bursts(sessions, writer, true).await;
}

async fn record_bursts(sessions: &Sessions, writer: &EventWriter, everything: bool) {
    let events: Vec<NewEvent> = (sessions.throttle().finished_bursts(everything))
        .into_iter()
        .map(burst_event)
        .collect();
    if !events.is_empty() {
        if let Err(err) = writer.write(events).await {
            tracing::warn!(%err, "could not record throttled sign-ins");
        }
    }
}

fn burst_event(burst: Burst) -> NewEvent {
    NewEvent {
        username: burst.username.as_deref().map(|u| clip("username", u)),
        ip_address: Some(burst.client),
        reason: Some("sign-in attempts throttled".to_owned()),
        severity: Severity::Warning,
        event_data: json!({
            "target": "dashboard",
            "throttled_attempts": burst.attempts,
            "limit": burst.limit.as_str(),
            "first_at": burst.first_at,
            "last_at": burst.last_at,
        }),
        ..NewEvent::of_type("auth.login.failure", SELF_SOURCE)
    }
}

pub async fn sign_out(
    State(sessions): State<Sessions>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    sessions.sign_out(&headers).await?;
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, sessions.clearing_cookie());
    Ok(response)
}

/// Paths anyone may reach: the API (it checks keys itself), sign-in, assets, health.
fn is_public(path: &str) -> bool {
    path == "/login"
        || ["/healthz", "/livez", "/readyz", "/metrics"].contains(&path)
        || path == "/favicon.ico"
        || path.starts_with("/auth/")
        || path.starts_with("/pkg/")
        || path.starts_with("/api/")
}

/// Everything else — dashboard pages and their server functions — needs a signed-in operator.
pub async fn require_operator(
    State(sessions): State<Sessions>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if is_public(&path) {
        return next.run(request).await;
    }
    match sessions.operator(request.headers()).await {
        Ok(Some(operator)) => {
            // The dashboard's server functions read who this is (the app cannot see `Operator`).
            request
                .extensions_mut()
                .insert(vigil_app::backend::SignedIn {
                    username: operator.username.clone(),
                    admin: operator.role == Role::Admin,
                });
            request.extensions_mut().insert::<Operator>(operator);
            next.run(request).await
        }
        Ok(None) if path.starts_with("/rpc/") => {
            (StatusCode::UNAUTHORIZED, "sign in to use the dashboard").into_response()
        }
        Ok(None) => {
            let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("next", target)
                .finish();
            Redirect::to(&format!("/login?{query}")).into_response()
        }
        Err(err) => ApiError::from(err).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/events?user=a"), "/events?user=a");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next(""), "/");
        assert_eq!(safe_next("/\t/evil.example"), "/");
        assert_eq!(safe_next("/\n/evil.example"), "/");
        assert_eq!(safe_next("/a\\b"), "/");
    }

    #[test]
    fn the_dashboard_is_private_and_the_api_checks_its_own_keys() {
        assert!(!is_public("/"));
        assert!(!is_public("/events/123"));
        assert!(!is_public("/rpc/search_events"));
        assert!(is_public("/api/v1/events"));
        assert!(is_public("/login") && is_public("/pkg/vigil.wasm"));
    }
}
