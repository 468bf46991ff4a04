//! The alerts an entity page lists: those whose group key names the user or the address (or its
//! network) as a whole part, never a key that merely contains it.

use chrono::{Duration, Utc};
use std::collections::BTreeMap;
use vigil_server::storage::ProfileCaps;
use vigil_wire::{AlertSeverity, Entity};

use super::store;
use crate::common::{raise_alerts, TestApp};

#[tokio::test]
async fn alerts_that_name_the_entity_as_a_whole_part_are_listed() {
    let app = TestApp::spawn().await;
    let keys = [
        "user=al_ce",
        "username=al_ce ip=192.0.2.1",
        "user=alice",
        "user=al_ce2",
        "ip=192.0.2.1",
        "network=192.0.2.0/24",
        "ip=192.0.2.10",
        // Values with spaces span several of the key's space-separated pieces.
        "user=ann lee",
        "user=ann lee ip=192.0.2.77",
        // Holds the pieces `user=ann` and `lee`, but not the pair `user=ann lee`.
        "user=ann username=bob lee",
    ];
    let raised: Vec<_> = (keys.iter())
        .map(|key| (*key, AlertSeverity::High, *key))
        .collect();
    raise_alerts(&app, &raised).await;
    let ids: BTreeMap<String, i64> = sqlx::query_as("select group_key, id from alerts")
        .fetch_all(&app.database.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let ids_of = |wanted: &[usize]| {
        let mut found: Vec<i64> = wanted.iter().map(|&i| ids[keys[i]]).collect();
        found.sort();
        found
    };
    let listed = |entity: Entity| {
        let store = store(&app);
        async move {
            let until = Utc::now() + Duration::minutes(1);
            let profile = store
                .entity_profile(
                    &entity,
                    until - Duration::days(1),
                    until,
                    ProfileCaps::DASHBOARD,
                )
                .await
                .unwrap();
            let mut ids: Vec<i64> = profile.alerts.iter().map(|a| a.id).collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(listed(Entity::User("al_ce".into())).await, ids_of(&[0, 1]));
    assert_eq!(
        listed(Entity::ip("192.0.2.1").unwrap()).await,
        ids_of(&[1, 4, 5]),
        "its own key parts and its network's"
    );
    assert_eq!(
        listed(Entity::User("ann lee".into())).await,
        ids_of(&[7, 8])
    );
    assert_eq!(listed(Entity::User("bob lee".into())).await, ids_of(&[9]));
}
