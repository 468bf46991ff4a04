//! Signed checkpoints: the chain head signed with a key the database never holds and appended to
//! a log outside it, so that rewriting history — even recomputing every later hash, as the
//! database's superuser could — no longer matches what was signed (RFC 6962's signed tree
//! heads, for a hash chain).

mod key;
mod log;

pub use key::{parse_public_key, signed_by, CheckpointKey, KeyError};
pub use log::{CheckpointLog, LogError};

use ed25519_dalek::VerifyingKey;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vigil_wire::SignedCheckpoint;

use crate::events::chain::to_hex;
use crate::metrics::Metrics;
use crate::storage::{EventStore, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Signs heads into the log, remembering the newest. Cheap to clone.
#[derive(Clone)]
pub struct Checkpointer {
    key: Arc<CheckpointKey>,
    log: CheckpointLog,
    latest: Arc<Mutex<Option<SignedCheckpoint>>>,
}

impl Checkpointer {
    /// The key in `key_path` (created on first use) and the log at `log_path`.
    pub fn open(key_path: &Path, log_path: &Path) -> Result<Self, CheckpointError> {
        let key = CheckpointKey::load_or_create(key_path)?;
        let log = CheckpointLog::new(log_path.to_owned());
        let public = key.public_hex();
        // The newest line signed by this key: another key's lines (a rotated one) are history.
        let latest = (log.newest(16)?.into_iter()).find(|c| c.public_key == public);
        Ok(Checkpointer {
            key: Arc::new(key),
            log,
            latest: Arc::new(Mutex::new(latest)),
        })
    }

    pub fn public_hex(&self) -> String {
        self.key.public_hex()
    }

    /// The newest checkpoint this key signed.
    pub fn latest(&self) -> Option<SignedCheckpoint> {
        self.latest.lock().expect("checkpoint lock").clone()
    }

    /// The newest `limit` checkpoints in the log, newest first.
    pub async fn newest(&self, limit: usize) -> Result<Vec<SignedCheckpoint>, CheckpointError> {
        let log = self.log.clone();
        let read = tokio::task::spawn_blocking(move || log.newest(limit));
        Ok(read.await.expect("reading the log does not panic")?)
    }

    /// The first checkpoint in the log at or after `seq`.
    pub async fn covering(&self, seq: i64) -> Result<Option<SignedCheckpoint>, CheckpointError> {
        let log = self.log.clone();
        let read = tokio::task::spawn_blocking(move || log.first_from(seq));
        Ok(read.await.expect("reading the log does not panic")?)
    }

    /// Signs the head and appends it (synced) unless the newest checkpoint already covers it;
    /// returns the new checkpoint, if any.
    pub async fn sign_head(
        &self,
        store: &EventStore,
    ) -> Result<Option<SignedCheckpoint>, CheckpointError> {
        let head = store.chain_head().await?;
        if let Some(latest) = self.latest() {
            if latest.seq == head.seq && latest.hash == to_hex(&head.hash) {
                return Ok(None);
            }
        }
        let checkpoint = self.key.sign(head, chrono::Utc::now());
        let (log, line) = (self.log.clone(), checkpoint.clone());
        let appended = tokio::task::spawn_blocking(move || log.append(&line));
        appended.await.expect("appending does not panic")?;
        *self.latest.lock().expect("checkpoint lock") = Some(checkpoint.clone());
        Ok(Some(checkpoint))
    }
}

/// Signs the head at start and then every `every` when it moved.
pub async fn sign_periodically(
    checkpointer: Checkpointer,
    store: EventStore,
    every: Duration,
    metrics: Metrics,
) {
    if let Some(latest) = checkpointer.latest() {
        metrics.checkpoint_signed_seq.set(latest.seq);
    }
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match checkpointer.sign_head(&store).await {
            Ok(Some(c)) => {
                metrics.checkpoint_signed(c.seq);
                tracing::info!(seq = c.seq, "signed a checkpoint of the chain head")
            }
            Ok(None) => {}
            Err(CheckpointError::Storage(StorageError::Unavailable(err)))
                if matches!(*err, sqlx::Error::PoolClosed) =>
            {
                return
            }
            Err(err) => {
                metrics.checkpoint_failures.inc();
                tracing::warn!(%err, "could not sign a checkpoint")
            }
        }
    }
}

/// What checking the stored chain against signed checkpoints found.
#[derive(Debug)]
pub struct CheckpointReport {
    /// Checkpoints whose seq and hash the stored chain still passes through.
    pub matched: usize,
    /// Checkpoints older than the retained chain (dropped by retention): nothing to compare.
    pub before_retention: usize,
    /// The first checkpoint, in seq order, the database no longer matches, and why.
    pub mismatch: Option<(SignedCheckpoint, String)>,
}

/// Checks that every checkpoint was signed by `key`, then that the stored chain passes through
/// each (its hash at the checkpoint's seq is the signed one). Run after the plain walk has
/// shown the stored hashes follow from the events: together, the events are what was signed.
pub async fn check_chain(
    store: &EventStore,
    checkpoints: &[SignedCheckpoint],
    key: &VerifyingKey,
) -> Result<CheckpointReport, StorageError> {
    let mut report = CheckpointReport {
        matched: 0,
        before_retention: 0,
        mismatch: None,
    };
    let mut sorted: Vec<&SignedCheckpoint> = checkpoints.iter().collect();
    sorted.sort_by_key(|c| c.seq);
    if let Some(forged) = sorted.iter().find(|c| !signed_by(c, key)) {
        let why = "its signature does not verify with this public key".to_owned();
        report.mismatch = Some(((*forged).clone(), why));
        return Ok(report);
    }
    let seqs: Vec<i64> = sorted.iter().map(|c| c.seq).collect();
    let links = store.links_at(&seqs).await?;
    for checkpoint in sorted {
        let stored = if checkpoint.seq == links.start.seq {
            Some(to_hex(&links.start.hash))
        } else if checkpoint.seq < links.start.seq {
            report.before_retention += 1;
            continue;
        } else {
            links.stored.get(&checkpoint.seq).map(|h| to_hex(h))
        };
        let why = match stored {
            Some(hash) if hash == checkpoint.hash => {
                report.matched += 1;
                continue;
            }
            Some(hash) => format!("the stored hash at seq {} is {hash}", checkpoint.seq),
            None if checkpoint.seq > links.head.seq => {
                format!("the stored chain ends at seq {}", links.head.seq)
            }
            None => format!("seq {} is missing", checkpoint.seq),
        };
        report.mismatch = Some((checkpoint.clone(), why));
        break;
    }
    Ok(report)
}
