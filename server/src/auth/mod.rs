//! Who is calling: bearer keys for producers (ingest) and scripts (read).

mod extract;
mod keys;
mod sessions;
mod signin;

pub use extract::{IngestKey, KeyRejection, ReadAccess};
pub use keys::{generate_key, hash_key, ApiKeys};
pub use sessions::{hash_password, Operator, Sessions, SESSION_COOKIE};
pub use signin::{require_operator, router, SELF_SOURCE};
