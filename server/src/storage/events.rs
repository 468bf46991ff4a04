//! Writing and reading rows of the `events` table.

use chrono::{DateTime, SubsecRound, Utc};
use ipnetwork::IpNetwork;
use std::net::IpAddr;
use uuid::Uuid;
use vigil_wire::{ActionResult, Category, EventType, Severity, StoredEvent};

use super::chain::{self, ChainLink};
use super::{EventStore, StorageError};

/// A validated event ready to insert: it can only be built by the ingest parser.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub id: Uuid,
    /// The producer chose `id` (its `event_id`), so it may repeat; ids Vigil generates (UUIDv7,
    /// 74 random bits) are new by construction and skip the duplicate check.
    pub id_from_producer: bool,
    pub event_type: EventType,
    pub action: String,
    pub action_result: ActionResult,
    pub severity: Severity,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub ip_address: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub session_fingerprint: Option<String>,
    pub mfa_used: Option<bool>,
    pub reason: Option<String>,
    pub error_message: Option<String>,
    pub token_type: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub client_id: Option<String>,
    pub scope: Option<String>,
    pub forced: Option<bool>,
    pub api_key_id: Option<String>,
    pub api_key_name: Option<String>,
    pub event_data: serde_json::Value,
    pub occurred_at: Option<DateTime<Utc>>,
    pub source: String,
}

impl NewEvent {
    /// The event as it is stored with `seq`, received at `received_at` (already whole
    /// microseconds). Times keep whole microseconds, as PostgreSQL does, so the chain hash
    /// computed here is the one a reader recomputes from the row.
    pub fn stored(&self, seq: i64, received_at: DateTime<Utc>) -> StoredEvent {
        StoredEvent {
            seq,
            id: self.id,
            event_type: self.event_type.as_str().to_owned(),
            category: self.event_type.category(),
            action: self.action.clone(),
            action_result: self.action_result,
            severity: self.severity,
            user_id: self.user_id.clone(),
            username: self.username.clone(),
            ip_address: self.ip_address,
            user_agent: self.user_agent.clone(),
            session_fingerprint: self.session_fingerprint.clone(),
            mfa_used: self.mfa_used,
            reason: self.reason.clone(),
            error_message: self.error_message.clone(),
            token_type: self.token_type.clone(),
            expires_at: self.expires_at.map(|t| t.trunc_subsecs(6)),
            client_id: self.client_id.clone(),
            scope: self.scope.clone(),
            forced: self.forced,
            api_key_id: self.api_key_id.clone(),
            api_key_name: self.api_key_name.clone(),
            event_data: self.event_data.clone(),
            occurred_at: self.occurred_at.map_or(received_at, |t| t.trunc_subsecs(6)),
            received_at,
            source: self.source.clone(),
        }
    }
}

/// Column list shared by every read, so rows always map the same way.
pub(super) const EVENT_COLUMNS: &str =
    "seq, id, event_type, category, action, action_result, severity, \
    user_id, username, ip_address, user_agent, session_fingerprint, mfa_used, reason, \
    error_message, token_type, expires_at, client_id, scope, forced, api_key_id, api_key_name, \
    event_data, occurred_at, received_at, source";

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
            source: self.source,
        })
    }
}

impl EventStore {
    /// The newest `limit` events, newest first (by stream order).
    #[tracing::instrument(skip(self))]
    pub async fn recent(&self, limit: i64) -> Result<Vec<StoredEvent>, StorageError> {
        let sql = format!("select {EVENT_COLUMNS} from events order by seq desc limit $1");
        let rows: Vec<EventRow> = sqlx::query_as(&sql)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(EventRow::into_event).collect()
    }

    /// The events with `first <= seq <= last`, in seq order.
    pub async fn seq_range(&self, first: i64, last: i64) -> Result<Vec<StoredEvent>, StorageError> {
        let sql =
            format!("select {EVENT_COLUMNS} from events where seq between $1 and $2 order by seq");
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
        let sql = format!("select {EVENT_COLUMNS} from events where id = $1");
        let row: Option<EventRow> = sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(EventRow::into_event).transpose()
    }
}
