//! An alert's group key (`user=alice ip=203.0.113.7`) with its user and address parts linked to
//! their entity pages, and its network part to the explorer. The text reads as the key does.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::filters::{explorer_href, ip_href, user_href};

/// The parts detection rules key by (server/src/detect/rule.rs, `Part::name`).
const KEY_PARTS: [&str; 9] = [
    "ip",
    "network",
    "user",
    "username",
    "source",
    "api_key_id",
    "client_id",
    "user_agent",
    "event_type",
];

/// The key's `(part, value)` pairs. A value may hold spaces (a user agent): a word that does not
/// start with a known `part=` continues the value before it.
pub fn key_parts(key: &str) -> Vec<(String, String)> {
    let mut parts: Vec<(String, String)> = Vec::new();
    for word in key.split(' ') {
        let named = word
            .split_once('=')
            .filter(|(part, _)| KEY_PARTS.contains(part));
        match (named, parts.last_mut()) {
            (Some((part, value)), _) => parts.push((part.to_owned(), value.to_owned())),
            (None, Some((_, value))) => {
                value.push(' ');
                value.push_str(word);
            }
            (None, None) => parts.push((String::new(), word.to_owned())),
        }
    }
    parts
}

#[component]
pub fn GroupKey(key: String) -> impl IntoView {
    let parts = key_parts(&key);
    let count = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, (part, value))| {
            let href = match part.as_str() {
                "ip" => Some(ip_href(&value)),
                "user" | "username" => Some(user_href(&value)),
                "network" => Some(explorer_href("ip", &value)),
                _ => None,
            };
            let label = if part.is_empty() {
                String::new()
            } else {
                format!("{part}=")
            };
            let value = match href {
                Some(href) => {
                    view! { <A href=href attr:class="entity-link">{value}</A> }.into_any()
                }
                None => view! { <span>{value}</span> }.into_any(),
            };
            view! { {label}{value}{(i + 1 < count).then_some(" ")} }
        })
        .collect_view()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_into_parts_and_values_keep_their_spaces() {
        let pairs = |key| key_parts(key);
        assert_eq!(
            pairs("user=alice ip=203.0.113.7"),
            [
                ("user".to_owned(), "alice".to_owned()),
                ("ip".to_owned(), "203.0.113.7".to_owned())
            ]
        );
        assert_eq!(
            pairs("user_agent=Mozilla/5.0 (X11) ip=::1"),
            [
                ("user_agent".to_owned(), "Mozilla/5.0 (X11)".to_owned()),
                ("ip".to_owned(), "::1".to_owned())
            ]
        );
        assert_eq!(pairs("odd"), [(String::new(), "odd".to_owned())]);
    }
}
