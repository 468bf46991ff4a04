//! The chain's head in the database: where the next event is chained from. The hashing itself
//! (a published format) is pure and lives in `events::chain`.

use crate::events::chain::{ChainLink, Hash};

use super::StorageError;

/// A stored hash column back into a digest; anything but 32 bytes is a broken row.
pub(super) fn to_hash(bytes: &[u8]) -> Result<Hash, StorageError> {
    bytes.try_into().map_err(|_| {
        StorageError::from(sqlx::Error::Decode(
            format!("a chain hash of {} bytes", bytes.len()).into(),
        ))
    })
}

/// Locks the head for this transaction: every other writer, on any instance, waits here until
/// this transaction ends, so events are chained and numbered in commit order.
pub(super) async fn lock_head(conn: &mut sqlx::PgConnection) -> Result<ChainLink, StorageError> {
    read_head(conn, "select seq, hash from chain_head for update").await
}

/// The head as this connection's snapshot sees it (no lock).
pub(super) async fn head(conn: &mut sqlx::PgConnection) -> Result<ChainLink, StorageError> {
    read_head(conn, "select seq, hash from chain_head").await
}

async fn read_head(
    conn: &mut sqlx::PgConnection,
    sql: &'static str,
) -> Result<ChainLink, StorageError> {
    let (seq, hash): (i64, Vec<u8>) = sqlx::query_as(sql).fetch_one(&mut *conn).await?;
    Ok(ChainLink {
        seq,
        hash: to_hash(&hash)?,
    })
}

/// Moves the head (locked by `lock_head` in the same transaction) to `link`.
pub(super) async fn advance_head(
    conn: &mut sqlx::PgConnection,
    link: &ChainLink,
) -> Result<(), StorageError> {
    sqlx::query("update chain_head set seq = $1, hash = $2")
        .bind(link.seq)
        .bind(link.hash.as_slice())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
