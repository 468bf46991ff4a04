//! Appending to the event log: the only way rows get into `events`.
//!
//! Events are numbered head + 1, head + 2, … and their hashes chained from the head, then one
//! statement (its own transaction) moves the head *only if it is still where the writer
//! numbered from*, inserts the rows and queues one NOTIFY naming the seq range. If another
//! writer (another instance) moved the head first, the statement changes nothing and the append
//! is numbered again from the new head. Seqs are therefore gapless and commit in order on every
//! instance, which is what lets live clients resume with `after=<seq>` and lets every instance
//! publish the same stream from the NOTIFYs — and an append costs one round trip, not a
//! transaction of four (BEGIN, lock the head, insert, COMMIT), which is what makes single-event
//! ingest fast: the writer spends its time committing, not waiting for replies.

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::{Postgres, QueryBuilder};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;
use vigil_wire::{IngestReceipt, StoredEvent};

use super::bulk::CopyRows;
use super::chain;
use super::columns::{column_list, COLUMNS};
use super::{EventStore, StorageError};
use crate::events::chain::{to_hex, ChainLink, Hash};
use crate::events::NewEvent;

/// The NOTIFY channel that carries `"<first seq> <last seq> <stage token>"` for each committed
/// append (without the token for bulk appends).
pub const EVENTS_CHANNEL: &str = "vigil_events";

/// Where the writer shows events about to be committed, so that whoever follows the NOTIFYs
/// (the live hub) can publish them without reading them back. A stage is identified by the
/// append's first seq and a token its NOTIFY carries, so events staged for a range another
/// writer won are never mistaken for that writer's.
pub trait Staging: Send + Sync {
    /// Keeps `events` (in seq order, not empty); the token goes into their NOTIFY.
    fn stage(&self, events: &[Arc<StoredEvent>]) -> u64;
    /// Forgets a stage whose append did not commit.
    fn unstage(&self, first_seq: i64, token: u64);
}

/// The outcome of one append.
#[derive(Debug)]
pub struct Appended {
    /// One per input event, in input order; empty when there are conflicts.
    pub receipts: Vec<IngestReceipt>,
    /// Indexes of input events whose `event_id` another producer (`source`) already used, or
    /// used earlier in the same group. When any are found nothing is written: the caller
    /// refuses the requests holding them and appends the rest again.
    pub conflicts: Vec<usize>,
}

/// Numbered and chained events, not yet written.
struct Numbered {
    appended: Appended,
    /// What is to be stored, in seq order (duplicates left out). Shared, so that staging them
    /// for the live hub costs a reference count per event, not a copy on the writer's turn.
    events: Vec<Arc<StoredEvent>>,
    hashes: Vec<Hash>,
    /// Where the chain ends once they are.
    head: ChainLink,
}

impl Numbered {
    /// The seq range, if anything is to be written.
    fn range(&self) -> Option<(i64, i64)> {
        Some((self.events.first()?.seq, self.events.last()?.seq))
    }

    /// Writes them in one statement, if the head is still at `expected`: see `insert_rows`.
    async fn write(
        &self,
        conn: &mut sqlx::PgConnection,
        expected: &ChainLink,
        token: u64,
    ) -> Result<bool, StorageError> {
        let Some((first, last)) = self.range() else {
            return Ok(true);
        };
        insert_rows(conn, self, expected, (first, last, token)).await
    }
}

impl EventStore {
    /// Appends `events`, received now, in one statement of its own (committed when it returns).
    /// `head` is where the caller believes the chain ends (`None`: read it); on success it is
    /// the new head. An id already stored, or repeated within `events`, is not stored again: its
    /// receipt says `duplicate` and carries the stored seq. `staging` is shown the events about to
    /// be committed (and returns the token their NOTIFY will carry), and told of those that were
    /// not.
    #[tracing::instrument(skip_all, fields(rows = events.len()))]
    pub async fn append(
        conn: &mut sqlx::PgConnection,
        events: &[&NewEvent],
        head: &mut Option<ChainLink>,
        staging: &dyn Staging,
    ) -> Result<Appended, StorageError> {
        let producer_ids: Vec<Uuid> = events
            .iter()
            .filter(|e| e.id_from_producer)
            .map(|e| e.id)
            .collect();
        loop {
            let expected = match head.take() {
                Some(link) => link,
                None => chain::head(conn).await?,
            };
            // Any append committed after this read moves the head, so the statement below
            // then changes nothing and this is read again: a stored id cannot slip through.
            let stored = stored_seqs(conn, &producer_ids).await?;
            let numbered = number(expected, stored, events.iter().map(|e| (*e, None)));
            if !numbered.appended.conflicts.is_empty() {
                *head = Some(expected);
                return Ok(Appended {
                    receipts: Vec::new(),
                    conflicts: numbered.appended.conflicts,
                });
            }
            let Some((first, _)) = numbered.range() else {
                *head = Some(expected);
                return Ok(numbered.appended); // all duplicates: nothing to write
            };
            let token = staging.stage(&numbered.events);
            let written = numbered.write(conn, &expected, token).await;
            match written {
                Ok(true) => {
                    *head = Some(numbered.head);
                    return Ok(numbered.appended);
                }
                // Another writer got there first: number from its head.
                Ok(false) => staging.unstage(first, token),
                Err(err) => {
                    staging.unstage(first, token);
                    return Err(err);
                }
            }
        }
    }

    /// Appends events with their own receipt times in one transaction with `COPY`: for bulk
    /// loads (demo data, benchmarks), which still go through the chain.
    pub async fn append_bulk(
        &self,
        events: &[(NewEvent, DateTime<Utc>)],
    ) -> Result<u64, StorageError> {
        let mut tx = self.pool.begin().await?;
        let producer_ids: Vec<Uuid> = (events.iter())
            .filter(|(e, _)| e.id_from_producer)
            .map(|(e, _)| e.id)
            .collect();
        // Locked until COMMIT, so no other writer can store these ids or move the head meanwhile.
        let head = chain::lock_head(&mut tx).await?;
        let stored = stored_seqs(&mut tx, &producer_ids).await?;
        let numbered = number(head, stored, events.iter().map(|(e, at)| (e, Some(*at))));
        if let Some(&index) = numbered.appended.conflicts.first() {
            let id = events[index].0.id;
            let err = format!("event_id {id} is another source's: nothing was loaded");
            return Err(StorageError::Other(std::sync::Arc::new(
                sqlx::Error::Protocol(err),
            )));
        }
        let mut rows = CopyRows::with_capacity(numbered.events.len());
        for (event, hash) in numbered.events.iter().zip(&numbered.hashes) {
            rows.push(event, hash);
        }
        let copied = rows.copy_into(&mut tx).await?;
        finish(&mut tx, &numbered).await?;
        tx.commit().await?;
        Ok(copied)
    }
}

/// Where the stored copies of `ids` are: a statement of its own, so its snapshot includes
/// every append committed before it.
async fn stored_seqs(
    conn: &mut sqlx::PgConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, StoredAt>, StorageError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found: Vec<(Uuid, i64, Option<Vec<u8>>, String)> =
        sqlx::query_as("select id, seq, hash, source from events where id = any($1)")
            .bind(ids)
            .fetch_all(&mut *conn)
            .await?;
    Ok((found.into_iter())
        .map(|(id, seq, hash, source)| (id, (seq, hash.map(|h| to_hex(&h)), source)))
        .collect())
}

/// Where a stored event sits: its seq, chain hash (hex; none before the chain began) and source.
type StoredAt = (i64, Option<String>, String);

/// Numbers and chains the events after `head`, leaving out ids in `stored_seq` or repeated.
/// Events without a receipt time are received now, taken after the head was read, so that
/// receipt times follow seqs (retention, which drops by receipt month, drops a prefix of the
/// chain).
fn number<'a>(
    mut head: ChainLink,
    mut stored_seq: HashMap<Uuid, StoredAt>,
    events: impl ExactSizeIterator<Item = (&'a NewEvent, Option<DateTime<Utc>>)>,
) -> Numbered {
    let now = Utc::now();
    let mut appended = Appended {
        receipts: Vec::with_capacity(events.len()),
        conflicts: Vec::new(),
    };
    let mut stored_events = Vec::with_capacity(events.len());
    let mut hashes = Vec::with_capacity(events.len());
    for (index, (event, received_at)) in events.enumerate() {
        if let Some((seq, hash, source)) = stored_seq.get(&event.id) {
            // Idempotent per producer: another's id is refused, and says nothing of the event.
            if *source != event.source {
                appended.conflicts.push(index);
                continue;
            }
            appended.receipts.push(IngestReceipt {
                id: event.id,
                seq: *seq,
                duplicate: true,
                hash: hash.clone(),
            });
            continue;
        }
        let received_at = received_at.unwrap_or(now).trunc_subsecs(6);
        let stored = event.stored(head.seq + 1, received_at);
        head = head.next(&stored);
        let hash = to_hex(&head.hash);
        stored_seq.insert(
            event.id,
            (head.seq, Some(hash.clone()), event.source.clone()),
        );
        hashes.push(head.hash);
        appended.receipts.push(IngestReceipt {
            id: event.id,
            seq: head.seq,
            duplicate: false,
            hash: Some(hash),
        });
        stored_events.push(Arc::new(stored));
    }
    Numbered {
        appended,
        events: stored_events,
        hashes,
        head,
    }
}

/// Moves the head and queues the NOTIFY (sent by PostgreSQL at COMMIT, in commit order).
async fn finish(conn: &mut sqlx::PgConnection, numbered: &Numbered) -> Result<(), StorageError> {
    let (Some(first), Some(last)) = (numbered.events.first(), numbered.events.last()) else {
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

/// One statement: the head's move from `expected`, the multi-row insert (one array per column,
/// unnested together) and the NOTIFY `"<first> <last> <token>"`, all only if the head was still
/// at `expected`. PostgreSQL re-checks that condition after waiting for any writer holding the
/// head, so two writers cannot both move it from the same place. False: the head had moved.
async fn insert_rows(
    conn: &mut sqlx::PgConnection,
    numbered: &Numbered,
    expected: &ChainLink,
    (first, last, token): (i64, i64, u64),
) -> Result<bool, StorageError> {
    let (events, hashes) = (&numbered.events, &numbered.hashes);
    let mut sql = QueryBuilder::<Postgres>::new("with moved as (update chain_head set seq = ");
    sql.push_bind(numbered.head.seq)
        .push(", hash = ")
        .push_bind(numbered.head.hash.as_slice())
        .push(" where seq = ")
        .push_bind(expected.seq)
        .push(" and hash = ")
        .push_bind(expected.hash.as_slice())
        .push(" returning seq), inserted as (insert into events (")
        .push(column_list())
        .push(", hash) select * from unnest(");
    for column in &COLUMNS {
        column.value.push_array(&mut sql, events);
        sql.push(", ");
    }
    sql.push_bind(hashes.iter().map(|h| h.as_slice()).collect::<Vec<_>>())
        .push("::bytea[]) where exists (select from moved)) select pg_notify(")
        .push_bind(EVENTS_CHANNEL)
        .push(", ")
        .push_bind(format!("{first} {last} {token}"))
        .push(") from moved");
    Ok(sql.build().fetch_optional(&mut *conn).await?.is_some())
}
