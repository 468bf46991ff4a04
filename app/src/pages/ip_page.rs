//! `/ips/{ip}`: one address, with its /24 (IPv4) or /48 (IPv6) neighbours.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use vigil_wire::Entity;

use super::entity::EntityPage;

#[component]
pub fn IpPage() -> impl IntoView {
    let params = use_params_map();
    let entity = Signal::derive(move || {
        params.with(|p| {
            let raw = p.get("ip").unwrap_or_default();
            Entity::ip(&raw).map_err(|reason| format!("{raw:?} is {reason}."))
        })
    });
    view! { <EntityPage entity/> }
}
