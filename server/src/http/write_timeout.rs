//! A connection whose writes fail once the client has accepted nothing for a while. Hyper waits
//! for a client that stops reading for as long as it stays connected, holding the connection's
//! place and, for an export, its database query; this ends both.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{sleep, Instant, Sleep};

pub struct WriteTimeout<IO> {
    io: IO,
    limit: Duration,
    /// Armed when a write or flush first waits; disarmed by progress.
    deadline: Pin<Box<Sleep>>,
    armed: bool,
}

impl<IO: Unpin> WriteTimeout<IO> {
    pub fn new(io: IO, limit: Duration) -> Self {
        WriteTimeout {
            io,
            limit,
            deadline: Box::pin(sleep(limit)),
            armed: false,
        }
    }

    /// Passes `poll` through, failing it once the client has let it wait for `limit`.
    fn bounded<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(Pin<&mut IO>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match poll(Pin::new(&mut self.io), cx) {
            Poll::Ready(result) => {
                self.armed = false;
                Poll::Ready(result)
            }
            Poll::Pending => {
                if !self.armed {
                    self.armed = true;
                    let deadline = Instant::now() + self.limit;
                    self.deadline.as_mut().reset(deadline);
                }
                ready!(self.deadline.as_mut().poll(cx));
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client stopped reading",
                )))
            }
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for WriteTimeout<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.bounded(cx, |io, cx| io.poll_write(cx, buf))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.bounded(cx, |io, cx| io.poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.bounded(cx, |io, cx| io.poll_shutdown(cx))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.bounded(cx, |io, cx| io.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_reader_that_stops_fails_the_write_after_the_limit() {
        // A pipe with room for 64 bytes that nobody reads.
        let (client, _server) = tokio::io::duplex(64);
        let mut io = WriteTimeout::new(client, Duration::from_millis(200));
        io.write_all(&[0; 64])
            .await
            .expect("the buffer takes these");
        let stalled = io.write_all(&[0; 64]).await.unwrap_err();
        assert_eq!(stalled.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn a_slow_reader_that_keeps_reading_is_never_cut_off() {
        let (client, mut server) = tokio::io::duplex(64);
        // Reads 64 bytes every 20 ms: 1 s in all, five times the limit, never 200 ms apart.
        let reader = tokio::spawn(async move {
            let mut buf = [0; 64];
            let mut total = 0;
            while total < 64 * 50 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                total += tokio::io::AsyncReadExt::read(&mut server, &mut buf)
                    .await
                    .unwrap();
            }
        });
        let mut io = WriteTimeout::new(client, Duration::from_millis(200));
        io.write_all(&[0; 64 * 50])
            .await
            .expect("progress resets the clock");
        reader.await.unwrap();
    }
}
