//! The alerts naming an entity: those whose group key has the user or the address (or its
//! network) as one of its parts.

use chrono::{DateTime, Utc};
use vigil_wire::{AlertSeverity, AlertStatus, Entity, EntityAlert};

use super::ALERTS_SHOWN;
use crate::events::grouping_network;
use crate::storage::{EventStore, StorageError};

impl EventStore {
    /// Alerts whose group key has the entity as one of its parts, newest first.
    pub(super) async fn alerts_naming(
        &self,
        entity: &Entity,
    ) -> Result<Vec<EntityAlert>, StorageError> {
        type Row = (
            i64,
            String,
            String,
            String,
            String,
            String,
            i64,
            DateTime<Utc>,
            DateTime<Utc>,
        );
        let mut tx = self.budgeted().await?;
        // A key is `part=value` pairs joined by spaces; padded, each pair is ` part=value `.
        // The pair's space-separated pieces find candidates in `alerts_key_parts`; the
        // pattern then checks that they are one whole pair.
        let [(first_pieces, first), (second_pieces, second)] = key_matches(entity);
        let rows: Result<Vec<Row>, sqlx::Error> = sqlx::query_as(
            "select id, rule_id, title, severity, status, group_key, event_count, \
                    first_seen, last_seen from alerts \
             where (string_to_array(group_key, ' ') @> $1 and (' ' || group_key || ' ') like $2) \
                or (string_to_array(group_key, ' ') @> $3 and (' ' || group_key || ' ') like $4) \
             order by last_seen desc, id desc limit $5",
        )
        .bind(first_pieces)
        .bind(first)
        .bind(second_pieces)
        .bind(second)
        .bind(ALERTS_SHOWN)
        .fetch_all(&mut *tx)
        .await;
        // An entity named by very many alerts still sorts them all; past the budget the page
        // goes on without them.
        let rows = match rows {
            Ok(rows) => rows,
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("57014") => {
                tracing::info!(%entity, "the alerts naming an entity ran over the profile budget");
                Vec::new()
            }
            Err(err) => return Err(err.into()),
        };
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, rule_id, title, severity, status, group_key, event_count, first, last)| {
                    EntityAlert {
                        id,
                        rule_id,
                        title,
                        // The table's check constraints allow only these.
                        severity: AlertSeverity::parse(&severity)
                            .unwrap_or(AlertSeverity::Critical),
                        status: AlertStatus::parse(&status).unwrap_or(AlertStatus::Open),
                        group_key,
                        event_count,
                        first_seen: first,
                        last_seen: last,
                    }
                },
            )
            .collect())
    }
}

/// The two pairs a group key naming `entity` may hold, among the parts detection rules key
/// users and addresses by (server/src/detect/rule.rs: `user`, `username`, `ip`, and `network`,
/// an address's /24 or /64): each as the pieces `string_to_array(key, ' ')` splits it into and
/// as a `LIKE` pattern matching it whole in the padded key.
fn key_matches(entity: &Entity) -> [(Vec<String>, String); 2] {
    let pair = |part: &str, value: &str| {
        let pair = format!("{part}={value}");
        let escaped = pair
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        (
            pair.split(' ').map(str::to_owned).collect(),
            format!("% {escaped} %"),
        )
    };
    match entity {
        Entity::User(user) => [pair("user", user), pair("username", user)],
        Entity::Ip(ip) => [
            pair("ip", &ip.to_string()),
            pair("network", &grouping_network(*ip)),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_matches_name_whole_parts_split_as_postgres_does_and_escape_like() {
        let patterns = |entity: &Entity| key_matches(entity).map(|(_, pattern)| pattern);
        assert_eq!(
            patterns(&Entity::User("a_b%".into())),
            ["% user=a\\_b\\% %", "% username=a\\_b\\% %"]
        );
        assert_eq!(
            patterns(&Entity::Ip("2001:db8:bad:4::2".parse().unwrap())),
            [
                "% ip=2001:db8:bad:4::2 %",
                "% network=2001:db8:bad:4::/64 %"
            ]
        );
        // `string_to_array('user=ann  lee', ' ')` is {user=ann,"",lee}.
        let [(pieces, _), _] = key_matches(&Entity::User("ann  lee".into()));
        assert_eq!(pieces, ["user=ann", "", "lee"]);
    }
}
