//! The charts above the tables: failures per minute and top sources on `/failures`, volume on
//! the explorer. Both read the same URL filter as the table below them.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::{BarChart, TopList};
use crate::filters::url_filter;
use leptos::server_fn::codec::Json;
use vigil_wire::{EventFilter, Ranked, Volume};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailureSummary {
    pub volume: Volume,
    pub top_ips: Vec<Ranked>,
    pub top_usernames: Vec<Ranked>,
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

/// The failures chart and top lists for `filter` (narrowed to login failures).
#[server(prefix = "/rpc", input = Json)]
pub async fn failure_insights(filter: EventFilter) -> Result<FailureSummary, ServerFnError> {
    use vigil_wire::{bucket_seconds, RankBy};
    let (filter, since, until) =
        ssr::chart_range(filter, Some(crate::filters::Preset::LoginFailures), 3_600)?;
    let width = bucket_seconds((until - since).num_seconds());
    let backend = crate::backend::backend()?;
    let buckets = backend
        .0
        .volume(filter.clone(), since, until, width)
        .await
        .map_err(ServerFnError::new)?;
    let top_ips = backend
        .0
        .top(filter.clone(), RankBy::IpAddress, 10)
        .await
        .map_err(ServerFnError::new)?;
    let top_usernames = backend
        .0
        .top(filter, RankBy::Username, 10)
        .await
        .map_err(ServerFnError::new)?;
    Ok(FailureSummary {
        volume: Volume {
            bucket_seconds: width,
            buckets,
        },
        top_ips,
        top_usernames,
    })
}

/// The explorer's volume chart for `filter`.
#[server(prefix = "/rpc", input = Json)]
pub async fn explorer_volume(filter: EventFilter) -> Result<Volume, ServerFnError> {
    use vigil_wire::bucket_seconds;
    let (filter, since, until) = ssr::chart_range(filter, None, 24 * 3_600)?;
    let width = bucket_seconds((until - since).num_seconds());
    let buckets = crate::backend::backend()?
        .0
        .volume(filter, since, until, width)
        .await
        .map_err(ServerFnError::new)?;
    Ok(Volume {
        bucket_seconds: width,
        buckets,
    })
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
                        <BarChart volume=i.volume what="failures"/>
                        <div class="top-lists">
                            <TopList title="Top IPs by failures" param="ip" items=i.top_ips/>
                            <TopList title="Top usernames by failures" param="user" items=i.top_usernames/>
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
                volume.await.ok().map(|volume| view! { <BarChart volume what="events"/> })
            })}
        </Transition>
    }
}
