//! The entity pages' tables: counts by type and result, the values seen with the entity (its
//! addresses or users, user agents, sources, neighbours) and the alerts naming it. Every value
//! is a text node; every count pivots the explorer.

use leptos::prelude::*;
use leptos_router::components::A;
use vigil_wire::{ActionResult, EntityAlert, Neighbours, OutcomeCount, SeenValue};

use super::entity::{pivot_href, thousands};
use super::entity_keys::GroupKey;
use crate::components::{SeverityBadge, StatusBadge, Timestamp};
use crate::filters::{ip_href, user_href};

/// Where a value of a panel leads besides the explorer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueLink {
    User,
    Ip,
    None,
}

impl ValueLink {
    /// The explorer parameter its values are.
    pub fn param(self) -> &'static str {
        match self {
            ValueLink::User => "user",
            ValueLink::Ip => "ip",
            ValueLink::None => "q",
        }
    }

    fn href(self, value: &str) -> Option<String> {
        match self {
            ValueLink::User => Some(user_href(value)),
            ValueLink::Ip => Some(ip_href(value)),
            ValueLink::None => None,
        }
    }
}

/// `base` (the entity and the range) and one more pair.
fn with_pair(base: &[(String, String)], name: &str, value: &str) -> String {
    let mut pairs = base.to_vec();
    pairs.push((name.to_owned(), value.to_owned()));
    pivot_href(&pairs)
}

/// Counts by event type, a column per result; each count pivots to exactly those events.
#[component]
pub fn Outcomes(outcomes: Vec<OutcomeCount>, base: Vec<(String, String)>) -> impl IntoView {
    if outcomes.is_empty() {
        return view! { <p class="empty" data-testid="outcomes">"No events in range."</p> }
            .into_any();
    }
    // Busiest type first: the rows arrive busiest (type, result) first.
    let mut types: Vec<String> = Vec::new();
    for outcome in &outcomes {
        if !types.contains(&outcome.event_type) {
            types.push(outcome.event_type.clone());
        }
    }
    let count = |event_type: &str, result: ActionResult| {
        (outcomes.iter())
            .find(|o| o.event_type == event_type && o.result == result)
            .map_or(0, |o| o.count)
    };
    let rows = types
        .into_iter()
        .map(|event_type| {
            let cells = ActionResult::ALL
                .iter()
                .map(|&result| {
                    let n = count(&event_type, result);
                    let mut pairs = base.clone();
                    pairs.push(("type".to_owned(), event_type.clone()));
                    pairs.push(("result".to_owned(), result.as_str().to_owned()));
                    let cell = (n > 0).then(|| {
                        view! { <A href=pivot_href(&pairs) attr:class="pivot">{thousands(n)}</A> }
                    });
                    view! { <td class=format!("count result-{}", result.as_str()) data-result=result.as_str()>{cell}</td> }
                })
                .collect_view();
            view! {
                <tr data-type=event_type.clone()>
                    <td class="type">{event_type.clone()}</td>
                    {cells}
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="events entity-outcomes" data-testid="outcomes">
            <thead>
                <tr>
                    <th>"Type"</th>
                    {ActionResult::ALL.iter().map(|r| view! { <th class="count">{r.as_str()}</th> }).collect_view()}
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// Values seen with the entity: count, failures, first and last seen, a link to the value's
/// own page where it has one and a pivot to the explorer.
#[component]
pub fn SeenTable(
    title: &'static str,
    testid: &'static str,
    rows: Vec<SeenValue>,
    link: ValueLink,
    /// The explorer parameter the pivot narrows by.
    param: &'static str,
    base: Vec<(String, String)>,
    /// A count at this cap may be more (neighbours count up to a cap per address).
    #[prop(optional)]
    cap: Option<i64>,
) -> impl IntoView {
    let body = if rows.is_empty() {
        view! { <p class="empty">"None in range."</p> }.into_any()
    } else {
        let rows = rows
            .into_iter()
            .map(|row| {
                let text = row.value.clone();
                let value = match link.href(&row.value) {
                    Some(href) => {
                        view! { <A href=href attr:class="entity-link">{text}</A> }.into_any()
                    }
                    None => view! { <span class="value">{text}</span> }.into_any(),
                };
                let capped = cap.is_some_and(|cap| row.count >= cap);
                let count = format!("{}{}", thousands(row.count), if capped { "+" } else { "" });
                view! {
                    <tr data-value=row.value.clone()>
                        <td class="value">{value}</td>
                        <td class="count" data-testid="seen-count">{count}</td>
                        <td class="count failures">{thousands(row.failures)}</td>
                        <td class="time"><Timestamp at=row.first_seen/></td>
                        <td class="time"><Timestamp at=row.last_seen/></td>
                        <td><A href=with_pair(&base, param, &row.value) attr:class="pivot filter"
                            attr:title="these events in the explorer">"filter"</A></td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="events seen">
                <thead>
                    <tr>
                        <th></th><th class="count">"events"</th><th class="count">"failures"</th>
                        <th>"first"</th><th>"last"</th><th></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <div class="entity-panel" data-testid=testid>
            <h3>{title}</h3>
            {body}
        </div>
    }
}

/// The other addresses of the address's /24 or /48.
#[component]
pub fn NeighboursPanel(neighbours: Neighbours, range: Vec<(String, String)>) -> impl IntoView {
    let mut network = vec![("ip".to_owned(), neighbours.network.clone())];
    network.extend(range.iter().cloned());
    let note = neighbours.partial.then(|| {
        format!(
            "Partial: at most {} addresses are looked at and {} events counted per address.",
            thousands(neighbours.addresses_cap),
            thousands(neighbours.per_address_cap)
        )
    });
    view! {
        <div class="page-head neighbours-head">
            <h2>{format!("Neighbours in {}", neighbours.network)}</h2>
            <A href=pivot_href(&network) attr:data-testid="network-pivot">"the whole network in the explorer"</A>
        </div>
        {note.map(|note| view! { <p class="partial" data-testid="neighbours-partial">{note}</p> })}
        <SeenTable title="Other addresses" testid="neighbours" rows=neighbours.addresses
            link=ValueLink::Ip param="ip" base=range cap=neighbours.per_address_cap/>
    }
}

/// Alerts whose key names the entity, newest first.
#[component]
pub fn AlertsNaming(alerts: Vec<EntityAlert>) -> impl IntoView {
    if alerts.is_empty() {
        return view! { <p class="empty" data-testid="entity-alerts">"No alerts name it."</p> }
            .into_any();
    }
    view! {
        <table class="events alerts-table" data-testid="entity-alerts">
            <thead>
                <tr>
                    <th>"Severity"</th><th>"Alert"</th><th>"Key"</th><th class="count">"Events"</th>
                    <th>"Last seen"</th><th>"Status"</th>
                </tr>
            </thead>
            <tbody>
                {alerts.into_iter().map(|alert| view! {
                    <tr data-testid="alert-row" data-alert-id=alert.id>
                        <td><SeverityBadge severity=alert.severity/></td>
                        <td class="title">
                            <A href=format!("/alerts/{}", alert.id)>{alert.title.clone()}</A>
                            <span class="rule-id">{alert.rule_id.clone()}</span>
                        </td>
                        <td class="key"><GroupKey key=alert.group_key.clone()/></td>
                        <td class="count">{thousands(alert.event_count)}</td>
                        <td class="time"><Timestamp at=alert.last_seen/></td>
                        <td><StatusBadge status=alert.status/></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
