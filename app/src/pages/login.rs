//! `/login`: a plain form posted to `/auth/login`, so signing in needs no JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let failed = move || query.with(|q| q.get("failed").is_some());
    let next = move || query.with(|q| q.get("next").unwrap_or_else(|| "/".to_owned()));
    view! {
        <section class="login">
            <h1>"Sign in to Vigil"</h1>
            <Show when=failed>
                <p class="error" data-testid="login-failed">"Wrong username or password."</p>
            </Show>
            <form method="post" action="/auth/login" class="login-form">
                // An attribute, not a property: it is in the server's HTML, so a sign-in before
                // the page hydrates still returns to `next`.
                <input type="hidden" name="next" value=next/>
                <label><span>"Username"</span><input name="username" autocomplete="username" required/></label>
                <label>
                    <span>"Password"</span>
                    <input name="password" type="password" autocomplete="current-password" required/>
                </label>
                <button type="submit">"Sign in"</button>
            </form>
        </section>
    }
}
