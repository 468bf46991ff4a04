//! `/account`: every operator, viewer or admin, may change their own password here. The current
//! password is asked first (a session left open on someone's desk is not enough); the change
//! ends every other session of theirs and is recorded as Vigil's own event.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::alert_status::reason;
use crate::admin_fields::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
use crate::components::current_operator;

/// Changes the signed-in operator's password from `current_password` to `new_password`
/// (typed twice: `confirm_password`).
#[server(prefix = "/rpc", endpoint = "change_own_password")]
pub async fn change_own_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<String, ServerFnError> {
    use crate::admin_backend::{administration, invalid, refused};
    use crate::admin_fields::Password;

    let who = crate::backend::signed_in()?;
    // Bounded before it is hashed, like the new one.
    if current_password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(invalid(
            "`current_password`: is not your current password".to_owned(),
        ));
    }
    let new = Password::parse("new_password", &new_password).map_err(invalid)?;
    if confirm_password != new_password {
        return Err(invalid(
            "`confirm_password`: does not match the new password".to_owned(),
        ));
    }
    if current_password == new_password {
        return Err(invalid(
            "`new_password`: is the current password; choose another".to_owned(),
        ));
    }
    let admin = administration()?;
    (admin.0.change_own_password(who, current_password, new))
        .await
        .map_err(refused)?;
    Ok("Your password was changed; your other sessions were ended.".to_owned())
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_operator());
    let change = ServerAction::<ChangeOwnPassword>::new();
    let form = NodeRef::<leptos::html::Form>::new();
    // A password typed stays on screen no longer than it must.
    Effect::new(move |_| {
        if matches!(change.value().get(), Some(Ok(_))) {
            if let Some(form) = form.get_untracked() {
                form.reset();
            }
        }
    });
    let pending = change.pending();
    view! {
        <section class="account">
            <div class="page-head"><h1>"Account"</h1></div>
            <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    me.await.ok().flatten().map(|me| view! {
                        <p class="blurb" data-testid="account-who">
                            {format!("Signed in as {} ({}).", me.username,
                                if me.admin { "admin" } else { "viewer" })}
                        </p>
                    })
                })}
            </Suspense>
            <h2>"Change your password"</h2>
            <ActionForm action=change node_ref=form>
                <div class="admin-form" data-testid="change-password-form">
                    <label>
                        <span>"Current password"</span>
                        <input name="current_password" type="password" required
                            autocomplete="current-password" maxlength=MAX_PASSWORD_CHARS.to_string()
                            data-testid="current-password"/>
                    </label>
                    <label>
                        <span>{format!("New password ({MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters)")}</span>
                        <input name="new_password" type="password" required autocomplete="new-password"
                            minlength=MIN_PASSWORD_CHARS.to_string() maxlength=MAX_PASSWORD_CHARS.to_string()
                            data-testid="new-password"/>
                    </label>
                    <label>
                        <span>"New password again"</span>
                        <input name="confirm_password" type="password" required autocomplete="new-password"
                            maxlength=MAX_PASSWORD_CHARS.to_string() data-testid="confirm-password"/>
                    </label>
                    <button type="submit" data-testid="change-password" disabled=move || pending.get()>
                        "Change password"
                    </button>
                </div>
            </ActionForm>
            {move || change.value().get().map(|result| match result {
                Ok(done) => view! { <p class="notice" data-testid="password-changed">{done}</p> }.into_any(),
                Err(err) => view! { <p class="error" data-testid="password-error">{reason(&err)}</p> }.into_any(),
            })}
        </section>
    }
}
