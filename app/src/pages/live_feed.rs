//! `/`: the newest events, rendered on the server, then kept current over the live stream.

use leptos::prelude::*;
use vigil_wire::StoredEvent;

use crate::components::LiveTable;

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
    view! {
        <section class="feed">
            <div class="page-head">
                <h1>"Live feed"</h1>
            </div>
            <Suspense fallback=|| view! { <p class="empty">"Loading events…"</p> }>
                {move || Suspend::new(async move {
                    match initial.await {
                        Ok(first_page) => view! {
                            <LiveTable first_page stream_query=Some(String::new()) max_rows=FEED_MAX_ROWS/>
                        }.into_any(),
                        Err(err) => view! {
                            <p class="error">{format!("Could not load events: {err}")}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
