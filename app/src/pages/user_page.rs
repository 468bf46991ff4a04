//! `/users/{user}`: one user, by `user_id` or `username`, as the explorer's `user` filter
//! matches it.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use vigil_wire::Entity;

use super::entity::EntityPage;

#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    // The router has decoded the path segment once (`filters::user_href` encoded it).
    let entity =
        Signal::derive(move || params.with(|p| Entity::user(&p.get("user").unwrap_or_default())));
    view! { <EntityPage entity/> }
}
