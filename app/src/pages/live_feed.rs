//! `/`: the newest events, rendered on the server, then kept current over the live stream.

use leptos::prelude::*;
use vigil_wire::StoredEvent;

use crate::components::{EventTable, LiveBadge};
use crate::live::{use_live_events, LiveStatus};

/// How many events the first page shows.
const FEED_SIZE: i64 = 50;
/// How many rows the page keeps once live events pile up, so a long-open tab stays light.
const FEED_MAX_ROWS: usize = 500;

#[server(prefix = "/rpc")]
pub async fn recent_events(limit: i64) -> Result<Vec<StoredEvent>, ServerFnError> {
    crate::backend::backend()?
        .0
        .recent_events(limit.clamp(1, 500))
        .await
        .map_err(ServerFnError::new)
}

#[component]
pub fn LiveFeedPage() -> impl IntoView {
    let initial = Resource::new(|| (), |_| recent_events(FEED_SIZE));
    let arrived = RwSignal::new(Vec::<StoredEvent>::new());
    let status = RwSignal::new(LiveStatus::Connecting);
    use_live_events(status, move |event| {
        arrived.update(|rows| {
            rows.insert(0, event);
            rows.truncate(FEED_MAX_ROWS);
        })
    });

    view! {
        <section class="feed">
            <div class="page-head">
                <h1>"Live feed"</h1>
                <LiveBadge status=status/>
            </div>
            <Suspense fallback=|| view! { <p class="empty">"Loading events…"</p> }>
                {move || Suspend::new(async move {
                    match initial.await {
                        Ok(first_page) => {
                            let rows = Signal::derive(move || newest_first(arrived.get(), &first_page));
                            view! { <EventTable rows=rows/> }.into_any()
                        }
                        Err(err) => view! {
                            <p class="error">{format!("Could not load events: {err}")}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// Live arrivals on top of the first page, without the ones the first page already holds.
fn newest_first(mut arrived: Vec<StoredEvent>, first_page: &[StoredEvent]) -> Vec<StoredEvent> {
    let newest_loaded = first_page.first().map_or(0, |e| e.seq);
    arrived.retain(|e| e.seq > newest_loaded);
    arrived.extend_from_slice(first_page);
    arrived.truncate(FEED_MAX_ROWS);
    arrived
}
