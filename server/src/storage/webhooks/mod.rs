//! The `webhooks` table (migrations/0011_alerts.sql): the receivers the owner registers. Their
//! deliveries, every alert change queued for each, are in `deliveries`.

use chrono::{DateTime, Utc};
use std::fmt;
use vigil_wire::AlertSeverity;

mod deliveries;

pub use deliveries::{
    AttemptOutcome, ClaimedDelivery, DeliveryQuery, DeliveryRecord, DeliveryState,
};
use deliveries::{DeliveryRow, DELIVERY_COLUMNS};

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
