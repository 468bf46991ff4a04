//! Acknowledge / Close on an alert's page: the dashboard's one state-changing server function,
//! and its form. A POST with the session cookie, so the server's origin check covers it like
//! every other (`server/src/http/origin.rs`); it works without JavaScript too (a plain form
//! post, answered with a redirect back to the page).

use leptos::form::ActionForm;
use leptos::prelude::*;
use vigil_wire::{Alert, AlertStatus, MAX_ALERT_NOTE_CHARS};

/// Moves alert `id` to `status` (`acknowledged` or `closed`) in the signed-in operator's name,
/// with their note. Viewers and admins alike may.
#[server(prefix = "/rpc", endpoint = "change_alert_status")]
pub async fn change_alert_status(
    id: i64,
    status: String,
    note: Option<String>,
) -> Result<Alert, ServerFnError> {
    use crate::backend::ChangeRefused;
    use http::StatusCode;
    use ssr::refuse;

    let operator = crate::backend::signed_in()?;
    let to = match AlertStatus::parse(&status) {
        Some(to @ (AlertStatus::Acknowledged | AlertStatus::Closed)) => to,
        _ => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "`status`: must be acknowledged or closed".to_owned(),
            ))
        }
    };
    // A blank note is no note (the form always sends the field).
    let note = note.filter(|n| !n.trim().is_empty());
    let chars = note.as_deref().map_or(0, |n| n.chars().count());
    if chars > MAX_ALERT_NOTE_CHARS {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            format!("`note`: at most {MAX_ALERT_NOTE_CHARS} characters (this one has {chars})"),
        ));
    }
    let changed = crate::backend::backend()?
        .0
        .change_alert_status(id, to, operator.username, note)
        .await;
    changed.map_err(|refused| match refused {
        ChangeRefused::NotFound => refuse(StatusCode::NOT_FOUND, "no such alert".to_owned()),
        ChangeRefused::NotAllowed(why) => refuse(StatusCode::CONFLICT, why),
        ChangeRefused::Unavailable(why) => ServerFnError::new(why),
    })
}

#[cfg(feature = "ssr")]
mod ssr {
    use leptos::prelude::{use_context, ServerFnError};

    /// The operator's error, as a 4xx: the response says it was theirs, not the server's.
    pub fn refuse(status: http::StatusCode, message: String) -> ServerFnError {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(status);
        }
        ServerFnError::new(message)
    }
}

/// The message a server function's error carries, without the framework's preamble.
pub fn reason(err: &ServerFnError) -> String {
    match err {
        ServerFnError::ServerError(message) => message.clone(),
        other => other.to_string(),
    }
}

#[component]
pub fn StatusForm(
    id: i64,
    /// The alert's status as last fetched: which buttons make sense.
    #[prop(into)]
    status: Signal<Option<AlertStatus>>,
    change: ServerAction<ChangeAlertStatus>,
) -> impl IntoView {
    let form = NodeRef::<leptos::html::Form>::new();
    // Once a change went through its note is in the timeline: clear the form for the next.
    Effect::new(move |_| {
        if matches!(change.value().get(), Some(Ok(_))) {
            if let Some(form) = form.get_untracked() {
                form.reset();
            }
        }
    });
    let may = move |to: AlertStatus| status.get().is_some_and(|s| s.may_become(to));
    let pending = change.pending();
    view! {
        <Show when=move || may(AlertStatus::Acknowledged) || may(AlertStatus::Closed)>
            <ActionForm action=change node_ref=form>
                <div class="status-form">
                    <input type="hidden" name="id" value=id/>
                    <label>
                        <span>{format!("Note (at most {MAX_ALERT_NOTE_CHARS} characters)")}</span>
                        <textarea name="note" rows="3" maxlength=MAX_ALERT_NOTE_CHARS.to_string()
                            data-testid="alert-note" placeholder="What you found, what you did"></textarea>
                    </label>
                    <div class="filter-actions">
                        <Show when=move || may(AlertStatus::Acknowledged)>
                            <button type="submit" name="status" value="acknowledged"
                                data-testid="ack-button" disabled=move || pending.get()>"Acknowledge"</button>
                        </Show>
                        <Show when=move || may(AlertStatus::Closed)>
                            <button type="submit" name="status" value="closed"
                                data-testid="close-button" disabled=move || pending.get()>"Close"</button>
                        </Show>
                    </div>
                </div>
            </ActionForm>
        </Show>
        {move || change.value().get().and_then(Result::err).map(|err| view! {
            <p class="error" data-testid="status-error">{reason(&err)}</p>
        })}
    }
}
