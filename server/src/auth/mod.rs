//! Who may call: producer and reader keys (hashed, cached, invalidated across instances) and
//! operators' passwords and sessions. The HTTP extractors that use them are in `http::extract`.

mod credential;
mod keys;
mod sessions;
mod throttle;

pub use credential::Credential;
pub use keys::{generate_key, hash_key, looks_like_key, ApiKeys};
pub use sessions::{
    hash_password, Operator, Sessions, SignInFailure, SECURE_SESSION_COOKIE, SESSION_COOKIE,
};
pub use throttle::{Bucket, Burst, Limit, SignInThrottle, ThrottleLimits, Throttled};
