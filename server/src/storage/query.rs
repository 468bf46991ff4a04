//! Reading the event log through an `EventFilter`, newest first, with keyset pagination:
//! every page is one index range scan, however deep, and nothing ever counts the table.

use chrono::{DateTime, Utc};
use ipnetwork::IpNetwork;
use sqlx::{Postgres, QueryBuilder};
use vigil_wire::{EventFilter, EventPage, EventType, StoredEvent};

use super::columns::column_list;
use super::conditions::{kinds_of, network_of, push_conditions, push_user_side, UserSide};
use super::events::EventRow;
use super::{EventStore, StorageError};

/// Where the previous page ended: its last row's time and seq (ties in time broken by seq).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub occurred_at: DateTime<Utc>,
    pub seq: i64,
}

impl Cursor {
    /// Opaque to clients: microseconds and seq.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.occurred_at.timestamp_micros(), self.seq)
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let (micros, seq) = raw.split_once('_')?;
        Some(Cursor {
            occurred_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            seq: seq.parse().ok()?,
        })
    }
}

impl EventStore {
    /// One page of matching events, newest first (by occurrence, then seq).
    #[tracing::instrument(skip(self))]
    pub async fn find(
        &self,
        filter: &EventFilter,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<EventPage, StorageError> {
        let mut sql = QueryBuilder::new("");
        let limit_plus_one = i64::from(limit) + 1;
        // One extra row tells whether another page exists, without counting.
        let walked =
            (self.push_newest(&mut sql, column_list(), filter, after, limit_plus_one)).await?;
        let rows: Vec<EventRow> = if walked {
            let mut tx = self.pool.begin().await?;
            sqlx::query(MERGE_RANGES).execute(&mut *tx).await?;
            let rows = sql.build_query_as().fetch_all(&mut *tx).await?;
            tx.commit().await?;
            rows
        } else {
            sql.build_query_as().fetch_all(&self.pool).await?
        };
        let mut events = rows
            .into_iter()
            .map(EventRow::into_event)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if events.len() > limit as usize {
            events.truncate(limit as usize);
            events.last().map(|e| {
                Cursor {
                    occurred_at: e.occurred_at,
                    seq: e.seq,
                }
                .encode()
            })
        } else {
            None
        };
        Ok(EventPage {
            events,
            next_cursor,
        })
    }
}

impl EventStore {
    /// Pushes `select {columns} from …`: the newest `limit` events matching `filter` (after
    /// `after`), newest first. A network over at most `ADDRESSES_WALKED` stored addresses is
    /// read address by address and merged: each address is one index range, where the whole
    /// network is one range in address order that must be read and sorted. A list of types is
    /// read type by type and merged the same way, so the type index serves it in time order.
    /// `true`: it walks addresses, and the statement is to run after `MERGE_RANGES`.
    pub(super) async fn push_newest(
        &self,
        sql: &mut QueryBuilder<'static, Postgres>,
        columns: &str,
        filter: &EventFilter,
        after: Option<Cursor>,
        limit: i64,
    ) -> Result<bool, StorageError> {
        let addresses = match filter.ip.filter(|ip| !ip.is_host()) {
            Some(ip) => self.addresses_in(network_of(ip)).await?,
            None => None,
        };
        sql.push(format!("select {columns} from "));
        let walked = addresses.is_some();
        if let Some(addresses) = addresses {
            sql.push("unnest(")
                .push_bind(addresses)
                .push("::inet[]) a(address) cross join lateral (select * from events ")
                .push("where ip_address = a.address");
            let walked = EventFilter {
                ip: None,
                ..filter.clone()
            };
            push_conditions(sql, &walked, Utc::now());
            push_page(sql, after, limit);
            sql.push(") e");
        } else if let Some(branches) = branches_of(filter) {
            // Each branch is one index range newest first; the merge reads only what the
            // limit takes from each (`any(types)` would read the time index and filter, and
            // `user_id = x or username = x` every row of both ranges, then sort them).
            sql.push("(");
            for (i, (branch, side)) in branches.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { " union all (" });
                sql.push("select * from events where true");
                if let (Some(side), Some(user)) = (side, &filter.user) {
                    push_user_side(sql, *side, user);
                }
                push_conditions(sql, branch, Utc::now());
                push_page(sql, after, limit);
                sql.push(")");
            }
            sql.push(") e");
        } else {
            sql.push("events where true");
            push_conditions(sql, filter, Utc::now());
            push_page(sql, after, limit);
            return Ok(false);
        }
        sql.push(" order by occurred_at desc, seq desc limit ")
            .push_bind(limit);
        Ok(walked)
    }
}

/// The filter as index ranges to merge: a user's two (see `UserSide`), or one per type of a
/// short list; `None` when it is one range already.
fn branches_of(filter: &EventFilter) -> Option<Vec<(EventFilter, Option<UserSide>)>> {
    if filter.user.is_some() {
        let rest = EventFilter {
            user: None,
            ..filter.clone()
        };
        return Some(
            UserSide::BOTH
                .map(|side| (rest.clone(), Some(side)))
                .to_vec(),
        );
    }
    let kinds = kinds_of(filter);
    if kinds.custom || !(2..=TYPES_WALKED).contains(&kinds.types.len()) {
        return None;
    }
    let one = |event_type: &String| {
        Some(EventFilter {
            types: vec![EventType::parse(event_type).ok()?],
            categories: Vec::new(),
            ..filter.clone()
        })
    };
    let branches: Option<Vec<EventFilter>> = kinds.types.iter().map(one).collect();
    Some(branches?.into_iter().map(|b| (b, None)).collect())
}

/// Adds the keyset condition after `cursor` and the newest-first order and limit.
fn push_page(sql: &mut QueryBuilder<'_, Postgres>, after: Option<Cursor>, limit: i64) {
    if let Some(cursor) = after {
        sql.push(" and (occurred_at, seq) < (")
            .push_bind(cursor.occurred_at);
        sql.push(", ").push_bind(cursor.seq).push(")");
    }
    sql.push(" order by occurred_at desc, seq desc limit ")
        .push_bind(limit);
}

/// For a statement that reads an index range per value of a `lateral` list, newest first: the
/// planner cannot know each value's count and would read every row of each range and sort it
/// (a busy /24's neighbours: 455 ms at 10 M events); ranges merged in order read only what the
/// limit takes (2 ms). `local`: for the transaction only.
pub(super) const MERGE_RANGES: &str = "set local enable_sort = off";

/// A list of at most this many types is read type by type (the MFA category has 7).
const TYPES_WALKED: usize = 16;
/// A network pivot with at most this many distinct stored addresses is read address by address.
const ADDRESSES_WALKED: i64 = 256;

impl EventStore {
    /// The distinct addresses stored within `network`, if there are at most `ADDRESSES_WALKED`:
    /// found by skipping through the address index, one probe per address.
    async fn addresses_in(
        &self,
        network: IpNetwork,
    ) -> Result<Option<Vec<IpNetwork>>, StorageError> {
        let found: Vec<IpNetwork> = sqlx::query_scalar(
            "with recursive walk(address, n) as ( \
               (select ip_address, 1 from events where ip_address <<= $1 \
                order by ip_address limit 1) \
               union all \
               select (select ip_address from events where ip_address <<= $1 \
                       and ip_address > walk.address order by ip_address limit 1), n + 1 \
               from walk where walk.address is not null and n <= $2) \
             select address from walk where address is not null",
        )
        .bind(network)
        .bind(ADDRESSES_WALKED)
        .fetch_all(&self.pool)
        .await?;
        Ok((found.len() as i64 <= ADDRESSES_WALKED).then_some(found))
    }
}

impl EventStore {
    /// Up to `limit` matching events with a seq above `after`, oldest first: what a live client
    /// resuming with `after=` missed. Walks the seq primary key, so each page is cheap however
    /// old `after` is.
    #[tracing::instrument(skip(self))]
    pub async fn matching_after(
        &self,
        filter: &EventFilter,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        self.matching_in(filter, after, None, limit).await
    }

    /// Every matching event with a seq in (`after`, `through`], oldest first: one window of a
    /// replay that connections falling behind together share.
    #[tracing::instrument(skip(self))]
    pub async fn matching_through(
        &self,
        filter: &EventFilter,
        after: i64,
        through: i64,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        let limit = u32::try_from(through.saturating_sub(after).max(0)).unwrap_or(u32::MAX);
        self.matching_in(filter, after, Some(through), limit).await
    }

    async fn matching_in(
        &self,
        filter: &EventFilter,
        after: i64,
        through: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        let mut sql = QueryBuilder::new(format!("select {} from events where true", column_list()));
        push_conditions(&mut sql, filter, Utc::now());
        sql.push(" and seq > ").push_bind(after);
        if let Some(through) = through {
            sql.push(" and seq <= ").push_bind(through);
        }
        sql.push(" order by seq limit ").push_bind(i64::from(limit));
        let rows: Vec<EventRow> = sql.build_query_as().fetch_all(&self.pool).await?;
        rows.into_iter().map(EventRow::into_event).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            occurred_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            seq: 42,
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("nonsense"), None);
        assert_eq!(Cursor::decode("1_x"), None);
    }
}
