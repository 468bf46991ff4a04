//! Walking the chain: recompute every link from a checkpoint and compare it with what is stored.

use futures::TryStreamExt;
use vigil_wire::{ChainStatus, ChainVerification};

use super::chain;
use super::columns::column_list;
use super::events::EventRow;
use super::{EventStore, StorageError};
use crate::events::chain::{to_hex, ChainLink};

#[derive(sqlx::FromRow)]
struct ChainedRow {
    #[sqlx(flatten)]
    event: EventRow,
    hash: Option<Vec<u8>>,
}

impl EventStore {
    /// Recomputes the chain from the newest checkpoint (or from the stored link at `from_seq`,
    /// trusted as given) through the head, and records the outcome. The walk reads one snapshot,
    /// so events committed meanwhile are neither half-seen nor blamed.
    #[tracing::instrument(skip(self))]
    pub async fn verify_chain(
        &self,
        from_seq: Option<i64>,
    ) -> Result<ChainVerification, StorageError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("set transaction isolation level repeatable read, read only")
            .execute(&mut *tx)
            .await?;
        // The walk reads the whole chain: beyond the interactive statement timeout at scale.
        sqlx::query("set local statement_timeout = 0")
            .execute(&mut *tx)
            .await?;
        let start = match from_seq {
            Some(seq) => stored_link(&mut tx, seq).await?,
            None => newest_checkpoint(&mut tx).await?,
        };
        let head = chain::head(&mut tx).await?;
        let sql = format!(
            "select {}, hash from events where seq > $1 and seq <= $2 order by seq",
            column_list()
        );
        let mut rows = sqlx::query_as::<_, ChainedRow>(&sql)
            .bind(start.seq)
            .bind(head.seq)
            .fetch(&mut *tx);
        let mut link = start;
        let mut first_bad_seq = None;
        while let Some(row) = rows.try_next().await? {
            let event = row.event.into_event()?;
            if event.seq != link.seq + 1 {
                first_bad_seq = Some(link.seq + 1); // a row is missing
                break;
            }
            let next = link.next(&event);
            if row.hash.as_deref() != Some(next.hash.as_slice()) {
                first_bad_seq = Some(event.seq);
                break;
            }
            link = next;
        }
        drop(rows);
        if first_bad_seq.is_none() && link != head {
            // Rows missing at the end, or a head that was moved.
            first_bad_seq = Some(link.seq + 1);
        }
        tx.commit().await?;
        let verification = ChainVerification {
            verified_at: chrono::Utc::now(),
            from_seq: start.seq,
            through_seq: link.seq,
            first_bad_seq,
        };
        self.record_verification(&verification).await?;
        Ok(verification)
    }

    async fn record_verification(&self, v: &ChainVerification) -> Result<(), StorageError> {
        sqlx::query(
            "insert into chain_verifications (verified_at, from_seq, through_seq, first_bad_seq) \
             values ($1, $2, $3, $4)",
        )
        .bind(v.verified_at)
        .bind(v.from_seq)
        .bind(v.through_seq)
        .bind(v.first_bad_seq)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The head and the latest verification: `GET /api/v1/chain` and the dashboard.
    pub async fn chain_status(&self) -> Result<ChainStatus, StorageError> {
        let head = self.chain_head().await?;
        let last_verification = sqlx::query_as::<
            _,
            (chrono::DateTime<chrono::Utc>, i64, i64, Option<i64>),
        >(
            "select verified_at, from_seq, through_seq, first_bad_seq from chain_verifications \
             order by id desc limit 1",
        )
        .fetch_optional(&self.pool)
        .await?
        .map(
            |(verified_at, from_seq, through_seq, first_bad_seq)| ChainVerification {
                verified_at,
                from_seq,
                through_seq,
                first_bad_seq,
            },
        );
        Ok(ChainStatus {
            seq: head.seq,
            hash: to_hex(&head.hash),
            last_verification,
            latest_checkpoint: None,
        })
    }
}

impl EventStore {
    /// Where the stored chain starts being checkable (the newest genesis or retention
    /// checkpoint), the head, and the stored hash at each of `seqs` (`None`: no such row), all
    /// in one snapshot.
    pub async fn links_at(&self, seqs: &[i64]) -> Result<StoredLinks, StorageError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("set transaction isolation level repeatable read, read only")
            .execute(&mut *tx)
            .await?;
        let start = newest_checkpoint(&mut tx).await?;
        let head = chain::head(&mut tx).await?;
        let rows: Vec<(i64, Option<Vec<u8>>)> =
            sqlx::query_as("select seq, hash from events where seq = any($1)")
                .bind(seqs)
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        let stored = rows
            .into_iter()
            .filter_map(|(seq, hash)| Some((seq, hash?)))
            .collect();
        Ok(StoredLinks {
            start,
            head,
            stored,
        })
    }
}

/// What `links_at` read.
pub struct StoredLinks {
    pub start: ChainLink,
    pub head: ChainLink,
    pub stored: std::collections::HashMap<i64, Vec<u8>>,
}

async fn newest_checkpoint(conn: &mut sqlx::PgConnection) -> Result<ChainLink, StorageError> {
    let (seq, hash): (i64, Vec<u8>) =
        sqlx::query_as("select seq, hash from chain_checkpoints order by seq desc limit 1")
            .fetch_one(&mut *conn)
            .await?;
    Ok(ChainLink {
        seq,
        hash: chain::to_hash(&hash)?,
    })
}

/// The link stored with event `seq`, or a checkpoint at `seq`.
async fn stored_link(conn: &mut sqlx::PgConnection, seq: i64) -> Result<ChainLink, StorageError> {
    let hash: Option<Vec<u8>> = sqlx::query_scalar(
        "select hash from events where seq = $1 and hash is not null \
         union all select hash from chain_checkpoints where seq = $1 limit 1",
    )
    .bind(seq)
    .fetch_optional(&mut *conn)
    .await?;
    let hash = hash.ok_or_else(|| {
        StorageError::from(sqlx::Error::Protocol(format!(
            "seq {seq} is neither a chained event nor a checkpoint"
        )))
    })?;
    Ok(ChainLink {
        seq,
        hash: chain::to_hash(&hash)?,
    })
}
