//! The producers of a drill: requests with client `event_id`s, retried until acknowledged or
//! (sometimes, after a failure) given up, and the check of what the database kept.

use anyhow::Result;
use rand::Rng;
use serde_json::json;
use sqlx::PgPool;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Chance that a producer gives a failed request up instead of retrying it.
const GIVE_UP: f64 = 0.15;

struct Request {
    ids: Vec<Uuid>,
    body: String,
}

struct Shared {
    requests: Vec<Request>,
    next: AtomicUsize,
    acknowledged: Mutex<Vec<usize>>,
    given_up: Mutex<Vec<usize>>,
    acknowledged_events: AtomicU64,
    refusals: AtomicU64,
    in_flight: AtomicUsize,
    finished_producers: AtomicUsize,
    producers: usize,
    /// Each producer's pause between requests, so the load spans the whole drill.
    pace: Duration,
}

pub struct Load {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Load {
    /// `span`: about how long the load should last (the drill's length).
    pub fn start(
        base_url: String,
        key: String,
        events: usize,
        producers: usize,
        span: Duration,
    ) -> Load {
        let requests = plan(events);
        let pace = span * producers as u32 / requests.len().max(1) as u32;
        let shared = Arc::new(Shared {
            requests,
            next: AtomicUsize::new(0),
            acknowledged: Mutex::default(),
            given_up: Mutex::default(),
            acknowledged_events: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            finished_producers: AtomicUsize::new(0),
            producers,
            pace,
        });
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("an HTTP client");
        let url = format!("{base_url}/api/v1/events");
        let tasks = (0..producers)
            .map(|_| {
                let (shared, client, url, key) =
                    (shared.clone(), client.clone(), url.clone(), key.clone());
                tokio::spawn(async move { produce(&shared, &client, &url, &key).await })
            })
            .collect();
        Load { shared, tasks }
    }

    pub fn refusals(&self) -> u64 {
        self.shared.refusals.load(Ordering::Relaxed)
    }

    /// Requests sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    pub fn acknowledged_count(&self) -> u64 {
        self.shared.acknowledged_events.load(Ordering::Relaxed)
    }

    pub fn is_done(&self) -> bool {
        self.shared.finished_producers.load(Ordering::Relaxed) == self.shared.producers
    }

    pub async fn finish(self) -> Outcome {
        for task in self.tasks {
            let _ = task.await;
        }
        Outcome {
            shared: self.shared,
        }
    }
}

/// About half single events, half batches of 2 to 50, `events` in all.
fn plan(events: usize) -> Vec<Request> {
    let mut rng = rand::rng();
    let mut requests = Vec::new();
    let mut planned = 0;
    while planned < events {
        let size = if rng.random_bool(0.5) {
            1
        } else {
            rng.random_range(2..=50)
        }
        .min(events - planned);
        let ids: Vec<Uuid> = (0..size).map(|_| Uuid::now_v7()).collect();
        let bodies: Vec<serde_json::Value> = ids
            .iter()
            .map(|id| {
                json!({"event_id": id, "event_type": "auth.login.failure",
                       "username": format!("user{}", rng.random_range(0..500)),
                       "ip_address": "198.51.100.9", "reason": "Invalid credentials"})
            })
            .collect();
        let body = if size == 1 {
            bodies[0].to_string()
        } else {
            serde_json::Value::from(bodies).to_string()
        };
        planned += size;
        requests.push(Request { ids, body });
    }
    requests
}

async fn produce(shared: &Shared, client: &reqwest::Client, url: &str, key: &str) {
    loop {
        let index = shared.next.fetch_add(1, Ordering::Relaxed);
        let Some(request) = shared.requests.get(index) else {
            break;
        };
        tokio::time::sleep(shared.pace).await;
        let mut attempt: u64 = 0;
        loop {
            shared.in_flight.fetch_add(1, Ordering::Relaxed);
            let sent = client
                .post(url)
                .bearer_auth(key)
                .header("content-type", "application/json")
                .body(request.body.clone())
                .send()
                .await;
            shared.in_flight.fetch_sub(1, Ordering::Relaxed);
            if sent.is_ok_and(|r| r.status() == 201) {
                shared.acknowledged.lock().unwrap().push(index);
                shared
                    .acknowledged_events
                    .fetch_add(request.ids.len() as u64, Ordering::Relaxed);
                break;
            }
            shared.refusals.fetch_add(1, Ordering::Relaxed);
            if rand::rng().random_bool(GIVE_UP) {
                shared.given_up.lock().unwrap().push(index);
                break;
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_millis((25 * attempt).min(500))).await;
        }
    }
    shared.finished_producers.fetch_add(1, Ordering::Relaxed);
}

/// What the producers did, to compare with what the database kept.
pub struct Outcome {
    shared: Arc<Shared>,
}

pub struct Report {
    acknowledged: usize,
    stored: i64,
    lost: usize,
    duplicated: i64,
    given_up_requests: usize,
    given_up_whole: usize,
    half_stored: usize,
    unexplained: i64,
}

impl Outcome {
    pub async fn check(&self, pool: &PgPool) -> Result<Report> {
        let all: Vec<Uuid> = self
            .shared
            .requests
            .iter()
            .flat_map(|r| r.ids.iter().copied())
            .collect();
        let stored: HashSet<Uuid> = sqlx::query_scalar("select id from events where id = any($1)")
            .bind(&all)
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
        let (rows, duplicated): (i64, i64) =
            sqlx::query_as("select count(*), count(*) - count(distinct id) from events")
                .fetch_one(pool)
                .await?;
        let acknowledged = self.shared.acknowledged.lock().unwrap().clone();
        let acknowledged_ids: Vec<Uuid> = acknowledged
            .iter()
            .flat_map(|&i| self.shared.requests[i].ids.iter().copied())
            .collect();
        let lost = acknowledged_ids
            .iter()
            .filter(|id| !stored.contains(id))
            .count();
        let given_up = self.shared.given_up.lock().unwrap().clone();
        let (mut whole, mut whole_events, mut half) = (0, 0, 0);
        for &i in &given_up {
            let ids = &self.shared.requests[i].ids;
            let kept = ids.iter().filter(|id| stored.contains(id)).count();
            if kept == ids.len() {
                whole += 1;
                whole_events += kept;
            } else if kept > 0 {
                half += 1;
            }
        }
        Ok(Report {
            acknowledged: acknowledged_ids.len(),
            stored: rows,
            lost,
            duplicated,
            given_up_requests: given_up.len(),
            given_up_whole: whole,
            half_stored: half,
            unexplained: rows - (acknowledged_ids.len() + whole_events) as i64,
        })
    }
}

impl Report {
    pub fn holds(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.half_stored == 0 && self.unexplained == 0
    }

    pub fn print(&self) {
        println!("- acknowledged events: {}", self.acknowledged);
        println!("- rows stored: {}", self.stored);
        println!(
            "- lost (acknowledged, not stored): {} (must be 0)",
            self.lost
        );
        println!("- duplicated: {} (must be 0)", self.duplicated);
        println!(
            "- requests given up after a failure: {} ({} stored whole, the rest not at all)",
            self.given_up_requests, self.given_up_whole
        );
        println!("- half-stored requests: {} (must be 0)", self.half_stored);
        println!("- rows nobody sent: {} (must be 0)", self.unexplained);
    }
}
