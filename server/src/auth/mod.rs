//! Who is calling: bearer keys for producers (ingest) and scripts (read).

mod extract;
mod keys;

pub use extract::{IngestKey, KeyRejection, ReadAccess};
pub use keys::{generate_key, hash_key, ApiKeys};
