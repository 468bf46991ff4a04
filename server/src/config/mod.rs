//! Command line and environment configuration (clap): every flag has an env fallback.

mod filter_args;
mod limits;
mod live_cpus;
mod public_url;
mod serve_args;
mod webhooks;

pub use filter_args::FilterArgs;
pub use limits::{ConnectionArgs, SignInArgs};
pub use live_cpus::LiveCpus;
pub use public_url::PublicUrl;
pub use serve_args::ServeArgs;
pub use webhooks::{
    AddWebhookArgs, DeliveriesArgs, WebhookUrl, WebhooksCommand, MAX_WEBHOOK_URL_BYTES,
    WEBHOOK_FORMATS,
};

use clap::{Args, Parser, Subcommand};
use std::fmt;
use std::path::PathBuf;

pub use crate::telemetry::LogFormat;

#[derive(Parser, Debug)]
#[command(
    name = "vigil",
    version,
    about = "Live audit service and dashboard for authentication events"
)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// How log lines are written to stderr: `text` for people, `json` (one object per line)
    /// for log shippers.
    #[arg(long, env = "VIGIL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the HTTP API, the live stream and the dashboard.
    Serve(ServeArgs),
    /// Manage API keys: ingest keys for producers, read keys for scripts.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the webhooks that tell on-call about alerts, and see how their deliveries went.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Manage dashboard operators.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Inspect the database Vigil uses.
    #[command(subcommand)]
    Db(DbCommand),
    /// Fill the database with realistic demo traffic (ordinary users plus a few attackers).
    DemoData(DemoDataArgs),
    /// Check the tamper-evident chain: recompute every event's hash from a checkpoint.
    Verify(VerifyArgs),
    /// Signed checkpoints of the chain head: the public key for auditors, a checkpoint now.
    #[command(subcommand)]
    Chain(ChainCommand),
    /// Follow the live stream of a running server from a terminal.
    Tail(TailArgs),
    /// Detection rules: check a rules file, list every rule with its state and recent alerts.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Run the detection rules over stored events, raising (or with --dry-run only listing) the
    /// alerts the live engine would have.
    Detect(DetectArgs),
    /// As the database's owner: apply migrations, create the coming months' partitions, drop
    /// expired ones, and create the login `vigil serve --app-database-url` works as.
    Migrate(MigrateArgs),
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Validate a rules file: every error names the rule, the field and why.
    Check { file: PathBuf },
    /// Every rule (built-in and from the file) with its state, and its alerts of the last day.
    List {
        #[arg(long, env = "VIGIL_RULES")]
        rules: Option<PathBuf>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct DetectArgs {
    /// How far back, in event time: `24h`, `7d`, …
    #[arg(long, default_value = "7d")]
    pub since: String,
    /// Only list the alerts; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, env = "VIGIL_RULES")]
    pub rules: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct MigrateArgs {
    /// Also drop the months wholly older than this many days: run it daily (a timer) when
    /// serving under --app-database-url, whose login may not.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub retention_days: Option<u32>,
    /// Create this login as a member of vigil_app and nothing else (or give the one there a
    /// new password), and print its password once.
    #[arg(long)]
    pub app_login: Option<String>,
}

/// A database URL, which may carry a password: never shown.
#[derive(Clone)]
pub struct SecretUrl(pub String);

impl std::str::FromStr for SecretUrl {
    type Err = std::convert::Infallible;
    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Ok(SecretUrl(url.to_owned()))
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<set>")
    }
}

#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// Start from the stored link of this seq (trusted) instead of the newest checkpoint.
    #[arg(long)]
    pub from_seq: Option<i64>,
    /// Also check that the stored chain passes through every checkpoint in this log (a copy of
    /// the server's `checkpoints.jsonl`, kept where the database's owner cannot write).
    #[arg(long, requires = "public_key")]
    pub checkpoints: Option<PathBuf>,
    /// The signer's public key (`vigil chain public-key`), as hex or a file holding it.
    #[arg(long, requires = "checkpoints")]
    pub public_key: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ChainCommand {
    /// Print the checkpoint signing key's public half (hex), for auditors.
    PublicKey(CheckpointArgs),
    /// Sign the chain head now and append it to the checkpoint log.
    Checkpoint(CheckpointArgs),
}

/// Where the checkpoint signing key and log are; both outside the database.
#[derive(Args, Debug, Clone, Default)]
pub struct CheckpointArgs {
    /// Ed25519 key that signs the chain head (default: DATA_DIR/signing-key, generated with
    /// mode 600 on first start).
    #[arg(long, env = "VIGIL_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
    /// Where signed checkpoints are appended, one JSON line each (default:
    /// DATA_DIR/checkpoints.jsonl).
    #[arg(long, env = "VIGIL_CHECKPOINT_LOG")]
    pub checkpoint_log: Option<PathBuf>,
}

impl CheckpointArgs {
    /// The key and log paths, defaulting into `data_dir`.
    pub fn paths(&self, data_dir: &std::path::Path) -> (PathBuf, PathBuf) {
        let key = (self.signing_key.clone()).unwrap_or_else(|| data_dir.join("signing-key"));
        let log =
            (self.checkpoint_log.clone()).unwrap_or_else(|| data_dir.join("checkpoints.jsonl"));
        (key, log)
    }
}

/// `vigil tail` talks to a server over HTTP, so it needs no database of its own.
#[derive(Args, Debug, Clone)]
pub struct TailArgs {
    /// The server's base URL.
    #[arg(long, env = "VIGIL_URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// A read key (`vigil keys create --name NAME --read`).
    #[arg(long, env = "VIGIL_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Print each event as one JSON line instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Replay stored events with a greater seq first.
    #[arg(long)]
    pub after: Option<i64>,
    /// For https:// URLs: also trust the CA certificates in this PEM file (beside the system's).
    #[arg(long, env = "VIGIL_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Args, Debug, Clone)]
pub struct DemoDataArgs {
    /// How many events to insert.
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
    /// Spread them over this many days, ending now.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,
    /// The same seed gives the same traffic (relative to the end time).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Create an operator; the password is read from stdin (one line).
    Create {
        #[arg(long)]
        username: String,
        /// viewer (reads) or admin.
        #[arg(long, default_value = "viewer", value_parser = ["viewer", "admin"])]
        role: String,
    },
    /// List operators.
    List,
    /// Disable an operator and end their sessions.
    Disable {
        /// The operator's username.
        username: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a key and print it once, alone on stdout (KEY=$(vigil keys create --name x)).
    Create {
        /// A unique name; recorded as the `source` of every event posted with the key.
        #[arg(long)]
        name: String,
        /// A read key (query and follow events) instead of an ingest key.
        #[arg(long)]
        read: bool,
    },
    /// List keys (names, kinds, dates; never the keys themselves).
    List,
    /// Revoke a key; every running instance refuses it within moments.
    Revoke {
        /// The key's name.
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Apply pending migrations and print the schema version and event count.
    Status,
}

/// Where the events live. Global, so every subcommand reaches the same database.
#[derive(Args, Clone)]
pub struct DatabaseArgs {
    /// Data directory; holds the embedded PostgreSQL cluster when DATABASE_URL is not set.
    #[arg(long, env = "VIGIL_DATA_DIR", default_value = ".vigil", global = true)]
    pub data_dir: PathBuf,
    /// Use this PostgreSQL server instead of the embedded one (nothing is started).
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
}

/// Hides the password a database URL may carry.
impl fmt::Debug for DatabaseArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseArgs")
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_ref().map(|_| "<set>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::ThrottleLimits;
    use std::time::Duration;

    #[test]
    fn data_dir_is_global_and_url_is_hidden() {
        let cli = Cli::try_parse_from([
            "vigil",
            "serve",
            "--data-dir",
            "/tmp/x",
            "--database-url",
            "postgres://u:secret@h/db",
        ])
        .unwrap();
        assert_eq!(cli.database.data_dir, PathBuf::from("/tmp/x"));
        assert!(!format!("{cli:?}").contains("secret"));
        let cli = Cli::try_parse_from([
            "vigil",
            "serve",
            "--app-database-url",
            "postgres://app:secret@h/db",
        ])
        .unwrap();
        assert!(!format!("{cli:?}").contains("secret"));
    }

    #[test]
    fn the_defaults_match_the_documented_limits() {
        let cli =
            Cli::try_parse_from(["vigil", "serve", "--trusted-proxies", "10.0.0.0/8,::1"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("serve")
        };
        assert_eq!(args.trusted_proxies.len(), 2);
        let limits = args.sign_in.limits();
        assert_eq!(limits.per_client.capacity, 30);
        assert_eq!(limits.per_client.refill, Duration::from_secs(2));
        assert_eq!(limits.per_username.capacity, 5);
        assert_eq!(limits.per_username.refill, Duration::from_secs(12));
        let default = ThrottleLimits::default();
        assert_eq!(default.per_username.refill, limits.per_username.refill);
    }
}
