//! Negation (`-user=`, `-ip=`, `-type=`, `-result=`, `-source=`, `-user_agent=`, `-client_id=`)
//! and the exact `user_agent=` / `client_id=` filters, the same in the read API, the exports,
//! the live stream and the charts; and the facets beside the dashboard's tables.

use crate::common;

use common::live::{follow, next_json};
use common::{create_key, TestApp};
use serde_json::{json, Value};
use vigil_server::storage::{EventStore, KeyKind};
use vigil_wire::{EventFilter, FacetField};

struct Reader {
    app: TestApp,
    key: String,
}

impl Reader {
    async fn get(&self, path_and_query: &str) -> (u16, Value) {
        let response = (self.app.http.get(self.app.url(path_and_query)))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Usernames (or `-` for none) of the first page for a query, newest first.
    async fn names(&self, query: &str) -> Vec<String> {
        let (status, body) = self.get(&format!("/api/v1/events?{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        (body["events"].as_array().unwrap().iter())
            .map(|e| e["username"].as_str().unwrap_or("-").to_owned())
            .collect()
    }
}

/// Six events, one field or another missing on some: exclusions never drop those.
async fn seeded() -> Reader {
    let app = TestApp::spawn().await;
    let key = create_key(&app.database, "investigations", KeyKind::Read).await;
    app.ingest(&json!([
        {"event_type": "auth.login.failure", "username": "alice", "user_id": "u1", "ip_address": "10.1.2.3",
         "user_agent": "curl/8.0", "occurred_at": "2026-01-01T10:00:00Z"},
        {"event_type": "auth.login.success", "username": "alice", "user_id": "u1", "ip_address": "10.9.0.1",
         "user_agent": "Mozilla/5.0 (X11, Linux)", "occurred_at": "2026-01-01T10:01:00Z"},
        {"event_type": "auth.token.issued", "username": "bob", "ip_address": "2001:db8::7",
         "client_id": "cli", "occurred_at": "2026-01-01T11:00:00Z"},
        {"event_type": "auth.token.issued", "username": "carol", "ip_address": "192.0.2.1",
         "client_id": "web", "user_agent": "curl/8.0", "occurred_at": "2026-01-01T12:00:00Z"},
        {"event_type": "auth.logout", "user_id": "svc-health", "occurred_at": "2026-01-01T13:00:00Z"},
        {"event_type": "auth.mfa.enabled", "username": "dave", "ip_address": "10.1.2.3",
         "occurred_at": "2026-01-01T14:00:00Z"}
    ]))
    .await;
    Reader { app, key }
}

#[tokio::test]
async fn each_exclusion_leaves_out_its_rows_and_keeps_events_without_the_field() {
    let r = seeded().await;
    let all = ["dave", "-", "carol", "bob", "alice", "alice"];
    assert_eq!(r.names("").await, all);
    assert_eq!(r.names("-user=alice").await, ["dave", "-", "carol", "bob"]);
    assert_eq!(
        r.names("-user=svc-health&-user=u1").await,
        ["dave", "carol", "bob"],
        "a user is matched by user_id too"
    );
    assert_eq!(
        r.names("-ip=10.0.0.0/8").await,
        ["-", "carol", "bob"],
        "no address: not excluded by an address"
    );
    assert_eq!(
        r.names("-ip=10.1.2.3,2001:db8::/32").await,
        ["-", "carol", "alice"]
    );
    assert_eq!(
        r.names("-type=token,auth.logout").await,
        ["dave", "alice", "alice"]
    );
    assert_eq!(
        r.names("-result=failure").await,
        ["dave", "-", "carol", "bob", "alice"]
    );
    assert_eq!(r.names("-source=test-producer").await, Vec::<String>::new());
    assert_eq!(r.names("-source=vigil").await, all);
    assert_eq!(
        r.names("-user_agent=curl/8.0").await,
        ["dave", "-", "bob", "alice"]
    );
    assert_eq!(
        r.names("-client_id=cli").await,
        ["dave", "-", "carol", "alice", "alice"]
    );
    // Kept and left out together; the exact filters on their own.
    assert_eq!(r.names("user=alice&-ip=10.9.0.0/16").await, ["alice"]);
    assert_eq!(r.names("user_agent=curl/8.0").await, ["carol", "alice"]);
    assert_eq!(r.names("client_id=web").await, ["carol"]);
    assert_eq!(
        r.names("user_agent=Mozilla%2F5.0+%28X11%2C+Linux%29").await,
        ["alice"],
        "a comma in a text value is not a list"
    );
}

#[tokio::test]
async fn bad_exclusions_are_refused_naming_the_parameter() {
    let r = seeded().await;
    for (query, param) in [
        ("-ip=nope", "-ip"),
        ("-type=Bad+Type", "-type"),
        ("-result=meh", "-result"),
    ] {
        let (status, body) = r.get(&format!("/api/v1/events?{query}")).await;
        assert_eq!(status, 422, "{query}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(&format!("`{param}`")), "{query}: {body}");
    }
    let many: String = (0..=vigil_wire::MAX_EXCLUDED)
        .map(|i| format!("-user=u{i}&"))
        .collect();
    let (status, body) = r.get(&format!("/api/v1/events?{many}")).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("at most 32"), "{body}");
}

#[tokio::test]
async fn exports_leave_out_what_the_read_api_leaves_out() {
    let r = seeded().await;
    let response = (r.app.http.get(
        r.app
            .url("/api/v1/events/export.ndjson?-user=alice&-ip=192.0.2.0/24"),
    ))
    .bearer_auth(&r.key)
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let mut names: Vec<String> = (text.lines())
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .map(|e| e["username"].as_str().unwrap_or("-").to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["-", "bob", "dave"]);
}

#[tokio::test]
async fn the_live_stream_leaves_out_excluded_events() {
    let app = TestApp::spawn().await;
    let mut socket = follow(&app, "-user=noisy&-source=vigil&-ip=10.0.0.0%2F8")
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await["kind"], "heartbeat");
    app.ingest(&json!([
        {"event_type": "auth.login.success", "username": "noisy"},
        {"event_type": "auth.login.success", "username": "inside", "ip_address": "10.2.3.4"},
        {"event_type": "auth.login.success", "username": "kept", "ip_address": "192.0.2.9"},
        {"event_type": "auth.login.success", "username": "marker"}
    ]))
    .await;
    let mut names = Vec::new();
    while names.last().map(String::as_str) != Some("marker") {
        let message = next_json(&mut socket).await;
        if message["kind"] == "event" {
            names.push(message["event"]["username"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(names, ["kept", "marker"]);
}

/// Charts read the aggregates for an exclusion they keep (type, result, source) and raw rows
/// for one they do not (a user): both equal the rows the read API lists.
#[tokio::test]
async fn charts_count_exactly_what_an_exclusion_leaves() {
    let r = seeded().await;
    let store = EventStore::new(r.app.database.pool.clone());
    store.roll_up_all().await.unwrap();
    // One more after the roll-up: counted from the table beside the aggregates.
    r.app
        .ingest(&json!({"event_type": "auth.logout", "username": "late", "occurred_at": "2026-01-01T15:00:00Z"}))
        .await;
    let since = "2026-01-01T00:00:00Z".parse().unwrap();
    let until = "2026-01-02T00:00:00Z".parse().unwrap();
    for query in [
        "-type=auth.logout",
        "-result=success,failure",
        "-user=alice",
        "-source=vigil",
    ] {
        let filter = EventFilter::from_params(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect::<Vec<_>>()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .unwrap();
        let buckets = store.volume(&filter, since, until, 86_400).await.unwrap();
        let counted: i64 = buckets
            .expect("within budget")
            .iter()
            .map(|b| b.count)
            .sum();
        let listed = r.names(query).await.len() as i64;
        assert_eq!(counted, listed, "{query}");
    }
}

#[tokio::test]
async fn facets_count_the_newest_matching_events_exactly() {
    let r = seeded().await;
    let store = EventStore::new(r.app.database.pool.clone());
    let filter = EventFilter::from_params([("-user", "dave")]).unwrap();
    let facets = store
        .facets(&filter, 1_000)
        .await
        .unwrap()
        .expect("in budget");
    assert_eq!((facets.counted, facets.sampled()), (5, false));
    let values = |field: FacetField| -> Vec<(String, i64)> {
        let facet = facets.fields.iter().find(|f| f.field == field).unwrap();
        facet
            .values
            .iter()
            .map(|v| (v.value.clone(), v.count))
            .collect()
    };
    let pair = |v: &str, n: i64| (v.to_owned(), n);
    assert_eq!(
        values(FacetField::EventType),
        [
            pair("auth.token.issued", 2),
            pair("auth.login.failure", 1),
            pair("auth.login.success", 1),
            pair("auth.logout", 1)
        ]
    );
    assert_eq!(
        values(FacetField::Username),
        [pair("alice", 2), pair("bob", 1), pair("carol", 1)]
    );
    assert_eq!(
        values(FacetField::IpAddress),
        [
            pair("10.1.2.3", 1),
            pair("10.9.0.1", 1),
            pair("192.0.2.1", 1),
            pair("2001:db8::7", 1)
        ]
    );
    assert_eq!(
        values(FacetField::UserAgent),
        [pair("curl/8.0", 2), pair("Mozilla/5.0 (X11, Linux)", 1)]
    );
    assert_eq!(
        values(FacetField::ClientId),
        [pair("cli", 1), pair("web", 1)]
    );
    assert_eq!(values(FacetField::Source), [pair("test-producer", 5)]);
    assert_eq!(
        values(FacetField::ActionResult),
        [pair("success", 4), pair("failure", 1)]
    );

    // A smaller sample counts only the newest events, and says so.
    let newest = store
        .facets(&EventFilter::default(), 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((newest.counted, newest.sampled()), (2, true));
    let types = &newest
        .fields
        .iter()
        .find(|f| f.field == FacetField::EventType)
        .unwrap()
        .values;
    let mut names: Vec<&str> = types.iter().map(|v| v.value.as_str()).collect();
    names.sort();
    assert_eq!(names, ["auth.logout", "auth.mfa.enabled"]);
}

/// The panel beside the explorer, as the server renders it for a signed-in operator: values as
/// text, each with a keep and a leave-out link carrying the URL's filter.
#[tokio::test]
async fn the_explorer_renders_facets_with_keep_and_leave_out_links() {
    let r = seeded().await;
    r.app
        .ingest(&json!({"event_type": "auth.login.failure", "username": "<b>x</b>&\"y\""}))
        .await;
    let client = r.app.signed_in().await;
    let page = (client
        .get(r.app.url("/events?-source=vigil"))
        .send()
        .await
        .unwrap())
    .text()
    .await
    .unwrap();
    assert!(page.contains("data-testid=\"facets\""), "{page}");
    assert!(page.contains("In all "), "{page}");
    assert!(
        page.contains("href=\"/events?-source=vigil&amp;user=alice\"")
            || page.contains("href=\"?-source=vigil&amp;user=alice\""),
        "{page}"
    );
    assert!(page.contains("-source=vigil&amp;-user=alice"), "{page}");
    assert!(page.contains("&lt;b&gt;x&lt;/b&gt;"), "a value is text");
    assert!(!page.contains("<b>x</b>"), "never markup");

    // Signed out, the function refuses.
    let anonymous = (r.app.http.post(r.app.url("/rpc/event_facets")))
        .header("origin", r.app.url(""))
        .json(&json!({"filter": {}, "preset": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}
