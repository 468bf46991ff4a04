//! Building the application: one `Application::build` shared by the binary and the tests, which
//! start it on port 0 and read the port back.

use axum::Router;
use leptos::prelude::LeptosOptions;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

use super::serve::ConnectionLimits;
use super::{AppParts, AppState};
use crate::auth::{ApiKeys, Sessions};
use crate::checkpoints::{self, Checkpointer};
use crate::config::{PublicUrl, ServeArgs};
use crate::database::ServingPools;
use crate::ingest::{EventWriter, WriterConfig};
use crate::live::{self, LiveHub};
use crate::metrics::Metrics;
use crate::storage::{EventStore, KeyStore, OperatorStore};
use crate::{cpus, detect, maintenance};

/// The site options cargo-leptos would pass as LEPTOS_* variables, set here so the binary runs
/// from the repository root with none of them.
pub fn leptos_options(config: &ServeArgs) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("vigil")
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .env(leptos::config::Env::PROD)
        .hash_files(built_with_hashes())
        .build()
}

/// Whether cargo-leptos named the assets by their hashes: it writes `hash.txt` beside the binary
/// it builds (test binaries have none, and their pages name the plain files).
fn built_with_hashes() -> bool {
    let exe = std::env::current_exe().ok();
    exe.and_then(|exe| Some(exe.parent()?.join("hash.txt").is_file()))
        .unwrap_or(false)
}

/// A bound listener and its router: tests build one on port 0 and read the port back.
pub struct Application {
    listener: TcpListener,
    /// Where the keyless `/metrics` listens, if asked to.
    metrics_addr: Option<SocketAddr>,
    router: Router,
    hub: LiveHub,
    limits: ConnectionLimits,
    /// For recording the throttled sign-ins still waiting for their quiet period at shutdown.
    sessions: Sessions,
    writer: EventWriter,
}

impl Application {
    /// Binds, starts the writer, the live feed and the key-change listener, and builds the router.
    /// Everything runs on `pools.serving`; only retention needs `pools.owner`.
    pub async fn build(config: &ServeArgs, pools: ServingPools) -> std::io::Result<Self> {
        if config.retention_days.is_some() && pools.owner.is_none() {
            return Err(std::io::Error::other(
                "--retention-days drops whole months, which only the database's owner may: \
                 serving under --app-database-url, run `vigil migrate --retention-days N` with \
                 the owner's DATABASE_URL (daily, from a timer) instead",
            ));
        }
        let listener = TcpListener::bind(config.addr).await?;
        let mut options = leptos_options(config);
        options.site_addr = listener.local_addr()?;
        match cpus::choose_cpus(config.live_cpus.clone()) {
            Some(cpus) => tracing::info!(?cpus, "the live fan-out runs on these CPUs"),
            None => tracing::info!("the live fan-out runs on any CPU"),
        }
        let pool = pools.serving.clone();
        let store = EventStore::with_owner(pools.serving, pools.owner);
        let metrics = Metrics::new();
        let hub = LiveHub::new(store.clone()).with_metrics(metrics.clone());
        let writer_config = WriterConfig {
            max_queued_rows: config.ingest_queue,
            metrics: metrics.clone(),
            ..WriterConfig::default()
        };
        let writer = EventWriter::spawn(
            store.clone(),
            Arc::new(hub.clone()),
            hub.fan_out_work(),
            writer_config,
        );
        tokio::spawn(live::follow_commits(hub.clone()));
        let alert_hub = live::AlertHub::new(store.clone());
        tokio::spawn(live::follow_alerts(alert_hub.clone()));
        let rules = match &config.rules {
            Some(path) => detect::rules_file::load(path).map_err(std::io::Error::other)?,
            None => detect::rules_file::defaults(),
        };
        let rule_book = super::alerts::RuleBook(Arc::new(rules.iter().map(|r| r.info()).collect()));
        if !config.no_detections {
            let detection = detect::runner::DetectConfig {
                rules,
                limits: detect::Limits::default(),
            };
            // Below ingest's priority, where the live fan-out runs, on connections of its own;
            // it ends with the runtime that built the app (the fan-out's outlives it).
            let (alive, ended) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(async move {
                let _alive = alive;
                std::future::pending::<()>().await
            });
            let runner = detect::runner::run(
                store.with_own_pool(3),
                hub.clone(),
                detection,
                metrics.clone(),
            );
            hub.fan_out_handle().spawn(async move {
                tokio::select! {
                    _ = runner => {}
                    _ = ended => {}
                }
            });
        }
        if config.verify_every_minutes > 0 {
            let every = std::time::Duration::from_secs(config.verify_every_minutes * 60);
            tokio::spawn(maintenance::verify_periodically(
                store.clone(),
                every,
                metrics.clone(),
            ));
        }
        tokio::spawn(maintenance::keep_aggregates(store.clone()));
        tokio::spawn(maintenance::keep_partitions(
            store.clone(),
            config.retention_days,
        ));
        let keys = ApiKeys::new(KeyStore::new(pool.clone()));
        tokio::spawn(keys.clone().follow_changes());
        let origin =
            (config.public_url.clone()).unwrap_or_else(|| PublicUrl::for_addr(options.site_addr));
        tokio::spawn(crate::webhooks::deliver_forever(
            store.clone(),
            origin.clone(),
        ));
        if config.public_url.is_none() && options.site_addr.ip().is_unspecified() {
            tracing::warn!(
                "listening on every address without --public-url: browsers' sign-ins will be \
                 refused as cross-origin until it names the address they use"
            );
        }
        let sessions = Sessions::new(
            OperatorStore::new(pool),
            chrono::Duration::hours(config.session_hours.into()),
            origin.is_https(),
            config.sign_in.limits(),
        );
        tokio::spawn(super::session::record_throttled_bursts(
            sessions.clone(),
            writer.clone(),
        ));
        let exports = super::export::ExportBudget::new(&store, config.connections.max_exports);
        let checkpointer = match (
            &config.checkpoints.signing_key,
            &config.checkpoints.checkpoint_log,
        ) {
            (Some(key), Some(log)) => {
                let checkpointer = Checkpointer::open(key, log).map_err(std::io::Error::other)?;
                if config.checkpoint_every_minutes > 0 {
                    let every = Duration::from_secs(config.checkpoint_every_minutes * 60);
                    let (signer, signed) = (checkpointer.clone(), store.clone());
                    let metrics = metrics.clone();
                    tokio::spawn(checkpoints::sign_periodically(
                        signer, signed, every, metrics,
                    ));
                }
                Some(checkpointer)
            }
            _ => None,
        };
        let (shutdown_sessions, shutdown_writer) = (sessions.clone(), writer.clone());
        let state = AppState::new(AppParts {
            leptos_options: options,
            store,
            writer,
            keys,
            sessions,
            hub: hub.clone(),
            alert_hub,
            origin,
            trusted_proxies: super::TrustedProxies::new(config.trusted_proxies.clone()),
            exports,
            metrics,
            checkpointer,
            rules: rule_book,
            clock_skew: super::ClockSkew(chrono::Duration::seconds(
                config.max_clock_skew_seconds.into(),
            )),
        });
        let metrics_addr = match config.metrics_addr {
            Some(addr) => Some(serve_metrics(addr, super::metrics::Scrape::of(&state)).await?),
            None => None,
        };
        let body_timeout = Duration::from_secs(config.connections.body_timeout_seconds);
        let router = super::router(state, config.max_body_bytes, body_timeout);
        Ok(Application {
            listener,
            metrics_addr,
            router,
            hub,
            sessions: shutdown_sessions,
            writer: shutdown_writer,
            limits: ConnectionLimits {
                header_timeout: Duration::from_secs(config.connections.header_timeout_seconds),
                max_connections: usize::try_from(config.connections.max_connections)
                    .unwrap_or(usize::MAX),
                send_timeout: Duration::from_secs(config.connections.send_timeout_seconds),
            },
        })
    }

    /// Its live hub: tests look at what the fan-out counted.
    pub fn hub(&self) -> LiveHub {
        self.hub.clone()
    }

    /// The `--metrics-addr` listener's bound address.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then closes live streams and drains requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (hub, sessions, writer) = (self.hub, self.sessions, self.writer);
        let shutdown = async move {
            shutdown.await;
            hub.close_all();
            super::session::record_all_bursts(&sessions, &writer).await;
        };
        super::serve::serve(self.listener, self.router, self.limits, shutdown).await
    }
}

/// Binds the keyless scrape listener and serves it until the process ends.
async fn serve_metrics(
    addr: SocketAddr,
    scrape: super::metrics::Scrape,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tracing::info!(%bound, "serving /metrics without a key");
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, super::metrics::open_router(scrape)).await {
            tracing::error!(%err, "the metrics listener failed");
        }
    });
    Ok(bound)
}
