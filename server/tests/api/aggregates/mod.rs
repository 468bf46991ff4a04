//! The aggregates behind the charts and top lists (`event_counts`, `failure_windows`): after
//! single events, batches, COPY, duplicates and retention drops, once rolled up, every row equals the `count(*)` of the events it summarises and no event goes
//! uncounted; and the charts and top lists agree with counts over the raw rows, for ranges that
//! start and end anywhere, before the newest events are rolled up and after.

use crate::common;

use chrono::{DateTime, Duration, DurationRound, Months, Utc};
use common::TestApp;
use serde_json::json;
use sqlx::PgPool;
use vigil_server::cli::demo_data::{generate, DemoOptions};
use vigil_server::storage::EventStore;
use vigil_wire::{ActionResult, EventFilter, EventType, RankBy, TimeBound};

mod windows;

/// Rows of `event_counts` whose `n` is not the count of their events, and events not counted
/// once per grain: both must be zero.
async fn event_counts_mismatches(pool: &PgPool) -> (i64, i64) {
    let wrong: i64 = sqlx::query_scalar(
        "select count(*) from event_counts c where n <> (select count(*) from events e \
           where e.occurred_at >= c.bucket \
             and e.occurred_at < c.bucket + make_interval(secs => c.grain) \
             and e.event_type = c.event_type and e.category = c.category \
             and e.action_result = c.action_result and e.severity = c.severity \
             and e.source = c.source \
             and e.received_at >= c.month and e.received_at < c.month + interval '1 month' \
             and e.seq <= (select seq from rollup_cursor))",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let uncounted: i64 = sqlx::query_scalar(
        "select count(*) from (values (60), (3600), (86400)) g(grain) \
         where (select coalesce(sum(n), 0) from event_counts c where c.grain = g.grain) \
            <> (select count(*) from events where seq <= (select seq from rollup_cursor))",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    (wrong, uncounted)
}

/// Rolls every event up, then checks each aggregate against the rows.
async fn assert_aggregates_match(pool: &PgPool, after: &str) {
    let store = EventStore::new(pool.clone());
    store.roll_up_all().await.unwrap();
    let (cursor, head): (i64, i64) =
        sqlx::query_as("select (select seq from rollup_cursor), (select seq from chain_head)")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(cursor, head, "every event is rolled up after {after}");
    assert_eq!(
        event_counts_mismatches(pool).await,
        (0, 0),
        "event_counts after {after}"
    );
    assert_eq!(
        failure_windows_mismatches(pool).await,
        0,
        "failure_windows after {after}"
    );
}

/// Counts of `failure_windows` that differ from a count of the failures since their window's
/// start, counts missing from it, and rows that count nothing.
async fn failure_windows_mismatches(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "with counted as (select s.span, d.dimension, e.event_type, e.category, d.value, \
                count(*) as n \
            from failure_window_starts s join events e on e.occurred_at >= s.start \
                and e.seq <= (select seq from rollup_cursor) \
            cross join lateral (values ('ip_address', host(e.ip_address)), \
                                       ('username', e.username)) d(dimension, value) \
            where e.action_result = 'failure' and d.value is not null \
            group by 1, 2, 3, 4, 5), \
         kept as (select * from (select s.span, f.dimension, f.event_type, f.category, f.value, \
                case s.span when 86400 then f.n_day when 604800 then f.n_week \
                    when 2592000 then f.n_month end as n \
            from failure_windows f cross join failure_window_starts s) k where n <> 0) \
         select (select count(*) from (select * from counted except select * from kept) a) \
              + (select count(*) from (select * from kept except select * from counted) b) \
              + (select count(*) from failure_windows \
                 where n_day = 0 and n_week = 0 and n_month = 0)",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

fn failure(user: &str, ip: &str, occurred: DateTime<Utc>) -> serde_json::Value {
    json!({"event_type": "auth.login.failure", "username": user, "ip_address": ip,
           "occurred_at": occurred.to_rfc3339()})
}

#[tokio::test]
async fn every_aggregate_equals_the_count_of_its_rows_through_every_way_in_and_out() {
    let app = TestApp::spawn().await;
    let pool = &app.database.pool;
    let now = Utc::now();
    let store = EventStore::new(pool.clone());

    // Single events, spread over minutes, hours and days, the same minute twice.
    for (i, back) in [0, 0, 59, 61, 3_599, 3_601, 86_401, 200_000]
        .iter()
        .enumerate()
    {
        let at = now - Duration::seconds(*back);
        app.ingest(&failure(&format!("user{}", i % 3), "198.51.100.7", at))
            .await;
    }
    app.ingest(&json!({"event_type": "auth.login.success", "username": "user0"}))
        .await;
    // A batch with every result, a custom type, no address and an IPv6 one.
    let batch = json!([
        failure("user1", "2001:db8::1", now),
        {"event_type": "auth.mfa.enabled", "username": "user1"},
        {"event_type": "billing.export.run", "action_result": "partial", "severity": "error"},
        {"event_type": "auth.login.failure", "username": "nobody"},
        {"event_type": "auth.token.refresh", "action_result": "failure", "ip_address": "10.0.0.1"},
    ]);
    app.ingest(&batch).await;
    assert_aggregates_match(pool, "single events and a batch").await;

    // Duplicates are not stored again, so not counted again.
    let id = uuid::Uuid::now_v7();
    let once = json!({"event_id": id, "event_type": "auth.login.failure", "username": "dup",
                      "ip_address": "192.0.2.9"});
    app.ingest(&once).await;
    app.ingest(&json!([once, once, {"event_type": "auth.logout", "username": "dup"}]))
        .await;
    assert_aggregates_match(pool, "duplicates").await;

    // COPY, with receipt times over three months: three months of partitions.
    generate(
        &store,
        DemoOptions {
            events: 4_000,
            days: 75,
            seed: 7,
            end: now,
        },
    )
    .await
    .unwrap();
    assert_aggregates_match(pool, "demo data (COPY)").await;

    // Retention drops the oldest months, counts and all.
    let cutoff = now.checked_sub_months(Months::new(1)).unwrap();
    let dropped = store.drop_partitions_before(cutoff).await.unwrap();
    assert!(!dropped.is_empty(), "the demo data reached back far enough");
    let old: i64 = sqlx::query_scalar("select count(*) from event_counts where month < $1")
        .bind(dropped.last().unwrap().end)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(old, 0, "the dropped months' counts went with them");
    assert_aggregates_match(pool, "a retention drop").await;
}

/// Raw `count(*)` of failed logins per bucket, aligned as the charts align them.
async fn raw_volume(
    pool: &PgPool,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    width: i64,
) -> Vec<(DateTime<Utc>, i64)> {
    sqlx::query_as(
        "select date_bin(make_interval(secs => $3), occurred_at, timestamptz '2001-01-01'), \
                count(*) from events \
         where event_type = 'auth.login.failure' and occurred_at >= $1 and occurred_at < $2 \
         group by 1 order by 1",
    )
    .bind(since)
    .bind(until)
    .bind(width as f64)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn charts_and_top_lists_from_aggregates_agree_with_the_raw_rows() {
    let database = common::fresh_database().await;
    let store = EventStore::new(database.pool.clone());
    let now = Utc::now().duration_trunc(Duration::seconds(1)).unwrap();
    generate(
        &store,
        DemoOptions {
            events: 20_000,
            days: 9,
            seed: 3,
            end: now,
        },
    )
    .await
    .unwrap();
    let filter = EventFilter {
        types: vec![EventType::parse("auth.login.failure").unwrap()],
        ..EventFilter::default()
    };
    // Ranges that begin and end mid-minute, mid-hour and mid-day, at each chart width.
    let ranges = [
        (3_600 + 17, 3_600, 60),
        (86_400 * 2 + 1_234, 86_400, 1_800),
        (86_400 * 8 + 4_321, 86_400 * 7 + 999, 10_800),
        (86_400 * 9, 86_400 * 9, 86_400),
    ];
    // Failures just inside and just outside each end, where only raw rows can tell.
    let mut edges = Vec::new();
    for (back, len, _) in ranges {
        let since = now - Duration::seconds(back);
        let until = since + Duration::seconds(len);
        let just = Duration::microseconds(1);
        for at in [since - just, since, until - just, until] {
            let event = vigil_server::events::parse_event(
                failure("edge", "192.0.2.1", at),
                "aggregates-test",
            )
            .unwrap();
            edges.push((event, at));
        }
    }
    store.append_bulk(&edges).await.unwrap();
    // The edges are not rolled up yet (the table answers for them), then they are.
    for rolled in [false, true] {
        if rolled {
            assert!(store.roll_up_all().await.unwrap() > 0);
        }
        for (back, len, width) in ranges {
            let since = now - Duration::seconds(back);
            let until = since + Duration::seconds(len);
            let charted = store
                .volume(&filter, since, until, width)
                .await
                .unwrap()
                .expect("a type filter is counted from the aggregates");
            let nonzero: Vec<(DateTime<Utc>, i64)> = (charted.iter())
                .filter(|b| b.count > 0)
                .map(|b| (b.start, b.count))
                .collect();
            assert_eq!(
                nonzero,
                raw_volume(&database.pool, since, until, width).await
            );
            // Partial bars at both ends at most.
            assert!(charted.len() as i64 <= len / width + 2);
        }

        let mut top_filter = filter.clone();
        top_filter.result = Some(ActionResult::Failure);
        top_filter.since = Some(TimeBound::At(now - Duration::seconds(86_400 * 3 + 77)));
        top_filter.until = Some(TimeBound::At(now - Duration::seconds(3_333)));
        for (by, column) in [
            (RankBy::IpAddress, "host(ip_address)"),
            (RankBy::Username, "username"),
        ] {
            // Every value, not just ten: a count off by one anywhere shows.
            let ranked = store
                .top(&top_filter, by, 10_000)
                .await
                .unwrap()
                .expect("covered");
            let raw: Vec<(String, i64)> = sqlx::query_as(&format!(
                "select {column}, count(*) from events where {column} is not null \
                 and event_type = 'auth.login.failure' and action_result = 'failure' \
                 and occurred_at >= $1 and occurred_at < $2 group by 1 order by 2 desc, 1"
            ))
            .bind(now - Duration::seconds(86_400 * 3 + 77))
            .bind(now - Duration::seconds(3_333))
            .fetch_all(&database.pool)
            .await
            .unwrap();
            let ranked: Vec<(String, i64)> =
                ranked.into_iter().map(|r| (r.value, r.count)).collect();
            assert_eq!(ranked, raw, "{column}, rolled up: {rolled}");
            assert!(
                raw.first().is_some_and(|(_, n)| *n > 10),
                "an attacker leads"
            );
        }
    }
}

#[tokio::test]
async fn a_filter_no_aggregate_covers_counts_raw_rows_or_says_it_is_too_broad() {
    let database = common::fresh_database().await;
    let store = EventStore::new(database.pool.clone());
    let now = Utc::now();
    generate(
        &store,
        DemoOptions {
            events: 2_000,
            days: 1,
            seed: 5,
            end: now,
        },
    )
    .await
    .unwrap();
    let by_text = EventFilter {
        text: Some("password".into()),
        ..EventFilter::default()
    };
    let since = now - Duration::days(1);
    let counted = store
        .volume(&by_text, since, now, 1_800)
        .await
        .unwrap()
        .expect("a small table is counted within the budget");
    let total: i64 = counted.iter().map(|b| b.count).sum();
    let raw: i64 = sqlx::query_scalar(
        "select count(*) from events where (reason ilike '%password%' \
         or error_message ilike '%password%' or user_agent ilike '%password%') \
         and occurred_at >= $1 and occurred_at < $2",
    )
    .bind(since)
    .bind(now)
    .fetch_one(&database.pool)
    .await
    .unwrap();
    assert_eq!(total, raw);
    assert!(raw > 0);

    // A raw count that cannot finish within the budget (here: the table is locked away) is
    // reported as too broad once the budget is spent, not waited for.
    let mut locker = database.pool.begin().await.unwrap();
    sqlx::query("lock table events in access exclusive mode")
        .execute(&mut *locker)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let over = store.volume(&by_text, since, now, 1_800).await.unwrap();
    assert_eq!(over, None);
    let top = store.top(&by_text, RankBy::Username, 10).await.unwrap();
    assert_eq!(top, None);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    locker.rollback().await.unwrap();
}
