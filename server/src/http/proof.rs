//! `GET /api/v1/chain/proof?seq=N`: what a producer holding a receipt needs to check its event
//! against a signed checkpoint, without trusting the server (docs/verify_proof.py does it).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use vigil_wire::{ChainProof, ErrorBody};

use super::extract::ReadAccess;
use super::ApiError;
use crate::checkpoints::Checkpointer;
use crate::events::chain::to_hex;
use crate::storage::EventStore;

/// Most events one proof carries: the distance from the event to the next checkpoint.
pub const MAX_PROOF_EVENTS: i64 = 10_000;

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
    /// The event's seq (from its receipt).
    seq: i64,
}

#[utoipa::path(
    get,
    path = "/api/v1/chain/proof",
    tag = "read",
    security(("bearer" = [])),
    params(ProofQuery),
    responses(
        (status = 200, description = "The previous link, the events through the checkpoint, the checkpoint", body = ChainProof),
        (status = 401, description = "Missing or unknown key", body = ErrorBody),
        (status = 403, description = "Not a read key", body = ErrorBody),
        (status = 404, description = "No such seq (never stored, or dropped by retention)", body = ErrorBody),
        (status = 409, description = "No signed checkpoint covers it yet", body = ErrorBody),
        (status = 422, description = "`seq` missing, or its checkpoint more than 10,000 events on", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(reader = %reader.name))]
pub async fn chain_proof(
    State(store): State<EventStore>,
    State(checkpointer): State<Option<Checkpointer>>,
    reader: ReadAccess,
    query: Result<Query<ProofQuery>, QueryRejection>,
) -> Result<Json<ChainProof>, ApiError> {
    let seq = (query.ok().map(|Query(q)| q.seq).filter(|seq| *seq >= 1))
        .ok_or_else(|| ApiError::invalid("seq", "must be a stored event's seq (1 or more)"))?;
    let checkpointer = checkpointer.ok_or(ApiError::NotYetSigned(seq))?;
    let checkpoint = (checkpointer.covering(seq).await)
        .map_err(|err| ApiError::Internal(format!("checkpoint log: {err}")))?
        .ok_or(ApiError::NotYetSigned(seq))?;
    if checkpoint.seq - seq >= MAX_PROOF_EVENTS {
        return Err(ApiError::invalid(
            "seq",
            format!(
            "the first checkpoint after it is at seq {}, more than {MAX_PROOF_EVENTS} events on",
            checkpoint.seq
        ),
        ));
    }
    let links = store.links_at(&[seq - 1, seq]).await?;
    let previous_hash = if seq - 1 == links.start.seq {
        links.start.hash.to_vec()
    } else {
        (links.stored.get(&(seq - 1)).cloned()).ok_or(ApiError::NotFound)?
    };
    if !links.stored.contains_key(&seq) {
        return Err(ApiError::NotFound);
    }
    let events = store.seq_range(seq, checkpoint.seq).await?;
    Ok(Json(ChainProof {
        previous_seq: seq - 1,
        previous_hash: to_hex(&previous_hash),
        events,
        checkpoint,
    }))
}
