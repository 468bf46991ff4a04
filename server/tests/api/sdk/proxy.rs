//! A TCP proxy in front of vigil that loses answers, answers 503 itself or stalls, and records
//! when each connection arrived.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use vigil_client::{AuditClient, RetryPolicy};

/// What the proxy does with the n-th connection it accepts.
#[derive(Clone, Copy, Debug)]
pub enum Conduct {
    /// Pass everything through.
    Relay,
    /// Forward the request, wait until vigil starts answering (it answers after COMMIT), then
    /// close the client's connection without relaying a byte: a response lost in transit.
    LoseAnswer,
    /// Answer 503 with `Retry-After: 1` itself.
    Busy,
    /// Read the request and close the connection.
    Hang,
    /// Read the request and never answer.
    Stall,
}

/// A TCP proxy in front of vigil that records when each connection arrived. The clients under
/// test use no connection pool, so one connection is one attempt.
pub struct Proxy {
    addr: SocketAddr,
    pub arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr, conduct: fn(usize) -> Conduct) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let seen = arrivals.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let n = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(Instant::now());
                    seen.len() - 1
                };
                tokio::spawn(serve(client, upstream, conduct(n)));
            }
        });
        Proxy { addr, arrivals }
    }

    pub fn attempts(&self) -> usize {
        self.arrivals.lock().unwrap().len()
    }

    /// A client through this proxy: fast retries, one connection per attempt.
    pub fn client(&self, key: &str, retry: RetryPolicy) -> AuditClient {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        AuditClient::builder(format!("http://{}", self.addr), key)
            .retry(retry)
            .http_client(http)
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap()
    }
}

async fn serve(mut client: TcpStream, upstream: SocketAddr, conduct: Conduct) {
    if let Conduct::Relay = conduct {
        let mut vigil = TcpStream::connect(upstream).await.unwrap();
        let _ = tokio::io::copy_bidirectional(&mut client, &mut vigil).await;
        return;
    }
    let request = read_request(&mut client).await;
    match conduct {
        Conduct::LoseAnswer => {
            let mut vigil = TcpStream::connect(upstream).await.unwrap();
            vigil.write_all(&request).await.unwrap();
            let mut first_byte = [0u8; 1];
            vigil.read_exact(&mut first_byte).await.unwrap();
        }
        Conduct::Busy => {
            let body = r#"{"error":"busy","message":"ingest is saturated; retry shortly"}"#;
            let answer = format!(
                "HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(answer.as_bytes()).await.unwrap();
        }
        Conduct::Stall => std::future::pending().await,
        Conduct::Relay | Conduct::Hang => {}
    }
}

/// One whole HTTP/1.1 request (head and `content-length` body).
async fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if bytes.len() >= end + 4 + length {
                return bytes;
            }
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the client closed mid-request");
        bytes.extend_from_slice(&chunk[..n]);
    }
}
