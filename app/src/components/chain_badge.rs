//! The top bar's word on the tamper-evident chain: when it was last verified and whether it held.

use chrono::Utc;
use leptos::prelude::*;
use vigil_wire::ChainStatus;

#[server(prefix = "/rpc")]
pub async fn read_chain_status() -> Result<ChainStatus, ServerFnError> {
    crate::backend::backend()?
        .0
        .chain_status()
        .await
        .map_err(ServerFnError::new)
}

/// Not on the sign-in page: it is public, and server rendering calls the server function
/// directly, past the sign-in check that guards `/rpc`.
#[component]
pub fn ChainBadge() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let signing_in = move || location.pathname.get() == "/login";
    view! {
        <Show when=move || !signing_in()>
            <ChainStatusText/>
        </Show>
    }
}

#[component]
fn ChainStatusText() -> impl IntoView {
    let status = Resource::new(|| (), |_| read_chain_status());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                // Signed out (the sign-in page) or unavailable: say nothing rather than guess.
                status.await.ok().map(|status| {
                    let (class, text, title) = describe(&status);
                    view! {
                        <span class=format!("chain-badge {class}") title=title data-testid="chain-status">{text}</span>
                    }
                })
            })}
        </Suspense>
    }
}

/// CSS class, short text and tooltip.
fn describe(status: &ChainStatus) -> (&'static str, String, String) {
    let head = format!(
        "head #{} {}",
        status.seq,
        &status.hash[..12.min(status.hash.len())]
    );
    match &status.last_verification {
        None => (
            "unverified",
            "chain not yet verified".to_owned(),
            format!("{head}; run `vigil verify`"),
        ),
        Some(v) => {
            let minutes = (Utc::now() - v.verified_at).num_minutes().max(0);
            let ago = match minutes {
                0 => "just now".to_owned(),
                m if m < 120 => format!("{m} min ago"),
                m => format!("{} h ago", m / 60),
            };
            match v.first_bad_seq {
                None => (
                    "held",
                    format!("chain verified {ago}"),
                    format!("verified through #{} ({head})", v.through_seq),
                ),
                Some(bad) => (
                    "broken",
                    format!("chain BROKEN at #{bad}"),
                    format!("event #{bad} was changed or removed; checked {ago} ({head})"),
                ),
            }
        }
    }
}
