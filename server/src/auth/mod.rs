//! Who may call: producer and reader keys (hashed, cached, invalidated across instances) and
//! operators' passwords and sessions. The HTTP extractors that use them are in `http::extract`.

mod keys;
mod sessions;

pub use keys::{generate_key, hash_key, ApiKeys};
pub use sessions::{hash_password, Operator, Sessions, SignInFailure, SESSION_COOKIE};
