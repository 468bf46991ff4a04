//! The `webhooks` and `webhook_deliveries` tables (migrations/0011_alerts.sql): the receivers the
//! owner registers, and every alert change queued for each (by storage/alerts.rs, in the change's
//! own transaction), claimed by whichever instance's worker gets to it first.

use chrono::{DateTime, Utc};
use std::fmt;
use std::time::Duration;
use vigil_wire::AlertSeverity;

use super::{EventStore, StorageError};

/// What a webhook's receiver is sent: Vigil's JSON, or a Slack incoming-webhook message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookFormat {
    Json,
    Slack,
}

impl WebhookFormat {
    /// Every format, as the `webhooks.format` check constraint lists them.
    pub const ALL: [WebhookFormat; 2] = [WebhookFormat::Json, WebhookFormat::Slack];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Json => "json",
            WebhookFormat::Slack => "slack",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

impl fmt::Display for WebhookFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The HMAC key a webhook's requests are signed with; never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn new(secret: String) -> Self {
        WebhookSecret(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// A receiver to register (`vigil webhooks add`).
#[derive(Clone, Debug)]
pub struct NewWebhook {
    pub url: String,
    /// Alerts below this severity are not sent.
    pub min_severity: AlertSeverity,
    pub format: WebhookFormat,
    /// Also send acknowledgements and closings, not only newly opened alerts.
    pub on_status_change: bool,
    pub secret: WebhookSecret,
}

/// A registered receiver, without its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRecord {
    pub id: i64,
    pub url: String,
    pub min_severity: AlertSeverity,
    pub format: WebhookFormat,
    pub on_status_change: bool,
    pub created_at: DateTime<Utc>,
}

/// A webhook with how its deliveries stand (`vigil webhooks list`).
#[derive(Clone, Debug)]
pub struct WebhookTally {
    pub webhook: WebhookRecord,
    pub delivered: i64,
    pub pending: i64,
    pub failed: i64,
    /// The newest delivery that has been attempted at least once.
    pub last_attempted: Option<DeliveryRecord>,
}

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

const DELIVERY_COLUMNS: &str = "id, webhook_id, alert_id, alert_revision, \
    coalesce(body::jsonb ->> 'event', '') as event, attempts, state, last_status, last_error, \
    next_attempt_at, created_at, delivered_at";

#[derive(sqlx::FromRow)]
struct DeliveryRow {
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
    fn into_record(self) -> DeliveryRecord {
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
struct WebhookRow {
    id: i64,
    url: String,
    min_severity: String,
    format: String,
    on_status_change: bool,
    created_at: DateTime<Utc>,
}

impl WebhookRow {
    fn into_record(self) -> WebhookRecord {
        WebhookRecord {
            id: self.id,
            url: self.url,
            // The check constraints allow only these.
            min_severity: AlertSeverity::parse(&self.min_severity).unwrap_or(AlertSeverity::Low),
            format: WebhookFormat::parse(&self.format).unwrap_or(WebhookFormat::Json),
            on_status_change: self.on_status_change,
            created_at: self.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct TallyRow {
    #[sqlx(flatten)]
    webhook: WebhookRow,
    delivered: i64,
    pending: i64,
    failed: i64,
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
    /// Registers a receiver (the owner's: the serving login may only read webhooks).
    #[tracing::instrument(skip_all)]
    pub async fn add_webhook(&self, webhook: &NewWebhook) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar(
            "insert into webhooks (url, min_severity, format, on_status_change, secret) \
             values ($1, $2, $3, $4, $5) returning id",
        )
        .bind(&webhook.url)
        .bind(webhook.min_severity.as_str())
        .bind(webhook.format.as_str())
        .bind(webhook.on_status_change)
        .bind(webhook.secret.expose())
        .fetch_one(self.owner()?)
        .await?)
    }

    /// Removes a receiver and its deliveries; false if there was none with this id.
    #[tracing::instrument(skip_all)]
    pub async fn remove_webhook(&self, id: i64) -> Result<bool, StorageError> {
        let removed = sqlx::query("delete from webhooks where id = $1")
            .bind(id)
            .execute(self.owner()?)
            .await?;
        Ok(removed.rows_affected() > 0)
    }

    /// Every webhook, oldest first, with its deliveries counted by state.
    #[tracing::instrument(skip_all)]
    pub async fn webhooks(&self) -> Result<Vec<WebhookTally>, StorageError> {
        let rows: Vec<TallyRow> = sqlx::query_as(
            "select w.id, w.url, w.min_severity, w.format, w.on_status_change, w.created_at, \
               c.delivered, c.pending, c.failed \
             from webhooks w cross join lateral ( \
               select count(*) filter (where state = 'delivered') as delivered, \
                      count(*) filter (where state = 'pending') as pending, \
                      count(*) filter (where state = 'failed') as failed \
               from webhook_deliveries where webhook_id = w.id) c \
             order by w.id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut tallies = Vec::with_capacity(rows.len());
        // One more query per webhook: there are a handful, and this is the owner's CLI.
        for row in rows {
            let last: Option<DeliveryRow> = sqlx::query_as(&format!(
                "select {DELIVERY_COLUMNS} from webhook_deliveries \
                 where webhook_id = $1 and attempts > 0 order by id desc limit 1"
            ))
            .bind(row.webhook.id)
            .fetch_optional(&self.pool)
            .await?;
            tallies.push(WebhookTally {
                webhook: row.webhook.into_record(),
                delivered: row.delivered,
                pending: row.pending,
                failed: row.failed,
                last_attempted: last.map(DeliveryRow::into_record),
            });
        }
        Ok(tallies)
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_secret_stays_hidden() {
        for format in WebhookFormat::ALL {
            assert_eq!(WebhookFormat::parse(format.as_str()), Some(format));
        }
        for state in DeliveryState::ALL {
            assert_eq!(DeliveryState::parse(state.as_str()), Some(state));
        }
        assert_eq!(WebhookFormat::parse("xml"), None);
        let secret = WebhookSecret::new("s3cr3t".to_owned());
        assert!(!format!("{secret:?}").contains("s3cr3t"));
    }
}
