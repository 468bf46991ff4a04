//! How an alert's severity and status look wherever alerts are listed: words, coloured by class.

use leptos::prelude::*;
use vigil_wire::{AlertSeverity, AlertStatus};

#[component]
pub fn SeverityBadge(severity: AlertSeverity) -> impl IntoView {
    view! {
        <span class=format!("alert-severity severity-{severity}") data-testid="alert-severity">
            {severity.as_str()}
        </span>
    }
}

#[component]
pub fn StatusBadge(status: AlertStatus) -> impl IntoView {
    view! {
        <span class=format!("alert-status status-{status}") data-testid="alert-status">
            {status.as_str()}
        </span>
    }
}
