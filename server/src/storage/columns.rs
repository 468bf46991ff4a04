//! The `events` table's columns, declared once: the column list every read and write names, the
//! arrays the group insert unnests, the rows `COPY` loads and the CSV export's cells all come
//! from `COLUMNS`, so they cannot fall out of step. (Reads map rows by name, in `EventRow`.)

use chrono::{DateTime, SecondsFormat, Utc};
use ipnetwork::IpNetwork;
use sqlx::{Postgres, QueryBuilder};
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock};
use uuid::Uuid;
use vigil_wire::StoredEvent;

/// One column: its name, and how its value is read from a stored event (which fixes its SQL
/// type and how it binds).
pub struct Column {
    pub name: &'static str,
    pub value: Value,
}

/// A column's value in a stored event, by SQL type.
pub enum Value {
    BigInt(fn(&StoredEvent) -> i64),
    Uuid(fn(&StoredEvent) -> Uuid),
    Text(fn(&StoredEvent) -> Option<&str>),
    Inet(fn(&StoredEvent) -> Option<IpAddr>),
    Bool(fn(&StoredEvent) -> Option<bool>),
    Time(fn(&StoredEvent) -> Option<DateTime<Utc>>),
    Jsonb(fn(&StoredEvent) -> &serde_json::Value),
}

/// Every column of `events` but `hash` (which is the chain's, not the event's), in table order:
/// also the order of the chain's canonical bytes, which a test holds.
#[rustfmt::skip]
pub const COLUMNS: [Column; 27] = [
    Column { name: "seq", value: Value::BigInt(|e| e.seq) },
    Column { name: "id", value: Value::Uuid(|e| e.id) },
    Column { name: "event_type", value: Value::Text(|e| Some(&e.event_type)) },
    Column { name: "category", value: Value::Text(|e| Some(e.category.as_str())) },
    Column { name: "action", value: Value::Text(|e| Some(&e.action)) },
    Column { name: "action_result", value: Value::Text(|e| Some(e.action_result.as_str())) },
    Column { name: "severity", value: Value::Text(|e| Some(e.severity.as_str())) },
    Column { name: "user_id", value: Value::Text(|e| e.user_id.as_deref()) },
    Column { name: "username", value: Value::Text(|e| e.username.as_deref()) },
    Column { name: "ip_address", value: Value::Inet(|e| e.ip_address) },
    Column { name: "user_agent", value: Value::Text(|e| e.user_agent.as_deref()) },
    Column { name: "session_fingerprint", value: Value::Text(|e| e.session_fingerprint.as_deref()) },
    Column { name: "mfa_used", value: Value::Bool(|e| e.mfa_used) },
    Column { name: "reason", value: Value::Text(|e| e.reason.as_deref()) },
    Column { name: "error_message", value: Value::Text(|e| e.error_message.as_deref()) },
    Column { name: "token_type", value: Value::Text(|e| e.token_type.as_deref()) },
    Column { name: "expires_at", value: Value::Time(|e| e.expires_at) },
    Column { name: "client_id", value: Value::Text(|e| e.client_id.as_deref()) },
    Column { name: "scope", value: Value::Text(|e| e.scope.as_deref()) },
    Column { name: "forced", value: Value::Bool(|e| e.forced) },
    Column { name: "api_key_id", value: Value::Text(|e| e.api_key_id.as_deref()) },
    Column { name: "api_key_name", value: Value::Text(|e| e.api_key_name.as_deref()) },
    Column { name: "event_data", value: Value::Jsonb(|e| &e.event_data) },
    Column { name: "occurred_at", value: Value::Time(|e| Some(e.occurred_at)) },
    Column { name: "received_at", value: Value::Time(|e| Some(e.received_at)) },
    Column { name: "source", value: Value::Text(|e| Some(&e.source)) },
    // Last, and in the chain's bytes only when set: events without it hash as they always did.
    Column { name: "occurred_at_claimed", value: Value::Time(|e| e.occurred_at_claimed) },
];

/// The CSV export's column order (a published format: the times first, `event_data` last as
/// compact JSON). Every column appears once; a test holds that.
#[rustfmt::skip]
const CSV_ORDER: [&str; 27] = [
    "seq", "id", "occurred_at", "received_at", "event_type", "category", "action",
    "action_result", "severity", "user_id", "username", "ip_address", "user_agent",
    "session_fingerprint", "mfa_used", "reason", "error_message", "token_type", "expires_at",
    "client_id", "scope", "forced", "api_key_id", "api_key_name", "source", "event_data",
    "occurred_at_claimed",
];

/// `seq, id, event_type, …`: the column list of every select, insert and `COPY`.
pub fn column_list() -> &'static str {
    static LIST: LazyLock<String> = LazyLock::new(|| {
        let names: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
        names.join(", ")
    });
    &LIST
}

/// The columns in CSV order, looked up once rather than by name for every cell of every row.
fn csv_columns() -> &'static [&'static Column] {
    static ORDERED: LazyLock<Vec<&'static Column>> = LazyLock::new(|| {
        (CSV_ORDER.iter())
            .map(|name| {
                (COLUMNS.iter())
                    .find(|c| c.name == *name)
                    .expect("CSV_ORDER names only columns")
            })
            .collect()
    });
    &ORDERED
}

/// The CSV header line (without its line end).
pub fn csv_header() -> String {
    CSV_ORDER.join(",")
}

/// One event's CSV cells, in header order; `None` is an empty cell.
pub fn csv_cells(event: &StoredEvent) -> impl Iterator<Item = Option<Cow<'_, str>>> {
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    csv_columns().iter().map(move |column| match column.value {
        Value::Bool(get) => get(event).map(|b| Cow::Owned(b.to_string())),
        Value::Time(get) => get(event).map(|t| Cow::Owned(time(t))),
        _ => column.value.text(event),
    })
}

impl Value {
    /// The SQL type of the column.
    fn sql_type(&self) -> &'static str {
        match self {
            Value::BigInt(_) => "bigint",
            Value::Uuid(_) => "uuid",
            Value::Text(_) => "text",
            Value::Inet(_) => "inet",
            Value::Bool(_) => "bool",
            Value::Time(_) => "timestamptz",
            Value::Jsonb(_) => "jsonb",
        }
    }

    /// Binds this column of every event as one array, cast to its type: `$n::text[]`.
    pub fn push_array<'a>(
        &self,
        sql: &mut QueryBuilder<'a, Postgres>,
        events: &'a [Arc<StoredEvent>],
    ) {
        let all = events.iter().map(|e| &**e);
        match *self {
            Value::BigInt(get) => sql.push_bind(all.map(get).collect::<Vec<_>>()),
            Value::Uuid(get) => sql.push_bind(all.map(get).collect::<Vec<_>>()),
            Value::Text(get) => sql.push_bind(all.map(get).collect::<Vec<_>>()),
            Value::Inet(get) => {
                sql.push_bind(all.map(|e| get(e).map(IpNetwork::from)).collect::<Vec<_>>())
            }
            Value::Bool(get) => sql.push_bind(all.map(get).collect::<Vec<_>>()),
            Value::Time(get) => sql.push_bind(all.map(get).collect::<Vec<_>>()),
            Value::Jsonb(get) => sql.push_bind(all.map(get).collect::<Vec<_>>()),
        };
        sql.push(format_args!("::{}[]", self.sql_type()));
    }

    /// The value as PostgreSQL reads it in text form (`COPY`, before escaping); `None` is NULL.
    pub fn text<'e>(&self, event: &'e StoredEvent) -> Option<Cow<'e, str>> {
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
        match *self {
            Value::BigInt(get) => Some(Cow::Owned(get(event).to_string())),
            Value::Uuid(get) => Some(Cow::Owned(get(event).to_string())),
            Value::Text(get) => get(event).map(Cow::Borrowed),
            Value::Inet(get) => get(event).map(|ip| Cow::Owned(ip.to_string())),
            Value::Bool(get) => get(event).map(|b| Cow::Borrowed(if b { "t" } else { "f" })),
            Value::Time(get) => get(event).map(|t| Cow::Owned(time(t))),
            Value::Jsonb(get) => Some(Cow::Owned(get(event).to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::chain::{canonical_bytes, canonical_time};
    use crate::events::NewEvent;
    use serde_json::json;

    /// An event with every optional field set, each to a value of its own.
    fn full_event() -> StoredEvent {
        let at = Utc::now();
        let mut event = NewEvent {
            user_id: Some("u-1".into()),
            username: Some("alice".into()),
            ip_address: Some("2001:db8::7".parse().unwrap()),
            user_agent: Some("ua".into()),
            session_fingerprint: Some("fp".into()),
            mfa_used: Some(true),
            reason: Some("why".into()),
            error_message: Some("err".into()),
            token_type: Some("bearer".into()),
            expires_at: Some(at),
            client_id: Some("client".into()),
            scope: Some("openid".into()),
            forced: Some(false),
            api_key_id: Some("k-1".into()),
            api_key_name: Some("ci".into()),
            event_data: json!({"b": 1, "a": [true]}),
            ..NewEvent::of_type("auth.token.issued", "idp")
        }
        .stored(9, at);
        event.occurred_at = at - chrono::Duration::seconds(5);
        event.occurred_at_claimed = Some(at + chrono::Duration::days(1));
        event
    }

    /// The chain's canonical bytes are a frozen format: they list exactly the table's columns,
    /// in its order, so a column added to one and not the other fails here.
    #[test]
    fn the_chain_covers_every_column_in_table_order() {
        let event = full_event();
        let canonical: serde_json::Value =
            serde_json::from_slice(&canonical_bytes(&event)).unwrap();
        let fields = canonical.as_array().unwrap();
        assert_eq!(fields.len(), COLUMNS.len());
        for (column, field) in COLUMNS.iter().zip(fields) {
            let expected = match column.value {
                Value::BigInt(get) => json!(get(&event)),
                Value::Bool(get) => json!(get(&event)),
                Value::Time(get) => json!(get(&event).map(|t| canonical_time(&t))),
                Value::Jsonb(get) => get(&event).clone(),
                _ => json!(column.value.text(&event)),
            };
            assert_eq!(field, &expected, "column {}", column.name);
        }
    }

    #[test]
    fn the_csv_names_every_column_once() {
        let mut csv = CSV_ORDER.to_vec();
        let mut table: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
        csv.sort_unstable();
        table.sort_unstable();
        assert_eq!(csv, table);
    }
}
