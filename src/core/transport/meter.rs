//! What a session reports about itself for `sql.stats()` and connect events: the bytes its socket
//! carried ([`Counted`], a pass-through around the TCP stream, under TLS and WebSocket framing, so the
//! counts are socket bytes) and the moments a connect reached ([`Marks`]).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// Bytes read from and written to the sockets of a pool's sessions (relaxed counters: they are
/// statistics, read without ordering against anything else). Aligned to a cache line of its own so
/// that the counters' updates from the I/O threads do not slow the pool's other shared state.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct ByteCounts {
    pub read: AtomicU64,
    pub written: AtomicU64,
}

/// What one connect reached, and when (set once each; a connect that failed or timed out keeps the
/// ones it reached). The TLS mark is set by [`MarkTls`] when the handshake finishes.
#[derive(Debug, Default)]
pub struct Marks {
    /// The TCP socket connected (after the lookup; through a proxy, the CONNECT tunnel is up).
    pub tcp: OnceLock<Instant>,
    /// The TLS handshake succeeded (a failed one leaves it unset; its time shows in the total).
    pub tls: OnceLock<Instant>,
}

/// What `transport::connect` reports into: the pool's byte counts and this connect's marks.
#[derive(Clone, Default)]
pub struct Meter {
    pub bytes: Arc<ByteCounts>,
    pub marks: Arc<Marks>,
}

impl Meter {
    /// A meter for one more connect: the same byte counts, fresh marks.
    pub fn for_connect(bytes: &Arc<ByteCounts>) -> Meter {
        Meter { bytes: bytes.clone(), marks: Arc::default() }
    }

    pub(super) fn tcp_connected(&self) {
        let _ = self.marks.tcp.set(Instant::now());
    }

    pub(super) fn tls_done(&self) {
        let _ = self.marks.tls.set(Instant::now());
    }

    pub(super) fn count<S>(&self, stream: S) -> Counted<S> {
        Counted { inner: stream, bytes: self.bytes.clone() }
    }
}

/// A byte stream that adds what passes through it to [`ByteCounts`] (one relaxed add per read or
/// write call, i.e. per system call on a socket).
pub struct Counted<S> {
    inner: S,
    bytes: Arc<ByteCounts>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            self.bytes.read.fetch_add(n as u64, Ordering::Relaxed);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            self.bytes.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        polled
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = polled {
            self.bytes.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        polled
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Without TLS the counted socket is the session's stream itself (tokio-postgres's `NoTls` asks for
/// nothing more); with TLS it is under the TLS stream, which is what tokio-postgres asks this of.
impl<S: TlsStream + Unpin> TlsStream for Counted<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.inner.channel_binding()
    }
}

/// Wraps a `MakeTlsConnect` so that the end of a successful handshake is marked in [`Marks::tls`].
pub struct MarkTls<M> {
    pub inner: M,
    pub marks: Arc<Marks>,
}

impl<S, M: MakeTlsConnect<S>> MakeTlsConnect<S> for MarkTls<M>
where
    M::TlsConnect: Send + 'static,
    <M::TlsConnect as TlsConnect<S>>::Future: Send + 'static,
    S: 'static,
{
    type Stream = M::Stream;
    type TlsConnect = MarkTlsConnect<M::TlsConnect>;
    type Error = M::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Self::TlsConnect, Self::Error> {
        let marks = self.marks.clone();
        self.inner.make_tls_connect(domain).map(|inner| MarkTlsConnect { inner, marks })
    }
}

pub struct MarkTlsConnect<C> {
    inner: C,
    marks: Arc<Marks>,
}

impl<S, C: TlsConnect<S>> TlsConnect<S> for MarkTlsConnect<C>
where
    C::Future: Send + 'static,
{
    type Stream = C::Stream;
    type Error = C::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<C::Stream, C::Error>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let (handshake, marks) = (self.inner.connect(stream), self.marks);
        Box::pin(async move {
            let done = handshake.await;
            if done.is_ok() {
                let _ = marks.tls.set(Instant::now());
            }
            done
        })
    }
}
