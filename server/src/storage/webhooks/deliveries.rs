//! The `webhook_deliveries` table (migrations/0011_alerts.sql): every alert change queued for
//! each webhook (by storage/alerts, in the change's own transaction), claimed by whichever
//! instance's worker gets to it first, and how its attempts went.

use chrono::{DateTime, Utc};
use std::fmt;
use std::time::Duration;

use super::{WebhookFormat, WebhookSecret};
use crate::storage::{EventStore, StorageError};

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not yet delivered, and still within its retry period.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up on: the retry period ran out, or the payload could never be sent.
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 3] = [
        DeliveryState::Pending,
        DeliveryState::Delivered,
        DeliveryState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert change queued for one webhook, and how its attempts went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: i64,
    pub webhook_id: i64,
    pub alert_id: i64,
    pub alert_revision: i64,
    /// `alert.opened`, `alert.acknowledged` or `alert.closed`.
    pub event: String,
    pub attempts: i32,
    pub state: DeliveryState,
    /// The last attempt's HTTP status, if the receiver answered at all.
    pub last_status: Option<i32>,
    /// Why the last attempt failed (cleared once delivered).
    pub last_error: Option<String>,
    /// When it is (or was) next due; a failed delivery's is its final attempt.
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Which deliveries to list: both, either or neither narrowing.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeliveryQuery {
    pub webhook: Option<i64>,
    pub alert: Option<i64>,
}

/// A delivery a worker has claimed: everything one attempt needs.
#[derive(Clone, Debug)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub alert_id: i64,
    pub alert_revision: i64,
    /// `{"event": …, "alert": …}`, fixed when the delivery was queued.
    pub body: String,
    /// This attempt's number, counting from 1.
    pub attempt: i32,
    pub created_at: DateTime<Utc>,
    pub url: String,
    pub format: WebhookFormat,
    pub secret: WebhookSecret,
}

/// How one attempt went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered 2xx with this status.
    Delivered { status: u16 },
    /// Anything else. `retry_in: None` gives up at once (the attempt can never succeed).
    Failed {
        status: Option<u16>,
        error: String,
        retry_in: Option<Duration>,
    },
}

pub(super) const DELIVERY_COLUMNS: &str = "id, webhook_id, alert_id, alert_revision, \
    coalesce(body::jsonb ->> 'event', '') as event, attempts, state, last_status, last_error, \
    next_attempt_at, created_at, delivered_at";

#[derive(sqlx::FromRow)]
pub(super) struct DeliveryRow {
    id: i64,
    webhook_id: i64,
    alert_id: i64,
    alert_revision: i64,
    event: String,
    attempts: i32,
    state: String,
    last_status: Option<i32>,
    last_error: Option<String>,
    next_attempt_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
}

impl DeliveryRow {
    pub(super) fn into_record(self) -> DeliveryRecord {
        DeliveryRecord {
            id: self.id,
            webhook_id: self.webhook_id,
            alert_id: self.alert_id,
            alert_revision: self.alert_revision,
            event: self.event,
            attempts: self.attempts,
            // The check constraint allows only these.
            state: DeliveryState::parse(&self.state).unwrap_or(DeliveryState::Failed),
            last_status: self.last_status,
            last_error: self.last_error,
            next_attempt_at: self.next_attempt_at,
            created_at: self.created_at,
            delivered_at: self.delivered_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    id: i64,
    webhook_id: i64,
    alert_id: i64,
    alert_revision: i64,
    body: String,
    attempts: i32,
    created_at: DateTime<Utc>,
    url: String,
    format: String,
    secret: String,
}

/// A `Duration` as PostgreSQL's `make_interval(secs => …)` takes it.
fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

impl EventStore {
    /// The newest `limit` deliveries matching `query`, newest first.
    #[tracing::instrument(skip_all)]
    pub async fn webhook_deliveries(
        &self,
        query: DeliveryQuery,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>, StorageError> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
            "select {DELIVERY_COLUMNS} from webhook_deliveries \
             where ($1::bigint is null or webhook_id = $1) and ($2::bigint is null or alert_id = $2) \
             order by id desc limit $3"
        ))
        .bind(query.webhook)
        .bind(query.alert)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(DeliveryRow::into_record).collect())
    }

    /// Claims up to `max` due deliveries, at most `per_webhook` of any one webhook (so one
    /// unanswering receiver cannot fill a round), and counts the attempt. Rows another instance
    /// is claiming are skipped; claimed rows are pushed `lease` into the future, so nobody else
    /// takes them while this attempt runs, and anybody does once it has plainly died.
    #[tracing::instrument(skip_all)]
    pub async fn claim_webhook_deliveries(
        &self,
        max: i64,
        per_webhook: i64,
        lease: Duration,
    ) -> Result<Vec<ClaimedDelivery>, StorageError> {
        let rows: Vec<ClaimedRow> = sqlx::query_as(
            "with due as ( \
               select d.id from webhooks w cross join lateral ( \
                 select id from webhook_deliveries \
                 where webhook_id = w.id and state = 'pending' and next_attempt_at <= now() \
                 order by next_attempt_at limit $2 \
                 for update skip locked) d \
               limit $1) \
             update webhook_deliveries d \
             set attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $3) \
             from due, webhooks w \
             where d.id = due.id and w.id = d.webhook_id \
             returning d.id, d.webhook_id, d.alert_id, d.alert_revision, d.body, d.attempts, \
               d.created_at, w.url, w.format, w.secret",
        )
        .bind(max)
        .bind(per_webhook)
        .bind(seconds(lease))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| ClaimedDelivery {
                id: row.id,
                webhook_id: row.webhook_id,
                alert_id: row.alert_id,
                alert_revision: row.alert_revision,
                body: row.body,
                attempt: row.attempts,
                created_at: row.created_at,
                url: row.url,
                format: WebhookFormat::parse(&row.format).unwrap_or(WebhookFormat::Json),
                secret: WebhookSecret::new(row.secret),
            })
            .collect())
    }

    /// Records how a claimed attempt went. A failure is retried `retry_in` later, but never past
    /// `give_up_after` from the delivery's creation: the attempt at that moment is its last, and
    /// failing it marks the delivery failed. Returns the delivery's state, or `None` when this
    /// claim had lapsed and another attempt has taken over (its outcome is the one kept).
    #[tracing::instrument(skip_all)]
    pub async fn record_webhook_attempt(
        &self,
        claimed: &ClaimedDelivery,
        outcome: &AttemptOutcome,
        give_up_after: Duration,
    ) -> Result<Option<DeliveryState>, StorageError> {
        let state: Option<String> = match outcome {
            // Delivered is delivered, whichever attempt got there.
            AttemptOutcome::Delivered { status } => sqlx::query_scalar(
                "update webhook_deliveries set state = 'delivered', delivered_at = now(), \
                   last_status = $2, last_error = null \
                 where id = $1 and state = 'pending' returning state",
            )
            .bind(claimed.id)
            .bind(i32::from(*status))
            .fetch_optional(&self.pool)
            .await?,
            AttemptOutcome::Failed {
                status,
                error,
                retry_in,
            } => sqlx::query_scalar(
                "with timing as ( \
                   select id, now() >= created_at + make_interval(secs => $6) or $5::float8 is null \
                     as give_up, created_at + make_interval(secs => $6) as deadline \
                   from webhook_deliveries where id = $1) \
                 update webhook_deliveries d set last_status = $3, last_error = $4, \
                   state = case when t.give_up then 'failed' else 'pending' end, \
                   next_attempt_at = case when t.give_up then now() \
                     else least(now() + make_interval(secs => $5), t.deadline) end \
                 from timing t \
                 where d.id = t.id and d.state = 'pending' and d.attempts = $2 \
                 returning d.state",
            )
            .bind(claimed.id)
            .bind(claimed.attempt)
            .bind(status.map(i32::from))
            .bind(error)
            .bind(retry_in.map(seconds))
            .bind(seconds(give_up_after))
            .fetch_optional(&self.pool)
            .await?,
        };
        Ok(state.as_deref().and_then(DeliveryState::parse))
    }
}
