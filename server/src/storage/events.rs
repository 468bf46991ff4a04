//! Writing and reading rows of the `events` table.

use chrono::{DateTime, Utc};
use ipnetwork::IpNetwork;
use std::net::IpAddr;
use uuid::Uuid;
use vigil_wire::{ActionResult, Category, EventType, Severity, StoredEvent};

use super::{EventStore, StorageError};

/// A validated event ready to insert: it can only be built by the ingest parser.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub id: Uuid,
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

/// The group's events column by column, as `unnest` wants them.
#[derive(Default)]
struct Columns {
    id: Vec<Uuid>,
    event_type: Vec<String>,
    category: Vec<&'static str>,
    action: Vec<String>,
    action_result: Vec<&'static str>,
    severity: Vec<&'static str>,
    user_id: Vec<Option<String>>,
    username: Vec<Option<String>>,
    ip_address: Vec<Option<IpNetwork>>,
    user_agent: Vec<Option<String>>,
    session_fingerprint: Vec<Option<String>>,
    mfa_used: Vec<Option<bool>>,
    reason: Vec<Option<String>>,
    error_message: Vec<Option<String>>,
    token_type: Vec<Option<String>>,
    expires_at: Vec<Option<DateTime<Utc>>>,
    client_id: Vec<Option<String>>,
    scope: Vec<Option<String>>,
    forced: Vec<Option<bool>>,
    api_key_id: Vec<Option<String>>,
    api_key_name: Vec<Option<String>>,
    event_data: Vec<serde_json::Value>,
    occurred_at: Vec<Option<DateTime<Utc>>>,
    source: Vec<String>,
}

impl Columns {
    fn from_events(events: &[&NewEvent]) -> Self {
        let mut c = Columns::default();
        for e in events {
            c.id.push(e.id);
            c.event_type.push(e.event_type.as_str().to_owned());
            c.category.push(e.event_type.category().as_str());
            c.action.push(e.action.clone());
            c.action_result.push(e.action_result.as_str());
            c.severity.push(e.severity.as_str());
            c.user_id.push(e.user_id.clone());
            c.username.push(e.username.clone());
            c.ip_address.push(e.ip_address.map(IpNetwork::from));
            c.user_agent.push(e.user_agent.clone());
            c.session_fingerprint.push(e.session_fingerprint.clone());
            c.mfa_used.push(e.mfa_used);
            c.reason.push(e.reason.clone());
            c.error_message.push(e.error_message.clone());
            c.token_type.push(e.token_type.clone());
            c.expires_at.push(e.expires_at);
            c.client_id.push(e.client_id.clone());
            c.scope.push(e.scope.clone());
            c.forced.push(e.forced);
            c.api_key_id.push(e.api_key_id.clone());
            c.api_key_name.push(e.api_key_name.clone());
            c.event_data.push(e.event_data.clone());
            c.occurred_at.push(e.occurred_at);
            c.source.push(e.source.clone());
        }
        c
    }
}

impl EventStore {
    /// Inserts a group of events in one statement, in the caller's transaction, skipping ids
    /// already stored.
    /// Returns the rows actually inserted, in `seq` order; the caller works out duplicates.
    #[tracing::instrument(skip_all, fields(rows = events.len()))]
    pub(super) async fn insert_many(
        conn: &mut sqlx::PgConnection,
        events: &[&NewEvent],
    ) -> Result<Vec<StoredEvent>, StorageError> {
        let columns = Columns::from_events(events);
        // One array per column, unnested in input order, so seq follows request order.
        let sql = format!(
            "insert into events (id, event_type, category, action, action_result, severity, \
                user_id, username, ip_address, user_agent, session_fingerprint, mfa_used, reason, \
                error_message, token_type, expires_at, client_id, scope, forced, api_key_id, \
                api_key_name, event_data, occurred_at, source) \
             select id, event_type, category, action, action_result, severity, user_id, username, \
                ip_address, user_agent, session_fingerprint, mfa_used, reason, error_message, \
                token_type, expires_at, client_id, scope, forced, api_key_id, api_key_name, \
                event_data, coalesce(occurred_at, now()), source \
             from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
                $7::text[], $8::text[], $9::inet[], $10::text[], $11::text[], $12::bool[], \
                $13::text[], $14::text[], $15::text[], $16::timestamptz[], $17::text[], $18::text[], \
                $19::bool[], $20::text[], $21::text[], $22::jsonb[], $23::timestamptz[], $24::text[]) \
                with ordinality as input(id, event_type, category, action, action_result, severity, \
                user_id, username, ip_address, user_agent, session_fingerprint, mfa_used, reason, \
                error_message, token_type, expires_at, client_id, scope, forced, api_key_id, \
                api_key_name, event_data, occurred_at, source, position) \
             order by position \
             on conflict (id) do nothing \
             returning {EVENT_COLUMNS}"
        );
        let rows: Vec<EventRow> = sqlx::query_as(&sql)
            .bind(columns.id)
            .bind(columns.event_type)
            .bind(columns.category)
            .bind(columns.action)
            .bind(columns.action_result)
            .bind(columns.severity)
            .bind(columns.user_id)
            .bind(columns.username)
            .bind(columns.ip_address)
            .bind(columns.user_agent)
            .bind(columns.session_fingerprint)
            .bind(columns.mfa_used)
            .bind(columns.reason)
            .bind(columns.error_message)
            .bind(columns.token_type)
            .bind(columns.expires_at)
            .bind(columns.client_id)
            .bind(columns.scope)
            .bind(columns.forced)
            .bind(columns.api_key_id)
            .bind(columns.api_key_name)
            .bind(columns.event_data)
            .bind(columns.occurred_at)
            .bind(columns.source)
            .fetch_all(&mut *conn)
            .await?;
        let mut stored = rows
            .into_iter()
            .map(EventRow::into_event)
            .collect::<Result<Vec<_>, _>>()?;
        stored.sort_by_key(|e| e.seq);
        Ok(stored)
    }

    /// The `seq` of each already stored id among `ids`.
    pub(super) async fn seqs_of(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, i64)>, StorageError> {
        Ok(
            sqlx::query_as("select id, seq from events where id = any($1)")
                .bind(ids)
                .fetch_all(&self.pool)
                .await?,
        )
    }

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
