//! The state of the tamper-evident chain, as `GET /api/v1/chain` and the dashboard show it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The newest link of the chain and the latest verification. Record `seq` and `hash` somewhere
/// Vigil cannot write (a producer's log, a ticket, a nightly job): a later `vigil verify` that
/// reaches the same seq proves nothing before it was changed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStatus {
    /// The newest chained event's seq (0 before the first event).
    pub seq: i64,
    /// Its hash, lowercase hex SHA-256.
    pub hash: String,
    /// The most recent verification, if any ran.
    pub last_verification: Option<ChainVerification>,
    /// The newest head this server signed (kept outside the database), if it signs.
    #[serde(default)]
    pub latest_checkpoint: Option<SignedCheckpoint>,
}

/// A chain head signed with the server's Ed25519 key and appended to a log outside the
/// database. The signature covers `SignedCheckpoint::message()`; a chain that no longer passes
/// through (`seq`, `hash`) was rewritten after `signed_at`, whoever recomputed its hashes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    pub seq: i64,
    /// The event's hash at `seq`, lowercase hex SHA-256.
    pub hash: String,
    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, exactly as signed.
    pub signed_at: String,
    /// The signer's Ed25519 public key, lowercase hex.
    pub public_key: String,
    /// Ed25519 over `message()`, lowercase hex.
    pub signature: String,
}

impl SignedCheckpoint {
    /// The exact bytes signed: a versioned, line-per-field text anyone can rebuild.
    pub fn message(&self) -> String {
        signed_message(self.seq, &self.hash, &self.signed_at)
    }
}

/// `vigil-checkpoint-v1`, then `seq`, `hash` and `signed_at`, one per line.
pub fn signed_message(seq: i64, hash: &str, signed_at: &str) -> String {
    format!("vigil-checkpoint-v1\nseq {seq}\nhash {hash}\nsigned_at {signed_at}\n")
}

/// One walk of the chain by `vigil verify` or the server's periodic check.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainVerification {
    pub verified_at: DateTime<Utc>,
    /// The checkpoint the walk started from (the links after it were checked).
    pub from_seq: i64,
    /// The last seq that matched its stored hash.
    pub through_seq: i64,
    /// The first seq whose stored event (or absence) does not match the chain; none if it held.
    pub first_bad_seq: Option<i64>,
}

impl ChainVerification {
    pub fn held(&self) -> bool {
        self.first_bad_seq.is_none()
    }
}

/// What proves one stored event against a signed checkpoint (`GET /api/v1/chain/proof?seq=N`):
/// the link before it, every event from it through the checkpoint, and the checkpoint. Chaining
/// the events from `previous_hash` must give each event's receipt hash and end at the
/// checkpoint's hash; the checkpoint's signature must verify with the auditor's public key.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChainProof {
    /// `seq - 1`, and its stored hash (hex): where the recomputation starts.
    pub previous_seq: i64,
    pub previous_hash: String,
    /// Events `seq` through `checkpoint.seq`, in seq order.
    pub events: Vec<crate::StoredEvent>,
    pub checkpoint: SignedCheckpoint,
}
