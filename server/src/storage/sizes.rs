//! How much disk the event log takes, part by part: what `vigil db status` reports, so an
//! operator can see what each index costs per event.

use super::{EventStore, StorageError};

/// One part of the event log and its size on disk, summed over its monthly partitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPart {
    /// `events` (rows, with TOAST), an index of `events`, or an aggregate (with its index).
    pub name: String,
    pub bytes: i64,
}

impl EventStore {
    /// The event log's rows, each of its indexes and each aggregate, in that order.
    pub async fn stored_parts(&self) -> Result<Vec<StoredPart>, StorageError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "select 'events', coalesce(sum(pg_table_size(relid)), 0)::bigint \
               from pg_partition_tree('events') where isleaf \
             union all (select c.relname::text, \
                   (select coalesce(sum(pg_relation_size(relid)), 0)::bigint \
                    from pg_partition_tree(c.oid) where isleaf) \
               from pg_index i join pg_class c on c.oid = i.indexrelid \
              where i.indrelid = 'events'::regclass order by 2 desc) \
             union all select 'event_counts', \
                   (select coalesce(sum(pg_total_relation_size(relid)), 0)::bigint \
                    from pg_partition_tree('event_counts') where isleaf) \
             union all select 'failure_windows', pg_total_relation_size('failure_windows')",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, bytes)| StoredPart { name, bytes })
            .collect())
    }
}
