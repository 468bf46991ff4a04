//! The connection indicator: is the table live?

use leptos::prelude::*;

use crate::live::LiveStatus;

#[component]
pub fn LiveBadge(status: RwSignal<LiveStatus>) -> impl IntoView {
    view! {
        <span class=move || format!("live-badge {}", status.get().as_str()) data-testid="live-status">
            {move || status.get().as_str()}
        </span>
    }
}
