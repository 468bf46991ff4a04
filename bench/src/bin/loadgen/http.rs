//! The Vigil phases: producers posting to the real ingest endpoint over keep-alive HTTP.

use anyhow::{bail, Result};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use vigil_wire::IngestResponse;

use crate::measure::{drive, PhaseResult, JOB_TIMEOUT};

/// A producer's view of Vigil: one HTTP client (a keep-alive connection per concurrent request)
/// and an ingest key.
pub struct Ingest {
    client: reqwest::Client,
    url: String,
    key: String,
}

/// What one request got back.
enum Answer {
    /// 201: how many of its events were newly stored.
    Stored(u64),
    /// Anything else, described for the report.
    Refused(String),
}

impl Ingest {
    pub fn new(addr: SocketAddr, key: String, clients: usize) -> Result<Self> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(clients)
            .tcp_nodelay(true)
            .timeout(JOB_TIMEOUT)
            .build()?;
        Ok(Ingest {
            client,
            url: format!("http://{addr}/api/v1/events"),
            key,
        })
    }

    /// Posts one body. A refusal is a finding to report, not a reason to stop the phase.
    async fn post(&self, body: String) -> Answer {
        let sent = self
            .client
            .post(&self.url)
            .bearer_auth(&self.key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(err) => return Answer::Refused(format!("transport error: {err}")),
        };
        let status = response.status();
        if status != reqwest::StatusCode::CREATED {
            let text = response.text().await.unwrap_or_default();
            return Answer::Refused(format!(
                "{status}: {}",
                text.chars().take(300).collect::<String>()
            ));
        }
        match response.json::<IngestResponse>().await {
            Ok(body) => Answer::Stored(body.events.iter().filter(|r| !r.duplicate).count() as u64),
            Err(err) => Answer::Refused(format!("201 with an unreadable body: {err}")),
        }
    }

    /// Opens one keep-alive connection per client before timing starts (the caller empties the
    /// table afterwards).
    pub async fn warm_up(self: &Arc<Self>, bodies: &[String], clients: usize) -> Result<()> {
        let posts = bodies
            .iter()
            .cycle()
            .take(clients)
            .map(|body| self.post(body.clone()));
        for answer in futures::future::join_all(posts).await {
            if let Answer::Refused(why) = answer {
                bail!("warm-up request refused: {why}");
            }
        }
        Ok(())
    }
}

/// `clients` producers posting `bodies` (each a JSON object or array) one request at a time.
pub async fn post_all(
    label: String,
    ingest: Arc<Ingest>,
    bodies: Arc<Vec<String>>,
    clients: usize,
    limit: Duration,
) -> Result<PhaseResult> {
    let jobs = bodies.len();
    let driven = drive(clients, jobs, limit, move |i| {
        let (ingest, bodies) = (ingest.clone(), bodies.clone());
        async move { Ok(ingest.post(bodies[i].clone()).await) }
    })
    .await?;
    let mut stored = 0;
    let mut refused = Vec::new();
    let mut latencies = Vec::with_capacity(driven.done.len());
    for (latency, answer) in driven.done {
        latencies.push(latency);
        match answer {
            Answer::Stored(n) => stored += n,
            Answer::Refused(why) => refused.push(why),
        }
    }
    let mut result = PhaseResult::new(label, stored, driven.elapsed).with_latencies(latencies);
    result.refused = refused;
    result.cut_short = driven.cut_short;
    Ok(result)
}
