//! The preset views and the explorer: one filtered table each, differing only in what is pinned.

use leptos::prelude::*;

use super::events_view::EventsView;
use crate::filters::Preset;

#[component]
pub fn FailuresPage() -> impl IntoView {
    view! {
        <EventsView preset=Some(Preset::LoginFailures) title="Login failures"
            blurb="Every failed sign-in: who was targeted, from where, and why it failed."/>
    }
}

#[component]
pub fn MfaPage() -> impl IntoView {
    view! {
        <EventsView preset=Some(Preset::MfaChanges) title="MFA changes"
            blurb="MFA enabled and disabled, and every challenge passed or failed."/>
    }
}

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    view! {
        <EventsView preset=Some(Preset::ApiKeyActivity) title="API-key activity"
            blurb="API keys created, used and revoked, with key name and id."/>
    }
}

#[component]
pub fn ExplorerPage() -> impl IntoView {
    view! {
        <EventsView preset=None title="Explorer"
            blurb="Every event; narrow by user, IP or network, type, result, time and more."/>
    }
}
