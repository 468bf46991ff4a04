//! The facets beside every table: each column's most frequent values among the events the URL's
//! filter matches, each with a link that keeps only it and one that leaves it out, and the
//! exclusions in force with a link that drops each.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use vigil_wire::{EventFilter, FacetField, Facets};

use crate::filters::{exclusions_in, url_filter, with_excluded, with_kept, without_pair, Preset};

/// The facets of `filter` (narrowed to `preset`'s kinds); `None` when counting them ran over the
/// server's budget.
#[server(prefix = "/rpc", input = Json)]
pub async fn event_facets(
    filter: EventFilter,
    preset: Option<Preset>,
) -> Result<Option<Facets>, ServerFnError> {
    crate::backend::signed_in()?;
    // Deserialised from the client: checked as the read API checks a query.
    let mut filter = (filter.revalidated()).map_err(|e| ServerFnError::new(e.to_string()))?;
    if let Some(preset) = preset {
        preset.apply(&mut filter);
    }
    (crate::backend::backend()?.0.facets(filter).await).map_err(ServerFnError::new)
}

fn label(field: FacetField) -> &'static str {
    match field {
        FacetField::EventType => "Type",
        FacetField::ActionResult => "Result",
        FacetField::Username => "User",
        FacetField::IpAddress => "Address",
        FacetField::Source => "Source",
        FacetField::UserAgent => "User agent",
        FacetField::ClientId => "Client",
    }
}

#[component]
pub fn FacetPanel(preset: Option<Preset>) -> impl IntoView {
    let query = use_query_map();
    let query_string = Memo::new(move |_| query.with(|q| q.to_query_string()));
    let facets = Resource::new(
        move || query_string.get(),
        move |q| async move { event_facets(url_filter(&q)?, preset).await },
    );
    let excluded = move || {
        let query = query_string.get();
        let chips = exclusions_in(&query);
        (!chips.is_empty()).then(|| {
            view! {
                <div class="excluded" data-testid="exclusions">
                    <span>"Leaving out:"</span>
                    {chips.into_iter().map(|(name, value)| {
                        let href = without_pair(&query, &name, &value);
                        view! {
                            <A href=href attr:class="chip" attr:title="Stop leaving this out">
                                {format!("{}={value}", name)}" ✕"
                            </A>
                        }
                    }).collect_view()}
                </div>
            }
        })
    };
    view! {
        <aside class="facets" data-testid="facets">
            {excluded}
            <Transition fallback=|| view! { <p class="empty">"Counting values…"</p> }>
                {move || Suspend::new(async move {
                    match facets.await {
                        Ok(Some(facets)) => facet_lists(facets, &query_string.get_untracked(), preset).into_any(),
                        Ok(None) => view! {
                            <p class="too-broad" data-testid="facets-too-broad">
                                "Too many events to count values quickly: refine the filter or the time range."
                            </p>
                        }.into_any(),
                        Err(err) => view! { <p class="error">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </aside>
    }
}

fn facet_lists(facets: Facets, query: &str, preset: Option<Preset>) -> impl IntoView {
    let scope = if facets.sampled() {
        format!("In the newest {} matching events", facets.sample_limit)
    } else {
        format!("In all {} matching events", facets.counted)
    };
    // A preset pins the kinds of event; keeping one type would be overridden by it.
    let keepable = move |field: FacetField| preset.is_none() || field != FacetField::EventType;
    let lists = facets.fields.into_iter().filter(|f| !f.values.is_empty()).map(|facet| {
        let param = facet.field.param();
        let rows = facet.values.into_iter().map(|ranked| {
            let keep = keepable(facet.field).then(|| with_kept(query, param, &ranked.value));
            let leave_out = with_excluded(query, param, &ranked.value);
            view! {
                <li>
                    {match keep {
                        Some(href) => view! {
                            <A href=href attr:class="facet-keep" attr:title="Only this">{ranked.value.clone()}</A>
                        }.into_any(),
                        None => view! { <span class="facet-value">{ranked.value.clone()}</span> }.into_any(),
                    }}
                    <span class="count">{ranked.count}</span>
                    <A href=leave_out attr:class="facet-exclude" attr:title="Leave this out">"−"</A>
                </li>
            }
        }).collect_view();
        view! {
            <section class="facet" data-facet=facet.field.as_str()>
                <h3>{label(facet.field)}</h3>
                <ul>{rows}</ul>
            </section>
        }
    }).collect_view();
    view! {
        <p class="facet-scope" data-testid="facet-scope">{scope}</p>
        {lists}
    }
}
