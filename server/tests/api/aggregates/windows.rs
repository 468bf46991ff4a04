//! The running failure windows behind the top lists over the last day, week and month: read
//! exactly, ten at a time from their index, advanced and rebuilt without drift.

use chrono::{DateTime, Duration, Utc};
use vigil_server::cli::demo_data::{generate, DemoOptions};
use vigil_server::storage::EventStore;
use vigil_wire::{ActionResult, EventFilter, EventType, RankBy, TimeBound};

use super::{failure, failure_windows_mismatches};
use crate::common;

#[tokio::test]
async fn top_lists_over_the_last_day_week_and_month_read_running_windows_that_keep_up() {
    let database = common::fresh_database().await;
    let pool = &database.pool;
    let store = EventStore::new(pool.clone());
    let now = Utc::now();
    generate(
        &store,
        DemoOptions {
            events: 20_000,
            days: 9,
            seed: 11,
            end: now,
        },
    )
    .await
    .unwrap();
    let week_ago = now - Duration::days(7);
    // Failures just before and at the range's start, and one dated in the future: the window
    // holds all three, the range only the one at its start.
    let mut edges = Vec::new();
    for at in [
        week_ago - Duration::seconds(1),
        week_ago,
        now + Duration::hours(1),
    ] {
        let value = failure("edge", "192.0.2.1", at);
        let event = vigil_server::events::parse_event(value, "aggregates-test").unwrap();
        edges.push((event, now));
    }
    store.append_bulk(&edges).await.unwrap();
    assert_eq!(failure_windows_mismatches(pool).await, 0);

    let until = Utc::now();
    let filter = EventFilter {
        types: vec![EventType::parse("auth.login.failure").unwrap()],
        result: Some(ActionResult::Failure),
        since: Some(TimeBound::At(week_ago)),
        until: Some(TimeBound::At(until)),
        ..EventFilter::default()
    };
    let raw = |column: &'static str| async move {
        let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
            "select {column}, count(*) from events where {column} is not null \
             and event_type = 'auth.login.failure' and action_result = 'failure' \
             and occurred_at >= $1 and occurred_at < $2 group by 1 order by 2 desc, 1"
        ))
        .bind(week_ago)
        .bind(until)
        .fetch_all(pool)
        .await
        .unwrap();
        rows
    };
    let ranked = |by| {
        let store = store.clone();
        let filter = filter.clone();
        async move {
            let ranked = store.top(&filter, by, 10_000).await.unwrap().unwrap();
            ranked
                .into_iter()
                .map(|r| (r.value, r.count))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ranked(RankBy::IpAddress).await,
        raw("host(ip_address)").await
    );
    assert_eq!(ranked(RankBy::Username).await, raw("username").await);
    // The first ten, read from the window's highest counts only, ties and all.
    for (by, column) in [
        (RankBy::IpAddress, "host(ip_address)"),
        (RankBy::Username, "username"),
    ] {
        let ten = store.top(&filter, by, 10).await.unwrap().unwrap();
        let ten: Vec<(String, i64)> = ten.into_iter().map(|r| (r.value, r.count)).collect();
        assert_eq!(ten, raw(column).await[..10].to_vec(), "{column}");
    }

    // The edges were read from the table; rolled up, they come from the window.
    assert_eq!(store.roll_up_all().await.unwrap(), 3);
    assert_eq!(ranked(RankBy::Username).await, raw("username").await);

    // The answer is the window's: a count changed there shows in the list.
    sqlx::query(
        "update failure_windows set n_week = n_week + 1000 where value = 'edge' \
         and dimension = 'username'",
    )
    .execute(pool)
    .await
    .unwrap();
    let leader = ranked(RankBy::Username).await.remove(0);
    assert_eq!(leader.0, "edge");
    store.rebuild_failure_windows().await.unwrap();
    assert_eq!(ranked(RankBy::Username).await, raw("username").await);

    // Moving a window's start subtracts exactly what fell out of it.
    sqlx::query("update failure_window_starts set start = start - interval '3 hours'")
        .execute(pool)
        .await
        .unwrap();
    store.rebuild_failure_windows().await.unwrap();
    store.advance_failure_windows().await.unwrap();
    let starts: Vec<DateTime<Utc>> =
        sqlx::query_scalar("select start from failure_window_starts order by span")
            .fetch_all(pool)
            .await
            .unwrap();
    for start in starts {
        assert!(start > now - Duration::days(31) && start <= Utc::now() - Duration::days(1));
        assert_eq!(start.timestamp() % 60, 0, "on the minute");
    }
    assert_eq!(failure_windows_mismatches(pool).await, 0);
    assert_eq!(
        ranked(RankBy::IpAddress).await,
        raw("host(ip_address)").await
    );
}
