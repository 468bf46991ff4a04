//! The filter form above every table: a GET form, so the filter is the URL (and works without
//! JavaScript); hydrated, the router submits it without a reload.

use leptos::prelude::*;
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_query_map;
use vigil_wire::{ActionResult, Severity, KNOWN_EVENT_TYPES};

use crate::filters::{exclusions_in, with_time_range};

/// Categories offered in the type picker, before the individual types.
const CATEGORIES: [&str; 7] = [
    "authentication",
    "token",
    "oauth",
    "mfa",
    "password",
    "api_key",
    "custom",
];

#[component]
pub fn FilterForm(show_type: bool) -> impl IntoView {
    let query = use_query_map();
    let value = move |name: &'static str| query.with(|q| q.get(name).unwrap_or_default());
    let choice = move |name: &'static str, option: &'static str| {
        query.with(|q| q.get(name).as_deref() == Some(option))
    };
    let text_input = move |label: &'static str, name: &'static str, placeholder: &'static str| {
        let suggestions = matches!(name, "since" | "until").then_some("time-presets");
        let input = NodeRef::<leptos::html::Input>::new();
        // The server renders the URL's value; after that, a new URL (back, Clear, a pivot) sets
        // the input. Not when the page hydrates: that would wipe what the reader typed while
        // the page was loading.
        Effect::new(move |hydrated: Option<()>| {
            let current = value(name);
            if hydrated.is_some() {
                if let Some(input) = input.get_untracked() {
                    input.set_value(&current);
                }
            }
        });
        view! {
            <label>
                <span>{label}</span>
                <input type="search" name=name placeholder=placeholder value=value(name)
                    node_ref=input list=suggestions/>
            </label>
        }
    };
    let select = move |label: &'static str, name: &'static str, options: Vec<&'static str>| {
        view! {
            <label>
                <span>{label}</span>
                <select name=name>
                    <option value="">"any"</option>
                    {options.into_iter().map(|o| view! {
                        <option value=o selected=move || choice(name, o)>{o}</option>
                    }).collect_view()}
                </select>
            </label>
        }
    };
    let types: Vec<&'static str> = CATEGORIES
        .into_iter()
        .chain(KNOWN_EVENT_TYPES.iter().map(|k| k.canonical))
        .collect();
    view! {
        <Form method="GET" action="" attr:class="filters" attr:data-testid="filters">
            {text_input("User", "user", "user id or name")}
            {text_input("IP or network", "ip", "10.1.0.0/16")}
            {show_type.then(|| select("Type", "type", types))}
            {select("Result", "result", ActionResult::ALL.iter().map(|r| r.as_str()).collect())}
            {select("Severity", "severity", Severity::ALL.iter().map(|s| s.as_str()).collect())}
            {text_input("Source", "source", "producer key")}
            {text_input("Session", "session", "raw session id")}
            {text_input("Text", "q", "in reason, error, user agent")}
            {text_input("Since", "since", "24h or 2026-01-31T00:00:00Z")}
            {text_input("Until", "until", "1h or RFC 3339")}
            <Show when=move || !value("session_fp").is_empty()>
                <input type="hidden" name="session_fp" prop:value=move || value("session_fp")/>
            </Show>
            // What the facets set and the form has no field for: kept across "Apply".
            {move || {
                let query = query.with(|q| q.to_query_string());
                let exact = (["user_agent", "client_id"].into_iter())
                    .map(|name| (name.to_owned(), value(name)))
                    .filter(|(_, v)| !v.is_empty());
                exact.chain(exclusions_in(&query)).map(|(name, value)| view! {
                    <input type="hidden" name=name value=value/>
                }).collect_view()
            }}
            <datalist id="time-presets">
                <option value="15m"/><option value="1h"/><option value="24h"/><option value="7d"/><option value="30d"/>
            </datalist>
            <div class="filter-actions">
                <button type="submit">"Apply"</button>
                <a href="?" class="reset">"Clear"</a>
            </div>
        </Form>
        <TimePresets/>
    }
}

/// One-click time ranges; "Since" and "Until" above take anything else (RFC 3339 or relative).
#[component]
fn TimePresets() -> impl IntoView {
    let query = use_query_map();
    let current = Memo::new(move |_| query.with(|q| q.to_query_string()));
    let range = move || query.with(|q| (q.get("since"), q.get("until")));
    let presets: [(&str, Option<&str>); 6] = [
        ("15 min", Some("15m")),
        ("1 hour", Some("1h")),
        ("24 hours", Some("24h")),
        ("7 days", Some("7d")),
        ("30 days", Some("30d")),
        ("all time", None),
    ];
    view! {
        <nav class="time-presets" data-testid="time-presets">
            <span>"Last:"</span>
            {presets.into_iter().map(|(label, since)| {
                let active = move || range() == (since.map(str::to_owned), None);
                view! {
                    <A href=move || with_time_range(&current.get(), since)
                        attr:class=move || if active() { "preset active" } else { "preset" }>
                        {label}
                    </A>
                }
            }).collect_view()}
        </nav>
    }
}
