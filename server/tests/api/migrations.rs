//! Upgrading a database that already holds events: nothing is lost on the way to the hash chain
//! and to monthly partitions, and the old rows sit before the chain's genesis checkpoint.

use crate::common;

use sqlx::{Connection, PgConnection};
use vigil_server::database::Database;
use vigil_server::storage::EventStore;

#[tokio::test]
async fn events_stored_before_the_chain_and_partitions_survive_the_upgrade() {
    let url = common::bare_database_url().await;
    common::migrate_below(&url, "0005").await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    // Rows as the first schema stored them, received over two months.
    sqlx::raw_sql(
        "insert into events (id, event_type, category, action, action_result, severity, username, \
            occurred_at, received_at, source) \
         select gen_random_uuid(), 'auth.login.failure', 'authentication', 'login', 'failure', \
            'warning', 'old-' || g, now(), now() - g * interval '20 days', 'old' \
         from generate_series(1, 3) as g",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    // What `vigil serve` does at start: apply the rest.
    let database = Database::connect(&url).await.expect("the upgrade applies");
    let names: Vec<String> = sqlx::query_scalar("select username from events order by seq")
        .fetch_all(&database.pool)
        .await
        .unwrap();
    assert_eq!(names, ["old-1", "old-2", "old-3"]);

    // New events chain on after the old ones, which sit before the genesis checkpoint.
    let store = EventStore::new(database.pool.clone());
    let event = vigil_server::events::parse_event(
        serde_json::json!({"event_type": "auth.logout", "username": "new"}),
        "upgrade-test",
    )
    .unwrap();
    store
        .append_bulk(&[(event, chrono::Utc::now())])
        .await
        .unwrap();
    let verified = store.verify_chain(None).await.unwrap();
    assert_eq!(
        (
            verified.first_bad_seq,
            verified.from_seq,
            verified.through_seq
        ),
        (None, 3, 4)
    );
}
