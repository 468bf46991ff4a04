//! Exports: the same rows and order as the read API in both formats, CSV quoting and formula
//! neutralisation, key checks, named parameter errors, the OpenAPI entries, a large export
//! streamed in full, and an abandoned export cancelling its query.

use crate::common;

use common::{create_key, TestApp};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use vigil_server::storage::KeyKind;

struct Exporter {
    app: TestApp,
    key: String,
}

impl Exporter {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let key = create_key(&app.database, "exports", KeyKind::Read).await;
        Exporter { app, key }
    }

    async fn get(&self, path_and_query: &str, key: Option<&str>) -> reqwest::Response {
        let mut request = self.app.http.get(self.app.url(path_and_query));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.unwrap()
    }

    /// The body of a successful export.
    async fn text(&self, path_and_query: &str) -> String {
        let response = self.get(path_and_query, Some(&self.key)).await;
        assert_eq!(response.status(), 200, "{path_and_query}");
        response.text().await.unwrap()
    }

    /// The read API's answer for the same filter, for comparison.
    async fn page(&self, query: &str) -> Vec<Value> {
        let body: Value = self
            .get(
                &format!("/api/v1/events?limit=500&{query}"),
                Some(&self.key),
            )
            .await
            .json()
            .await
            .unwrap();
        body["events"].as_array().unwrap().clone()
    }
}

/// A minimal RFC 4180 reader, so the tests check the encoding rather than trust one.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut cell) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut cell));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => cell.push(c),
        }
    }
    assert!(
        cell.is_empty() && record.is_empty(),
        "the last record ends in CRLF"
    );
    records
}

async fn seeded() -> Exporter {
    let exporter = Exporter::new().await;
    exporter
        .app
        .ingest(&json!([
            {"event_type": "auth.login.failure", "username": "alice", "ip_address": "10.1.2.3",
             "occurred_at": "2026-01-01T10:00:00Z"},
            {"event_type": "auth.login.success", "username": "alice", "ip_address": "10.1.2.3",
             "event_data": {"method": "password"}, "occurred_at": "2026-01-01T10:01:00Z"},
            {"event_type": "auth.mfa.enabled", "username": "bob", "occurred_at": "2026-01-01T11:00:00Z"},
            {"event_type": "auth.login.failure", "username": "carol", "ip_address": "2001:db8::7",
             "occurred_at": "2026-01-01T12:00:00Z"},
            {"event_type": "auth.login.failure", "username": "dave", "ip_address": "10.9.9.9",
             "occurred_at": "2026-01-01T12:00:00Z"}
        ]))
        .await;
    exporter
}

#[tokio::test]
async fn exports_hold_exactly_the_filtered_rows_in_read_api_order() {
    let e = seeded().await;
    // `limit` and `cursor` are ignored: an export is every matching row.
    let query = "type=auth.login.failure&limit=1";
    let expected = e.page("type=auth.login.failure").await;
    assert_eq!(expected.len(), 3);

    let ndjson = e
        .text(&format!("/api/v1/events/export.ndjson?{query}"))
        .await;
    let lines: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, expected, "same events, same order, same fields");

    let csv = parse_csv(&e.text(&format!("/api/v1/events/export.csv?{query}")).await);
    assert_eq!(
        csv[0],
        // A published format: scripts read these columns by position (new ones come last).
        "seq,id,occurred_at,received_at,event_type,category,action,action_result,severity,\
         user_id,username,ip_address,user_agent,session_fingerprint,mfa_used,reason,\
         error_message,token_type,expires_at,client_id,scope,forced,api_key_id,api_key_name,\
         source,event_data,occurred_at_claimed"
            .split(',')
            .collect::<Vec<_>>()
    );
    let column = |name: &str| csv[0].iter().position(|c| c == name).unwrap();
    assert_eq!(csv.len(), 1 + expected.len());
    for (row, event) in csv[1..].iter().zip(&expected) {
        assert_eq!(row.len(), csv[0].len());
        assert_eq!(row[column("id")], event["id"].as_str().unwrap());
        assert_eq!(row[column("seq")], event["seq"].to_string());
        assert_eq!(row[column("username")], event["username"].as_str().unwrap());
        assert_eq!(
            row[column("occurred_at")],
            event["occurred_at"].as_str().unwrap()
        );
        assert_eq!(row[column("user_id")], "", "null is an empty cell");
    }

    let all = parse_csv(&e.text("/api/v1/events/export.csv?user=alice").await);
    let data: Value = serde_json::from_str(&all[1][column("event_data")]).unwrap();
    assert_eq!(
        data,
        json!({"method": "password"}),
        "event_data as compact JSON"
    );
}

#[tokio::test]
async fn exports_carry_their_type_and_a_file_name() {
    let e = seeded().await;
    for (path, content_type, extension) in [
        ("export.csv", "text/csv; charset=utf-8", ".csv\""),
        ("export.ndjson", "application/x-ndjson", ".ndjson\""),
    ] {
        let response = e.get(&format!("/api/v1/events/{path}"), Some(&e.key)).await;
        assert_eq!(response.status(), 200);
        let headers = response.headers();
        assert_eq!(headers["content-type"], content_type);
        let disposition = headers["content-disposition"].to_str().unwrap();
        assert!(
            disposition.starts_with("attachment; filename=\"vigil-events-")
                && disposition.ends_with(extension),
            "{disposition}"
        );
    }
    let doc: Value = e
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    for (path, media) in [
        ("export.csv", "text/csv"),
        ("export.ndjson", "application/x-ndjson"),
    ] {
        let get = &doc["paths"][format!("/api/v1/events/{path}")]["get"];
        assert!(
            get["responses"]["200"]["content"][media].is_object(),
            "{path} documented"
        );
    }
    // The static export routes sit beside `/api/v1/events/{id}` without shadowing it.
    let id = e.page("user=bob").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = e.get(&format!("/api/v1/events/{id}"), Some(&e.key)).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn csv_cells_are_quoted_and_formulas_neutralised() {
    let e = Exporter::new().await;
    let hostile = [
        "Smith, \"Bobby\"\nTables",
        "=HYPERLINK(\"http://evil.example\",\"click\")",
        "+1",
        "-2",
        "@SUM(A1:A9)",
        "x;=1+1",
        "plain",
    ];
    let events: Vec<Value> = hostile
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({"event_type": "auth.login.failure", "username": name,
                   "occurred_at": format!("2026-01-01T10:0{i}:00Z")})
        })
        .collect();
    e.app.ingest(&Value::Array(events)).await;

    let text = e.text("/api/v1/events/export.csv").await;
    assert!(
        text.contains(",\"Smith, \"\"Bobby\"\"\nTables\","),
        "{text}"
    );
    assert!(
        text.contains(",\"x;=1+1\",") && text.contains(",\"plain\","),
        "every text cell is quoted, so a `;` locale cannot split one: {text}"
    );
    let csv = parse_csv(&text);
    let column = csv[0].iter().position(|c| c == "username").unwrap();
    let names: Vec<&str> = csv[1..].iter().map(|r| r[column].as_str()).collect();
    assert_eq!(
        names,
        [
            "plain",
            "x;=1+1",
            "'@SUM(A1:A9)",
            "'-2",
            "'+1",
            "'=HYPERLINK(\"http://evil.example\",\"click\")",
            "Smith, \"Bobby\"\nTables",
        ],
        "newest first; formulas start with a quote, text round-trips"
    );
}

#[tokio::test]
async fn only_read_keys_may_export_and_bad_parameters_are_named() {
    let e = Exporter::new().await;
    for path in ["/api/v1/events/export.csv", "/api/v1/events/export.ndjson"] {
        assert_eq!(e.get(path, None).await.status(), 401, "{path}");
        assert_eq!(e.get(path, Some(&e.app.key)).await.status(), 403, "{path}");
        for (query, param) in [("severity=loud", "severity"), ("ip=10.0.0.0/40", "ip")] {
            let response = e.get(&format!("{path}?{query}"), Some(&e.key)).await;
            assert_eq!(response.status(), 422, "{path}?{query}");
            let body: Value = response.json().await.unwrap();
            assert!(body["message"].as_str().unwrap().contains(param), "{body}");
        }
    }
}

#[tokio::test]
async fn a_large_export_streams_every_row() {
    let e = Exporter::new().await;
    for batch in 0..5 {
        let events: Vec<Value> = (0..1_000)
            .map(|i| {
                json!({"event_type": "auth.token.refresh", "username": format!("user{batch}-{i}"),
                       "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "event_data": {"n": i}})
            })
            .collect();
        e.app.ingest(&Value::Array(events)).await;
    }
    for (path, header_lines) in [("export.csv", 1), ("export.ndjson", 0)] {
        let response = e.get(&format!("/api/v1/events/{path}"), Some(&e.key)).await;
        assert_eq!(response.status(), 200);
        assert!(
            response.headers().get("content-length").is_none(),
            "streamed, so no length is known up front"
        );
        let text = response.text().await.unwrap();
        assert_eq!(text.lines().count(), 5_000 + header_lines, "{path}");
        assert!(text.ends_with('\n'), "{path} ends with a complete line");
    }
}

#[tokio::test]
async fn an_abandoned_export_cancels_its_query_and_frees_its_connection() {
    let e = Exporter::new().await;
    let pool = &e.app.database.pool;
    // ~50 MB of rows: far more than socket buffers hold, so each export is cut off mid-query.
    // Written straight in SQL for speed (unchained: this test appends nothing after them).
    sqlx::query(
        "insert into events (seq, id, event_type, category, action, action_result, severity, \
            user_agent, occurred_at, source) \
         select g, gen_random_uuid(), 'auth.token.refresh', 'token', 'token_refresh', 'success', \
            'info', repeat('x', 1000), now() - g * interval '1 second', 'bulk' \
         from generate_series(1, 50000) as g",
    )
    .execute(pool)
    .await
    .unwrap();
    let rollbacks = || async {
        sqlx::query_scalar::<_, i64>(
            "select xact_rollback from pg_stat_database where datname = current_database()",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    };
    let before = rollbacks().await;
    // More abandoned exports than the pool has connections.
    for _ in 0..20 {
        let mut response = e.get("/api/v1/events/export.ndjson", Some(&e.key)).await;
        assert!(response.chunk().await.unwrap().is_some());
    }
    // Each was cancelled (an aborted transaction), not read to its end.
    let deadline = Instant::now() + Duration::from_secs(20);
    while rollbacks().await < before + 20 {
        assert!(Instant::now() < deadline, "the queries were not cancelled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And the pool is whole: reads and exports still work.
    assert_eq!(e.page("source=bulk&limit=5").await.len(), 5);
    let text = e
        .text("/api/v1/events/export.csv?type=auth.login.failure")
        .await;
    assert_eq!(text.lines().count(), 1, "just the header");
}
