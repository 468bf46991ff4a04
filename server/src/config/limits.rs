//! What one client may cost `vigil serve`: connection timeouts and caps, and the sign-in
//! throttle's limits.

use clap::Args;
use std::time::Duration;

use crate::auth::{Bucket, ThrottleLimits};

/// What a connection may cost: slow or idle clients are dropped, and their number is capped.
#[derive(Args, Debug, Clone)]
pub struct ConnectionArgs {
    /// Seconds a client has to send a request's header, and to start the next request on a
    /// kept-alive connection.
    #[arg(long, env = "VIGIL_HEADER_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_seconds: u64,
    /// Seconds a request body may send nothing before the request is cut off.
    #[arg(long, env = "VIGIL_BODY_TIMEOUT_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout_seconds: u64,
    /// Seconds a response may wait for a client that reads nothing before it is dropped (an
    /// abandoned export's query is cancelled with it).
    #[arg(long, env = "VIGIL_SEND_TIMEOUT_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub send_timeout_seconds: u64,
    /// Exports running at once, each on a database connection of its own (429 beyond it).
    #[arg(long, env = "VIGIL_MAX_EXPORTS", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub max_exports: u32,
    /// Connections open at once, live streams included; more wait in the listen backlog.
    #[arg(long, env = "VIGIL_MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
}

impl Default for ConnectionArgs {
    fn default() -> Self {
        ConnectionArgs {
            header_timeout_seconds: 10,
            body_timeout_seconds: 30,
            send_timeout_seconds: 30,
            max_exports: 4,
            max_connections: 10_000,
        }
    }
}

/// How many sign-in attempts are checked before the rest are refused with 429.
#[derive(Args, Debug, Clone)]
pub struct SignInArgs {
    /// Sign-in attempts one client address may make per minute (all at once, at most).
    #[arg(long = "sign-in-limit-client", env = "VIGIL_SIGN_IN_LIMIT_CLIENT", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub per_client: u32,
    /// Sign-in attempts one client address may make against one username per minute.
    #[arg(long = "sign-in-limit-username", env = "VIGIL_SIGN_IN_LIMIT_USERNAME", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub per_username: u32,
    /// Refused attempts are audited as one event per burst, once none came for this long.
    #[arg(
        long = "sign-in-burst-quiet-seconds",
        default_value_t = 30,
        hide = true
    )]
    pub burst_quiet_seconds: u64,
}

impl SignInArgs {
    pub fn limits(&self) -> ThrottleLimits {
        let per_minute = |n: u32| Bucket {
            capacity: n,
            refill: Duration::from_secs(60) / n,
        };
        ThrottleLimits {
            per_client: per_minute(self.per_client),
            per_username: per_minute(self.per_username),
            burst_quiet: Duration::from_secs(self.burst_quiet_seconds),
            ..ThrottleLimits::default()
        }
    }
}

impl Default for SignInArgs {
    fn default() -> Self {
        SignInArgs {
            per_client: 30,
            per_username: 5,
            burst_quiet_seconds: 30,
        }
    }
}
