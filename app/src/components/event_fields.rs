//! Every field of one event, as a definition list (the detail page).

use leptos::prelude::*;
use leptos_router::components::A;
use vigil_wire::StoredEvent;

use super::{TimeFormat, Timestamp};
use crate::filters::explorer_href;

fn text<T: ToString>(value: &Option<T>) -> String {
    value
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| "—".to_owned())
}

fn instant(at: chrono::DateTime<chrono::Utc>) -> AnyView {
    view! { <Timestamp at format=TimeFormat::Rfc3339/> }.into_any()
}

#[component]
pub fn EventFields(event: StoredEvent) -> impl IntoView {
    let pivot = |name: &'static str, value: Option<String>| match value {
        Some(v) => view! { <A href=explorer_href(name, &v)>{v}</A> }.into_any(),
        None => "—".into_any(),
    };
    let rows: Vec<(&'static str, AnyView)> = vec![
        ("id", event.id.to_string().into_any()),
        ("seq", event.seq.to_string().into_any()),
        ("event_type", event.event_type.clone().into_any()),
        ("category", event.category.as_str().into_any()),
        ("action", event.action.clone().into_any()),
        ("action_result", event.action_result.as_str().into_any()),
        ("severity", event.severity.as_str().into_any()),
        ("occurred_at", instant(event.occurred_at)),
        ("received_at", instant(event.received_at)),
        (
            "occurred_at_claimed",
            match event.occurred_at_claimed {
                Some(t) => view! {
                    <Timestamp at=t format=TimeFormat::Rfc3339/>" (too far ahead: stored as received)"
                }
                .into_any(),
                None => "—".into_any(),
            },
        ),
        ("source", pivot("source", Some(event.source.clone()))),
        ("user_id", pivot("user", event.user_id.clone())),
        ("username", pivot("user", event.username.clone())),
        (
            "ip_address",
            pivot("ip", event.ip_address.map(|ip| ip.to_string())),
        ),
        ("user_agent", text(&event.user_agent).into_any()),
        (
            "session (fingerprint)",
            pivot("session_fp", event.session_fingerprint.clone()),
        ),
        ("mfa_used", text(&event.mfa_used).into_any()),
        ("reason", text(&event.reason).into_any()),
        ("error_message", text(&event.error_message).into_any()),
        ("token_type", text(&event.token_type).into_any()),
        (
            "expires_at",
            event.expires_at.map_or_else(|| "—".into_any(), instant),
        ),
        ("client_id", text(&event.client_id).into_any()),
        ("scope", text(&event.scope).into_any()),
        ("forced", text(&event.forced).into_any()),
        ("api_key_id", text(&event.api_key_id).into_any()),
        ("api_key_name", text(&event.api_key_name).into_any()),
    ];
    view! {
        <dl class="fields" data-testid="event-fields">
            {rows.into_iter().map(|(name, value)| view! { <dt>{name}</dt><dd>{value}</dd> }).collect_view()}
        </dl>
    }
}
