//! `/alerts`: what the detection rules raised, not closed first, worst first, newest first (the
//! order the store lists them in). The filter lives in the URL like the explorer's; pages follow
//! a keyset cursor; a new or changed alert shows up without a reload.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_query_map;
use vigil_wire::{Alert, AlertPage, AlertSeverity, AlertStatus};

use super::entity_keys::GroupKey;
use crate::alert_filters::AlertFilter;
use crate::components::{LiveBadge, SeverityBadge, StatusBadge, Timestamp, ZoneName};
use crate::filters::{url_cursor, with_cursor};
use crate::live_alerts::AlertChanges;

/// One page of the alerts `filter` matches, after `cursor`.
#[server(prefix = "/rpc", endpoint = "alerts", input = Json)]
pub async fn list_alerts(
    filter: AlertFilter,
    cursor: Option<String>,
) -> Result<AlertPage, ServerFnError> {
    /// Alerts per page.
    const PAGE_SIZE: u32 = 50;

    crate::backend::signed_in()?;
    // Deserialised from the browser: checked as the URL's was.
    let filter = filter.checked().map_err(ServerFnError::new)?;
    crate::backend::backend()?
        .0
        .alerts(filter, cursor, PAGE_SIZE)
        .await
        .map_err(ServerFnError::new)
}

#[component]
pub fn AlertsPage() -> impl IntoView {
    let changes = AlertChanges::current();
    let query = use_query_map();
    let query_string = Memo::new(move |_| query.with(|q| q.to_query_string()));
    let page = Resource::new(
        move || (query_string.get(), changes.track()),
        |(q, _)| async move {
            let filter = AlertFilter::from_query(&q).map_err(ServerFnError::new)?;
            list_alerts(filter, url_cursor(&q)).await
        },
    );
    view! {
        <section class="alerts">
            <div class="page-head">
                <h1>"Alerts"</h1>
                <LiveBadge status=changes.status/>
            </div>
            <p class="blurb">"What the detection rules raised: alerts not closed first, the worst first, the newest first."</p>
            <AlertFilterForm/>
            <Transition fallback=|| view! { <p class="empty">"Loading alerts…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(AlertPage { alerts, next_cursor }) => {
                            let next = next_cursor.map(|c| with_cursor(&query_string.get_untracked(), &c));
                            view! {
                                <AlertTable alerts/>
                                {next.map(|href| view! {
                                    <p class="pager"><a href=href data-testid="next-alerts">"Next →"</a></p>
                                })}
                            }.into_any()
                        }
                        Err(err) => view! {
                            <p class="error" data-testid="filter-error">{err.to_string()}</p>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AlertTable(alerts: Vec<Alert>) -> impl IntoView {
    if alerts.is_empty() {
        return view! { <p class="empty" data-testid="no-alerts">"No alerts match."</p> }
            .into_any();
    }
    view! {
        <table class="events alerts-table" data-testid="alerts">
            <thead>
                <tr>
                    <th>"Severity"</th><th>"Alert"</th><th>"Key"</th><th>"Events"</th>
                    <th>"First seen ("<ZoneName/>")"</th><th>"Last seen ("<ZoneName/>")"</th><th>"Status"</th>
                </tr>
            </thead>
            <tbody>
                {alerts.into_iter().map(|alert| view! {
                    <tr data-testid="alert-row" data-alert-id=alert.id
                        class=format!("alert-row status-{}", alert.status)>
                        <td><SeverityBadge severity=alert.severity/></td>
                        <td class="title">
                            <A href=format!("/alerts/{}", alert.id)>{alert.title.clone()}</A>
                            <span class="rule-id">{alert.rule_id.clone()}</span>
                        </td>
                        <td class="key"><GroupKey key=alert.group_key.clone()/></td>
                        <td class="count" data-testid="alert-count">{alert.event_count}</td>
                        <td class="time"><Timestamp at=alert.first_seen/></td>
                        <td class="time"><Timestamp at=alert.last_seen/></td>
                        <td><StatusBadge status=alert.status/></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// A GET form, so the filter is the URL (and works without JavaScript).
#[component]
fn AlertFilterForm() -> impl IntoView {
    let query = use_query_map();
    let value = move |name: &'static str| query.with(|q| q.get(name).unwrap_or_default());
    // What the server renders; after that, `prop:value` follows the URL.
    let rendered =
        move |name: &'static str| query.with_untracked(|q| q.get(name).unwrap_or_default());
    let select = move |label: &'static str, name: &'static str, options: Vec<&'static str>| {
        view! {
            <label>
                <span>{label}</span>
                <select name=name>
                    <option value="">"any"</option>
                    {options.into_iter().map(|o| view! {
                        <option value=o selected=move || value(name) == o>{o}</option>
                    }).collect_view()}
                </select>
            </label>
        }
    };
    view! {
        <Form method="GET" action="" attr:class="filters" attr:data-testid="alert-filters">
            <label>
                <span>"Rule"</span>
                <input type="search" name="rule" placeholder="brute-force-ip"
                    value=rendered("rule") prop:value=move || value("rule")/>
            </label>
            {select("Status", "status", AlertStatus::ALL.iter().map(|s| s.as_str()).collect())}
            {select("Severity", "severity", AlertSeverity::ALL.iter().rev().map(|s| s.as_str()).collect())}
            <label>
                <span>"Key"</span>
                <input type="search" name="key" placeholder="ip=203.0.113.7"
                    value=rendered("key") prop:value=move || value("key")/>
            </label>
            <div class="filter-actions">
                <button type="submit">"Apply"</button>
                <a href="?" class="reset">"Clear"</a>
            </div>
        </Form>
    }
}
