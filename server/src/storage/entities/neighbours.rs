//! An address's neighbours: the other addresses of its /24 (IPv4) or /48 (IPv6) with events in
//! range, found by skipping through the address index and counted one index range each.

use chrono::{DateTime, Utc};
use ipnetwork::IpNetwork;
use std::net::IpAddr;
use vigil_wire::{Entity, Neighbours, SeenValue};

use super::{ProfileCaps, VALUES_SHOWN};
use crate::storage::query::MERGE_RANGES;
use crate::storage::{EventStore, StorageError};

/// PostgreSQL's code for a statement cancelled by its timeout.
const QUERY_CANCELED: &str = "57014";

/// address, count, failures, first, last.
type NeighbourRow = (String, i64, i64, DateTime<Utc>, DateTime<Utc>);

impl EventStore {
    /// The other addresses of an address's /24 (IPv4) or /48 (IPv6) with events in range.
    /// `None` for a user, and when counting them ran over `PROFILE_BUDGET`.
    pub(super) async fn neighbours(
        &self,
        entity: &Entity,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        caps: ProfileCaps,
    ) -> Result<Option<Neighbours>, StorageError> {
        let Entity::Ip(ip) = entity else {
            return Ok(None);
        };
        let network = neighbourhood(*ip);
        let mut tx = self.budgeted().await?;
        // Distinct addresses by skipping through the address index, one probe each; one more
        // than the cap (besides the entity itself) tells whether the walk stopped short.
        let walked: Result<Vec<IpNetwork>, sqlx::Error> = sqlx::query_scalar(
            "with recursive walk(address, n) as ( \
               (select ip_address, 1 from events where ip_address <<= $1 \
                order by ip_address limit 1) \
               union all \
               select (select ip_address from events where ip_address <<= $1 \
                       and ip_address > walk.address order by ip_address limit 1), n + 1 \
               from walk where walk.address is not null and n <= $2) \
             select address from walk where address is not null and address <> $3",
        )
        .bind(network)
        .bind(caps.neighbour_addresses.saturating_add(1))
        .bind(IpNetwork::from(*ip))
        .fetch_all(&mut *tx)
        .await;
        let walked = match over_budget(walked, ip)? {
            Some(walked) => walked,
            None => return Ok(None),
        };
        let walked_all = walked.len() as i64 <= caps.neighbour_addresses;
        let walked: Vec<IpNetwork> = (walked.into_iter())
            .take(usize::try_from(caps.neighbour_addresses).unwrap_or(0))
            .collect();
        // Each address is one index range, newest first, at most cap + 1 long.
        sqlx::query(MERGE_RANGES).execute(&mut *tx).await?;
        let counted: Result<Vec<NeighbourRow>, sqlx::Error> = sqlx::query_as(
            "select host(a.address), count(*), \
                    count(*) filter (where e.action_result = 'failure'), \
                    min(e.occurred_at), max(e.occurred_at) \
             from unnest($1::inet[]) a(address) cross join lateral ( \
               select action_result, occurred_at from events where ip_address = a.address \
               and occurred_at >= $2 and occurred_at < $3 \
               order by occurred_at desc, seq desc limit $4) e \
             group by a.address",
        )
        .bind(walked)
        .bind(since)
        .bind(until)
        .bind(caps.neighbour_events.saturating_add(1))
        .fetch_all(&mut *tx)
        .await;
        let rows = match over_budget(counted, ip)? {
            Some(rows) => rows,
            None => return Ok(None),
        };
        tx.commit().await?;
        let mut partial = !walked_all;
        let mut addresses: Vec<SeenValue> = rows
            .into_iter()
            .map(|(value, count, failures, first_seen, last_seen)| {
                partial |= count > caps.neighbour_events;
                SeenValue {
                    value,
                    count: count.min(caps.neighbour_events),
                    failures: failures.min(caps.neighbour_events),
                    first_seen,
                    last_seen,
                }
            })
            .collect();
        addresses.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
        addresses.truncate(usize::try_from(VALUES_SHOWN).unwrap_or(usize::MAX));
        Ok(Some(Neighbours {
            network: network.to_string(),
            addresses,
            partial,
            per_address_cap: caps.neighbour_events,
            addresses_cap: caps.neighbour_addresses,
        }))
    }
}

/// `None` for a statement cancelled at `PROFILE_BUDGET`.
fn over_budget<T>(result: Result<T, sqlx::Error>, ip: &IpAddr) -> Result<Option<T>, StorageError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some(QUERY_CANCELED) => {
            tracing::info!(%ip, "an address's neighbours ran over the profile budget");
            Ok(None)
        }
        Err(err) => Err(err.into()),
    }
}

/// An address's neighbourhood: its /24 (IPv4) or /48 (IPv6).
fn neighbourhood(ip: IpAddr) -> IpNetwork {
    let prefix = if ip.is_ipv4() { 24 } else { 48 };
    let network = IpNetwork::new(ip, prefix).expect("a prefix within the address's length");
    IpNetwork::new(network.network(), prefix).expect("the same prefix")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbourhoods_are_the_24_or_the_48() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            neighbourhood(ip("203.0.113.7")).to_string(),
            "203.0.113.0/24"
        );
        assert_eq!(
            neighbourhood(ip("2001:db8:bad:4::2")).to_string(),
            "2001:db8:bad::/48"
        );
    }
}
