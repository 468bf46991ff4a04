//! What `/metrics` reports, in the Prometheus text format. One registry per application (tests
//! run many in one process); the rooms record into the handles they are given and never read
//! them back. Labels are bounded sets named in code (routes, statuses, reasons), never values
//! from a request or an event.

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::Arc;
use std::time::SystemTime;

/// Request durations: from a cache hit to a slow export page.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Rows per commit: the writer's groups run from one event to `max_rows_per_commit` (2,000).
const GROUP_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0,
];

/// A cheap handle; clones record into the same registry.
#[derive(Clone)]
pub struct Metrics(Arc<Registered>);

/// Every metric, registered once. Fields are what the rooms record into.
pub struct Registered {
    registry: Registry,
    /// Events newly stored.
    pub events_accepted: IntCounter,
    /// Events acknowledged again by `event_id` (a producer's retry), stored once.
    pub events_duplicate: IntCounter,
    /// Ingest requests refused, by the error code the response carries.
    pub events_rejected: IntCounterVec,
    pub request_duration: HistogramVec,
    pub writer_group_events: Histogram,
    pub writer_commit_duration: Histogram,
    pub writer_commit_failures: IntCounter,
    /// Set at scrape time from the writer's queue.
    pub writer_queued_events: IntGauge,
    /// Set at scrape time from the serving pool.
    pub db_pool_connections: IntGaugeVec,
    pub db_pool_max_connections: IntGauge,
    pub live_connections: IntGauge,
    pub live_publish_lag: Histogram,
    pub live_catch_ups: IntCounter,
    pub live_connections_closed: IntCounterVec,
    pub chain_verification_last_run: Gauge,
    pub chain_verification_ok: IntGauge,
    pub chain_verified_through_seq: IntGauge,
    pub checkpoint_last_signed: Gauge,
    pub checkpoint_signed_seq: IntGauge,
    pub checkpoint_failures: IntCounter,
    pub detect_evaluating: IntGauge,
    pub detect_lag_events: IntGauge,
    pub detect_keys: IntGauge,
    pub detect_late_events: IntGauge,
    pub detect_alerts_opened: IntCounterVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl std::ops::Deref for Metrics {
    type Target = Registered;
    fn deref(&self) -> &Registered {
        &self.0
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let add = |collector: Box<dyn prometheus::core::Collector>| {
            registry
                .register(collector)
                .expect("each metric is registered once, under its own name");
        };
        macro_rules! metric {
            ($metric:expr) => {{
                let metric = $metric.expect("metric options are valid");
                add(Box::new(metric.clone()));
                metric
            }};
        }
        let histogram = |name: &str, help: &str, buckets: &[f64]| {
            HistogramOpts::new(name, help).buckets(buckets.to_vec())
        };
        let registered = Registered {
            events_accepted: metric!(IntCounter::new(
                "vigil_events_accepted_total",
                "Events newly stored (committed)."
            )),
            events_duplicate: metric!(IntCounter::new(
                "vigil_events_duplicate_total",
                "Events posted again with an event_id already stored; acknowledged, stored once."
            )),
            events_rejected: metric!(IntCounterVec::new(
                Opts::new(
                    "vigil_events_rejected_total",
                    "Ingest requests refused, by error code (a refused batch counts once)."
                ),
                &["reason"]
            )),
            request_duration: metric!(HistogramVec::new(
                histogram(
                    "vigil_http_request_duration_seconds",
                    "HTTP requests by route template, method and status, until the response head.",
                    DURATION_BUCKETS
                ),
                &["route", "method", "status"]
            )),
            writer_group_events: metric!(Histogram::with_opts(histogram(
                "vigil_writer_group_events",
                "Events per group commit.",
                GROUP_BUCKETS
            ))),
            writer_commit_duration: metric!(Histogram::with_opts(histogram(
                "vigil_writer_commit_duration_seconds",
                "Time to append and commit one group.",
                DURATION_BUCKETS
            ))),
            writer_commit_failures: metric!(IntCounter::new(
                "vigil_writer_commit_failures_total",
                "Group commits that failed (their requests were answered 503 or 500)."
            )),
            writer_queued_events: metric!(IntGauge::new(
                "vigil_writer_queued_events",
                "Accepted events waiting for the writer (503 beyond --ingest-queue)."
            )),
            db_pool_connections: metric!(IntGaugeVec::new(
                Opts::new(
                    "vigil_db_pool_connections",
                    "The serving pool's open connections, idle or in use."
                ),
                &["state"]
            )),
            db_pool_max_connections: metric!(IntGauge::new(
                "vigil_db_pool_max_connections",
                "The most connections the serving pool opens."
            )),
            live_connections: metric!(IntGauge::new(
                "vigil_live_connections",
                "Open live-stream WebSockets (dashboard and vigil tail)."
            )),
            live_publish_lag: metric!(Histogram::with_opts(histogram(
                "vigil_live_publish_lag_seconds",
                "From an event's receipt to its publication to the live streams.",
                DURATION_BUCKETS
            ))),
            live_catch_ups: metric!(IntCounter::new(
                "vigil_live_catch_ups_total",
                "Times a live stream read from the database: it asked to resume, or fell behind."
            )),
            live_connections_closed: metric!(IntCounterVec::new(
                Opts::new(
                    "vigil_live_connections_closed_total",
                    "Live streams ended by the server, by reason."
                ),
                &["reason"]
            )),
            chain_verification_last_run: metric!(Gauge::new(
                "vigil_chain_verification_last_run_timestamp_seconds",
                "When the periodic chain walk last finished (Unix time)."
            )),
            chain_verification_ok: metric!(IntGauge::new(
                "vigil_chain_verification_ok",
                "1 if the last chain walk held, 0 if it found a break."
            )),
            chain_verified_through_seq: metric!(IntGauge::new(
                "vigil_chain_verified_through_seq",
                "The seq the last chain walk reached."
            )),
            checkpoint_last_signed: metric!(Gauge::new(
                "vigil_checkpoint_last_signed_timestamp_seconds",
                "When the chain head was last signed into the checkpoint log (Unix time)."
            )),
            checkpoint_signed_seq: metric!(IntGauge::new(
                "vigil_checkpoint_signed_seq",
                "The seq of the newest signed checkpoint."
            )),
            checkpoint_failures: metric!(IntCounter::new(
                "vigil_checkpoint_failures_total",
                "Periodic signings that failed (database or checkpoint log)."
            )),
            detect_evaluating: metric!(IntGauge::new(
                "vigil_detect_evaluating",
                "1 while this instance holds the detection lease and judges the stream."
            )),
            detect_lag_events: metric!(IntGauge::new(
                "vigil_detect_lag_events",
                "Committed events the detection engine has not judged yet (on the evaluating instance)."
            )),
            detect_keys: metric!(IntGauge::new(
                "vigil_detect_keys",
                "Keys the detection rules remember, over all rules (bounded per rule)."
            )),
            detect_late_events: metric!(IntGauge::new(
                "vigil_detect_late_events",
                "Events that happened too long before their key's newest to count, since the lease was taken."
            )),
            detect_alerts_opened: metric!(IntCounterVec::new(
                Opts::new("vigil_alerts_opened_total", "Alerts raised, by rule."),
                &["rule"]
            )),
            registry,
        };
        Metrics(Arc::new(registered))
    }

    /// The whole registry in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.0.registry.gather(), &mut out)
            .expect("the text encoder writes to memory");
        String::from_utf8(out).expect("the text format is UTF-8")
    }

    /// Records a checkpoint written to the log.
    pub fn checkpoint_signed(&self, seq: i64) {
        self.checkpoint_last_signed.set(unix_now());
        self.checkpoint_signed_seq.set(seq);
    }

    /// Records a finished chain walk.
    pub fn chain_verified(&self, held: bool, through_seq: i64) {
        self.chain_verification_last_run.set(unix_now());
        self.chain_verification_ok.set(i64::from(held));
        self.chain_verified_through_seq.set(through_seq);
    }
}

fn unix_now() -> f64 {
    (SystemTime::now().duration_since(SystemTime::UNIX_EPOCH)).map_or(0.0, |d| d.as_secs_f64())
}

/// The Content-Type of `render`'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_with_its_help_and_no_unbounded_labels() {
        let metrics = Metrics::new();
        metrics.events_accepted.inc_by(3);
        metrics
            .events_rejected
            .with_label_values(&["invalid_events"])
            .inc();
        (metrics.request_duration)
            .with_label_values(&["/api/v1/events", "POST", "201"])
            .observe(0.002);
        metrics.chain_verified(true, 42);
        let text = metrics.render();
        assert!(text.contains("# TYPE vigil_events_accepted_total counter"));
        assert!(text.contains("vigil_events_accepted_total 3"));
        assert!(text.contains("vigil_events_rejected_total{reason=\"invalid_events\"} 1"));
        assert!(text.contains(
            "vigil_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/events\",status=\"201\",le=\"0.0025\"} 1"
        ));
        assert!(text.contains("vigil_chain_verified_through_seq 42"));
        // Two registries never share a count: each application (and test) has its own.
        assert!(Metrics::new()
            .render()
            .contains("vigil_events_accepted_total 0"));
    }
}
