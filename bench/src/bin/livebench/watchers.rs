//! The WebSocket clients: each records when every event it is sent arrives.

use anyhow::{Context, Result};
use futures::StreamExt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::{Builder, Handle, Runtime};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// The filter of every other client: the failures view.
pub const FILTER: &str = "type=auth.login.failure";
/// A filter the benchmark's events never match: clients that cost the server only filtering.
pub const NEVER: &str = "type=auth.oauth.client_registered";

/// Which filters the clients use.
#[derive(Clone, Copy)]
pub enum Filters {
    /// Half follow everything, half only login failures.
    Half,
    /// All follow a type nobody posts.
    NothingMatches,
}

/// Arrivals of one client: (seq, when).
pub type Arrivals = Vec<(i64, Instant)>;

/// What one client saw.
pub struct Seen {
    pub filtered: bool,
    pub arrivals: Arrivals,
    /// The server closed the stream (or it broke) before the benchmark did.
    pub cut_off: bool,
    /// Events that came out of order, twice, or (for a client following everything) after a
    /// gap.
    pub faults: usize,
}

pub struct Watchers {
    tasks: Vec<JoinHandle<Seen>>,
    newest: Vec<(bool, Arc<AtomicI64>)>,
    recording: Arc<AtomicBool>,
    stop: watch::Sender<bool>,
}

impl Watchers {
    /// Connects `count` clients to `addr` (odd ones filtered) and returns once every one has
    /// received its first heartbeat, i.e. is subscribed.
    pub async fn connect(
        addr: SocketAddr,
        read_key: &str,
        count: usize,
        filters: Filters,
        runtime: &Handle,
    ) -> Result<Self> {
        let (stop, stopped) = watch::channel(false);
        let recording = Arc::new(AtomicBool::new(false));
        let mut watchers = Watchers {
            tasks: Vec::new(),
            newest: Vec::new(),
            recording: recording.clone(),
            stop,
        };
        for i in 0..count {
            let (filtered, query) = match filters {
                Filters::Half if i % 2 == 1 => (true, FILTER),
                Filters::Half => (false, ""),
                Filters::NothingMatches => (true, NEVER),
            };
            let mut request = format!("ws://{addr}/api/v1/stream?{query}").into_client_request()?;
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {read_key}").parse()?);
            // Connected on `runtime`, so its threads (and its reactor) do all of the client's
            // work.
            let mut socket = runtime
                .spawn(async move {
                    let config = Some(client_config());
                    let (mut socket, _) =
                        tokio_tungstenite::connect_async_with_config(request, config, true)
                            .await
                            .context("a watcher cannot connect")?;
                    tokio::time::timeout(Duration::from_secs(10), socket.next())
                        .await
                        .context("no heartbeat within 10 s")?;
                    anyhow::Ok(socket)
                })
                .await??;
            let newest = Arc::new(AtomicI64::new(0));
            let (newest_seen, recording, mut stopped) =
                (newest.clone(), recording.clone(), stopped.clone());
            let task = runtime.spawn(async move {
                let mut arrivals = Vec::new();
                let (mut previous, mut faults) = (None, 0);
                let cut_off = loop {
                    let message = tokio::select! {
                        message = socket.next() => message,
                        _ = stopped.changed() => break false,
                    };
                    let text = match message {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(_)) => continue,
                        _ => break true,
                    };
                    let Some(seq) = event_seq(&text) else {
                        continue;
                    };
                    if !in_order(previous, seq, filtered) {
                        faults += 1;
                    }
                    previous = Some(seq);
                    if recording.load(Ordering::Relaxed) {
                        arrivals.push((seq, Instant::now()));
                    }
                    newest_seen.store(seq, Ordering::Relaxed);
                };
                Seen {
                    filtered,
                    arrivals,
                    cut_off,
                    faults,
                }
            });
            watchers.tasks.push(task);
            watchers.newest.push((filtered, newest));
        }
        Ok(watchers)
    }

    /// Arrivals are kept only while recording, so throughput phases do not fill memory.
    pub fn record(&self, on: bool) {
        self.recording.store(on, Ordering::Relaxed);
    }

    /// Waits (up to `limit`) until every unfiltered client has seen `seq` and every filtered
    /// one `filtered_seq`; false on timeout.
    pub async fn caught_up(&self, seq: i64, filtered_seq: i64, limit: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            let behind = self.newest.iter().any(|(filtered, newest)| {
                newest.load(Ordering::Relaxed) < if *filtered { filtered_seq } else { seq }
            });
            if !behind {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// Disconnects every client and returns what each saw.
    pub async fn finish(self) -> Vec<Seen> {
        let _ = self.stop.send(true);
        let mut all = Vec::new();
        for task in self.tasks {
            all.push(task.await.expect("a watcher task panicked"));
        }
        all
    }
}

/// A runtime for the clients, apart from the producers' (a producer's response should not
/// queue behind 200 clients' frames: in real use they are different machines). `cpus`: the
/// CPUs its threads are confined to; `nice`: their nice value.
pub struct ClientRuntime(Option<Runtime>);

impl ClientRuntime {
    pub fn start(cpus: Option<&[usize]>, nice: i32) -> Result<Self> {
        let cpus = cpus.map(<[usize]>::to_vec);
        let runtime = Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("livebench-clients")
            .on_thread_start(move || {
                if let Some(cpus) = &cpus {
                    vigil_server::cpus::pin_current_thread(cpus);
                }
                // SAFETY: setpriority reads no memory; PRIO_PROCESS 0 is the calling thread.
                unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
            })
            .enable_all()
            .build()?;
        Ok(ClientRuntime(Some(runtime)))
    }

    pub fn handle(&self) -> Handle {
        self.0.as_ref().expect("running").handle().clone()
    }
}

/// Dropped from async code, where a runtime may not block to shut down.
impl Drop for ClientRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The clients' socket settings. Before every read tungstenite zero-fills the free part of its
/// read buffer: at the default 128 KiB that memset was the clients' largest cost (7% of the
/// machine's CPU in a receiving phase), a cost of this benchmark's clients, not a browser's.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(32 * 1024)
}

/// Seqs rise; a client that follows everything sees each one.
fn in_order(previous: Option<i64>, seq: i64, filtered: bool) -> bool {
    match previous {
        None => true,
        Some(previous) if filtered => seq > previous,
        Some(previous) => seq == previous + 1,
    }
}

/// The seq of an event frame, read without parsing the whole event (the clients share the
/// machine with the server, so they should cost as little as possible).
fn event_seq(text: &str) -> Option<i64> {
    let rest = text.strip_prefix(r#"{"kind":"event","event":{"seq":"#)?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_frames_give_their_seq() {
        assert_eq!(
            super::event_seq(r#"{"kind":"event","event":{"seq":42,"id":"x"}}"#),
            Some(42)
        );
        assert_eq!(super::event_seq(r#"{"kind":"heartbeat","seq":42}"#), None);
    }

    #[test]
    fn gaps_repeats_and_reordering_are_faults() {
        use super::in_order;
        assert!(in_order(None, 7, false));
        assert!(in_order(Some(7), 8, false));
        assert!(!in_order(Some(7), 9, false), "a gap");
        assert!(in_order(Some(7), 9, true), "filtered: others in between");
        assert!(!in_order(Some(7), 7, true), "twice");
        assert!(!in_order(Some(7), 6, true), "out of order");
    }
}
