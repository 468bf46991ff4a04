//! `/alerts/{id}`: one alert — what the rule means, the events that tripped it, its timeline —
//! and the operator's Acknowledge / Close with a note.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};
use vigil_wire::{Alert, AlertHistoryEntry, StoredEvent};

use super::alert_status::{reason, ChangeAlertStatus, StatusForm};
use super::entity_keys::GroupKey;
use crate::alert_filters::evidence_href;
use crate::components::{EventTable, SeverityBadge, StatusBadge, Timestamp, ZoneName};
use crate::live_alerts::AlertChanges;

/// An alert, its timeline and what its rule means.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertWithHistory {
    pub alert: Alert,
    pub history: Vec<AlertHistoryEntry>,
    /// The rule's description, when the server knows the rule.
    pub description: Option<String>,
}

#[server(prefix = "/rpc", endpoint = "alert_detail")]
pub async fn alert_detail(id: i64) -> Result<Option<AlertWithHistory>, ServerFnError> {
    crate::backend::signed_in()?;
    let backend = crate::backend::backend()?;
    let Some(alert) = backend.0.alert(id).await.map_err(ServerFnError::new)? else {
        return Ok(None);
    };
    let history = (backend.0.alert_history(id).await).map_err(ServerFnError::new)?;
    let description = backend.0.rule_description(&alert.rule_id);
    Ok(Some(AlertWithHistory {
        alert,
        history,
        description,
    }))
}

/// What tripped an alert: its evidence filter (an explorer query) and the events it finds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub filter: String,
    /// The first page, newest first.
    pub events: Vec<StoredEvent>,
}

#[server(prefix = "/rpc", endpoint = "alert_evidence")]
pub async fn alert_evidence(id: i64) -> Result<Evidence, ServerFnError> {
    /// Most evidence events shown; the explorer link has the rest.
    const EVIDENCE_LIMIT: u32 = 100;

    crate::backend::signed_in()?;
    let backend = crate::backend::backend()?;
    let Some(alert) = backend.0.alert(id).await.map_err(ServerFnError::new)? else {
        return Ok(Evidence::default());
    };
    let filter = crate::filters::url_filter(&alert.evidence_filter)?;
    let page =
        (backend.0.search(filter, None, EVIDENCE_LIMIT).await).map_err(ServerFnError::new)?;
    Ok(Evidence {
        filter: alert.evidence_filter,
        events: page.events,
    })
}

#[component]
pub fn AlertDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok())));
    let changes = AlertChanges::current();
    let change = ServerAction::<ChangeAlertStatus>::new();
    let detail = Resource::new(
        move || (id.get(), changes.track(), change.version().get()),
        |(id, _, _)| async move {
            match id {
                Some(id) => alert_detail(id).await,
                None => Ok(None),
            }
        },
    );
    // The form is drawn once per alert, so a refetch (more matches, someone else's change)
    // never takes the note an operator is typing; only which buttons it shows follows along.
    let first = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => alert_detail(id).await,
                None => Ok(None),
            }
        },
    );
    let evidence = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => alert_evidence(id).await,
                None => Ok(Evidence::default()),
            }
        },
    );
    let status_of = |d: Option<Result<Option<AlertWithHistory>, ServerFnError>>| {
        d.and_then(Result::ok).flatten().map(|d| d.alert.status)
    };
    let status = Signal::derive(move || status_of(detail.get()).or_else(|| status_of(first.get())));
    view! {
        <section class="alert-detail">
            <Transition fallback=|| view! { <p class="empty">"Loading alert…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(Some(detail)) => view! { <AlertBody detail/> }.into_any(),
                        Ok(None) => view! { <p class="empty" data-testid="no-alert">"No such alert."</p> }.into_any(),
                        Err(err) => view! { <p class="error">{reason(&err)}</p> }.into_any(),
                    }
                })}
            </Transition>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let found = first.await.ok().flatten().map(|d| d.alert.id);
                    found.map(|id| view! { <StatusForm id status change/> })
                })}
            </Suspense>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match evidence.await {
                        Ok(Evidence { filter, events }) => view! {
                            <div class="page-head evidence-head">
                                <h2>"Evidence"</h2>
                                {(!filter.is_empty()).then(|| view! {
                                    <a href=evidence_href(&filter) data-testid="open-in-explorer">"Open in explorer"</a>
                                })}
                            </div>
                            <EventTable rows=Signal::derive(move || events.clone())/>
                        }.into_any(),
                        Err(err) => view! { <p class="error">{reason(&err)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AlertBody(detail: AlertWithHistory) -> impl IntoView {
    let AlertWithHistory {
        alert,
        history,
        description,
    } = detail;
    // Until the backend knows the rule, its title says what it means.
    let meaning = description.unwrap_or_else(|| alert.title.clone());
    let at = |t: DateTime<Utc>| view! { <Timestamp at=t/> }.into_any();
    let changed = alert.status_changed_by.clone().map(|by| {
        let when = alert
            .status_changed_at
            .map(|t| view! { " at "<Timestamp at=t/> });
        view! { {by}{when} }.into_any()
    });
    // (name, whether it is a time — its heading then names the zone, value)
    let fields: Vec<(&'static str, bool, AnyView)> = [
        ("rule", false, Some(alert.rule_id.clone().into_any())),
        (
            "key",
            false,
            Some(view! { <GroupKey key=alert.group_key.clone()/> }.into_any()),
        ),
        (
            "events",
            false,
            Some(alert.event_count.to_string().into_any()),
        ),
        ("first seen", true, Some(at(alert.first_seen))),
        ("last seen", true, Some(at(alert.last_seen))),
        ("opened", true, Some(at(alert.opened_at))),
        ("status changed by", false, changed),
        ("note", false, alert.note.clone().map(IntoAny::into_any)),
    ]
    .into_iter()
    .filter_map(|(name, zoned, value)| value.map(|v| (name, zoned, v)))
    .collect();
    view! {
        <div class="page-head">
            <SeverityBadge severity=alert.severity/>
            <h1 data-testid="alert-title">{alert.title.clone()}</h1>
            <StatusBadge status=alert.status/>
        </div>
        <p class="blurb rule-meaning" data-testid="rule-description">{meaning}</p>
        <dl class="fields" data-testid="alert-fields">
            {fields.into_iter().map(|(name, zoned, value)| view! {
                <dt>{name}{zoned.then(|| view! { " ("<ZoneName/>")" })}</dt><dd>{value}</dd>
            }).collect_view()}
        </dl>
        <h2>"Timeline"</h2>
        <ol class="timeline" data-testid="alert-timeline">
            {history.into_iter().map(|entry| view! {
                <li class=format!("action-{}", entry.action)>
                    <span class="time"><Timestamp at=entry.at/></span>" "
                    <span class="action">{entry.action.clone()}</span>" by "
                    <span class="by">{entry.by.clone()}</span>
                    <span class="count">{format!(" · {} events", entry.event_count)}</span>
                    {entry.note.map(|note| view! { <p class="note">{note}</p> })}
                </li>
            }).collect_view()}
        </ol>
    }
}
