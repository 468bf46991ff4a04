//! Vigil's wire types: the event vocabulary of the seed `AuditService`, shared by the server, the
//! dashboard (compiled to wasm) and client SDKs, so no side ever redefines them.

mod alert;
mod chain;
mod dashboard;
mod entity;
mod error;
mod event_type;
mod facets;
mod filter;
mod input;
mod live;
mod outcome;
mod stored;

pub use alert::{
    Alert, AlertDelivery, AlertDetail, AlertHistoryEntry, AlertPage, AlertSeverity, AlertStatus,
    AlertStatusChange, AlertSummary, RuleInfo, MAX_ALERT_NOTE_CHARS,
};
pub use chain::{signed_message, ChainProof, ChainStatus, ChainVerification, SignedCheckpoint};
pub use dashboard::{
    bucket_seconds, AccessList, Bucket, KeyInfo, OperatorInfo, RankBy, Ranked, Volume, MAX_BUCKETS,
};
pub use entity::{
    Entity, EntityAlert, EntityProfile, Neighbours, OutcomeCount, SeenValue, MAX_ENTITY_USER_CHARS,
};
pub use error::{ErrorBody, FieldError, MAX_EVENTS_PER_REQUEST};
pub use event_type::{Category, EventType, EventTypeError, KNOWN_EVENT_TYPES};
pub use facets::{Facet, FacetField, Facets};
pub use filter::{
    EventFilter, Exclusions, FilterError, IpMatch, TimeBound, EXCLUSION_PARAMS, MAX_EXCLUDED,
};
pub use input::EventInput;
pub use live::LiveMessage;
pub use outcome::{ActionResult, OutcomeError, Severity};
pub use stored::{EventPage, IngestReceipt, IngestResponse, StoredEvent};
