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
        let rows: Result<Vec<Row>, sqlx::Error> = sqlx::query_as(
            "select id, rule_id, title, severity, status, group_key, event_count, \
                    first_seen, last_seen from alerts \
             where (' ' || group_key || ' ') like any($1) \
             order by last_seen desc, id desc limit $2",
        )
        .bind(key_patterns(entity))
        .bind(ALERTS_SHOWN)
        .fetch_all(&mut *tx)
        .await;
        // The match reads every alert's key; past the budget the page goes on without them.
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

/// `LIKE` patterns matching a padded group key that names `entity`: the parts detection rules
/// key users and addresses by (server/src/detect/rule.rs: `user`, `username`, `ip`, and
/// `network`, an address's /24 or /64).
fn key_patterns(entity: &Entity) -> Vec<String> {
    let pattern = |part: &str, value: &str| {
        let escaped = value
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("% {part}={escaped} %")
    };
    match entity {
        Entity::User(user) => vec![pattern("user", user), pattern("username", user)],
        Entity::Ip(ip) => vec![
            pattern("ip", &ip.to_string()),
            pattern("network", &grouping_network(*ip)),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_patterns_name_whole_parts_and_escape_like() {
        assert_eq!(
            key_patterns(&Entity::User("a_b%".into())),
            ["% user=a\\_b\\% %", "% username=a\\_b\\% %"]
        );
        assert_eq!(
            key_patterns(&Entity::Ip("2001:db8:bad:4::2".parse().unwrap())),
            [
                "% ip=2001:db8:bad:4::2 %",
                "% network=2001:db8:bad:4::/64 %"
            ]
        );
    }
}
