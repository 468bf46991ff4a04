//! The charts above the tables: failures per minute and top sources on `/failures`, volume on
//! the explorer. Both read the same URL filter as the table below them.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::{BarChart, TooBroad, TopList};
use crate::filters::url_filter;
use leptos::server_fn::codec::Json;
use vigil_wire::{EventFilter, Ranked, Volume};

/// Each part is `None` when its filter is too broad to count within the server's budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailureSummary {
    pub volume: Option<Volume>,
    pub top_ips: Option<Vec<Ranked>>,
    pub top_usernames: Option<Vec<Ranked>>,
}

#[cfg(feature = "ssr")]
mod ssr {
    use chrono::{DateTime, Duration, Utc};
    use leptos::prelude::ServerFnError;
    use vigil_wire::{EventFilter, TimeBound};

    use crate::filters::Preset;

    /// The filter with its time range made explicit (`default_seconds` back from now when the
    /// reader chose none).
    pub fn chart_range(
        filter: EventFilter,
        preset: Option<Preset>,
        default_seconds: i64,
    ) -> Result<(EventFilter, DateTime<Utc>, DateTime<Utc>), ServerFnError> {
        // Deserialised from the client: checked as the read API checks a query.
        let mut filter = (filter.revalidated()).map_err(|e| ServerFnError::new(e.to_string()))?;
        if let Some(preset) = preset {
            preset.apply(&mut filter);
        }
        let now = Utc::now();
        let until = filter.until.as_ref().map_or(now, |b| b.resolve(now));
        let since = filter
            .since
            .as_ref()
            .map_or(until - Duration::seconds(default_seconds), |b| {
                b.resolve(now)
            });
        if since >= until {
            return Err(ServerFnError::new("`since` must be before `until`"));
        }
        filter.since = Some(TimeBound::At(since));
        filter.until = Some(TimeBound::At(until));
        Ok((filter, since, until))
    }
}

/// The failures chart and top lists for `filter` (narrowed to login failures; the top lists
/// rank failed ones).
#[server(prefix = "/rpc", input = Json)]
pub async fn failure_insights(filter: EventFilter) -> Result<FailureSummary, ServerFnError> {
    use vigil_wire::{bucket_seconds, ActionResult, RankBy};
    let (filter, since, until) =
        ssr::chart_range(filter, Some(crate::filters::Preset::LoginFailures), 3_600)?;
    let width = bucket_seconds((until - since).num_seconds());
    let backend = crate::backend::backend()?.0;
    let buckets =
        (backend.volume(filter.clone(), since, until, width).await).map_err(ServerFnError::new)?;
    let mut failed = filter;
    failed.result.get_or_insert(ActionResult::Failure);
    let top_ips =
        (backend.top(failed.clone(), RankBy::IpAddress, 10).await).map_err(ServerFnError::new)?;
    let top_usernames =
        (backend.top(failed, RankBy::Username, 10).await).map_err(ServerFnError::new)?;
    Ok(FailureSummary {
        volume: buckets.map(|buckets| Volume {
            bucket_seconds: width,
            buckets,
        }),
        top_ips,
        top_usernames,
    })
}

/// The explorer's volume chart for `filter`; `None` when it is too broad to count in budget.
#[server(prefix = "/rpc", input = Json)]
pub async fn explorer_volume(filter: EventFilter) -> Result<Option<Volume>, ServerFnError> {
    use vigil_wire::bucket_seconds;
    let (filter, since, until) = ssr::chart_range(filter, None, 24 * 3_600)?;
    let width = bucket_seconds((until - since).num_seconds());
    let buckets = crate::backend::backend()?
        .0
        .volume(filter, since, until, width)
        .await
        .map_err(ServerFnError::new)?;
    Ok(buckets.map(|buckets| Volume {
        bucket_seconds: width,
        buckets,
    }))
}

fn current_query() -> Memo<String> {
    let query = use_query_map();
    Memo::new(move |_| query.with(|q| q.to_query_string()))
}

#[component]
pub fn FailureCharts() -> impl IntoView {
    let query = current_query();
    let insights = Resource::new(
        move || query.get(),
        |q| async move { failure_insights(url_filter(&q)?).await },
    );
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                insights.await.ok().map(|i| view! {
                    <div class="insights">
                        {chart(i.volume, "failures")}
                        <div class="top-lists">
                            {top_list("Top IPs by failures", "ip", i.top_ips)}
                            {top_list("Top usernames by failures", "user", i.top_usernames)}
                        </div>
                    </div>
                })
            })}
        </Transition>
    }
}

#[component]
pub fn VolumeChart() -> impl IntoView {
    let query = current_query();
    let volume = Resource::new(
        move || query.get(),
        |q| async move { explorer_volume(url_filter(&q)?).await },
    );
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                volume.await.ok().map(|volume| chart(volume, "events"))
            })}
        </Transition>
    }
}

fn chart(volume: Option<Volume>, what: &'static str) -> AnyView {
    match volume {
        Some(volume) => view! { <BarChart volume what/> }.into_any(),
        None => view! { <TooBroad what/> }.into_any(),
    }
}

fn top_list(title: &'static str, param: &'static str, items: Option<Vec<Ranked>>) -> AnyView {
    match items {
        Some(items) => view! { <TopList title param items/> }.into_any(),
        None => {
            view! { <div class="top-list"><h3>{title}</h3><TooBroad what=param/></div> }.into_any()
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn a_part_over_budget_says_so_instead_of_drawing_nothing() {
        let owner = Owner::new();
        owner.set();
        let html = chart(None, "events").to_html();
        assert!(html.contains(r#"data-testid="too-broad""#), "{html}");
        assert!(html.contains("narrow the time range"), "{html}");
        let html = top_list("Top IPs by failures", "ip", None).to_html();
        assert!(
            html.contains("Top IPs by failures") && html.contains("too-broad"),
            "{html}"
        );
    }
}
