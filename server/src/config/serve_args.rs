//! `vigil serve`'s flags: where it listens, what it accepts, how it upkeeps the log.

use clap::Args;
use ipnetwork::IpNetwork;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::{CheckpointArgs, ConnectionArgs, LiveCpus, PublicUrl, SecretUrl, SignInArgs};

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "VIGIL_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Where the built dashboard assets are (cargo-leptos writes them to target/site).
    #[arg(long, env = "VIGIL_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// Largest request body accepted by ingest, in bytes (413 beyond it).
    #[arg(long, env = "VIGIL_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// How long a dashboard sign-in lasts, in hours.
    #[arg(long, env = "VIGIL_SESSION_HOURS", default_value_t = 12)]
    pub session_hours: u32,
    /// How far ahead of its receipt an event's `occurred_at` may be, in seconds; beyond it the
    /// event is stored as occurring when received, with the claim kept and flagged.
    #[arg(long, env = "VIGIL_MAX_CLOCK_SKEW_SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u32).range(0..=31_536_000))]
    pub max_clock_skew_seconds: u32,
    /// Most events waiting for the database before ingest answers 503 with Retry-After.
    #[arg(long, env = "VIGIL_INGEST_QUEUE", default_value_t = 50_000)]
    pub ingest_queue: usize,
    /// Walk the whole tamper-evident chain this often, in minutes (0: never); the dashboard
    /// shows the outcome.
    #[arg(long, env = "VIGIL_VERIFY_EVERY_MINUTES", default_value_t = 60)]
    pub verify_every_minutes: u64,
    /// Drop events older than this many days, a whole month at a time (default: keep forever).
    #[arg(long, env = "VIGIL_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub retention_days: Option<u32>,
    /// CPUs the live fan-out runs on: `auto` (the upper half, leaving the rest to ingest),
    /// `all`, or a list such as `2-3`.
    #[arg(long, env = "VIGIL_LIVE_CPUS", default_value = "auto")]
    pub live_cpus: LiveCpus,
    /// Vigil's own origin as browsers reach it, e.g. `https://vigil.example.com` behind a TLS
    /// proxy (default: `http://<--addr>`). Cookie-authenticated requests must come from it; an
    /// `https` URL makes the session cookie `Secure` and sends HSTS.
    #[arg(long, env = "VIGIL_PUBLIC_URL")]
    pub public_url: Option<PublicUrl>,
    /// Proxies (addresses or CIDR networks, comma-separated) whose `X-Forwarded-For` or
    /// `Forwarded` header names the client; from anyone else those headers are ignored.
    #[arg(long, env = "VIGIL_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpNetwork>,
    /// Custom detection rules and overrides of the built-in pack (TOML; `vigil rules check FILE`
    /// validates one). Without it the built-in pack runs as shipped.
    #[arg(long, env = "VIGIL_RULES")]
    pub rules: Option<PathBuf>,
    /// Judge no detection rules on this instance (it never takes the detection lease).
    #[arg(long, env = "VIGIL_NO_DETECTIONS")]
    pub no_detections: bool,
    /// Serve under this login, a member of vigil_app only, and never open DATABASE_URL (which
    /// must then be unset): the process holds no credential that could change an event.
    /// `vigil migrate` (as the owner) must have brought the schema up to date.
    #[arg(long, env = "VIGIL_APP_DATABASE_URL", hide_env_values = true)]
    pub app_database_url: Option<SecretUrl>,
    #[command(flatten)]
    pub checkpoints: CheckpointArgs,
    /// Sign the chain head this often, in minutes, when it moved (0: only `vigil chain
    /// checkpoint`). Needs --signing-key and --checkpoint-log, which `vigil serve` defaults
    /// into the data directory.
    #[arg(long, env = "VIGIL_CHECKPOINT_EVERY_MINUTES", default_value_t = 5)]
    pub checkpoint_every_minutes: u64,
    /// Also serve `/metrics` here, without a key (on `--addr` it needs a read key). Bind it to
    /// an address only the monitoring network reaches.
    #[arg(long, env = "VIGIL_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    #[command(flatten)]
    pub sign_in: SignInArgs,
    #[command(flatten)]
    pub connections: ConnectionArgs,
}

impl ServeArgs {
    /// Defaults for everything, listening on `addr`: what tests start from.
    pub fn on(addr: SocketAddr) -> Self {
        ServeArgs {
            addr,
            site_root: PathBuf::from("target/site"),
            max_body_bytes: 1024 * 1024,
            session_hours: 12,
            ingest_queue: 50_000,
            max_clock_skew_seconds: 300,
            verify_every_minutes: 0,
            retention_days: None,
            live_cpus: LiveCpus::Auto,
            public_url: None,
            trusted_proxies: Vec::new(),
            metrics_addr: None,
            app_database_url: None,
            rules: None,
            no_detections: false,
            checkpoints: CheckpointArgs::default(),
            checkpoint_every_minutes: 5,
            sign_in: SignInArgs::default(),
            connections: ConnectionArgs::default(),
        }
    }
}
