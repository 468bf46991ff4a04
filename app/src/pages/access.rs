//! `/access`: who can reach Vigil — every API key and every operator, without secrets — and,
//! for admins, the forms that change them (`access_forms`). Admins only: a viewer investigates
//! events, an admin also answers "who holds a key to this system?" and acts on the answer.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use vigil_wire::AccessList;

use super::access_forms::{
    AccessActions, NewKeyForm, NewOperatorForm, OperatorActions, Outcome, RevokeKeyButton,
};
use crate::components::{current_operator, TimeFormat, Timestamp, ZoneName};

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
    let actions = AccessActions::new();
    let access = Resource::new(move || actions.versions(), |_| read_access());
    let me = Resource::new(|| (), |_| current_operator());
    let day =
        |t: &DateTime<Utc>| view! { <Timestamp at=*t format=TimeFormat::Minutes/> }.into_any();
    view! {
        <section class="access">
            <div class="page-head"><h1>"Access"</h1></div>
            <p class="blurb">"Every API key and operator that can reach Vigil. Each change made here is "
                "recorded as an event with source "<code>"vigil"</code>"; "<code>"vigil keys"</code>" and "
                <code>"vigil users"</code>" on the server do the same."</p>
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let you = me.await.ok().flatten().map(|me| me.username);
                    match access.await {
                        Ok(list) => view! {
                            <h2>"API keys"</h2>
                            <NewKeyForm create=actions.create_key/>
                            <Outcome said=actions.key_outcome testid="key-action"/>
                            <table class="events" data-testid="access-keys">
                                <thead><tr><th>"Name"</th><th>"Kind"</th><th>"Created ("<ZoneName/>")"</th><th>"Revoked"</th><th></th></tr></thead>
                                <tbody>
                                    {list.keys.into_iter().map(|k| {
                                        let revoke = k.revoked_at.is_none().then(|| view! {
                                            <RevokeKeyButton name=k.name.clone() revoke=actions.revoke_key/>
                                        });
                                        let row_name = k.name.clone();
                                        view! {
                                            <tr data-testid="key-row" data-name=row_name><td>{k.name}</td><td>{k.kind}</td><td>{day(&k.created_at)}</td>
                                                <td>{k.revoked_at.as_ref().map(day).unwrap_or_else(|| "active".into_any())}</td>
                                                <td>{revoke}</td></tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <h2>"Operators"</h2>
                            <NewOperatorForm create=actions.create_operator/>
                            <Outcome said=actions.operator_outcome testid="operator-action"/>
                            <table class="events" data-testid="access-operators">
                                <thead><tr><th>"Username"</th><th>"Role"</th><th>"Created ("<ZoneName/>")"</th><th>"Disabled"</th><th></th></tr></thead>
                                <tbody>
                                    {list.operators.into_iter().map(|o| {
                                        // Not on one's own row: that is the account page's.
                                        let manage = (o.disabled_at.is_none() && you.as_deref() != Some(&o.username))
                                            .then(|| view! { <OperatorActions username=o.username.clone() actions/> });
                                        let row_name = o.username.clone();
                                        view! {
                                            <tr data-testid="operator-row" data-name=row_name><td>{o.username}</td><td>{o.role}</td><td>{day(&o.created_at)}</td>
                                                <td>{o.disabled_at.as_ref().map(day).unwrap_or_else(|| "active".into_any())}</td>
                                                <td>{manage}</td></tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(err) => view! {
                            <p class="error" data-testid="access-refused">{err.to_string()}</p>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
