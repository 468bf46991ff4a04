//! Bulk paths through the event log: every matching row streamed out (exports) and rows copied in
//! with `COPY` (demo data), both with memory bounded by a buffer rather than by the table.

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres, QueryBuilder};
use tokio::sync::mpsc;
use vigil_wire::{EventFilter, StoredEvent};

use super::columns::{column_list, COLUMNS};
use super::conditions::push_conditions;
use super::events::EventRow;
use super::{EventStore, StorageError};
use crate::events::chain::{to_hex, Hash};

/// Rows read ahead of a slow client: enough to keep the database busy, small enough to stay flat.
const READ_AHEAD: usize = 256;

impl EventStore {
    /// Every event matching `filter`, newest first, yielded as the database returns rows.
    ///
    /// The connection is taken before returning, so an unavailable database is still an error
    /// the caller can answer with a status. The query then runs in a task of its own because
    /// the row stream borrows its SQL and binds; the bounded channel gives backpressure, and
    /// dropping the returned stream (a client hanging up) ends the task and cancels the query.
    pub async fn stream_matching(
        &self,
        filter: EventFilter,
        now: DateTime<Utc>,
    ) -> Result<impl Stream<Item = Result<StoredEvent, StorageError>> + Send + 'static, StorageError>
    {
        let mut conn = self.pool.acquire().await?;
        let backend: i32 = sqlx::query_scalar("select pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await?;

        let (tx, rx) = mpsc::channel(READ_AHEAD);
        // Cancelling needs the rights of the connection's login, which the role it SET ROLE to
        // lacks; a store without the owner's pool serves under that login itself.
        let pool = self.owner.clone().unwrap_or_else(|| self.pool.clone());
        tokio::spawn(async move {
            if let Err(err) = send_matching(&pool, conn, backend, &filter, now, &tx).await {
                let _ = tx.send(Err(err)).await;
            }
        });
        Ok(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }))
    }

    /// Refreshes the planner's statistics after a bulk load, so filters pick their indexes.
    pub async fn analyze(&self) -> Result<(), StorageError> {
        sqlx::query("analyze events, event_counts, failure_windows")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Sends rows until the result ends or the receiver is gone; `backend` is `conn`'s server pid.
async fn send_matching(
    pool: &PgPool,
    mut conn: PoolConnection<Postgres>,
    backend: i32,
    filter: &EventFilter,
    now: DateTime<Utc>,
    tx: &mpsc::Sender<Result<StoredEvent, StorageError>>,
) -> Result<(), StorageError> {
    let mut sql = QueryBuilder::new(format!("select {} from events where true", column_list()));
    push_conditions(&mut sql, filter, now);
    sql.push(" order by occurred_at desc, seq desc");
    // An export runs for as long as its client keeps reading (it is cancelled when the client
    // goes), not for the interactive statement timeout; `local`, so the connection's next
    // user has the timeout back.
    let mut txn = sqlx::Connection::begin(&mut *conn).await?;
    sqlx::query("set local statement_timeout = 0")
        .execute(&mut *txn)
        .await?;
    let mut rows = sql.build_query_as::<EventRow>().fetch(&mut *txn);
    let abandoned = loop {
        let row = tokio::select! {
            biased;
            _ = tx.closed() => break true,
            row = rows.next() => row,
        };
        let Some(row) = row else { break false };
        let event = row
            .map_err(StorageError::from)
            .and_then(EventRow::into_event)?;
        if tx.send(Ok(event)).await.is_err() {
            break true;
        }
    };
    if abandoned {
        // Dropping the row stream does not stop PostgreSQL: before the connection is reused,
        // sqlx reads the rest of the result, so an abandoned export of millions of rows would
        // run to its end. Cancel it while this task still holds the connection, so the
        // cancel cannot reach whatever query the connection runs next.
        sqlx::query("select pg_cancel_backend($1)")
            .bind(backend)
            .execute(pool)
            .await?;
        // Read up to the cancellation error, so the connection returns to the pool clean.
        while let Some(Ok(_)) = rows.next().await {}
    }
    Ok(())
}

/// Numbered, chained events encoded in PostgreSQL's `COPY` text format, for
/// `EventStore::append_bulk`: the same values the group insert stores, so copied rows are
/// indistinguishable from ingested ones.
#[derive(Debug, Default)]
pub(super) struct CopyRows {
    buf: Vec<u8>,
    rows: usize,
}

impl CopyRows {
    pub fn with_capacity(rows: usize) -> Self {
        CopyRows {
            buf: Vec::with_capacity(rows * 512),
            rows: 0,
        }
    }

    /// Writes the rows with one `COPY` in the caller's transaction; returns how many.
    pub(super) async fn copy_into(
        &self,
        conn: &mut sqlx::PgConnection,
    ) -> Result<u64, StorageError> {
        // `push` writes the read column list's fields in its order, then the hash.
        let statement = format!("copy events ({}, hash) from stdin", column_list());
        let mut copy = conn.copy_in_raw(&statement).await?;
        copy.send(self.buf.as_slice()).await?;
        Ok(copy.finish().await?)
    }

    /// Appends one row: every column's text form, then the hash.
    pub(super) fn push(&mut self, e: &StoredEvent, hash: &Hash) {
        for column in &COLUMNS {
            match column.value.text(e) {
                None => self.buf.extend_from_slice(b"\\N"),
                Some(text) => write_escaped(&mut self.buf, &text),
            }
            self.buf.push(b'\t');
        }
        write_escaped(&mut self.buf, &format!("\\x{}", to_hex(hash)));
        self.buf.push(b'\n');
        self.rows += 1;
    }
}

/// Text-format escaping: backslash, tab, newline and carriage return are the only bytes `COPY`
/// would otherwise read as structure.
fn write_escaped(buf: &mut Vec<u8>, text: &str) {
    for &b in text.as_bytes() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => {
                buf.push(b);
                continue;
            }
        };
        buf.extend_from_slice(escaped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_structure_and_marks_nulls() {
        let mut buf = Vec::new();
        write_escaped(&mut buf, "a\tb\nc\rd\\e");
        assert_eq!(buf, b"a\\tb\\nc\\rd\\\\e");

        let value = serde_json::json!({"event_type": "auth.login.failure", "username": "x\ty"});
        let event = crate::events::parse_event(value, "demo-data").unwrap();
        let stored = event.stored(42, DateTime::from_timestamp(1_700_000_000, 0).unwrap());
        let mut rows = CopyRows::default();
        rows.push(&stored, &[0xab; 32]);
        let line = String::from_utf8(rows.buf).unwrap();
        let fields: Vec<&str> = line.trim_end_matches('\n').split('\t').collect();
        assert_eq!(
            fields.len(),
            COLUMNS.len() + 1,
            "every column, then the hash"
        );
        assert_eq!(fields[0], "42");
        assert_eq!(fields[8], "x\\ty");
        assert_eq!(fields[7], "\\N", "no user_id");
        assert_eq!(fields[23], "2023-11-14T22:13:20.000000Z");
        assert_eq!(fields[COLUMNS.len()], format!("\\\\x{}", "ab".repeat(32)));
        assert_eq!(rows.rows, 1);
    }
}
