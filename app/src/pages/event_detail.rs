//! `/events/{id}`: every field of one event, its `event_data`, and what happened around it.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vigil_wire::StoredEvent;

use crate::components::{EventFields, EventTable};
use crate::filters::{ip_href, user_href};

/// One event and its neighbours within an hour either side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventWithContext {
    pub event: StoredEvent,
    pub same_user: Vec<StoredEvent>,
    pub same_ip: Vec<StoredEvent>,
    pub same_session: Vec<StoredEvent>,
}

/// The event with `id` and its neighbours, if it exists.
#[server(prefix = "/rpc")]
pub async fn event_detail(id: Uuid) -> Result<Option<EventWithContext>, ServerFnError> {
    use chrono::Duration;
    use vigil_wire::{EventFilter, IpMatch, TimeBound};

    /// How far either side of the event "related" looks.
    const RELATED_WINDOW_MINUTES: i64 = 60;
    /// Most related events shown per list.
    const RELATED_LIMIT: u32 = 20;

    let backend = crate::backend::backend()?;
    let Some(event) = backend.0.event(id).await.map_err(ServerFnError::new)? else {
        return Ok(None);
    };
    let window = EventFilter {
        since: Some(TimeBound::At(
            event.occurred_at - Duration::minutes(RELATED_WINDOW_MINUTES),
        )),
        until: Some(TimeBound::At(
            event.occurred_at + Duration::minutes(RELATED_WINDOW_MINUTES),
        )),
        ..EventFilter::default()
    };
    let related = |filter: Option<EventFilter>| {
        let backend = backend.clone();
        async move {
            let Some(filter) = filter else {
                return Ok(Vec::new());
            };
            let page = backend
                .0
                .search(filter, None, RELATED_LIMIT + 1)
                .await
                .map_err(ServerFnError::new)?;
            Ok::<_, ServerFnError>(page.events.into_iter().filter(|e| e.id != id).collect())
        }
    };
    let user = event.user_id.clone().or_else(|| event.username.clone());
    let same_user = related(user.map(|u| EventFilter {
        user: Some(u),
        ..window.clone()
    }))
    .await?;
    let same_ip = related(event.ip_address.map(|ip| EventFilter {
        ip: IpMatch::parse(&ip.to_string()).ok(),
        ..window.clone()
    }))
    .await?;
    let same_session = related(event.session_fingerprint.clone().map(|fp| EventFilter {
        session_fp: Some(fp),
        ..window.clone()
    }))
    .await?;
    Ok(Some(EventWithContext {
        event,
        same_user,
        same_ip,
        same_session,
    }))
}

#[component]
pub fn EventDetailPage() -> impl IntoView {
    let params = use_params_map();
    let detail = Resource::new(
        move || params.with(|p| p.get("id").unwrap_or_default()),
        // An id that is not a UUID names no event.
        |id| async move {
            match Uuid::parse_str(&id) {
                Ok(id) => event_detail(id).await,
                Err(_) => Ok(None),
            }
        },
    );
    view! {
        <section class="detail">
            <Transition fallback=|| view! { <p class="empty">"Loading event…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(Some(detail)) => view! { <DetailBody detail/> }.into_any(),
                        Ok(None) => view! { <p class="empty">"No such event."</p> }.into_any(),
                        Err(err) => view! { <p class="error">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn DetailBody(detail: EventWithContext) -> impl IntoView {
    let EventWithContext {
        event,
        same_user,
        same_ip,
        same_session,
    } = detail;
    let title = format!("{} · {}", event.event_type, event.action_result.as_str());
    let data = serde_json::to_string_pretty(&event.event_data).unwrap_or_default();
    let related = [
        ("Same user, ±1 hour", same_user),
        ("Same IP, ±1 hour", same_ip),
        ("Same session, ±1 hour", same_session),
    ];
    // The fields pivot the explorer; these open the pages of who and where.
    let mut entities = Vec::new();
    for user in [&event.username, &event.user_id].into_iter().flatten() {
        if !entities.iter().any(|(_, text, _)| text == user) {
            entities.push(("user", user.clone(), user_href(user)));
        }
    }
    if let Some(ip) = event.ip_address {
        entities.push(("IP", ip.to_string(), ip_href(&ip.to_string())));
    }
    let entity_links = (!entities.is_empty()).then(|| {
        view! {
            <p class="entity-links" data-testid="entity-links">
                {entities.into_iter().map(|(kind, text, href)| view! {
                    <span class="entity-kind">{kind}</span>" "
                    <A href=href attr:class="entity-link">{text}</A>" "
                }).collect_view()}
            </p>
        }
    });
    view! {
        <div class="page-head"><h1>{title}</h1></div>
        {entity_links}
        <EventFields event=event/>
        <h2>"event_data"</h2>
        <pre class="event-data" data-testid="event-data">{data}</pre>
        {related.into_iter().map(|(heading, rows)| {
            let empty = rows.is_empty();
            view! {
                <h2>{heading}</h2>
                {if empty {
                    view! { <p class="empty">"Nothing else."</p> }.into_any()
                } else {
                    view! { <EventTable rows=Signal::derive(move || rows.clone())/> }.into_any()
                }}
            }
        }).collect_view()}
    }
}
