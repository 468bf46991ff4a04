//! Monthly partitions of `events` and of the aggregates that count them: created ahead of time,
//! and dropped whole when retention says so, leaving a chain checkpoint behind so `vigil verify`
//! still holds.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};

use super::{EventStore, StorageError};

/// Months created ahead of the current one, so inserts never find their partition missing.
pub const MONTHS_AHEAD: u32 = 2;
/// The aggregates partitioned like `events` (see migrations/0008_rollups.sql): their month
/// `events_YYYY_MM` is `<table>_YYYY_MM`, with the same bounds.
const AGGREGATES: [&str; 1] = ["event_counts"];
/// The comment retention puts on a month it is about to detach and drop.
const RETIRING: &str = "vigil retention: detaching, then dropping";

/// One monthly partition, `events_YYYY_MM`, holding `[start, end)` by `received_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Partition {
    /// The partition holding `at`.
    pub fn of(at: DateTime<Utc>) -> Self {
        let first = NaiveDate::from_ymd_opt(at.year(), at.month(), 1).expect("a month's first day");
        Self::starting(first)
    }

    fn starting(first: NaiveDate) -> Self {
        let next = first + Months::new(1);
        let midnight =
            |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"));
        Partition {
            name: format!("events_{:04}_{:02}", first.year(), first.month()),
            start: midnight(first),
            end: midnight(next),
        }
    }

    /// Parses a name this module gave; anything else is not ours.
    fn named(name: &str) -> Option<Self> {
        let rest = name.strip_prefix("events_")?;
        let (year, month) = rest.split_once('_')?;
        let first = NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)?;
        let partition = Self::starting(first);
        (partition.name == name).then_some(partition)
    }

    fn next(&self) -> Self {
        Self::of(self.end)
    }

    /// The same month of an aggregate table.
    fn of_aggregate(&self, aggregate: &str) -> String {
        self.name.replacen("events", aggregate, 1)
    }
}

impl EventStore {
    /// The partitions that exist, oldest first.
    pub async fn partitions(&self) -> Result<Vec<Partition>, StorageError> {
        self.partitions_of("events").await
    }

    /// The months of `parent` (`events` or an aggregate) that are attached, oldest first, each
    /// under its `events_YYYY_MM` name.
    async fn partitions_of(&self, parent: &str) -> Result<Vec<Partition>, StorageError> {
        let names: Vec<String> = sqlx::query_scalar(
            "select c.relname::text from pg_inherits i join pg_class c on c.oid = i.inhrelid \
             where i.inhparent = $1::regclass",
        )
        .bind(parent)
        .fetch_all(&self.pool)
        .await?;
        let mut partitions: Vec<Partition> = (names.iter())
            .filter_map(|n| Partition::named(&n.replacen(parent, "events", 1)))
            .collect();
        partitions.sort_by_key(|p| p.start);
        Ok(partitions)
    }

    /// Creates the monthly partitions covering `[from, to]` that do not exist yet, of `events`
    /// and of its aggregates; returns the months `events` gained. Through the owner's
    /// `create_month_partitions` (migrations/0010_serving_login.sql), so the serving login can.
    pub async fn ensure_partitions(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Partition>, StorageError> {
        let mut created = Vec::new();
        // A month counts as there when `events` and every aggregate have it.
        let mut existing = self.partitions().await?;
        for aggregate in AGGREGATES {
            let months = self.partitions_of(aggregate).await?;
            existing.retain(|p| months.contains(p));
        }
        let mut partition = Partition::of(from);
        while partition.start <= to {
            if !existing.contains(&partition) {
                let gained: bool = sqlx::query_scalar("select create_month_partitions($1)")
                    .bind(partition.start.date_naive())
                    .fetch_one(&self.pool)
                    .await?;
                if gained {
                    created.push(partition.clone());
                }
            }
            partition = partition.next();
        }
        Ok(created)
    }

    /// Months that retention marked and detached but did not drop (the run stopped in
    /// between). Only the mark counts: a month an operator detached (to archive it, or hold it)
    /// is never touched.
    async fn detached_partitions(&self) -> Result<Vec<Partition>, StorageError> {
        let names: Vec<String> = sqlx::query_scalar(
            "select c.relname::text from pg_class c \
             where c.relkind = 'r' and not c.relispartition \
             and c.relnamespace = (select relnamespace from pg_class where oid = 'events'::regclass) \
             and obj_description(c.oid, 'pg_class') = $1",
        )
        .bind(RETIRING)
        .fetch_all(&self.pool)
        .await?;
        Ok(names.iter().filter_map(|n| Partition::named(n)).collect())
    }

    /// Drops every partition that ends at or before `cutoff`, oldest first, and any such month
    /// an interrupted run detached but did not drop. Before each drop the newest link it holds
    /// becomes a chain checkpoint; the partition is detached concurrently (inserts and queries
    /// carry on) and then dropped.
    pub async fn drop_partitions_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> Result<Vec<Partition>, StorageError> {
        let attached = self.partitions().await?.into_iter().map(|p| (p, true));
        let detached = self.detached_partitions().await?.into_iter();
        let mut expired: Vec<(Partition, bool)> = attached
            .chain(detached.map(|p| (p, false)))
            .filter(|(partition, _)| partition.end <= cutoff)
            .collect();
        expired.sort_by_key(|(partition, _)| partition.start);
        let mut dropped = Vec::new();
        for (partition, attached) in expired {
            self.checkpoint_newest_link(&partition).await?;
            if attached {
                // Marked first, so a run that stops after the detach is finished by the next.
                sqlx::raw_sql(&format!(
                    "comment on table {} is '{RETIRING}'",
                    partition.name
                ))
                .execute(self.owner()?)
                .await?;
                self.detach(&partition).await?;
            }
            // Another instance's run may have dropped it meanwhile.
            sqlx::raw_sql(&format!("drop table if exists {}", partition.name))
                .execute(self.owner()?)
                .await?;
            tracing::info!(partition = partition.name, "retention dropped a partition");
            dropped.push(partition);
        }
        self.drop_aggregates_before(cutoff).await?;
        Ok(dropped)
    }

    /// Drops the aggregates' months that end at or before `cutoff`: after their events, and
    /// also those a run that stopped midway left behind. A plain drop, one statement, so a
    /// month's counts are either all there or gone; it holds the aggregate's lock for
    /// milliseconds, where detaching `events` concurrently matters because queries read it for
    /// seconds.
    /// The running failure windows, which are not partitioned, are then counted again.
    async fn drop_aggregates_before(&self, cutoff: DateTime<Utc>) -> Result<(), StorageError> {
        let mut dropped = false;
        for aggregate in AGGREGATES {
            for partition in self.partitions_of(aggregate).await? {
                if partition.end <= cutoff {
                    let name = partition.of_aggregate(aggregate);
                    sqlx::raw_sql(&format!("drop table if exists {name}"))
                        .execute(self.owner()?)
                        .await?;
                    dropped = true;
                }
            }
        }
        if dropped {
            self.rebuild_failure_windows().await?;
        }
        Ok(())
    }

    /// Keeps the partition's newest link as a chain checkpoint, so `verify` holds after the drop.
    async fn checkpoint_newest_link(&self, partition: &Partition) -> Result<(), StorageError> {
        let newest: Option<(i64, Option<Vec<u8>>)> = sqlx::query_as(&format!(
            "select seq, hash from {} order by seq desc limit 1",
            partition.name
        ))
        .fetch_optional(self.owner()?)
        .await?;
        if let Some((seq, Some(hash))) = newest {
            sqlx::query(
                "insert into chain_checkpoints (seq, hash, reason) values ($1, $2, $3) \
                 on conflict (seq) do nothing",
            )
            .bind(seq)
            .bind(hash)
            .bind(format!("retention dropped {}", partition.name))
            .execute(self.owner()?)
            .await?;
        }
        Ok(())
    }

    async fn detach(&self, partition: &Partition) -> Result<(), StorageError> {
        let detach = format!("alter table events detach partition {}", partition.name);
        if let Err(err) = sqlx::raw_sql(&format!("{detach} concurrently"))
            .execute(self.owner()?)
            .await
        {
            // An earlier detach was interrupted (a crash): it can only be finished.
            if sqlx::raw_sql(&format!("{detach} finalize"))
                .execute(self.owner()?)
                .await
                .is_err()
            {
                return Err(err.into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_named_and_bounded_in_utc() {
        let p = Partition::of("2026-12-31T23:59:59Z".parse().unwrap());
        assert_eq!(p.name, "events_2026_12");
        assert_eq!(p.start.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(p.end.to_rfc3339(), "2027-01-01T00:00:00+00:00");
        assert_eq!(p.next().name, "events_2027_01");
        assert_eq!(Partition::named("events_2026_12"), Some(p.clone()));
        assert_eq!(Partition::named("events_2026_13"), None);
        assert_eq!(Partition::named("events_unpartitioned"), None);
        assert_eq!(p.of_aggregate("event_counts"), "event_counts_2026_12");
    }
}
