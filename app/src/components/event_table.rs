//! The event table. Every user and IP links to its page, with a pivot of the explorer beside it;
//! a session pivots the explorer; the time opens the event. Values are text nodes, never HTML.

use leptos::prelude::*;
use leptos_router::components::A;
use vigil_wire::StoredEvent;

use super::{TimeFormat, TimeZoneChoice, Timestamp, ZoneName};
use crate::filters::{explorer_href, ip_href, user_href};

#[component]
pub fn EventTable(
    #[prop(into)] rows: Signal<Vec<StoredEvent>>,
    /// Rows with a greater seq arrived live: they are highlighted briefly.
    #[prop(default = i64::MAX)]
    highlight_after: i64,
    /// The row the reader opened (click a row to show every field; click again to close).
    #[prop(optional)]
    opened: Option<RwSignal<Option<i64>>>,
) -> impl IntoView {
    view! {
        <table class="events" data-testid="events">
            <thead>
                <tr>
                    <th>"Time ("<ZoneName/>")"</th>
                    <th>"Type"</th>
                    <th>"Result"</th>
                    <th>"User"</th>
                    <th>"IP"</th>
                    <th>"Session"</th>
                    <th>"Details"</th>
                </tr>
            </thead>
            <tbody>
                <For each=move || rows.get() key=|event| event.seq
                    children=move |event| view! { <EventRow fresh={event.seq > highlight_after} event opened/> }/>
            </tbody>
        </table>
        <Show when=move || rows.with(Vec::is_empty)>
            <p class="empty" data-testid="no-events">"No events match."</p>
        </Show>
    }
}

#[component]
fn EventRow(
    event: StoredEvent,
    fresh: bool,
    opened: Option<RwSignal<Option<i64>>>,
) -> impl IntoView {
    let seq = event.seq;
    let is_open = move || opened.is_some_and(|o| o.get() == Some(seq));
    let toggle = move |_| {
        if let Some(opened) = opened {
            opened.update(|o| *o = if *o == Some(seq) { None } else { Some(seq) });
        }
    };
    let full = serde_json::to_string_pretty(&event).unwrap_or_default();
    let classes = format!(
        "severity-{}{}{}",
        event.severity.as_str(),
        if fresh { " arrived" } else { "" },
        if opened.is_some() { " openable" } else { "" }
    );
    let time = event.occurred_at;
    let detail_href = format!("/events/{}", event.id);
    // A producer's time too far ahead was not believed: the row sorts where it arrived.
    let claimed = event.occurred_at_claimed.map(|claimed| {
        let zone = TimeZoneChoice::current();
        let title = move || format!("the producer claimed {}", zone.format(claimed, TimeFormat::Rfc3339));
        view! { <span class="clock-ahead" data-testid="clock-ahead" title=title>"clock ahead"</span> }
    });
    let result = event.action_result.as_str();
    let user = event.username.clone().map(|name| {
        let (page, pivot) = (user_href(&name), explorer_href("user", &name));
        view! {
            <A href=page attr:class="entity-link user-name">{name}</A>
            <A href=pivot attr:class="pivot filter" attr:title="filter the explorer by this user">"⌕"</A>
        }
    });
    // The id is shown too when it says something the name does not.
    let user_id = event
        .user_id
        .clone()
        .filter(|id| Some(id) != event.username.as_ref())
        .map(|id| {
            let (page, pivot) = (user_href(&id), explorer_href("user", &id));
            view! {
                <A href=page attr:class="entity-link user-id">{id}</A>
                <A href=pivot attr:class="pivot filter" attr:title="filter the explorer by this user">"⌕"</A>
            }
        });
    let ip = event.ip_address.map(|ip| {
        let ip = ip.to_string();
        let (page, pivot) = (ip_href(&ip), explorer_href("ip", &ip));
        view! {
            <A href=page attr:class="entity-link ip">{ip}</A>
            <A href=pivot attr:class="pivot filter" attr:title="filter the explorer by this address">"⌕"</A>
        }
    });
    let session = event.session_fingerprint.clone().map(|fp| {
        let short = fp.chars().take(8).collect::<String>();
        view! { <A href=explorer_href("session_fp", &fp) attr:class="pivot session" attr:title=fp>{short}</A> }
    });
    view! {
        <tr data-seq=event.seq class=classes class:open=is_open on:click=toggle>
            <td class="time"><A href=detail_href><Timestamp at=time/></A>" "{claimed}</td>
            <td class="type">{event.event_type.clone()}</td>
            <td><span class=format!("result result-{result}")>{result}</span></td>
            <td class="user">{user}" "{user_id}</td>
            <td class="ip">{ip}</td>
            <td class="session">{session}</td>
            <td class="details">{summary(&event)}</td>
        </tr>
        <Show when=is_open>
            <tr class="expanded" data-testid="expanded-row">
                <td colspan="7"><pre>{full.clone()}</pre></td>
            </tr>
        </Show>
    }
}

/// The one line that says most about an event of its kind.
fn summary(event: &StoredEvent) -> String {
    let mut parts = Vec::new();
    if let Some(name) = &event.api_key_name {
        parts.push(format!("key {name}"));
    }
    if let Some(id) = &event.api_key_id {
        parts.push(format!("({id})"));
    }
    for value in [
        &event.reason,
        &event.error_message,
        &event.client_id,
        &event.scope,
        &event.token_type,
    ]
    .into_iter()
    .flatten()
    {
        parts.push(value.clone());
    }
    parts.join(" · ")
}
