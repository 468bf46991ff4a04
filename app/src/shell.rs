//! The HTML document and the route table.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{ParamSegment, StaticSegment};

use crate::components::{AlertsCount, ChainBadge, OperatorMenu, TimeZoneChoice, TimeZoneToggle};
use crate::live_alerts::AlertChanges;
use crate::pages::{
    AccessPage, AccountPage, AlertDetailPage, AlertsPage, ApiKeysPage, EventDetailPage,
    ExplorerPage, FailuresPage, IpPage, LiveFeedPage, LoginPage, MfaPage, UserPage,
};

/// The document the server sends for every page; the app is hydrated inside `<body>`.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    send_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                // The stylesheet's name carries its hash when the build wrote one (hash.txt).
                <HashedStylesheet id="vigil" options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Scripts run only if this response's nonce is on them (Leptos puts it on its hydration and
/// streaming scripts), or if such a script loaded them; nothing may frame the dashboard. Style
/// attributes stay allowed: the ranked lists' bars are widths, never event values.
#[cfg(feature = "ssr")]
fn send_content_security_policy() {
    use http::{header, HeaderValue};
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; \
         connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; \
         object-src 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    AlertChanges::provide();
    TimeZoneChoice::provide();
    view! {
        <Title text="Vigil"/>
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">"Vigil"</A>
                <nav>
                    <A href="/">"Live feed"</A>
                    <A href="/failures">"Login failures"</A>
                    <A href="/mfa">"MFA changes"</A>
                    <A href="/api-keys">"API keys"</A>
                    <A href="/events">"Explorer"</A>
                    <A href="/alerts">"Alerts"</A>
                    <A href="/access">"Access"</A>
                </nav>
                <AlertsCount/>
                <ChainBadge/>
                <TimeZoneToggle/>
                <OperatorMenu/>
            </header>
            <main>
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    <Route path=StaticSegment("") view=LiveFeedPage/>
                    <Route path=StaticSegment("login") view=LoginPage/>
                    <Route path=StaticSegment("failures") view=FailuresPage/>
                    <Route path=StaticSegment("mfa") view=MfaPage/>
                    <Route path=StaticSegment("api-keys") view=ApiKeysPage/>
                    <Route path=StaticSegment("events") view=ExplorerPage/>
                    <Route path=StaticSegment("access") view=AccessPage/>
                    <Route path=StaticSegment("account") view=AccountPage/>
                    <Route path=(StaticSegment("events"), ParamSegment("id")) view=EventDetailPage/>
                    <Route path=StaticSegment("alerts") view=AlertsPage/>
                    <Route path=(StaticSegment("alerts"), ParamSegment("id")) view=AlertDetailPage/>
                    <Route path=(StaticSegment("users"), ParamSegment("user")) view=UserPage/>
                    <Route path=(StaticSegment("ips"), ParamSegment("ip")) view=IpPage/>
                </Routes>
            </main>
        </Router>
    }
}
