//! What `/users/{user}` and `/ips/{ip}` share: one user's or address's profile over the URL's
//! time range (`since`, `until`; the last 7 days when absent), server-rendered, with the
//! explorer one click away from every number.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};
use vigil_wire::{Entity, EntityProfile, StoredEvent, TimeBound, Volume};

use super::alert_status::reason;
use super::entity_panels::{AlertsNaming, NeighboursPanel, Outcomes, SeenTable, ValueLink};
use crate::components::{BarChart, EventTable, Timestamp, TooBroad};
use crate::filters::{query_pairs, with_time_range};

/// The range a page shows when its URL names none, as the URL would write it.
pub const DEFAULT_SINCE: &str = "7d";

/// Everything an entity page draws.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntityView {
    pub profile: EntityProfile,
    /// Events per bar over the range; `None` when too many to count within the server's budget.
    pub volume: Option<Volume>,
    /// The newest events in range.
    pub events: Vec<StoredEvent>,
    /// More events are in range than `events` holds (the explorer lists them).
    pub more_events: bool,
}

/// The profile, chart and newest events of `entity` between `since` and `until`.
#[server(prefix = "/rpc", endpoint = "entity_overview", input = Json)]
pub async fn entity_overview(
    entity: Entity,
    since: Option<TimeBound>,
    until: Option<TimeBound>,
) -> Result<EntityView, ServerFnError> {
    use vigil_wire::bucket_seconds;
    /// Newest events listed below the panels.
    const NEWEST_EVENTS: u32 = 50;

    crate::backend::signed_in()?;
    // Deserialised from the browser: checked as the URL's were.
    let entity = entity.revalidated().map_err(ServerFnError::new)?;
    let (since, until) = ssr::resolved_range(since, until)?;
    let filter = ssr::filter_of(&entity, since, until);
    let width = bucket_seconds((until - since).num_seconds());
    let backend = crate::backend::backend()?.0;
    let entities = crate::entity_backend::entities()?.0;
    let (profile, volume, page) = futures::join!(
        entities.profile(entity, since, until),
        backend.volume(filter.clone(), since, until, width),
        backend.search(filter, None, NEWEST_EVENTS),
    );
    let page = page.map_err(ServerFnError::new)?;
    Ok(EntityView {
        profile: profile.map_err(ServerFnError::new)?,
        volume: (volume.map_err(ServerFnError::new)?).map(|buckets| Volume {
            bucket_seconds: width,
            buckets,
        }),
        events: page.events,
        more_events: page.next_cursor.is_some(),
    })
}

#[cfg(feature = "ssr")]
mod ssr {
    use chrono::{DateTime, Duration, Utc};
    use leptos::prelude::ServerFnError;
    use vigil_wire::{Entity, EventFilter, IpMatch, TimeBound};

    /// The range as instants: `until` defaults to now, `since` to 7 days before `until`.
    pub fn resolved_range(
        since: Option<TimeBound>,
        until: Option<TimeBound>,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), ServerFnError> {
        // Deserialised from the browser: checked as the read API checks a query.
        let checked = EventFilter {
            since,
            until,
            ..EventFilter::default()
        }
        .revalidated()
        .map_err(|e| ServerFnError::new(e.to_string()))?;
        let now = Utc::now();
        let until = checked.until.as_ref().map_or(now, |b| b.resolve(now));
        let since = match &checked.since {
            Some(bound) => bound.resolve(now),
            None => {
                (until.checked_sub_signed(Duration::days(7))).unwrap_or(DateTime::<Utc>::MIN_UTC)
            }
        };
        if since >= until {
            return Err(ServerFnError::new("`since` must be before `until`"));
        }
        Ok((since, until))
    }

    /// The explorer's filter for the entity's events in range.
    pub fn filter_of(entity: &Entity, since: DateTime<Utc>, until: DateTime<Utc>) -> EventFilter {
        let mut filter = EventFilter {
            since: Some(TimeBound::At(since)),
            until: Some(TimeBound::At(until)),
            ..EventFilter::default()
        };
        match entity {
            Entity::User(user) => filter.user = Some(user.clone()),
            Entity::Ip(ip) => {
                filter.ip = Some(IpMatch {
                    addr: *ip,
                    prefix: if ip.is_ipv4() { 32 } else { 128 },
                })
            }
        }
        filter
    }
}

/// The URL's `since` and `until`, parsed as the explorer parses them.
fn url_range(query: &str) -> Result<(Option<TimeBound>, Option<TimeBound>), String> {
    let mut range = (None, None);
    for (name, value) in query_pairs(query) {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let parsed = || TimeBound::parse(value).map_err(|reason| format!("`{name}`: {reason}"));
        match name.as_str() {
            "since" => range.0 = Some(parsed()?),
            "until" => range.1 = Some(parsed()?),
            _ => {}
        }
    }
    Ok(range)
}

/// The explorer parameters for the page's range: what every pivot carries, so the explorer
/// lists the same stretch of time.
pub fn range_pairs(query: &str) -> Vec<(String, String)> {
    let pairs = query_pairs(query);
    let value = |name: &str| {
        (pairs.iter())
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.clone())
    };
    let mut range = vec![(
        "since".to_owned(),
        value("since").unwrap_or_else(|| DEFAULT_SINCE.to_owned()),
    )];
    range.extend(value("until").map(|until| ("until".to_owned(), until)));
    range
}

/// `/events?…` with `pairs` escaped.
pub fn pivot_href(pairs: &[(String, String)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("/events?{query}")
}

/// A user's or address's page; `entity` is what the URL's path named (or why it names none).
#[component]
pub fn EntityPage(#[prop(into)] entity: Signal<Result<Entity, String>>) -> impl IntoView {
    let query = use_query_map();
    let query_string = Memo::new(move |_| query.with(|q| q.to_query_string()));
    let view_data = Resource::new(
        move || (entity.get(), query_string.get()),
        |(entity, query)| async move {
            let entity = entity?;
            let (since, until) = url_range(&query)?;
            entity_overview(entity, since, until)
                .await
                .map_err(|err| reason(&err))
        },
    );
    view! {
        <section class="entity">
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match view_data.await {
                        Ok(data) => view! { <EntityBody data query=query_string.get_untracked()/> }.into_any(),
                        Err(reason) => view! {
                            <p class="error" data-testid="entity-error">{reason}</p>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn EntityBody(data: EntityView, query: String) -> impl IntoView {
    let EntityView {
        profile,
        volume,
        events,
        more_events,
    } = data;
    let entity = profile.entity.clone();
    let name = entity.to_string();
    let (kind, related_title, related_link) = match entity {
        Entity::User(_) => ("User", "Addresses it came from", ValueLink::Ip),
        Entity::Ip(_) => ("IP", "Users it tried", ValueLink::User),
    };
    // Every pivot narrows the explorer to this entity over this range.
    let mut base = vec![(entity.param().to_owned(), name.clone())];
    base.extend(range_pairs(&query));
    let explorer = pivot_href(&base);
    // The listing's key filter: the alerts whose key contains `user=…` or `ip=…`.
    let alerts_href = format!(
        "/alerts?{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair("key", &format!("{}={name}", entity.param()))
            .finish()
    );
    let chart = match volume {
        Some(volume) => view! { <BarChart volume what="events"/> }.into_any(),
        None => view! { <TooBroad what="events"/> }.into_any(),
    };
    let partial = profile.partial.then(|| {
        let note = format!(
            "Counted from the newest {} events in range — narrow the range for exact numbers.",
            thousands(profile.cap)
        );
        view! { <p class="partial" data-testid="partial">{note}</p> }
    });
    let seen = |at: Option<chrono::DateTime<chrono::Utc>>| match at {
        Some(at) => view! { <Timestamp at/> }.into_any(),
        None => view! { <span class="muted">"never"</span> }.into_any(),
    };
    let older = more_events.then(|| {
        view! { <p class="pager"><a href=explorer.clone() data-testid="older">"Every event in range, in the explorer →"</a></p> }
    });
    view! {
        <div class="page-head entity-head">
            <h1><span class="entity-kind">{kind}</span>" "<span data-testid="entity-name">{name.clone()}</span></h1>
        </div>
        <dl class="fields entity-facts" data-testid="entity-facts">
            <dt>"first seen"</dt><dd data-testid="first-seen">{seen(profile.first_seen)}</dd>
            <dt>"last seen"</dt><dd data-testid="last-seen">{seen(profile.last_seen)}</dd>
            <dt>"events in range"</dt><dd data-testid="counted">{thousands(profile.counted)}</dd>
        </dl>
        <p class="entity-links">
            <A href=explorer.clone() attr:data-testid="open-in-explorer">"Open in explorer"</A>
            " · "<A href=alerts_href>"Its alerts"</A>
        </p>
        <RangePresets query=query.clone()/>
        {partial}
        <h2>"Activity"</h2>
        {chart}
        <h2>"Successes and failures by type"</h2>
        <Outcomes outcomes=profile.outcomes base=base.clone()/>
        <div class="entity-panels">
            <SeenTable title=related_title testid="related" rows=profile.related link=related_link
                param=related_link.param() base=base.clone()/>
            <SeenTable title="User agents" testid="user-agents" rows=profile.user_agents
                link=ValueLink::None param="user_agent" base=base.clone()/>
            <SeenTable title="Sources" testid="sources" rows=profile.sources
                link=ValueLink::None param="source" base=base.clone()/>
        </div>
        {profile.neighbours.map(|neighbours| view! { <NeighboursPanel neighbours range=range_pairs(&query)/> })}
        <h2>"Alerts naming it"</h2>
        <AlertsNaming alerts=profile.alerts/>
        <h2>"Newest events"</h2>
        <EventTable rows=Signal::derive(move || events.clone())/>
        {older}
    }
}

/// `12,345`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// One-click ranges, the other tables' presets; with none chosen the page shows 7 days.
#[component]
fn RangePresets(query: String) -> impl IntoView {
    let pairs = query_pairs(&query);
    let chosen = |name: &str| {
        (pairs.iter())
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let (since, until) = (chosen("since"), chosen("until"));
    let presets: [(&str, &str); 6] = [
        ("15 min", "15m"),
        ("1 hour", "1h"),
        ("24 hours", "24h"),
        ("7 days", DEFAULT_SINCE),
        ("30 days", "30d"),
        ("1 year", "365d"),
    ];
    view! {
        <nav class="time-presets" data-testid="time-presets">
            <span>"Last:"</span>
            {presets.into_iter().map(|(label, preset)| {
                let active = until.is_none() && since.as_deref().unwrap_or(DEFAULT_SINCE) == preset;
                view! {
                    <A href=with_time_range(&query, Some(preset))
                        attr:class=if active { "preset active" } else { "preset" }>
                        {label}
                    </A>
                }
            }).collect_view()}
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pivots_carry_the_range_or_the_default() {
        assert_eq!(
            range_pairs("?since=&foo=1"),
            [("since".to_owned(), "7d".to_owned())]
        );
        assert_eq!(range_pairs("?since=1h&until=2026-01-01T00:00:00Z").len(), 2);
        let href = pivot_href(&[("user".into(), "a&b".into()), ("since".into(), "7d".into())]);
        assert_eq!(href, "/events?user=a%26b&since=7d");
    }

    #[test]
    fn url_ranges_name_a_bad_bound() {
        assert_eq!(
            url_range("?since=1h").unwrap().0,
            TimeBound::parse("1h").ok()
        );
        assert!(url_range("?until=soon").unwrap_err().contains("`until`"));
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(thousands(50_000), "50,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
