//! A filtered, paged event table whose filter lives in the URL: the SSR page for a URL shows
//! exactly that filter's rows, links can be shared, and back/forward walk the filter history.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::hooks::use_query_map;
use vigil_wire::{EventFilter, EventPage};

use super::insights::{FailureCharts, VolumeChart};
use crate::components::{FacetPanel, FilterForm, LiveTable};
use crate::filters::{export_hrefs, stream_query, url_cursor, url_filter, with_cursor, Preset};

/// One page of the events `filter` (narrowed to `preset`'s kinds) matches, after `cursor`.
#[server(prefix = "/rpc", input = Json)]
pub async fn search_events(
    filter: EventFilter,
    cursor: Option<String>,
    preset: Option<Preset>,
) -> Result<EventPage, ServerFnError> {
    /// Rows per page in the dashboard.
    const PAGE_SIZE: u32 = 50;

    // Deserialised from the client: checked as the read API checks a query.
    let mut filter = (filter.revalidated()).map_err(|e| ServerFnError::new(e.to_string()))?;
    if let Some(preset) = preset {
        preset.apply(&mut filter);
    }
    crate::backend::backend()?
        .0
        .search(filter, cursor, PAGE_SIZE)
        .await
        .map_err(ServerFnError::new)
}

#[component]
pub fn EventsView(
    preset: Option<Preset>,
    title: &'static str,
    blurb: &'static str,
) -> impl IntoView {
    let query = use_query_map();
    let query_string = Memo::new(move |_| query.with(|q| q.to_query_string()));
    let page = Resource::new(
        move || query_string.get(),
        move |q| async move { search_events(url_filter(&q)?, url_cursor(&q), preset).await },
    );

    view! {
        <section class="events-view">
            <div class="page-head">
                <h1>{title}</h1>
            </div>
            <p class="blurb">{blurb}</p>
            <FilterForm show_type=preset.is_none()/>
            {match preset {
                Some(Preset::LoginFailures) => view! { <FailureCharts/> }.into_any(),
                None => view! { <VolumeChart/> }.into_any(),
                Some(_) => ().into_any(),
            }}
            <div class="with-facets">
            <FacetPanel preset/>
            <div class="table-column">
            <Transition fallback=|| view! { <p class="empty">"Loading events…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(EventPage { events, next_cursor }) => {
                            let query = query_string.get();
                            let older = next_cursor.map(|cursor| with_cursor(&query, &cursor));
                            let exports = export_hrefs(&query, preset).map(|(csv, ndjson)| view! {
                                <p class="exports">"Export every matching event: "
                                    <a href=csv download data-testid="export-csv">"CSV"</a>" · "
                                    <a href=ndjson download data-testid="export-ndjson">"NDJSON"</a>
                                </p>
                            });
                            view! {
                                {exports}
                                <LiveTable first_page=events stream_query=stream_query(&query, preset)/>
                                {older.map(|href| view! {
                                    <p class="pager"><a href=href data-testid="older">"Older events →"</a></p>
                                })}
                            }.into_any()
                        }
                        Err(err) => view! {
                            <p class="error" data-testid="filter-error">{err.to_string()}</p>
                        }.into_any(),
                    }
                })}
            </Transition>
            </div>
            </div>
        </section>
    }
}
