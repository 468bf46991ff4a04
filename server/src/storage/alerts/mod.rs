//! The `alerts` tables (migrations/0011_alerts.sql): what the engine commits with its cursor,
//! what operators change (here), and the reads behind the API, the stream and the top bar
//! (`read.rs`).

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use vigil_wire::{Alert, AlertSeverity, AlertStatus};

use super::{EventStore, StorageError};

mod read;
pub use read::{AlertCursor, AlertQuery};

/// Listened to by every instance: an alert changed (the payload is its change seq).
pub const ALERTS_CHANNEL: &str = "vigil_alerts";
/// Evidence seqs an alert keeps (the first ones).
pub const MAX_EVIDENCE: usize = 100;
/// The name alert changes made by the engine carry.
pub const ENGINE: &str = "vigil";

const COLUMNS: &str = "id, revision, change_seq, rule_id, title, severity, status, group_key, \
    first_seen, last_seen, event_count, evidence_filter, evidence_seqs, opened_at, updated_at, \
    status_changed_by, status_changed_at, note";

#[derive(sqlx::FromRow)]
struct AlertRow {
    id: i64,
    revision: i64,
    change_seq: i64,
    rule_id: String,
    title: String,
    severity: String,
    status: String,
    group_key: String,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    event_count: i64,
    evidence_filter: String,
    evidence_seqs: Vec<i64>,
    opened_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    status_changed_by: Option<String>,
    status_changed_at: Option<DateTime<Utc>>,
    note: Option<String>,
}

impl AlertRow {
    fn into_alert(self) -> Alert {
        Alert {
            id: self.id,
            revision: self.revision,
            change_seq: self.change_seq,
            rule_id: self.rule_id,
            title: self.title,
            // The check constraints allow only these.
            severity: AlertSeverity::parse(&self.severity).unwrap_or(AlertSeverity::Critical),
            status: AlertStatus::parse(&self.status).unwrap_or(AlertStatus::Open),
            group_key: self.group_key,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            event_count: self.event_count,
            evidence_filter: self.evidence_filter,
            evidence_seqs: self.evidence_seqs,
            opened_at: self.opened_at,
            updated_at: self.updated_at,
            status_changed_by: self.status_changed_by,
            status_changed_at: self.status_changed_at,
            note: self.note,
        }
    }
}

/// A rule tripped: the alert to raise (or, if one is already live for the key, to update).
#[derive(Clone, Debug)]
pub struct NewAlert {
    pub rule_id: String,
    pub title: String,
    pub severity: AlertSeverity,
    pub group_key: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub seqs: Vec<i64>,
    pub evidence_filter: String,
}

/// More matches for a live alert, summed over a batch.
#[derive(Clone, Debug)]
pub struct AlertMatches {
    pub rule_id: String,
    pub group_key: String,
    pub count: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub seqs: Vec<i64>,
}

/// What the engine decided over the events through `through_seq`, committed at once.
#[derive(Clone, Debug, Default)]
pub struct Judgement {
    pub opened: Vec<NewAlert>,
    pub matched: Vec<AlertMatches>,
    pub through_seq: i64,
}

/// What committing a judgement changed.
#[derive(Debug, Default)]
pub struct Committed {
    pub changed: Vec<Alert>,
    /// Matches for alerts an operator closed meanwhile: their keys start afresh.
    pub closed: Vec<(String, String)>,
}

/// Why an operator's status change was refused.
#[derive(Debug, thiserror::Error)]
pub enum StatusChangeError {
    #[error("no such alert")]
    NotFound,
    #[error("an alert that is {from} cannot become {to}")]
    NotAllowed { from: AlertStatus, to: AlertStatus },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub(super) fn rank(severity: AlertSeverity) -> i32 {
    AlertSeverity::ALL
        .iter()
        .position(|s| *s == severity)
        .map_or(4, |p| p as i32 + 1)
}

pub(super) const RANK_SQL: &str =
    "array_position(array['low','medium','high','critical'], severity)";

/// Moves the alert clock on by `n` and returns the first of the `n` change seqs; holds its row
/// until commit, so changes commit in change-seq order.
async fn tick(tx: &mut Transaction<'_, Postgres>, n: i64) -> Result<i64, StorageError> {
    let last: i64 = sqlx::query_scalar("update alert_clock set seq = seq + $1 returning seq")
        .bind(n)
        .fetch_one(&mut **tx)
        .await?;
    Ok(last - n + 1)
}

/// Queues the alert for every webhook that wants this change (`opened` for all that pass its
/// severity; status changes for those that asked), with the payload fixed now.
async fn enqueue_deliveries(
    tx: &mut Transaction<'_, Postgres>,
    alert: &Alert,
    change: &str,
) -> Result<(), StorageError> {
    let payload = serde_json::json!({ "event": format!("alert.{change}"), "alert": alert });
    sqlx::query(
        "insert into webhook_deliveries (webhook_id, alert_id, alert_revision, body) \
         select id, $1, $2, $3 from webhooks \
         where array_position(array['low','medium','high','critical'], min_severity) <= $4 \
           and ($5 or on_status_change) \
         on conflict do nothing",
    )
    .bind(alert.id)
    .bind(alert.revision)
    .bind(payload.to_string())
    .bind(rank(alert.severity))
    .bind(change == "opened")
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn history(
    tx: &mut Transaction<'_, Postgres>,
    alert: &Alert,
    action: &str,
    by: &str,
    note: Option<&str>,
) -> Result<(), StorageError> {
    sqlx::query(
        "insert into alert_history (alert_id, action, by_whom, note, event_count) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(alert.id)
    .bind(action)
    .bind(by)
    .bind(note)
    .bind(alert.event_count)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn notify(tx: &mut Transaction<'_, Postgres>, change_seq: i64) -> Result<(), StorageError> {
    sqlx::query("select pg_notify($1, $2)")
        .bind(ALERTS_CHANNEL)
        .bind(change_seq.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl EventStore {
    /// The seq through which the engine's alerts are committed.
    pub async fn detection_cursor(&self) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar("select seq from detection_cursor")
            .fetch_one(&self.pool)
            .await?)
    }

    /// The first seq received at or after `since` (the head's next when none is).
    pub async fn first_seq_received_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<i64, StorageError> {
        let first: Option<i64> = sqlx::query_scalar(
            "select seq from events where received_at >= $1 order by seq limit 1",
        )
        .bind(since)
        .fetch_optional(&self.pool)
        .await?;
        match first {
            Some(seq) => Ok(seq),
            None => Ok(self.chain_head().await?.seq + 1),
        }
    }

    /// (rule, key) of every alert not closed: what the engine treats as live at start.
    pub async fn live_alert_keys(&self) -> Result<Vec<(String, String)>, StorageError> {
        Ok(
            sqlx::query_as("select rule_id, group_key from alerts where status <> 'closed'")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Commits a judgement and moves the cursor to its end, in one transaction: a restart
    /// resumes after exactly what was committed. `expected_cursor` guards against a second
    /// evaluator (after a failover) having moved it meanwhile; then nothing is written. `None`
    /// leaves the cursor alone (`vigil detect --since` judging history).
    pub async fn commit_judgement(
        &self,
        judgement: &Judgement,
        expected_cursor: Option<i64>,
    ) -> Result<Option<Committed>, StorageError> {
        let mut tx = self.pool.begin().await?;
        if let Some(expected) = expected_cursor {
            let moved = sqlx::query("update detection_cursor set seq = $1 where seq = $2")
                .bind(judgement.through_seq)
                .bind(expected)
                .execute(&mut *tx)
                .await?;
            if moved.rows_affected() == 0 {
                return Ok(None);
            }
        }
        let mut committed = Committed::default();
        let changes = (judgement.opened.len() + judgement.matched.len()) as i64;
        if changes == 0 {
            tx.commit().await?;
            return Ok(Some(committed));
        }
        let mut change_seq = tick(&mut tx, changes).await?;
        for new in &judgement.opened {
            let seqs: Vec<i64> = new.seqs.iter().copied().take(MAX_EVIDENCE).collect();
            let row: AlertRow = sqlx::query_as(&format!(
                "insert into alerts as a (change_seq, rule_id, title, severity, group_key, \
                   first_seen, last_seen, event_count, evidence_filter, evidence_seqs) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 on conflict (rule_id, group_key) where status <> 'closed' do update set \
                   event_count = a.event_count + excluded.event_count, \
                   first_seen = least(a.first_seen, excluded.first_seen), \
                   last_seen = greatest(a.last_seen, excluded.last_seen), \
                   revision = a.revision + 1, change_seq = excluded.change_seq, updated_at = now() \
                 returning {COLUMNS}"
            ))
            .bind(change_seq)
            .bind(&new.rule_id)
            .bind(&new.title)
            .bind(new.severity.as_str())
            .bind(&new.group_key)
            .bind(new.first_seen)
            .bind(new.last_seen)
            .bind(new.seqs.len() as i64)
            .bind(&new.evidence_filter)
            .bind(&seqs)
            .fetch_one(&mut *tx)
            .await?;
            let alert = row.into_alert();
            if alert.revision == 1 {
                history(&mut tx, &alert, "opened", ENGINE, None).await?;
                enqueue_deliveries(&mut tx, &alert, "opened").await?;
            }
            committed.changed.push(alert);
            change_seq += 1;
        }
        for more in &judgement.matched {
            let row: Option<AlertRow> = sqlx::query_as(&format!(
                "update alerts set event_count = event_count + $3, \
                   first_seen = least(first_seen, $4), last_seen = greatest(last_seen, $5), \
                   evidence_seqs = (evidence_seqs || $6::bigint[])[1:{MAX_EVIDENCE}], \
                   revision = revision + 1, change_seq = $7, updated_at = now() \
                 where rule_id = $1 and group_key = $2 and status <> 'closed' \
                 returning {COLUMNS}"
            ))
            .bind(&more.rule_id)
            .bind(&more.group_key)
            .bind(more.count)
            .bind(more.first_seen)
            .bind(more.last_seen)
            .bind(&more.seqs)
            .bind(change_seq)
            .fetch_optional(&mut *tx)
            .await?;
            match row {
                Some(row) => committed.changed.push(row.into_alert()),
                None => committed
                    .closed
                    .push((more.rule_id.clone(), more.group_key.clone())),
            }
            change_seq += 1;
        }
        if let Some(last) = committed.changed.iter().map(|a| a.change_seq).max() {
            notify(&mut tx, last).await?;
        }
        tx.commit().await?;
        Ok(Some(committed))
    }

    /// An operator's acknowledgement or closing, with their note.
    pub async fn change_alert_status(
        &self,
        id: i64,
        to: AlertStatus,
        by: &str,
        note: Option<&str>,
    ) -> Result<Alert, StatusChangeError> {
        let mut tx = self.pool.begin().await.map_err(StorageError::from)?;
        let current: Option<String> =
            sqlx::query_scalar("select status from alerts where id = $1 for update")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StorageError::from)?;
        let from = current
            .as_deref()
            .and_then(AlertStatus::parse)
            .ok_or(StatusChangeError::NotFound)?;
        if !from.may_become(to) {
            return Err(StatusChangeError::NotAllowed { from, to });
        }
        let change_seq = tick(&mut tx, 1).await?;
        let row: AlertRow = sqlx::query_as(&format!(
            "update alerts set status = $2, status_changed_by = $3, status_changed_at = now(), \
               note = coalesce($4, note), revision = revision + 1, change_seq = $5, \
               updated_at = now() \
             where id = $1 returning {COLUMNS}"
        ))
        .bind(id)
        .bind(to.as_str())
        .bind(by)
        .bind(note)
        .bind(change_seq)
        .fetch_one(&mut *tx)
        .await
        .map_err(StorageError::from)?;
        let alert = row.into_alert();
        history(&mut tx, &alert, to.as_str(), by, note).await?;
        enqueue_deliveries(&mut tx, &alert, to.as_str()).await?;
        notify(&mut tx, change_seq).await?;
        tx.commit().await.map_err(StorageError::from)?;
        Ok(alert)
    }
}
