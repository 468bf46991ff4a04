//! The top bar's right end: who is signed in (a link to their account page) and the sign-out
//! button. A signed-out visitor (the sign-in page is the one page they can reach) sees neither.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::admin_fields::SignedInOperator;

/// Who is signed in, or nobody: the server's sign-in check puts them in the request (it does
/// not look on the public sign-in page, so nobody is signed in there as far as the page knows).
#[server(prefix = "/rpc", endpoint = "current_operator")]
pub async fn current_operator() -> Result<Option<SignedInOperator>, ServerFnError> {
    Ok(use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<crate::backend::SignedIn>().cloned())
        .map(|who| SignedInOperator {
            username: who.username,
            admin: who.admin,
        }))
}

#[component]
pub fn OperatorMenu() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_operator());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                me.await.ok().flatten().map(|me| view! {
                    <A href="/account" attr:class="account-link" attr:data-testid="account-link"
                        attr:title="Your account: change your password">{me.username}</A>
                    <form method="post" action="/auth/logout" class="signout">
                        <button type="submit" data-testid="sign-out">"Sign out"</button>
                    </form>
                })
            })}
        </Suspense>
    }
}
