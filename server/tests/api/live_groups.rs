//! A filter group that a burst leaves behind the hub catches up from the database by itself,
//! so its connections get every match, in order, with no gap for them to fill one by one; and
//! connections that fall behind their group share the reads of their replay.

use crate::common;

use std::time::Duration;
use tokio::runtime::{Builder, Runtime};
use vigil_server::events::parse_event;
use vigil_server::live::{follow_commits, CatchUp, GroupMessage, LiveHub, HUB_CAPACITY, WINDOW};
use vigil_server::storage::EventStore;
use vigil_wire::EventFilter;

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn a_group_left_behind_by_a_burst_reads_what_it_skipped_and_misses_nothing() {
    let main = Runtime::new().unwrap();
    // Where the group's matcher runs: not driven until the burst is over, so the matcher
    // falls more than the hub's buffer behind.
    let fan_out = Builder::new_current_thread().enable_all().build().unwrap();
    let database = main.block_on(common::fresh_database());
    let store = EventStore::new(database.pool.clone());
    let hub = LiveHub::on(fan_out.handle().clone(), store.clone());
    let failures = EventFilter::from_params([("type", "auth.login.failure")]).unwrap();
    // On the main runtime, as the stream's handler does (the group's database pool starts there).
    let group = main.block_on(async { hub.group(failures, None) });
    let (mut receiver, through) = group.subscribe();
    assert_eq!(through, 0);
    main.spawn(follow_commits(hub.clone()));

    // One append per event, so one hub message per event: more than the hub keeps, and enough
    // skipped matches for several catch-up pages (the last cut where the hub's batches start).
    let burst = HUB_CAPACITY as i64 + 2_200;
    main.block_on(async {
        append_one_by_one(&store, burst, 2).await;
        let published = async {
            while hub.subscribe().1 < burst {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(LIMIT, published)
            .await
            .expect("the feed publishes the burst");
    });

    let received = fan_out.block_on(async {
        let mut seqs = Vec::new();
        let newest_failure = burst - burst % 2;
        let receiving = async {
            while seqs.last() != Some(&newest_failure) {
                match receiver
                    .recv()
                    .await
                    .expect("the group's connections keep up")
                {
                    GroupMessage::Events(events) => seqs.extend(events.iter().map(|(s, _)| *s)),
                    GroupMessage::Gap => panic!("the group left its connections a gap"),
                }
            }
        };
        tokio::time::timeout(LIMIT, receiving)
            .await
            .expect("every match arrives");
        seqs
    });
    let expected: Vec<i64> = (1..=burst).filter(|seq| seq % 2 == 0).collect();
    assert_eq!(
        received, expected,
        "every failure once, in order, nothing else"
    );
    assert_eq!(group.through(), burst);

    drop((group, hub));
    main.block_on(database.close()).unwrap();
}

/// Connections on one filter that fall behind together share each window of their replay: one
/// read and one serialisation for all of them, and only the filter's matches in it.
#[tokio::test]
async fn lagging_connections_share_one_read_per_replay_window() {
    let database = common::fresh_database().await;
    let store = EventStore::new(database.pool.clone());
    append_one_by_one(&store, 1_100, 4).await;
    let catch_up = CatchUp::new(&store);
    let everything = EventFilter::default();
    let (first, second) = tokio::join!(
        catch_up.window("all", &everything, WINDOW),
        catch_up.window("all", &everything, WINDOW),
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert!(std::sync::Arc::ptr_eq(&first, &second), "one read, shared");
    let seqs: Vec<i64> = first.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (WINDOW + 1..=2 * WINDOW).collect::<Vec<_>>());
    assert!(first[0]
        .1
        .as_str()
        .contains(&format!(r#""seq":{}"#, WINDOW + 1)));
    let later = catch_up.window("all", &everything, WINDOW).await.unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &later),
        "kept for later comers"
    );

    let failures = EventFilter::from_params([("type", "auth.login.failure")]).unwrap();
    let matches = catch_up.window("failures", &failures, 0).await.unwrap();
    let seqs: Vec<i64> = matches.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (4..=WINDOW).step_by(4).collect::<Vec<_>>());
    database.close().await.unwrap();
}

/// Appends `count` logins one append each (so one hub message each); every `failure_every`-th
/// (by seq, on a fresh database) is a failure.
async fn append_one_by_one(store: &EventStore, count: i64, failure_every: i64) {
    for i in 1..=count {
        let event_type = if i % failure_every == 0 {
            "auth.login.failure"
        } else {
            "auth.login.success"
        };
        let json = serde_json::json!({"event_type": event_type, "username": format!("u{i}")});
        let event = parse_event(json, "test").unwrap();
        store
            .append_bulk(&[(event, chrono::Utc::now())])
            .await
            .unwrap();
    }
}
