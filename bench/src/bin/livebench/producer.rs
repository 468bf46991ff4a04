//! The producers of the live benchmark: batches at ingest's ceiling, single events at a steady
//! rate with the latency of each delivery.

use anyhow::{bail, Result};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use vigil_wire::IngestResponse;

use crate::phases::{Batch, Stored};
use crate::watchers::Watchers;
use crate::Args;

pub struct Producer {
    pub http: reqwest::Client,
    pub url: String,
    pub key: String,
}

pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub deliveries: usize,
    pub missing: usize,
}

impl Producer {
    /// Posts `body`; the seqs of what was stored.
    pub async fn post(&self, body: String) -> Result<Vec<i64>> {
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(&self.key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        if response.status() != 201 {
            bail!("ingest answered {}", response.status());
        }
        let body: IngestResponse = response.json().await?;
        Ok(body.events.iter().map(|r| r.seq).collect())
    }

    /// Events per second that `producers` concurrent producers get acknowledged in `length`.
    pub async fn max_rate(
        &self,
        producers: usize,
        batches: &Arc<Vec<Batch>>,
        length: Duration,
    ) -> Result<Stored> {
        let started = Instant::now();
        let stored: Vec<Result<(usize, i64, i64)>> =
            futures::future::join_all((0..producers).map(|worker| {
                let batches = batches.clone();
                async move {
                    let (mut stored, mut newest, mut newest_failure) = (0, 0, 0);
                    let mut next = worker;
                    while started.elapsed() < length {
                        let batch = &batches[next % batches.len()];
                        let seqs = self.post(batch.body.clone()).await?;
                        stored += seqs.len();
                        newest = newest.max(seqs.last().copied().unwrap_or(0));
                        for &i in &batch.failures {
                            newest_failure = newest_failure.max(seqs[i]);
                        }
                        next += producers;
                    }
                    Ok((stored, newest, newest_failure))
                }
            }))
            .await;
        let (mut total, mut newest, mut newest_failure) = (0, 0, 0);
        for worker in stored {
            let (stored, last, last_failure) = worker?;
            total += stored;
            newest = newest.max(last);
            newest_failure = newest_failure.max(last_failure);
        }
        Ok(Stored {
            rate: total as f64 / started.elapsed().as_secs_f64(),
            newest,
            newest_failure,
        })
    }

    /// Posts single events at `args.rate` for `args.seconds` and measures, for every delivery,
    /// the time from the POST's acknowledgement to its arrival at a client.
    /// The clients are disconnected at the end, to read what they recorded.
    pub async fn latency(
        &self,
        args: &Args,
        mix: &[serde_json::Value],
        watchers: Watchers,
    ) -> Result<Latency> {
        let acked: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
        let failures: Arc<Mutex<HashSet<i64>>> = Arc::default();
        let mut posts = JoinSet::new();
        let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate as f64));
        watchers.record(true);
        let count = (args.rate * args.seconds) as usize;
        for i in 0..count {
            ticks.tick().await;
            let event = &mix[i % mix.len()];
            let is_failure =
                event["event_type"] == crate::watchers::FILTER.trim_start_matches("type=");
            let (producer, body) = (self.clone_handle(), event.to_string());
            let (acked, failures) = (acked.clone(), failures.clone());
            posts.spawn(async move {
                let seqs = producer.post(body).await?;
                let now = Instant::now();
                for seq in seqs {
                    acked.lock().unwrap().insert(seq, now);
                    if is_failure {
                        failures.lock().unwrap().insert(seq);
                    }
                }
                anyhow::Ok(())
            });
        }
        while let Some(done) = posts.join_next().await {
            done??;
        }
        let newest = acked.lock().unwrap().keys().copied().max().unwrap_or(0);
        let newest_failure = failures.lock().unwrap().iter().copied().max().unwrap_or(0);
        watchers
            .caught_up(newest, newest_failure, Duration::from_secs(15))
            .await;
        watchers.record(false);
        let acked = acked.lock().unwrap().clone();
        let failures = failures.lock().unwrap().clone();
        Ok(summarise(&acked, &failures, watchers.finish().await))
    }

    fn clone_handle(&self) -> Producer {
        Producer {
            http: self.http.clone(),
            url: self.url.clone(),
            key: self.key.clone(),
        }
    }
}

fn summarise(
    acked: &HashMap<i64, Instant>,
    failures: &HashSet<i64>,
    clients: Vec<crate::watchers::Seen>,
) -> Latency {
    let mut latencies = Vec::new();
    let mut missing = 0;
    let mut short = 0;
    for client in clients {
        // Out of order, twice or after a gap: counted as missing, so the run fails.
        missing += client.faults;
        let mut seen = 0;
        for (seq, at) in client.arrivals {
            if let Some(ack) = acked.get(&seq) {
                seen += 1;
                // The event may reach a client before its producer reads the 201: that is 0.
                latencies.push(at.saturating_duration_since(*ack).as_secs_f64() * 1000.0);
            }
        }
        let expected = if client.filtered {
            failures.len()
        } else {
            acked.len()
        };
        if seen < expected {
            short += 1;
            missing += expected - seen;
            let kind = if client.filtered {
                "filtered"
            } else {
                "unfiltered"
            };
            let closed = if client.cut_off {
                " (its stream was closed)"
            } else {
                ""
            };
            eprintln!("a {kind} client saw {seen} of {expected} events{closed}");
        }
    }
    if short > 0 {
        eprintln!("{short} clients missed events");
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Latency {
        p50: at(0.5),
        p99: at(0.99),
        max: at(1.0),
        deliveries: latencies.len(),
        missing,
    }
}
