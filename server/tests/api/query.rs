//! The read API and its query layer: every filter, their combinations, CIDR v4/v6, relative
//! times, keyset paging with ties in time, and access by read key only.

use crate::common;

use common::{create_key, TestApp};
use serde_json::{json, Value};
use vigil_server::storage::KeyKind;

struct Reader {
    app: TestApp,
    key: String,
}

impl Reader {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let key = create_key(&app.database, "investigations", KeyKind::Read).await;
        Reader { app, key }
    }

    async fn get(&self, path_and_query: &str) -> (u16, Value) {
        let response = self
            .app
            .http
            .get(self.app.url(path_and_query))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Usernames of the first page for a query, newest first.
    async fn names(&self, query: &str) -> Vec<String> {
        let (status, body) = self.get(&format!("/api/v1/events?{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["username"].as_str().unwrap_or("").to_owned())
            .collect()
    }
}

/// A small world: who did what, from where, when.
async fn seeded() -> Reader {
    let reader = Reader::new().await;
    reader
        .app
        .ingest(&json!([
            {"event_type": "auth.login.failure", "username": "alice", "user_id": "u1", "ip_address": "10.1.2.3",
             "reason": "Invalid credentials", "occurred_at": "2026-01-01T10:00:00Z"},
            {"event_type": "auth.login.success", "username": "alice", "user_id": "u1", "ip_address": "10.1.2.3",
             "session_id": "sess-A", "occurred_at": "2026-01-01T10:01:00Z"},
            {"event_type": "auth.mfa.enabled", "username": "bob", "user_id": "u2", "ip_address": "10.2.0.9",
             "occurred_at": "2026-01-01T11:00:00Z"},
            {"event_type": "auth.api_key.used", "username": "carol", "user_id": "u3", "ip_address": "2001:db8::7",
             "api_key_name": "ci", "user_agent": "Deploy-Bot/1.0", "occurred_at": "2026-01-01T12:00:00Z"},
            {"event_type": "auth.token.validation_failed", "username": "dave", "ip_address": "2001:db9::1",
             "reason": "Token 100% expired", "severity": "error", "occurred_at": "2026-01-01T13:00:00Z"},
            {"event_type": "auth.login.failure", "username": "erin", "user_id": "alice", "ip_address": "192.0.2.1",
             "reason": "Locked", "occurred_at": "2026-01-01T14:00:00Z"}
        ]))
        .await;
    reader
}

#[tokio::test]
async fn each_filter_narrows_the_rows() {
    let r = seeded().await;
    assert_eq!(
        r.names("").await,
        ["erin", "dave", "carol", "bob", "alice", "alice"],
        "newest first"
    );
    assert_eq!(
        r.names("user=alice").await,
        ["erin", "alice", "alice"],
        "user_id or username"
    );
    assert_eq!(r.names("user=u2").await, ["bob"]);
    assert_eq!(r.names("ip=10.1.2.3").await, ["alice", "alice"]);
    assert_eq!(r.names("ip=10.0.0.0/8").await, ["bob", "alice", "alice"]);
    assert_eq!(r.names("ip=10.2.0.0/16").await, ["bob"]);
    assert_eq!(r.names("ip=2001:db8::/32").await, ["carol"]);
    assert_eq!(r.names("ip=2001:db8::/31").await, ["dave", "carol"]);
    assert_eq!(r.names("type=auth.login.failure").await, ["erin", "alice"]);
    assert_eq!(r.names("type=LOGIN_SUCCESS").await, ["alice"]);
    assert_eq!(
        r.names("type=mfa,api_key").await,
        ["carol", "bob"],
        "categories"
    );
    assert_eq!(r.names("type=mfa&type=auth.logout").await, ["bob"]);
    assert_eq!(r.names("result=failure").await, ["erin", "dave", "alice"]);
    assert_eq!(r.names("severity=error").await, ["dave"]);
    assert_eq!(r.names("source=test-producer").await.len(), 6);
    assert!(r.names("source=other").await.is_empty());
    assert_eq!(
        r.names("session=sess-A").await,
        ["alice"],
        "raw session id, matched by fingerprint"
    );
    assert_eq!(
        r.names("q=deploy-bot").await,
        ["carol"],
        "case-insensitive, user_agent too"
    );
    assert_eq!(r.names("q=100%25").await, ["dave"], "% is literal");
    assert!(r.names("q=1_0").await.is_empty(), "_ is literal");
    assert_eq!(
        r.names("since=2026-01-01T12:00:00Z").await,
        ["erin", "dave", "carol"]
    );
    assert_eq!(
        r.names("until=2026-01-01T11:00:00Z").await,
        ["alice", "alice"],
        "until is exclusive"
    );
}

#[tokio::test]
async fn filters_combine() {
    let r = seeded().await;
    assert_eq!(
        r.names("user=alice&result=failure").await,
        ["erin", "alice"]
    );
    assert_eq!(
        r.names("user=alice&result=failure&ip=10.0.0.0/8").await,
        ["alice"]
    );
    assert_eq!(
        r.names("type=authentication&since=2026-01-01T10:00:30Z&until=2026-01-01T13:30:00Z")
            .await,
        ["alice"]
    );
}

#[tokio::test]
async fn relative_times_count_back_from_now() {
    let r = Reader::new().await;
    let now = chrono::Utc::now();
    let at = |minutes: i64| (now - chrono::Duration::minutes(minutes)).to_rfc3339();
    r.app
        .ingest(&json!([
            {"event_type": "auth.logout", "username": "recent", "occurred_at": at(5)},
            {"event_type": "auth.logout", "username": "hour-old", "occurred_at": at(90)},
            {"event_type": "auth.logout", "username": "old", "occurred_at": at(60 * 24 * 3)}
        ]))
        .await;
    assert_eq!(r.names("since=15m").await, ["recent"]);
    assert_eq!(r.names("since=2h").await, ["recent", "hour-old"]);
    assert_eq!(r.names("since=7d&until=1h").await, ["hour-old", "old"]);
}

#[tokio::test]
async fn keyset_pages_cover_ties_in_time_exactly_once() {
    let r = Reader::new().await;
    let same_time = "2026-03-01T00:00:00Z";
    let batch: Vec<Value> =
        (0..7).map(|i| json!({"event_type": "auth.logout", "username": format!("u{i}"), "occurred_at": same_time})).collect();
    r.app.ingest(&Value::Array(batch)).await;
    let mut seen = Vec::new();
    let mut query = "limit=3".to_owned();
    let mut pages = 0;
    loop {
        let (status, body) = r.get(&format!("/api/v1/events?{query}")).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        seen.extend(
            body["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_i64().unwrap()),
        );
        match body["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=3&cursor={cursor}"),
            None => break,
        }
        assert!(pages < 10, "paging must end");
    }
    assert_eq!(pages, 3);
    let mut expected = seen.clone();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    expected.dedup();
    assert_eq!(seen, expected, "seq descending, no repeats");
    assert_eq!(seen.len(), 7);
}

#[tokio::test]
async fn invalid_parameters_are_named() {
    let r = Reader::new().await;
    for (query, param) in [
        ("ip=10.0.0.0/40", "ip"),
        ("limit=501", "limit"),
        ("limit=0", "limit"),
        ("cursor=garbage", "cursor"),
        ("since=yesterday", "since"),
        ("type=Not%20A%20Type", "type"),
        ("result=maybe", "result"),
        // Overflowed chrono's subtraction and dropped the connection.
        ("since=4294967295h", "since"),
        ("until=4294967295w", "until"),
    ] {
        let (status, body) = r.get(&format!("/api/v1/events?{query}")).await;
        assert_eq!(status, 422, "{query}");
        assert!(
            body["message"].as_str().unwrap().contains(param),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn one_event_by_id() {
    let r = seeded().await;
    let (_, page) = r.get("/api/v1/events?user=bob").await;
    let id = page["events"][0]["id"].as_str().unwrap().to_owned();
    let (status, event) = r.get(&format!("/api/v1/events/{id}")).await;
    assert_eq!((status, event["username"].as_str()), (200, Some("bob")));
    let (status, _) = r
        .get(&format!("/api/v1/events/{}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(status, 404);
    let (status, _) = r.get("/api/v1/events/not-a-uuid").await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn only_read_keys_may_read() {
    let r = Reader::new().await;
    let anonymous = r
        .app
        .http
        .get(r.app.url("/api/v1/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let with_ingest_key = r
        .app
        .http
        .get(r.app.url("/api/v1/events"))
        .bearer_auth(&r.app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(with_ingest_key.status(), 403);
    let (status, _) = r.get("/api/v1/events").await;
    assert_eq!(status, 200);
}

/// Every page of `query`, following `next_cursor`, as (username, seq) pairs.
async fn every_page(reader: &Reader, query: &str) -> Vec<(String, i64)> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/events?{query}&cursor={c}"),
            None => format!("/api/v1/events?{query}"),
        };
        let (status, body) = reader.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        for e in body["events"].as_array().unwrap() {
            rows.push((
                e["username"].as_str().unwrap().to_owned(),
                e["seq"].as_i64().unwrap(),
            ));
        }
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return rows,
        }
    }
}

/// A network pivot over a few addresses is read address by address and merged; over many it
/// reads the network's range. Either way: every match once, newest first, ties by seq.
#[tokio::test]
async fn network_pivots_page_newest_first_over_few_and_many_addresses() {
    let reader = Reader::new().await;
    let mut batch = Vec::new();
    for i in 0..300 {
        // Interleaved addresses, times repeating so ties need the seq.
        batch.push(
            json!({"event_type": "auth.login.failure", "username": format!("u{i}"),
            "ip_address": format!("10.9.{}.{}", i % 3, 1 + i % 250),
            "occurred_at": format!("2026-01-01T10:{:02}:00Z", (i * 7) % 60)}),
        );
    }
    batch.push(
        json!({"event_type": "auth.login.failure", "username": "outside",
        "ip_address": "10.10.0.1", "occurred_at": "2026-01-01T10:30:00Z"}),
    );
    reader.app.ingest(&json!(batch)).await;
    let pool = &reader.app.database.pool;
    for (network, addresses) in [("10.9.1.0/24", 100), ("10.9.0.0/16", 300)] {
        let expected: Vec<(String, i64)> = sqlx::query_as(
            "select username, seq from events where ip_address <<= $1::inet \
             order by occurred_at desc, seq desc",
        )
        .bind(network)
        .fetch_all(pool)
        .await
        .unwrap();
        assert_eq!(expected.len(), addresses);
        let paged = every_page(&reader, &format!("ip={network}&limit=7")).await;
        assert_eq!(paged, expected, "{network}");
        let typed = every_page(
            &reader,
            &format!("ip={network}&limit=9&type=auth.login.success"),
        )
        .await;
        assert!(typed.is_empty());
    }
    assert!(every_page(&reader, "ip=10.11.0.0/16").await.is_empty());
}
