//! Vigil's dashboard: the Leptos app rendered on the server and hydrated in the browser.

// Leptos views are deeply nested types; release builds (no type erasure) need the headroom.
#![recursion_limit = "512"]

#[cfg(feature = "ssr")]
pub mod admin_backend;
pub mod admin_fields;
pub mod alert_filters;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod components;
#[cfg(feature = "ssr")]
pub mod entity_backend;
pub mod filters;
pub mod live;
pub mod live_alerts;
pub mod pages;
mod shell;

pub use shell::{shell, App};

/// The browser entry point: attach to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
