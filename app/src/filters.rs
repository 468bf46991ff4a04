//! Filters as the dashboard handles them: the preset views, and links that pivot the explorer.

use serde::{Deserialize, Serialize};
use vigil_wire::{Category, EventFilter, EventType};

/// The fixed views a security team opens first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Preset {
    LoginFailures,
    MfaChanges,
    ApiKeyActivity,
}

impl Preset {
    /// Pins the kinds of event the view is about; every other filter stays the reader's.
    pub fn apply(self, filter: &mut EventFilter) {
        filter.types.clear();
        filter.categories.clear();
        match self {
            Preset::LoginFailures => filter
                .types
                .push(EventType::parse("auth.login.failure").expect("a seed type")),
            Preset::MfaChanges => filter.categories.push(Category::Mfa),
            Preset::ApiKeyActivity => filter.categories.push(Category::ApiKey),
        }
    }
}

/// The URL's filter, parsed as the read API parses it: what the pages send their server
/// functions, so those take an `EventFilter`, never a raw query string.
pub fn url_filter(query: &str) -> Result<EventFilter, leptos::prelude::ServerFnError> {
    let pairs = query_pairs(query);
    EventFilter::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| leptos::prelude::ServerFnError::new(e.to_string()))
}

/// The URL's `cursor` (a `next_cursor` the server issued), if any.
pub fn url_cursor(query: &str) -> Option<String> {
    query_pairs(query)
        .into_iter()
        .find(|(k, v)| k == "cursor" && !v.is_empty())
        .map(|(_, v)| v)
}

/// Parses a query string (with or without `?`) into pairs.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
        .into_owned()
        .collect()
}

/// `/events?name=value`, escaped: a pivot from one value in a row to everything like it.
pub fn explorer_href(name: &str, value: &str) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair(name, value)
        .finish();
    format!("/events?{query}")
}

/// `/users/{user}`: the user's page. A user named `.` or `..` cannot be a path segment
/// (browsers resolve it away, escaped or not), so it pivots the explorer instead.
pub fn user_href(user: &str) -> String {
    if matches!(user, "" | "." | "..") {
        return explorer_href("user", user);
    }
    format!("/users/{}", path_segment(user))
}

/// `/ips/{ip}`: the address's page.
pub fn ip_href(ip: &str) -> String {
    format!("/ips/{}", path_segment(ip))
}

/// `value` as one path segment: every byte but RFC 3986's unreserved ones and `:` (IPv6 stays
/// readable) percent-encoded, so `/`, `?`, `#`, `%` and unicode round-trip through the router's
/// one decoding.
fn path_segment(value: &str) -> String {
    let mut segment = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b':') {
            segment.push(char::from(byte));
        } else {
            segment.push_str(&format!("%{byte:02X}"));
        }
    }
    segment
}

/// The current query with `cursor` replaced: the link to the next page.
pub fn with_cursor(query: &str, cursor: &str) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in query_pairs(query) {
        if name != "cursor" && !value.is_empty() {
            serializer.append_pair(&name, &value);
        }
    }
    serializer.append_pair("cursor", cursor);
    format!("?{}", serializer.finish())
}

/// The current query keeping only `value` for `name` (a facet's include): earlier values of
/// `name` and an exclusion of this value go, and paging starts over.
pub fn with_kept(query: &str, name: &str, value: &str) -> String {
    let negated = format!("-{name}");
    rebuilt(
        query,
        |k, v| k != name && !(k == negated && v == value),
        &[(name, value)],
    )
}

/// The current query also leaving out `value` for `name` (a facet's exclude, `-name=value`);
/// keeping that very value stops, and paging starts over.
pub fn with_excluded(query: &str, name: &str, value: &str) -> String {
    let negated = format!("-{name}");
    rebuilt(
        query,
        |k, v| !(k == name && v == value),
        &[(&negated, value)],
    )
}

/// The current query without one `name=value` pair (an exclusion's ✕), paging started over.
pub fn without_pair(query: &str, name: &str, value: &str) -> String {
    rebuilt(query, |k, v| !(k == name && v == value), &[])
}

/// The pairs of `query` that `keep` accepts (never the cursor or empty values), then `extra`.
fn rebuilt(query: &str, keep: impl Fn(&str, &str) -> bool, extra: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in query_pairs(query) {
        if name != "cursor" && !value.is_empty() && keep(&name, &value) {
            serializer.append_pair(&name, &value);
        }
    }
    for (name, value) in extra {
        serializer.append_pair(name, value);
    }
    format!("?{}", serializer.finish())
}

/// The exclusions in `query` (`-source=vigil`, …), one per value, as the URL has them.
pub fn exclusions_in(query: &str) -> Vec<(String, String)> {
    query_pairs(query)
        .into_iter()
        .filter(|(name, value)| {
            vigil_wire::EXCLUSION_PARAMS.contains(&name.as_str()) && !value.is_empty()
        })
        .collect()
}

/// The current query with the time range set to "the last `since`" (or all time for `None`):
/// the time presets above every table. Paging starts over.
pub fn with_time_range(query: &str, since: Option<&str>) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in query_pairs(query) {
        if !matches!(name.as_str(), "since" | "until" | "cursor") && !value.is_empty() {
            serializer.append_pair(&name, &value);
        }
    }
    if let Some(since) = since {
        serializer.append_pair("since", since);
    }
    format!("?{}", serializer.finish())
}

/// The filter a table shows for `query` (a URL query string) under `preset`, as query
/// parameters, the cursor left out: what its live stream and its exports carry. `None` for a
/// filter the server would refuse anyway.
fn table_filter_params(query: &str, preset: Option<Preset>) -> Option<String> {
    let pairs: Vec<(String, String)> = query_pairs(query)
        .into_iter()
        .filter(|(name, _)| name != "cursor")
        .collect();
    let mut filter =
        EventFilter::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).ok()?;
    if let Some(preset) = preset {
        preset.apply(&mut filter);
    }
    Some(
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(filter.to_params())
            .finish(),
    )
}

/// The export links for a table: every page of its filter, as CSV and as NDJSON.
pub fn export_hrefs(query: &str, preset: Option<Preset>) -> Option<(String, String)> {
    let params = table_filter_params(query, preset)?;
    Some((
        format!("/api/v1/events/export.csv?{params}"),
        format!("/api/v1/events/export.ndjson?{params}"),
    ))
}

/// The live-stream query for a table: the same filter, so the stream carries exactly the events
/// the table would list. `None` for an older page (it has a cursor): new events do not belong.
pub fn stream_query(query: &str, preset: Option<Preset>) -> Option<String> {
    let older_page = query_pairs(query)
        .iter()
        .any(|(name, value)| name == "cursor" && !value.is_empty());
    if older_page {
        return None;
    }
    table_filter_params(query, preset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pivots_and_pages_escape_values() {
        assert_eq!(explorer_href("user", "a&b c"), "/events?user=a%26b+c");
        assert_eq!(
            with_cursor("?user=x&cursor=old&ip=", "n_1"),
            "?user=x&cursor=n_1"
        );
    }

    #[test]
    fn facet_links_keep_or_leave_out_one_value() {
        let query = "?user=x&type=mfa&cursor=1_2&-source=vigil";
        assert_eq!(
            with_kept(query, "type", "auth.logout"),
            "?user=x&-source=vigil&type=auth.logout"
        );
        assert_eq!(
            with_excluded(query, "source", "billing"),
            "?user=x&type=mfa&-source=vigil&-source=billing"
        );
        assert_eq!(
            with_kept(query, "source", "vigil"),
            "?user=x&type=mfa&source=vigil"
        );
        assert_eq!(with_excluded("?user=a+b", "user", "a b"), "?-user=a+b");
        assert_eq!(without_pair(query, "-source", "vigil"), "?user=x&type=mfa");
        assert_eq!(
            exclusions_in(query),
            [("-source".to_owned(), "vigil".to_owned())]
        );
        // What the links build parses back into the filter they mean.
        let excluded = url_filter(&with_excluded(query, "ip", "10.0.0.0/8")).unwrap();
        assert_eq!(excluded.exclude.ips.len(), 1);
        assert_eq!(excluded.exclude.sources, ["vigil"]);
    }

    #[test]
    fn entity_links_escape_their_path_segment() {
        assert_eq!(user_href("alice"), "/users/alice");
        assert_eq!(user_href("a/b?c#d é%"), "/users/a%2Fb%3Fc%23d%20%C3%A9%25");
        assert_eq!(user_href("../"), "/users/..%2F");
        assert_eq!(user_href(".."), "/events?user=..");
        assert_eq!(ip_href("2001:db8::1"), "/ips/2001:db8::1");
        assert_eq!(ip_href("203.0.113.7"), "/ips/203.0.113.7");
    }

    #[test]
    fn time_presets_replace_the_range_and_keep_the_rest() {
        assert_eq!(
            with_time_range("?user=x&since=7d&until=1h&cursor=1_2", Some("24h")),
            "?user=x&since=24h"
        );
        assert_eq!(with_time_range("?user=x&since=7d", None), "?user=x");
    }

    #[test]
    fn exports_cover_every_page_of_the_filter() {
        let (csv, ndjson) =
            export_hrefs("?ip=10.0.0.0/8&cursor=1_2", Some(Preset::MfaChanges)).unwrap();
        assert_eq!(csv, "/api/v1/events/export.csv?ip=10.0.0.0%2F8&type=mfa");
        assert_eq!(
            ndjson,
            "/api/v1/events/export.ndjson?ip=10.0.0.0%2F8&type=mfa"
        );
        assert_eq!(export_hrefs("?ip=nonsense", None), None);
    }

    #[test]
    fn stream_queries_carry_the_table_filter_and_the_preset() {
        assert_eq!(
            stream_query("?user=a+b&type=mfa", Some(Preset::LoginFailures)).as_deref(),
            Some("user=a+b&type=auth.login.failure")
        );
        assert_eq!(stream_query("", None).as_deref(), Some(""));
        assert_eq!(
            stream_query("?user=x&cursor=1_2", None),
            None,
            "older pages stay still"
        );
        assert_eq!(stream_query("?ip=nonsense", None), None);
    }

    #[test]
    fn presets_override_the_kind_filter_only() {
        let mut filter = EventFilter {
            user: Some("alice".into()),
            ..EventFilter::default()
        };
        filter.categories.push(Category::Token);
        Preset::MfaChanges.apply(&mut filter);
        assert_eq!(filter.categories, [Category::Mfa]);
        assert_eq!(filter.user.as_deref(), Some("alice"));
    }
}
