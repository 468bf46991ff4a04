//! The accept loop: HTTP/1.1 connections with the limits `axum::serve` does not set. A client
//! that sends half a header, idles on a keep-alive connection or trickles a body is dropped, and
//! at most `max_connections` are open at once (beyond it, new ones wait in the listen backlog).

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

use super::write_timeout::WriteTimeout;

/// A connection's place under `max_connections`, in every request's extensions: the stream
/// handler keeps it for as long as the WebSocket lives, since upgrading ends hyper's part.
#[derive(Clone, Debug)]
pub struct ConnectionSlot(#[allow(dead_code)] Arc<OwnedSemaphorePermit>);

/// How long open requests may take to finish once shutdown begins.
const DRAIN_FOR: Duration = Duration::from_secs(10);

/// The connection limits (`vigil serve --help` names the flags).
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// To send a request's whole header, and to start the next request on a kept-alive
    /// connection (hyper uses one timer for both).
    pub header_timeout: Duration,
    /// Connections open at once, WebSockets included.
    pub max_connections: usize,
    /// How long a response may wait for a client that reads nothing before it is dropped.
    pub send_timeout: Duration,
}

/// Serves `router` until `shutdown` resolves, then lets open requests finish for up to
/// `DRAIN_FOR`. WebSockets are ended by the caller's `shutdown` (the hub closes them).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors, or a connection reset before accept: not fatal.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let slot = ConnectionSlot(Arc::new(slot));
        let request_slot = slot.clone();
        let service = router
            .clone()
            .map_request(move |mut request: axum::extract::Request<_>| {
                // Handlers read the peer (sign-in audit, client address) as axum::serve gives it.
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(request_slot.clone());
                request
            });
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(true)
                .serve_connection(
                    TokioIo::new(WriteTimeout::new(stream, limits.send_timeout)),
                    TowerToHyperService::new(service),
                )
                .with_upgrades();
            let mut connection = pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = stopping.wait_for(|stop| *stop) => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN_FOR, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after {DRAIN_FOR:?}; closing them");
    }
    Ok(())
}
