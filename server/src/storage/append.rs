//! Appending to the event log: the only way rows get into `events`.
//!
//! Every append runs in one transaction that locks the chain head, skips ids already stored,
//! numbers the new events head + 1, head + 2, …, chains their hashes, inserts them, moves the
//! head and queues one NOTIFY naming the seq range. Because the head is locked until COMMIT, seqs
//! are gapless and commit in order on every instance, which is what lets live clients resume with
//! `after=<seq>` and lets every instance publish the same stream from the NOTIFYs.

use chrono::{DateTime, SubsecRound, Utc};
use ipnetwork::IpNetwork;
use std::collections::HashMap;
use uuid::Uuid;
use vigil_wire::{IngestReceipt, StoredEvent};

use super::bulk::CopyRows;
use super::chain::{self, ChainLink, Hash};
use super::events::EVENT_COLUMNS;
use super::{EventStore, NewEvent, StorageError};

/// The NOTIFY channel that carries `"<first seq> <last seq>"` for each committed append.
pub const EVENTS_CHANNEL: &str = "vigil_events";

/// The outcome of one append, for the transaction's owner to commit.
#[derive(Debug)]
pub struct Appended {
    /// What was stored, in seq order (duplicates left out).
    pub events: Vec<StoredEvent>,
    /// One per input event, in input order.
    pub receipts: Vec<IngestReceipt>,
}

/// Numbered and chained events, not yet written.
struct Numbered {
    appended: Appended,
    hashes: Vec<Hash>,
    head: ChainLink,
}

impl EventStore {
    /// Appends `events`, received now, in the caller's transaction (its COMMIT makes them
    /// visible and sends the NOTIFY). An id already stored, or repeated within `events`, is not
    /// stored again: its receipt says `duplicate` and carries the stored seq.
    #[tracing::instrument(skip_all, fields(rows = events.len()))]
    pub(super) async fn append(
        conn: &mut sqlx::PgConnection,
        events: &[&NewEvent],
    ) -> Result<Appended, StorageError> {
        let numbered = number(conn, events.iter().map(|e| (*e, None))).await?;
        insert_rows(conn, &numbered).await?;
        Ok(numbered.appended)
    }

    /// Appends events with their own receipt times in one transaction with `COPY`: for bulk
    /// loads (demo data, benchmarks), which still go through the chain.
    pub async fn append_bulk(
        &self,
        events: &[(NewEvent, DateTime<Utc>)],
    ) -> Result<u64, StorageError> {
        let mut tx = self.pool.begin().await?;
        let numbered = number(&mut tx, events.iter().map(|(e, at)| (e, Some(*at)))).await?;
        let mut rows = CopyRows::with_capacity(numbered.appended.events.len());
        for (event, hash) in numbered.appended.events.iter().zip(&numbered.hashes) {
            rows.push(event, hash);
        }
        let copied = rows.copy_into(&mut tx).await?;
        finish(&mut tx, &numbered).await?;
        tx.commit().await?;
        Ok(copied)
    }
}

/// Locks the head, works out duplicates, and numbers and chains the rest. Events without a
/// receipt time are received now, read after the lock so that receipt times follow seqs (and
/// retention, which drops by receipt month, drops a prefix of the chain).
async fn number<'a>(
    conn: &mut sqlx::PgConnection,
    events: impl ExactSizeIterator<Item = (&'a NewEvent, Option<DateTime<Utc>>)> + Clone,
) -> Result<Numbered, StorageError> {
    let producer_ids: Vec<Uuid> = events
        .clone()
        .filter(|(e, _)| e.id_from_producer)
        .map(|(e, _)| e.id)
        .collect();
    let mut head = chain::lock_head(conn).await?;
    // A statement of its own, after the lock: its snapshot then includes every append that
    // committed while we waited, and no other writer can store these ids until we commit.
    let found: Vec<(Uuid, i64)> = if producer_ids.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as("select id, seq from events where id = any($1)")
            .bind(&producer_ids)
            .fetch_all(&mut *conn)
            .await?
    };
    let now = Utc::now();
    let mut stored_seq: HashMap<Uuid, i64> = found.into_iter().collect();
    let mut appended = Appended {
        events: Vec::with_capacity(events.len()),
        receipts: Vec::with_capacity(events.len()),
    };
    let mut hashes = Vec::with_capacity(events.len());
    for (event, received_at) in events {
        if let Some(&seq) = stored_seq.get(&event.id) {
            appended.receipts.push(IngestReceipt {
                id: event.id,
                seq,
                duplicate: true,
            });
            continue;
        }
        let received_at = received_at.unwrap_or(now).trunc_subsecs(6);
        let stored = event.stored(head.seq + 1, received_at);
        head = head.next(&stored);
        stored_seq.insert(event.id, head.seq);
        hashes.push(head.hash);
        appended.receipts.push(IngestReceipt {
            id: event.id,
            seq: head.seq,
            duplicate: false,
        });
        appended.events.push(stored);
    }
    Ok(Numbered {
        appended,
        hashes,
        head,
    })
}

/// Moves the head and queues the NOTIFY (sent by PostgreSQL at COMMIT, in commit order).
async fn finish(conn: &mut sqlx::PgConnection, numbered: &Numbered) -> Result<(), StorageError> {
    let (Some(first), Some(last)) = (
        numbered.appended.events.first(),
        numbered.appended.events.last(),
    ) else {
        return Ok(()); // all duplicates: nothing changed
    };
    chain::advance_head(conn, &numbered.head).await?;
    sqlx::query("select pg_notify($1, $2)")
        .bind(EVENTS_CHANNEL)
        .bind(format!("{} {}", first.seq, last.seq))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One statement: the multi-row insert (one array per column, unnested together), the head's
/// move and the NOTIFY, so an append costs the lock, this and the COMMIT.
async fn insert_rows(
    conn: &mut sqlx::PgConnection,
    numbered: &Numbered,
) -> Result<(), StorageError> {
    let (events, hashes) = (&numbered.appended.events, &numbered.hashes);
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Ok(()); // all duplicates: nothing changed
    };
    let text = |f: fn(&StoredEvent) -> &Option<String>| -> Vec<Option<&str>> {
        events.iter().map(|e| f(e).as_deref()).collect()
    };
    let flag = |f: fn(&StoredEvent) -> Option<bool>| -> Vec<Option<bool>> {
        events.iter().map(f).collect()
    };
    sqlx::query(&format!(
        "with inserted as (insert into events ({EVENT_COLUMNS}, hash) \
         select * from unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::text[], \
            $6::text[], $7::text[], $8::text[], $9::text[], $10::inet[], $11::text[], $12::text[], \
            $13::bool[], $14::text[], $15::text[], $16::text[], $17::timestamptz[], $18::text[], \
            $19::text[], $20::bool[], $21::text[], $22::text[], $23::jsonb[], \
            $24::timestamptz[], $25::timestamptz[], $26::text[], $27::bytea[])), \
         moved as (update chain_head set seq = $28, hash = $29) \
         select pg_notify($30, $31)"
    ))
    .bind(events.iter().map(|e| e.seq).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.id).collect::<Vec<_>>())
    .bind(
        events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        events
            .iter()
            .map(|e| e.category.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>())
    .bind(
        events
            .iter()
            .map(|e| e.action_result.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        events
            .iter()
            .map(|e| e.severity.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(text(|e| &e.user_id))
    .bind(text(|e| &e.username))
    .bind(
        events
            .iter()
            .map(|e| e.ip_address.map(IpNetwork::from))
            .collect::<Vec<_>>(),
    )
    .bind(text(|e| &e.user_agent))
    .bind(text(|e| &e.session_fingerprint))
    .bind(flag(|e| e.mfa_used))
    .bind(text(|e| &e.reason))
    .bind(text(|e| &e.error_message))
    .bind(text(|e| &e.token_type))
    .bind(events.iter().map(|e| e.expires_at).collect::<Vec<_>>())
    .bind(text(|e| &e.client_id))
    .bind(text(|e| &e.scope))
    .bind(flag(|e| e.forced))
    .bind(text(|e| &e.api_key_id))
    .bind(text(|e| &e.api_key_name))
    .bind(events.iter().map(|e| &e.event_data).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.received_at).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.source.as_str()).collect::<Vec<_>>())
    .bind(hashes.iter().map(|h| h.as_slice()).collect::<Vec<_>>())
    .bind(numbered.head.seq)
    .bind(numbered.head.hash.as_slice())
    .bind(EVENTS_CHANNEL)
    .bind(format!("{} {}", first.seq, last.seq))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
