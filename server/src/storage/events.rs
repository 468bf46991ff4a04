//! Writing and reading rows of the `events` table.

use chrono::{DateTime, Utc};
use ipnetwork::IpNetwork;
use uuid::Uuid;
use vigil_wire::{Category, EventType, StoredEvent};

use super::chain;
use super::columns::column_list;
use super::{EventStore, StorageError};
use crate::events::chain::ChainLink;

#[derive(sqlx::FromRow)]
pub(super) struct EventRow {
    seq: i64,
    id: Uuid,
    event_type: String,
    category: String,
    action: String,
    action_result: String,
    severity: String,
    user_id: Option<String>,
    username: Option<String>,
    ip_address: Option<IpNetwork>,
    user_agent: Option<String>,
    session_fingerprint: Option<String>,
    mfa_used: Option<bool>,
    reason: Option<String>,
    error_message: Option<String>,
    token_type: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    client_id: Option<String>,
    scope: Option<String>,
    forced: Option<bool>,
    api_key_id: Option<String>,
    api_key_name: Option<String>,
    event_data: serde_json::Value,
    occurred_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    occurred_at_claimed: Option<DateTime<Utc>>,
    source: String,
}

impl EventRow {
    /// Check constraints keep the enum columns valid; a value outside them means the schema and
    /// the code disagree, which is worth a loud error rather than a silent default.
    pub(super) fn into_event(self) -> Result<StoredEvent, StorageError> {
        let bad = |what: &str, value: &str| {
            StorageError::from(sqlx::Error::Decode(
                format!("unexpected {what} `{value}` in row").into(),
            ))
        };
        let category = EventType::parse(&self.event_type)
            .map(|t| t.category())
            .unwrap_or(Category::Custom);
        debug_assert_eq!(category.as_str(), self.category);
        Ok(StoredEvent {
            seq: self.seq,
            id: self.id,
            action_result: self
                .action_result
                .parse()
                .map_err(|_| bad("action_result", &self.action_result))?,
            severity: self
                .severity
                .parse()
                .map_err(|_| bad("severity", &self.severity))?,
            event_type: self.event_type,
            category,
            action: self.action,
            user_id: self.user_id,
            username: self.username,
            ip_address: self.ip_address.map(|net| net.ip()),
            user_agent: self.user_agent,
            session_fingerprint: self.session_fingerprint,
            mfa_used: self.mfa_used,
            reason: self.reason,
            error_message: self.error_message,
            token_type: self.token_type,
            expires_at: self.expires_at,
            client_id: self.client_id,
            scope: self.scope,
            forced: self.forced,
            api_key_id: self.api_key_id,
            api_key_name: self.api_key_name,
            event_data: self.event_data,
            occurred_at: self.occurred_at,
            received_at: self.received_at,
            occurred_at_claimed: self.occurred_at_claimed,
            source: self.source,
        })
    }
}

impl EventStore {
    /// The newest `limit` events, newest first (by stream order).
    #[tracing::instrument(skip(self))]
    pub async fn recent(&self, limit: i64) -> Result<Vec<StoredEvent>, StorageError> {
        let sql = format!(
            "select {} from events order by seq desc limit $1",
            column_list()
        );
        let rows: Vec<EventRow> = sqlx::query_as(&sql)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(EventRow::into_event).collect()
    }

    /// The events with `first <= seq <= last`, in seq order.
    pub async fn seq_range(&self, first: i64, last: i64) -> Result<Vec<StoredEvent>, StorageError> {
        let sql = format!(
            "select {} from events where seq between $1 and $2 order by seq",
            column_list()
        );
        let rows: Vec<EventRow> = sqlx::query_as(&sql)
            .bind(first)
            .bind(last)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(EventRow::into_event).collect()
    }

    /// The newest committed link of the chain: its seq is the newest event's.
    pub async fn chain_head(&self) -> Result<ChainLink, StorageError> {
        chain::head(&mut *self.pool.acquire().await?).await
    }

    /// One event by id.
    #[tracing::instrument(skip(self))]
    pub async fn by_id(&self, id: Uuid) -> Result<Option<StoredEvent>, StorageError> {
        let sql = format!("select {} from events where id = $1", column_list());
        let row: Option<EventRow> = sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(EventRow::into_event).transpose()
    }
}
