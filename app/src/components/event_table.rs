//! The event table: time, type, result, user, IP. Values are text nodes, never HTML.

use leptos::prelude::*;
use vigil_wire::StoredEvent;

#[component]
pub fn EventTable(#[prop(into)] rows: Signal<Vec<StoredEvent>>) -> impl IntoView {
    view! {
        <table class="events" data-testid="events">
            <thead>
                <tr>
                    <th>"Time (UTC)"</th>
                    <th>"Type"</th>
                    <th>"Result"</th>
                    <th>"User"</th>
                    <th>"IP"</th>
                </tr>
            </thead>
            <tbody>
                <For each=move || rows.get() key=|event| event.seq children=|event| view! { <EventRow event/> }/>
            </tbody>
        </table>
        <Show when=move || rows.with(Vec::is_empty)>
            <p class="empty">
                "No events yet. Post one to " <code>"POST /api/v1/events"</code> " and it appears here."
            </p>
        </Show>
    }
}

#[component]
fn EventRow(event: StoredEvent) -> impl IntoView {
    let time = event.occurred_at.format("%Y-%m-%d %H:%M:%S").to_string();
    let result = event.action_result.as_str();
    let user = event
        .username
        .clone()
        .or(event.user_id.clone())
        .unwrap_or_default();
    let ip = event
        .ip_address
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    view! {
        <tr data-seq=event.seq class=format!("severity-{}", event.severity.as_str())>
            <td class="time">{time}</td>
            <td class="type">{event.event_type}</td>
            <td><span class=format!("result result-{result}")>{result}</span></td>
            <td class="user">{user}</td>
            <td class="ip">{ip}</td>
        </tr>
    }
}
