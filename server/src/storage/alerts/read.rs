//! Reading alerts: one, a page in the listing's order, what changed after a change seq, and
//! the counts behind the top bar and `vigil rules list`.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};
use vigil_wire::{Alert, AlertHistoryEntry, AlertSeverity, AlertStatus, AlertSummary};

use super::{rank, AlertRow, COLUMNS, RANK_SQL};
use crate::storage::{EventStore, StorageError};

/// What `GET /api/v1/alerts` narrows by.
#[derive(Clone, Debug, Default)]
pub struct AlertQuery {
    pub rule: Option<String>,
    pub status: Option<AlertStatus>,
    pub severity: Option<AlertSeverity>,
    /// Contained in the group key.
    pub key: Option<String>,
}

/// Keyset position in the listing's order: not closed first, worst first, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlertCursor {
    closed: bool,
    rank: i32,
    last_seen: DateTime<Utc>,
    id: i64,
}

impl AlertCursor {
    pub fn encode(&self) -> String {
        format!(
            "{}_{}_{}_{}",
            u8::from(self.closed),
            self.rank,
            self.last_seen.timestamp_micros(),
            self.id
        )
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let mut parts = raw.split('_');
        let cursor = AlertCursor {
            closed: match parts.next()? {
                "0" => false,
                "1" => true,
                _ => return None,
            },
            rank: parts.next()?.parse().ok().filter(|r| (1..=4).contains(r))?,
            last_seen: DateTime::from_timestamp_micros(parts.next()?.parse().ok()?)?,
            id: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(cursor)
    }

    fn of(alert: &Alert) -> Self {
        AlertCursor {
            closed: alert.status == AlertStatus::Closed,
            rank: rank(alert.severity),
            last_seen: alert.last_seen,
            id: alert.id,
        }
    }
}

impl EventStore {
    pub async fn alert(&self, id: i64) -> Result<Option<Alert>, StorageError> {
        let row: Option<AlertRow> =
            sqlx::query_as(&format!("select {COLUMNS} from alerts where id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(AlertRow::into_alert))
    }

    pub async fn alert_history(&self, id: i64) -> Result<Vec<AlertHistoryEntry>, StorageError> {
        type Row = (DateTime<Utc>, String, String, Option<String>, i64);
        let rows: Vec<Row> = sqlx::query_as(
            "select at, action, by_whom, note, event_count from alert_history \
             where alert_id = $1 order by at, action",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(at, action, by, note, event_count)| AlertHistoryEntry {
                at,
                action,
                by,
                note,
                event_count,
            })
            .collect())
    }

    /// One page of alerts in the listing's order, and where the next starts.
    pub async fn alerts(
        &self,
        query: &AlertQuery,
        after: Option<AlertCursor>,
        limit: i64,
    ) -> Result<(Vec<Alert>, Option<AlertCursor>), StorageError> {
        let mut sql =
            QueryBuilder::<Postgres>::new(format!("select {COLUMNS} from alerts where true"));
        if let Some(rule) = &query.rule {
            sql.push(" and rule_id = ").push_bind(rule.clone());
        }
        if let Some(status) = query.status {
            sql.push(" and status = ").push_bind(status.as_str());
        }
        if let Some(severity) = query.severity {
            sql.push(" and severity = ").push_bind(severity.as_str());
        }
        if let Some(key) = &query.key {
            let pattern = format!(
                "%{}%",
                key.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            sql.push(" and group_key ilike ").push_bind(pattern);
        }
        if let Some(c) = after {
            sql.push(" and ((status = 'closed') > ").push_bind(c.closed);
            sql.push(" or ((status = 'closed') = ").push_bind(c.closed);
            sql.push(format!(" and {RANK_SQL} < ")).push_bind(c.rank);
            sql.push(") or ((status = 'closed') = ").push_bind(c.closed);
            sql.push(format!(" and {RANK_SQL} = ")).push_bind(c.rank);
            sql.push(" and (last_seen, id) < (").push_bind(c.last_seen);
            sql.push(", ").push_bind(c.id).push(")))");
        }
        sql.push(format!(
            " order by (status = 'closed'), {RANK_SQL} desc, last_seen desc, id desc limit "
        ))
        .push_bind(limit + 1);
        let rows: Vec<AlertRow> = sql.build_query_as().fetch_all(&self.pool).await?;
        let mut alerts: Vec<Alert> = rows.into_iter().map(AlertRow::into_alert).collect();
        let more = alerts.len() as i64 > limit;
        alerts.truncate(limit as usize);
        let next = more.then(|| alerts.last().map(AlertCursor::of)).flatten();
        Ok((alerts, next))
    }

    /// Alerts whose latest change is after `change_seq`, in change order: the stream's resume.
    pub async fn alerts_changed_after(
        &self,
        change_seq: i64,
        limit: i64,
    ) -> Result<Vec<Alert>, StorageError> {
        let rows: Vec<AlertRow> = sqlx::query_as(&format!(
            "select {COLUMNS} from alerts where change_seq > $1 order by change_seq limit $2"
        ))
        .bind(change_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(AlertRow::into_alert).collect())
    }

    /// Per rule: alerts not closed, and alerts opened in the last day.
    pub async fn alert_counts_by_rule(
        &self,
    ) -> Result<std::collections::HashMap<String, (i64, i64)>, StorageError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "select rule_id, count(*) filter (where status <> 'closed'),                     count(*) filter (where opened_at > now() - interval '1 day')              from alerts group by rule_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(r, o, d)| (r, (o, d))).collect())
    }

    /// The top bar's count: alerts not closed, their worst severity, the newest change. From
    /// `alert_tally`, which triggers keep (migrations/0017_alert_tally.sql): four rows.
    pub async fn alert_summary(&self) -> Result<AlertSummary, StorageError> {
        let (open, worst, change_seq): (i64, Option<i32>, i64) = sqlx::query_as(&format!(
            "select coalesce(sum(open), 0)::bigint, max({RANK_SQL}) filter (where open > 0), \
                    (select seq from alert_clock) from alert_tally"
        ))
        .fetch_one(&self.pool)
        .await?;
        Ok(AlertSummary {
            open,
            worst: worst.and_then(|r| AlertSeverity::ALL.get((r - 1) as usize).copied()),
            change_seq,
        })
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = AlertCursor {
            closed: true,
            rank: 3,
            last_seen: DateTime::from_timestamp_micros(1_800_000_000_000_001).unwrap(),
            id: 42,
        };
        assert_eq!(AlertCursor::decode(&cursor.encode()), Some(cursor));
        for bad in ["", "x", "2_3_1_1", "1_9_1_1", "1_3_1_1_1", "1_3_x_1"] {
            assert_eq!(AlertCursor::decode(bad), None, "{bad}");
        }
    }
}
