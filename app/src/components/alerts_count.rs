//! The top bar's open-alert count on every page: rendered by the server, then kept current by
//! the alert stream (it owns the page's one alert socket; see `live_alerts`). Coloured by the
//! worst severity among the alerts not closed; links to `/alerts`.

use leptos::prelude::*;
use leptos_router::components::A;
use vigil_wire::AlertSummary;

use crate::live_alerts::{follow_alert_changes, AlertChanges};

#[server(prefix = "/rpc", endpoint = "alert_summary")]
pub async fn read_alert_summary() -> Result<AlertSummary, ServerFnError> {
    crate::backend::signed_in()?;
    crate::backend::backend()?
        .0
        .alert_summary()
        .await
        .map_err(ServerFnError::new)
}

/// Not on the sign-in page: nobody is signed in there to count for.
#[component]
pub fn AlertsCount() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let signing_in = move || location.pathname.get() == "/login";
    view! {
        <Show when=move || !signing_in()>
            <AlertsCountLink/>
        </Show>
    }
}

#[component]
fn AlertsCountLink() -> impl IntoView {
    let changes = AlertChanges::current();
    let summary = Resource::new(move || changes.track(), |_| read_alert_summary());
    // From the change the server counted up to: nothing after it is missed.
    follow_alert_changes(changes, move || {
        summary.get().map(|s| s.ok().map(|s| s.change_seq))
    });
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                // Unavailable: say nothing rather than a count that may be wrong.
                summary.await.ok().map(|summary| {
                    let worst = summary.worst.map_or("none", |w| w.as_str());
                    let text = match summary.open {
                        0 => "no open alerts".to_owned(),
                        1 => "1 open alert".to_owned(),
                        n => format!("{n} open alerts"),
                    };
                    let title = summary.worst.map_or_else(
                        || "no alert needs attention".to_owned(),
                        |w| format!("the worst is {w}"),
                    );
                    view! {
                        <A href="/alerts" attr:class=format!("alerts-count worst-{worst}")
                            attr:data-testid="alerts-count" attr:data-count=summary.open
                            attr:data-live=move || changes.status.get().as_str() attr:title=title>
                            {text}
                        </A>
                    }
                })
            })}
        </Transition>
    }
}
