//! `/access`: who can reach Vigil — every API key and every operator, without secrets. Admins
//! only: a viewer investigates events, an admin also answers "who holds a key to this system?".

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use vigil_wire::AccessList;

/// Refused unless the signed-in operator is an admin.
#[server(prefix = "/rpc", endpoint = "access")]
pub async fn read_access() -> Result<AccessList, ServerFnError> {
    let admin = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<crate::backend::SignedIn>().cloned())
        .is_some_and(|who| who.admin);
    if !admin {
        return Err(ServerFnError::new("only admins can see who has access"));
    }
    crate::backend::backend()?
        .0
        .access()
        .await
        .map_err(ServerFnError::new)
}

#[component]
pub fn AccessPage() -> impl IntoView {
    let access = Resource::new(|| (), |_| read_access());
    let day = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    view! {
        <section class="access">
            <div class="page-head"><h1>"Access"</h1></div>
            <p class="blurb">"Every API key and operator that can reach Vigil. Manage them with "
                <code>"vigil keys"</code>" and "<code>"vigil users"</code>"."</p>
            <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match access.await {
                        Ok(list) => view! {
                            <h2>"API keys"</h2>
                            <table class="events" data-testid="access-keys">
                                <thead><tr><th>"Name"</th><th>"Kind"</th><th>"Created (UTC)"</th><th>"Revoked"</th></tr></thead>
                                <tbody>
                                    {list.keys.into_iter().map(|k| view! {
                                        <tr><td>{k.name}</td><td>{k.kind}</td><td>{day(&k.created_at)}</td>
                                            <td>{k.revoked_at.as_ref().map(day).unwrap_or_else(|| "active".to_owned())}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <h2>"Operators"</h2>
                            <table class="events" data-testid="access-operators">
                                <thead><tr><th>"Username"</th><th>"Role"</th><th>"Created (UTC)"</th><th>"Disabled"</th></tr></thead>
                                <tbody>
                                    {list.operators.into_iter().map(|o| view! {
                                        <tr><td>{o.username}</td><td>{o.role}</td><td>{day(&o.created_at)}</td>
                                            <td>{o.disabled_at.as_ref().map(day).unwrap_or_else(|| "active".to_owned())}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(err) => view! {
                            <p class="error" data-testid="access-refused">{err.to_string()}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
